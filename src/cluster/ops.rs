//! Operations: every change strom makes to a cluster, for the console's keys and the headless
//! commands alike. An operation is planned first ([`plan`]: what exactly will change, computed
//! against the live cluster, as a table a person can read), then applied ([`apply`]) as
//! planned. Read-only is enforced here and nowhere else: [`apply`] refuses a read-only
//! connection before anything is sent, whoever asks.
//!
//! Each kind of change is one [`Op`] variant with its plan and its apply. Nothing here draws
//! or prints.

use std::collections::HashMap;

use crate::cluster::client::{ClusterClient, Queries};
use crate::cluster::connect::ConnectionSpec;
use crate::cluster::error::ClusterError;
use crate::cluster::ffi::{ConfigAlteration, ConfigChange, ResourceKind};

/// A change to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Set and/or delete (back to inherited) configs of one topic, one by one
    /// (IncrementalAlterConfigs): the topic's other overrides keep their values.
    AlterTopicConfigs {
        topic: String,
        set: Vec<(String, String)>,
        delete: Vec<String>,
    },
}

impl Op {
    /// What the operation is, for messages ("alter configs of topic 'orders'").
    pub fn describe(&self) -> String {
        match self {
            Op::AlterTopicConfigs { topic, .. } => format!("alter configs of topic '{topic}'"),
        }
    }
}

/// A table of what a plan changes: one row per changed item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanTable {
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
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
}

/// What applying a plan did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub summary: String,
}

/// Plans `op` against the cluster: reads what it needs and says what will change.
pub async fn plan(cluster: &dyn Queries, op: Op) -> Result<Plan, ClusterError> {
    match &op {
        Op::AlterTopicConfigs { topic, set, delete } => {
            let current = cluster.topic_configs(topic.clone(), None).await?;
            let by_name: HashMap<&str, &crate::cluster::model::ConfigEntry> =
                current.iter().map(|c| (c.name.as_str(), c)).collect();
            let mut rows = Vec::new();
            let mut warnings = Vec::new();
            let mut changes = false;
            let shown = |v: Option<&String>| v.cloned().unwrap_or_else(|| "-".into());
            for (name, new) in set {
                let entry = by_name.get(name.as_str());
                if entry.is_none() {
                    warnings.push(format!(
                        "'{name}' is not among the configs the cluster reports for '{topic}'"
                    ));
                }
                let old = entry.and_then(|e| e.value.as_ref());
                changes |= old != Some(new);
                rows.push(vec![
                    name.clone(),
                    shown(old),
                    new.clone(),
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
                rows.push(vec![
                    name.clone(),
                    shown(entry.and_then(|e| e.value.as_ref())),
                    format!("{} (inherited)", shown(entry.and_then(|e| e.default_value.as_ref()))),
                    entry.map_or_else(|| "-".into(), |e| e.source.label().to_string()),
                ]);
            }
            Ok(Plan {
                summary: format!(
                    "{}: {} set, {} back to inherited",
                    op.describe(),
                    set.len(),
                    delete.len()
                ),
                table: PlanTable {
                    headers: vec!["config", "now", "after", "now from"],
                    rows,
                },
                warnings,
                changes_anything: changes,
                op,
            })
        }
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

/// Applies a plan. A read-only connection is refused before anything is sent.
pub async fn apply(client: &ClusterClient, plan: &Plan) -> Result<Applied, ClusterError> {
    check_writable(client.spec(), &plan.op)?;
    match &plan.op {
        Op::AlterTopicConfigs { topic, set, delete } => {
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
            let c = client.clone();
            let outcomes = tokio::task::spawn_blocking(move || c.alter_configs_blocking(&[alteration]))
                .await
                .map_err(|e| ClusterError::Kafka {
                    what: "alter configs".into(),
                    name: "CLIENT_ERROR".into(),
                    message: e.to_string(),
                })??;
            if let Some(e) = outcomes.into_iter().find_map(|o| o.error) {
                return Err(e);
            }
            Ok(Applied {
                summary: format!("{}: done", plan.op.describe()),
            })
        }
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
}
