//! Themes: the console's colours as data. A theme maps semantic names (`status.error`,
//! `table.selected`, `stale`) to styles; panes ask for a meaning, never a hue.
//!
//! The shipped themes (`themes/*.toml`) are embedded with `include_str!`. A user theme is a
//! TOML file naming any subset of the slots; the rest come from the default theme. A bad file
//! is an error that says which file and which key, so the caller can report it and keep the
//! default. `NO_COLOR` (no-color.org) selects [`Theme::no_color`], which carries every state
//! with modifiers (bold, reversed, underlined) only.

use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};

use crate::app::columns::Tone;

/// The themes built into the executable, by name.
pub const SHIPPED: [(&str, &str); 3] = [
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("theme '{name}' not found: not a shipped theme ({available}), not in {user_dir}, and not a file")]
    Unknown {
        name: String,
        available: String,
        user_dir: String,
    },
    #[error("theme {path}: cannot read: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("theme {origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("theme {origin}: unknown key '{key}' (known: {known})")]
    UnknownSlot { origin: String, key: String, known: String },
    #[error("theme {origin}: '{key}': {message}")]
    BadStyle {
        origin: String,
        key: String,
        message: String,
    },
}

/// Declares the slots once: the struct fields, their TOML names, and the lookup by name.
macro_rules! slots {
    ($($(#[$doc:meta])* $field:ident => $key:literal,)*) => {
        /// Styles by meaning. Build with [`Theme::load`], [`Theme::default`] or
        /// [`Theme::no_color`].
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct Theme {
            /// The theme's name or file, for messages.
            pub name: String,
            $($(#[$doc])* pub $field: Style,)*
        }

        /// Every key a theme file may set.
        pub const SLOT_NAMES: &[&str] = &[$($key),*];

        impl Theme {
            fn empty(name: &str) -> Theme {
                Theme { name: name.to_string(), $($field: Style::new(),)* }
            }

            fn slot_mut(&mut self, key: &str) -> Option<&mut Style> {
                match key {
                    $($key => Some(&mut self.$field),)*
                    _ => None,
                }
            }
        }
    };
}

slots! {
    /// Base style of the whole screen.
    text => "text",
    /// Secondary text: hints, notes, empty-state explanations, zero values.
    muted => "muted",
    border => "border",
    /// Pane titles in their borders.
    title => "title",
    /// The header line.
    header => "header",
    /// The cluster name in the header.
    header_name => "header.name",
    tab_active => "tab.active",
    tab_inactive => "tab.inactive",
    table_header => "table.header",
    /// The header cell of the column the table is sorted by.
    table_sorted => "table.sorted",
    table_selected => "table.selected",
    status_ok => "status.ok",
    status_warn => "status.warn",
    status_error => "status.error",
    /// Marks data that is older than a refresh should be.
    stale => "stale",
    /// Config rows set on the topic itself.
    override_ => "override",
    /// Bars of the leader distribution chart.
    bar => "bar",
    /// Key names in the footer and the help overlay.
    key => "key",
    /// The filter and command lines.
    input => "input",
    /// Transient messages in the footer.
    flash => "flash",
    /// Background of overlays (help).
    popup => "popup",
}

impl Default for Theme {
    /// The shipped default theme.
    fn default() -> Theme {
        // The embedded file is checked by a test; should it ever fail to parse, a colourless
        // theme is still a working console.
        parse_layered(Theme::empty("default"), "default", SHIPPED[0].1).unwrap_or_else(|_| Theme::no_color())
    }
}

impl Theme {
    /// A shipped theme by name ("default", "light", "high-contrast"), a user theme in
    /// `$XDG_CONFIG_HOME/strom/themes/NAME.toml`, or a path to a TOML file. User themes
    /// inherit every slot they do not set from the default theme.
    /// The style of a cell or row tone from the column model.
    pub fn tone(&self, tone: Tone) -> Style {
        match tone {
            Tone::Plain => Style::new(),
            Tone::Ok => self.status_ok,
            Tone::Warn => self.status_warn,
            Tone::Error => self.status_error,
            Tone::Muted => self.muted,
            Tone::Override => self.override_,
        }
    }

    pub fn load(name_or_path: &str) -> Result<Theme, ThemeError> {
        if let Some((name, text)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
            return Theme::parse(name, text);
        }
        let user_dir = user_theme_dir();
        let candidates = [
            user_dir.as_ref().map(|d| d.join(format!("{name_or_path}.toml"))),
            Some(PathBuf::from(name_or_path)),
        ];
        for path in candidates.into_iter().flatten() {
            if path.is_file() {
                let origin = path.display().to_string();
                let text = std::fs::read_to_string(&path).map_err(|source| ThemeError::Read {
                    path: origin.clone(),
                    source,
                })?;
                return Theme::parse(&origin, &text);
            }
        }
        Err(ThemeError::Unknown {
            name: name_or_path.to_string(),
            available: SHIPPED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            user_dir: user_dir.map_or_else(|| "the user theme dir".into(), |d| d.display().to_string()),
        })
    }

    /// Parses theme TOML `text` over the default theme; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Theme, ThemeError> {
        parse_layered(
            Theme {
                name: origin.to_string(),
                ..Theme::default()
            },
            origin,
            text,
        )
    }

    /// For `NO_COLOR`: no foreground or background colour anywhere, every meaning carried by
    /// a modifier, so selection, errors and stale marks still stand out.
    pub fn no_color() -> Theme {
        let m = |mods: Modifier| Style::new().add_modifier(mods);
        Theme {
            name: "no-color".into(),
            text: Style::new(),
            muted: m(Modifier::DIM),
            border: Style::new(),
            title: m(Modifier::BOLD),
            header: m(Modifier::REVERSED),
            header_name: m(Modifier::REVERSED | Modifier::BOLD),
            tab_active: m(Modifier::REVERSED | Modifier::BOLD),
            tab_inactive: Style::new(),
            table_header: m(Modifier::BOLD),
            table_sorted: m(Modifier::BOLD | Modifier::UNDERLINED),
            table_selected: m(Modifier::REVERSED),
            status_ok: Style::new(),
            status_warn: m(Modifier::BOLD),
            status_error: m(Modifier::BOLD | Modifier::UNDERLINED),
            stale: m(Modifier::REVERSED | Modifier::BOLD),
            override_: m(Modifier::BOLD),
            bar: Style::new(),
            key: m(Modifier::BOLD),
            input: m(Modifier::BOLD),
            flash: m(Modifier::BOLD),
            popup: Style::new(),
        }
    }

    /// Whether the user asked for no colour: `NO_COLOR` set to anything but the empty string.
    pub fn no_color_requested() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }
}

/// `$XDG_CONFIG_HOME/strom/themes`, falling back to `~/.config/strom/themes`.
fn user_theme_dir() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(config.join("strom").join("themes"))
}

/// Applies every slot set in `text` on top of `base`. Keys may be quoted (`"tab.active" =
/// {...}`) or nested (`[tab.active]`, `tab.active = {...}`): both reach the same slot.
fn parse_layered(mut base: Theme, origin: &str, text: &str) -> Result<Theme, ThemeError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| ThemeError::Syntax {
        origin: origin.to_string(),
        message: e.to_string(),
    })?;
    let mut entries = Vec::new();
    flatten("", &table, &mut entries);
    for (key, spec) in entries {
        let style = parse_style(spec).map_err(|message| ThemeError::BadStyle {
            origin: origin.to_string(),
            key: key.clone(),
            message,
        })?;
        let slot = base.slot_mut(&key).ok_or_else(|| ThemeError::UnknownSlot {
            origin: origin.to_string(),
            key: key.clone(),
            known: SLOT_NAMES.join(", "),
        })?;
        *slot = style;
    }
    Ok(base)
}

