//! kcat (a separately built librdkafka, 2.0.x on Debian 12) against the bundled broker:
//! metadata listing (text and JSON), keyed records with headers produced with `-P` and read back
//! byte-exactly with `-C`, every compression codec, and offsets looked up by timestamp (`-Q`).
//!
//! kcat is a required tool: when it is missing these tests fail and say how to install it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;

use common::BrokerProcess;

/// Every kcat invocation must finish within this; a hung kcat fails the test with its stderr.
const KCAT_TIMEOUT: Duration = Duration::from_secs(60);

fn kcat_path() -> PathBuf {
    let out = Command::new("which").arg("kcat").output().expect("run `which kcat`");
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || path.is_empty() {
        panic!("kcat not found: run `bash .ci/run` (it installs kcat) or `apt-get install kcat`");
    }
    PathBuf::from(path)
}

/// A kcat command that loads the librdkafka it was built against. `cargo test` puts the
/// directory of the librdkafka that rdkafka-sys built for these tests on LD_LIBRARY_PATH;
/// Debian's kcat would pick that one up and stop being an independent client.
fn kcat_command() -> Command {
    let mut cmd = Command::new(kcat_path());
    if let Some(paths) = std::env::var_os("LD_LIBRARY_PATH") {
        let kept: Vec<PathBuf> = std::env::split_paths(&paths)
            .filter(|d| !d.join("librdkafka.so.1").exists())
            .collect();
        match std::env::join_paths(kept) {
            Ok(joined) if !joined.is_empty() => cmd.env("LD_LIBRARY_PATH", joined),
            _ => cmd.env_remove("LD_LIBRARY_PATH"),
        };
    }
    cmd
}

/// "Version 1.7.1 (... librdkafka 2.0.2 ...)" as kcat reports itself, for failure messages.
fn kcat_version() -> String {
    let out = kcat_command().arg("-V").output().map(|o| o.stdout).unwrap_or_default();
    String::from_utf8_lossy(&out)
        .lines()
        .find(|l| l.starts_with("Version"))
        .unwrap_or("unknown")
        .to_string()
}

/// Runs kcat with `args` against `broker`, feeding `stdin`; returns stdout. Panics (with
/// kcat's stderr and the broker's warnings) on a non-zero exit or when kcat runs longer than
/// [`KCAT_TIMEOUT`].
fn kcat(broker: &BrokerProcess, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut child = kcat_command()
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kcat");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("kcat stdin");
        let input = input.to_vec();
        // A separate thread, so a kcat that stops reading cannot block the test past its timeout.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let mut out_pipe = child.stdout.take().expect("kcat stdout");
    let mut err_pipe = child.stderr.take().expect("kcat stderr");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + KCAT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for kcat") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).into_owned();
    let what = match status {
        Some(s) if s.success() => return stdout,
        Some(s) => format!("failed ({s})"),
        None => format!("did not finish within {KCAT_TIMEOUT:?}"),
    };
    let log = broker.log_text();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    panic!(
        "kcat {args:?} {what}\n{}\n--- kcat stderr ---\n{stderr}\n--- broker warnings and errors ---\n{}",
        kcat_version(),
        warnings.join("\n")
    )
}

fn create_topic(addr: &str, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .create()
        .expect("admin client");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let results = rt
        .block_on(admin.create_topics(
            &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        ))
        .expect("create_topics request");
    for r in results {
        r.unwrap_or_else(|(topic, code)| panic!("create topic {topic}: {code}"));
    }
}

fn start_broker() -> (tempfile::TempDir, BrokerProcess) {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker = BrokerProcess::start(&dir.path().join("data"), None);
    (dir, broker)
}

// ---------------------------------------------------------------------------------------------
// kcat -L

#[derive(Debug, PartialEq)]
struct ListedBroker {
    id: i32,
    addr: String,
    controller: bool,
}

#[derive(Debug, PartialEq)]
struct ListedPartition {
    id: i32,
    leader: i32,
    replicas: Vec<i32>,
    isrs: Vec<i32>,
    /// Anything kcat printed after the isrs (a per-partition error).
    error: Option<String>,
}

#[derive(Debug, Default)]
struct Listing {
    brokers: Vec<ListedBroker>,
    topics: BTreeMap<String, Vec<ListedPartition>>,
    /// Per-topic errors kcat printed on the topic line.
    topic_errors: BTreeMap<String, String>,
}

