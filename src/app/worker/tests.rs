//! The worker against a fake cluster on tokio's paused clock: time only moves when every task
//! waits, so "20 s" of refreshing takes milliseconds and the schedule is exact.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::*;
use crate::app::action::TailOrder;
use crate::app::state::Dataset;
use crate::cluster::client::Answer;
use crate::cluster::ffi::{CommittedOffset, ListedOffset};
use crate::cluster::model::{Broker, ConfigEntry, GroupSummary, PartitionMap, PartitionMeta, Retention, TopicMeta};
use crate::cluster::record_view::{Record, TimestampType};
use crate::cluster::tail::{RecordTimestamp, StartAt, TailControl, TailInbox, TailItem, TailSession, TailTarget};

/// A cluster whose answers take `delay`, except the calls named in `hang`, which never answer.
struct Fake {
    md: Metadata,
    delay: Duration,
    hang: Vec<&'static str>,
    /// Topics whose configs never answer.
    hang_configs: Vec<&'static str>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    calls: Mutex<Vec<&'static str>>,
    /// Records a tail of this cluster delivers (offsets 0..n of partition 0), and whether
    /// its session was told to stop.
    tail_records: i64,
    tail_stopped: Arc<std::sync::atomic::AtomicBool>,
}

impl Fake {
    fn new(topics: usize, partitions: i32) -> Fake {
        Fake {
            md: Metadata {
                cluster_id: None,
                controller_id: Some(1),
                brokers: vec![Broker {
                    id: 1,
                    host: "fake".into(),
                    port: 9092,
                    rack: None,
                    is_controller: true,
                    up: true,
                }],
                topics: (0..topics)
                    .map(|t| TopicMeta {
                        name: format!("t{t:04}"),
                        internal: false,
                        error: None,
                        partitions: (0..partitions)
                            .map(|id| PartitionMeta {
                                id,
                                leader: Some(1),
                                replicas: vec![1],
                                isr: vec![1],
                                error: None,
                            })
                            .collect(),
                    })
                    .collect(),
            },
            delay: Duration::from_millis(100),
            hang: Vec::new(),
            hang_configs: Vec::new(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
            tail_records: 0,
            tail_stopped: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }

    fn answer<T: Send + 'static>(self: &Arc<Self>, call: &'static str, hang: bool, value: T) -> Answer<T> {
        let me = Arc::clone(self);
        Box::pin(async move {
            me.calls.lock().unwrap().push(call);
            let now = me.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            me.max_in_flight.fetch_max(now, Ordering::SeqCst);
            struct Leave<'a>(&'a AtomicUsize);
            impl Drop for Leave<'_> {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let _leave = Leave(&me.in_flight);
            if hang || me.hang.contains(&call) {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(me.delay).await;
            Ok(value)
        })
    }
}

/// `Queries` for an `Arc<Fake>`, so answers can outlive the call.
struct Shared(Arc<Fake>);

impl Queries for Shared {
    fn metadata(&self) -> Answer<Metadata> {
        self.0.answer("metadata", false, self.0.md.clone())
    }
    fn offsets(&self, spec: OffsetSpec, partitions: Vec<TopicPartition>) -> Answer<Vec<ListedOffset>> {
        let list = partitions
            .into_iter()
            .map(|(topic, partition)| ListedOffset {
                topic,
                partition,
                offset: if spec == OffsetSpec::Latest { 10 } else { 0 },
                timestamp: -1,
                leader_epoch: None,
                error: None,
            })
            .collect();
        self.0.answer("offsets", false, list)
    }
    fn log_dirs(&self, _broker: Broker) -> Answer<PartitionMap<u64>> {
        self.0.answer("log_dirs", false, PartitionMap::default())
    }
    fn retention(&self, topics: Vec<String>) -> Answer<HashMap<String, Retention>> {
        let r = topics.into_iter().map(|t| (t, Retention::default())).collect();
        self.0.answer("retention", false, r)
    }
    fn topic_configs(&self, topic: String, _broker: Option<i32>) -> Answer<Vec<ConfigEntry>> {
        let hang = self.0.hang_configs.contains(&topic.as_str());
        self.0.answer("topic_configs", hang, Vec::new())
    }
    fn groups(&self) -> Answer<Vec<GroupSummary>> {
        self.0.answer("groups", false, Vec::new())
    }
    fn group_offsets(&self, _group: String) -> Answer<Vec<CommittedOffset>> {
        self.0.answer("group_offsets", false, Vec::new())
    }
    fn record_timestamps(&self, _wants: Vec<(String, i32, i64)>) -> Answer<Vec<RecordTimestamp>> {
        self.0.answer("record_timestamps", false, Vec::new())
    }
    fn tail(
        &self,
        target: TailTarget,
        _start: StartAt,
        inbox: Arc<TailInbox>,
        mut wake: Box<dyn FnMut() -> bool + Send>,
    ) -> Result<TailSession, ClusterError> {
        if self.0.tail_records == 0 {
            return Err(ClusterError::Client {
                bootstrap: String::new(),
                message: "the fake cluster has no records".into(),
            });
        }
        let n = self.0.tail_records;
        let stopped = Arc::clone(&self.0.tail_stopped);
        TailSession::spawn("fake-tail", inbox, move |control, inbox| {
            let topic: Arc<str> = Arc::from(target.topic.as_str());
            let mut next = 0;
            while next < n {
                let mut batch: Vec<TailItem> = (next..(next + 500).min(n))
                    .map(|offset| {
                        TailItem::Record(Record {
                            topic: Arc::clone(&topic),
                            partition: 0,
                            offset,
                            timestamp: None,
                            timestamp_type: TimestampType::NotAvailable,
                            key: None,
                            value: Some(offset.to_string().into_bytes()),
                            headers: Vec::new(),
                        })
                    })
                    .collect();
                next += batch.len() as i64;
                match inbox.push(&mut batch, &|| false) {
                    None => break,
                    Some(true) if !wake() => break,
                    Some(_) => {}
                }
            }
            while !matches!(control.recv(), Ok(TailControl::Stop) | Err(_)) {}
            stopped.store(true, Ordering::SeqCst);
        })
    }
}

struct Running {
    commands: mpsc::Sender<Command>,
    updates: mpsc::Receiver<Update>,
    _shutdown: watch::Sender<bool>,
}

fn start(fake: &Arc<Fake>) -> Running {
    let (ctx, crx) = mpsc::channel(16);
    let (utx, urx) = mpsc::channel(4096);
    let (stx, srx) = watch::channel(false);
    let cfg = WorkerConfig::new(Duration::from_secs(5));
    tokio::spawn(run(Arc::new(Shared(Arc::clone(fake))), cfg, crx, utx, srx));
    Running {
        commands: ctx,
        updates: urx,
        _shutdown: stx,
    }
}

/// Collects every update until `until` (on the paused clock), with the time it arrived.
async fn collect(r: &mut Running, until: Instant) -> Vec<(Instant, Update)> {
    let mut out = Vec::new();
    loop {
        tokio::select! {
            u = r.updates.recv() => match u {
                Some(u) => out.push((Instant::now(), u)),
                None => return out,
            },
            _ = tokio::time::sleep_until(until) => return out,
        }
    }
}

fn topics_view() -> ViewWants {
    ViewWants {
        visible: vec![
            Dataset::Metadata,
            Dataset::HighWatermarks,
            Dataset::LogStarts,
            Dataset::Sizes,
            Dataset::Retention,
        ],
        ..ViewWants::default()
    }
}

fn finished<'a>(
    updates: &'a [(Instant, Update)],
    pred: impl Fn(&JobKey) -> bool + 'a,
) -> impl Iterator<Item = (Instant, bool)> + 'a {
    updates.iter().filter_map(move |(at, u)| match u {
        Update::Finished { job, result, .. } if pred(job) => Some((*at, result.is_ok())),
        _ => None,
    })
}

