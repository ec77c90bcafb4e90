//! Broker and topic configuration: the table of every config the bundled broker understands,
//! the broker's TOML file, and the effective per-topic settings derived from both.
//!
//! The broker file uses Kafka's own property names as keys (`"log.retention.ms" = 3600000`) so
//! an operator's Kafka knowledge carries over. Topic overrides use the topic-level names
//! (`retention.ms`). Nothing here does I/O except [`BrokerConfig::load`].

use std::collections::BTreeMap;
use std::path::Path;

use crate::broker::error::ConfigError;

/// Kafka's `ConfigEntry.ConfigType` numbering, as DescribeConfigs v3+ reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// Kafka's `DescribeConfigsResponse.ConfigSource` numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    DynamicTopic = 1,
    StaticBroker = 4,
    Default = 5,
}

/// A value's check beyond its type, after Kafka's `ConfigDef` validators.
#[derive(Clone, Copy, Debug)]
pub enum Check {
    Any,
    AtLeast(i64),
    Between(i64, i64),
    /// Between the bounds, or exactly the third value (gzip's "default level" -1).
    BetweenOr(i64, i64, i64),
    /// One of these strings, case-sensitive as Kafka's `ValidString`.
    OneOf(&'static [&'static str]),
    /// A comma-separated list whose every entry is one of these (`ValidList`).
    ListOf(&'static [&'static str]),
    /// `*` or `partition:broker,...` (Kafka's `ThrottledReplicaListValidator`).
    ThrottledReplicas,
    /// A Kafka release or inter-broker protocol version (`MetadataVersionValidator`).
    MetadataVersion,
    /// Checked by strom's own code for the key (listeners, SASL mechanisms).
    Own,
}

/// One config the broker knows: its topic-level name (if it can be set per topic), its
/// broker-level name (if the broker file can set it; Kafka gives a few topic configs none),
/// type, default and check.
#[derive(Debug)]
pub struct ConfigDef {
    pub topic_name: Option<&'static str>,
    pub broker_name: Option<&'static str>,
    pub kind: ConfigType,
    pub default: &'static str,
    pub check: Check,
    /// Broker-only settings that cannot change while the broker runs.
    pub read_only: bool,
}

impl ConfigDef {
    /// The name used in messages: the topic-level one when there is one.
    pub fn name(&self) -> &'static str {
        self.topic_name.or(self.broker_name).unwrap_or_default()
    }
}

const fn topic(
    topic_name: &'static str,
    broker_name: &'static str,
    kind: ConfigType,
    default: &'static str,
    check: Check,
) -> ConfigDef {
    ConfigDef {
        topic_name: Some(topic_name),
        broker_name: Some(broker_name),
        kind,
        default,
        check,
        read_only: false,
    }
}

/// A topic config Kafka gives no broker-level default.
const fn topic_only(topic_name: &'static str, kind: ConfigType, default: &'static str, check: Check) -> ConfigDef {
    ConfigDef {
        topic_name: Some(topic_name),
        broker_name: None,
        kind,
        default,
        check,
        read_only: false,
    }
}

const fn broker(broker_name: &'static str, kind: ConfigType, default: &'static str, check: Check) -> ConfigDef {
    ConfigDef {
        topic_name: None,
        broker_name: Some(broker_name),
        kind,
        default,
        check,
        read_only: true,
    }
}

const I64_MAX: &str = "9223372036854775807";

