//! Editing a topic's configs: the plan shows each config's value now and after, its default
//! (what the topic inherits without an override) and where its value comes from now; for a
//! shorter retention it estimates what would be deleted at the next retention check (records
//! from ListOffsets by time, bytes from DescribeLogDirs sizes, segments from `segment.bytes`).
//! Applied with IncrementalAlterConfigs, which keeps the topic's other overrides; only a
//! cluster without it gets the legacy AlterConfigs, with every override restated, and the
//! result says so.

use std::collections::HashMap;

use crate::cluster::client::{ClusterClient, Queries};
use crate::cluster::error::ClusterError;
use crate::cluster::ffi::{ConfigAlteration, ConfigChange, OffsetSpec, ResourceKind};
use crate::cluster::model::{human, ConfigEntry};
use crate::cluster::ops::{blocking, invalid, plural, Applied, Change, Env, Op, Plan, PlanTable};

pub(super) async fn plan(client: &ClusterClient, op: Op, env: &Env) -> Result<Plan, ClusterError> {
    let Op::AlterTopicConfigs { topic, set, delete } = &op else {
        unreachable!("configs::plan is only called for AlterTopicConfigs")
    };
    if set.is_empty() && delete.is_empty() {
        return Err(invalid(op.describe(), "no config to set or delete"));
    }
    let current = client.topic_configs(topic.clone(), None).await?;
    let by_name: HashMap<&str, &ConfigEntry> = current.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    let mut changes = false;
    let mut before = Vec::new();
    let mut after = Vec::new();
    let shown = |name: &str, v: Option<&String>| match v {
        Some(v) => super::parse::value_text(name, v),
        None => "-".into(),
    };
    for (name, new) in set {
        let entry = by_name.get(name.as_str());
        match entry {
            None => warnings.push(format!(
                "'{name}' is not among the configs the cluster reports for '{topic}'"
            )),
            Some(e) if e.read_only => {
                return Err(invalid(op.describe(), format!("'{name}' is read-only on this cluster")))
            }
            _ => {}
        }
        let old = entry.and_then(|e| e.value.as_ref());
        changes |= old != Some(new) || !entry.is_some_and(|e| e.source.is_override());
        before.push(format!("{name}={}", old.map_or("-", String::as_str)));
        after.push(format!("{name}={new}"));
        rows.push(vec![
            name.clone(),
            shown(name, old),
            shown(name, Some(new)),
            shown(name, entry.and_then(|e| e.default_value.as_ref())),
            entry.map_or_else(|| "-".into(), |e| e.source.label().to_string()),
        ]);
    }
    for name in delete {
        let entry = by_name.get(name.as_str());
        let overridden = entry.is_some_and(|e| e.source.is_override());
        changes |= overridden;
        if !overridden {
            warnings.push(format!(
                "'{name}' is not overridden on '{topic}': deleting it changes nothing"
            ));
        }
        let default = entry.and_then(|e| e.default_value.as_ref());
        before.push(format!(
            "{name}={}",
            entry.and_then(|e| e.value.as_deref()).unwrap_or("-")
        ));
        after.push(format!("{name}=(inherited {})", default.map_or("-", String::as_str)));
        rows.push(vec![
            name.clone(),
            shown(name, entry.and_then(|e| e.value.as_ref())),
            format!("{} (inherited)", shown(name, default)),
            shown(name, default),
            entry.map_or_else(|| "-".into(), |e| e.source.label().to_string()),
        ]);
    }
    // What a shorter retention deletes now.
    let effective = |name: &str| -> Option<i64> {
        if let Some((_, v)) = set.iter().find(|(k, _)| k == name) {
            return v.parse().ok();
        }
        let e = by_name.get(name)?;
        let v = if delete.iter().any(|d| d == name) {
            e.default_value.as_ref()?
        } else {
            e.value.as_ref()?
        };
        v.parse().ok()
    };
    let touches_retention = set
        .iter()
        .map(|(k, _)| k.as_str())
        .chain(delete.iter().map(String::as_str))
        .any(|k| k == "retention.ms" || k == "retention.bytes");
    if changes && touches_retention {
        let ms = effective("retention.ms").filter(|v| *v >= 0);
        let bytes = effective("retention.bytes").filter(|v| *v >= 0);
        let segment = effective("segment.bytes").filter(|v| *v > 0);
        match retention_impact(client, topic, ms, bytes, segment, env.now_ms).await {
            Ok(Some(line)) => warnings.push(line),
            Ok(None) => {}
            Err(e) => warnings.push(format!("what the new retention deletes is unknown: {e}")),
        }
    }
    let overrides = current
        .iter()
        .filter(|c| c.source.is_override())
        .filter_map(|c| Some((c.name.clone(), c.value.clone()?)))
        .collect();
    let change = if changes {
        Change::AlterConfigs {
            topic: topic.clone(),
            set: set.clone(),
            delete: delete.clone(),
            overrides,
        }
    } else {
        Change::Nothing
    };
    let summary = format!(
        "{}: {} set, {} back to inherited",
        op.describe(),
        set.len(),
        delete.len()
    );
    let mut plan = Plan::new(op, summary, change);
    plan.table = PlanTable {
        headers: vec!["config", "now", "after", "default", "now from"],
        rows,
    };
    plan.warnings = warnings;
    plan.before = before.join(" ");
    plan.after = after.join(" ");
    Ok(plan)
}

