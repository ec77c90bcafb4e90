//! The requests behind `cluster::ops`: what a plan reads beyond the console's refresh queries
//! (one group's state, committed offsets of chosen partitions, offsets by time, a sample of
//! recent keys) and every change (topics, partitions, records, groups, configs, produce).
//!
//! The changes are `pub(crate)` and meant to be called only from `cluster::ops::apply`, which
//! refuses a read-only connection first. Each is bounded by the connection's timeout, and a
//! refusal carries Kafka's error name.

use std::time::{Duration, Instant};

use rdkafka::admin::{AlterConfig, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::cluster::client::ClusterClient;
use crate::cluster::error::{kafka_name, ClusterError};
use crate::cluster::ffi::{self, CommittedOffset, Isolation, ListedOffset, OffsetSpec, PartitionOutcome};
use crate::cluster::model::GroupSummary;

/// A topic to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTopicSpec {
    pub name: String,
    /// None: the broker's `num.partitions`.
    pub partitions: Option<i32>,
    /// None: the broker's `default.replication.factor`.
    pub replication_factor: Option<i32>,
    pub configs: Vec<(String, String)>,
}

/// A record to produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub topic: String,
    /// None: the partitioner picks (murmur2 of the key, or any partition without a key).
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
}

fn topic_error(what: &str, name: &str, code: RDKafkaErrorCode) -> ClusterError {
    ClusterError::Kafka {
        what: format!("{what} '{name}'"),
        name: kafka_name(code),
        message: code.to_string(),
    }
}

impl ClusterClient {
    /// One group's state and member count (ListGroups/DescribeGroups for that group). A group
    /// the cluster does not know is `Dead` with no members, as Kafka describes it. Blocking.
    pub fn group_blocking(&self, group: &str) -> Result<GroupSummary, ClusterError> {
        let list = self
            .inner
            .groups
            .fetch_group_list(Some(group), self.timeout())
            .map_err(|e| ClusterError::from_kafka("describe group", &e))?;
        Ok(list
            .groups()
            .iter()
            .find(|g| g.name() == group)
            .map(super::client::group_summary)
            .unwrap_or_else(|| GroupSummary {
                name: group.to_string(),
                state: "Dead".into(),
                ..GroupSummary::default()
            }))
    }

    /// Committed offsets of `group` for `partitions` (None: every partition it committed).
    /// Blocking.
    pub fn committed_blocking(
        &self,
        group: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<Vec<CommittedOffset>, ClusterError> {
        ffi::list_group_offsets(self.inner.groups.client(), group, partitions, self.timeout())
    }

    /// ListOffsets with a spec per partition. Blocking.
    pub fn list_offsets_blocking(&self, asks: &[(String, i32, OffsetSpec)]) -> Result<Vec<ListedOffset>, ClusterError> {
        ffi::list_offsets(
            self.inner.reader.client(),
            asks,
            Isolation::ReadUncommitted,
            self.timeout(),
        )
    }

    /// Keys of the records in `ranges` (partition, from offset, to offset exclusive), read
    /// with a consumer of its own that never joins a group or commits; at most `limit` keys,
    /// within `budget`. Records without a key are skipped. Blocking.
    pub fn sample_keys_blocking(
        &self,
        topic: &str,
        ranges: &[(i32, i64, i64)],
        limit: usize,
        budget: Duration,
    ) -> Result<Vec<Vec<u8>>, ClusterError> {
        let ranges: Vec<(i32, i64, i64)> = ranges.iter().copied().filter(|(_, a, b)| b > a).collect();
        if ranges.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut cfg = self.inner.spec.console_config("strom-plan-sample");
        cfg.set("group.id", "strom-plan-sample")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("fetch.message.max.bytes", "262144")
            .set("queued.max.messages.kbytes", "4096");
        let consumer: BaseConsumer = cfg
            .create()
            .map_err(|e| ClusterError::from_kafka("read recent keys", &e))?;
        let mut tpl = TopicPartitionList::new();
        for (p, from, _) in &ranges {
            tpl.add_partition_offset(topic, *p, Offset::Offset(*from))
                .map_err(|e| ClusterError::from_kafka("read recent keys", &e))?;
        }
        consumer
            .assign(&tpl)
            .map_err(|e| ClusterError::from_kafka("read recent keys", &e))?;
        let mut left: std::collections::HashMap<i32, i64> = ranges.iter().map(|(p, _, to)| (*p, *to)).collect();
        let mut keys = Vec::new();
        let deadline = Instant::now() + budget;
        while !left.is_empty() && keys.len() < limit && Instant::now() < deadline {
            let Some(msg) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let msg = match msg {
                Ok(m) => m,
                Err(e) => return Err(ClusterError::from_kafka("read recent keys", &e)),
            };
            let p = msg.partition();
            if let Some(k) = msg.key() {
                keys.push(k.to_vec());
            }
            if left.get(&p).is_some_and(|to| msg.offset() + 1 >= *to) {
                left.remove(&p);
            }
        }
        Ok(keys)
    }

    async fn admin_call<T>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = rdkafka::error::KafkaResult<T>>,
    ) -> Result<T, ClusterError> {
        tokio::time::timeout(self.timeout() + Duration::from_secs(1), fut)
            .await
            .map_err(|_| self.timed_out(what))?
            .map_err(|e| ClusterError::from_kafka(what, &e))
    }

