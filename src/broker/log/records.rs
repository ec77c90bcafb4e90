//! The records inside a v2 batch: bounded decompression and a walk over each record's
//! framing, without decoding keys, values or headers into owned data and without re-encoding
//! anything.
//!
//! Used by Produce validation (every record is walked before a batch is stored) and by
//! ListOffsets by time (record timestamps inside a batch). Everything here treats the bytes as
//! hostile: no allocation is sized from a length or count read out of them, decompression stops
//! at a byte limit, and every codec's own buffers are bounded (zstd's window, snappy's block
//! length checked against its best possible ratio before the output buffer exists).
//!
//! A v2 record (all varints zigzag-encoded, as Kafka's `DefaultRecord`):
//!
//! | field            | type                  |
//! |------------------|-----------------------|
//! | length           | varint (bytes after)  |
//! | attributes       | int8 (unused)         |
//! | timestamp delta  | varlong               |
//! | offset delta     | varint                |
//! | key length       | varint, -1 = null     |
//! | key              | bytes                 |
//! | value length     | varint, -1 = null     |
//! | value            | bytes                 |
//! | header count     | varint                |
//! | headers          | key length (varint), key, value length (varint, -1 = null), value |

use std::io::{BufRead, BufReader, Read};

use super::batch::{BatchHeader, HEADER_LEN};

/// Attribute bits 0-2.
const CODEC_MASK: i16 = 0x07;
/// zstd frames may ask for a window of at most 2^24 bytes (16 MiB). zstd's own default limit is
/// 2^27; producers compress batches of at most a few MiB, whose windows are far smaller.
const ZSTD_WINDOW_LOG_MAX: u32 = 24;
/// snappy's best ratio: a 3-byte copy op emits at most 64 bytes. A block that claims more
/// output than this allows is corrupt, and is refused before its buffer is allocated.
const SNAPPY_MAX_RATIO: u64 = 22;
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Codec {
    /// The codec of a batch's attributes; `Err(id)` for ids 5-7, which no Kafka version defines.
    pub fn from_attributes(attributes: i16) -> Result<Codec, i16> {
        match attributes & CODEC_MASK {
            0 => Ok(Codec::None),
            1 => Ok(Codec::Gzip),
            2 => Ok(Codec::Snappy),
            3 => Ok(Codec::Lz4),
            4 => Ok(Codec::Zstd),
            id => Err(id),
        }
    }

    pub fn id(self) -> i16 {
        match self {
            Codec::None => 0,
            Codec::Gzip => 1,
            Codec::Snappy => 2,
            Codec::Lz4 => 3,
            Codec::Zstd => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "uncompressed",
            Codec::Gzip => "gzip",
            Codec::Snappy => "snappy",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }
}

/// Why the records of a batch cannot be walked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordsError {
    /// The compressed body does not decompress.
    Decompress(String),
    /// Decompressed, the records would exceed the byte limit.
    TooLarge { limit: u64 },
    /// The record framing is broken (Kafka's InvalidRecordException cases).
    Invalid(String),
}

impl std::fmt::Display for RecordsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordsError::Decompress(e) => write!(f, "records do not decompress: {e}"),
            RecordsError::TooLarge { limit } => write!(f, "records decompress to more than {limit} bytes"),
            RecordsError::Invalid(e) => f.write_str(e),
        }
    }
}

/// The framing of one record: what validation and timestamp lookups need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordInfo {
    pub offset_delta: i32,
    /// The batch's base timestamp plus the record's delta (wrapping, as Java's long addition).
    pub timestamp: i64,
    pub key_len: i32,
    pub value_len: i32,
    pub headers: i32,
    /// Bytes of the record including its length varint.
    pub size: u64,
}

/// A `Read` that fails once more than `left` bytes have come through.
struct Limited<R> {
    inner: R,
    left: u64,
    limit: u64,
}

