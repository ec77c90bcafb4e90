//! Snapshot tests of the console's screens: every pane, the help overlay, the filter line, the
//! connecting screen and a lost cluster with stale data, each at 80x24 (the smallest terminal
//! we promise to work in) and 160x48, rendered with ratatui's `TestBackend` from fixed state.
//! The `.snap` files under `tests/snapshots/` are the spec of how the console looks.
//!
//! Time is fixed: every `Instant` is an offset from one base, so "for 12 s" never drifts.
//! The theme is passed explicitly, so `NO_COLOR` in the environment changes nothing here.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use ratatui::Terminal;
use strom::app::keymap::Keymap;
use strom::app::modal::{Confirm, Effect, LineInput, Modal, RecordDetail};
use strom::app::panes::tail::TailPane;
use strom::app::panes::PaneId;
use strom::app::state::{AppState, Connection, Failure, Fetched, Part};
use strom::cluster::connect::ConnectionSpec;
use strom::cluster::model::{
    Broker, ConfigEntry, ConfigSource, GroupSummary, Metadata, PartitionMap, PartitionMeta, Retention, TopicMeta,
};
use strom::cluster::ops::PlanTable;
use strom::cluster::record_view::{Header, Record, TimestampType, ValueView};
use strom::cluster::tail::{PartitionStart, StartAt, TailItem, TailNotice, TailTarget};
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

/// A partition as a test describes it: metadata plus the offsets and size the cluster reported.
struct P {
    meta: PartitionMeta,
    log_start: i64,
    hw: i64,
    size: Option<u64>,
}

/// A topic as a test describes it.
struct T {
    name: String,
    partitions: Vec<P>,
    retention: Option<Retention>,
}

/// A healthy partition of a 3-broker cluster, leaders spread round robin.
fn partition(id: i32, rf: usize, hw: i64) -> P {
    let replicas: Vec<i32> = (0..rf as i32).map(|r| (id + r) % 3 + 1).collect();
    P {
        meta: PartitionMeta {
            id,
            leader: Some(replicas[0]),
            isr: replicas.clone(),
            replicas,
            error: None,
        },
        log_start: hw / 10,
        hw,
        size: Some(hw as u64 * 180),
    }
}

fn topic(name: &str, parts: i32, rf: usize, hw: i64) -> T {
    T {
        name: name.into(),
        partitions: (0..parts).map(|p| partition(p, rf, hw + p as i64 * 1_013)).collect(),
        retention: Some(Retention {
            ms: Some(604_800_000),
            bytes: Some(-1),
        }),
    }
}

fn topics() -> Vec<T> {
    let mut heartbeat = topic("device-heartbeat", 12, 3, 1_250_000);
    // Partition 4 lost its leader; partition 7 has one replica out of sync.
    heartbeat.partitions[4].meta.leader = None;
    heartbeat.partitions[4].meta.isr.clear();
    heartbeat.partitions[4].meta.error = Some("LEADER_NOT_AVAILABLE".into());
    heartbeat.partitions[7].meta.isr.truncate(2);
    heartbeat.retention = Some(Retention {
        ms: Some(86_400_000),
        bytes: Some(-1),
    });

    let mut inventory = topic("inventory", 3, 3, 48_000);
    inventory.retention = Some(Retention {
        ms: Some(604_800_000),
        bytes: Some(1 << 30),
    });
    let mut parties = topic("parties", 1, 1, 900);
    // A cluster without DescribeLogDirs: sizes unknown; configs not fetched: retention unknown.
    parties.partitions[0].size = None;
    parties.retention = None;
    let mut offsets = topic("__consumer_offsets", 50, 3, 20);
    offsets.retention = Some(Retention {
        ms: Some(-1),
        bytes: Some(-1),
    });

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
    topics
}

/// A dataset fetched successfully at `at`.
fn fetched<V>(value: V, at: Instant) -> Fetched<V> {
    Fetched {
        value: Some(value),
        parts: BTreeMap::from([(
            0,
            Part {
                ok_at: Some(at),
                ..Part::default()
            },
        )]),
    }
}