fn parse_ids(s: &str) -> Vec<i32> {
    s.split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| x.trim().parse().unwrap_or_else(|_| panic!("bad id list {s:?}")))
        .collect()
}

/// Parses kcat 1.7's `-L` text:
/// ```text
/// Metadata for all topics (from broker 1: 127.0.0.1:9092/1):
///  1 brokers:
///   broker 1 at 127.0.0.1:9092 (controller)
///  1 topics:
///   topic "orders" with 3 partitions:
///     partition 0, leader 1, replicas: 1, isrs: 1
/// ```
/// Every line must be recognised, and the announced counts must match what follows.
fn parse_listing(text: &str) -> Listing {
    let mut listing = Listing::default();
    let mut announced_brokers = None;
    let mut announced_topics = None;
    let mut announced_partitions: BTreeMap<String, usize> = BTreeMap::new();
    let mut current_topic: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("Metadata for ") {
            continue;
        }
        if let Some(n) = line.strip_prefix(' ').and_then(|l| l.strip_suffix(" brokers:")) {
            announced_brokers = Some(n.trim().parse::<usize>().expect("broker count"));
        } else if let Some(n) = line.strip_prefix(' ').and_then(|l| l.strip_suffix(" topics:")) {
            announced_topics = Some(n.trim().parse::<usize>().expect("topic count"));
        } else if let Some(rest) = line.strip_prefix("  broker ") {
            let (id, rest) = rest
                .split_once(" at ")
                .unwrap_or_else(|| panic!("broker line {line:?}"));
            let (addr, controller) = match rest.strip_suffix(" (controller)") {
                Some(a) => (a, true),
                None => (rest, false),
            };
            listing.brokers.push(ListedBroker {
                id: id.parse().expect("broker id"),
                addr: addr.to_string(),
                controller,
            });
        } else if let Some(rest) = line.strip_prefix("  topic \"") {
            let (name, rest) = rest.split_once('"').unwrap_or_else(|| panic!("topic line {line:?}"));
            let rest = rest
                .strip_prefix(" with ")
                .unwrap_or_else(|| panic!("topic line {line:?}"));
            let (count, tail) = rest
                .split_once(" partitions:")
                .unwrap_or_else(|| panic!("topic line {line:?}"));
            announced_partitions.insert(name.to_string(), count.parse().expect("partition count"));
            if !tail.trim().is_empty() {
                listing.topic_errors.insert(name.to_string(), tail.trim().to_string());
            }
            listing.topics.insert(name.to_string(), Vec::new());
            current_topic = Some(name.to_string());
        } else if let Some(rest) = line.strip_prefix("    partition ") {
            let topic = current_topic
                .clone()
                .unwrap_or_else(|| panic!("partition line before any topic: {line:?}"));
            // "0, leader 1, replicas: 1, isrs: 1[, error]"
            let (id, rest) = rest
                .split_once(", leader ")
                .unwrap_or_else(|| panic!("partition line {line:?}"));
            let (leader, rest) = rest
                .split_once(", replicas: ")
                .unwrap_or_else(|| panic!("partition line {line:?}"));
            let (replicas, rest) = rest
                .split_once(", isrs: ")
                .unwrap_or_else(|| panic!("partition line {line:?}"));
            let (isrs, error) = match rest.split_once(", ") {
                Some((i, e)) => (i, Some(e.to_string())),
                None => (rest, None),
            };
            listing
                .topics
                .get_mut(&topic)
                .expect("topic entry")
                .push(ListedPartition {
                    id: id.parse().expect("partition id"),
                    leader: leader.parse().expect("leader id"),
                    replicas: parse_ids(replicas),
                    isrs: parse_ids(isrs),
                    error,
                });
        } else if !line.trim().is_empty() {
            panic!("unrecognised kcat -L line {line:?} in:\n{text}");
        }
    }
    assert_eq!(
        announced_brokers,
        Some(listing.brokers.len()),
        "broker count line vs broker lines in:\n{text}"
    );
    assert_eq!(
        announced_topics,
        Some(listing.topics.len()),
        "topic count line vs topic lines in:\n{text}"
    );
    for (topic, parts) in &listing.topics {
        assert_eq!(
            announced_partitions[topic],
            parts.len(),
            "partition count of {topic} in:\n{text}"
        );
    }
    listing
}

