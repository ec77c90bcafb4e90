//! The command line (clap derive). Parsing, and turning the cluster options into a connection
//! spec; `main.rs` hands each command off.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::cluster::connect::{ConnectionSpec, DEFAULT_TIMEOUT};
use crate::config::{Config, ConfigError};

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
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub console: ConsoleArgs,
}

/// Which cluster to use and how: `-b` > `--profile` > the config's default profile > the
/// bundled broker. Accepted before and after a subcommand's name (`strom -b H topics`, `strom
/// topics -b H`); after wins.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ClusterArgs {
    /// Bootstrap servers of the cluster (host:port[,host:port...]).
    #[arg(short = 'b', long)]
    pub bootstrap: Option<String>,
    /// A profile from the config file.
    #[arg(long)]
    pub profile: Option<String>,
    /// Config file (default: $XDG_CONFIG_HOME/strom/config.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Refuse every change to the cluster.
    #[arg(long)]
    pub read_only: bool,
    /// Seconds to wait for each answer from the cluster.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: Option<u64>,
}

impl ClusterArgs {
    /// These options with `later`'s (given after the subcommand) taking precedence.
    pub fn merge(self, later: ClusterArgs) -> ClusterArgs {
        ClusterArgs {
            bootstrap: later.bootstrap.or(self.bootstrap),
            profile: later.profile.or(self.profile),
            config: later.config.or(self.config),
            read_only: later.read_only || self.read_only,
            timeout: later.timeout.or(self.timeout),
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.config.clone().unwrap_or_else(crate::config::default_path)
    }

    /// The connection spec the options name; None when they name no cluster (`-b` absent and
    /// no profile, named or default).
    pub fn resolve(&self, config: &Config, config_path: &Path) -> Result<Option<ConnectionSpec>, ConfigError> {
        let spec = match &self.bootstrap {
            Some(b) => Some(ConnectionSpec::bootstrap(b)),
            None => config
                .profile(self.profile.as_deref(), config_path)?
                .map(|(name, p)| p.connection(&name))
                .transpose()?,
        };
        Ok(spec.map(|s| self.adjust(s)))
    }

    /// Applies `--read-only` and `--timeout` to a spec.
    pub fn adjust(&self, mut spec: ConnectionSpec) -> ConnectionSpec {
        if self.read_only && !spec.read_only {
            spec = spec.with_read_only("--read-only");
        }
        spec.with_timeout(self.timeout.map_or(DEFAULT_TIMEOUT, Duration::from_secs))
    }
}

/// Options of the console itself.
#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
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
    /// List topics (the console's Topics pane) as a table, or JSON with --json.
    Topics(ListArgs),
    /// List consumer groups (the console's Groups pane) as a table, or JSON with --json.
    Groups(ListArgs),
    /// Reset a consumer group's committed offsets, as kafka-consumer-groups.sh --reset-offsets
    /// (prints the plan; --execute applies it).
    ResetOffsets(ResetOffsetsArgs),
    /// Grow a topic to more partitions (prints which keys move; --execute applies it).
    AddPartitions(AddPartitionsArgs),
    /// Topic configs.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Create or delete a topic.
    Topic {
        #[command(subcommand)]
        command: TopicCommand,
    },
    /// Delete the records of a partition before an offset (moves its log start offset).
    DeleteRecords(DeleteRecordsArgs),
    /// Consumer groups.
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
    /// Produce one record (keys partitioned with murmur2, as the Java client does).
    Produce(ProduceArgs),
    /// One consumer group's lag per partition, with status and reason. Exit status 3 when any
    /// partition is STALL, STOP or ERROR (0 otherwise; 1: the cluster could not be asked).
    Lag(LagArgs),
    /// Print a topic's (or one partition's) records without joining a group or committing.
    Tail(TailArgs),
}

/// Options of `strom lag`.
#[derive(Debug, clap::Args)]
pub struct LagArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The consumer group.
    pub group: String,
    /// One JSON object instead of a table (with --watch: one object per line per round).
    #[arg(long)]
    pub json: bool,
    /// Sample for this long (e.g. 1m, 30s, PT2M) before judging: every status rule needs a
    /// window of samples; without it only what one sample shows is judged.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub window: Option<Duration>,
    /// Keep sampling and print every round until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// Time between samples.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    pub interval: Duration,
}

