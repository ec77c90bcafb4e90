//! Broker throughput and latency: strom's bundled broker against librdkafka's in-memory mock
//! cluster, side by side in one run (issue 2, "Done means" 7).
//!
//! The same rdkafka client code drives both targets, case by case and round by round, with the
//! order of the two targets alternating, so machine noise (other builds, page-cache flushes,
//! frequency scaling) lands on both alike. The mock keeps nothing on disk, answers from the
//! same process, and is known to take what one librdkafka producer can send, so it stands for
//! "the client is the limit"; a ratio of 1.0 or better means strom keeps up with that.
//!
//! Run: `cargo bench --bench broker` (about 2-3 minutes on 2 cores),
//! `cargo bench --bench broker -- --quick` or `STROM_BENCH_QUICK=1` for a ~20 s smoke run.
//! Knobs (environment):
//! - `STROM_BENCH_RECORDS`: 100-byte records per throughput run (default 1,000,000); the
//!   1 KiB cases use a quarter of it.
//! - `STROM_BENCH_ROUNDS`: rounds per case (default 3; the table shows the median run).
//! - `STROM_BENCH_TARGETS`: `strom`, `mock` or `strom,mock` (default both).
//! - `STROM_BENCH_STRICT=1`: exit non-zero when a headline target is missed (off by default:
//!   a benchmark on a shared machine should inform, not flake).
//! - `TMPDIR`: where the broker's data directory goes (it persists there, fsyncs included).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Read as _};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context as _, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{Offset, TopicPartitionList};

