//! Resetting a group's committed offsets, as `kafka-consumer-groups.sh --reset-offsets` does:
//! the same targets (earliest, latest, an offset, a shift, a date-time, a duration ago, and a
//! CSV file; plus another group's offsets), the same clamping to [log start, log end], the same
//! refusal while the group has active members, and the same CSV (`topic,partition,offset`, or
//! `group,topic,partition,offset`). The group's previous offsets are saved in the journal
//! before the reset is applied, and [`Op::UndoReset`] plans putting them back.

use std::collections::{BTreeMap, HashMap};

use crate::cluster::client::ClusterClient;
use crate::cluster::error::ClusterError;
use crate::cluster::ffi::{CommittedOffset, OffsetSpec};
use crate::cluster::ops::journal::{SavedOffset, SavedReset};
use crate::cluster::ops::{blocking, invalid, parse, plural, Applied, Change, Env, Op, Plan, PlanTable};

/// Which partitions a reset moves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResetScope {
    /// These topics, each with every partition (None) or the listed ones.
    Topics(Vec<(String, Option<Vec<i32>>)>),
    /// Every partition the group has committed offsets for (with `FromFile`: the file's).
    AllTopics,
}

impl ResetScope {
    /// `--topic T` or `--topic T:0,2,5`.
    pub fn parse_topic(text: &str) -> Result<(String, Option<Vec<i32>>), String> {
        match text.split_once(':') {
            None => {
                parse::validate_topic_name(text)?;
                Ok((text.to_string(), None))
            }
            Some((t, parts)) => {
                parse::validate_topic_name(t)?;
                let ps: Result<Vec<i32>, String> = parts
                    .split(',')
                    .map(|p| {
                        p.trim()
                            .parse::<i32>()
                            .ok()
                            .filter(|p| *p >= 0)
                            .ok_or_else(|| format!("'{text}': '{p}' is not a partition number"))
                    })
                    .collect();
                Ok((t.to_string(), Some(ps?)))
            }
        }
    }
}

/// Where the offsets go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResetTarget {
    Earliest,
    Latest,
    Offset(i64),
    ShiftBy(i64),
    /// The first offset at or after this time (ms since the epoch).
    DateTime(i64),
    /// The first offset at or after now minus this many ms.
    Duration(i64),
    /// Another group's committed offsets.
    FromGroup(String),
    /// (topic, partition, offset) rows, as `--from-file` reads them.
    FromFile(Vec<(String, i32, i64)>),
}

impl ResetTarget {
    fn describe(&self) -> String {
        match self {
            ResetTarget::Earliest => "to the earliest offsets".into(),
            ResetTarget::Latest => "to the latest offsets".into(),
            ResetTarget::Offset(o) => format!("to offset {o}"),
            ResetTarget::ShiftBy(n) => format!("shifted by {n:+}"),
            ResetTarget::DateTime(ms) => format!("to {}", parse::format_ms(*ms)),
            ResetTarget::Duration(ms) => format!("to {} ago", crate::cluster::model::human::duration_ms(*ms)),
            ResetTarget::FromGroup(g) => format!("to group '{g}''s offsets"),
            ResetTarget::FromFile(rows) => format!("from a file ({})", plural(rows.len() as i64, "row")),
        }
    }
}

/// The offsets as `kafka-consumer-groups.sh --export` writes them for one group:
/// `topic,partition,offset` lines, no header.
pub fn to_csv(offsets: &[(String, i32, i64)]) -> String {
    offsets.iter().map(|(t, p, o)| format!("{t},{p},{o}\n")).collect()
}

/// Reads a `--from-file` CSV for `group`: `topic,partition,offset` lines, or
/// `group,topic,partition,offset` lines naming this group. Blank lines are skipped.
pub fn parse_csv(text: &str, group: &str) -> Result<Vec<(String, i32, i64)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let n = i + 1;
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let (t, p, o) = match cols.as_slice() {
            [t, p, o] => (*t, *p, *o),
            [g, t, p, o] => {
                if *g != group {
                    return Err(format!("line {n}: group '{g}' is not '{group}'"));
                }
                (*t, *p, *o)
            }
            _ => {
                return Err(format!(
                    "line {n}: expected topic,partition,offset (or group,topic,partition,offset), got '{line}'"
                ))
            }
        };
        parse::validate_topic_name(t).map_err(|e| format!("line {n}: {e}"))?;
        let p: i32 = p
            .parse()
            .ok()
            .filter(|p| *p >= 0)
            .ok_or_else(|| format!("line {n}: '{p}' is not a partition number"))?;
        let o: i64 = o
            .parse()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| format!("line {n}: '{o}' is not an offset"))?;
        out.push((t.to_string(), p, o));
    }
    if out.is_empty() {
        return Err("the file has no offsets".into());
    }
    Ok(out)
}