/// Puts the cluster of `topics` and `brokers` into the state's datasets, fetched at `at`.
fn load(state: &mut AppState, topics: Vec<T>, brokers: Vec<Broker>, at: Instant) {
    let (mut hw, mut ls, mut sizes, mut retention) = (
        PartitionMap::default(),
        PartitionMap::default(),
        HashMap::new(),
        HashMap::new(),
    );
    let mut metas = Vec::new();
    for t in topics {
        for p in &t.partitions {
            hw.insert(&t.name, p.meta.id, p.hw);
            ls.insert(&t.name, p.meta.id, p.log_start);
            // The leader's replica reports the size (the first replica when there is none).
            if let Some(size) = p.size {
                let b = p.meta.leader.unwrap_or(p.meta.replicas[0]);
                sizes
                    .entry(b)
                    .or_insert_with(PartitionMap::default)
                    .insert(&t.name, p.meta.id, size);
            }
        }
        if let Some(r) = t.retention {
            retention.insert(t.name.clone(), r);
        }
        metas.push(TopicMeta {
            internal: t.name.starts_with("__"),
            name: t.name,
            partitions: t.partitions.into_iter().map(|p| p.meta).collect(),
            error: None,
        });
    }
    state.data.metadata = fetched(
        Metadata {
            cluster_id: Some("kx5fB2pBQ9yKq3S1cTt6Yw".into()),
            controller_id: Some(1),
            brokers,
            topics: metas,
        },
        at,
    );
    state.data.high_watermarks = fetched(hw, at);
    state.data.log_starts = fetched(ls, at);
    state.data.sizes = fetched(sizes, at);
    state.data.retention = fetched(retention, at);
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
        protocol: "range".into(),
        members,
        member_list: vec![],
    };
    vec![
        g("heartbeat-monitor", "Stable", 3),
        g("inventory-sync", "Stable", 1),
        g("billing-archiver", "Empty", 0),
        g("dashboard", "PreparingRebalance", 2),
    ]
}

/// The cluster answering normally, with data 2 s old, on `pane`.
fn live_state(pane: PaneId) -> AppState {
    let base = t0();
    let mut state = AppState::new(ConnectionSpec::bundled("127.0.0.1:9092"), base);
    state.now = base + Duration::from_secs(120);
    state.connection = Connection::Up;
    let at = base + Duration::from_secs(118);
    load(
        &mut state,
        topics(),
        vec![
            broker(1, "eu-west-1a", true),
            broker(2, "eu-west-1b", false),
            broker(3, "eu-west-1c", false),
        ],
        at,
    );
    state.current_topic = Some("device-heartbeat".into());
    state
        .data
        .topic_configs
        .insert("device-heartbeat".into(), fetched(configs(), at));
    state.data.groups = fetched(groups(), at);
    state.focus = pane;
    state.rebuild_all();
    // Somewhere in the middle, so the highlight is visible and not trivially at the top.
    state.panes.topics.table.view.selected = 2;
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
    snap_both("topics", &live_state(PaneId::Topics));
}

#[test]
fn partitions_pane_with_offline_and_under_replicated_partitions() {
    snap_both("partitions", &live_state(PaneId::Partitions));
}

#[test]
fn partitions_pane_before_a_topic_is_chosen() {
    let mut state = live_state(PaneId::Partitions);
    state.current_topic = None;
    state.rebuild_all();
    snap_both("partitions_no_topic", &state);
}

#[test]
fn brokers_pane_with_one_broker_down() {
    let mut state = live_state(PaneId::Brokers);
    if let Some(md) = &mut state.data.metadata.value {
        md.brokers[2].up = false;
    }
    state.rebuild_all();
    snap_both("brokers", &state);
}

#[test]
fn groups_pane() {
    snap_both("groups", &live_state(PaneId::Groups));
}

#[test]
fn configs_pane_shows_overrides_first() {
    snap_both("configs", &live_state(PaneId::Configs));
}

#[test]
fn configs_pane_shows_the_clusters_error() {
    let mut state = live_state(PaneId::Configs);
    let mut failed = Fetched::default();
    failed.failed(
        0,
        state.now,
        "TOPIC_AUTHORIZATION_FAILED: not authorized to describe configs of topic device-heartbeat".into(),
    );
    state.data.topic_configs.insert("device-heartbeat".into(), failed);
    state.rebuild_all();
    snap_both("configs_error", &state);
}

#[test]
fn help_overlay() {
    let mut state = live_state(PaneId::Topics);
    state.modals.push(Modal::Help);
    snap_both("help", &state);
}

#[test]
fn filter_line_while_typing() {
    let mut state = live_state(PaneId::Topics);
    state.modals.push(Modal::Filter(LineInput::new("DEV")));
    state.panes.topics.table.view.filter = "DEV".into();
    state.panes.topics.table.resort();
    snap_both("filter", &state);
}

#[test]
fn palette_line_while_typing() {
    let mut state = live_state(PaneId::Brokers);
    state.modals.push(Modal::Palette(LineInput::new("groups")));
    snap_both("palette", &state);
}

