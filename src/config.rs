//! `~/.config/strom/config.toml` (or `$XDG_CONFIG_HOME/strom/config.toml`): cluster profiles,
//! the default profile, theme and keymap overrides. A bad file is reported with its path and
//! the reason; the console then refuses to guess.
//!
//! ```toml
//! default_profile = "prod"
//! theme = "default"            # or light, high-contrast, or a path to a theme file
//!
//! [profiles.prod]
//! bootstrap = "kafka1:9092,kafka2:9092"
//! read_only = true
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use crate::cluster::connect::{
    check_property, reserved_property, ConnectionSpec, Mechanism, Origin, Protocol, Sasl, Secret, Security, Tls,
};

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub default_profile: Option<String>,
    pub theme: Option<String>,
    /// Path of a keymap file layered over the default keymap.
    pub keymap: Option<PathBuf>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Spanned<Profile>>,
}

/// One cluster. Keys are named after Kafka's client properties where there is one
/// (`security.protocol`, `sasl.mechanism`), written as TOML dotted keys.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub bootstrap: String,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub security: SecurityKeys,
    pub sasl: Option<SaslKeys>,
    pub ssl: Option<SslKeys>,
    /// Banner text in the console's header, e.g. "PRODUCTION".
    pub label: Option<String>,
    /// The banner's colour: a name (red, yellow, lightred...) or #rrggbb.
    pub color: Option<Spanned<String>>,
    /// Theme while this profile is in use (over the file's `theme`).
    pub theme: Option<String>,
    /// librdkafka properties passed through as they are (`client.rack`, `sasl.oauthbearer.*`...).
    #[serde(default)]
    pub librdkafka: BTreeMap<String, Spanned<Property>>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecurityKeys {
    #[serde(default)]
    pub protocol: Protocol,
}

/// Where a secret comes from. Never the config file itself.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SaslKeys {
    pub mechanism: Option<Spanned<Mechanism>>,
    pub username: Option<String>,
    /// Refused with a fix-it: a password in a config file ends up in backups and dotfile repos.
    pub password: Option<Spanned<Discarded>>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_command: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SslKeys {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub key_password_env: Option<String>,
    pub key_password_file: Option<PathBuf>,
    pub key_password_command: Option<String>,
}

/// A value read and thrown away at once (an inline password), so that not even `Debug` holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discarded;

impl<'de> Deserialize<'de> for Discarded {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Discarded)
    }
}

/// A passed-through property's value: librdkafka takes strings, TOML users write numbers and
/// booleans too.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Property {
    Text(String),
    Integer(i64),
    Bool(bool),
}

impl Property {
    fn text(&self) -> String {
        match self {
            Property::Text(s) => s.clone(),
            Property::Integer(i) => i.to_string(),
            Property::Bool(b) => b.to_string(),
        }
    }
}

/// One place a secret is read from.
enum SecretSource<'a> {
    Env(&'a str),
    File(&'a Path),
    Command(&'a str),
}

impl SecretSource<'_> {
    fn pick<'a>(
        env: &'a Option<String>,
        file: &'a Option<PathBuf>,
        command: &'a Option<String>,
    ) -> Vec<SecretSource<'a>> {
        let mut v = Vec::new();
        if let Some(e) = env {
            v.push(SecretSource::Env(e));
        }
        if let Some(f) = file {
            v.push(SecretSource::File(f));
        }
        if let Some(c) = command {
            v.push(SecretSource::Command(c));
        }
        v
    }

    /// Reads the secret. Errors name the source, never the secret.
    fn read(&self) -> Result<Secret, String> {
        let strip = |s: &str| {
            s.strip_suffix('\n')
                .map(|s| s.strip_suffix('\r').unwrap_or(s))
                .unwrap_or(s)
                .to_string()
        };
        match self {
            SecretSource::Env(var) => match std::env::var(var) {
                Ok(v) => Ok(Secret::new(v)),
                Err(std::env::VarError::NotPresent) => Err(format!("environment variable {var} is not set")),
                Err(std::env::VarError::NotUnicode(_)) => Err(format!("environment variable {var} is not UTF-8")),
            },
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map(|t| Secret::new(strip(&t)))
                .map_err(|e| format!("cannot read {}: {e}", path.display())),
            SecretSource::Command(cmd) => {
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .map_err(|e| format!("cannot run `{cmd}`: {e}"))?;
                if !out.status.success() {
                    let err = String::from_utf8_lossy(&out.stderr);
                    let first = err.lines().next().unwrap_or("").trim();
                    return Err(format!(
                        "`{cmd}` failed ({}){}",
                        out.status,
                        if first.is_empty() {
                            String::new()
                        } else {
                            format!(": {first}")
                        }
                    ));
                }
                String::from_utf8(out.stdout)
                    .map(|t| Secret::new(strip(&t)))
                    .map_err(|_| format!("`{cmd}` printed something that is not UTF-8"))
            }
        }
    }
}

