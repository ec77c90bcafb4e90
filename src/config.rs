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

use crate::cluster::connect::{ConnectionSpec, Origin};

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub default_profile: Option<String>,
    pub theme: Option<String>,
    /// Path of a keymap file layered over the default keymap.
    pub keymap: Option<PathBuf>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub bootstrap: String,
    #[serde(default)]
    pub read_only: bool,
}

impl Profile {
    /// The connection spec of profile `name`; read-only when the profile says so.
    pub fn connection(&self, name: &str) -> ConnectionSpec {
        let mut spec = ConnectionSpec::bootstrap(&self.bootstrap);
        spec.name = name.to_string();
        spec.origin = Origin::Profile(name.to_string());
        if self.read_only {
            spec = spec.with_read_only(format!("profile '{name}' has read_only = true"));
        }
        spec
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("no profile named '{name}' in {path} (known: {known})")]
    UnknownProfile { name: String, path: PathBuf, known: String },
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

impl Config {
    /// Loads the file; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|message| ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source: e,
            }),
        }
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The profile to use: the named one, else the default one, else none (bundled broker).
    pub fn profile(&self, name: Option<&str>, path: &Path) -> Result<Option<(String, Profile)>, ConfigError> {
        let Some(name) = name.or(self.default_profile.as_deref()) else {
            return Ok(None);
        };
        match self.profiles.get(name) {
            Some(p) => Ok(Some((name.to_string(), p.clone()))),
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
        let spec = prof.connection(&name);
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
}
