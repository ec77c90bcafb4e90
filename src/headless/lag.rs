//! Lag for the headless commands: one round of the requests the console's worker makes for
//! the groups pane (the group list, each group's committed offsets, the watermarks of the
//! partitions they read, and the timestamps of the records they read next), fed to the same
//! lag monitor. `strom groups` takes one round; `strom lag` takes one, or one every few seconds
//! over `--window`, or keeps going with `--watch`.

use std::collections::BTreeSet;

use futures_util::stream::{self, StreamExt};

use crate::app::lag_monitor::LagMonitor;
use crate::app::panes::groups::GroupRow;
use crate::cluster::client::{Queries, OFFSETS_CHUNK};
use crate::cluster::error::ClusterError;
use crate::cluster::ffi::{CommittedOffset, OffsetSpec};
use crate::cluster::lag::Millis;
use crate::cluster::model::{GroupSummary, TopicPartition};

/// Requests in flight at once, as in the console.
const PARALLEL: usize = 4;
/// Record timestamps fetched per request.
const TIMESTAMPS_CHUNK: usize = 100;

/// One round for `groups` (every listed group when None): returns the group list as the
/// cluster gave it. Timestamps are fetched for at most `max_timestamps` partitions.
pub async fn sample(
    cluster: &dyn Queries,
    monitor: &mut LagMonitor,
    groups: Option<&[String]>,
    now: impl Fn() -> Millis,
    max_timestamps: usize,
) -> Result<Vec<GroupSummary>, ClusterError> {
    let list = cluster.groups().await?;
    monitor.set_groups(&list, now());
    let names: Vec<String> = match groups {
        Some(g) => g.to_vec(),
        None => list.iter().map(|g| g.name.clone()).collect(),
    };
    let answers: Vec<(String, Result<Vec<CommittedOffset>, ClusterError>)> = stream::iter(names)
        .map(|g| {
            let f = cluster.group_offsets(g.clone());
            async move { (g, f.await) }
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut offsets = Vec::with_capacity(answers.len());
    for (g, r) in answers {
        offsets.push((g, r?));
    }
    // Committed partitions, and those a member holds without a commit yet.
    let assigned = list
        .iter()
        .filter(|g| offsets.iter().any(|(n, _)| *n == g.name))
        .flat_map(|g| g.member_list.iter())
        .flat_map(|m| m.assignment.iter().map(|(t, p)| (t.to_string(), p)));
    let partitions: BTreeSet<TopicPartition> = offsets
        .iter()
        .flat_map(|(_, o)| o.iter().map(|c| (c.topic.clone(), c.partition)))
        .chain(assigned)
        .collect();
    let partitions: Vec<TopicPartition> = partitions.into_iter().collect();
    for spec in [OffsetSpec::Earliest, OffsetSpec::Latest] {
        let answers: Vec<_> = stream::iter(partitions.chunks(OFFSETS_CHUNK))
            .map(|c| cluster.offsets(spec, c.to_vec()))
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        let t = now();
        for a in answers {
            let a = a?;
            match spec {
                OffsetSpec::Earliest => monitor.observe_log_starts(&a),
                _ => monitor.observe_high_watermarks(&a, t),
            }
        }
    }
    let t = now();
    for (g, o) in &offsets {
        monitor.observe_group(g, o, t);
        monitor.want_timestamps(g);
    }
    let mut fetched = 0;
    while monitor.has_pending_timestamps() && fetched < max_timestamps {
        let wants = monitor.next_timestamps(TIMESTAMPS_CHUNK.min(max_timestamps - fetched));
        if wants.is_empty() {
            break;
        }
        fetched += wants.len();
        let answers = cluster.record_timestamps(wants.clone()).await?;
        monitor.apply_timestamps(&answers);
        // Asks nobody answered (a partition asked twice) are dropped, not asked forever.
        let unanswered: Vec<_> = wants
            .into_iter()
            .filter(|(t, p, o)| {
                !answers
                    .iter()
                    .any(|a| a.topic == *t && a.partition == *p && a.offset == *o)
            })
            .map(|(topic, partition, offset)| crate::cluster::tail::RecordTimestamp {
                topic,
                partition,
                offset,
                timestamp: None,
            })
            .collect();
        monitor.apply_timestamps(&unanswered);
    }
    Ok(list)
}

/// Every group's row as the groups pane shows it, from one round.
pub async fn group_rows(cluster: &dyn Queries, now: impl Fn() -> Millis) -> Result<Vec<GroupRow>, ClusterError> {
    let mut monitor = LagMonitor::new(Default::default());
    // Enough for exact time lags of a few hundred lagging groups; beyond, time lag is unknown.
    let list = sample(cluster, &mut monitor, None, &now, 2_000).await?;
    let t = now();
    Ok(list
        .into_iter()
        .map(|summary| GroupRow {
            lag: monitor.report(&summary.name, t, false).map(std::sync::Arc::new),
            summary,
        })
        .collect())
}

/// What `strom lag` was asked.
#[derive(Clone, Debug)]
pub struct LagOptions {
    pub group: String,
    pub json: bool,
    pub window: Option<std::time::Duration>,
    pub watch: bool,
    pub interval: std::time::Duration,
}

/// The shortest pause between two samples.
const ROUND_MIN: std::time::Duration = std::time::Duration::from_millis(100);

/// Exit status when any partition is STALL, STOP or ERROR.
pub const EXIT_ALERT: u8 = 3;

/// Runs `strom lag`: samples once, or over `--window`, or forever with `--watch`, printing
/// through `print`. Returns the group's last status.
pub async fn lag(
    cluster: &dyn Queries,
    opts: &LagOptions,
    mut print: impl FnMut(&str),
) -> Result<crate::cluster::lag::Status, ClusterError> {
    use crate::cluster::lag::LagConfig;
    let mut cfg = LagConfig::default();
    if let Some(w) = opts.window {
        cfg.window_ms = i64::try_from(w.as_millis()).unwrap_or(i64::MAX);
    }
    let mut monitor = LagMonitor::new(cfg);
    let now = crate::app::worker::wall_ms;
    let start = tokio::time::Instant::now();
    let names = [opts.group.clone()];
    loop {
        let list = sample(cluster, &mut monitor, Some(&names), now, 1_000).await?;
        let summary = list.iter().find(|g| g.name == opts.group);
        let report = monitor.report(&opts.group, now(), false);
        let has_offsets = report.as_ref().is_some_and(|r| !r.lag.partitions.is_empty());
        if summary.is_none() && !has_offsets {
            return Err(ClusterError::Client {
                bootstrap: String::new(),
                message: format!("consumer group '{}' does not exist", opts.group),
            });
        }
        // Sample until every partition's window is full (the first sample's time is a little
        // after the start), with a bound for partitions that never fill it.
        let complete = report
            .as_ref()
            .is_some_and(|r| r.lag.partitions.iter().all(|p| p.window_complete));
        let windowing = opts
            .window
            .is_some_and(|w| !complete && start.elapsed() < w + opts.interval * 2);
        if !windowing || opts.watch {
            print(&format_report(
                &opts.group,
                summary,
                report.as_ref(),
                opts.json,
                opts.watch,
            ));
        }
        if !windowing && !opts.watch {
            return Ok(report.map_or(crate::cluster::lag::Status::Ok, |r| r.lag.status));
        }
        let next = match opts.window {
            // A sample lands at the end of the window, not an interval after it.
            Some(w) if windowing && start.elapsed() < w => opts.interval.min(w - start.elapsed()).max(ROUND_MIN),
            Some(_) if windowing => ROUND_MIN,
            _ => opts.interval,
        };
        tokio::time::sleep(next).await;
    }
}

/// The report as `strom lag` prints it: a header line and the partitions' table, or one JSON
/// object (`compact`: on one line, for --watch).
pub fn format_report(
    group: &str,
    summary: Option<&GroupSummary>,
    report: Option<&crate::app::lag_monitor::GroupLagReport>,
    json: bool,
    compact: bool,
) -> String {
    use crate::app::columns::{json_rows, text_table};
    use crate::app::panes::group_detail::{PartitionLagRow, COLUMNS};
    let rows = report.map(|r| PartitionLagRow::rows(r, summary)).unwrap_or_default();
    let state = summary.map_or("Unknown", |s| s.state.as_str());
    let lag = report.map(|r| &r.lag);
    if json {
        let obj = serde_json::json!({
            "group": group,
            "state": state,
            "members": summary.map(|s| s.members),
            "total_lag": lag.and_then(|l| l.max_lag.map(|_| l.total_lag)),
            "max_lag": lag.and_then(|l| l.max_lag),
            "time_lag_ms": lag.and_then(|l| l.time_lag.ms()),
            "deleted_unread": lag.map_or(0, |l| l.deleted_unread),
            "drain_ms": lag.and_then(|l| l.drain_ms),
            "status": lag.map_or("OK", |l| l.status.as_str()),
            "reason": lag.and_then(|l| l.reason.as_ref()).map(|r| r.to_string()),
            "partitions": json_rows(&COLUMNS, &rows),
        });
        let mut s = if compact {
            obj.to_string()
        } else {
            serde_json::to_string_pretty(&obj).unwrap_or_default()
        };
        s.push('\n');
        return s;
    }
    let mut out = format!("group {group}  state {state}");
    if let Some(s) = summary {
        out.push_str(&format!("  members {}", s.members));
    }
    match lag {
        Some(l) if !l.partitions.is_empty() => {
            match l.max_lag {
                Some(_) => out.push_str(&format!("  total lag {}", l.total_lag)),
                None => out.push_str("  total lag -"),
            }
            out.push_str(&format!("  time lag {}", l.time_lag));
            if l.deleted_unread > 0 {
                out.push_str(&format!("  deleted unread {}", l.deleted_unread));
            }
            if let Some(d) = l.drain_ms {
                out.push_str(&format!("  drains in ~{}", crate::cluster::lag::format_duration_ms(d)));
            }
            out.push_str(&format!("  status {}", l.status));
            if let Some(r) = &l.reason {
                out.push_str(&format!(" ({}-{}: {})", r.topic, r.partition, r.reason));
            }
            out.push('\n');
            out.push_str(&text_table(&COLUMNS, &rows));
        }
        _ => out.push_str("  no committed offsets\n"),
    }
    out
}
