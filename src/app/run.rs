//! The event loop: one `tokio::select!` over terminal events, worker updates, a tick and the
//! quit signals. Queued updates are drained before drawing once, so a burst of updates costs
//! one frame. Keys change state and may send commands; nothing here awaits the network.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::{Frame, Terminal};
use tokio::sync::mpsc;

use crate::app::action::{Action, Command, Update};
use crate::app::keymap::Keymap;
use crate::app::state::{AppState, Connection, Input, Pane};
use crate::app::tables;

/// The console's state plus what it needs to act: the keymap and the worker's inbox.
pub struct Console {
    pub state: AppState,
    pub keymap: Keymap,
    commands: mpsc::Sender<Command>,
    next_id: u64,
    /// Id of the configs request whose answer is still wanted.
    configs_request: Option<u64>,
    /// Rows per page, from the last drawn frame.
    page: usize,
}

impl Console {
    pub fn new(state: AppState, keymap: Keymap, commands: mpsc::Sender<Command>) -> Self {
        Console {
            state,
            keymap,
            commands,
            next_id: 0,
            configs_request: None,
            page: 10,
        }
    }

    fn send(&mut self, cmd: Command) {
        // A full inbox means the worker is busy; refreshes are periodic anyway.
        if self.commands.try_send(cmd).is_err() {
            tracing::debug!("worker inbox full; command dropped");
        }
    }

