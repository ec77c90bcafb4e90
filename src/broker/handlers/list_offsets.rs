//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3), or the first record with a
//! timestamp at or after a given time.

use std::sync::Arc;

use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse, ResponseKind};

use super::{check_leader_epoch, code};
use crate::broker::dispatch::Reply;
use crate::broker::error::LogError;
use crate::broker::log::records::Records;
use crate::broker::log::{PartitionLog, ReadPlan};
use crate::broker::partition::Partition;
use crate::broker::server::RequestContext;
use crate::broker::storage;
use crate::broker::Broker;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

/// How many bytes one stored batch may decompress to while its record timestamps are read.
/// Produce refuses batches that inflate past its budget, so only data written before that check
/// existed (or damaged on disk) can reach it.
const MAX_UNCOMPRESSED_LOOKUP_BYTES: u64 = 256 << 20;

/// The first record with timestamp >= `ts`: (offset, its timestamp).
fn offset_for_time(plan: &ReadPlan, log_start: i64, ts: i64) -> Result<Option<(i64, i64)>, LogError> {
    let Some(mut pos) = plan.reader.seek_offset(plan.offset, plan.start_pos)? else {
        return Ok(None);
    };
    while let Some((h, bytes)) = plan.reader.read_batch_at(pos)? {
        pos += h.total_len() as u64;
        if h.max_timestamp < ts || h.last_offset() < log_start {
            continue;
        }
        // LogAppendTime batches give every record the batch's time.
        if h.attributes & 0x08 != 0 {
            return Ok(Some((h.base_offset.max(log_start), h.max_timestamp)));
        }
        // Walked with the same bounded decompression as Produce validation; records that cannot
        // be read make the batch itself the best answer there is.
        let found = Records::new(&bytes, &h, MAX_UNCOMPRESSED_LOOKUP_BYTES).and_then(|records| {
            for r in records {
                let r = r?;
                let offset = h.base_offset + r.offset_delta as i64;
                if r.timestamp >= ts && offset >= log_start {
                    return Ok(Some((offset, r.timestamp)));
                }
            }
            Ok(None)
        });
        match found {
            Ok(Some(hit)) => return Ok(Some(hit)),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(path = %plan.reader.path.display(), offset = h.base_offset, error = %e, "cannot read record timestamps; answering with the batch");
                return Ok(Some((h.base_offset.max(log_start), h.max_timestamp)));
            }
        }
    }
    Ok(None)
}

/// (offset, timestamp, leader epoch of that offset) for one partition.
fn lookup(part: &Partition, timestamp: i64) -> Result<(i64, i64, i32), LogError> {
    let (plan, start) = {
        let log: std::sync::MutexGuard<'_, PartitionLog> = part.log();
        let epoch_of = |offset: i64| log.epochs().epoch_for_offset(offset).unwrap_or(-1);
        match timestamp {
            LATEST => return Ok((log.log_end_offset(), -1, log.leader_epoch())),
            EARLIEST => {
                let start = log.log_start_offset();
                return Ok((start, -1, epoch_of(start)));
            }
            MAX_TIMESTAMP => {
                return Ok(match log.max_timestamp() {
                    Some((offset, ts)) => (offset, ts, epoch_of(offset)),
                    None => (-1, -1, -1),
                })
            }
            _ => match log.plan_timestamp(timestamp) {
                Some(plan) => (plan, log.log_start_offset()),
                None => return Ok((-1, -1, -1)),
            },
        }
    };
    Ok(match offset_for_time(&plan, start, timestamp)? {
        Some((offset, ts)) => (offset, ts, part.log().epochs().epoch_for_offset(offset).unwrap_or(-1)),
        None => (-1, -1, -1),
    })
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: ListOffsetsRequest) -> Reply {
    // A lookup by time reads batches from the segment files: off the async workers then.
    let reads = req.topics.iter().any(|t| t.partitions.iter().any(|p| p.timestamp >= 0));
    let resp = if reads {
        let b = Arc::clone(&broker);
        storage::blocking(&broker.disk, move || answer(&b, &ctx, req)).await
    } else {
        answer(&broker, &ctx, req)
    };
    Reply::Now(ResponseKind::ListOffsets(resp))
}

