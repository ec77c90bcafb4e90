//! Admin, metadata and offset calls through rdkafka, each bounded by a timeout. The blocking
//! ones (metadata, watermarks, group list) are meant for `spawn_blocking`; the admin ones are
//! futures. Everything returns plain model data or a [`ClusterError`].

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::cluster::error::{kafka_name, ClusterError};
use crate::cluster::logdirs;
use crate::cluster::model::{Broker, ClusterSnapshot, ConfigEntry, ConfigSource, GroupSummary, Partition, Topic};

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

/// Offsets by (topic, partition).
type Offsets = HashMap<(String, i32), i64>;

/// Partitions per ListOffsets call (see [`ClusterClient::fill_offsets`]).
const OFFSETS_CHUNK: usize = 500;
/// ListOffsets calls in flight at once.
const OFFSETS_PARALLEL: usize = 4;

pub struct ClusterClient {
    pub bootstrap: String,
    consumer: BaseConsumer,
    admin: AdminClient<DefaultClientContext>,
    pub timeout: Duration,
}

impl ClusterClient {
    /// Creates the clients. No network traffic happens until the first call.
    pub fn new(bootstrap: &str, timeout: Duration) -> Result<Self, ClusterError> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", bootstrap)
            .set("client.id", "strom-console")
            // Never joins a group or commits: the id is only required by librdkafka.
            .set("group.id", "strom-console-metadata")
            .set("enable.auto.commit", "false")
            .set("socket.timeout.ms", timeout.as_millis().max(1000).to_string())
            .set("reconnect.backoff.max.ms", "2000")
            .set("log_level", "3");
        let err = |e: rdkafka::error::KafkaError| ClusterError::Client {
            bootstrap: bootstrap.to_string(),
            message: e.to_string(),
        };
        let consumer: BaseConsumer = cfg.create().map_err(err)?;
        let admin: AdminClient<DefaultClientContext> = cfg.create().map_err(err)?;
        Ok(ClusterClient {
            bootstrap: bootstrap.to_string(),
            consumer,
            admin,
            timeout,
        })
    }

    fn timed_out(&self, what: &str) -> ClusterError {
        ClusterError::Timeout {
            bootstrap: self.bootstrap.clone(),
            what: what.into(),
            secs: self.timeout.as_secs().max(1),
        }
    }

    /// Brokers, topics and partitions (no offsets yet). Blocking.
    pub fn metadata(&self) -> Result<ClusterSnapshot, ClusterError> {
        let md = self
            .consumer
            .fetch_metadata(None, self.timeout)
            .map_err(|e| match e.rdkafka_error_code() {
                Some(rdkafka::types::RDKafkaErrorCode::OperationTimedOut) => self.timed_out("metadata"),
                _ => ClusterError::from_kafka("metadata", &e),
            })?;
        // SAFETY: a valid client handle; librdkafka answers from its metadata cache or asks
        // the cluster, bounded by the timeout.
        let controller = unsafe {
            rdkafka::bindings::rd_kafka_controllerid(
                self.consumer.client().native_ptr(),
                self.timeout.as_millis() as i32,
            )
        };
        let controller_id = (controller >= 0).then_some(controller);
        let cluster_id = self.consumer.client().fetch_cluster_id(Duration::from_millis(200));
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
        let mut topics: Vec<Topic> = md
            .topics()
            .iter()
            .map(|t| Topic {
                name: t.name().to_string(),
                internal: is_internal(t.name()),
                error: t.error().map(|e| kafka_name(e.into())),
                partitions: t
                    .partitions()
                    .iter()
                    .map(|p| Partition {
                        id: p.id(),
                        leader: (p.leader() >= 0).then_some(p.leader()),
                        replicas: p.replicas().to_vec(),
                        isr: p.isr().to_vec(),
                        error: p.error().map(|e| kafka_name(e.into())),
                        ..Partition::default()
                    })
                    .collect(),
                ..Topic::default()
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        for t in &mut topics {
            t.partitions.sort_by_key(|p| p.id);
        }
        Ok(ClusterSnapshot {
            cluster_id,
            controller_id,
            brokers,
            topics,
        })
    }

    /// Marks brokers that refuse connections as down. Metadata keeps listing a broker that
    /// died (until the cluster notices), so the console checks each one itself: a TCP connect,
    /// all brokers in parallel, each bounded by a short timeout. Blocking.
    pub fn probe_brokers(&self, snap: &mut ClusterSnapshot) {
        let timeout = self.timeout.min(Duration::from_secs(1));
        std::thread::scope(|scope| {
            let handles: Vec<_> = snap
                .brokers
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
            for (b, h) in snap.brokers.iter_mut().zip(handles) {
                b.up = h.join().unwrap_or(false);
            }
        });
    }

    /// Some broker's id (the controller when known), from a metadata request for one topic.
    /// Blocking.
    pub fn any_broker(&self, topic: &str) -> Option<i32> {
        let md = self.consumer.fetch_metadata(Some(topic), self.timeout).ok()?;
        md.brokers().iter().map(|b| b.id()).min()
    }

    /// Fills log start and high watermark of every partition with batched ListOffsets rounds
    /// (latest, then earliest). Partitions whose leader does not answer stay unknown. Blocking.
    ///
    /// librdkafka matches each answered partition to the request list by a linear search, so
    /// one call for 10,000 partitions costs 10^8 string compares; chunks of
    /// [`OFFSETS_CHUNK`] keep that linear, and a few chunks run at once.
    pub fn fill_offsets(&self, snap: &mut ClusterSnapshot) -> Result<(), ClusterError> {
        let all: Vec<(String, i32)> = snap
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .filter(|p| p.leader.is_some())
                    .map(move |p| (t.name.clone(), p.id))
            })
            .collect();
        if all.is_empty() {
            return Ok(());
        }
        let chunks: Vec<&[(String, i32)]> = all.chunks(OFFSETS_CHUNK).collect();
        let mut latest: HashMap<(String, i32), i64> = HashMap::new();
        let mut earliest: HashMap<(String, i32), i64> = HashMap::new();
        for group in chunks.chunks(OFFSETS_PARALLEL) {
            let results: Vec<Result<[Offsets; 2], ClusterError>> = std::thread::scope(|scope| {
                let handles: Vec<_> = group
                    .iter()
                    .map(|chunk| scope.spawn(move || self.list_offsets(chunk)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err(self.timed_out("offsets"))))
                    .collect()
            });
            for r in results {
                let [l, e] = r?;
                latest.extend(l);
                earliest.extend(e);
            }
        }
        for t in &mut snap.topics {
            for p in &mut t.partitions {
                let key = (t.name.clone(), p.id);
                p.high_watermark = latest.get(&key).copied();
                p.log_start = earliest.get(&key).copied();
            }
        }
        Ok(())
    }

    /// Latest and earliest offsets of `parts`, via ListOffsets by the special timestamps -1
    /// (latest) and -2 (earliest).
    fn list_offsets(&self, parts: &[(String, i32)]) -> Result<[Offsets; 2], ClusterError> {
        let mut tpl = TopicPartitionList::with_capacity(parts.len());
        for (t, p) in parts {
            tpl.add_partition(t, *p);
        }
        let mut out = [HashMap::new(), HashMap::new()];
        for (i, special) in [Offset::End, Offset::Beginning].into_iter().enumerate() {
            let mut q = tpl.clone();
            q.set_all_offsets(special)
                .map_err(|e| ClusterError::from_kafka("offsets", &e))?;
            let res = self
                .consumer
                .offsets_for_times(q, self.timeout)
                .map_err(|e| ClusterError::from_kafka("offsets", &e))?;
            out[i] = res
                .elements()
                .iter()
                .filter(|e| e.error().is_ok())
                .filter_map(|e| match e.offset() {
                    Offset::Offset(o) => Some(((e.topic().to_string(), e.partition()), o)),
                    _ => None,
                })
                .collect();
        }
        Ok(out)
    }

    /// Fills partition sizes from DescribeLogDirs on each broker (the leader's replica).
    /// Err: the cluster does not answer DescribeLogDirs. Blocking.
    pub fn fill_sizes(&self, snap: &mut ClusterSnapshot) -> Result<(), String> {
        let mut by_broker = HashMap::new();
        let mut last_err = None;
        for b in &snap.brokers {
            match logdirs::describe_log_dirs(
                &format!("{}:{}", b.host, b.port),
                self.timeout.min(Duration::from_secs(3)),
            ) {
                Ok(sizes) => {
                    by_broker.insert(b.id, sizes);
                }
                Err(e) => last_err = Some(e),
            }
        }
        if by_broker.is_empty() {
            return Err(last_err.unwrap_or_else(|| "no brokers".into()));
        }
        for t in &mut snap.topics {
            for p in &mut t.partitions {
                p.size_bytes = p
                    .leader
                    .and_then(|l| by_broker.get(&l))
                    .and_then(|m| m.get(&(t.name.clone(), p.id)))
                    .copied();
            }
        }
        Ok(())
    }

    /// Every consumer group with state and member count. Blocking.
    pub fn groups(&self) -> Result<Vec<GroupSummary>, ClusterError> {
        let list = self
            .consumer
            .fetch_group_list(None, self.timeout)
            .map_err(|e| ClusterError::from_kafka("list groups", &e))?;
        let mut out: Vec<GroupSummary> = list
            .groups()
            .iter()
            .map(|g| GroupSummary {
                name: g.name().to_string(),
                state: g.state().to_string(),
                protocol_type: g.protocol_type().to_string(),
                members: g.members().len(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn admin_options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout))
    }

    /// Configs of `topic`, with the broker-level value each falls back to when the broker
    /// reports it.
    pub async fn topic_configs(&self, topic: &str, broker_id: Option<i32>) -> Result<Vec<ConfigEntry>, ClusterError> {
        let mut specs = vec![ResourceSpecifier::Topic(topic)];
        if let Some(id) = broker_id {
            specs.push(ResourceSpecifier::Broker(id));
        }
        let fut = self.admin.describe_configs(specs.iter(), &self.admin_options());
        let results = tokio::time::timeout(self.timeout + Duration::from_secs(1), fut)
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

    /// retention.ms and retention.bytes of many topics in one DescribeConfigs round.
    pub async fn retention(
        &self,
        topics: &[String],
    ) -> Result<HashMap<String, (Option<i64>, Option<i64>)>, ClusterError> {
        let specs: Vec<ResourceSpecifier> = topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
        let fut = self.admin.describe_configs(specs.iter(), &self.admin_options());
        let results = tokio::time::timeout(self.timeout + Duration::from_secs(1), fut)
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
                out.insert(name.clone(), (get("retention.ms"), get("retention.bytes")));
            }
        }
        Ok(out)
    }
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
