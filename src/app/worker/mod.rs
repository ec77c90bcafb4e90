//! The background worker: owns the cluster's clients (behind [`Queries`]), runs the refresh
//! jobs the [`Scheduler`] starts, answers commands, and sends owned-data updates. The UI never
//! awaits any of this.
//!
//! Each dataset is refreshed by its own jobs: metadata; latest and earliest offsets in chunks
//! of partitions (the topics on screen in the first chunk); sizes per broker; retention in
//! chunks of topics; the group list; the open topic's configs; committed offsets of the groups
//! asked for, every group's in the list (the groups on screen first and most often), which the
//! worker's lag monitor turns into each group's lag and status; and the timestamps of the
//! records those groups on screen read next (their exact time lags). Jobs are independent: one that hangs holds its own slot until its timeout and
//! nothing else. A job's answer is tagged with its key and run, so a cancelled or timed-out
//! run's late answer is dropped here and never reaches the state. A long-running session (a
//! live tail) fits the same frame: a job keyed by its session whose task streams updates
//! until it is dropped from the wanted set.

pub mod scheduler;
pub mod tail;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use crate::app::action::{Command, CommandId, JobKey, Payload, TailOrder, Update, ViewWants};
use crate::app::lag_monitor::LagMonitor;
use crate::app::state::Dataset;
use crate::cluster::client::{Queries, CONFIGS_CHUNK, OFFSETS_CHUNK};
use crate::cluster::error::ClusterError;
use crate::cluster::ffi::OffsetSpec;
use crate::cluster::lag::{LagConfig, Millis};
use crate::cluster::model::{Metadata, TopicPartition};
use crate::cluster::ops;
pub use scheduler::{Every, JobSpec, RunId, Scheduler};

/// Intervals, timeouts and the budget.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Requests in flight at once, all jobs together.
    pub budget: usize,
    /// A job still running after this long has failed (the client's own timeouts end most
    /// requests before).
    pub timeout: Duration,
    pub metadata: Every,
    pub high_watermarks: Every,
    pub log_starts: Every,
    pub sizes: Every,
    pub retention: Every,
    pub groups: Every,
    /// Committed offsets: `visible` for the groups on screen and the open one, `background`
    /// for the other groups while the groups pane is shown.
    pub group_offsets: Every,
    /// Committed offsets of every group while the groups pane is not shown: the lag monitor
    /// keeps judging them.
    pub group_offsets_hidden: Duration,
    pub topic_configs: Every,
    pub record_timestamps: Every,
    /// Record timestamps fetched per run at most.
    pub timestamps_per_run: usize,
    pub lag: LagConfig,
    /// Panic in the worker at its first answer: how the end-to-end tests prove that a panic
    /// anywhere restores the terminal.
    pub panic_for_test: bool,
    /// Where applied changes are journaled (audit log, offsets saved for undo).
    pub state_dir: PathBuf,
}

const fn every(visible: u64, background: Option<u64>) -> Every {
    Every {
        visible: Duration::from_secs(visible),
        background: match background {
            Some(b) => Some(Duration::from_secs(b)),
            None => None,
        },
    }
}

impl WorkerConfig {
    /// The console's defaults for a client whose requests time out after `request_timeout`.
    pub fn new(request_timeout: Duration) -> WorkerConfig {
        WorkerConfig {
            budget: 6,
            timeout: request_timeout + Duration::from_secs(2),
            metadata: every(2, Some(2)),
            high_watermarks: every(2, Some(10)),
            log_starts: every(10, Some(30)),
            sizes: every(10, Some(60)),
            retention: every(10, Some(60)),
            groups: every(2, Some(10)),
            group_offsets: every(2, Some(5)),
            group_offsets_hidden: Duration::from_secs(15),
            topic_configs: every(10, Some(60)),
            record_timestamps: every(1, None),
            timestamps_per_run: 32,
            lag: LagConfig::default(),
            panic_for_test: false,
            state_dir: crate::cli::state_dir(),
        }
    }

    fn spec(&self, d: Dataset) -> JobSpec {
        let every = match d {
            Dataset::Metadata => self.metadata,
            Dataset::HighWatermarks => self.high_watermarks,
            Dataset::LogStarts => self.log_starts,
            Dataset::Sizes => self.sizes,
            Dataset::Retention => self.retention,
            Dataset::Groups => self.groups,
            Dataset::GroupOffsets => self.group_offsets,
            Dataset::TopicConfigs => self.topic_configs,
            Dataset::RecordTimestamps => self.record_timestamps,
        };
        JobSpec {
            every,
            timeout: self.timeout,
        }
    }
}

