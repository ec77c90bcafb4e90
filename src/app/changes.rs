//! The console's side of the changes it makes to a cluster: what each action key starts on
//! the focused pane (a form to fill in, or straight away a plan), the forms and how their
//! fields become a `cluster::ops::Op`, and the confirm dialog built from a plan. The worker
//! plans and applies (through `cluster::ops`, the same layer as the headless commands); nothing
//! here talks to the cluster.
//!
//! A read-only connection refuses every action here, before any form opens, with the reason
//! (`cluster::ops::apply` refuses again, whoever asks).

use crate::app::action::{ActionKind, Command, CommandId};
use crate::app::modal::{Confirm, Effect, Field, Form, LineInput};
use crate::app::panes::PaneId;
use crate::app::state::AppState;
use crate::cluster::admin::{NewTopicSpec, Record};
use crate::cluster::ops::{self, parse, Op, Plan, ResetScope, ResetTarget};

/// What an action key does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// Ask for the details first.
    Form(Box<Form>),
    /// Nothing to ask: plan this.
    Plan(Box<Op>),
    /// Refused (read-only), or not possible here (no group selected...): say why.
    Refuse { title: String, reason: String },
}

fn refuse(kind: ActionKind, reason: impl Into<String>) -> Start {
    Start::Refuse {
        title: title(kind).into(),
        reason: reason.into(),
    }
}

pub fn title(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::ResetOffsets => "Reset offsets",
        ActionKind::UndoReset => "Undo offset reset",
        ActionKind::AddPartitions => "Add partitions",
        ActionKind::EditConfigs => "Edit topic configs",
        ActionKind::CreateTopic => "Create topic",
        ActionKind::Delete => "Delete",
        ActionKind::DeleteRecords => "Delete records",
        ActionKind::Produce => "Produce a record",
    }
}

/// The footer's hints for the action keys that work on `pane`.
pub fn hints(pane: PaneId) -> &'static [(&'static str, &'static str)] {
    match pane {
        PaneId::Groups => &[
            ("reset_offsets", "reset offsets"),
            ("undo_reset", "undo reset"),
            ("delete", "delete"),
        ],
        PaneId::Topics => &[
            ("create_topic", "create"),
            ("add_partitions", "partitions+"),
            ("edit_configs", "configs"),
            ("produce", "produce"),
            ("delete", "delete"),
        ],
        PaneId::Partitions | PaneId::Configs => &[
            ("edit_configs", "edit configs"),
            ("add_partitions", "partitions+"),
            ("delete_records", "delete records"),
            ("produce", "produce"),
        ],
        PaneId::Brokers => &[("create_topic", "create topic")],
    }
}

/// The group an action is about: the open group's detail, else the selected row.
fn selected_group(state: &AppState) -> Option<String> {
    state.panes.groups.current_group().map(str::to_string)
}

/// The topic an action on the focused pane is about: the selected row of the topics pane, or
/// the open topic of the partitions and configs panes.
fn selected_topic(state: &AppState) -> Option<String> {
    match state.focus {
        PaneId::Topics => state.panes.topics.selected_name().map(str::to_string),
        PaneId::Partitions | PaneId::Configs => state.current_topic.clone(),
        _ => None,
    }
}

