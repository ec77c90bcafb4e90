//! The headless twins of the console's panes, for scripts and CI: `strom topics` and `strom
//! groups` ask the cluster the same queries as the console's worker, derive the same rows and
//! print them through the same column model, as a text table or (`--json`) one JSON array.
//!
//! Exit status: 0 when the listing is complete; 1 when the cluster could not be asked (no
//! answer, or an error for what the listing cannot do without); 2 for a usage or config
//! problem (decided before anything here runs). Data the listing can do without (sizes,
//! retention) is null when the cluster does not give it, with a warning on stderr.

pub mod lag;
pub mod tail;

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use futures_util::stream::{self, StreamExt};

use crate::app::columns::{json_rows, text_table, Column, Row};
use crate::app::panes::{groups, topics};
use crate::app::state::{ClusterData, Fetched};
use crate::cluster::client::{ClusterClient, Queries, CONFIGS_CHUNK, OFFSETS_CHUNK};
use crate::cluster::connect::ConnectionSpec;
use crate::cluster::error::ClusterError;
use crate::cluster::ffi::OffsetSpec;
use crate::cluster::model::{PartitionMap, TopicPartition};

/// What to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    Topics,
    Groups,
}

/// Requests in flight at once, as in the console.
const PARALLEL: usize = 4;

/// Runs a listing against `spec`, printing to stdout (warnings to stderr).
pub fn run(listing: Listing, spec: &ConnectionSpec, json: bool) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("strom: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: Result<(String, Vec<String>), ClusterError> = rt.block_on(async {
        let client = ClusterClient::new(spec)?;
        match listing {
            Listing::Topics => {
                let (rows, warnings) = topic_rows(&client).await?;
                Ok((render(&topics::COLUMNS, &rows, json), warnings))
            }
            Listing::Groups => {
                let rows = lag::group_rows(&client, crate::app::worker::wall_ms).await?;
                Ok((render(&groups::COLUMNS, &rows, json), Vec::new()))
            }
        }
    });
    match result {
        Ok((out, warnings)) => {
            for w in warnings {
                eprintln!("strom: {w}");
            }
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`strom topics | head`) is not an error worth a message.
            let _ = stdout.write_all(out.as_bytes()).and_then(|_| stdout.flush());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("strom: {}: {e}", spec.bootstrap);
            ExitCode::FAILURE
        }
    }
}

/// Runs `strom lag` against `spec`. Exit status: 0 when every partition is OK, WARN or REWIND,
/// 3 ([`lag::EXIT_ALERT`]) when any is STALL, STOP or ERROR, 1 when the cluster could not be
/// asked or the group does not exist.
pub fn run_lag(spec: &ConnectionSpec, opts: &lag::LagOptions) -> ExitCode {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("strom: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        let client = ClusterClient::new(spec)?;
        let print = |s: &str| {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(s.as_bytes()).and_then(|_| stdout.flush());
        };
        tokio::select! {
            r = lag::lag(&client, opts, print) => r.map(Some),
            // --watch ends here; the last round was printed.
            _ = tokio::signal::ctrl_c() => Ok(None),
        }
    });
    match result {
        Ok(Some(status)) if status.is_alert() => ExitCode::from(lag::EXIT_ALERT),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strom: {}: {e}", spec.bootstrap);
            ExitCode::FAILURE
        }
    }
}

/// Runs `strom tail` against `spec`: 0 when it printed what was asked, 1 when the cluster or
/// the topic could not be read.
pub fn run_tail(spec: &ConnectionSpec, opts: &tail::TailOptions) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match tail::tail(spec, opts, &mut stdout) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strom: {}: {e}", spec.bootstrap);
            ExitCode::FAILURE
        }
    }
}

fn render<R: Row + 'static>(columns: &'static [Column<R>], rows: &[R], json: bool) -> String {
    if json {
        let mut s = serde_json::to_string_pretty(&json_rows(columns, rows)).unwrap_or_else(|_| "[]".into());
        s.push('\n');
        s
    } else {
        text_table(columns, rows)
    }
}

/// Every topic's row, as the Topics pane derives it, and warnings about what is unknown.
pub async fn topic_rows(cluster: &dyn Queries) -> Result<(Vec<topics::TopicRow>, Vec<String>), ClusterError> {
    let md = cluster.metadata().await?;
    let partitions: Vec<TopicPartition> = md
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| p.leader.is_some())
                .map(move |p| (t.name.clone(), p.id))
        })
        .collect();
    let mut data = ClusterData::default();
    let mut warnings = Vec::new();
    for (spec, target) in [
        (OffsetSpec::Latest, &mut data.high_watermarks),
        (OffsetSpec::Earliest, &mut data.log_starts),
    ] {
        let answers: Vec<_> = stream::iter(partitions.chunks(OFFSETS_CHUNK))
            .map(|c| cluster.offsets(spec, c.to_vec()))
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        let mut map = PartitionMap::default();
        for a in answers {
            for o in a?.iter().filter(|o| o.error.is_none() && o.offset >= 0) {
                map.insert(&o.topic, o.partition, o.offset);
            }
        }
        *target = fetched(map);
    }
    let sizes: Vec<_> = stream::iter(md.brokers.iter().filter(|b| b.up).cloned())
        .map(|b| {
            let id = b.id;
            let f = cluster.log_dirs(b);
            async move { (id, f.await) }
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut by_broker = HashMap::new();
    for (id, r) in sizes {
        match r {
            Ok(s) => {
                by_broker.insert(id, s);
            }
            Err(e) => warnings.push(format!("sizes of broker {id} unknown: {e}")),
        }
    }
    data.sizes = fetched(by_broker);
    let names: Vec<String> = md.topics.iter().map(|t| t.name.clone()).collect();
    let retention: Vec<_> = stream::iter(names.chunks(CONFIGS_CHUNK))
        .map(|c| cluster.retention(c.to_vec()))
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut all = HashMap::new();
    for r in retention {
        match r {
            Ok(r) => all.extend(r),
            Err(e) => {
                warnings.push(format!("retention unknown: {e}"));
                break;
            }
        }
    }
    data.retention = fetched(all);
    data.metadata = fetched(md);
    Ok((topics::rows(&data), warnings))
}

fn fetched<T>(value: T) -> Fetched<T> {
    Fetched {
        value: Some(value),
        ..Fetched::default()
    }
}
