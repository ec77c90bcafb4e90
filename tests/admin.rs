//! The admin APIs against a real broker process: topic configs (describe, alter, incremental
//! alter, broker file overrides), partition growth, DeleteRecords, topic deletion, and the
//! cluster and log-dir descriptions.
//!
//! librdkafka's AdminClient drives what it can (DescribeConfigs v1, AlterConfigs,
//! CreatePartitions, DeleteRecords, DeleteTopics); the APIs it does not speak
//! (IncrementalAlterConfigs, DescribeCluster, DescribeLogDirs, DeleteTopics by id, newer
//! DescribeConfigs) are sent as raw requests encoded with kafka-protocol.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::alter_configs_request::{
    AlterConfigsResource as LegacyResource, AlterableConfig as LegacyConfig,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::{
    AlterConfigsRequest, ApiKey, DeleteTopicsRequest, DescribeClusterRequest, DescribeConfigsRequest,
    DescribeLogDirsRequest, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, RequestHeader,
    ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, ConfigSource, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

use common::BrokerProcess;

const TIMEOUT: Duration = Duration::from_secs(10);
const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const UNKNOWN_TOPIC_ID: i16 = 100;

struct Admin {
    client: AdminClient<DefaultClientContext>,
    rt: tokio::runtime::Runtime,
}

impl Admin {
    fn new(addr: &str) -> Admin {
        let client = ClientConfig::new()
            .set("bootstrap.servers", addr)
            .create()
            .expect("admin client");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Admin { client, rt }
    }

    fn opts() -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(TIMEOUT))
            .operation_timeout(Some(TIMEOUT))
    }

    fn create_topic(&self, name: &str, partitions: i32) {
        let res = self
            .rt
            .block_on(self.client.create_topics(
                &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
                &Self::opts(),
            ))
            .expect("create_topics");
        for r in res {
            r.expect("topic created");
        }
    }

    /// (value, source, read_only) of every config of a topic.
    fn topic_configs(&self, topic: &str) -> Vec<(String, Option<String>, ConfigSource, bool)> {
        let res = self
            .rt
            .block_on(
                self.client
                    .describe_configs(&[ResourceSpecifier::Topic(topic)], &Self::opts()),
            )
            .expect("describe_configs");
        let resource = res.into_iter().next().expect("one result").expect("topic described");
        resource
            .entries
            .into_iter()
            .map(|e| (e.name, e.value, e.source, e.is_read_only))
            .collect()
    }

    fn topic_config(&self, topic: &str, key: &str) -> (Option<String>, ConfigSource) {
        self.topic_configs(topic)
            .into_iter()
            .find(|(n, ..)| n == key)
            .map(|(_, v, s, _)| (v, s))
            .unwrap_or_else(|| panic!("{key} missing from the description of {topic}"))
    }

    /// Legacy AlterConfigs through librdkafka. rust-rdkafka 0.39 reports every resource as
    /// altered, whatever the broker answered (it never reads the per-resource error), so
    /// refusals are checked with [`legacy_alter`] instead.
    fn alter_topic(&self, topic: &str, pairs: &[(&str, &str)]) {
        let mut cfg = AlterConfig::new(ResourceSpecifier::Topic(topic));
        for (k, v) in pairs {
            cfg = cfg.set(k, v);
        }
        let res = self
            .rt
            .block_on(self.client.alter_configs(&[cfg], &Self::opts()))
            .expect("alter_configs");
        assert_eq!(res.len(), 1);
    }

    fn create_partitions(&self, topic: &str, count: usize) -> Result<(), RDKafkaErrorCode> {
        let res = self
            .rt
            .block_on(
                self.client
                    .create_partitions(&[NewPartitions::new(topic, count)], &Self::opts()),
            )
            .expect("create_partitions");
        res.into_iter()
            .next()
            .expect("one result")
            .map(|_| ())
            .map_err(|(_, code)| code)
    }

    /// Partition count per metadata, or None when the broker does not list the topic.
    fn partition_count(&self, topic: &str) -> Option<usize> {
        let md = self.client.inner().fetch_metadata(None, TIMEOUT).expect("metadata");
        md.topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions().len())
    }

    fn watermarks(&self, topic: &str, partition: i32) -> (i64, i64) {
        self.client
            .inner()
            .fetch_watermarks(topic, partition, TIMEOUT)
            .expect("watermarks")
    }
}

