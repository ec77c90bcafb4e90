//! Keys -> actions, per context. The default keymap is data (`DEFAULT_KEYMAP`, TOML), a user
//! file can override entries, and the help overlay is generated from the descriptions here.
//!
//! A key means something in a context: `global` (anywhere), `table` (a pane's table), `tail`
//! (the live tail), `modal` (an overlay or dialog on top: help, confirm), `input` (a line being
//! typed: filter, palette, form fields). The event loop asks the top modal's context first,
//! then the focused pane's, then `global`, so `Esc` cancels a filter being typed, closes the
//! help, or goes back in a table, and `j` types a `j` in the filter but moves down in a table.

use std::collections::HashMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use crate::app::action::Action;

/// Where a key binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyContext {
    Global,
    Table,
    Tail,
    Modal,
    Input,
}

impl KeyContext {
    /// The context an action belongs to when an entry does not say.
    pub fn home(action: Action) -> KeyContext {
        match action {
            Action::Quit
            | Action::NextPane
            | Action::PrevPane
            | Action::GoTo(_)
            | Action::Palette
            | Action::Help
            | Action::Refresh => KeyContext::Global,
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Home
            | Action::End
            | Action::Open
            | Action::Back
            | Action::Filter
            | Action::SortNext
            | Action::SortReverse
            | Action::Tail => KeyContext::Table,
            Action::PauseTail | Action::Follow | Action::CycleView | Action::TailFrom => KeyContext::Tail,
            Action::Submit | Action::Cancel | Action::DeleteBack => KeyContext::Input,
            Action::Close | Action::Confirm => KeyContext::Modal,
            Action::Act(_) => KeyContext::Table,
        }
    }
}

/// The shipped keymap: each entry binds keys to an action name with a description; `context`
/// defaults to the action's own context.
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

[[bind]]
on = ["t"]
run = "tail"
desc = "tail the selected topic or partition"

[[bind]]
on = ["space"]
run = "pause"
desc = "pause or resume the tail"

[[bind]]
on = ["f"]
run = "follow"
desc = "jump to the newest record and follow"

[[bind]]
on = ["v"]
run = "value_view"
desc = "value view: auto, text, JSON, hex"

[[bind]]
on = ["o"]
run = "tail_from"
desc = "read from: earliest, latest, offset, time, -N"

[[bind]]
on = ["R"]
run = "reset_offsets"
desc = "reset a group's offsets"

[[bind]]
on = ["U"]
run = "undo_reset"
desc = "undo the last offset reset"

[[bind]]
on = ["+"]
run = "add_partitions"
desc = "add partitions to a topic"

[[bind]]
on = ["E"]
run = "edit_configs"
desc = "edit topic configs (retention)"

[[bind]]
on = ["C"]
run = "create_topic"
desc = "create a topic"

[[bind]]
on = ["D"]
run = "delete"
desc = "delete a topic or a group"

[[bind]]
on = ["X"]
run = "delete_records"
desc = "delete records up to an offset"

[[bind]]
on = ["P"]
run = "produce"
desc = "produce a record"

[[bind]]
on = ["enter"]
run = "submit"
desc = "keep the filter, run the command"

[[bind]]
on = ["esc"]
run = "cancel"
desc = "clear the filter, cancel the command"

[[bind]]
on = ["backspace"]
run = "delete_back"
desc = "delete the last character"

[[bind]]
on = ["esc", "?"]
run = "close"
desc = "close"

[[bind]]
on = ["y", "enter"]
run = "confirm"
desc = "confirm"
"#;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeymapFile {
    #[serde(default)]
    bind: Vec<Binding>,
}

/// One keymap entry as written in the file.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    pub on: Vec<String>,
    pub run: String,
    pub desc: String,
    /// Defaults to the action's own context.
    #[serde(default)]
    pub context: Option<KeyContext>,
}

/// A parsed entry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    binding: Binding,
    action: Action,
    context: KeyContext,
}

#[derive(Clone, Debug)]
pub struct Keymap {
    entries: Vec<Entry>,
    map: HashMap<(KeyContext, KeyCode, KeyModifiers), Action>,
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
        "backspace" => KeyCode::Backspace,
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
    /// for an action replaces the default keys of that action in that context.
    pub fn load(user: Option<&str>) -> Result<Keymap, KeymapError> {
        let mut entries = parse(DEFAULT_KEYMAP)?;
        if let Some(text) = user {
            for e in parse(text)? {
                entries.retain(|d| !(d.action == e.action && d.context == e.context));
                entries.push(e);
            }
        }
        let mut map = HashMap::new();
        for e in &entries {
            for key in &e.binding.on {
                let (code, mods) = parse_key(key).ok_or_else(|| KeymapError::BadKey(key.clone()))?;
                map.insert((e.context, code, mods), e.action);
            }
        }
        Ok(Keymap { entries, map })
    }

    /// What `key` means in `context`, if anything.
    pub fn action(&self, context: KeyContext, key: &KeyEvent) -> Option<Action> {
        // Shifted letters arrive as uppercase chars, sometimes with SHIFT set: ignore SHIFT.
        let mods = key.modifiers - KeyModifiers::SHIFT;
        self.map.get(&(context, key.code, mods)).copied()
    }

