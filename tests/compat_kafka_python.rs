//! kafka-python (2.x, pinned in tests/python/requirements.txt) against the bundled broker: each
//! test runs one script from tests/python/ with the bootstrap address of a fresh broker, and
//! passes when the script exits 0. The scripts say what they check.
//! The mixed-group test runs group_mixed.py next to an rdkafka consumer of the same group and
//! reads the script's output line by line.
//!
//! The interpreter is `$STROM_PYTHON`, else `.venv/bin/python` in the package root. A missing
//! interpreter or package fails the test with the command that installs it; nothing is skipped.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::scripts::{log_tail, manifest_dir, python_with, run_to_end};
use common::BrokerProcess;

/// A script that runs longer than this fails (its loops are bounded well below it).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

fn python() -> PathBuf {
    python_with(&[("kafka", "kafka-python")])
}

/// Runs tests/python/`script` against a fresh broker; panics with the script's output and the
/// broker's log when it fails or runs past [`SCRIPT_TIMEOUT`].
fn run_script(script: &str) {
    run_script_with(script, None)
}

/// Fast rebalances for the group scripts: no initial delay, short sessions allowed.
const GROUP_BROKER_TOML: &str = "\"group.initial.rebalance.delay.ms\" = 0\n\"group.min.session.timeout.ms\" = 1000\n";

/// [`run_script`] against a broker started with `config_toml`.
fn run_script_with(script: &str, config_toml: Option<&str>) {
    let python = python();
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = BrokerProcess::start(&dir.path().join("data"), config_toml);
    let mut cmd = Command::new(&python);
    cmd.arg(manifest_dir().join("tests/python").join(script))
        .arg(&broker.addr);
    run_to_end(cmd, script, SCRIPT_TIMEOUT, &broker);
}

#[test]
fn kafka_python_producer_and_consumer_roundtrip_every_codec() {
    run_script("roundtrip.py");
}

#[test]
fn kafka_python_admin_client_creates_describes_alters_grows_and_deletes_a_topic() {
    run_script("admin.py");
}

/// A transactional kafka-python producer is refused at once with a non-retriable error.
#[test]
fn kafka_python_transactional_producer_fails_fast_with_a_fatal_error() {
    run_script("transactional.py");
}

#[test]
fn kafka_python_acks0_records_are_all_appended_in_order() {
    run_script("producer_acks0.py");
}

#[test]
fn kafka_python_group_of_three_consumes_exactly_once_and_rebalances_on_close() {
    run_script_with("group_consume.py", Some(GROUP_BROKER_TOML));
}

#[test]
fn kafka_python_admin_client_lists_describes_and_deletes_a_consumer_group() {
    run_script_with("group_admin.py", Some(GROUP_BROKER_TOML));
}

