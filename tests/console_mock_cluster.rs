//! The console against librdkafka's mock cluster: three brokers, replication factor 3, leaders
//! spread across brokers; a broker taken down shows as down without crashing; the admin APIs
//! the mock lacks degrade to notes, not an error loop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use rdkafka::mocking::MockCluster;
use strom::app::action::{Action, Command, Update};
use strom::app::keymap::Keymap;
use strom::app::panes::PaneId;
use strom::app::run::Console;
use strom::app::state::AppState;
use strom::app::worker::WorkerConfig;
use strom::cluster::client::ClusterClient;
use strom::cluster::connect::ConnectionSpec;
use strom::ui::theme::Theme;

fn screen(console: &Console) -> String {
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).unwrap();
    terminal
        .draw(|f| strom::ui::render(f, &console.state, &Theme::no_color(), &console.keymap))
        .unwrap();
    let buf = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// The lines of the screen below the header and the tab bar: the pane, the message line and
/// the footer (the tab bar names the open topic too, which proves nothing about the pane).
fn pane_text(console: &Console) -> String {
    screen(console).lines().skip(2).collect::<Vec<_>>().join("\n")
}

/// Feeds worker updates into the console until `done` holds, bounded in time.
async fn pump(
    console: &mut Console,
    cmds: &tokio::sync::mpsc::Sender<Command>,
    updates: &mut tokio::sync::mpsc::Receiver<Update>,
    secs: u64,
    done: impl Fn(&Console) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        console.state.now = Instant::now();
        console.settle();
        while let Some(cmd) = console.outbox.pop() {
            cmds.send(cmd).await.unwrap();
        }
        if done(console) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "condition not reached in {secs} s; screen:\n{}",
            screen(console)
        );
        if let Ok(Some(u)) = tokio::time::timeout(Duration::from_millis(500), updates.recv()).await {
            console.apply(u);
        }
    }
}

#[test]
fn mock_cluster_topology_leaders_spread_and_a_broker_going_down() {
    let mock = MockCluster::new(3).unwrap();
    mock.create_topic("spread", 6, 3).unwrap();
    let bootstrap = mock.bootstrap_servers();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let spec = ConnectionSpec::bootstrap(&bootstrap).with_timeout(Duration::from_secs(2));
        let client = Arc::new(ClusterClient::new(&spec).unwrap());
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(8);
        let (upd_tx, mut upd_rx) = tokio::sync::mpsc::channel(256);
        let (sd_tx, sd_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(strom::app::worker::run(
            client,
            WorkerConfig::new(spec.timeout),
            cmd_rx,
            upd_tx,
            sd_rx,
        ));
        let mut console = Console::new(AppState::new(spec, Instant::now()), Keymap::load(None).unwrap());

        pump(&mut console, &cmd_tx, &mut upd_rx, 20, |c| {
            c.state.panes.brokers.table.rows.len() == 3
                && c.state
                    .panes
                    .topics
                    .table
                    .rows
                    .iter()
                    .any(|t| t.name == "spread" && t.partitions == 6)
        })
        .await;
        let md = console.state.data.metadata.value.clone().unwrap();
        let load = md.broker_load();
        let leading = load.values().filter(|(leaders, _)| *leaders > 0).count();
        assert!(leading >= 2, "leaders spread across brokers: {load:?}");
        assert!(
            load.values().all(|(_, replicas)| *replicas == 6),
            "every broker holds a replica of each partition"
        );
        assert_eq!(md.topic("spread").unwrap().replication_factor(), 3);

        // Open the topic's partitions: the pane lists every partition with its leader.
        console.act(Action::GoTo(PaneId::Topics));
        console.act(Action::Open);
        assert_eq!(console.state.focus, PaneId::Partitions);
        console.settle();
        let text = pane_text(&console);
        assert!(text.contains("Partitions of spread (6)"), "{text}");
        assert_eq!(console.state.panes.partitions.table.rows.len(), 6);

        // The mock has no admin APIs: configs and sizes degrade to notes.
        pump(&mut console, &cmd_tx, &mut upd_rx, 30, |c| {
            c.state
                .notes
                .iter()
                .any(|n| n.starts_with("configs unavailable") || n.starts_with("sizes unknown"))
        })
        .await;

        // Broker 2 goes down: the console marks it and keeps working.
        mock.broker_down(2).unwrap();
        console.act(Action::Refresh);
        pump(&mut console, &cmd_tx, &mut upd_rx, 30, |c| {
            c.state
                .panes
                .brokers
                .table
                .rows
                .iter()
                .any(|b| b.broker.id == 2 && !b.broker.up)
        })
        .await;
        console.act(Action::GoTo(PaneId::Brokers));
        let text = pane_text(&console);
        assert!(
            text.contains("1 down"),
            "the brokers pane counts the down broker:\n{text}"
        );
        console.act(Action::GoTo(PaneId::Partitions));
        console.settle();
        let text = pane_text(&console);
        assert!(text.contains("Partitions of spread (6)"), "{text}");
        // Still refreshing and answering keys afterwards.
        let before = console.state.data.metadata.fetched_at();
        pump(&mut console, &cmd_tx, &mut upd_rx, 20, |c| {
            c.state.data.metadata.fetched_at() != before
        })
        .await;
        let _ = sd_tx.send(true);
    });
}