type Done = (JobKey, RunId, Result<Payload, ClusterError>);

enum Change {
    Plan(Box<ops::Op>),
    Apply(Box<ops::Plan>),
}

struct Worker {
    cluster: Arc<dyn Queries>,
    cfg: WorkerConfig,
    sched: Scheduler,
    updates: mpsc::Sender<Update>,
    tasks: JoinSet<Done>,
    running: HashMap<JobKey, (RunId, AbortHandle)>,
    metadata: Option<Metadata>,
    view: ViewWants,
    /// Partitions with a leader, the ones on screen first, in chunks.
    partition_chunks: Vec<Vec<TopicPartition>>,
    topic_chunks: Vec<Vec<String>>,
    /// Refreshes asked for, with the jobs still to answer.
    refreshes: Vec<(CommandId, HashSet<JobKey>)>,
    lag: LagMonitor,
    /// The group names of the last group list, sorted.
    group_names: Vec<String>,
    /// The wall clock at `clock_base`: the lag monitor's times are wall-clock milliseconds
    /// (record timestamps are), advanced with the runtime's clock.
    clock_base: (Instant, Millis),
    /// The console's live tail, while one is open.
    tail: Option<tail::WorkerTail>,
}

/// Runs until `shutdown` turns true or the command channel closes.
pub async fn run(
    cluster: Arc<dyn Queries>,
    cfg: WorkerConfig,
    mut commands: mpsc::Receiver<Command>,
    updates: mpsc::Sender<Update>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut w = Worker {
        cluster,
        sched: Scheduler::new(cfg.budget),
        cfg,
        updates,
        tasks: JoinSet::new(),
        running: HashMap::new(),
        metadata: None,
        view: ViewWants::default(),
        partition_chunks: Vec::new(),
        topic_chunks: Vec::new(),
        refreshes: Vec::new(),
        lag: LagMonitor::default(),
        group_names: Vec::new(),
        clock_base: (Instant::now(), wall_ms()),
        tail: None,
    };
    w.lag = LagMonitor::new(w.cfg.lag.clone());
    w.replan(Instant::now()).await;
    loop {
        let now = Instant::now();
        w.expire(now).await;
        w.start(now).await;
        let wake = w.sched.next_wake();
        let tail_flow = w.tail.as_ref().map(|t| Arc::clone(&t.flow));
        tokio::select! {
            _ = shutdown.changed() => break,
            cmd = commands.recv() => match cmd {
                Some(cmd) => w.command(cmd).await,
                None => break,
            },
            Some(done) = w.tasks.join_next(), if !w.tasks.is_empty() => {
                // A cancelled task ends in a JoinError; its job is already gone.
                if let Ok(done) = done {
                    w.finished(done).await;
                }
            }
            _ = tail_ready(tail_flow) => w.drain_tail().await,
            _ = sleep_until(wake) => {}
        }
    }
    w.tasks.abort_all();
    if let Some(mut t) = w.tail.take() {
        t.stop();
    }
}