/// What pressing the key of `kind` starts, given what is on screen.
pub fn start(kind: ActionKind, state: &AppState) -> Start {
    let spec = &state.cluster;
    if spec.read_only {
        let reason = spec.read_only_reason.clone().unwrap_or_else(|| "read-only".into());
        return refuse(
            kind,
            format!(
                "{} is read-only ({reason}): {} refused, nothing was changed",
                spec.name,
                title(kind).to_lowercase()
            ),
        );
    }
    let group_action = |f: &dyn Fn(String) -> Start| match (state.focus, selected_group(state)) {
        (PaneId::Groups, Some(g)) => f(g),
        (PaneId::Groups, None) => refuse(kind, "no group is selected"),
        _ => refuse(kind, "select a group in the groups pane (4) first"),
    };
    let topic_action = |f: &dyn Fn(String) -> Start| match selected_topic(state) {
        Some(t) => f(t),
        None => refuse(kind, "select a topic in the topics pane (1) first"),
    };
    match kind {
        ActionKind::ResetOffsets => group_action(&|g| Start::Form(Box::new(reset_form(g)))),
        ActionKind::UndoReset => group_action(&|g| Start::Plan(Box::new(Op::UndoReset { group: g }))),
        ActionKind::AddPartitions => topic_action(&|t| {
            let now = state
                .data
                .metadata
                .value
                .as_ref()
                .and_then(|md| md.topic(&t))
                .map_or(0, |m| m.partitions.len());
            Start::Form(Box::new(add_partitions_form(t, now)))
        }),
        ActionKind::EditConfigs => topic_action(&|t| Start::Form(Box::new(configs_form(t)))),
        ActionKind::CreateTopic => Start::Form(Box::new(create_topic_form())),
        ActionKind::Delete => match state.focus {
            PaneId::Groups => group_action(&|g| Start::Form(Box::new(delete_group_form(g)))),
            _ => topic_action(&|t| Start::Plan(Box::new(Op::DeleteTopic { topic: t }))),
        },
        ActionKind::DeleteRecords => topic_action(&|t| Start::Form(Box::new(delete_records_form(t)))),
        ActionKind::Produce => topic_action(&|t| Start::Form(Box::new(produce_form(t)))),
    }
}

fn form(kind: ActionKind, subject: Option<String>, fields: Vec<Field>, build: fn(&Form) -> Result<Op, String>) -> Form {
    let title = match &subject {
        Some(s) => format!("{}: {s}", title(kind)),
        None => title(kind).to_string(),
    };
    Form {
        title,
        kind,
        subject,
        fields,
        focus: 0,
        error: None,
        build,
    }
}

fn subject(f: &Form) -> Result<String, String> {
    f.subject.clone().ok_or_else(|| "nothing selected".to_string())
}

pub fn reset_form(group: String) -> Form {
    form(
        ActionKind::ResetOffsets,
        Some(group),
        vec![
            Field::new(
                "to",
                "latest",
                "earliest | latest | offset N | shift -N | datetime 2026-01-02T03:04:05Z | duration 1h | group G | file F.csv",
            ),
            Field::new(
                "topics",
                "",
                "empty: every topic the group has offsets for; or names, space-separated (orders orders2:0,1)",
            ),
        ],
        build_reset,
    )
}

/// `earliest`, `latest`, `offset N`, `shift N`, `datetime D`, `duration D`, `group G`, `file F`
/// (the CLI's flag names, with or without `--to-`, are accepted too).
pub fn parse_target(text: &str, group: &str) -> Result<ResetTarget, String> {
    let text = text.trim();
    let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    let rest = rest.trim();
    let word = word.trim_start_matches("--");
    let word = word.strip_prefix("to-").unwrap_or(word);
    let need = |what: &str| -> Result<&str, String> {
        if rest.is_empty() {
            Err(format!("'{word}' needs {what}"))
        } else {
            Ok(rest)
        }
    };
    Ok(match word {
        "earliest" => ResetTarget::Earliest,
        "latest" => ResetTarget::Latest,
        "offset" => {
            let o: i64 = need("an offset")?
                .parse()
                .ok()
                .filter(|o| *o >= 0)
                .ok_or_else(|| format!("'{rest}' is not an offset"))?;
            ResetTarget::Offset(o)
        }
        "shift" | "shift-by" => ResetTarget::ShiftBy(
            need("a number (shift -10)")?
                .trim_start_matches('+')
                .parse()
                .map_err(|_| format!("'{rest}' is not a number of records"))?,
        ),
        "datetime" => ResetTarget::DateTime(parse::datetime_ms(need("a date-time")?)?),
        "duration" | "by-duration" => {
            let ms = parse::duration_ms(need("a duration (1h, PT30M)")?)?;
            if ms < 0 {
                return Err("the duration must not be negative".into());
            }
            ResetTarget::Duration(ms)
        }
        "group" | "from-group" => ResetTarget::FromGroup(need("a group")?.to_string()),
        "file" | "from-file" => {
            let path = need("a file")?;
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            ResetTarget::FromFile(ops::parse_csv(&text, group).map_err(|e| format!("{path}: {e}"))?)
        }
        "" => return Err("say where the offsets go (earliest, latest, offset N, ...)".into()),
        other => {
            return Err(format!(
                "'{other}': use earliest, latest, offset N, shift N, datetime D, duration D, group G or file F"
            ))
        }
    })
}