const STYLE_KEYS: [&str; 3] = ["fg", "bg", "mods"];

/// A table is a style when it is empty or all its keys are style keys; otherwise its entries
/// are slots one level down (`tab` -> `tab.active`).
fn flatten<'a>(prefix: &str, table: &'a toml::Table, out: &mut Vec<(String, &'a toml::Value)>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) if !t.is_empty() && !t.keys().all(|k| STYLE_KEYS.contains(&k.as_str())) => {
                flatten(&key, t, out)
            }
            _ => out.push((key, v)),
        }
    }
}

fn parse_style(spec: &toml::Value) -> Result<Style, String> {
    let table = spec
        .as_table()
        .ok_or("expected a table like { fg = \"cyan\", mods = [\"bold\"] }")?;
    let mut style = Style::new();
    if let Some(fg) = table.get("fg") {
        style = style.fg(parse_color(fg)?);
    }
    if let Some(bg) = table.get("bg") {
        style = style.bg(parse_color(bg)?);
    }
    if let Some(mods) = table.get("mods") {
        let list = mods
            .as_array()
            .ok_or("mods must be a list, e.g. [\"bold\", \"reversed\"]")?;
        for m in list {
            style = style.add_modifier(parse_modifier(m.as_str().ok_or("mods must be strings")?)?);
        }
    }
    Ok(style)
}

