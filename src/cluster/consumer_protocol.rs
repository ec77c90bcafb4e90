//! The classic consumer protocol's embedded bytes, decoded for the group detail: a member's
//! subscription (the `metadata` of its JoinGroup protocol, as DescribeGroups returns it) and
//! its assignment (what the leader sent in SyncGroup), versions 0 to 3. Plain structs out.
//!
//! Pure: no rdkafka, no I/O. These bytes come from whichever client is in the group, so they
//! are untrusted: every count and length is checked against the bytes present before anything
//! is allocated from it, and no input panics. Hand-written rather than the kafka-protocol
//! crate's `ConsumerProtocolSubscription`, which sizes vectors from the wire count before
//! reading them, and which only the broker's codec uses (STYLE 13).
//!
//! Layout (big-endian; string = i16 length + UTF-8, -1 null; bytes = i32 length, -1 null;
//! array = i32 count):
//!
//! | field | type | versions |
//! |---|---|---|
//! | version | i16 | all |
//! | **subscription** topics | [string] | 0+ |
//! | user_data | nullable bytes | 0+ |
//! | owned_partitions | [topic string, partitions [i32]] | 1+ |
//! | generation_id | i32 (-1 none) | 2+ |
//! | rack_id | nullable string | 3+ |
//! | **assignment** assigned_partitions | [topic string, partitions [i32]] | 0+ |
//! | user_data | nullable bytes | 0+ |
//!
//! As Kafka's `ConsumerProtocol` does, a version above 3 is read as version 3 (newer versions
//! only append fields) and bytes after the known fields are ignored.

use std::fmt;

use thiserror::Error;

/// The newest version whose fields are known.
pub const HIGHEST_VERSION: i16 = 3;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicPartitions {
    pub topic: String,
    pub partitions: Vec<i32>,
}

/// What a member asked for when it joined.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subscription {
    /// As written by the client; fields of newer versions than 3 are not read.
    pub version: i16,
    pub topics: Vec<String>,
    pub user_data: Option<Vec<u8>>,
    /// Partitions the member held before this rebalance (v1+, cooperative rebalancing).
    pub owned_partitions: Vec<TopicPartitions>,
    /// The generation the owned partitions belong to (v2+; None when absent or -1).
    pub generation_id: Option<i32>,
    /// `client.rack` (v3+).
    pub rack_id: Option<String>,
}

/// The partitions the group leader gave a member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    pub version: i16,
    pub partitions: Vec<TopicPartitions>,
    pub user_data: Option<Vec<u8>>,
}

impl Assignment {
    /// Every assigned (topic, partition).
    pub fn iter(&self) -> impl Iterator<Item = (&str, i32)> {
        self.partitions
            .iter()
            .flat_map(|tp| tp.partitions.iter().map(move |p| (tp.topic.as_str(), *p)))
    }

    pub fn partition_count(&self) -> usize {
        self.partitions.iter().map(|tp| tp.partitions.len()).sum()
    }

    pub fn contains(&self, topic: &str, partition: i32) -> bool {
        self.partitions
            .iter()
            .any(|tp| tp.topic == topic && tp.partitions.contains(&partition))
    }
}

impl fmt::Display for Assignment {
    /// Compact, for a table cell: `orders[0-3,7] payments[1]`, topics sorted; `-` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_partitions(&self.partitions))
    }
}

/// `orders[0-3,7] payments[1]`: topics sorted by name (a topic listed twice is merged),
/// partitions sorted with runs collapsed; `-` when there are none.
pub fn format_partitions(list: &[TopicPartitions]) -> String {
    let mut sorted: Vec<(&str, Vec<i32>)> = Vec::new();
    for tp in list {
        match sorted.iter_mut().find(|(t, _)| *t == tp.topic) {
            Some((_, ps)) => ps.extend_from_slice(&tp.partitions),
            None => sorted.push((&tp.topic, tp.partitions.clone())),
        }
    }
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (topic, mut parts) in sorted {
        parts.sort_unstable();
        parts.dedup();
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(topic);
        out.push('[');
        let mut i = 0;
        while i < parts.len() {
            let mut j = i;
            while j + 1 < parts.len() && parts[j + 1] == parts[j].saturating_add(1) {
                j += 1;
            }
            if i > 0 {
                out.push(',');
            }
            if j > i {
                out.push_str(&format!("{}-{}", parts[i], parts[j]));
            } else {
                out.push_str(&parts[i].to_string());
            }
            i = j + 1;
        }
        out.push(']');
    }
    if out.is_empty() {
        out.push('-');
    }
    out
}