/// Options of `strom tail`.
#[derive(Debug, clap::Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// TOPIC (all partitions) or TOPIC:PARTITION.
    pub target: String,
    /// Where to start: earliest, latest, an offset, -N (the last N of each partition), or a
    /// time (2024-05-01T12:00:00Z, 2024-05-01T12:00:00.000, or a duration ago: 15m).
    #[arg(long, value_name = "WHERE", default_value = "earliest", allow_hyphen_values = true)]
    pub from: String,
    /// Stop after this many records.
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Keep waiting for new records at the end instead of exiting.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// One JSON object per record per line.
    #[arg(long)]
    pub json: bool,
}

/// A positive duration as operators and Kafka's tools write it (`30s`, `5m`, `1.5h`, `7d`;
/// see [`crate::cluster::ops::parse::duration_ms`] for the forms, ISO-8601 `PT1H30M` included).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match crate::cluster::ops::parse::duration_ms(text)? {
        ms if ms > 0 => Ok(Duration::from_millis(ms as u64)),
        _ => Err(format!(
            "'{text}' must be a positive duration (examples: 30s, 5m, PT1H30M)"
        )),
    }
}

/// What every change command takes: the cluster, `--execute` and `--json`.
#[derive(Clone, Debug, clap::Args)]
pub struct ActionArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Apply the change (without it, only the plan is printed and nothing changes).
    #[arg(long)]
    pub execute: bool,
    /// Print the plan (and the result) as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("scope").args(["topic", "all_topics"])))]
#[command(group(clap::ArgGroup::new("target").required(true).args([
    "to_earliest", "to_latest", "to_offset", "shift_by", "to_datetime", "by_duration", "from_group", "from_file", "undo",
])))]
pub struct ResetOffsetsArgs {
    #[command(flatten)]
    pub action: ActionArgs,
    /// The consumer group.
    #[arg(long)]
    pub group: String,
    /// A topic, or some of its partitions (orders:0,2); repeatable.
    #[arg(long, value_name = "TOPIC[:P,P...]")]
    pub topic: Vec<String>,
    /// Every topic the group has committed offsets for.
    #[arg(long)]
    pub all_topics: bool,
    /// To each partition's log start offset.
    #[arg(long)]
    pub to_earliest: bool,
    /// To each partition's log end offset.
    #[arg(long)]
    pub to_latest: bool,
    /// To this offset (kept within each partition's log start and end).
    #[arg(long, value_name = "OFFSET")]
    pub to_offset: Option<i64>,
    /// Move each committed offset by N (negative: back).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// To the first offset at or after this time (2026-01-02T03:04:05Z; no zone is UTC).
    #[arg(long, value_name = "DATETIME")]
    pub to_datetime: Option<String>,
    /// To the first offset at or after this long ago (PT1H, P1DT2H, 12h, 7d).
    #[arg(long, value_name = "DURATION")]
    pub by_duration: Option<String>,
    /// To another group's committed offsets.
    #[arg(long, value_name = "GROUP")]
    pub from_group: Option<String>,
    /// To the offsets in a CSV file (topic,partition,offset lines, as --export writes them).
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Put back the offsets the group had before strom's last reset of it.
    #[arg(long, conflicts_with = "scope")]
    pub undo: bool,
    /// Write the planned offsets to this CSV file (the format --from-file reads).
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct AddPartitionsArgs {
    #[command(flatten)]
    pub action: ActionArgs,
    #[arg(long)]
    pub topic: String,
    /// The new partition count (greater than the current one).
    #[arg(long, value_name = "N")]
    pub partitions: i32,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Set or delete topic configs one by one (IncrementalAlterConfigs): retention.ms=7d,
    /// retention.bytes=10GiB, cleanup.policy=compact...
    Set(ConfigSetArgs),
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("changes").required(true).multiple(true).args(["assignments", "delete"])))]
pub struct ConfigSetArgs {
    #[command(flatten)]
    pub action: ActionArgs,
    #[arg(long)]
    pub topic: String,
    /// KEY=VALUE; durations (7d, 12h, PT1H) and sizes (10GiB, 512MiB) are converted.
    #[arg(value_name = "KEY=VALUE")]
    pub assignments: Vec<String>,
    /// A config to delete (the topic inherits it again); repeatable.
    #[arg(long, value_name = "KEY")]
    pub delete: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Create a topic (the name checked as Kafka checks it).
    Create(TopicCreateArgs),
    /// Delete a topic and all its records.
    Delete(TopicDeleteArgs),
}