const TOO_LARGE: &str = "strom: decompression limit";

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Ask for one byte more than allowed, so that hitting the limit exactly is not an error
        // but passing it is.
        let want = buf
            .len()
            .min(self.left.saturating_add(1).min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(TOO_LARGE));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Snappy as Kafka clients write it: xerial framing (magic header, then blocks of a 4-byte
/// big-endian length and a raw snappy block) or one raw snappy block. Output is produced a
/// block at a time; each block's claimed length is checked before its buffer is allocated.
struct SnappyReader<'a> {
    input: &'a [u8],
    framed: bool,
    out: Vec<u8>,
    pos: usize,
    limit: u64,
    produced: u64,
}

impl<'a> SnappyReader<'a> {
    fn new(input: &'a [u8], limit: u64) -> Self {
        let framed = input.len() >= XERIAL_HEADER_LEN && input.starts_with(XERIAL_MAGIC);
        SnappyReader {
            input: if framed { &input[XERIAL_HEADER_LEN..] } else { input },
            framed,
            out: Vec::new(),
            pos: 0,
            limit,
            produced: 0,
        }
    }

    fn next_block(&mut self) -> std::io::Result<bool> {
        if self.input.is_empty() {
            return Ok(false);
        }
        let block = if self.framed {
            if self.input.len() < 4 {
                return Err(std::io::Error::other("truncated xerial block length"));
            }
            let len = u32::from_be_bytes([self.input[0], self.input[1], self.input[2], self.input[3]]) as usize;
            let rest = &self.input[4..];
            if len > rest.len() {
                return Err(std::io::Error::other(format!(
                    "xerial block of {len} bytes, {} present",
                    rest.len()
                )));
            }
            let (block, tail) = rest.split_at(len);
            self.input = tail;
            block
        } else {
            std::mem::take(&mut self.input)
        };
        let claimed = snap::raw::decompress_len(block).map_err(std::io::Error::other)? as u64;
        if claimed > (block.len() as u64).saturating_mul(SNAPPY_MAX_RATIO) + 64 {
            return Err(std::io::Error::other(format!(
                "snappy block of {} bytes claims {claimed} bytes of output",
                block.len()
            )));
        }
        if self.produced + claimed > self.limit {
            return Err(std::io::Error::other(TOO_LARGE));
        }
        self.out.clear();
        self.out.resize(claimed as usize, 0);
        let n = snap::raw::Decoder::new()
            .decompress(block, &mut self.out)
            .map_err(std::io::Error::other)?;
        self.out.truncate(n);
        self.produced += n as u64;
        self.pos = 0;
        Ok(true)
    }
}

impl Read for SnappyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.out.len() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cold]
#[inline(never)]
fn premature() -> RecordsError {
    RecordsError::Invalid("incorrect declared batch size, premature EOF reached".into())
}

/// Where record bytes come from: a slice (uncompressed batches, the hot path) or a
/// decompressing stream. The walk is generic over it so the slice path compiles to plain
/// indexing.
trait Src {
    /// The next byte; `Ok(None)` at the end of the records.
    fn next_byte(&mut self) -> Result<Option<u8>, RecordsError>;
    /// Skips `n` bytes, all of which must be there.
    fn skip(&mut self, n: u64) -> Result<(), RecordsError>;

    #[inline(always)]
    fn byte(&mut self) -> Result<u8, RecordsError> {
        match self.next_byte()? {
            Some(b) => Ok(b),
            None => Err(premature()),
        }
    }
}

struct SliceSrc<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Src for SliceSrc<'_> {
    #[inline(always)]
    fn next_byte(&mut self) -> Result<Option<u8>, RecordsError> {
        let b = self.buf.get(self.pos).copied();
        self.pos += b.is_some() as usize;
        Ok(b)
    }

    #[inline(always)]
    fn skip(&mut self, n: u64) -> Result<(), RecordsError> {
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(premature());
        }
        self.pos += n as usize;
        Ok(())
    }
}