/// Every loop that waits on a broker gives up after this long, with an error: a broker that
/// stops answering must fail the bench, not hang it.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// Metadata, admin and watermark calls.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The broker must print `listening on` within this.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Serve delivery reports every this many sends. The reports arrive one event per produced
/// batch, so this keeps the callback backlog small without a poll per record.
const POLL_EVERY: usize = 1024;
/// Headline consumption target from issue 2.
const CONSUME_TARGET_PER_SEC: f64 = 1_000_000.0;
/// The rate of the paced latency cases.
const PACED_RATE: u64 = 10_000;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("\nbench failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let settings = Settings::from_env()?;
    print_preamble(&settings);

    // Both targets live for the whole run: starting a broker per case would measure start-up
    // and cold caches instead of steady state. The guard stops strom's broker on every exit
    // path, panics included.
    let strom = if settings.run_strom {
        Some(StromBroker::start().context("starting `strom broker`")?)
    } else {
        None
    };
    let mock = if settings.run_mock {
        Some(MockCluster::new(1).context("starting the mock cluster")?)
    } else {
        None
    };
    let mut targets: Vec<Target<'_>> = Vec::new();
    if let Some(strom) = &strom {
        println!("strom broker: {} (data dir {})", strom.addr, strom.data_dir().display());
        targets.push(Target::Strom(strom));
    }
    if let Some(mock) = &mock {
        println!("mock cluster: {}", mock.bootstrap_servers());
        targets.push(Target::Mock(mock));
    }
    println!();

    let cases = produce_cases(&settings);
    let mut table = Table::default();
    let started = Instant::now();
    for round in 0..settings.rounds {
        for (i, case) in cases.iter().enumerate() {
            // Alternate which target goes first, per case and per round, so neither always
            // runs right after the other's page-cache or CPU-frequency aftermath.
            let mut order: Vec<&Target<'_>> = targets.iter().collect();
            if (round + i) % 2 == 1 {
                order.reverse();
            }
            for target in order {
                let topic = format!("bench-r{round}-{}", case.slug());
                target.create_topic(&topic, case.partitions)?;
                let bootstrap = target.bootstrap();
                let m = produce(&bootstrap, &topic, case)
                    .with_context(|| format!("{} against {}", case.label(), target.name()))?;
                report_progress(round, &case.label(), target.name(), &m);
                table.record(&case.label(), target.name(), m);

                // Consumption reads back what the 1-partition acks=1 run just wrote, while it
                // is still in the page cache, as a consumer close behind producers would.
                if case.feeds_consume() {
                    let label = format!("consume {} 1p", size_label(case.size));
                    let m = consume(&bootstrap, &topic, case.records)
                        .with_context(|| format!("{label} against {}", target.name()))?;
                    report_progress(round, &label, target.name(), &m);
                    table.record(&label, target.name(), m);
                }
                target.delete_topic(&topic);
            }
        }
    }
    println!("\nall runs took {:.1} s\n", started.elapsed().as_secs_f64());

    table.print();
    let missed = print_verdicts(&table);
    Ok(if missed && settings.strict { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

// ---------------------------------------------------------------------------------------------
// Settings

struct Settings {
    records_small: usize,
    records_large: usize,
    rounds: usize,
    quick: bool,
    run_strom: bool,
    run_mock: bool,
    strict: bool,
}

impl Settings {
    fn from_env() -> Result<Settings> {
        // cargo passes `--bench` to harness = false benches; anything we do not know is ignored
        // for the same reason.
        let quick = std::env::args().any(|a| a == "--quick") || env_flag("STROM_BENCH_QUICK");
        let records_small = match env_number("STROM_BENCH_RECORDS")? {
            Some(n) => n,
            None if quick => 100_000,
            None => 1_000_000,
        };
        ensure!(records_small >= 100, "STROM_BENCH_RECORDS must be at least 100");
        let rounds = match env_number("STROM_BENCH_ROUNDS")? {
            Some(n) => n.max(1),
            None if quick => 1,
            None => 3,
        };
        let targets = std::env::var("STROM_BENCH_TARGETS").unwrap_or_else(|_| "strom,mock".into());
        let run_strom = targets.split(',').any(|t| t.trim() == "strom");
        let run_mock = targets.split(',').any(|t| t.trim() == "mock");
        ensure!(
            run_strom || run_mock,
            "STROM_BENCH_TARGETS={targets:?} names neither `strom` nor `mock`"
        );
        Ok(Settings {
            records_small,
            records_large: (records_small / 4).max(100),
            rounds,
            quick,
            run_strom,
            run_mock,
            strict: env_flag("STROM_BENCH_STRICT"),
        })
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn env_number(name: &str) -> Result<Option<usize>> {
    match std::env::var(name) {
        Ok(v) => {
            let digits: String = v.chars().filter(|c| *c != '_' && *c != ',').collect();
            let n = digits.parse().with_context(|| format!("{name}={v:?} is not a number"))?;
            Ok(Some(n))
        }
        Err(_) => Ok(None),
    }
}

fn print_preamble(settings: &Settings) {
    let (_, rdkafka_version) = rdkafka::util::get_rdkafka_version();
    println!("strom broker benchmark (issue 2, item 7)");
    println!("machine:    {}", machine_description());
    println!("librdkafka: {rdkafka_version}");
    println!(
        "records:    {} x 100 B and {} x 1 KiB per throughput run, {} x 100 B per paced run; \
         {} round(s){}",
        thousands(settings.records_small as f64),
        thousands(settings.records_large as f64),
        thousands(paced_records(settings) as f64),
        settings.rounds,
        if settings.quick { " (quick)" } else { "" }
    );
    println!(
        "producer:   one BaseProducer, linger.ms=5, batch.size=1000000, compression none, \
         no keys; latency = enqueue -> delivery report"
    );
    println!(
        "consumer:   one BaseConsumer, assign (no group, no commits), librdkafka fetch \
         defaults but fetch.wait.max.ms=10"
    );
}

fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map(|kib| kib / (1024.0 * 1024.0))
        .unwrap_or(0.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown kernel".into());
    format!("{cores} cores, {cpu}, {mem_gib:.0} GiB RAM, Linux {kernel}")
}

// ---------------------------------------------------------------------------------------------
// Cases

#[derive(Clone, Copy, PartialEq)]
enum Acks {
    One,
    All,
}

impl Acks {
    fn config(self) -> &'static str {
        match self {
            Acks::One => "1",
            Acks::All => "all",
        }
    }
}

struct ProduceCase {
    size: usize,
    partitions: i32,
    acks: Acks,
    records: usize,
    /// `Some(rate)`: send at this many records/s with linger.ms=0, so the latency columns show
    /// the broker's answer time rather than the queue behind an all-out producer.
    paced: Option<u64>,
}

impl ProduceCase {
    fn label(&self) -> String {
        let base = format!(
            "{} {}p acks={}",
            size_label(self.size),
            self.partitions,
            self.acks.config()
        );
        match self.paced {
            Some(rate) => format!("latency {base} @{}k/s", rate / 1000),
            None => format!("produce {base}"),
        }
    }

    fn slug(&self) -> String {
        let acks = match self.acks {
            Acks::One => "acks1",
            Acks::All => "acksall",
        };
        let paced = if self.paced.is_some() { "-paced" } else { "" };
        format!("{}b-{}p-{acks}{paced}", self.size, self.partitions)
    }

    fn feeds_consume(&self) -> bool {
        self.partitions == 1 && self.acks == Acks::One && self.paced.is_none()
    }

    fn linger_ms(&self) -> &'static str {
        match self.paced {
            Some(_) => "0",
            None => "5",
        }
    }
}

const HEADLINE_PRODUCE: &str = "produce 100 B 1p acks=1";
const HEADLINE_CONSUME: &str = "consume 100 B 1p";

fn size_label(size: usize) -> String {
    match size {
        1024 => "1 KiB".into(),
        n => format!("{n} B"),
    }
}

fn paced_records(settings: &Settings) -> usize {
    // Two seconds' worth at full size; a fraction of that for the smoke run.
    if settings.quick {
        PACED_RATE as usize / 2
    } else {
        2 * PACED_RATE as usize
    }
}

fn produce_cases(settings: &Settings) -> Vec<ProduceCase> {
    let mut cases = Vec::new();
    // The headline case first, so a broken broker fails fast.
    for (size, records) in [(100, settings.records_small), (1024, settings.records_large)] {
        for partitions in [1, 6] {
            for acks in [Acks::One, Acks::All] {
                cases.push(ProduceCase { size, partitions, acks, records, paced: None });
            }
        }
    }
    for acks in [Acks::One, Acks::All] {
        cases.push(ProduceCase {
            size: 100,
            partitions: 1,
            acks,
            records: paced_records(settings),
            paced: Some(PACED_RATE),
        });
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Targets

enum Target<'a> {
    Strom(&'a StromBroker),
    Mock(&'a MockCluster<'static, rdkafka::producer::DefaultProducerContext>),
}

impl Target<'_> {
    fn name(&self) -> &'static str {
        match self {
            Target::Strom(_) => "strom",
            Target::Mock(_) => "mock",
        }
    }

    fn bootstrap(&self) -> String {
        match self {
            Target::Strom(b) => b.addr.clone(),
            Target::Mock(m) => m.bootstrap_servers(),
        }
    }

    fn create_topic(&self, topic: &str, partitions: i32) -> Result<()> {
        match self {
            Target::Strom(b) => b.create_topic(topic, partitions),
            // The mock answers no admin requests; its own API creates topics.
            Target::Mock(m) => m
                .create_topic(topic, partitions, 1)
                .with_context(|| format!("mock: create topic {topic}")),
        }
    }

    /// Best effort: only keeps strom's data dir (and page cache) from growing by a few GB over
    /// the run. The mock keeps at most ~5 MiB per partition and cannot delete topics anyway.
    fn delete_topic(&self, topic: &str) {
        if let Target::Strom(b) = self {
            if let Err(err) = b.delete_topic(topic) {
                eprintln!("  (could not delete {topic} on strom: {err:#}; continuing)");
            }
        }
    }
}

/// `strom broker` as a child process on an ephemeral port with its data in a temp dir.
/// Dropping it stops the broker before the temp dir is removed.
struct StromBroker {
    addr: String,
    admin: AdminClient<DefaultClientContext>,
    runtime: tokio::runtime::Runtime,
    // Fields drop in declaration order: the clients above go before the broker, and the
    // directory must outlive the broker.
    _process: ChildGuard,
    dir: tempfile::TempDir,
}

impl StromBroker {
    fn start() -> Result<StromBroker> {
        let dir = tempfile::Builder::new().prefix("strom-bench-").tempdir()?;
        let data_dir = dir.path().join("data");
        let log_path = dir.path().join("broker.log");
        let log = File::create(&log_path)?;
        // Guarded from the moment it exists, so every failure below still stops it.
        let mut child = ChildGuard(
            Command::new(env!("CARGO_BIN_EXE_strom"))
                .args(["broker", "--listen", "127.0.0.1:0", "--data-dir"])
                .arg(&data_dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::from(log))
                .spawn()
                .context("spawning the strom binary")?,
        );

        // Read stdout on a thread: a blocking read_line cannot time out, and after the first
        // line the pipe must keep draining so a chatty broker never blocks on a full pipe.
        let stdout = child.0.stdout.take().ok_or_else(|| anyhow!("no stdout pipe"))?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let first = reader.read_line(&mut line).map(|_| line);
            let _ = tx.send(first);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let first = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(first) => first.context("reading the broker's stdout")?,
            Err(_) => String::new(),
        };
        let addr = first.trim().strip_prefix("listening on ").map(str::to_string);
        let Some(addr) = addr else {
            let status = match child.0.try_wait() {
                Ok(Some(status)) => format!("exited with {status}"),
                _ => "still running".into(),
            };
            bail!(
                "broker did not print `listening on ADDR` within {STARTUP_TIMEOUT:?} \
                 (first line {first:?}; {status}); its log:\n{}",
                log_tail(&log_path)
            );
        };

        Ok(StromBroker {
            admin: ClientConfig::new()
                .set("bootstrap.servers", &addr)
                .create()
                .context("creating the admin client")?,
            // The admin client's futures need an executor, nothing more.
            runtime: tokio::runtime::Builder::new_current_thread().enable_all().build()?,
            _process: child,
            addr,
            dir,
        })
    }

    fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    fn admin_options() -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(CALL_TIMEOUT))
            .operation_timeout(Some(CALL_TIMEOUT))
    }

    fn create_topic(&self, topic: &str, partitions: i32) -> Result<()> {
        let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let results = self
            .runtime
            .block_on(self.admin.create_topics([&new], &Self::admin_options()))
            .with_context(|| format!("strom: CreateTopics {topic}"))?;
        for result in results {
            result.map_err(|(name, code)| anyhow!("strom: CreateTopics {name}: {code}"))?;
        }
        Ok(())
    }

    fn delete_topic(&self, topic: &str) -> Result<()> {
        let results = self
            .runtime
            .block_on(self.admin.delete_topics(&[topic], &Self::admin_options()))?;
        for result in results {
            result.map_err(|(name, code)| anyhow!("DeleteTopics {name}: {code}"))?;
        }
        Ok(())
    }
}

