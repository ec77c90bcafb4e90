//! Everything the console knows about a cluster, obtained through the Kafka protocol with
//! rdkafka (plus the admin calls librdkafka has and the rdkafka crate lacks, in `ffi`, and
//! DescribeLogDirs, which librdkafka lacks, as a minimal request encoded with kafka-protocol).
//! No terminal, no app state: `app` and `headless` drive this, `ui` never sees it.
//!
//! `connect` turns a connection spec into librdkafka config (the only place); `client` has the
//! typed read queries; `admin` the requests behind `ops`, which plans and applies every change
//! and enforces read-only.

pub mod admin;
pub mod client;
pub mod connect;
pub mod consumer_protocol;
pub mod error;
pub mod ffi;
pub mod lag;
pub mod logdirs;
pub mod model;
pub mod ops;
pub mod record_view;
pub mod tail;
pub mod tail_buffer;
