//! One module per Kafka API. Each `handle` parses its request, applies it and answers; Kafka
//! errors are error codes inside the response, never Rust errors.
//!
//! [`TABLE`] lists every implemented API with the versions advertised; dispatch and the
//! ApiVersions response are both derived from it.

pub mod alter_configs;
pub mod api_versions;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod sasl_authenticate;
pub mod sasl_handshake;
pub mod sync_group;

use kafka_protocol::messages::{ApiKey, RequestKind};

use crate::broker::dispatch::{ApiSpec, Reply};
use crate::broker::error::ConnectionError;

/// Kafka error codes used by the handlers (Kafka's `Errors` enum).
pub mod code {
    pub const NONE: i16 = 0;
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub const CORRUPT_MESSAGE: i16 = 2;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const MESSAGE_TOO_LARGE: i16 = 10;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
    pub const INVALID_REQUIRED_ACKS: i16 = 21;
    pub const INVALID_TIMESTAMP: i16 = 32;
    pub const TOPIC_ALREADY_EXISTS: i16 = 36;
    pub const INVALID_PARTITIONS: i16 = 37;
    pub const INVALID_REPLICATION_FACTOR: i16 = 38;
    pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
    pub const INVALID_CONFIG: i16 = 40;
    pub const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
    pub const ILLEGAL_SASL_STATE: i16 = 34;
    pub const INVALID_REQUEST: i16 = 42;
    pub const POLICY_VIOLATION: i16 = 44;
    pub const INVALID_TXN_STATE: i16 = 48;
    pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
    pub const KAFKA_STORAGE_ERROR: i16 = 56;
    pub const SASL_AUTHENTICATION_FAILED: i16 = 58;
    pub const FENCED_LEADER_EPOCH: i16 = 74;
    pub const UNKNOWN_LEADER_EPOCH: i16 = 75;
    pub const UNSUPPORTED_COMPRESSION_TYPE: i16 = 76;
    pub const UNKNOWN_TOPIC_ID: i16 = 100;
    pub const MISMATCHED_ENDPOINT_TYPE: i16 = 114;
    pub const UNSUPPORTED_ENDPOINT_TYPE: i16 = 115;
    pub const INVALID_RECORD: i16 = 87;
    pub const UNKNOWN_SERVER_ERROR: i16 = -1;
}

/// Kafka's check of a request's `current_leader_epoch` (-1: the client does not know it):
/// older than ours is FENCED_LEADER_EPOCH (the client refreshes its metadata and validates its
/// position), newer is UNKNOWN_LEADER_EPOCH.
pub fn check_leader_epoch(current: i32, ours: i32) -> Result<(), i16> {
    if current < 0 || current == ours {
        Ok(())
    } else if current < ours {
        Err(code::FENCED_LEADER_EPOCH)
    } else {
        Err(code::UNKNOWN_LEADER_EPOCH)
    }
}

/// `i32::MIN`: "authorized operations not requested".
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

/// Kafka's `AclOperation` bit numbers.
const fn ops(bits: &[u32]) -> i32 {
    let mut v = 0i32;
    let mut i = 0;
    while i < bits.len() {
        v |= 1 << bits[i];
        i += 1;
    }
    v
}
/// What Kafka answers without an authorizer: every operation the resource type supports.
/// Cluster: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS,
/// IDEMPOTENT_WRITE.
pub const CLUSTER_OPERATIONS: i32 = ops(&[5, 7, 8, 9, 10, 11, 12]);
/// Topic: READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
pub const TOPIC_OPERATIONS: i32 = ops(&[3, 4, 5, 6, 7, 8, 10, 11]);
/// Group: READ, DELETE, DESCRIBE.
pub const GROUP_OPERATIONS: i32 = ops(&[3, 6, 8]);

macro_rules! api {
    ($key:ident, $min:expr, $max:expr, $module:ident) => {
        ApiSpec {
            key: ApiKey::$key,
            min: $min,
            max: $max,
            handler: |broker, ctx, request| {
                Box::pin(async move {
                    match request {
                        RequestKind::$key(r) => $module::handle(broker, ctx, r).await,
                        _ => Reply::Close(ConnectionError::BadBody {
                            api: stringify!($key).into(),
                            version: ctx.api_version,
                            reason: "request kind does not match api key".into(),
                        }),
                    }
                })
            },
        }
    };
}

/// Every API the broker implements, with the versions it advertises.
pub static TABLE: &[ApiSpec] = &[
    api!(Produce, 3, 10, produce),
    api!(Fetch, 4, 12, fetch),
    api!(ListOffsets, 1, 7, list_offsets),
    api!(Metadata, 0, 12, metadata),
    api!(ApiVersions, 0, 3, api_versions),
    api!(SaslHandshake, 0, 1, sasl_handshake),
    api!(SaslAuthenticate, 0, 2, sasl_authenticate),
    api!(OffsetForLeaderEpoch, 2, 4, offset_for_leader_epoch),
    api!(CreateTopics, 2, 7, create_topics),
    api!(DeleteTopics, 1, 6, delete_topics),
    api!(DeleteRecords, 0, 2, delete_records),
    api!(DescribeConfigs, 1, 4, describe_configs),
    api!(AlterConfigs, 0, 2, alter_configs),
    api!(DescribeLogDirs, 0, 4, describe_log_dirs),
    api!(CreatePartitions, 0, 3, create_partitions),
    api!(IncrementalAlterConfigs, 0, 1, incremental_alter_configs),
    api!(DescribeCluster, 0, 1, describe_cluster),
    api!(InitProducerId, 0, 4, init_producer_id),
    api!(FindCoordinator, 0, 4, find_coordinator),
    api!(JoinGroup, 0, 9, join_group),
    api!(SyncGroup, 0, 5, sync_group),
    api!(Heartbeat, 0, 4, heartbeat),
    api!(LeaveGroup, 0, 5, leave_group),
    api!(OffsetCommit, 2, 9, offset_commit),
    api!(OffsetFetch, 1, 9, offset_fetch),
    api!(ListGroups, 0, 5, list_groups),
    api!(DescribeGroups, 0, 5, describe_groups),
    api!(DeleteGroups, 0, 2, delete_groups),
    api!(OffsetDelete, 0, 0, offset_delete),
];
