//! Power loss: the broker's core (every handler, the logs, catalog, offsets store and producer
//! ids) runs in this process on the simulated disk (`strom::broker::storage::sim`), which keeps
//! unsynced writes apart and forgets them at a crash, the way a power cut does and a SIGKILL
//! does not. Each run is a seeded sequence of boots: recover, check everything against what was
//! acknowledged so far, then run an acks=all workload (idempotent producers with pipelined
//! requests and retries of unacknowledged batches across restarts, standalone group commits,
//! group deletions, DeleteRecords, topic creation, deletion and re-creation) until the disk
//! stops at a random mutating call; then a power loss (unsynced writes dropped, torn or kept in
//! part), a process crash (page cache kept), or a clean shutdown.
//!
//! After every recovery: every acknowledged record is present exactly once at its acknowledged
//! offset (unless DeleteRecords, retention or a topic deletion removed it); no offset seen after
//! an earlier recovery holds different data later, and one read during a run (maybe before it
//! was durable) holds other data only under a higher leader epoch, with OffsetForLeaderEpoch
//! ending the old epoch at or before it, so a consumer can tell; the leader epoch rises after
//! every unclean stop; every committed offset is its last acknowledged value or one sent after
//! it; deleted groups and deleted topics stay deleted and a re-created topic never inherits old
//! offsets; the log start never moves back or below an acknowledged DeleteRecords; producer ids
//! are never handed out twice; and recovery itself never fails.
//!
//! Requests are real Kafka request frames decoded by the broker's dispatcher; replies are
//! awaited concurrently on a single-threaded runtime, and the simulated disk runs its I/O
//! inline, so a seed replays the same run. `STROM_POWER_LOSS_SEED=N` runs only seed N and prints
//! its trace; `STROM_POWER_LOSS_SEEDS=N` runs seeds 0..N (default 40, ten boots each).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::future::join_all;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup;
use kafka_protocol::messages::offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, DeleteGroupsRequest, DeleteRecordsRequest, DeleteTopicsRequest, FetchRequest, GroupId,
    InitProducerIdRequest, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest, OffsetFetchRequest,
    OffsetForLeaderEpochRequest, ProduceRequest, ProducerId, RequestHeader, ResponseKind, TopicName,
};
use kafka_protocol::protocol::{Encodable, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use strom::broker::config::BrokerConfig;
use strom::broker::dispatch::{self, Reply};
use strom::broker::security::SecurityProtocol;
use strom::broker::storage::sim::{SimDisk, SimRng, SyncAction, SyncKind, SyncRule};
use strom::broker::{Broker, BrokerOptions, Endpoint};
use tokio::sync::watch;

const DATA: &str = "/data";
const BASE_TOPIC: &str = "base";
const GROUPS: [&str; 3] = ["g0", "g1", "g2"];
const BOOTS_PER_RUN: usize = 10;

thread_local! {
    /// Failures without the trace (the fsync-removal experiments expect them).
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// One request frame as the server hands it to the dispatcher (no length prefix).
fn frame<R: Request + Encodable>(req: &R, version: i16, correlation_id: i32) -> Bytes {
    let mut header = RequestHeader::default();
    header.request_api_key = R::KEY;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = Some(StrBytes::from_static_str("power-loss"));
    let mut buf = BytesMut::new();
    let hv = ApiKey::try_from(R::KEY).unwrap().request_header_version(version);
    header.encode(&mut buf, hv).unwrap();
    req.encode(&mut buf, version).unwrap();
    buf.freeze()
}

/// Runs a request through the dispatcher; `None` when the broker gave no answer (it closed the
/// connection).
async fn call<R: Request + Encodable>(broker: &Arc<Broker>, req: &R, version: i16) -> Option<ResponseKind> {
    let (_, reply) = dispatch::handle_frame(broker, frame(req, version, 1), "127.0.0.1", 0)
        .await
        .ok()?;
    settle(reply).await
}

async fn settle(reply: Reply) -> Option<ResponseKind> {
    match reply {
        Reply::Now(r) => Some(r),
        Reply::Later(f) => Some(f.await),
        Reply::None | Reply::Close(_) => None,
    }
}

/// A batch of an idempotent producer: one record per id, values `r{id}`.
fn batch(pid: i64, epoch: i16, base_seq: i32, ids: &[u64]) -> Bytes {
    let records: Vec<Record> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: base_seq + i as i32,
            timestamp: strom::broker::now_ms(),
            key: None,
            value: Some(Bytes::from(format!("r{id}"))),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .unwrap();
    buf.freeze()
}

type Tp = (String, i32);

#[derive(Clone, Debug)]
struct SentBatch {
    tp: Tp,
    incarnation: u32,
    seq: i32,
    ids: Vec<u64>,
}

struct Producer {
    pid: i64,
    next_seq: HashMap<Tp, i32>,
    /// Sent and not acknowledged, per partition, in sequence order.
    inflight: HashMap<Tp, Vec<SentBatch>>,
}

#[derive(Default)]
struct TopicModel {
    partitions: i32,
    incarnation: u32,
    /// Whether its creation (or deletion) was acknowledged: `Some(true)` exists, `Some(false)`
    /// gone, `None` unknown until the next recovery shows it.
    exists: Option<bool>,
}

#[derive(Default)]
struct PartitionModel {
    /// Acknowledged records: offset -> id.
    acked: BTreeMap<i64, u64>,
    /// Offsets seen after a recovery (durable by then): offset -> id.
    stable: BTreeMap<i64, u64>,
    /// Records read during a run, durable or not: offset -> (id, leader epoch).
    read: BTreeMap<i64, (u64, i32)>,
    /// The highest acknowledged DeleteRecords offset.
    acked_start: i64,
    /// The log start seen after the last recovery.
    seen_start: i64,
}

/// What the broker acknowledged, and what it may or may not have kept.
#[derive(Default)]
struct Model {
    topics: BTreeMap<String, TopicModel>,
    /// Per (topic, incarnation, partition).
    parts: HashMap<(String, u32, i32), PartitionModel>,
    /// Committed offsets: per (group, topic, partition), the values the store may hold (None:
    /// no offset); the first is the last acknowledged state.
    commits: BTreeMap<(String, String, i32), Vec<Option<i64>>>,
    producer_ids: BTreeSet<i64>,
    producers: Vec<Producer>,
    next_id: u64,
    next_commit: i64,
    topic_counter: u32,
}

/// What the runs exercised, to show the test had something to lose.
#[derive(Default, Debug, Clone, Copy)]
struct Stats {
    boots: u64,
    power_losses: u64,
    process_crashes: u64,
    clean_shutdowns: u64,
    stopped_during_recovery: u64,
    /// Crashes with unsynced writes in flight.
    crashes_with_unsynced_writes: u64,
    acked_batches: u64,
    acked_commits: u64,
    acked_group_deletions: u64,
    acked_delete_records: u64,
    acked_topic_creations: u64,
    acked_topic_deletions: u64,
}

struct Run {
    seed: u64,
    rng: SimRng,
    model: Model,
    trace: Vec<String>,
    verbose: bool,
    stats: Stats,
    cluster_id: Option<String>,
    /// The leader epoch of the last boot, and whether that boot ended cleanly.
    last_epoch: Option<(i32, bool)>,
}

impl Run {
    fn note(&mut self, line: String) {
        if self.verbose {
            eprintln!("[seed {}] {line}", self.seed);
        }
        self.trace.push(line);
        if self.trace.len() > 400 {
            self.trace.drain(..100);
        }
    }

    fn fail(&self, what: String) -> ! {
        if QUIET.with(|q| q.get()) {
            panic!("{what}");
        }
        let tail: Vec<&String> = self.trace.iter().rev().take(40).collect();
        let tail: Vec<&str> = tail.iter().rev().map(|s| s.as_str()).collect();
        panic!(
            "seed {}: {what}\nreproduce: STROM_POWER_LOSS_SEED={} cargo test --release --test power_loss\nlast steps:\n  {}",
            self.seed,
            self.seed,
            tail.join("\n  ")
        );
    }
}

fn endpoint() -> Endpoint {
    Endpoint {
        protocol: SecurityProtocol::Plaintext,
        host: "127.0.0.1".into(),
        port: 9092,
    }
}

fn options() -> BrokerOptions {
    let config = BrokerConfig::parse("\"num.partitions\" = 3\n").unwrap();
    BrokerOptions {
        // The test drives the broker's handlers directly: nothing is bound.
        listeners: Vec::new(),
        data_dir: DATA.into(),
        config,
    }
}

/// How a boot ends.
#[derive(Clone, Copy, Debug)]
enum End {
    PowerLoss,
    ProcessCrash,
    Clean,
}

/// A fsync taken out of the broker for one experiment: the simulated disk makes the matching
/// syncs do nothing, always or only while the broker opens (recovers).
struct Removal {
    name: &'static str,
    kind: SyncKind,
    only_during_recovery: bool,
    matches: fn(&Path) -> bool,
}

impl Removal {
    fn install(&self, disk: &SimDisk) {
        disk.add_sync_rule(SyncRule {
            kind: self.kind,
            action: SyncAction::Skip,
            matches: Box::new(self.matches),
        });
    }
}

fn run_seed(seed: u64, verbose: bool, removal: Option<&Removal>) -> Stats {
    let mut run = Run {
        seed,
        rng: SimRng::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5eed),
        model: Model::default(),
        trace: Vec::new(),
        verbose,
        stats: Stats::default(),
        cluster_id: None,
        last_epoch: None,
    };
    let mut disk = SimDisk::new();
    if let Some(r) = removal.filter(|r| !r.only_during_recovery) {
        r.install(&disk);
    }
    for boot in 0..BOOTS_PER_RUN {
        run.stats.boots += 1;
        // Sometimes the machine stops during recovery itself.
        let during_open = run.rng.chance(8);
        if during_open {
            disk.die_after(run.rng.below(40));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (_tx, rx) = watch::channel(false);
        if let Some(r) = removal.filter(|r| r.only_during_recovery) {
            r.install(&disk);
        }
        let opened = Broker::open(&options(), disk.storage(), vec![endpoint()], rx);
        if removal.is_some_and(|r| r.only_during_recovery) {
            disk.clear_sync_rules();
        }
        let broker = match opened {
            Ok(b) => Arc::new(b),
            Err(e) if disk.is_stopped() => {
                run.note(format!("boot {boot}: the machine stopped during recovery ({e})"));
                run.stats.stopped_during_recovery += 1;
                disk = disk.power_loss(&mut run.rng);
                continue;
            }
            Err(e) => run.fail(format!("boot {boot}: recovery failed: {e}")),
        };
        match &run.cluster_id {
            Some(id) if *id != broker.cluster_id => {
                let old = id.clone();
                run.fail(format!(
                    "boot {boot}: cluster id changed from {old} to {}",
                    broker.cluster_id
                ));
            }
            _ => run.cluster_id = Some(broker.cluster_id.clone()),
        }
        match run.last_epoch {
            Some((prev, true)) if broker.leader_epoch < prev => run.fail(format!(
                "boot {boot}: leader epoch went from {prev} back to {}",
                broker.leader_epoch
            )),
            Some((prev, false)) if broker.leader_epoch <= prev => run.fail(format!(
                "boot {boot}: leader epoch {} not raised after an unclean stop (was {prev})",
                broker.leader_epoch
            )),
            _ => {}
        }
        run.note(format!("boot {boot}: recovered"));
        let end = rt.block_on(async {
            verify(&mut run, &broker, boot).await;
            if !run.rng.chance(3) {
                let span = if run.rng.chance(4) { 60 } else { 600 };
                let budget = 1 + run.rng.below(span);
                disk.die_after(budget);
                run.note(format!("boot {boot}: the disk stops after {budget} more writes"));
            } else {
                let n = 1 + run.rng.below(200);
                disk.die_at_sync(n);
                run.note(format!("boot {boot}: the disk stops at the {n}th sync from now"));
            }
            workload(&mut run, &broker, &disk, boot).await;
            let stopped = disk.is_stopped();
            match (stopped, run.rng.below(10)) {
                (false, 0..=2) => {
                    if broker.groups.flush().await.is_ok() && broker.close().is_ok() {
                        End::Clean
                    } else {
                        End::PowerLoss
                    }
                }
                (_, 0..=2) => End::ProcessCrash,
                _ => End::PowerLoss,
            }
        });
        run.last_epoch = Some((broker.leader_epoch, matches!(end, End::Clean)));
        drop(broker);
        drop(rt);
        run.note(format!("boot {boot}: {end:?}"));
        match end {
            End::Clean => run.stats.clean_shutdowns += 1,
            End::ProcessCrash => run.stats.process_crashes += 1,
            End::PowerLoss => {
                run.stats.power_losses += 1;
                if disk.unsynced_ops() > 0 {
                    run.stats.crashes_with_unsynced_writes += 1;
                }
            }
        }
        disk = match end {
            End::Clean | End::ProcessCrash => disk.process_crash(),
            End::PowerLoss => disk.power_loss(&mut run.rng),
        };
        // A clean shutdown may still be followed by a power cut.
        if matches!(end, End::Clean) && run.rng.chance(2) {
            disk = disk.power_loss(&mut run.rng);
        }
    }
    run.stats
}

/// Topics with their partition counts; every partition must report the broker's epoch.
async fn metadata(broker: &Arc<Broker>) -> BTreeMap<String, i32> {
    let mut req = MetadataRequest::default();
    req.topics = None;
    let Some(ResponseKind::Metadata(resp)) = call(broker, &req, 9).await else {
        panic!("metadata failed");
    };
    for t in &resp.topics {
        for p in &t.partitions {
            assert_eq!(p.leader_epoch, broker.leader_epoch, "Metadata reports the leader epoch");
        }
    }
    resp.topics
        .into_iter()
        .filter_map(|t| Some((t.name?.0.to_string(), t.partitions.len() as i32)))
        .collect()
}

/// OffsetForLeaderEpoch: (error, epoch, end offset) of `epoch` in `topic`-`p`.
async fn epoch_end(broker: &Arc<Broker>, topic: &str, p: i32, epoch: i32) -> (i16, i32, i64) {
    let mut op = OffsetForLeaderPartition::default();
    op.partition = p;
    op.current_leader_epoch = broker.leader_epoch;
    op.leader_epoch = epoch;
    let mut ot = OffsetForLeaderTopic::default();
    ot.topic = name(topic);
    ot.partitions = vec![op];
    let mut req = OffsetForLeaderEpochRequest::default();
    req.replica_id = (-1).into();
    req.topics = vec![ot];
    let Some(ResponseKind::OffsetForLeaderEpoch(resp)) = call(broker, &req, 4).await else {
        panic!("offset for leader epoch failed");
    };
    let e = &resp.topics[0].partitions[0];
    (e.error_code, e.leader_epoch, e.end_offset)
}

async fn list_offset(broker: &Arc<Broker>, topic: &str, p: i32, which: i64) -> (i16, i64) {
    let mut lp = ListOffsetsPartition::default();
    lp.partition_index = p;
    lp.timestamp = which;
    let mut lt = ListOffsetsTopic::default();
    lt.name = name(topic);
    lt.partitions = vec![lp];
    let mut req = ListOffsetsRequest::default();
    req.replica_id = (-1).into();
    req.topics = vec![lt];
    let Some(ResponseKind::ListOffsets(resp)) = call(broker, &req, 5).await else {
        panic!("list offsets failed");
    };
    let part = &resp.topics[0].partitions[0];
    (part.error_code, part.offset)
}

/// Every record from `from` to the log end: (offset, id, leader epoch).
async fn read_partition(broker: &Arc<Broker>, topic: &str, p: i32, from: i64) -> Result<Vec<(i64, u64, i32)>, String> {
    let mut out = Vec::new();
    let mut offset = from;
    for _ in 0..10_000 {
        let mut fp = FetchPartition::default();
        fp.partition = p;
        fp.fetch_offset = offset;
        fp.partition_max_bytes = 1 << 20;
        fp.current_leader_epoch = -1;
        let mut ft = FetchTopic::default();
        ft.topic = name(topic);
        ft.partitions = vec![fp];
        let mut req = FetchRequest::default();
        req.replica_id = (-1).into();
        req.max_wait_ms = 0;
        req.max_bytes = 1 << 20;
        req.topics = vec![ft];
        let Some(ResponseKind::Fetch(resp)) = call(broker, &req, 11).await else {
            return Err("fetch failed".into());
        };
        let part = &resp.responses[0].partitions[0];
        if part.error_code != 0 {
            return Err(format!("fetch {topic}-{p} at {offset}: error {}", part.error_code));
        }
        let mut bytes = part.records.clone().unwrap_or_default();
        if bytes.is_empty() {
            if offset < part.high_watermark {
                return Err(format!(
                    "fetch {topic}-{p} at {offset} returned nothing below the high watermark {}; files: {}",
                    part.high_watermark,
                    listing(broker, topic, p)
                ));
            }
            return Ok(out);
        }
        let sets = RecordBatchDecoder::decode_all(&mut bytes).map_err(|e| format!("undecodable batch: {e}"))?;
        for set in sets {
            for r in set.records {
                offset = r.offset + 1;
                if r.offset < from {
                    continue;
                }
                let value = r
                    .value
                    .as_ref()
                    .map(|v| String::from_utf8_lossy(v).to_string())
                    .unwrap_or_default();
                let id = value
                    .strip_prefix('r')
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| format!("record at {topic}-{p}/{} has value {value:?}", r.offset))?;
                out.push((r.offset, id, r.partition_leader_epoch));
            }
        }
    }
    Err("the log did not end".into())
}

/// The files of a partition directory with their sizes, for failure messages.
fn listing(broker: &Arc<Broker>, topic: &str, p: i32) -> String {
    let dir = Path::new(DATA).join(format!("{topic}-{p}"));
    match broker.disk.list(&dir) {
        Ok(entries) => entries
            .iter()
            .map(|e| {
                let len = broker.disk.read(&dir.join(&e.name)).map(|b| b.len()).unwrap_or(0);
                format!("{} ({len} B)", e.name)
            })
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => e.to_string(),
    }
}

/// Checks the recovered broker against the model, and settles what was unknown.
async fn verify(run: &mut Run, broker: &Arc<Broker>, boot: usize) {
    let present = metadata(broker).await;
    // Topics.
    let names: Vec<String> = run.model.topics.keys().cloned().collect();
    for t in &names {
        let exists = present.contains_key(t);
        let m = run.model.topics.get_mut(t).unwrap();
        match m.exists {
            Some(true) if !exists => run.fail(format!("boot {boot}: acknowledged topic {t} is gone")),
            Some(false) if exists => run.fail(format!("boot {boot}: deleted topic {t} is back")),
            None => {
                m.exists = Some(exists);
                if exists && present[t] != m.partitions {
                    run.fail(format!("boot {boot}: topic {t} has {} partitions", present[t]));
                }
            }
            _ => {}
        }
        if exists && present[t] != run.model.topics[t].partitions {
            run.fail(format!("boot {boot}: topic {t} has {} partitions", present[t]));
        }
    }
    for t in present.keys() {
        if !run.model.topics.contains_key(t) {
            run.fail(format!("boot {boot}: unknown topic {t} appeared"));
        }
    }
    // Records.
    let mut seen_ids: HashMap<u64, (String, i32, i64)> = HashMap::new();
    for t in &names {
        let m = &run.model.topics[t];
        if m.exists != Some(true) {
            continue;
        }
        let (inc, parts) = (m.incarnation, m.partitions);
        for p in 0..parts {
            let (e1, start) = list_offset(broker, t, p, -2).await;
            let (e2, end) = list_offset(broker, t, p, -1).await;
            if e1 != 0 || e2 != 0 {
                run.fail(format!("boot {boot}: list offsets {t}-{p}: errors {e1}/{e2}"));
            }
            let records = match read_partition(broker, t, p, start).await {
                Ok(r) => r,
                Err(e) => run.fail(format!("boot {boot}: {e}")),
            };
            // Records read during the last run that are now gone or different: the epoch
            // they were read in must end at or before them.
            let mut changed = Vec::new();
            if let Some(pm) = run.model.parts.get(&(t.clone(), inc, p)) {
                let got: BTreeMap<i64, (u64, i32)> = records.iter().map(|&(o, id, e)| (o, (id, e))).collect();
                for (&o, &(id, epoch)) in pm.read.range(start..) {
                    match got.get(&o) {
                        Some(&(now, _)) if now == id => {}
                        now => changed.push((o, id, epoch, now.copied())),
                    }
                }
            }
            for (o, id, epoch, now) in changed {
                if let Some((_, now_epoch)) = now {
                    if now_epoch <= epoch {
                        run.fail(format!(
                            "boot {boot}: {t}-{p}/{o} was r{id} in epoch {epoch}, now other data in epoch {now_epoch}"
                        ));
                    }
                }
                let (code, _, ends) = epoch_end(broker, t, p, epoch).await;
                if code != 0 || ends > o {
                    run.fail(format!(
                        "boot {boot}: {t}-{p}/{o} (r{id}, epoch {epoch}) is gone but OffsetForLeaderEpoch says epoch {epoch} ends at {ends} (error {code})"
                    ));
                }
            }
            let pm = run.model.parts.entry((t.clone(), inc, p)).or_default();
            pm.read.clear();
            if start < pm.acked_start && end >= pm.acked_start {
                let s = pm.acked_start;
                run.fail(format!(
                    "boot {boot}: {t}-{p} starts at {start}, below acknowledged DeleteRecords {s}"
                ));
            }
            if start < pm.seen_start && end >= pm.seen_start {
                let s = pm.seen_start;
                run.fail(format!(
                    "boot {boot}: {t}-{p} starts at {start}, below {s} seen after an earlier recovery"
                ));
            }
            pm.seen_start = start;
            if let Some(&(o, _, e)) = records.iter().find(|r| r.2 > broker.leader_epoch) {
                run.fail(format!(
                    "boot {boot}: {t}-{p}/{o} has epoch {e}, later than the broker's"
                ));
            }
            let got: BTreeMap<i64, u64> = records.iter().map(|&(o, id, _)| (o, id)).collect();
            let mut problems = Vec::new();
            for (&o, &id) in pm.acked.range(start..) {
                if got.get(&o) != Some(&id) {
                    problems.push(format!(
                        "acknowledged record r{id} at {t}-{p}/{o} is missing (found {:?}; log {start}..{end})",
                        got.get(&o)
                    ));
                }
            }
            for (&o, &id) in pm.stable.range(start..) {
                if let Some(&now) = got.get(&o) {
                    if now != id {
                        problems.push(format!(
                            "offset {t}-{p}/{o} held r{id} after an earlier recovery, now r{now}"
                        ));
                    }
                }
            }
            for &(o, id, _) in &records {
                if let Some(prev) = seen_ids.insert(id, (t.clone(), p, o)) {
                    problems.push(format!("record r{id} stored twice: {prev:?} and {t}-{p}/{o}"));
                }
            }
            if let Some(first) = problems.first() {
                let n = problems.len();
                run.fail(format!("boot {boot}: {first} ({n} problems)"));
            }
            // Everything visible now is durable: it must stay.
            pm.stable = got;
        }
    }
    // Committed offsets.
    for g in GROUPS {
        let mut gr = OffsetFetchRequestGroup::default();
        gr.group_id = GroupId(StrBytes::from_static_str(g));
        gr.topics = None;
        let mut req = OffsetFetchRequest::default();
        req.groups = vec![gr];
        req.require_stable = false;
        let Some(ResponseKind::OffsetFetch(resp)) = call(broker, &req, 8).await else {
            run.fail(format!("boot {boot}: offset fetch failed"));
        };
        let group = &resp.groups[0];
        if group.error_code != 0 {
            run.fail(format!("boot {boot}: offset fetch {g}: error {}", group.error_code));
        }
        let mut found: BTreeMap<(String, i32), i64> = BTreeMap::new();
        for t in &group.topics {
            for p in &t.partitions {
                found.insert((t.name.0.to_string(), p.partition_index), p.committed_offset);
            }
        }
        let keys: Vec<(String, String, i32)> = run.model.commits.keys().filter(|(mg, _, _)| mg == g).cloned().collect();
        for key in keys {
            let now = found.remove(&(key.1.clone(), key.2));
            let allowed = &run.model.commits[&key];
            if !allowed.contains(&now) {
                let a = allowed.clone();
                run.fail(format!(
                    "boot {boot}: committed offset {key:?} is {now:?}, expected one of {a:?}"
                ));
            }
            run.model.commits.insert(key, vec![now]);
        }
        if let Some((k, v)) = found.into_iter().next() {
            run.fail(format!(
                "boot {boot}: group {g} has an offset nobody committed: {k:?} = {v}"
            ));
        }
    }
    run.note(format!("boot {boot}: verified"));
}

async fn init_producer(run: &mut Run, broker: &Arc<Broker>) -> Option<i64> {
    let mut req = InitProducerIdRequest::default();
    req.transactional_id = None;
    req.transaction_timeout_ms = -1;
    req.producer_id = ProducerId(-1);
    req.producer_epoch = -1;
    let Some(ResponseKind::InitProducerId(resp)) = call(broker, &req, 4).await else {
        return None;
    };
    if resp.error_code != 0 {
        return None;
    }
    let pid = resp.producer_id.0;
    if !run.model.producer_ids.insert(pid) {
        run.fail(format!("producer id {pid} handed out twice"));
    }
    run.model.producers.push(Producer {
        pid,
        next_seq: HashMap::new(),
        inflight: HashMap::new(),
    });
    Some(pid)
}

/// Live topics to produce to: (name, incarnation, partitions).
fn live_topics(model: &Model) -> Vec<(String, u32, i32)> {
    model
        .topics
        .iter()
        .filter(|(_, m)| m.exists == Some(true))
        .map(|(n, m)| (n.clone(), m.incarnation, m.partitions))
        .collect()
}

fn produce_request(batches: &[(i64, &SentBatch, Bytes)]) -> ProduceRequest {
    let mut by_topic: BTreeMap<String, Vec<PartitionProduceData>> = BTreeMap::new();
    for (_, b, bytes) in batches {
        let mut pd = PartitionProduceData::default();
        pd.index = b.tp.1;
        pd.records = Some(bytes.clone());
        by_topic.entry(b.tp.0.clone()).or_default().push(pd);
    }
    let mut req = ProduceRequest::default();
    req.acks = -1;
    req.timeout_ms = 10_000;
    req.topic_data = by_topic
        .into_iter()
        .map(|(t, parts)| {
            let mut td = TopicProduceData::default();
            td.name = name(&t);
            td.partition_data = parts;
            td
        })
        .collect();
    req
}

/// Sends produce requests in order (each appends before the next is read, as on one
/// connection), then awaits their replies together; records what was acknowledged.
async fn produce_round(run: &mut Run, broker: &Arc<Broker>, disk: &SimDisk, requests: Vec<Vec<(i64, SentBatch)>>) {
    let mut pending = Vec::new();
    for batches in requests {
        let encoded: Vec<(i64, &SentBatch, Bytes)> = batches
            .iter()
            .map(|(pid, b)| (*pid, b, batch(*pid, 0, b.seq, &b.ids)))
            .collect();
        let req = produce_request(&encoded);
        let reply = dispatch::handle_frame(broker, frame(&req, 9, 1), "127.0.0.1", 0).await;
        pending.push((batches, reply));
    }
    let replies = join_all(pending.into_iter().map(|(batches, reply)| async move {
        let resp = match reply {
            Ok((_, r)) => settle(r).await,
            Err(_) => None,
        };
        (batches, resp)
    }))
    .await;
    for (batches, resp) in replies {
        let Some(ResponseKind::Produce(resp)) = resp else {
            if !disk.is_stopped() {
                run.fail("a produce request got no answer while the disk works".into());
            }
            continue;
        };
        for (pid, b) in batches {
            let pr = resp
                .responses
                .iter()
                .find(|t| t.name.0.as_str() == b.tp.0)
                .and_then(|t| t.partition_responses.iter().find(|p| p.index == b.tp.1));
            let Some(pr) = pr else {
                run.fail(format!("no answer for {:?}", b.tp));
            };
            if pr.error_code != 0 {
                if !disk.is_stopped() {
                    run.fail(format!(
                        "produce {:?} seq {} of producer {pid}: error {} ({:?}) while the disk works",
                        b.tp, b.seq, pr.error_code, pr.error_message
                    ));
                }
                continue;
            }
            let base = pr.base_offset;
            run.stats.acked_batches += 1;
            run.note(format!(
                "acked {:?} pid {pid} seq {} ids {:?} at {base}",
                b.tp, b.seq, b.ids
            ));
            let pm = run
                .model
                .parts
                .entry((b.tp.0.clone(), b.incarnation, b.tp.1))
                .or_default();
            for (i, id) in b.ids.iter().enumerate() {
                pm.acked.insert(base + i as i64, *id);
            }
            if let Some(p) = run.model.producers.iter_mut().find(|p| p.pid == pid) {
                if let Some(list) = p.inflight.get_mut(&b.tp) {
                    list.retain(|x| x.seq != b.seq);
                }
            }
        }
    }
}

/// The batches to resend first: every unacknowledged batch of every producer, in sequence
/// order, one request each (as a client retries after reconnecting).
fn retries(model: &Model) -> Vec<Vec<(i64, SentBatch)>> {
    let mut out = Vec::new();
    for p in &model.producers {
        for list in p.inflight.values() {
            for b in list {
                let live = model
                    .topics
                    .get(&b.tp.0)
                    .is_some_and(|t| t.exists == Some(true) && t.incarnation == b.incarnation);
                if live {
                    out.push(vec![(p.pid, b.clone())]);
                }
            }
        }
    }
    out
}

async fn commit(run: &mut Run, broker: &Arc<Broker>, disk: &SimDisk) {
    let g = GROUPS[run.rng.below(GROUPS.len() as u64) as usize];
    let topics = live_topics(&run.model);
    let (t, _, parts) = topics[run.rng.below(topics.len() as u64) as usize].clone();
    let p = run.rng.below(parts as u64) as i32;
    run.model.next_commit += 1;
    let value = run.model.next_commit;
    let key = (g.to_string(), t.clone(), p);
    run.model
        .commits
        .entry(key.clone())
        .or_insert_with(|| vec![None])
        .push(Some(value));
    let mut pr = OffsetCommitRequestPartition::default();
    pr.partition_index = p;
    pr.committed_offset = value;
    pr.committed_leader_epoch = -1;
    let mut tr = OffsetCommitRequestTopic::default();
    tr.name = name(&t);
    tr.partitions = vec![pr];
    let mut req = OffsetCommitRequest::default();
    req.group_id = GroupId(StrBytes::from_static_str(g));
    req.generation_id_or_member_epoch = -1;
    req.member_id = StrBytes::from_static_str("");
    req.topics = vec![tr];
    let resp = call(broker, &req, 8).await;
    let code = match resp {
        Some(ResponseKind::OffsetCommit(r)) => r.topics[0].partitions[0].error_code,
        _ => -1,
    };
    if code == 0 {
        run.stats.acked_commits += 1;
        run.note(format!("acked commit {key:?} = {value}"));
        run.model.commits.insert(key, vec![Some(value)]);
    } else if !disk.is_stopped() {
        run.fail(format!("commit {key:?}: error {code} while the disk works"));
    }
}

async fn delete_group(run: &mut Run, broker: &Arc<Broker>, disk: &SimDisk) {
    let g = GROUPS[run.rng.below(GROUPS.len() as u64) as usize];
    for (key, allowed) in run.model.commits.iter_mut() {
        if key.0 == g {
            allowed.push(None);
        }
    }
    let mut req = DeleteGroupsRequest::default();
    req.groups_names = vec![GroupId(StrBytes::from_static_str(g))];
    let code = match call(broker, &req, 2).await {
        Some(ResponseKind::DeleteGroups(r)) => r.results[0].error_code,
        _ => -1,
    };
    // GROUP_ID_NOT_FOUND (69) when it has nothing left.
    if code == 0 || code == 69 {
        run.stats.acked_group_deletions += 1;
        run.note(format!("acked delete group {g}"));
        for (key, allowed) in run.model.commits.iter_mut() {
            if key.0 == g {
                *allowed = vec![None];
            }
        }
    } else if !disk.is_stopped() {
        run.fail(format!("delete group {g}: error {code} while the disk works"));
    }
}

async fn delete_records(run: &mut Run, broker: &Arc<Broker>, disk: &SimDisk) {
    let topics = live_topics(&run.model);
    let (t, inc, parts) = topics[run.rng.below(topics.len() as u64) as usize].clone();
    let p = run.rng.below(parts as u64) as i32;
    let (e1, start) = list_offset(broker, &t, p, -2).await;
    let (e2, end) = list_offset(broker, &t, p, -1).await;
    if e1 != 0 || e2 != 0 {
        if !disk.is_stopped() {
            run.fail(format!("list offsets {t}-{p}: {e1}/{e2} while the disk works"));
        }
        return;
    }
    // Only durable records: a DeleteRecords up to a record that a power loss may take back
    // would leave nothing to compare.
    let Some(&durable_end) = run
        .model
        .parts
        .get(&(t.clone(), inc, p))
        .and_then(|pm| pm.acked.keys().next_back())
    else {
        return;
    };
    let target = start + run.rng.below(((durable_end + 1).min(end) - start).max(0) as u64 + 1) as i64;
    let mut dp = DeleteRecordsPartition::default();
    dp.partition_index = p;
    dp.offset = target;
    let mut dt = DeleteRecordsTopic::default();
    dt.name = name(&t);
    dt.partitions = vec![dp];
    let mut req = DeleteRecordsRequest::default();
    req.topics = vec![dt];
    req.timeout_ms = 10_000;
    let code = match call(broker, &req, 1).await {
        Some(ResponseKind::DeleteRecords(r)) => r.topics[0].partitions[0].error_code,
        _ => -1,
    };
    if code == 0 {
        run.stats.acked_delete_records += 1;
        run.note(format!("acked delete records {t}-{p} below {target}"));
        let pm = run.model.parts.entry((t, inc, p)).or_default();
        pm.acked_start = pm.acked_start.max(target);
        let kept = pm.acked.split_off(&target);
        pm.acked = kept;
    } else if !disk.is_stopped() {
        run.fail(format!("delete records {t}-{p}: error {code} while the disk works"));
    }
}

/// A consumer reads a partition during the run, maybe records that are not durable yet.
async fn read_some(run: &mut Run, broker: &Arc<Broker>, disk: &SimDisk) {
    let topics = live_topics(&run.model);
    let (t, inc, parts) = topics[run.rng.below(topics.len() as u64) as usize].clone();
    let p = run.rng.below(parts as u64) as i32;
    let (e, start) = list_offset(broker, &t, p, -2).await;
    if e != 0 {
        if !disk.is_stopped() {
            run.fail(format!("list offsets {t}-{p}: {e} while the disk works"));
        }
        return;
    }
    match read_partition(broker, &t, p, start).await {
        Ok(records) => {
            run.note(format!("read {t}-{p}: {} records from {start}", records.len()));
            let pm = run.model.parts.entry((t, inc, p)).or_default();
            for (o, id, epoch) in records {
                pm.read.insert(o, (id, epoch));
            }
        }
        Err(e) if !disk.is_stopped() => run.fail(format!("read {t}-{p} while the disk works: {e}")),
        Err(_) => {}
    }
}

async fn create_topic(run: &mut Run, broker: &Arc<Broker>, disk: &SimDisk, topic: String) {
    let partitions = 1 + run.rng.below(2) as i32;
    {
        let m = run.model.topics.entry(topic.clone()).or_default();
        m.partitions = partitions;
        m.incarnation += 1;
        m.exists = None;
    }
    let mut ct = CreatableTopic::default();
    ct.name = name(&topic);
    ct.num_partitions = partitions;
    ct.replication_factor = 1;
    // Small segments: rolls happen all the time; some topics keep only a few of them.
    let mut cfg = CreatableTopicConfig::default();
    cfg.name = StrBytes::from_static_str("segment.bytes");
    cfg.value = Some(StrBytes::from_string((300 + run.rng.below(700)).to_string()));
    ct.configs = vec![cfg];
    if run.rng.chance(3) {
        let mut cfg = CreatableTopicConfig::default();
        cfg.name = StrBytes::from_static_str("retention.bytes");
        cfg.value = Some(StrBytes::from_string((1_000 + run.rng.below(3_000)).to_string()));
        ct.configs.push(cfg);
    }
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![ct];
    req.timeout_ms = 10_000;
    let (code, message) = match call(broker, &req, 5).await {
        Some(ResponseKind::CreateTopics(r)) => (r.topics[0].error_code, r.topics[0].error_message.clone()),
        _ => (-1, None),
    };
    if code == 0 {
        run.stats.acked_topic_creations += 1;
        run.note(format!("acked create {topic} ({partitions} partitions)"));
        run.model.topics.get_mut(&topic).unwrap().exists = Some(true);
    } else if !disk.is_stopped() {
        run.fail(format!(
            "create {topic}: error {code} ({message:?}) while the disk works"
        ));
    }
}

async fn delete_topic(run: &mut Run, broker: &Arc<Broker>, disk: &SimDisk, topic: String) {
    run.model.topics.get_mut(&topic).unwrap().exists = None;
    for (key, allowed) in run.model.commits.iter_mut() {
        if key.1 == topic {
            allowed.push(None);
        }
    }
    let mut req = DeleteTopicsRequest::default();
    req.topic_names = vec![name(&topic)];
    req.timeout_ms = 10_000;
    let code = match call(broker, &req, 4).await {
        Some(ResponseKind::DeleteTopics(r)) => r.responses[0].error_code,
        _ => -1,
    };
    if code == 0 {
        run.stats.acked_topic_deletions += 1;
        run.note(format!("acked delete {topic}"));
        run.model.topics.get_mut(&topic).unwrap().exists = Some(false);
        for (key, allowed) in run.model.commits.iter_mut() {
            if key.1 == topic {
                *allowed = vec![None];
            }
        }
    } else if !disk.is_stopped() {
        run.fail(format!("delete {topic}: error {code} while the disk works"));
    }
}

async fn workload(run: &mut Run, broker: &Arc<Broker>, disk: &SimDisk, boot: usize) {
    if boot == 0 || !run.model.topics.contains_key(BASE_TOPIC) {
        create_topic(run, broker, disk, BASE_TOPIC.into()).await;
    }
    // Batches for topics deleted since are dropped, as a client drops them.
    let live: HashMap<String, u32> = live_topics(&run.model)
        .into_iter()
        .map(|(t, inc, _)| (t, inc))
        .collect();
    for p in run.model.producers.iter_mut() {
        for list in p.inflight.values_mut() {
            list.retain(|b| live.get(&b.tp.0) == Some(&b.incarnation));
        }
    }
    // Retries of what the last boot left unacknowledged come first.
    let again = retries(&run.model);
    if !again.is_empty() {
        run.note(format!("retrying {} unacknowledged batches", again.len()));
        produce_round(run, broker, disk, again).await;
    }
    for _ in 0..1 + run.rng.below(2) {
        if disk.is_stopped() {
            return;
        }
        init_producer(run, broker).await;
    }
    for _step in 0..40 {
        if disk.is_stopped() {
            return;
        }
        let topics = live_topics(&run.model);
        if topics.is_empty() {
            create_topic(run, broker, disk, BASE_TOPIC.into()).await;
            continue;
        }
        match run.rng.below(20) {
            0..=11 => {
                let n_requests = 1 + run.rng.below(4) as usize;
                let mut requests = Vec::new();
                for _ in 0..n_requests {
                    let mut batches: Vec<(i64, SentBatch)> = Vec::new();
                    for _ in 0..1 + run.rng.below(2) {
                        if run.model.producers.is_empty() {
                            break;
                        }
                        let pi = run.rng.below(run.model.producers.len() as u64) as usize;
                        let (t, inc, parts) = topics[run.rng.below(topics.len() as u64) as usize].clone();
                        let tp = (t, run.rng.below(parts as u64) as i32);
                        let pid = run.model.producers[pi].pid;
                        // One batch per partition per request, five in flight at most.
                        if batches.iter().any(|(_, b)| b.tp == tp)
                            || run.model.producers[pi].inflight.get(&tp).is_some_and(|l| l.len() >= 5)
                        {
                            continue;
                        }
                        let n = 1 + run.rng.below(3) as usize;
                        let ids: Vec<u64> = (0..n).map(|i| run.model.next_id + i as u64).collect();
                        run.model.next_id += n as u64;
                        let prod = &mut run.model.producers[pi];
                        let seq = *prod.next_seq.entry(tp.clone()).or_insert(0);
                        prod.next_seq.insert(tp.clone(), seq + n as i32);
                        let b = SentBatch {
                            tp: tp.clone(),
                            incarnation: inc,
                            seq,
                            ids,
                        };
                        prod.inflight.entry(tp).or_default().push(b.clone());
                        batches.push((pid, b));
                    }
                    if !batches.is_empty() {
                        requests.push(batches);
                    }
                }
                produce_round(run, broker, disk, requests).await;
            }
            12..=14 => commit(run, broker, disk).await,
            15 => delete_group(run, broker, disk).await,
            16 => delete_records(run, broker, disk).await,
            17 => match run.rng.below(3) {
                0 => init_producer(run, broker).await.map(|_| ()).unwrap_or(()),
                1 => read_some(run, broker, disk).await,
                _ => {
                    for t in broker.catalog.all() {
                        for p in &t.partitions {
                            let _ = p.apply_retention(strom::broker::now_ms());
                        }
                    }
                }
            },
            18 => {
                // A new topic, or one deleted before under the same name.
                let gone: Vec<String> = run
                    .model
                    .topics
                    .iter()
                    .filter(|(n, m)| m.exists == Some(false) && n.as_str() != BASE_TOPIC)
                    .map(|(n, _)| n.clone())
                    .collect();
                let topic = if !gone.is_empty() && run.rng.chance(2) {
                    gone[run.rng.below(gone.len() as u64) as usize].clone()
                } else {
                    run.model.topic_counter += 1;
                    format!("n{}", run.model.topic_counter)
                };
                create_topic(run, broker, disk, topic).await;
            }
            _ => {
                let doomed: Vec<String> = topics
                    .iter()
                    .map(|(n, _, _)| n.clone())
                    .filter(|n| n != BASE_TOPIC)
                    .collect();
                if !doomed.is_empty() {
                    let t = doomed[run.rng.below(doomed.len() as u64) as usize].clone();
                    delete_topic(run, broker, disk, t).await;
                }
            }
        }
    }
}

fn add(total: &mut Stats, s: Stats) {
    total.boots += s.boots;
    total.power_losses += s.power_losses;
    total.process_crashes += s.process_crashes;
    total.clean_shutdowns += s.clean_shutdowns;
    total.stopped_during_recovery += s.stopped_during_recovery;
    total.crashes_with_unsynced_writes += s.crashes_with_unsynced_writes;
    total.acked_batches += s.acked_batches;
    total.acked_commits += s.acked_commits;
    total.acked_group_deletions += s.acked_group_deletions;
    total.acked_delete_records += s.acked_delete_records;
    total.acked_topic_creations += s.acked_topic_creations;
    total.acked_topic_deletions += s.acked_topic_deletions;
}

#[test]
fn acknowledged_writes_survive_power_loss_at_random_points() {
    if let Some(seed) = std::env::var("STROM_POWER_LOSS_SEED").ok().and_then(|s| s.parse().ok()) {
        let stats = run_seed(seed, true, None);
        eprintln!("{stats:?}");
        return;
    }
    let seeds: u64 = std::env::var("STROM_POWER_LOSS_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let started = std::time::Instant::now();
    let mut total = Stats::default();
    for seed in 0..seeds {
        add(&mut total, run_seed(seed, false, None));
    }
    eprintln!("{seeds} seeds in {:.1} s: {total:?}", started.elapsed().as_secs_f64());
    // The runs must have had something to lose, or the checks above prove nothing.
    assert!(total.power_losses >= seeds * 4, "{total:?}");
    assert!(total.crashes_with_unsynced_writes >= seeds * 2, "{total:?}");
    assert!(
        total.process_crashes >= seeds && total.clean_shutdowns >= seeds / 2,
        "{total:?}"
    );
    assert!(total.stopped_during_recovery >= seeds / 4, "{total:?}");
    assert!(
        total.acked_batches >= seeds * 50 && total.acked_commits >= seeds * 5,
        "{total:?}"
    );
    assert!(
        total.acked_group_deletions > 0
            && total.acked_delete_records > 0
            && total.acked_topic_creations > seeds
            && total.acked_topic_deletions > 0,
        "{total:?}"
    );
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_segment(path: &Path) -> bool {
    let name = file_name(path);
    name.len() == 24 && name.ends_with(".log") && name[..20].bytes().all(|b| b.is_ascii_digit())
}

/// The fsyncs the design relies on. Each removal must make the test above fail.
fn removals() -> Vec<Removal> {
    vec![
        Removal {
            name: "segment data (acks=all, roll, recovery)",
            kind: SyncKind::Data,
            only_during_recovery: false,
            matches: is_segment,
        },
        Removal {
            name: "segment data after recovery, before serving",
            kind: SyncKind::Data,
            only_during_recovery: true,
            matches: is_segment,
        },
        Removal {
            name: "partition directory (new segment on create or roll)",
            kind: SyncKind::Dir,
            only_during_recovery: false,
            matches: |p| p.parent() == Some(Path::new(DATA)),
        },
        Removal {
            name: "data directory (catalog rename, new partition dirs, markers)",
            kind: SyncKind::Dir,
            only_during_recovery: false,
            matches: |p| p == Path::new(DATA),
        },
        Removal {
            name: "catalog temp file before its rename",
            kind: SyncKind::Data,
            only_during_recovery: false,
            matches: |p| file_name(p) == "catalog.toml.tmp",
        },
        Removal {
            name: "offsets store (commits, group deletions, topic deletions)",
            kind: SyncKind::Data,
            only_during_recovery: false,
            matches: |p| file_name(p) == "offsets.log",
        },
        Removal {
            name: "offsets store after recovery, before serving",
            kind: SyncKind::Data,
            only_during_recovery: true,
            matches: |p| file_name(p) == "offsets.log",
        },
        Removal {
            name: "producer-id block",
            kind: SyncKind::Data,
            only_during_recovery: false,
            matches: |p| file_name(p) == "producer_ids.tmp",
        },
        Removal {
            name: "log start offset (DeleteRecords)",
            kind: SyncKind::Data,
            only_during_recovery: false,
            matches: |p| file_name(p) == "log-start-offset.tmp",
        },
    ]
}

/// Runs seeds with `removal` until one fails; returns the seed and the failure.
fn first_failure(removal: &Removal, max_seeds: u64) -> Option<(u64, String)> {
    for seed in 0..max_seeds {
        let outcome = std::panic::catch_unwind(|| run_seed(seed, false, Some(removal)));
        if let Err(panic) = outcome {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return Some((seed, text.lines().next().unwrap_or_default().to_string()));
        }
    }
    None
}

/// The power-loss test has teeth: without any one of the fsyncs the design relies on, some
/// seed fails it. Prints which check caught each (`--nocapture`).
#[test]
fn the_power_loss_test_fails_without_each_fsync_the_design_relies_on() {
    QUIET.with(|q| q.set(true));
    let mut missed = Vec::new();
    for removal in removals() {
        match first_failure(&removal, 200) {
            Some((seed, what)) => eprintln!("without {}: seed {seed} fails: {what}", removal.name),
            None => {
                eprintln!("without {}: no seed failed", removal.name);
                missed.push(removal.name);
            }
        }
    }
    assert!(missed.is_empty(), "removing these fsyncs went unnoticed: {missed:?}");
}