fn assert_healthy_topic(listing: &Listing, topic: &str, partitions: i32, broker_id: i32) {
    assert_eq!(listing.topic_errors.get(topic), None, "topic {topic} has an error");
    let parts = listing
        .topics
        .get(topic)
        .unwrap_or_else(|| panic!("topic {topic} not listed: {listing:?}"));
    let mut ids: Vec<i32> = parts.iter().map(|p| p.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..partitions).collect::<Vec<_>>(), "partition ids of {topic}");
    for p in parts {
        assert_eq!(
            p,
            &ListedPartition {
                id: p.id,
                leader: broker_id,
                replicas: vec![broker_id],
                isrs: vec![broker_id],
                error: None
            },
            "partition {} of {topic}",
            p.id
        );
    }
}

#[test]
fn kcat_lists_broker_topics_partitions_and_leaders() {
    let (_dir, broker) = start_broker();
    create_topic(&broker.addr, "orders", 3);
    create_topic(&broker.addr, "audit", 1);

    let text = String::from_utf8(kcat(&broker, &["-L", "-b", &broker.addr], None)).expect("utf-8 listing");
    let listing = parse_listing(&text);
    assert_eq!(listing.brokers.len(), 1, "one broker in:\n{text}");
    let b = &listing.brokers[0];
    assert_eq!(b.addr, broker.addr, "the broker advertises the address it listens on");
    assert!(b.controller, "the only broker is the controller:\n{text}");
    let names: BTreeSet<&str> = listing.topics.keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(["audit", "orders"]), "topics in:\n{text}");
    assert_healthy_topic(&listing, "orders", 3, b.id);
    assert_healthy_topic(&listing, "audit", 1, b.id);

    // One topic only.
    let text =
        String::from_utf8(kcat(&broker, &["-L", "-b", &broker.addr, "-t", "orders"], None)).expect("utf-8 listing");
    let one = parse_listing(&text);
    assert_eq!(
        one.topics.keys().collect::<Vec<_>>(),
        vec!["orders"],
        "kcat -L -t orders:\n{text}"
    );
    assert_healthy_topic(&one, "orders", 3, b.id);
}

#[test]
fn kcat_json_listing_names_broker_controller_and_partitions() {
    let (_dir, broker) = start_broker();
    create_topic(&broker.addr, "orders", 3);

    let json = String::from_utf8(kcat(&broker, &["-L", "-J", "-b", &broker.addr], None)).expect("utf-8 json");
    // kcat prints compact JSON with a fixed key order, so exact fragments are a precise check.
    let id = parse_listing(&String::from_utf8(kcat(&broker, &["-L", "-b", &broker.addr], None)).unwrap()).brokers[0].id;
    for fragment in [
        format!("\"controllerid\":{id},"),
        format!("\"brokers\":[{{\"id\":{id},\"name\":\"{}\"}}]", broker.addr),
        "{\"topic\":\"orders\",\"partitions\":[".to_string(),
    ] {
        assert!(json.contains(&fragment), "kcat -L -J lacks {fragment}:\n{json}");
    }
    for p in 0..3 {
        let fragment =
            format!("{{\"partition\":{p},\"leader\":{id},\"replicas\":[{{\"id\":{id}}}],\"isrs\":[{{\"id\":{id}}}]}}");
        assert!(json.contains(&fragment), "kcat -L -J lacks {fragment}:\n{json}");
    }
    assert!(!json.contains("\"error\""), "kcat -L -J reports an error:\n{json}");
}

// ---------------------------------------------------------------------------------------------
// kcat -P / -C

/// Headers given with `-H` (kcat applies them to every record), in order, including a repeated
/// key, a value with `=` and an empty value.
const HEADERS: &[(&str, &str)] = &[
    ("trace", "abc-123"),
    ("dup", "1"),
    ("dup", "2"),
    ("eq", "a=b"),
    ("empty", ""),
];