/// Why bytes could not be decoded: which field, and where.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("{what}: {field} at byte {at} needs {needed} bytes, {left} left")]
    Truncated {
        what: &'static str,
        field: &'static str,
        at: usize,
        needed: u64,
        left: usize,
    },
    #[error("{what}: {field} at byte {at} has invalid length {len}")]
    BadLength {
        what: &'static str,
        field: &'static str,
        at: usize,
        len: i64,
    },
    #[error("{what}: {field} at byte {at} is not UTF-8")]
    NotUtf8 {
        what: &'static str,
        field: &'static str,
        at: usize,
    },
    #[error("{what}: unsupported version {version}")]
    BadVersion { what: &'static str, version: i16 },
}

/// Decodes a member's subscription (DescribeGroups' `member_metadata` of a group whose protocol
/// type is `consumer`). Empty bytes decode as an empty v0 subscription.
pub fn decode_subscription(bytes: &[u8]) -> Result<Subscription, DecodeError> {
    let mut r = Reader::new(bytes, "subscription");
    if bytes.is_empty() {
        return Ok(Subscription::default());
    }
    let version = r.version()?;
    let v = version.min(HIGHEST_VERSION);
    let topics = r.array("topics", 2, |r| r.string("topic"))?;
    let user_data = r.nullable_bytes("user_data")?;
    let owned_partitions = if v >= 1 {
        r.array("owned_partitions", 6, |r| r.topic_partitions())?
    } else {
        Vec::new()
    };
    let generation_id = if v >= 2 {
        Some(r.i32("generation_id")?).filter(|g| *g >= 0)
    } else {
        None
    };
    let rack_id = if v >= 3 { r.nullable_string("rack_id")? } else { None };
    Ok(Subscription {
        version,
        topics,
        user_data,
        owned_partitions,
        generation_id,
        rack_id,
    })
}