struct StreamSrc<'a> {
    reader: BufReader<Limited<Box<dyn Read + 'a>>>,
    codec: Codec,
}

impl StreamSrc<'_> {
    fn io_error(&self, e: std::io::Error) -> RecordsError {
        if e.to_string() == TOO_LARGE {
            return RecordsError::TooLarge {
                limit: self.reader.get_ref().limit,
            };
        }
        RecordsError::Decompress(format!("{}: {e}", self.codec.name()))
    }
}

impl Src for StreamSrc<'_> {
    fn next_byte(&mut self) -> Result<Option<u8>, RecordsError> {
        let b = match self.reader.fill_buf() {
            Ok(buf) => buf.first().copied(),
            Err(e) => return Err(self.io_error(e)),
        };
        if b.is_some() {
            self.reader.consume(1);
        }
        Ok(b)
    }

    fn skip(&mut self, mut n: u64) -> Result<(), RecordsError> {
        while n > 0 {
            let avail = match self.reader.fill_buf() {
                Ok(buf) => buf.len() as u64,
                Err(e) => return Err(self.io_error(e)),
            };
            if avail == 0 {
                return Err(premature());
            }
            let k = avail.min(n);
            self.reader.consume(k as usize);
            n -= k;
        }
        Ok(())
    }
}

/// The records area of a batch, decompressed on the fly.
enum Body<'a> {
    Plain(SliceSrc<'a>),
    Stream(StreamSrc<'a>),
}

fn open_body(codec: Codec, records: &[u8], limit: u64) -> Result<Body<'_>, RecordsError> {
    if codec == Codec::None {
        if records.len() as u64 > limit {
            return Err(RecordsError::TooLarge { limit });
        }
        return Ok(Body::Plain(SliceSrc { buf: records, pos: 0 }));
    }
    let decompress = |e: std::io::Error| RecordsError::Decompress(format!("{}: {e}", codec.name()));
    let inner: Box<dyn Read + '_> = match codec {
        Codec::None => unreachable!("handled above"),
        // Java's GZIPInputStream reads concatenated members; so does this.
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(records)),
        Codec::Snappy => Box::new(SnappyReader::new(records, limit)),
        Codec::Lz4 => Box::new(lz4::Decoder::new(records).map_err(decompress)?),
        Codec::Zstd => {
            let mut d = zstd::stream::read::Decoder::with_buffer(records).map_err(decompress)?;
            d.window_log_max(ZSTD_WINDOW_LOG_MAX).map_err(decompress)?;
            Box::new(d)
        }
    };
    Ok(Body::Stream(StreamSrc {
        reader: BufReader::with_capacity(
            16 * 1024,
            Limited {
                inner,
                left: limit,
                limit,
            },
        ),
        codec,
    }))
}

#[cold]
#[inline(never)]
fn invalid(message: String) -> RecordsError {
    RecordsError::Invalid(message)
}

/// A zigzag varint of at most `max_bytes` bytes (5 for ints, 10 for longs).
#[inline(always)]
fn varlong<S: Src>(s: &mut S, max_bytes: u32, used: &mut u64) -> Result<i64, RecordsError> {
    let mut raw: u64 = 0;
    for i in 0..max_bytes {
        let b = s.byte()?;
        *used += 1;
        raw |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
    }
    Err(invalid(format!("varint longer than {max_bytes} bytes")))
}

#[inline(always)]
fn varint<S: Src>(s: &mut S, used: &mut u64) -> Result<i32, RecordsError> {
    let v = varlong(s, 5, used)?;
    match i32::try_from(v) {
        Ok(v) => Ok(v),
        Err(_) => Err(invalid(format!("varint {v} does not fit 32 bits"))),
    }
}

