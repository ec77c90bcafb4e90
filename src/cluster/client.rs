//! The console's client of one cluster and its typed queries. Each query is one request (or
//! one round of requests) bounded by the connection's timeout and returns plain model data or
//! a [`ClusterError`] carrying Kafka's error name.
//!
//! [`Queries`] is what the console's worker and the headless commands call: futures that
//! never block the async runtime (librdkafka's blocking calls run on `spawn_blocking`). Tests
//! put a fake cluster behind the same trait. Changes are not queries: they go through
//! `cluster::ops`, which checks read-only first.
//!
//! Three librdkafka handles keep unrelated requests off each other's connections, so that a
//! broker stuck on one kind of request (say DescribeConfigs) does not hold up the others:
//! `reader` for metadata and offsets, `groups` for group lists and committed offsets, `admin`
//! for configs and every change.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::cluster::connect::ConnectionSpec;
use crate::cluster::error::{kafka_name, ClusterError};
use crate::cluster::ffi::{
    self, CommittedOffset, ConfigAlteration, Isolation, ListedOffset, OffsetSpec, PartitionOutcome, ResourceOutcome,
};
use crate::cluster::logdirs;
use crate::cluster::model::{
    Broker, ConfigEntry, ConfigSource, GroupMember, GroupSummary, Metadata, PartitionMap, PartitionMeta, Retention,
    TopicMeta, TopicPartition,
};
use crate::cluster::tail::{self, RecordTimestamp, StartAt, TailInbox, TailSession, TailTarget};

/// Kafka's own internal topics; librdkafka's metadata API does not expose the protocol's
/// `is_internal` flag, and by convention only internal topics start with a double underscore.
fn is_internal(name: &str) -> bool {
    name.starts_with("__")
}

/// The broker-level config a topic config falls back to (Kafka's config synonyms).
pub fn broker_synonym(topic_config: &str) -> Option<&'static str> {
    Some(match topic_config {
        "retention.ms" => "log.retention.ms",
        "retention.bytes" => "log.retention.bytes",
        "segment.bytes" => "log.segment.bytes",
        "segment.ms" => "log.roll.ms",
        "cleanup.policy" => "log.cleanup.policy",
        "max.message.bytes" => "message.max.bytes",
        "message.timestamp.type" => "log.message.timestamp.type",
        "min.insync.replicas" => "min.insync.replicas",
        "compression.type" => "compression.type",
        "unclean.leader.election.enable" => "unclean.leader.election.enable",
        _ => return None,
    })
}

/// Partitions per ListOffsets request. librdkafka matches each answered partition to its
/// request list by a linear search, so one request for 10,000 partitions costs 10^8 string
/// compares; chunks keep that linear.
pub const OFFSETS_CHUNK: usize = 500;
/// Topics per DescribeConfigs request.
pub const CONFIGS_CHUNK: usize = 200;

/// A query's answer, to be awaited without blocking the runtime.
pub type Answer<T> = Pin<Box<dyn Future<Output = Result<T, ClusterError>> + Send>>;

/// The read queries the console and the headless commands make of a cluster.
pub trait Queries: Send + Sync + 'static {
    /// Brokers (probed for reachability), topics and partitions.
    fn metadata(&self) -> Answer<Metadata>;
    /// One ListOffsets request for `partitions` (at most [`OFFSETS_CHUNK`] of them).
    fn offsets(&self, spec: OffsetSpec, partitions: Vec<TopicPartition>) -> Answer<Vec<ListedOffset>>;
    /// Bytes on disk per partition replica hosted by `broker` (DescribeLogDirs).
    fn log_dirs(&self, broker: Broker) -> Answer<PartitionMap<u64>>;
    /// retention.ms and retention.bytes of `topics` (at most [`CONFIGS_CHUNK`]).
    fn retention(&self, topics: Vec<String>) -> Answer<HashMap<String, Retention>>;
    /// Every config of `topic`, with the value of `broker` each falls back to.
    fn topic_configs(&self, topic: String, broker: Option<i32>) -> Answer<Vec<ConfigEntry>>;
    /// Every consumer group with state, protocol and member count.
    fn groups(&self) -> Answer<Vec<GroupSummary>>;
    /// The committed offsets of one group.
    fn group_offsets(&self, group: String) -> Answer<Vec<CommittedOffset>>;
    /// The timestamp of the record at (or first after) each (topic, partition, offset): the
    /// next record a group will read, whose age is the group's time lag.
    fn record_timestamps(&self, wants: Vec<(String, i32, i64)>) -> Answer<Vec<RecordTimestamp>>;
    /// Starts a live tail of `target` on a consumer of its own (never a group member), writing
    /// to `inbox` and calling `wake` when records arrive in an empty inbox.
    fn tail(
        &self,
        target: TailTarget,
        start: StartAt,
        inbox: Arc<TailInbox>,
        wake: Box<dyn FnMut() -> bool + Send>,
    ) -> Result<TailSession, ClusterError>;
    /// The client behind these queries, for the changes `cluster::ops` plans and applies;
    /// None for a cluster that only answers queries.
    fn changes(&self) -> Option<ClusterClient> {
        None
    }
}

