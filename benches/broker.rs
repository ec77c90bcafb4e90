//! Broker throughput and latency: strom's bundled broker against librdkafka's in-memory mock
//! cluster, side by side in one run (issue 2, "Done means" 7).
//!
//! The same rdkafka client code drives both targets, case by case and round by round, with the
//! order of the two targets alternating, so machine noise (other builds, page-cache flushes,
//! frequency scaling) lands on both alike. The mock keeps nothing on disk, answers from the
//! same process, and is known to take what one librdkafka producer can send, so it stands for
//! "the client is the limit"; a ratio of 1.0 or better means strom keeps up with that.
//!
//! Cases: all-out produce (every record enqueued at once; records/s from the first send to the
//! last delivery report) for 100 B and 1 KiB records, 1 and 6 partitions, acks=1 and acks=all;
//! consumption of the 1-partition acks=1 topics from offset 0 by one assigned consumer; and
//! paced produce at 10,000 records/s with linger.ms=0, whose latency is the broker's answer
//! time rather than the queue an all-out producer builds. Every run checks what it measures:
//! each delivery report must succeed, and the consumer sees offsets 0..n in order.
//! Each run's note also gives the CPU used by this process (client, plus the mock's threads)
//! and by strom's broker process, since on 2 cores they compete for the same CPUs.
//!
//! Run: `cargo bench --bench broker` (about 2-3 minutes on 2 cores),
//! `cargo bench --bench broker -- --quick` or `STROM_BENCH_QUICK=1` for a ~20 s smoke run.
//! Knobs (environment):
//! - `STROM_BENCH_RECORDS`: 100-byte records per throughput run (default 1,000,000); the
//!   1 KiB cases use a quarter of it.
//! - `STROM_BENCH_ROUNDS`: rounds per case (default 3, and 5 for the headline case, whose
//!   verdicts should not hinge on one noisy run; the table shows the median run).
//! - `STROM_BENCH_TARGETS`: `strom`, `mock` or `strom,mock` (default both).
//! - `STROM_BENCH_ONLY`: run only the cases whose label contains this text (e.g. `1 KiB`,
//!   `latency`), for profiling one case; the consume cases come with `1p acks=1`.
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
use rdkafka::client::{Client, ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
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

    let strom_pid = strom.as_ref().map(|b| b.pid);
    if let Some(pid) = strom_pid {
        // A broker that burns CPU while idle would slow the mock's runs on a small machine
        // and flatter the ratio; say so up front.
        let idle = CpuSnapshot::take(Some(pid));
        std::thread::sleep(Duration::from_secs(1));
        if let Some(cpu) = idle.elapsed(Some(pid)) {
            println!(
                "strom broker idle CPU: {:.0}% of a core",
                cpu.broker.unwrap_or(0.0) * 100.0
            );
        }
    }
    println!("load average at start: {}", load_average());
    warn_if_busy();
    println!();

    let cases = produce_cases(&settings);
    let mut table = Table::default();
    let started = Instant::now();
    let most_rounds = settings.rounds.max(settings.headline_rounds);
    for round in 0..most_rounds {
        for (i, case) in cases.iter().enumerate() {
            if round >= settings.rounds_for(case) {
                continue;
            }
            // Alternate which target goes first, per case and per round, so neither always
            // runs right after the other's page-cache or CPU-frequency aftermath.
            let mut order: Vec<&Target<'_>> = targets.iter().collect();
            if (round + i) % 2 == 1 {
                order.reverse();
            }
            // The disk's own sequential write + fdatasync bandwidth, next to the case that is
            // bound by it, once per round.
            if case.label() == DISK_BOUND_CASE {
                if let Some(strom) = &strom {
                    let m = disk_write(&strom.dir.path().join("dd.bench"), settings.dd_mib)
                        .context("measuring the disk's sequential write bandwidth")?;
                    report_progress(round, DISK_CASE, "dd", &m);
                    table.record(DISK_CASE, "dd", m);
                }
            }
            for target in order {
                let topic = format!("bench-r{round}-{}", case.slug());
                target.create_topic(&topic, case.partitions)?;
                let bootstrap = target.bootstrap();
                let cpu = CpuSnapshot::take(strom_pid);
                let mut m = produce(&bootstrap, &topic, case)
                    .with_context(|| format!("{} against {}", case.label(), target.name()))?;
                m.cpu = cpu.elapsed(strom_pid);
                report_progress(round, &case.label(), target.name(), &m);
                table.record(&case.label(), target.name(), m);

                // Consumption reads back what the 1-partition acks=1 run just wrote, while it
                // is still in the page cache, as a consumer close behind producers would.
                if case.feeds_consume() {
                    let label = format!("consume {} {}p", size_label(case.size), case.partitions);
                    let cpu = CpuSnapshot::take(strom_pid);
                    let mut m = consume(&bootstrap, &topic, case.partitions, case.records)
                        .with_context(|| format!("{label} against {}", target.name()))?;
                    m.cpu = cpu.elapsed(strom_pid);
                    report_progress(round, &label, target.name(), &m);
                    table.record(&label, target.name(), m);
                }
                target.delete_topic(&topic);
            }
        }
    }
    println!(
        "\nall runs took {:.1} s; load average at end: {}\n",
        started.elapsed().as_secs_f64(),
        load_average()
    );

    // Idle cost, and a start with 10,000 partitions after a clean stop: a broker of its own,
    // once the throughput runs are over.
    let idle = match (&strom, settings.only.is_none()) {
        (Some(_), true) => Some(idle_and_startup(&settings).context("idle and start-up measurements")?),
        _ => None,
    };

    table.print();
    let mut missed = print_verdicts(&table);
    missed |= print_issue12_verdicts(&table, idle.as_ref());
    Ok(if missed && settings.strict {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

// ---------------------------------------------------------------------------------------------
// Settings

struct Settings {
    records_small: usize,
    records_large: usize,
    rounds: usize,
    /// Rounds for the headline case (and the consumption that reads it back).
    headline_rounds: usize,
    quick: bool,
    run_strom: bool,
    run_mock: bool,
    only: Option<String>,
    strict: bool,
    /// MiB written by the dd-style disk measurement.
    dd_mib: usize,
    /// Partitions of the idle and start-up measurement.
    idle_partitions: usize,
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
        let (rounds, headline_rounds) = match env_number("STROM_BENCH_ROUNDS")? {
            Some(n) => (n.max(1), n.max(1)),
            None if quick => (1, 1),
            None => (3, 5),
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
            headline_rounds,
            quick,
            run_strom,
            run_mock,
            only: std::env::var("STROM_BENCH_ONLY").ok().filter(|s| !s.is_empty()),
            strict: env_flag("STROM_BENCH_STRICT"),
            dd_mib: if quick { 256 } else { 1024 },
            idle_partitions: 10_000,
        })
    }

    fn rounds_for(&self, case: &ProduceCase) -> usize {
        if case.label() == HEADLINE_PRODUCE {
            self.headline_rounds
        } else {
            self.rounds
        }
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

fn env_number(name: &str) -> Result<Option<usize>> {
    match std::env::var(name) {
        Ok(v) => {
            let digits: String = v.chars().filter(|c| *c != '_' && *c != ',').collect();
            let n = digits
                .parse()
                .with_context(|| format!("{name}={v:?} is not a number"))?;
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
         {} round(s), {} for the headline case{}",
        thousands(settings.records_small as f64),
        thousands(settings.records_large as f64),
        thousands(paced_records(settings) as f64),
        settings.rounds,
        settings.headline_rounds,
        if settings.quick { " (quick)" } else { "" }
    );
    println!(
        "producer:   one BaseProducer, linger.ms=5, batch.size=1000000, compression none, \
         no keys; latency = enqueue -> delivery report"
    );
    println!(
        "consumer:   one BaseConsumer, assign (no group, no commits), librdkafka fetch \
         defaults but fetch.wait.max.ms=10, fetch.queue.backoff.ms=1"
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
        self.acks == Acks::One && self.paced.is_none()
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
/// The case whose limit is the disk (issue 12), and the disk measurement beside it.
const DISK_BOUND_CASE: &str = "produce 1 KiB 1p acks=all";
const DISK_CASE: &str = "disk: write 1 MiB blocks + fdatasync";

fn size_label(size: usize) -> String {
    match size {
        1024 => "1 KiB".into(),
        n => format!("{n} B"),
    }
}

fn paced_records(settings: &Settings) -> usize {
    // Two seconds' worth in a full run, half a second in the smoke run.
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
                cases.push(ProduceCase {
                    size,
                    partitions,
                    acks,
                    records,
                    paced: None,
                });
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
    if let Some(only) = &settings.only {
        cases.retain(|c| c.label().contains(only.as_str()));
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
    pid: u32,
    /// From spawning the process to its `listening on` line (logs recovered, port bound).
    startup: Duration,
    admin: AdminClient<DefaultClientContext>,
    runtime: tokio::runtime::Runtime,
    // Fields drop in declaration order: the clients above go before the broker, and the
    // directory must outlive the broker.
    _process: ChildGuard,
    dir: tempfile::TempDir,
}

impl StromBroker {
    fn start() -> Result<StromBroker> {
        StromBroker::start_in(tempfile::Builder::new().prefix("strom-bench-").tempdir()?)
    }

    /// Stops the broker cleanly (SIGTERM, waiting for it to exit) and starts a new one on the
    /// same data directory.
    fn restart(self) -> Result<StromBroker> {
        let StromBroker {
            admin,
            runtime,
            _process,
            dir,
            ..
        } = self;
        drop(admin);
        drop(runtime);
        drop(_process);
        StromBroker::start_in(dir)
    }

    fn start_in(dir: tempfile::TempDir) -> Result<StromBroker> {
        let data_dir = dir.path().join("data");
        let log_path = dir.path().join("broker.log");
        let log = File::options().create(true).append(true).open(&log_path)?;
        let spawned = Instant::now();
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
        let startup = spawned.elapsed();
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
            pid: child.0.id(),
            admin: ClientConfig::new()
                .set("bootstrap.servers", &addr)
                .create()
                .context("creating the admin client")?,
            // The admin client's futures need an executor, nothing more.
            runtime: tokio::runtime::Builder::new_current_thread().enable_all().build()?,
            _process: child,
            addr,
            startup,
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
    /// CPU used during the run, filled in by the caller.
    cpu: Option<CpuUse>,
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
// CPU accounting: on 2 cores the client, the mock and strom's broker all compete, so where the
// CPU went explains the throughput as much as the throughput itself.

struct CpuUse {
    /// This process: the rdkafka client, and for the mock runs the mock cluster's threads too.
    bench: f64,
    /// strom's broker process (for a mock run: what it used while it should have been idle).
    broker: Option<f64>,
}

impl CpuUse {
    fn describe(&self, target: &str, run_secs: f64) -> String {
        match (target, self.broker) {
            ("strom", Some(broker)) => {
                format!("cpu s: bench {:.2} + broker {broker:.2}", self.bench)
            }
            // Worth a mention only when the idle broker took a noticeable share of the run.
            (_, Some(broker)) if broker > 0.02 * run_secs.max(0.1) => {
                format!("cpu s: bench {:.2}; idle strom broker used {broker:.2}!", self.bench)
            }
            _ => format!("cpu s: bench {:.2}", self.bench),
        }
    }
}

struct CpuSnapshot {
    bench: Option<f64>,
    broker: Option<f64>,
}

impl CpuSnapshot {
    fn take(broker_pid: Option<u32>) -> CpuSnapshot {
        CpuSnapshot {
            bench: process_cpu_secs("self"),
            broker: broker_pid.and_then(|pid| process_cpu_secs(&pid.to_string())),
        }
    }

    fn elapsed(&self, broker_pid: Option<u32>) -> Option<CpuUse> {
        let now = CpuSnapshot::take(broker_pid);
        Some(CpuUse {
            bench: now.bench? - self.bench?,
            broker: match (now.broker, self.broker) {
                (Some(after), Some(before)) => Some(after - before),
                _ => None,
            },
        })
    }
}

/// User + system CPU seconds of a whole process (all threads), from `/proc/PID/stat`.
fn process_cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; the fields after its closing parenthesis
    // start with field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf only reads a constant.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_sec > 0).then(|| ticks / per_sec as f64)
}

/// Other work on a 2-core machine moves these numbers by tens of percent; say so in the output
/// rather than let a noisy run pass for a regression.
fn warn_if_busy() {
    let load: Option<f64> = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|l| l.parse().ok()));
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if let Some(load) = load.filter(|l| *l > 0.75 * cores as f64) {
        println!(
            "warning: the machine is busy (1-minute load {load:.1} on {cores} cores) before the \
             bench starts; expect noisy numbers"
        );
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

// ---------------------------------------------------------------------------------------------
// Produce

/// Delivery bookkeeping shared between the send loop and librdkafka's delivery callback. The
/// callback runs on whichever thread polls (the sending thread, or the ThreadedProducer's
/// poller for the paced runs), and each slot has one writer at a time; atomics because a
/// client context must be `Sync`, and relaxed ones cost a plain load or store.
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

    /// Throughput from the first send to the last delivery report, and latency percentiles,
    /// once every record has been reported.
    fn measurement(&self, first_send_ns: u64, case: &ProduceCase) -> Result<Measurement> {
        let n = case.records;
        let failed = self.failed.load(Relaxed);
        if failed > 0 {
            let first = self.first_error.lock().ok().and_then(|e| e.clone()).unwrap_or_default();
            bail!("{failed} of {n} records failed; first: {first}");
        }
        let secs = (self.last_delivery_ns.load(Relaxed) - first_send_ns) as f64 / 1e9;
        let mut latencies: Vec<u64> = self.slots.iter().map(|s| s.load(Relaxed)).collect();
        Ok(Measurement {
            records: n,
            bytes: n * case.size,
            secs,
            p50_ms: Some(percentile_ms(&mut latencies, 0.50)),
            p99_ms: Some(percentile_ms(&mut latencies, 0.99)),
            note: None,
            cpu: None,
        })
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
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("acks", case.acks.config())
        .set("linger.ms", case.linger_ms())
        .set("batch.size", "1000000")
        .set("compression.type", "none")
        // Never QueueFull: the whole run fits in the client's queue, so what is measured is
        // how fast batches leave it, not a producer stalling on its own back-pressure.
        .set("queue.buffering.max.messages", (case.records + 1000).to_string())
        .set("queue.buffering.max.kbytes", "2097151")
        // Fail a run whose records are not acknowledged within the run's own time bound.
        .set("message.timeout.ms", RUN_TIMEOUT.as_millis().to_string());
    match case.paced {
        None => produce_all_out(&config, topic, case),
        Some(rate) => produce_paced(&config, topic, case, rate),
    }
}

type Record<'a> = BaseRecord<'a, (), [u8], usize>;

/// Enqueues every record as fast as the client takes them. One thread sends and, every
/// `POLL_EVERY` records, serves delivery reports: no second thread competes for the 2 cores.
// rdkafka's send hands the record back inside its Err; that size is rdkafka's API.
#[allow(clippy::result_large_err)]
fn produce_all_out(config: &ClientConfig, topic: &str, case: &ProduceCase) -> Result<Measurement> {
    let n = case.records;
    let producer: BaseProducer<DeliveryTracker> = config
        .create_with_context(DeliveryTracker::new(n))
        .context("creating the producer")?;
    await_topic(producer.client(), topic, case.partitions)?;

    let payload = payload(case.size);
    let tracker = producer.context().clone();
    let deadline = Instant::now() + RUN_TIMEOUT;
    let first_send_ns = tracker.now_ns();
    for seq in 0..n {
        send_one(
            |record| producer.send(record),
            || producer.poll(Duration::from_millis(1)),
            &tracker,
            topic,
            &payload,
            seq,
            deadline,
        )?;
        if (seq + 1) % POLL_EVERY == 0 {
            producer.poll(Duration::ZERO);
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
    tracker.measurement(first_send_ns, case)
}

/// Sends at a steady rate. A ThreadedProducer's own thread blocks in poll and runs each
/// delivery callback as soon as the report arrives, while this thread sleeps until the next
/// record is due; a BaseProducer polled from the pacing loop would either delay the callbacks
/// (inflating the latency) or spin a core that the broker needs.
// rdkafka's send hands the record back inside its Err; that size is rdkafka's API.
#[allow(clippy::result_large_err)]
fn produce_paced(config: &ClientConfig, topic: &str, case: &ProduceCase, rate: u64) -> Result<Measurement> {
    let n = case.records;
    let producer: ThreadedProducer<DeliveryTracker> = config
        .create_with_context(DeliveryTracker::new(n))
        .context("creating the producer")?;
    await_topic(producer.client(), topic, case.partitions)?;

    let payload = payload(case.size);
    let tracker = producer.context().clone();
    let deadline = Instant::now() + RUN_TIMEOUT;
    let first_send = Instant::now();
    let first_send_ns = tracker.now_ns();
    for seq in 0..n {
        // Due times follow the schedule, not the previous send, so oversleeping is caught up.
        let due = first_send + Duration::from_nanos(seq as u64 * 1_000_000_000 / rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        send_one(
            |record| producer.send(record),
            || std::thread::sleep(Duration::from_millis(1)),
            &tracker,
            topic,
            &payload,
            seq,
            deadline,
        )?;
    }
    while tracker.done() < n {
        std::thread::sleep(Duration::from_millis(1));
        ensure!(
            Instant::now() < deadline,
            "only {} of {n} records acknowledged after {RUN_TIMEOUT:?}",
            tracker.done()
        );
    }
    tracker.measurement(first_send_ns, case)
}

/// Connects and learns the topic's leaders before the clock starts: a run measures
/// steady-state produce, not the bootstrap handshake.
fn await_topic(client: &Client<DeliveryTracker>, topic: &str, expected: i32) -> Result<()> {
    let metadata = client
        .fetch_metadata(Some(topic), CALL_TIMEOUT)
        .with_context(|| format!("metadata for {topic}"))?;
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().len())
        .unwrap_or(0);
    ensure!(
        partitions == expected as usize,
        "{topic} has {partitions} partitions in metadata, expected {expected}"
    );
    Ok(())
}

/// Enqueues record `seq`, stamping its enqueue time. `send` is the producer's send; `wait`
/// makes room when the client's queue is full.
fn send_one<'a>(
    send: impl Fn(Record<'a>) -> Result<(), (KafkaError, Record<'a>)>,
    wait: impl Fn(),
    tracker: &DeliveryTracker,
    topic: &'a str,
    payload: &'a [u8],
    seq: usize,
    deadline: Instant,
) -> Result<()> {
    loop {
        tracker.slots[seq].store(tracker.now_ns(), Relaxed);
        match send(Record::with_opaque_to(topic, seq).payload(payload)) {
            Ok(()) => return Ok(()),
            // Cannot happen with the queue sized for the run, but if it does, wait for room
            // rather than fail: the run stays correct, only slower.
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                wait();
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

/// Reads `n` records from the `partitions` partitions of `topic` with one assigned consumer.
///
/// The mock keeps only the newest ~5 MiB of each partition (librdkafka's
/// `rd_kafka_mock_partition_init`: max_size 5 MiB), so it cannot serve a whole run from offset
/// 0. For it the consumer reads each partition's retained window from its start to the end,
/// seeks back and reads it again until it has `n` records in all; with one partition the time
/// from each seek to the next record is left out (the note column says how much), with several
/// the others keep delivering meanwhile and nothing is left out. strom must serve all `n` from
/// offset 0.
fn consume(bootstrap: &str, topic: &str, partitions: i32, n: usize) -> Result<Measurement> {
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
        // Once 100,000 records (queued.min.messages) wait in the client, librdkafka pauses
        // fetching for fetch.queue.backoff.ms, 1 s by default, instead of resuming as soon as
        // the queue drains. Only a broker that can serve more than that ahead of the
        // application is hit (strom, not the mock's 5 MiB window), and it halved strom's
        // measured rate; 1 ms resumes fetching as the queue drains, for both targets.
        .set("fetch.queue.backoff.ms", "1")
        .set("auto.offset.reset", "error")
        .create()
        .context("creating the consumer")?;
    // Per partition: (low, high, next expected offset).
    let mut marks = Vec::new();
    for p in 0..partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, CALL_TIMEOUT)
            .with_context(|| format!("watermarks of {topic}-{p}"))?;
        // Without keys librdkafka's sticky partitioner may leave a partition empty.
        marks.push((low, high, low));
    }
    // The topic is fresh and the produce run was told every record landed: exactly n.
    let highs: i64 = marks.iter().map(|m| m.1).sum();
    ensure!(
        usize::try_from(highs).ok() == Some(n),
        "{topic}: high watermarks add up to {highs} after {n} acknowledged records"
    );
    let available: usize = marks.iter().map(|m| usize::try_from(m.1 - m.0).unwrap_or(0)).sum();
    ensure!(available > 0, "{topic} is empty");
    let rereads = available < n;

    let mut assignment = TopicPartitionList::new();
    for (p, &(low, _, _)) in marks.iter().enumerate() {
        assignment.add_partition_offset(topic, p as i32, Offset::Offset(low))?;
    }
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
    while count < n {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(msg)) => {
                let p = msg.partition();
                let Some((low, high, expected)) = usize::try_from(p).ok().and_then(|i| marks.get_mut(i)) else {
                    bail!("{topic}: a record from partition {p}, which was not assigned");
                };
                // Cheap insurance that what is counted is the log, in order, without gaps.
                ensure!(
                    msg.offset() == *expected,
                    "{topic}-{p}: got offset {} where {expected} was next",
                    msg.offset()
                );
                if let Some(seeked) = seeked_at.take() {
                    seek_gaps += seeked.elapsed();
                }
                *expected += 1;
                count += 1;
                bytes += msg.payload_len();
                // Seek back on the last record of the window rather than on end-of-partition,
                // which arrives only after an empty fetch.
                if rereads && *expected == *high && count < n {
                    consumer
                        .seek(topic, p, Offset::Offset(*low), CALL_TIMEOUT)
                        .context("seeking back to the start of the mock's window")?;
                    if partitions == 1 {
                        seeked_at = Some(Instant::now());
                    }
                    *expected = *low;
                    passes += 1;
                }
                if count % 65_536 == 0 {
                    ensure!(Instant::now() < deadline, "consumed only {count} of {n} records");
                }
            }
            // A stale end-of-partition from before a seek back.
            Some(Err(KafkaError::PartitionEOF(_))) if rereads => {}
            // With several partitions, one may be read to its end before the others.
            Some(Err(KafkaError::PartitionEOF(p))) => {
                let done = usize::try_from(p)
                    .ok()
                    .and_then(|i| marks.get(i))
                    .is_some_and(|m| m.2 >= m.1);
                ensure!(
                    done,
                    "{topic}-{p}: end of partition after {count} of {n} records (highs {highs})"
                );
            }
            Some(Err(err)) => bail!("{topic}: {err}"),
            None => ensure!(Instant::now() < deadline, "consumed only {count} of {n} records"),
        }
    }
    let secs = (start.elapsed() - seek_gaps).as_secs_f64();
    let note = rereads.then(|| {
        format!(
            "window of {} records, {passes} passes over partitions, {:.0} ms of seeks left out",
            thousands(available as f64),
            seek_gaps.as_secs_f64() * 1e3
        )
    });
    Ok(Measurement {
        records: count,
        bytes,
        secs,
        p50_ms: None,
        p99_ms: None,
        note,
        cpu: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Results

/// One run's result.
struct Run {
    case: String,
    target: &'static str,
    m: Measurement,
}

#[derive(Default)]
struct Table {
    /// In the order they ran; the table lists cases and targets in first-seen order.
    runs: Vec<Run>,
}

impl Table {
    fn record(&mut self, case: &str, target: &'static str, m: Measurement) {
        self.runs.push(Run {
            case: case.to_string(),
            target,
            m,
        });
    }

    fn rates<'a>(&'a self, case: &'a str, target: &'a str) -> impl Iterator<Item = f64> + 'a {
        self.runs_of(case, target).map(Measurement::per_sec)
    }

    fn runs_of<'s: 'q, 'q>(
        &'s self,
        case: &'q str,
        target: &'q str,
    ) -> impl Iterator<Item = &'s Measurement> + Clone + 'q {
        self.runs
            .iter()
            .filter(move |r| r.case == case && r.target == target)
            .map(|r| &r.m)
    }

    /// The run with the median throughput: robust against one noisy run either way, and its
    /// latency columns belong to the same run as its throughput.
    fn median(&self, case: &str, target: &str) -> Option<(&Measurement, usize)> {
        let mut sorted: Vec<&Measurement> = self.runs_of(case, target).collect();
        sorted.sort_by(|a, b| a.per_sec().total_cmp(&b.per_sec()));
        let count = sorted.len();
        sorted.get(count / 2).map(|m| (*m, count))
    }

    fn spread(&self, case: &str, target: &str) -> (f64, f64) {
        let min = self.rates(case, target).fold(f64::INFINITY, f64::min);
        let max = self.rates(case, target).fold(0.0, f64::max);
        (min, max)
    }

    /// (case, target) pairs in first-seen order, grouped by case.
    fn rows(&self) -> Vec<(&str, &'static str)> {
        let mut cases: Vec<&str> = Vec::new();
        for r in &self.runs {
            if !cases.contains(&r.case.as_str()) {
                cases.push(&r.case);
            }
        }
        let mut rows = Vec::new();
        for case in cases {
            for r in self.runs.iter().filter(|r| r.case == case) {
                if !rows.contains(&(case, r.target)) {
                    rows.push((case, r.target));
                }
            }
        }
        rows
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
        for (case, target) in self.rows() {
            let Some((m, runs)) = self.median(case, target) else {
                continue;
            };
            let mock_rate = self.median(case, "mock").map(|(m, _)| m.per_sec());
            let ratio = match (target, mock_rate) {
                ("strom", Some(mock)) => format!("{:.2}", m.per_sec() / mock),
                _ => "-".into(),
            };
            let mut note = Vec::new();
            if runs > 1 {
                let (min, max) = self.spread(case, target);
                note.push(format!("median of {runs}, range {}-{}", thousands(min), thousands(max)));
            }
            note.extend(m.note.clone());
            if let Some(cpu) = &m.cpu {
                note.push(cpu.describe(target, m.secs));
            }
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
    match (
        table.median(HEADLINE_PRODUCE, "strom"),
        table.median(HEADLINE_PRODUCE, "mock"),
    ) {
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
            // Who was the limit: the ratio alone cannot tell a slow broker from a busy client.
            if let Some(CpuUse {
                bench,
                broker: Some(broker),
            }) = &strom.cpu
            {
                println!(
                    "       in that strom run the client used {bench:.2} s of CPU and the broker \
                     {broker:.2} s, over {:.2} s",
                    strom.secs
                );
            }
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

// ---------------------------------------------------------------------------------------------
// Issue 12: the disk's bandwidth, the idle broker, start-up with many partitions

/// What `dd if=/dev/zero of=PATH bs=1M count=MIB conv=fdatasync` measures: sequential 1 MiB
/// writes and one fdatasync at the end, timed together. The file sits in the broker's data
/// directory's file system and is removed afterwards.
fn disk_write(path: &std::path::Path, mib: usize) -> Result<Measurement> {
    use std::io::Write as _;
    let block = vec![0u8; 1 << 20];
    let start = Instant::now();
    let mut f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    for _ in 0..mib {
        f.write_all(&block)?;
    }
    f.sync_data()?;
    let secs = start.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(path)?;
    Ok(Measurement {
        records: mib,
        bytes: mib << 20,
        secs,
        p50_ms: None,
        p99_ms: None,
        note: Some(format!("{mib} MiB, like dd bs=1M count={mib} conv=fdatasync")),
        cpu: None,
    })
}

/// CPU share of one core and resident memory of an idle broker.
struct Idle {
    cpu_share: f64,
    rss_mb: f64,
}

struct IdleReport {
    empty: Idle,
    many: Idle,
    partitions: usize,
    startup: Duration,
}

/// Resident memory of a process in MB (10^6 bytes), from `/proc/PID/status`.
fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib * 1024.0 / 1e6)
}

fn measure_idle(pid: u32, window: Duration) -> Result<Idle> {
    let pid_s = pid.to_string();
    let before = process_cpu_secs(&pid_s).ok_or_else(|| anyhow!("no CPU figures for pid {pid}"))?;
    let start = Instant::now();
    std::thread::sleep(window);
    let after = process_cpu_secs(&pid_s).ok_or_else(|| anyhow!("no CPU figures for pid {pid}"))?;
    Ok(Idle {
        cpu_share: (after - before) / start.elapsed().as_secs_f64(),
        rss_mb: rss_mb(pid).ok_or_else(|| anyhow!("no resident memory figure for pid {pid}"))?,
    })
}

/// A fresh broker idle; then with `settings.idle_partitions` partitions (100 per topic),
/// idle; then stopped cleanly and started again on the same data, timed to `listening on`,
/// and checked to serve every partition.
fn idle_and_startup(settings: &Settings) -> Result<IdleReport> {
    const PER_TOPIC: usize = 100;
    let window = if settings.quick {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(5)
    };
    println!("\nidle and start-up (a broker of its own):");
    let broker = StromBroker::start()?;
    // Let start-up work (the first retention pass and the like) pass before measuring.
    std::thread::sleep(Duration::from_secs(1));
    let empty = measure_idle(broker.pid, window)?;
    println!(
        "  idle, no topics: {:.2}% of a core, {:.1} MB resident",
        empty.cpu_share * 100.0,
        empty.rss_mb
    );
    let topics = settings.idle_partitions.div_ceil(PER_TOPIC);
    let created = Instant::now();
    for chunk in (0..topics).collect::<Vec<_>>().chunks(10) {
        let names: Vec<String> = chunk.iter().map(|t| format!("idle-{t:03}")).collect();
        let news: Vec<NewTopic<'_>> = names
            .iter()
            .map(|name| NewTopic::new(name, PER_TOPIC as i32, TopicReplication::Fixed(1)))
            .collect();
        let results = broker
            .runtime
            // Every partition is created durably (directories and files fsynced): a thousand
            // take far longer than the usual call timeout on a slow disk.
            .block_on(
                broker.admin.create_topics(
                    &news,
                    &AdminOptions::new()
                        .request_timeout(Some(Duration::from_secs(300)))
                        .operation_timeout(Some(Duration::from_secs(300))),
                ),
            )
            .context("strom: CreateTopics for the idle measurement")?;
        for result in results {
            result.map_err(|(name, code)| anyhow!("strom: CreateTopics {name}: {code}"))?;
        }
    }
    let partitions = topics * PER_TOPIC;
    println!(
        "  created {partitions} partitions in {:.1} s",
        created.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(1));
    let many = measure_idle(broker.pid, window)?;
    println!(
        "  idle, {partitions} partitions: {:.2}% of a core, {:.1} MB resident",
        many.cpu_share * 100.0,
        many.rss_mb
    );
    let broker = broker.restart()?;
    let startup = broker.startup;
    let metadata = broker
        .admin
        .inner()
        .fetch_metadata(None, CALL_TIMEOUT)
        .context("metadata after the restart")?;
    let served: usize = metadata
        .topics()
        .iter()
        .filter(|t| t.name().starts_with("idle-"))
        .map(|t| t.partitions().len())
        .sum();
    ensure!(
        served == partitions,
        "after the restart the broker serves {served} of the {partitions} partitions"
    );
    println!(
        "  start after a clean stop with {partitions} partitions: {:.0} ms to `listening on`",
        startup.as_secs_f64() * 1e3
    );
    Ok(IdleReport {
        empty,
        many,
        partitions,
        startup,
    })
}

/// The targets of issue 12; returns whether one was missed.
fn print_issue12_verdicts(table: &Table, idle: Option<&IdleReport>) -> bool {
    println!("\nissue 12 targets:");
    let mut missed = false;
    let mut ratio_check =
        |case: &str, target: f64, what: &str| match (table.median(case, "strom"), table.median(case, "mock")) {
            (Some((strom, _)), Some((mock, _))) => {
                let ratio = strom.per_sec() / mock.per_sec();
                let pass = ratio >= target;
                missed |= !pass;
                println!(
                    "  {} {case}{what}: strom {} rec/s vs mock {} rec/s, ratio {ratio:.2} (target >= {target:.2})",
                    verdict(pass),
                    thousands(strom.per_sec()),
                    thousands(mock.per_sec())
                );
            }
            _ => println!("  SKIP {case}: needs both strom and mock in the run"),
        };
    ratio_check("produce 1 KiB 1p acks=1", 0.9, ", one producer");
    for case in [
        "produce 100 B 1p acks=1",
        "produce 100 B 1p acks=all",
        "produce 100 B 6p acks=1",
        "produce 100 B 6p acks=all",
    ] {
        ratio_check(case, 0.95, "");
    }
    for case in [
        "consume 100 B 1p",
        "consume 100 B 6p",
        "consume 1 KiB 1p",
        "consume 1 KiB 6p",
    ] {
        ratio_check(case, 1.0, "");
    }
    match (table.median(DISK_BOUND_CASE, "strom"), table.median(DISK_CASE, "dd")) {
        (Some((strom, _)), Some((disk, _))) => {
            let ratio = strom.mb_per_sec() / disk.mb_per_sec();
            let pass = ratio >= 0.9;
            missed |= !pass;
            println!(
                "  {} {DISK_BOUND_CASE}: strom {:.0} MB/s vs the disk's sequential write + fdatasync \
                 {:.0} MB/s, ratio {ratio:.2} (target >= 0.90)",
                verdict(pass),
                strom.mb_per_sec(),
                disk.mb_per_sec()
            );
        }
        _ => println!("  SKIP {DISK_BOUND_CASE} vs the disk: needs strom and that case in the run"),
    }
    match idle {
        Some(r) => {
            let mut check = |pass: bool, text: String| {
                missed |= !pass;
                println!("  {} {text}", verdict(pass));
            };
            check(
                r.empty.cpu_share < 0.005 && r.empty.rss_mb < 30.0,
                format!(
                    "idle broker: {:.2}% of a core, {:.1} MB resident (targets < 0.5%, < 30 MB)",
                    r.empty.cpu_share * 100.0,
                    r.empty.rss_mb
                ),
            );
            check(
                r.many.cpu_share < 0.01 && r.many.rss_mb < 200.0,
                format!(
                    "idle broker with {} partitions: {:.2}% of a core, {:.1} MB resident (targets < 1%, < 200 MB)",
                    r.partitions,
                    r.many.cpu_share * 100.0,
                    r.many.rss_mb
                ),
            );
            check(
                r.startup < Duration::from_secs(1),
                format!(
                    "start after a clean stop with {} partitions: {:.0} ms (target < 1 s)",
                    r.partitions,
                    r.startup.as_secs_f64() * 1e3
                ),
            );
        }
        None => println!("  SKIP idle and start-up: needs strom, and not limited by STROM_BENCH_ONLY"),
    }
    println!("  NOT MEASURED many clients (8 producer and 8 consumer processes): not in this bench yet");
    missed
}
