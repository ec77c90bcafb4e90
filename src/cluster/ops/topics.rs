//! Topic changes: create (names checked as Kafka checks them, the cluster asked to validate
//! first), delete (the plan asks for the name to be typed), add partitions (with the keys that
//! move to another partition, from a sample of recent records), delete records up to an
//! offset, and produce one record (where it will land).

use std::collections::HashSet;
use std::time::Duration;

use crate::cluster::admin::Record;
use crate::cluster::client::ClusterClient;
use crate::cluster::error::ClusterError;
use crate::cluster::ffi::OffsetSpec;
use crate::cluster::model::{human, Metadata, TopicMeta};
use crate::cluster::ops::partitioner::{consistent_partition, murmur2_partition};
use crate::cluster::ops::{blocking, invalid, parse, plural, Change, Env, Op, Plan, PlanTable};

/// Records read per partition for the key sample of an add-partitions plan.
const SAMPLE_PER_PARTITION: i64 = 200;
/// Distinct keys at most in the sample.
const SAMPLE_KEYS: usize = 1000;
/// Rows at most in the key table.
const KEY_ROWS: usize = 200;

pub(super) async fn plan(client: &ClusterClient, op: Op, _env: &Env) -> Result<Plan, ClusterError> {
    let md = blocking(client, "metadata", |c| c.metadata_blocking()).await?;
    match &op {
        Op::AddPartitions { topic, count } => add_partitions(client, &md, topic, *count, op.clone()).await,
        Op::CreateTopic(_) => create_topic(client, &md, op).await,
        Op::DeleteTopic { topic } => {
            let t = existing(&md, topic, &op)?.clone();
            delete_topic(client, &t, op).await
        }
        Op::DeleteRecords {
            topic,
            partition,
            before,
        } => {
            existing(&md, topic, &op)?;
            delete_records(client, topic, *partition, *before, op.clone()).await
        }
        Op::Produce(r) => {
            let t = existing(&md, &r.topic, &op)?.clone();
            produce(&t, r.clone(), op)
        }
        _ => unreachable!("topics::plan is only called for topic changes"),
    }
}

fn existing<'a>(md: &'a Metadata, topic: &str, op: &Op) -> Result<&'a TopicMeta, ClusterError> {
    md.topic(topic)
        .ok_or_else(|| invalid(op.describe(), format!("topic '{topic}' does not exist")))
}

/// Log start and end of `parts` of `topic`.
async fn watermarks(client: &ClusterClient, topic: &str, parts: &[i32]) -> Result<Vec<(i32, i64, i64)>, ClusterError> {
    let ask =
        |spec| -> Vec<(String, i32, OffsetSpec)> { parts.iter().map(|p| (topic.to_string(), *p, spec)).collect() };
    let (a, b) = (ask(OffsetSpec::Earliest), ask(OffsetSpec::Latest));
    let starts = blocking(client, "list offsets", move |c| c.list_offsets_blocking(&a)).await?;
    let ends = blocking(client, "list offsets", move |c| c.list_offsets_blocking(&b)).await?;
    let mut out = Vec::new();
    for p in parts {
        let find = |v: &[crate::cluster::ffi::ListedOffset]| -> Result<i64, ClusterError> {
            let o = v
                .iter()
                .find(|o| o.partition == *p)
                .ok_or_else(|| invalid("list offsets", format!("no answer for {topic}:{p}")))?;
            match &o.error {
                Some(e) => Err(e.clone()),
                None => Ok(o.offset),
            }
        };
        out.push((*p, find(&starts)?, find(&ends)?));
    }
    Ok(out)
}

/// A key as a plan shows it: text when it is printable UTF-8, else hex; cut at 40 characters.
pub fn key_text(key: &[u8]) -> String {
    let text = match std::str::from_utf8(key) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_string(),
        _ => format!("0x{}", key.iter().map(|b| format!("{b:02x}")).collect::<String>()),
    };
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(39).collect::<String>())
    } else {
        text
    }
}

