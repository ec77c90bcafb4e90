//! AppState: the plain data the UI renders from. Mutated only by the event loop (keys and
//! worker updates); render functions take `&AppState` and never change it.
//!
//! Each dataset the worker fetches is a [`Fetched`]: its last good value, when it was fetched,
//! its last error, and whether a request is in flight, per part for datasets fetched in several
//! requests (offsets in chunks, sizes per broker). A failed request keeps the last good value,
//! which is then stale. Panes derive their rows from the datasets when they change, never per
//! frame.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::action::{JobKey, Payload, Update};
use crate::app::lag_monitor::GroupLagReport;
use crate::app::modal::ModalStack;
use crate::app::panes::tail::TailPane;
use crate::app::panes::{Context, Pane, PaneId, Panes};
use crate::cluster::connect::ConnectionSpec;
use crate::cluster::error::ClusterError;
use crate::cluster::model::{ConfigEntry, GroupSummary, Metadata, PartitionMap, Retention};

/// The kinds of data the worker fetches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dataset {
    Metadata,
    HighWatermarks,
    LogStarts,
    Sizes,
    Retention,
    Groups,
    GroupOffsets,
    TopicConfigs,
    RecordTimestamps,
}

impl Dataset {
    /// How the dataset is named in messages ("data 12 s old", "waiting for ...").
    pub fn label(self) -> &'static str {
        match self {
            Dataset::Metadata => "metadata",
            Dataset::HighWatermarks => "offsets",
            Dataset::LogStarts => "log starts",
            Dataset::Sizes => "sizes",
            Dataset::Retention => "retention",
            Dataset::Groups => "groups",
            Dataset::GroupOffsets => "committed offsets",
            Dataset::TopicConfigs => "configs",
            Dataset::RecordTimestamps => "record timestamps",
        }
    }
}

/// The last failure of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    pub at: Instant,
}

/// Freshness of one part of a dataset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Part {
    /// The last success.
    pub ok_at: Option<Instant>,
    /// The last attempt's failure, cleared by a success.
    pub error: Option<Failure>,
    pub in_flight_since: Option<Instant>,
}

/// A dataset: its value and, per part, when it was fetched, its last error and whether a
/// request is in flight.
#[derive(Clone, Debug, PartialEq)]
pub struct Fetched<T> {
    /// The last good value (merged over parts); kept when a request fails.
    pub value: Option<T>,
    pub parts: BTreeMap<i64, Part>,
}

impl<T> Default for Fetched<T> {
    fn default() -> Self {
        Fetched {
            value: None,
            parts: BTreeMap::new(),
        }
    }
}

impl<T> Fetched<T> {
    pub fn started(&mut self, part: i64, at: Instant) {
        self.parts.entry(part).or_default().in_flight_since = Some(at);
    }

    pub fn succeeded(&mut self, part: i64, at: Instant) {
        let p = self.parts.entry(part).or_default();
        p.ok_at = Some(at);
        p.error = None;
        p.in_flight_since = None;
    }

    pub fn failed(&mut self, part: i64, at: Instant, message: String) {
        let p = self.parts.entry(part).or_default();
        p.error = Some(Failure { message, at });
        p.in_flight_since = None;
    }

    pub fn forget(&mut self, part: i64) {
        self.parts.remove(&part);
    }

    /// When the oldest part was last fetched; None before any success.
    pub fn fetched_at(&self) -> Option<Instant> {
        self.parts.values().filter_map(|p| p.ok_at).min()
    }

    /// Whether any part ever succeeded.
    pub fn ever_fetched(&self) -> bool {
        self.parts.values().any(|p| p.ok_at.is_some())
    }

    /// The most recent failure among parts whose last attempt failed.
    pub fn error(&self) -> Option<&Failure> {
        self.parts
            .values()
            .filter_map(|p| p.error.as_ref())
            .max_by_key(|f| f.at)
    }

    /// Since when the oldest request in flight has been waiting.
    pub fn in_flight_since(&self) -> Option<Instant> {
        self.parts.values().filter_map(|p| p.in_flight_since).min()
    }

    pub fn in_flight(&self) -> bool {
        self.in_flight_since().is_some()
    }

    /// The data shown is older than it should be: some part had a good answer and its last
    /// request failed. Returns how old that part's data is.
    pub fn stale_age(&self, now: Instant) -> Option<Duration> {
        self.parts
            .values()
            .filter(|p| p.error.is_some())
            .filter_map(|p| p.ok_at)
            .min()
            .map(|at| now.saturating_duration_since(at))
    }