fn build_reset(f: &Form) -> Result<Op, String> {
    let group = subject(f)?;
    let target = parse_target(f.value("to"), &group)?;
    let topics = f.value("topics");
    let scope = if topics.is_empty() {
        ResetScope::AllTopics
    } else {
        ResetScope::Topics(
            topics
                .split_whitespace()
                .map(ResetScope::parse_topic)
                .collect::<Result<_, _>>()?,
        )
    };
    Ok(Op::ResetOffsets { group, scope, target })
}

pub fn add_partitions_form(topic: String, now: usize) -> Form {
    form(
        ActionKind::AddPartitions,
        Some(topic),
        vec![Field::new(
            "partitions",
            (now + 1).to_string(),
            format!("the new count; now {now} (Kafka cannot remove partitions)"),
        )],
        |f| {
            let count: i32 = f
                .value("partitions")
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("'{}' is not a partition count", f.value("partitions")))?;
            Ok(Op::AddPartitions {
                topic: subject(f)?,
                count,
            })
        },
    )
}

pub fn configs_form(topic: String) -> Form {
    form(
        ActionKind::EditConfigs,
        Some(topic),
        vec![
            Field::new(
                "set",
                "retention.ms=",
                "KEY=VALUE, space-separated: retention.ms=7d retention.bytes=10GiB cleanup.policy=delete",
            ),
            Field::new(
                "delete",
                "",
                "config names to set back to the inherited value, space-separated",
            ),
        ],
        |f| {
            let set = f
                .value("set")
                .split_whitespace()
                .map(parse::config_assignment)
                .collect::<Result<Vec<_>, _>>()?;
            let delete: Vec<String> = f.value("delete").split_whitespace().map(str::to_string).collect();
            if set.is_empty() && delete.is_empty() {
                return Err("nothing to change: set KEY=VALUE or name a config to delete".into());
            }
            if let Some(k) = delete.iter().find(|k| set.iter().any(|(s, _)| s == *k)) {
                return Err(format!("'{k}' is both set and deleted"));
            }
            Ok(Op::AlterTopicConfigs {
                topic: subject(f)?,
                set,
                delete,
            })
        },
    )
}

fn optional_count(f: &Form, label: &str) -> Result<Option<i32>, String> {
    let v = f.value(label);
    if v.is_empty() {
        return Ok(None);
    }
    v.parse()
        .ok()
        .filter(|n: &i32| *n > 0)
        .map(Some)
        .ok_or_else(|| format!("{label}: '{v}' is not a positive number"))
}

pub fn create_topic_form() -> Form {
    form(
        ActionKind::CreateTopic,
        None,
        vec![
            Field::new("name", "", "letters, digits, '.', '_' and '-', at most 249"),
            Field::new("partitions", "", "empty: the cluster's num.partitions"),
            Field::new(
                "replication factor",
                "",
                "empty: the cluster's default.replication.factor",
            ),
            Field::new("configs", "", "KEY=VALUE, space-separated: retention.ms=7d"),
        ],
        |f| {
            let name = f.value("name").to_string();
            parse::validate_topic_name(&name)?;
            let configs = f
                .value("configs")
                .split_whitespace()
                .map(parse::config_assignment)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Op::CreateTopic(NewTopicSpec {
                name,
                partitions: optional_count(f, "partitions")?,
                replication_factor: optional_count(f, "replication factor")?,
                configs,
            }))
        },
    )
}

