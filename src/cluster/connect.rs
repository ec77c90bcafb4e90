//! The connection spec: which cluster, how to reach it, and whether changes are allowed. It is
//! the only place where a cluster connection becomes librdkafka configuration: the console's
//! clients, the headless commands and the demo workload all start from
//! [`ConnectionSpec::client_config`], so security settings (`security.protocol`, `sasl.*`,
//! `ssl.*`) are added here once, in [`Security::apply`], and every client gets them.
//!
//! Nothing here opens a connection.

use std::time::Duration;

use rdkafka::config::ClientConfig;

/// How requests are secured on the wire. Only plaintext is implemented; TLS and SASL become
/// variants here, applied in [`Security::apply`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Security {
    #[default]
    Plaintext,
}

impl Security {
    /// Adds this security's librdkafka properties to `cfg`.
    fn apply(&self, cfg: &mut ClientConfig) {
        match self {
            Security::Plaintext => {
                cfg.set("security.protocol", "plaintext");
            }
        }
    }

    /// Whether a plain TCP socket can speak to the brokers (the console's own DescribeLogDirs
    /// request, which librdkafka lacks, uses one).
    pub fn allows_raw_socket(&self) -> bool {
        matches!(self, Security::Plaintext)
    }
}

/// Where the spec came from, for messages ("read-only because ...").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `-b HOST:PORT` on the command line.
    Bootstrap,
    /// A profile of the config file, by name.
    Profile(String),
    /// The bundled broker this console started or reuses.
    Bundled,
}

/// One cluster connection, as the user chose it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionSpec {
    /// What the console's header calls the cluster: the profile name, "bundled", or the
    /// bootstrap list.
    pub name: String,
    /// `host:port[,host:port...]`.
    pub bootstrap: String,
    pub origin: Origin,
    pub security: Security,
    /// Refuse every change (topic, config, offsets...): `--read-only` or the profile's
    /// `read_only = true`. Enforced in `cluster::ops`.
    pub read_only: bool,
    /// Why `read_only` is set, for the refusal message.
    pub read_only_reason: Option<String>,
    /// Bound on each request to the cluster.
    pub timeout: Duration,
}

/// The default bound on one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

impl ConnectionSpec {
    /// A plaintext cluster given by its bootstrap list.
    pub fn bootstrap(bootstrap: &str) -> ConnectionSpec {
        ConnectionSpec {
            name: bootstrap.to_string(),
            bootstrap: bootstrap.to_string(),
            origin: Origin::Bootstrap,
            security: Security::Plaintext,
            read_only: false,
            read_only_reason: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The bundled broker at `address`.
    pub fn bundled(address: &str) -> ConnectionSpec {
        ConnectionSpec {
            name: "bundled".into(),
            origin: Origin::Bundled,
            ..ConnectionSpec::bootstrap(address)
        }
    }

    /// Makes every change refused, saying `reason` ("--read-only", "profile 'prod' has
    /// read_only = true").
    pub fn with_read_only(mut self, reason: impl Into<String>) -> ConnectionSpec {
        self.read_only = true;
        self.read_only_reason = Some(reason.into());
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> ConnectionSpec {
        self.timeout = timeout;
        self
    }

    pub fn is_bundled(&self) -> bool {
        self.origin == Origin::Bundled
    }

    /// librdkafka configuration for a client of this cluster named `client_id`: bootstrap and
    /// security. The caller adds what its role needs (group id, partitioner, timeouts...).
    pub fn client_config(&self, client_id: &str) -> ClientConfig {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &self.bootstrap)
            .set("client.id", client_id);
        self.security.apply(&mut cfg);
        cfg
    }

    /// [`Self::client_config`] for a producer: keyed records are partitioned with murmur2, as
    /// the Java client partitions them (librdkafka's default, CRC32, would put the same key
    /// on another partition). Every producer strom creates starts here.
    pub fn producer_config(&self, client_id: &str) -> ClientConfig {
        let mut cfg = self.client_config(client_id);
        cfg.set("partitioner", "murmur2_random");
        cfg
    }

    /// [`Self::client_config`] for the console's own clients, whose every request is bounded
    /// by the spec's timeout.
    pub fn console_config(&self, client_id: &str) -> ClientConfig {
        let mut cfg = self.client_config(client_id);
        cfg.set("socket.timeout.ms", self.timeout.as_millis().max(1000).to_string())
            .set("reconnect.backoff.max.ms", "2000")
            // librdkafka logs through the rdkafka crate into `tracing`; errors only, or a lost
            // cluster fills the log with reconnect attempts.
            .set("log_level", "3");
        cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_gets_bootstrap_security_and_timeouts_from_the_spec() {
        let spec = ConnectionSpec::bootstrap("k1:9092,k2:9092").with_timeout(Duration::from_secs(7));
        let cfg = spec.client_config("strom-test");
        assert_eq!(cfg.get("bootstrap.servers"), Some("k1:9092,k2:9092"));
        assert_eq!(cfg.get("client.id"), Some("strom-test"));
        assert_eq!(cfg.get("security.protocol"), Some("plaintext"));
        assert_eq!(
            cfg.get("socket.timeout.ms"),
            None,
            "the demo keeps librdkafka's timeouts"
        );
        let console = spec.console_config("strom-console");
        assert_eq!(console.get("security.protocol"), Some("plaintext"));
        assert_eq!(console.get("socket.timeout.ms"), Some("7000"));
        assert!(spec.security.allows_raw_socket());
        let producer = spec.producer_config("strom-producer");
        assert_eq!(producer.get("partitioner"), Some("murmur2_random"));
        assert_eq!(producer.get("bootstrap.servers"), Some("k1:9092,k2:9092"));
    }

    #[test]
    fn read_only_carries_its_reason_and_bundled_is_named() {
        let spec = ConnectionSpec::bundled("127.0.0.1:9092").with_read_only("--read-only");
        assert!(spec.read_only && spec.is_bundled());
        assert_eq!(spec.name, "bundled");
        assert_eq!(spec.read_only_reason.as_deref(), Some("--read-only"));
        // Sub-second timeouts are raised to librdkafka's minimum socket timeout.
        let fast = ConnectionSpec::bootstrap("h:1").with_timeout(Duration::from_millis(10));
        assert_eq!(fast.console_config("x").get("socket.timeout.ms"), Some("1000"));
    }
}