/// Stops the broker process when dropped: SIGTERM is its graceful stop; it gets a few seconds
/// to flush, then SIGKILL, so no broker outlives the bench, panics included.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let grace = Instant::now() + Duration::from_secs(10);
        loop {
            match self.0.try_wait() {
                Ok(Some(status)) => {
                    if !status.success() {
                        eprintln!("strom broker exited with {status} after SIGTERM");
                    }
                    return;
                }
                Ok(None) if Instant::now() < grace => std::thread::sleep(Duration::from_millis(20)),
                _ => break,
            }
        }
        eprintln!("strom broker ignored SIGTERM for 10 s; killing it");
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn log_tail(path: &std::path::Path) -> String {
    let mut text = String::new();
    if File::open(path).and_then(|mut f| f.read_to_string(&mut text)).is_err() {
        return "(no log)".into();
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// Measurements

struct Measurement {
    records: usize,
    bytes: usize,
    secs: f64,
    /// Produce latency percentiles in ms; consumption has none.
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    note: Option<String>,
}

impl Measurement {
    fn per_sec(&self) -> f64 {
        self.records as f64 / self.secs
    }

    fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / self.secs / 1e6
    }
}

fn report_progress(round: usize, case: &str, target: &str, m: &Measurement) {
    println!(
        "  round {} {case:<34} {target:<6} {:>12} rec/s {:>8.1} MB/s",
        round + 1,
        thousands(m.per_sec()),
        m.mb_per_sec()
    );
}

// ---------------------------------------------------------------------------------------------
// Produce

/// Delivery bookkeeping shared between the send loop and librdkafka's delivery callback. The
/// callback runs on whichever thread polls, which here is the sending thread, so nothing
/// contends; atomics only because a client context must be `Sync`.
struct DeliveryTracker {
    origin: Instant,
    /// Per sequence number: the enqueue time (ns since `origin`), replaced by the latency once
    /// the delivery report arrives. Pre-allocated so the hot path never allocates.
    slots: Vec<AtomicU64>,
    delivered: AtomicUsize,
    failed: AtomicUsize,
    last_delivery_ns: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl DeliveryTracker {
    fn new(records: usize) -> DeliveryTracker {
        DeliveryTracker {
            origin: Instant::now(),
            slots: (0..records).map(|_| AtomicU64::new(0)).collect(),
            delivered: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            last_delivery_ns: AtomicU64::new(0),
            first_error: Mutex::new(None),
        }
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn done(&self) -> usize {
        self.delivered.load(Relaxed) + self.failed.load(Relaxed)
    }
}

impl ClientContext for DeliveryTracker {}

impl ProducerContext for DeliveryTracker {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let now = self.now_ns();
        match result {
            Ok(_) => {
                if let Some(slot) = self.slots.get(seq) {
                    slot.store(now.saturating_sub(slot.load(Relaxed)), Relaxed);
                }
                self.delivered.fetch_add(1, Relaxed);
                self.last_delivery_ns.fetch_max(now, Relaxed);
            }
            Err((err, _)) => {
                if self.failed.fetch_add(1, Relaxed) == 0 {
                    if let Ok(mut first) = self.first_error.lock() {
                        *first = Some(format!("record {seq}: {err}"));
                    }
                }
            }
        }
    }
}

fn produce(bootstrap: &str, topic: &str, case: &ProduceCase) -> Result<Measurement> {
    let n = case.records;
    let producer: BaseProducer<DeliveryTracker> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", case.acks.config())
        .set("linger.ms", case.linger_ms())
        .set("batch.size", "1000000")
        .set("compression.type", "none")
        // Never QueueFull: the whole run fits in the client's queue, so what is measured is
        // how fast batches leave it, not a producer stalling on its own back-pressure.
        .set("queue.buffering.max.messages", (n + 1000).to_string())
        .set("queue.buffering.max.kbytes", "2097151")
        // Fail a run whose records are not acknowledged within the run's own time bound.
        .set("message.timeout.ms", RUN_TIMEOUT.as_millis().to_string())
        .create_with_context(DeliveryTracker::new(n))
        .context("creating the producer")?;

    // Connect and learn the topic's leaders before the clock starts: the run measures
    // steady-state produce, not the bootstrap handshake.
    let metadata = producer
        .client()
        .fetch_metadata(Some(topic), CALL_TIMEOUT)
        .with_context(|| format!("metadata for {topic}"))?;
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().len())
        .unwrap_or(0);
    ensure!(
        partitions == case.partitions as usize,
        "{topic} has {partitions} partitions in metadata, expected {}",
        case.partitions
    );

    let payload = payload(case.size);
    let tracker = producer.context().clone();
    let deadline = Instant::now() + RUN_TIMEOUT;
    let first_send_ns = tracker.now_ns();
    let mut sent = 0;
    while sent < n {
        // Paced: send what is due, then serve delivery reports until the next millisecond.
        let due = match case.paced {
            Some(rate) => {
                let elapsed = tracker.now_ns() - first_send_ns;
                let due = usize::try_from(u128::from(elapsed) * u128::from(rate) / 1_000_000_000)
                    .unwrap_or(usize::MAX);
                (due + 1).min(n)
            }
            None => n,
        };
        while sent < due {
            send_one(&producer, &tracker, topic, &payload, sent, deadline)?;
            sent += 1;
            if sent % POLL_EVERY == 0 {
                producer.poll(Duration::ZERO);
            }
        }
        if case.paced.is_some() {
            producer.poll(Duration::from_millis(1));
            ensure!(Instant::now() < deadline, "paced run exceeded {RUN_TIMEOUT:?}");
        }
    }
    while tracker.done() < n {
        producer.poll(Duration::from_millis(10));
        ensure!(
            Instant::now() < deadline,
            "only {} of {n} records acknowledged after {RUN_TIMEOUT:?}",
            tracker.done()
        );
    }
    if tracker.failed.load(Relaxed) > 0 {
        let first = tracker.first_error.lock().ok().and_then(|e| e.clone()).unwrap_or_default();
        bail!("{} of {n} records failed; first: {first}", tracker.failed.load(Relaxed));
    }

    let secs = (tracker.last_delivery_ns.load(Relaxed) - first_send_ns) as f64 / 1e9;
    let mut latencies: Vec<u64> = tracker.slots.iter().map(|s| s.load(Relaxed)).collect();
    Ok(Measurement {
        records: n,
        bytes: n * case.size,
        secs,
        p50_ms: Some(percentile_ms(&mut latencies, 0.50)),
        p99_ms: Some(percentile_ms(&mut latencies, 0.99)),
        note: None,
    })
}

fn send_one(
    producer: &BaseProducer<DeliveryTracker>,
    tracker: &DeliveryTracker,
    topic: &str,
    payload: &[u8],
    seq: usize,
    deadline: Instant,
) -> Result<()> {
    loop {
        tracker.slots[seq].store(tracker.now_ns(), Relaxed);
        let record = BaseRecord::<(), [u8], usize>::with_opaque_to(topic, seq).payload(payload);
        match producer.send(record) {
            Ok(()) => return Ok(()),
            // Cannot happen with the queue sized for the run, but if it does, wait for room
            // rather than fail: the run stays correct, only slower.
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                producer.poll(Duration::from_millis(1));
                ensure!(Instant::now() < deadline, "producer queue full for {RUN_TIMEOUT:?}");
            }
            Err((err, _)) => bail!("enqueueing record {seq}: {err}"),
        }
    }
}