#[tokio::test(start_paused = true)]
async fn a_hung_retention_request_does_not_delay_the_watermarks() {
    let mut fake = Fake::new(10, 3);
    fake.hang = vec!["retention"];
    let fake = Arc::new(fake);
    let mut r = start(&fake);
    let t0 = Instant::now();
    r.commands
        .send(Command::View {
            id: 1,
            view: topics_view(),
        })
        .await
        .unwrap();
    let updates = collect(&mut r, t0 + Duration::from_secs(21)).await;
    let hw: Vec<Instant> = finished(&updates, |k| matches!(k, JobKey::HighWatermarks(_)))
        .filter(|(_, ok)| *ok)
        .map(|(at, _)| at)
        .collect();
    // Every 2 s after the previous answer (which takes 0.1 s), from the first metadata on.
    assert!(hw.len() >= 9, "watermarks answered {} times in 21 s", hw.len());
    for w in hw.windows(2) {
        assert_eq!(w[1] - w[0], Duration::from_millis(2100), "{hw:?}");
    }
    let retention: Vec<(Instant, bool)> = finished(&updates, |k| matches!(k, JobKey::Retention(_))).collect();
    assert!(!retention.is_empty(), "the hung request times out");
    assert!(retention.iter().all(|(_, ok)| !ok));
    let first = retention[0].0 - t0;
    // Started after the first metadata (0.1 s), failed at the job timeout (5 s + 2 s).
    assert_eq!(first, Duration::from_millis(7100), "{retention:?}");
}

