//! strom: a terminal console for Apache Kafka with its own Kafka-compatible broker.
//!
//! `broker` is the bundled single-node broker and depends on nothing else here. The console is
//! `ui` -> `app` -> `cluster`; `headless` (the scripting twins of the panes) -> `app` ->
//! `cluster`; `actions` (the scripting twins of the console's actions) -> `cluster`; `cli` holds
//! the command line.

pub mod actions;
pub mod app;
pub mod broker;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod headless;
pub mod ui;
