//! Plain data describing a cluster as the console knows it: owned, cloneable, no client
//! handles. The worker builds these from rdkafka answers; the UI renders them.

use std::collections::BTreeMap;

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

/// One partition: metadata plus watermarks and size where the cluster answered them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Partition {
    pub id: i32,
    /// None when the partition has no leader (offline).
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Kafka's error name for this partition in the metadata answer, e.g. LEADER_NOT_AVAILABLE.
    pub error: Option<String>,
    pub log_start: Option<i64>,
    pub high_watermark: Option<i64>,
    pub size_bytes: Option<u64>,
}

impl Partition {
    pub fn is_offline(&self) -> bool {
        self.leader.is_none()
    }

    /// Fewer in-sync replicas than replicas.
    pub fn is_under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }

    /// Records currently retained: high watermark minus log start.
    pub fn records(&self) -> Option<i64> {
        Some(self.high_watermark? - self.log_start?)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topic {
    pub name: String,
    pub internal: bool,
    pub partitions: Vec<Partition>,
    pub error: Option<String>,
    /// Effective retention, when the configs have been fetched.
    pub retention_ms: Option<i64>,
    pub retention_bytes: Option<i64>,
}

impl Topic {
    pub fn replication_factor(&self) -> usize {
        self.partitions.iter().map(|p| p.replicas.len()).max().unwrap_or(0)
    }

    /// Sum over partitions; None if any partition's watermarks are unknown.
    pub fn records(&self) -> Option<i64> {
        self.partitions.iter().map(Partition::records).sum()
    }

    /// Sum of partition sizes; None when the cluster did not report sizes.
    pub fn size_bytes(&self) -> Option<u64> {
        self.partitions.iter().map(|p| p.size_bytes).sum()
    }

    pub fn offline_partitions(&self) -> usize {
        self.partitions.iter().filter(|p| p.is_offline()).count()
    }

    pub fn under_replicated_partitions(&self) -> usize {
        self.partitions.iter().filter(|p| p.is_under_replicated()).count()
    }
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

/// One consumer group as ListGroups reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSummary {
    pub name: String,
    pub state: String,
    pub protocol_type: String,
    pub members: usize,
}

/// A whole view of the cluster at one refresh.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterSnapshot {
    pub cluster_id: Option<String>,
    pub controller_id: Option<i32>,
    pub brokers: Vec<Broker>,
    /// Sorted by name.
    pub topics: Vec<Topic>,
}

impl ClusterSnapshot {
    pub fn topic(&self, name: &str) -> Option<&Topic> {
        self.topics
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.topics[i])
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
