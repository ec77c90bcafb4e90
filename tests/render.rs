//! Snapshot tests of the console's screens: every pane, the help overlay, the filter line, the
//! connecting screen and a lost cluster with stale data, each at 80x24 (the smallest terminal
//! we promise to work in) and 160x48, rendered with ratatui's `TestBackend` from fixed state.
//! The `.snap` files under `tests/snapshots/` are the spec of how the console looks.
//!
//! Time is fixed: every `Instant` is an offset from one base, so "for 12 s" never drifts.
//! The theme is passed explicitly, so `NO_COLOR` in the environment changes nothing here.

use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use ratatui::Terminal;
use strom::app::keymap::Keymap;
use strom::app::state::{AppState, Connection, GroupSummary, Input, Pane, Target};
use strom::app::tables;
use strom::cluster::model::{Broker, ClusterSnapshot, ConfigEntry, ConfigSource, Partition, Topic};
use strom::ui::theme::Theme;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

/// The base every instant of a test is an offset from (only later instants are derived from it,
/// so no subtraction can underflow).
fn t0() -> Instant {
    Instant::now()
}

fn broker(id: i32, rack: &str, controller: bool) -> Broker {
    Broker {
        id,
        host: format!("kafka-{id}.prod.example.com"),
        port: 9092,
        rack: Some(rack.into()),
        is_controller: controller,
        up: true,
    }
}

/// A healthy partition of a 3-broker cluster, leaders spread round robin.
fn partition(id: i32, rf: usize, hw: i64) -> Partition {
    let replicas: Vec<i32> = (0..rf as i32).map(|r| (id + r) % 3 + 1).collect();
    Partition {
        id,
        leader: Some(replicas[0]),
        isr: replicas.clone(),
        replicas,
        error: None,
        log_start: Some(hw / 10),
        high_watermark: Some(hw),
        size_bytes: Some(hw as u64 * 180),
    }
}

fn topic(name: &str, parts: i32, rf: usize, hw: i64) -> Topic {
    Topic {
        name: name.into(),
        internal: name.starts_with("__"),
        partitions: (0..parts).map(|p| partition(p, rf, hw + p as i64 * 1_013)).collect(),
        error: None,
        retention_ms: Some(604_800_000),
        retention_bytes: Some(-1),
    }
}

fn snapshot() -> ClusterSnapshot {
    let mut heartbeat = topic("device-heartbeat", 12, 3, 1_250_000);
    // Partition 4 lost its leader; partition 7 has one replica out of sync.
    heartbeat.partitions[4].leader = None;
    heartbeat.partitions[4].isr.clear();
    heartbeat.partitions[4].error = Some("LEADER_NOT_AVAILABLE".into());
    heartbeat.partitions[7].isr.truncate(2);
    heartbeat.retention_ms = Some(86_400_000);

    let mut inventory = topic("inventory", 3, 3, 48_000);
    inventory.retention_bytes = Some(1 << 30);
    let mut parties = topic("parties", 1, 1, 900);
    // A cluster without DescribeLogDirs: sizes unknown; configs not fetched: retention unknown.
    parties.partitions[0].size_bytes = None;
    parties.retention_ms = None;
    parties.retention_bytes = None;
    let mut offsets = topic("__consumer_offsets", 50, 3, 20);
    offsets.retention_ms = Some(-1);

    let mut topics = vec![
        offsets,
        topic("device-event", 6, 3, 310_000),
        heartbeat,
        inventory,
        topic("orders", 8, 2, 2_400_000),
        topic("orders-dlq", 1, 2, 12),
        parties,
        topic("payments.v2.settlements-with-a-very-long-topic-name", 4, 3, 77_000),
    ];
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    ClusterSnapshot {
        cluster_id: Some("kx5fB2pBQ9yKq3S1cTt6Yw".into()),
        controller_id: Some(1),
        brokers: vec![
            broker(1, "eu-west-1a", true),
            broker(2, "eu-west-1b", false),
            broker(3, "eu-west-1c", false),
        ],
        topics,
    }
}

fn config(name: &str, value: &str, source: ConfigSource, default: Option<&str>) -> ConfigEntry {
    ConfigEntry {
        name: name.into(),
        value: Some(value.into()),
        source,
        read_only: false,
        sensitive: false,
        default_value: default.map(Into::into),
    }
}

