//! Everything the console knows about a cluster, obtained through the Kafka protocol with
//! rdkafka (and, for the one call librdkafka lacks, DescribeLogDirs, a minimal request encoded
//! with kafka-protocol). No terminal, no app state: `app` drives this, `ui` never sees it.

pub mod client;
pub mod consumer_protocol;
pub mod error;
pub mod lag;
pub mod logdirs;
pub mod model;
pub mod record_view;
pub mod tail_buffer;
