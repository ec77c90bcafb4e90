//! Operations: every change strom makes to a cluster, for the console's keys and the headless
//! commands alike. An operation is planned first ([`plan`]: what exactly will change, computed
//! against the live cluster, as a table a person can read, with warnings), then applied
//! ([`apply`]) exactly as planned: the plan carries the resolved [`Change`] (the offsets to
//! commit, the partition count, the config values), so what was confirmed is what is sent.
//!
//! Read-only is enforced here and nowhere else: [`apply`] refuses a read-only connection
//! before anything is sent, whoever asks. Every apply, done or failed, appends one line to the
//! audit log ([`journal`]); an offset reset first saves the group's previous offsets so that
//! [`Op::UndoReset`] restores them, also after a restart.
//!
//! Time is a parameter ([`Env::now_ms`]); nothing here draws or prints.

pub mod journal;
pub mod parse;
pub mod partitioner;

mod configs;
mod groups;
mod reset;
mod topics;

use crate::cluster::admin::{NewTopicSpec, Record};
use crate::cluster::client::ClusterClient;
use crate::cluster::connect::ConnectionSpec;
use crate::cluster::error::ClusterError;
pub use journal::{Journal, SavedOffset, SavedReset};
pub use reset::{parse_csv, to_csv, ResetScope, ResetTarget};

/// A change to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Set and/or delete (back to inherited) configs of one topic, one by one
    /// (IncrementalAlterConfigs): the topic's other overrides keep their values. Values are
    /// as Kafka stores them (see [`parse::config_value`] for operators' forms).
    AlterTopicConfigs {
        topic: String,
        set: Vec<(String, String)>,
        delete: Vec<String>,
    },
    /// Move a group's committed offsets, as `kafka-consumer-groups.sh --reset-offsets`.
    ResetOffsets {
        group: String,
        scope: ResetScope,
        target: ResetTarget,
    },
    /// Restore the offsets a group had before strom's last reset of it.
    UndoReset {
        group: String,
    },
    /// Grow a topic to `count` partitions.
    AddPartitions {
        topic: String,
        count: i32,
    },
    CreateTopic(NewTopicSpec),
    DeleteTopic {
        topic: String,
    },
    /// Move a partition's log start offset to `before` (-1: the high watermark).
    DeleteRecords {
        topic: String,
        partition: i32,
        before: i64,
    },
    DeleteGroup {
        group: String,
    },
    /// Delete a group's committed offsets of every partition of `topic`.
    DeleteGroupOffsets {
        group: String,
        topic: String,
    },
    Produce(Record),
}

impl Op {
    /// What the operation is, for messages ("alter configs of topic 'orders'").
    pub fn describe(&self) -> String {
        match self {
            Op::AlterTopicConfigs { topic, .. } => format!("alter configs of topic '{topic}'"),
            Op::ResetOffsets { group, .. } => format!("reset offsets of group '{group}'"),
            Op::UndoReset { group } => format!("undo the last offset reset of group '{group}'"),
            Op::AddPartitions { topic, count } => format!("add partitions to topic '{topic}' (to {count})"),
            Op::CreateTopic(t) => format!("create topic '{}'", t.name),
            Op::DeleteTopic { topic } => format!("delete topic '{topic}'"),
            Op::DeleteRecords { topic, partition, .. } => format!("delete records of {topic}:{partition}"),
            Op::DeleteGroup { group } => format!("delete group '{group}'"),
            Op::DeleteGroupOffsets { group, topic } => {
                format!("delete committed offsets of group '{group}' for topic '{topic}'")
            }
            Op::Produce(r) => format!("produce a record to '{}'", r.topic),
        }
    }

    /// A short title for dialogs ("Reset offsets").
    pub fn title(&self) -> &'static str {
        match self {
            Op::AlterTopicConfigs { .. } => "Edit topic configs",
            Op::ResetOffsets { .. } => "Reset offsets",
            Op::UndoReset { .. } => "Undo offset reset",
            Op::AddPartitions { .. } => "Add partitions",
            Op::CreateTopic(_) => "Create topic",
            Op::DeleteTopic { .. } => "Delete topic",
            Op::DeleteRecords { .. } => "Delete records",
            Op::DeleteGroup { .. } => "Delete group",
            Op::DeleteGroupOffsets { .. } => "Delete group offsets",
            Op::Produce(_) => "Produce a record",
        }
    }
}