fn produce(addr: &str, topic: &str, partition: i32, n: usize) {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("acks", "all")
        .create()
        .expect("producer");
    for i in 0..n {
        let payload = format!("record-{i}");
        producer
            .send(BaseRecord::<(), _>::to(topic).payload(&payload).partition(partition))
            .expect("enqueue");
    }
    assert_eq!(producer.flush(TIMEOUT).map_err(|e| e.to_string()), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// A raw client for the requests librdkafka does not send.

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
    s
}

/// Sends `req` declaring `wire_version` in the header while encoding the body (and decoding the
/// answer) as `codec_version`: they differ only for DescribeLogDirs v0, which shares v1's format.
fn call_as<R: Request>(s: &mut TcpStream, req: &R, wire_version: i16, codec_version: i16) -> R::Response {
    let mut header = RequestHeader::default();
    header.request_api_key = R::KEY;
    header.request_api_version = wire_version;
    header.correlation_id = 42;
    header.client_id = Some(StrBytes::from_static_str("admin-test"));
    let mut body = BytesMut::new();
    let hv = ApiKey::try_from(R::KEY)
        .expect("api key")
        .request_header_version(codec_version);
    header.encode(&mut body, hv).expect("encode header");
    req.encode(&mut body, codec_version).expect("encode request");
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    s.write_all(&out).expect("send");

    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("response length");
    let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).expect("response body");
    let mut buf = Bytes::from(buf);
    let rh = ResponseHeader::decode(&mut buf, R::Response::header_version(codec_version)).expect("response header");
    assert_eq!(rh.correlation_id, 42);
    R::Response::decode(&mut buf, codec_version).expect("decode response")
}

fn call<R: Request>(s: &mut TcpStream, req: &R, version: i16) -> R::Response {
    call_as(s, req, version, version)
}