/// Every config the broker understands: all of Kafka 3.x's topic configs (LogConfig, with their
/// server synonyms from ServerTopicConfigSynonyms), then the broker's own keys. Defaults and
/// checks are Kafka's. Which topic configs change what this broker does is said in the README
/// ("Topic configs"); the others are stored and reported as Kafka does.
pub const CONFIG_DEFS: &[ConfigDef] = &[
    topic(
        "cleanup.policy",
        "log.cleanup.policy",
        ConfigType::List,
        "delete",
        Check::ListOf(&["compact", "delete"]),
    ),
    topic(
        "compression.type",
        "compression.type",
        ConfigType::String,
        "producer",
        Check::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
    ),
    topic(
        "compression.gzip.level",
        "compression.gzip.level",
        ConfigType::Int,
        "-1",
        Check::BetweenOr(1, 9, -1),
    ),
    topic(
        "compression.lz4.level",
        "compression.lz4.level",
        ConfigType::Int,
        "9",
        Check::Between(1, 17),
    ),
    topic(
        "compression.zstd.level",
        "compression.zstd.level",
        ConfigType::Int,
        "3",
        Check::Between(-131072, 22),
    ),
    topic(
        "delete.retention.ms",
        "log.cleaner.delete.retention.ms",
        ConfigType::Long,
        "86400000",
        Check::AtLeast(0),
    ),
    topic(
        "file.delete.delay.ms",
        "log.segment.delete.delay.ms",
        ConfigType::Long,
        "60000",
        Check::AtLeast(0),
    ),
    topic(
        "flush.messages",
        "log.flush.interval.messages",
        ConfigType::Long,
        I64_MAX,
        Check::AtLeast(1),
    ),
    topic(
        "flush.ms",
        "log.flush.interval.ms",
        ConfigType::Long,
        I64_MAX,
        Check::AtLeast(0),
    ),
    topic_only(
        "follower.replication.throttled.replicas",
        ConfigType::List,
        "",
        Check::ThrottledReplicas,
    ),
    topic(
        "index.interval.bytes",
        "log.index.interval.bytes",
        ConfigType::Int,
        "4096",
        Check::AtLeast(0),
    ),
    topic_only(
        "leader.replication.throttled.replicas",
        ConfigType::List,
        "",
        Check::ThrottledReplicas,
    ),
    topic(
        "local.retention.bytes",
        "log.local.retention.bytes",
        ConfigType::Long,
        "-2",
        Check::AtLeast(-2),
    ),
    topic(
        "local.retention.ms",
        "log.local.retention.ms",
        ConfigType::Long,
        "-2",
        Check::AtLeast(-2),
    ),
    topic(
        "max.compaction.lag.ms",
        "log.cleaner.max.compaction.lag.ms",
        ConfigType::Long,
        I64_MAX,
        Check::AtLeast(1),
    ),
    topic(
        "max.message.bytes",
        "message.max.bytes",
        ConfigType::Int,
        "1048588",
        Check::AtLeast(0),
    ),
    topic(
        "message.downconversion.enable",
        "log.message.downconversion.enable",
        ConfigType::Boolean,
        "true",
        Check::Any,
    ),
    topic(
        "message.format.version",
        "log.message.format.version",
        ConfigType::String,
        "3.0-IV1",
        Check::MetadataVersion,
    ),
    topic(
        "message.timestamp.after.max.ms",
        "log.message.timestamp.after.max.ms",
        ConfigType::Long,
        I64_MAX,
        Check::AtLeast(0),
    ),
    topic(
        "message.timestamp.before.max.ms",
        "log.message.timestamp.before.max.ms",
        ConfigType::Long,
        I64_MAX,
        Check::AtLeast(0),
    ),
    topic(
        "message.timestamp.difference.max.ms",
        "log.message.timestamp.difference.max.ms",
        ConfigType::Long,
        I64_MAX,
        Check::AtLeast(0),
    ),
    topic(
        "message.timestamp.type",
        "log.message.timestamp.type",
        ConfigType::String,
        "CreateTime",
        Check::OneOf(&["CreateTime", "LogAppendTime"]),
    ),
    topic(
        "min.cleanable.dirty.ratio",
        "log.cleaner.min.cleanable.ratio",
        ConfigType::Double,
        "0.5",
        Check::Between(0, 1),
    ),
    topic(
        "min.compaction.lag.ms",
        "log.cleaner.min.compaction.lag.ms",
        ConfigType::Long,
        "0",
        Check::AtLeast(0),
    ),
    topic(
        "min.insync.replicas",
        "min.insync.replicas",
        ConfigType::Int,
        "1",
        Check::AtLeast(1),
    ),
    topic(
        "preallocate",
        "log.preallocate",
        ConfigType::Boolean,
        "false",
        Check::Any,
    ),
    topic_only("remote.log.copy.disable", ConfigType::Boolean, "false", Check::Any),
    topic_only("remote.log.delete.on.disable", ConfigType::Boolean, "false", Check::Any),
    topic_only("remote.storage.enable", ConfigType::Boolean, "false", Check::Any),
    topic(
        "retention.bytes",
        "log.retention.bytes",
        ConfigType::Long,
        "-1",
        Check::Any,
    ),
    topic(
        "retention.ms",
        "log.retention.ms",
        ConfigType::Long,
        "604800000",
        Check::AtLeast(-1),
    ),
    topic(
        "segment.bytes",
        "log.segment.bytes",
        ConfigType::Int,
        "1073741824",
        Check::AtLeast(14),
    ),
    topic(
        "segment.index.bytes",
        "log.index.size.max.bytes",
        ConfigType::Int,
        "10485760",
        Check::AtLeast(4),
    ),
    topic(
        "segment.jitter.ms",
        "log.roll.jitter.ms",
        ConfigType::Long,
        "0",
        Check::AtLeast(0),
    ),
    topic(
        "segment.ms",
        "log.roll.ms",
        ConfigType::Long,
        "604800000",
        Check::AtLeast(1),
    ),
    topic(
        "unclean.leader.election.enable",
        "unclean.leader.election.enable",
        ConfigType::Boolean,
        "false",
        Check::Any,
    ),
    broker("auto.create.topics.enable", ConfigType::Boolean, "true", Check::Any),
    broker("num.partitions", ConfigType::Int, "1", Check::AtLeast(1)),
    broker(
        "log.retention.check.interval.ms",
        ConfigType::Long,
        "300000",
        Check::AtLeast(1),
    ),
    broker(
        "socket.request.max.bytes",
        ConfigType::Int,
        "104857600",
        Check::AtLeast(1),
    ),
    broker("fetch.max.bytes", ConfigType::Int, "57671680", Check::AtLeast(1024)),
    // Kafka's default is unlimited; a shared host needs a bound (each connection is a file).
    broker("max.connections", ConfigType::Int, "1000", Check::AtLeast(1)),
    broker(
        "max.connections.per.ip",
        ConfigType::Int,
        "2147483647",
        Check::AtLeast(1),
    ),
    broker("connections.max.idle.ms", ConfigType::Long, "600000", Check::AtLeast(1)),
    // strom's own: replies a connection may owe before its requests are no longer read.
    broker(
        "strom.connection.max.in.flight.requests",
        ConfigType::Int,
        "64",
        Check::AtLeast(1),
    ),
    // KIP-578's name; Kafka itself has no bound.
    broker("max.broker.partitions", ConfigType::Int, "50000", Check::AtLeast(1)),
    // strom's own: partitions one CreateTopics or CreatePartitions request may add.
    broker(
        "strom.max.partitions.per.request",
        ConfigType::Int,
        "10000",
        Check::AtLeast(1),
    ),
    // strom's own: Kafka inflates compressed batches without a limit.
    broker(
        "strom.produce.max.uncompressed.bytes",
        ConfigType::Long,
        "134217728",
        Check::AtLeast(1024),
    ),
    broker("node.id", ConfigType::Int, "1", Check::Any),
    broker("advertised.host", ConfigType::String, "", Check::Any),
    // Kafka's form, one entry per listener in --listen order: `[PROTOCOL://]HOST:PORT,...`.
    broker("advertised.listeners", ConfigType::String, "", Check::Own),
    broker("group.initial.rebalance.delay.ms", ConfigType::Int, "3000", Check::Any),
    broker("group.min.session.timeout.ms", ConfigType::Int, "6000", Check::Any),
    broker("group.max.session.timeout.ms", ConfigType::Int, "1800000", Check::Any),
    broker("offsets.retention.minutes", ConfigType::Int, "10080", Check::Any),
    broker(
        "sasl.enabled.mechanisms",
        ConfigType::String,
        "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
        Check::Own,
    ),
    broker(
        "connection.failed.authentication.delay.ms",
        ConfigType::Int,
        "100",
        Check::AtLeast(0),
    ),
    // Not a Kafka key: failed SASL authentications allowed per client address and minute
    // (a burst of this many, refilled over a minute); 0 turns the limit off.
    broker(
        "sasl.failed.authentications.per.minute",
        ConfigType::Int,
        "10",
        Check::AtLeast(0),
    ),
];

