//! Every (API, version) pair the broker advertises in ApiVersions answers a meaningful request
//! with a response that decodes at that version.
//!
//! kafka-protocol refuses to encode a response that sets a field the chosen version lacks, and
//! the broker then closes the connection. librdkafka asks for high versions and never trips on
//! that; kafka-python, aiokafka and kafkajs ask for low ones. So each request here is built to
//! make the broker fill its version-gated fields: topics that exist and hold data, a real
//! record batch, a group with a (static) member and committed offsets.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::incremental_alter_configs_request as incremental;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};

use common::wire::{batch, connect, read_frame};
use common::BrokerProcess;

/// Joins complete at once with a single member.
const BROKER_TOML: &str = "\"group.initial.rebalance.delay.ms\" = 0\n";

/// Holds data for Fetch, ListOffsets, DescribeLogDirs, OffsetForLeaderEpoch, commits.
const TOPIC: &str = "pv";
/// Records deleted a little further by each DeleteRecords version.
const DELREC_TOPIC: &str = "pv-delrec";
/// Configs altered by AlterConfigs and IncrementalAlterConfigs.
const ALTER_TOPIC: &str = "pv-alter";
/// One partition more per CreatePartitions version.
const PARTS_TOPIC: &str = "pv-parts";
/// A stable group with one static member and committed offsets.
const STABLE_GROUP: &str = "pv-stable";
const STABLE_INSTANCE: &str = "pv-instance";
/// What `batch(_)` stamps on its records.
const BATCH_TIMESTAMP: i64 = 1_700_000_000_000;
/// Long enough that the stable group's member outlives the whole test without heartbeats.
const SESSION_TIMEOUT_MS: i32 = 300_000;

const NONE: i16 = 0;
const MEMBER_ID_REQUIRED: i16 = 79;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn topic(v: &str) -> TopicName {
    TopicName(s(v))
}

fn group(v: &str) -> GroupId {
    GroupId(s(v))
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

fn no_error(code: i16, what: &str) -> Result<(), String> {
    ensure(code == NONE, || format!("{what}: error code {code}"))
}

/// ConsumerProtocolSubscription v0 for `[TOPIC]`, as a consumer sends it in JoinGroup.
fn subscription() -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(1);
    b.put_i16(TOPIC.len() as i16);
    b.put_slice(TOPIC.as_bytes());
    b.put_i32(-1);
    b.freeze()
}

/// ConsumerProtocolAssignment v0: partition 0 of `TOPIC`.
fn assignment() -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(1);
    b.put_i16(TOPIC.len() as i16);
    b.put_slice(TOPIC.as_bytes());
    b.put_i32(1);
    b.put_i32(0);
    b.put_i32(-1);
    b.freeze()
}

/// A raw client that reports every problem as an `Err` instead of panicking, reconnecting when
/// the broker closed the connection.
struct Client {
    addr: String,
    stream: Option<TcpStream>,
    next_correlation_id: i32,
    /// Advertised (key, min, max).
    table: Vec<(i16, i16, i16)>,
}

impl Client {
    fn call<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response, String> {
        self.call_as(req, version, version)
    }

    /// Sends `req` announced as `version` but encoded in `codec_version`'s wire format, and
    /// decodes the answer likewise (kafka-protocol cannot encode DescribeLogDirs v0, whose
    /// format is v1's).
    fn call_as<R: Request>(&mut self, req: &R, version: i16, codec_version: i16) -> Result<R::Response, String> {
        let key = ApiKey::try_from(R::KEY).map_err(|_| format!("unknown api key {}", R::KEY))?;
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        let mut header = RequestHeader::default();
        header.request_api_key = R::KEY;
        header.request_api_version = version;
        header.correlation_id = correlation_id;
        header.client_id = Some(s("protocol-versions"));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, key.request_header_version(codec_version))
            .map_err(|e| format!("test bug: cannot encode the request header: {e}"))?;
        req.encode(&mut body, codec_version)
            .map_err(|e| format!("test bug: cannot encode the request: {e}"))?;
        let mut frame = (body.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);

