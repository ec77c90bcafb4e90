//! Hostile and buggy-client input against a real broker, sent as raw bytes while a witness
//! client (librdkafka, acks=all, idempotent) produces and consumes: each input gets its
//! documented reaction (README "Limits"), the broker never exits, the witness never notices,
//! and a restart afterwards is clean and loses nothing.

mod common;

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    CreateTopicsRequest, FetchRequest, FetchResponse, ListOffsetsRequest, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use common::wire::{batch, call, connect};
use common::witness::Witness;
use common::BrokerProcess;

/// The broker's `fetch.max.bytes` in these tests: small, so a few batches reach it.
const FETCH_MAX: usize = 1024;

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.into()))
}

fn create_topic(addr: &str, topic: &str, partitions: i32) {
    let mut t = CreatableTopic::default();
    t.name = name(topic);
    t.num_partitions = partitions;
    t.replication_factor = 1;
    let mut r = CreateTopicsRequest::default();
    r.topics = vec![t];
    r.timeout_ms = 5000;
    let resp = call(&mut connect(addr), &r, 5);
    assert_eq!(
        resp.topics[0].error_code, 0,
        "{topic}: {:?}",
        resp.topics[0].error_message
    );
}

fn produce(addr: &str, topic: &str, partition: i32, records: Bytes) {
    let mut p = PartitionProduceData::default();
    p.index = partition;
    p.records = Some(records);
    let mut t = TopicProduceData::default();
    t.name = name(topic);
    t.partition_data = vec![p];
    let mut r = ProduceRequest::default();
    r.acks = 1;
    r.timeout_ms = 5000;
    r.topic_data = vec![t];
    let resp = call(&mut connect(addr), &r, 8);
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
}

/// A fetch of `topic` from offset 0: `parts` lists (partition, partition_max_bytes), in order,
/// duplicates allowed.
fn fetch_req(topic: &str, parts: &[(i32, i32)], max_bytes: i32) -> FetchRequest {
    let mut t = FetchTopic::default();
    t.topic = name(topic);
    t.partitions = parts
        .iter()
        .map(|&(partition, max)| {
            let mut p = FetchPartition::default();
            p.partition = partition;
            p.partition_max_bytes = max;
            p
        })
        .collect();
    let mut r = FetchRequest::default();
    r.max_wait_ms = 0;
    r.min_bytes = 1;
    r.max_bytes = max_bytes;
    r.topics = vec![t];
    r
}

fn high_watermark(addr: &str, topic: &str) -> i64 {
    let mut p = ListOffsetsPartition::default();
    p.timestamp = -1;
    let mut t = ListOffsetsTopic::default();
    t.name = name(topic);
    t.partitions = vec![p];
    let mut r = ListOffsetsRequest::default();
    r.replica_id = (-1).into();
    r.topics = vec![t];
    let resp = call(&mut connect(addr), &r, 5);
    resp.topics[0].partitions[0].offset
}

fn records_len(resp: &FetchResponse, partition_at: usize) -> usize {
    let p = &resp.responses[0].partitions[partition_at];
    assert_eq!(p.error_code, 0);
    p.records.as_ref().map_or(0, |r| r.len())
}