pub fn delete_group_form(group: String) -> Form {
    form(
        ActionKind::Delete,
        Some(group),
        vec![Field::new(
            "topic",
            "",
            "empty: delete the group; a topic: delete only the group's offsets for it",
        )],
        |f| {
            let group = subject(f)?;
            Ok(match f.value("topic") {
                "" => Op::DeleteGroup { group },
                t => {
                    parse::validate_topic_name(t)?;
                    Op::DeleteGroupOffsets {
                        group,
                        topic: t.to_string(),
                    }
                }
            })
        },
    )
}

pub fn delete_records_form(topic: String) -> Form {
    form(
        ActionKind::DeleteRecords,
        Some(topic),
        vec![
            Field::new("partition", "0", "the partition number"),
            Field::new("before offset", "", "records before this offset go; -1: all of them"),
        ],
        |f| {
            let partition: i32 = f
                .value("partition")
                .parse()
                .ok()
                .filter(|p| *p >= 0)
                .ok_or_else(|| format!("'{}' is not a partition number", f.value("partition")))?;
            let before: i64 = f
                .value("before offset")
                .parse()
                .ok()
                .filter(|o| *o >= -1)
                .ok_or_else(|| format!("'{}' is not an offset (or -1)", f.value("before offset")))?;
            Ok(Op::DeleteRecords {
                topic: subject(f)?,
                partition,
                before,
            })
        },
    )
}

