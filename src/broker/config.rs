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
}

/// Kafka's `DescribeConfigsResponse.ConfigSource` numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    DynamicTopic = 1,
    StaticBroker = 4,
    Default = 5,
}

/// One config the broker knows: its topic-level name (if it can be set per topic), its
/// broker-level name, type and default.
#[derive(Debug)]
pub struct ConfigDef {
    pub topic_name: Option<&'static str>,
    pub broker_name: &'static str,
    pub kind: ConfigType,
    pub default: &'static str,
    /// Broker-only settings that cannot change while the broker runs.
    pub read_only: bool,
}

const fn topic(
    topic_name: &'static str,
    broker_name: &'static str,
    kind: ConfigType,
    default: &'static str,
) -> ConfigDef {
    ConfigDef {
        topic_name: Some(topic_name),
        broker_name,
        kind,
        default,
        read_only: false,
    }
}

const fn broker(broker_name: &'static str, kind: ConfigType, default: &'static str) -> ConfigDef {
    ConfigDef {
        topic_name: None,
        broker_name,
        kind,
        default,
        read_only: true,
    }
}

/// Every config the broker understands. Defaults are Kafka's.
pub const CONFIG_DEFS: &[ConfigDef] = &[
    topic("cleanup.policy", "log.cleanup.policy", ConfigType::String, "delete"),
    topic("max.message.bytes", "message.max.bytes", ConfigType::Int, "1048588"),
    topic(
        "message.timestamp.type",
        "log.message.timestamp.type",
        ConfigType::String,
        "CreateTime",
    ),
    topic(
        "message.timestamp.before.max.ms",
        "log.message.timestamp.before.max.ms",
        ConfigType::Long,
        "9223372036854775807",
    ),
    topic(
        "message.timestamp.after.max.ms",
        "log.message.timestamp.after.max.ms",
        ConfigType::Long,
        "9223372036854775807",
    ),
    topic(
        "message.timestamp.difference.max.ms",
        "log.message.timestamp.difference.max.ms",
        ConfigType::Long,
        "9223372036854775807",
    ),
    topic("retention.bytes", "log.retention.bytes", ConfigType::Long, "-1"),
    topic("retention.ms", "log.retention.ms", ConfigType::Long, "604800000"),
    topic("segment.bytes", "log.segment.bytes", ConfigType::Int, "1073741824"),
    topic("segment.ms", "log.roll.ms", ConfigType::Long, "604800000"),
    broker("auto.create.topics.enable", ConfigType::Boolean, "true"),
    broker("num.partitions", ConfigType::Int, "1"),
    broker("log.retention.check.interval.ms", ConfigType::Long, "300000"),
    broker("socket.request.max.bytes", ConfigType::Int, "104857600"),
    broker("fetch.max.bytes", ConfigType::Int, "57671680"),
    // Kafka's default is unlimited; a shared host needs a bound (each connection is a file).
    broker("max.connections", ConfigType::Int, "1000"),
    broker("max.connections.per.ip", ConfigType::Int, "2147483647"),
    broker("connections.max.idle.ms", ConfigType::Long, "600000"),
    // strom's own: replies a connection may owe before its requests are no longer read.
    broker("strom.connection.max.in.flight.requests", ConfigType::Int, "64"),
    // KIP-578's name; Kafka itself has no bound.
    broker("max.broker.partitions", ConfigType::Int, "50000"),
    // strom's own: partitions one CreateTopics or CreatePartitions request may add.
    broker("strom.max.partitions.per.request", ConfigType::Int, "10000"),
    // strom's own: Kafka inflates compressed batches without a limit.
    broker("strom.produce.max.uncompressed.bytes", ConfigType::Long, "134217728"),
    broker("node.id", ConfigType::Int, "1"),
    broker("advertised.host", ConfigType::String, ""),
    // Kafka's form, one entry per listener in --listen order: `[PROTOCOL://]HOST:PORT,...`.
    broker("advertised.listeners", ConfigType::String, ""),
    broker("group.initial.rebalance.delay.ms", ConfigType::Int, "3000"),
    broker("group.min.session.timeout.ms", ConfigType::Int, "6000"),
    broker("group.max.session.timeout.ms", ConfigType::Int, "1800000"),
    broker("offsets.retention.minutes", ConfigType::Int, "10080"),
    broker(
        "sasl.enabled.mechanisms",
        ConfigType::String,
        "SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
    ),
    broker("connection.failed.authentication.delay.ms", ConfigType::Int, "100"),
    // Not a Kafka key: failed SASL authentications allowed per client address and minute
    // (a burst of this many, refilled over a minute); 0 turns the limit off.
    broker("sasl.failed.authentications.per.minute", ConfigType::Int, "10"),
];

pub fn def_by_topic_name(name: &str) -> Option<&'static ConfigDef> {
    CONFIG_DEFS.iter().find(|d| d.topic_name == Some(name))
}

pub fn def_by_broker_name(name: &str) -> Option<&'static ConfigDef> {
    CONFIG_DEFS.iter().find(|d| d.broker_name == name)
}

