//! The admin calls that librdkafka 2.12 has and the rdkafka crate does not wrap:
//! ListConsumerGroupOffsets, AlterConsumerGroupOffsets, DeleteConsumerGroupOffsets,
//! IncrementalAlterConfigs, ListOffsets and DescribeCluster, plus the cluster and controller ids. All of strom's unsafe code for the
//! cluster layer lives in this file.
//!
//! Every call follows librdkafka's admin pattern: a private result queue, admin options with a
//! request timeout, the asynchronous call (librdkafka copies its inputs, so they are freed as
//! soon as it returns), then one blocking poll for the result event, whose memory owns every
//! result getter's answer. Each of those C objects is held by a small owner type whose `Drop`
//! frees it, and results are copied into owned Rust values before the event goes, so nothing
//! borrowed from librdkafka outlives this module. A poll that times out drops the queue; an
//! answer that arrives later is discarded by librdkafka with the queue.
//!
//! The functions block (up to the timeout plus a second): call them from a blocking thread.
//! Writes (`alter_group_offsets`, `delete_group_offsets`, `incremental_alter_configs`) are meant to be reached only
//! through `cluster::ops`, which enforces read-only once for every caller.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int};
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::client::{Client, ClientContext};
use rdkafka::types::RDKafkaErrorCode;

use crate::cluster::error::{kafka_name, ClusterError};

/// The committed offset of one partition for a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedOffset {
    pub topic: String,
    pub partition: i32,
    /// None: the group has no committed offset for this partition.
    pub offset: Option<i64>,
    /// The metadata string stored with the commit (None when empty).
    pub metadata: Option<String>,
    pub leader_epoch: Option<i32>,
    /// A per-partition error from the cluster.
    pub error: Option<ClusterError>,
}

/// The outcome for one partition of a write (AlterConsumerGroupOffsets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionOutcome {
    pub topic: String,
    pub partition: i32,
    pub error: Option<ClusterError>,
}

/// Which offset ListOffsets looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (high watermark, or last stable offset when read committed).
    Latest,
    /// The offset of the record with the largest timestamp.
    MaxTimestamp,
    /// The first offset whose timestamp is at or after this time (ms since the epoch).
    Timestamp(i64),
}

impl OffsetSpec {
    fn raw(self) -> i64 {
        match self {
            OffsetSpec::Earliest => rd::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_EARLIEST as i64,
            OffsetSpec::Latest => rd::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_LATEST as i64,
            OffsetSpec::MaxTimestamp => rd::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_MAX_TIMESTAMP as i64,
            OffsetSpec::Timestamp(ms) => ms.max(0),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    ReadUncommitted,
    ReadCommitted,
}

/// One partition's answer to ListOffsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedOffset {
    pub topic: String,
    pub partition: i32,
    /// The offset, or -1 when a timestamp lookup found no record at or after the time.
    pub offset: i64,
    /// The timestamp of the record at `offset`, when the lookup was by time (-1: none).
    pub timestamp: i64,
    pub leader_epoch: Option<i32>,
    pub error: Option<ClusterError>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    Topic,
    /// A broker by id (its name is the id).
    Broker,
}

/// One incremental change to a config (IncrementalAlterConfigs' operations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigChange {
    Set(String),
    /// Back to the inherited value.
    Delete,
    /// Add to a list config.
    Append(String),
    /// Remove from a list config.
    Subtract(String),
}

/// The changes to one resource's configs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigAlteration {
    pub kind: ResourceKind,
    pub name: String,
    pub changes: Vec<(String, ConfigChange)>,
}

/// The outcome for one resource of IncrementalAlterConfigs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceOutcome {
    pub kind: ResourceKind,
    pub name: String,
    pub error: Option<ClusterError>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
}

/// The answer to DescribeCluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterDescription {
    pub cluster_id: Option<String>,
    pub controller: Option<i32>,
    pub nodes: Vec<Node>,
}

// ---------------------------------------------------------------------------------------------
// Owners of librdkafka objects.

/// A result queue of one client.
struct Queue(*mut rd::rd_kafka_queue_t);

