//! What operators type, read as Kafka reads it: durations (`7d`, `12h`, ISO-8601 `PT1H`,
//! `P1DT2H`), sizes (`10GiB`, `512MiB`, `1GB`), date-times (`2026-01-02T03:04:05Z`, with or
//! without millis and zone, as `kafka-consumer-groups.sh --to-datetime` takes them), topic
//! names (Kafka's legal characters and length), and config values given in those forms
//! (`retention.ms=7d` becomes `604800000`). Pure functions, no I/O.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// The longest topic name Kafka accepts.
pub const MAX_TOPIC_NAME: usize = 249;

/// A duration in milliseconds: `-1`/`forever`, a plain number of ms, a number with a unit
/// (`ms`, `s`, `m`/`min`, `h`, `d`, `w`; decimals allowed, `1.5h`), or ISO-8601 `PnDTnHnMnS`
/// (Java's `Duration.parse`, which `kafka-consumer-groups.sh --by-duration` uses).
pub fn duration_ms(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if t == "-1" || t.eq_ignore_ascii_case("forever") {
        return Ok(-1);
    }
    if t.len() > 1 && (t.starts_with('P') || t.starts_with('p') || t.starts_with("-P")) {
        return iso_duration_ms(t);
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit_ms: f64 = match unit.trim() {
        "" | "ms" => 1.0,
        "s" | "sec" => 1e3,
        "m" | "min" => 60e3,
        "h" => 3600e3,
        "d" => 86_400e3,
        "w" => 7.0 * 86_400e3,
        other => {
            return Err(format!(
                "'{text}': unknown unit '{other}' (use ms, s, m, h, d, w, or ISO-8601 like PT1H)"
            ))
        }
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (examples: 7d, 12h, 90s, PT1H, 604800000)"))?;
    let ms = (n * unit_ms).round();
    if !(0.0..=i64::MAX as f64).contains(&ms) {
        return Err(format!("'{text}' is out of range"));
    }
    Ok(ms as i64)
}

/// Java's `Duration.parse`: `[-]P[nD][T[nH][nM][n[.f]S]]`.
fn iso_duration_ms(text: &str) -> Result<i64, String> {
    let bad = || format!("'{text}' is not an ISO-8601 duration (examples: PT1H, PT30M, P1DT12H, PT0.5S)");
    let upper = text.to_ascii_uppercase();
    let (negative, rest) = match upper.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, upper.as_str()),
    };
    let rest = rest.strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut ms: f64 = 0.0;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, f64)]| -> Result<(), String> {
        let mut num = String::new();
        let mut next_unit = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || (c == '-' && num.is_empty()) {
                num.push(c);
                continue;
            }
            let i = units[next_unit..].iter().position(|(u, _)| *u == c).ok_or_else(bad)? + next_unit;
            let n: f64 = num.parse().map_err(|_| bad())?;
            ms += n * units[i].1;
            any = true;
            num.clear();
            next_unit = i + 1;
        }
        if num.is_empty() {
            Ok(())
        } else {
            Err(bad())
        }
    };
    take(date, &[('D', 86_400e3)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return Err(bad());
        }
        take(t, &[('H', 3600e3), ('M', 60e3), ('S', 1e3)])?;
    }
    if !any {
        return Err(bad());
    }
    let ms = if negative { -ms } else { ms }.round();
    if ms.abs() > i64::MAX as f64 {
        return Err(format!("'{text}' is out of range"));
    }
    Ok(ms as i64)
}

/// A size in bytes: `-1`/`unlimited`, a plain number, or a number with a unit: binary `KiB`,
/// `MiB`, `GiB`, `TiB` (powers of 1024) or decimal `KB`, `MB`, `GB`, `TB` (powers of 1000);
/// `B` for bytes. Case of the unit does not matter; decimals are allowed (`1.5GiB`).
pub fn size_bytes(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if t == "-1" || t.eq_ignore_ascii_case("unlimited") {
        return Ok(-1);
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kib" => 1024.0,
        "mib" => 1024f64.powi(2),
        "gib" => 1024f64.powi(3),
        "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        other => {
            return Err(format!(
                "'{text}': unknown unit '{other}' (use B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB)"
            ))
        }
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{text}' is not a size (examples: 10GiB, 512MiB, 1073741824)"))?;
    let b = (n * mult).round();
    if !(0.0..=i64::MAX as f64).contains(&b) {
        return Err(format!("'{text}' is out of range"));
    }
    Ok(b as i64)
}

