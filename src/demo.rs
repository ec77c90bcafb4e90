//! `strom demo`: a live workload modelled on Kafka's classic examples, so that a newcomer (or a
//! screenshot) lands on a cluster with something to look at: keyed and unkeyed topics, records
//! with headers, a topic config override, and three consumer groups in the three states an
//! operator cares about (keeping up, lagging, stopped).
//!
//! Everything runs as ordinary rdkafka clients against any cluster, the bundled broker
//! included, configured from the same connection spec as the console's clients
//! (`cluster::connect`); nothing here knows about `broker`, `app` or `ui`. It is the one module besides
//! `cluster/` that names rdkafka, because it is a *workload*, not the console's view of a
//! cluster. It never prints: the console may be drawing on the terminal while it runs, so it
//! reports through `tracing` only.
//!
//! Cost matters more than volume: the demo runs beside the console on a laptop, so it sends
//! on a 100 ms tick, batches with `linger.ms`, keeps librdkafka's prefetch queues small and
//! polls with timeouts (a few % of one core at the default rate).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::{oneshot, watch};
use tracing::{debug, info, warn};

use crate::cluster::connect::ConnectionSpec;

/// Steady heartbeats keyed by device id.
pub const HEARTBEAT_TOPIC: &str = "device-heartbeat";
/// Bursty device events keyed by device id.
pub const EVENT_TOPIC: &str = "device-event";
/// Stock changes keyed by product id; carries a `retention.ms` override.
pub const INVENTORY_TOPIC: &str = "inventory";
/// Party (customer) records without a key, spread over partitions by the partitioner.
pub const PARTIES_TOPIC: &str = "parties";

/// Keeps up with the heartbeats and commits.
pub const MONITOR_GROUP: &str = "heartbeat-monitor";
/// Reads events and heartbeats a few records a second, so its lag keeps growing.
pub const ARCHIVER_GROUP: &str = "event-archiver";
/// Consumed part of `inventory` once, committed and left: a stopped group.
pub const SYNC_GROUP: &str = "inventory-sync";

/// Records per second across all demo topics when not told otherwise.
pub const DEFAULT_RATE: u32 = 50;

/// The demo topics and their partition counts.
pub const TOPICS: [(&str, i32); 4] = [
    (HEARTBEAT_TOPIC, 6),
    (EVENT_TOPIC, 3),
    (INVENTORY_TOPIC, 3),
    (PARTIES_TOPIC, 2),
];

/// One day: the override the configs pane shows on `inventory`.
const INVENTORY_RETENTION_MS: &str = "86400000";

/// Send cadence. 10 wake-ups a second is smooth enough for a live view and costs nothing.
const TICK: Duration = Duration::from_millis(100);
/// How long admin and metadata calls may take before the demo gives up on the cluster.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long consumer threads may take to leave their groups on shutdown.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Consumer poll timeout: also the worst-case delay before a thread notices shutdown.
const POLL: Duration = Duration::from_millis(200);
/// The archiver's "work" per record: about four records a second, far below the demo rate.
const ARCHIVE_DELAY: Duration = Duration::from_millis(250);
/// How many `inventory` records the stopped group reads before it leaves.
const SYNC_RECORDS: usize = 40;
/// The stopped group's first (and only) session is bounded, even on an empty topic.
const SYNC_DEADLINE: Duration = Duration::from_secs(60);
/// Repeated warnings (cluster gone, queue full) are logged at most this often.
const WARN_EVERY: Duration = Duration::from_secs(30);

/// Shares of the total rate per topic (heartbeats, events, inventory, parties).
const SHARES: [f64; 4] = [0.5, 0.2, 0.2, 0.1];
/// Per tick, the chance that the accumulated device events go out as one burst.
const BURST_CHANCE: f64 = 0.05;
/// Device events never wait longer than this for a burst.
const MAX_BURST_WAIT: Duration = Duration::from_secs(5);

const DEVICES: u32 = 40;
const PRODUCTS: u32 = 30;