fn str(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// One IncrementalAlterConfigs resource: (name, op, value) triples for a topic.
fn incremental(topic: &str, ops: &[(&str, i8, Option<&str>)], validate_only: bool) -> IncrementalAlterConfigsRequest {
    let mut res = AlterConfigsResource::default();
    res.resource_type = 2;
    res.resource_name = str(topic);
    res.configs = ops
        .iter()
        .map(|(name, op, value)| {
            let mut c = AlterableConfig::default();
            c.name = str(name);
            c.config_operation = *op;
            c.value = value.map(str);
            c
        })
        .collect();
    let mut req = IncrementalAlterConfigsRequest::default();
    req.resources = vec![res];
    req.validate_only = validate_only;
    req
}

/// Legacy AlterConfigs of one resource (2 = topic, 4 = broker), raw: (error code, message).
fn legacy_alter(s: &mut TcpStream, resource_type: i8, name: &str, pairs: &[(&str, &str)]) -> (i16, String) {
    let mut res = LegacyResource::default();
    res.resource_type = resource_type;
    res.resource_name = str(name);
    res.configs = pairs
        .iter()
        .map(|(k, v)| {
            let mut c = LegacyConfig::default();
            c.name = str(k);
            c.value = Some(str(v));
            c
        })
        .collect();
    let mut req = AlterConfigsRequest::default();
    req.resources = vec![res];
    let resp = call(s, &req, 1);
    assert_eq!(resp.responses.len(), 1);
    let r = &resp.responses[0];
    (
        r.error_code,
        r.error_message.as_ref().map(|m| m.to_string()).unwrap_or_default(),
    )
}

fn only_result(resp: &IncrementalAlterConfigsResponse) -> (i16, String) {
    assert_eq!(resp.responses.len(), 1);
    let r = &resp.responses[0];
    (
        r.error_code,
        r.error_message.as_ref().map(|m| m.to_string()).unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------------------------

#[test]
fn topic_configs_describe_alter_and_reset_to_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let admin = Admin::new(&broker.addr);
    admin.create_topic("orders", 3);

    // Fresh topic: every config at its default, none sensitive or read-only.
    let configs = admin.topic_configs("orders");
    for key in [
        "cleanup.policy",
        "retention.ms",
        "retention.bytes",
        "segment.bytes",
        "max.message.bytes",
    ] {
        assert!(configs.iter().any(|(n, ..)| n == key), "{key} missing: {configs:?}");
    }
    for (name, value, source, read_only) in &configs {
        assert_eq!(*source, ConfigSource::Default, "{name}");
        assert!(value.is_some(), "{name}");
        assert!(!read_only, "{name}");
    }
    assert_eq!(
        admin.topic_config("orders", "retention.ms"),
        (Some("604800000".into()), ConfigSource::Default)
    );

    // Legacy AlterConfigs sets an override ...
    admin.alter_topic("orders", &[("retention.ms", "3600000")]);
    assert_eq!(
        admin.topic_config("orders", "retention.ms"),
        (Some("3600000".into()), ConfigSource::DynamicTopic)
    );

    // ... and replaces the whole override set: retention.ms goes back to its default.
    admin.alter_topic("orders", &[("segment.bytes", "1048576")]);
    assert_eq!(admin.topic_config("orders", "retention.ms").1, ConfigSource::Default);
    assert_eq!(
        admin.topic_config("orders", "segment.bytes"),
        (Some("1048576".into()), ConfigSource::DynamicTopic)
    );

    // Compaction does not exist here: refused with the reason, nothing changed.
    let mut s = connect(&broker.addr);
    let (code, msg) = legacy_alter(&mut s, 2, "orders", &[("cleanup.policy", "compact")]);
    assert_eq!(code, INVALID_CONFIG);
    assert!(msg.contains("does not compact"), "{msg}");
    assert_eq!(
        admin.topic_config("orders", "segment.bytes").1,
        ConfigSource::DynamicTopic
    );
    assert_eq!(
        admin.topic_config("orders", "cleanup.policy"),
        (Some("delete".into()), ConfigSource::Default)
    );
    assert_eq!(
        legacy_alter(&mut s, 2, "no-such-topic", &[("retention.ms", "1")]).0,
        UNKNOWN_TOPIC_OR_PARTITION
    );

    // IncrementalAlterConfigs: SET keeps the other overrides, DELETE restores the default.
    let resp = call(
        &mut s,
        &incremental("orders", &[("retention.ms", 0, Some("7200000"))], false),
        1,
    );
    assert_eq!(only_result(&resp).0, 0, "{resp:?}");
    assert_eq!(
        admin.topic_config("orders", "retention.ms"),
        (Some("7200000".into()), ConfigSource::DynamicTopic)
    );
    assert_eq!(
        admin.topic_config("orders", "segment.bytes").1,
        ConfigSource::DynamicTopic
    );

    let resp = call(&mut s, &incremental("orders", &[("retention.ms", 1, None)], false), 0);
    assert_eq!(only_result(&resp).0, 0, "{resp:?}");
    assert_eq!(
        admin.topic_config("orders", "retention.ms"),
        (Some("604800000".into()), ConfigSource::Default)
    );

    // Refusals: compaction, APPEND on a scalar key, an unknown key, a bad value, an unknown topic.
    let (code, msg) = only_result(&call(
        &mut s,
        &incremental("orders", &[("cleanup.policy", 0, Some("compact"))], false),
        1,
    ));
    assert_eq!(code, INVALID_CONFIG);
    assert!(msg.contains("compact"), "{msg}");
    let (code, msg) = only_result(&call(
        &mut s,
        &incremental("orders", &[("cleanup.policy", 2, Some("compact"))], false),
        1,
    ));
    assert_eq!(
        (code, msg.as_str()),
        (
            INVALID_CONFIG,
            "Invalid value delete,compact for configuration cleanup.policy: this broker does not compact logs; use 'delete'"
        )
    );
    let (code, msg) = only_result(&call(
        &mut s,
        &incremental("orders", &[("segment.ms", 2, Some("1"))], false),
        1,
    ));
    assert_eq!(
        (code, msg.as_str()),
        (
            INVALID_CONFIG,
            "Can't APPEND to key segment.ms because its type is not LIST."
        )
    );
    // APPEND and SUBTRACT on a list config, from its (empty) default.
    let throttled = "follower.replication.throttled.replicas";
    let resp = call(
        &mut s,
        &incremental("orders", &[(throttled, 2, Some("0:1,2:1"))], false),
        1,
    );
    assert_eq!(only_result(&resp).0, 0, "{resp:?}");
    let resp = call(&mut s, &incremental("orders", &[(throttled, 3, Some("0:1"))], false), 1);
    assert_eq!(only_result(&resp).0, 0, "{resp:?}");
    assert_eq!(
        admin.topic_config("orders", throttled),
        (Some("2:1".into()), ConfigSource::DynamicTopic)
    );
    let (code, msg) = only_result(&call(
        &mut s,
        &incremental("orders", &[("retention.jiffies", 0, Some("1"))], false),
        1,
    ));
    assert_eq!(
        (code, msg.as_str()),
        (INVALID_CONFIG, "Unknown topic config name: retention.jiffies")
    );
    let (code, msg) = only_result(&call(
        &mut s,
        &incremental("orders", &[("retention.ms", 0, Some("soon"))], false),
        1,
    ));
    assert_eq!(
        (code, msg.as_str()),
        (
            INVALID_CONFIG,
            "Invalid value soon for configuration retention.ms: Not a number of type LONG"
        )
    );
    let (code, _) = only_result(&call(
        &mut s,
        &incremental("no-such-topic", &[("retention.ms", 0, Some("1"))], false),
        1,
    ));
    assert_eq!(code, UNKNOWN_TOPIC_OR_PARTITION);

    // validate_only checks without changing anything.
    let resp = call(
        &mut s,
        &incremental("orders", &[("retention.ms", 0, Some("1000"))], true),
        1,
    );
    assert_eq!(only_result(&resp).0, 0);
    assert_eq!(admin.topic_config("orders", "retention.ms").1, ConfigSource::Default);

    // DescribeConfigs v4 (raw): config types, synonyms on request, key filter, unknown topic.
    let mut res = DescribeConfigsResource::default();
    res.resource_type = 2;
    res.resource_name = str("orders");
    res.configuration_keys = Some(vec![str("segment.bytes"), str("retention.ms")]);
    let mut missing = DescribeConfigsResource::default();
    missing.resource_type = 2;
    missing.resource_name = str("no-such-topic");
    let mut req = DescribeConfigsRequest::default();
    req.resources = vec![res, missing];
    req.include_synonyms = true;
    let resp = call(&mut s, &req, 4);
    assert_eq!(resp.results.len(), 2);
    let orders = &resp.results[0];
    assert_eq!(orders.error_code, 0);
    let names: Vec<&str> = orders.configs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let seg = orders
        .configs
        .iter()
        .find(|c| c.name.as_str() == "segment.bytes")
        .expect("segment.bytes");
    assert_eq!(seg.value.as_ref().map(|v| v.as_str()), Some("1048576"));
    assert_eq!(seg.config_source, 1, "DYNAMIC_TOPIC_CONFIG");
    assert_eq!(seg.config_type, 3, "INT");
    assert!(!seg.is_sensitive);
    let synonyms: Vec<(&str, i8)> = seg.synonyms.iter().map(|s| (s.name.as_str(), s.source)).collect();
    assert_eq!(synonyms, vec![("segment.bytes", 1), ("log.segment.bytes", 5)]);
    let ret = orders
        .configs
        .iter()
        .find(|c| c.name.as_str() == "retention.ms")
        .expect("retention.ms");
    assert_eq!((ret.config_source, ret.config_type), (5, 5), "DEFAULT_CONFIG, LONG");
    assert_eq!(resp.results[1].error_code, UNKNOWN_TOPIC_OR_PARTITION);
}

#[test]
fn topic_configs_reflect_broker_config_file_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), Some("\"log.retention.ms\" = 1234\n"));
    let admin = Admin::new(&broker.addr);
    admin.create_topic("audit", 1);
    assert_eq!(
        admin.topic_config("audit", "retention.ms"),
        (Some("1234".into()), ConfigSource::StaticBroker)
    );
    assert_eq!(admin.topic_config("audit", "segment.bytes").1, ConfigSource::Default);

    // The broker resource shows the same value under the broker-level name, read-only.
    let res = admin
        .rt
        .block_on(
            admin
                .client
                .describe_configs(&[ResourceSpecifier::Broker(1)], &Admin::opts()),
        )
        .expect("describe broker");
    let broker_cfg = res.into_iter().next().unwrap().expect("broker described");
    let entry = broker_cfg.get("log.retention.ms").expect("log.retention.ms");
    assert_eq!(entry.value.as_deref(), Some("1234"));
    assert_eq!(entry.source, ConfigSource::StaticBroker);
    assert!(entry.is_read_only);
    assert_eq!(
        broker_cfg.get("num.partitions").map(|e| &e.source),
        Some(&ConfigSource::Default)
    );

    // Other broker ids are refused (librdkafka would route those to broker 7 itself, so raw);
    // "" names the cluster-wide dynamic defaults, of which there are none.
    let mut s = connect(&broker.addr);
    let mut req = DescribeConfigsRequest::default();
    req.resources = ["7", ""]
        .iter()
        .map(|name| {
            let mut r = DescribeConfigsResource::default();
            r.resource_type = 4;
            r.resource_name = str(name);
            r
        })
        .collect();
    let resp = call(&mut s, &req, 1);
    assert_eq!(resp.results[0].error_code, INVALID_REQUEST);
    assert_eq!((resp.results[1].error_code, resp.results[1].configs.len()), (0, 0));

    // Broker configs cannot be altered at run time.
    let (code, msg) = legacy_alter(&mut s, 4, "1", &[("log.retention.ms", "5")]);
    assert_eq!(code, INVALID_REQUEST);
    assert!(msg.contains("read-only"), "{msg}");
    assert_eq!(
        admin.topic_config("audit", "retention.ms"),
        (Some("1234".into()), ConfigSource::StaticBroker)
    );
}