/// Remembers the last authentication or TLS failure librdkafka reports for a client, so that
/// a request that fails because of it says so ("authentication failed for user 'ops' with
/// SCRAM-SHA-512: ...") instead of "broker transport failure". librdkafka's reasons carry no
/// secrets.
#[derive(Default)]
pub struct SecurityWatch {
    failure: std::sync::Mutex<Option<String>>,
}

impl rdkafka::ClientContext for SecurityWatch {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        use rdkafka::types::RDKafkaErrorCode;
        let code = error.rdkafka_error_code();
        let security = code == Some(RDKafkaErrorCode::Authentication)
            || (code == Some(RDKafkaErrorCode::BrokerTransportFailure) && reason.contains("SSL"));
        if security {
            if let Ok(mut f) = self.failure.lock() {
                *f = Some(reason.to_string());
            }
        }
        tracing::warn!("librdkafka: {error}: {reason}");
    }
}

impl rdkafka::consumer::ConsumerContext for SecurityWatch {}

pub(crate) type Reader = BaseConsumer<SecurityWatch>;

pub(crate) struct Inner {
    pub(crate) spec: ConnectionSpec,
    pub(crate) reader: Reader,
    pub(crate) groups: Reader,
    /// Whether `groups` has the cluster's broker list yet (see `groups_blocking`).
    pub(crate) groups_ready: std::sync::atomic::AtomicBool,
    pub(crate) admin: AdminClient<DefaultClientContext>,
    /// Reads single records for time lags (see `cluster::tail::record_timestamps`); made on
    /// first use.
    pub(crate) peek: std::sync::Mutex<Option<BaseConsumer>>,
}

/// The clients of one cluster. Cheap to clone; no network traffic until the first query.
#[derive(Clone)]
pub struct ClusterClient {
    pub(crate) inner: Arc<Inner>,
}

impl ClusterClient {
    pub fn new(spec: &ConnectionSpec) -> Result<Self, ClusterError> {
        let err = |e: rdkafka::error::KafkaError| ClusterError::Client {
            bootstrap: spec.bootstrap.clone(),
            message: e.to_string(),
        };
        let consumer = |client_id: &str| -> Result<Reader, ClusterError> {
            let mut cfg = spec.console_config(client_id);
            // Never joins a group or commits: librdkafka only requires a group id to exist.
            cfg.set("group.id", "strom-console-metadata")
                .set("enable.auto.commit", "false");
            cfg.create_with_context(SecurityWatch::default()).map_err(err)
        };
        let reader = consumer("strom-console")?;
        let groups = consumer("strom-console-groups")?;
        let admin: AdminClient<DefaultClientContext> =
            spec.console_config("strom-console-admin").create().map_err(err)?;
        Ok(ClusterClient {
            inner: Arc::new(Inner {
                spec: spec.clone(),
                reader,
                groups,
                groups_ready: Default::default(),
                admin,
                peek: std::sync::Mutex::new(None),
            }),
        })
    }

