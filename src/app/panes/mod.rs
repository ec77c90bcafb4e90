//! The panes' models: per pane its rows (derived from the cluster data when it changes), its
//! columns, its table view, the datasets it shows, and its footer hints. No ratatui here: the
//! views in `ui::panes` draw these.
//!
//! A new pane is one model file here (rows, columns, [`Pane`] impl) and one view file in
//! `ui::panes`, plus a [`PaneId`] variant and a line in [`Panes::get`]/[`Panes::get_mut`].

pub mod brokers;
pub mod configs;
pub mod group_detail;
pub mod groups;
pub mod partitions;
pub mod tail;
pub mod topics;

use crate::app::columns::TableModel;
use crate::app::state::{ClusterData, Dataset};

/// The panes in tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaneId {
    Topics,
    Partitions,
    Brokers,
    Groups,
    Configs,
}

impl PaneId {
    pub const ALL: [PaneId; 5] = [
        PaneId::Topics,
        PaneId::Partitions,
        PaneId::Brokers,
        PaneId::Groups,
        PaneId::Configs,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            PaneId::Topics => "Topics",
            PaneId::Partitions => "Partitions",
            PaneId::Brokers => "Brokers",
            PaneId::Groups => "Groups",
            PaneId::Configs => "Configs",
        }
    }

    /// The keymap action that opens this pane (`:topics` in the palette too).
    pub fn action_name(self) -> &'static str {
        match self {
            PaneId::Topics => "topics",
            PaneId::Partitions => "partitions",
            PaneId::Brokers => "brokers",
            PaneId::Groups => "groups",
            PaneId::Configs => "configs",
        }
    }

    pub fn index(self) -> usize {
        PaneId::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    /// Panes about one topic: they need a current topic.
    pub fn is_topic_pane(self) -> bool {
        matches!(self, PaneId::Partitions | PaneId::Configs)
    }
}

/// What a pane's rows are derived from besides the datasets.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context<'a> {
    /// The topic whose partitions and configs are shown.
    pub current_topic: Option<&'a str>,
}

/// A footer hint: (keymap action, label).
pub type Hint = (&'static str, &'static str);

/// What every pane model offers the event loop and the UI.
pub trait Pane {
    fn id(&self) -> PaneId;
    /// The datasets this pane shows: its stale mark is theirs, and the worker refreshes them
    /// first while the pane is on screen.
    fn datasets(&self) -> &'static [Dataset];
    /// Recomputes the rows from the data (the data or the context changed).
    fn rebuild(&mut self, data: &ClusterData, ctx: Context<'_>);
    fn table(&self) -> &dyn TableModel;
    fn table_mut(&mut self) -> &mut dyn TableModel;
    /// Footer hints, most useful first; `help` and `quit` are added by the footer.
    fn hints(&self) -> &'static [Hint];
    /// The topic that `Enter` on the selected row opens, if this pane opens topics.
    fn opens_topic(&self) -> Option<String> {
        None
    }
    /// Names of the topics on the rows around the selection (what is on screen), for the
    /// worker to refresh first.
    fn visible_topics(&self, _rows: usize) -> Vec<String> {
        Vec::new()
    }
}

/// Every pane's model.
#[derive(Default)]
pub struct Panes {
    pub topics: topics::TopicsPane,
    pub partitions: partitions::PartitionsPane,
    pub brokers: brokers::BrokersPane,
    pub groups: groups::GroupsPane,
    pub configs: configs::ConfigsPane,
}

impl Panes {
    pub fn get(&self, id: PaneId) -> &dyn Pane {
        match id {
            PaneId::Topics => &self.topics,
            PaneId::Partitions => &self.partitions,
            PaneId::Brokers => &self.brokers,
            PaneId::Groups => &self.groups,
            PaneId::Configs => &self.configs,
        }
    }

    pub fn get_mut(&mut self, id: PaneId) -> &mut dyn Pane {
        match id {
            PaneId::Topics => &mut self.topics,
            PaneId::Partitions => &mut self.partitions,
            PaneId::Brokers => &mut self.brokers,
            PaneId::Groups => &mut self.groups,
            PaneId::Configs => &mut self.configs,
        }
    }

    /// Rebuilds every pane.
    pub fn rebuild_all(&mut self, data: &ClusterData, ctx: Context<'_>) {
        for id in PaneId::ALL {
            self.get_mut(id).rebuild(data, ctx);
        }
    }

    /// Rebuilds the panes that show any of `changed`.
    pub fn rebuild_changed(&mut self, data: &ClusterData, ctx: Context<'_>, changed: &[Dataset]) {
        for id in PaneId::ALL {
            let pane = self.get_mut(id);
            if pane.datasets().iter().any(|d| changed.contains(d)) {
                pane.rebuild(data, ctx);
            }
        }
    }
}

/// Configs whose values are durations or sizes, shown raw and human ("604800000 (7d)").
const DURATION_CONFIGS: [&str; 2] = ["retention.ms", "segment.ms"];
const SIZE_CONFIGS: [&str; 3] = ["retention.bytes", "segment.bytes", "max.message.bytes"];

/// A config value as shown: raw, plus the human form for durations and sizes.
pub fn config_value_text(name: &str, value: Option<&str>) -> String {
    use crate::cluster::model::human;
    let Some(value) = value else { return "-".into() };
    let human = value.trim().parse::<i64>().ok().and_then(|v| {
        if DURATION_CONFIGS.contains(&name) {
            Some(human::duration_ms(v))
        } else if SIZE_CONFIGS.contains(&name) {
            Some(human::bytes(v))
        } else {
            None
        }
    });
    match human {
        Some(h) => format!("{value} ({h})"),
        None => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_in_configs_are_shown_raw_and_human() {
        assert_eq!(config_value_text("retention.ms", Some("604800000")), "604800000 (7d)");
        assert_eq!(config_value_text("retention.bytes", Some("-1")), "-1 (unlimited)");
        assert_eq!(
            config_value_text("max.message.bytes", Some("1048588")),
            "1048588 (1.0 MiB)"
        );
        assert_eq!(config_value_text("cleanup.policy", Some("delete")), "delete");
        assert_eq!(config_value_text("segment.ms", None), "-");
    }

    #[test]
    fn every_pane_is_registered_under_its_own_id() {
        let panes = Panes::default();
        for id in PaneId::ALL {
            assert_eq!(panes.get(id).id(), id);
        }
    }
}