impl Queue {
    fn new(rk: *mut rd::rd_kafka_t) -> Result<Queue, ClusterError> {
        // SAFETY: `rk` is a live client handle (borrowed from an rdkafka `Client` for the whole
        // call); rd_kafka_queue_new returns an owned queue or NULL.
        let q = unsafe { rd::rd_kafka_queue_new(rk) };
        if q.is_null() {
            return Err(local_error("admin", "cannot create a result queue"));
        }
        Ok(Queue(q))
    }

    /// Waits for the one result event of the call made on this queue.
    fn wait(&self, what: &str, timeout: Duration) -> Result<Event, ClusterError> {
        // librdkafka times the request out after `timeout` and posts an error event; the extra
        // second lets that event arrive instead of guessing.
        let wait = timeout + Duration::from_secs(1);
        // SAFETY: the queue is owned and live; the returned event (or NULL) is ours to destroy.
        let ev = unsafe { rd::rd_kafka_queue_poll(self.0, millis(wait)) };
        if ev.is_null() {
            return Err(ClusterError::Timeout {
                what: what.to_string(),
                secs: timeout.as_secs().max(1),
            });
        }
        let ev = Event(ev);
        // SAFETY: the event is live; the error string lives as long as the event.
        let (code, message) = unsafe {
            (
                rd::rd_kafka_event_error(ev.0),
                cstr(rd::rd_kafka_event_error_string(ev.0)),
            )
        };
        if let Some(e) = kafka_error(what, code, message) {
            return Err(e);
        }
        Ok(ev)
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: owned queue, destroyed once. A result that arrives afterwards is discarded by
        // librdkafka (the queue is disabled on destroy, and the pending op holds its own
        // reference until then).
        unsafe { rd::rd_kafka_queue_destroy(self.0) }
    }
}

/// A result event; every pointer a result getter returns lives as long as it.
struct Event(*mut rd::rd_kafka_event_t);

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: owned event from rd_kafka_queue_poll, destroyed once.
        unsafe { rd::rd_kafka_event_destroy(self.0) }
    }
}

/// Admin options for one call.
struct Options(*mut rd::rd_kafka_AdminOptions_t);

impl Options {
    fn new(rk: *mut rd::rd_kafka_t, op: rd::rd_kafka_admin_op_t, timeout: Duration) -> Result<Options, ClusterError> {
        // SAFETY: `rk` is a live client; the options are owned by the returned value.
        let o = unsafe { rd::rd_kafka_AdminOptions_new(rk, op) };
        if o.is_null() {
            return Err(local_error("admin", "cannot create admin options"));
        }
        let opts = Options(o);
        let mut errstr = [0 as c_char; 256];
        // SAFETY: live options; errstr is a writable buffer of the size passed.
        let code =
            unsafe { rd::rd_kafka_AdminOptions_set_request_timeout(opts.0, millis(timeout), errstr.as_mut_ptr(), 256) };
        if code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            // SAFETY: librdkafka NUL-terminates errstr within its size.
            let msg = unsafe { cstr(errstr.as_ptr()) }.unwrap_or_default();
            return Err(local_error("admin options", &msg));
        }
        Ok(opts)
    }

    fn set_isolation(&self, isolation: Isolation) -> Result<(), ClusterError> {
        let level = match isolation {
            Isolation::ReadUncommitted => rd::rd_kafka_IsolationLevel_t::RD_KAFKA_ISOLATION_LEVEL_READ_UNCOMMITTED,
            Isolation::ReadCommitted => rd::rd_kafka_IsolationLevel_t::RD_KAFKA_ISOLATION_LEVEL_READ_COMMITTED,
        };
        // SAFETY: live options; a returned error object is ours to destroy.
        owned_error("admin options", unsafe {
            rd::rd_kafka_AdminOptions_set_isolation_level(self.0, level)
        })
    }
}

impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: owned options, destroyed once (librdkafka copied them into the request).
        unsafe { rd::rd_kafka_AdminOptions_destroy(self.0) }
    }
}