#[test]
fn flash_message_in_the_footer() {
    let mut state = live_state(PaneId::Groups);
    state.flash("unknown command 'tpics' (try :topics, :groups, :q)");
    snap_both("flash", &state);
}

#[test]
fn connecting_before_any_answer() {
    let base = t0();
    let mut state = AppState::new(ConnectionSpec::bootstrap("127.0.0.1:9092"), base);
    state.now = base + Duration::from_secs(4);
    state.rebuild_all();
    snap_both("connecting", &state);
}

#[test]
fn no_answer_before_any_data() {
    let base = t0();
    let mut state = AppState::new(ConnectionSpec::bootstrap("127.0.0.1:1"), base);
    state.now = base + Duration::from_secs(12);
    state.connection = Connection::Lost {
        since: base,
        error: "BrokerTransportFailure: Connect to ipv4#127.0.0.1:1 failed: Connection refused".into(),
    };
    state.rebuild_all();
    snap_both("no_answer", &state);
}

/// The metadata's last good answer at `ok_at`, and a failure after it.
fn metadata_failing(state: &mut AppState, ok_at: Instant, failed_at: Instant, error: &str) {
    let part = state.data.metadata.parts.entry(0).or_default();
    part.ok_at = Some(ok_at);
    part.error = Some(Failure {
        message: error.into(),
        at: failed_at,
    });
}

#[test]
fn no_answer_retrying_with_stale_data() {
    let mut state = live_state(PaneId::Topics);
    let now = state.now;
    // The last good refresh 15 s ago, nothing since 12 s ago.
    let error = "Local: Timed out (after 5000 ms)";
    metadata_failing(&mut state, now - Duration::from_secs(15), now, error);
    state.connection = Connection::Lost {
        since: now - Duration::from_secs(12),
        error: error.into(),
    };
    state.notes = vec!["no DescribeLogDirs: sizes unknown".into()];
    snap_both("stale", &state);
}

#[test]
fn each_pane_marks_its_own_stale_data_and_late_answers() {
    // The configs failed after a good answer; the metadata is fine: only the configs pane
    // is stale.
    let mut state = live_state(PaneId::Configs);
    let now = state.now;
    if let Some(f) = state.data.topic_configs.get_mut("device-heartbeat") {
        f.failed(0, now, "no answer within 7 s (configs)".into());
    }
    snap_both("configs_stale", &state);
    state.focus = PaneId::Topics;
    let text = draw(&state, &Theme::default(), (80, 24)).backend().to_string();
    assert!(!text.contains("stale"), "the topics pane's data is fresh:\n{text}");
    // Offsets asked 7 s ago and not answered yet: the topics pane says it is waiting.
    state.data.high_watermarks.started(3, now - Duration::from_secs(7));
    snap_both("topics_waiting", &state);
}

#[test]
fn confirm_dialog_shows_the_plan_and_the_question() {
    let mut state = live_state(PaneId::Configs);
    state.modals.push(Modal::Confirm(Box::new(Confirm {
        title: "Alter configs of device-heartbeat".into(),
        summary: "alter configs of topic 'device-heartbeat': 1 set, 1 back to inherited".into(),
        table: PlanTable {
            headers: vec!["config", "now", "after", "now from"],
            rows: vec![
                vec![
                    "retention.ms".into(),
                    "86400000".into(),
                    "604800000".into(),
                    "topic".into(),
                ],
                vec![
                    "max.message.bytes".into(),
                    "2097152".into(),
                    "1048588 (inherited)".into(),
                    "topic".into(),
                ],
            ],
        },
        warnings: vec!["retention.ms 7d keeps 6 days more data on disk".into()],
        confirm_label: "apply".into(),
        on_confirm: Effect::Quit,
        typed: None,
    })));
    snap_both("confirm", &state);
}

#[test]
fn reset_form_with_its_hint_and_a_refused_submit() {
    let mut state = live_state(PaneId::Groups);
    let mut form = strom::app::changes::reset_form("billing".into());
    form.fields[0].input = strom::app::modal::LineInput::new("shift ten");
    form.error = Some("'ten' is not a number of records".into());
    state.modals.push(Modal::Form(Box::new(form)));
    snap_both("reset_form", &state);
}

