//! How many partitions the broker may hold: one check shared by CreateTopics, CreatePartitions
//! and auto-creation, made before any directory or file is created, so a request that does not
//! fit is refused whole (POLICY_VIOLATION) and never fails half way on a full file table.
//!
//! Three bounds: `strom.max.partitions.per.request` (the partitions one request adds),
//! `max.broker.partitions` (all partitions, KIP-578's name) and the file descriptors left under
//! RLIMIT_NOFILE, keeping room for `max.connections` sockets. Each partition keeps one file open
//! per segment; a new one starts with one. Also the directory name: `TOPIC-N` must fit in
//! NAME_MAX, which a 249-character topic reaches at partition 100,000.

use std::sync::Mutex;

use crate::broker::catalog::{Catalog, NAME_MAX};
use crate::broker::config::BrokerConfig;

/// File descriptors always kept free for the broker's own files (catalog and offsets writes,
/// segment rolls, index rebuilds, the lock file, fsyncs of directories).
const FD_HEADROOM: u64 = 64;

/// Partitions admitted but not yet in the catalog: a check counts them as held, so two
/// requests cannot both pass a check that only one fits. The lock is held only for the check,
/// never across the creation's file I/O.
#[derive(Default)]
pub struct PartitionBudget {
    reserved: Mutex<usize>,
}

/// Gives back an admitted reservation once its creation has finished, failed or panicked.
struct Reservation<'a> {
    budget: &'a PartitionBudget,
    count: usize,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut reserved = self.budget.reserved.lock().unwrap_or_else(|p| p.into_inner());
        *reserved = reserved.saturating_sub(self.count);
    }
}

/// The soft RLIMIT_NOFILE and how many descriptors are open now; None where unknown.
fn fd_usage() -> Option<(u64, u64)> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current?;
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some((limit, open))
}

/// Raises the soft RLIMIT_NOFILE to the hard limit, as a broker holding a file per segment and
/// per connection needs (Kafka's docs ask operators for 100,000). Logs what it got.
pub fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut l = getrlimit(Resource::Nofile);
    if l.current < l.maximum {
        let before = l.current;
        l.current = l.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, l) {
            tracing::warn!(error = %e, soft = ?before, "cannot raise the open-file limit");
        }
    }
    let now = getrlimit(Resource::Nofile);
    tracing::info!(open_files = ?now.current, "open-file limit");
}

/// Partition directories `TOPIC-0` .. `TOPIC-(to-1)` fit in NAME_MAX.
fn dir_names_fit(topic: &str, to: usize) -> Result<(), String> {
    let last = to.saturating_sub(1);
    let digits = last.checked_ilog10().unwrap_or(0) as usize + 1;
    if topic.len() + 1 + digits > NAME_MAX {
        return Err(format!(
            "partition {last} of a {}-character topic would need a directory name longer than {NAME_MAX} bytes",
            topic.len()
        ));
    }
    Ok(())
}

/// `added` new files fit under the open-file `limit` with `open` in use, keeping room for the
/// connections (at most a quarter of the limit) and the broker's own files.
fn files_fit(added: u64, limit: u64, open: u64, max_connections: u64) -> Result<(), String> {
    let sockets = max_connections.min(limit / 4);
    let free = limit.saturating_sub(open + sockets + FD_HEADROOM);
    if added > free {
        return Err(format!(
            "{added} more partitions need {added} open files; {open} of the open-file limit {limit} are in use and {sockets} are kept for connections"
        ));
    }
    Ok(())
}

impl PartitionBudget {
    /// Checks whether `topic` may grow to `to` partitions (from `from`, 0 for a new topic) as
    /// part of a request adding `request_total` partitions in all.
    pub fn check(
        &self,
        catalog: &Catalog,
        config: &BrokerConfig,
        topic: &str,
        from: usize,
        to: usize,
        request_total: usize,
    ) -> Result<(), String> {
        let reserved = *self.reserved.lock().unwrap_or_else(|p| p.into_inner());
        Self::check_with(catalog, config, topic, from, to, request_total, reserved)
    }

