//! The event loop: one `tokio::select!` over terminal events, worker updates, the worker's
//! inbox having room, a tick and the quit signals. Queued updates are drained before the panes
//! are rebuilt and the screen drawn once, so a burst of updates costs one frame. Keys change
//! state and may queue commands; nothing here awaits the network.
//!
//! Keys go to the top modal first, then the focused pane (the `table` keymap context), then the
//! global bindings. Commands wait in a bounded outbox until the worker's channel has room, so
//! none is dropped: a newer view replaces a queued one, a refresh joins a queued refresh, and a
//! full outbox refuses new work with a message instead of losing it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::{Frame, Terminal};
use tokio::sync::mpsc;

use crate::app::action::{Action, ActionKind, Command, CommandId, TailOrder, Update, ViewWants};
use crate::app::changes::{self, Start};
use crate::app::keymap::{KeyContext, Keymap};
use crate::app::modal::{Effect, LineInput, Modal, Notice, Outcome, RecordDetail};
use crate::app::panes::tail::TailPane;
use crate::app::panes::{Pane, PaneId};
use crate::app::state::AppState;
use crate::cluster::tail::{StartAt, TailControl, TailTarget};

/// Commands waiting for room in the worker's channel.
#[derive(Debug)]
pub struct Outbox {
    queue: VecDeque<Command>,
    capacity: usize,
}