/// A group with one rdkafka member (`roundrobin,range`) and one kafka-python member
/// (tests/python/group_mixed.py, `[sticky, range]`): the only protocol both support is "range",
/// neither's first choice, so the coordinator has to select across members. Each gets 2 of the
/// 4 partitions, DescribeGroups (as rdkafka decodes it) says Stable/consumer/range with both
/// members, and the records produced afterwards are consumed exactly once across the two.
#[test]
fn kafka_python_and_rdkafka_in_one_group_agree_on_the_common_protocol() {
    use std::collections::{BTreeSet, HashMap};
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;

    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

    const TOPIC: &str = "mixed";
    const GROUP: &str = "mixed-g";
    const RECORDS: usize = 400;
    const BOUND: Duration = Duration::from_secs(60);

    let python = python();
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = BrokerProcess::start(&dir.path().join("data"), Some(GROUP_BROKER_TOML));
    let addr = broker.addr.clone();
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &addr).create().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for r in rt
        .block_on(admin.create_topics(
            &[NewTopic::new(TOPIC, 4, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        ))
        .unwrap()
    {
        r.unwrap();
    }

    let stop_file = dir.path().join("stop");
    let script = manifest_dir().join("tests/python/group_mixed.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .arg(&addr)
        .arg(TOPIC)
        .arg(GROUP)
        .arg(&stop_file)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {} {}: {e}", python.display(), script.display()));
    let (tx, lines) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let stderr_pipe = child.stderr.take().unwrap();
    let stderr_text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stderr = {
        let text = stderr_text.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                let mut t = text.lock().unwrap();
                t.push_str(&line);
                t.push('\n');
            }
        })
    };
    // On failure: stop the script, show its output and the broker's log.
    let mut transcript: Vec<String> = Vec::new();
    let die = |child: &mut std::process::Child, transcript: &[String], why: String| -> ! {
        let _ = child.kill();
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(200)); // the stderr reader drains the pipe
        panic!(
            "{why}\n--- group_mixed.py stdout (last 30 lines) ---\n{}\n--- stderr ---\n{}\n--- broker log (last 40 lines) ---\n{}",
            transcript.iter().rev().take(30).rev().cloned().collect::<Vec<_>>().join("\n"),
            stderr_text.lock().unwrap(),
            log_tail(&broker, 40)
        )
    };

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &addr)
        .set("group.id", GROUP)
        .set("client.id", "rd-mixed")
        .set("partition.assignment.strategy", "roundrobin,range")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "300")
        .create()
        .unwrap();
    consumer.subscribe(&[TOPIC]).unwrap();

    let mut py_assigned: Vec<i32> = Vec::new();
    let mut py_got: Vec<(i32, usize)> = Vec::new();
    let mut rd_got: Vec<(i32, usize)> = Vec::new();
    let mut py_done: Option<usize> = None;
    // One step: an rdkafka poll, then whatever the script printed meanwhile.
    let step = |child: &mut std::process::Child,
                transcript: &mut Vec<String>,
                py_assigned: &mut Vec<i32>,
                py_got: &mut Vec<(i32, usize)>,
                rd_got: &mut Vec<(i32, usize)>,
                py_done: &mut Option<usize>|
     -> Result<(), String> {
        if let Some(r) = consumer.poll(Duration::from_millis(100)) {
            let m = r.map_err(|e| format!("rdkafka consumer error: {e}"))?;
            let v: usize = std::str::from_utf8(m.payload().unwrap_or_default())
                .unwrap()
                .parse()
                .unwrap();
            rd_got.push((m.partition(), v));
        }
        while let Ok(line) = lines.try_recv() {
            let mut w = line.split_whitespace();
            match w.next() {
                Some("ASSIGNED") => {
                    *py_assigned = w
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| s.parse().unwrap())
                        .collect()
                }
                Some("GOT") => {
                    let p: i32 = w.next().unwrap().parse().unwrap();
                    py_got.push((p, w.next().unwrap().parse().unwrap()));
                }
                Some("DONE") => *py_done = Some(w.next().unwrap().parse().unwrap()),
                _ => {}
            }
            if !line.starts_with("GOT") {
                transcript.push(line);
            }
        }
        if py_done.is_none() {
            if let Some(status) = child.try_wait().unwrap() {
                return Err(format!("group_mixed.py exited early ({status})"));
            }
        }
        Ok(())
    };
    let rd_assigned = |c: &BaseConsumer| -> Vec<i32> {
        let mut v: Vec<i32> = c
            .assignment()
            .map(|a| a.elements().iter().map(|e| e.partition()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };

    // 1. Both members hold two partitions each, and the group is Stable on "range".
    let deadline = Instant::now() + BOUND;
    let mut polls = 0;
    loop {
        polls += 1;
        if let Err(e) = step(
            &mut child,
            &mut transcript,
            &mut py_assigned,
            &mut py_got,
            &mut rd_got,
            &mut py_done,
        ) {
            die(&mut child, &transcript, e);
        }
        let rd = rd_assigned(&consumer);
        if rd.len() == 2 && py_assigned.len() == 2 {
            let all: BTreeSet<i32> = rd.iter().chain(py_assigned.iter()).copied().collect();
            if all.len() != 4 {
                die(
                    &mut child,
                    &transcript,
                    format!("overlapping assignments: rdkafka {rd:?}, kafka-python {py_assigned:?}"),
                );
            }
            let list = consumer.fetch_group_list(Some(GROUP), Duration::from_secs(10)).unwrap();
            let g = &list.groups()[0];
            if g.state() == "Stable" {
                let members: BTreeSet<&str> = g.members().iter().map(|m| m.client_id()).collect();
                let summary = format!(
                    "state {} protocol_type {} protocol {} members {members:?}",
                    g.state(),
                    g.protocol_type(),
                    g.protocol()
                );
                if g.protocol_type() != "consumer"
                    || g.protocol() != "range"
                    || members != BTreeSet::from(["py-mixed", "rd-mixed"])
                {
                    die(
                        &mut child,
                        &transcript,
                        format!("DescribeGroups: {summary}; want consumer/range with py-mixed and rd-mixed"),
                    );
                }
                println!("mixed group: {summary}; rdkafka {rd:?}, kafka-python {py_assigned:?}");
                break;
            }
        }
        if Instant::now() > deadline || polls > 600 {
            die(
                &mut child,
                &transcript,
                format!("no Stable 2+2 assignment within {BOUND:?}: rdkafka {rd:?}, kafka-python {py_assigned:?}"),
            );
        }
    }
    let (rd_parts, py_parts) = (rd_assigned(&consumer), py_assigned.clone());

    // 2. Records produced now are consumed exactly once across the two.
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &addr)
        .set("linger.ms", "5")
        .create()
        .unwrap();
    for i in 0..RECORDS {
        let payload = i.to_string();
        let mut tries = 0;
        while producer
            .send(
                BaseRecord::<(), _>::to(TOPIC)
                    .partition((i % 4) as i32)
                    .payload(&payload),
            )
            .is_err()
        {
            tries += 1;
            assert!(tries < 1000, "producer queue stayed full");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    let deadline = Instant::now() + BOUND;
    let mut quiet_until: Option<Instant> = None;
    polls = 0;
    loop {
        polls += 1;
        if let Err(e) = step(
            &mut child,
            &mut transcript,
            &mut py_assigned,
            &mut py_got,
            &mut rd_got,
            &mut py_done,
        ) {
            die(&mut child, &transcript, e);
        }
        if rd_got.len() + py_got.len() >= RECORDS && quiet_until.is_none() {
            quiet_until = Some(Instant::now() + Duration::from_secs(1)); // then a second for strays
        }
        if quiet_until.is_some_and(|t| Instant::now() > t) {
            break;
        }
        if Instant::now() > deadline || polls > 2000 {
            die(
                &mut child,
                &transcript,
                format!(
                    "{} + {} of {RECORDS} records consumed within {BOUND:?}",
                    rd_got.len(),
                    py_got.len()
                ),
            );
        }
    }

    // 3. The script commits, leaves and reports.
    std::fs::write(&stop_file, b"stop").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while py_done.is_none() || child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            die(
                &mut child,
                &transcript,
                "group_mixed.py did not stop within 30s of the stop file".into(),
            );
        }
        if let Err(e) = step(
            &mut child,
            &mut transcript,
            &mut py_assigned,
            &mut py_got,
            &mut rd_got,
            &mut py_done,
        ) {
            die(&mut child, &transcript, e);
        }
    }
    let status = child.wait().unwrap();
    let _ = stderr.join();
    let err = stderr_text.lock().unwrap().clone();
    assert!(
        status.success(),
        "group_mixed.py failed ({status}):\n{err}\n{}",
        transcript.join("\n")
    );
    assert_eq!(py_done, Some(py_got.len()), "kafka-python's own count vs the GOT lines");

    let mut seen: HashMap<usize, Vec<(&str, i32)>> = HashMap::new();
    for &(p, v) in &rd_got {
        assert!(
            rd_parts.contains(&p),
            "rdkafka got a record of partition {p}, outside its {rd_parts:?}"
        );
        seen.entry(v).or_default().push(("rdkafka", p));
    }
    for &(p, v) in &py_got {
        assert!(
            py_parts.contains(&p),
            "kafka-python got a record of partition {p}, outside its {py_parts:?}"
        );
        seen.entry(v).or_default().push(("kafka-python", p));
    }
    let dups: Vec<_> = seen.iter().filter(|(_, w)| w.len() > 1).take(5).collect();
    assert!(dups.is_empty(), "records consumed more than once: {dups:?}");
    let missing: Vec<usize> = (0..RECORDS).filter(|v| !seen.contains_key(v)).take(10).collect();
    assert!(missing.is_empty(), "records never consumed: {missing:?}");
    assert_eq!(seen.len(), RECORDS, "values outside 0..{RECORDS}");
    assert_eq!(
        (rd_got.len(), py_got.len()),
        (RECORDS / 2, RECORDS / 2),
        "records per member (2 partitions of 100 each)"
    );
    println!(
        "mixed group: {} records by rdkafka, {} by kafka-python, each exactly once",
        rd_got.len(),
        py_got.len()
    );
}