async fn tail_ready(flow: Option<Arc<tail::TailFlow>>) {
    match flow {
        Some(f) => f.ready().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Worker {
    async fn send(&self, u: Update) {
        let _ = self.updates.send(u).await;
    }

    async fn command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::View { view, .. } => {
                // Scrolling changes only what is on screen: no need to re-derive every job.
                let same_jobs = self.view.topics_first == view.topics_first
                    && self.view.topic_configs == view.topic_configs
                    && self.view.visible == view.visible
                    && view
                        .group_offsets
                        .iter()
                        .chain(view.open_group.iter())
                        .all(|g| self.group_names.binary_search(g).is_ok());
                self.view = view;
                if same_jobs {
                    self.mark_visible(now);
                } else {
                    self.replan(now).await;
                }
            }
            Command::Refresh { id } => {
                let keys: HashSet<JobKey> = self.sched.force_visible(now).into_iter().collect();
                if keys.is_empty() {
                    self.send(Update::Refreshed { id }).await;
                } else {
                    self.refreshes.push((id, keys));
                }
            }
            Command::Tail { order, .. } => self.tail_order(order).await,
            Command::Plan { id, op } => self.change(id, Change::Plan(op)),
            Command::Apply { id, plan } => self.change(id, Change::Apply(plan)),
        }
    }

    /// Opens, steers or closes the console's tail. Orders about a session that is not the
    /// current one are late (it was closed or replaced) and ignored.
    async fn tail_order(&mut self, order: TailOrder) {
        let current = self.tail.as_ref().map(|t| t.id);
        match order {
            TailOrder::Open { session, target, start } => {
                if let Some(mut old) = self.tail.take() {
                    old.stop();
                }
                let flow = Arc::new(tail::TailFlow::default());
                match self.cluster.tail(target, start, tail::inbox(), tail::waker(&flow)) {
                    Ok(s) => {
                        self.tail = Some(tail::WorkerTail {
                            id: session,
                            session: Some(s),
                            flow,
                        })
                    }
                    Err(e) => self.send(tail::failed(session, e.to_string())).await,
                }
            }
            TailOrder::Control { session, control } if current == Some(session) => {
                if let Some(s) = self.tail.as_ref().and_then(|t| t.session.as_ref()) {
                    s.control(control);
                }
            }
            TailOrder::Close { session } if current == Some(session) => {
                if let Some(mut t) = self.tail.take() {
                    t.stop();
                }
            }
            TailOrder::Control { .. } | TailOrder::Close { .. } => {}
        }
    }

    /// Hands what the tail session queued to the UI (when it has room for another batch).
    async fn drain_tail(&mut self) {
        let Some(t) = self.tail.as_mut() else { return };
        let (update, ended) = t.drain();
        if let Some(u) = update {
            self.send(u).await;
        }
        if ended {
            // The session's thread is done (it failed, or stopped): nothing more will come.
            self.tail = None;
        }
    }

    /// Plans or applies a change on a task of its own (outside the refresh budget: a person
    /// is waiting for it), through `cluster::ops`, which enforces read-only and journals.
    fn change(&self, id: CommandId, change: Change) {
        let updates = self.updates.clone();
        let client = self.cluster.changes();
        let dir = self.cfg.state_dir.clone();
        tokio::spawn(async move {
            let env = ops::Env::now(&dir);
            let unsupported = || ClusterError::Unsupported {
                what: "changes".into(),
                detail: "this cluster connection only answers queries".into(),
            };
            let update = match change {
                Change::Plan(op) => Update::Planned {
                    id,
                    result: match &client {
                        Some(c) => ops::plan(c, *op, &env).await.map(Box::new),
                        None => Err(unsupported()),
                    },
                },
                Change::Apply(plan) => Update::Applied {
                    id,
                    result: match &client {
                        Some(c) => ops::apply(c, &plan, &env).await,
                        None => Err(unsupported()),
                    },
                    audit_log: env.journal.audit_path(),
                },
            };
            let _ = updates.send(update).await;
        });
    }

    /// Derives the jobs from the metadata, the group list and what is on screen: adds the
    /// missing ones, cancels the ones no longer wanted, and marks what is visible.
    async fn replan(&mut self, now: Instant) {
        let mut wanted: Vec<JobKey> = vec![JobKey::Metadata, JobKey::Groups];
        if let Some(md) = &self.metadata {
            let first: HashSet<&str> = self.view.topics_first.iter().map(String::as_str).collect();
            let mut topics: Vec<&str> = self.view.topics_first.iter().map(String::as_str).collect();
            topics.extend(
                md.topics
                    .iter()
                    .map(|t| t.name.as_str())
                    .filter(|t| !first.contains(t) && md.topic(t).is_some()),
            );
            topics.retain(|t| md.topic(t).is_some());
            let partitions: Vec<TopicPartition> = topics
                .iter()
                .filter_map(|t| md.topic(t))
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .filter(|p| p.leader.is_some())
                        .map(|p| (t.name.clone(), p.id))
                })
                .collect();
            self.partition_chunks = partitions.chunks(OFFSETS_CHUNK).map(<[_]>::to_vec).collect();
            self.topic_chunks = topics
                .chunks(CONFIGS_CHUNK)
                .map(|c| c.iter().map(|t| t.to_string()).collect())
                .collect();
            for i in 0..self.partition_chunks.len() as u32 {
                wanted.push(JobKey::HighWatermarks(i));
                wanted.push(JobKey::LogStarts(i));
            }
            for i in 0..self.topic_chunks.len() as u32 {
                wanted.push(JobKey::Retention(i));
            }
            wanted.extend(md.brokers.iter().filter(|b| b.up).map(|b| JobKey::Sizes(b.id)));
        }
        if let Some(t) = &self.view.topic_configs {
            wanted.push(JobKey::TopicConfigs(t.clone()));
        }
        // Every listed group's offsets (the lag monitor judges them all), plus groups the view
        // names that the last list did not have yet.
        let mut groups: Vec<&String> = self.group_names.iter().collect();
        groups.extend(self.view.group_offsets.iter().chain(self.view.open_group.iter()));
        groups.sort();
        groups.dedup();
        wanted.extend(groups.into_iter().cloned().map(JobKey::GroupOffsets));
        if self.lag.has_pending_timestamps() {
            wanted.push(JobKey::RecordTimestamps);
        }

        let wanted_set: HashSet<&JobKey> = wanted.iter().collect();
        let stale: Vec<JobKey> = self.sched.keys().filter(|k| !wanted_set.contains(k)).cloned().collect();
        for key in stale {
            self.drop_job(key).await;
        }
        let groups_shown = self.view.visible.contains(&Dataset::GroupOffsets);
        for key in wanted {
            let mut spec = self.cfg.spec(key.dataset());
            if key.dataset() == Dataset::GroupOffsets && !groups_shown {
                spec.every.background = Some(self.cfg.group_offsets_hidden);
            }
            self.sched.ensure(key, spec, now);
        }
        self.mark_visible(now);
    }

    /// Which jobs' data is on screen: the visible datasets; of the groups, those on screen.
    fn mark_visible(&mut self, now: Instant) {
        let visible = &self.view.visible;
        let on_screen: HashSet<&str> = self
            .view
            .group_offsets
            .iter()
            .chain(self.view.open_group.iter())
            .map(String::as_str)
            .collect();
        self.sched.set_visible(
            |k| match k {
                JobKey::GroupOffsets(g) => on_screen.contains(g.as_str()),
                JobKey::RecordTimestamps => !on_screen.is_empty(),
                k => k.dataset() == Dataset::Metadata || visible.contains(&k.dataset()),
            },
            now,
        );
    }

    async fn drop_job(&mut self, key: JobKey) {
        self.sched.remove(&key);
        if let Some((_, handle)) = self.running.remove(&key) {
            handle.abort();
        }
        self.settle_refreshes(&key).await;
        self.send(Update::Dropped { job: key }).await;
    }

    /// The lag monitor's clock: wall-clock milliseconds now.
    fn now_ms(&self, now: Instant) -> Millis {
        let (base, wall) = self.clock_base;
        wall + now.saturating_duration_since(base).as_millis() as i64
    }

    async fn start(&mut self, now: Instant) {
        for (key, run) in self.sched.start(now) {
            let fut = self.query(&key);
            let k = key.clone();
            let handle = self.tasks.spawn(async move { (k, run, fut.await) });
            self.running.insert(key.clone(), (run, handle));
            self.send(Update::Started {
                job: key,
                at: now.into_std(),
            })
            .await;
        }
    }

    /// The request for one run of `key`, with the parameters of this moment.
    fn query(
        &self,
        key: &JobKey,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Payload, ClusterError>> + Send>> {
        let c = &self.cluster;
        let chunk = |i: &u32| self.partition_chunks.get(*i as usize).cloned().unwrap_or_default();
        match key {
            JobKey::Metadata => {
                let f = c.metadata();
                Box::pin(async move { f.await.map(Payload::Metadata) })
            }
            JobKey::HighWatermarks(i) => {
                let f = c.offsets(OffsetSpec::Latest, chunk(i));
                Box::pin(async move { f.await.map(Payload::Offsets) })
            }
            JobKey::LogStarts(i) => {
                let f = c.offsets(OffsetSpec::Earliest, chunk(i));
                Box::pin(async move { f.await.map(Payload::Offsets) })
            }
            JobKey::Sizes(id) => {
                let broker = self
                    .metadata
                    .as_ref()
                    .and_then(|m| m.brokers.iter().find(|b| b.id == *id).cloned());
                match broker {
                    Some(b) => {
                        let f = c.log_dirs(b);
                        Box::pin(async move { f.await.map(Payload::Sizes) })
                    }
                    None => Box::pin(async move { Ok(Payload::Sizes(Default::default())) }),
                }
            }
            JobKey::Retention(i) => {
                let topics = self.topic_chunks.get(*i as usize).cloned().unwrap_or_default();
                let f = c.retention(topics);
                Box::pin(async move { f.await.map(Payload::Retention) })
            }
            JobKey::Groups => {
                let f = c.groups();
                Box::pin(async move { f.await.map(Payload::Groups) })
            }
            JobKey::GroupOffsets(g) => {
                let f = c.group_offsets(g.clone());
                Box::pin(async move { f.await.map(Payload::GroupOffsets) })
            }
            JobKey::RecordTimestamps => {
                let wants = self.lag.next_timestamps(self.cfg.timestamps_per_run);
                let f = c.record_timestamps(wants);
                Box::pin(async move { f.await.map(Payload::Timestamps) })
            }
            JobKey::TopicConfigs(t) => {
                // The broker whose values the topic's configs fall back to: the controller.
                let broker = self
                    .metadata
                    .as_ref()
                    .and_then(|m| m.controller_id.or_else(|| m.brokers.first().map(|b| b.id)));
                let f = c.topic_configs(t.clone(), broker);
                Box::pin(async move { f.await.map(Payload::TopicConfigs) })
            }
        }
    }

    async fn finished(&mut self, (key, run, result): Done) {
        let now = Instant::now();
        if !self.sched.finish(&key, run, now) {
            return;
        }
        self.running.remove(&key);
        if self.cfg.panic_for_test {
            panic!("STROM_TEST_PANIC=worker: panicking in the worker at its first answer");
        }
        let mut replan = match &result {
            Ok(Payload::Metadata(md)) => {
                let changed = self.metadata.as_ref() != Some(md);
                self.metadata = Some(md.clone());
                changed
            }
            _ => false,
        };
        let now_ms = self.now_ms(now);
        let mut lag_updates = Vec::new();
        let result = match result {
            Ok(Payload::Offsets(list)) => {
                match key {
                    JobKey::LogStarts(_) => self.lag.observe_log_starts(&list),
                    _ => self.lag.observe_high_watermarks(&list, now_ms),
                }
                Ok(Payload::Offsets(list))
            }
            Ok(Payload::Groups(list)) => {
                self.lag.set_groups(&list, now_ms);
                let names: Vec<String> = list.iter().map(|g| g.name.clone()).collect();
                if names != self.group_names {
                    self.group_names = names;
                    replan = true;
                }
                Ok(Payload::Groups(list))
            }
            Ok(Payload::GroupOffsets(offsets)) => {
                let JobKey::GroupOffsets(g) = &key else {
                    unreachable!("only a group's job fetches its offsets")
                };
                self.lag.observe_group(g, &offsets, now_ms);
                if self.is_on_screen(g) {
                    self.lag.want_timestamps(g);
                    self.ensure_timestamps(now);
                }
                let open = self.view.open_group.as_ref() == Some(g);
                match self.lag.report(g, now_ms, open) {
                    Some(r) => Ok(Payload::GroupLag(Box::new(r))),
                    None => Ok(Payload::GroupOffsets(offsets)),
                }
            }
            Ok(Payload::Timestamps(answers)) => {
                for g in self.lag.apply_timestamps(&answers) {
                    let open = self.view.open_group.as_ref() == Some(&g);
                    if let Some(r) = self.lag.report(&g, now_ms, open) {
                        lag_updates.push(Update::Lag(Box::new(r)));
                    }
                }
                if !self.lag.has_pending_timestamps() {
                    self.sched.remove(&key);
                    self.running.remove(&key);
                }
                Ok(Payload::Timestamps(Vec::new()))
            }
            other => other,
        };
        self.send(Update::Finished {
            job: key.clone(),
            at: now.into_std(),
            result,
        })
        .await;
        for u in lag_updates {
            self.send(u).await;
        }
        self.settle_refreshes(&key).await;
        if replan {
            self.replan(now).await;
        }
    }

    fn is_on_screen(&self, group: &str) -> bool {
        self.view.open_group.as_deref() == Some(group) || self.view.group_offsets.iter().any(|g| g == group)
    }

    /// Makes sure the record-timestamps job exists while timestamps are waiting.
    fn ensure_timestamps(&mut self, now: Instant) {
        if self.lag.has_pending_timestamps() && !self.sched.contains(&JobKey::RecordTimestamps) {
            let spec = self.cfg.spec(Dataset::RecordTimestamps);
            self.sched.ensure(JobKey::RecordTimestamps, spec, now);
            self.mark_visible(now);
        }
    }

    async fn expire(&mut self, now: Instant) {
        for (key, _) in self.sched.expire(now) {
            if let Some((_, handle)) = self.running.remove(&key) {
                handle.abort();
            }
            let secs = self.cfg.timeout.as_secs().max(1);
            self.send(Update::Finished {
                job: key.clone(),
                at: now.into_std(),
                result: Err(ClusterError::Timeout {
                    what: key.dataset().label().to_string(),
                    secs,
                }),
            })
            .await;
            self.settle_refreshes(&key).await;
        }
    }

    /// `key` answered (or is gone): refreshes waiting for nothing else are done.
    async fn settle_refreshes(&mut self, key: &JobKey) {
        let mut done = Vec::new();
        self.refreshes.retain_mut(|(id, keys)| {
            keys.remove(key);
            if keys.is_empty() {
                done.push(*id);
                false
            } else {
                true
            }
        });
        for id in done {
            self.send(Update::Refreshed { id }).await;
        }
    }
}

#[cfg(test)]
mod tests;

/// Milliseconds since the Unix epoch, from the system clock.
pub fn wall_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