    /// Applies one worker update to the state.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Snapshot(mut snap) => {
                // Brokers that disappeared from the metadata stay listed, marked down.
                for old in &self.state.snapshot.brokers {
                    if !snap.brokers.iter().any(|b| b.id == old.id) {
                        let mut gone = old.clone();
                        gone.up = false;
                        gone.is_controller = false;
                        snap.brokers.push(gone);
                    }
                }
                snap.brokers.sort_by_key(|b| b.id);
                let mark = tables::bookmark(&self.state);
                self.state.snapshot = snap;
                self.state.snapshot_at = Some(self.state.now);
                self.state.connection = Connection::Up;
                tables::rebuild_all_from(&mut self.state, &mark);
            }
            Update::Groups(groups) => {
                let mark = tables::bookmark(&self.state);
                self.state.group_list = groups;
                tables::rebuild_all_from(&mut self.state, &mark);
            }
            Update::Unreachable { error } => {
                let since = match &self.state.connection {
                    Connection::Connecting { since } | Connection::Lost { since, .. } => *since,
                    // The cluster stopped answering after its last good answer, not when a
                    // request finally timed out.
                    Connection::Up => self.state.snapshot_at.unwrap_or(self.state.now),
                };
                self.state.connection = Connection::Lost { since, error };
            }
            Update::TopicConfigs { id, topic, result } => {
                if self.configs_request == Some(id) {
                    self.configs_request = None;
                    self.state.topic_configs = Some((topic, result));
                    tables::rebuild(&mut self.state, Pane::Configs);
                }
            }
            Update::Note(note) => {
                if !self.state.notes.contains(&note) {
                    self.state.notes.push(note);
                }
            }
        }
    }

    /// Selects the topic whose partitions and configs are shown, fetching its configs.
    fn set_topic(&mut self, topic: String) {
        if self.state.current_topic.as_deref() != Some(topic.as_str()) || self.state.topic_configs.is_none() {
            self.state.current_topic = Some(topic.clone());
            self.state.topic_configs = None;
            self.next_id += 1;
            self.configs_request = Some(self.next_id);
            self.send(Command::TopicConfigs {
                id: self.next_id,
                topic,
            });
            // Another topic's rows: start at the top rather than at the old row index.
            for pane in [Pane::Partitions, Pane::Configs] {
                let view = self.state.table_mut(pane);
                view.selected = 0;
                view.offset = 0;
                tables::rebuild(&mut self.state, pane);
            }
        }
    }

    fn selected_topic(&self) -> Option<String> {
        let row = self.state.topics.selected_row()?;
        self.state.snapshot.topics.get(row).map(|t| t.name.clone())
    }

    fn go(&mut self, pane: Pane) {
        if matches!(pane, Pane::Partitions | Pane::Configs) {
            if let Some(t) = self.selected_topic().or_else(|| self.state.current_topic.clone()) {
                self.set_topic(t);
            }
        }
        self.state.pane = pane;
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
        match self.state.input.clone() {
            Input::Filter(text) => return self.on_filter_key(key, text),
            Input::Palette(text) => return self.on_palette_key(key, text),
            Input::Normal => {}
        }
        if self.state.show_help {
            // Any key closes the help; `q` still quits.
            self.state.show_help = false;
            if key.code != KeyCode::Char('q') {
                return;
            }
        }
        if let Some(action) = self.keymap.action(&key) {
            self.act(action);
        }
    }

    fn on_filter_key(&mut self, key: KeyEvent, mut text: String) {
        let pane = self.state.pane;
        match key.code {
            KeyCode::Esc => {
                text.clear();
                self.state.input = Input::Normal;
            }
            KeyCode::Enter => self.state.input = Input::Normal,
            KeyCode::Backspace => {
                text.pop();
                self.state.input = Input::Filter(text.clone());
            }
            KeyCode::Char(c) => {
                text.push(c);
                self.state.input = Input::Filter(text.clone());
            }
            _ => return,
        }
        // The filter applies as it is typed.
        self.state.table_mut(pane).filter = text;
        tables::rebuild(&mut self.state, pane);
    }

    fn on_palette_key(&mut self, key: KeyEvent, mut text: String) {
        match key.code {
            KeyCode::Esc => self.state.input = Input::Normal,
            KeyCode::Backspace => {
                text.pop();
                self.state.input = Input::Palette(text);
            }
            KeyCode::Char(c) => {
                text.push(c);
                self.state.input = Input::Palette(text);
            }
            KeyCode::Enter => {
                self.state.input = Input::Normal;
                self.run_command(text.trim());
            }
            _ => {}
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
            "help" | "h" => {
                self.state.show_help = true;
                return;
            }
            "refresh" | "r" => {
                self.send(Command::Refresh);
                return;
            }
            "topics" | "t" => Pane::Topics,
            "partitions" | "p" => Pane::Partitions,
            "brokers" | "b" => Pane::Brokers,
            "groups" | "g" => Pane::Groups,
            "configs" | "c" => Pane::Configs,
            other => {
                self.state.flash(format!(
                    "unknown command ':{other}' (try :topics, :partitions, :brokers, :groups, :configs, :q)"
                ));
                return;
            }
        };
        self.go(pane);
    }

    pub fn act(&mut self, action: Action) {
        let pane = self.state.pane;
        match action {
            Action::Quit => self.state.should_quit = true,
            Action::NextPane | Action::PrevPane => {
                let n = Pane::ALL.len();
                let i = pane.index();
                let next = if action == Action::NextPane {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.go(Pane::ALL[next]);
            }
            Action::GoTo(p) => self.go(p),
            Action::Up => self.state.table_mut(pane).move_by(-1),
            Action::Down => self.state.table_mut(pane).move_by(1),
            Action::PageUp => {
                let page = self.page as isize;
                self.state.table_mut(pane).move_by(-page)
            }
            Action::PageDown => {
                let page = self.page as isize;
                self.state.table_mut(pane).move_by(page)
            }
            Action::Home => self.state.table_mut(pane).home(),
            Action::End => self.state.table_mut(pane).end(),
            Action::Open => {
                if pane == Pane::Topics {
                    if let Some(t) = self.selected_topic() {
                        self.set_topic(t);
                        self.state.pane = Pane::Partitions;
                    }
                }
            }
            Action::Back => {
                if self.state.show_help {
                    self.state.show_help = false;
                } else if !self.state.table(pane).filter.is_empty() {
                    self.state.table_mut(pane).filter.clear();
                    tables::rebuild(&mut self.state, pane);
                } else if matches!(pane, Pane::Partitions | Pane::Configs) {
                    self.state.pane = Pane::Topics;
                }
            }
            Action::Filter => self.state.input = Input::Filter(self.state.table(pane).filter.clone()),
            Action::Palette => self.state.input = Input::Palette(String::new()),
            Action::Help => self.state.show_help = !self.state.show_help,
            Action::SortNext => {
                let n = tables::columns(pane).len().max(1);
                let view = self.state.table_mut(pane);
                view.sort_column = (view.sort_column + 1) % n;
                view.descending = false;
                tables::rebuild(&mut self.state, pane);
            }
            Action::SortReverse => {
                let view = self.state.table_mut(pane);
                view.descending = !view.descending;
                tables::rebuild(&mut self.state, pane);
            }
            Action::Refresh => {
                self.send(Command::Refresh);
                self.state.flash("refreshing…");
            }
        }
    }
}

/// How the loop draws, supplied by the UI layer so `app` does not depend on `ui`: `draw`
/// renders a frame from the state, `page_height` says how many table rows a screen shows.
pub trait View {
    fn draw(&self, frame: &mut Frame, state: &AppState, keymap: &Keymap);
    fn page_height(&self, screen: Rect, state: &AppState) -> usize;
}

/// Runs until quit. `quit` resolves on SIGHUP/SIGTERM (an SSH session dropping).
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    console: &mut Console,
    view: &impl View,
    mut updates: mpsc::Receiver<Update>,
    quit: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(quit);
    loop {
        console.state.now = Instant::now();
        let mut page = console.page;
        terminal
            .draw(|frame| {
                page = view.page_height(frame.area(), &console.state);
                let pane = console.state.pane;
                console_scroll(&mut console.state, pane, page);
                view.draw(frame, &console.state, &console.keymap);
            })
            .map_err(|e| format!("cannot draw: {e}"))?;
        console.page = page.max(1);
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => console.on_event(event),
                Some(Err(e)) => return Err(format!("terminal input failed: {e}")),
                None => return Ok(()),
            },
            update = updates.recv() => {
                if let Some(u) = update {
                    console.apply(u);
                }
                // Drain what else is queued, then draw once.
                while let Ok(u) = updates.try_recv() {
                    console.apply(u);
                }
            }
            _ = tick.tick() => {}
            _ = &mut quit => console.state.should_quit = true,
        }
        if console.state.should_quit {
            return Ok(());
        }
    }
}

