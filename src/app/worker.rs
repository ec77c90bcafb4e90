//! The background worker: owns the cluster client, refreshes on a schedule, answers commands,
//! and sends owned-data updates. The UI never awaits any of this.
//!
//! Refreshes never overlap: if one is still running (a slow cluster), the next tick is
//! skipped, so a cluster that stops answering costs one in-flight request, not a pile-up.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use crate::app::action::{Command, Update};
use crate::cluster::client::ClusterClient;
use crate::cluster::model::ClusterSnapshot;

/// How often metadata and offsets are refreshed.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);
/// Sizes and retention change slowly and cost more: refresh them less often.
const SLOW_REFRESH_EVERY: Duration = Duration::from_secs(10);

struct Slow {
    /// Last sizes and retention per topic, carried into each fast refresh.
    sizes: std::collections::HashMap<(String, i32), u64>,
    retention: std::collections::HashMap<String, (Option<i64>, Option<i64>)>,
    at: Option<Instant>,
}

pub async fn run(
    client: Arc<ClusterClient>,
    mut commands: mpsc::Receiver<Command>,
    updates: mpsc::Sender<Update>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(REFRESH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut refreshing: Option<tokio::task::JoinHandle<()>> = None;
    let slow = Arc::new(std::sync::Mutex::new(Slow {
        sizes: Default::default(),
        retention: Default::default(),
        at: None,
    }));
    // A broker to ask for the broker-level values behind topic configs (the controller when
    // known), from the last refresh.
    let config_broker = Arc::new(std::sync::atomic::AtomicI32::new(-1));
    let noted = Arc::new(std::sync::Mutex::new(HashSet::<String>::new()));
    loop {
        let refresh_now = tokio::select! {
            _ = tick.tick() => true,
            cmd = commands.recv() => match cmd {
                None => return,
                Some(Command::Refresh) => true,
                Some(Command::TopicConfigs { id, topic }) => {
                    let (c, tx) = (Arc::clone(&client), updates.clone());
                    let broker = config_broker.load(std::sync::atomic::Ordering::Relaxed);
                    tokio::spawn(async move {
                        let mut broker = (broker >= 0).then_some(broker);
                        if broker.is_none() {
                            // Asked before the first refresh: find a broker for the defaults.
                            let c2 = Arc::clone(&c);
                            let t2 = topic.clone();
                            broker = tokio::task::spawn_blocking(move || c2.any_broker(&t2)).await.ok().flatten();
                        }
                        let result = c.topic_configs(&topic, broker).await.map_err(|e| e.to_string());
                        let _ = tx.send(Update::TopicConfigs { id, topic, result }).await;
                    });
                    false
                }
            },
            _ = shutdown.changed() => return,
        };
        if refresh_now && refreshing.as_ref().is_none_or(|h| h.is_finished()) {
            refreshing = Some(tokio::spawn(refresh(
                Arc::clone(&client),
                updates.clone(),
                Arc::clone(&slow),
                Arc::clone(&noted),
                Arc::clone(&config_broker),
            )));
        }
    }
}

async fn note_once(noted: &std::sync::Mutex<HashSet<String>>, updates: &mpsc::Sender<Update>, key: &str, text: String) {
    let fresh = noted.lock().map(|mut n| n.insert(key.to_string())).unwrap_or(false);
    if fresh {
        let _ = updates.send(Update::Note(text)).await;
    }
}

async fn refresh(
    client: Arc<ClusterClient>,
    updates: mpsc::Sender<Update>,
    slow: Arc<std::sync::Mutex<Slow>>,
    noted: Arc<std::sync::Mutex<HashSet<String>>>,
    config_broker: Arc<std::sync::atomic::AtomicI32>,
) {
    let c = Arc::clone(&client);
    let fast = tokio::task::spawn_blocking(move || -> Result<(ClusterSnapshot, Option<String>), String> {
        let mut snap = c.metadata().map_err(|e| e.to_string())?;
        c.probe_brokers(&mut snap);
        let offsets_error = c.fill_offsets(&mut snap).err().map(|e| e.to_string());
        Ok((snap, offsets_error))
    })
    .await;
    let (mut snap, offsets_error) = match fast {
        Ok(Ok(v)) => v,
        Ok(Err(error)) => {
            let _ = updates.send(Update::Unreachable { error }).await;
            return;
        }
        Err(e) => {
            let _ = updates
                .send(Update::Unreachable {
                    error: format!("refresh task failed: {e}"),
                })
                .await;
            return;
        }
    };
    if let Some(id) = snap.controller_id.or_else(|| snap.brokers.first().map(|b| b.id)) {
        config_broker.store(id, std::sync::atomic::Ordering::Relaxed);
    }
    if let Some(e) = offsets_error {
        note_once(&noted, &updates, "offsets", format!("offsets unavailable: {e}")).await;
    }

    // Sizes and retention: every SLOW_REFRESH_EVERY, and degrade to "unknown" with a note.
    let due = slow
        .lock()
        .map(|s| s.at.is_none_or(|at| at.elapsed() >= SLOW_REFRESH_EVERY))
        .unwrap_or(true);
    if due {
        let c = Arc::clone(&client);
        let probe = snap.clone();
        let sizes = tokio::task::spawn_blocking(move || {
            let mut s = probe;
            c.fill_sizes(&mut s).map(|_| s)
        })
        .await;
        let new_sizes = match sizes {
            Ok(Ok(s)) => Some(
                s.topics
                    .iter()
                    .flat_map(|t| {
                        t.partitions
                            .iter()
                            .filter_map(move |p| p.size_bytes.map(|b| ((t.name.clone(), p.id), b)))
                    })
                    .collect(),
            ),
            Ok(Err(e)) => {
                note_once(
                    &noted,
                    &updates,
                    "sizes",
                    format!("sizes unknown: the cluster does not answer DescribeLogDirs ({e})"),
                )
                .await;
                None
            }
            Err(_) => None,
        };
        let names: Vec<String> = snap.topics.iter().map(|t| t.name.clone()).collect();
        let mut retention = std::collections::HashMap::new();
        let mut retention_failed = None;
        // Bounded request size: configs for at most 200 topics per DescribeConfigs.
        for chunk in names.chunks(200) {
            match client.retention(chunk).await {
                Ok(r) => retention.extend(r),
                Err(e) => {
                    retention_failed = Some(e.to_string());
                    break;
                }
            }
        }
        if let Some(e) = retention_failed {
            note_once(&noted, &updates, "configs", format!("configs unavailable: {e}")).await;
        }
        if let Ok(mut s) = slow.lock() {
            if let Some(sizes) = new_sizes {
                s.sizes = sizes;
            }
            if !retention.is_empty() {
                s.retention = retention;
            }
            s.at = Some(Instant::now());
        }
    }
    if let Ok(s) = slow.lock() {
        for t in &mut snap.topics {
            if let Some((ms, bytes)) = s.retention.get(&t.name) {
                t.retention_ms = *ms;
                t.retention_bytes = *bytes;
            }
            for p in &mut t.partitions {
                p.size_bytes = s.sizes.get(&(t.name.clone(), p.id)).copied();
            }
        }
    }
    let _ = updates.send(Update::Snapshot(snap)).await;

    let c = Arc::clone(&client);
    match tokio::task::spawn_blocking(move || c.groups()).await {
        Ok(Ok(groups)) => {
            let _ = updates.send(Update::Groups(groups)).await;
        }
        Ok(Err(e)) => note_once(&noted, &updates, "groups", format!("consumer groups unavailable: {e}")).await,
        Err(_) => {}
    }
}