/// What `strom demo` was asked to do.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The cluster (bootstrap and security) the workload runs against.
    pub connection: ConnectionSpec,
    /// Records per second across all demo topics (at least 1).
    pub rate: u32,
    /// Run against a cluster that is not on this machine.
    pub force: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            connection: ConnectionSpec::bootstrap("127.0.0.1:9092"),
            rate: DEFAULT_RATE,
            force: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "refusing to run the demo against {bootstrap}: it is not a loopback address, and the demo \
         creates topics and writes records continuously; pass --force to run it there anyway"
    )]
    NotLoopback { bootstrap: String },
    #[error("the demo rate must be at least 1 record per second")]
    ZeroRate,
    #[error("cannot set up a Kafka {role} for {bootstrap}: {source}")]
    Client {
        role: &'static str,
        bootstrap: String,
        source: KafkaError,
    },
    #[error(
        "cannot create the demo topics on {bootstrap}: {source} (is a Kafka broker listening \
         there? `strom broker` starts one on 127.0.0.1:9092)"
    )]
    CreateTopics { bootstrap: String, source: KafkaError },
    #[error("no answer from {bootstrap} within {} s while creating the demo topics (is a Kafka broker listening there?)", .timeout.as_secs())]
    Unreachable { bootstrap: String, timeout: Duration },
    #[error("cannot create topic '{topic}' on {bootstrap}: {code:?} ({code})")]
    CreateTopic {
        topic: String,
        bootstrap: String,
        code: RDKafkaErrorCode,
    },
    #[error(
        "the demo topics were created but {bootstrap} did not list them in its metadata within {} s",
        .timeout.as_secs()
    )]
    TopicsNotVisible { bootstrap: String, timeout: Duration },
    #[error("consumer group '{group}' cannot subscribe to {topics:?}: {source}")]
    Subscribe {
        group: &'static str,
        topics: Vec<&'static str>,
        source: KafkaError,
    },
    #[error("the demo's '{0}' thread stopped unexpectedly (a bug in strom; see the log)")]
    ThreadDied(&'static str),
}

/// True if every address in a comma-separated bootstrap list is this machine: `localhost`,
/// 127.0.0.0/8 or `::1` (also IPv4-mapped, bracketed, or with a `PLAINTEXT://`-style prefix).
/// An empty list is not loopback: there is nothing to vouch for.
pub fn is_loopback(bootstrap: &str) -> bool {
    let mut any = false;
    for entry in bootstrap.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let entry = entry.split_once("://").map_or(entry, |(_, rest)| rest);
        if !host_is_loopback(host_of(entry)) {
            return false;
        }
        any = true;
    }
    any
}

fn host_of(entry: &str) -> &str {
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(host, _)| host);
    }
    // A bare IPv6 address has colons of its own and no port to strip.
    if entry.parse::<Ipv6Addr>().is_ok() {
        return entry;
    }
    entry.rsplit_once(':').map_or(entry, |(host, _)| host)
}