/// Checks one value against its definition; the message says what would be accepted.
pub fn validate_value(def: &ConfigDef, value: &str) -> Result<(), String> {
    let name = def.topic_name.unwrap_or(def.broker_name);
    match def.kind {
        ConfigType::Boolean => value
            .parse::<bool>()
            .map(|_| ())
            .map_err(|_| format!("{name} must be true or false, not '{value}'")),
        ConfigType::Int | ConfigType::Long => {
            let v: i64 = value
                .trim()
                .parse()
                .map_err(|_| format!("{name} must be an integer, not '{value}'"))?;
            if def.kind == ConfigType::Int && i32::try_from(v).is_err() {
                return Err(format!("{name} must fit in 32 bits, not {v}"));
            }
            let min = match name {
                "retention.ms" | "retention.bytes" | "log.retention.ms" | "log.retention.bytes" => -1,
                "segment.bytes" | "log.segment.bytes" => 14,
                "segment.ms" | "log.roll.ms" | "log.retention.check.interval.ms" => 1,
                "max.message.bytes" | "message.max.bytes" => 0,
                "message.timestamp.before.max.ms"
                | "message.timestamp.after.max.ms"
                | "message.timestamp.difference.max.ms"
                | "log.message.timestamp.before.max.ms"
                | "log.message.timestamp.after.max.ms"
                | "log.message.timestamp.difference.max.ms" => 0,
                "strom.produce.max.uncompressed.bytes" => 1024,
                "fetch.max.bytes" => 1024,
                "max.connections"
                | "max.connections.per.ip"
                | "connections.max.idle.ms"
                | "strom.connection.max.in.flight.requests"
                | "max.broker.partitions"
                | "strom.max.partitions.per.request" => 1,
                "num.partitions" => 1,
                "connection.failed.authentication.delay.ms" | "sasl.failed.authentications.per.minute" => 0,
                _ => i64::MIN,
            };
            if v < min {
                return Err(format!("{name} must be at least {min}, not {v}"));
            }
            Ok(())
        }
        ConfigType::String => match name {
            "cleanup.policy" | "log.cleanup.policy" => match value {
                "delete" => Ok(()),
                "compact" | "compact,delete" | "delete,compact" => Err(format!(
                    "{name}={value} is not supported: this broker does not compact logs; use 'delete'"
                )),
                _ => Err(format!("{name} must be 'delete', not '{value}'")),
            },
            "sasl.enabled.mechanisms" => crate::broker::security::Mechanism::parse_list(value)
                .map(|_| ())
                .map_err(|e| format!("{name}: {e}")),
            "advertised.listeners" => parse_advertised_listeners(value).map(|_| ()),
            "message.timestamp.type" | "log.message.timestamp.type" => match value {
                "CreateTime" | "LogAppendTime" => Ok(()),
                _ => Err(format!("{name} must be CreateTime or LogAppendTime, not '{value}'")),
            },
            _ => Ok(()),
        },
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
            values.insert(key, text);
        }
        Ok(Self { values })
    }

    /// Sets one value programmatically (tests, command-line overrides).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let def = def_by_broker_name(key).ok_or_else(|| format!("unknown broker config {key}"))?;
        validate_value(def, value)?;
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
            let def = def_by_topic_name(topic_name).expect("config table has every topic config");
            broker.get(def.broker_name).0
        };
        let num = |name: &str| get(name).trim().parse::<i64>().unwrap_or_default();
        let set = |topic_name: &str| {
            overrides.contains_key(topic_name)
                || def_by_topic_name(topic_name).is_some_and(|d| broker.is_set(d.broker_name))
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

/// Validates a set of topic overrides (CreateTopics, AlterConfigs). The error names the key.
pub fn validate_topic_configs(configs: &BTreeMap<String, String>) -> Result<(), String> {
    for (key, value) in configs {
        let def = def_by_topic_name(key).ok_or_else(|| format!("unknown topic config '{key}'"))?;
        validate_value(def, value)?;
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
        assert!(reason.contains("integer"), "{reason}");
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

    #[test]
    fn compaction_is_refused_until_it_exists() {
        let mut c = BTreeMap::new();
        c.insert("cleanup.policy".to_string(), "compact".to_string());
        assert!(validate_topic_configs(&c).unwrap_err().contains("does not compact"));
        c.insert("cleanup.policy".to_string(), "delete".to_string());
        c.insert("segment.jiffies".to_string(), "1".to_string());
        assert!(validate_topic_configs(&c).unwrap_err().contains("unknown topic config"));
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
            if broker.is_set(def.broker_name) {
                synonyms.push((
                    def.broker_name,
                    broker.get(def.broker_name).0,
                    ConfigSource::StaticBroker,
                ));
            }
            synonyms.push((def.broker_name, def.default.to_string(), ConfigSource::Default));
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
        .map(|def| {
            let (value, source) = broker.get(def.broker_name);
            let mut synonyms = vec![(def.broker_name, value.clone(), source)];
            if source != ConfigSource::Default {
                synonyms.push((def.broker_name, def.default.to_string(), ConfigSource::Default));
            }
            ConfigView {
                name: def.broker_name,
                value,
                source,
                read_only: true,
                kind: def.kind,
                synonyms,
            }
        })
        .collect()
}
