//! Record batch v2 headers: parsing, CRC checks, and the few in-place rewrites the broker is
//! allowed (offset and leader epoch stamping, LogAppendTime).
//!
//! Byte table of a v2 batch (all big-endian):
//!
//! | offset | size | field                                         | in CRC |
//! |-------:|-----:|-----------------------------------------------|:------:|
//! | 0      | 8    | base offset                                   | no     |
//! | 8      | 4    | batch length (bytes after this field)         | no     |
//! | 12     | 4    | partition leader epoch                        | no     |
//! | 16     | 1    | magic (= 2)                                   | no     |
//! | 17     | 4    | CRC-32C of bytes 21..end                      | no     |
//! | 21     | 2    | attributes                                    | yes    |
//! | 23     | 4    | last offset delta                             | yes    |
//! | 27     | 8    | base timestamp                                | yes    |
//! | 35     | 8    | max timestamp                                 | yes    |
//! | 43     | 8    | producer id                                   | yes    |
//! | 51     | 2    | producer epoch                                | yes    |
//! | 53     | 4    | base sequence                                 | yes    |
//! | 57     | 4    | record count                                  | yes    |
//! | 61     | ...  | records (possibly compressed)                 | yes    |

/// Bytes before the records.
pub const HEADER_LEN: usize = 61;
/// Bytes of base offset + batch length: what is needed to skip a batch.
pub const LOG_OVERHEAD: usize = 12;

/// Attribute bit 3: the batch carries LogAppendTime (set by the broker, never by producers).
pub const ATTR_TIMESTAMP_TYPE: i16 = 0x08;
pub const ATTR_TRANSACTIONAL: i16 = 0x10;
pub const ATTR_CONTROL: i16 = 0x20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().unwrap_or_default())
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().unwrap_or_default())
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().unwrap_or_default())
}

impl BatchHeader {
    /// Parses the fixed header. `buf` must hold at least [`HEADER_LEN`] bytes.
    pub fn parse(buf: &[u8]) -> Result<Self, String> {
        if buf.len() < HEADER_LEN {
            return Err(format!("batch header needs {HEADER_LEN} bytes, have {}", buf.len()));
        }
        let h = BatchHeader {
            base_offset: be_i64(buf, 0),
            batch_length: be_i32(buf, 8),
            leader_epoch: be_i32(buf, 12),
            magic: buf[16] as i8,
            crc: be_i32(buf, 17) as u32,
            attributes: be_i16(buf, 21),
            last_offset_delta: be_i32(buf, 23),
            base_timestamp: be_i64(buf, 27),
            max_timestamp: be_i64(buf, 35),
            producer_id: be_i64(buf, 43),
            producer_epoch: be_i16(buf, 51),
            base_sequence: be_i32(buf, 53),
            records_count: be_i32(buf, 57),
        };
        if h.magic != 2 {
            return Err(format!("record batch magic {} is not supported (only v2)", h.magic));
        }
        if (h.batch_length as i64) < (HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(format!(
                "batch length {} is shorter than a batch header",
                h.batch_length
            ));
        }
        Ok(h)
    }

    /// Size of the whole batch on disk.
    pub fn total_len(&self) -> usize {
        LOG_OVERHEAD + self.batch_length as usize
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        // Sequences wrap at i32::MAX back to 0, as Kafka's DefaultRecordBatch.incrementSequence.
        let last = self.base_sequence as i64 + self.last_offset_delta as i64;
        if last > i32::MAX as i64 {
            (last - i32::MAX as i64 - 1) as i32
        } else {
            last as i32
        }
    }
}

/// CRC-32C over the CRC-covered part of a complete batch.
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[21..])
}

/// Checks a complete batch (header and exactly `total_len` bytes) and its CRC.
pub fn validate(batch: &[u8]) -> Result<BatchHeader, String> {
    let h = BatchHeader::parse(batch)?;
    if h.total_len() != batch.len() {
        return Err(format!(
            "batch length field says {} bytes, {} present",
            h.total_len(),
            batch.len()
        ));
    }
    let crc = compute_crc(batch);
    if crc != h.crc {
        return Err(format!("CRC mismatch: stored {:#010x}, computed {crc:#010x}", h.crc));
    }
    if h.records_count < 0 || h.last_offset_delta < 0 {
        return Err(format!(
            "negative record count {} or offset delta {}",
            h.records_count, h.last_offset_delta
        ));
    }
    Ok(h)
}