#[test]
fn delete_topic_asks_for_the_name_and_the_result_notice_shows_kafkas_error() {
    let mut state = live_state(PaneId::Topics);
    state.modals.push(Modal::Confirm(Box::new(Confirm {
        title: "Delete topic".into(),
        summary: "delete topic 'device-heartbeat' and its 1,200 records".into(),
        table: PlanTable {
            headers: vec!["topic", "now"],
            rows: vec![vec!["partitions".into(), "6".into()]],
        },
        warnings: vec!["type 'device-heartbeat' and press Enter to confirm".into()],
        confirm_label: "apply".into(),
        on_confirm: Effect::Quit,
        typed: Some((
            "device-heartbeat".into(),
            strom::app::modal::LineInput::new("device-hea"),
        )),
    })));
    snap_both("confirm_typed", &state);
    state.modals.pop();
    state.modals.push(Modal::Notice(Box::new(strom::app::modal::Notice {
        title: "Cannot plan".into(),
        lines: vec!["delete group 'billing' refused: group 'billing' has 2 active members (Stable); Kafka deletes only groups without members (NON_EMPTY_GROUP)".into()],
        error: true,
    })));
    snap_both("notice_error", &state);
}

#[test]
fn selection_is_visible_without_colour() {
    // NO_COLOR: the selected row must still stand out (reversed) and carry the marker.
    let state = live_state(PaneId::Topics);
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
fn every_shipped_theme_renders_every_pane_in_its_own_styles_and_the_same_text() {
    let default = Theme::default();
    for (name, _) in strom::ui::theme::SHIPPED {
        let theme = Theme::load(name).expect("shipped theme");
        for pane in PaneId::ALL {
            let state = live_state(pane);
            let a = draw(&state, &theme, (80, 24));
            let b = draw(&state, &default, (80, 24));
            // Themes change styles, never text.
            assert_eq!(a.backend().to_string(), b.backend().to_string(), "{name} {pane:?}");
            // ...and the theme's own styles reach the screen: the header line and the
            // selected row are drawn in this theme's slots, not the default's.
            let buf = a.backend().buffer();
            let header = &buf[(79, 0)];
            assert_eq!(
                (header.fg, header.bg),
                (theme.header.fg.unwrap_or_default(), theme.header.bg.unwrap_or_default()),
                "{name} {pane:?} header"
            );
            if pane == PaneId::Topics {
                let y = (0..24).find(|y| buf[(1, *y)].symbol() == ">").expect("selected row");
                let cell = &buf[(10, y)];
                let want = theme.table_selected;
                assert!(
                    want.bg.is_none_or(|bg| cell.bg == bg) && want.fg.is_none_or(|fg| cell.fg == fg),
                    "{name}: selected row {cell:?} is not drawn in {want:?}"
                );
            }
        }
    }
}

#[test]
fn tiny_terminals_do_not_panic() {
    for pane in PaneId::ALL {
        let mut state = live_state(pane);
        state.modals.push(Modal::Help);
        for (w, h) in [(1, 1), (10, 3), (20, 6), (40, 10), (79, 23)] {
            draw(&state, &Theme::default(), (w, h));
        }
    }
}

#[test]
fn page_height_matches_the_rows_drawn() {
    let state = live_state(PaneId::Topics);
    let screen = ratatui::layout::Rect::new(0, 0, 80, 24);
    // 24 - header - tabs - footer = 21 for the pane; minus borders and the column header.
    assert_eq!(strom::ui::page_height(screen, &state), 18);
}

/// A profile's label is a banner in its colour in the header, and still stands out (reverse
/// video) with the colourless theme of `NO_COLOR`.
#[test]
fn profile_label_is_a_coloured_banner_in_the_header() {
    let mut state = live_state(PaneId::Topics);
    state.cluster.label = Some(("PRODUCTION".into(), "red".into()));
    let terminal = draw(&state, &Theme::default(), (80, 24));
    let buf = terminal.backend().buffer();
    let row: String = (0..80).map(|x| buf[(x, 0)].symbol().to_string()).collect();
    let at = row.find("PRODUCTION").unwrap_or_else(|| panic!("no banner in {row:?}")) as u16;
    assert_eq!(buf[(at, 0)].bg, ratatui::style::Color::Red, "{row}");
    let terminal = draw(&state, &Theme::no_color(), (80, 24));
    let cell = &terminal.backend().buffer()[(at, 0)];
    assert_eq!(cell.bg, ratatui::style::Color::Reset);
    assert!(cell.modifier.contains(ratatui::style::Modifier::REVERSED));
}

/// Groups with lag judged by the console's lag monitor from a minute of synthetic samples
/// (every 5 s), each group showing one status:
/// - heartbeat-monitor keeps up (OK, lag 0);
/// - event-archiver reads 60 of every 100 new records (WARN, lag 1000 -> 1440);
/// - inventory-sync has no member and its offsets do not move (STOP, lag 1800 -> 310 + ...);
/// - billing-archiver committed offset 200 while retention moved the log start to 500 (ERROR:
///   lag 300, 300 deleted unread);
/// - dashboard is rebalancing; one partition has no commit ("-"), the other lags 5.
fn lag_state() -> AppState {
    use std::sync::Arc;
    use strom::app::lag_monitor::LagMonitor;
    use strom::cluster::consumer_protocol::{Assignment, TopicPartitions};
    use strom::cluster::ffi::{CommittedOffset, ListedOffset};
    use strom::cluster::lag::LagConfig;
    use strom::cluster::model::GroupMember;

    const T0: i64 = 1_700_000_000_000;
    let member = |client: &str, holds: &[(&str, &[i32])]| GroupMember {
        member_id: format!("{client}-5b0c7a4e"),
        client_id: client.into(),
        host: "/127.0.0.1".into(),
        subscription: holds.iter().map(|(t, _)| t.to_string()).collect(),
        assignment: Assignment {
            version: 0,
            partitions: holds
                .iter()
                .map(|(t, ps)| TopicPartitions {
                    topic: t.to_string(),
                    partitions: ps.to_vec(),
                })
                .collect(),
            user_data: None,
        },
        decode_error: None,
    };
    let group = |name: &str, state: &str, members: Vec<GroupMember>| GroupSummary {
        name: name.into(),
        state: state.into(),
        protocol_type: "consumer".into(),
        protocol: if members.is_empty() {
            String::new()
        } else {
            "range".into()
        },
        members: members.len(),
        member_list: members,
    };
    let list = vec![
        group(
            "heartbeat-monitor",
            "Stable",
            vec![member("monitor-1", &[("device-heartbeat", &[0, 1])])],
        ),
        group(
            "event-archiver",
            "Stable",
            vec![member("archiver-1", &[("events", &[0])])],
        ),
        group("inventory-sync", "Empty", vec![]),
        group("billing-archiver", "Empty", vec![]),
        group(
            "dashboard",
            "PreparingRebalance",
            vec![
                member("dash-1", &[("clicks", &[0])]),
                member("dash-2", &[("clicks", &[1])]),
            ],
        ),
    ];
    let listed = |topic: &str, partition: i32, offset: i64| ListedOffset {
        topic: topic.into(),
        partition,
        offset,
        timestamp: -1,
        leader_epoch: None,
        error: None,
    };
    let committed = |topic: &str, partition: i32, offset: Option<i64>| CommittedOffset {
        topic: topic.into(),
        partition,
        offset,
        metadata: None,
        leader_epoch: None,
        error: None,
    };
    let mut m = LagMonitor::new(LagConfig::default());
    let mut now = T0;
    for i in 0..13 {
        now = T0 + i * 5_000;
        m.set_groups(&list, now);
        m.observe_log_starts(&[
            listed("device-heartbeat", 0, 0),
            listed("device-heartbeat", 1, 0),
            listed("events", 0, 0),
            listed("inventory", 0, 0),
            listed("invoices", 0, 500),
            listed("clicks", 0, 0),
            listed("clicks", 1, 0),
        ]);
        m.observe_high_watermarks(
            &[
                listed("device-heartbeat", 0, 1000 + 50 * i),
                listed("device-heartbeat", 1, 900 + 50 * i),
                listed("events", 0, 5000 + 100 * i),
                listed("inventory", 0, 2000 + 10 * i),
                listed("invoices", 0, 800),
                listed("clicks", 0, 70),
                listed("clicks", 1, 90 + i),
            ],
            now,
        );
        m.observe_group(
            "heartbeat-monitor",
            &[
                committed("device-heartbeat", 0, Some(1000 + 50 * i)),
                committed("device-heartbeat", 1, Some(900 + 50 * i)),
            ],
            now,
        );
        m.observe_group("event-archiver", &[committed("events", 0, Some(4000 + 60 * i))], now);
        m.observe_group("inventory-sync", &[committed("inventory", 0, Some(1800))], now);
        m.observe_group("billing-archiver", &[committed("invoices", 0, Some(200))], now);
        m.observe_group(
            "dashboard",
            &[committed("clicks", 0, None), committed("clicks", 1, Some(85 + i))],
            now,
        );
    }
    let mut state = live_state(PaneId::Groups);
    let at = state.now - Duration::from_secs(2);
    state.data.groups = fetched(list.clone(), at);
    for g in &list {
        let report = m.report(&g.name, now, true).expect("observed");
        state
            .data
            .group_lag
            .insert(g.name.clone(), fetched(Arc::new(report), at));
    }
    state.rebuild_all();
    state
}

/// The text of the screen line holding `needle`.
fn line_with(terminal: &Terminal<TestBackend>, needle: &str) -> String {
    screen_lines(terminal)
        .into_iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?}:\n{}", terminal.backend()))
}