/// A key, value or header value length and its bytes: -1 is null; any other negative length
/// is refused (Kafka reads it as null, but librdkafka's consumer fails on it).
#[inline(always)]
fn bytes_field<S: Src>(s: &mut S, what: &str, index: i32, used: &mut u64) -> Result<i32, RecordsError> {
    let len = varint(s, used)?;
    if len < -1 {
        return Err(invalid(format!("record {index} has {what} length {len}")));
    }
    if len > 0 {
        s.skip(len as u64)?;
        *used += len as u64;
    }
    Ok(len)
}

#[inline(always)]
fn read_record<S: Src>(s: &mut S, index: i32, base_timestamp: i64) -> Result<RecordInfo, RecordsError> {
    let mut prefix = 0u64;
    let length = varint(s, &mut prefix)?;
    if length < 0 {
        return Err(RecordsError::Invalid(format!("record {index} has length {length}")));
    }
    let mut used = 1u64;
    let _attributes = s.byte()?;
    let ts_delta = varlong(s, 10, &mut used)?;
    let offset_delta = varint(s, &mut used)?;
    let key_len = bytes_field(s, "key", index, &mut used)?;
    let value_len = bytes_field(s, "value", index, &mut used)?;
    let headers = varint(s, &mut used)?;
    if headers < 0 {
        return Err(RecordsError::Invalid(format!("record {index} has {headers} headers")));
    }
    for _ in 0..headers {
        // Each header takes at least two bytes: a count beyond the record's length fails on the
        // length check below without walking past it.
        if used > length as u64 {
            break;
        }
        let key = varint(s, &mut used)?;
        if key < 0 {
            return Err(RecordsError::Invalid(format!(
                "record {index} has a header key of length {key}"
            )));
        }
        s.skip(key as u64)?;
        used += key as u64;
        bytes_field(s, "header value", index, &mut used)?;
    }
    if used != length as u64 {
        return Err(RecordsError::Invalid(format!(
            "invalid record size: record {index} declares {length} bytes but holds {used}"
        )));
    }
    Ok(RecordInfo {
        offset_delta,
        timestamp: base_timestamp.wrapping_add(ts_delta),
        key_len,
        value_len,
        headers,
        size: prefix + used,
    })
}

/// A zigzag varint read from `buf` at `*p`; `None` when it runs off the end or past `max`
/// bytes.
#[inline(always)]
fn slice_varint(buf: &[u8], p: &mut usize, max: u32) -> Option<i64> {
    let mut raw = 0u64;
    for i in 0..max {
        let b = *buf.get(*p)?;
        *p += 1;
        raw |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
    }
    None
}

/// The uncompressed hot path: one well-formed record read straight from the slice, or `None`
/// for anything unusual, which [`read_record`] then re-reads to say exactly what is wrong.
#[inline(always)]
fn fast_record(buf: &[u8], start: usize, base_timestamp: i64) -> Option<(RecordInfo, usize)> {
    let mut p = start;
    let length = slice_varint(buf, &mut p, 5)?;
    let body = p;
    let end = body.checked_add(usize::try_from(length).ok()?)?;
    let rec = buf.get(..end)?;
    p += 1; // attributes
    let ts_delta = slice_varint(rec, &mut p, 10)?;
    let offset_delta = i32::try_from(slice_varint(rec, &mut p, 5)?).ok()?;
    let mut lens = [0i32; 2];
    for len in &mut lens {
        *len = i32::try_from(slice_varint(rec, &mut p, 5)?).ok()?;
        if *len < -1 {
            return None;
        }
        p = p.checked_add((*len).max(0) as usize)?;
    }
    let headers = i32::try_from(slice_varint(rec, &mut p, 5)?).ok()?;
    if headers < 0 {
        return None;
    }
    for _ in 0..headers {
        if p >= end {
            return None;
        }
        let key = i32::try_from(slice_varint(rec, &mut p, 5)?).ok()?;
        if key < 0 {
            return None;
        }
        p = p.checked_add(key as usize)?;
        let value = i32::try_from(slice_varint(rec, &mut p, 5)?).ok()?;
        if value < -1 {
            return None;
        }
        p = p.checked_add(value.max(0) as usize)?;
    }
    if p != end {
        return None;
    }
    Some((
        RecordInfo {
            offset_delta,
            timestamp: base_timestamp.wrapping_add(ts_delta),
            key_len: lens[0],
            value_len: lens[1],
            headers,
            size: (end - start) as u64,
        },
        end,
    ))
}