/// Kafka's refusal for a group that is not Empty or Dead.
fn check_inactive(group: &str, state: &str, members: usize, what: &str) -> Result<(), ClusterError> {
    if (state == "Empty" || state == "Dead") && members == 0 {
        return Ok(());
    }
    Err(ClusterError::Refused {
        what: what.to_string(),
        reason: format!(
            "Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}."
        ),
    })
}

type Tp = (String, i32);

pub(super) async fn plan(client: &ClusterClient, op: Op, env: &Env) -> Result<Plan, ClusterError> {
    let what = op.describe();
    let group = match &op {
        Op::ResetOffsets { group, .. } | Op::UndoReset { group } => group.clone(),
        _ => unreachable!("reset::plan is only called for resets"),
    };
    let g = group.clone();
    let summary = blocking(client, "describe group", move |c| c.group_blocking(&g)).await?;
    check_inactive(&group, &summary.state, summary.members, &what)?;
    let md = blocking(client, "metadata", |c| c.metadata_blocking()).await?;
    let cluster_key = md.cluster_id.clone().unwrap_or_else(|| client.spec().name.clone());

    // The partitions to move, and for an undo the offsets to restore.
    let mut restore: Option<(SavedReset, HashMap<Tp, Option<i64>>)> = None;
    let parts: Vec<Tp> = match &op {
        Op::UndoReset { .. } => {
            let saved = env.journal.last_offsets(&cluster_key, &group).ok_or_else(|| {
                invalid(
                    what.clone(),
                    format!(
                        "no saved offsets for group '{group}' on {} (strom saves them when it resets a group's offsets)",
                        client.spec().name
                    ),
                )
            })?;
            let map: HashMap<Tp, Option<i64>> = saved
                .offsets
                .iter()
                .map(|s| ((s.topic.clone(), s.partition), s.offset))
                .collect();
            let parts = saved.offsets.iter().map(|s| (s.topic.clone(), s.partition)).collect();
            restore = Some((saved, map));
            parts
        }
        Op::ResetOffsets { scope, target, .. } => {
            let in_scope = |t: &str, p: i32| match scope {
                ResetScope::AllTopics => true,
                ResetScope::Topics(list) => list
                    .iter()
                    .any(|(lt, ps)| lt == t && ps.as_ref().is_none_or(|ps| ps.contains(&p))),
            };
            let mut parts: Vec<Tp> = match (scope, target) {
                (_, ResetTarget::FromFile(rows)) => rows
                    .iter()
                    .filter(|(t, p, _)| in_scope(t, *p))
                    .map(|(t, p, _)| (t.clone(), *p))
                    .collect(),
                (ResetScope::AllTopics, _) => {
                    let g = group.clone();
                    blocking(client, "list committed offsets", move |c| {
                        c.committed_blocking(&g, None)
                    })
                    .await?
                    .into_iter()
                    .filter(|c| c.offset.is_some())
                    .map(|c| (c.topic, c.partition))
                    .collect()
                }
                (ResetScope::Topics(list), _) => {
                    let mut v = Vec::new();
                    for (t, ps) in list {
                        let meta = md
                            .topic(t)
                            .ok_or_else(|| invalid(what.clone(), format!("topic '{t}' does not exist")))?;
                        match ps {
                            None => v.extend(meta.partitions.iter().map(|p| (t.clone(), p.id))),
                            Some(ps) => v.extend(ps.iter().map(|p| (t.clone(), *p))),
                        }
                    }
                    v
                }
            };
            parts.sort();
            parts.dedup();
            parts
        }
        _ => unreachable!(),
    };
    if parts.is_empty() {
        return Err(invalid(
            what,
            match &op {
                Op::ResetOffsets {
                    scope: ResetScope::AllTopics,
                    ..
                } => format!("group '{group}' has no committed offsets; name the topics with --topic"),
                _ => "no partitions to reset".to_string(),
            },
        ));
    }
    for (t, p) in &parts {
        let exists = md.topic(t).is_some_and(|m| m.partitions.iter().any(|x| x.id == *p));
        if !exists && restore.is_none() {
            return Err(invalid(what, format!("partition {t}:{p} does not exist")));
        }
    }

    // Current, earliest and latest offsets.
    let (g, ps) = (group.clone(), parts.clone());
    let committed = blocking(client, "list committed offsets", move |c| {
        c.committed_blocking(&g, Some(&ps))
    })
    .await?;
    let current: HashMap<Tp, Option<i64>> = committed
        .into_iter()
        .map(|c: CommittedOffset| ((c.topic, c.partition), c.offset))
        .collect();
    let list = |spec: OffsetSpec| {
        let asks: Vec<(String, i32, OffsetSpec)> = parts.iter().map(|(t, p)| (t.clone(), *p, spec)).collect();
        blocking(client, "list offsets", move |c| c.list_offsets_blocking(&asks))
    };
    let to_map = |v: Vec<crate::cluster::ffi::ListedOffset>| -> Result<HashMap<Tp, i64>, ClusterError> {
        let mut m = HashMap::new();
        for o in v {
            if let Some(e) = o.error {
                return Err(e);
            }
            m.insert((o.topic, o.partition), o.offset);
        }
        Ok(m)
    };
    let starts = to_map(list(OffsetSpec::Earliest).await?)?;
    let ends = to_map(list(OffsetSpec::Latest).await?)?;

    let mut warnings = Vec::new();
    let mut new: BTreeMap<Tp, Option<i64>> = BTreeMap::new();
    match (&op, &restore) {
        (Op::UndoReset { .. }, Some((_, map))) => {
            for tp in &parts {
                new.insert(tp.clone(), map.get(tp).copied().flatten());
            }
        }
        (Op::ResetOffsets { target, .. }, _) => {
            let by_time = match target {
                ResetTarget::DateTime(ms) => Some(*ms),
                ResetTarget::Duration(d) => Some(env.now_ms.saturating_sub(*d)),
                _ => None,
            };
            let timed = match by_time {
                Some(ms) => Some(to_map(list(OffsetSpec::Timestamp(ms)).await?)?),
                None => None,
            };
            let other = match target {
                ResetTarget::FromGroup(g2) => {
                    let (g2, ps) = (g2.clone(), parts.clone());
                    let list = blocking(client, "list committed offsets", move |c| {
                        c.committed_blocking(&g2, Some(&ps))
                    })
                    .await?;
                    Some(
                        list.into_iter()
                            .filter_map(|c| Some(((c.topic, c.partition), c.offset?)))
                            .collect::<HashMap<Tp, i64>>(),
                    )
                }
                _ => None,
            };
            let file: HashMap<Tp, i64> = match target {
                ResetTarget::FromFile(rows) => rows.iter().map(|(t, p, o)| ((t.clone(), *p), *o)).collect(),
                _ => HashMap::new(),
            };
            let mut at_end = 0;
            let mut missing = Vec::new();
            for tp in &parts {
                let (start, end) = (starts.get(tp).copied().unwrap_or(0), ends.get(tp).copied().unwrap_or(0));
                let clamp = |o: i64| o.clamp(start, end.max(start));
                let cur = current.get(tp).copied().flatten();
                let o = match target {
                    ResetTarget::Earliest => start,
                    ResetTarget::Latest => end,
                    ResetTarget::Offset(o) => clamp(*o),
                    ResetTarget::ShiftBy(n) => match cur {
                        Some(c) => clamp(c.saturating_add(*n)),
                        None => {
                            return Err(invalid(
                                what,
                                format!(
                                    "cannot shift the offset of {}:{} since the group has no committed offset there",
                                    tp.0, tp.1
                                ),
                            ))
                        }
                    },
                    ResetTarget::DateTime(_) | ResetTarget::Duration(_) => {
                        match timed.as_ref().and_then(|m| m.get(tp)).copied() {
                            Some(o) if o >= 0 => o,
                            _ => {
                                at_end += 1;
                                end
                            }
                        }
                    }
                    ResetTarget::FromGroup(_) => match other.as_ref().and_then(|m| m.get(tp)) {
                        Some(o) => clamp(*o),
                        None => {
                            missing.push(format!("{}:{}", tp.0, tp.1));
                            continue;
                        }
                    },
                    ResetTarget::FromFile(_) => clamp(file.get(tp).copied().unwrap_or(start)),
                };
                new.insert(tp.clone(), Some(o));
            }
            if at_end > 0 {
                warnings.push(format!(
                    "{} no record at or after that time: they go to the log end",
                    if at_end == 1 {
                        "1 partition has".to_string()
                    } else {
                        format!("{at_end} partitions have")
                    }
                ));
            }
            if !missing.is_empty() {
                if let ResetTarget::FromGroup(g2) = target {
                    warnings.push(format!(
                        "group '{g2}' has no committed offset for {}: left as they are",
                        missing.join(", ")
                    ));
                }
            }
            if new.is_empty() {
                return Err(invalid(what, "none of the partitions has an offset to reset to"));
            }
        }
        _ => unreachable!(),
    }

    // The table, the change and the totals.
    let mut rows = Vec::new();
    let (mut skipped, mut reread) = (0i64, 0i64);
    let mut offsets = Vec::new();
    let mut delete = Vec::new();
    let mut save = Vec::new();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let mut changes = false;
    for (tp, o) in &new {
        let cur = current.get(tp).copied().flatten();
        let end = ends.get(tp).copied().unwrap_or(0);
        let text = |o: Option<i64>| o.map_or_else(|| "-".to_string(), |o| o.to_string());
        let delta = match (cur, *o) {
            (Some(c), Some(n)) if n > c => {
                skipped += n - c;
                format!("skips {}", n - c)
            }
            (Some(c), Some(n)) if n < c => {
                reread += c - n;
                format!("re-reads {}", c - n)
            }
            (None, Some(_)) => "new".to_string(),
            (Some(_), None) => "removed".to_string(),
            _ => "-".to_string(),
        };
        changes |= cur != *o;
        rows.push(vec![
            tp.0.clone(),
            tp.1.to_string(),
            text(cur),
            text(*o),
            o.map_or_else(|| "-".into(), |o| (end - o).max(0).to_string()),
            delta,
        ]);
        match o {
            Some(o) => offsets.push((tp.0.clone(), tp.1, *o)),
            None => {
                if cur.is_some() {
                    delete.push(tp.clone())
                }
            }
        }
        save.push(SavedOffset {
            topic: tp.0.clone(),
            partition: tp.1,
            offset: cur,
        });
        before.push(format!("{}:{}={}", tp.0, tp.1, text(cur)));
        after.push(format!("{}:{}={}", tp.0, tp.1, text(*o)));
    }
    if skipped > 0 {
        warnings.push(format!(
            "the group will skip {} it has not read",
            plural(skipped, "record")
        ));
    }
    if reread > 0 {
        warnings.push(format!("the group will read {} again", plural(reread, "record")));
    }
    let summary = match &op {
        Op::ResetOffsets { target, .. } => format!(
            "{what} {}: {}",
            target.describe(),
            plural(new.len() as i64, "partition")
        ),
        _ => format!(
            "{what}: restore the offsets saved {}",
            restore.as_ref().map_or("", |(s, _)| s.time.as_str())
        ),
    };
    let change = if !changes {
        Change::Nothing
    } else {
        Change::CommitOffsets {
            group: group.clone(),
            cluster_key,
            offsets: offsets.clone(),
            delete,
            save: match &op {
                Op::ResetOffsets { .. } => Some(SavedReset {
                    time: parse::format_ms(env.now_ms),
                    offsets: save,
                }),
                _ => None,
            },
            undoes: restore.map(|(s, _)| s),
        }
    };
    let mut plan = Plan::new(op, summary, change);
    plan.table = PlanTable {
        headers: vec!["topic", "partition", "current", "new", "lag after", "change"],
        rows,
    };
    plan.warnings = warnings;
    plan.before = before.join(" ");
    plan.after = after.join(" ");
    plan.csv = Some(to_csv(&offsets));
    Ok(plan)
}