pub fn def_by_topic_name(name: &str) -> Option<&'static ConfigDef> {
    CONFIG_DEFS.iter().find(|d| d.topic_name == Some(name))
}

pub fn def_by_broker_name(name: &str) -> Option<&'static ConfigDef> {
    CONFIG_DEFS.iter().find(|d| d.broker_name == Some(name))
}

/// The entries of a list value as Kafka's `ConfigDef` parses it: split at commas, each entry
/// trimmed; an empty text is the empty list.
pub fn list_entries(value: &str) -> Vec<&str> {
    let value = value.trim();
    if value.is_empty() {
        return Vec::new();
    }
    value.split(',').map(str::trim).collect()
}

/// Kafka's MetadataVersion releases, and the inter-broker protocol versions within them
/// (`release-IVn`), as `message.format.version` accepts them.
const RELEASES: &[(&str, u8)] = &[
    ("0.8.0", 0),
    ("0.8.1", 0),
    ("0.8.2", 0),
    ("0.9.0", 0),
    ("0.10.0", 2),
    ("0.10.1", 3),
    ("0.10.2", 1),
    ("0.11.0", 3),
    ("1.0", 1),
    ("1.1", 1),
    ("2.0", 2),
    ("2.1", 3),
    ("2.2", 2),
    ("2.3", 2),
    ("2.4", 2),
    ("2.5", 1),
    ("2.6", 1),
    ("2.7", 3),
    ("2.8", 2),
    ("3.0", 2),
    ("3.1", 1),
    ("3.2", 1),
    ("3.3", 4),
    ("3.4", 1),
    ("3.5", 3),
    ("3.6", 3),
    ("3.7", 5),
    ("3.8", 1),
    ("3.9", 1),
];

/// Kafka's `MetadataVersion.fromVersionString`: a release (`3.6`, `0.10.2`), a release with an
/// inter-broker protocol version (`3.6-IV2`), or a patch release of one (`3.6.1`).
fn is_metadata_version(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    let keep = if value.starts_with("0.") { 3 } else { 2 };
    let key = if parts.len() <= keep {
        value.to_string()
    } else {
        parts[..keep].join(".")
    };
    let (release, iv) = match key.split_once('-') {
        Some((r, iv)) => (r, Some(iv)),
        None => (key.as_str(), None),
    };
    RELEASES.iter().any(|&(r, ivs)| {
        r == release
            && match iv {
                None => true,
                Some(iv) => (0..ivs).any(|n| iv == format!("IV{n}")),
            }
    })
}

