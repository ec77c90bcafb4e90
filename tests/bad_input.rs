//! Bad input, sent as raw bytes: each gets its documented reaction, and a second client keeps
//! producing successfully throughout.

mod common;

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, ListOffsetsRequest, MetadataRequest, ProduceRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};

use common::wire::{batch, call, connect, frame, is_closed, read_frame};
use common::witness::Witness;
use common::BrokerProcess;

fn produce_req(topic: &str, records: Bytes) -> ProduceRequest {
    let mut p = PartitionProduceData::default();
    p.index = 0;
    p.records = Some(records);
    let mut t = TopicProduceData::default();
    t.name = TopicName(StrBytes::from_string(topic.into()));
    t.partition_data = vec![p];
    let mut r = ProduceRequest::default();
    r.acks = 1;
    r.timeout_ms = 5000;
    r.topic_data = vec![t];
    r
}

fn high_watermark(addr: &str, topic: &str) -> i64 {
    let mut s = connect(addr);
    let mut p = ListOffsetsPartition::default();
    p.partition_index = 0;
    p.timestamp = -1;
    let mut t = ListOffsetsTopic::default();
    t.name = TopicName(StrBytes::from_string(topic.into()));
    t.partitions = vec![p];
    let mut r = ListOffsetsRequest::default();
    r.replica_id = (-1).into();
    r.topics = vec![t];
    let resp = call(&mut s, &r, 5);
    resp.topics[0].partitions[0].offset
}