    /// (keys, description) of the entries of `contexts`, in keymap order, for the help overlay.
    pub fn help(&self, contexts: &[KeyContext]) -> Vec<(String, String)> {
        self.entries
            .iter()
            .filter(|e| contexts.contains(&e.context))
            .map(|e| (e.binding.on.join(" "), e.binding.desc.clone()))
            .collect()
    }

    /// The first key of the action named `run`, for the footer (e.g. "/" for filter).
    pub fn key_for(&self, run: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.binding.run == run)
            .and_then(|e| e.binding.on.first())
            .map(String::as_str)
    }
}

fn parse(text: &str) -> Result<Vec<Entry>, KeymapError> {
    let file: KeymapFile = toml::from_str(text).map_err(|e| KeymapError::Syntax(e.to_string()))?;
    file.bind
        .into_iter()
        .map(|b| {
            let action = Action::from_name(&b.run).ok_or_else(|| KeymapError::UnknownAction(b.run.clone()))?;
            let context = b.context.unwrap_or(KeyContext::home(action));
            Ok(Entry {
                binding: b,
                action,
                context,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::panes::PaneId;

    fn key(c: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(c, m)
    }

    #[test]
    fn default_keymap_parses_and_maps_vim_and_arrow_keys() {
        let km = Keymap::load(None).unwrap();
        let table = |c| km.action(KeyContext::Table, &key(c, KeyModifiers::NONE));
        assert_eq!(table(KeyCode::Char('j')), Some(Action::Down));
        assert_eq!(table(KeyCode::Down), Some(Action::Down));
        assert_eq!(
            km.action(KeyContext::Global, &key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            km.action(KeyContext::Table, &key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::End)
        );
        assert_eq!(
            km.action(KeyContext::Global, &key(KeyCode::Char('4'), KeyModifiers::NONE)),
            Some(Action::GoTo(PaneId::Groups))
        );
        assert!(km
            .help(&[KeyContext::Table])
            .iter()
            .any(|(k, d)| k == "/" && d == "filter rows"));
    }

    #[test]
    fn the_same_key_means_what_its_context_says() {
        let km = Keymap::load(None).unwrap();
        let esc = key(KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(km.action(KeyContext::Table, &esc), Some(Action::Back));
        assert_eq!(km.action(KeyContext::Input, &esc), Some(Action::Cancel));
        assert_eq!(km.action(KeyContext::Modal, &esc), Some(Action::Close));
        let enter = key(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(km.action(KeyContext::Table, &enter), Some(Action::Open));
        assert_eq!(km.action(KeyContext::Input, &enter), Some(Action::Submit));
        assert_eq!(km.action(KeyContext::Modal, &enter), Some(Action::Confirm));
        // `j` is text while typing: no input binding, so the input takes it as a character.
        assert_eq!(
            km.action(KeyContext::Input, &key(KeyCode::Char('j'), KeyModifiers::NONE)),
            None
        );
        // Table keys are not global: `j` means nothing outside a table.
        assert_eq!(
            km.action(KeyContext::Global, &key(KeyCode::Char('j'), KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn help_lists_a_contexts_entries_in_keymap_order() {
        let km = Keymap::load(None).unwrap();
        let help = km.help(&[KeyContext::Global, KeyContext::Table]);
        assert_eq!(help.first().map(|(k, _)| k.as_str()), Some("q ctrl-c"));
        assert_eq!(help.len(), 31, "23 navigation and tail entries and 8 actions");
        assert!(
            help.iter().all(|(_, d)| d != "confirm"),
            "modal entries are not table help"
        );
        let input = km.help(&[KeyContext::Input]);
        assert_eq!(input.len(), 3);
    }

    #[test]
    fn user_entries_replace_defaults_in_their_context_and_bad_files_are_reported() {
        let km = Keymap::load(Some("[[bind]]\non = [\"x\"]\nrun = \"quit\"\ndesc = \"leave\"\n")).unwrap();
        let g = |c| km.action(KeyContext::Global, &key(KeyCode::Char(c), KeyModifiers::NONE));
        assert_eq!(g('x'), Some(Action::Quit));
        assert_eq!(g('q'), None);
        // An entry may name its context: `x` closes modals, and `esc` still does.
        let km = Keymap::load(Some(
            "[[bind]]\non = [\"x\"]\nrun = \"close\"\ndesc = \"close\"\ncontext = \"modal\"\n",
        ))
        .unwrap();
        assert_eq!(
            km.action(KeyContext::Modal, &key(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Action::Close)
        );
        assert_eq!(
            km.action(KeyContext::Modal, &key(KeyCode::Esc, KeyModifiers::NONE)),
            None,
            "the user's entry replaced the default keys of `close` in the modal context"
        );
        assert_eq!(
            Keymap::load(Some("[[bind]]\non = [\"x\"]\nrun = \"explode\"\ndesc = \"\"\n")).unwrap_err(),
            KeymapError::UnknownAction("explode".into())
        );
        assert!(matches!(
            Keymap::load(Some("[[bind]]\non = [\"ctrl-\"]\nrun = \"quit\"\ndesc = \"\"\n")).unwrap_err(),
            KeymapError::BadKey(_)
        ));
        assert!(matches!(
            Keymap::load(Some(
                "[[bind]]\non = [\"x\"]\nrun = \"quit\"\ndesc = \"\"\ncontext = \"nowhere\"\n"
            ))
            .unwrap_err(),
            KeymapError::Syntax(_)
        ));
    }
}