fn screen_lines(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buf = terminal.backend().buffer();
    let w = buf.area.width;
    (0..buf.area.height)
        .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>())
        .collect()
}

fn words(line: &str) -> Vec<&str> {
    // Cells, without the borders and the selection mark.
    line.split(|c: char| c.is_whitespace() || c == '│')
        .filter(|w| !w.is_empty() && *w != ">")
        .collect()
}

#[test]
fn groups_pane_with_lag_shows_each_groups_numbers_and_status() {
    let state = lag_state();
    snap_both("groups_lag", &state);
    let t = draw(&state, &Theme::default(), (160, 48));
    // Name, state, members, lag, max partition lag, time lag..., status.
    let ok = line_with(&t, "heartbeat-monitor");
    assert_eq!(words(&ok)[1..5], ["Stable", "1", "0", "0"], "{ok}");
    assert!(ok.contains(" OK "), "{ok}");
    let warn = line_with(&t, "event-archiver");
    assert_eq!(words(&warn)[1..5], ["Stable", "1", "1480", "1480"], "{warn}");
    assert!(warn.contains("WARN"), "{warn}");
    let stop = line_with(&t, "inventory-sync");
    assert_eq!(words(&stop)[1..5], ["Empty", "0", "320", "320"], "{stop}");
    assert!(stop.contains("STOP"), "{stop}");
    let error = line_with(&t, "billing-archiver");
    assert_eq!(words(&error)[1..5], ["Empty", "0", "300", "300"], "{error}");
    assert!(error.contains("ERROR"), "{error}");
    let dash = line_with(&t, "dashboard");
    assert_eq!(words(&dash)[1..5], ["PreparingRebalance", "2", "5", "5"], "{dash}");
    // The title counts the groups that want attention.
    line_with(&t, "· 1 ERROR · 1 STOP · 1 WARN");
}