        let stream = self.stream.get_or_insert_with(|| connect(&self.addr));
        if let Err(e) = stream.write_all(&frame) {
            self.stream = None;
            return Err(format!("write failed: {e}"));
        }
        let Some(mut answer) = read_frame(stream) else {
            self.stream = None;
            return Err("the broker closed the connection (or timed out) without answering".into());
        };
        let header = ResponseHeader::decode(&mut answer, R::Response::header_version(codec_version))
            .map_err(|e| format!("response header does not decode: {e}"))?;
        ensure(header.correlation_id == correlation_id, || {
            format!(
                "correlation id {} answers request {correlation_id}",
                header.correlation_id
            )
        })?;
        let response = R::Response::decode(&mut answer, codec_version)
            .map_err(|e| format!("response body does not decode at v{codec_version}: {e}"))?;
        ensure(answer.remaining() == 0, || {
            format!("{} bytes left over after the response body", answer.remaining())
        })?;
        Ok(response)
    }

    /// The version to use for a setup step: `preferred`, clamped to what is advertised.
    fn setup_version(&self, key: ApiKey, preferred: i16) -> i16 {
        let (_, min, max) = self
            .table
            .iter()
            .copied()
            .find(|(k, _, _)| *k == key as i16)
            .unwrap_or((key as i16, 0, 0));
        preferred.clamp(min, max)
    }

    fn create_topic(&mut self, name: &str, partitions: i32) -> Result<(), String> {
        let v = self.setup_version(ApiKey::CreateTopics, 4);
        let req = CreateTopicsRequest::default()
            .with_timeout_ms(10_000)
            .with_topics(vec![CreatableTopic::default()
                .with_name(topic(name))
                .with_num_partitions(partitions)
                .with_replication_factor(1)]);
        let r = self
            .call(&req, v)
            .map_err(|e| format!("setup CreateTopics v{v} {name}: {e}"))?;
        no_error(
            r.topics.first().map_or(-2, |t| t.error_code),
            &format!("setup CreateTopics v{v} {name}"),
        )
    }

    fn produce(&mut self, name: &str, records: usize) -> Result<(), String> {
        let v = self.setup_version(ApiKey::Produce, 7);
        let req = produce_request(name, batch(records));
        let r = self
            .call(&req, v)
            .map_err(|e| format!("setup Produce v{v} {name}: {e}"))?;
        let code = r
            .responses
            .first()
            .and_then(|t| t.partition_responses.first())
            .map_or(-2, |p| p.error_code);
        no_error(code, &format!("setup Produce v{v} {name}"))
    }

    /// Joins `group_id` as its only member: (member id, generation).
    fn join(&mut self, group_id: &str, instance: Option<&str>) -> Result<(String, i32), String> {
        let v = self.setup_version(ApiKey::JoinGroup, if instance.is_some() { 5 } else { 4 });
        let r = join_group(self, group_id, instance, v).map_err(|e| format!("setup JoinGroup v{v} {group_id}: {e}"))?;
        Ok((r.member_id.to_string(), r.generation_id))
    }

    /// Joins and syncs `group_id` as its only member: (member id, generation).
    fn join_and_sync(&mut self, group_id: &str, instance: Option<&str>) -> Result<(String, i32), String> {
        let (member, generation) = self.join(group_id, instance)?;
        let v = self.setup_version(ApiKey::SyncGroup, if instance.is_some() { 3 } else { 2 });
        let req = sync_request(group_id, &member, generation, instance, v);
        let r = self
            .call(&req, v)
            .map_err(|e| format!("setup SyncGroup v{v} {group_id}: {e}"))?;
        no_error(r.error_code, &format!("setup SyncGroup v{v} {group_id}"))?;
        Ok((member, generation))
    }

    /// Commits offset `offset` of `TOPIC`-0 for `group_id` without membership (generation -1),
    /// as a consumer with manual assignment does.
    fn simple_commit(&mut self, group_id: &str, offset: i64) -> Result<(), String> {
        let v = self.setup_version(ApiKey::OffsetCommit, 5);
        let req = commit_request(group_id, "", -1, None, offset, v);
        let r = self
            .call(&req, v)
            .map_err(|e| format!("setup OffsetCommit v{v} {group_id}: {e}"))?;
        let code = r
            .topics
            .first()
            .and_then(|t| t.partitions.first())
            .map_or(-2, |p| p.error_code);
        no_error(code, &format!("setup OffsetCommit v{v} {group_id}"))
    }
}