#[derive(Debug, clap::Args)]
pub struct TopicCreateArgs {
    #[command(flatten)]
    pub action: ActionArgs,
    #[arg(long)]
    pub topic: String,
    /// Default: the cluster's num.partitions.
    #[arg(long, value_name = "N")]
    pub partitions: Option<i32>,
    /// Default: the cluster's default.replication.factor.
    #[arg(long, value_name = "N")]
    pub replication_factor: Option<i32>,
    /// A topic config, KEY=VALUE (7d, 10GiB accepted); repeatable. (Kafka's tool calls it
    /// --config, which here names strom's config file.)
    #[arg(long = "topic-config", value_name = "KEY=VALUE")]
    pub configs: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct TopicDeleteArgs {
    #[command(flatten)]
    pub action: ActionArgs,
    #[arg(long)]
    pub topic: String,
}

#[derive(Debug, clap::Args)]
pub struct DeleteRecordsArgs {
    #[command(flatten)]
    pub action: ActionArgs,
    /// The partition, TOPIC:PARTITION.
    #[arg(long, value_name = "TOPIC:PARTITION")]
    pub topic: String,
    /// Delete every record before this offset (-1: all, up to the high watermark).
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
    pub before: i64,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Delete a group without members (with --topic: only its committed offsets for that topic).
    Delete(GroupDeleteArgs),
}

#[derive(Debug, clap::Args)]
pub struct GroupDeleteArgs {
    #[command(flatten)]
    pub action: ActionArgs,
    /// The group.
    pub group: String,
    /// Delete only the group's committed offsets for this topic.
    #[arg(long)]
    pub topic: Option<String>,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("payload").required(true).args(["value", "value_json", "file", "null_value"])))]
pub struct ProduceArgs {
    #[command(flatten)]
    pub action: ActionArgs,
    #[arg(long)]
    pub topic: String,
    /// The partition (default: murmur2 of the key, or any partition without a key).
    #[arg(long)]
    pub partition: Option<i32>,
    /// The record's key (text).
    #[arg(long)]
    pub key: Option<String>,
    /// A header, KEY=VALUE; repeatable.
    #[arg(long = "header", value_name = "KEY=VALUE")]
    pub headers: Vec<String>,
    /// The value as text.
    #[arg(long)]
    pub value: Option<String>,
    /// The value as JSON (checked to be valid JSON, sent as given).
    #[arg(long, value_name = "JSON")]
    pub value_json: Option<String>,
    /// The value from a file (its bytes as they are).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A null value (a tombstone on a compacted topic).
    #[arg(long)]
    pub null_value: bool,
}

/// Options of the headless listings.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// One JSON array of objects instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Records per second across all demo producers.
    #[arg(long, default_value_t = crate::demo::DEFAULT_RATE, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: u32,
    /// Allow a cluster that is not on this machine.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BrokerArgs {
    #[command(subcommand)]
    pub command: Option<BrokerCommand>,
    /// Listener: HOST:PORT (plaintext) or PROTOCOL://HOST:PORT with PROTOCOL one of PLAINTEXT,
    /// SSL, SASL_PLAINTEXT, SASL_SSL. Repeat for several listeners. Port 0 picks a free port
    /// (the real one is printed, one `listening on` line per listener).
    #[arg(
        long = "listen",
        value_name = "[PROTOCOL://]HOST:PORT",
        default_value = "127.0.0.1:9092"
    )]
    pub listen: Vec<String>,
    /// What clients are told to connect to, [PROTOCOL://]HOST:PORT, one per --listen in order
    /// (Kafka's advertised.listeners; overrides it). Needed for a broker on 0.0.0.0.
    #[arg(long = "advertise", value_name = "[PROTOCOL://]HOST:PORT")]
    pub advertise: Vec<String>,
    /// PEM certificate (and chain) of the SSL and SASL_SSL listeners.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificates: clients of the SSL listener must then present a certificate signed
    /// by one of them (mutual TLS). SASL_SSL clients authenticate with SASL instead.
    #[arg(long, value_name = "FILE")]
    pub tls_client_ca: Option<PathBuf>,
    /// Allow a listener without authentication (PLAINTEXT, or SSL without --tls-client-ca) on an
    /// address other machines can reach.
    #[arg(long)]
    pub insecure_listen: bool,
    /// Directory for the logs, catalog, users and lock file.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Broker config file (TOML with Kafka property names, e.g. "log.retention.ms" = 3600000).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum BrokerCommand {
    /// Add a SASL user, or replace their password. The password is read from standard input
    /// (prompted twice on a terminal) and stored only as salted SCRAM credentials.
    AddUser(AddUserArgs),
    /// Remove a SASL user.
    RemoveUser(RemoveUserArgs),
}

