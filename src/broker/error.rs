//! Error types of the broker layer. Kafka protocol errors are *values* (error codes inside a
//! response); these Rust errors mean "this operation failed" for storage, or "close this
//! connection" for the server.

use std::path::PathBuf;

use thiserror::Error;

/// A broker configuration file that cannot be used. The text names the file, key and reason.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read broker config {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("broker config {path}: key '{key}': {reason}")]
    Invalid { path: PathBuf, key: String, reason: String },
}

/// Storage failures. `Corrupt` names the file and byte position of the bad data.
#[derive(Debug, Error)]
pub enum LogError {
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("corrupt log {path} at byte {position}: {reason}")]
    Corrupt {
        path: PathBuf,
        position: u64,
        reason: String,
    },
    #[error("{path} exists and is not a partition of this broker (it holds no partition.metadata); move it out of the data directory to create this partition")]
    Foreign { path: PathBuf },
    #[error("partition {path} is offline after a storage failure ({reason}); restart the broker to recover it")]
    Offline { path: PathBuf, reason: String },
}

impl LogError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LogError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Why the broker could not start or stopped.
#[derive(Debug, Error)]
pub enum BrokerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("data directory {dir} is in use by another broker (pid {pid}); stop it or choose another --data-dir")]
    Locked { dir: PathBuf, pid: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("catalog {path} is unreadable: {reason}")]
    Catalog { path: PathBuf, reason: String },
    #[error(transparent)]
    ProducerIds(#[from] crate::broker::producers::ProducerIdsError),
    #[error(transparent)]
    Security(#[from] crate::broker::security::SecurityError),
}

/// Reasons a connection is closed. Never sent to the client: Kafka closes the socket.
#[derive(Debug, Error)]
pub enum ConnectionError {
    #[error("frame of {size} bytes exceeds socket.request.max.bytes ({max})")]
    FrameTooLarge { size: i64, max: usize },
    #[error("request header is malformed: {0}")]
    BadHeader(String),
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    #[error("{api} v{version} is not supported (supported: v{min}-v{max})")]
    UnsupportedVersion {
        api: String,
        version: i16,
        min: i16,
        max: i16,
    },
    #[error("{api} v{version} request body cannot be decoded: {reason}")]
    BadBody { api: String, version: i16, reason: String },
    #[error("acks=0 produce failed: {0}")]
    AcksZeroFailure(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("cannot encode response: {0}")]
    Encode(String),
    /// A request other than ApiVersions/SaslHandshake/SaslAuthenticate before a SASL client
    /// authenticated, or no authentication in time.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// A failed SASL exchange; the text names the user and the reason, never a secret.
    #[error("{0}")]
    Authentication(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("idle for connections.max.idle.ms ({ms} ms)")]
    Idle { ms: u64 },
    #[error("a request frame did not arrive whole within connections.max.idle.ms ({ms} ms)")]
    StalledFrame { ms: u64 },
}