/// What `%h` prints for [`HEADERS`].
fn headers_text() -> String {
    HEADERS
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn header_args() -> Vec<String> {
    HEADERS
        .iter()
        .flat_map(|(k, v)| ["-H".to_string(), format!("{k}={v}")])
        .collect()
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rec {
    key: Vec<u8>,
    value: Vec<u8>,
}

/// `n` keyed records over 7 keys. Values carry the delimiter `:`, `|`, `=`, tabs, multi-byte
/// UTF-8 and one is empty; none contains a newline (kcat's record delimiter).
fn keyed_records(n: usize, filler: &str) -> Vec<Rec> {
    (0..n)
        .map(|i| {
            let key = format!("user-{}", i % 7).into_bytes();
            let value = match i % 5 {
                0 => format!("order {i}: total=12.50 | paid"),
                1 => format!("{i}\tżółw ✓ ünïcödé"),
                2 if i == 2 => String::new(),
                _ => format!("{i}-{}", filler.repeat(i % 13)),
            }
            .into_bytes();
            Rec { key, value }
        })
        .collect()
}

fn produce_input(records: &[Rec]) -> Vec<u8> {
    let mut input = Vec::new();
    for r in records {
        input.extend_from_slice(&r.key);
        input.push(b':');
        input.extend_from_slice(&r.value);
        input.push(b'\n');
    }
    input
}

fn kcat_produce(broker: &BrokerProcess, topic: &str, codec: &str, records: &[Rec]) {
    let headers = header_args();
    let mut args = vec![
        "-P",
        "-b",
        &broker.addr,
        "-t",
        topic,
        "-K:",
        "-z",
        codec,
        "-X",
        "acks=all",
        "-X",
        "linger.ms=5",
    ];
    args.extend(headers.iter().map(String::as_str));
    kcat(broker, &args, Some(&produce_input(records)));
}

/// One consumed record: partition, offset and the record.
type Consumed = (i32, i64, Rec);

/// Consumes the whole topic with `-f '%k|%s|%h|%p|%o\n'` and parses each line exactly: the key
/// holds no `|`, the headers are known, partition and offset are numbers, so the value is
/// whatever lies between, byte for byte.
fn kcat_consume_all(broker: &BrokerProcess, topic: &str) -> Vec<Consumed> {
    let out = kcat(
        broker,
        &[
            "-C",
            "-b",
            &broker.addr,
            "-t",
            topic,
            "-e",
            "-o",
            "beginning",
            "-f",
            "%k|%s|%h|%p|%o\n",
        ],
        None,
    );
    let suffix_headers = format!("|{}|", headers_text()).into_bytes();
    let mut consumed = Vec::new();
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let show = || String::from_utf8_lossy(line).into_owned();
        let mut tail = line.rsplitn(3, |&b| b == b'|');
        let offset: i64 = std::str::from_utf8(tail.next().unwrap())
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("offset in {}", show()));
        let partition: i32 = std::str::from_utf8(tail.next().unwrap_or_default())
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("partition in {}", show()));
        let head = tail.next().unwrap_or_else(|| panic!("short line {}", show()));
        // head = key | value | headers ; re-append the separator so the suffix match is exact.
        let mut head = head.to_vec();
        head.push(b'|');
        let body = head
            .strip_suffix(suffix_headers.as_slice())
            .unwrap_or_else(|| panic!("headers differ in {}", show()));
        let sep = body
            .iter()
            .position(|&b| b == b'|')
            .unwrap_or_else(|| panic!("no key separator in {}", show()));
        consumed.push((
            partition,
            offset,
            Rec {
                key: body[..sep].to_vec(),
                value: body[sep + 1..].to_vec(),
            },
        ));
    }
    consumed
}

/// Checks the consumed records against what was produced: nothing lost, nothing extra, offsets
/// 0.. without gaps per partition, every key on one partition, and each partition holding
/// exactly its keys' records in production order.
fn assert_roundtrip(sent: &[Rec], consumed: &[Consumed], partitions: i32) {
    assert_eq!(consumed.len(), sent.len(), "record count");
    let mut by_partition: BTreeMap<i32, Vec<(i64, Rec)>> = BTreeMap::new();
    for (p, o, r) in consumed {
        assert!((0..partitions).contains(p), "partition {p} out of range");
        by_partition.entry(*p).or_default().push((*o, r.clone()));
    }
    let mut key_partition: BTreeMap<Vec<u8>, i32> = BTreeMap::new();
    for (p, recs) in &mut by_partition {
        recs.sort_by_key(|(o, _)| *o);
        let offsets: Vec<i64> = recs.iter().map(|(o, _)| *o).collect();
        assert_eq!(
            offsets,
            (0..recs.len() as i64).collect::<Vec<_>>(),
            "offsets of partition {p}"
        );
        for (_, r) in recs.iter() {
            let prev = key_partition.insert(r.key.clone(), *p);
            assert!(
                prev.is_none() || prev == Some(*p),
                "key {:?} on partitions {prev:?} and {p}",
                String::from_utf8_lossy(&r.key)
            );
        }
    }
    for (p, recs) in &by_partition {
        let expected: Vec<&Rec> = sent.iter().filter(|r| key_partition.get(&r.key) == Some(p)).collect();
        let got: Vec<&Rec> = recs.iter().map(|(_, r)| r).collect();
        if got != expected {
            let first = got
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len().min(expected.len()));
            panic!(
                "partition {p}: {} records read, {} expected; first difference at position {first}: got {:?}, expected {:?}",
                got.len(),
                expected.len(),
                got.get(first).map(|r| (String::from_utf8_lossy(&r.key), String::from_utf8_lossy(&r.value))),
                expected.get(first).map(|r| (String::from_utf8_lossy(&r.key), String::from_utf8_lossy(&r.value))),
            );
        }
    }
}

