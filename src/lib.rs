//! strom: a terminal console for Apache Kafka with its own Kafka-compatible broker.
//!
//! `broker` is the bundled single-node broker and depends on nothing else here; `cli` holds
//! the command line.

pub mod broker;
pub mod cli;
