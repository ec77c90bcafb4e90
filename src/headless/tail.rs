//! `strom tail`: a topic's (or one partition's) records from a start point, printed as lines
//! of text or `--json` objects, read by the same assign-only tail session as the console's
//! tail pane (never a group member, never a commit). Without `--follow` it exits when every
//! partition read reached the end it had when reading got there, or after `-n N` records.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use crate::cluster::connect::ConnectionSpec;
use crate::cluster::record_view::{escape_bytes, format_record_timestamp, json_line, Escape, Record};
use crate::cluster::tail::{StartAt, TailInbox, TailItem, TailNotice, TailSession, TailTarget, INBOX_RECORDS};

/// `TOPIC` or `TOPIC:PARTITION` (a topic name may itself hold no ':' in Kafka, so the last
/// ':' splits).
pub fn parse_target(text: &str) -> Result<TailTarget, String> {
    let (topic, partition) = match text.rsplit_once(':') {
        Some((t, p)) => {
            let p: i32 = p
                .parse()
                .ok()
                .filter(|p| *p >= 0)
                .ok_or_else(|| format!("'{p}' is not a partition number (TOPIC:PARTITION)"))?;
            (t, Some(p))
        }
        None => (text, None),
    };
    if topic.is_empty() {
        return Err("the topic name is empty".into());
    }
    Ok(TailTarget {
        topic: topic.to_string(),
        partition,
    })
}

/// `earliest`, `latest`, an offset, `-N` (the last N of each partition), an RFC 3339 time, a
/// time as Kafka's tools write it (`2024-05-01T12:00:00.000`, UTC unless a zone is given), or
/// a duration ago (`15m`). `now_ms` is the wall clock.
pub fn parse_start(text: &str, now_ms: i64) -> Result<StartAt, String> {
    let t = text.trim();
    match t {
        "earliest" | "beginning" | "start" => return Ok(StartAt::Earliest),
        "latest" | "end" => return Ok(StartAt::Latest),
        _ => {}
    }
    if let Some(n) = t.strip_prefix('-') {
        if let Ok(n) = n.parse::<u64>() {
            return Ok(StartAt::LastN(n));
        }
    }
    if let Ok(o) = t.parse::<i64>() {
        return Ok(StartAt::Offset(o));
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(StartAt::Timestamp(d.timestamp_millis()));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(StartAt::Timestamp(d.and_utc().timestamp_millis()));
        }
    }
    if let Ok(d) = crate::cli::parse_duration(t) {
        return Ok(StartAt::Timestamp(
            now_ms - i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        ));
    }
    Err(format!(
        "'{text}' is not a start point: earliest, latest, an offset, -N, a time (2024-05-01T12:00:00Z) or a duration ago (15m)"
    ))
}

/// One record as a line of text: partition, offset, timestamp with its type, key, headers and
/// value, control characters escaped.
pub fn text_line(r: &Record, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "{}-{} @{}  {}  key=",
        r.topic,
        r.partition,
        r.offset,
        format_record_timestamp(r, &chrono::Utc)
    );
    match &r.key {
        Some(k) => out.push_str(&escape_bytes(k, Escape::Line)),
        None => out.push_str("null"),
    }
    for h in &r.headers {
        let _ = write!(out, "  {}=", escape_bytes(h.key.as_bytes(), Escape::Line));
        match &h.value {
            Some(v) => out.push_str(&escape_bytes(v, Escape::Line)),
            None => out.push_str("null"),
        }
    }
    out.push_str("  ");
    match &r.value {
        Some(v) => out.push_str(&escape_bytes(v, Escape::Line)),
        None => out.push_str("null"),
    }
}

pub struct TailOptions {
    pub target: TailTarget,
    pub start: StartAt,
    pub count: Option<u64>,
    pub follow: bool,
    pub json: bool,
}

/// Runs `strom tail`, writing to `out`; returns the records printed, or why it stopped.
pub fn tail(spec: &ConnectionSpec, opts: &TailOptions, out: &mut dyn Write) -> Result<u64, String> {
    let inbox = TailInbox::new(INBOX_RECORDS);
    let session =
        TailSession::start(spec, opts.target.clone(), opts.start, inbox.clone(), || true).map_err(|e| e.to_string())?;
    let result = print_from(&inbox, opts, out);
    session.stop();
    result
}