#[derive(Debug, clap::Args)]
pub struct AddUserArgs {
    /// The user name clients log in with.
    pub name: String,
    /// The broker's data directory (default: $XDG_DATA_HOME/strom/broker).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// SCRAM mechanism to store a credential for; repeat for both (default: both). PLAIN logins
    /// check the SCRAM-SHA-512 credential, else the SCRAM-SHA-256 one.
    #[arg(long = "mechanism", value_name = "MECHANISM", value_parser = ["SCRAM-SHA-256", "SCRAM-SHA-512"])]
    pub mechanisms: Vec<String>,
    /// PBKDF2 iterations of the stored credentials.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(4096..=16384))]
    pub iterations: u32,
}

#[derive(Debug, clap::Args)]
pub struct RemoveUserArgs {
    /// The user to remove.
    pub name: String,
    /// The broker's data directory (default: $XDG_DATA_HOME/strom/broker).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("strom").chain(args.iter().copied())).unwrap()
    }

    fn listing(cli: Cli) -> ClusterArgs {
        match cli.command {
            Some(Command::Topics(a)) | Some(Command::Groups(a)) => cli.cluster.merge(a.cluster),
            other => panic!("not a listing: {other:?}"),
        }
    }

    #[test]
    fn cluster_options_go_before_or_after_the_subcommand_and_after_wins() {
        assert_eq!(
            listing(parse(&["-b", "h:1", "topics"])).bootstrap.as_deref(),
            Some("h:1")
        );
        assert_eq!(
            listing(parse(&["topics", "-b", "h:1"])).bootstrap.as_deref(),
            Some("h:1")
        );
        assert_eq!(
            listing(parse(&["--profile", "a", "groups", "--profile", "b", "--json"]))
                .profile
                .as_deref(),
            Some("b")
        );
        let a = listing(parse(&["--read-only", "topics", "--timeout", "9"]));
        assert!(a.read_only);
        let spec = a.adjust(ConnectionSpec::bootstrap("h:1"));
        assert_eq!(spec.timeout, Duration::from_secs(9));
        assert_eq!(spec.read_only_reason.as_deref(), Some("--read-only"));
        // The broker's own --config is not the console's.
        let cli = parse(&["broker", "--config", "b.toml"]);
        assert!(cli.cluster.config.is_none());
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        // Duplicate flag names (a subcommand's --config against the cluster's) and bad groups
        // are only caught by clap's debug assertions.
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_for_lag_windows_are_positive() {
        let ms = |t: &str| parse_duration(t).map(|d| d.as_millis());
        assert_eq!(ms("30s"), Ok(30_000));
        assert_eq!(ms("PT1M30S"), Ok(90_000));
        assert_eq!(ms("P1DT0.5S"), Ok(86_400_500));
        for bad in ["", "m", "5x", "PT", "0s", "-1", "forever", "-5s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bootstrap_beats_profiles_and_no_cluster_is_none() {
        let config =
            Config::parse("default_profile = \"p\"\n[profiles.p]\nbootstrap = \"k:9\"\nread_only = true\n").unwrap();
        let path = Path::new("c.toml");
        let spec = ClusterArgs::default().resolve(&config, path).unwrap().unwrap();
        assert_eq!((spec.name.as_str(), spec.read_only), ("p", true));
        let b = ClusterArgs {
            bootstrap: Some("x:1".into()),
            ..ClusterArgs::default()
        };
        let spec = b.resolve(&config, path).unwrap().unwrap();
        assert_eq!((spec.bootstrap.as_str(), spec.read_only), ("x:1", false));
        assert_eq!(ClusterArgs::default().resolve(&Config::default(), path).unwrap(), None);
    }
}