fn host_is_loopback(host: &str) -> bool {
    // Only the name every resolver pins to loopback; `*.localhost` depends on the resolver.
    let host = host.strip_suffix('.').unwrap_or(host);
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Runs the demo workload until `shutdown` becomes true (or its sender is dropped): creates the
/// demo topics if missing, starts the three consumer groups and produces at `opts.rate`.
/// Returns an error only for what stops the demo from starting at all; once it runs, a cluster
/// that goes away is retried by librdkafka and reported through `tracing`.
pub async fn run(opts: DemoOptions, mut shutdown: watch::Receiver<bool>) -> Result<(), DemoError> {
    if !opts.force && !is_loopback(&opts.connection.bootstrap) {
        return Err(DemoError::NotLoopback {
            bootstrap: opts.connection.bootstrap,
        });
    }
    if opts.rate == 0 {
        return Err(DemoError::ZeroRate);
    }
    let spec = &opts.connection;
    let bootstrap = spec.bootstrap.as_str();
    info!(bootstrap, rate = opts.rate, "demo workload starting");

    let admin: AdminClient<DefaultClientContext> =
        base_config(spec, "strom-demo-admin")
            .create()
            .map_err(|source| DemoError::Client {
                role: "admin client",
                bootstrap: bootstrap.to_string(),
                source,
            })?;
    tokio::select! {
        r = create_topics(&admin, bootstrap) => r?,
        () = stopped(&mut shutdown) => return Ok(()),
    }
    tokio::select! {
        r = wait_for_topics(admin, bootstrap.to_string()) => r?,
        () = stopped(&mut shutdown) => return Ok(()),
    }

    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    // Consumers are set up (and can fail) before any thread starts, so a bad config is an error
    // from `run`, not a silent dead thread.
    let monitor = subscribed(spec, MONITOR_GROUP, &[HEARTBEAT_TOPIC], &monitor_settings())?;
    threads.push(spawn_worker("heartbeat-monitor", &stop, move |stop| {
        monitor_loop(monitor, &stop)
    }));
    let archiver = subscribed(
        spec,
        ARCHIVER_GROUP,
        &[EVENT_TOPIC, HEARTBEAT_TOPIC],
        &archiver_settings(),
    )?;
    threads.push(spawn_worker("event-archiver", &stop, move |stop| {
        archiver_loop(archiver, &stop)
    }));
    let sync = consumer(spec, SYNC_GROUP, &sync_settings())?;
    threads.push(spawn_worker("inventory-sync", &stop, move |stop| {
        inventory_sync(sync, &stop)
    }));

    let context = DeliveryCounter::default();
    let failures = Arc::clone(&context.failures);
    let producer: ThreadedProducer<DeliveryCounter> =
        producer_config(spec)
            .create_with_context(context)
            .map_err(|source| DemoError::Client {
                role: "producer",
                bootstrap: bootstrap.to_string(),
                source,
            })?;

    let mut workload = Workload::new(opts.rate);
    // A start-of-day stock snapshot, so `inventory` has a backlog for the stopped group to read
    // part of, whatever the rate.
    workload.inventory_snapshot(&producer);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failure_warn = Throttle::default();
    let mut reported_failures = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                workload.tick(&producer);
                let failed = failures.load(Ordering::Relaxed);
                if failed > reported_failures && failure_warn.ready() {
                    warn!(failed, dropped = workload.dropped, "demo records not delivered so far; is the cluster reachable?");
                    reported_failures = failed;
                }
            }
            () = stopped(&mut shutdown) => break,
        }
    }

    info!(sent = workload.sent, "demo workload stopping");
    stop.store(true, Ordering::Relaxed);
    let mut result = Ok(());
    for (name, done) in threads {
        match tokio::time::timeout(STOP_TIMEOUT, done).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                if result.is_ok() {
                    result = Err(DemoError::ThreadDied(name));
                }
            }
            // Left behind (a consumer stuck leaving a vanished cluster); it dies with the process.
            Err(_) => warn!(
                thread = name,
                "demo consumer did not stop within {} s",
                STOP_TIMEOUT.as_secs()
            ),
        }
    }
    // Flushing blocks, and a lost cluster would make it wait for the whole timeout.
    let flushed = tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(5))).await;
    if let Ok(Err(e)) = flushed {
        warn!("demo records still unsent at shutdown: {e}");
    }
    result
}

/// Resolves once shutdown is requested; a dropped sender counts as a request, so the demo can
/// never outlive whoever started it.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

fn base_config(spec: &ConnectionSpec, client_id: &str) -> ClientConfig {
    let mut cfg = spec.client_config(client_id);
    // Statistics are JSON built by librdkafka on a timer: pure CPU that nobody reads here.
    cfg.set("statistics.interval.ms", "0");
    cfg
}

fn producer_config(spec: &ConnectionSpec) -> ClientConfig {
    // Keys partitioned with murmur2, as Java clients do (the spec sets it for every producer).
    let mut cfg = spec.producer_config("strom-demo");
    cfg.set("statistics.interval.ms", "0")
        // One request per topic-partition per 50 ms, not one per record.
        .set("linger.ms", "50")
        // A lost cluster must not let the queue grow for librdkafka's default five minutes.
        .set("message.timeout.ms", "60000")
        .set("queue.buffering.max.messages", "20000");
    cfg
}

async fn create_topics(admin: &AdminClient<DefaultClientContext>, bootstrap: &str) -> Result<(), DemoError> {
    let topics: Vec<NewTopic<'_>> = TOPICS
        .iter()
        .map(|&(name, partitions)| {
            let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
            if name == INVENTORY_TOPIC {
                topic.set("retention.ms", INVENTORY_RETENTION_MS)
            } else {
                topic
            }
        })
        .collect();
    let opts = AdminOptions::new()
        .request_timeout(Some(CLUSTER_TIMEOUT))
        .operation_timeout(Some(CLUSTER_TIMEOUT));
    // librdkafka's request timeout does not cover finding a broker at all; this does.
    let results = tokio::time::timeout(
        CLUSTER_TIMEOUT + Duration::from_secs(2),
        admin.create_topics(&topics, &opts),
    )
    .await
    .map_err(|_| DemoError::Unreachable {
        bootstrap: bootstrap.to_string(),
        timeout: CLUSTER_TIMEOUT,
    })?
    .map_err(|source| DemoError::CreateTopics {
        bootstrap: bootstrap.to_string(),
        source,
    })?;
    for result in results {
        match result {
            Ok(topic) => info!(topic, "demo topic created"),
            // A second run, or a user's own topic of that name: use it as it is.
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => debug!(topic, "demo topic exists"),
            Err((topic, code)) => {
                return Err(DemoError::CreateTopic {
                    topic,
                    bootstrap: bootstrap.to_string(),
                    code,
                });
            }
        }
    }
    Ok(())
}

