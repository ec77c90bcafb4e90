//! The connection spec: which cluster, how to reach it, and whether changes are allowed. It is
//! the only place where a cluster connection becomes librdkafka configuration: the console's
//! clients, the headless commands and the demo workload all start from
//! [`ConnectionSpec::client_config`], so security settings (`security.protocol`, `sasl.*`,
//! `ssl.*`) are added here once, in [`Security::apply`], and every client gets them.
//!
//! Nothing here opens a connection.

use std::path::PathBuf;
use std::time::Duration;

use rdkafka::config::ClientConfig;

/// `security.protocol`: how requests are secured on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub enum Protocol {
    #[default]
    #[serde(rename = "PLAINTEXT")]
    Plaintext,
    #[serde(rename = "SSL")]
    Ssl,
    #[serde(rename = "SASL_PLAINTEXT")]
    SaslPlaintext,
    #[serde(rename = "SASL_SSL")]
    SaslSsl,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Plaintext => "PLAINTEXT",
            Protocol::Ssl => "SSL",
            Protocol::SaslPlaintext => "SASL_PLAINTEXT",
            Protocol::SaslSsl => "SASL_SSL",
        }
    }

    pub fn uses_sasl(self) -> bool {
        matches!(self, Protocol::SaslPlaintext | Protocol::SaslSsl)
    }

    pub fn uses_tls(self) -> bool {
        matches!(self, Protocol::Ssl | Protocol::SaslSsl)
    }
}

/// `sasl.mechanism`. OAUTHBEARER is librdkafka's own business: its settings
/// (`sasl.oauthbearer.*`) come through the profile's extra properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
pub enum Mechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
    #[serde(rename = "OAUTHBEARER")]
    OauthBearer,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::OauthBearer => "OAUTHBEARER",
        }
    }

    /// Whether the mechanism logs in with a user name and password.
    pub fn needs_password(self) -> bool {
        !matches!(self, Mechanism::OauthBearer)
    }
}

/// A password or other secret. Its `Debug` never shows it, so a spec can be logged, printed in
/// a panic message or asserted on without leaking it; only [`Security::apply`] reads it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The SASL login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sasl {
    pub mechanism: Mechanism,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// TLS files (PEM). No CA file means the system's trust store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    pub ca_file: Option<PathBuf>,
    /// The client certificate and key of mutual TLS.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Password of an encrypted `key_file`.
    pub key_password: Option<Secret>,
}

/// How requests are secured on the wire, plus the librdkafka properties a profile passes
/// through untouched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Security {
    pub protocol: Protocol,
    /// Set exactly when `protocol` uses SASL.
    pub sasl: Option<Sasl>,
    pub tls: Tls,
    /// Extra librdkafka properties (`client.rack`, `sasl.oauthbearer.*`...), applied last.
    pub extra: Vec<(String, String)>,
}

impl Security {
    /// Adds this security's librdkafka properties to `cfg`.
    fn apply(&self, cfg: &mut ClientConfig) {
        cfg.set("security.protocol", self.protocol.name().to_ascii_lowercase());
        if let Some(sasl) = &self.sasl {
            cfg.set("sasl.mechanisms", sasl.mechanism.name());
            if let Some(u) = &sasl.username {
                cfg.set("sasl.username", u);
            }
            if let Some(p) = &sasl.password {
                // OAUTHBEARER's secret is the OIDC client secret.
                let key = match sasl.mechanism {
                    Mechanism::OauthBearer => "sasl.oauthbearer.client.secret",
                    _ => "sasl.password",
                };
                cfg.set(key, p.expose());
            }
        }
        if self.protocol.uses_tls() {
            let path = |p: &PathBuf| p.to_string_lossy().into_owned();
            if let Some(ca) = &self.tls.ca_file {
                cfg.set("ssl.ca.location", path(ca));
            }
            if let Some(cert) = &self.tls.cert_file {
                cfg.set("ssl.certificate.location", path(cert));
            }
            if let Some(key) = &self.tls.key_file {
                cfg.set("ssl.key.location", path(key));
            }
            if let Some(p) = &self.tls.key_password {
                cfg.set("ssl.key.password", p.expose());
            }
        }
        for (k, v) in &self.extra {
            cfg.set(k, v);
        }
    }

