//! Partition sizes on disk via DescribeLogDirs, which librdkafka does not offer: a minimal
//! request over a plain socket to each broker, encoded with the kafka-protocol crate. Any
//! failure (old broker, mock cluster, timeout) means "sizes unknown", never an error loop.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use kafka_protocol::messages::{
    ApiKey, DescribeLogDirsRequest, DescribeLogDirsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};

use crate::cluster::model::PartitionMap;

/// v1: understood by every broker since Kafka 2.0 and by the bundled one.
const VERSION: i16 = 1;

/// Bytes per (topic, partition) on one broker (`host:port`). Replicas on several brokers are
/// summed by the caller's choice; the console shows the leader's.
pub fn describe_log_dirs(addr: &str, timeout: Duration) -> Result<PartitionMap<u64>, String> {
    let sock = addr
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut s = TcpStream::connect_timeout(&sock, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let mut header = RequestHeader::default();
    header.request_api_key = ApiKey::DescribeLogDirs as i16;
    header.request_api_version = VERSION;
    header.correlation_id = 1;
    header.client_id = Some(StrBytes::from_static_str("strom-console"));
    let mut body = BytesMut::new();
    header
        .encode(&mut body, ApiKey::DescribeLogDirs.request_header_version(VERSION))
        .map_err(|e| e.to_string())?;
    // topics = null: every partition (the default is an empty list, which means none).
    let mut req = DescribeLogDirsRequest::default();
    req.topics = None;
    req.encode(&mut body, VERSION).map_err(|e| e.to_string())?;
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    s.write_all(&frame).map_err(|e| e.to_string())?;
    let mut len = [0u8; 4];
    s.read_exact(&mut len)
        .map_err(|e| format!("no DescribeLogDirs answer: {e}"))?;
    let n = i32::from_be_bytes(len);
    if !(0..=64 << 20).contains(&n) {
        return Err(format!("implausible response length {n}"));
    }
    let mut buf = vec![0u8; n as usize];
    s.read_exact(&mut buf).map_err(|e| e.to_string())?;
    let mut bytes = bytes::Bytes::from(buf);
    let h = ResponseHeader::decode(&mut bytes, DescribeLogDirsResponse::header_version(VERSION))
        .map_err(|e| e.to_string())?;
    if h.correlation_id != 1 {
        return Err("mismatched correlation id".into());
    }
    let resp = DescribeLogDirsResponse::decode(&mut bytes, VERSION).map_err(|e| e.to_string())?;
    let _ = bytes.remaining();
    let mut out = PartitionMap::default();
    for dir in resp.results {
        if dir.error_code != 0 {
            continue;
        }
        for t in dir.topics {
            for p in t.partitions {
                if !p.is_future_key {
                    // A replica in several log dirs (moving between disks) counts once per dir.
                    let before = out.get(&t.name.0, p.partition_index).unwrap_or(0);
                    out.insert(&t.name.0, p.partition_index, before + p.partition_size.max(0) as u64);
                }
            }
        }
    }
    Ok(out)
}