/// An owned topic-partition list.
struct PartitionList(*mut rd::rd_kafka_topic_partition_list_t);

impl PartitionList {
    fn with_capacity(n: usize) -> PartitionList {
        // SAFETY: allocates an empty list (librdkafka aborts on out-of-memory, never NULL).
        PartitionList(unsafe { rd::rd_kafka_topic_partition_list_new(n.min(c_int::MAX as usize) as c_int) })
    }

    /// Adds a partition and returns its element for setting the offset.
    fn add(&mut self, topic: &str, partition: i32) -> Result<&mut rd::rd_kafka_topic_partition_t, ClusterError> {
        let t = c_string("topic", topic)?;
        // SAFETY: owned list; librdkafka copies the topic name; the element pointer stays
        // valid until the list is modified again or destroyed, and the &mut borrow of self
        // prevents both.
        unsafe {
            let elem = rd::rd_kafka_topic_partition_list_add(self.0, t.as_ptr(), partition);
            elem.as_mut()
                .ok_or_else(|| local_error("partition list", "cannot add a partition"))
        }
    }
}

impl Drop for PartitionList {
    fn drop(&mut self) {
        // SAFETY: owned list, destroyed once.
        unsafe { rd::rd_kafka_topic_partition_list_destroy(self.0) }
    }
}

/// Config resources to pass to IncrementalAlterConfigs.
struct ConfigResources(Vec<*mut rd::rd_kafka_ConfigResource_t>);