/// Iterates the records of one batch. After the last one (the header's record count), the body
/// must end: records missing or left over are errors, as in Kafka's record iterators.
pub struct Records<'a> {
    body: Body<'a>,
    base_timestamp: i64,
    count: i32,
    seen: i32,
    failed: bool,
}

impl<'a> Records<'a> {
    /// `batch` is one complete batch (header and records). `limit` caps the decompressed
    /// records area in bytes.
    pub fn new(batch: &'a [u8], header: &BatchHeader, limit: u64) -> Result<Self, RecordsError> {
        let codec = Codec::from_attributes(header.attributes)
            .map_err(|id| RecordsError::Invalid(format!("unknown compression codec id {id}")))?;
        if header.records_count < 0 {
            return Err(RecordsError::Invalid(format!(
                "invalid record count {}",
                header.records_count
            )));
        }
        let records = batch.get(HEADER_LEN..).unwrap_or_default();
        // Each record takes at least 7 bytes; an uncompressed body too short for its count is
        // refused without walking it.
        if codec == Codec::None && (header.records_count as u64) * 7 > records.len() as u64 {
            return Err(RecordsError::Invalid(format!(
                "{} records cannot fit in {} bytes",
                header.records_count,
                records.len()
            )));
        }
        Ok(Records {
            body: open_body(codec, records, limit)?,
            base_timestamp: header.base_timestamp,
            count: header.records_count,
            seen: 0,
            failed: false,
        })
    }

    fn next_record(&mut self) -> Result<RecordInfo, RecordsError> {
        match &mut self.body {
            Body::Plain(s) => match fast_record(s.buf, s.pos, self.base_timestamp) {
                Some((info, end)) => {
                    s.pos = end;
                    Ok(info)
                }
                None => read_record(s, self.seen, self.base_timestamp),
            },
            Body::Stream(s) => read_record(s, self.seen, self.base_timestamp),
        }
    }

    fn at_end(&mut self) -> Result<bool, RecordsError> {
        let b = match &mut self.body {
            Body::Plain(s) => s.next_byte()?,
            Body::Stream(s) => s.next_byte()?,
        };
        Ok(b.is_none())
    }
}