/// A table of what a plan changes: one row per changed item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanTable {
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// Exactly what applying sends, resolved when planning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    AlterConfigs {
        topic: String,
        set: Vec<(String, String)>,
        delete: Vec<String>,
        /// Every override the topic has now: the legacy AlterConfigs, for a cluster without
        /// IncrementalAlterConfigs, has to restate them.
        overrides: Vec<(String, String)>,
    },
    CommitOffsets {
        group: String,
        /// Whose offsets history this is (the cluster id, or the connection's name).
        cluster_key: String,
        offsets: Vec<(String, i32, i64)>,
        /// Partitions whose committed offset is deleted (an undo of a reset of partitions
        /// that had none).
        delete: Vec<(String, i32)>,
        /// What the group had before, saved for undo (None for an undo itself).
        save: Option<SavedReset>,
        /// The saved reset this undoes, removed from the history once applied.
        undoes: Option<SavedReset>,
    },
    CreatePartitions {
        topic: String,
        count: i32,
    },
    CreateTopic(NewTopicSpec),
    DeleteTopic {
        topic: String,
    },
    DeleteRecords {
        topic: String,
        partition: i32,
        before: i64,
    },
    DeleteGroup {
        group: String,
    },
    DeleteGroupOffsets {
        group: String,
        partitions: Vec<(String, i32)>,
    },
    Produce(Record),
    /// The cluster is already as asked.
    Nothing,
}

/// An operation with what it will change, computed against the live cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub op: Op,
    /// One line: what applying does.
    pub summary: String,
    pub table: PlanTable,
    /// Things to know before applying (the plan still applies).
    pub warnings: Vec<String>,
    /// False when the cluster is already as asked: applying changes nothing.
    pub changes_anything: bool,
    pub change: Change,
    /// The state before and after, one line each, for the audit log.
    pub before: String,
    pub after: String,
    /// Text the person must type to confirm (a topic's name before deleting it).
    pub confirm_text: Option<String>,
    /// The plan as `kafka-consumer-groups.sh` CSV (offset resets).
    pub csv: Option<String>,
}

impl Plan {
    fn new(op: Op, summary: String, change: Change) -> Plan {
        Plan {
            op,
            summary,
            table: PlanTable::default(),
            warnings: Vec::new(),
            changes_anything: change != Change::Nothing,
            change,
            before: String::new(),
            after: String::new(),
            confirm_text: None,
            csv: None,
        }
    }
}

/// What applying a plan did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub summary: String,
    /// Problems after the change went through (the audit log could not be written...).
    pub warnings: Vec<String>,
}

/// Where plans and applies get the time and keep their journal.
#[derive(Clone, Debug)]
pub struct Env {
    pub journal: Journal,
    /// Now, in ms since the epoch.
    pub now_ms: i64,
}

impl Env {
    /// The journal in `state_dir`, at the current time.
    pub fn now(state_dir: impl Into<std::path::PathBuf>) -> Env {
        Env {
            journal: Journal::new(state_dir),
            now_ms: chrono::Utc::now().timestamp_millis(),
        }
    }
}

/// Runs a blocking call of `client` on tokio's blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    client: &ClusterClient,
    what: &'static str,
    f: impl FnOnce(&ClusterClient) -> Result<T, ClusterError> + Send + 'static,
) -> Result<T, ClusterError> {
    let c = client.clone();
    tokio::task::spawn_blocking(move || f(&c)).await.unwrap_or_else(|e| {
        Err(ClusterError::Kafka {
            what: what.into(),
            name: "CLIENT_ERROR".into(),
            message: format!("the request's thread failed: {e}"),
        })
    })
}

/// An error about the request itself, before anything is sent.
pub(crate) fn invalid(what: impl Into<String>, message: impl Into<String>) -> ClusterError {
    ClusterError::Invalid {
        what: what.into(),
        message: message.into(),
    }
}

/// Plans `op` against the cluster: reads what it needs and says what will change. A request
/// that cannot be applied at all (a group with active members, a topic that does not exist,
/// a partition count that is not larger) is an error here, with the reason.
pub async fn plan(client: &ClusterClient, op: Op, env: &Env) -> Result<Plan, ClusterError> {
    match op {
        Op::AlterTopicConfigs { .. } => configs::plan(client, op, env).await,
        Op::ResetOffsets { .. } | Op::UndoReset { .. } => reset::plan(client, op, env).await,
        Op::AddPartitions { .. }
        | Op::CreateTopic(_)
        | Op::DeleteTopic { .. }
        | Op::DeleteRecords { .. }
        | Op::Produce(_) => topics::plan(client, op, env).await,
        Op::DeleteGroup { .. } | Op::DeleteGroupOffsets { .. } => groups::plan(client, op).await,
    }
}

