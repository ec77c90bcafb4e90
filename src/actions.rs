//! The headless twins of the console's actions: `strom reset-offsets`, `add-partitions`,
//! `config set`, `topic create|delete`, `delete-records`, `group delete` and `produce`. Each
//! turns its flags (named as in Apache Kafka's own tools) into a `cluster::ops::Op`, plans it
//! against the cluster and prints the plan; with `--execute` it applies it through the same
//! `cluster::ops::apply` as the console's keys, which enforces read-only and writes the audit
//! log.
//!
//! Exit status: 0 when the plan was printed (and, with `--execute`, applied); 1 when the
//! cluster refused or could not be asked, or the connection is read-only and `--execute` was
//! given; 2 for a usage problem (bad flags, an unreadable file), before anything is sent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{json, Value};

use crate::cli::{
    AddPartitionsArgs, ConfigSetArgs, DeleteRecordsArgs, GroupDeleteArgs, ProduceArgs, ResetOffsetsArgs,
    TopicCreateArgs,
};
use crate::cluster::admin::{NewTopicSpec, Record};
use crate::cluster::client::ClusterClient;
use crate::cluster::connect::ConnectionSpec;
use crate::cluster::error::ClusterError;
use crate::cluster::ops::{self, parse, Applied, Env, Op, Plan, ResetScope, ResetTarget};

/// How to run one action.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub execute: bool,
    pub json: bool,
    /// Write the plan's offsets as CSV here (offset resets).
    pub export: Option<PathBuf>,
    /// Where the journal lives (audit log, saved offsets).
    pub state_dir: PathBuf,
}

/// `strom reset-offsets` as an operation.
pub fn reset_op(a: &ResetOffsetsArgs) -> Result<Op, String> {
    if a.undo {
        return Ok(Op::UndoReset { group: a.group.clone() });
    }
    let target = if a.to_earliest {
        ResetTarget::Earliest
    } else if a.to_latest {
        ResetTarget::Latest
    } else if let Some(o) = a.to_offset {
        if o < 0 {
            return Err(format!("--to-offset {o}: an offset is not negative"));
        }
        ResetTarget::Offset(o)
    } else if let Some(n) = a.shift_by {
        ResetTarget::ShiftBy(n)
    } else if let Some(t) = &a.to_datetime {
        ResetTarget::DateTime(parse::datetime_ms(t).map_err(|e| format!("--to-datetime: {e}"))?)
    } else if let Some(d) = &a.by_duration {
        let ms = parse::duration_ms(d).map_err(|e| format!("--by-duration: {e}"))?;
        if ms < 0 {
            return Err(format!("--by-duration {d}: the duration must not be negative"));
        }
        ResetTarget::Duration(ms)
    } else if let Some(g) = &a.from_group {
        ResetTarget::FromGroup(g.clone())
    } else if let Some(f) = &a.from_file {
        let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        ResetTarget::FromFile(parse_file(&text, &a.group).map_err(|e| format!("{}: {e}", f.display()))?)
    } else {
        return Err("say where the offsets go: --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime, --by-duration, --from-group, --from-file or --undo".into());
    };
    let scope = if a.all_topics {
        ResetScope::AllTopics
    } else if !a.topic.is_empty() {
        ResetScope::Topics(
            a.topic
                .iter()
                .map(|t| ResetScope::parse_topic(t).map_err(|e| format!("--topic {e}")))
                .collect::<Result<_, _>>()?,
        )
    } else if matches!(target, ResetTarget::FromFile(_)) {
        // The file names the partitions.
        ResetScope::AllTopics
    } else {
        return Err("say which partitions: --topic TOPIC[:P,P...] (repeatable) or --all-topics".into());
    };
    Ok(Op::ResetOffsets {
        group: a.group.clone(),
        scope,
        target,
    })
}

fn parse_file(text: &str, group: &str) -> Result<Vec<(String, i32, i64)>, String> {
    ops::parse_csv(text, group)
}

pub fn add_partitions_op(a: &AddPartitionsArgs) -> Result<Op, String> {
    parse::validate_topic_name(&a.topic)?;
    Ok(Op::AddPartitions {
        topic: a.topic.clone(),
        count: a.partitions,
    })
}

pub fn config_set_op(a: &ConfigSetArgs) -> Result<Op, String> {
    parse::validate_topic_name(&a.topic)?;
    let set = a
        .assignments
        .iter()
        .map(|s| parse::config_assignment(s))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(k) = a.delete.iter().find(|k| set.iter().any(|(s, _)| s == *k)) {
        return Err(format!("'{k}' is both set and deleted"));
    }
    Ok(Op::AlterTopicConfigs {
        topic: a.topic.clone(),
        set,
        delete: a.delete.clone(),
    })
}

