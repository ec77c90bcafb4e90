//! The modal stack: overlays and dialogs that take the keys while they are open. Keys go to the
//! top modal first; a modal either consumes a key or lets it fall through to the focused pane
//! and then to the global bindings (see `run::Console::on_key`). The UI draws the stack bottom
//! to top.
//!
//! Modals here: help, the filter line, the command palette, forms (text fields, checked when
//! submitted, for what a change needs), the confirm dialog (a plan's table with a question,
//! for every change the console makes; some ask for a name to be typed) and notices (a
//! change's result or refusal, closed by any key). The record detail is a further variant of
//! [`Modal`] with its own key handling.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::action::{Action, ActionKind, Command};
use crate::app::keymap::KeyContext;
use crate::cluster::ops::{Op, PlanTable};
use crate::cluster::record_view::{Record, ValueView};

/// A line of text being typed, the cursor at its end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineInput {
    pub text: String,
}

impl LineInput {
    pub fn new(text: impl Into<String>) -> LineInput {
        LineInput { text: text.into() }
    }

    /// Types a printable key; false for keys that are not text.
    fn type_key(&mut self, key: &KeyEvent) -> bool {
        match key.code {
            KeyCode::Char(c) if !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => {
                self.text.push(c);
                true
            }
            _ => false,
        }
    }
}

/// What confirming a dialog does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send a command to the worker.
    Send(Command),
    Quit,
}

/// A question about a change: what will happen (a plan's table and warnings) and what
/// confirming does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirm {
    pub title: String,
    /// One line: what confirming does.
    pub summary: String,
    pub table: PlanTable,
    pub warnings: Vec<String>,
    /// The label of the confirming key ("apply", "delete").
    pub confirm_label: String,
    pub on_confirm: Effect,
    /// Text that must be typed before the confirming key counts (a topic's name before it is
    /// deleted), with what has been typed so far.
    pub typed: Option<(String, LineInput)>,
}

impl Confirm {
    /// Whether confirming is allowed now (the required text, if any, is typed exactly).
    pub fn ready(&self) -> bool {
        self.typed.as_ref().is_none_or(|(want, got)| *want == got.text)
    }
}

/// One text field of a form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub label: &'static str,
    pub input: LineInput,
    /// What the field takes, shown under it.
    pub hint: String,
}

impl Field {
    pub fn new(label: &'static str, value: impl Into<String>, hint: impl Into<String>) -> Field {
        Field {
            label,
            input: LineInput::new(value),
            hint: hint.into(),
        }
    }
}

/// Fields to fill in for a change; submitting checks them (`build`) and, when they are
/// valid, asks the cluster for the plan. An invalid form stays open with the reason.
#[derive(Clone, Debug)]
pub struct Form {
    pub title: String,
    pub kind: ActionKind,
    /// The group or topic the change is about, when it is about one.
    pub subject: Option<String>,
    pub fields: Vec<Field>,
    pub focus: usize,
    pub error: Option<String>,
    /// Checks the fields and turns them into the operation to plan.
    pub build: fn(&Form) -> Result<Op, String>,
}

/// Forms are equal when they show the same (`build` follows from `kind`; function pointers
/// do not compare reliably).
impl PartialEq for Form {
    fn eq(&self, o: &Form) -> bool {
        (
            &self.title,
            self.kind,
            &self.subject,
            &self.fields,
            self.focus,
            &self.error,
        ) == (&o.title, o.kind, &o.subject, &o.fields, o.focus, &o.error)
    }
}

impl Eq for Form {}

impl Form {
    /// The text of the field labelled `label` (empty when there is none), trimmed.
    pub fn value(&self, label: &str) -> &str {
        self.fields
            .iter()
            .find(|f| f.label == label)
            .map_or("", |f| f.input.text.trim())
    }
}