    /// Whether a plain TCP socket can speak to the brokers (the console's own DescribeLogDirs
    /// request, which librdkafka lacks, uses one).
    pub fn allows_raw_socket(&self) -> bool {
        self.protocol == Protocol::Plaintext
    }
}

/// Properties a profile's extra librdkafka table may not set: the ones the profile has keys
/// for, and secrets, which never live in the config file.
pub fn reserved_property(key: &str) -> Option<&'static str> {
    Some(match key {
        "bootstrap.servers" | "metadata.broker.list" => "use the profile's `bootstrap`",
        "security.protocol" => "use the profile's `security.protocol`",
        "sasl.mechanism" | "sasl.mechanisms" => "use the profile's `sasl.mechanism`",
        "sasl.username" => "use the profile's `sasl.username`",
        "sasl.password" | "ssl.key.password" | "ssl.keystore.password" | "sasl.oauthbearer.client.secret" => {
            "secrets never go in the config file: use `sasl.password_env`, `sasl.password_file` or \
             `sasl.password_command` (`ssl.key_password_*` for a key)"
        }
        "ssl.ca.location" => "use the profile's `ssl.ca_file`",
        "ssl.certificate.location" => "use the profile's `ssl.cert_file`",
        "ssl.key.location" => "use the profile's `ssl.key_file`",
        "client.id" | "group.id" | "partitioner" => "strom sets it for each client",
        _ => return None,
    })
}

/// Whether librdkafka knows property `key` and accepts `value` for it; its own message if not.
pub fn check_property(key: &str, value: &str) -> Result<(), String> {
    let mut cfg = ClientConfig::new();
    cfg.set(key, value);
    cfg.create_native_config().map(|_| ()).map_err(|e| match e {
        rdkafka::error::KafkaError::ClientConfig(_, desc, _, _) => desc,
        other => other.to_string(),
    })
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
    /// A banner for the console's header ("PRODUCTION" in red): text and colour name.
    pub label: Option<(String, String)>,
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
            security: Security::default(),
            label: None,
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

    #[test]
    fn producers_partition_keys_with_murmur2_like_java_clients() {
        let spec = ConnectionSpec::bootstrap("h:1");
        assert_eq!(spec.producer_config("p").get("partitioner"), Some("murmur2_random"));
        assert_eq!(spec.client_config("c").get("partitioner"), None);
    }

    #[test]
    fn security_becomes_librdkafka_properties_and_debug_hides_secrets() {
        let mut spec = ConnectionSpec::bootstrap("h:1");
        spec.security = Security {
            protocol: Protocol::SaslSsl,
            sasl: Some(Sasl {
                mechanism: Mechanism::ScramSha512,
                username: Some("ops".into()),
                password: Some(Secret::new("hunter2-unique")),
            }),
            tls: Tls {
                ca_file: Some("/ca.pem".into()),
                cert_file: Some("/c.pem".into()),
                key_file: Some("/c.key".into()),
                key_password: Some(Secret::new("keypass-unique")),
            },
            extra: vec![("client.rack".into(), "r1".into())],
        };
        let cfg = spec.console_config("x");
        for (k, v) in [
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", "ops"),
            ("sasl.password", "hunter2-unique"),
            ("ssl.ca.location", "/ca.pem"),
            ("ssl.certificate.location", "/c.pem"),
            ("ssl.key.location", "/c.key"),
            ("ssl.key.password", "keypass-unique"),
            ("client.rack", "r1"),
        ] {
            assert_eq!(cfg.get(k), Some(v), "{k}");
        }
        let debug = format!("{spec:?} {cfg:?}");
        assert!(
            !debug.contains("hunter2-unique") && !debug.contains("keypass-unique"),
            "{debug}"
        );
        assert!(!spec.security.allows_raw_socket());
        // TLS files are not applied to a protocol without TLS.
        spec.security.protocol = Protocol::SaslPlaintext;
        assert_eq!(spec.client_config("x").get("ssl.ca.location"), None);
    }

    #[test]
    fn passed_through_properties_are_checked_by_librdkafka() {
        assert!(check_property("client.rack", "r").is_ok());
        assert!(check_property("no.such.thing", "1")
            .unwrap_err()
            .contains("No such configuration property"));
        assert!(reserved_property("sasl.password").is_some());
        assert!(reserved_property("client.rack").is_none());
    }
}