impl Iterator for Records<'_> {
    type Item = Result<RecordInfo, RecordsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.seen == self.count {
            // The body must end with the last record.
            self.failed = true;
            return match self.at_end() {
                Ok(true) => None,
                Ok(false) => Some(Err(RecordsError::Invalid(format!(
                    "incorrect declared batch size: bytes remain after the {} records the batch declares",
                    self.count
                )))),
                Err(e) => Some(Err(e)),
            };
        }
        match self.next_record() {
            Ok(info) => {
                self.seen += 1;
                Some(Ok(info))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::broker::log::batch::{compute_crc, BatchHeader, LOG_OVERHEAD};

    fn zigzag(v: i64, out: &mut Vec<u8>) {
        let mut u = ((v << 1) ^ (v >> 63)) as u64;
        loop {
            let b = (u & 0x7f) as u8;
            u >>= 7;
            if u == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    /// One v2 record with the given deltas, key and value.
    pub fn record(offset_delta: i32, ts_delta: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> Vec<u8> {
        let mut body = vec![0u8];
        zigzag(ts_delta, &mut body);
        zigzag(offset_delta as i64, &mut body);
        for field in [key, value] {
            match field {
                None => zigzag(-1, &mut body),
                Some(b) => {
                    zigzag(b.len() as i64, &mut body);
                    body.extend_from_slice(b);
                }
            }
        }
        zigzag(0, &mut body);
        let mut out = Vec::new();
        zigzag(body.len() as i64, &mut out);
        out.extend_from_slice(&body);
        out
    }

    /// A batch around an already built records area: `count` and `last_offset_delta` as given,
    /// codec bits as given, CRC correct.
    pub fn batch_around(records: &[u8], count: i32, last_offset_delta: i32, codec: i16, base_ts: i64) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN];
        b.extend_from_slice(records);
        let len = (b.len() - LOG_OVERHEAD) as i32;
        b[8..12].copy_from_slice(&len.to_be_bytes());
        b[12..16].copy_from_slice(&(-1i32).to_be_bytes());
        b[16] = 2;
        b[21..23].copy_from_slice(&codec.to_be_bytes());
        b[23..27].copy_from_slice(&last_offset_delta.to_be_bytes());
        b[27..35].copy_from_slice(&base_ts.to_be_bytes());
        b[35..43].copy_from_slice(&base_ts.to_be_bytes());
        b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
        b[51..53].copy_from_slice(&(-1i16).to_be_bytes());
        b[53..57].copy_from_slice(&(-1i32).to_be_bytes());
        b[57..61].copy_from_slice(&count.to_be_bytes());
        let crc = compute_crc(&b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    pub fn compress(codec: Codec, raw: &[u8]) -> Vec<u8> {
        use std::io::Write;
        match codec {
            Codec::None => raw.to_vec(),
            Codec::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(raw).unwrap();
                e.finish().unwrap()
            }
            Codec::Snappy => snap::raw::Encoder::new().compress_vec(raw).unwrap(),
            Codec::Lz4 => {
                let mut e = lz4::EncoderBuilder::new().build(Vec::new()).unwrap();
                e.write_all(raw).unwrap();
                let (out, r) = e.finish();
                r.unwrap();
                out
            }
            Codec::Zstd => zstd::encode_all(raw, 3).unwrap(),
        }
    }

    fn walk(batch: &[u8], limit: u64) -> Result<Vec<RecordInfo>, RecordsError> {
        let h = BatchHeader::parse(batch).unwrap();
        Records::new(batch, &h, limit)?.collect()
    }

    const CODECS: [Codec; 5] = [Codec::None, Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd];

    #[test]
    fn every_codec_walks_to_the_same_records() {
        let mut raw = Vec::new();
        for i in 0..50 {
            raw.extend(record(i, i as i64 * 10, Some(b"key"), Some(&[i as u8; 100])));
        }
        for codec in CODECS {
            let b = batch_around(&compress(codec, &raw), 50, 49, codec.id(), 1_000);
            let recs = walk(&b, 1 << 20).unwrap_or_else(|e| panic!("{codec:?}: {e}"));
            assert_eq!(recs.len(), 50, "{codec:?}");
            assert_eq!(recs[49].offset_delta, 49);
            assert_eq!(recs[49].timestamp, 1_490);
            assert_eq!((recs[3].key_len, recs[3].value_len), (3, 100));
        }
    }

    #[test]
    fn xerial_framed_snappy_is_read_block_by_block() {
        let mut raw = Vec::new();
        for i in 0..10 {
            raw.extend(record(i, 0, None, Some(&[7u8; 5000])));
        }
        let mut framed = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
        for chunk in raw.chunks(16 * 1024) {
            let c = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
            framed.extend_from_slice(&(c.len() as u32).to_be_bytes());
            framed.extend_from_slice(&c);
        }
        let b = batch_around(&framed, 10, 9, Codec::Snappy.id(), 0);
        assert_eq!(walk(&b, 1 << 20).unwrap().len(), 10);
    }

    #[test]
    fn decompression_bombs_stop_at_the_limit_for_every_codec() {
        // One record whose value is 8 MiB of zeros: a few KiB compressed.
        let raw = record(0, 0, None, Some(&vec![0u8; 8 << 20]));
        for codec in CODECS {
            let b = batch_around(&compress(codec, &raw), 1, 0, codec.id(), 0);
            assert_eq!(
                walk(&b, 1 << 20),
                Err(RecordsError::TooLarge { limit: 1 << 20 }),
                "{codec:?}"
            );
            assert!(walk(&b, 16 << 20).is_ok(), "{codec:?} under a larger limit");
        }
    }

    #[test]
    fn a_snappy_block_claiming_more_than_snappy_can_encode_is_refused_before_allocating() {
        // Raw snappy: a varint length of 2^32-1, then a few bytes.
        let bomb = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x01];
        let b = batch_around(&bomb, 1, 0, Codec::Snappy.id(), 0);
        let err = walk(&b, u64::MAX).unwrap_err();
        assert!(
            matches!(&err, RecordsError::Decompress(m) if m.contains("claims")),
            "{err:?}"
        );
    }

    #[test]
    fn a_zstd_frame_asking_for_a_huge_window_is_refused() {
        let raw = record(0, 0, None, Some(&[1u8; 100]));
        let mut c = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        c.set_parameter(zstd::zstd_safe::CParameter::WindowLog(30)).unwrap();
        c.include_contentsize(false).unwrap();
        std::io::Write::write_all(&mut c, &raw).unwrap();
        let z = c.finish().unwrap();
        let b = batch_around(&z, 1, 0, Codec::Zstd.id(), 0);
        assert!(matches!(walk(&b, 1 << 20), Err(RecordsError::Decompress(_))));
    }

    #[test]
    fn missing_extra_and_malformed_records_are_invalid() {
        let two = [
            record(0, 0, None, Some(b"aaaaaaaaaa")),
            record(1, 0, None, Some(b"bbbbbbbbbb")),
        ]
        .concat();
        for codec in CODECS {
            let c = compress(codec, &two);
            // Claims three, holds two.
            let b = batch_around(&c, 3, 2, codec.id(), 0);
            assert!(
                matches!(walk(&b, 1 << 20), Err(RecordsError::Invalid(m)) if m.contains("premature")),
                "{codec:?}"
            );
            // Claims one, holds two.
            let b = batch_around(&c, 1, 0, codec.id(), 0);
            assert!(
                matches!(walk(&b, 1 << 20), Err(RecordsError::Invalid(m)) if m.contains("remain")),
                "{codec:?}"
            );
        }
        // A record whose length disagrees with its fields.
        let mut r = record(0, 0, None, Some(b"abc"));
        r[0] += 2;
        r.extend_from_slice(&[0, 0]);
        let b = batch_around(&r, 1, 0, 0, 0);
        assert!(matches!(walk(&b, 1 << 20), Err(RecordsError::Invalid(m)) if m.contains("record size")));
        // A key length of -2.
        let mut r = record(0, 0, Some(b""), None);
        r[4] = 3; // zigzag(-2)
        let b = batch_around(&r, 1, 0, 0, 0);
        assert!(matches!(walk(&b, 1 << 20), Err(RecordsError::Invalid(m)) if m.contains("key length -2")));
        // Codec 5.
        let b = batch_around(&two, 2, 1, 5, 0);
        assert!(matches!(walk(&b, 1 << 20), Err(RecordsError::Invalid(m)) if m.contains("codec id 5")));
        // Garbage in a gzip body.
        let b = batch_around(&[1, 2, 3, 4, 5, 6, 7, 8], 1, 0, Codec::Gzip.id(), 0);
        assert!(matches!(walk(&b, 1 << 20), Err(RecordsError::Decompress(_))));
    }

    #[test]
    fn a_huge_record_count_in_a_small_body_is_refused_without_walking() {
        let r = record(0, 0, None, Some(b"x"));
        let b = batch_around(&r, i32::MAX, i32::MAX - 1, 0, 0);
        let h = BatchHeader::parse(&b).unwrap();
        assert!(matches!(Records::new(&b, &h, 1 << 20), Err(RecordsError::Invalid(m)) if m.contains("cannot fit")));
    }
}