/// A message about a change (its result, a refusal, an error with Kafka's name), closed by
/// any key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub lines: Vec<String>,
    /// An error or refusal (drawn as such).
    pub error: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Modal {
    /// The keys overlay.
    Help,
    /// `/`: the focused pane's filter, applied as it is typed.
    Filter(LineInput),
    /// `:`: a command.
    Palette(LineInput),
    Confirm(Box<Confirm>),
    /// The tail's `o`: where to read from.
    TailFrom(LineInput),
    /// One record of the tail, whole.
    Record(Box<RecordDetail>),
    Form(Box<Form>),
    Notice(Box<Notice>),
}

impl Modal {
    /// The keymap context the modal reads keys in.
    pub fn context(&self) -> KeyContext {
        match self {
            Modal::Filter(_) | Modal::Palette(_) | Modal::TailFrom(_) | Modal::Form(_) => KeyContext::Input,
            Modal::Confirm(c) if c.typed.is_some() => KeyContext::Input,
            Modal::Help | Modal::Confirm(_) | Modal::Record(_) | Modal::Notice(_) => KeyContext::Modal,
        }
    }
}

/// The record detail: every header, the whole key and the value in a view, scrolled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordDetail {
    pub record: Record,
    pub view: ValueView,
    /// First line shown.
    pub scroll: usize,
}

impl RecordDetail {
    fn key(&mut self, key: &KeyEvent) -> bool {
        match key.code {
            KeyCode::Down | KeyCode::Char('j') => self.scroll = self.scroll.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll = self.scroll.saturating_add(10),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Home | KeyCode::Char('g') => self.scroll = 0,
            KeyCode::Char('v') => {
                self.view = match self.view {
                    ValueView::Text => ValueView::Json,
                    ValueView::Json => ValueView::Hex,
                    ValueView::Hex => ValueView::Text,
                };
                self.scroll = 0;
            }
            _ => return false,
        }
        true
    }
}

/// What a modal did with a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The modal used the key and stays open.
    Consumed,
    /// The filter text changed (the pane re-filters).
    FilterChanged(String),
    /// The modal closed; nothing else happens.
    Closed,
    /// The modal closed and the key goes on to the pane and global bindings.
    ClosedPassOn,
    /// The filter closed: kept (`Enter`) or cleared (`Esc`, with the empty text).
    FilterDone(String),
    /// The palette closed with a command to run.
    Run(String),
    /// The confirm dialog closed confirmed.
    Confirmed(Effect),
    /// The tail's "read from" prompt closed with this text.
    TailFrom(String),
    /// A form closed with a valid operation to plan.
    Plan(Box<Op>),
}

/// The open modals, bottom to top.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModalStack(Vec<Modal>);

impl ModalStack {
    pub fn push(&mut self, m: Modal) {
        self.0.push(m);
    }

    pub fn pop(&mut self) -> Option<Modal> {
        self.0.pop()
    }

