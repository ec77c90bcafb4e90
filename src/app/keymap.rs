//! Keys -> actions. The default keymap is data (`DEFAULT_KEYMAP`, TOML), a user file can
//! override entries, and the help overlay is generated from the descriptions here.

use std::collections::HashMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use crate::app::action::Action;

/// The shipped keymap: each entry binds keys to an action name with a description.
pub const DEFAULT_KEYMAP: &str = r#"
[[bind]]
on = ["q", "ctrl-c"]
run = "quit"
desc = "quit"

[[bind]]
on = ["tab", "l", "right"]
run = "next_pane"
desc = "next pane"

[[bind]]
on = ["backtab", "h", "left"]
run = "prev_pane"
desc = "previous pane"

[[bind]]
on = ["1"]
run = "topics"
desc = "topics pane"

[[bind]]
on = ["2"]
run = "partitions"
desc = "partitions of the selected topic"

[[bind]]
on = ["3"]
run = "brokers"
desc = "brokers pane"

[[bind]]
on = ["4"]
run = "groups"
desc = "consumer groups pane"

[[bind]]
on = ["5"]
run = "configs"
desc = "configs of the selected topic"

[[bind]]
on = ["k", "up"]
run = "up"
desc = "move up"

[[bind]]
on = ["j", "down"]
run = "down"
desc = "move down"

[[bind]]
on = ["pageup", "ctrl-u"]
run = "page_up"
desc = "page up"

[[bind]]
on = ["pagedown", "ctrl-d"]
run = "page_down"
desc = "page down"

[[bind]]
on = ["g", "home"]
run = "home"
desc = "first row"

[[bind]]
on = ["G", "end"]
run = "end"
desc = "last row"

[[bind]]
on = ["enter"]
run = "open"
desc = "open the selected topic"

[[bind]]
on = ["esc"]
run = "back"
desc = "close, clear filter, or go back"

[[bind]]
on = ["/"]
run = "filter"
desc = "filter rows"

[[bind]]
on = [":"]
run = "palette"
desc = "command palette (:topics, :groups, :q)"

[[bind]]
on = ["?"]
run = "help"
desc = "this help"

[[bind]]
on = ["s"]
run = "sort_next"
desc = "sort by next column"

[[bind]]
on = ["S"]
run = "sort_reverse"
desc = "reverse sort order"

[[bind]]
on = ["r"]
run = "refresh"
desc = "refresh now"
"#;

#[derive(Debug, Deserialize)]
struct KeymapFile {
    #[serde(default)]
    bind: Vec<Binding>,
}

/// One keymap entry as written in the file.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Binding {
    pub on: Vec<String>,
    pub run: String,
    pub desc: String,
}

#[derive(Clone, Debug)]
pub struct Keymap {
    bindings: Vec<Binding>,
    map: HashMap<(KeyCode, KeyModifiers), Action>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeymapError {
    #[error("keymap: {0}")]
    Syntax(String),
    #[error("keymap: unknown action '{0}'")]
    UnknownAction(String),
    #[error("keymap: cannot parse key '{0}' (examples: q, ctrl-c, enter, pagedown, f5)")]
    BadKey(String),
}

/// Parses "ctrl-c", "G", "enter", "f5", ...
pub fn parse_key(text: &str) -> Option<(KeyCode, KeyModifiers)> {
    let (mods, key) = match text.strip_prefix("ctrl-") {
        Some(rest) => (KeyModifiers::CONTROL, rest),
        None => match text.strip_prefix("alt-") {
            Some(rest) => (KeyModifiers::ALT, rest),
            None => (KeyModifiers::NONE, text),
        },
    };
    let code = match key {
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pageup" => KeyCode::PageUp,
        "pagedown" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "space" => KeyCode::Char(' '),
        k if k.len() > 1 && k.starts_with('f') => KeyCode::F(k[1..].parse().ok()?),
        k => {
            let mut chars = k.chars();
            let c = chars.next()?;
            if chars.next().is_some() {
                return None;
            }
            KeyCode::Char(c)
        }
    };
    Some((code, mods))
}

impl Keymap {
    /// The default keymap with `user` (a TOML keymap file's text) layered on top: a user entry
    /// for an action replaces the default keys of that action.
    pub fn load(user: Option<&str>) -> Result<Keymap, KeymapError> {
        let mut bindings = parse(DEFAULT_KEYMAP)?;
        if let Some(text) = user {
            for b in parse(text)? {
                bindings.retain(|d| d.run != b.run);
                bindings.push(b);
            }
        }
        let mut map = HashMap::new();
        for b in &bindings {
            let action = Action::from_name(&b.run).ok_or_else(|| KeymapError::UnknownAction(b.run.clone()))?;
            for key in &b.on {
                let k = parse_key(key).ok_or_else(|| KeymapError::BadKey(key.clone()))?;
                map.insert(k, action);
            }
        }
        Ok(Keymap { bindings, map })
    }

    pub fn action(&self, key: &KeyEvent) -> Option<Action> {
        // Shifted letters arrive as uppercase chars, sometimes with SHIFT set: ignore SHIFT.
        let mods = key.modifiers - KeyModifiers::SHIFT;
        self.map.get(&(key.code, mods)).copied()
    }

    /// (keys, description) for the help overlay, in keymap order.
    pub fn help(&self) -> Vec<(String, String)> {
        self.bindings.iter().map(|b| (b.on.join(" "), b.desc.clone())).collect()
    }

    /// The first key of an action, for the footer (e.g. "/" for filter).
    pub fn key_for(&self, run: &str) -> Option<&str> {
        self.bindings
            .iter()
            .find(|b| b.run == run)
            .and_then(|b| b.on.first())
            .map(String::as_str)
    }
}

fn parse(text: &str) -> Result<Vec<Binding>, KeymapError> {
    let file: KeymapFile = toml::from_str(text).map_err(|e| KeymapError::Syntax(e.to_string()))?;
    Ok(file.bind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(c, m)
    }

    #[test]
    fn default_keymap_parses_and_maps_vim_and_arrow_keys() {
        let km = Keymap::load(None).unwrap();
        assert_eq!(
            km.action(&key(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(km.action(&key(KeyCode::Down, KeyModifiers::NONE)), Some(Action::Down));
        assert_eq!(
            km.action(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            km.action(&key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::End)
        );
        assert!(km.help().iter().any(|(k, d)| k == "/" && d == "filter rows"));
    }

    #[test]
    fn user_entries_replace_defaults_and_bad_files_are_reported() {
        let km = Keymap::load(Some("[[bind]]\non = [\"x\"]\nrun = \"quit\"\ndesc = \"leave\"\n")).unwrap();
        assert_eq!(
            km.action(&key(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
        assert_eq!(km.action(&key(KeyCode::Char('q'), KeyModifiers::NONE)), None);
        assert_eq!(
            Keymap::load(Some("[[bind]]\non = [\"x\"]\nrun = \"explode\"\ndesc = \"\"\n")).unwrap_err(),
            KeymapError::UnknownAction("explode".into())
        );
        assert!(matches!(
            Keymap::load(Some("[[bind]]\non = [\"ctrl-\"]\nrun = \"quit\"\ndesc = \"\"\n")).unwrap_err(),
            KeymapError::BadKey(_)
        ));
    }
}