async fn add_partitions(
    client: &ClusterClient,
    md: &Metadata,
    topic: &str,
    count: i32,
    op: Op,
) -> Result<Plan, ClusterError> {
    let t = existing(md, topic, &op)?;
    let now = t.partitions.len() as i32;
    if count <= now {
        return Err(invalid(
            op.describe(),
            format!(
                "topic '{topic}' has {}; the new count must be greater (Kafka cannot remove partitions)",
                plural(now, "partition")
            ),
        ));
    }
    // The cluster checks the request (limits, assignment) without creating anything.
    client.create_partitions_async(topic, count as usize, true).await?;
    let ids: Vec<i32> = t
        .partitions
        .iter()
        .filter(|p| p.leader.is_some())
        .map(|p| p.id)
        .collect();
    let marks = watermarks(client, topic, &ids).await?;
    let ranges: Vec<(i32, i64, i64)> = marks
        .iter()
        .map(|(p, start, end)| (*p, (*end - SAMPLE_PER_PARTITION).max(*start), *end))
        .collect();
    let (tp, budget) = (topic.to_string(), client.spec().timeout.min(Duration::from_secs(5)));
    let keys = blocking(client, "read recent keys", move |c| {
        c.sample_keys_blocking(&tp, &ranges, SAMPLE_KEYS * 4, budget)
    })
    .await?;
    let mut seen = HashSet::new();
    let keys: Vec<Vec<u8>> = keys
        .into_iter()
        .filter(|k| seen.insert(k.clone()))
        .take(SAMPLE_KEYS)
        .collect();
    let mut moved_rows = Vec::new();
    let mut kept_rows = Vec::new();
    let (mut moved_m, mut moved_c) = (0, 0);
    for k in &keys {
        let (m0, m1) = (murmur2_partition(k, now), murmur2_partition(k, count));
        let (c0, c1) = (consistent_partition(k, now), consistent_partition(k, count));
        moved_m += usize::from(m0 != m1);
        moved_c += usize::from(c0 != c1);
        let cell = |a: i32, b: i32| {
            if a == b {
                format!("{a} (stays)")
            } else {
                format!("{a} -> {b}")
            }
        };
        let row = vec![key_text(k), cell(m0, m1), cell(c0, c1)];
        if m0 != m1 || c0 != c1 {
            moved_rows.push(row);
        } else {
            kept_rows.push(row);
        }
    }
    let mut rows = moved_rows;
    rows.extend(kept_rows);
    let shown = rows.len().min(KEY_ROWS);
    let more = rows.len() - shown;
    rows.truncate(shown);
    if more > 0 {
        rows.push(vec![format!("… {more} more keys"), String::new(), String::new()]);
    }
    let mut warnings = Vec::new();
    if keys.is_empty() {
        warnings.push(format!(
            "no keyed records among the last {SAMPLE_PER_PARTITION} of each partition: which keys move is unknown"
        ));
    } else {
        warnings.push(format!(
            "{} of {} sampled keys move to another partition with murmur2 (the Java client, and librdkafka's murmur2_random); {} with librdkafka's default consistent_random",
            moved_m,
            keys.len(),
            moved_c
        ));
    }
    warnings.push(
        "per-key ordering breaks across the change: records of a moved key written afterwards land on another partition and can be read before the older ones"
            .into(),
    );
    let summary = format!(
        "add {} to '{topic}' ({now} -> {count})",
        plural(count - now, "partition")
    );
    let mut plan = Plan::new(
        op,
        summary,
        Change::CreatePartitions {
            topic: topic.to_string(),
            count,
        },
    );
    plan.table = PlanTable {
        headers: vec!["key", "murmur2 (Java, strom)", "consistent_random (librdkafka)"],
        rows,
    };
    plan.warnings = warnings;
    plan.before = plural(now, "partition");
    plan.after = plural(count, "partition");
    Ok(plan)
}