    pub fn is_stale(&self) -> bool {
        self.parts.values().any(|p| p.error.is_some() && p.ok_at.is_some())
    }
}

/// Everything fetched from the cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterData {
    pub metadata: Fetched<Metadata>,
    pub high_watermarks: Fetched<PartitionMap<i64>>,
    pub log_starts: Fetched<PartitionMap<i64>>,
    /// Per broker id, the bytes of each partition replica it hosts.
    pub sizes: Fetched<HashMap<i32, PartitionMap<u64>>>,
    pub retention: Fetched<HashMap<String, Retention>>,
    pub groups: Fetched<Vec<GroupSummary>>,
    /// Per group, its lag as the worker judged it from its committed offsets.
    pub group_lag: HashMap<String, Fetched<Arc<GroupLagReport>>>,
    pub topic_configs: HashMap<String, Fetched<Vec<ConfigEntry>>>,
    /// Freshness only: the timestamps themselves live in the worker's lag monitor.
    pub record_timestamps: Fetched<()>,
}

impl ClusterData {
    /// The freshness of `dataset` (for keyed datasets, of `key`).
    fn freshness_mut(&mut self, job: &JobKey) -> FreshnessMut<'_> {
        match job {
            JobKey::Metadata => FreshnessMut::of(&mut self.metadata),
            JobKey::HighWatermarks(_) => FreshnessMut::of(&mut self.high_watermarks),
            JobKey::LogStarts(_) => FreshnessMut::of(&mut self.log_starts),
            JobKey::Sizes(_) => FreshnessMut::of(&mut self.sizes),
            JobKey::Retention(_) => FreshnessMut::of(&mut self.retention),
            JobKey::Groups => FreshnessMut::of(&mut self.groups),
            JobKey::GroupOffsets(g) => FreshnessMut::of(self.group_lag.entry(g.clone()).or_default()),
            JobKey::TopicConfigs(t) => FreshnessMut::of(self.topic_configs.entry(t.clone()).or_default()),
            JobKey::RecordTimestamps => FreshnessMut::of(&mut self.record_timestamps),
        }
    }

    /// Whether `dataset` is stale, and how old its data is; for keyed datasets, `key`'s.
    pub fn stale_age(&self, dataset: Dataset, key: Option<&str>, now: Instant) -> Option<Duration> {
        match dataset {
            Dataset::Metadata => self.metadata.stale_age(now),
            Dataset::HighWatermarks => self.high_watermarks.stale_age(now),
            Dataset::LogStarts => self.log_starts.stale_age(now),
            Dataset::Sizes => self.sizes.stale_age(now),
            Dataset::Retention => self.retention.stale_age(now),
            Dataset::Groups => self.groups.stale_age(now),
            // Without a key (the group list): the stalest group.
            Dataset::GroupOffsets => match key {
                Some(k) => self.group_lag.get(k)?.stale_age(now),
                None => self.group_lag.values().filter_map(|f| f.stale_age(now)).max(),
            },
            Dataset::TopicConfigs => self.topic_configs.get(key?)?.stale_age(now),
            Dataset::RecordTimestamps => self.record_timestamps.stale_age(now),
        }
    }

    /// Since when `dataset`'s oldest request in flight has been waiting.
    pub fn in_flight_since(&self, dataset: Dataset, key: Option<&str>) -> Option<Instant> {
        match dataset {
            Dataset::Metadata => self.metadata.in_flight_since(),
            Dataset::HighWatermarks => self.high_watermarks.in_flight_since(),
            Dataset::LogStarts => self.log_starts.in_flight_since(),
            Dataset::Sizes => self.sizes.in_flight_since(),
            Dataset::Retention => self.retention.in_flight_since(),
            Dataset::Groups => self.groups.in_flight_since(),
            // The list waits on every group's offsets; only the open group's are worth a note.
            Dataset::GroupOffsets => self.group_lag.get(key?)?.in_flight_since(),
            Dataset::TopicConfigs => self.topic_configs.get(key?)?.in_flight_since(),
            Dataset::RecordTimestamps => self.record_timestamps.in_flight_since(),
        }
    }
}

/// Type-erased access to a [`Fetched`]'s freshness.
struct FreshnessMut<'a> {
    parts: &'a mut BTreeMap<i64, Part>,
    has_value: bool,
}

