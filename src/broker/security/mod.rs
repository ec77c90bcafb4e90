//! Listener security of the bundled broker: which listeners there are and what they require
//! (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), TLS via rustls, SASL (PLAIN, SCRAM-SHA-256/512)
//! against the users of the data directory, and a rate limit on failed authentications.
//!
//! `plan` checks the listeners before anything is bound, including the rule that a listener
//! reachable from other machines must authenticate its clients unless the operator says
//! `--insecure-listen`. `sasl::SaslSession` is the per-connection gate the server consults
//! until a SASL client has authenticated. Nothing here depends on the console.

pub mod limiter;
pub mod plain;
pub mod sasl;
pub mod scram;
pub mod tls;
pub mod users;

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsAcceptor;

use crate::broker::config::BrokerConfig;
use limiter::FailureLimiter;
use scram::{ScramCredential, ScramHash};
use users::UserStore;

/// Kafka's `security.protocol` values, which are also the listener names here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub const ALL: [SecurityProtocol; 4] = [Self::Plaintext, Self::Ssl, Self::SaslPlaintext, Self::SaslSsl];

    pub fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }

    pub fn tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    pub fn sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A SASL mechanism the broker can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Scram(ScramHash),
}

impl Mechanism {
    pub const ALL: [Mechanism; 3] = [
        Mechanism::Scram(ScramHash::Sha256),
        Mechanism::Scram(ScramHash::Sha512),
        Mechanism::Plain,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(h) => h.mechanism(),
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Parses `sasl.enabled.mechanisms` (comma-separated names).
    pub fn parse_list(text: &str) -> Result<Vec<Mechanism>, String> {
        let mut out = Vec::new();
        for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let m = Self::from_name(name).ok_or_else(|| {
                format!("unknown SASL mechanism '{name}'; this broker supports PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512")
            })?;
            if !out.contains(&m) {
                out.push(m);
            }
        }
        if out.is_empty() {
            return Err("no SASL mechanism given; use PLAIN, SCRAM-SHA-256 and/or SCRAM-SHA-512".into());
        }
        Ok(out)
    }
}

/// Why the listeners cannot be set up. Every text says what to change.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("--listen {value:?}: {reason}")]
    Listener { value: String, reason: String },
    #[error("--listen {listener}: cannot resolve the host: {reason}")]
    Resolve { listener: String, reason: String },
    #[error(
        "refusing to listen on {listener} without authentication: anyone who can reach {addr} could read and \
         write every topic. Use a SASL_SSL:// or SASL_PLAINTEXT:// listener (users come from `strom broker \
         add-user`), SSL:// with --tls-client-ca, or a loopback address such as 127.0.0.1; or pass \
         --insecure-listen to accept the risk"
    )]
    InsecureListen { listener: String, addr: SocketAddr },
    #[error("{0}")]
    Flags(String),
    #[error("TLS {what} {path}: {reason}")]
    Tls {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("TLS setup failed: {0}")]
    TlsSetup(String),
    #[error(transparent)]
    Users(#[from] users::UsersError),
}

/// One `--listen` value: `PROTOCOL://HOST:PORT`, or a bare `HOST:PORT` for PLAINTEXT. An
/// empty host means every interface, as in Kafka's `listeners`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerSpec {
    pub protocol: SecurityProtocol,
    pub host: String,
    pub port: u16,
}

impl ListenerSpec {
    pub fn parse(value: &str) -> Result<Self, SecurityError> {
        let bad = |reason: String| SecurityError::Listener {
            value: value.to_string(),
            reason,
        };
        let (protocol, addr) = match value.split_once("://") {
            None => (SecurityProtocol::Plaintext, value),
            Some((name, addr)) => {
                let upper = name.to_ascii_uppercase();
                let p = SecurityProtocol::ALL
                    .into_iter()
                    .find(|p| p.name() == upper)
                    .ok_or_else(|| {
                        bad(format!(
                            "unknown security protocol '{name}'; use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
                        ))
                    })?;
                (p, addr)
            }
        };
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| bad("expected HOST:PORT, e.g. 127.0.0.1:9092 or SASL_SSL://0.0.0.0:9093".into()))?;
        let port: u16 = port
            .parse()
            .map_err(|_| bad(format!("'{port}' is not a port number (0-65535; 0 picks a free port)")))?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        if host.contains(['/', ' ']) {
            return Err(bad(format!("'{host}' is not a host name or address")));
        }
        Ok(ListenerSpec {
            protocol,
            host: if host.is_empty() {
                "0.0.0.0".into()
            } else {
                host.to_string()
            },
            port,
        })
    }

    fn resolve(&self) -> Result<Vec<SocketAddr>, SecurityError> {
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| SecurityError::Resolve {
                listener: self.to_string(),
                reason: e.to_string(),
            })?
            .collect();
        if addrs.is_empty() {
            return Err(SecurityError::Resolve {
                listener: self.to_string(),
                reason: "no addresses".into(),
            });
        }
        Ok(addrs)
    }
}