#[tokio::test(start_paused = true)]
async fn no_more_requests_in_flight_than_the_budget() {
    // 2,400 partitions: 5 chunks of latest and 5 of earliest offsets, plus the rest.
    let fake = Arc::new(Fake::new(800, 3));
    let mut r = start(&fake);
    r.commands
        .send(Command::View {
            id: 1,
            view: topics_view(),
        })
        .await
        .unwrap();
    let updates = collect(&mut r, Instant::now() + Duration::from_secs(10)).await;
    let offsets = finished(&updates, |k| {
        matches!(k, JobKey::HighWatermarks(_) | JobKey::LogStarts(_))
    })
    .count();
    assert!(offsets >= 10, "every chunk answered: {offsets}");
    let max = fake.max_in_flight.load(Ordering::SeqCst);
    assert_eq!(max, 6, "the budget is reached and never exceeded");
}

#[tokio::test(start_paused = true)]
async fn off_screen_data_refreshes_slower_and_topics_on_screen_come_first() {
    let fake = Arc::new(Fake::new(800, 3));
    let mut r = start(&fake);
    let mut view = ViewWants {
        visible: vec![Dataset::Metadata, Dataset::Groups],
        ..ViewWants::default()
    };
    r.commands
        .send(Command::View {
            id: 1,
            view: view.clone(),
        })
        .await
        .unwrap();
    let updates = collect(&mut r, Instant::now() + Duration::from_secs(21)).await;
    let groups = finished(&updates, |k| *k == JobKey::Groups).count();
    let offsets = finished(&updates, |k| *k == JobKey::HighWatermarks(0)).count();
    assert!(groups >= 9, "groups on screen: every 2 s ({groups})");
    assert_eq!(offsets, 3, "offsets off screen: every 10 s");
    // The topics on screen go into the first chunk of offsets.
    view.visible = topics_view().visible;
    view.topics_first = vec!["t0799".into()];
    r.commands.send(Command::View { id: 2, view }).await.unwrap();
    let updates = collect(&mut r, Instant::now() + Duration::from_secs(3)).await;
    let first_chunk = updates.iter().find_map(|(_, u)| match u {
        Update::Finished {
            job: JobKey::HighWatermarks(0),
            result: Ok(Payload::Offsets(list)),
            ..
        } => Some(list.clone()),
        _ => None,
    });
    let first_chunk = first_chunk.expect("chunk 0 answered");
    assert_eq!(first_chunk[0].topic, "t0799");
}

