//! The Consumer groups pane's model: every group with its state, members and protocol. The
//! same rows and columns make `strom groups` and `strom groups --json`.

use crate::app::columns::{contains_ci, Align, Cell, Column, Layout, Row, Table, TableModel, Tone};
use crate::app::panes::{Context, Hint, Pane, PaneId};
use crate::app::state::{ClusterData, Dataset};
use crate::cluster::model::GroupSummary;
use std::borrow::Cow;

impl Row for GroupSummary {
    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }

    fn matches(&self, needle: &str) -> bool {
        contains_ci(&self.name, needle)
    }
}

/// Kafka's group states: a rebalance is transient, Dead is gone, Empty has no members.
pub fn state_tone(state: &str) -> Tone {
    match state {
        "Stable" => Tone::Ok,
        "PreparingRebalance" | "CompletingRebalance" | "Assigning" | "Reconciling" => Tone::Warn,
        "Dead" => Tone::Error,
        _ => Tone::Muted,
    }
}

fn text_or_null(s: &str) -> serde_json::Value {
    if s.is_empty() {
        serde_json::Value::Null
    } else {
        s.into()
    }
}

pub static COLUMNS: [Column<GroupSummary>; 5] = [
    Column {
        key: "group",
        layout: Layout::fill("Name", 16, 50, 0),
        in_table: true,
        sort: |a, b| a.name.cmp(&b.name),
        cell: |r| Cell::plain(r.name.clone()),
        json: |r| r.name.clone().into(),
    },
    Column {
        key: "state",
        layout: Layout::new("State", "State", 12, 20, Align::Left, 0),
        in_table: true,
        sort: |a, b| a.state.cmp(&b.state),
        cell: |r| Cell::toned(r.state.clone(), state_tone(&r.state)),
        json: |r| r.state.clone().into(),
    },
    Column {
        key: "members",
        layout: Layout::new("Members", "Members", 7, 8, Align::Right, 1),
        in_table: true,
        sort: |a, b| a.members.cmp(&b.members),
        cell: |r| Cell::count(r.members),
        json: |r| r.members.into(),
    },
    Column {
        key: "protocol_type",
        layout: Layout::new("Protocol type", "Protocol", 8, 14, Align::Left, 2),
        in_table: true,
        sort: |a, b| a.protocol_type.cmp(&b.protocol_type),
        cell: |r| Cell::plain(r.protocol_type.clone()),
        json: |r| text_or_null(&r.protocol_type),
    },
    Column {
        key: "protocol",
        layout: Layout::new("Assignor", "Assignor", 8, 14, Align::Left, 3),
        in_table: false,
        sort: |a, b| a.protocol.cmp(&b.protocol),
        cell: |r| Cell::plain(r.protocol.clone()),
        json: |r| text_or_null(&r.protocol),
    },
];

pub struct GroupsPane {
    pub table: Table<GroupSummary>,
}

impl Default for GroupsPane {
    fn default() -> Self {
        GroupsPane {
            table: Table::new(&COLUMNS),
        }
    }
}

const DATASETS: [Dataset; 1] = [Dataset::Groups];

const HINTS: [Hint; 6] = [
    ("filter", "filter"),
    ("sort_next", "sort"),
    ("sort_reverse", "reverse"),
    ("refresh", "refresh"),
    ("next_pane", "next pane"),
    ("palette", "command"),
];

impl Pane for GroupsPane {
    fn id(&self) -> PaneId {
        PaneId::Groups
    }

    fn datasets(&self) -> &'static [Dataset] {
        &DATASETS
    }

    fn rebuild(&mut self, data: &ClusterData, _ctx: Context<'_>) {
        self.table.set_rows(data.groups.value.clone().unwrap_or_default());
    }

    fn table(&self) -> &dyn TableModel {
        &self.table
    }

    fn table_mut(&mut self) -> &mut dyn TableModel {
        &mut self.table
    }

    fn hints(&self) -> &'static [Hint] {
        &HINTS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_sort_by_members_and_json_names_the_assignor_protocol() {
        let g = |name: &str, members, protocol: &str| GroupSummary {
            name: name.into(),
            state: "Stable".into(),
            protocol_type: "consumer".into(),
            protocol: protocol.into(),
            members,
        };
        let mut t = Table::new(&COLUMNS);
        t.set_rows(vec![g("billing", 3, "range"), g("audit", 1, "")]);
        assert_eq!(t.view.order, [1, 0]);
        t.view.sort_column = 2;
        t.view.descending = true;
        t.resort();
        assert_eq!(t.view.order, [0, 1]);
        let json = crate::app::columns::json_rows(&COLUMNS, &t.rows).to_string();
        assert_eq!(
            json,
            r#"[{"group":"billing","state":"Stable","members":3,"protocol_type":"consumer","protocol":"range"},{"group":"audit","state":"Stable","members":1,"protocol_type":"consumer","protocol":null}]"#
        );
    }
}
