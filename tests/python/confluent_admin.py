"""confluent-kafka's AdminClient (librdkafka inside the wheel) against the bundled broker.

Every call the AdminClient has for topics, configs, records, offsets and consumer groups, each
checked against what the broker must answer:
create_topics (with configs; validate_only creates nothing; an existing name, a refused config,
zero partitions fail with their Kafka errors), list_topics, describe_topics (topic ids,
partitions, authorized operations), describe_cluster, create_partitions (grow; shrink refused),
describe_configs (overrides and defaults with their sources, synonyms, the broker's own),
alter_configs (replaces the overrides), incremental_alter_configs (SET, DELETE, APPEND of a refused
policy, APPEND and SUBTRACT on a list config, APPEND on a scalar refused, validate_only, a bad value
and an unknown key refused with Kafka's messages), every topic config Kafka defines accepted at
creation and described, list_offsets (earliest, latest,
max timestamp, by timestamp), delete_records (an offset and "to the end"), and on groups:
list_consumer_groups (with state and type filters), describe_consumer_groups (members, assignments,
assignor, coordinator), list_consumer_group_offsets, alter_consumer_group_offsets (refused while
the group has members, applied once it is empty), delete_consumer_groups (refused while not
empty), delete_topics.

Usage: confluent_admin.py HOST:PORT
"""

import time

from helpers import check, check_eq, fail, log, main, require, wait_for

require("confluent_kafka", "confluent-kafka")

from confluent_kafka import (
    Consumer,
    ConsumerGroupState,
    ConsumerGroupType,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
    ResourceType,
)

TOPIC = "cf-admin"
OTHER = "cf-admin-other"
GROUP = "cf-admin-g"
T = 30  # seconds for any single admin call
BASE_TS = 1_700_000_000_000


def results(futures):
    """{key: result or the KafkaError it failed with}"""
    out = {}
    for key, f in futures.items():
        try:
            out[key] = f.result(T)
        except KafkaException as e:
            out[key] = e.args[0]
    return out


def error_codes(futures):
    return {k: (v.code() if isinstance(v, KafkaError) else 0) for k, v in results(futures).items()}


def one(futures):
    (value,) = results(futures).values()
    if isinstance(value, KafkaError):
        fail("admin call failed: %s" % value)
    return value


def topic_configs(admin, name):
    entries = one(admin.describe_configs([ConfigResource(ResourceType.TOPIC, name)], request_timeout=T))
    return {n: (e.value, e.source) for n, e in entries.items()}


def body(addr):
    admin = AdminClient({"bootstrap.servers": addr})
    topics(addr, admin)
    configs(admin)
    offsets_and_records(addr, admin)
    groups(addr, admin)
    deletion(admin)


