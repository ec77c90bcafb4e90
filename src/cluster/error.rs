//! Errors of the cluster layer, carrying Kafka's error name and message so the UI can say
//! exactly what the cluster answered.

use thiserror::Error;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ClusterError {
    #[error("cannot create a Kafka client for {bootstrap}: {message}")]
    Client { bootstrap: String, message: String },
    /// The cluster did not answer in time.
    #[error("no answer within {secs} s ({what})")]
    Timeout { what: String, secs: u64 },
    /// The cluster answered with a Kafka error.
    #[error("{what}: {name}: {message}")]
    Kafka {
        what: String,
        name: String,
        message: String,
    },
    /// This cluster does not implement the request (e.g. the mock cluster's admin APIs).
    #[error("{what} is not supported by this cluster ({detail})")]
    Unsupported { what: String, detail: String },
    /// A change was asked of a read-only connection; nothing was sent to the cluster.
    #[error("{cluster} is read-only ({reason}): {what} refused, nothing was changed")]
    ReadOnly {
        cluster: String,
        reason: String,
        what: String,
    },
    /// The change is refused for a reason a person must resolve first (a group with active
    /// members); nothing was sent.
    #[error("{what} refused: {reason}")]
    Refused { what: String, reason: String },
    /// The request itself is wrong (a name Kafka cannot take, a partition that does not exist).
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
}

impl ClusterError {
    pub fn from_kafka(what: &str, e: &rdkafka::error::KafkaError) -> ClusterError {
        use rdkafka::types::RDKafkaErrorCode;
        let code = e.rdkafka_error_code();
        match code {
            Some(RDKafkaErrorCode::OperationTimedOut) | Some(RDKafkaErrorCode::RequestTimedOut) => {
                ClusterError::Kafka {
                    what: what.to_string(),
                    name: "REQUEST_TIMED_OUT".into(),
                    message: e.to_string(),
                }
            }
            Some(RDKafkaErrorCode::UnsupportedVersion) | Some(RDKafkaErrorCode::UnsupportedFeature) => {
                ClusterError::Unsupported {
                    what: what.to_string(),
                    detail: e.to_string(),
                }
            }
            Some(c) => ClusterError::Kafka {
                what: what.to_string(),
                name: kafka_name(c),
                message: e.to_string(),
            },
            None => ClusterError::Kafka {
                what: what.to_string(),
                name: "CLIENT_ERROR".into(),
                message: e.to_string(),
            },
        }
    }

    /// Whether the cluster could not be reached at all (as opposed to answering an error).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClusterError::Timeout { .. })
            || matches!(self, ClusterError::Kafka { name, .. } if name == "REQUEST_TIMED_OUT" || name == "ALL_BROKERS_DOWN" || name == "TRANSPORT")
    }
}

/// `UnknownTopicOrPartition` -> `UNKNOWN_TOPIC_OR_PARTITION`, Kafka's spelling.
pub fn kafka_name(code: rdkafka::types::RDKafkaErrorCode) -> String {
    let debug = format!("{code:?}");
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    match out.as_str() {
        "BROKER_TRANSPORT_FAILURE" => "TRANSPORT".into(),
        _ => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::types::RDKafkaErrorCode;

    #[test]
    fn error_names_are_spelled_as_kafka_spells_them() {
        assert_eq!(
            kafka_name(RDKafkaErrorCode::UnknownTopicOrPartition),
            "UNKNOWN_TOPIC_OR_PARTITION"
        );
        assert_eq!(kafka_name(RDKafkaErrorCode::InvalidConfig), "INVALID_CONFIG");
    }
}