async fn create_topic(client: &ClusterClient, md: &Metadata, op: Op) -> Result<Plan, ClusterError> {
    let Op::CreateTopic(spec) = &op else { unreachable!() };
    let what = op.describe();
    parse::validate_topic_name(&spec.name).map_err(|e| invalid(what.clone(), e))?;
    if md.topic(&spec.name).is_some() {
        return Err(ClusterError::Kafka {
            what,
            name: "TOPIC_ALREADY_EXISTS".into(),
            message: format!("topic '{}' already exists", spec.name),
        });
    }
    let key = parse::collision_key(&spec.name);
    if let Some(other) = md.topics.iter().find(|t| parse::collision_key(&t.name) == key) {
        return Err(ClusterError::Kafka {
            what,
            name: "INVALID_TOPIC_EXCEPTION".into(),
            message: format!(
                "topic '{}' collides with existing topic '{}' ('.' and '_' are the same in metric names)",
                spec.name, other.name
            ),
        });
    }
    if spec.partitions.is_some_and(|p| p < 1) {
        return Err(invalid(what, "the number of partitions must be at least 1"));
    }
    if spec.replication_factor.is_some_and(|r| r < 1) {
        return Err(invalid(what, "the replication factor must be at least 1"));
    }
    client.create_topic_async(spec, true).await?;
    let mut warnings = Vec::new();
    if spec.name.contains('.') || spec.name.contains('_') {
        warnings.push(
            "due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide; it is best to use either, but not both"
                .into(),
        );
    }
    let or_default = |v: Option<i32>| v.map_or_else(|| "cluster default".to_string(), |v| v.to_string());
    let mut rows = vec![
        vec!["name".to_string(), spec.name.clone()],
        vec!["partitions".to_string(), or_default(spec.partitions)],
        vec!["replication factor".to_string(), or_default(spec.replication_factor)],
    ];
    for (k, v) in &spec.configs {
        rows.push(vec![k.clone(), parse::value_text(k, v)]);
    }
    let after = format!(
        "partitions={} replication={}{}",
        or_default(spec.partitions),
        or_default(spec.replication_factor),
        spec.configs
            .iter()
            .map(|(k, v)| format!(" {k}={v}"))
            .collect::<String>()
    );
    let mut plan = Plan::new(
        op.clone(),
        format!("create topic '{}'", spec.name),
        Change::CreateTopic(spec.clone()),
    );
    plan.table = PlanTable {
        headers: vec!["setting", "value"],
        rows,
    };
    plan.warnings = warnings;
    plan.before = "absent".into();
    plan.after = after;
    Ok(plan)
}

async fn delete_topic(client: &ClusterClient, t: &TopicMeta, op: Op) -> Result<Plan, ClusterError> {
    let ids: Vec<i32> = t
        .partitions
        .iter()
        .filter(|p| p.leader.is_some())
        .map(|p| p.id)
        .collect();
    let marks = watermarks(client, &t.name, &ids).await?;
    let records: i64 = marks.iter().map(|(_, s, e)| (e - s).max(0)).sum();
    let mut warnings = vec![format!(
        "every record of '{}' is deleted; consumers and producers of it get UNKNOWN_TOPIC_OR_PARTITION",
        t.name
    )];
    if t.internal {
        warnings.push(format!("'{}' is an internal topic of the cluster", t.name));
    }
    let rows = vec![
        vec!["partitions".to_string(), t.partitions.len().to_string()],
        vec!["records".to_string(), human::count(records)],
    ];
    let mut plan = Plan::new(
        op.clone(),
        format!("delete topic '{}' and its {}", t.name, plural(records, "record")),
        Change::DeleteTopic { topic: t.name.clone() },
    );
    plan.table = PlanTable {
        headers: vec!["topic", "now"],
        rows,
    };
    plan.warnings = warnings;
    plan.before = format!(
        "{} with {}",
        plural(t.partitions.len() as i64, "partition"),
        plural(records, "record")
    );
    plan.after = "deleted".into();
    plan.confirm_text = Some(t.name.clone());
    Ok(plan)
}