pub fn create_topic_op(a: &TopicCreateArgs) -> Result<Op, String> {
    parse::validate_topic_name(&a.topic)?;
    let configs = a
        .configs
        .iter()
        .map(|s| parse::config_assignment(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Op::CreateTopic(NewTopicSpec {
        name: a.topic.clone(),
        partitions: a.partitions,
        replication_factor: a.replication_factor,
        configs,
    }))
}

pub fn delete_records_op(a: &DeleteRecordsArgs) -> Result<Op, String> {
    let (topic, p) = a
        .topic
        .rsplit_once(':')
        .ok_or_else(|| format!("--topic '{}': expected TOPIC:PARTITION", a.topic))?;
    parse::validate_topic_name(topic)?;
    let partition: i32 = p
        .parse()
        .ok()
        .filter(|p| *p >= 0)
        .ok_or_else(|| format!("--topic '{}': '{p}' is not a partition number", a.topic))?;
    if a.before < -1 {
        return Err(format!(
            "--before {}: an offset, or -1 for the high watermark",
            a.before
        ));
    }
    Ok(Op::DeleteRecords {
        topic: topic.to_string(),
        partition,
        before: a.before,
    })
}

pub fn group_delete_op(a: &GroupDeleteArgs) -> Result<Op, String> {
    if a.group.is_empty() {
        return Err("the group id is empty".into());
    }
    Ok(match &a.topic {
        Some(t) => Op::DeleteGroupOffsets {
            group: a.group.clone(),
            topic: t.clone(),
        },
        None => Op::DeleteGroup { group: a.group.clone() },
    })
}

pub fn produce_op(a: &ProduceArgs) -> Result<Op, String> {
    parse::validate_topic_name(&a.topic)?;
    let value = if let Some(v) = &a.value {
        Some(v.clone().into_bytes())
    } else if let Some(v) = &a.value_json {
        serde_json::from_str::<Value>(v).map_err(|e| format!("--value-json is not JSON: {e}"))?;
        Some(v.clone().into_bytes())
    } else if let Some(f) = &a.file {
        Some(std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?)
    } else {
        None
    };
    let headers = a
        .headers
        .iter()
        .map(|h| {
            h.split_once('=')
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| format!("--header '{h}' is not KEY=VALUE"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if a.partition.is_some_and(|p| p < 0) {
        return Err("--partition must not be negative".into());
    }
    Ok(Op::Produce(Record {
        topic: a.topic.clone(),
        partition: a.partition,
        key: a.key.as_ref().map(|k| k.clone().into_bytes()),
        value,
        headers,
    }))
}

/// A plan as text: the summary, the table with aligned columns, the warnings.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = format!("Plan: {}\n", plan.summary);
    if !plan.table.rows.is_empty() {
        out.push('\n');
        out.push_str(&table_text(&plan.table.headers, &plan.table.rows));
    }
    if !plan.warnings.is_empty() {
        out.push('\n');
        for w in &plan.warnings {
            out.push_str(&format!("warning: {w}\n"));
        }
    }
    out
}

/// Rows under their headers, each column as wide as its widest cell, two spaces between.
pub fn table_text(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cols = headers.len().max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut widths = vec![0usize; cols];
    let cells = std::iter::once(headers.iter().map(|h| h.to_string()).collect::<Vec<_>>()).chain(rows.iter().cloned());
    let all: Vec<Vec<String>> = cells.collect();
    for r in &all {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &all {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 < r.len() {
                line.push_str(&format!("{c:<w$}  ", w = widths[i]));
            } else {
                line.push_str(c);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A plan as JSON: `summary`, `headers`, `rows` (objects keyed by header), `warnings`,
/// `changes_anything`, `before`, `after`.
pub fn plan_json(plan: &Plan) -> Value {
    let rows: Vec<Value> = plan
        .table
        .rows
        .iter()
        .map(|r| {
            let obj: serde_json::Map<String, Value> = plan
                .table
                .headers
                .iter()
                .zip(r)
                .map(|(h, c)| (h.to_string(), Value::String(c.clone())))
                .collect();
            Value::Object(obj)
        })
        .collect();
    json!({
        "action": plan.op.describe(),
        "summary": plan.summary,
        "rows": rows,
        "warnings": plan.warnings,
        "changes_anything": plan.changes_anything,
        "before": plan.before,
        "after": plan.after,
    })
}

fn applied_json(a: &Applied) -> Value {
    json!({ "summary": a.summary, "warnings": a.warnings })
}

/// Plans `op` against `spec` and, with `execute`, applies it; prints to stdout (errors and
/// warnings to stderr).
pub fn run(spec: &ConnectionSpec, op: Op, opts: &RunOptions) -> ExitCode {
    // Refused before anything is asked of the cluster.
    if opts.execute {
        if let Err(e) = ops::check_writable(spec, &op) {
            eprintln!("strom: {e}");
            return ExitCode::FAILURE;
        }
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("strom: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let env = Env::now(&opts.state_dir);
    let planned: Result<(ClusterClient, Plan), ClusterError> = rt.block_on(async {
        let client = ClusterClient::new(spec)?;
        let plan = ops::plan(&client, op, &env).await?;
        Ok((client, plan))
    });
    let (client, plan) = match planned {
        Ok(v) => v,
        Err(e) => {
            if opts.json {
                print_out(&json!({ "error": e.to_string() }).to_string());
            }
            eprintln!("strom: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &opts.export {
        if let Err(e) = export(&plan, path) {
            eprintln!("strom: {e}");
            return ExitCode::from(2);
        }
    }
    if !opts.json {
        print_out(&plan_text(&plan));
    }
    if !opts.execute {
        if opts.json {
            print_out(&json!({ "plan": plan_json(&plan), "executed": false }).to_string());
        } else {
            print_out("\nNothing was changed: this is the plan. Add --execute to apply it.\n");
        }
        return ExitCode::SUCCESS;
    }
    let env = Env::now(&opts.state_dir);
    let result = rt.block_on(ops::apply(&client, &plan, &env));
    match result {
        Ok(applied) => {
            if opts.json {
                print_out(
                    &json!({ "plan": plan_json(&plan), "executed": true, "result": applied_json(&applied) })
                        .to_string(),
                );
            } else {
                print_out(&format!("\nApplied: {}\n", applied.summary));
            }
            for w in &applied.warnings {
                eprintln!("strom: warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if opts.json {
                print_out(&json!({ "plan": plan_json(&plan), "executed": false, "error": e.to_string() }).to_string());
            }
            eprintln!("strom: {e}");
            ExitCode::FAILURE
        }
    }
}

fn export(plan: &Plan, path: &Path) -> Result<(), String> {
    let csv = plan
        .csv
        .as_ref()
        .ok_or_else(|| format!("--export: {} has no offsets to export", plan.op.describe()))?;
    std::fs::write(path, csv).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn print_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe is not worth a message.
    let _ = stdout.write_all(text.as_bytes()).and_then(|_| {
        if text.ends_with('\n') {
            Ok(())
        } else {
            stdout.write_all(b"\n")
        }
    });
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn cli(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("strom").chain(args.iter().copied()))
    }

    fn reset(args: &[&str]) -> Result<Op, String> {
        let mut all = vec!["reset-offsets"];
        all.extend(args);
        match cli(&all).map_err(|e| e.kind().to_string())?.command {
            Some(Command::ResetOffsets(a)) => reset_op(&a),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reset_flags_read_as_kafka_consumer_groups_reads_them() {
        assert_eq!(
            reset(&[
                "--group",
                "g",
                "--topic",
                "orders:0,2",
                "--topic",
                "audit",
                "--shift-by",
                "-5"
            ]),
            Ok(Op::ResetOffsets {
                group: "g".into(),
                scope: ResetScope::Topics(vec![("orders".into(), Some(vec![0, 2])), ("audit".into(), None)]),
                target: ResetTarget::ShiftBy(-5),
            })
        );
        assert_eq!(
            reset(&["--group", "g", "--all-topics", "--by-duration", "PT1H"]),
            Ok(Op::ResetOffsets {
                group: "g".into(),
                scope: ResetScope::AllTopics,
                target: ResetTarget::Duration(3_600_000),
            })
        );
        assert_eq!(
            reset(&["--group", "g", "--all-topics", "--to-datetime", "2026-01-02T03:04:05Z"]),
            Ok(Op::ResetOffsets {
                group: "g".into(),
                scope: ResetScope::AllTopics,
                target: ResetTarget::DateTime(1_767_323_045_000),
            })
        );
        assert_eq!(
            reset(&["--group", "g", "--undo"]),
            Ok(Op::UndoReset { group: "g".into() })
        );
        // Two targets, no target, both scopes: clap's usage errors.
        assert!(reset(&["--group", "g", "--all-topics", "--to-earliest", "--to-latest"]).is_err());
        assert!(reset(&["--group", "g", "--all-topics"]).is_err());
        assert!(reset(&["--group", "g", "--all-topics", "--topic", "t", "--to-latest"]).is_err());
        // No scope: said what to add.
        assert!(reset(&["--group", "g", "--to-latest"])
            .unwrap_err()
            .contains("--all-topics"));
        assert!(reset(&["--group", "g", "--all-topics", "--to-datetime", "soon"])
            .unwrap_err()
            .starts_with("--to-datetime"));
        assert!(reset(&["--group", "g", "--topic", "bad name", "--to-latest"]).is_err());
    }

    #[test]
    fn from_file_reads_the_export_format_and_needs_no_scope() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("o.csv");
        std::fs::write(&f, "orders,0,5\norders,1,7\n").unwrap();
        let path = f.to_str().unwrap();
        assert_eq!(
            reset(&["--group", "g", "--from-file", path]),
            Ok(Op::ResetOffsets {
                group: "g".into(),
                scope: ResetScope::AllTopics,
                target: ResetTarget::FromFile(vec![("orders".into(), 0, 5), ("orders".into(), 1, 7)]),
            })
        );
        std::fs::write(&f, "orders,zero,5\n").unwrap();
        assert!(reset(&["--group", "g", "--from-file", path])
            .unwrap_err()
            .contains("line 1"));
    }

    #[test]
    fn the_other_twins_turn_their_flags_into_operations() {
        let op = |args: &[&str]| -> Result<Op, String> {
            match cli(args).map_err(|e| e.to_string())?.command {
                Some(Command::AddPartitions(a)) => add_partitions_op(&a),
                Some(Command::Config {
                    command: crate::cli::ConfigCommand::Set(a),
                }) => config_set_op(&a),
                Some(Command::Topic {
                    command: crate::cli::TopicCommand::Create(a),
                }) => create_topic_op(&a),
                Some(Command::DeleteRecords(a)) => delete_records_op(&a),
                Some(Command::Group {
                    command: crate::cli::GroupCommand::Delete(a),
                }) => group_delete_op(&a),
                Some(Command::Produce(a)) => produce_op(&a),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            op(&["add-partitions", "--topic", "t", "--partitions", "6"]),
            Ok(Op::AddPartitions {
                topic: "t".into(),
                count: 6
            })
        );
        assert_eq!(
            op(&[
                "config",
                "set",
                "--topic",
                "t",
                "retention.ms=7d",
                "retention.bytes=10GiB",
                "--delete",
                "segment.ms"
            ]),
            Ok(Op::AlterTopicConfigs {
                topic: "t".into(),
                set: vec![
                    ("retention.ms".into(), "604800000".into()),
                    ("retention.bytes".into(), "10737418240".into())
                ],
                delete: vec!["segment.ms".into()],
            })
        );
        assert!(op(&["config", "set", "--topic", "t"]).is_err(), "nothing to change");
        assert!(op(&["config", "set", "--topic", "t", "a=1", "--delete", "a"]).is_err());
        assert!(op(&["topic", "create", "--topic", "a/b"]).unwrap_err().contains("'/'"));
        assert_eq!(
            op(&[
                "topic",
                "create",
                "--topic",
                "t",
                "--partitions",
                "3",
                "--topic-config",
                "retention.ms=12h"
            ]),
            Ok(Op::CreateTopic(NewTopicSpec {
                name: "t".into(),
                partitions: Some(3),
                replication_factor: None,
                configs: vec![("retention.ms".into(), "43200000".into())],
            }))
        );
        assert_eq!(
            op(&["delete-records", "--topic", "t:2", "--before", "40"]),
            Ok(Op::DeleteRecords {
                topic: "t".into(),
                partition: 2,
                before: 40
            })
        );
        assert!(op(&["delete-records", "--topic", "t", "--before", "40"]).is_err());
        assert_eq!(
            op(&["group", "delete", "g", "--topic", "t"]),
            Ok(Op::DeleteGroupOffsets {
                group: "g".into(),
                topic: "t".into()
            })
        );
        assert_eq!(
            op(&[
                "produce",
                "--topic",
                "t",
                "--key",
                "k",
                "--header",
                "a=b",
                "--value-json",
                "{\"x\":1}"
            ]),
            Ok(Op::Produce(Record {
                topic: "t".into(),
                partition: None,
                key: Some(b"k".to_vec()),
                value: Some(b"{\"x\":1}".to_vec()),
                headers: vec![("a".into(), b"b".to_vec())],
            }))
        );
        assert!(op(&["produce", "--topic", "t", "--value-json", "{x"])
            .unwrap_err()
            .contains("not JSON"));
        assert!(op(&["produce", "--topic", "t"]).is_err(), "a value is required");
    }

    #[test]
    fn plan_text_aligns_columns() {
        let t = table_text(
            &["topic", "partition"],
            &[vec!["orders".into(), "0".into()], vec!["a".into(), "12".into()]],
        );
        assert_eq!(t, "topic   partition\norders  0\na       12\n");
    }
}