#[test]
fn group_detail_shows_members_partitions_and_the_lag_chart() {
    let mut state = lag_state();
    state.panes.groups.open("billing-archiver".into(), &state.data);
    state.rebuild_all();
    snap_both("group_detail_below_log_start", &state);
    let t = draw(&state, &Theme::default(), (160, 48));
    let row = line_with(&t, "invoices");
    // Topic, partition, committed, log start, high watermark, lag with the deleted count.
    assert_eq!(
        words(&row)[..8],
        ["invoices", "0", "200", "500", "800", "300", "(+300", "deleted)"],
        "{row}"
    );
    assert!(row.contains("ERROR"), "{row}");
    line_with(&t, "no members: nobody is consuming");
    line_with(&t, "Total lag");

    let mut state = lag_state();
    state.panes.groups.open("dashboard".into(), &state.data);
    state.rebuild_all();
    snap_both("group_detail_members", &state);
    let t = draw(&state, &Theme::default(), (160, 48));
    line_with(&t, "dash-1");
    line_with(&t, "clicks[1]");
    // No commit: "-" for committed and lag, not 0.
    let p0 = screen_lines(&t)
        .iter()
        .map(|l| words(l).join(" "))
        .find(|l| l.starts_with("clicks 0 "))
        .unwrap_or_else(|| panic!("no row of clicks-0:\n{}", t.backend()));
    assert!(p0.starts_with("clicks 0 - 0 70 -"), "{p0}");
}

/// A record of the tail as a test describes it.
fn tail_record(partition: i32, offset: i64, key: Option<&[u8]>, value: Option<&[u8]>, headers: usize) -> TailItem {
    TailItem::Record(Record {
        topic: std::sync::Arc::from("device-heartbeat"),
        partition,
        offset,
        // 2024-05-01 12:03:04.123 UTC plus a second per offset.
        timestamp: Some(1_714_564_984_123 + offset * 1000),
        timestamp_type: if partition == 2 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        },
        key: key.map(<[u8]>::to_vec),
        value: value.map(<[u8]>::to_vec),
        headers: (0..headers)
            .map(|i| Header {
                key: format!("h{i}"),
                value: Some(format!("v{i}").into_bytes()),
            })
            .collect(),
    })
}

