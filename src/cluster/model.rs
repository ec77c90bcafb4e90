//! Plain data describing a cluster as the console knows it: owned, cloneable, no client
//! handles. The cluster layer builds these from rdkafka answers; panes derive their rows from
//! them.

use std::collections::{BTreeMap, HashMap};

/// One broker from the cluster metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broker {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
    pub is_controller: bool,
    /// False for a broker seen in an earlier refresh that the metadata no longer lists, or that
    /// the client cannot reach: the console keeps showing it, marked down.
    pub up: bool,
}

/// One partition as the cluster metadata describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionMeta {
    pub id: i32,
    /// None when the partition has no leader (offline).
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Kafka's error name for this partition in the metadata answer, e.g. LEADER_NOT_AVAILABLE.
    pub error: Option<String>,
}

impl PartitionMeta {
    pub fn is_offline(&self) -> bool {
        self.leader.is_none()
    }

    /// Fewer in-sync replicas than replicas.
    pub fn is_under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }
}

/// One topic as the cluster metadata describes it; partitions sorted by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicMeta {
    pub name: String,
    pub internal: bool,
    pub partitions: Vec<PartitionMeta>,
    pub error: Option<String>,
}

impl TopicMeta {
    pub fn replication_factor(&self) -> usize {
        self.partitions.iter().map(|p| p.replicas.len()).max().unwrap_or(0)
    }

    pub fn offline_partitions(&self) -> usize {
        self.partitions.iter().filter(|p| p.is_offline()).count()
    }

    /// Under-replicated partitions that are not offline (an offline partition counts once).
    pub fn under_replicated_partitions(&self) -> usize {
        self.partitions
            .iter()
            .filter(|p| !p.is_offline() && p.is_under_replicated())
            .count()
    }
}

/// (topic, partition).
pub type TopicPartition = (String, i32);

/// A value per partition, grouped by topic and indexed by partition id (Kafka numbers a
/// topic's partitions from 0): a topic's partitions are one lookup away, and neither lookups
/// nor updates of a known topic allocate (10,000 partitions are looked up on every refresh).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMap<T>(HashMap<String, Vec<Option<T>>>);

impl<T> Default for PartitionMap<T> {
    fn default() -> Self {
        PartitionMap(HashMap::new())
    }
}

/// Partition ids above this are not stored: a broker reporting one is broken, and an index
/// must not allocate from a number off the wire.
pub const MAX_PARTITION_ID: i32 = 1 << 20;

impl<T: Copy> PartitionMap<T> {
    pub fn get(&self, topic: &str, partition: i32) -> Option<T> {
        self.topic(topic)?.get(partition)
    }

    /// One topic's values.
    pub fn topic(&self, topic: &str) -> Option<TopicValues<'_, T>> {
        self.0.get(topic).map(|v| TopicValues(v))
    }

    /// Sets a partition's value; ids outside 0..=[`MAX_PARTITION_ID`] are ignored.
    pub fn insert(&mut self, topic: &str, partition: i32, value: T) {
        if !(0..=MAX_PARTITION_ID).contains(&partition) {
            return;
        }
        let i = partition as usize;
        let values = match self.0.get_mut(topic) {
            Some(v) => v,
            None => self.0.entry(topic.to_string()).or_default(),
        };
        if values.len() <= i {
            values.resize(i + 1, None);
        }
        values[i] = Some(value);
    }

    /// Keeps the topics `keep` says yes to.
    pub fn retain_topics(&mut self, keep: impl Fn(&str) -> bool) {
        self.0.retain(|t, _| keep(t));
    }

    /// Partitions with a value.
    pub fn len(&self) -> usize {
        self.0.values().map(|v| v.iter().flatten().count()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One topic's values in a [`PartitionMap`].
#[derive(Clone, Copy, Debug)]
pub struct TopicValues<'a, T>(&'a [Option<T>]);

impl<T: Copy> TopicValues<'_, T> {
    pub fn get(&self, partition: i32) -> Option<T> {
        usize::try_from(partition)
            .ok()
            .and_then(|i| self.0.get(i).copied().flatten())
    }
}

impl<T: Copy> FromIterator<(String, i32, T)> for PartitionMap<T> {
    fn from_iter<I: IntoIterator<Item = (String, i32, T)>>(iter: I) -> Self {
        let mut m = PartitionMap::default();
        for (t, p, v) in iter {
            m.insert(&t, p, v);
        }
        m
    }
}

/// The offsets of one partition that the console shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watermarks {
    pub log_start: Option<i64>,
    pub high_watermark: Option<i64>,
}

impl Watermarks {
    /// Records currently retained: high watermark minus log start.
    pub fn records(&self) -> Option<i64> {
        Some(self.high_watermark? - self.log_start?)
    }
}

/// A topic's effective retention, from its configs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// `retention.ms`; -1: forever.
    pub ms: Option<i64>,
    /// `retention.bytes`; -1: unlimited.
    pub bytes: Option<i64>,
}

/// Where a config value comes from, in Kafka's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConfigSource {
    DynamicTopic,
    DynamicBroker,
    DynamicDefaultBroker,
    StaticBroker,
    Default,
    Unknown,
}

impl ConfigSource {
    pub fn label(self) -> &'static str {
        match self {
            ConfigSource::DynamicTopic => "topic",
            ConfigSource::DynamicBroker => "broker (dynamic)",
            ConfigSource::DynamicDefaultBroker => "cluster default",
            ConfigSource::StaticBroker => "broker file",
            ConfigSource::Default => "default",
            ConfigSource::Unknown => "unknown",
        }
    }

    /// Set on the topic itself (an override), rather than inherited.
    pub fn is_override(self) -> bool {
        self == ConfigSource::DynamicTopic
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub sensitive: bool,
    /// The value this config would have without the topic override (the next synonym), when
    /// the cluster reported synonyms.
    pub default_value: Option<String>,
}