    pub fn top(&self) -> Option<&Modal> {
        self.0.last()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Bottom to top, the order the UI draws them.
    pub fn iter(&self) -> impl Iterator<Item = &Modal> {
        self.0.iter()
    }

    pub fn contains(&self, pred: impl Fn(&Modal) -> bool) -> bool {
        self.0.iter().any(pred)
    }

    /// Closes every modal that `pred` matches.
    pub fn close(&mut self, pred: impl Fn(&Modal) -> bool) {
        self.0.retain(|m| !pred(m));
    }

    /// The line being typed in the top modal, if it is a line input.
    pub fn input(&self) -> Option<(&Modal, &str)> {
        match self.top()? {
            m @ (Modal::Filter(i) | Modal::Palette(i) | Modal::TailFrom(i)) => Some((m, i.text.as_str())),
            _ => None,
        }
    }

    /// Hands `key` (meaning `action` in the top modal's context, if anything) to the top
    /// modal. None when there is no modal. `quits` says whether the key is bound to quit
    /// globally (the help closes and lets it through).
    pub fn handle(&mut self, key: &KeyEvent, action: Option<Action>, quits: bool) -> Option<Outcome> {
        let top = self.0.last_mut()?;
        let outcome = match top {
            Modal::Help => {
                // Any key closes the help; one that quits also quits.
                if action == Some(Action::Close) || !quits {
                    Outcome::Closed
                } else {
                    Outcome::ClosedPassOn
                }
            }
            Modal::Filter(input) => match action {
                Some(Action::Submit) => Outcome::FilterDone(input.text.clone()),
                Some(Action::Cancel) => Outcome::FilterDone(String::new()),
                Some(Action::DeleteBack) => {
                    input.text.pop();
                    Outcome::FilterChanged(input.text.clone())
                }
                _ if input.type_key(key) => Outcome::FilterChanged(input.text.clone()),
                _ => Outcome::Consumed,
            },
            Modal::Palette(input) => match action {
                Some(Action::Submit) => Outcome::Run(input.text.trim().to_string()),
                Some(Action::Cancel) => Outcome::Closed,
                Some(Action::DeleteBack) => {
                    input.text.pop();
                    Outcome::Consumed
                }
                _ => {
                    input.type_key(key);
                    Outcome::Consumed
                }
            },
            Modal::Confirm(c) => match (c.ready(), &mut c.typed, action) {
                // The name to type: Enter confirms once it matches.
                (true, Some(_), Some(Action::Submit)) => Outcome::Confirmed(c.on_confirm.clone()),
                (false, Some(_), Some(Action::Submit)) => Outcome::Consumed,
                (_, Some(_), Some(Action::Cancel)) => Outcome::Closed,
                (_, Some((_, input)), Some(Action::DeleteBack)) => {
                    input.text.pop();
                    Outcome::Consumed
                }
                (_, Some((_, input)), _) => {
                    input.type_key(key);
                    Outcome::Consumed
                }
                (_, None, Some(Action::Confirm)) => Outcome::Confirmed(c.on_confirm.clone()),
                (_, None, Some(Action::Close) | Some(Action::Cancel)) => Outcome::Closed,
                // `n` answers the question too, whatever the keymap says.
                (_, None, _) if key.code == KeyCode::Char('n') => Outcome::Closed,
                (_, None, _) => Outcome::Consumed,
            },
            Modal::TailFrom(input) => match action {
                Some(Action::Submit) => Outcome::TailFrom(input.text.trim().to_string()),
                Some(Action::Cancel) => Outcome::Closed,
                Some(Action::DeleteBack) => {
                    input.text.pop();
                    Outcome::Consumed
                }
                _ => {
                    input.type_key(key);
                    Outcome::Consumed
                }
            },
            Modal::Record(detail) => match action {
                Some(Action::Close) => Outcome::Closed,
                _ if key.code == KeyCode::Char('q') => Outcome::Closed,
                _ => {
                    detail.key(key);
                    Outcome::Consumed
                }
            },
            Modal::Form(form) => match action {
                Some(Action::Submit) => match (form.build)(form) {
                    Ok(op) => Outcome::Plan(Box::new(op)),
                    Err(e) => {
                        form.error = Some(e);
                        Outcome::Consumed
                    }
                },
                Some(Action::Cancel) => Outcome::Closed,
                Some(Action::DeleteBack) => {
                    if let Some(f) = form.fields.get_mut(form.focus) {
                        f.input.text.pop();
                    }
                    Outcome::Consumed
                }
                _ => {
                    let n = form.fields.len().max(1);
                    match key.code {
                        KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % n,
                        KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + n - 1) % n,
                        _ => {
                            if let Some(f) = form.fields.get_mut(form.focus) {
                                if f.input.type_key(key) {
                                    form.error = None;
                                }
                            }
                        }
                    }
                    Outcome::Consumed
                }
            },
            // Any key closes a notice.
            Modal::Notice(_) => Outcome::Closed,
        };
        if matches!(
            outcome,
            Outcome::Closed
                | Outcome::ClosedPassOn
                | Outcome::FilterDone(_)
                | Outcome::Run(_)
                | Outcome::Confirmed(_)
                | Outcome::TailFrom(_)
                | Outcome::Plan(_)
        ) {
            self.0.pop();
        }
        Some(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Keymap;

    fn press(stack: &mut ModalStack, km: &Keymap, key: KeyEvent) -> Option<Outcome> {
        let ctx = stack.top()?.context();
        let quits = km.action(KeyContext::Global, &key) == Some(Action::Quit);
        stack.handle(&key, km.action(ctx, &key), quits)
    }

    fn k(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn code(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn keys_go_to_the_top_modal_only() {
        let km = Keymap::load(None).unwrap();
        let mut s = ModalStack::default();
        assert_eq!(press(&mut s, &km, k('x')), None, "no modal: the pane gets the key");
        s.push(Modal::Filter(LineInput::new("or")));
        s.push(Modal::Help);
        // The help is on top: `d` closes it and does not reach the filter below.
        assert_eq!(press(&mut s, &km, k('d')), Some(Outcome::Closed));
        assert_eq!(s.len(), 1);
        assert_eq!(press(&mut s, &km, k('d')), Some(Outcome::FilterChanged("ord".into())));
        assert_eq!(
            press(&mut s, &km, code(KeyCode::Backspace)),
            Some(Outcome::FilterChanged("or".into()))
        );
        // `q` and `?` are text while typing.
        assert_eq!(press(&mut s, &km, k('?')), Some(Outcome::FilterChanged("or?".into())));
        assert_eq!(
            press(&mut s, &km, code(KeyCode::Enter)),
            Some(Outcome::FilterDone("or?".into()))
        );
        assert!(s.is_empty());
    }

    #[test]
    fn help_closes_on_any_key_and_lets_quit_through() {
        let km = Keymap::load(None).unwrap();
        let mut s = ModalStack::default();
        s.push(Modal::Help);
        assert_eq!(press(&mut s, &km, k('q')), Some(Outcome::ClosedPassOn));
        s.push(Modal::Help);
        assert_eq!(press(&mut s, &km, code(KeyCode::Esc)), Some(Outcome::Closed));
        s.push(Modal::Help);
        assert_eq!(press(&mut s, &km, k('?')), Some(Outcome::Closed));
    }

    #[test]
    fn palette_runs_trimmed_commands_and_esc_cancels() {
        let km = Keymap::load(None).unwrap();
        let mut s = ModalStack::default();
        s.push(Modal::Palette(LineInput::default()));
        for c in " groups ".chars() {
            assert_eq!(press(&mut s, &km, k(c)), Some(Outcome::Consumed));
        }
        assert_eq!(
            press(&mut s, &km, code(KeyCode::Enter)),
            Some(Outcome::Run("groups".into()))
        );
        s.push(Modal::Palette(LineInput::new("q")));
        assert_eq!(press(&mut s, &km, code(KeyCode::Esc)), Some(Outcome::Closed));
        assert!(s.is_empty());
        // Control keys are not text.
        s.push(Modal::Palette(LineInput::default()));
        press(&mut s, &km, KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(s.input().map(|(_, t)| t), Some(""));
    }

    #[test]
    fn confirm_answers_yes_or_no_and_ignores_everything_else() {
        let km = Keymap::load(None).unwrap();
        let dialog = Confirm {
            title: "Alter configs".into(),
            summary: "set retention.ms".into(),
            table: PlanTable::default(),
            warnings: vec![],
            confirm_label: "apply".into(),
            on_confirm: Effect::Quit,
            typed: None,
        };
        let mut s = ModalStack::default();
        s.push(Modal::Confirm(Box::new(dialog.clone())));
        assert_eq!(press(&mut s, &km, k('j')), Some(Outcome::Consumed));
        assert_eq!(
            press(&mut s, &km, k('q')),
            Some(Outcome::Consumed),
            "q does not quit past a question"
        );
        assert_eq!(press(&mut s, &km, k('y')), Some(Outcome::Confirmed(Effect::Quit)));
        s.push(Modal::Confirm(Box::new(dialog.clone())));
        assert_eq!(press(&mut s, &km, k('n')), Some(Outcome::Closed));
        s.push(Modal::Confirm(Box::new(dialog)));
        assert_eq!(press(&mut s, &km, code(KeyCode::Esc)), Some(Outcome::Closed));
        assert!(s.is_empty());
    }

    #[test]
    fn a_typed_confirmation_needs_the_exact_name_and_y_is_just_a_letter() {
        let km = Keymap::load(None).unwrap();
        let mut s = ModalStack::default();
        s.push(Modal::Confirm(Box::new(Confirm {
            title: "Delete topic".into(),
            summary: "delete topic 'yo'".into(),
            table: PlanTable::default(),
            warnings: vec![],
            confirm_label: "delete".into(),
            on_confirm: Effect::Quit,
            typed: Some(("yo".into(), LineInput::default())),
        })));
        assert_eq!(press(&mut s, &km, k('y')), Some(Outcome::Consumed), "y types a y");
        assert_eq!(
            press(&mut s, &km, code(KeyCode::Enter)),
            Some(Outcome::Consumed),
            "'y' is not 'yo'"
        );
        assert_eq!(press(&mut s, &km, k('o')), Some(Outcome::Consumed));
        assert_eq!(press(&mut s, &km, k('x')), Some(Outcome::Consumed));
        assert_eq!(
            press(&mut s, &km, code(KeyCode::Enter)),
            Some(Outcome::Consumed),
            "'yox'"
        );
        press(&mut s, &km, code(KeyCode::Backspace));
        assert_eq!(
            press(&mut s, &km, code(KeyCode::Enter)),
            Some(Outcome::Confirmed(Effect::Quit))
        );
        assert!(s.is_empty());
    }

    #[test]
    fn a_form_moves_between_fields_keeps_an_invalid_submit_open_and_plans_a_valid_one() {
        fn build(f: &Form) -> Result<Op, String> {
            let count: i32 = f
                .value("count")
                .parse()
                .map_err(|_| "count: not a number".to_string())?;
            Ok(Op::AddPartitions {
                topic: f.value("topic").to_string(),
                count,
            })
        }
        let km = Keymap::load(None).unwrap();
        let mut s = ModalStack::default();
        s.push(Modal::Form(Box::new(Form {
            title: "Add partitions".into(),
            kind: ActionKind::AddPartitions,
            subject: None,
            fields: vec![Field::new("topic", "", ""), Field::new("count", "", "")],
            focus: 0,
            error: None,
            build,
        })));
        for c in "tq".chars() {
            press(&mut s, &km, k(c));
        }
        press(&mut s, &km, code(KeyCode::Backspace));
        press(&mut s, &km, code(KeyCode::Tab));
        press(&mut s, &km, k('x'));
        assert_eq!(press(&mut s, &km, code(KeyCode::Enter)), Some(Outcome::Consumed));
        match s.top() {
            Some(Modal::Form(f)) => assert_eq!(f.error.as_deref(), Some("count: not a number")),
            other => panic!("{other:?}"),
        }
        press(&mut s, &km, code(KeyCode::Backspace));
        press(&mut s, &km, k('4'));
        // Back to the first field and on: focus wraps.
        press(&mut s, &km, code(KeyCode::Up));
        press(&mut s, &km, k('2'));
        assert_eq!(
            press(&mut s, &km, code(KeyCode::Enter)),
            Some(Outcome::Plan(Box::new(Op::AddPartitions {
                topic: "t2".into(),
                count: 4
            })))
        );
        assert!(s.is_empty());
        s.push(Modal::Notice(Box::new(Notice {
            title: "x".into(),
            lines: vec![],
            error: false,
        })));
        assert_eq!(press(&mut s, &km, k('j')), Some(Outcome::Closed));
    }
}