/// Checks one value against its definition with Kafka's `ConfigException` text:
/// "Invalid value V for configuration NAME: REASON".
pub fn validate_value(def: &ConfigDef, value: &str) -> Result<(), String> {
    let name = def.name();
    let invalid = |reason: String| format!("Invalid value {value} for configuration {name}: {reason}");
    let trimmed = value.trim();
    let number = match def.kind {
        ConfigType::Boolean => {
            return if trimmed.eq_ignore_ascii_case("true") || trimmed.eq_ignore_ascii_case("false") {
                Ok(())
            } else {
                Err(invalid("Expected value to be either true or false".into()))
            };
        }
        ConfigType::Int => Some(
            trimmed
                .parse::<i32>()
                .map(f64::from)
                .map_err(|_| invalid("Not a number of type INT".into()))?,
        ),
        ConfigType::Long => Some(
            trimmed
                .parse::<i64>()
                .map(|v| v as f64)
                .map_err(|_| invalid("Not a number of type LONG".into()))?,
        ),
        ConfigType::Double => Some(
            trimmed
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| invalid("Not a number of type DOUBLE".into()))?,
        ),
        ConfigType::String | ConfigType::List => None,
    };
    // Integers compared as i64 (exact), the one double as f64.
    let int = || trimmed.parse::<i64>().unwrap_or_default();
    let at_least = |min: i64| match def.kind {
        ConfigType::Double => number.unwrap_or_default() >= min as f64,
        _ => int() >= min,
    };
    let at_most = |max: i64| match def.kind {
        ConfigType::Double => number.unwrap_or_default() <= max as f64,
        _ => int() <= max,
    };
    match def.check {
        Check::Any => Ok(()),
        Check::AtLeast(min) if !at_least(min) => Err(invalid(format!("Value must be at least {min}"))),
        Check::AtLeast(_) => Ok(()),
        Check::Between(min, _) if !at_least(min) => Err(invalid(format!("Value must be at least {min}"))),
        Check::Between(_, max) if !at_most(max) => Err(invalid(format!("Value must be no more than {max}"))),
        Check::Between(..) => Ok(()),
        Check::BetweenOr(min, max, or) => {
            if int() == or || (at_least(min) && at_most(max)) {
                Ok(())
            } else {
                Err(invalid(format!(
                    "Value must be between {min} and {max} or equal to {or}"
                )))
            }
        }
        Check::OneOf(allowed) => {
            if allowed.contains(&value) {
                Ok(())
            } else {
                Err(invalid(format!("String must be one of: {}", allowed.join(", "))))
            }
        }
        Check::ListOf(allowed) => match list_entries(value).into_iter().find(|e| !allowed.contains(e)) {
            None => Ok(()),
            Some(bad) => Err(format!(
                "Invalid value {bad} for configuration {name}: String must be one of: {}",
                allowed.join(", ")
            )),
        },
        Check::ThrottledReplicas => {
            let entries = list_entries(value);
            let pair = |e: &str| {
                e.is_empty()
                    || e.split_once(':').is_some_and(|(p, b)| {
                        !p.is_empty()
                            && !b.is_empty()
                            && p.bytes().all(|c| c.is_ascii_digit())
                            && b.bytes().all(|c| c.is_ascii_digit())
                    })
            };
            if entries.concat() == "*" || entries.iter().all(|e| pair(e)) {
                Ok(())
            } else {
                Err(invalid(format!(
                    "{name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."
                )))
            }
        }
        Check::MetadataVersion => {
            if is_metadata_version(value) {
                Ok(())
            } else {
                Err(invalid(format!("Version {value} is not a valid version")))
            }
        }
        Check::Own => match name {
            "sasl.enabled.mechanisms" => crate::broker::security::Mechanism::parse_list(value)
                .map(|_| ())
                .map_err(|e| format!("{name}: {e}")),
            "advertised.listeners" => parse_advertised_listeners(value).map(|_| ()),
            _ => Ok(()),
        },
    }
}

/// What this broker refuses although Kafka accepts it, because honouring it would need what a
/// single node without compaction or tiered storage does not have.
fn unsupported(name: &str, value: &str) -> Option<String> {
    match name {
        "cleanup.policy" | "log.cleanup.policy" => {
            let entries = list_entries(value);
            if entries.contains(&"compact") {
                Some(format!(
                    "Invalid value {value} for configuration {name}: this broker does not compact logs; use 'delete'"
                ))
            } else if entries.is_empty() {
                Some(format!(
                    "Invalid value {value} for configuration {name}: this broker deletes by retention only; use 'delete'"
                ))
            } else {
                None
            }
        }
        // Kafka's answer when tiered storage is off, as it always is here.
        "remote.storage.enable" if value.trim().eq_ignore_ascii_case("true") => Some(
            "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage."
                .to_string(),
        ),
        _ => None,
    }
}