/// Decodes a member's assignment (DescribeGroups' `member_assignment`). Empty bytes, which a
/// member has while the group rebalances, decode as no partitions.
pub fn decode_assignment(bytes: &[u8]) -> Result<Assignment, DecodeError> {
    let mut r = Reader::new(bytes, "assignment");
    if bytes.is_empty() {
        return Ok(Assignment::default());
    }
    let version = r.version()?;
    let partitions = r.array("assigned_partitions", 6, |r| r.topic_partitions())?;
    let user_data = r.nullable_bytes("user_data")?;
    Ok(Assignment {
        version,
        partitions,
        user_data,
    })
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { buf, pos: 0, what }
    }

    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.left() {
            return Err(DecodeError::Truncated {
                what: self.what,
                field,
                at: self.pos,
                needed: n as u64,
                left: self.left(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, DecodeError> {
        let b = self.take(field, 2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        let b = self.take(field, 4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn version(&mut self) -> Result<i16, DecodeError> {
        let version = self.i16("version")?;
        if version < 0 {
            return Err(DecodeError::BadVersion {
                what: self.what,
                version,
            });
        }
        Ok(version)
    }

    fn bad_length(&self, field: &'static str, at: usize, len: i64) -> DecodeError {
        DecodeError::BadLength {
            what: self.what,
            field,
            at,
            len,
        }
    }

    fn nullable_string(&mut self, field: &'static str) -> Result<Option<String>, DecodeError> {
        let at = self.pos;
        let len = self.i16(field)?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 {
            return Err(self.bad_length(field, at, len.into()));
        }
        let bytes = self.take(field, len as usize)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Some(s.to_string())),
            Err(_) => Err(DecodeError::NotUtf8 {
                what: self.what,
                field,
                at: at + 2,
            }),
        }
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let at = self.pos;
        self.nullable_string(field)?
            .ok_or_else(|| self.bad_length(field, at, -1))
    }

    fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<Vec<u8>>, DecodeError> {
        let at = self.pos;
        let len = self.i32(field)?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 {
            return Err(self.bad_length(field, at, len.into()));
        }
        Ok(Some(self.take(field, len as usize)?.to_vec()))
    }

    /// An array whose elements take at least `min_size` bytes each: a count the remaining bytes
    /// cannot hold is refused before anything is allocated for it.
    fn array<T>(
        &mut self,
        field: &'static str,
        min_size: usize,
        mut element: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let at = self.pos;
        let count = self.i32(field)?;
        if count == -1 {
            return Ok(Vec::new());
        }
        if count < 0 {
            return Err(self.bad_length(field, at, count.into()));
        }
        let needed = count as u64 * min_size as u64;
        if needed > self.left() as u64 {
            return Err(DecodeError::Truncated {
                what: self.what,
                field,
                at: self.pos,
                needed,
                left: self.left(),
            });
        }
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            out.push(element(self)?);
        }
        Ok(out)
    }

    fn topic_partitions(&mut self) -> Result<TopicPartitions, DecodeError> {
        let topic = self.string("topic")?;
        let partitions = self.array("partitions", 4, |r| r.i32("partition"))?;
        Ok(TopicPartitions { topic, partitions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// A test encoder, independent of the decoder, to build edge cases.
    #[derive(Default)]
    struct W(Vec<u8>);

    impl W {
        fn i16(mut self, v: i16) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn i32(mut self, v: i32) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn str(self, s: &str) -> Self {
            let mut w = self.i16(s.len() as i16);
            w.0.extend_from_slice(s.as_bytes());
            w
        }
        fn bytes(self, b: &[u8]) -> Self {
            let mut w = self.i32(b.len() as i32);
            w.0.extend_from_slice(b);
            w
        }
        fn tps(self, list: &[(&str, &[i32])]) -> Self {
            let mut w = self.i32(list.len() as i32);
            for (t, ps) in list {
                w = w.str(t).i32(ps.len() as i32);
                for p in *ps {
                    w = w.i32(*p);
                }
            }
            w
        }
    }

    fn tp(topic: &str, partitions: &[i32]) -> TopicPartitions {
        TopicPartitions {
            topic: topic.to_string(),
            partitions: partitions.to_vec(),
        }
    }

    // Bytes captured from real clients in a group on the bundled broker (DescribeGroups), which
    // passes them through as the clients wrote them.

    #[test]
    fn kafka_python_range_consumer() {
        // kafka-python 2.3.3, range assignor, one member of `orders` (4) and `payments` (2).
        let s = decode_subscription(&hex("00000000000200087061796d656e747300066f726465727300000000")).unwrap();
        assert_eq!(
            s,
            Subscription {
                version: 0,
                topics: vec!["payments".into(), "orders".into()],
                user_data: Some(Vec::new()),
                ..Subscription::default()
            }
        );
        let a = decode_assignment(&hex(
            "00000000000200066f7264657273000000040000000000000001000000020000000300087061796d656e747300000002\
             000000000000000100000000",
        ))
        .unwrap();
        assert_eq!(a.version, 0);
        assert_eq!(a.partitions, [tp("orders", &[0, 1, 2, 3]), tp("payments", &[0, 1])]);
        assert_eq!(a.user_data, Some(Vec::new()));
        assert_eq!(a.to_string(), "orders[0-3] payments[0-1]");
    }

    #[test]
    fn kafka_python_sticky_consumer_with_user_data() {
        // kafka-python 2.3.3 sticky assignor after a second member joined: the user data is the
        // member's previous assignment and generation.
        let s = decode_subscription(&hex(
            "00000000000200066f726465727300087061796d656e74730000003a0000000200066f726465727300000004000000000000\
             0001000000020000000300087061796d656e747300000002000000000000000100000001",
        ))
        .unwrap();
        assert_eq!((s.version, s.topics.len()), (0, 2));
        assert_eq!(s.user_data.as_ref().map(Vec::len), Some(58));
        let a = decode_assignment(&hex(
            "00000000000100066f72646572730000000300000000000000010000000200000000",
        ))
        .unwrap();
        assert_eq!(a.partitions, [tp("orders", &[0, 1, 2])]);
    }

    #[test]
    fn librdkafka_2_0_consumer_via_kcat() {
        // kcat 1.7.1 on librdkafka 2.0.2: version 1, no owned partitions yet.
        let s = decode_subscription(&hex("00010000000200066f726465727300087061796d656e74730000000000000000")).unwrap();
        assert_eq!(
            s,
            Subscription {
                version: 1,
                topics: vec!["orders".into(), "payments".into()],
                user_data: Some(Vec::new()),
                ..Subscription::default()
            }
        );
    }

    #[test]
    fn librdkafka_2_12_consumers_via_the_rdkafka_crate() {
        // rdkafka 0.39 (librdkafka 2.12.1), range, client.rack=rack-b: version 3, generation -1.
        let s = decode_subscription(&hex(
            "00030000000200066f726465727300087061796d656e74730000000000000000ffffffff00067261636b2d62",
        ))
        .unwrap();
        assert_eq!(
            s,
            Subscription {
                version: 3,
                topics: vec!["orders".into(), "payments".into()],
                user_data: Some(Vec::new()),
                owned_partitions: Vec::new(),
                generation_id: None,
                rack_id: Some("rack-b".into()),
            }
        );
        let a = decode_assignment(&hex(
            "00000000000200087061796d656e747300000002000000000000000100066f72646572730000000400000000000000010000\
             00020000000300000000",
        ))
        .unwrap();
        assert_eq!(a.to_string(), "orders[0-3] payments[0-1]");

        // cooperative-sticky, the first member rejoining after a second one arrived: it owns
        // what it kept, in generation 2.
        let s = decode_subscription(&hex(
            "00030000000200066f726465727300087061796d656e74730000002e0000000200066f7264657273000000010000000300\
             087061796d656e7473000000020000000000000001000000020000000200066f72646572730000000100000003000870\
             61796d656e74730000000200000000000000010000000200067261636b2d62",
        ))
        .unwrap();
        assert_eq!(s.user_data.as_ref().map(Vec::len), Some(46));
        assert_eq!(s.owned_partitions, [tp("orders", &[3]), tp("payments", &[0, 1])]);
        assert_eq!((s.generation_id, s.rack_id.as_deref()), (Some(2), Some("rack-b")));
        let a = decode_assignment(&hex(
            "00000000000100066f726465727300000003000000020000000100000000000000080000000000000002",
        ))
        .unwrap();
        assert_eq!(a.partitions, [tp("orders", &[2, 1, 0])]);
        assert_eq!(a.user_data, Some(vec![0, 0, 0, 0, 0, 0, 0, 2]));
        assert_eq!(a.to_string(), "orders[0-2]");
    }

    #[test]
    fn subscription_v0_to_v3() {
        let v0 = W::default().i16(0).i32(2).str("orders").str("payments").bytes(b"ud");
        assert_eq!(
            decode_subscription(&v0.0).unwrap(),
            Subscription {
                version: 0,
                topics: vec!["orders".into(), "payments".into()],
                user_data: Some(b"ud".to_vec()),
                ..Subscription::default()
            }
        );
        let v1 = W::default()
            .i16(1)
            .i32(1)
            .str("orders")
            .i32(-1)
            .tps(&[("orders", &[0, 2])]);
        let s = decode_subscription(&v1.0).unwrap();
        assert_eq!((s.user_data, s.owned_partitions), (None, vec![tp("orders", &[0, 2])]));
        let v2 = W::default().i16(2).i32(0).i32(-1).tps(&[]).i32(7);
        assert_eq!(decode_subscription(&v2.0).unwrap().generation_id, Some(7));
        let v2_none = W::default().i16(2).i32(0).i32(-1).tps(&[]).i32(-1);
        assert_eq!(decode_subscription(&v2_none.0).unwrap().generation_id, None);
        let v3 = W::default().i16(3).i32(0).i32(-1).tps(&[]).i32(3).str("eu-west-1a");
        let s = decode_subscription(&v3.0).unwrap();
        assert_eq!((s.generation_id, s.rack_id.as_deref()), (Some(3), Some("eu-west-1a")));
        let v3_null_rack = W::default().i16(3).i32(0).i32(-1).tps(&[]).i32(3).i16(-1);
        assert_eq!(decode_subscription(&v3_null_rack.0).unwrap().rack_id, None);
    }

    #[test]
    fn newer_versions_read_as_v3_and_trailing_bytes_are_ignored() {
        let v9 = W::default()
            .i16(9)
            .i32(1)
            .str("a")
            .i32(-1)
            .tps(&[])
            .i32(1)
            .str("r")
            .i32(12345);
        let s = decode_subscription(&v9.0).unwrap();
        assert_eq!(
            (s.version, s.topics, s.rack_id.as_deref()),
            (9, vec!["a".to_string()], Some("r"))
        );
        let a = W::default().i16(1).tps(&[("a", &[1])]).i32(-1).i32(99);
        assert_eq!(decode_assignment(&a.0).unwrap().partitions, [tp("a", &[1])]);
    }

    #[test]
    fn empty_bytes_are_an_empty_subscription_and_no_assignment() {
        assert_eq!(decode_subscription(&[]).unwrap(), Subscription::default());
        assert_eq!(decode_assignment(&[]).unwrap().partition_count(), 0);
    }

    #[test]
    fn assignment_helpers() {
        let a = W::default()
            .i16(0)
            .tps(&[("payments", &[1]), ("orders", &[7, 0, 1, 2, 3])])
            .bytes(&[]);
        let a = decode_assignment(&a.0).unwrap();
        assert_eq!(a.user_data, Some(Vec::new()));
        assert_eq!(a.partition_count(), 6);
        assert!(a.contains("orders", 7) && !a.contains("orders", 4) && !a.contains("payments", 0));
        assert_eq!(a.iter().next(), Some(("payments", 1)));
        assert_eq!(a.to_string(), "orders[0-3,7] payments[1]");
        assert_eq!(Assignment::default().to_string(), "-");
        assert_eq!(
            format_partitions(&[
                tp("t", &[5, 3, 4, 4]),
                tp("t", &[9]),
                tp("s", &[i32::MAX, i32::MAX - 1])
            ]),
            "s[2147483646-2147483647] t[3-5,9]"
        );
    }

    #[test]
    fn truncation_anywhere_is_an_error_never_a_panic() {
        let full = W::default()
            .i16(3)
            .i32(2)
            .str("orders")
            .str("payments")
            .bytes(b"xyz")
            .tps(&[("orders", &[0, 1])])
            .i32(4)
            .str("rack");
        assert!(decode_subscription(&full.0).is_ok());
        for cut in 1..full.0.len() {
            assert!(decode_subscription(&full.0[..cut]).is_err(), "cut at {cut}");
        }
        let a = W::default().i16(0).tps(&[("orders", &[0, 1])]).bytes(b"u");
        assert!(decode_assignment(&a.0).is_ok());
        for cut in 1..a.0.len() {
            assert!(decode_assignment(&a.0[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn errors_say_which_field_and_where() {
        let short = W::default().i16(0).i32(1).i16(10).0;
        assert_eq!(
            decode_subscription(&short).unwrap_err().to_string(),
            "subscription: topic at byte 8 needs 10 bytes, 0 left"
        );
        assert_eq!(
            decode_subscription(&W::default().i16(-2).0).unwrap_err(),
            DecodeError::BadVersion {
                what: "subscription",
                version: -2
            }
        );
        let null_topic = W::default().i16(0).i32(1).i16(-1).0;
        assert_eq!(
            decode_subscription(&null_topic).unwrap_err().to_string(),
            "subscription: topic at byte 6 has invalid length -1"
        );
        let bad_utf8 = W::default()
            .i16(0)
            .i32(1)
            .i16(2)
            .0
            .into_iter()
            .chain([0xff, 0xfe])
            .collect::<Vec<_>>();
        assert_eq!(
            decode_subscription(&bad_utf8).unwrap_err().to_string(),
            "subscription: topic at byte 8 is not UTF-8"
        );
        let neg_bytes = W::default().i16(0).i32(0).i32(-7).0;
        assert!(matches!(
            decode_subscription(&neg_bytes),
            Err(DecodeError::BadLength { len: -7, .. })
        ));
    }

    #[test]
    fn hostile_counts_are_refused_before_allocating() {
        // Two billion topics in ten bytes: refused by size, not by running out of memory.
        let huge = W::default().i16(0).i32(i32::MAX).0;
        assert_eq!(
            decode_subscription(&huge).unwrap_err(),
            DecodeError::Truncated {
                what: "subscription",
                field: "topics",
                at: 6,
                needed: i32::MAX as u64 * 2,
                left: 0
            }
        );
        let huge_parts = W::default().i16(0).i32(1).str("t").i32(i32::MAX).0;
        assert!(matches!(
            decode_assignment(&huge_parts),
            Err(DecodeError::Truncated {
                field: "partitions",
                ..
            })
        ));
        let huge_bytes = W::default().i16(0).i32(0).i32(i32::MAX).0;
        assert!(matches!(
            decode_subscription(&huge_bytes),
            Err(DecodeError::Truncated { field: "user_data", .. })
        ));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A deterministic xorshift stream of inputs, mutated from valid encodings and random.
        let valid = [
            W::default()
                .i16(3)
                .i32(1)
                .str("orders")
                .bytes(b"xyz")
                .tps(&[("orders", &[0, 1])])
                .i32(4)
                .str("rack")
                .0,
            W::default().i16(1).tps(&[("a", &[1, 2, 3])]).bytes(b"u").0,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..20_000 {
            let mut input = if round % 2 == 0 {
                valid[round % 4 / 2].clone()
            } else {
                (0..next() % 64).map(|_| next() as u8).collect()
            };
            for _ in 0..(next() % 4) {
                if !input.is_empty() {
                    let i = (next() as usize) % input.len();
                    input[i] = next() as u8;
                }
            }
            let _ = decode_subscription(&input);
            let _ = decode_assignment(&input);
        }
    }
}
