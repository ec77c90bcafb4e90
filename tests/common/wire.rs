//! A minimal raw Kafka client for broker edge-case tests: exact bytes in, exact bytes or
//! error codes out. Requests are encoded with kafka-protocol; nothing here is clever.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};

pub fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Encodes a request frame (length prefix included).
pub fn frame<R: Request>(req: &R, version: i16, correlation_id: i32) -> Vec<u8> {
    let mut header = RequestHeader::default();
    header.request_api_key = R::KEY;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = Some(StrBytes::from_static_str("wire-test"));
    let mut body = BytesMut::new();
    let hv = ApiKey::try_from(R::KEY).unwrap().request_header_version(version);
    header.encode(&mut body, hv).unwrap();
    req.encode(&mut body, version).unwrap();
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Reads one response frame; None when the broker closed the connection.
pub fn read_frame(s: &mut TcpStream) -> Option<Bytes> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).ok()?;
    Some(Bytes::from(body))
}

/// Sends a request and decodes the typed response.
pub fn call<R: Request>(s: &mut TcpStream, req: &R, version: i16) -> R::Response {
    s.write_all(&frame(req, version, 7)).unwrap();
    let mut body = read_frame(s).expect("response");
    let header = ResponseHeader::decode(&mut body, R::Response::header_version(version)).unwrap();
    assert_eq!(header.correlation_id, 7);
    R::Response::decode(&mut body, version).unwrap()
}

/// True when the broker closed the connection (EOF or reset) within the read timeout; a
/// timeout means it is still open.
pub fn is_closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    }
}

/// An uncompressed v2 batch of `n` simple records.
pub fn batch(n: usize) -> Bytes {
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch whenever offset - sequence changes; offset - 1
            // keeps one batch and makes the base sequence -1 (no idempotence).
            sequence: i as i32 - 1,
            timestamp: 1_700_000_000_000,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("v{i}"))),
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

/// An uncompressed v2 batch of an idempotent producer: `n` records with sequences
/// `base_sequence..base_sequence + n` and values `v{sequence}`, stamped with the current time
/// (an old timestamp would let the broker expire the producer's state).
pub fn idempotent_batch(producer_id: i64, producer_epoch: i16, base_sequence: i32, n: usize) -> Bytes {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let records: Vec<Record> = (0..n)
        .map(|i| {
            let sequence = base_sequence + i as i32;
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id,
                producer_epoch,
                timestamp_type: TimestampType::Creation,
                // The encoder starts a new batch whenever offset - sequence changes: keep it
                // constant so the n records stay one batch with base sequence `base_sequence`.
                offset: i as i64,
                sequence,
                timestamp: now,
                key: Some(Bytes::from(format!("k{sequence}"))),
                value: Some(Bytes::from(format!("v{sequence}"))),
                headers: Default::default(),
            }
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