fn print_from(inbox: &TailInbox, opts: &TailOptions, out: &mut dyn Write) -> Result<u64, String> {
    let mut printed: u64 = 0;
    let mut waiting: Option<HashSet<i32>> = None;
    let mut line = String::new();
    loop {
        let items = inbox.wait_drain(Duration::from_millis(200));
        if items.is_empty() && inbox.is_closed() {
            return Err("the tail ended unexpectedly".into());
        }
        for item in items {
            match item {
                TailItem::Record(r) => {
                    line.clear();
                    if opts.json {
                        json_line(&r, &mut line);
                    } else {
                        text_line(&r, &mut line);
                    }
                    line.push('\n');
                    if out.write_all(line.as_bytes()).is_err() {
                        // A closed pipe (`strom tail t | head`): done, not an error.
                        return Ok(printed);
                    }
                    printed += 1;
                    if opts.count.is_some_and(|n| printed >= n) {
                        let _ = out.flush();
                        return Ok(printed);
                    }
                }
                TailItem::Notice(TailNotice::Started { partitions, .. }) => {
                    waiting = Some(partitions.iter().map(|p| p.partition).collect());
                }
                TailItem::Notice(TailNotice::Eof { partition, .. }) => {
                    if let Some(w) = waiting.as_mut() {
                        w.remove(&partition);
                    }
                }
                TailItem::Notice(TailNotice::Failed(e)) => return Err(e),
                TailItem::Notice(TailNotice::Error(e)) => eprintln!("strom: {e}"),
                TailItem::Notice(TailNotice::Paused | TailNotice::Resumed) => {}
            }
        }
        let _ = out.flush();
        if !opts.follow && waiting.as_ref().is_some_and(HashSet::is_empty) {
            return Ok(printed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_start_points_parse_as_documented() {
        assert_eq!(
            parse_target("orders:2"),
            Ok(TailTarget {
                topic: "orders".into(),
                partition: Some(2)
            })
        );
        assert_eq!(parse_target("orders").unwrap().partition, None);
        assert!(parse_target("orders:x").is_err());
        assert!(parse_target("orders:-1").is_err());
        assert!(parse_target(":1").is_err());
        let now = 1_700_000_000_000;
        assert_eq!(parse_start("earliest", now), Ok(StartAt::Earliest));
        assert_eq!(parse_start("latest", now), Ok(StartAt::Latest));
        assert_eq!(parse_start("42", now), Ok(StartAt::Offset(42)));
        assert_eq!(parse_start("-10", now), Ok(StartAt::LastN(10)));
        assert_eq!(parse_start("15m", now), Ok(StartAt::Timestamp(now - 900_000)));
        assert_eq!(
            parse_start("2023-11-14T22:13:20Z", now),
            Ok(StartAt::Timestamp(1_700_000_000_000))
        );
        assert_eq!(
            parse_start("2023-11-14T22:13:20.500", now),
            Ok(StartAt::Timestamp(1_700_000_000_500))
        );
        assert_eq!(
            parse_start("2023-11-15T00:13:20+02:00", now),
            Ok(StartAt::Timestamp(1_700_000_000_000))
        );
        assert!(parse_start("yesterday", now).is_err());
    }

    #[test]
    fn a_text_line_escapes_control_characters_in_key_headers_and_value() {
        let r = Record {
            topic: "t".into(),
            partition: 1,
            offset: 7,
            timestamp: Some(1_700_000_000_000),
            timestamp_type: crate::cluster::record_view::TimestampType::CreateTime,
            key: Some(b"k\x1b[2J".to_vec()),
            value: Some(b"line1\nline2\x07".to_vec()),
            headers: vec![crate::cluster::record_view::Header {
                key: "trace".into(),
                value: Some(b"\x00id".to_vec()),
            }],
        };
        let mut s = String::new();
        text_line(&r, &mut s);
        assert_eq!(
            s,
            "t-1 @7  2023-11-14 22:13:20.000 (CreateTime)  key=k\\x1b[2J  trace=\\0id  line1\\nline2\\x07"
        );
    }
}