pub fn produce_form(topic: String) -> Form {
    form(
        ActionKind::Produce,
        Some(topic),
        vec![
            Field::new(
                "key",
                "",
                "empty: no key; partitioned with murmur2, as the Java client does",
            ),
            Field::new("value", "", "the value, as the format below says"),
            Field::new("format", "text", "text | json (checked) | file (the value is a path)"),
            Field::new("partition", "", "empty: from the key"),
            Field::new("headers", "", "KEY=VALUE, space-separated"),
        ],
        |f| {
            let value = match f.value("format") {
                "" | "text" => f.value("value").as_bytes().to_vec(),
                "json" => {
                    let v = f.value("value");
                    serde_json::from_str::<serde_json::Value>(v).map_err(|e| format!("value is not JSON: {e}"))?;
                    v.as_bytes().to_vec()
                }
                "file" => {
                    let path = f.value("value");
                    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?
                }
                other => return Err(format!("format '{other}': use text, json or file")),
            };
            let partition = match f.value("partition") {
                "" => None,
                p => Some(
                    p.parse()
                        .ok()
                        .filter(|p: &i32| *p >= 0)
                        .ok_or_else(|| format!("'{p}' is not a partition number"))?,
                ),
            };
            let headers = f
                .value("headers")
                .split_whitespace()
                .map(|h| {
                    h.split_once('=')
                        .filter(|(k, _)| !k.is_empty())
                        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                        .ok_or_else(|| format!("header '{h}' is not KEY=VALUE"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let key = Some(f.value("key"))
                .filter(|k| !k.is_empty())
                .map(|k| k.as_bytes().to_vec());
            Ok(Op::Produce(Record {
                topic: subject(f)?,
                partition,
                key,
                value: Some(value),
                headers,
            }))
        },
    )
}

/// The confirm dialog for a plan: its table and warnings, applied under `id` when confirmed.
/// A plan with text to type (deleting a topic) asks for it.
pub fn confirm(plan: Plan, id: CommandId) -> Confirm {
    let mut warnings = plan.warnings.clone();
    if !plan.changes_anything {
        warnings.push("the cluster is already as asked: applying changes nothing".into());
    }
    let typed = plan.confirm_text.clone().map(|t| (t, LineInput::default()));
    if let Some((t, _)) = &typed {
        warnings.push(format!("type '{t}' and press Enter to confirm"));
    }
    Confirm {
        title: plan.op.title().to_string(),
        summary: plan.summary.clone(),
        table: plan.table.clone(),
        warnings,
        confirm_label: "apply".into(),
        typed,
        on_confirm: Effect::Send(Command::Apply {
            id,
            plan: Box::new(plan),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_targets_read_like_the_cli_flags() {
        assert_eq!(parse_target("latest", "g"), Ok(ResetTarget::Latest));
        assert_eq!(parse_target("--to-earliest", "g"), Ok(ResetTarget::Earliest));
        assert_eq!(parse_target("offset 42", "g"), Ok(ResetTarget::Offset(42)));
        assert_eq!(parse_target("shift -10", "g"), Ok(ResetTarget::ShiftBy(-10)));
        assert_eq!(parse_target("shift +3", "g"), Ok(ResetTarget::ShiftBy(3)));
        assert_eq!(parse_target("duration 1h", "g"), Ok(ResetTarget::Duration(3_600_000)));
        assert_eq!(
            parse_target("by-duration PT30M", "g"),
            Ok(ResetTarget::Duration(1_800_000))
        );
        assert_eq!(
            parse_target("datetime 2026-01-02T03:04:05Z", "g"),
            Ok(ResetTarget::DateTime(1_767_323_045_000))
        );
        assert_eq!(
            parse_target("group other", "g"),
            Ok(ResetTarget::FromGroup("other".into()))
        );
        assert!(parse_target("offset", "g").unwrap_err().contains("needs an offset"));
        assert!(parse_target("offset -1", "g").is_err());
        assert!(parse_target("soonish", "g").unwrap_err().contains("use earliest"));
        assert!(parse_target("file /nonexistent.csv", "g")
            .unwrap_err()
            .contains("cannot read"));
    }

    #[test]
    fn forms_build_the_operations_they_describe() {
        let mut f = reset_form("billing".into());
        f.fields[1].input = LineInput::new("orders orders2:0,1");
        assert_eq!(
            (f.build)(&f),
            Ok(Op::ResetOffsets {
                group: "billing".into(),
                scope: ResetScope::Topics(vec![("orders".into(), None), ("orders2".into(), Some(vec![0, 1]))]),
                target: ResetTarget::Latest,
            })
        );
        let mut f = configs_form("inventory".into());
        f.fields[0].input = LineInput::new("retention.ms=7d retention.bytes=10GiB");
        assert_eq!(
            (f.build)(&f),
            Ok(Op::AlterTopicConfigs {
                topic: "inventory".into(),
                set: vec![
                    ("retention.ms".into(), "604800000".into()),
                    ("retention.bytes".into(), "10737418240".into())
                ],
                delete: vec![],
            })
        );
        f.fields[0].input = LineInput::new("retention.ms=");
        assert!((f.build)(&f).unwrap_err().contains("retention.ms"));
        let mut f = create_topic_form();
        f.fields[0].input = LineInput::new("bad name");
        assert!((f.build)(&f).unwrap_err().contains("' '"));
        f.fields[0].input = LineInput::new("fresh");
        f.fields[1].input = LineInput::new("0");
        assert!((f.build)(&f).unwrap_err().starts_with("partitions"));
        f.fields[1].input = LineInput::new("3");
        assert!(matches!((f.build)(&f), Ok(Op::CreateTopic(t)) if t.partitions == Some(3)));
        let f = add_partitions_form("parties".into(), 3);
        assert_eq!(f.value("partitions"), "4", "prefilled with one more");
        let mut f = produce_form("t".into());
        f.fields[1].input = LineInput::new("{oops");
        f.fields[2].input = LineInput::new("json");
        assert!((f.build)(&f).unwrap_err().contains("not JSON"));
        let mut f = delete_group_form("g".into());
        assert_eq!((f.build)(&f), Ok(Op::DeleteGroup { group: "g".into() }));
        f.fields[0].input = LineInput::new("orders");
        assert_eq!(
            (f.build)(&f),
            Ok(Op::DeleteGroupOffsets {
                group: "g".into(),
                topic: "orders".into()
            })
        );
    }
}