fn configs() -> Vec<ConfigEntry> {
    use ConfigSource::*;
    vec![
        config("cleanup.policy", "delete", Default, None),
        config("compression.type", "producer", Default, None),
        config("max.message.bytes", "2097152", DynamicTopic, Some("1048588")),
        config("message.timestamp.type", "CreateTime", Default, None),
        config("min.insync.replicas", "2", StaticBroker, Some("1")),
        config("retention.bytes", "-1", Default, None),
        config("retention.ms", "86400000", DynamicTopic, Some("604800000")),
        config("segment.bytes", "1073741824", Default, None),
        config("segment.ms", "604800000", Default, None),
        config(
            "unclean.leader.election.enable",
            "false",
            DynamicDefaultBroker,
            Some("false"),
        ),
    ]
}

fn groups() -> Vec<GroupSummary> {
    let g = |name: &str, state: &str, members| GroupSummary {
        name: name.into(),
        state: state.into(),
        protocol_type: "consumer".into(),
        members,
    };
    vec![
        g("heartbeat-monitor", "Stable", 3),
        g("inventory-sync", "Stable", 1),
        g("billing-archiver", "Empty", 0),
        g("dashboard", "PreparingRebalance", 2),
    ]
}

/// The cluster answering normally, with data 2 s old, on `pane`.
fn live_state(pane: Pane) -> AppState {
    let base = t0();
    let target = Target {
        name: "bundled".into(),
        bootstrap: "127.0.0.1:9092".into(),
        bundled: true,
    };
    let mut state = AppState::new(target, base);
    state.now = base + Duration::from_secs(120);
    state.connection = Connection::Up;
    state.snapshot = snapshot();
    state.snapshot_at = Some(base + Duration::from_secs(118));
    state.current_topic = Some("device-heartbeat".into());
    state.topic_configs = Some(("device-heartbeat".into(), Ok(configs())));
    state.group_list = groups();
    state.pane = pane;
    tables::rebuild_all(&mut state);
    // Somewhere in the middle, so the highlight is visible and not trivially at the top.
    state.topics.selected = 2;
    state
}

fn draw(state: &AppState, theme: &Theme, (w, h): (u16, u16)) -> Terminal<TestBackend> {
    let keymap = Keymap::load(None).expect("default keymap");
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    terminal
        .draw(|f| strom::ui::render(f, state, theme, &keymap))
        .expect("draw");
    terminal
}

/// Snapshots `state` at both sizes as `NAME_WxH`.
fn snap_both(name: &str, state: &AppState) {
    let theme = Theme::default();
    for size in SIZES {
        let terminal = draw(state, &theme, size);
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), terminal.backend());
    }
}

#[test]
fn topics_pane() {
    snap_both("topics", &live_state(Pane::Topics));
}

#[test]
fn partitions_pane_with_offline_and_under_replicated_partitions() {
    snap_both("partitions", &live_state(Pane::Partitions));
}

#[test]
fn partitions_pane_before_a_topic_is_chosen() {
    let mut state = live_state(Pane::Partitions);
    state.current_topic = None;
    tables::rebuild_all(&mut state);
    snap_both("partitions_no_topic", &state);
}

#[test]
fn brokers_pane_with_one_broker_down() {
    let mut state = live_state(Pane::Brokers);
    state.snapshot.brokers[2].up = false;
    snap_both("brokers", &state);
}

#[test]
fn groups_pane() {
    snap_both("groups", &live_state(Pane::Groups));
}

#[test]
fn configs_pane_shows_overrides_first() {
    snap_both("configs", &live_state(Pane::Configs));
}

#[test]
fn configs_pane_shows_the_clusters_error() {
    let mut state = live_state(Pane::Configs);
    state.topic_configs = Some((
        "device-heartbeat".into(),
        Err("TOPIC_AUTHORIZATION_FAILED: not authorized to describe configs of topic device-heartbeat".into()),
    ));
    tables::rebuild_all(&mut state);
    snap_both("configs_error", &state);
}

#[test]
fn help_overlay() {
    let mut state = live_state(Pane::Topics);
    state.show_help = true;
    snap_both("help", &state);
}