/// Fetch sizes: duplicates answered once, `max_bytes`, `partition_max_bytes` and the broker's
/// `fetch.max.bytes` honoured to the byte, the first batch always whole.
fn fetch_limits(addr: &str) {
    create_topic(addr, "sized", 2);
    let one = batch(3).len();
    for p in 0..2 {
        for _ in 0..40 {
            produce(addr, "sized", p, batch(3));
        }
    }
    assert!(40 * one > FETCH_MAX, "the partition holds more than fetch.max.bytes");
    let mut s = connect(addr);

    // The same partition listed 20,000 times (a 700 KB request): one answer, one read's worth
    // of bytes. Before, each listing was read again and the response outgrew its i32 length.
    for version in [4, 12] {
        let listed = vec![(0, 1 << 20); 20_000];
        let resp = call(&mut s, &fetch_req("sized", &listed, i32::MAX), version);
        assert_eq!(resp.responses.len(), 1, "v{version}: one topic entry");
        assert_eq!(
            resp.responses[0].partitions.len(),
            1,
            "v{version}: partition 0 answered once"
        );
        let got = records_len(&resp, 0);
        assert!(got <= FETCH_MAX && got > FETCH_MAX - one, "v{version}: {got} bytes");
    }
    // Duplicates interleaved with another partition keep the first listing's place.
    let resp = call(
        &mut s,
        &fetch_req("sized", &[(1, 100), (0, 100), (1, 100)], i32::MAX),
        12,
    );
    let order: Vec<i32> = resp.responses[0].partitions.iter().map(|p| p.partition_index).collect();
    assert_eq!(order, vec![1, 0]);

    // max_bytes: whole batches that fit, never a partial one.
    let resp = call(
        &mut s,
        &fetch_req("sized", &[(0, 1 << 20)], (2 * one + one / 2) as i32),
        12,
    );
    assert_eq!(records_len(&resp, 0), 2 * one, "two batches fit in 2.5 batches' worth");
    // partition_max_bytes likewise.
    let resp = call(&mut s, &fetch_req("sized", &[(0, (3 * one) as i32)], i32::MAX), 12);
    assert_eq!(records_len(&resp, 0), 3 * one);
    // A limit smaller than one batch: the first partition with data still gets its first batch
    // whole (KIP-74), a later partition gets nothing.
    let resp = call(&mut s, &fetch_req("sized", &[(0, 1), (1, 1)], i32::MAX), 12);
    assert_eq!(
        records_len(&resp, 0),
        one,
        "first batch returned whole over partition_max_bytes"
    );
    assert_eq!(records_len(&resp, 1), 0, "second partition over its limit gets nothing");
    let resp = call(&mut s, &fetch_req("sized", &[(0, 1 << 20), (1, 1 << 20)], 1), 12);
    assert_eq!(records_len(&resp, 0), one, "first batch returned whole over max_bytes");
    assert_eq!(
        records_len(&resp, 1),
        0,
        "nothing left of max_bytes for the second partition"
    );
    // The response budget is shared: what the first partition took, the second cannot.
    let resp = call(
        &mut s,
        &fetch_req("sized", &[(0, (2 * one) as i32), (1, 1 << 20)], (3 * one) as i32),
        12,
    );
    assert_eq!((records_len(&resp, 0), records_len(&resp, 1)), (2 * one, one));
    // fetch.max.bytes caps what a client asks for.
    let resp = call(
        &mut s,
        &fetch_req("sized", &[(0, i32::MAX), (1, i32::MAX)], i32::MAX),
        12,
    );
    let total = records_len(&resp, 0) + records_len(&resp, 1);
    assert!(total <= FETCH_MAX && total > FETCH_MAX - one, "{total} bytes");
}

#[test]
fn hostile_inputs_get_their_reactions_while_a_witness_works() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "\"fetch.max.bytes\" = {FETCH_MAX}\n\"max.broker.partitions\" = 120\n\"strom.max.partitions.per.request\" = 50\n"
    );
    let data_dir = dir.path().join("data");
    let broker = BrokerProcess::start(&data_dir, Some(&config));
    let addr = broker.addr.clone();
    create_topic(&addr, "witness", 1);
    let witness = Witness::start(&addr, "witness");
    assert!(
        witness.wait_progress(50, Duration::from_secs(20)),
        "the witness produces"
    );

    fetch_limits(&addr);
    topic_limits(&addr, &data_dir);
    assert!(
        witness.wait_progress(50, Duration::from_secs(10)),
        "the witness kept producing"
    );

    let delivered = witness.finish(Duration::from_secs(5));
    let mut broker = broker;
    assert_eq!(broker.terminate(), Some(0), "the broker never exited and stops cleanly");
    let before = broker.log_text().len();
    let broker = broker.restart();
    let log = broker.log_text()[before..].to_string();
    assert!(
        !log.contains("no clean-shutdown marker"),
        "the restart is clean:\n{log}"
    );
    assert_eq!(
        high_watermark(&broker.addr, "witness"),
        delivered as i64,
        "nothing lost"
    );
}