impl Outbox {
    pub fn new(capacity: usize) -> Outbox {
        Outbox {
            queue: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Queues `cmd`. A view replaces a queued view (only the latest matters); a refresh joins
    /// a queued refresh and gets its id. Err(cmd) when full: the caller says so, nothing is
    /// silently lost.
    pub fn push(&mut self, cmd: Command) -> Result<CommandId, Command> {
        match &cmd {
            Command::View { .. } => {
                if let Some(slot) = self.queue.iter_mut().find(|c| matches!(c, Command::View { .. })) {
                    let id = cmd.id();
                    *slot = cmd;
                    return Ok(id);
                }
            }
            Command::Refresh { .. } => {
                if let Some(queued) = self.queue.iter().find(|c| matches!(c, Command::Refresh { .. })) {
                    return Ok(queued.id());
                }
            }
            // In order, each one.
            Command::Tail { .. } | Command::Plan { .. } | Command::Apply { .. } => {}
        }
        if self.queue.len() >= self.capacity {
            return Err(cmd);
        }
        let id = cmd.id();
        self.queue.push_back(cmd);
        Ok(id)
    }

    pub fn pop(&mut self) -> Option<Command> {
        self.queue.pop_front()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

/// The console's state plus what it needs to act: the keymap and the outbox to the worker.
pub struct Console {
    pub state: AppState,
    pub keymap: Keymap,
    pub outbox: Outbox,
    next_id: CommandId,
    /// The refresh whose answer is awaited.
    refresh_pending: Option<CommandId>,
    /// The view last queued for the worker.
    last_view: Option<ViewWants>,
    /// Rows per page, from the last drawn frame.
    page: usize,
    /// The plan or apply whose answer is awaited (a newer one replaces it).
    change_pending: Option<CommandId>,
}

impl Console {
    pub fn new(state: AppState, keymap: Keymap) -> Self {
        Console {
            state,
            keymap,
            outbox: Outbox::new(64),
            next_id: 0,
            refresh_pending: None,
            last_view: None,
            page: 10,
            change_pending: None,
        }
    }

    fn id(&mut self) -> CommandId {
        self.next_id += 1;
        self.next_id
    }

    fn send(&mut self, cmd: Command) -> Option<CommandId> {
        match self.outbox.push(cmd) {
            Ok(id) => Some(id),
            Err(_) => {
                self.state.flash(format!(
                    "busy: {} requests waiting for the cluster; try again",
                    self.outbox.len()
                ));
                None
            }
        }
    }

    /// What the screen shows, for the worker.
    pub fn view(&self) -> ViewWants {
        let pane = self.state.pane();
        let groups = &self.state.panes.groups;
        let groups_shown = self.state.focus == PaneId::Groups;
        ViewWants {
            visible: pane.datasets().to_vec(),
            topics_first: pane.visible_topics(self.page),
            topic_configs: self.state.current_topic.clone(),
            group_offsets: if groups_shown && groups.detail.is_none() {
                groups.visible_groups(self.page)
            } else {
                Vec::new()
            },
            open_group: groups.open_group().filter(|_| groups_shown).map(str::to_string),
        }
    }

    /// Rebuilds what changed and tells the worker when the view did; call once per loop turn.
    pub fn settle(&mut self) {
        self.state.rebuild();
        let view = self.view();
        if self.last_view.as_ref() != Some(&view) {
            let id = self.id();
            if self.send(Command::View { id, view: view.clone() }).is_some() {
                self.last_view = Some(view);
            }
        }
    }

    /// Applies one worker update.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Refreshed { id } => {
                if self.refresh_pending == Some(id) {
                    self.refresh_pending = None;
                    self.state.flash("refreshed");
                }
            }
            Update::Planned { id, result } if self.change_pending == Some(id) => {
                self.change_pending = None;
                match result {
                    Ok(plan) => {
                        let id = self.id();
                        self.state
                            .modals
                            .push(Modal::Confirm(Box::new(changes::confirm(*plan, id))));
                    }
                    Err(e) => self.notice("Cannot plan", vec![e.to_string()], true),
                }
            }
            Update::Applied { id, result, audit_log } if self.change_pending == Some(id) => {
                self.change_pending = None;
                match result {
                    Ok(applied) => {
                        let mut lines = vec![applied.summary];
                        lines.extend(applied.warnings.into_iter().map(|w| format!("! {w}")));
                        lines.push(format!("recorded in {}", audit_log.display()));
                        self.notice("Done", lines, false);
                        // Show the change.
                        self.act(Action::Refresh);
                    }
                    Err(e) => self.notice(
                        "Failed",
                        vec![e.to_string(), format!("recorded in {}", audit_log.display())],
                        true,
                    ),
                }
            }
            // An answer nobody waits for any more.
            Update::Planned { .. } | Update::Applied { .. } => {}
            other => self.state.apply(other),
        }
    }

    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            _ => {}
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.state.should_quit = true;
            return;
        }
        if let Some(top) = self.state.modals.top() {
            let action = self.keymap.action(top.context(), &key);
            let quits = self.keymap.action(KeyContext::Global, &key) == Some(Action::Quit);
            match self.state.modals.handle(&key, action, quits) {
                Some(Outcome::ClosedPassOn) | None => {}
                Some(outcome) => return self.after_modal(outcome),
            }
        }
        if self.state.tail.is_some() {
            let action = [KeyContext::Tail, KeyContext::Table, KeyContext::Global]
                .into_iter()
                .find_map(|ctx| self.keymap.action(ctx, &key));
            if let Some(action) = action {
                self.tail_act(action);
            }
            return;
        }
        let action = self
            .keymap
            .action(KeyContext::Table, &key)
            .or_else(|| self.keymap.action(KeyContext::Global, &key));
        if let Some(action) = action {
            self.act(action);
        }
    }

    /// Opens the live tail of `target` from the end, replacing any open one.
    pub fn open_tail(&mut self, target: TailTarget) {
        self.close_tail();
        let session = self.id();
        let order = TailOrder::Open {
            session,
            target: target.clone(),
            start: StartAt::Latest,
        };
        let id = self.id();
        if self.send(Command::Tail { id, order }).is_some() {
            self.state.tail = Some(TailPane::new(session, target, StartAt::Latest, self.state.now));
        }
    }

    /// Closes the tail: the worker stops its session and closes the consumer.
    pub fn close_tail(&mut self) {
        if let Some(t) = self.state.tail.take() {
            self.state
                .modals
                .close(|m| matches!(m, Modal::Record(_) | Modal::TailFrom(_)));
            let id = self.id();
            // A full outbox refuses with a message; the worker also stops a session when the
            // next one opens or the console quits.
            self.send(Command::Tail {
                id,
                order: TailOrder::Close { session: t.session },
            });
        }
    }

    fn tail_control(&mut self, control: TailControl) {
        if let Some(session) = self.state.tail.as_ref().map(|t| t.session) {
            let id = self.id();
            self.send(Command::Tail {
                id,
                order: TailOrder::Control { session, control },
            });
        }
    }

    /// A key while the tail is open.
    fn tail_act(&mut self, action: Action) {
        let page = self.page as isize;
        let Some(tail) = self.state.tail.as_mut() else {
            return self.act(action);
        };
        match action {
            Action::Up => tail.move_by(-1),
            Action::Down => tail.move_by(1),
            Action::PageUp => tail.move_by(-page),
            Action::PageDown => tail.move_by(page),
            Action::Home => tail.home(),
            Action::End | Action::Follow => tail.follow_newest(),
            Action::CycleView => tail.cycle_view(),
            Action::PauseTail => {
                let order = tail.pause_order();
                self.tail_control(order);
            }
            Action::Open => {
                if let Some(r) = tail.selected_record() {
                    let view = tail.view.for_value(r.value.as_deref().unwrap_or_default());
                    let detail = RecordDetail {
                        record: r.clone(),
                        view,
                        scroll: 0,
                    };
                    self.state.modals.push(Modal::Record(Box::new(detail)));
                }
            }
            Action::Filter => {
                let text = tail.filter_text.clone();
                self.state.modals.push(Modal::Filter(LineInput::new(text)));
            }
            Action::TailFrom => self.state.modals.push(Modal::TailFrom(LineInput::default())),
            Action::Back => {
                if tail.filter_text.is_empty() {
                    self.close_tail();
                } else {
                    tail.set_filter("");
                }
            }
            // Another pane: the tail closes first.
            Action::NextPane | Action::PrevPane | Action::GoTo(_) => {
                self.close_tail();
                self.act(action);
            }
            // Producing to the tailed topic shows the record arrive; other changes wait until
            // the tail is closed.
            Action::Quit | Action::Help | Action::Palette | Action::Act(ActionKind::Produce) => self.act(action),
            Action::Act(_)
            | Action::Tail
            | Action::Refresh
            | Action::SortNext
            | Action::SortReverse
            | Action::Submit
            | Action::Cancel
            | Action::DeleteBack
            | Action::Close
            | Action::Confirm => {}
        }
    }

    /// `o` in the tail: read again from what was typed.
    fn tail_from(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        match crate::headless::tail::parse_start(text, crate::app::worker::wall_ms()) {
            Ok(at) => {
                if let Some(t) = self.state.tail.as_mut() {
                    // Reading from a position is looking at it: follow its newest records.
                    t.follow_newest();
                }
                self.tail_control(TailControl::Seek(at));
                self.state.flash(format!("reading from {at}"));
            }
            Err(e) => self.state.flash(e),
        }
    }

    /// What `t` tails: the selected topic (topics pane), the selected partition (partitions
    /// pane), else the open topic.
    fn tail_target(&self) -> Option<TailTarget> {
        match self.state.focus {
            PaneId::Partitions => {
                let topic = self.state.panes.partitions.topic.clone()?;
                let partition = self.state.panes.partitions.table.selected().map(|p| p.id);
                Some(TailTarget { topic, partition })
            }
            PaneId::Topics => {
                Pane::opens_topic(&self.state.panes.topics).map(|topic| TailTarget { topic, partition: None })
            }
            _ => self
                .state
                .current_topic
                .clone()
                .map(|topic| TailTarget { topic, partition: None }),
        }
    }

    fn after_modal(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::FilterChanged(text) | Outcome::FilterDone(text) if self.state.tail.is_some() => {
                if let Some(t) = self.state.tail.as_mut() {
                    t.set_filter(&text);
                }
            }
            Outcome::TailFrom(text) => self.tail_from(&text),
            Outcome::FilterChanged(text) | Outcome::FilterDone(text) => {
                // The filter applies as it is typed.
                let table = self.state.pane_mut().table_mut();
                table.view_mut().filter = text;
                table.resort();
            }
            Outcome::Run(cmd) => self.run_command(&cmd),
            Outcome::Confirmed(Effect::Send(cmd)) => {
                let applies = matches!(cmd, Command::Apply { .. });
                if let Some(id) = self.send(cmd) {
                    if applies {
                        self.change_pending = Some(id);
                        self.state.flash("applying…");
                    }
                }
            }
            Outcome::Plan(op) => self.plan(*op),
            Outcome::Confirmed(Effect::Quit) => self.state.should_quit = true,
            Outcome::Consumed | Outcome::Closed | Outcome::ClosedPassOn => {}
        }
    }

    fn notice(&mut self, title: &str, lines: Vec<String>, error: bool) {
        self.state.modals.push(Modal::Notice(Box::new(Notice {
            title: title.into(),
            lines,
            error,
        })));
    }

    /// Asks the worker for the plan of `op`; its answer opens the confirm dialog.
    fn plan(&mut self, op: crate::cluster::ops::Op) {
        let id = self.id();
        let what = op.describe();
        if let Some(id) = self.send(Command::Plan { id, op: Box::new(op) }) {
            self.change_pending = Some(id);
            self.state.flash(format!("planning: {what}…"));
        }
    }

    /// `:` commands.
    fn run_command(&mut self, cmd: &str) {
        let pane = match cmd {
            "" => return,
            "q" | "quit" | "q!" => {
                self.state.should_quit = true;
                return;
            }
            "help" | "h" => return self.act(Action::Help),
            "refresh" | "r" => return self.act(Action::Refresh),
            "t" => PaneId::Topics,
            "p" => PaneId::Partitions,
            "b" => PaneId::Brokers,
            "g" => PaneId::Groups,
            "c" => PaneId::Configs,
            other => match PaneId::ALL.iter().find(|p| p.action_name() == other) {
                Some(p) => *p,
                None => {
                    return self.state.flash(format!(
                        "unknown command ':{other}' (try :topics, :partitions, :brokers, :groups, :configs, :q)"
                    ))
                }
            },
        };
        self.go(pane);
    }

    fn go(&mut self, pane: PaneId) {
        if pane.is_topic_pane() {
            if let Some(t) = Pane::opens_topic(&self.state.panes.topics).or_else(|| self.state.current_topic.clone()) {
                self.state.set_topic(t);
            }
        }
        self.state.focus = pane;
    }

    pub fn act(&mut self, action: Action) {
        let page = self.page as isize;
        match action {
            Action::Quit => self.state.should_quit = true,
            Action::NextPane | Action::PrevPane => {
                let n = PaneId::ALL.len();
                let i = self.state.focus.index();
                let next = if action == Action::NextPane {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.go(PaneId::ALL[next]);
            }
            Action::GoTo(p) => self.go(p),
            Action::Palette => self.state.modals.push(Modal::Palette(LineInput::default())),
            Action::Help => {
                if !self.state.modals.contains(|m| *m == Modal::Help) {
                    self.state.modals.push(Modal::Help);
                }
            }
            Action::Refresh => {
                let id = self.id();
                if let Some(id) = self.send(Command::Refresh { id }) {
                    self.refresh_pending = Some(id);
                    self.state.flash("refreshing…");
                }
            }
            Action::Up => self.view_mut().move_by(-1),
            Action::Down => self.view_mut().move_by(1),
            Action::PageUp => self.view_mut().move_by(-page),
            Action::PageDown => self.view_mut().move_by(page),
            Action::Home => self.view_mut().home(),
            Action::End => self.view_mut().end(),
            Action::Open => {
                if self.state.focus == PaneId::Groups {
                    if self.state.panes.groups.detail.is_none() {
                        let data = &self.state.data;
                        self.state.panes.groups.open_selected(data);
                    }
                } else if let Some(t) = self.state.pane().opens_topic() {
                    self.state.set_topic(t);
                    self.state.focus = PaneId::Partitions;
                }
            }
            Action::Back => {
                let focus = self.state.focus;
                let table = self.state.pane_mut().table_mut();
                if !table.view().filter.is_empty() {
                    table.view_mut().filter.clear();
                    table.resort();
                } else if focus.is_topic_pane() {
                    self.state.focus = PaneId::Topics;
                } else if focus == PaneId::Groups {
                    self.state.panes.groups.close();
                }
            }
            Action::Filter => {
                let text = self.state.pane().table().view().filter.clone();
                self.state.modals.push(Modal::Filter(LineInput::new(text)));
            }
            Action::SortNext => {
                let table = self.state.pane_mut().table_mut();
                let n = table.layouts().len().max(1);
                let view = table.view_mut();
                view.sort_column = (view.sort_column + 1) % n;
                view.descending = false;
                table.resort();
            }
            Action::SortReverse => {
                let table = self.state.pane_mut().table_mut();
                let view = table.view_mut();
                view.descending = !view.descending;
                table.resort();
            }
            Action::Tail => match self.tail_target() {
                Some(target) => self.open_tail(target),
                None => self.state.flash("no topic selected to tail"),
            },
            Action::Act(kind) => match changes::start(kind, &self.state) {
                Start::Form(form) => self.state.modals.push(Modal::Form(form)),
                Start::Plan(op) => self.plan(*op),
                Start::Refuse { title, reason } => self.notice(&title, vec![reason], true),
            },
            // Keys of other contexts mean nothing outside them.
            Action::Submit
            | Action::Cancel
            | Action::DeleteBack
            | Action::Close
            | Action::Confirm
            | Action::PauseTail
            | Action::Follow
            | Action::CycleView
            | Action::TailFrom => {}
        }
    }

    fn view_mut(&mut self) -> &mut crate::app::columns::TableView {
        self.state.pane_mut().table_mut().view_mut()
    }
}