/// Records, bytes and segments the retention `ms`/`bytes` would delete now, or None when
/// nothing.
async fn retention_impact(
    client: &ClusterClient,
    topic: &str,
    ms: Option<i64>,
    bytes: Option<i64>,
    segment_bytes: Option<i64>,
    now_ms: i64,
) -> Result<Option<String>, ClusterError> {
    if ms.is_none() && bytes.is_none() {
        return Ok(None);
    }
    let md = blocking(client, "metadata", |c| c.metadata_blocking()).await?;
    let Some(t) = md.topic(topic) else {
        return Err(invalid(format!("topic '{topic}'"), "does not exist"));
    };
    let parts: Vec<(i32, Option<i32>)> = t.partitions.iter().map(|p| (p.id, p.leader)).collect();
    let ask = |spec: OffsetSpec| -> Vec<(String, i32, OffsetSpec)> {
        parts.iter().map(|(p, _)| (topic.to_string(), *p, spec)).collect()
    };
    let offsets = |asks: Vec<(String, i32, OffsetSpec)>| {
        blocking(client, "list offsets", move |c| c.list_offsets_blocking(&asks))
    };
    let to_map = |list: Vec<crate::cluster::ffi::ListedOffset>| -> HashMap<i32, i64> {
        list.into_iter()
            .filter(|o| o.error.is_none())
            .map(|o| (o.partition, o.offset))
            .collect()
    };
    let starts = to_map(offsets(ask(OffsetSpec::Earliest)).await?);
    let ends = to_map(offsets(ask(OffsetSpec::Latest)).await?);
    let by_time = match ms {
        Some(ms) => Some(to_map(
            offsets(ask(OffsetSpec::Timestamp(now_ms.saturating_sub(ms)))).await?,
        )),
        None => None,
    };
    // Sizes of the leaders' replicas.
    let mut sizes: HashMap<i32, u64> = HashMap::new();
    let mut sizes_known = true;
    for b in md.brokers.iter() {
        if !parts.iter().any(|(_, l)| *l == Some(b.id)) {
            continue;
        }
        let broker = b.clone();
        match blocking(client, "describe log dirs", move |c| c.log_dirs_blocking(&broker)).await {
            Ok(map) => {
                for (p, leader) in &parts {
                    if *leader == Some(b.id) {
                        if let Some(s) = map.get(topic, *p) {
                            sizes.insert(*p, s);
                        }
                    }
                }
            }
            Err(_) => sizes_known = false,
        }
    }
    let (mut records, mut deleted_bytes, mut segments, mut touched) = (0i64, 0u64, 0u64, 0usize);
    for (p, _) in &parts {
        let (Some(&start), Some(&end)) = (starts.get(p), ends.get(p)) else {
            continue;
        };
        let retained = (end - start).max(0);
        if retained == 0 {
            continue;
        }
        let size = sizes.get(p).copied();
        let mut n = 0i64;
        if let Some(bt) = &by_time {
            // The first offset at or after the cut-off; none (-1): every record is older.
            let first_kept = match bt.get(p) {
                Some(o) if *o >= 0 => *o,
                _ => end,
            };
            n = n.max(first_kept - start);
        }
        if let (Some(limit), Some(size)) = (bytes, size) {
            let over = size as i64 - limit;
            if over > 0 && size > 0 {
                n = n.max((retained as f64 * over as f64 / size as f64).ceil() as i64);
            }
        }
        let n = n.clamp(0, retained);
        if n == 0 {
            continue;
        }
        touched += 1;
        records += n;
        if let Some(size) = size {
            let b = (size as f64 * n as f64 / retained as f64) as u64;
            deleted_bytes += b;
            if let Some(seg) = segment_bytes {
                segments += b / seg as u64;
            }
        }
    }
    if records == 0 {
        return Ok(Some(
            "deletes now: nothing; every record is within the new retention".to_string(),
        ));
    }
    let size_text = if sizes_known && !sizes.is_empty() {
        format!(
            ", about {} in about {} (whole segments only; the active segment stays)",
            human::bytes(deleted_bytes as i64),
            plural(segments as i64, "segment")
        )
    } else {
        " (sizes unknown: the cluster did not answer DescribeLogDirs)".to_string()
    };
    Ok(Some(format!(
        "deletes now: up to {} in {} of {}{size_text}, at the next retention check",
        plural(records, "record"),
        plural(touched as i64, "partition"),
        parts.len()
    )))
}