fn produce_request(name: &str, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic(name))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])])
}

/// A JoinGroup at `v` that goes through MEMBER_ID_REQUIRED (v4+, dynamic members) and returns
/// the completed join.
fn join_group(c: &mut Client, group_id: &str, instance: Option<&str>, v: i16) -> Result<JoinGroupResponse, String> {
    let mut req = JoinGroupRequest::default()
        .with_group_id(group(group_id))
        .with_session_timeout_ms(SESSION_TIMEOUT_MS)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(subscription())]);
    if v >= 1 {
        req.rebalance_timeout_ms = SESSION_TIMEOUT_MS;
    }
    if v >= 5 {
        req.group_instance_id = instance.map(s);
    }
    if v >= 8 {
        req.reason = Some(s("protocol version test"));
    }
    let mut r = c.call(&req, v)?;
    if v >= 4 && r.error_code == MEMBER_ID_REQUIRED {
        ensure(!r.member_id.is_empty(), || {
            "MEMBER_ID_REQUIRED without a member id".into()
        })?;
        req.member_id = r.member_id.clone();
        r = c.call(&req, v).map_err(|e| format!("rejoin with the member id: {e}"))?;
    }
    no_error(r.error_code, "join")?;
    ensure(r.leader == r.member_id && r.members.len() == 1, || {
        format!(
            "the only member should lead and see itself: leader {:?}, member {:?}, {} members",
            r.leader,
            r.member_id,
            r.members.len()
        )
    })?;
    Ok(r)
}

fn sync_request(group_id: &str, member: &str, generation: i32, instance: Option<&str>, v: i16) -> SyncGroupRequest {
    let mut req = SyncGroupRequest::default()
        .with_group_id(group(group_id))
        .with_generation_id(generation)
        .with_member_id(s(member))
        .with_assignments(vec![SyncGroupRequestAssignment::default()
            .with_member_id(s(member))
            .with_assignment(assignment())]);
    if v >= 3 {
        req.group_instance_id = instance.map(s);
    }
    if v >= 5 {
        req.protocol_type = Some(s("consumer"));
        req.protocol_name = Some(s("range"));
    }
    req
}

fn commit_request(
    group_id: &str,
    member: &str,
    generation: i32,
    instance: Option<&str>,
    offset: i64,
    v: i16,
) -> OffsetCommitRequest {
    let mut partition = OffsetCommitRequestPartition::default()
        .with_partition_index(0)
        .with_committed_offset(offset)
        .with_committed_metadata(Some(s("meta")));
    if v >= 6 {
        partition.committed_leader_epoch = 0;
    }
    let mut req = OffsetCommitRequest::default()
        .with_group_id(group(group_id))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(topic(TOPIC))
            .with_partitions(vec![partition])]);
    if v >= 7 {
        req.group_instance_id = instance.map(s);
    }
    req
}

/// What the broker knows after setup.
struct World {
    node_id: i32,
    stable_member: String,
    stable_generation: i32,
}