    /// The authentication or TLS failure behind a failed request, if librdkafka reported one.
    fn security_failure(&self) -> Option<ClusterError> {
        // librdkafka queues its error events, and a failed login can fail a request before its
        // event is queued: serve them for up to a second (no subscription, so nothing else is
        // consumed).
        let mut reason = None;
        for _ in 0..10 {
            let _ = self.inner.reader.poll(Duration::from_millis(100));
            reason = self.inner.reader.context().failure.lock().ok()?.take();
            if reason.is_some() {
                break;
            }
        }
        let reason = reason?;
        let security = &self.inner.spec.security;
        let (name, what) = match &security.sasl {
            Some(sasl) if reason.contains("SASL") || reason.contains("uthentication") => (
                "SASL_AUTHENTICATION_FAILED",
                match &sasl.username {
                    Some(u) => format!("authentication failed for user '{u}' with {}", sasl.mechanism.name()),
                    None => format!("authentication failed with {}", sasl.mechanism.name()),
                },
            ),
            _ => (
                "SSL_HANDSHAKE_FAILED",
                format!("TLS ({}) failed", security.protocol.name()),
            ),
        };
        Some(ClusterError::Kafka {
            what,
            name: name.into(),
            message: reason,
        })
    }

    pub fn spec(&self) -> &ConnectionSpec {
        &self.inner.spec
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.inner.spec.timeout
    }