/// Refuses any change on a read-only connection, naming why it is read-only.
pub fn check_writable(spec: &ConnectionSpec, op: &Op) -> Result<(), ClusterError> {
    if spec.read_only {
        return Err(ClusterError::ReadOnly {
            cluster: spec.name.clone(),
            reason: spec.read_only_reason.clone().unwrap_or_else(|| "read-only".into()),
            what: op.describe(),
        });
    }
    Ok(())
}

/// Applies a plan as planned. A read-only connection is refused before anything is sent.
/// The outcome, done or failed, is appended to the audit log.
pub async fn apply(client: &ClusterClient, plan: &Plan, env: &Env) -> Result<Applied, ClusterError> {
    check_writable(client.spec(), &plan.op)?;
    let result = send(client, plan, env).await;
    let entry = journal::AuditEntry {
        time: parse::format_ms(env.now_ms),
        user: env.journal.user.clone(),
        cluster: client.spec().name.clone(),
        action: plan.op.describe(),
        before: plan.before.clone(),
        after: match &result {
            Ok((_, after)) => after.clone(),
            Err(_) => plan.after.clone(),
        },
        result: match &result {
            Ok(_) => "ok".into(),
            Err(e) => format!("error: {e}"),
        },
    };
    let audit = env.journal.audit(&entry);
    let (mut applied, _) = result?;
    if let Err(e) = audit {
        applied.warnings.push(e);
    }
    Ok(applied)
}

/// Sends the plan's change; returns what was done and the state after, for the audit line.
async fn send(client: &ClusterClient, plan: &Plan, env: &Env) -> Result<(Applied, String), ClusterError> {
    let done = |summary: String| Applied {
        summary,
        warnings: Vec::new(),
    };
    let what = plan.op.describe();
    match &plan.change {
        Change::Nothing => Ok((done(format!("{what}: nothing to change")), plan.after.clone())),
        Change::AlterConfigs { .. } => configs::apply(client, plan).await,
        Change::CommitOffsets { .. } => reset::apply(client, plan, env).await,
        Change::CreatePartitions { topic, count } => {
            client.create_partitions_async(topic, *count as usize, false).await?;
            Ok((done(format!("{what}: done")), plan.after.clone()))
        }
        Change::CreateTopic(t) => {
            client.create_topic_async(t, false).await?;
            Ok((done(format!("{what}: done")), plan.after.clone()))
        }
        Change::DeleteTopic { topic } => {
            client.delete_topic_async(topic).await?;
            Ok((done(format!("{what}: done")), plan.after.clone()))
        }
        Change::DeleteRecords {
            topic,
            partition,
            before,
        } => {
            let start = client.delete_records_async(topic, *partition, *before).await?;
            Ok((
                done(format!("{what}: log start offset now {start}")),
                format!("log start {start}"),
            ))
        }
        Change::DeleteGroup { group } => {
            client.delete_group_async(group).await?;
            Ok((done(format!("{what}: done")), plan.after.clone()))
        }
        Change::DeleteGroupOffsets { group, partitions } => {
            let (g, parts) = (group.clone(), partitions.clone());
            let outcomes = blocking(client, "delete committed offsets", move |c| {
                c.delete_group_offsets_blocking(&g, &parts)
            })
            .await?;
            if let Some(e) = outcomes.into_iter().find_map(|o| o.error) {
                return Err(e);
            }
            Ok((done(format!("{what}: done")), plan.after.clone()))
        }
        Change::Produce(r) => {
            let (p, o) = client.produce_async(r).await?;
            Ok((
                done(format!("produced to {}:{p} at offset {o}", r.topic)),
                format!("{}:{p} offset {o}", r.topic),
            ))
        }
    }
}

/// A count with its noun, singular or plural ("1 partition", "3 partitions").
pub(crate) fn plural(n: impl Into<i64>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_refusal_names_the_cluster_the_reason_and_the_operation() {
        let op = Op::AlterTopicConfigs {
            topic: "orders".into(),
            set: vec![("retention.ms".into(), "1000".into())],
            delete: vec![],
        };
        let spec = ConnectionSpec::bootstrap("k:9092");
        assert_eq!(check_writable(&spec, &op), Ok(()));
        let err = check_writable(&spec.with_read_only("profile 'prod' has read_only = true"), &op).unwrap_err();
        assert_eq!(
            err.to_string(),
            "k:9092 is read-only (profile 'prod' has read_only = true): alter configs of topic 'orders' refused, nothing was changed"
        );
    }

    #[test]
    fn plurals_read_naturally() {
        assert_eq!(plural(1, "partition"), "1 partition");
        assert_eq!(plural(0, "record"), "0 records");
    }
}
