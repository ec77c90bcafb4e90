//! The Brokers pane's model: id, address, rack, up or down, the controller, and how many
//! partition leaders and replicas each broker hosts.

use crate::app::columns::{contains_ci, json_opt, Align, Cell, Column, Layout, Row, Table, TableModel, Tone};
use crate::app::panes::{Context, Hint, Pane, PaneId};
use crate::app::state::{ClusterData, Dataset};
use crate::cluster::model::Broker;
use std::borrow::Cow;

/// One broker as the Brokers pane shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerRow {
    pub broker: Broker,
    /// Partition leaders and replicas it hosts (from the last metadata that listed it).
    pub leaders: usize,
    pub replicas: usize,
}

impl Row for BrokerRow {
    fn key(&self) -> Cow<'_, str> {
        Cow::Owned(self.broker.id.to_string())
    }

    fn matches(&self, needle: &str) -> bool {
        let b = &self.broker;
        contains_ci(&b.host, needle)
            || contains_ci(&b.id.to_string(), needle)
            || contains_ci(&format!("{}:{}", b.host, b.port), needle)
            || b.rack.as_deref().is_some_and(|r| contains_ci(r, needle))
    }

    /// A down broker's counts are from the last metadata that listed it: dim the row.
    fn tone(&self) -> Tone {
        if self.broker.up {
            Tone::Plain
        } else {
            Tone::Muted
        }
    }
}

pub static COLUMNS: [Column<BrokerRow>; 7] = [
    Column {
        key: "id",
        layout: Layout::new("Id", "Id", 4, 6, Align::Right, 0),
        in_table: true,
        sort: |a, b| a.broker.id.cmp(&b.broker.id),
        cell: |r| Cell::plain(r.broker.id.to_string()),
        json: |r| r.broker.id.into(),
    },
    Column {
        key: "address",
        layout: Layout::fill("Address", 16, 40, 0),
        in_table: true,
        sort: |a, b| (&a.broker.host, a.broker.port).cmp(&(&b.broker.host, b.broker.port)),
        cell: |r| Cell::plain(format!("{}:{}", r.broker.host, r.broker.port)),
        json: |r| format!("{}:{}", r.broker.host, r.broker.port).into(),
    },
    Column {
        key: "rack",
        layout: Layout::new("Rack", "Rack", 6, 16, Align::Left, 2),
        in_table: true,
        sort: |a, b| a.broker.rack.cmp(&b.broker.rack),
        cell: |r| {
            r.broker
                .rack
                .as_ref()
                .map_or_else(Cell::unknown, |x| Cell::plain(x.clone()))
        },
        json: |r| json_opt(r.broker.rack.clone()),
    },
    Column {
        key: "up",
        layout: Layout::new("Status", "Status", 6, 8, Align::Left, 0),
        in_table: true,
        // Down before up: what needs a look first.
        sort: |a, b| a.broker.up.cmp(&b.broker.up),
        cell: |r| {
            if r.broker.up {
                Cell::toned("up", Tone::Ok)
            } else {
                Cell::toned("down", Tone::Error)
            }
        },
        json: |r| r.broker.up.into(),
    },
    Column {
        key: "controller",
        layout: Layout::new("Controller", "Ctl", 4, 11, Align::Left, 1),
        in_table: true,
        // The controller before the rest.
        sort: |a, b| b.broker.is_controller.cmp(&a.broker.is_controller),
        cell: |r| {
            if r.broker.is_controller {
                Cell::toned("yes", Tone::Ok)
            } else {
                Cell::plain("")
            }
        },
        json: |r| r.broker.is_controller.into(),
    },
    Column {
        key: "leaders",
        layout: Layout::new("Leaders", "Leaders", 7, 8, Align::Right, 1),
        in_table: true,
        sort: |a, b| a.leaders.cmp(&b.leaders),
        cell: |r| Cell::count(r.leaders),
        json: |r| r.leaders.into(),
    },
    Column {
        key: "replicas",
        layout: Layout::new("Replicas", "Replicas", 8, 9, Align::Right, 1),
        in_table: true,
        sort: |a, b| a.replicas.cmp(&b.replicas),
        cell: |r| Cell::count(r.replicas),
        json: |r| r.replicas.into(),
    },
];

pub struct BrokersPane {
    pub table: Table<BrokerRow>,
    pub controller: Option<i32>,
}

impl Default for BrokersPane {
    fn default() -> Self {
        BrokersPane {
            table: Table::new(&COLUMNS),
            controller: None,
        }
    }
}

impl BrokersPane {
    pub fn down(&self) -> usize {
        self.table.rows.iter().filter(|r| !r.broker.up).count()
    }
}

const DATASETS: [Dataset; 1] = [Dataset::Metadata];

const HINTS: [Hint; 6] = [
    ("filter", "filter"),
    ("sort_next", "sort"),
    ("sort_reverse", "reverse"),
    ("refresh", "refresh"),
    ("next_pane", "next pane"),
    ("palette", "command"),
];

impl Pane for BrokersPane {
    fn id(&self) -> PaneId {
        PaneId::Brokers
    }

    fn datasets(&self) -> &'static [Dataset] {
        &DATASETS
    }

    fn rebuild(&mut self, data: &ClusterData, _ctx: Context<'_>) {
        let Some(md) = &data.metadata.value else {
            self.table.set_rows(Vec::new());
            self.controller = None;
            return;
        };
        let load = md.broker_load();
        self.controller = md.controller_id;
        self.table.set_rows(
            md.brokers
                .iter()
                .map(|b| {
                    let (leaders, replicas) = load.get(&b.id).copied().unwrap_or((0, 0));
                    BrokerRow {
                        broker: b.clone(),
                        leaders,
                        replicas,
                    }
                })
                .collect(),
        );
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

    fn row(id: i32, host: &str, up: bool) -> BrokerRow {
        BrokerRow {
            broker: Broker {
                id,
                host: host.into(),
                port: 9092,
                rack: None,
                is_controller: id == 1,
                up,
            },
            leaders: 0,
            replicas: 0,
        }
    }

    #[test]
    fn brokers_filter_on_host_and_id_and_sort_down_first() {
        let mut t = Table::new(&COLUMNS);
        t.set_rows(vec![row(1, "kafka-a.example", true), row(2, "kafka-b.example", false)]);
        t.view.filter = "B.EX".into();
        t.resort();
        assert_eq!(t.view.order, [1]);
        t.view.filter = "1".into();
        t.resort();
        assert_eq!(t.view.order, [0]);
        t.view.filter.clear();
        t.view.sort_column = 3;
        t.resort();
        assert_eq!(t.view.order, [1, 0]);
        assert_eq!(t.rows[1].tone(), Tone::Muted);
    }
}