#[test]
fn partitions_grow_but_never_shrink() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let broker = BrokerProcess::start(&data, None);
    let admin = Admin::new(&broker.addr);
    admin.create_topic("clicks", 3);
    assert_eq!(admin.partition_count("clicks"), Some(3));

    admin.create_partitions("clicks", 6).expect("3 -> 6");
    assert_eq!(admin.partition_count("clicks"), Some(6));
    assert!(data.join("clicks-5").is_dir());

    assert_eq!(
        admin.create_partitions("clicks", 4),
        Err(RDKafkaErrorCode::InvalidPartitions)
    );
    assert_eq!(
        admin.create_partitions("clicks", 6),
        Err(RDKafkaErrorCode::InvalidPartitions)
    );
    assert_eq!(
        admin.create_partitions("no-such-topic", 6),
        Err(RDKafkaErrorCode::UnknownTopicOrPartition)
    );
    assert_eq!(admin.partition_count("clicks"), Some(6));

    // The new partitions take records like the old ones.
    produce(&broker.addr, "clicks", 5, 3);
    assert_eq!(admin.watermarks("clicks", 5), (0, 3));
}

#[test]
fn delete_records_raises_the_log_start_offset() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    let admin = Admin::new(&broker.addr);
    admin.create_topic("events", 2);
    produce(&broker.addr, "events", 0, 10);
    produce(&broker.addr, "events", 1, 5);
    assert_eq!(admin.watermarks("events", 0), (0, 10));

    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("events", 0, Offset::Offset(4)).unwrap();
    tpl.add_partition_offset("events", 1, Offset::End).unwrap();
    let res = admin
        .rt
        .block_on(admin.client.delete_records(&tpl, &Admin::opts()))
        .expect("delete_records");
    let p0 = res.find_partition("events", 0).expect("partition 0");
    assert_eq!(
        (p0.error().map_err(|e| e.to_string()), p0.offset()),
        (Ok(()), Offset::Offset(4))
    );
    let p1 = res.find_partition("events", 1).expect("partition 1");
    assert_eq!(
        (p1.error().map_err(|e| e.to_string()), p1.offset()),
        (Ok(()), Offset::Offset(5))
    );
    assert_eq!(admin.watermarks("events", 0), (4, 10));
    assert_eq!(admin.watermarks("events", 1), (5, 5));

    // Beyond the high watermark: OFFSET_OUT_OF_RANGE, and the start offset stays.
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("events", 0, Offset::Offset(11)).unwrap();
    let res = admin.rt.block_on(admin.client.delete_records(&tpl, &Admin::opts()));
    let out_of_range = match res {
        Ok(list) => list.find_partition("events", 0).expect("partition 0").error().is_err(),
        Err(e) => e.rdkafka_error_code() == Some(RDKafkaErrorCode::OffsetOutOfRange),
    };
    assert!(out_of_range);
    assert_eq!(admin.watermarks("events", 0), (4, 10));
}