fn setup(c: &mut Client) -> Result<World, String> {
    c.create_topic(TOPIC, 1)?;
    c.produce(TOPIC, 3)?;
    c.create_topic(DELREC_TOPIC, 1)?;
    c.produce(DELREC_TOPIC, 10)?;
    c.create_topic(ALTER_TOPIC, 1)?;
    c.create_topic(PARTS_TOPIC, 1)?;
    let v = c.setup_version(ApiKey::Metadata, 1);
    let md = c
        .call(&MetadataRequest::default().with_topics(Some(Vec::new())), v)
        .map_err(|e| format!("setup Metadata v{v}: {e}"))?;
    let (stable_member, stable_generation) = c.join_and_sync(STABLE_GROUP, Some(STABLE_INSTANCE))?;
    let v = c.setup_version(ApiKey::OffsetCommit, 7);
    let req = commit_request(
        STABLE_GROUP,
        &stable_member,
        stable_generation,
        Some(STABLE_INSTANCE),
        2,
        v,
    );
    let r = c.call(&req, v).map_err(|e| format!("setup OffsetCommit v{v}: {e}"))?;
    let code = r
        .topics
        .first()
        .and_then(|t| t.partitions.first())
        .map_or(-2, |p| p.error_code);
    no_error(code, &format!("setup OffsetCommit v{v} {STABLE_GROUP}"))?;
    Ok(World {
        node_id: md.controller_id.0,
        stable_member,
        stable_generation,
    })
}