    /// Brokers, topics and partitions. Blocking.
    pub fn metadata_blocking(&self) -> Result<Metadata, ClusterError> {
        let timeout = self.timeout();
        let md = self.inner.reader.fetch_metadata(None, timeout).map_err(|e| {
            if let Some(failure) = self.security_failure() {
                return failure;
            }
            match e.rdkafka_error_code() {
                Some(rdkafka::types::RDKafkaErrorCode::OperationTimedOut) => ClusterError::Timeout {
                    what: "metadata".into(),
                    secs: timeout.as_secs().max(1),
                },
                _ => ClusterError::from_kafka("metadata", &e),
            }
        })?;
        let controller_id = ffi::controller_id(self.inner.reader.client(), timeout);
        let cluster_id = ffi::cluster_id(self.inner.reader.client(), Duration::from_millis(200));
        let brokers = md
            .brokers()
            .iter()
            .map(|b| Broker {
                id: b.id(),
                host: b.host().to_string(),
                port: u16::try_from(b.port()).unwrap_or(0),
                rack: None,
                is_controller: Some(b.id()) == controller_id,
                up: true,
            })
            .collect();
        let mut topics: Vec<TopicMeta> = md
            .topics()
            .iter()
            .map(|t| TopicMeta {
                name: t.name().to_string(),
                internal: is_internal(t.name()),
                error: t.error().map(|e| kafka_name(e.into())),
                partitions: t
                    .partitions()
                    .iter()
                    .map(|p| PartitionMeta {
                        id: p.id(),
                        leader: (p.leader() >= 0).then_some(p.leader()),
                        replicas: p.replicas().to_vec(),
                        isr: p.isr().to_vec(),
                        error: p.error().map(|e| kafka_name(e.into())),
                    })
                    .collect(),
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        for t in &mut topics {
            t.partitions.sort_by_key(|p| p.id);
        }
        Ok(Metadata {
            cluster_id,
            controller_id,
            brokers,
            topics,
        })
    }

    /// Marks brokers that refuse connections as down. Metadata keeps listing a broker that
    /// died (until the cluster notices), so the console checks each one itself: a TCP connect,
    /// all brokers in parallel, each bounded by a short timeout. Blocking.
    pub fn probe_brokers(&self, brokers: &mut [Broker]) {
        let timeout = self.timeout().min(Duration::from_secs(1));
        std::thread::scope(|scope| {
            let handles: Vec<_> = brokers
                .iter()
                .map(|b| {
                    let addr = format!("{}:{}", b.host, b.port);
                    scope.spawn(move || {
                        use std::net::ToSocketAddrs;
                        addr.to_socket_addrs()
                            .ok()
                            .and_then(|mut a| a.next())
                            .is_some_and(|sa| std::net::TcpStream::connect_timeout(&sa, timeout).is_ok())
                    })
                })
                .collect();
            for (b, h) in brokers.iter_mut().zip(handles) {
                b.up = h.join().unwrap_or(false);
            }
        });
    }

    /// Some broker's id (the lowest), from a metadata request for one topic. Blocking.
    pub fn any_broker(&self, topic: &str) -> Option<i32> {
        let md = self.inner.reader.fetch_metadata(Some(topic), self.timeout()).ok()?;
        md.brokers().iter().map(|b| b.id()).min()
    }

    /// One ListOffsets request (read uncommitted: the latest offset is the high watermark).
    /// Blocking.
    pub fn offsets_blocking(
        &self,
        spec: OffsetSpec,
        parts: &[TopicPartition],
    ) -> Result<Vec<ListedOffset>, ClusterError> {
        let asks: Vec<(String, i32, OffsetSpec)> = parts.iter().map(|(t, p)| (t.clone(), *p, spec)).collect();
        ffi::list_offsets(
            self.inner.reader.client(),
            &asks,
            Isolation::ReadUncommitted,
            self.timeout(),
        )
    }

    /// Partition sizes hosted by `broker`. Blocking.
    pub fn log_dirs_blocking(&self, broker: &Broker) -> Result<PartitionMap<u64>, ClusterError> {
        let what = "describe log dirs";
        if !self.inner.spec.security.allows_raw_socket() {
            return Err(ClusterError::Unsupported {
                what: what.into(),
                detail: "DescribeLogDirs needs a plaintext connection".into(),
            });
        }
        logdirs::describe_log_dirs(
            &format!("{}:{}", broker.host, broker.port),
            self.timeout().min(Duration::from_secs(3)),
        )
        .map_err(|message| ClusterError::Kafka {
            what: format!("{what} of broker {}", broker.id),
            name: "NO_ANSWER".into(),
            message,
        })
    }

    /// Every consumer group (ListGroups, then DescribeGroups). Blocking.
    pub fn groups_blocking(&self) -> Result<Vec<GroupSummary>, ClusterError> {
        // librdkafka lists groups only once it knows every broker, and a fresh client learns
        // them from its first metadata answer, which it asks for lazily (about a second
        // later): ask now.
        if !self.inner.groups_ready.load(std::sync::atomic::Ordering::Relaxed) {
            self.inner
                .groups
                .fetch_metadata(None, self.timeout())
                .map_err(|e| ClusterError::from_kafka("list groups", &e))?;
            self.inner
                .groups_ready
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let list = self
            .inner
            .groups
            .fetch_group_list(None, self.timeout())
            .map_err(|e| ClusterError::from_kafka("list groups", &e))?;
        let mut out: Vec<GroupSummary> = list.groups().iter().map(group_summary).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Committed offsets of `group`, every partition it committed. Blocking.
    pub fn group_offsets_blocking(&self, group: &str) -> Result<Vec<CommittedOffset>, ClusterError> {
        ffi::list_group_offsets(self.inner.groups.client(), group, None, self.timeout())
    }

    /// Timestamps of the records at these offsets, read by the peek consumer. Blocking.
    pub fn record_timestamps_blocking(
        &self,
        wants: &[(String, i32, i64)],
    ) -> Result<Vec<RecordTimestamp>, ClusterError> {
        let mut peek = self.inner.peek.lock().unwrap_or_else(|p| p.into_inner());
        if peek.is_none() {
            *peek = Some(tail::peek_consumer(&self.inner.spec)?);
        }
        match peek.as_ref() {
            Some(c) => tail::record_timestamps(c, wants, self.timeout().min(Duration::from_secs(3))),
            None => Ok(Vec::new()),
        }
    }

    pub(crate) fn admin_options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.timeout()))
            .operation_timeout(Some(self.timeout()))
    }

    /// Configs of `topic`, with the broker-level value each falls back to when the broker
    /// reports it.
    pub async fn topic_configs_async(
        &self,
        topic: &str,
        broker_id: Option<i32>,
    ) -> Result<Vec<ConfigEntry>, ClusterError> {
        let mut specs = vec![ResourceSpecifier::Topic(topic)];
        if let Some(id) = broker_id {
            specs.push(ResourceSpecifier::Broker(id));
        }
        let fut = self.inner.admin.describe_configs(specs.iter(), &self.admin_options());
        let results = tokio::time::timeout(self.timeout() + Duration::from_secs(1), fut)
            .await
            .map_err(|_| self.timed_out("describe configs"))?
            .map_err(|e| ClusterError::from_kafka("describe configs", &e))?;
        let mut iter = results.into_iter();
        let topic_res = iter
            .next()
            .ok_or_else(|| ClusterError::Kafka {
                what: "describe configs".into(),
                name: "EMPTY".into(),
                message: "no answer for the topic".into(),
            })?
            .map_err(|code| ClusterError::Kafka {
                what: "describe configs".into(),
                name: kafka_name(code),
                message: format!("topic '{topic}'"),
            })?;
        let broker_values: HashMap<String, Option<String>> = match iter.next() {
            Some(Ok(b)) => b.entries.into_iter().map(|e| (e.name, e.value)).collect(),
            _ => HashMap::new(),
        };
        let mut out: Vec<ConfigEntry> = topic_res
            .entries
            .into_iter()
            .map(|e| {
                let source = map_source(&e.source);
                let default_value = broker_synonym(&e.name).and_then(|b| broker_values.get(b).cloned().flatten());
                ConfigEntry {
                    name: e.name,
                    value: e.value,
                    source,
                    read_only: e.is_read_only,
                    sensitive: e.is_sensitive,
                    default_value,
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// retention.ms and retention.bytes of many topics in one DescribeConfigs request.
    pub async fn retention_async(&self, topics: &[String]) -> Result<HashMap<String, Retention>, ClusterError> {
        let specs: Vec<ResourceSpecifier> = topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
        let fut = self.inner.admin.describe_configs(specs.iter(), &self.admin_options());
        let results = tokio::time::timeout(self.timeout() + Duration::from_secs(1), fut)
            .await
            .map_err(|_| self.timed_out("describe configs"))?
            .map_err(|e| ClusterError::from_kafka("describe configs", &e))?;
        let mut out = HashMap::new();
        for (name, r) in topics.iter().zip(results) {
            if let Ok(r) = r {
                let get = |k: &str| {
                    r.get(k)
                        .and_then(|e| e.value.as_ref())
                        .and_then(|v| v.parse::<i64>().ok())
                };
                out.insert(
                    name.clone(),
                    Retention {
                        ms: get("retention.ms"),
                        bytes: get("retention.bytes"),
                    },
                );
            }
        }
        Ok(out)
    }

    pub(crate) fn timed_out(&self, what: &str) -> ClusterError {
        ClusterError::Timeout {
            what: what.into(),
            secs: self.timeout().as_secs().max(1),
        }
    }

    /// IncrementalAlterConfigs. Only `cluster::ops` calls this, after its read-only check.
    pub(crate) fn alter_configs_blocking(
        &self,
        alterations: &[ConfigAlteration],
    ) -> Result<Vec<ResourceOutcome>, ClusterError> {
        ffi::incremental_alter_configs(self.inner.admin.inner(), alterations, self.timeout())
    }

    /// AlterConsumerGroupOffsets. Only `cluster::ops` calls this, after its read-only check.
    pub(crate) fn alter_group_offsets_blocking(
        &self,
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<Vec<PartitionOutcome>, ClusterError> {
        ffi::alter_group_offsets(self.inner.admin.inner(), group, offsets, self.timeout())
    }

    /// Runs a blocking call of this client on tokio's blocking pool.
    fn blocking<T: Send + 'static>(
        &self,
        what: &'static str,
        f: impl FnOnce(&ClusterClient) -> Result<T, ClusterError> + Send + 'static,
    ) -> Answer<T> {
        let c = self.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(&c)).await.unwrap_or_else(|e| {
                Err(ClusterError::Kafka {
                    what: what.into(),
                    name: "CLIENT_ERROR".into(),
                    message: format!("the request's thread failed: {e}"),
                })
            })
        })
    }
}

impl Queries for ClusterClient {
    fn changes(&self) -> Option<ClusterClient> {
        Some(self.clone())
    }

    fn metadata(&self) -> Answer<Metadata> {
        self.blocking("metadata", |c| {
            let mut md = c.metadata_blocking()?;
            c.probe_brokers(&mut md.brokers);
            Ok(md)
        })
    }

    fn offsets(&self, spec: OffsetSpec, partitions: Vec<TopicPartition>) -> Answer<Vec<ListedOffset>> {
        self.blocking("list offsets", move |c| c.offsets_blocking(spec, &partitions))
    }

    fn log_dirs(&self, broker: Broker) -> Answer<PartitionMap<u64>> {
        self.blocking("describe log dirs", move |c| c.log_dirs_blocking(&broker))
    }

    fn retention(&self, topics: Vec<String>) -> Answer<HashMap<String, Retention>> {
        let c = self.clone();
        Box::pin(async move { c.retention_async(&topics).await })
    }

    fn topic_configs(&self, topic: String, broker: Option<i32>) -> Answer<Vec<ConfigEntry>> {
        let c = self.clone();
        Box::pin(async move {
            let broker = match broker {
                Some(b) => Some(b),
                // Asked before any metadata: find a broker for the defaults.
                None => {
                    let (c2, t2) = (c.clone(), topic.clone());
                    tokio::task::spawn_blocking(move || c2.any_broker(&t2))
                        .await
                        .ok()
                        .flatten()
                }
            };
            c.topic_configs_async(&topic, broker).await
        })
    }

    fn groups(&self) -> Answer<Vec<GroupSummary>> {
        self.blocking("list groups", |c| c.groups_blocking())
    }

    fn group_offsets(&self, group: String) -> Answer<Vec<CommittedOffset>> {
        self.blocking("list committed offsets", move |c| c.group_offsets_blocking(&group))
    }

    fn record_timestamps(&self, wants: Vec<(String, i32, i64)>) -> Answer<Vec<RecordTimestamp>> {
        self.blocking("read record timestamps", move |c| c.record_timestamps_blocking(&wants))
    }

    fn tail(
        &self,
        target: TailTarget,
        start: StartAt,
        inbox: Arc<TailInbox>,
        wake: Box<dyn FnMut() -> bool + Send>,
    ) -> Result<TailSession, ClusterError> {
        TailSession::start(&self.inner.spec, target, start, inbox, wake)
    }
}

/// A member as DescribeGroups reports it, its consumer-protocol bytes decoded. Groups of other
/// protocol types (Connect, streams) carry bytes of their own format: not decoded.
/// A group as DescribeGroups tells it, members' assignments decoded.
pub(crate) fn group_summary(g: &rdkafka::groups::GroupInfo) -> GroupSummary {
    GroupSummary {
        name: g.name().to_string(),
        state: g.state().to_string(),
        protocol_type: g.protocol_type().to_string(),
        protocol: g.protocol().to_string(),
        members: g.members().len(),
        member_list: g.members().iter().map(|m| member(g.protocol_type(), m)).collect(),
    }
}

fn member(protocol_type: &str, m: &rdkafka::groups::GroupMemberInfo) -> GroupMember {
    use crate::cluster::consumer_protocol::{decode_assignment, decode_subscription};
    let mut out = GroupMember {
        member_id: m.id().to_string(),
        client_id: m.client_id().to_string(),
        host: m.client_host().to_string(),
        ..GroupMember::default()
    };
    if protocol_type != "consumer" {
        if m.assignment().is_some_and(|a| !a.is_empty()) {
            out.decode_error = Some(format!("protocol type '{protocol_type}' is not the consumer protocol"));
        }
        return out;
    }
    if let Some(Ok(sub)) = m.metadata().filter(|b| !b.is_empty()).map(decode_subscription) {
        out.subscription = sub.topics;
    }
    match m.assignment().filter(|b| !b.is_empty()).map(decode_assignment) {
        Some(Ok(a)) => out.assignment = a,
        Some(Err(e)) => out.decode_error = Some(e.to_string()),
        None => {}
    }
    out
}

fn map_source(s: &rdkafka::admin::ConfigSource) -> ConfigSource {
    use rdkafka::admin::ConfigSource as S;
    match s {
        S::DynamicTopic => ConfigSource::DynamicTopic,
        S::DynamicBroker => ConfigSource::DynamicBroker,
        S::DynamicDefaultBroker => ConfigSource::DynamicDefaultBroker,
        S::StaticBroker => ConfigSource::StaticBroker,
        S::Default => ConfigSource::Default,
        S::Unknown => ConfigSource::Unknown,
    }
}