#[test]
fn deleted_topic_disappears_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let broker = BrokerProcess::start(&data, None);
    let admin = Admin::new(&broker.addr);
    admin.create_topic("doomed", 2);
    produce(&broker.addr, "doomed", 0, 3);
    assert!(data.join("doomed-0").is_dir());

    let res = admin
        .rt
        .block_on(admin.client.delete_topics(&["doomed"], &Admin::opts()))
        .expect("delete_topics");
    assert_eq!(res, vec![Ok("doomed".to_string())]);
    assert_eq!(admin.partition_count("doomed"), None);
    assert!(
        !data.join("doomed-0").exists() && !data.join("doomed-1").exists(),
        "{:?}",
        list_dir(&data)
    );

    let res = admin
        .rt
        .block_on(admin.client.delete_topics(&["doomed"], &Admin::opts()))
        .expect("delete again");
    assert_eq!(
        res,
        vec![Err(("doomed".to_string(), RDKafkaErrorCode::UnknownTopicOrPartition))]
    );

    // v6 by topic id: an unknown id, then a real one; name and id together is malformed.
    admin.create_topic("by-id", 1);
    let md = admin
        .client
        .inner()
        .fetch_metadata(Some("by-id"), TIMEOUT)
        .expect("metadata");
    assert_eq!(md.topics().len(), 1);
    let mut s = connect(&broker.addr);
    let id = topic_id(&mut s, "by-id");
    let by_id = |name: Option<&str>, id: uuid::Uuid| {
        let mut t = DeleteTopicState::default();
        t.name = name.map(|n| TopicName(str(n)));
        t.topic_id = id;
        let mut req = DeleteTopicsRequest::default();
        req.topics = vec![t];
        req.timeout_ms = 5000;
        req
    };
    let resp = call(&mut s, &by_id(None, uuid::Uuid::from_u128(7)), 6);
    assert_eq!(resp.responses[0].error_code, UNKNOWN_TOPIC_ID);
    let resp = call(&mut s, &by_id(Some("by-id"), id), 6);
    assert_eq!(resp.responses[0].error_code, INVALID_REQUEST);
    let resp = call(&mut s, &by_id(None, id), 6);
    assert_eq!(resp.responses[0].error_code, 0, "{resp:?}");
    assert_eq!(resp.responses[0].name.as_ref().map(|n| n.0.as_str()), Some("by-id"));
    assert_eq!(admin.partition_count("by-id"), None);
    assert!(!data.join("by-id-0").exists());
}