#[tokio::test(start_paused = true)]
async fn navigating_away_cancels_the_old_topics_configs_and_its_answer_never_arrives() {
    let mut fake = Fake::new(2, 1);
    fake.hang_configs = vec!["t0000"];
    let fake = Arc::new(fake);
    let mut r = start(&fake);
    let view = |t: &str| ViewWants {
        visible: vec![Dataset::TopicConfigs],
        topic_configs: Some(t.into()),
        ..ViewWants::default()
    };
    r.commands
        .send(Command::View {
            id: 1,
            view: view("t0000"),
        })
        .await
        .unwrap();
    collect(&mut r, Instant::now() + Duration::from_secs(1)).await;
    r.commands
        .send(Command::View {
            id: 2,
            view: view("t0001"),
        })
        .await
        .unwrap();
    let updates = collect(&mut r, Instant::now() + Duration::from_secs(20)).await;
    let old = JobKey::TopicConfigs("t0000".into());
    assert!(updates
        .iter()
        .any(|(_, u)| matches!(u, Update::Dropped { job } if *job == old)));
    assert!(
        !updates
            .iter()
            .any(|(_, u)| matches!(u, Update::Finished { job, .. } | Update::Started { job, .. } if *job == old)),
        "no answer, not even a timeout, for a cancelled job"
    );
    assert!(finished(&updates, |k| *k == JobKey::TopicConfigs("t0001".into())).any(|(_, ok)| ok));
    assert_eq!(
        fake.in_flight.load(Ordering::SeqCst),
        0,
        "the cancelled request was dropped"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refresh_is_answered_once_everything_on_screen_answered() {
    let fake = Arc::new(Fake::new(2, 1));
    let mut r = start(&fake);
    r.commands
        .send(Command::View {
            id: 1,
            view: topics_view(),
        })
        .await
        .unwrap();
    collect(&mut r, Instant::now() + Duration::from_millis(500)).await;
    let calls_before = fake.calls.lock().unwrap().len();
    r.commands.send(Command::Refresh { id: 7 }).await.unwrap();
    let updates = collect(&mut r, Instant::now() + Duration::from_millis(500)).await;
    let refreshed = updates
        .iter()
        .position(|(_, u)| *u == Update::Refreshed { id: 7 })
        .expect("refresh answered");
    // Before the answer: the visible jobs (metadata, offsets, sizes, retention) all finished.
    let done: Vec<Dataset> = updates[..refreshed]
        .iter()
        .filter_map(|(_, u)| match u {
            Update::Finished { job, .. } => Some(job.dataset()),
            _ => None,
        })
        .collect();
    for d in topics_view().visible {
        assert!(done.contains(&d), "{d:?} answered before the refresh was: {done:?}");
    }
    assert!(fake.calls.lock().unwrap().len() > calls_before);
}

/// Real time: the fake tail's session is a thread.
#[tokio::test]
async fn a_tail_streams_its_records_with_at_most_two_batches_held_and_stops_on_close() {
    let mut fake = Fake::new(1, 1);
    fake.tail_records = 20_000;
    let fake = Arc::new(fake);
    let mut r = start(&fake);
    let target = TailTarget {
        topic: "t0000".into(),
        partition: None,
    };
    let open = TailOrder::Open {
        session: 7,
        target,
        start: StartAt::Latest,
    };
    r.commands.send(Command::Tail { id: 1, order: open }).await.unwrap();
    // Hold the batches: the worker sends two, then waits for the UI to take them.
    let mut held = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(500), r.updates.recv()).await {
            Ok(Some(Update::Tail { session, batch })) => {
                assert_eq!(session, 7);
                held.push(batch);
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("the worker stopped"),
            // Half a second without a batch: the worker is waiting.
            Err(_) if !held.is_empty() => break,
            Err(_) => {}
        }
    }
    assert_eq!(held.len(), tail::BATCHES_IN_FLIGHT, "batches in flight are bounded");
    let mut offsets: Vec<i64> = Vec::new();
    let take = |b: tail::TailBatch, offsets: &mut Vec<i64>| {
        for item in &b.items {
            if let TailItem::Record(rec) = item {
                offsets.push(rec.offset);
            }
        }
    };
    for b in held.drain(..) {
        take(b, &mut offsets);
    }
    // Taken and dropped: the rest flows.
    while offsets.len() < 20_000 && std::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(2), r.updates.recv()).await {
            Ok(Some(Update::Tail { batch, .. })) => take(batch, &mut offsets),
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    assert_eq!(
        offsets,
        (0..20_000).collect::<Vec<i64>>(),
        "every record, in order, once"
    );
    assert!(!fake.tail_stopped.load(Ordering::SeqCst));
    // Orders about another session are ignored; closing this one stops it.
    let close = |session| Command::Tail {
        id: 2,
        order: TailOrder::Close { session },
    };
    r.commands.send(close(6)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!fake.tail_stopped.load(Ordering::SeqCst), "another session's close");
    r.commands.send(close(7)).await.unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while !fake.tail_stopped.load(Ordering::SeqCst) && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(fake.tail_stopped.load(Ordering::SeqCst), "the session stopped");
}

#[tokio::test]
async fn a_tail_that_cannot_start_says_why() {
    let fake = Arc::new(Fake::new(1, 1));
    let mut r = start(&fake);
    let open = TailOrder::Open {
        session: 3,
        target: TailTarget {
            topic: "t0000".into(),
            partition: Some(0),
        },
        start: StartAt::Earliest,
    };
    r.commands.send(Command::Tail { id: 1, order: open }).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        assert!(std::time::Instant::now() < deadline, "no answer about the tail");
        match tokio::time::timeout(Duration::from_secs(1), r.updates.recv()).await {
            Ok(Some(Update::Tail { session, batch })) => {
                assert_eq!(session, 3);
                assert!(
                    matches!(&batch.items[..], [TailItem::Notice(crate::cluster::tail::TailNotice::Failed(m))] if m.contains("no records")),
                    "{:?}",
                    batch.items
                );
                break;
            }
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => panic!("the worker stopped"),
        }
    }
}