/// Waits until the metadata lists every demo topic with a leader for each partition: a consumer
/// that subscribes before that would not look again for minutes (librdkafka's refresh interval).
async fn wait_for_topics(admin: AdminClient<DefaultClientContext>, bootstrap: String) -> Result<(), DemoError> {
    let deadline = Instant::now() + CLUSTER_TIMEOUT;
    tokio::task::spawn_blocking(move || loop {
        let ready = admin
            .inner()
            .fetch_metadata(None, Duration::from_secs(2))
            .is_ok_and(|md| {
                TOPICS.iter().all(|(name, _)| {
                    md.topics().iter().any(|t| {
                        t.name() == *name
                            && t.error().is_none()
                            && !t.partitions().is_empty()
                            && t.partitions().iter().all(|p| p.leader() >= 0)
                    })
                })
            });
        if ready {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(DemoError::TopicsNotVisible {
                bootstrap,
                timeout: CLUSTER_TIMEOUT,
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    })
    .await
    .map_err(|_| DemoError::ThreadDied("metadata"))?
}

// ---------------------------------------------------------------------------------------------
// Consumers: one OS thread each, because rdkafka's BaseConsumer blocks in poll.

fn consumer(spec: &ConnectionSpec, group: &'static str, settings: &[(&str, &str)]) -> Result<BaseConsumer, DemoError> {
    let bootstrap = spec.bootstrap.as_str();
    let mut cfg = base_config(spec, &format!("strom-demo-{group}"));
    cfg.set("group.id", group)
        .set("auto.offset.reset", "earliest")
        // librdkafka prefetches up to 64 MB per consumer by default; a lagging demo group would
        // hold all of it in memory.
        .set("queued.max.messages.kbytes", "1024")
        .set("queued.min.messages", "1000");
    for (k, v) in settings {
        cfg.set(*k, *v);
    }
    cfg.create().map_err(|source| DemoError::Client {
        role: "consumer",
        bootstrap: bootstrap.to_string(),
        source,
    })
}

fn subscribed(
    spec: &ConnectionSpec,
    group: &'static str,
    topics: &[&'static str],
    settings: &[(&str, &str)],
) -> Result<BaseConsumer, DemoError> {
    let c = consumer(spec, group, settings)?;
    c.subscribe(topics).map_err(|source| DemoError::Subscribe {
        group,
        topics: topics.to_vec(),
        source,
    })?;
    Ok(c)
}

fn monitor_settings() -> [(&'static str, &'static str); 2] {
    [("enable.auto.commit", "true"), ("auto.commit.interval.ms", "1000")]
}

fn archiver_settings() -> [(&'static str, &'static str); 3] {
    // At-least-once, as an archiver would be: an offset is stored only after its record is
    // "archived", and the stored offsets are committed every few seconds (and on close).
    [
        ("enable.auto.commit", "true"),
        ("enable.auto.offset.store", "false"),
        ("auto.commit.interval.ms", "3000"),
    ]
}

fn sync_settings() -> [(&'static str, &'static str); 1] {
    [("enable.auto.commit", "false")]
}

type Done = oneshot::Receiver<()>;

/// Starts a named thread; its receiver resolves when the thread ends and errors if it panicked
/// (the sender is dropped without sending during the unwind).
fn spawn_worker(
    name: &'static str,
    stop: &Arc<AtomicBool>,
    body: impl FnOnce(Arc<AtomicBool>) + Send + 'static,
) -> (&'static str, Done) {
    let (tx, rx) = oneshot::channel();
    let stop = Arc::clone(stop);
    let spawned = std::thread::Builder::new().name(format!("demo-{name}")).spawn(move || {
        body(stop);
        let _ = tx.send(());
    });
    if let Err(e) = spawned {
        // The receiver then errors, which `run` reports as a dead thread.
        warn!(thread = name, "cannot start demo thread: {e}");
    }
    (name, rx)
}

/// `heartbeat-monitor`: reads every heartbeat as it arrives and remembers when each device was
/// last seen, committing automatically every second.
fn monitor_loop(consumer: BaseConsumer, stop: &AtomicBool) {
    let mut last_seen: HashMap<Vec<u8>, i64> = HashMap::new();
    let mut warn = Throttle::default();
    while !stop.load(Ordering::Relaxed) {
        match consumer.poll(POLL) {
            Some(Ok(m)) => {
                if let (Some(key), Some(ts)) = (m.key(), m.timestamp().to_millis()) {
                    last_seen.insert(key.to_vec(), ts);
                }
            }
            Some(Err(e)) => warn.log(MONITOR_GROUP, &e),
            None => {}
        }
    }
    debug!(devices = last_seen.len(), "heartbeat-monitor leaving its group");
}

/// `event-archiver`: a deliberately slow consumer, about four records a second, so its lag on
/// both topics grows for as long as the demo runs.
fn archiver_loop(consumer: BaseConsumer, stop: &AtomicBool) {
    let mut warn = Throttle::default();
    while !stop.load(Ordering::Relaxed) {
        match consumer.poll(POLL) {
            Some(Ok(m)) => {
                if let Err(e) = consumer.store_offset_from_message(&m) {
                    warn.log(ARCHIVER_GROUP, &e);
                }
                drop(m);
                sleep_unless_stopped(ARCHIVE_DELAY, stop);
            }
            Some(Err(e)) => warn.log(ARCHIVER_GROUP, &e),
            None => {}
        }
    }
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let end = Instant::now() + total;
    while !stop.load(Ordering::Relaxed) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(POLL));
    }
}

/// `inventory-sync`: a job that ran once and stopped. On the first run it reads part of
/// `inventory`, commits and leaves, so the group stays Empty with offsets that fall further
/// behind; a group that already has committed offsets is left alone.
fn inventory_sync(consumer: BaseConsumer, stop: &AtomicBool) {
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions_of(INVENTORY_TOPIC) {
        tpl.add_partition(INVENTORY_TOPIC, p);
    }
    match consumer.committed_offsets(tpl, CLUSTER_TIMEOUT) {
        Ok(committed)
            if committed
                .elements()
                .iter()
                .any(|e| matches!(e.offset(), Offset::Offset(_))) =>
        {
            debug!("inventory-sync already has committed offsets; leaving it stopped");
            return;
        }
        Ok(_) => {}
        Err(e) => {
            // Unknown state: better to leave the group alone than to move a user's offsets.
            warn!("cannot read inventory-sync's committed offsets, leaving it alone: {e}");
            return;
        }
    }
    if let Err(e) = consumer.subscribe(&[INVENTORY_TOPIC]) {
        warn!("inventory-sync cannot subscribe to {INVENTORY_TOPIC}: {e}");
        return;
    }
    let deadline = Instant::now() + SYNC_DEADLINE;
    let mut next: HashMap<i32, i64> = HashMap::new();
    let mut read = 0;
    let mut warn = Throttle::default();
    while read < SYNC_RECORDS && !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        match consumer.poll(POLL) {
            Some(Ok(m)) => {
                next.insert(m.partition(), m.offset() + 1);
                read += 1;
            }
            Some(Err(e)) => warn.log(SYNC_GROUP, &e),
            None => {}
        }
    }
    if next.is_empty() {
        return;
    }
    let mut offsets = TopicPartitionList::new();
    for (&partition, &offset) in &next {
        if let Err(e) = offsets.add_partition_offset(INVENTORY_TOPIC, partition, Offset::Offset(offset)) {
            warn!("inventory-sync: {e}");
        }
    }
    match consumer.commit(&offsets, CommitMode::Sync) {
        Ok(()) => info!(records = read, "inventory-sync committed and left its group"),
        Err(e) => warn!("inventory-sync cannot commit: {e}"),
    }
    // Dropping the consumer closes it, which sends LeaveGroup: the group is Empty at once rather
    // than after a session timeout.
}

fn partitions_of(topic: &str) -> i32 {
    TOPICS.iter().find(|(t, _)| *t == topic).map_or(1, |&(_, n)| n)
}

/// Logs a recurring client error at most every [`WARN_EVERY`], so a vanished cluster does not
/// fill the log file.
#[derive(Default)]
struct Throttle {
    last: Option<Instant>,
}

impl Throttle {
    fn ready(&mut self) -> bool {
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < WARN_EVERY) {
            return false;
        }
        self.last = Some(now);
        true
    }

    fn log(&mut self, group: &str, e: &KafkaError) {
        if self.ready() {
            warn!(group, "demo consumer: {e}");
        } else {
            debug!(group, "demo consumer: {e}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Producing.

/// Counts failed deliveries; the default context would drop them silently.
#[derive(Default)]
struct DeliveryCounter {
    failures: Arc<AtomicU64>,
}

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if result.is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The record generator: per topic a fractional budget that fills at its share of the rate on
/// every tick, and per device and product a little state so values look like a real stream.
struct Workload {
    rng: Rng,
    rate: f64,
    due: [f64; 4],
    /// Device events pile up here until a burst releases them.
    events_since: Instant,
    next_device: u32,
    heartbeat_seq: Vec<u64>,
    stock: Vec<i64>,
    next_party: u64,
    sent: u64,
    dropped: u64,
    queue_warn: Throttle,
}

const EVENTS: [&str; 8] = [
    "door_open",
    "door_close",
    "motion_detected",
    "temperature_high",
    "battery_low",
    "firmware_updated",
    "tamper_alarm",
    "reboot",
];
const GATEWAYS: [&str; 3] = ["gateway-ams-1", "gateway-ams-2", "gateway-fra-1"];
const WAREHOUSES: [&str; 3] = ["ams-1", "fra-1", "dub-1"];
const FIRST_NAMES: [&str; 10] = [
    "Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis",
];
const LAST_NAMES: [&str; 10] = [
    "Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie",
];
const COMPANIES: [&str; 5] = [
    "Acme Logistics",
    "Globex",
    "Initech",
    "Umbrella Retail",
    "Stark Supplies",
];
const COUNTRIES: [&str; 6] = ["NL", "DE", "GB", "FR", "US", "SE"];

impl Workload {
    fn new(rate: u32) -> Workload {
        let mut rng = Rng::seeded();
        let stock = (0..PRODUCTS).map(|_| 50 + rng.below(200) as i64).collect();
        Workload {
            rng,
            rate: f64::from(rate),
            due: [0.0; 4],
            events_since: Instant::now(),
            next_device: 0,
            heartbeat_seq: vec![0; DEVICES as usize],
            stock,
            next_party: 1000,
            sent: 0,
            dropped: 0,
            queue_warn: Throttle::default(),
        }
    }

    fn tick(&mut self, producer: &ThreadedProducer<DeliveryCounter>) {
        let secs = TICK.as_secs_f64();
        for (due, share) in self.due.iter_mut().zip(SHARES) {
            *due += self.rate * share * secs;
        }
        for _ in 0..take(&mut self.due[0]) {
            self.heartbeat(producer);
        }
        // Events are bursty: they accumulate and go out together at random moments, with the
        // same average rate as if they were steady.
        if self.rng.chance(BURST_CHANCE) || self.events_since.elapsed() >= MAX_BURST_WAIT {
            self.events_since = Instant::now();
            for _ in 0..take(&mut self.due[1]) {
                self.device_event(producer);
            }
        }
        for _ in 0..take(&mut self.due[2]) {
            let product = self.rng.below(u64::from(PRODUCTS)) as u32;
            self.stock_change(producer, product);
        }
        for _ in 0..take(&mut self.due[3]) {
            self.party(producer);
        }
    }

    fn heartbeat(&mut self, producer: &ThreadedProducer<DeliveryCounter>) {
        // Round robin: every device beats at the same steady interval.
        let device = self.next_device;
        self.next_device = (self.next_device + 1) % DEVICES;
        let seq = &mut self.heartbeat_seq[device as usize];
        *seq += 1;
        let key = device_id(device);
        let value = format!(
            r#"{{"device":"{key}","ts":{},"seq":{seq},"status":"ok","battery":{},"rssi":{}}}"#,
            now_ms(),
            60 + (device * 7 + (*seq / 50) as u32) % 40,
            -40 - self.rng.below(50) as i64,
        );
        self.send(producer, HEARTBEAT_TOPIC, Some(&key), &value, None);
    }

    fn device_event(&mut self, producer: &ThreadedProducer<DeliveryCounter>) {
        let device = self.rng.below(u64::from(DEVICES)) as u32;
        let key = device_id(device);
        let event = *self.rng.pick(&EVENTS);
        let value = format!(r#"{{"device":"{key}","event":"{event}","ts":{}}}"#, now_ms());
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "source",
                value: Some(*self.rng.pick(&GATEWAYS)),
            })
            .insert(Header {
                key: "trace-id",
                value: Some(&self.rng.trace_id()),
            });
        self.send(producer, EVENT_TOPIC, Some(&key), &value, Some(headers));
    }

    fn inventory_snapshot(&mut self, producer: &ThreadedProducer<DeliveryCounter>) {
        for product in 0..PRODUCTS {
            self.stock_change(producer, product);
        }
    }

    fn stock_change(&mut self, producer: &ThreadedProducer<DeliveryCounter>, product: u32) {
        let stock = &mut self.stock[product as usize];
        let (reason, change) = match self.rng.below(10) {
            0 => ("restock", 20 + self.rng.below(80) as i64),
            1 => ("return", 1),
            2 => ("adjustment", self.rng.below(5) as i64 - 2),
            _ => ("sale", -(1 + self.rng.below(4) as i64)),
        };
        // A sale never takes stock below zero; the shop restocks instead.
        let (reason, change) = if *stock + change < 0 {
            ("restock", 100)
        } else {
            (reason, change)
        };
        *stock += change;
        let key = format!("sku-{}", 1001 + product);
        let value = format!(
            r#"{{"product":"{key}","warehouse":"{}","change":{change},"stock":{},"reason":"{reason}","ts":{}}}"#,
            self.rng.pick(&WAREHOUSES),
            *stock,
            now_ms(),
        );
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "source",
                value: Some("warehouse-api"),
            })
            .insert(Header {
                key: "content-type",
                value: Some("application/json"),
            })
            .insert(Header {
                key: "trace-id",
                value: Some(&self.rng.trace_id()),
            });
        self.send(producer, INVENTORY_TOPIC, Some(&key), &value, Some(headers));
    }

    fn party(&mut self, producer: &ThreadedProducer<DeliveryCounter>) {
        self.next_party += 1;
        let id = self.next_party;
        let country = self.rng.pick(&COUNTRIES);
        let value = if self.rng.chance(0.25) {
            let name = self.rng.pick(&COMPANIES);
            format!(
                r#"{{"id":"party-{id}","type":"organization","name":"{name}","country":"{country}","ts":{}}}"#,
                now_ms()
            )
        } else {
            let first = self.rng.pick(&FIRST_NAMES);
            let last = self.rng.pick(&LAST_NAMES);
            format!(
                r#"{{"id":"party-{id}","type":"person","name":"{first} {last}","email":"{}.{}@example.com","country":"{country}","ts":{}}}"#,
                first.to_ascii_lowercase(),
                last.to_ascii_lowercase(),
                now_ms(),
            )
        };
        // Only some records carry headers, as when several systems feed one topic.
        let headers = self.rng.chance(0.5).then(|| {
            OwnedHeaders::new().insert(Header {
                key: "source",
                value: Some("crm-import"),
            })
        });
        self.send(producer, PARTIES_TOPIC, None, &value, headers);
    }

    fn send(
        &mut self,
        producer: &ThreadedProducer<DeliveryCounter>,
        topic: &str,
        key: Option<&str>,
        value: &str,
        headers: Option<OwnedHeaders>,
    ) {
        let mut record: BaseRecord<'_, str, str> = BaseRecord::to(topic).payload(value);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(headers) = headers {
            record = record.headers(headers);
        }
        match producer.send(record) {
            Ok(()) => self.sent += 1,
            // Queue full (the cluster is gone or slow): a demo drops records rather than block
            // or buffer without bound.
            Err((e, _)) => {
                self.dropped += 1;
                if self.queue_warn.ready() {
                    warn!(dropped = self.dropped, "demo producer cannot queue records: {e}");
                }
            }
        }
    }
}

/// Takes the whole records out of a fractional budget.
fn take(due: &mut f64) -> u32 {
    let n = due.floor();
    *due -= n;
    n as u32
}

fn device_id(n: u32) -> String {
    format!("d-{}", n + 1)
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// xorshift64*: plenty for picking demo values, and no dependency for it.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng((nanos ^ (u64::from(std::process::id()) << 32)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn trace_id(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }
}