/// Incompressible-looking bytes (xorshift), in case anything on the path ever looks at them.
fn payload(size: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

fn percentile_ms(values: &mut [u64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let rank = ((values.len() - 1) as f64 * q).round() as usize;
    let (_, v, _) = values.select_nth_unstable(rank);
    *v as f64 / 1e6
}

// ---------------------------------------------------------------------------------------------
// Consume

/// Reads `n` records from partition 0 of `topic` with one assigned consumer.
///
/// The mock keeps only the newest ~5 MiB of each partition (librdkafka's
/// `rd_kafka_mock_partition_init`: max_size 5 MiB), so it cannot serve a whole run from offset
/// 0. For it the consumer reads the retained window from its start to the end, seeks back and
/// reads it again until it has `n` records; the time from each seek to the next record is
/// left out (the note column says how much). strom must serve all `n` from offset 0.
fn consume(bootstrap: &str, topic: &str, n: usize) -> Result<Measurement> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        // rdkafka requires a group id for a consumer; it is never used: assign only, no
        // subscribe, no commits.
        .set("group.id", "strom-bench-unused")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        // The mock long-polls an empty fetch for the full wait, and a seek back to the start
        // of its window has to wait for that fetch; strom's run ends before its log does, so
        // there this never matters.
        .set("fetch.wait.max.ms", "10")
        .set("auto.offset.reset", "error")
        .create()
        .context("creating the consumer")?;
    let (low, high) = consumer
        .fetch_watermarks(topic, 0, CALL_TIMEOUT)
        .with_context(|| format!("watermarks of {topic}"))?;
    let available = usize::try_from(high - low).unwrap_or(0);
    ensure!(available > 0, "{topic} partition 0 is empty (low {low}, high {high})");
    let rereads = available < n;

    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::Offset(low))?;
    let start = Instant::now();
    let deadline = start + RUN_TIMEOUT;
    consumer.assign(&assignment)?;

    let mut count = 0usize;
    let mut bytes = 0usize;
    let mut passes = 1usize;
    // Time from a seek back to the first record after it: restarting a fetch, which says
    // nothing about how fast the mock serves a partition, so it is left out of its time.
    let mut seek_gaps = Duration::ZERO;
    let mut seeked_at: Option<Instant> = None;
    let mut expected = low;
    while count < n {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(msg)) => {
                // Cheap insurance that what is counted is the log, in order, without gaps.
                ensure!(
                    msg.offset() == expected,
                    "{topic}: got offset {} where {expected} was next",
                    msg.offset()
                );
                if let Some(seeked) = seeked_at.take() {
                    seek_gaps += seeked.elapsed();
                }
                expected += 1;
                count += 1;
                bytes += msg.payload_len();
                // Seek back on the last record of the window rather than on end-of-partition,
                // which arrives only after an empty fetch.
                if rereads && expected == high && count < n {
                    consumer
                        .seek(topic, 0, Offset::Offset(low), CALL_TIMEOUT)
                        .context("seeking back to the start of the mock's window")?;
                    seeked_at = Some(Instant::now());
                    expected = low;
                    passes += 1;
                }
                if count % 65_536 == 0 {
                    ensure!(Instant::now() < deadline, "consumed only {count} of {n} records");
                }
            }
            // A stale end-of-partition from before a seek back.
            Some(Err(KafkaError::PartitionEOF(_))) if rereads => {}
            Some(Err(KafkaError::PartitionEOF(_))) => {
                bail!("{topic}: end of partition after {count} of {n} records (high {high})")
            }
            Some(Err(err)) => bail!("{topic}: {err}"),
            None => ensure!(Instant::now() < deadline, "consumed only {count} of {n} records"),
        }
    }
    let secs = (start.elapsed() - seek_gaps).as_secs_f64();
    let note = rereads.then(|| {
        format!(
            "window of {} records read {passes}x, {:.0} ms of seeks left out",
            thousands(available as f64),
            seek_gaps.as_secs_f64() * 1e3
        )
    });
    Ok(Measurement { records: count, bytes, secs, p50_ms: None, p99_ms: None, note })
}