/// The head of a batch that holds the fields the broker stamps (base offset, batch length,
/// partition leader epoch), none of them covered by the CRC.
pub const STAMPED_LEN: usize = 16;

/// Stamps the broker-assigned base offset and leader epoch; both lie outside the CRC.
pub fn stamp_offset(batch: &mut [u8], base_offset: i64, leader_epoch: i32) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
    batch[12..16].copy_from_slice(&leader_epoch.to_be_bytes());
}

/// LogAppendTime: mark the timestamp type and set the max timestamp, then re-CRC (both fields
/// are CRC-covered).
pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    let attrs = be_i16(batch, 21) | ATTR_TIMESTAMP_TYPE;
    batch[21..23].copy_from_slice(&attrs.to_be_bytes());
    batch[35..43].copy_from_slice(&now_ms.to_be_bytes());
    let crc = compute_crc(batch);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// CreateTime: sets the max timestamp to the one the records carry, then re-CRCs, as Kafka's
/// LogValidator does when a producer's header disagrees with its records.
pub fn set_max_timestamp(batch: &mut [u8], max_timestamp: i64) {
    batch[35..43].copy_from_slice(&max_timestamp.to_be_bytes());
    let crc = compute_crc(batch);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal valid uncompressed batch with `count` empty-ish records (the records area is
    /// opaque to the log, so filler bytes are enough for storage tests).
    pub fn make_batch(count: i32, timestamp: i64, payload: usize) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN + payload];
        let len = (b.len() - LOG_OVERHEAD) as i32;
        b[8..12].copy_from_slice(&len.to_be_bytes());
        b[12..16].copy_from_slice(&(-1i32).to_be_bytes());
        b[16] = 2;
        b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
        b[27..35].copy_from_slice(&timestamp.to_be_bytes());
        b[35..43].copy_from_slice(&timestamp.to_be_bytes());
        b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
        b[51..53].copy_from_slice(&(-1i16).to_be_bytes());
        b[53..57].copy_from_slice(&(-1i32).to_be_bytes());
        b[57..61].copy_from_slice(&count.to_be_bytes());
        for (i, byte) in b[HEADER_LEN..].iter_mut().enumerate() {
            *byte = i as u8;
        }
        let crc = compute_crc(&b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    /// [`make_batch`] of an idempotent producer: producer id, epoch and base sequence set.
    pub fn make_idempotent_batch(
        count: i32,
        timestamp: i64,
        producer_id: i64,
        epoch: i16,
        base_sequence: i32,
    ) -> Vec<u8> {
        let mut b = make_batch(count, timestamp, 20);
        b[43..51].copy_from_slice(&producer_id.to_be_bytes());
        b[51..53].copy_from_slice(&epoch.to_be_bytes());
        b[53..57].copy_from_slice(&base_sequence.to_be_bytes());
        let crc = compute_crc(&b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    #[test]
    fn valid_batch_parses_and_bad_crc_is_refused() {
        let mut b = make_batch(3, 1000, 20);
        let h = validate(&b).unwrap();
        assert_eq!(h.records_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        b[70] ^= 0xff;
        assert!(validate(&b).unwrap_err().contains("CRC mismatch"));
    }

    #[test]
    fn stamping_offsets_keeps_crc_valid() {
        let mut b = make_batch(2, 5, 4);
        stamp_offset(&mut b, 42, 0);
        let h = validate(&b).unwrap();
        assert_eq!(h.base_offset, 42);
        assert_eq!(h.last_offset(), 43);
        set_log_append_time(&mut b, 99);
        let h = validate(&b).unwrap();
        assert_eq!(h.max_timestamp, 99);
        assert_eq!(h.attributes & ATTR_TIMESTAMP_TYPE, ATTR_TIMESTAMP_TYPE);
    }

    #[test]
    fn last_sequence_wraps_at_i32_max() {
        let mut b = make_batch(3, 0, 0);
        b[53..57].copy_from_slice(&(i32::MAX - 1).to_be_bytes());
        let h = BatchHeader::parse(&b).unwrap();
        assert_eq!(h.last_sequence(), 0);
    }

    #[test]
    fn old_magic_is_refused() {
        let mut b = make_batch(1, 0, 0);
        b[16] = 1;
        assert!(BatchHeader::parse(&b).unwrap_err().contains("magic"));
    }
}