#[test]
fn bad_frames_close_only_their_connection_and_bad_batches_get_error_codes() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerProcess::start(
        &dir.path().join("data"),
        Some("\"socket.request.max.bytes\" = 1048576\n"),
    );
    let addr = broker.addr.clone();
    // Create the topics first so the background producer never waits on auto-creation.
    let mut s = connect(&addr);
    let mut m = MetadataRequest::default();
    m.topics = Some(
        ["background", "target"]
            .iter()
            .map(|n| {
                let mut t = kafka_protocol::messages::metadata_request::MetadataRequestTopic::default();
                t.name = Some(TopicName(StrBytes::from_static_str(n)));
                t
            })
            .collect(),
    );
    m.allow_auto_topic_creation = true;
    let meta = call(&mut s, &m, 9);
    assert!(meta.topics.iter().all(|t| t.error_code == 0));
    let witness = Witness::start(&addr, "background");
    assert!(
        witness.wait_progress(50, Duration::from_secs(20)),
        "the witness produces"
    );

    // 1. A frame over socket.request.max.bytes: closed without reading it.
    let mut s = connect(&addr);
    s.write_all(&(2_000_000i32).to_be_bytes()).unwrap();
    assert!(is_closed(&mut s), "oversized frame closes the connection");

    // 2. A negative length.
    let mut s = connect(&addr);
    s.write_all(&(-5i32).to_be_bytes()).unwrap();
    assert!(is_closed(&mut s), "negative frame length closes the connection");

    // 3. Garbage bytes inside a plausible frame (api key 0x4141 does not exist).
    let mut s = connect(&addr);
    let mut junk = 40i32.to_be_bytes().to_vec();
    junk.extend(std::iter::repeat_n(0x41u8, 40));
    s.write_all(&junk).unwrap();
    assert!(is_closed(&mut s), "garbage closes the connection");

    // 4. A header cut short inside the frame (claims a client id longer than the frame).
    let mut s = connect(&addr);
    let mut short = 10i32.to_be_bytes().to_vec();
    short.extend_from_slice(&[0, 18, 0, 0, 0, 0, 0, 1, 0x7f, 0xff]);
    s.write_all(&short).unwrap();
    assert!(is_closed(&mut s), "malformed header closes the connection");

    // 5. A truncated frame: the client promises 100 bytes, sends 10 and half-closes.
    let mut s = connect(&addr);
    s.write_all(&100i32.to_be_bytes()).unwrap();
    s.write_all(&[0u8; 10]).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(is_closed(&mut s), "truncated frame closes the connection");

    // 6. An unknown API key (a real Kafka key the broker does not implement: 57 UpdateFeatures
    //    is no good since the codec knows it; use 9999).
    let mut s = connect(&addr);
    let mut f = frame(&ApiVersionsRequest::default(), 0, 1);
    f[4..6].copy_from_slice(&9999i16.to_be_bytes());
    s.write_all(&f).unwrap();
    assert!(is_closed(&mut s), "unknown api key closes the connection");

    // 7. ApiVersions at an unknown version: a v0 body with UNSUPPORTED_VERSION and the ranges,
    //    and the connection stays usable.
    let mut s = connect(&addr);
    // A newer client sends its newer version with the flexible (v2) header, as v3 does.
    let mut f = frame(&ApiVersionsRequest::default(), 3, 42);
    f[6..8].copy_from_slice(&99i16.to_be_bytes());
    s.write_all(&f).unwrap();
    let mut body = read_frame(&mut s).expect("ApiVersions answered");
    let corr = i32::from_be_bytes(body[0..4].try_into().unwrap());
    assert_eq!(corr, 42);
    let _ = bytes::Buf::get_i32(&mut body);
    let resp = ApiVersionsResponse::decode(&mut body, 0).unwrap();
    assert_eq!(resp.error_code, 35, "UNSUPPORTED_VERSION");
    let produce = resp
        .api_keys
        .iter()
        .find(|k| k.api_key == 0)
        .expect("Produce advertised");
    assert!(produce.min_version <= 3 && produce.max_version >= 7);
    let ok = call(&mut s, &ApiVersionsRequest::default(), 2);
    assert_eq!(
        ok.error_code, 0,
        "connection still usable after the unsupported version"
    );

    // 8. Another API at a version beyond the advertised range: Kafka cannot parse it and
    //    closes the connection.
    let mut s = connect(&addr);
    s.write_all(&frame(&MetadataRequest::default(), 13, 1)).unwrap();
    assert!(is_closed(&mut s), "Metadata v13 (not advertised) closes the connection");

    // 9. A produce whose batch CRC is wrong: CORRUPT_MESSAGE, nothing appended.
    let before = high_watermark(&addr, "target");
    let mut s = connect(&addr);
    let mut bad = batch(3).to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let resp = call(&mut s, &produce_req("target", Bytes::from(bad)), 8);
    let pr = &resp.responses[0].partition_responses[0];
    assert_eq!(pr.error_code, 2, "CORRUPT_MESSAGE: {:?}", pr.error_message);
    assert!(
        pr.error_message.as_ref().unwrap().contains("CRC"),
        "{:?}",
        pr.error_message
    );
    // A batch whose length field runs past the data: no complete batch, as Kafka says.
    let mut cut = batch(3).to_vec();
    cut.truncate(cut.len() - 5);
    let resp = call(&mut s, &produce_req("target", Bytes::from(cut)), 8);
    assert_eq!(
        resp.responses[0].partition_responses[0].error_code, 87,
        "truncated batch is INVALID_RECORD"
    );
    // Two batches in one partition (v3+ allows exactly one).
    let mut two = batch(1).to_vec();
    two.extend_from_slice(&batch(1));
    let resp = call(&mut s, &produce_req("target", Bytes::from(two)), 8);
    assert_eq!(
        resp.responses[0].partition_responses[0].error_code, 87,
        "INVALID_RECORD"
    );
    // Unknown partition.
    let mut req = produce_req("target", batch(1));
    req.topic_data[0].partition_data[0].index = 7;
    let resp = call(&mut s, &req, 8);
    assert_eq!(
        resp.responses[0].partition_responses[0].error_code, 3,
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    assert_eq!(
        high_watermark(&addr, "target"),
        before,
        "nothing appended by bad produces"
    );
    // The same connection still works for a good batch.
    let resp = call(&mut s, &produce_req("target", batch(2)), 8);
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    assert_eq!(high_watermark(&addr, "target"), before + 2);

    // 10. acks=0 with a bad batch: no response is possible, so the connection is closed.
    let mut s = connect(&addr);
    let mut req = produce_req("target", Bytes::from(vec![0u8; 70]));
    req.acks = 0;
    s.write_all(&frame(&req, 8, 1)).unwrap();
    assert!(is_closed(&mut s), "acks=0 failure closes the connection");

    let delivered = witness.finish(Duration::from_secs(5));
    assert_eq!(
        high_watermark(&addr, "background"),
        delivered as i64,
        "every witness record landed"
    );
    let log = broker.log_text();
    for reason in [
        "exceeds socket.request.max.bytes",
        "unknown api key 9999",
        "is not supported",
        "acks=0 produce failed",
    ] {
        assert!(log.contains(reason), "broker log names the reason '{reason}'");
    }
}