// ---------------------------------------------------------------------------------------------
// Results

#[derive(Default)]
struct Table {
    /// Case label, then per target name its runs, in first-seen order.
    rows: Vec<(String, Vec<(&'static str, Vec<Measurement>)>)>,
}

impl Table {
    fn record(&mut self, case: &str, target: &'static str, m: Measurement) {
        let row = match self.rows.iter().position(|(c, _)| c == case) {
            Some(i) => &mut self.rows[i].1,
            None => {
                self.rows.push((case.to_string(), Vec::new()));
                &mut self.rows.last_mut().expect("just pushed").1
            }
        };
        match row.iter_mut().find(|(t, _)| *t == target) {
            Some((_, runs)) => runs.push(m),
            None => row.push((target, vec![m])),
        }
    }

    /// The run with the median throughput: robust against one noisy run either way, and its
    /// latency columns belong to the same run as its throughput.
    fn median(&self, case: &str, target: &str) -> Option<(&Measurement, usize)> {
        let (_, row) = self.rows.iter().find(|(c, _)| c == case)?;
        let (_, runs) = row.iter().find(|(t, _)| *t == target)?;
        let mut sorted: Vec<&Measurement> = runs.iter().collect();
        sorted.sort_by(|a, b| a.per_sec().total_cmp(&b.per_sec()));
        sorted.get(sorted.len() / 2).map(|m| (*m, runs.len()))
    }

    fn spread(&self, case: &str, target: &str) -> Option<(f64, f64)> {
        let (_, row) = self.rows.iter().find(|(c, _)| c == case)?;
        let (_, runs) = row.iter().find(|(t, _)| *t == target)?;
        let rates = runs.iter().map(Measurement::per_sec);
        let min = rates.clone().fold(f64::INFINITY, f64::min);
        let max = rates.fold(0.0, f64::max);
        Some((min, max))
    }

    fn print(&self) {
        let mut out = String::new();
        let header = format!(
            "| {:<34} | {:<6} | {:>12} | {:>8} | {:>8} | {:>8} | {:>6} | {}",
            "case", "target", "records/s", "MB/s", "p50 ms", "p99 ms", "ratio", "note"
        );
        let _ = writeln!(out, "{header}");
        let _ = writeln!(
            out,
            "|{}|{}|{}|{}|{}|{}|{}|---",
            "-".repeat(36),
            "-".repeat(8),
            "-".repeat(14),
            "-".repeat(10),
            "-".repeat(10),
            "-".repeat(10),
            "-".repeat(8)
        );
        for (case, row) in &self.rows {
            let mock_rate = self.median(case, "mock").map(|(m, _)| m.per_sec());
            for (target, _) in row {
                let Some((m, runs)) = self.median(case, target) else { continue };
                let ratio = match (*target, mock_rate) {
                    ("strom", Some(mock)) => format!("{:.2}", m.per_sec() / mock),
                    _ => "-".into(),
                };
                let mut note = Vec::new();
                if runs > 1 {
                    if let Some((min, max)) = self.spread(case, target) {
                        note.push(format!(
                            "median of {runs}, range {}-{}",
                            thousands(min),
                            thousands(max)
                        ));
                    }
                }
                note.extend(m.note.clone());
                let _ = writeln!(
                    out,
                    "| {:<34} | {:<6} | {:>12} | {:>8.1} | {:>8} | {:>8} | {:>6} | {}",
                    case,
                    target,
                    thousands(m.per_sec()),
                    m.mb_per_sec(),
                    fmt_ms(m.p50_ms),
                    fmt_ms(m.p99_ms),
                    ratio,
                    note.join("; ")
                );
            }
        }
        print!("{out}");
        println!(
            "\nratio = strom records/s / mock records/s (> 1 means strom is faster). \
             MB = 10^6 bytes of record values.\nproduce latency = per record, enqueue to \
             delivery report; in the all-out runs every record is enqueued at once, so it \
             includes the wait behind earlier records. The paced runs (linger.ms=0) show the \
             broker's answer time."
        );
    }
}

fn fmt_ms(ms: Option<f64>) -> String {
    match ms {
        Some(ms) if ms < 10.0 => format!("{ms:.2}"),
        Some(ms) => format!("{ms:.1}"),
        None => "-".into(),
    }
}

/// Returns whether a headline target was missed.
fn print_verdicts(table: &Table) -> bool {
    println!("\nheadline targets (issue 2):");
    let mut missed = false;
    match (table.median(HEADLINE_PRODUCE, "strom"), table.median(HEADLINE_PRODUCE, "mock")) {
        (Some((strom, _)), Some((mock, _))) => {
            let ratio = strom.per_sec() / mock.per_sec();
            let pass = ratio >= 1.0;
            missed |= !pass;
            println!(
                "  {} produce, one producer, 100 B, acks=1, linger.ms=5, batch.size=1000000: \
                 strom {} rec/s vs mock {} rec/s, ratio {ratio:.2} (target >= 1.00)",
                verdict(pass),
                thousands(strom.per_sec()),
                thousands(mock.per_sec())
            );
        }
        _ => println!("  SKIP produce ratio: needs both strom and mock in the run"),
    }
    match table.median(HEADLINE_CONSUME, "strom") {
        Some((strom, _)) => {
            let pass = strom.per_sec() >= CONSUME_TARGET_PER_SEC;
            missed |= !pass;
            let mock = table
                .median(HEADLINE_CONSUME, "mock")
                .map(|(m, _)| format!(" (mock {} rec/s)", thousands(m.per_sec())))
                .unwrap_or_default();
            println!(
                "  {} consume, one partition, 100 B: strom {} rec/s{mock} (target >= {})",
                verdict(pass),
                thousands(strom.per_sec()),
                thousands(CONSUME_TARGET_PER_SEC)
            );
        }
        None => println!("  SKIP consume: needs strom in the run"),
    }
    missed
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}

fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