    fn check_with(
        catalog: &Catalog,
        config: &BrokerConfig,
        topic: &str,
        from: usize,
        to: usize,
        request_total: usize,
        reserved: usize,
    ) -> Result<(), String> {
        let per_request = config.get_i64("strom.max.partitions.per.request").max(1) as usize;
        if request_total > per_request {
            return Err(format!(
                "the request adds {request_total} partitions; strom.max.partitions.per.request is {per_request}"
            ));
        }
        dir_names_fit(topic, to)?;
        let added = to.saturating_sub(from);
        let held: usize = catalog.all().iter().map(|t| t.partitions.len()).sum::<usize>() + reserved;
        let max = config.get_i64("max.broker.partitions").max(1) as usize;
        if held + added > max {
            return Err(format!(
                "the broker holds {held} partitions; {added} more would pass max.broker.partitions ({max})"
            ));
        }
        if let Some((limit, open)) = fd_usage() {
            files_fit(
                (added + reserved) as u64,
                limit,
                open,
                config.get_i64("max.connections").max(0) as u64,
            )?;
        }
        Ok(())
    }

    /// Runs `create` (blocking) if the check passes, counting its partitions as held until it
    /// returns, so creations running at the same time are checked against each other.
    #[allow(clippy::too_many_arguments)]
    pub fn admit<T>(
        &self,
        catalog: &Catalog,
        config: &BrokerConfig,
        topic: &str,
        from: usize,
        to: usize,
        request_total: usize,
        create: impl FnOnce() -> T,
    ) -> Result<T, String> {
        let _reservation = {
            let mut reserved = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
            Self::check_with(catalog, config, topic, from, to, request_total, *reserved)?;
            let count = to.saturating_sub(from);
            *reserved += count;
            Reservation { budget: self, count }
        };
        Ok(create())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_249_character_topic_fits_99999_partitions_and_no_more() {
        let long = "t".repeat(249);
        assert!(dir_names_fit(&long, 1).is_ok());
        assert!(dir_names_fit(&long, 100_000).is_ok(), "partition 99999: 255 bytes");
        let e = dir_names_fit(&long, 100_001).unwrap_err();
        assert!(e.contains("partition 100000"), "{e}");
        assert!(dir_names_fit("short", 2_000_000).is_ok());
    }

    #[test]
    fn new_partitions_must_fit_in_the_open_file_limit_with_room_for_connections() {
        // 1024 files, 100 open, 256 kept for sockets (a quarter), 64 headroom: 604 free.
        assert!(files_fit(604, 1024, 100, 1000).is_ok());
        let e = files_fit(605, 1024, 100, 1000).unwrap_err();
        assert!(e.contains("open-file limit 1024"), "{e}");
        // Fewer allowed connections keep fewer files back.
        assert!(files_fit(800, 1024, 100, 10).is_ok());
        // A limit already exceeded leaves nothing, without underflow.
        assert!(files_fit(1, 100, 200, 0).is_err());
    }

    #[test]
    fn admitted_partitions_count_as_held_until_their_creation_returns() {
        let dir = tempfile::tempdir().unwrap();
        let config = BrokerConfig::parse("\"max.broker.partitions\" = 10\n").unwrap();
        let catalog = Catalog::open(crate::broker::storage::OsDisk::shared(), dir.path(), &config, false, 0).unwrap();
        let budget = PartitionBudget::default();
        let inner = budget.admit(&catalog, &config, "a", 0, 6, 6, || {
            // While "a" is being created, 6 of 10 are taken: 5 more do not fit, 4 do.
            let refused = budget.check(&catalog, &config, "b", 0, 5, 5).unwrap_err();
            assert!(refused.contains("holds 6 partitions"), "{refused}");
            budget.check(&catalog, &config, "b", 0, 4, 4)
        });
        assert_eq!(inner, Ok(Ok(())));
        // Returned (and "a" never entered the catalog here): the room is free again.
        assert!(budget.check(&catalog, &config, "b", 0, 10, 10).is_ok());
    }

    #[test]
    fn this_process_reports_its_file_usage() {
        let (limit, open) = fd_usage().expect("RLIMIT_NOFILE and /proc/self/fd on Linux");
        assert!(open > 0 && open <= limit, "{open} of {limit}");
    }
}