impl fmt::Display for ListenerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.protocol, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.protocol, self.host, self.port)
        }
    }
}

/// A listener ready to bind.
#[derive(Clone)]
pub struct PlannedListener {
    pub spec: ListenerSpec,
    /// What the host resolved to; bound in order until one works.
    pub addrs: Vec<SocketAddr>,
    pub tls: Option<TlsAcceptor>,
}

/// The listener flags of `strom broker`.
#[derive(Clone, Debug, Default)]
pub struct ListenerFlags {
    pub listen: Vec<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
    pub insecure_listen: bool,
}

/// Checks the listener flags and prepares every listener (TLS files are read here, so a bad
/// file stops the broker before it binds anything).
pub fn plan(flags: &ListenerFlags) -> Result<Vec<PlannedListener>, SecurityError> {
    let specs = flags
        .listen
        .iter()
        .map(|v| ListenerSpec::parse(v))
        .collect::<Result<Vec<_>, _>>()?;
    if specs.is_empty() {
        return Err(SecurityError::Flags("at least one --listen is needed".into()));
    }
    for (i, s) in specs.iter().enumerate() {
        if specs[..i].iter().any(|o| o.protocol == s.protocol) {
            return Err(SecurityError::Flags(format!(
                "two {} listeners: each security protocol names one listener, as Kafka's listener names are unique",
                s.protocol
            )));
        }
    }
    let wants_tls = specs.iter().any(|s| s.protocol.tls());
    let files = match (&flags.tls_cert, &flags.tls_key) {
        (Some(cert), Some(key)) => {
            if !wants_tls {
                return Err(SecurityError::Flags(
                    "--tls-cert and --tls-key are given but no SSL:// or SASL_SSL:// listener uses them".into(),
                ));
            }
            Some(tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: None,
            })
        }
        (None, None) => {
            if wants_tls {
                return Err(SecurityError::Flags(
                    "an SSL:// or SASL_SSL:// listener needs --tls-cert and --tls-key (PEM files)".into(),
                ));
            }
            None
        }
        _ => return Err(SecurityError::Flags("--tls-cert and --tls-key go together".into())),
    };
    if flags.tls_client_ca.is_some() && !specs.iter().any(|s| s.protocol == SecurityProtocol::Ssl) {
        return Err(SecurityError::Flags(
            "--tls-client-ca applies to SSL:// listeners (SASL_SSL clients authenticate with SASL), and there is none"
                .into(),
        ));
    }
    // As in Kafka (KIP-684), client certificates are required on SSL listeners only: a SASL_SSL
    // client proves who it is with SASL.
    let mut ssl_acceptor = None;
    let mut sasl_ssl_acceptor = None;
    if let Some(files) = &files {
        if specs.iter().any(|s| s.protocol == SecurityProtocol::Ssl) {
            let with_ca = tls::TlsFiles {
                client_ca: flags.tls_client_ca.clone(),
                ..files.clone()
            };
            ssl_acceptor = Some(tls::acceptor(&with_ca)?);
        }
        if specs.iter().any(|s| s.protocol == SecurityProtocol::SaslSsl) {
            sasl_ssl_acceptor = Some(tls::acceptor(files)?);
        }
    }
    let mut out = Vec::new();
    for spec in specs {
        let addrs = spec.resolve()?;
        let authenticates = spec.protocol.sasl() || (spec.protocol.tls() && flags.tls_client_ca.is_some());
        if !authenticates && !flags.insecure_listen {
            if let Some(addr) = addrs.iter().find(|a| !a.ip().is_loopback()) {
                return Err(SecurityError::InsecureListen {
                    listener: spec.to_string(),
                    addr: *addr,
                });
            }
        }
        let tls = match spec.protocol {
            SecurityProtocol::Ssl => ssl_acceptor.clone(),
            SecurityProtocol::SaslSsl => sasl_ssl_acceptor.clone(),
            _ => None,
        };
        out.push(PlannedListener { spec, addrs, tls });
    }
    Ok(out)
}

/// Shared by every SASL connection: the users, the enabled mechanisms, the failure limit.
pub struct Security {
    pub users: UserStore,
    pub limiter: FailureLimiter,
    pub mechanisms: Vec<Mechanism>,
    /// Kafka's `connection.failed.authentication.delay.ms`: a failed client waits this long
    /// for its answer, which slows down guessing.
    pub failure_delay: Duration,
    /// Derives the stand-in salt of unknown SCRAM users; random per process.
    secret: [u8; 32],
    /// PLAIN checks unknown users against this, so they cost as much time as known ones.
    decoy: ScramCredential,
}