/// The start sweep removes partition directories of this broker that the catalog does not
/// know (they hold partition.metadata) and nothing else; a topic is not created over an
/// operator's directory. Fails if the sweep goes by directory name again (foo-0 deleted), or if
/// creation wipes a foreign directory.
#[test]
fn an_operators_directories_in_the_data_dir_survive_restarts_and_topic_creation() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut broker = BrokerProcess::start(&data, None);
    Admin::new(&broker.addr).create_topic("kept", 1);
    assert_eq!(broker.terminate(), Some(0));
    std::fs::create_dir_all(data.join("foo-0")).unwrap();
    std::fs::write(data.join("foo-0/notes.txt"), b"mine").unwrap();
    std::fs::create_dir_all(data.join("ghost-0")).unwrap();
    std::fs::write(data.join("ghost-0/partition.metadata"), b"version: 0\ntopic_id: 7\n").unwrap();
    std::fs::write(data.join("ghost-0/00000000000000000000.log"), b"").unwrap();

    let broker = broker.restart();
    assert!(
        !data.join("ghost-0").exists(),
        "an orphaned partition is swept: {:?}",
        list_dir(&data)
    );
    assert_eq!(std::fs::read(data.join("foo-0/notes.txt")).unwrap(), b"mine");
    assert!(data.join("kept-0/partition.metadata").exists());

    let admin = Admin::new(&broker.addr);
    let res = admin
        .rt
        .block_on(
            admin
                .client
                .create_topics(&[NewTopic::new("foo", 2, TopicReplication::Fixed(1))], &Admin::opts()),
        )
        .expect("create_topics");
    let (name, code) = res.into_iter().next().unwrap().expect_err("refused over foo-0");
    assert_eq!((name.as_str(), code), ("foo", RDKafkaErrorCode::KafkaStorageError));
    assert_eq!(std::fs::read(data.join("foo-0/notes.txt")).unwrap(), b"mine");
    assert!(!data.join("foo-1").exists(), "nothing of the refused topic is made");
    assert_eq!(admin.partition_count("foo"), None);
    assert!(
        broker.log_text().contains("is not a partition of this broker"),
        "{}",
        broker.log_text()
    );
}