/// One meaningful request of `key` at `v`, and a sanity check of its answer.
fn exercise(c: &mut Client, w: &World, key: ApiKey, v: i16) -> Result<(), String> {
    match key {
        ApiKey::Produce => {
            let r = c.call(&produce_request(TOPIC, batch(2)), v)?;
            let p = r
                .responses
                .first()
                .and_then(|t| t.partition_responses.first())
                .ok_or("no partition in the answer")?;
            no_error(p.error_code, "produce")?;
            ensure(p.base_offset >= 3, || {
                format!("base offset {} after 3 records", p.base_offset)
            })
        }
        ApiKey::Fetch => {
            let mut partition = FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20);
            if v >= 9 {
                partition.current_leader_epoch = 0;
            }
            let req = FetchRequest::default()
                .with_max_wait_ms(0)
                .with_min_bytes(1)
                .with_max_bytes(1 << 20)
                .with_isolation_level(1)
                .with_topics(vec![FetchTopic::default()
                    .with_topic(topic(TOPIC))
                    .with_partitions(vec![partition])]);
            let r = c.call(&req, v)?;
            let p = r
                .responses
                .first()
                .and_then(|t| t.partitions.first())
                .ok_or("no partition in the answer")?;
            no_error(p.error_code, "fetch")?;
            ensure(
                p.records.as_ref().is_some_and(|b| !b.is_empty()) && p.high_watermark >= 3,
                || format!("no records from offset 0 (high watermark {})", p.high_watermark),
            )
        }
        ApiKey::ListOffsets => {
            // Latest, then the first record at or after a timestamp: both fill offset,
            // timestamp and (v4+) leader epoch.
            for ts in [-1, BATCH_TIMESTAMP] {
                let mut partition = ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(ts);
                if v >= 4 {
                    partition.current_leader_epoch = 0;
                }
                let mut req = ListOffsetsRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_topics(vec![ListOffsetsTopic::default()
                        .with_name(topic(TOPIC))
                        .with_partitions(vec![partition])]);
                if v >= 2 {
                    req.isolation_level = 1;
                }
                let r = c.call(&req, v).map_err(|e| format!("timestamp {ts}: {e}"))?;
                let p = r
                    .topics
                    .first()
                    .and_then(|t| t.partitions.first())
                    .ok_or("no partition in the answer")?;
                no_error(p.error_code, &format!("timestamp {ts}"))?;
                ensure(p.offset >= 0, || format!("timestamp {ts}: offset {}", p.offset))?;
            }
            Ok(())
        }
        ApiKey::Metadata => {
            let mut req = MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(topic(TOPIC)))
            ]));
            if v >= 4 {
                req.allow_auto_topic_creation = false;
            }
            if (8..=10).contains(&v) {
                req.include_cluster_authorized_operations = true;
            }
            if v >= 8 {
                req.include_topic_authorized_operations = true;
            }
            let r = c.call(&req, v)?;
            let t = r.topics.first().ok_or("no topic in the answer")?;
            no_error(t.error_code, "topic")?;
            ensure(!t.partitions.is_empty() && !r.brokers.is_empty(), || {
                "no partitions or no brokers".into()
            })
        }
        ApiKey::OffsetCommit => {
            let instance = (v >= 7).then_some(STABLE_INSTANCE);
            let req = commit_request(STABLE_GROUP, &w.stable_member, w.stable_generation, instance, 2, v);
            let r = c.call(&req, v)?;
            let p = r
                .topics
                .first()
                .and_then(|t| t.partitions.first())
                .ok_or("no partition in the answer")?;
            no_error(p.error_code, "commit")
        }
        ApiKey::OffsetFetch => {
            let offset = if v >= 8 {
                let mut g = OffsetFetchRequestGroup::default()
                    .with_group_id(group(STABLE_GROUP))
                    .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                        .with_name(topic(TOPIC))
                        .with_partition_indexes(vec![0])]));
                if v >= 9 {
                    g.member_id = Some(s(&w.stable_member));
                    g.member_epoch = w.stable_generation;
                }
                let r = c.call(
                    &OffsetFetchRequest::default()
                        .with_groups(vec![g])
                        .with_require_stable(true),
                    v,
                )?;
                let g = r.groups.first().ok_or("no group in the answer")?;
                no_error(g.error_code, "group")?;
                let p = g
                    .topics
                    .first()
                    .and_then(|t| t.partitions.first())
                    .ok_or("no partition in the answer")?;
                no_error(p.error_code, "partition")?;
                p.committed_offset
            } else {
                let mut req = OffsetFetchRequest::default()
                    .with_group_id(group(STABLE_GROUP))
                    .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                        .with_name(topic(TOPIC))
                        .with_partition_indexes(vec![0])]));
                if v >= 7 {
                    req.require_stable = true;
                }
                let r = c.call(&req, v)?;
                no_error(r.error_code, "group")?;
                let p = r
                    .topics
                    .first()
                    .and_then(|t| t.partitions.first())
                    .ok_or("no partition in the answer")?;
                no_error(p.error_code, "partition")?;
                p.committed_offset
            };
            ensure(offset == 2, || format!("committed offset {offset}, expected 2"))
        }
        ApiKey::FindCoordinator => {
            let mut req = FindCoordinatorRequest::default();
            if v >= 4 {
                req.coordinator_keys = vec![s(STABLE_GROUP)];
            } else {
                req.key = s(STABLE_GROUP);
            }
            let r = c.call(&req, v)?;
            let (code, node) = match r.coordinators.first() {
                Some(k) if v >= 4 => (k.error_code, k.node_id.0),
                _ => (r.error_code, r.node_id.0),
            };
            no_error(code, "coordinator")?;
            ensure(node == w.node_id, || {
                format!("coordinator {node}, expected {}", w.node_id)
            })
        }
        ApiKey::JoinGroup => {
            join_group(c, &format!("pv-join-v{v}"), None, v).map_err(|e| format!("dynamic member: {e}"))?;
            if v >= 5 {
                let r = join_group(c, &format!("pv-join-static-v{v}"), Some("pv-join-instance"), v)
                    .map_err(|e| format!("static member: {e}"))?;
                let m = r.members.first().ok_or("no members")?;
                ensure(m.group_instance_id.as_deref() == Some("pv-join-instance"), || {
                    format!("member instance id {:?}", m.group_instance_id)
                })?;
            }
            Ok(())
        }
        ApiKey::SyncGroup => {
            let group_id = format!("pv-sync-v{v}");
            let instance = (v >= 3).then_some("pv-sync-instance");
            let (member, generation) = c.join(&group_id, instance)?;
            let r = c.call(&sync_request(&group_id, &member, generation, instance, v), v)?;
            no_error(r.error_code, "sync")?;
            ensure(r.assignment == assignment(), || {
                format!("assignment {:?}", r.assignment)
            })
        }
        ApiKey::Heartbeat => {
            let mut req = HeartbeatRequest::default()
                .with_group_id(group(STABLE_GROUP))
                .with_generation_id(w.stable_generation)
                .with_member_id(s(&w.stable_member));
            if v >= 3 {
                req.group_instance_id = Some(s(STABLE_INSTANCE));
            }
            no_error(c.call(&req, v)?.error_code, "heartbeat")
        }
        ApiKey::LeaveGroup => {
            let group_id = format!("pv-leave-v{v}");
            let instance = (v >= 3).then_some("pv-leave-instance");
            let (member, _) = c.join_and_sync(&group_id, instance)?;
            let mut req = LeaveGroupRequest::default().with_group_id(group(&group_id));
            if v >= 3 {
                let mut m = MemberIdentity::default()
                    .with_member_id(s(&member))
                    .with_group_instance_id(instance.map(s));
                if v >= 5 {
                    m.reason = Some(s("protocol version test"));
                }
                req.members = vec![m];
            } else {
                req.member_id = s(&member);
            }
            let r = c.call(&req, v)?;
            no_error(r.error_code, "leave")?;
            if v >= 3 {
                let m = r.members.first().ok_or("no member in the answer")?;
                no_error(m.error_code, "member")?;
            }
            Ok(())
        }
        ApiKey::DescribeGroups => {
            let mut req = DescribeGroupsRequest::default().with_groups(vec![group(STABLE_GROUP)]);
            if v >= 3 {
                req.include_authorized_operations = true;
            }
            let r = c.call(&req, v)?;
            let g = r.groups.first().ok_or("no group in the answer")?;
            no_error(g.error_code, "group")?;
            ensure(&*g.group_state == "Stable" && g.members.len() == 1, || {
                format!("state {:?} with {} members", g.group_state, g.members.len())
            })
        }
        ApiKey::ListGroups => {
            let mut req = ListGroupsRequest::default();
            if v >= 4 {
                req.states_filter = vec![s("Stable")];
            }
            if v >= 5 {
                req.types_filter = vec![s("classic")];
            }
            let r = c.call(&req, v)?;
            no_error(r.error_code, "list")?;
            ensure(r.groups.iter().any(|g| &*g.group_id.0 == STABLE_GROUP), || {
                format!("{STABLE_GROUP} not listed")
            })
        }
        ApiKey::DeleteGroups => {
            let group_id = format!("pv-delete-group-v{v}");
            c.simple_commit(&group_id, 1)?;
            let r = c.call(
                &DeleteGroupsRequest::default().with_groups_names(vec![group(&group_id)]),
                v,
            )?;
            no_error(r.results.first().map_or(-2, |g| g.error_code), "delete")
        }
        ApiKey::OffsetDelete => {
            let group_id = format!("pv-offset-delete-v{v}");
            c.simple_commit(&group_id, 1)?;
            let req = OffsetDeleteRequest::default()
                .with_group_id(group(&group_id))
                .with_topics(vec![OffsetDeleteRequestTopic::default()
                    .with_name(topic(TOPIC))
                    .with_partitions(vec![
                        OffsetDeleteRequestPartition::default().with_partition_index(0)
                    ])]);
            let r = c.call(&req, v)?;
            no_error(r.error_code, "group")?;
            no_error(
                r.topics
                    .first()
                    .and_then(|t| t.partitions.first())
                    .map_or(-2, |p| p.error_code),
                "partition",
            )
        }
        ApiKey::InitProducerId => {
            let r = c.call(
                // The crate's default transactional id is "", which Kafka refuses; null is an
                // idempotent producer.
                &InitProducerIdRequest::default()
                    .with_transactional_id(None)
                    .with_transaction_timeout_ms(60_000),
                v,
            )?;
            no_error(r.error_code, "init")?;
            ensure(r.producer_id.0 >= 0, || format!("producer id {}", r.producer_id.0))
        }
        ApiKey::ApiVersions => {
            let mut req = ApiVersionsRequest::default();
            if v >= 3 {
                req.client_software_name = s("strom-protocol-versions");
                req.client_software_version = s("1.0");
            }
            let r = c.call(&req, v)?;
            no_error(r.error_code, "api versions")?;
            ensure(r.api_keys.len() == c.table.len(), || {
                format!("{} api keys, first answer had {}", r.api_keys.len(), c.table.len())
            })
        }
        ApiKey::CreateTopics => {
            let req =
                CreateTopicsRequest::default()
                    .with_timeout_ms(10_000)
                    .with_topics(vec![CreatableTopic::default()
                        .with_name(topic(&format!("pv-create-v{v}")))
                        .with_num_partitions(2)
                        .with_replication_factor(1)
                        .with_configs(vec![CreatableTopicConfig::default()
                            .with_name(s("retention.ms"))
                            .with_value(Some(s("3600000")))])]);
            let r = c.call(&req, v)?;
            no_error(r.topics.first().map_or(-2, |t| t.error_code), "create")
        }
        ApiKey::DeleteTopics => {
            let name = format!("pv-delete-v{v}");
            c.create_topic(&name, 1)?;
            let mut req = DeleteTopicsRequest::default().with_timeout_ms(10_000);
            if v >= 6 {
                req.topics = vec![DeleteTopicState::default().with_name(Some(topic(&name)))];
            } else {
                req.topic_names = vec![topic(&name)];
            }
            let r = c.call(&req, v)?;
            no_error(r.responses.first().map_or(-2, |t| t.error_code), "delete")
        }
        ApiKey::DeleteRecords => {
            let before = i64::from(v) + 1;
            let req = DeleteRecordsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![DeleteRecordsTopic::default()
                    .with_name(topic(DELREC_TOPIC))
                    .with_partitions(vec![DeleteRecordsPartition::default()
                        .with_partition_index(0)
                        .with_offset(before)])]);
            let r = c.call(&req, v)?;
            let p = r
                .topics
                .first()
                .and_then(|t| t.partitions.first())
                .ok_or("no partition in the answer")?;
            no_error(p.error_code, "delete records")?;
            ensure(p.low_watermark == before, || {
                format!("low watermark {}, expected {before}", p.low_watermark)
            })
        }
        ApiKey::OffsetForLeaderEpoch => {
            let req = OffsetForLeaderEpochRequest::default().with_topics(vec![OffsetForLeaderTopic::default()
                .with_topic(topic(TOPIC))
                .with_partitions(vec![OffsetForLeaderPartition::default()
                    .with_partition(0)
                    .with_current_leader_epoch(0)
                    .with_leader_epoch(0)])]);
            let r = c.call(&req, v)?;
            let p = r
                .topics
                .first()
                .and_then(|t| t.partitions.first())
                .ok_or("no partition in the answer")?;
            no_error(p.error_code, "epoch")?;
            ensure(p.end_offset >= 3, || format!("end offset {}", p.end_offset))
        }
        ApiKey::DescribeConfigs => {
            let mut req = DescribeConfigsRequest::default()
                .with_include_synonyms(true)
                .with_resources(vec![
                    DescribeConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(s(TOPIC)),
                    DescribeConfigsResource::default()
                        .with_resource_type(4)
                        .with_resource_name(s(&w.node_id.to_string())),
                ]);
            if v >= 3 {
                req.include_documentation = true;
            }
            let r = c.call(&req, v)?;
            ensure(r.results.len() == 2, || format!("{} results", r.results.len()))?;
            for res in &r.results {
                no_error(res.error_code, &format!("resource {:?}", res.resource_name))?;
                ensure(!res.configs.is_empty(), || {
                    format!("no configs for {:?}", res.resource_name)
                })?;
            }
            Ok(())
        }
        ApiKey::AlterConfigs => {
            let req = AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s(ALTER_TOPIC))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(s("retention.ms"))
                    .with_value(Some(s(&format!("{}", 3_600_000 + i64::from(v)))))])]);
            let r = c.call(&req, v)?;
            no_error(r.responses.first().map_or(-2, |x| x.error_code), "alter")
        }
        ApiKey::IncrementalAlterConfigs => {
            let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
                incremental::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s(ALTER_TOPIC))
                    .with_configs(vec![incremental::AlterableConfig::default()
                        .with_name(s("retention.bytes"))
                        .with_config_operation(0)
                        .with_value(Some(s(&format!("{}", 1_000_000 + i64::from(v)))))]),
            ]);
            let r = c.call(&req, v)?;
            no_error(r.responses.first().map_or(-2, |x| x.error_code), "incremental alter")
        }
        ApiKey::DescribeLogDirs => {
            let req = DescribeLogDirsRequest::default().with_topics(Some(vec![DescribableLogDirTopic::default()
                .with_topic(topic(TOPIC))
                .with_partitions(vec![0])]));
            // v0 is v1 on the wire; kafka-protocol only knows v1.
            let r = c.call_as(&req, v, v.max(1))?;
            let dir = r.results.first().ok_or("no log dir in the answer")?;
            no_error(dir.error_code, "log dir")?;
            let size = dir
                .topics
                .first()
                .and_then(|t| t.partitions.first())
                .map_or(-1, |p| p.partition_size);
            ensure(size > 0, || format!("partition size {size}"))
        }
        ApiKey::CreatePartitions => {
            let count = i32::from(v) + 2;
            let req = CreatePartitionsRequest::default()
                .with_timeout_ms(10_000)
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(topic(PARTS_TOPIC))
                    .with_count(count)
                    // Null: the broker places them. (An empty list asks for zero new partitions.)
                    .with_assignments(None)]);
            let r = c.call(&req, v)?;
            no_error(
                r.results.first().map_or(-2, |x| x.error_code),
                &format!("grow to {count}"),
            )
        }
        ApiKey::DescribeCluster => {
            let r = c.call(
                &DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
                v,
            )?;
            no_error(r.error_code, "describe cluster")?;
            ensure(r.brokers.len() == 1, || format!("{} brokers", r.brokers.len()))
        }
        // On this PLAINTEXT listener (and after a SASL client authenticated) the SASL APIs
        // answer ILLEGAL_SASL_STATE, as Kafka's do; tests/sasl_tls.rs runs the exchange itself.
        ApiKey::SaslHandshake => {
            let r = c.call(&SaslHandshakeRequest::default().with_mechanism(s("PLAIN")), v)?;
            ensure(r.error_code == 34, || {
                format!("error {}, expected ILLEGAL_SASL_STATE", r.error_code)
            })
        }
        ApiKey::SaslAuthenticate => {
            let r = c.call(&SaslAuthenticateRequest::default(), v)?;
            ensure(r.error_code == 34, || {
                format!("error {}, expected ILLEGAL_SASL_STATE", r.error_code)
            })
        }
        other => Err(format!("the test has no request for {other:?}: add one")),
    }
}