pub(super) async fn apply(client: &ClusterClient, plan: &Plan) -> Result<(Applied, String), ClusterError> {
    let Change::AlterConfigs {
        topic,
        set,
        delete,
        overrides,
    } = &plan.change
    else {
        unreachable!("configs::apply is only called for AlterConfigs")
    };
    let mut changes: Vec<(String, ConfigChange)> = set
        .iter()
        .map(|(k, v)| (k.clone(), ConfigChange::Set(v.clone())))
        .collect();
    changes.extend(delete.iter().map(|k| (k.clone(), ConfigChange::Delete)));
    let alteration = ConfigAlteration {
        kind: ResourceKind::Topic,
        name: topic.clone(),
        changes,
    };
    let incremental = blocking(client, "alter configs", move |c| {
        c.alter_configs_blocking(&[alteration])
    })
    .await;
    let what = plan.op.describe();
    match incremental {
        Ok(outcomes) => {
            if let Some(e) = outcomes.into_iter().find_map(|o| o.error) {
                return Err(e);
            }
            Ok((
                Applied {
                    summary: format!("{what}: done"),
                    warnings: Vec::new(),
                },
                plan.after.clone(),
            ))
        }
        Err(ClusterError::Unsupported { .. }) => {
            // Only the legacy AlterConfigs: it replaces every override, so restate them all.
            let mut full: Vec<(String, String)> = overrides
                .iter()
                .filter(|(k, _)| !delete.contains(k) && !set.iter().any(|(s, _)| s == k))
                .cloned()
                .collect();
            full.extend(set.iter().cloned());
            client.replace_topic_configs_async(topic, &full).await?;
            Ok((
                Applied {
                    summary: format!("{what}: done with the legacy AlterConfigs (the cluster lacks IncrementalAlterConfigs), restating the topic's {}", plural(full.len() as i64, "override")),
                    warnings: vec!["the cluster lacks IncrementalAlterConfigs: used AlterConfigs, which replaces all of the topic's overrides (they were restated as planned)".into()],
                },
                plan.after.clone(),
            ))
        }
        Err(e) => Err(e),
    }
}