impl Profile {
    /// The connection spec of profile `name`, with its secrets read now (from the environment,
    /// a file or a command); read-only when the profile says so.
    pub fn connection(&self, name: &str) -> Result<ConnectionSpec, ConfigError> {
        let secret_err = |message: String| ConfigError::Secret {
            profile: name.to_string(),
            message,
        };
        let mut spec = ConnectionSpec::bootstrap(&self.bootstrap);
        spec.name = name.to_string();
        spec.origin = Origin::Profile(name.to_string());
        let protocol = self.security.protocol;
        let sasl = match (&self.sasl, protocol.uses_sasl()) {
            (Some(k), true) => {
                let mechanism = k.mechanism.as_ref().map_or(Mechanism::Plain, |m| *m.get_ref());
                let sources = SecretSource::pick(&k.password_env, &k.password_file, &k.password_command);
                let password = match sources.first() {
                    Some(src) => Some(src.read().map_err(|m| secret_err(format!("sasl password: {m}")))?),
                    None => None,
                };
                Some(Sasl {
                    mechanism,
                    username: k.username.clone(),
                    password,
                })
            }
            _ => None,
        };
        let tls = match &self.ssl {
            Some(k) => {
                let sources = SecretSource::pick(&k.key_password_env, &k.key_password_file, &k.key_password_command);
                Tls {
                    ca_file: k.ca_file.clone(),
                    cert_file: k.cert_file.clone(),
                    key_file: k.key_file.clone(),
                    key_password: match sources.first() {
                        Some(src) => Some(src.read().map_err(|m| secret_err(format!("ssl key password: {m}")))?),
                        None => None,
                    },
                }
            }
            None => Tls::default(),
        };
        spec.security = Security {
            protocol,
            sasl,
            tls,
            extra: self
                .librdkafka
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().text()))
                .collect(),
        };
        spec.label = self.label.clone().map(|l| {
            let colour = self
                .color
                .as_ref()
                .map_or_else(|| "red".to_string(), |c| c.get_ref().clone());
            (l, colour)
        });
        if self.read_only {
            spec = spec.with_read_only(format!("profile '{name}' has read_only = true"));
        }
        Ok(spec)
    }

    /// What is wrong with the profile beyond its syntax: (key under the profile, message).
    fn problems(&self) -> Vec<(String, Option<std::ops::Range<usize>>, String)> {
        let mut out = Vec::new();
        let mut bad =
            |key: &str, span: Option<std::ops::Range<usize>>, msg: String| out.push((key.to_string(), span, msg));
        let protocol = self.security.protocol;
        if self.bootstrap.trim().is_empty() {
            bad("bootstrap", None, "is empty; give host:port[,host:port...]".into());
        }
        match (&self.sasl, protocol.uses_sasl()) {
            (None, true) => bad(
                "security.protocol",
                None,
                format!("{} needs a [sasl] section: add sasl.mechanism, sasl.username and sasl.password_env (or _file, _command)", protocol.name()),
            ),
            (Some(_), false) => bad(
                "sasl",
                None,
                format!("is set but security.protocol is {}; use SASL_SSL or SASL_PLAINTEXT, or remove sasl.*", protocol.name()),
            ),
            (Some(k), true) => {
                let mechanism = k.mechanism.as_ref().map_or(Mechanism::Plain, |m| *m.get_ref());
                if let Some(p) = &k.password {
                    bad(
                        "sasl.password",
                        Some(p.span()),
                        "passwords are not read from the config file; use sasl.password_env = \"VAR\", sasl.password_file = \"PATH\" or sasl.password_command = \"CMD\"".into(),
                    );
                }
                let sources = SecretSource::pick(&k.password_env, &k.password_file, &k.password_command).len();
                if mechanism.needs_password() {
                    if k.username.is_none() {
                        bad("sasl", None, format!("{} needs sasl.username", mechanism.name()));
                    }
                    if sources == 0 && k.password.is_none() {
                        bad("sasl", None, format!("{} needs a password: set one of sasl.password_env, sasl.password_file, sasl.password_command", mechanism.name()));
                    }
                } else if k.username.is_some() {
                    bad("sasl.username", None, "OAUTHBEARER takes no user name; configure it with sasl.oauthbearer.* properties in [profiles.NAME.librdkafka] (sasl.password_* give its OIDC client secret)".into());
                }
                if sources > 1 {
                    bad("sasl", None, "give only one of sasl.password_env, sasl.password_file, sasl.password_command".into());
                }
            }
            (None, false) => {}
        }
        if let Some(k) = &self.ssl {
            if !protocol.uses_tls() {
                bad(
                    "ssl",
                    None,
                    format!(
                        "is set but security.protocol is {}; use SSL or SASL_SSL, or remove ssl.*",
                        protocol.name()
                    ),
                );
            }
            if k.cert_file.is_some() != k.key_file.is_some() {
                bad(
                    "ssl",
                    None,
                    "a client certificate needs both ssl.cert_file and ssl.key_file".into(),
                );
            }
            if SecretSource::pick(&k.key_password_env, &k.key_password_file, &k.key_password_command).len() > 1 {
                bad(
                    "ssl",
                    None,
                    "give only one of ssl.key_password_env, ssl.key_password_file, ssl.key_password_command".into(),
                );
            }
        }
        if let Some(c) = &self.color {
            if c.get_ref().parse::<ratatui::style::Color>().is_err() {
                bad(
                    "color",
                    Some(c.span()),
                    format!(
                        "unknown colour '{}'; use a name (red, yellow, lightred, ...) or #rrggbb",
                        c.get_ref()
                    ),
                );
            }
        }
        for (key, value) in &self.librdkafka {
            let text = value.get_ref().text();
            if let Some(why) = reserved_property(key) {
                bad(
                    &format!("librdkafka.{key}"),
                    Some(value.span()),
                    format!("cannot be set here: {why}"),
                );
            } else if let Err(e) = check_property(key, &text) {
                bad(
                    &format!("librdkafka.{key}"),
                    Some(value.span()),
                    format!("librdkafka refuses it: {e}"),
                );
            }
        }
        out
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// `message` holds one problem per line group, each starting with `path:line:`.
    #[error("{message}")]
    Parse { path: PathBuf, message: String },
    #[error("no profile named '{name}' in {path} (known: {known})")]
    UnknownProfile { name: String, path: PathBuf, known: String },
    #[error("profile '{profile}': {message}")]
    Secret { profile: String, message: String },
}

