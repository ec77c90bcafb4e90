//! The command line (clap derive). Parsing only; `main.rs` hands each command off.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "strom", version, about = "A terminal console for Apache Kafka, with its own Kafka-compatible broker")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bundled single-node broker in the foreground.
    Broker(BrokerArgs),
}

#[derive(Debug, clap::Args)]
pub struct BrokerArgs {
    /// Address to listen on; port 0 picks a free port (the real one is printed).
    #[arg(long, default_value = "127.0.0.1:9092")]
    pub listen: String,
    /// Directory for the logs, catalog and lock file.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Broker config file (TOML with Kafka property names, e.g. "log.retention.ms" = 3600000).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `$XDG_DATA_HOME/strom/broker`, falling back to `~/.local/share/strom/broker`.
pub fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("strom").join("broker")
}