fn list_dir(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The topic id from a Metadata v12 request.
fn topic_id(s: &mut TcpStream, topic: &str) -> uuid::Uuid {
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::MetadataRequest;
    let mut t = MetadataRequestTopic::default();
    t.name = Some(TopicName(str(topic)));
    let mut req = MetadataRequest::default();
    req.topics = Some(vec![t]);
    let resp = call(s, &req, 12);
    resp.topics[0].topic_id
}

#[test]
fn cluster_and_log_dirs_describe_this_node() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let broker = BrokerProcess::start(&data, None);
    let admin = Admin::new(&broker.addr);
    admin.create_topic("sized", 2);
    admin.create_topic("other", 1);
    produce(&broker.addr, "sized", 1, 20);
    let mut s = connect(&broker.addr);

    for version in [0, 1] {
        let resp = call(&mut s, &DescribeClusterRequest::default(), version);
        assert_eq!(resp.error_code, 0);
        assert_eq!(resp.brokers.len(), 1);
        let b = &resp.brokers[0];
        assert_eq!(format!("{}:{}", b.host.as_str(), b.port), broker.addr);
        assert_eq!(resp.controller_id, b.broker_id);
        assert!(!resp.cluster_id.is_empty());
        assert_eq!(resp.cluster_authorized_operations, i32::MIN);
    }
    let mut controllers = DescribeClusterRequest::default();
    controllers.endpoint_type = 2;
    assert_eq!(
        call(&mut s, &controllers, 1).error_code,
        114,
        "MISMATCHED_ENDPOINT_TYPE"
    );

    // All topics, v4: the data dir, sizes, and the file system's space.
    let expected_dir = std::fs::canonicalize(&data).unwrap().display().to_string();
    let mut all = DescribeLogDirsRequest::default();
    all.topics = None;
    let resp = call(&mut s, &all, 4);
    assert_eq!(resp.results.len(), 1);
    let r = &resp.results[0];
    assert_eq!((r.error_code, r.log_dir.as_str()), (0, expected_dir.as_str()));
    assert!(
        r.total_bytes > 0 && r.usable_bytes >= 0 && r.usable_bytes <= r.total_bytes,
        "{r:?}"
    );
    let mut seen: Vec<(String, i32, bool)> = r
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.name.0.to_string(), p.partition_index, p.partition_size > 0))
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("other".into(), 0, false),
            ("sized".into(), 0, false),
            ("sized".into(), 1, true)
        ]
    );

    // v0 (kafka-python) with a topic filter: only the asked partition.
    let mut want = DescribableLogDirTopic::default();
    want.topic = TopicName(str("sized"));
    want.partitions = vec![1];
    let mut req = DescribeLogDirsRequest::default();
    req.topics = Some(vec![want]);
    let resp = call_as(&mut s, &req, 0, 1);
    let r = &resp.results[0];
    assert_eq!(r.topics.len(), 1);
    assert_eq!(r.topics[0].partitions.len(), 1);
    assert_eq!(r.topics[0].partitions[0].partition_index, 1);
    assert!(r.topics[0].partitions[0].partition_size > 0);
    assert_eq!(r.topics[0].partitions[0].offset_lag, 0);
}