/// The topics pane with the tail of device-heartbeat open: text, JSON, binary and hostile
/// values, keys and headers, 40 records a second for the last 10 s.
fn tail_state() -> AppState {
    let mut state = live_state(PaneId::Topics);
    let base = state.now - Duration::from_secs(120);
    let target = TailTarget {
        topic: "device-heartbeat".into(),
        partition: None,
    };
    let mut tail = TailPane::new(1, target, StartAt::Latest, base + Duration::from_secs(100));
    let started = TailNotice::Started {
        at: StartAt::Latest,
        partitions: (0..3)
            .map(|p| PartitionStart {
                partition: p,
                offset: 1000,
                log_start: 0,
                high_watermark: 1000,
            })
            .collect(),
    };
    tail.apply(vec![TailItem::Notice(started)], base + Duration::from_secs(110));
    let mut offset = 1000;
    for second in 0..10u64 {
        let mut batch = Vec::new();
        for i in 0..40 {
            let p = (i % 3) as i32;
            let item = match i % 8 {
                0 => tail_record(
                    p,
                    offset,
                    Some(b"sensor-17"),
                    Some(b"{\"temp\": 21.5, \"ok\": true}"),
                    2,
                ),
                1 => tail_record(p, offset, None, Some(b"plain text reading"), 0),
                2 => tail_record(
                    p,
                    offset,
                    Some(b"\x00\x01bin"),
                    Some(&[0xde, 0xad, 0xbe, 0xef, 0x00, 0x10]),
                    1,
                ),
                3 => tail_record(
                    p,
                    offset,
                    Some(b"evil"),
                    Some(b"\x1b[2J\x1b]0;pwned\x07bell\r\nnext\xe2\x80\xaeRTL"),
                    0,
                ),
                4 => tail_record(p, offset, Some(b"k"), None, 3),
                _ => tail_record(
                    p,
                    offset,
                    Some(b"sensor-18"),
                    Some(format!("reading {offset}").as_bytes()),
                    1,
                ),
            };
            batch.push(item);
            offset += 1;
        }
        tail.apply(batch, base + Duration::from_secs(110 + second + 1));
    }
    state.tail = Some(tail);
    state
}

fn assert_no_raw_controls(terminal: &Terminal<TestBackend>) {
    for line in screen_lines(terminal) {
        assert!(
            !line
                .chars()
                .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "a control character reached the screen: {line:?}"
        );
    }
}

#[test]
fn tail_pane_shows_records_and_the_status_line() {
    let state = tail_state();
    snap_both("tail", &state);
    let t = draw(&state, &Theme::default(), (160, 48));
    assert_no_raw_controls(&t);
    let status = line_with(&t, "rec/s");
    assert!(status.contains("40 rec/s"), "{status}");
    assert!(status.contains("400 buffered"), "{status}");
    assert!(status.contains("0 dropped"), "{status}");
    line_with(&t, "● following");
    line_with(&t, "Tail device-heartbeat (3 partitions) · new records");
    // The newest record is at the bottom, selected: partition, offset, timestamp with its type.
    let newest = line_with(&t, " 1399 ");
    assert!(newest.starts_with("│> "), "{newest}");
    assert_eq!(
        words(&newest)[..5],
        ["0", "1399", "2024-05-01", "12:26:23.123", "create"],
        "{newest}"
    );
    // A value full of controls is binary to the auto view: hex. Binary values are hex,
    // JSON is compacted, a null value and a null key say null.
    line_with(&t, "1b 5b 32 4a 1b 5d 30 3b 70 77 6e 65 64 07");
    line_with(&t, "de ad be ef 00 10");
    line_with(&t, "{\"temp\":21.5,\"ok\":true}");
    line_with(&t, "append");
    // As text, the controls are escapes.
    let mut text = tail_state();
    text.tail.as_mut().unwrap().cycle_view();
    let t = draw(&text, &Theme::default(), (160, 48));
    assert_no_raw_controls(&t);
    line_with(&t, "\\x1b[2J\\x1b]0;pwned\\x07bell\\r\\nnext\\u{202e}RTL");
    line_with(&t, "view text");
    let keys = draw(&state, &Theme::default(), (80, 24));
    assert_no_raw_controls(&keys);
    // The footer says the tail's keys.
    line_with(&keys, "Space pause");
}