impl Drop for ConfigResources {
    fn drop(&mut self) {
        for r in &self.0 {
            // SAFETY: each was created by rd_kafka_ConfigResource_new and is destroyed once;
            // librdkafka copied them into the request.
            unsafe { rd::rd_kafka_ConfigResource_destroy(*r) }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The calls.

/// Committed offsets of `group`: of `partitions`, or of every partition it has committed
/// (None).
pub fn list_group_offsets<C: ClientContext>(
    client: &Client<C>,
    group: &str,
    partitions: Option<&[(String, i32)]>,
    timeout: Duration,
) -> Result<Vec<CommittedOffset>, ClusterError> {
    const WHAT: &str = "list committed offsets";
    let rk = client.native_ptr();
    let g = c_string("group", group)?;
    let list = match partitions {
        Some(parts) => {
            let mut l = PartitionList::with_capacity(parts.len());
            for (t, p) in parts {
                l.add(t, *p)?;
            }
            Some(l)
        }
        None => None,
    };
    let q = Queue::new(rk)?;
    let opts = Options::new(
        rk,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
        timeout,
    )?;
    // SAFETY: `g` and `list` are live for the call; rd_kafka_ListConsumerGroupOffsets_new
    // copies both. The request object is destroyed right after the asynchronous call, which
    // copies it too (one element, as librdkafka requires).
    unsafe {
        let req = rd::rd_kafka_ListConsumerGroupOffsets_new(
            g.as_ptr(),
            list.as_ref().map_or(std::ptr::null(), |l| l.0 as *const _),
        );
        if req.is_null() {
            return Err(local_error(WHAT, "cannot create the request"));
        }
        let mut reqs = [req];
        rd::rd_kafka_ListConsumerGroupOffsets(rk, reqs.as_mut_ptr(), 1, opts.0, q.0);
        rd::rd_kafka_ListConsumerGroupOffsets_destroy(req);
    }
    drop(list);
    let ev = q.wait(WHAT, timeout)?;
    // SAFETY: the event is live and of this call's type (checked by the getter returning
    // non-NULL); the group results and their partition lists live as long as the event, and
    // everything is copied out before it is dropped.
    unsafe {
        let res = rd::rd_kafka_event_ListConsumerGroupOffsets_result(ev.0);
        if res.is_null() {
            return Err(local_error(WHAT, "unexpected result event"));
        }
        let mut n = 0usize;
        let groups = rd::rd_kafka_ListConsumerGroupOffsets_result_groups(res, &mut n);
        let group_res = one_group(groups, n, WHAT)?;
        Ok(partition_elems(rd::rd_kafka_group_result_partitions(group_res))
            .iter()
            .map(|e| CommittedOffset {
                topic: cstr(e.topic).unwrap_or_default(),
                partition: e.partition,
                offset: (e.offset >= 0).then_some(e.offset),
                metadata: metadata_text(e),
                leader_epoch: leader_epoch(e),
                error: kafka_error(WHAT, e.err, None),
            })
            .collect())
    }
}

/// Commits `offsets` (topic, partition, offset) for `group`. Kafka refuses this for a group
/// with active members (UNKNOWN_MEMBER_ID or similar per partition). Reach it through
/// `cluster::ops`.
pub fn alter_group_offsets<C: ClientContext>(
    client: &Client<C>,
    group: &str,
    offsets: &[(String, i32, i64)],
    timeout: Duration,
) -> Result<Vec<PartitionOutcome>, ClusterError> {
    const WHAT: &str = "alter committed offsets";
    let rk = client.native_ptr();
    let g = c_string("group", group)?;
    let mut list = PartitionList::with_capacity(offsets.len());
    for (t, p, o) in offsets {
        list.add(t, *p)?.offset = *o;
    }
    let q = Queue::new(rk)?;
    let opts = Options::new(
        rk,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS,
        timeout,
    )?;
    // SAFETY: as in list_group_offsets: inputs live for the calls, which copy them; the
    // request object is destroyed after the asynchronous call.
    unsafe {
        let req = rd::rd_kafka_AlterConsumerGroupOffsets_new(g.as_ptr(), list.0);
        if req.is_null() {
            return Err(local_error(WHAT, "cannot create the request"));
        }
        let mut reqs = [req];
        rd::rd_kafka_AlterConsumerGroupOffsets(rk, reqs.as_mut_ptr(), 1, opts.0, q.0);
        rd::rd_kafka_AlterConsumerGroupOffsets_destroy(req);
    }
    drop(list);
    let ev = q.wait(WHAT, timeout)?;
    // SAFETY: as in list_group_offsets.
    unsafe {
        let res = rd::rd_kafka_event_AlterConsumerGroupOffsets_result(ev.0);
        if res.is_null() {
            return Err(local_error(WHAT, "unexpected result event"));
        }
        let mut n = 0usize;
        let groups = rd::rd_kafka_AlterConsumerGroupOffsets_result_groups(res, &mut n);
        let group_res = one_group(groups, n, WHAT)?;
        Ok(partition_elems(rd::rd_kafka_group_result_partitions(group_res))
            .iter()
            .map(|e| PartitionOutcome {
                topic: cstr(e.topic).unwrap_or_default(),
                partition: e.partition,
                error: kafka_error(WHAT, e.err, None),
            })
            .collect())
    }
}

/// Deletes `group`'s committed offsets of `partitions` (Kafka's OffsetDelete). Kafka refuses
/// it per partition with GROUP_SUBSCRIBED_TO_TOPIC while a member of the group subscribes to
/// the topic. Reach it through `cluster::ops`.
pub fn delete_group_offsets<C: ClientContext>(
    client: &Client<C>,
    group: &str,
    partitions: &[(String, i32)],
    timeout: Duration,
) -> Result<Vec<PartitionOutcome>, ClusterError> {
    const WHAT: &str = "delete committed offsets";
    let rk = client.native_ptr();
    let g = c_string("group", group)?;
    let mut list = PartitionList::with_capacity(partitions.len());
    for (t, p) in partitions {
        list.add(t, *p)?;
    }
    let q = Queue::new(rk)?;
    let opts = Options::new(
        rk,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS,
        timeout,
    )?;
    // SAFETY: as in list_group_offsets: inputs live for the calls, which copy them; the
    // request object is destroyed after the asynchronous call (one element, as librdkafka
    // requires).
    unsafe {
        let req = rd::rd_kafka_DeleteConsumerGroupOffsets_new(g.as_ptr(), list.0);
        if req.is_null() {
            return Err(local_error(WHAT, "cannot create the request"));
        }
        let mut reqs = [req];
        rd::rd_kafka_DeleteConsumerGroupOffsets(rk, reqs.as_mut_ptr(), 1, opts.0, q.0);
        rd::rd_kafka_DeleteConsumerGroupOffsets_destroy(req);
    }
    drop(list);
    let ev = q.wait(WHAT, timeout)?;
    // SAFETY: as in list_group_offsets.
    unsafe {
        let res = rd::rd_kafka_event_DeleteConsumerGroupOffsets_result(ev.0);
        if res.is_null() {
            return Err(local_error(WHAT, "unexpected result event"));
        }
        let mut n = 0usize;
        let groups = rd::rd_kafka_DeleteConsumerGroupOffsets_result_groups(res, &mut n);
        let group_res = one_group(groups, n, WHAT)?;
        Ok(partition_elems(rd::rd_kafka_group_result_partitions(group_res))
            .iter()
            .map(|e| PartitionOutcome {
                topic: cstr(e.topic).unwrap_or_default(),
                partition: e.partition,
                error: kafka_error(WHAT, e.err, None),
            })
            .collect())
    }
}

/// Changes configs one by one (Kafka's IncrementalAlterConfigs): unlike AlterConfigs, the
/// configs not named keep their values. Reach it through `cluster::ops`.
pub fn incremental_alter_configs<C: ClientContext>(
    client: &Client<C>,
    alterations: &[ConfigAlteration],
    timeout: Duration,
) -> Result<Vec<ResourceOutcome>, ClusterError> {
    const WHAT: &str = "alter configs";
    let rk = client.native_ptr();
    let mut resources = ConfigResources(Vec::with_capacity(alterations.len()));
    for a in alterations {
        let name = c_string("resource name", &a.name)?;
        let kind = match a.kind {
            ResourceKind::Topic => rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
            ResourceKind::Broker => rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_BROKER,
        };
        // SAFETY: the name is live for the call, which copies it; the resource is owned by
        // `resources` from here on.
        let res = unsafe { rd::rd_kafka_ConfigResource_new(kind, name.as_ptr()) };
        if res.is_null() {
            return Err(local_error(WHAT, "cannot create a config resource"));
        }
        resources.0.push(res);
        for (key, change) in &a.changes {
            let k = c_string("config name", key)?;
            let (op, value) = match change {
                ConfigChange::Set(v) => (
                    rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET,
                    Some(v),
                ),
                ConfigChange::Delete => (
                    rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE,
                    None,
                ),
                ConfigChange::Append(v) => (
                    rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_APPEND,
                    Some(v),
                ),
                ConfigChange::Subtract(v) => (
                    rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SUBTRACT,
                    Some(v),
                ),
            };
            let v = value.map(|v| c_string("config value", v)).transpose()?;
            // SAFETY: live resource and strings (copied by librdkafka); a returned error
            // object is ours to destroy (owned_error does).
            owned_error(WHAT, unsafe {
                rd::rd_kafka_ConfigResource_add_incremental_config(
                    res,
                    k.as_ptr(),
                    op,
                    v.as_ref().map_or(std::ptr::null(), |v| v.as_ptr()),
                )
            })?;
        }
    }
    let q = Queue::new(rk)?;
    let opts = Options::new(
        rk,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
        timeout,
    )?;
    // SAFETY: the resource array is live for the call, which copies it.
    unsafe {
        rd::rd_kafka_IncrementalAlterConfigs(rk, resources.0.as_mut_ptr(), resources.0.len(), opts.0, q.0);
    }
    drop(resources);
    let ev = q.wait(WHAT, timeout)?;
    // SAFETY: live event of this type; resources live as long as the event; copied out.
    unsafe {
        let res = rd::rd_kafka_event_IncrementalAlterConfigs_result(ev.0);
        if res.is_null() {
            return Err(local_error(WHAT, "unexpected result event"));
        }
        let mut n = 0usize;
        let items = rd::rd_kafka_IncrementalAlterConfigs_result_resources(res, &mut n);
        Ok(ptr_slice(items, n)
            .iter()
            .map(|r| {
                let kind =
                    if rd::rd_kafka_ConfigResource_type(*r) == rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_BROKER {
                        ResourceKind::Broker
                    } else {
                        ResourceKind::Topic
                    };
                ResourceOutcome {
                    kind,
                    name: cstr(rd::rd_kafka_ConfigResource_name(*r)).unwrap_or_default(),
                    error: kafka_error(
                        WHAT,
                        rd::rd_kafka_ConfigResource_error(*r),
                        cstr(rd::rd_kafka_ConfigResource_error_string(*r)),
                    ),
                }
            })
            .collect())
    }
}

/// Offsets of `partitions` by `spec` (Kafka's ListOffsets), asked of each partition's leader.
pub fn list_offsets<C: ClientContext>(
    client: &Client<C>,
    partitions: &[(String, i32, OffsetSpec)],
    isolation: Isolation,
    timeout: Duration,
) -> Result<Vec<ListedOffset>, ClusterError> {
    const WHAT: &str = "list offsets";
    if partitions.is_empty() {
        return Ok(Vec::new());
    }
    let rk = client.native_ptr();
    let mut list = PartitionList::with_capacity(partitions.len());
    for (t, p, spec) in partitions {
        list.add(t, *p)?.offset = spec.raw();
    }
    let q = Queue::new(rk)?;
    let opts = Options::new(rk, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS, timeout)?;
    opts.set_isolation(isolation)?;
    // SAFETY: the list is live for the call, which copies it.
    unsafe { rd::rd_kafka_ListOffsets(rk, list.0, opts.0, q.0) };
    drop(list);
    let ev = q.wait(WHAT, timeout)?;
    // SAFETY: live event of this type; the infos and their partitions live as long as it.
    unsafe {
        let res = rd::rd_kafka_event_ListOffsets_result(ev.0);
        if res.is_null() {
            return Err(local_error(WHAT, "unexpected result event"));
        }
        let mut n = 0usize;
        let infos = rd::rd_kafka_ListOffsets_result_infos(res, &mut n);
        let mut out = Vec::with_capacity(n);
        for info in ptr_slice(infos, n) {
            let Some(e) = rd::rd_kafka_ListOffsetsResultInfo_topic_partition(*info).as_ref() else {
                continue;
            };
            out.push(ListedOffset {
                topic: cstr(e.topic).unwrap_or_default(),
                partition: e.partition,
                offset: e.offset,
                timestamp: rd::rd_kafka_ListOffsetsResultInfo_timestamp(*info),
                leader_epoch: leader_epoch(e),
                error: kafka_error(WHAT, e.err, None),
            });
        }
        Ok(out)
    }
}

/// The cluster's id, controller and brokers (DescribeCluster).
pub fn describe_cluster<C: ClientContext>(
    client: &Client<C>,
    timeout: Duration,
) -> Result<ClusterDescription, ClusterError> {
    const WHAT: &str = "describe cluster";
    let rk = client.native_ptr();
    let q = Queue::new(rk)?;
    let opts = Options::new(rk, rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER, timeout)?;
    // SAFETY: live client, options and queue.
    unsafe { rd::rd_kafka_DescribeCluster(rk, opts.0, q.0) };
    let ev = q.wait(WHAT, timeout)?;
    // SAFETY: live event of this type; nodes, controller and id live as long as it.
    unsafe {
        let res = rd::rd_kafka_event_DescribeCluster_result(ev.0);
        if res.is_null() {
            return Err(local_error(WHAT, "unexpected result event"));
        }
        let mut n = 0usize;
        let nodes = rd::rd_kafka_DescribeCluster_result_nodes(res, &mut n);
        let controller = rd::rd_kafka_DescribeCluster_result_controller(res);
        Ok(ClusterDescription {
            cluster_id: cstr(rd::rd_kafka_DescribeCluster_result_cluster_id(res)),
            controller: (!controller.is_null()).then(|| rd::rd_kafka_Node_id(controller)),
            nodes: ptr_slice(nodes, n)
                .iter()
                .map(|node| Node {
                    id: rd::rd_kafka_Node_id(*node),
                    host: cstr(rd::rd_kafka_Node_host(*node)).unwrap_or_default(),
                    port: rd::rd_kafka_Node_port(*node),
                    rack: cstr(rd::rd_kafka_Node_rack(*node)),
                })
                .collect(),
        })
    }
}

/// The cluster id from the client's metadata (asking the cluster if needed), or None when
/// unknown within `timeout`. (The rdkafka crate's `fetch_cluster_id` leaks the string
/// librdkafka returns; this frees it.)
pub fn cluster_id<C: ClientContext>(client: &Client<C>, timeout: Duration) -> Option<String> {
    let rk = client.native_ptr();
    // SAFETY: a live client handle; the returned string (or NULL) is ours to free with
    // rd_kafka_mem_free, after it was copied.
    unsafe {
        let p = rd::rd_kafka_clusterid(rk, millis(timeout));
        let id = cstr(p);
        if !p.is_null() {
            rd::rd_kafka_mem_free(rk, p as *mut std::os::raw::c_void);
        }
        id
    }
}

/// The controller's broker id from the client's metadata (asking the cluster if needed), or
/// None when unknown within `timeout`.
pub fn controller_id<C: ClientContext>(client: &Client<C>, timeout: Duration) -> Option<i32> {
    // SAFETY: a live client handle; the call blocks at most `timeout`.
    let id = unsafe { rd::rd_kafka_controllerid(client.native_ptr(), millis(timeout)) };
    (id >= 0).then_some(id)
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn millis(d: Duration) -> c_int {
    d.as_millis().min(c_int::MAX as u128) as c_int
}

fn c_string(what: &str, s: &str) -> Result<CString, ClusterError> {
    CString::new(s).map_err(|_| ClusterError::Invalid {
        what: what.to_string(),
        message: format!("{s:?} contains a NUL byte"),
    })
}

fn local_error(what: &str, message: &str) -> ClusterError {
    ClusterError::Kafka {
        what: what.to_string(),
        name: "CLIENT_ERROR".into(),
        message: message.to_string(),
    }
}

/// A copy of a C string, None for NULL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays live during the call.
unsafe fn cstr(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the contract.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// `ptrs[..n]` as a slice; empty for NULL.
///
/// # Safety
/// `ptrs` is NULL or points to `n` initialised pointers that stay live for `'a`.
unsafe fn ptr_slice<'a, T>(ptrs: *mut *const T, n: usize) -> &'a [*const T] {
    if ptrs.is_null() || n == 0 {
        return &[];
    }
    // SAFETY: per the contract.
    unsafe { std::slice::from_raw_parts(ptrs, n) }
}

/// The elements of a partition list; empty for NULL.
///
/// # Safety
/// `list` is NULL or a valid list that stays live and unmodified for `'a`.
unsafe fn partition_elems<'a>(
    list: *const rd::rd_kafka_topic_partition_list_t,
) -> &'a [rd::rd_kafka_topic_partition_t] {
    // SAFETY: per the contract, a valid list has `cnt` initialised elements at `elems`.
    unsafe {
        match list.as_ref() {
            Some(l) if !l.elems.is_null() && l.cnt > 0 => std::slice::from_raw_parts(l.elems, l.cnt as usize),
            _ => &[],
        }
    }
}

/// The single group result of a one-group admin call, or its error.
///
/// # Safety
/// `groups` is NULL or `n` valid group results that live as long as the caller's event.
unsafe fn one_group(
    groups: *mut *const rd::rd_kafka_group_result_t,
    n: usize,
    what: &str,
) -> Result<*const rd::rd_kafka_group_result_t, ClusterError> {
    // SAFETY: per the contract.
    let g = *unsafe { ptr_slice(groups, n) }
        .first()
        .ok_or_else(|| local_error(what, "no group in the result"))?;
    // SAFETY: a valid group result; its error (if any) is owned by the result.
    let err = unsafe { rd::rd_kafka_group_result_error(g) };
    if !err.is_null() {
        // SAFETY: a valid error object owned by the result.
        let (code, msg) = unsafe { (rd::rd_kafka_error_code(err), cstr(rd::rd_kafka_error_string(err))) };
        if let Some(e) = kafka_error(what, code, msg) {
            return Err(e);
        }
    }
    Ok(g)
}

/// The commit metadata of a partition element, None when empty.
fn metadata_text(e: &rd::rd_kafka_topic_partition_t) -> Option<String> {
    if e.metadata.is_null() || e.metadata_size == 0 {
        return None;
    }
    // SAFETY: librdkafka sets `metadata` to `metadata_size` bytes owned by the element.
    let bytes = unsafe { std::slice::from_raw_parts(e.metadata as *const u8, e.metadata_size) };
    Some(String::from_utf8_lossy(bytes).into_owned())
}

fn leader_epoch(e: &rd::rd_kafka_topic_partition_t) -> Option<i32> {
    // SAFETY: a valid element; the getter only reads it.
    let epoch = unsafe { rd::rd_kafka_topic_partition_get_leader_epoch(e) };
    (epoch >= 0).then_some(epoch)
}

/// Turns a returned error object (NULL: success) into a result, destroying it.
fn owned_error(what: &str, err: *mut rd::rd_kafka_error_t) -> Result<(), ClusterError> {
    if err.is_null() {
        return Ok(());
    }
    // SAFETY: a non-NULL error object that the caller handed over; destroyed once, after its
    // string was copied.
    let (code, msg) = unsafe {
        let out = (rd::rd_kafka_error_code(err), cstr(rd::rd_kafka_error_string(err)));
        rd::rd_kafka_error_destroy(err);
        out
    };
    match kafka_error(what, code, msg.clone()) {
        Some(e) => Err(e),
        None => Err(local_error(what, &msg.unwrap_or_default())),
    }
}

/// A Kafka error for a non-zero code, with librdkafka's message when it gave one.
fn kafka_error(what: &str, code: rd::rd_kafka_resp_err_t, message: Option<String>) -> Option<ClusterError> {
    if code == rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return None;
    }
    let code = RDKafkaErrorCode::from(code);
    let message = message.filter(|m| !m.is_empty()).unwrap_or_else(|| code.to_string());
    Some(match code {
        RDKafkaErrorCode::OperationTimedOut | RDKafkaErrorCode::RequestTimedOut => ClusterError::Kafka {
            what: what.to_string(),
            name: "REQUEST_TIMED_OUT".into(),
            message,
        },
        RDKafkaErrorCode::UnsupportedVersion | RDKafkaErrorCode::UnsupportedFeature => ClusterError::Unsupported {
            what: what.to_string(),
            detail: message,
        },
        c => ClusterError::Kafka {
            what: what.to_string(),
            name: kafka_name(c),
            message,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_specs_use_librdkafkas_sentinels_and_times_are_never_negative() {
        assert_eq!(OffsetSpec::Latest.raw(), -1);
        assert_eq!(OffsetSpec::Earliest.raw(), -2);
        assert_eq!(OffsetSpec::MaxTimestamp.raw(), -3);
        assert_eq!(OffsetSpec::Timestamp(1_700_000_000_000).raw(), 1_700_000_000_000);
        // A negative time would silently become a sentinel.
        assert_eq!(OffsetSpec::Timestamp(-2).raw(), 0);
    }

    #[test]
    fn kafka_errors_carry_kafkas_names_and_success_is_none() {
        assert_eq!(
            kafka_error("x", rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR, None),
            None
        );
        let e = kafka_error(
            "alter configs",
            rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_INVALID_CONFIG,
            Some("bad value".into()),
        );
        assert_eq!(
            e,
            Some(ClusterError::Kafka {
                what: "alter configs".into(),
                name: "INVALID_CONFIG".into(),
                message: "bad value".into()
            })
        );
        assert!(matches!(
            kafka_error("x", rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__TIMED_OUT, None),
            Some(ClusterError::Kafka { name, .. }) if name == "REQUEST_TIMED_OUT"
        ));
    }

    #[test]
    fn strings_with_nul_bytes_are_refused_before_reaching_c() {
        assert!(matches!(c_string("topic", "a\0b"), Err(ClusterError::Invalid { .. })));
    }
}