#[test]
fn every_advertised_api_version_answers_a_meaningful_request() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(&dir.path().join("data"), Some(BROKER_TOML));
    let mut c = Client {
        addr: broker.addr.clone(),
        stream: None,
        next_correlation_id: 1,
        table: Vec::new(),
    };

    let advertised = c.call(&ApiVersionsRequest::default(), 0).expect("ApiVersions v0");
    assert_eq!(advertised.error_code, 0);
    c.table = advertised
        .api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect();
    assert!(!c.table.is_empty(), "ApiVersions advertises nothing");

    let world = setup(&mut c).unwrap_or_else(|e| panic!("setup failed: {e}\nbroker log:\n{}", broker.log_text()));

    let deadline = Instant::now() + Duration::from_secs(300);
    let mut failures = Vec::new();
    let mut checked = 0;
    for (raw_key, min, max) in c.table.clone() {
        let Ok(key) = ApiKey::try_from(raw_key) else {
            failures.push(format!("api key {raw_key}: unknown to kafka-protocol"));
            continue;
        };
        for v in min..=max {
            assert!(
                Instant::now() < deadline,
                "still going after 300 s; failures so far:\n{}",
                failures.join("\n")
            );
            checked += 1;
            if let Err(e) = exercise(&mut c, &world, key, v) {
                failures.push(format!("{key:?} v{v}: {e}"));
            }
        }
    }
    // Why the broker closed connections (it logs after closing, so read it last), and
    // refusals during setup steps.
    for line in broker
        .log_text()
        .lines()
        .filter(|l| l.contains("cannot encode response"))
    {
        failures.push(format!("broker log: {}", line.trim()));
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} advertised (api, version) pairs failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