#[test]
fn tail_pane_filtered_paused_with_dropped_records() {
    let mut state = live_state(PaneId::Partitions);
    let target = TailTarget {
        topic: "device-heartbeat".into(),
        partition: Some(0),
    };
    // A ring of 100: what the pane keeps is bounded, and the status says what it dropped.
    let mut tail = TailPane::with_capacity(
        2,
        target,
        StartAt::Earliest,
        state.now - Duration::from_secs(5),
        100,
        usize::MAX,
    );
    let started = TailNotice::Started {
        at: StartAt::Earliest,
        partitions: vec![PartitionStart {
            partition: 0,
            offset: 0,
            log_start: 0,
            high_watermark: 250,
        }],
    };
    let mut items = vec![TailItem::Notice(started)];
    for o in 0..250 {
        items.push(tail_record(
            0,
            o,
            Some(b"k"),
            Some(format!("reading {o}").as_bytes()),
            0,
        ));
    }
    items.push(TailItem::Notice(TailNotice::Eof {
        partition: 0,
        offset: 250,
    }));
    items.push(TailItem::Notice(TailNotice::Paused));
    tail.apply(items, state.now);
    tail.set_filter("value:/^reading 1[0-9]5$/");
    tail.move_by(-1);
    state.tail = Some(tail);
    snap_both("tail_filtered_paused", &state);
    let t = draw(&state, &Theme::default(), (160, 48));
    let status = line_with(&t, "rec/s");
    assert!(status.contains("5 of 100 shown"), "{status}");
    assert!(status.contains("150 dropped"), "{status}");
    assert!(status.contains("at the end"), "{status}");
    line_with(&t, "‖ paused");
    line_with(&t, "/value:/^reading 1[0-9]5$/");
    line_with(&t, "Tail device-heartbeat partition 0 · from the beginning");
    // The selection is one above the newest match, and the rows are the matches only.
    let rows: Vec<String> = screen_lines(&t)
        .into_iter()
        .filter(|l| l.starts_with('│') && l.contains("reading 1"))
        .collect();
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(rows[3].starts_with("│> "), "{}", rows[3]);
    assert_eq!(words(&rows[3])[..2], ["0", "185"], "{}", rows[3]);
}

#[test]
fn record_detail_shows_every_header_and_the_value_in_its_view() {
    let mut state = tail_state();
    let tail = state.tail.as_mut().unwrap();
    // The last JSON record: offset 1392.
    tail.move_by(-7);
    let record = tail.selected_record().unwrap().clone();
    assert_eq!(record.offset, 1392);
    state.modals.push(Modal::Record(Box::new(RecordDetail {
        record: record.clone(),
        view: ValueView::Json,
        scroll: 0,
    })));
    snap_both("tail_record_json", &state);
    let t = draw(&state, &Theme::default(), (160, 48));
    line_with(&t, "Record device-heartbeat-2 @ 1392");
    line_with(&t, "Headers (2):");
    line_with(&t, "h1 = v1");
    line_with(&t, "\"temp\": 21.5,");
    // Hex view of a hostile value: the bytes, not their effect.
    let hostile = state
        .tail
        .as_ref()
        .unwrap()
        .buffer
        .iter()
        .find(|r| r.key.as_deref() == Some(b"evil"))
        .unwrap()
        .clone();
    state.modals.pop();
    state.modals.push(Modal::Record(Box::new(RecordDetail {
        record: hostile,
        view: ValueView::Hex,
        scroll: 0,
    })));
    snap_both("tail_record_hex", &state);
    let t = draw(&state, &Theme::default(), (160, 48));
    assert_no_raw_controls(&t);
    line_with(&t, "1b 5b 32 4a 1b 5d 30 3b");
}

#[test]
fn tail_pane_before_any_record_and_after_a_failure() {
    let mut state = live_state(PaneId::Partitions);
    let target = TailTarget {
        topic: "orders".into(),
        partition: Some(3),
    };
    state.tail = Some(TailPane::new(4, target, StartAt::Latest, state.now));
    let t = draw(&state, &Theme::default(), (80, 24));
    line_with(&t, "starting the tail…");
    line_with(&t, "Tail orders partition 3");
    let tail = state.tail.as_mut().unwrap();
    tail.apply(
        vec![TailItem::Notice(TailNotice::Failed(
            "topic 'orders' has no partition 3 (it has 2 partitions)".into(),
        ))],
        state.now,
    );
    snap_both("tail_failed", &state);
    let t = draw(&state, &Theme::default(), (80, 24));
    line_with(&t, "the tail stopped: topic 'orders' has no partition 3");
    line_with(&t, "stopped");
    // Tiny screens do not panic, with the detail open too.
    let mut state = tail_state();
    let r = state.tail.as_ref().unwrap().selected_record().unwrap().clone();
    state.modals.push(Modal::Record(Box::new(RecordDetail {
        record: r,
        view: ValueView::Text,
        scroll: 1000,
    })));
    for (w, h) in [(1, 1), (10, 3), (20, 6), (40, 10), (79, 23)] {
        draw(&state, &Theme::default(), (w, h));
    }
    let screen = ratatui::layout::Rect::new(0, 0, 80, 24);
    // 21 rows for the pane: borders, the column header and the status line take 4.
    assert_eq!(strom::ui::page_height(screen, &state), 17);
}