pub(super) async fn apply(client: &ClusterClient, plan: &Plan, env: &Env) -> Result<(Applied, String), ClusterError> {
    let Change::CommitOffsets {
        group,
        cluster_key,
        offsets,
        delete,
        save,
        undoes,
    } = &plan.change
    else {
        unreachable!("reset::apply is only called for CommitOffsets")
    };
    let what = plan.op.describe();
    // The group may have come back since the plan.
    let g = group.clone();
    let summary = blocking(client, "describe group", move |c| c.group_blocking(&g)).await?;
    check_inactive(group, &summary.state, summary.members, &what)?;
    if let Some(saved) = save {
        env.journal
            .save_offsets(cluster_key, group, saved)
            .map_err(|e| invalid(what.clone(), format!("{e}; nothing was changed")))?;
    }
    let result = async {
        if !offsets.is_empty() {
            let (g, o) = (group.clone(), offsets.clone());
            let outcomes = blocking(client, "alter committed offsets", move |c| {
                c.alter_group_offsets_blocking(&g, &o)
            })
            .await?;
            if let Some(e) = outcomes.into_iter().find_map(|o| o.error) {
                return Err(e);
            }
        }
        if !delete.is_empty() {
            let (g, d) = (group.clone(), delete.clone());
            let outcomes = blocking(client, "delete committed offsets", move |c| {
                c.delete_group_offsets_blocking(&g, &d)
            })
            .await?;
            if let Some(e) = outcomes.into_iter().find_map(|o| o.error) {
                return Err(e);
            }
        }
        Ok(())
    }
    .await;
    let mut warnings = Vec::new();
    if let Err(e) = result {
        // Nothing to undo: forget the saved offsets again.
        if let Some(saved) = save {
            let _ = env.journal.drop_last_offsets(cluster_key, group, saved);
        }
        return Err(e);
    }
    if let Some(done) = undoes {
        if let Err(e) = env.journal.drop_last_offsets(cluster_key, group, done) {
            warnings.push(e);
        }
    }
    let n = offsets.len() + delete.len();
    Ok((
        Applied {
            summary: format!(
                "{what}: {} committed{}",
                plural(n as i64, "partition"),
                if save.is_some() {
                    " (previous offsets saved for undo)"
                } else {
                    ""
                }
            ),
            warnings,
        },
        plan.after.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_is_kafkas_and_round_trips() {
        let rows = vec![("orders".to_string(), 0, 5), ("orders".to_string(), 1, 7)];
        let text = to_csv(&rows);
        assert_eq!(text, "orders,0,5\norders,1,7\n");
        assert_eq!(parse_csv(&text, "g"), Ok(rows.clone()));
        assert_eq!(parse_csv("g,orders,0,5\n\ng,orders,1,7", "g"), Ok(rows));
        assert!(parse_csv("other,orders,0,5", "g").unwrap_err().contains("line 1"));
        assert!(parse_csv("orders,0", "g")
            .unwrap_err()
            .contains("expected topic,partition,offset"));
        assert!(parse_csv("orders,x,5", "g").unwrap_err().contains("'x'"));
        assert!(parse_csv("orders,0,-3", "g").is_err());
        assert!(parse_csv("\n", "g").is_err());
    }

    #[test]
    fn topics_with_partitions_parse_as_the_tool_writes_them() {
        assert_eq!(ResetScope::parse_topic("orders"), Ok(("orders".into(), None)));
        assert_eq!(
            ResetScope::parse_topic("orders:0,2"),
            Ok(("orders".into(), Some(vec![0, 2])))
        );
        assert!(ResetScope::parse_topic("orders:a").is_err());
        assert!(ResetScope::parse_topic("bad name").is_err());
    }

    #[test]
    fn only_an_inactive_group_is_reset_with_kafkas_reason() {
        assert!(check_inactive("g", "Empty", 0, "x").is_ok());
        assert!(check_inactive("g", "Dead", 0, "x").is_ok());
        let e = check_inactive("g", "Stable", 1, "reset offsets of group 'g'").unwrap_err();
        assert_eq!(
            e.to_string(),
            "reset offsets of group 'g' refused: Assignments can only be reset if the group 'g' is inactive, but the current state is Stable."
        );
    }
}