#[test]
fn kcat_roundtrips_keyed_records_with_headers_byte_exactly() {
    let (_dir, broker) = start_broker();
    create_topic(&broker.addr, "keyed", 3);
    let sent = keyed_records(500, "xyz");
    kcat_produce(&broker, "keyed", "none", &sent);
    let consumed = kcat_consume_all(&broker, "keyed");
    assert_roundtrip(&sent, &consumed, 3);
    let used: BTreeSet<i32> = consumed.iter().map(|(p, _, _)| *p).collect();
    assert!(used.len() > 1, "7 keys over 3 partitions all landed on {used:?}");
}

#[test]
fn kcat_roundtrips_every_compression_codec() {
    let (_dir, broker) = start_broker();
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("codec-{codec}");
        create_topic(&broker.addr, &topic, 2);
        // Repetitive values so each codec really compresses.
        let sent = keyed_records(400, "compressible ");
        kcat_produce(&broker, &topic, codec, &sent);
        let consumed = kcat_consume_all(&broker, &topic);
        assert_roundtrip(&sent, &consumed, 2);

        // The JSON consumer view of partition 0 agrees, including the header array and the
        // CreateTime timestamp type.
        let json = String::from_utf8(kcat(
            &broker,
            &[
                "-C",
                "-J",
                "-b",
                &broker.addr,
                "-t",
                &topic,
                "-p",
                "0",
                "-e",
                "-o",
                "beginning",
            ],
            None,
        ))
        .expect("utf-8 json");
        let part0: Vec<&Consumed> = consumed.iter().filter(|(p, _, _)| *p == 0).collect();
        let lines: Vec<&str> = json.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), part0.len(), "{codec}: JSON lines for partition 0");
        let headers_json = HEADERS
            .iter()
            .map(|(k, v)| format!("\"{k}\",\"{v}\""))
            .collect::<Vec<_>>()
            .join(",");
        for line in lines {
            for fragment in [
                format!("{{\"topic\":\"{topic}\",\"partition\":0,\"offset\":"),
                "\"tstype\":\"create\"".to_string(),
                format!("\"headers\":[{headers_json}]"),
            ] {
                assert!(
                    line.contains(&fragment),
                    "{codec}: JSON record lacks {fragment}: {line}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// kcat -Q (ListOffsets by timestamp)

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as i64
}

#[test]
fn kcat_queries_offsets_by_timestamp() {
    let (_dir, broker) = start_broker();
    create_topic(&broker.addr, "timed", 1);
    let first = keyed_records(30, "a");
    kcat_produce(&broker, "timed", "none", &first);
    // kcat stamps CreateTime when it produces: everything in `first` is older than `middle`,
    // everything in `second` is at least as new.
    std::thread::sleep(Duration::from_millis(20));
    let middle = now_ms();
    std::thread::sleep(Duration::from_millis(20));
    let second = keyed_records(20, "b");
    kcat_produce(&broker, "timed", "none", &second);

    let far_future = 4_102_444_800_000i64; // 2100-01-01
    let query = |ts: i64| -> String {
        let out = kcat(
            &broker,
            &["-Q", "-b", &broker.addr, "-t", &format!("timed:0:{ts}")],
            None,
        );
        String::from_utf8(out).expect("utf-8").trim().to_string()
    };
    assert_eq!(query(0), "timed [0] offset 0", "the first record is at or after time 0");
    assert_eq!(
        query(middle),
        format!("timed [0] offset {}", first.len()),
        "the first record of the second run"
    );
    assert_eq!(
        query(far_future),
        "timed [0] offset -1",
        "no record at or after 2100: Kafka answers -1"
    );
}
