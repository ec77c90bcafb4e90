//! Group changes: delete a group (refused while it has members, as Kafka refuses it with
//! NON_EMPTY_GROUP), or delete its committed offsets for one topic (Kafka refuses that with
//! GROUP_SUBSCRIBED_TO_TOPIC while a member subscribes to the topic).

use crate::cluster::client::ClusterClient;
use crate::cluster::error::ClusterError;
use crate::cluster::ops::{blocking, invalid, plural, Change, Op, Plan, PlanTable};

pub(super) async fn plan(client: &ClusterClient, op: Op) -> Result<Plan, ClusterError> {
    let what = op.describe();
    let group = match &op {
        Op::DeleteGroup { group } | Op::DeleteGroupOffsets { group, .. } => group.clone(),
        _ => unreachable!("groups::plan is only called for group changes"),
    };
    let g = group.clone();
    let summary = blocking(client, "describe group", move |c| c.group_blocking(&g)).await?;
    let g = group.clone();
    let committed = blocking(client, "list committed offsets", move |c| {
        c.committed_blocking(&g, None)
    })
    .await?;
    let committed: Vec<_> = committed.into_iter().filter(|c| c.offset.is_some()).collect();
    match &op {
        Op::DeleteGroup { .. } => {
            if summary.state == "Dead" && committed.is_empty() {
                return Err(ClusterError::Kafka {
                    what,
                    name: "GROUP_ID_NOT_FOUND".into(),
                    message: format!("the cluster does not know group '{group}'"),
                });
            }
            if summary.members > 0 || !(summary.state == "Empty" || summary.state == "Dead") {
                return Err(ClusterError::Refused {
                    what,
                    reason: format!(
                        "group '{group}' has {} ({}); Kafka deletes only groups without members (NON_EMPTY_GROUP)",
                        plural(summary.members as i64, "active member"),
                        summary.state
                    ),
                });
            }
            let mut topics: Vec<&str> = committed.iter().map(|c| c.topic.as_str()).collect();
            topics.dedup();
            let mut plan = Plan::new(
                op.clone(),
                format!(
                    "delete group '{group}' and its committed offsets ({})",
                    plural(committed.len() as i64, "partition")
                ),
                Change::DeleteGroup { group: group.clone() },
            );
            plan.table = PlanTable {
                headers: vec!["group", "state", "members", "committed partitions", "topics"],
                rows: vec![vec![
                    group.clone(),
                    summary.state.clone(),
                    summary.members.to_string(),
                    committed.len().to_string(),
                    topics.join(", "),
                ]],
            };
            plan.warnings.push(
                "the group's committed offsets are gone: a consumer joining it later starts from auto.offset.reset"
                    .into(),
            );
            plan.before = format!(
                "{} with {}",
                summary.state,
                plural(committed.len() as i64, "committed partition")
            );
            plan.after = "deleted".into();
            Ok(plan)
        }
        Op::DeleteGroupOffsets { topic, .. } => {
            let mine: Vec<_> = committed.iter().filter(|c| &c.topic == topic).collect();
            if mine.is_empty() {
                return Err(invalid(
                    what,
                    format!("group '{group}' has no committed offsets for topic '{topic}'"),
                ));
            }
            let rows = mine
                .iter()
                .map(|c| {
                    vec![
                        c.topic.clone(),
                        c.partition.to_string(),
                        c.offset.map_or_else(|| "-".into(), |o| o.to_string()),
                    ]
                })
                .collect();
            let partitions: Vec<(String, i32)> = mine.iter().map(|c| (c.topic.clone(), c.partition)).collect();
            let mut plan = Plan::new(
                op.clone(),
                format!(
                    "delete the committed offsets of group '{group}' for topic '{topic}' ({})",
                    plural(partitions.len() as i64, "partition")
                ),
                Change::DeleteGroupOffsets {
                    group: group.clone(),
                    partitions: partitions.clone(),
                },
            );
            plan.table = PlanTable {
                headers: vec!["topic", "partition", "committed offset"],
                rows,
            };
            if summary.members > 0 {
                plan.warnings.push(format!(
                    "group '{group}' has {}: Kafka refuses this if one of them subscribes to '{topic}' (GROUP_SUBSCRIBED_TO_TOPIC)",
                    plural(summary.members as i64, "active member")
                ));
            }
            plan.before = mine
                .iter()
                .map(|c| format!("{}:{}={}", c.topic, c.partition, c.offset.unwrap_or(-1)))
                .collect::<Vec<_>>()
                .join(" ");
            plan.after = "deleted".into();
            Ok(plan)
        }
        _ => unreachable!(),
    }
}