pub fn config_dir() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("strom")
}

pub fn default_path() -> PathBuf {
    config_dir().join("config.toml")
}

/// 1-based line of byte offset `at`, and that line's text.
fn line_at(text: &str, at: usize) -> (usize, &str) {
    let at = at.min(text.len());
    let line = text[..at].matches('\n').count() + 1;
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    (line, &text[start..end])
}

/// The dotted key a line defines, with the table it is in: `profiles.prod.sasl.mechanism`.
fn key_at(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let own = lines.get(line.saturating_sub(1)).copied().unwrap_or("").trim();
    let header = |l: &str| {
        l.strip_prefix('[').map(|r| {
            r.trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
    };
    if let Some(h) = header(own) {
        return h;
    }
    let key = own.split('=').next().unwrap_or("").trim().to_string();
    let table = lines[..line.saturating_sub(1).min(lines.len())]
        .iter()
        .rev()
        .find_map(|l| header(l.trim()));
    match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key,
    }
}

/// The closest of `candidates` to `word`, if it is a likely typo.
fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    candidates
        .map(|c| (distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `LINE: KEY: MESSAGE` plus the line itself, for a problem at byte `at`.
fn located(text: &str, at: usize, key: Option<&str>, message: &str) -> String {
    let (line, source) = line_at(text, at);
    let key = key.map_or_else(|| key_at(text, line), str::to_string);
    // The line itself helps find the problem, unless it may hold a secret.
    if ["password", "secret", "token"]
        .iter()
        .any(|s| key.contains(s) || source.contains(s))
    {
        format!("{line}: {key}: {message}")
    } else {
        format!("{line}: {key}: {message}\n  {line} | {}", source.trim_end())
    }
}

/// toml's message with a "did you mean" for an unknown key or value.
fn with_fix(message: &str) -> String {
    let message = message.trim_end();
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    if let Some((word, rest)) = quoted.split_first() {
        if message.starts_with("unknown field") || message.starts_with("unknown variant") {
            if let Some(c) = closest(word, rest.iter().copied()) {
                return format!("{message} (did you mean `{c}`?)");
            }
        }
    }
    message.to_string()
}

impl Config {
    /// Loads the file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::check(&text).map_err(|problems| ConfigError::Parse {
                path: path.to_path_buf(),
                message: problems
                    .iter()
                    .map(|p| format!("{}:{p}", path.display()))
                    .collect::<Vec<_>>()
                    .join("\n"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source: e,
            }),
        }
    }

    /// Parses and checks a config file. The error starts with the line number (`7: key:
    /// message`); [`ConfigError::Parse`] puts the path in front.
    pub fn parse(text: &str) -> Result<Config, String> {
        Self::check(text).map_err(|problems| problems.join("\n"))
    }

    /// [`Self::parse`], one entry per problem.
    fn check(text: &str) -> Result<Config, Vec<String>> {
        let config: Config = toml::from_str(text).map_err(|e| {
            vec![match e.span() {
                Some(span) => located(text, span.start, None, &with_fix(e.message())),
                None => format!(" {}", with_fix(e.message())),
            }]
        })?;
        let mut problems = Vec::new();
        for (name, profile) in &config.profiles {
            for (key, span, message) in profile.get_ref().problems() {
                // Without a span of its own, a problem is shown at the line that sets the key,
                // else at the profile's start.
                let within = profile.span();
                let at = span.map(|s| s.start).unwrap_or_else(|| {
                    let last = key.rsplit('.').next().unwrap_or(&key);
                    text.get(within.clone())
                        .and_then(|t| {
                            t.lines()
                                .scan(0, |off, l| {
                                    let here = *off;
                                    *off += l.len() + 1;
                                    Some((here, l))
                                })
                                .find(|(_, l)| l.trim_start().starts_with(&key) || l.trim_start().starts_with(last))
                                .map(|(off, _)| within.start + off)
                        })
                        .unwrap_or(within.start)
                });
                problems.push(located(text, at, Some(&format!("profiles.{name}.{key}")), &message));
            }
        }
        if let Some(d) = &config.default_profile {
            if !config.profiles.contains_key(d) {
                let at = text.find("default_profile").unwrap_or(0);
                let known: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
                let hint =
                    closest(d, known.iter().copied()).map_or(String::new(), |c| format!(" (did you mean '{c}'?)"));
                problems.push(located(
                    text,
                    at,
                    Some("default_profile"),
                    &format!(
                        "no profile named '{d}'{hint}; known: {}",
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
        match problems.is_empty() {
            true => Ok(config),
            false => Err(problems),
        }
    }

    /// The profile to use: the named one, else the default one, else none (bundled broker).
    pub fn profile(&self, name: Option<&str>, path: &Path) -> Result<Option<(String, Profile)>, ConfigError> {
        let Some(name) = name.or(self.default_profile.as_deref()) else {
            return Ok(None);
        };
        match self.profiles.get(name) {
            Some(p) => Ok(Some((name.to_string(), p.get_ref().clone()))),
            None => Err(ConfigError::UnknownProfile {
                name: name.to_string(),
                path: path.to_path_buf(),
                known: if self.profiles.is_empty() {
                    "none".into()
                } else {
                    self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in this module's documentation is what users copy: it must parse.
    #[test]
    fn documented_example_parses_and_selects_profiles() {
        let text = "default_profile = \"prod\"\ntheme = \"default\"\n\n[profiles.prod]\nbootstrap = \"kafka1:9092,kafka2:9092\"\nread_only = true\n";
        let cfg = Config::parse(text).unwrap();
        let p = Path::new("config.toml");
        let (name, prof) = cfg.profile(None, p).unwrap().unwrap();
        assert_eq!(name, "prod");
        assert!(prof.read_only);
        assert!(matches!(
            cfg.profile(Some("dev"), p),
            Err(ConfigError::UnknownProfile { .. })
        ));
        assert_eq!(Config::default().profile(None, p).unwrap(), None);
        let spec = prof.connection(&name).unwrap();
        assert_eq!(
            (spec.name.as_str(), spec.bootstrap.as_str()),
            ("prod", "kafka1:9092,kafka2:9092")
        );
        assert!(spec.read_only, "the profile's read_only reaches the connection spec");
        assert_eq!(
            spec.read_only_reason.as_deref(),
            Some("profile 'prod' has read_only = true")
        );
    }

    #[test]
    fn unknown_keys_are_reported() {
        let err = Config::parse("defualt_profile = \"x\"\n").unwrap_err();
        assert!(err.contains("defualt_profile"), "{err}");
    }

    /// Every `toml` block of the README's profiles section is what users copy: each parses,
    /// and its profiles become connection specs with the keys they set.
    #[test]
    fn readme_profile_examples_parse() {
        let readme = include_str!("../README.md");
        let section = &readme[readme.find("### Profiles").expect("profiles section")..];
        let section = &section[..section[4..].find("\n### ").map_or(section.len(), |i| i + 4)];
        let blocks: Vec<&str> = section
            .split("```toml\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap_or(""))
            .collect();
        assert!(!blocks.is_empty(), "no toml block in the profiles section");
        for block in blocks {
            let cfg = Config::parse(block).unwrap_or_else(|e| panic!("README example does not parse: {e}\n{block}"));
            if let Some(prod) = cfg.profiles.get("prod") {
                std::env::set_var("KAFKA_PROD_PASSWORD", "readme-example-password");
                let spec = prod.get_ref().connection("prod").unwrap();
                let c = spec.client_config("t");
                assert_eq!(c.get("security.protocol"), Some("sasl_ssl"));
                assert_eq!(c.get("sasl.mechanisms"), Some("SCRAM-SHA-512"));
                assert_eq!(c.get("sasl.password"), Some("readme-example-password"));
                assert_eq!(c.get("ssl.ca.location"), Some("/etc/kafka/ca.pem"));
                assert_eq!(c.get("client.rack"), Some("eu-west-1a"));
                assert_eq!(spec.label, Some(("PRODUCTION".to_string(), "red".to_string())));
                assert!(spec.read_only);
                assert!(
                    !format!("{spec:?}").contains("readme-example-password"),
                    "Debug of a spec shows no password"
                );
            }
        }
    }

    #[test]
    fn secrets_come_from_a_file_or_a_command_and_failures_name_the_source() {
        let dir = std::env::temp_dir().join(format!("strom-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "from-file\nignored second line").unwrap();
        let text = format!(
            "[profiles.f]\nbootstrap = \"h:1\"\nsecurity.protocol = \"SASL_PLAINTEXT\"\nsasl.mechanism = \"PLAIN\"\nsasl.username = \"u\"\nsasl.password_file = \"{}\"\n\n[profiles.c]\nbootstrap = \"h:1\"\nsecurity.protocol = \"SASL_PLAINTEXT\"\nsasl.mechanism = \"SCRAM-SHA-256\"\nsasl.username = \"u\"\nsasl.password_command = \"echo from-command\"\n\n[profiles.bad]\nbootstrap = \"h:1\"\nsecurity.protocol = \"SASL_PLAINTEXT\"\nsasl.mechanism = \"PLAIN\"\nsasl.username = \"u\"\nsasl.password_command = \"echo oops >&2; exit 3\"\n",
            file.display()
        );
        let cfg = Config::parse(&text).unwrap();
        let pw = |name: &str| {
            cfg.profiles[name]
                .get_ref()
                .connection(name)
                .map(|s| s.client_config("t").get("sasl.password").map(str::to_string))
        };
        assert_eq!(pw("f").unwrap().as_deref(), Some("from-file\nignored second line"));
        assert_eq!(pw("c").unwrap().as_deref(), Some("from-command"));
        let err = pw("bad").unwrap_err().to_string();
        assert!(
            err.contains("profile 'bad'") && err.contains("exit status: 3") && err.contains("oops"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn inconsistent_security_settings_are_refused_with_their_line() {
        let cases = [
            ("[profiles.p]\nbootstrap = \"h:1\"\nsasl.mechanism = \"PLAIN\"\n", "3: profiles.p.sasl: is set but security.protocol is PLAINTEXT"),
            ("[profiles.p]\nbootstrap = \"h:1\"\nsecurity.protocol = \"SASL_SSL\"\n", "3: profiles.p.security.protocol: SASL_SSL needs a [sasl] section"),
            ("[profiles.p]\nbootstrap = \"h:1\"\nsecurity.protocol = \"SSL\"\nssl.cert_file = \"c\"\n", "4: profiles.p.ssl: a client certificate needs both"),
            ("[profiles.p]\nbootstrap = \"h:1\"\nsecurity.protocol = \"SASL_SSL\"\nsasl.mechanism = \"SCRAM-SHA-256\"\nsasl.username = \"u\"\n", "needs a password"),
            ("[profiles.p]\nbootstrap = \"h:1\"\ncolor = \"rde\"\n", "3: profiles.p.color: unknown colour 'rde'"),
            ("[profiles.p]\nbootstrap = \"h:1\"\n[profiles.p.librdkafka]\n\"bootstrap.servers\" = \"x\"\n", "4: profiles.p.librdkafka.bootstrap.servers: cannot be set here"),
            ("default_profile = \"prd\"\n[profiles.prod]\nbootstrap = \"h:1\"\n", "1: default_profile: no profile named 'prd' (did you mean 'prod'?)"),
        ];
        for (text, want) in cases {
            let err = Config::parse(text).unwrap_err();
            assert!(err.contains(want), "{text}\nwanted {want}\ngot {err}");
        }
    }
}