def topics(addr, admin):
    check_eq(
        error_codes(admin.create_topics([NewTopic("cf-admin-dry", 2, 1)], validate_only=True, request_timeout=T)),
        {"cf-admin-dry": 0},
        "validate_only create",
    )
    check("cf-admin-dry" not in admin.list_topics(timeout=T).topics, "validate_only created the topic")
    check_eq(
        error_codes(
            admin.create_topics(
                [NewTopic(TOPIC, 3, 1, config={"retention.ms": "3600000", "cleanup.policy": "delete"}), NewTopic(OTHER, 1, 1)],
                request_timeout=T,
            )
        ),
        {TOPIC: 0, OTHER: 0},
        "create_topics",
    )
    check_eq(
        error_codes(
            admin.create_topics(
                [
                    NewTopic(TOPIC, 1, 1),
                    NewTopic("cf-admin-compact", 1, 1, config={"cleanup.policy": "compact"}),
                    NewTopic("cf-admin-zero", 0, 1),
                ],
                request_timeout=T,
            )
        ),
        {
            TOPIC: KafkaError.TOPIC_ALREADY_EXISTS,
            "cf-admin-compact": KafkaError.INVALID_CONFIG,
            "cf-admin-zero": KafkaError.INVALID_PARTITIONS,
        },
        "create_topics with an existing name, a refused config, zero partitions",
    )

    md = admin.list_topics(timeout=T)
    check(TOPIC in md.topics and OTHER in md.topics, "list_topics: %r" % sorted(md.topics))
    check(not {"cf-admin-compact", "cf-admin-zero"} & set(md.topics), "refused topics listed: %r" % sorted(md.topics))
    check_eq(sorted(md.topics[TOPIC].partitions), [0, 1, 2], "partitions in list_topics")
    check_eq([(b.id, "%s:%d" % (b.host, b.port)) for b in md.brokers.values()], [(1, addr)], "brokers in list_topics")

    desc = one(admin.describe_topics(TopicCollection([TOPIC]), include_authorized_operations=True, request_timeout=T))
    check_eq((desc.name, desc.is_internal), (TOPIC, False), "describe_topics")
    check(desc.topic_id is not None and str(desc.topic_id) != "AAAAAAAAAAAAAAAAAAAAAA", "topic id: %r" % desc.topic_id)
    check_eq(
        [(p.id, p.leader.id, [r.id for r in p.replicas], [r.id for r in p.isr]) for p in desc.partitions],
        [(p, 1, [1], [1]) for p in range(3)],
        "partitions: (id, leader, replicas, isr)",
    )
    ops = {op.name for op in desc.authorized_operations or []}
    check({"READ", "WRITE", "DESCRIBE", "DELETE"} <= ops, "topic authorized operations: %r" % sorted(ops))

    cluster = admin.describe_cluster(include_authorized_operations=True, request_timeout=T).result(T)
    check(cluster.cluster_id, "cluster id is empty")
    check_eq(cluster.controller.id if cluster.controller else None, 1, "controller")
    check_eq([(n.id, "%s:%d" % (n.host, n.port)) for n in cluster.nodes], [(1, addr)], "describe_cluster nodes")
    ops = {op.name for op in cluster.authorized_operations or []}
    check({"DESCRIBE", "ALTER_CONFIGS", "CREATE"} <= ops, "cluster authorized operations: %r" % sorted(ops))

    check_eq(error_codes(admin.create_partitions([NewPartitions(TOPIC, 5)], request_timeout=T)), {TOPIC: 0}, "grow to 5")
    check_eq(
        error_codes(admin.create_partitions([NewPartitions(TOPIC, 2)], request_timeout=T)),
        {TOPIC: KafkaError.INVALID_PARTITIONS},
        "shrink to 2",
    )
    check_eq(
        error_codes(admin.create_partitions([NewPartitions("cf-admin-missing", 2)], request_timeout=T)),
        {"cf-admin-missing": KafkaError.UNKNOWN_TOPIC_OR_PART},
        "grow a missing topic",
    )
    check_eq(
        sorted(admin.list_topics(topic=TOPIC, timeout=T).topics[TOPIC].partitions), list(range(5)), "partitions after growing"
    )
    log("topics created, refused, listed, described and grown")


