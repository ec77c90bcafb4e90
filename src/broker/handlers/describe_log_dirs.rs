//! DescribeLogDirs: one log directory, the broker's data dir, with the on-disk size of every
//! (or every requested) partition. There are no replicas to catch up and no future logs, so
//! the offset lag is 0 and `is_future_key` false. v4 adds the file system's total and usable
//! bytes (statvfs), -1 when they cannot be read.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::broker::catalog::Topic;
use crate::broker::dispatch::Reply;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

/// (total, usable) bytes of the file system holding `path`.
fn disk_space(path: &Path) -> Option<(i64, i64)> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain old data; all-zero is a valid value for it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is NUL-terminated and outlives the call; `st` is a valid, writable
    // statvfs that the call fills in.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let unit = st.f_frsize as u64;
    let total = (st.f_blocks as u64).saturating_mul(unit);
    let usable = (st.f_bavail as u64).saturating_mul(unit);
    Some((
        i64::try_from(total).unwrap_or(i64::MAX),
        i64::try_from(usable).unwrap_or(i64::MAX),
    ))
}

fn topic_entry(t: &Topic, only: Option<&BTreeSet<i32>>) -> DescribeLogDirsTopic {
    let mut out = DescribeLogDirsTopic::default();
    out.name = TopicName(StrBytes::from_string(t.name.clone()));
    out.partitions = t
        .partitions
        .iter()
        .filter(|p| only.is_none_or(|set| set.contains(&p.index)))
        .map(|p| {
            let mut e = DescribeLogDirsPartition::default();
            e.partition_index = p.index;
            e.partition_size = i64::try_from(p.log().size_bytes()).unwrap_or(i64::MAX);
            e.offset_lag = 0;
            e.is_future_key = false;
            e
        })
        .collect();
    out
}

pub async fn handle(broker: Arc<Broker>, ctx: RequestContext, req: DescribeLogDirsRequest) -> Reply {
    let topics: Vec<DescribeLogDirsTopic> = match req.topics {
        None => broker.catalog.all().iter().map(|t| topic_entry(t, None)).collect(),
        Some(wanted) => wanted
            .iter()
            .filter_map(|w| {
                let t = broker.catalog.get(w.topic.0.as_str())?;
                let only: BTreeSet<i32> = w.partitions.iter().copied().collect();
                let entry = topic_entry(&t, Some(&only));
                (!entry.partitions.is_empty()).then_some(entry)
            })
            .collect(),
    };
    // Kafka reports absolute paths.
    let dir = std::fs::canonicalize(&broker.data_dir).unwrap_or_else(|_| broker.data_dir.clone());
    let mut result = DescribeLogDirsResult::default();
    result.log_dir = StrBytes::from_string(dir.display().to_string());
    result.topics = topics;
    if ctx.api_version >= 4 {
        let (total, usable) = disk_space(&dir).unwrap_or((-1, -1));
        result.total_bytes = total;
        result.usable_bytes = usable;
    }
    let mut resp = DescribeLogDirsResponse::default();
    resp.results = vec![result];
    Reply::Now(ResponseKind::DescribeLogDirs(resp))
}
