//! Where a keyed record goes, as the clients compute it, so a plan can say which keys move when
//! a topic gets more partitions:
//!
//! - `murmur2`: the Java client's default partitioner (`Utils.murmur2`, seed 0x9747b28c,
//!   `toPositive(hash) % partitions`), also librdkafka's `murmur2_random` for keyed records,
//!   which strom's own producers use (see `connect::ConnectionSpec::producer_config`);
//! - `consistent_random`: librdkafka's default, `crc32(key) % partitions` (CRC-32/IEEE).
//!
//! Records without a key go to any partition (sticky or random) with both, so they have no
//! place to predict.

/// Kafka's murmur2 of `data` (`org.apache.kafka.common.utils.Utils.murmur2`).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition the Java client (and librdkafka's `murmur2_random`) picks for `key`.
pub fn murmur2_partition(key: &[u8], partitions: i32) -> i32 {
    if partitions <= 0 {
        return 0;
    }
    (murmur2(key) & 0x7fff_ffff) % partitions
}

/// The partition librdkafka's default `consistent_random` partitioner picks for `key`.
pub fn consistent_partition(key: &[u8], partitions: i32) -> i32 {
    if partitions <= 0 {
        return 0;
    }
    (crc32fast::hash(key) % partitions as u32) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_the_java_clients_test_vectors() {
        // apache/kafka UtilsTest.testMurmur2.
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            (b"abc", 479_470_107),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), want, "{}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn partitions_are_never_negative_and_crc32_is_ieee() {
        for key in [&b"21"[..], b"foobar", b"", b"\xff\xff\xff\xff"] {
            for n in 1..20 {
                assert!((0..n).contains(&murmur2_partition(key, n)));
                assert!((0..n).contains(&consistent_partition(key, n)));
            }
        }
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
        assert_eq!(murmur2_partition(b"x", 0), 0);
    }
}