fn answer(broker: &Broker, ctx: &RequestContext, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let mut resp = ListOffsetsResponse::default();
    for t in req.topics {
        let topic = broker.catalog.get(&t.name.0);
        let mut tr = ListOffsetsTopicResponse::default();
        for p in &t.partitions {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = p.partition_index;
            pr.timestamp = -1;
            pr.offset = -1;
            pr.leader_epoch = -1;
            let part = topic.as_ref().and_then(|t| {
                usize::try_from(p.partition_index)
                    .ok()
                    .and_then(|i| t.partitions.get(i))
            });
            let Some(part) = part else {
                pr.error_code = code::UNKNOWN_TOPIC_OR_PARTITION;
                tr.partitions.push(pr);
                continue;
            };
            if let Err(c) = check_leader_epoch(p.current_leader_epoch, broker.leader_epoch) {
                pr.error_code = c;
            } else if p.timestamp < MAX_TIMESTAMP {
                pr.error_code = code::INVALID_REQUEST;
            } else {
                match lookup(part, p.timestamp) {
                    Ok((offset, ts, epoch)) => {
                        pr.offset = offset;
                        pr.timestamp = ts;
                        // Leader epochs exist in the response from v4 on; the codec refuses them
                        // below that.
                        if offset >= 0 && ctx.api_version >= 4 {
                            pr.leader_epoch = epoch;
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "offset lookup failed");
                        pr.error_code = code::KAFKA_STORAGE_ERROR;
                    }
                }
            }
            tr.partitions.push(pr);
        }
        tr.name = t.name;
        resp.topics.push(tr);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::config::{BrokerConfig, LogConfig};
    use crate::broker::log::batch;
    use crate::broker::log::records::tests::{batch_around, compress, record};
    use crate::broker::log::records::Codec;

    fn log_with(batches: &[Vec<u8>]) -> (tempfile::TempDir, Partition) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = LogConfig::resolve(&BrokerConfig::default(), &Default::default());
        let mut log = PartitionLog::open(crate::broker::storage::OsDisk::shared(), dir.path(), cfg, false, 0).unwrap();
        for b in batches {
            let mut b = b.clone();
            let h = batch::validate(&b).unwrap();
            log.append(&mut b, &h, 0).unwrap();
        }
        (dir, Partition::new("t".into(), 0, log))
    }

    #[test]
    fn a_time_inside_a_compressed_batch_finds_the_record_not_the_batch() {
        let raw: Vec<u8> = (0..4)
            .flat_map(|i| record(i, i as i64 * 100, None, Some(b"v")))
            .collect();
        for codec in [Codec::None, Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let mut b = batch_around(&compress(codec, &raw), 4, 3, codec.id(), 1_000);
            b[35..43].copy_from_slice(&1_300i64.to_be_bytes());
            let crc = batch::compute_crc(&b);
            b[17..21].copy_from_slice(&crc.to_be_bytes());
            let (_dir, p) = log_with(&[b]);
            assert_eq!(lookup(&p, 1_150).unwrap(), (2, 1_200, 0), "{codec:?}");
            assert_eq!(lookup(&p, 1_301).unwrap(), (-1, -1, -1), "{codec:?}");
        }
    }

    #[test]
    fn a_stored_bomb_answers_with_its_batch_instead_of_inflating_it() {
        // 300 MiB of zeros in the first of two zstd records: past the lookup limit, so the batch
        // (offset 0) answers; walking it whole would answer the second record (offset 1).
        let raw = [
            record(0, 0, None, Some(&vec![0u8; 300 << 20])),
            record(1, 1_000, None, Some(b"v")),
        ]
        .concat();
        let mut b = batch_around(&compress(Codec::Zstd, &raw), 2, 1, Codec::Zstd.id(), 1_000);
        b[35..43].copy_from_slice(&2_000i64.to_be_bytes());
        let crc = batch::compute_crc(&b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        let (_dir, p) = log_with(&[b]);
        assert_eq!(lookup(&p, 1_500).unwrap(), (0, 2_000, 0));
    }
}