async fn delete_records(
    client: &ClusterClient,
    topic: &str,
    partition: i32,
    before: i64,
    op: Op,
) -> Result<Plan, ClusterError> {
    let what = op.describe();
    let marks = watermarks(client, topic, &[partition]).await.map_err(|e| match e {
        ClusterError::Kafka { name, .. } if name == "UNKNOWN_TOPIC_OR_PARTITION" => {
            invalid(what.clone(), format!("partition {topic}:{partition} does not exist"))
        }
        e => e,
    })?;
    let (_, start, end) = marks[0];
    let target = if before == -1 { end } else { before };
    if target < -1 || target > end {
        return Err(ClusterError::Kafka {
            what,
            name: "OFFSET_OUT_OF_RANGE".into(),
            message: format!("offset {before} is beyond the high watermark {end} of {topic}:{partition}"),
        });
    }
    let n = (target - start).max(0);
    let mut warnings = Vec::new();
    let change = if n == 0 {
        warnings.push(format!(
            "the log of {topic}:{partition} already starts at {start}: nothing to delete"
        ));
        Change::Nothing
    } else {
        Change::DeleteRecords {
            topic: topic.to_string(),
            partition,
            before: target,
        }
    };
    let mut plan = Plan::new(
        op,
        format!(
            "delete {} of {topic}:{partition} (offsets {start} to {})",
            plural(n, "record"),
            target - 1
        ),
        change,
    );
    plan.table = PlanTable {
        headers: vec![
            "partition",
            "log start",
            "log start after",
            "high watermark",
            "records deleted",
        ],
        rows: vec![vec![
            format!("{topic}:{partition}"),
            start.to_string(),
            target.max(start).to_string(),
            end.to_string(),
            n.to_string(),
        ]],
    };
    plan.warnings = warnings;
    plan.before = format!("log start {start}");
    plan.after = format!("log start {}", target.max(start));
    Ok(plan)
}

fn produce(t: &TopicMeta, r: Record, op: Op) -> Result<Plan, ClusterError> {
    let n = t.partitions.len() as i32;
    let partition = match (r.partition, &r.key) {
        (Some(p), _) if !(0..n).contains(&p) => {
            return Err(invalid(
                op.describe(),
                format!(
                    "topic '{}' has no partition {p} (it has {})",
                    t.name,
                    plural(n, "partition")
                ),
            ))
        }
        (Some(p), _) => format!("{p}"),
        (None, Some(k)) => format!("{} (murmur2 of the key)", murmur2_partition(k, n)),
        (None, None) => "any (no key: the partitioner chooses)".into(),
    };
    let preview = |b: &Option<Vec<u8>>| match b {
        None => "(null)".to_string(),
        Some(b) => {
            let t = key_text(b);
            format!("{t} ({})", human::bytes(b.len() as i64))
        }
    };
    let mut rows = vec![
        vec!["topic".to_string(), t.name.clone()],
        vec!["partition".to_string(), partition.clone()],
        vec!["key".to_string(), preview(&r.key)],
        vec!["value".to_string(), preview(&r.value)],
    ];
    for (k, v) in &r.headers {
        rows.push(vec![format!("header {k}"), key_text(v)]);
    }
    let mut plan = Plan::new(
        op,
        format!("produce one record to '{}', partition {partition}", t.name),
        Change::Produce(r),
    );
    plan.table = PlanTable {
        headers: vec!["record", "value"],
        rows,
    };
    plan.before = "-".into();
    plan.after = format!("one record on '{}'", t.name);
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_show_as_text_or_hex_and_are_cut() {
        assert_eq!(key_text(b"device-7"), "device-7");
        assert_eq!(key_text(b"\x00\x01"), "0x0001");
        assert_eq!(key_text("x".repeat(50).as_bytes()).chars().count(), 40);
    }
}