def configs(admin):
    got = topic_configs(admin, TOPIC)
    check_eq(got["retention.ms"], ("3600000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value), "retention.ms override")
    check_eq(got["cleanup.policy"], ("delete", ConfigSource.DYNAMIC_TOPIC_CONFIG.value), "cleanup.policy override")
    check_eq(got["retention.bytes"], ("-1", ConfigSource.DEFAULT_CONFIG.value), "retention.bytes default")

    broker = one(admin.describe_configs([ConfigResource(ResourceType.BROKER, "1")], request_timeout=T))
    check_eq(broker["log.retention.ms"].value, "604800000", "broker log.retention.ms")
    check_eq(broker["node.id"].value, "1", "broker node.id")

    # AlterConfigs (deprecated, still used) replaces every override of the topic.
    one(admin.alter_configs([ConfigResource(ResourceType.TOPIC, TOPIC, set_config={"retention.ms": "7200000"})]))
    got = topic_configs(admin, TOPIC)
    check_eq(got["retention.ms"], ("7200000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value), "retention.ms after alter")
    check_eq(got["cleanup.policy"], ("delete", ConfigSource.DEFAULT_CONFIG.value), "cleanup.policy after alter")

    def incremental_error(ops, validate_only=False):
        entries = [ConfigEntry(name, value, incremental_operation=op) for name, value, op in ops]
        futures = admin.incremental_alter_configs(
            [ConfigResource(ResourceType.TOPIC, TOPIC, incremental_configs=entries)],
            validate_only=validate_only,
            request_timeout=T,
        )
        (value,) = results(futures).values()
        return value if isinstance(value, KafkaError) else None

    def incremental(ops, validate_only=False):
        err = incremental_error(ops, validate_only)
        return err.code() if err else 0

    check_eq(
        incremental([("retention.bytes", "1000000", AlterConfigOpType.SET), ("retention.ms", None, AlterConfigOpType.DELETE)]),
        0,
        "incremental SET + DELETE",
    )
    got = topic_configs(admin, TOPIC)
    check_eq(got["retention.bytes"], ("1000000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value), "retention.bytes after SET")
    check_eq(got["retention.ms"], ("604800000", ConfigSource.DEFAULT_CONFIG.value), "retention.ms after DELETE")

    # cleanup.policy is a list; appending "compact" asks for compaction, which is refused.
    check_eq(
        incremental([("cleanup.policy", "compact", AlterConfigOpType.APPEND)]), KafkaError.INVALID_CONFIG, "APPEND compact"
    )
    check_eq(incremental([("segment.ms", "3600000", AlterConfigOpType.SET)], validate_only=True), 0, "validate_only SET")
    check_eq(topic_configs(admin, TOPIC)["segment.ms"][1], ConfigSource.DEFAULT_CONFIG.value, "validate_only changed it")
    check_eq(incremental([("retention.ms", "soon", AlterConfigOpType.SET)]), KafkaError.INVALID_CONFIG, "SET a bad value")
    check_eq(
        incremental([("no.such.config", "1", AlterConfigOpType.SET)]), KafkaError.INVALID_CONFIG, "SET an unknown config"
    )
    check_eq(topic_configs(admin, TOPIC)["retention.bytes"][0], "1000000", "retention.bytes kept after refusals")

    # Kafka's ConfigException text for a bad value.
    err = incremental_error([("retention.ms", "-2", AlterConfigOpType.SET)])
    check(
        err is not None and "Invalid value -2 for configuration retention.ms: Value must be at least -1" in err.str(),
        "message for retention.ms=-2: %r" % (err and err.str()),
    )
    err = incremental_error([("no.such.config", "1", AlterConfigOpType.SET)])
    check(err is not None and "Unknown topic config name: no.such.config" in err.str(), "unknown: %r" % (err and err.str()))

    # APPEND and SUBTRACT edit list configs entry by entry; scalar configs refuse them.
    throttled = "leader.replication.throttled.replicas"
    check_eq(incremental([(throttled, "0:1", AlterConfigOpType.APPEND)]), 0, "APPEND to an empty list")
    check_eq(incremental([(throttled, "1:1,0:1", AlterConfigOpType.APPEND)]), 0, "APPEND with a duplicate")
    check_eq(topic_configs(admin, TOPIC)[throttled], ("0:1,1:1", ConfigSource.DYNAMIC_TOPIC_CONFIG.value), "after APPEND")
    check_eq(incremental([(throttled, "0:1", AlterConfigOpType.SUBTRACT)]), 0, "SUBTRACT")
    check_eq(topic_configs(admin, TOPIC)[throttled][0], "1:1", "after SUBTRACT")
    check_eq(incremental([(throttled, "0:x", AlterConfigOpType.APPEND)]), KafkaError.INVALID_CONFIG, "APPEND a bad entry")
    err = incremental_error([("compression.type", "gzip", AlterConfigOpType.APPEND)])
    check(
        err is not None and "Can't APPEND to key compression.type because its type is not LIST." in err.str(),
        "APPEND to a scalar: %r" % (err and err.str()),
    )
    check_eq(
        incremental([("cleanup.policy", "delete", AlterConfigOpType.SUBTRACT)]),
        KafkaError.INVALID_CONFIG,
        "SUBTRACT the only cleanup policy",
    )
    check_eq(topic_configs(admin, TOPIC)["cleanup.policy"][1], ConfigSource.DEFAULT_CONFIG.value, "cleanup.policy kept")

    # The configs setup scripts pass are accepted at creation and reported as overrides, with
    # every other topic config Kafka defines at its default.
    setup = {
        "min.insync.replicas": "2",
        "compression.type": "zstd",
        "unclean.leader.election.enable": "false",
        "delete.retention.ms": "100",
        "segment.index.bytes": "65536",
        "segment.jitter.ms": "10",
        "preallocate": "true",
        "message.downconversion.enable": "false",
        "min.cleanable.dirty.ratio": "0.1",
    }
    check_eq(
        error_codes(admin.create_topics([NewTopic("cf-admin-setup", 1, 1, config=setup)], request_timeout=T)),
        {"cf-admin-setup": 0},
        "create with the setup-script configs",
    )
    got = topic_configs(admin, "cf-admin-setup")
    for k, v in setup.items():
        check_eq(got[k], (v, ConfigSource.DYNAMIC_TOPIC_CONFIG.value), k)
    check_eq(len(got), 36, "topic configs described: %r" % sorted(got))
    check_eq(got["flush.messages"], ("9223372036854775807", ConfigSource.DEFAULT_CONFIG.value), "flush.messages")
    check_eq(got["remote.storage.enable"], ("false", ConfigSource.DEFAULT_CONFIG.value), "remote.storage.enable")
    log("configs described, altered and incrementally altered")


def offsets_and_records(addr, admin):
    producer = Producer({"bootstrap.servers": addr, "acks": "all", "linger.ms": 5})
    for i in range(20):
        producer.produce(TOPIC, value=b"r%d" % i, partition=4, timestamp=BASE_TS + 1000 * i)
    check_eq(producer.flush(T), 0, "records left unflushed")

    tp = TopicPartition(TOPIC, 4)

    def list_offsets(spec):
        info = one(admin.list_offsets({tp: spec}, request_timeout=T))
        return (info.offset, info.timestamp)

    check_eq(list_offsets(OffsetSpec.earliest())[0], 0, "earliest")
    check_eq(list_offsets(OffsetSpec.latest())[0], 20, "latest")
    check_eq(list_offsets(OffsetSpec.max_timestamp()), (19, BASE_TS + 19000), "max timestamp")
    check_eq(list_offsets(OffsetSpec.for_timestamp(BASE_TS + 4500))[0], 5, "by timestamp")
    check_eq(list_offsets(OffsetSpec.for_timestamp(BASE_TS + 99999))[0], -1, "by a timestamp past the last")

    deleted = one(admin.delete_records([TopicPartition(TOPIC, 4, 6)], request_timeout=T))
    check_eq(deleted.low_watermark, 6, "delete_records low watermark")
    check_eq(list_offsets(OffsetSpec.earliest())[0], 6, "earliest after delete_records")
    (value,) = results(admin.delete_records([TopicPartition(TOPIC, 4, 21)], request_timeout=T)).values()
    check(isinstance(value, KafkaError), "delete_records beyond the end succeeded: %r" % value)
    check_eq(value.code(), KafkaError.OFFSET_OUT_OF_RANGE, "delete_records beyond the end")
    # OFFSET_END (-1): everything up to the high watermark.
    deleted = one(admin.delete_records([TopicPartition(TOPIC, 3, -1)], request_timeout=T))
    check_eq(deleted.low_watermark, 0, "delete_records to the end of an empty partition")
    log("offsets listed, records deleted")


def groups(addr, admin):
    producer = Producer({"bootstrap.servers": addr, "linger.ms": 5})
    for i in range(50):
        producer.produce(TOPIC, value=b"g%d" % i, partition=i % 3)
    check_eq(producer.flush(T), 0, "records left unflushed")

    consumer = Consumer(
        {
            "bootstrap.servers": addr,
            "group.id": GROUP,
            "client.id": "cf-admin-member",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "partition.assignment.strategy": "range",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 300,
        }
    )
    consumer.subscribe([TOPIC])
    # 50 records on partitions 0-2, and 14 on partition 4 (20 minus the 6 deleted above).
    got = 0
    deadline = time.monotonic() + 60
    polls = 0
    while got < 64 and time.monotonic() < deadline and polls < 600:
        polls += 1
        m = consumer.poll(0.1)
        if m is not None and not m.error():
            got += 1
    check_eq(got, 64, "records consumed by the group member")
    consumer.commit(asynchronous=False)

    def listed(**kw):
        res = admin.list_consumer_groups(request_timeout=T, **kw).result(T)
        check_eq(res.errors, [], "list_consumer_groups errors")
        return {g.group_id: g.state for g in res.valid}

    check_eq(listed().get(GROUP), ConsumerGroupState.STABLE, "state in list_consumer_groups")
    check(GROUP in listed(states={ConsumerGroupState.STABLE}), "not listed among the Stable groups")
    check(GROUP not in listed(states={ConsumerGroupState.EMPTY}), "listed among the Empty groups")
    check(GROUP in listed(types={ConsumerGroupType.CLASSIC}), "not listed among the classic groups")
    check(GROUP not in listed(types={ConsumerGroupType.CONSUMER}), "listed among the KIP-848 groups")

    desc = one(admin.describe_consumer_groups([GROUP], include_authorized_operations=True, request_timeout=T))
    check_eq(
        (desc.group_id, desc.is_simple_consumer_group, desc.state, desc.partition_assignor, desc.coordinator.id),
        (GROUP, False, ConsumerGroupState.STABLE, "range", 1),
        "describe_consumer_groups",
    )
    check_eq([m.client_id for m in desc.members], ["cf-admin-member"], "members")
    check_eq(
        sorted((tp.topic, tp.partition) for tp in desc.members[0].assignment.topic_partitions),
        [(TOPIC, p) for p in range(5)],
        "the member's assignment",
    )

    committed = one(admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(GROUP)], request_timeout=T))
    offsets = {tp.partition: tp.offset for tp in committed.topic_partitions if tp.topic == TOPIC}
    check_eq(offsets, {0: 17, 1: 17, 2: 16, 4: 20}, "committed offsets")

    # While the group has a member, an admin offset commit and a group delete are refused.
    req = [ConsumerGroupTopicPartitions(GROUP, [TopicPartition(TOPIC, 0, 3)])]
    (value,) = results(admin.alter_consumer_group_offsets(req, request_timeout=T)).values()
    code = value.code() if isinstance(value, KafkaError) else None
    if code is None:
        # librdkafka reports a per-partition error inside a successful result.
        code = value.topic_partitions[0].error.code() if value.topic_partitions[0].error else 0
    check_eq(code, KafkaError.UNKNOWN_MEMBER_ID, "alter_consumer_group_offsets while the group has a member")
    check_eq(
        error_codes(admin.delete_consumer_groups([GROUP], request_timeout=T)),
        {GROUP: KafkaError.NON_EMPTY_GROUP},
        "delete_consumer_groups while the group has a member",
    )

    consumer.close()
    wait_for(lambda: listed().get(GROUP) == ConsumerGroupState.EMPTY, T, "the group is Empty after the member left")
    result = one(admin.alter_consumer_group_offsets(req, request_timeout=T))
    check_eq([(tp.partition, tp.offset, tp.error) for tp in result.topic_partitions], [(0, 3, None)], "altered offsets")
    committed = one(
        admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(GROUP, [TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)])], request_timeout=T
        )
    )
    check_eq([(tp.partition, tp.offset) for tp in committed.topic_partitions], [(0, 3), (1, 17)], "offsets after alter")

    check_eq(error_codes(admin.delete_consumer_groups([GROUP], request_timeout=T)), {GROUP: 0}, "delete_consumer_groups")
    check(GROUP not in listed(), "deleted group still listed")
    committed = one(
        admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(GROUP, [TopicPartition(TOPIC, 0)])], request_timeout=T)
    )
    check_eq([tp.offset for tp in committed.topic_partitions], [-1001], "offsets of the deleted group (none)")
    log("group listed, described, its offsets read and altered, and deleted")


def deletion(admin):
    check_eq(
        error_codes(admin.delete_topics([OTHER, "cf-admin-missing"], request_timeout=T)),
        {OTHER: 0, "cf-admin-missing": KafkaError.UNKNOWN_TOPIC_OR_PART},
        "delete_topics",
    )
    topics = admin.list_topics(timeout=T).topics
    check(OTHER not in topics and TOPIC in topics, "list_topics after delete: %r" % sorted(topics))
    log("topic deleted")


if __name__ == "__main__":
    main(body)
