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
use strom::app::run::Console;
use strom::app::state::{AppState, Pane, Target};
use strom::cluster::client::ClusterClient;
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

/// Feeds worker updates into the console until `done` holds, bounded in time.
async fn pump(
    console: &mut Console,
    updates: &mut tokio::sync::mpsc::Receiver<Update>,
    secs: u64,
    done: impl Fn(&Console) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done(console) {
        assert!(
            Instant::now() < deadline,
            "condition not reached in {secs} s; screen:\n{}",
            screen(console)
        );
        if let Ok(Some(u)) = tokio::time::timeout(Duration::from_millis(500), updates.recv()).await {
            console.state.now = Instant::now();
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
        let client = Arc::new(ClusterClient::new(&bootstrap, Duration::from_secs(2)).unwrap());
        let (cmd_tx, cmd_rx) = tokio::sync::mpsc::channel(8);
        let (upd_tx, mut upd_rx) = tokio::sync::mpsc::channel(64);
        let (sd_tx, sd_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(strom::app::worker::run(client, cmd_rx, upd_tx, sd_rx));
        let target = Target {
            name: "mock".into(),
            bootstrap: bootstrap.clone(),
            bundled: false,
        };
        let mut console = Console::new(
            AppState::new(target, Instant::now()),
            Keymap::load(None).unwrap(),
            cmd_tx.clone(),
        );

        pump(&mut console, &mut upd_rx, 20, |c| {
            c.state.snapshot.brokers.len() == 3
                && c.state
                    .snapshot
                    .topic("spread")
                    .is_some_and(|t| t.partitions.len() == 6)
        })
        .await;
        let load = console.state.snapshot.broker_load();
        let leading = load.values().filter(|(leaders, _)| *leaders > 0).count();
        assert!(leading >= 2, "leaders spread across brokers: {load:?}");
        assert!(
            load.values().all(|(_, replicas)| *replicas == 6),
            "every broker holds a replica of each partition"
        );
        let spread = console.state.snapshot.topic("spread").unwrap();
        assert_eq!(spread.replication_factor(), 3);

        // Open the topic's partitions: the pane lists every partition with its leader.
        console.act(Action::GoTo(Pane::Topics));
        console.act(Action::Open);
        assert_eq!(console.state.pane, Pane::Partitions);
        let text = screen(&console);
        assert!(text.contains("spread"), "{text}");

        // The mock has no admin APIs: configs and sizes degrade to notes.
        pump(&mut console, &mut upd_rx, 30, |c| {
            c.state
                .notes
                .iter()
                .any(|n| n.contains("configs") || n.contains("sizes"))
        })
        .await;

        // Broker 2 goes down: the console marks it and keeps working.
        mock.broker_down(2).unwrap();
        let _ = cmd_tx.send(Command::Refresh).await;
        pump(&mut console, &mut upd_rx, 30, |c| {
            c.state.snapshot.brokers.iter().any(|b| b.id == 2 && !b.up)
        })
        .await;
        console.act(Action::GoTo(Pane::Brokers));
        let text = screen(&console);
        assert!(text.contains("down"), "brokers pane shows the down broker:\n{text}");
        console.act(Action::GoTo(Pane::Partitions));
        let text = screen(&console);
        assert!(text.contains("spread"), "{text}");
        // Still refreshing and answering keys afterwards.
        let before = console.state.snapshot_at;
        pump(&mut console, &mut upd_rx, 20, |c| c.state.snapshot_at != before).await;
        let _ = sd_tx.send(true);
    });
}