impl<'a> FreshnessMut<'a> {
    fn of<T>(f: &'a mut Fetched<T>) -> FreshnessMut<'a> {
        FreshnessMut {
            has_value: f.value.is_some(),
            parts: &mut f.parts,
        }
    }
}

/// The cluster connection as the header tells it, from the metadata requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// No answer yet since start.
    Connecting { since: Instant },
    /// The last metadata request succeeded.
    Up,
    /// Metadata requests fail; the last good data is still shown, marked stale. `since` is the
    /// last good answer (or the start).
    Lost { since: Instant, error: String },
}

pub struct AppState {
    pub cluster: ConnectionSpec,
    pub connection: Connection,
    /// The clock for rendering relative times; set by the event loop each turn, fixed in tests.
    pub now: Instant,
    pub data: ClusterData,
    pub panes: Panes,
    pub focus: PaneId,
    /// The topic whose partitions and configs are shown.
    pub current_topic: Option<String>,
    pub modals: ModalStack,
    /// The live tail, while open: it covers the focused pane and takes its keys.
    pub tail: Option<TailPane>,
    /// Things this cluster does not support, said once, e.g. "sizes unknown: ...".
    pub notes: Vec<String>,
    /// A transient message (result of an action, a bad command) and when it was shown.
    pub flash: Option<(String, Instant)>,
    pub should_quit: bool,
    /// Datasets changed since the panes were last rebuilt.
    changed: Vec<Dataset>,
}

impl AppState {
    pub fn new(cluster: ConnectionSpec, now: Instant) -> Self {
        AppState {
            cluster,
            connection: Connection::Connecting { since: now },
            now,
            data: ClusterData::default(),
            panes: Panes::default(),
            focus: PaneId::Topics,
            current_topic: None,
            modals: ModalStack::default(),
            tail: None,
            notes: Vec::new(),
            flash: None,
            should_quit: false,
            changed: Vec::new(),
        }
    }

    /// The focused pane.
    pub fn pane(&self) -> &dyn Pane {
        self.panes.get(self.focus)
    }

    pub fn pane_mut(&mut self) -> &mut dyn Pane {
        self.panes.get_mut(self.focus)
    }

    /// Whether any metadata has arrived (without it there is nothing to show, stale or not).
    pub fn has_data(&self) -> bool {
        self.data.metadata.value.is_some()
    }