/// A date-time as `kafka-consumer-groups.sh --to-datetime` takes it
/// (`yyyy-MM-ddTHH:mm:ss.SSS` with an optional zone `Z`, `+hh`, `+hhmm`, `+hh:mm`; no zone is
/// UTC), also without the millis or the seconds, or a date alone (midnight UTC). Returns ms
/// since the epoch.
pub fn datetime_ms(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "'{text}' is not a date-time (examples: 2026-01-02T03:04:05Z, 2026-01-02T03:04:05.000+01:00, 2026-01-02)"
        )
    };
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let dt = d.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
        return Ok(Utc.from_utc_datetime(&dt).timestamp_millis());
    }
    // Split off a zone: Z, or a sign after the time part.
    let (local, zone) = if let Some(l) = t.strip_suffix('Z').or_else(|| t.strip_suffix('z')) {
        (l, Some(FixedOffset::east_opt(0).ok_or_else(bad)?))
    } else {
        let time_start = t.find('T').ok_or_else(bad)?;
        match t[time_start..].rfind(['+', '-']) {
            Some(i) => {
                let (l, z) = t.split_at(time_start + i);
                (l, Some(parse_zone(z).ok_or_else(bad)?))
            }
            None => (t, None),
        }
    };
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(local, f).ok())
        .ok_or_else(bad)?;
    let utc = match zone {
        Some(z) => z
            .from_local_datetime(&naive)
            .single()
            .ok_or_else(bad)?
            .with_timezone(&Utc),
        None => Utc.from_utc_datetime(&naive),
    };
    Ok(utc.timestamp_millis())
}

/// `+hh`, `+hhmm`, `+hh:mm`, `-...`.
fn parse_zone(z: &str) -> Option<FixedOffset> {
    let sign = match z.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (digits[..2].parse::<i32>().ok()?, digits[2..].parse::<i32>().ok()?),
        _ => return None,
    };
    if h > 18 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Ms since the epoch as an ISO-8601 UTC date-time with millis.