/// How the loop draws, supplied by the UI layer so `app` does not depend on `ui`: `draw`
/// renders a frame from the state, `page_height` says how many table rows a screen shows.
pub trait View {
    fn draw(&self, frame: &mut Frame, state: &AppState, keymap: &Keymap);
    fn page_height(&self, screen: Rect, state: &AppState) -> usize;
}

/// Runs until quit. `quit` resolves on SIGHUP/SIGTERM (an SSH session dropping). Every draw
/// holds `draw_lock`, so a panic elsewhere can restore the terminal between frames.
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    console: &mut Console,
    view: &impl View,
    commands: mpsc::Sender<Command>,
    mut updates: mpsc::Receiver<Update>,
    quit: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(quit);
    loop {
        console.state.now = Instant::now();
        console.settle();
        let mut page = console.page;
        {
            let _frame = crate::app::terminal::draw_guard();
            terminal
                .draw(|frame| {
                    page = view.page_height(frame.area(), &console.state);
                    // The only state the draw step touches: the scroll position (and the tail's
                    // count of records that scrolled past unseen).
                    match console.state.tail.as_mut() {
                        Some(t) => t.frame(page),
                        None => console.state.pane_mut().table_mut().view_mut().scroll_into_view(page),
                    }
                    view.draw(frame, &console.state, &console.keymap);
                })
                .map_err(|e| format!("cannot draw: {e}"))?;
        }
        console.page = page.max(1);
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => console.on_event(event),
                Some(Err(e)) => return Err(format!("terminal input failed: {e}")),
                None => return Ok(()),
            },
            update = updates.recv() => {
                match update {
                    Some(u) => console.apply(u),
                    None => return Err("the background worker stopped".into()),
                }
                // Drain what else is queued, then draw once.
                while let Ok(u) = updates.try_recv() {
                    console.apply(u);
                }
            }
            permit = commands.reserve(), if !console.outbox.is_empty() => match permit {
                Ok(permit) => {
                    if let Some(cmd) = console.outbox.pop() {
                        permit.send(cmd);
                    }
                }
                Err(_) => return Err("the background worker stopped".into()),
            },
            _ = tick.tick() => {}
            _ = &mut quit => console.state.should_quit = true,
        }
        if console.state.should_quit {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::action::{JobKey, Payload};
    use crate::cluster::connect::ConnectionSpec;
    use crate::cluster::model::{Metadata, PartitionMeta, TopicMeta};

    fn console() -> Console {
        let state = AppState::new(ConnectionSpec::bootstrap("127.0.0.1:9092"), Instant::now());
        Console::new(state, Keymap::load(None).unwrap())
    }

    fn metadata(names: &[&str]) -> Update {
        Update::Finished {
            job: JobKey::Metadata,
            at: Instant::now(),
            result: Ok(Payload::Metadata(Metadata {
                topics: names
                    .iter()
                    .map(|n| TopicMeta {
                        name: n.to_string(),
                        partitions: vec![PartitionMeta {
                            id: 0,
                            leader: Some(1),
                            ..Default::default()
                        }],
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })),
        }
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn code(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn drain(c: &mut Console) -> Vec<Command> {
        std::iter::from_fn(|| c.outbox.pop()).collect()
    }

    #[test]
    fn enter_opens_the_selected_topic_and_asks_for_its_configs() {
        let mut c = console();
        c.apply(metadata(&["alpha", "beta"]));
        c.settle();
        drain(&mut c);
        c.on_key(key('j'));
        c.on_key(code(KeyCode::Enter));
        assert_eq!(c.state.focus, PaneId::Partitions);
        assert_eq!(c.state.current_topic.as_deref(), Some("beta"));
        c.settle();
        let cmds = drain(&mut c);
        assert!(
            matches!(&cmds[..], [Command::View { view, .. }] if view.topic_configs.as_deref() == Some("beta") && view.topics_first == ["beta"]),
            "{cmds:?}"
        );
        // Another topic: the view moves on, and the worker cancels the old topic's configs.
        c.on_key(code(KeyCode::Esc));
        c.on_key(key('k'));
        c.on_key(code(KeyCode::Enter));
        c.settle();
        assert!(
            matches!(&drain(&mut c)[..], [Command::View { view, .. }] if view.topic_configs.as_deref() == Some("alpha"))
        );
    }

    #[test]
    fn filter_applies_while_typing_and_esc_clears_it() {
        let mut c = console();
        c.apply(metadata(&["orders", "payments", "order-events"]));
        c.settle();
        c.on_key(key('/'));
        for ch in "order".chars() {
            c.on_key(key(ch));
        }
        assert_eq!(c.state.panes.topics.table.view.order.len(), 2);
        c.on_key(code(KeyCode::Esc));
        assert!(c.state.modals.is_empty());
        assert_eq!(c.state.panes.topics.table.view.order.len(), 3);
        // Enter keeps it; Esc in the table then clears it.
        c.on_key(key('/'));
        c.on_key(key('p'));
        c.on_key(code(KeyCode::Enter));
        assert_eq!(c.state.panes.topics.table.view.filter, "p");
        c.on_key(code(KeyCode::Esc));
        assert_eq!(c.state.panes.topics.table.view.filter, "");
    }

    #[test]
    fn palette_switches_panes_quits_and_reports_unknown_commands() {
        let mut c = console();
        for ch in ":groups".chars() {
            c.on_key(key(ch));
        }
        c.on_key(code(KeyCode::Enter));
        assert_eq!(c.state.focus, PaneId::Groups);
        for ch in ":nope".chars() {
            c.on_key(key(ch));
        }
        c.on_key(code(KeyCode::Enter));
        assert!(c.state.visible_flash().unwrap().contains("unknown command"));
        for ch in ":q".chars() {
            c.on_key(key(ch));
        }
        c.on_key(code(KeyCode::Enter));
        assert!(c.state.should_quit);
    }

    #[test]
    fn help_takes_the_next_key_and_q_still_quits() {
        let mut c = console();
        c.on_key(key('?'));
        assert!(c.state.modals.contains(|m| *m == Modal::Help));
        c.on_key(key('4'));
        assert!(c.state.modals.is_empty());
        assert_eq!(
            c.state.focus,
            PaneId::Topics,
            "the key that closed the help did nothing else"
        );
        c.on_key(key('?'));
        c.on_key(key('q'));
        assert!(c.state.should_quit);
    }

    #[test]
    fn refreshes_are_answered_by_id_and_never_dropped() {
        let mut c = console();
        c.act(Action::Refresh);
        c.act(Action::Refresh);
        let cmds = drain(&mut c);
        let ids: Vec<CommandId> = cmds
            .iter()
            .filter_map(|cmd| match cmd {
                Command::Refresh { id } => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(ids.len(), 1, "a refresh joins the one already queued");
        // A stale answer (another id) changes nothing; the awaited one is reported.
        c.apply(Update::Refreshed { id: ids[0] + 100 });
        assert_eq!(c.state.visible_flash(), Some("refreshing…"));
        c.apply(Update::Refreshed { id: ids[0] });
        assert_eq!(c.state.visible_flash(), Some("refreshed"));
    }

    #[test]
    fn a_full_outbox_refuses_with_a_message_and_views_replace_each_other() {
        let mut o = Outbox::new(2);
        let view = |id| Command::View {
            id,
            view: ViewWants::default(),
        };
        assert_eq!(o.push(view(1)), Ok(1));
        assert_eq!(o.push(view(2)), Ok(2));
        assert_eq!(o.len(), 1, "the newer view replaced the queued one");
        assert_eq!(o.push(Command::Refresh { id: 3 }), Ok(3));
        assert_eq!(o.push(Command::Refresh { id: 4 }), Ok(3));
        let mut full = Outbox::new(1);
        full.push(Command::Refresh { id: 1 }).unwrap();
        assert_eq!(full.push(view(2)), Err(view(2)));
        let mut c = console();
        c.outbox = full;
        c.settle();
        assert!(c.state.visible_flash().unwrap().starts_with("busy"));
        assert!(c.last_view.is_none(), "the view is sent again once there is room");
    }

    fn record(offset: i64, value: &str) -> crate::cluster::tail::TailItem {
        crate::cluster::tail::TailItem::Record(crate::cluster::record_view::Record {
            topic: std::sync::Arc::from("beta"),
            partition: 0,
            offset,
            timestamp: Some(1_700_000_000_000),
            timestamp_type: crate::cluster::record_view::TimestampType::CreateTime,
            key: None,
            value: Some(value.as_bytes().to_vec()),
            headers: Vec::new(),
        })
    }

    fn tail_batch(session: crate::app::action::TailId, items: Vec<crate::cluster::tail::TailItem>) -> Update {
        Update::Tail {
            session,
            batch: crate::app::worker::tail::TailBatch::detached(items),
        }
    }

    fn groups(names: &[&str]) -> Update {
        Update::Finished {
            job: JobKey::Groups,
            at: Instant::now(),
            result: Ok(Payload::Groups(
                names
                    .iter()
                    .map(|n| crate::cluster::model::GroupSummary {
                        name: n.to_string(),
                        state: "Empty".into(),
                        ..Default::default()
                    })
                    .collect(),
            )),
        }
    }

    fn the_plan(c: &mut Console) -> (CommandId, crate::cluster::ops::Op) {
        match &drain(c)[..] {
            [Command::Plan { id, op }] => (*id, (**op).clone()),
            other => panic!("expected one plan request: {other:?}"),
        }
    }

    fn a_plan(op: crate::cluster::ops::Op) -> crate::cluster::ops::Plan {
        crate::cluster::ops::Plan {
            summary: op.describe(),
            op,
            table: Default::default(),
            warnings: vec![],
            changes_anything: true,
            change: crate::cluster::ops::Change::Nothing,
            before: String::new(),
            after: String::new(),
            confirm_text: None,
            csv: None,
        }
    }

    #[test]
    fn t_tails_the_selected_topic_and_the_tail_takes_the_keys_until_esc_closes_it() {
        let mut c = console();
        c.apply(metadata(&["alpha", "beta"]));
        c.settle();
        drain(&mut c);
        c.on_key(key('j'));
        c.on_key(key('t'));
        let session = c.state.tail.as_ref().map(|t| t.session).expect("the tail opened");
        let cmds = drain(&mut c);
        assert!(
            matches!(&cmds[..], [Command::Tail { order: TailOrder::Open { session: s, target, start: StartAt::Latest }, .. }]
                if *s == session && target.topic == "beta" && target.partition.is_none()),
            "{cmds:?}"
        );
        c.apply(tail_batch(session, vec![record(0, "hello"), record(1, "world")]));
        // A batch of an older session is not this tail's.
        c.apply(tail_batch(session + 100, vec![record(9, "stale")]));
        assert_eq!(c.state.tail.as_ref().unwrap().buffer.len(), 2);
        // Keys go to the tail: j/k move its selection, not the topics table's.
        c.on_key(key('k'));
        assert_eq!(c.state.tail.as_ref().unwrap().selected, 0);
        assert!(!c.state.tail.as_ref().unwrap().follow);
        assert_eq!(c.state.panes.topics.table.view.selected, 1);
        c.on_key(key(' '));
        assert!(matches!(
            &drain(&mut c)[..],
            [Command::Tail {
                order: TailOrder::Control {
                    control: TailControl::Pause,
                    ..
                },
                ..
            }]
        ));
        // The filter applies to the records while typed.
        c.on_key(key('/'));
        for ch in "wor".chars() {
            c.on_key(key(ch));
        }
        assert_eq!(c.state.tail.as_ref().unwrap().buffer.len(), 1);
        c.on_key(code(KeyCode::Enter));
        // Enter opens the record; Esc closes it, then clears the filter, then the tail.
        c.on_key(code(KeyCode::Enter));
        assert!(
            matches!(c.state.modals.top(), Some(Modal::Record(d)) if d.record.offset == 1),
            "{:?}",
            c.state.modals.top()
        );
        c.on_key(code(KeyCode::Esc));
        assert!(c.state.modals.is_empty());
        c.on_key(code(KeyCode::Esc));
        assert_eq!(c.state.tail.as_ref().unwrap().buffer.len(), 2, "filter cleared");
        c.on_key(key('v'));
        assert_eq!(c.state.tail.as_ref().unwrap().view.label(), "text");
        c.on_key(code(KeyCode::Esc));
        assert!(c.state.tail.is_none());
        assert!(matches!(
            &drain(&mut c)[..],
            [Command::Tail { order: TailOrder::Close { session: s }, .. }] if *s == session
        ));
        // Back in the topics pane, `j` is the table's again.
        c.on_key(key('k'));
        assert_eq!(c.state.panes.topics.table.view.selected, 0);
    }

    #[test]
    fn o_reads_from_what_was_typed_and_refuses_what_is_not_a_start_point() {
        let mut c = console();
        c.apply(metadata(&["alpha"]));
        c.settle();
        c.on_key(key('t'));
        drain(&mut c);
        for ch in "o-5".chars() {
            c.on_key(key(ch));
        }
        c.on_key(code(KeyCode::Enter));
        assert!(matches!(
            &drain(&mut c)[..],
            [Command::Tail {
                order: TailOrder::Control {
                    control: TailControl::Seek(StartAt::LastN(5)),
                    ..
                },
                ..
            }]
        ));
        for ch in "onope".chars() {
            c.on_key(key(ch));
        }
        c.on_key(code(KeyCode::Enter));
        assert!(drain(&mut c).is_empty());
        assert!(c.state.visible_flash().unwrap().contains("not a start point"));
        // Another pane closes the tail.
        c.on_key(key('3'));
        assert!(c.state.tail.is_none());
        assert_eq!(c.state.focus, PaneId::Brokers);
    }

    #[test]
    fn reset_offsets_goes_form_plan_confirm_apply_result_and_refresh() {
        use crate::cluster::ops::{Applied, Op, ResetScope, ResetTarget};
        let mut c = console();
        c.apply(groups(&["billing"]));
        c.on_key(key('4'));
        c.settle();
        drain(&mut c);
        c.on_key(key('R'));
        assert!(matches!(c.state.modals.top(), Some(Modal::Form(f)) if f.subject.as_deref() == Some("billing")));
        assert!(drain(&mut c).is_empty(), "nothing asked before the form is submitted");
        // `q` is text in the form: "latest" becomes "latestq", which is refused, form kept.
        c.on_key(key('q'));
        c.on_key(code(KeyCode::Enter));
        assert!(matches!(c.state.modals.top(), Some(Modal::Form(f)) if f.error.is_some()));
        assert!(!c.state.should_quit);
        c.on_key(code(KeyCode::Backspace));
        c.on_key(code(KeyCode::Enter));
        let (id, op) = the_plan(&mut c);
        assert_eq!(
            op,
            Op::ResetOffsets {
                group: "billing".into(),
                scope: ResetScope::AllTopics,
                target: ResetTarget::Latest
            }
        );
        assert!(c.state.modals.is_empty());
        // A stale answer is dropped; the awaited one opens the confirm dialog.
        c.apply(Update::Planned {
            id: id + 50,
            result: Ok(Box::new(a_plan(op.clone()))),
        });
        assert!(c.state.modals.is_empty());
        c.apply(Update::Planned {
            id,
            result: Ok(Box::new(a_plan(op.clone()))),
        });
        assert!(matches!(c.state.modals.top(), Some(Modal::Confirm(_))));
        c.on_key(key('y'));
        let apply_id = match &drain(&mut c)[..] {
            [Command::Apply { id, plan }] if plan.op == op => *id,
            other => panic!("expected the apply: {other:?}"),
        };
        c.apply(Update::Applied {
            id: apply_id,
            result: Ok(Applied {
                summary: "3 partitions committed".into(),
                warnings: vec![],
            }),
            audit_log: "/state/audit.log".into(),
        });
        match c.state.modals.top() {
            Some(Modal::Notice(n)) => {
                assert!(!n.error);
                assert_eq!(n.lines, ["3 partitions committed", "recorded in /state/audit.log"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&drain(&mut c)[..], [Command::Refresh { .. }]),
            "the panes show the change"
        );
        c.on_key(key('x'));
        assert!(c.state.modals.is_empty(), "any key closes the result");
    }

    #[test]
    fn plan_errors_show_kafkas_name_and_read_only_refuses_every_action_key() {
        use crate::cluster::error::ClusterError;
        let mut c = console();
        c.apply(metadata(&["orders"]));
        c.settle();
        drain(&mut c);
        c.on_key(key('D'));
        let (id, _) = the_plan(&mut c);
        c.apply(Update::Planned {
            id,
            result: Err(ClusterError::Kafka {
                what: "delete topic 'orders'".into(),
                name: "TOPIC_AUTHORIZATION_FAILED".into(),
                message: "denied".into(),
            }),
        });
        assert!(
            matches!(c.state.modals.top(), Some(Modal::Notice(n)) if n.error && n.lines[0].contains("TOPIC_AUTHORIZATION_FAILED: denied"))
        );
        c.on_key(code(KeyCode::Esc));

        let state = AppState::new(
            ConnectionSpec::bootstrap("k:9092").with_read_only("profile 'prod' has read_only = true"),
            Instant::now(),
        );
        let mut c = Console::new(state, Keymap::load(None).unwrap());
        c.apply(metadata(&["orders"]));
        c.apply(groups(&["billing"]));
        c.settle();
        drain(&mut c);
        for (pane, keys) in [('1', "CEXPD+"), ('4', "RUD")] {
            c.on_key(key(pane));
            for k in keys.chars() {
                c.on_key(key(k));
                match c.state.modals.top() {
                    Some(Modal::Notice(n)) => assert!(
                        n.error && n.lines[0].contains("read-only (profile 'prod' has read_only = true)"),
                        "{k}: {n:?}"
                    ),
                    other => panic!("{k}: {other:?}"),
                }
                c.on_key(code(KeyCode::Esc));
                assert!(c.state.modals.is_empty());
            }
        }
        c.settle();
        assert!(
            drain(&mut c).iter().all(|cmd| matches!(cmd, Command::View { .. })),
            "no plan or apply asked"
        );
    }
}