fn parse_color(v: &toml::Value) -> Result<Color, String> {
    // Numbers are palette indices whether written 33 or "33".
    if let Some(i) = v.as_integer() {
        return u8::try_from(i)
            .map(Color::Indexed)
            .map_err(|_| format!("colour index {i} is not in 0..=255"));
    }
    let s = v
        .as_str()
        .ok_or("a colour is a name, an index 0..=255, or \"#rrggbb\"")?;
    s.parse::<Color>()
        .map_err(|_| format!("unknown colour '{s}' (use an ANSI name like light-cyan, an index 0..=255, or #rrggbb)"))
}

fn parse_modifier(s: &str) -> Result<Modifier, String> {
    Ok(match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" | "underline" => Modifier::UNDERLINED,
        "reversed" | "reverse" => Modifier::REVERSED,
        "crossedout" => Modifier::CROSSED_OUT,
        _ => {
            return Err(format!(
                "unknown modifier '{s}' (bold, dim, italic, underlined, reversed, crossed-out)"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the 16 ANSI colours and the 256-colour palette: no truecolor in shipped themes.
    fn assert_no_truecolor(theme: &Theme) {
        let styles = [
            theme.text,
            theme.muted,
            theme.border,
            theme.title,
            theme.header,
            theme.header_name,
            theme.tab_active,
            theme.tab_inactive,
            theme.table_header,
            theme.table_sorted,
            theme.table_selected,
            theme.status_ok,
            theme.status_warn,
            theme.status_error,
            theme.stale,
            theme.override_,
            theme.bar,
            theme.key,
            theme.input,
            theme.flash,
            theme.popup,
        ];
        assert_eq!(styles.len(), SLOT_NAMES.len());
        for s in styles {
            for c in [s.fg, s.bg].into_iter().flatten() {
                assert!(!matches!(c, Color::Rgb(..)), "{}: truecolor {c:?}", theme.name);
            }
        }
    }

    #[test]
    fn every_shipped_theme_parses_sets_every_slot_and_avoids_truecolor() {
        for (name, text) in SHIPPED {
            let theme = Theme::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_no_truecolor(&theme);
            // Every slot is spelled out in every shipped file, so the files document the set.
            let table: toml::Table = toml::from_str(text).unwrap();
            let mut keys = Vec::new();
            flatten("", &table, &mut keys);
            let mut keys: Vec<_> = keys.into_iter().map(|(k, _)| k).collect();
            keys.sort();
            let mut all: Vec<_> = SLOT_NAMES.iter().map(|s| s.to_string()).collect();
            all.sort();
            assert_eq!(keys, all, "{name}");
        }
        assert_eq!(Theme::default(), Theme::load("default").unwrap());
        assert_ne!(Theme::default().table_selected, Style::new());
    }

    #[test]
    fn user_theme_overrides_some_slots_and_inherits_the_rest() {
        let t = Theme::parse(
            "mine.toml",
            "[status]\nerror = { fg = 196, mods = [\"bold\"] }\n[\"tab.active\"]\nbg = \"#112233\"\n",
        )
        .unwrap();
        assert_eq!(
            t.status_error,
            Style::new().fg(Color::Indexed(196)).add_modifier(Modifier::BOLD)
        );
        assert_eq!(t.tab_active, Style::new().bg(Color::Rgb(0x11, 0x22, 0x33)));
        assert_eq!(t.header, Theme::default().header);
    }

    #[test]
    fn bad_theme_files_say_what_and_where() {
        let e = Theme::parse("x.toml", "stauts = { fg = \"red\" }")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.toml") && e.contains("unknown key 'stauts'") && e.contains("status.error"),
            "{e}"
        );
        let e = Theme::parse("x.toml", "muted = { fg = \"redish\" }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'muted'") && e.contains("unknown colour 'redish'"), "{e}");
        let e = Theme::parse("x.toml", "muted = { mods = [\"blink\"] }")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown modifier 'blink'"), "{e}");
        let e = Theme::parse("x.toml", "muted = {").unwrap_err();
        assert!(matches!(e, ThemeError::Syntax { .. }), "{e}");
        let e = Theme::load("no-such-theme").unwrap_err().to_string();
        assert!(
            e.contains("'no-such-theme'") && e.contains("default, light, high-contrast"),
            "{e}"
        );
    }

    #[test]
    fn a_theme_file_is_loaded_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, "bar = { fg = \"green\" }\n").unwrap();
        let t = Theme::load(path.to_str().unwrap()).unwrap();
        assert_eq!(t.bar, Style::new().fg(Color::Green));
    }

    #[test]
    fn no_color_theme_has_no_colours_but_distinguishes_selection() {
        let t = Theme::no_color();
        assert_no_truecolor(&t);
        for s in [t.header, t.table_selected, t.stale, t.status_error, t.tab_active] {
            assert!(s.fg.is_none() && s.bg.is_none());
            assert!(!s.add_modifier.is_empty());
        }
    }
}