    /// CreateTopics (with `validate_only`, the cluster checks without creating).
    pub(crate) async fn create_topic_async(&self, t: &NewTopicSpec, validate_only: bool) -> Result<(), ClusterError> {
        let mut topic = NewTopic::new(
            &t.name,
            t.partitions.unwrap_or(-1),
            TopicReplication::Fixed(t.replication_factor.unwrap_or(-1)),
        );
        for (k, v) in &t.configs {
            topic = topic.set(k, v);
        }
        let opts = self.admin_options().validate_only(validate_only);
        let results = self
            .admin_call("create topic", self.inner.admin.create_topics([&topic], &opts))
            .await?;
        match results.into_iter().next() {
            Some(Err((name, code))) => Err(topic_error("create topic", &name, code)),
            _ => Ok(()),
        }
    }

    pub(crate) async fn delete_topic_async(&self, name: &str) -> Result<(), ClusterError> {
        let results = self
            .admin_call(
                "delete topic",
                self.inner.admin.delete_topics(&[name], &self.admin_options()),
            )
            .await?;
        match results.into_iter().next() {
            Some(Err((name, code))) => Err(topic_error("delete topic", &name, code)),
            _ => Ok(()),
        }
    }

    /// CreatePartitions: `topic` grows to `count` partitions.
    pub(crate) async fn create_partitions_async(
        &self,
        topic: &str,
        count: usize,
        validate_only: bool,
    ) -> Result<(), ClusterError> {
        let np = NewPartitions::new(topic, count);
        let opts = self.admin_options().validate_only(validate_only);
        let results = self
            .admin_call("add partitions", self.inner.admin.create_partitions([&np], &opts))
            .await?;
        match results.into_iter().next() {
            Some(Err((name, code))) => Err(topic_error("add partitions to", &name, code)),
            _ => Ok(()),
        }
    }

    /// DeleteRecords: the log start offset of `topic`/`partition` moves to `before`. Returns
    /// the new log start offset.
    pub(crate) async fn delete_records_async(
        &self,
        topic: &str,
        partition: i32,
        before: i64,
    ) -> Result<i64, ClusterError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(before))
            .map_err(|e| ClusterError::from_kafka("delete records", &e))?;
        let out = self
            .admin_call(
                "delete records",
                self.inner.admin.delete_records(&tpl, &self.admin_options()),
            )
            .await?;
        let elem = out
            .find_partition(topic, partition)
            .ok_or_else(|| ClusterError::Kafka {
                what: "delete records".into(),
                name: "CLIENT_ERROR".into(),
                message: format!("no answer for {topic}:{partition}"),
            })?;
        if let Err(e) = elem.error() {
            return Err(ClusterError::from_kafka(
                &format!("delete records of {topic}:{partition}"),
                &e,
            ));
        }
        Ok(elem.offset().to_raw().unwrap_or(before))
    }

    pub(crate) async fn delete_group_async(&self, group: &str) -> Result<(), ClusterError> {
        let results = self
            .admin_call(
                "delete group",
                self.inner.admin.delete_groups(&[group], &self.admin_options()),
            )
            .await?;
        match results.into_iter().next() {
            Some(Err((name, code))) => Err(ClusterError::Kafka {
                what: format!("delete group '{name}'"),
                name: kafka_name(code),
                message: code.to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// OffsetDelete for `partitions` of `group`. Blocking.
    pub(crate) fn delete_group_offsets_blocking(
        &self,
        group: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<PartitionOutcome>, ClusterError> {
        ffi::delete_group_offsets(self.inner.admin.inner(), group, partitions, self.timeout())
    }

    /// The legacy AlterConfigs: replaces every override of `topic` with `configs`. Only for a
    /// cluster without IncrementalAlterConfigs.
    pub(crate) async fn replace_topic_configs_async(
        &self,
        topic: &str,
        configs: &[(String, String)],
    ) -> Result<(), ClusterError> {
        let mut ac = AlterConfig::new(ResourceSpecifier::Topic(topic));
        for (k, v) in configs {
            ac = ac.set(k, v);
        }
        let results = self
            .admin_call(
                "alter configs",
                self.inner.admin.alter_configs([&ac], &self.admin_options()),
            )
            .await?;
        match results.into_iter().next() {
            Some(Err((_, code))) => Err(topic_error("alter configs of", topic, code)),
            _ => Ok(()),
        }
    }

    /// Produces one record with a producer of its own (murmur2 partitioner, acks=all) and
    /// waits for the acknowledgement. Returns (partition, offset).
    pub(crate) async fn produce_async(&self, r: &Record) -> Result<(i32, i64), ClusterError> {
        let mut cfg = self.inner.spec.producer_config("strom-produce");
        cfg.set("acks", "all")
            .set("message.timeout.ms", self.timeout().as_millis().max(1000).to_string())
            .set("log_level", "3");
        let producer: FutureProducer = cfg.create().map_err(|e| ClusterError::from_kafka("produce", &e))?;
        let mut headers = OwnedHeaders::new();
        for (k, v) in &r.headers {
            headers = headers.insert(Header {
                key: k,
                value: Some(v.as_slice()),
            });
        }
        let mut rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&r.topic).headers(headers);
        if let Some(k) = &r.key {
            rec = rec.key(k.as_slice());
        }
        if let Some(v) = &r.value {
            rec = rec.payload(v.as_slice());
        }
        if let Some(p) = r.partition {
            rec = rec.partition(p);
        }
        let sent = producer
            .send(rec, self.timeout())
            .await
            .map_err(|(e, _)| ClusterError::from_kafka(&format!("produce to '{}'", r.topic), &e))?;
        Ok((sent.partition, sent.offset))
    }
}