pub fn format_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// Kafka's topic name rules (`org.apache.kafka.common.internals.Topic.validate`): not empty,
/// not `.` or `..`, at most 249 characters, only ASCII letters, digits, `.`, `_` and `-`.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the topic name is empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("'{name}' cannot be a topic name"));
    }
    if name.len() > MAX_TOPIC_NAME {
        return Err(format!(
            "the topic name is {} characters long; Kafka allows at most {MAX_TOPIC_NAME}",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "'{name}' contains {c:?}; a topic name may contain only ASCII letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// The name Kafka compares for collisions: metric names turn '.' into '_', so `a.b` and `a_b`
/// collide.
pub fn collision_key(name: &str) -> String {
    name.replace('.', "_")
}

/// What kind of value a config takes, for parsing operators' forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    DurationMs,
    Bytes,
    Other,
}

/// The kind of a topic config by name: `*.ms` are durations, the size configs are bytes.
pub fn value_kind(config: &str) -> ValueKind {
    match config {
        "retention.bytes"
        | "segment.bytes"
        | "max.message.bytes"
        | "segment.index.bytes"
        | "index.interval.bytes"
        | "local.retention.bytes" => ValueKind::Bytes,
        c if c.ends_with(".ms") => ValueKind::DurationMs,
        _ => ValueKind::Other,
    }
}

/// A config value as Kafka stores it: durations and sizes typed in operators' forms become
/// plain numbers (`7d` -> `604800000`, `10GiB` -> `10737418240`); other values are trimmed and
/// kept.
pub fn config_value(config: &str, value: &str) -> Result<String, String> {
    let v = value.trim();
    match value_kind(config) {
        ValueKind::DurationMs => duration_ms(v)
            .map(|n| n.to_string())
            .map_err(|e| format!("{config}: {e}")),
        ValueKind::Bytes => size_bytes(v)
            .map(|n| n.to_string())
            .map_err(|e| format!("{config}: {e}")),
        ValueKind::Other => {
            if v.is_empty() {
                Err(format!("{config}: the value is empty"))
            } else {
                Ok(v.to_string())
            }
        }
    }
}

/// A config value as plans show it: raw, plus the human form for durations and sizes
/// (`604800000 (7d)`).
pub fn value_text(config: &str, value: &str) -> String {
    use crate::cluster::model::human;
    let human = value.trim().parse::<i64>().ok().and_then(|v| match value_kind(config) {
        ValueKind::DurationMs => Some(human::duration_ms(v)),
        ValueKind::Bytes => Some(human::bytes(v)),
        ValueKind::Other => None,
    });
    match human {
        Some(h) => format!("{value} ({h})"),
        None => value.to_string(),
    }
}

/// `KEY=VALUE` with the value normalised by [`config_value`].
pub fn config_assignment(text: &str) -> Result<(String, String), String> {
    let (k, v) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not KEY=VALUE (example: retention.ms=7d)"))?;
    let k = k.trim();
    if k.is_empty() {
        return Err(format!("'{text}' has no config name"));
    }
    Ok((k.to_string(), config_value(k, v)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_short_forms_and_iso_8601_as_kafka_does() {
        assert_eq!(duration_ms("7d"), Ok(604_800_000));
        assert_eq!(duration_ms("12h"), Ok(43_200_000));
        assert_eq!(duration_ms("90s"), Ok(90_000));
        assert_eq!(duration_ms("1.5h"), Ok(5_400_000));
        assert_eq!(duration_ms("250ms"), Ok(250));
        assert_eq!(duration_ms("604800000"), Ok(604_800_000));
        assert_eq!(duration_ms("-1"), Ok(-1));
        assert_eq!(duration_ms("PT1H"), Ok(3_600_000));
        assert_eq!(duration_ms("P1DT2H30M"), Ok(95_400_000));
        assert_eq!(duration_ms("PT0.5S"), Ok(500));
        assert_eq!(duration_ms("pt15m"), Ok(900_000));
        assert!(duration_ms("7 days").is_err());
        assert!(duration_ms("P").is_err());
        assert!(duration_ms("PT").is_err());
        assert!(duration_ms("PT1M1H").is_err(), "units out of order");
        assert!(duration_ms("12x").unwrap_err().contains("unknown unit 'x'"));
    }

    #[test]
    fn sizes_read_binary_and_decimal_units() {
        assert_eq!(size_bytes("10GiB"), Ok(10 * 1024 * 1024 * 1024));
        assert_eq!(size_bytes("512 MiB"), Ok(512 * 1024 * 1024));
        assert_eq!(size_bytes("1GB"), Ok(1_000_000_000));
        assert_eq!(size_bytes("1.5KiB"), Ok(1536));
        assert_eq!(size_bytes("1073741824"), Ok(1_073_741_824));
        assert_eq!(size_bytes("-1"), Ok(-1));
        assert!(size_bytes("10 gigs").is_err());
    }

    #[test]
    fn datetimes_take_kafka_tool_forms_and_default_to_utc() {
        let base = datetime_ms("2026-01-02T03:04:05.000Z").unwrap();
        assert_eq!(base, 1_767_323_045_000);
        assert_eq!(datetime_ms("2026-01-02T03:04:05Z"), Ok(base));
        assert_eq!(datetime_ms("2026-01-02T03:04:05"), Ok(base), "no zone is UTC");
        assert_eq!(datetime_ms("2026-01-02T04:04:05.000+01:00"), Ok(base));
        assert_eq!(datetime_ms("2026-01-02T04:04:05+0100"), Ok(base));
        assert_eq!(datetime_ms("2026-01-02T01:04:05-02"), Ok(base));
        assert_eq!(datetime_ms("2026-01-02T03:04:05.250Z"), Ok(base + 250));
        assert_eq!(datetime_ms("2026-01-02"), Ok(base - 3 * 3_600_000 - 4 * 60_000 - 5_000));
        assert!(datetime_ms("yesterday").is_err());
        assert!(datetime_ms("2026-13-02T00:00:00Z").is_err());
        assert_eq!(format_ms(base), "2026-01-02T03:04:05.000Z");
    }

    #[test]
    fn topic_names_follow_kafkas_rules() {
        assert_eq!(validate_topic_name("orders.v2_eu-1"), Ok(()));
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("a b").unwrap_err().contains("' '"));
        assert!(validate_topic_name("ördrs").is_err());
        assert_eq!(validate_topic_name(&"x".repeat(249)), Ok(()));
        assert!(validate_topic_name(&"x".repeat(250))
            .unwrap_err()
            .contains("at most 249"));
        assert_eq!(collision_key("a.b"), collision_key("a_b"));
    }

    #[test]
    fn config_values_in_operator_forms_become_what_kafka_stores() {
        assert_eq!(
            config_assignment("retention.ms=7d"),
            Ok(("retention.ms".into(), "604800000".into()))
        );
        assert_eq!(
            config_assignment("retention.bytes=10GiB"),
            Ok(("retention.bytes".into(), "10737418240".into()))
        );
        assert_eq!(
            config_assignment("segment.ms=PT1H"),
            Ok(("segment.ms".into(), "3600000".into()))
        );
        assert_eq!(
            config_assignment("cleanup.policy= delete "),
            Ok(("cleanup.policy".into(), "delete".into()))
        );
        assert!(config_assignment("retention.ms").is_err());
        assert!(config_assignment("retention.ms=soon")
            .unwrap_err()
            .starts_with("retention.ms:"));
    }
}