impl Security {
    pub fn new(users: UserStore, config: &BrokerConfig) -> Result<Self, SecurityError> {
        let mechanisms =
            Mechanism::parse_list(&config.get("sasl.enabled.mechanisms").0).map_err(SecurityError::Flags)?;
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret).map_err(|e| SecurityError::TlsSetup(e.to_string()))?;
        let decoy = ScramCredential::derive(ScramHash::Sha512, "decoy", scram::DEFAULT_ITERATIONS)
            .map_err(|e| SecurityError::TlsSetup(e.to_string()))?;
        Ok(Security {
            users,
            limiter: FailureLimiter::new(config.get_i64("sasl.failed.authentications.per.minute").max(0) as u32),
            mechanisms,
            failure_delay: Duration::from_millis(
                config.get_i64("connection.failed.authentication.delay.ms").max(0) as u64
            ),
            secret,
            decoy,
        })
    }

    pub fn mechanism_names(&self) -> Vec<&'static str> {
        self.mechanisms.iter().map(|m| m.name()).collect()
    }
}

/// Shared handle.
pub type SecurityRef = Arc<Security>;

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(listen: &[&str]) -> ListenerFlags {
        ListenerFlags {
            listen: listen.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn listener_values_parse_with_and_without_a_protocol() {
        let l = ListenerSpec::parse("127.0.0.1:9092").unwrap();
        assert_eq!(
            (l.protocol, l.host.as_str(), l.port),
            (SecurityProtocol::Plaintext, "127.0.0.1", 9092)
        );
        let l = ListenerSpec::parse("sasl_ssl://0.0.0.0:9093").unwrap();
        assert_eq!(l.protocol, SecurityProtocol::SaslSsl);
        assert_eq!(l.to_string(), "SASL_SSL://0.0.0.0:9093");
        let l = ListenerSpec::parse("SSL://[::1]:0").unwrap();
        assert_eq!((l.host.as_str(), l.to_string()), ("::1", "SSL://[::1]:0".to_string()));
        assert_eq!(ListenerSpec::parse("PLAINTEXT://:9092").unwrap().host, "0.0.0.0");
        for (bad, why) in [
            ("TLS://1.2.3.4:1", "unknown security protocol"),
            ("localhost", "HOST:PORT"),
            ("SASL_SSL://h:99999", "not a port"),
            ("PLAINTEXT://a/b:1", "not a host"),
        ] {
            let e = ListenerSpec::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn unauthenticated_listeners_beyond_loopback_are_refused_unless_insecure() {
        for listen in ["0.0.0.0:0", "PLAINTEXT://0.0.0.0:0"] {
            let e = plan(&flags(&["SASL_PLAINTEXT://127.0.0.1:0", listen]))
                .err()
                .unwrap()
                .to_string();
            assert!(
                e.contains("refusing to listen") && e.contains("--insecure-listen"),
                "{e}"
            );
            let mut f = flags(&[listen]);
            f.insecure_listen = true;
            assert!(plan(&f).is_ok());
        }
        assert!(plan(&flags(&["localhost:0"])).is_ok(), "localhost is loopback");
        assert!(
            plan(&flags(&["SASL_PLAINTEXT://0.0.0.0:0"])).is_ok(),
            "SASL authenticates"
        );
    }

    #[test]
    fn tls_flags_must_match_the_listeners() {
        let e = plan(&flags(&["SSL://127.0.0.1:0"])).err().unwrap().to_string();
        assert!(e.contains("--tls-cert"), "{e}");
        let mut f = flags(&["127.0.0.1:0"]);
        f.tls_cert = Some("c.pem".into());
        f.tls_key = Some("k.pem".into());
        assert!(plan(&f).err().unwrap().to_string().contains("no SSL:// or SASL_SSL://"));
        f.tls_key = None;
        assert!(plan(&f).err().unwrap().to_string().contains("go together"));
        let mut f = flags(&["127.0.0.1:0"]);
        f.tls_client_ca = Some("ca.pem".into());
        assert!(plan(&f).err().unwrap().to_string().contains("--tls-client-ca"));
        let mut f = flags(&["SASL_SSL://127.0.0.1:0"]);
        f.tls_cert = Some("c.pem".into());
        f.tls_key = Some("k.pem".into());
        f.tls_client_ca = Some("ca.pem".into());
        assert!(plan(&f)
            .err()
            .unwrap()
            .to_string()
            .contains("applies to SSL:// listeners"));
        let mut f = flags(&["SSL://127.0.0.1:0"]);
        f.tls_cert = Some("/nonexistent/c.pem".into());
        f.tls_key = Some("/nonexistent/k.pem".into());
        let e = plan(&f).err().unwrap().to_string();
        assert!(e.contains("/nonexistent/c.pem"), "{e}");
    }

    #[test]
    fn each_protocol_names_one_listener() {
        let e = plan(&flags(&["127.0.0.1:0", "PLAINTEXT://127.0.0.1:0"]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("two PLAINTEXT listeners"), "{e}");
        assert!(plan(&flags(&[])).is_err());
    }

    #[test]
    fn mechanism_lists_parse_and_name_the_unknown() {
        assert_eq!(
            Mechanism::parse_list("PLAIN, SCRAM-SHA-512,PLAIN").unwrap(),
            [Mechanism::Plain, Mechanism::Scram(ScramHash::Sha512)]
        );
        assert!(Mechanism::parse_list("GSSAPI").unwrap_err().contains("'GSSAPI'"));
        assert!(Mechanism::parse_list(" , ").is_err());
    }
}
