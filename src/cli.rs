//! The command line (clap derive). Parsing only; `main.rs` hands each command off.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "strom",
    version,
    about = "A terminal console for Apache Kafka, with its own Kafka-compatible broker"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub console: ConsoleArgs,
}

/// Which cluster the console opens: `-b` > `--profile` > the config's default profile > the
/// bundled broker.
#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// Bootstrap servers of the cluster to open (host:port[,host:port...]).
    #[arg(short = 'b', long, global = true)]
    pub bootstrap: Option<String>,
    /// A profile from the config file.
    #[arg(long)]
    pub profile: Option<String>,
    /// Config file (default: $XDG_CONFIG_HOME/strom/config.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Theme name (default, light, high-contrast) or path to a theme file.
    #[arg(long)]
    pub theme: Option<String>,
    /// Data directory of the bundled broker (default: $XDG_DATA_HOME/strom/broker).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Do not start the demo workload on a fresh bundled broker.
    #[arg(long)]
    pub no_demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bundled single-node broker in the foreground.
    Broker(BrokerArgs),
    /// Run a live demo workload (keyed producers, consumer groups, one lagging) against a
    /// cluster; refuses a non-loopback cluster without --force.
    Demo(DemoArgs),
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Records per second across all demo producers.
    #[arg(long, default_value_t = crate::demo::DEFAULT_RATE, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: u32,
    /// Allow a cluster that is not on this machine.
    #[arg(long)]
    pub force: bool,
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

fn xdg(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `$XDG_DATA_HOME/strom/broker`, falling back to `~/.local/share/strom/broker`.
pub fn default_data_dir() -> PathBuf {
    xdg("XDG_DATA_HOME", ".local/share").join("strom").join("broker")
}

/// Where the console writes its log (never the screen): `$XDG_STATE_HOME/strom`.
pub fn state_dir() -> PathBuf {
    xdg("XDG_STATE_HOME", ".local/state").join("strom")
}