    /// Applies one worker update. Panes are rebuilt later, once per batch ([`Self::rebuild`]).
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Started { job, at } => {
                self.data
                    .freshness_mut(&job)
                    .parts
                    .entry(job.part())
                    .or_default()
                    .in_flight_since = Some(at);
            }
            Update::Finished { job, at, result } => {
                let part = job.part();
                match result {
                    Ok(payload) => {
                        self.merge(&job, payload);
                        let f = self.data.freshness_mut(&job);
                        let p = f.parts.entry(part).or_default();
                        p.ok_at = Some(at);
                        p.error = None;
                        p.in_flight_since = None;
                        if job == JobKey::Metadata {
                            self.connection = Connection::Up;
                        }
                    }
                    Err(e) => self.failed(&job, at, e),
                }
                self.mark_changed(job.dataset());
            }
            Update::Dropped { job } => {
                match &job {
                    JobKey::TopicConfigs(t) => {
                        self.data.topic_configs.remove(t);
                    }
                    JobKey::GroupOffsets(g) => {
                        self.data.group_lag.remove(g);
                    }
                    _ => {
                        self.data.freshness_mut(&job).parts.remove(&job.part());
                    }
                }
                self.mark_changed(job.dataset());
            }
            Update::Refreshed { .. } | Update::Planned { .. } | Update::Applied { .. } => {}
            Update::Lag(report) => {
                // Only for a group whose offsets are still wanted (a dropped job took it away).
                if let Some(f) = self.data.group_lag.get_mut(&report.lag.group) {
                    f.value = Some(Arc::from(report));
                    self.mark_changed(Dataset::GroupOffsets);
                }
            }
            Update::Tail { session, batch } => {
                // A batch of a tail that was closed or replaced is dropped (its receipt too).
                if let Some(t) = self.tail.as_mut().filter(|t| t.session == session) {
                    t.apply(batch.items, self.now);
                }
            }
        }
    }

    fn failed(&mut self, job: &JobKey, at: Instant, e: ClusterError) {
        let message = e.to_string();
        let f = self.data.freshness_mut(job);
        let never = !f.has_value && f.parts.values().all(|p| p.ok_at.is_none());
        let p = f.parts.entry(job.part()).or_default();
        p.error = Some(Failure {
            message: message.clone(),
            at,
        });
        p.in_flight_since = None;
        if *job == JobKey::Metadata {
            let since = match &self.connection {
                Connection::Connecting { since } | Connection::Lost { since, .. } => *since,
                // The cluster stopped answering after its last good answer, not when a
                // request finally timed out.
                Connection::Up => self.data.metadata.fetched_at().unwrap_or(at),
            };
            self.connection = Connection::Lost { since, error: message };
            return;
        }
        // What the cluster cannot do is said once, on the message line; later failures of data
        // that was fetched before show as stale marks instead.
        if never {
            let note = match job.dataset() {
                Dataset::HighWatermarks | Dataset::LogStarts => Some(format!("offsets unavailable: {message}")),
                Dataset::Sizes => Some(format!(
                    "sizes unknown: the cluster does not answer DescribeLogDirs ({message})"
                )),
                Dataset::Retention => Some(format!("configs unavailable: {message}")),
                Dataset::Groups => Some(format!("consumer groups unavailable: {message}")),
                _ => None,
            };
            if let Some(note) = note {
                self.note(note);
            }
        }
    }

    /// Adds a note unless the same kind of note is already there.
    pub fn note(&mut self, note: String) {
        let kind = note.split(':').next().unwrap_or("").to_string();
        if !self.notes.iter().any(|n| n.split(':').next() == Some(kind.as_str())) {
            self.notes.push(note);
        }
    }

    /// Merges a job's answer into its dataset.
    fn merge(&mut self, job: &JobKey, payload: Payload) {
        let d = &mut self.data;
        match payload {
            Payload::Metadata(mut md) => {
                // Brokers that disappeared from the metadata stay listed, marked down.
                if let Some(old) = &d.metadata.value {
                    for b in &old.brokers {
                        if !md.brokers.iter().any(|n| n.id == b.id) {
                            let mut gone = b.clone();
                            gone.up = false;
                            gone.is_controller = false;
                            md.brokers.push(gone);
                        }
                    }
                }
                md.brokers.sort_by_key(|b| b.id);
                // Forget offsets, sizes and retention of topics that are gone.
                let exists = |t: &str| md.topic(t).is_some();
                for map in [&mut d.high_watermarks.value, &mut d.log_starts.value]
                    .into_iter()
                    .flatten()
                {
                    map.retain_topics(exists);
                }
                if let Some(r) = &mut d.retention.value {
                    r.retain(|t, _| exists(t));
                }
                for sizes in d.sizes.value.iter_mut().flat_map(|m| m.values_mut()) {
                    sizes.retain_topics(exists);
                }
                d.metadata.value = Some(md);
                // Rows of every pane depend on which topics exist.
                self.changed.extend([Dataset::HighWatermarks, Dataset::TopicConfigs]);
            }
            Payload::Offsets(list) => {
                let map = match job {
                    JobKey::LogStarts(_) => d.log_starts.value.get_or_insert_with(PartitionMap::default),
                    _ => d.high_watermarks.value.get_or_insert_with(PartitionMap::default),
                };
                // A partition that failed keeps its last good offset.
                for o in list.iter().filter(|o| o.error.is_none() && o.offset >= 0) {
                    map.insert(&o.topic, o.partition, o.offset);
                }
            }
            Payload::Sizes(sizes) => {
                if let JobKey::Sizes(broker) = job {
                    d.sizes.value.get_or_insert_with(HashMap::new).insert(*broker, sizes);
                }
            }
            Payload::Retention(r) => d.retention.value.get_or_insert_with(HashMap::new).extend(r),
            Payload::Groups(g) => d.groups.value = Some(g),
            Payload::GroupLag(report) => {
                if let JobKey::GroupOffsets(g) = job {
                    d.group_lag.entry(g.clone()).or_default().value = Some(Arc::from(report));
                }
            }
            // The worker turns offsets into lag and keeps timestamps to itself.
            Payload::GroupOffsets(_) | Payload::Timestamps(_) => {}
            Payload::TopicConfigs(c) => {
                if let JobKey::TopicConfigs(t) = job {
                    d.topic_configs.entry(t.clone()).or_default().value = Some(c);
                }
            }
        }
    }

    fn mark_changed(&mut self, d: Dataset) {
        if !self.changed.contains(&d) {
            self.changed.push(d);
        }
    }

    /// Rebuilds the rows of panes whose data changed since the last call.
    pub fn rebuild(&mut self) {
        if self.changed.is_empty() {
            return;
        }
        let changed = std::mem::take(&mut self.changed);
        let ctx = Context {
            current_topic: self.current_topic.as_deref(),
        };
        self.panes.rebuild_changed(&self.data, ctx, &changed);
    }

    /// Rebuilds every pane's rows.
    pub fn rebuild_all(&mut self) {
        self.changed.clear();
        let ctx = Context {
            current_topic: self.current_topic.as_deref(),
        };
        self.panes.rebuild_all(&self.data, ctx);
    }

    /// Opens `topic` in the topic panes; true when it changed.
    pub fn set_topic(&mut self, topic: String) -> bool {
        if self.current_topic.as_deref() == Some(topic.as_str()) {
            return false;
        }
        self.current_topic = Some(topic);
        let ctx = Context {
            current_topic: self.current_topic.as_deref(),
        };
        for id in [PaneId::Partitions, PaneId::Configs] {
            self.panes.get_mut(id).rebuild(&self.data, ctx);
        }
        true
    }

    /// The key of a keyed dataset as a pane shows it (the open topic's configs).
    fn dataset_key(&self, d: Dataset) -> Option<&str> {
        match d {
            Dataset::TopicConfigs => self.current_topic.as_deref(),
            Dataset::GroupOffsets => self.panes.groups.open_group(),
            _ => None,
        }
    }

    /// How old the data of `pane` is, when any of it is stale.
    pub fn stale_age(&self, pane: PaneId) -> Option<Duration> {
        self.panes
            .get(pane)
            .datasets()
            .iter()
            .filter_map(|d| self.data.stale_age(*d, self.dataset_key(*d), self.now))
            .max()
    }

    /// The dataset of `pane` that has waited longest for an answer, and for how long.
    pub fn waiting(&self, pane: PaneId) -> Option<(Dataset, Duration)> {
        self.panes
            .get(pane)
            .datasets()
            .iter()
            .filter_map(|d| {
                let since = self.data.in_flight_since(*d, self.dataset_key(*d))?;
                Some((*d, self.now.saturating_duration_since(since)))
            })
            .max_by_key(|(_, w)| *w)
    }

    pub fn flash(&mut self, text: impl Into<String>) {
        self.flash = Some((text.into(), self.now));
    }

    /// The flash message if it is recent enough to show.
    pub fn visible_flash(&self) -> Option<&str> {
        let (text, at) = self.flash.as_ref()?;
        (self.now.saturating_duration_since(*at) < Duration::from_secs(6)).then_some(text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ffi::ListedOffset;
    use crate::cluster::model::{Broker, PartitionMeta, TopicMeta};

    fn state() -> (AppState, Instant) {
        let t0 = Instant::now();
        (AppState::new(ConnectionSpec::bootstrap("127.0.0.1:9092"), t0), t0)
    }

    fn metadata(topics: &[&str], brokers: &[i32]) -> Metadata {
        Metadata {
            cluster_id: None,
            controller_id: brokers.first().copied(),
            brokers: brokers
                .iter()
                .map(|id| Broker {
                    id: *id,
                    host: "h".into(),
                    port: 1,
                    rack: None,
                    is_controller: false,
                    up: true,
                })
                .collect(),
            topics: topics
                .iter()
                .map(|n| TopicMeta {
                    name: n.to_string(),
                    internal: false,
                    error: None,
                    partitions: vec![PartitionMeta {
                        id: 0,
                        leader: Some(1),
                        replicas: vec![1],
                        isr: vec![1],
                        error: None,
                    }],
                })
                .collect(),
        }
    }

    fn hw(topic: &str, offset: i64) -> ListedOffset {
        ListedOffset {
            topic: topic.into(),
            partition: 0,
            offset,
            timestamp: -1,
            leader_epoch: None,
            error: None,
        }
    }

    fn ok(job: JobKey, at: Instant, payload: Payload) -> Update {
        Update::Finished {
            job,
            at,
            result: Ok(payload),
        }
    }

    fn err(job: JobKey, at: Instant) -> Update {
        Update::Finished {
            job,
            at,
            result: Err(ClusterError::Timeout {
                what: "list offsets".into(),
                secs: 5,
            }),
        }
    }

    #[test]
    fn a_failed_request_keeps_the_last_value_marked_stale_with_its_age() {
        let (mut s, t0) = state();
        s.apply(ok(JobKey::Metadata, t0, Payload::Metadata(metadata(&["a"], &[1]))));
        s.apply(Update::Started {
            job: JobKey::HighWatermarks(0),
            at: t0,
        });
        assert!(s.data.high_watermarks.in_flight());
        s.apply(ok(JobKey::HighWatermarks(0), t0, Payload::Offsets(vec![hw("a", 42)])));
        assert!(!s.data.high_watermarks.in_flight());
        s.apply(err(JobKey::HighWatermarks(0), t0 + Duration::from_secs(2)));
        assert_eq!(
            s.data.high_watermarks.value.as_ref().unwrap().get("a", 0),
            Some(42),
            "last good value kept"
        );
        s.now = t0 + Duration::from_secs(9);
        s.rebuild_all();
        assert_eq!(s.stale_age(PaneId::Topics), Some(Duration::from_secs(9)));
        assert_eq!(
            s.stale_age(PaneId::Brokers),
            None,
            "brokers show metadata only, which is fresh"
        );
        assert_eq!(s.panes.topics.table.rows[0].records, None, "no log start yet");
        // A later success clears the mark.
        s.apply(ok(
            JobKey::HighWatermarks(0),
            s.now,
            Payload::Offsets(vec![hw("a", 50)]),
        ));
        assert_eq!(s.stale_age(PaneId::Topics), None);
        assert!(s.notes.is_empty(), "a dataset that worked before is stale, not a note");
    }

    #[test]
    fn a_dataset_that_never_answered_is_a_note_not_a_stale_mark() {
        let (mut s, t0) = state();
        s.apply(ok(JobKey::Metadata, t0, Payload::Metadata(metadata(&["a"], &[1]))));
        s.apply(err(JobKey::Sizes(1), t0));
        s.apply(err(JobKey::Sizes(1), t0 + Duration::from_secs(10)));
        assert_eq!(s.stale_age(PaneId::Topics), None);
        assert_eq!(s.notes.len(), 1);
        assert!(s.notes[0].starts_with("sizes unknown"), "{:?}", s.notes);
    }

    #[test]
    fn chunks_have_their_own_freshness_and_one_failing_marks_the_dataset() {
        let (mut s, t0) = state();
        let t1 = t0 + Duration::from_secs(1);
        s.apply(ok(JobKey::HighWatermarks(0), t0, Payload::Offsets(vec![hw("a", 1)])));
        s.apply(ok(JobKey::HighWatermarks(1), t1, Payload::Offsets(vec![hw("b", 2)])));
        assert_eq!(s.data.high_watermarks.fetched_at(), Some(t0), "the oldest part");
        s.apply(err(JobKey::HighWatermarks(1), t1 + Duration::from_secs(1)));
        assert_eq!(
            s.data.high_watermarks.stale_age(t1 + Duration::from_secs(4)),
            Some(Duration::from_secs(4)),
            "the failing part's data is from its last success, 4 s ago"
        );
        // The part no longer exists (fewer partitions): its error goes with it.
        s.apply(Update::Dropped {
            job: JobKey::HighWatermarks(1),
        });
        assert!(!s.data.high_watermarks.is_stale());
    }

    #[test]
    fn lost_connection_counts_from_the_last_good_answer_and_brokers_that_vanish_stay_down() {
        let (mut s, t0) = state();
        s.apply(ok(
            JobKey::Metadata,
            t0,
            Payload::Metadata(metadata(&["a"], &[1, 2, 3])),
        ));
        assert_eq!(s.connection, Connection::Up);
        let t5 = t0 + Duration::from_secs(5);
        s.apply(Update::Finished {
            job: JobKey::Metadata,
            at: t5,
            result: Err(ClusterError::Timeout {
                what: "metadata".into(),
                secs: 5,
            }),
        });
        assert!(matches!(s.connection, Connection::Lost { since, .. } if since == t0));
        s.apply(ok(JobKey::Metadata, t5, Payload::Metadata(metadata(&["a"], &[1, 3]))));
        let down: Vec<i32> = s
            .data
            .metadata
            .value
            .as_ref()
            .unwrap()
            .brokers
            .iter()
            .filter(|b| !b.up)
            .map(|b| b.id)
            .collect();
        assert_eq!(down, [2]);
    }

    #[test]
    fn dropping_a_keyed_job_forgets_its_data() {
        let (mut s, t0) = state();
        s.current_topic = Some("a".into());
        s.apply(ok(JobKey::TopicConfigs("a".into()), t0, Payload::TopicConfigs(vec![])));
        assert!(s.data.topic_configs.contains_key("a"));
        s.apply(Update::Dropped {
            job: JobKey::TopicConfigs("a".into()),
        });
        assert!(!s.data.topic_configs.contains_key("a"));
    }
}