/// Keeps the selection visible; the only state the draw step touches (scroll position).
fn console_scroll(state: &mut AppState, pane: Pane, height: usize) {
    state.table_mut(pane).scroll_into_view(height);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::Target;
    use crate::cluster::model::{ClusterSnapshot, Partition, Topic};

    fn console() -> (Console, mpsc::Receiver<Command>) {
        let (tx, rx) = mpsc::channel(16);
        let target = Target {
            name: "test".into(),
            bootstrap: "127.0.0.1:9092".into(),
            bundled: false,
        };
        let state = AppState::new(target, Instant::now());
        (Console::new(state, Keymap::load(None).unwrap(), tx), rx)
    }

    fn snapshot(names: &[&str]) -> ClusterSnapshot {
        ClusterSnapshot {
            topics: names
                .iter()
                .map(|n| Topic {
                    name: n.to_string(),
                    partitions: vec![Partition {
                        id: 0,
                        leader: Some(1),
                        ..Default::default()
                    }],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn enter_opens_the_selected_topic_and_requests_its_configs() {
        let (mut c, mut rx) = console();
        c.apply(Update::Snapshot(snapshot(&["alpha", "beta"])));
        c.on_key(key('j'));
        c.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(c.state.pane, Pane::Partitions);
        assert_eq!(c.state.current_topic.as_deref(), Some("beta"));
        match rx.try_recv().unwrap() {
            Command::TopicConfigs { topic, id } => {
                assert_eq!(topic, "beta");
                // A stale answer (older id) is dropped; the current one lands.
                c.apply(Update::TopicConfigs {
                    id: id + 100,
                    topic: "x".into(),
                    result: Ok(vec![]),
                });
                assert!(c.state.topic_configs.is_none());
                c.apply(Update::TopicConfigs {
                    id,
                    topic: "beta".into(),
                    result: Err("boom".into()),
                });
                assert!(c.state.topic_configs.is_some());
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn filter_applies_while_typing_and_esc_clears_it() {
        let (mut c, _rx) = console();
        c.apply(Update::Snapshot(snapshot(&["orders", "payments", "order-events"])));
        c.on_key(key('/'));
        for ch in "order".chars() {
            c.on_key(key(ch));
        }
        assert_eq!(c.state.topics.rows.len(), 2);
        c.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert_eq!(c.state.input, Input::Normal);
        assert_eq!(c.state.topics.rows.len(), 3);
    }

    #[test]
    fn palette_switches_panes_quits_and_reports_unknown_commands() {
        let (mut c, _rx) = console();
        for ch in ":groups".chars() {
            c.on_key(key(ch));
        }
        c.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(c.state.pane, Pane::Groups);
        for ch in ":nope".chars() {
            c.on_key(key(ch));
        }
        c.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert!(c.state.visible_flash().unwrap().contains("unknown command"));
        for ch in ":q".chars() {
            c.on_key(key(ch));
        }
        c.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert!(c.state.should_quit);
    }

    #[test]
    fn lost_connection_keeps_data_and_remembers_since_when() {
        let (mut c, _rx) = console();
        c.apply(Update::Snapshot(snapshot(&["a"])));
        c.apply(Update::Unreachable {
            error: "timeout".into(),
        });
        let Connection::Lost { since, .. } = c.state.connection.clone() else {
            panic!()
        };
        c.state.now += Duration::from_secs(5);
        c.apply(Update::Unreachable {
            error: "timeout".into(),
        });
        assert_eq!(
            c.state.connection,
            Connection::Lost {
                since,
                error: "timeout".into()
            }
        );
        assert!(c.state.is_stale());
        assert_eq!(c.state.snapshot.topics.len(), 1, "last good data stays");
    }

    #[test]
    fn brokers_missing_from_metadata_are_kept_and_marked_down() {
        use crate::cluster::model::Broker;
        let (mut c, _rx) = console();
        let b = |id| Broker {
            id,
            host: "h".into(),
            port: 1,
            rack: None,
            is_controller: false,
            up: true,
        };
        c.apply(Update::Snapshot(ClusterSnapshot {
            brokers: vec![b(1), b(2), b(3)],
            ..Default::default()
        }));
        c.apply(Update::Snapshot(ClusterSnapshot {
            brokers: vec![b(1), b(3)],
            ..Default::default()
        }));
        let down: Vec<i32> = c
            .state
            .snapshot
            .brokers
            .iter()
            .filter(|b| !b.up)
            .map(|b| b.id)
            .collect();
        assert_eq!(down, [2]);
        assert_eq!(c.state.snapshot.brokers.len(), 3);
    }
}