/// One consumer group as ListGroups and DescribeGroups report it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupSummary {
    pub name: String,
    pub state: String,
    /// "consumer" for consumer groups (empty for a group with no members).
    pub protocol_type: String,
    /// The assignor the members agreed on ("range", "roundrobin", ...); empty when none.
    pub protocol: String,
    pub members: usize,
    /// Each member with what the group leader assigned it (DescribeGroups).
    pub member_list: Vec<GroupMember>,
}

impl GroupSummary {
    /// Whether a live member holds `topic`/`partition`: it is in a member's decoded assignment,
    /// or the group has members whose assignment is not known (unreadable bytes, or a rebalance
    /// in progress): then any of them might hold it. Tells a stalled consumer (assigned, not
    /// moving) from a stopped one (nobody assigned).
    pub fn is_assigned(&self, topic: &str, partition: i32) -> bool {
        if self.members == 0 {
            return false;
        }
        let unknown = self.state != "Stable"
            || self.member_list.is_empty()
            || self.member_list.iter().any(|m| m.decode_error.is_some());
        unknown || self.member_list.iter().any(|m| m.assignment.contains(topic, partition))
    }

    /// The member whose assignment holds `topic`/`partition`.
    pub fn owner(&self, topic: &str, partition: i32) -> Option<&GroupMember> {
        self.member_list
            .iter()
            .find(|m| m.assignment.contains(topic, partition))
    }
}

/// One member of a consumer group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupMember {
    pub member_id: String,
    pub client_id: String,
    pub host: String,
    /// The topics it subscribed to (from its JoinGroup metadata); empty when unknown.
    pub subscription: Vec<String>,
    /// What the leader assigned it, decoded from the consumer protocol; empty when nothing
    /// was assigned (yet) or the bytes could not be read.
    pub assignment: crate::cluster::consumer_protocol::Assignment,
    /// Why the assignment bytes could not be decoded (a group of another protocol type, or a
    /// broken client).
    pub decode_error: Option<String>,
}

/// The cluster's brokers and topics from one Metadata answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    pub cluster_id: Option<String>,
    pub controller_id: Option<i32>,
    pub brokers: Vec<Broker>,
    /// Sorted by name.
    pub topics: Vec<TopicMeta>,
}

impl Metadata {
    pub fn topic(&self, name: &str) -> Option<&TopicMeta> {
        self.topics
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.topics[i])
    }

    /// Partitions in the cluster.
    pub fn partition_count(&self) -> usize {
        self.topics.iter().map(|t| t.partitions.len()).sum()
    }

    /// (leaders, replicas) hosted per broker id.
    pub fn broker_load(&self) -> BTreeMap<i32, (usize, usize)> {
        let mut load: BTreeMap<i32, (usize, usize)> = self.brokers.iter().map(|b| (b.id, (0, 0))).collect();
        for t in &self.topics {
            for p in &t.partitions {
                if let Some(l) = p.leader {
                    load.entry(l).or_default().0 += 1;
                }
                for r in &p.replicas {
                    load.entry(*r).or_default().1 += 1;
                }
            }
        }
        load
    }
}

/// Human-readable durations and sizes for retention and the like.
pub mod human {
    pub fn duration_ms(ms: i64) -> String {
        if ms < 0 {
            return "forever".into();
        }
        const UNITS: [(i64, &str); 4] = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1_000, "s")];
        // Exact in the largest unit that divides it ("7d", "90s"), else one decimal ("1.5h").
        for (size, unit) in UNITS {
            if ms >= size && ms % size == 0 {
                return format!("{}{unit}", ms / size);
            }
        }
        if ms < 1_000 {
            return format!("{ms}ms");
        }
        for (size, unit) in UNITS {
            if ms >= size {
                return format!("{:.1}{unit}", ms as f64 / size as f64);
            }
        }
        format!("{ms}ms")
    }

    pub fn bytes(b: i64) -> String {
        if b < 0 {
            return "unlimited".into();
        }
        const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
        let mut v = b as f64;
        let mut u = 0;
        while v >= 1024.0 && u < UNITS.len() - 1 {
            v /= 1024.0;
            u += 1;
        }
        if u == 0 {
            format!("{b} B")
        } else if v.fract() == 0.0 {
            format!("{v:.0} {}", UNITS[u])
        } else {
            format!("{v:.1} {}", UNITS[u])
        }
    }

    pub fn count(n: i64) -> String {
        match n.unsigned_abs() {
            0..=9_999 => n.to_string(),
            10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
            1_000_000..=999_999_999 => format!("{:.1}M", n as f64 / 1e6),
            _ => format!("{:.1}G", n as f64 / 1e9),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn durations_sizes_and_counts_read_like_an_operator_writes_them() {
            assert_eq!(duration_ms(604_800_000), "7d");
            assert_eq!(duration_ms(3_600_000), "1h");
            assert_eq!(duration_ms(90_000), "90s");
            assert_eq!(duration_ms(5_400_500), "1.5h");
            assert_eq!(duration_ms(250), "250ms");
            assert_eq!(duration_ms(-1), "forever");
            assert_eq!(bytes(1_073_741_824), "1 GiB");
            assert_eq!(bytes(1536), "1.5 KiB");
            assert_eq!(bytes(-1), "unlimited");
            assert_eq!(count(12_345), "12.3k");
            assert_eq!(count(999), "999");
        }
    }
}