/// Parses `advertised.listeners`: comma-separated `[PROTOCOL://]HOST:PORT`, one per listener in
/// `--listen` order, as Kafka writes them. Returns (host, port) pairs; empty text is none.
pub fn parse_advertised_listeners(text: &str) -> Result<Vec<(String, u16)>, String> {
    let mut out = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let addr = entry.split_once("://").map_or(entry, |(_, a)| a);
        let bad = || format!("advertised listener '{entry}' must be [PROTOCOL://]HOST:PORT");
        let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host == "0.0.0.0" || host == "::" {
            return Err(format!(
                "advertised listener '{entry}' needs a host clients can reach, not '{host}'"
            ));
        }
        let port: u16 = port.parse().map_err(|_| bad())?;
        if port == 0 {
            return Err(format!("advertised listener '{entry}' needs a real port, not 0"));
        }
        out.push((host.to_string(), port));
    }
    Ok(out)
}

/// The broker's static configuration: Kafka property names mapped to string values, as read
/// from `--config broker.toml`. Absent keys take [`CONFIG_DEFS`] defaults.
#[derive(Clone, Debug, Default)]
pub struct BrokerConfig {
    values: BTreeMap<String, String>,
}

impl BrokerConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::parse(&text).map_err(|(key, reason)| ConfigError::Invalid {
            path: path.to_path_buf(),
            key,
            reason,
        })
    }

    /// Parses the TOML text; on error returns the offending key and why.
    pub fn parse(text: &str) -> Result<Self, (String, String)> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ("(syntax)".to_string(), e.to_string()))?;
        let mut values = BTreeMap::new();
        for (key, value) in table {
            let def = def_by_broker_name(&key).ok_or_else(|| {
                (key.clone(), "unknown broker config; known keys are the Kafka names such as log.retention.ms, log.segment.bytes, num.partitions".to_string())
            })?;
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err((
                        key,
                        format!("expected a string, integer or boolean, got {}", other.type_str()),
                    ))
                }
            };
            validate_value(def, &text).map_err(|reason| (key.clone(), reason))?;
            if let Some(reason) = unsupported(&key, &text) {
                return Err((key, reason));
            }
            values.insert(key, text);
        }
        Ok(Self { values })
    }

    /// Sets one value programmatically (tests, command-line overrides).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let def = def_by_broker_name(key).ok_or_else(|| format!("unknown broker config {key}"))?;
        validate_value(def, value)?;
        if let Some(reason) = unsupported(key, value) {
            return Err(reason);
        }
        self.values.insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// The value and where it came from, for the broker-level name.
    pub fn get(&self, broker_name: &str) -> (String, ConfigSource) {
        match self.values.get(broker_name) {
            Some(v) => (v.clone(), ConfigSource::StaticBroker),
            None => (
                def_by_broker_name(broker_name)
                    .map(|d| d.default.to_string())
                    .unwrap_or_default(),
                ConfigSource::Default,
            ),
        }
    }

    pub fn get_i64(&self, broker_name: &str) -> i64 {
        self.get(broker_name).0.parse().unwrap_or_default()
    }

    pub fn get_bool(&self, broker_name: &str) -> bool {
        self.get(broker_name).0 == "true"
    }

    pub fn is_set(&self, broker_name: &str) -> bool {
        self.values.contains_key(broker_name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// The effective settings of one topic: its overrides on top of the broker's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    pub retention_ms: i64,
    pub retention_bytes: i64,
    pub segment_bytes: u64,
    pub segment_ms: i64,
    pub max_message_bytes: usize,
    pub timestamp_type: TimestampType,
    /// CreateTime topics: how far before / after the broker's clock a record's timestamp may
    /// lie (`message.timestamp.before.max.ms` / `after`, each falling back to the deprecated
    /// `message.timestamp.difference.max.ms` while unset, as in Kafka 3.x).
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
}

impl LogConfig {
    pub fn resolve(broker: &BrokerConfig, overrides: &BTreeMap<String, String>) -> Self {
        let get = |topic_name: &str| -> String {
            if let Some(v) = overrides.get(topic_name) {
                return v.clone();
            }
            match def_by_topic_name(topic_name) {
                Some(ConfigDef {
                    broker_name: Some(b), ..
                }) => broker.get(b).0,
                Some(def) => def.default.to_string(),
                None => String::new(),
            }
        };
        let num = |name: &str| get(name).trim().parse::<i64>().unwrap_or_default();
        let set = |topic_name: &str| {
            overrides.contains_key(topic_name)
                || def_by_topic_name(topic_name)
                    .and_then(|d| d.broker_name)
                    .is_some_and(|b| broker.is_set(b))
        };
        let bound = |name: &str| {
            if set(name) || !set("message.timestamp.difference.max.ms") {
                num(name)
            } else {
                num("message.timestamp.difference.max.ms")
            }
        };
        LogConfig {
            retention_ms: num("retention.ms"),
            retention_bytes: num("retention.bytes"),
            segment_bytes: num("segment.bytes").max(14) as u64,
            segment_ms: num("segment.ms").max(1),
            max_message_bytes: num("max.message.bytes").max(0) as usize,
            timestamp_type: if get("message.timestamp.type") == "LogAppendTime" {
                TimestampType::LogAppendTime
            } else {
                TimestampType::CreateTime
            },
            timestamp_before_max_ms: bound("message.timestamp.before.max.ms"),
            timestamp_after_max_ms: bound("message.timestamp.after.max.ms"),
        }
    }
}

/// Validates a topic's complete set of overrides (CreateTopics, AlterConfigs, the result of
/// IncrementalAlterConfigs) as Kafka's LogConfig does: every name known ("Unknown topic config
/// name"), every value of its type and range, and the checks across keys on the effective
/// values. The error is Kafka's message; the caller answers INVALID_CONFIG with it.
pub fn validate_topic_configs(broker: &BrokerConfig, configs: &BTreeMap<String, String>) -> Result<(), String> {
    for (key, value) in configs {
        let def = def_by_topic_name(key).ok_or_else(|| format!("Unknown topic config name: {key}"))?;
        validate_value(def, value)?;
        if let Some(reason) = unsupported(key, value) {
            return Err(reason);
        }
    }
    let effective = |name: &str| -> i64 {
        let def = def_by_topic_name(name);
        configs
            .get(name)
            .cloned()
            .or_else(|| def.and_then(|d| d.broker_name).map(|b| broker.get(b).0))
            .or_else(|| def.map(|d| d.default.to_string()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_default()
    };
    let (min_lag, max_lag) = (effective("min.compaction.lag.ms"), effective("max.compaction.lag.ms"));
    if min_lag > max_lag {
        return Err(format!(
            "conflict topic config setting min.compaction.lag.ms ({min_lag}) > max.compaction.lag.ms ({max_lag})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn advertised_listeners_parse_as_kafka_writes_them() {
        assert_eq!(
            parse_advertised_listeners("PLAINTEXT://kafka.example:9092, SSL://[::1]:9093").unwrap(),
            vec![("kafka.example".to_string(), 9092), ("::1".to_string(), 9093)]
        );
        assert_eq!(parse_advertised_listeners("h:1").unwrap(), vec![("h".to_string(), 1)]);
        assert!(parse_advertised_listeners("").unwrap().is_empty());
        for bad in ["nohost", "h:port", "0.0.0.0:9092", "h:0", ":9092", "h:70000"] {
            assert!(parse_advertised_listeners(bad).is_err(), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn broker_file_uses_kafka_names_and_reports_bad_keys() {
        let cfg = BrokerConfig::parse("\"log.retention.ms\" = 1000\n\"num.partitions\" = 3\n").unwrap();
        assert_eq!(cfg.get_i64("log.retention.ms"), 1000);
        assert_eq!(cfg.get("num.partitions"), ("3".to_string(), ConfigSource::StaticBroker));
        assert_eq!(cfg.get("log.segment.bytes").1, ConfigSource::Default);

        let (key, reason) = BrokerConfig::parse("\"log.retention.msx\" = 1\n").unwrap_err();
        assert_eq!(key, "log.retention.msx");
        assert!(reason.contains("unknown"));
        let (key, reason) = BrokerConfig::parse("\"num.partitions\" = \"many\"\n").unwrap_err();
        assert_eq!(key, "num.partitions");
        assert_eq!(
            reason,
            "Invalid value many for configuration num.partitions: Not a number of type INT"
        );
        let (key, _) = BrokerConfig::parse("\"log.cleanup.policy\" = \"compact\"\n").unwrap_err();
        assert_eq!(key, "log.cleanup.policy");
    }

    #[test]
    fn topic_overrides_win_over_broker_values() {
        let broker = BrokerConfig::parse("\"log.retention.ms\" = 1000\n\"log.segment.bytes\" = 4096\n").unwrap();
        let mut overrides = BTreeMap::new();
        overrides.insert("retention.ms".to_string(), "5".to_string());
        let cfg = LogConfig::resolve(&broker, &overrides);
        assert_eq!(cfg.retention_ms, 5);
        assert_eq!(cfg.segment_bytes, 4096);
        assert_eq!(cfg.timestamp_type, TimestampType::CreateTime);
    }

    fn one(key: &str, value: &str) -> Result<(), String> {
        let mut c = BTreeMap::new();
        c.insert(key.to_string(), value.to_string());
        validate_topic_configs(&BrokerConfig::default(), &c)
    }

    #[test]
    fn compaction_is_refused_until_it_exists() {
        assert!(one("cleanup.policy", "compact")
            .unwrap_err()
            .contains("does not compact"));
        assert!(one("cleanup.policy", "delete, compact")
            .unwrap_err()
            .contains("does not compact"));
        assert!(one("cleanup.policy", "").unwrap_err().contains("use 'delete'"));
        assert_eq!(one("cleanup.policy", " delete "), Ok(()));
        assert_eq!(
            one("segment.jiffies", "1").unwrap_err(),
            "Unknown topic config name: segment.jiffies"
        );
    }

    /// Kafka 3.9's topic configs (LogConfig.configNames()).
    const KAFKA_TOPIC_CONFIGS: &[&str] = &[
        "cleanup.policy",
        "compression.gzip.level",
        "compression.lz4.level",
        "compression.type",
        "compression.zstd.level",
        "delete.retention.ms",
        "file.delete.delay.ms",
        "flush.messages",
        "flush.ms",
        "follower.replication.throttled.replicas",
        "index.interval.bytes",
        "leader.replication.throttled.replicas",
        "local.retention.bytes",
        "local.retention.ms",
        "max.compaction.lag.ms",
        "max.message.bytes",
        "message.downconversion.enable",
        "message.format.version",
        "message.timestamp.after.max.ms",
        "message.timestamp.before.max.ms",
        "message.timestamp.difference.max.ms",
        "message.timestamp.type",
        "min.cleanable.dirty.ratio",
        "min.compaction.lag.ms",
        "min.insync.replicas",
        "preallocate",
        "remote.log.copy.disable",
        "remote.log.delete.on.disable",
        "remote.storage.enable",
        "retention.bytes",
        "retention.ms",
        "segment.bytes",
        "segment.index.bytes",
        "segment.jitter.ms",
        "segment.ms",
        "unclean.leader.election.enable",
    ];

    #[test]
    fn every_kafka_topic_config_is_known_and_its_default_valid() {
        let mut ours: Vec<&str> = CONFIG_DEFS.iter().filter_map(|d| d.topic_name).collect();
        ours.sort_unstable();
        assert_eq!(ours, KAFKA_TOPIC_CONFIGS);
        for def in CONFIG_DEFS {
            assert_eq!(validate_value(def, def.default), Ok(()), "{}", def.name());
        }
        // The setup-script configs of the issue, with values Kafka accepts.
        for (k, v) in [
            ("min.insync.replicas", "2"),
            ("compression.type", "zstd"),
            ("unclean.leader.election.enable", "TRUE"),
            ("delete.retention.ms", "0"),
            ("segment.index.bytes", "4"),
            ("segment.jitter.ms", "1000"),
            ("preallocate", " false"),
            ("min.cleanable.dirty.ratio", "0.25"),
            ("message.format.version", "2.8"),
            ("message.format.version", "3.6-IV2"),
            ("message.format.version", "0.10.2.1"),
            ("compression.gzip.level", "-1"),
            ("compression.zstd.level", "-131072"),
            ("leader.replication.throttled.replicas", "*"),
            ("follower.replication.throttled.replicas", "0:1, 1:1"),
            ("local.retention.ms", "-2"),
            ("retention.bytes", "-5"),
        ] {
            assert_eq!(one(k, v), Ok(()), "{k}={v}");
        }
    }

    #[test]
    fn bad_values_get_kafkas_config_exception_text() {
        for (k, v, msg) in [
            ("retention.ms", "soon", "Invalid value soon for configuration retention.ms: Not a number of type LONG"),
            ("retention.ms", "-2", "Invalid value -2 for configuration retention.ms: Value must be at least -1"),
            ("segment.bytes", "2147483648", "Invalid value 2147483648 for configuration segment.bytes: Not a number of type INT"),
            ("segment.bytes", "13", "Invalid value 13 for configuration segment.bytes: Value must be at least 14"),
            ("min.insync.replicas", "0", "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1"),
            ("preallocate", "yes", "Invalid value yes for configuration preallocate: Expected value to be either true or false"),
            ("min.cleanable.dirty.ratio", "1.5", "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no more than 1"),
            ("min.cleanable.dirty.ratio", "half", "Invalid value half for configuration min.cleanable.dirty.ratio: Not a number of type DOUBLE"),
            ("compression.type", "brotli", "Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"),
            ("compression.gzip.level", "0", "Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1"),
            ("compression.lz4.level", "18", "Invalid value 18 for configuration compression.lz4.level: Value must be no more than 17"),
            ("compression.zstd.level", "-131073", "Invalid value -131073 for configuration compression.zstd.level: Value must be at least -131072"),
            ("message.timestamp.type", "createtime", "Invalid value createtime for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime"),
            ("cleanup.policy", "delete,purge", "Invalid value purge for configuration cleanup.policy: String must be one of: compact, delete"),
            ("message.format.version", "3.10", "Invalid value 3.10 for configuration message.format.version: Version 3.10 is not a valid version"),
            ("message.format.version", "3.0-IV2", "Invalid value 3.0-IV2 for configuration message.format.version: Version 3.0-IV2 is not a valid version"),
            ("leader.replication.throttled.replicas", "0:x", "Invalid value 0:x for configuration leader.replication.throttled.replicas: leader.replication.throttled.replicas must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."),
            ("remote.storage.enable", "true", "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage."),
        ] {
            assert_eq!(one(k, v), Err(msg.to_string()), "{k}={v}");
        }
    }

    #[test]
    fn compaction_lags_are_checked_against_each_other_on_effective_values() {
        assert_eq!(
            one("min.compaction.lag.ms", "10"),
            Ok(()),
            "max.compaction.lag.ms defaults to Long.MAX_VALUE"
        );
        let mut c = BTreeMap::new();
        c.insert("min.compaction.lag.ms".to_string(), "10".to_string());
        c.insert("max.compaction.lag.ms".to_string(), "5".to_string());
        assert_eq!(
            validate_topic_configs(&BrokerConfig::default(), &c),
            Err("conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)".to_string())
        );
        let broker = BrokerConfig::parse("\"log.cleaner.max.compaction.lag.ms\" = 5\n").unwrap();
        assert!(validate_topic_configs(&broker, &map(&[("min.compaction.lag.ms", "6")])).is_err());
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn every_topic_config_is_described_with_its_source_and_synonyms() {
        let broker = BrokerConfig::parse("\"compression.type\" = \"lz4\"\n\"log.retention.ms\" = 1000\n").unwrap();
        let views = effective_topic_configs(&broker, &map(&[("retention.ms", "5"), ("preallocate", "true")]));
        assert_eq!(views.len(), KAFKA_TOPIC_CONFIGS.len());
        let find = |n: &str| views.iter().find(|v| v.name == n).unwrap();
        let r = find("retention.ms");
        assert_eq!((r.value.as_str(), r.source), ("5", ConfigSource::DynamicTopic));
        assert_eq!(
            r.synonyms,
            vec![
                ("retention.ms", "5".to_string(), ConfigSource::DynamicTopic),
                ("log.retention.ms", "1000".to_string(), ConfigSource::StaticBroker),
                ("log.retention.ms", "604800000".to_string(), ConfigSource::Default),
            ]
        );
        let c = find("compression.type");
        assert_eq!((c.value.as_str(), c.source), ("lz4", ConfigSource::StaticBroker));
        let d = find("delete.retention.ms");
        assert_eq!(
            (d.value.as_str(), d.source, d.kind),
            ("86400000", ConfigSource::Default, ConfigType::Long)
        );
        assert_eq!(
            d.synonyms,
            vec![(
                "log.cleaner.delete.retention.ms",
                "86400000".to_string(),
                ConfigSource::Default
            )]
        );
        let t = find("leader.replication.throttled.replicas");
        assert_eq!((t.value.as_str(), t.kind), ("", ConfigType::List));
        assert_eq!(find("cleanup.policy").kind, ConfigType::List);
        assert_eq!(find("min.cleanable.dirty.ratio").kind, ConfigType::Double);
        // Broker keys of topic configs are accepted in the broker file, compaction is not.
        assert!(BrokerConfig::parse("\"min.insync.replicas\" = 2\n").is_ok());
        assert!(BrokerConfig::parse("\"log.cleanup.policy\" = \"compact\"\n").is_err());
        assert!(effective_broker_configs(&broker)
            .iter()
            .any(|v| v.name == "log.cleaner.delete.retention.ms"));
        assert!(!effective_broker_configs(&broker)
            .iter()
            .any(|v| v.name == "remote.storage.enable"));
    }
}

/// One row of a topic's or the broker's effective configuration, as DescribeConfigs reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigView {
    pub name: &'static str,
    pub value: String,
    pub source: ConfigSource,
    pub read_only: bool,
    pub kind: ConfigType,
    /// Lower-precedence values that would apply without this one (name, value, source).
    pub synonyms: Vec<(&'static str, String, ConfigSource)>,
}

/// Every topic-level config of a topic: its override, else the broker's value, else the default.
pub fn effective_topic_configs(broker: &BrokerConfig, overrides: &BTreeMap<String, String>) -> Vec<ConfigView> {
    CONFIG_DEFS
        .iter()
        .filter_map(|def| {
            let name = def.topic_name?;
            let mut synonyms = Vec::new();
            if let Some(v) = overrides.get(name) {
                synonyms.push((name, v.clone(), ConfigSource::DynamicTopic));
            }
            match def.broker_name {
                Some(b) => {
                    if broker.is_set(b) {
                        synonyms.push((b, broker.get(b).0, ConfigSource::StaticBroker));
                    }
                    synonyms.push((b, def.default.to_string(), ConfigSource::Default));
                }
                // No broker synonym: Kafka lists the topic name itself with its default.
                None => synonyms.push((name, def.default.to_string(), ConfigSource::Default)),
            }
            let (_, value, source) = synonyms[0].clone();
            Some(ConfigView {
                name,
                value,
                source,
                read_only: false,
                kind: def.kind,
                synonyms,
            })
        })
        .collect()
}

/// Every broker-level config with its value and source.
pub fn effective_broker_configs(broker: &BrokerConfig) -> Vec<ConfigView> {
    CONFIG_DEFS
        .iter()
        .filter_map(|def| {
            let name = def.broker_name?;
            let (value, source) = broker.get(name);
            let mut synonyms = vec![(name, value.clone(), source)];
            if source != ConfigSource::Default {
                synonyms.push((name, def.default.to_string(), ConfigSource::Default));
            }
            Some(ConfigView {
                name,
                value,
                source,
                read_only: true,
                kind: def.kind,
                synonyms,
            })
        })
        .collect()
}