#[test]
fn filter_line_while_typing() {
    let mut state = live_state(Pane::Topics);
    state.input = Input::Filter("DEV".into());
    state.topics.filter = "DEV".into();
    tables::rebuild(&mut state, Pane::Topics);
    snap_both("filter", &state);
}

#[test]
fn palette_line_while_typing() {
    let mut state = live_state(Pane::Brokers);
    state.input = Input::Palette("groups".into());
    snap_both("palette", &state);
}

#[test]
fn flash_message_in_the_footer() {
    let mut state = live_state(Pane::Groups);
    state.flash("unknown command 'tpics' (try :topics, :groups, :q)");
    snap_both("flash", &state);
}

#[test]
fn connecting_before_any_answer() {
    let base = t0();
    let target = Target {
        name: "127.0.0.1:9092".into(),
        bootstrap: "127.0.0.1:9092".into(),
        bundled: false,
    };
    let mut state = AppState::new(target, base);
    state.now = base + Duration::from_secs(4);
    tables::rebuild_all(&mut state);
    snap_both("connecting", &state);
}

#[test]
fn no_answer_before_any_data() {
    let base = t0();
    let target = Target {
        name: "127.0.0.1:1".into(),
        bootstrap: "127.0.0.1:1".into(),
        bundled: false,
    };
    let mut state = AppState::new(target, base);
    state.now = base + Duration::from_secs(12);
    state.connection = Connection::Lost {
        since: base,
        error: "BrokerTransportFailure: Connect to ipv4#127.0.0.1:1 failed: Connection refused".into(),
    };
    tables::rebuild_all(&mut state);
    snap_both("no_answer", &state);
}

#[test]
fn no_answer_retrying_with_stale_data() {
    let mut state = live_state(Pane::Topics);
    let now = state.now;
    // The last good refresh 15 s ago, nothing since 12 s ago.
    state.snapshot_at = Some(now - Duration::from_secs(15));
    state.connection = Connection::Lost {
        since: now - Duration::from_secs(12),
        error: "Local: Timed out (after 5000 ms)".into(),
    };
    state.notes = vec!["no DescribeLogDirs: sizes unknown".into()];
    snap_both("stale", &state);
}

#[test]
fn selection_is_visible_without_colour() {
    // NO_COLOR: the selected row must still stand out (reversed) and carry the marker.
    let state = live_state(Pane::Topics);
    let terminal = draw(&state, &Theme::no_color(), (80, 24));
    let buf = terminal.backend().buffer();
    let selected_y = (0..24)
        .find(|y| buf[(1, *y)].symbol() == ">")
        .expect("a row marked '>'");
    assert!(buf[(10, selected_y)].modifier.contains(Modifier::REVERSED));
    for y in 0..24 {
        for x in 0..80 {
            let c = &buf[(x, y)];
            assert_eq!(
                (c.fg, c.bg),
                (ratatui::style::Color::Reset, ratatui::style::Color::Reset),
                "colour at {x},{y}"
            );
        }
    }
}

#[test]
fn every_shipped_theme_renders_every_pane_at_the_smallest_size() {
    for (name, _) in strom::ui::theme::SHIPPED {
        let theme = Theme::load(name).expect("shipped theme");
        for pane in Pane::ALL {
            let state = live_state(pane);
            let a = draw(&state, &theme, (80, 24));
            let b = draw(&state, &Theme::default(), (80, 24));
            // Themes change colours, never text.
            assert_eq!(a.backend().to_string(), b.backend().to_string(), "{name} {pane:?}");
        }
    }
}

#[test]
fn tiny_terminals_do_not_panic() {
    for pane in Pane::ALL {
        let mut state = live_state(pane);
        state.show_help = true;
        for (w, h) in [(1, 1), (10, 3), (20, 6), (40, 10), (79, 23)] {
            draw(&state, &Theme::default(), (w, h));
        }
    }
}

#[test]
fn page_height_matches_the_rows_drawn() {
    let state = live_state(Pane::Topics);
    let screen = ratatui::layout::Rect::new(0, 0, 80, 24);
    // 24 - header - tabs - footer = 21 for the pane; minus borders and the column header.
    assert_eq!(strom::ui::page_height(screen, &state), 18);
}
