//! The Configs pane's model: the current topic's configs with value, default and source,
//! topic overrides first, durations and sizes shown raw and human.

use crate::app::columns::{contains_ci, json_opt, Align, Cell, Column, Layout, Row, Table, TableModel, Tone};
use crate::app::panes::{config_value_text, Context, Hint, Pane, PaneId};
use crate::app::state::{ClusterData, Dataset};
use crate::cluster::model::ConfigEntry;
use std::borrow::Cow;

/// Marks a row set on the topic itself, so overrides stand out without colour too.
pub const OVERRIDE_MARK: &str = "* ";
const INHERITED_MARK: &str = "  ";

impl Row for ConfigEntry {
    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }

    fn matches(&self, needle: &str) -> bool {
        contains_ci(&self.name, needle)
    }

    /// Overrides are what an operator looks for first, whatever the sort.
    fn rank(&self) -> u8 {
        u8::from(!self.source.is_override())
    }

    fn tone(&self) -> Tone {
        if self.source.is_override() {
            Tone::Override
        } else {
            Tone::Plain
        }
    }
}

pub static COLUMNS: [Column<ConfigEntry>; 4] = [
    Column {
        key: "name",
        layout: Layout::new("Name", "Name", 20, 40, Align::Left, 0),
        in_table: true,
        sort: |a, b| a.name.cmp(&b.name),
        cell: |e| {
            let mark = if e.source.is_override() {
                OVERRIDE_MARK
            } else {
                INHERITED_MARK
            };
            Cell::plain(format!("{mark}{}", e.name))
        },
        json: |e| e.name.clone().into(),
    },
    Column {
        key: "value",
        layout: Layout::fill("Value", 16, 40, 0),
        in_table: true,
        sort: |a, b| a.value.cmp(&b.value),
        cell: |e| {
            if e.sensitive && e.value.is_none() {
                Cell::plain("(sensitive)")
            } else {
                Cell::plain(config_value_text(&e.name, e.value.as_deref()))
            }
        },
        json: |e| json_opt(e.value.clone()),
    },
    Column {
        key: "default",
        layout: Layout::new("Default", "Default", 12, 30, Align::Left, 2),
        in_table: true,
        sort: |a, b| a.default_value.cmp(&b.default_value),
        cell: |e| match &e.default_value {
            Some(d) => Cell::toned(config_value_text(&e.name, Some(d)), Tone::Muted),
            None => Cell::toned("-", Tone::Muted),
        },
        json: |e| json_opt(e.default_value.clone()),
    },
    Column {
        key: "source",
        layout: Layout::new("Source", "Source", 7, 16, Align::Left, 1),
        in_table: true,
        sort: |a, b| a.source.cmp(&b.source),
        cell: |e| {
            Cell::toned(
                e.source.label(),
                if e.source.is_override() {
                    Tone::Override
                } else {
                    Tone::Muted
                },
            )
        },
        json: |e| e.source.label().into(),
    },
];

/// What the pane knows about the current topic's configs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ConfigsStatus {
    /// No topic chosen.
    #[default]
    NoTopic,
    /// Asked, no answer yet.
    Loading,
    /// The cluster answered with an error and there is nothing older to show.
    Failed(String),
    Loaded,
}

pub struct ConfigsPane {
    pub table: Table<ConfigEntry>,
    pub topic: Option<String>,
    pub status: ConfigsStatus,
}

impl Default for ConfigsPane {
    fn default() -> Self {
        ConfigsPane {
            table: Table::new(&COLUMNS),
            topic: None,
            status: ConfigsStatus::NoTopic,
        }
    }
}

impl ConfigsPane {
    pub fn overrides(&self) -> usize {
        self.table.rows.iter().filter(|e| e.source.is_override()).count()
    }
}

const DATASETS: [Dataset; 1] = [Dataset::TopicConfigs];

const HINTS: [Hint; 6] = [
    ("back", "back"),
    ("filter", "filter"),
    ("sort_next", "sort"),
    ("sort_reverse", "reverse"),
    ("next_pane", "next pane"),
    ("palette", "command"),
];

impl Pane for ConfigsPane {
    fn id(&self) -> PaneId {
        PaneId::Configs
    }

    fn datasets(&self) -> &'static [Dataset] {
        &DATASETS
    }

    fn rebuild(&mut self, data: &ClusterData, ctx: Context<'_>) {
        if self.topic.as_deref() != ctx.current_topic {
            self.table.view.selected = 0;
            self.table.view.offset = 0;
            self.table.rows.clear();
            self.table.view.order.clear();
        }
        self.topic = ctx.current_topic.map(str::to_string);
        let fetched = ctx.current_topic.and_then(|t| data.topic_configs.get(t));
        self.status = match (ctx.current_topic, fetched) {
            (None, _) => ConfigsStatus::NoTopic,
            (Some(_), Some(f)) if f.value.is_some() => ConfigsStatus::Loaded,
            (Some(_), Some(f)) => match f.error() {
                Some(e) => ConfigsStatus::Failed(e.message.clone()),
                None => ConfigsStatus::Loading,
            },
            (Some(_), None) => ConfigsStatus::Loading,
        };
        self.table
            .set_rows(fetched.and_then(|f| f.value.clone()).unwrap_or_default());
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

    fn visible_topics(&self, _rows: usize) -> Vec<String> {
        self.topic.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::model::ConfigSource;

    #[test]
    fn overrides_come_first_then_the_chosen_sort() {
        let e = |name: &str, source| ConfigEntry {
            name: name.into(),
            value: Some("1".into()),
            source,
            read_only: false,
            sensitive: false,
            default_value: None,
        };
        let mut t = Table::new(&COLUMNS);
        t.set_rows(vec![
            e("cleanup.policy", ConfigSource::Default),
            e("segment.ms", ConfigSource::DynamicTopic),
            e("retention.ms", ConfigSource::DynamicTopic),
            e("compression.type", ConfigSource::StaticBroker),
        ]);
        assert_eq!(t.view.order, [2, 1, 0, 3]);
        t.view.descending = true;
        t.resort();
        assert_eq!(t.view.order, [1, 2, 3, 0]);
    }
}