/// A client socket to `addr` from the loopback address `from` (127.0.0.x), with the read
/// timeout of [`connect`].
fn connect_from(addr: &str, from: &str) -> std::net::TcpStream {
    use socket2::{Domain, SockAddr, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let local: std::net::SocketAddr = format!("{from}:0").parse().unwrap();
    s.bind(&SockAddr::from(local)).unwrap();
    let remote: std::net::SocketAddr = addr.parse().unwrap();
    s.connect(&SockAddr::from(remote)).unwrap();
    let s: std::net::TcpStream = s.into();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

fn usable(s: &mut std::net::TcpStream) -> bool {
    use kafka_protocol::messages::ApiVersionsRequest;
    use std::io::Write;
    s.write_all(&common::wire::frame(&ApiVersionsRequest::default(), 0, 1))
        .is_ok()
        && common::wire::read_frame(s).is_some()
}

/// `max.connections`, `max.connections.per.ip`, `connections.max.idle.ms` and the in-flight
/// cap: a client over a limit is refused or closed with a logged reason, the others keep working.
#[test]
fn connection_limits_refuse_the_client_over_them_and_serve_the_rest() {
    use std::io::Write;
    use std::time::Instant;

    let dir = tempfile::tempdir().unwrap();
    let config = "\"max.connections\" = 8\n\"max.connections.per.ip\" = 4\n\"connections.max.idle.ms\" = 1500\n\"strom.connection.max.in.flight.requests\" = 4\n";
    let broker = BrokerProcess::start(&dir.path().join("data"), Some(config));
    let addr = broker.addr.clone();

    // Per address: the fifth connection from 127.0.0.1 is closed at once; 127.0.0.2 is served.
    let mut local: Vec<_> = (0..4).map(|_| connect_from(&addr, "127.0.0.1")).collect();
    assert!(
        local.iter_mut().all(usable),
        "four connections from one address are served"
    );
    let mut fifth = connect_from(&addr, "127.0.0.1");
    assert!(!usable(&mut fifth), "the fifth from 127.0.0.1 is refused");
    let mut other: Vec<_> = (0..4).map(|_| connect_from(&addr, "127.0.0.2")).collect();
    assert!(
        other.iter_mut().all(usable),
        "another address is not limited by the first"
    );
    // In total: the ninth connection is refused, whatever its address.
    let mut ninth = connect_from(&addr, "127.0.0.3");
    assert!(!usable(&mut ninth), "the ninth connection is refused");
    // A slot given back is taken again.
    drop(local.pop());
    let again = common::wait_for(Duration::from_secs(5), || {
        let mut s = connect_from(&addr, "127.0.0.3");
        usable(&mut s).then_some(s)
    });
    assert!(again.is_some(), "a closed connection frees its slot");
    drop(again);
    drop(other);

    // The in-flight cap holds requests back, it does not drop them: 100 pipelined requests on
    // a connection allowed 4 in flight are all answered, in order.
    let mut s = local.pop().unwrap();
    let mut burst = Vec::new();
    for id in 0..100 {
        burst.extend(common::wire::frame(
            &kafka_protocol::messages::ApiVersionsRequest::default(),
            0,
            id,
        ));
    }
    s.write_all(&burst).unwrap();
    for id in 0..100 {
        let body = common::wire::read_frame(&mut s).expect("every pipelined request answered");
        assert_eq!(
            i32::from_be_bytes(body[0..4].try_into().unwrap()),
            id,
            "answered in order"
        );
    }

    // Idle: a connection that sends nothing is closed after connections.max.idle.ms...
    let started = Instant::now();
    let mut idle = connect(&addr);
    assert!(common::wire::is_closed(&mut idle), "an idle connection is closed");
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "not before the idle timeout"
    );
    // ...and so is one that sends half a frame and stops.
    let mut half = connect(&addr);
    half.write_all(&100i32.to_be_bytes()).unwrap();
    half.write_all(&[0u8; 10]).unwrap();
    assert!(common::wire::is_closed(&mut half), "a stalled frame is closed");
    // A consumer long-polling longer than the idle timeout is owed a reply: not idle.
    create_topic(&addr, "quiet", 1);
    let mut poll = connect(&addr);
    let mut req = fetch_req("quiet", &[(0, 1 << 20)], 1 << 20);
    req.max_wait_ms = 2500;
    let started = Instant::now();
    let resp = call(&mut poll, &req, 12);
    assert!(
        started.elapsed() >= Duration::from_millis(2400),
        "the fetch waited its max_wait_ms"
    );
    assert_eq!(records_len(&resp, 0), 0);
    assert!(usable(&mut poll), "the long-polling connection is still open");

    let log = broker.log_text();
    for reason in [
        "max.connections.per.ip (4) reached for 127.0.0.1",
        "max.connections (8) reached",
        "idle for connections.max.idle.ms (1500 ms)",
        "did not arrive whole within connections.max.idle.ms",
    ] {
        assert!(log.contains(reason), "broker log names the reason '{reason}':\n{log}");
    }
}

/// Partition budget: one cap per request and per broker, refused whole and up front with
/// POLICY_VIOLATION; and a 249-character topic (Kafka's longest) is created, used and deleted.
fn topic_limits(addr: &str, data_dir: &std::path::Path) {
    const POLICY_VIOLATION: i16 = 44;
    let try_create = |topics: &[(&str, i32)], validate_only: bool| -> Vec<(i16, Option<String>)> {
        let mut r = CreateTopicsRequest::default();
        r.topics = topics
            .iter()
            .map(|&(topic, partitions)| {
                let mut t = CreatableTopic::default();
                t.name = name(topic);
                t.num_partitions = partitions;
                t.replication_factor = 1;
                t
            })
            .collect();
        r.timeout_ms = 5000;
        r.validate_only = validate_only;
        call(&mut connect(addr), &r, 5)
            .topics
            .into_iter()
            .map(|t| (t.error_code, t.error_message.map(|m| m.to_string())))
            .collect()
    };
    let dirs_of = |prefix: &str| {
        std::fs::read_dir(data_dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .count()
    };
    // Over strom.max.partitions.per.request (50) in one topic, or in two topics together: every
    // topic of the request refused, no directory made.
    let got = try_create(&[("wide", 60)], false);
    assert_eq!(got[0].0, POLICY_VIOLATION, "{got:?}");
    assert!(got[0]
        .1
        .as_deref()
        .unwrap_or("")
        .contains("strom.max.partitions.per.request"));
    let got = try_create(&[("half-a", 30), ("half-b", 30)], false);
    assert!(got.iter().all(|g| g.0 == POLICY_VIOLATION), "{got:?}");
    assert_eq!(dirs_of("wide-") + dirs_of("half-"), 0, "nothing created");
    // max.broker.partitions (120): the broker holds 1 + 2 + 1 already; 40 + 40 fit, 40 more do not.
    assert_eq!(try_create(&[("fill-a", 40)], false)[0].0, 0);
    assert_eq!(try_create(&[("fill-b", 40)], true)[0].0, 0, "validate_only passes");
    assert_eq!(try_create(&[("fill-b", 40)], false)[0].0, 0);
    let got = try_create(&[("fill-c", 40)], true);
    assert_eq!(
        got[0].0, POLICY_VIOLATION,
        "validate_only applies the same budget: {got:?}"
    );
    let got = try_create(&[("fill-c", 40)], false);
    assert_eq!(got[0].0, POLICY_VIOLATION, "{got:?}");
    assert!(
        got[0]
            .1
            .as_deref()
            .unwrap_or("")
            .contains("max.broker.partitions (120)"),
        "{got:?}"
    );
    assert_eq!(dirs_of("fill-c-"), 0);
    // CreatePartitions passes the same check.
    let mut grow = kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic::default();
    grow.name = name("fill-a");
    grow.count = 80;
    grow.assignments = None;
    let mut r = kafka_protocol::messages::CreatePartitionsRequest::default();
    r.topics = vec![grow];
    r.timeout_ms = 5000;
    let resp = call(&mut connect(addr), &r, 3);
    assert_eq!(
        resp.results[0].error_code, POLICY_VIOLATION,
        "{:?}",
        resp.results[0].error_message
    );
    // Auto-creation too: Metadata for a new topic with the broker full.
    let mut m = kafka_protocol::messages::MetadataRequest::default();
    let mut mt = kafka_protocol::messages::metadata_request::MetadataRequestTopic::default();
    mt.name = Some(name("auto-full"));
    m.topics = Some(vec![mt]);
    m.allow_auto_topic_creation = true;
    let filled: Vec<_> = (0..40).map(|i| format!("one-{i}")).collect();
    for t in &filled {
        if try_create(&[(t, 1)], false)[0].0 != 0 {
            break;
        }
    }
    let meta = call(&mut connect(addr), &m, 9);
    assert_eq!(
        meta.topics[0].error_code, POLICY_VIOLATION,
        "auto-creation is refused when full"
    );
    // Make room again.
    let mut d = kafka_protocol::messages::DeleteTopicsRequest::default();
    d.topic_names = ["fill-a", "fill-b"].iter().map(|t| name(t)).collect();
    d.timeout_ms = 5000;
    let resp = call(&mut connect(addr), &d, 4);
    assert!(resp.responses.iter().all(|r| r.error_code == 0));

    // A topic of 249 characters: created, written, deleted with its directories, created again
    // empty. Its delete name is cut to fit NAME_MAX, as Kafka's is.
    let long = "L".repeat(249);
    assert_eq!(try_create(&[(&long, 3)], false)[0].0, 0);
    produce(addr, &long, 2, batch(3));
    assert_eq!(dirs_of(&long[..200]), 3);
    let mut d = kafka_protocol::messages::DeleteTopicsRequest::default();
    d.topic_names = vec![name(&long)];
    d.timeout_ms = 5000;
    let resp = call(&mut connect(addr), &d, 4);
    assert_eq!(resp.responses[0].error_code, 0);
    assert_eq!(
        dirs_of(&long[..200]),
        0,
        "every partition directory of the long topic is gone"
    );
    assert_eq!(try_create(&[(&long, 3)], false)[0].0, 0);
    let mut p = ListOffsetsPartition::default();
    p.partition_index = 2;
    p.timestamp = -1;
    let mut t = ListOffsetsTopic::default();
    t.name = name(&long);
    t.partitions = vec![p];
    let mut r = ListOffsetsRequest::default();
    r.replica_id = (-1).into();
    r.topics = vec![t];
    assert_eq!(
        call(&mut connect(addr), &r, 5).topics[0].partitions[0].offset,
        0,
        "recreated empty"
    );
}
