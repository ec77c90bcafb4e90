"""AIOKafkaAdminClient against the bundled broker: topics, configs, partitions, records, groups.

create_topics (with configs; validate_only creates nothing; an existing name, a refused config
and a zero partition count get their Kafka error codes), list_topics, describe_topics,
describe_cluster, describe_configs of a topic (overrides and defaults with their sources, and a
filtered request) and of the broker, alter_configs (replaces a topic's overrides),
create_partitions (grows; shrinking raises InvalidPartitionsError), delete_records (moves the
log start offset that a consumer then sees; beyond the end raises OffsetOutOfRangeError),
list_consumer_groups / describe_consumer_groups / list_consumer_group_offsets of a group that
only committed offsets, and delete_topics (an unknown name gets UNKNOWN_TOPIC_OR_PARTITION).

Usage: aiokafka_admin.py HOST:PORT
"""

import asyncio

from helpers import check, check_eq, fail, log, main, require

require("aiokafka", "aiokafka")

import aiokafka.errors as Errors
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import OffsetAndMetadata

TOPIC = "aio-admin"
OTHER = "aio-admin-other"
GROUP = "aio-admin-g"
# DescribeConfigs config_source values (Kafka's ConfigSource)
TOPIC_CONFIG = 1
DEFAULT_CONFIG = 5


def errors_of(resp):
    return {t[0]: t[1] for t in resp.topic_errors}


async def configs_of(admin, name, keys=None):
    (resp,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name, keys)])
    (res,) = resp.to_object()["resources"]
    check_eq((res["error_code"], res["resource_name"]), (0, name), "DescribeConfigs of %s" % name)
    return {e["config_names"]: (e["config_value"], e["config_source"]) for e in res["config_entries"]}


async def body(addr):
    admin = AIOKafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=30000)
    await admin.start()
    try:
        await topics(addr, admin)
        await configs(admin)
        await partitions_and_records(addr, admin)
        await groups(addr, admin)
        await deletion(admin)
    finally:
        await admin.close()


async def topics(addr, admin):
    resp = await admin.create_topics([NewTopic("aio-admin-dry", 2, 1)], validate_only=True)
    check_eq(errors_of(resp), {"aio-admin-dry": 0}, "validate_only create")
    check("aio-admin-dry" not in await admin.list_topics(), "validate_only created the topic")

    resp = await admin.create_topics(
        [
            NewTopic(TOPIC, 3, 1, topic_configs={"retention.ms": "3600000", "max.message.bytes": "200000"}),
            NewTopic(OTHER, 1, 1),
        ]
    )
    check_eq(errors_of(resp), {TOPIC: 0, OTHER: 0}, "create_topics")
    resp = await admin.create_topics(
        [
            NewTopic(TOPIC, 1, 1),
            NewTopic("aio-admin-compact", 1, 1, topic_configs={"cleanup.policy": "compact"}),
            NewTopic("aio-admin-zero", 0, 1),
        ]
    )
    check_eq(
        errors_of(resp),
        {
            TOPIC: Errors.TopicAlreadyExistsError.errno,
            "aio-admin-compact": Errors.InvalidConfigurationError.errno,
            "aio-admin-zero": Errors.InvalidPartitionsError.errno,
        },
        "create_topics with an existing name, a refused config, zero partitions",
    )
    listed = await admin.list_topics()
    check(TOPIC in listed and OTHER in listed, "list_topics: %r" % listed)
    check("aio-admin-compact" not in listed and "aio-admin-zero" not in listed, "refused topics listed: %r" % listed)

    (t,) = await admin.describe_topics([TOPIC])
    check_eq((t["error_code"], t["topic"], t["is_internal"]), (0, TOPIC, False), "describe_topics")
    parts = sorted((p["partition"], p["leader"], p["replicas"], p["isr"]) for p in t["partitions"])
    check_eq(parts, [(p, 1, [1], [1]) for p in range(3)], "partitions: (index, leader, replicas, isr)")

    cluster = await admin.describe_cluster()
    host, port = addr.rsplit(":", 1)
    check_eq(
        [(b["node_id"], b["host"], b["port"]) for b in cluster["brokers"]], [(1, host, int(port))], "describe_cluster brokers"
    )
    check_eq(cluster["controller_id"], 1, "controller id")
    check(cluster["cluster_id"], "cluster id is empty: %r" % cluster)
    log("topics created, refused, listed and described")


async def configs(admin):
    got = await configs_of(admin, TOPIC)
    check_eq(got["retention.ms"], ("3600000", TOPIC_CONFIG), "retention.ms override")
    check_eq(got["max.message.bytes"], ("200000", TOPIC_CONFIG), "max.message.bytes override")
    check_eq(got["retention.bytes"], ("-1", DEFAULT_CONFIG), "retention.bytes default")
    check_eq(got["cleanup.policy"], ("delete", DEFAULT_CONFIG), "cleanup.policy default")
    check_eq(
        await configs_of(admin, TOPIC, {"retention.ms": None}), {"retention.ms": ("3600000", TOPIC_CONFIG)}, "filtered"
    )

    (resp,) = await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
    (res,) = resp.to_object()["resources"]
    check_eq(res["error_code"], 0, "DescribeConfigs of broker 1")
    broker = {e["config_names"]: e["config_value"] for e in res["config_entries"]}
    check_eq(broker.get("log.retention.ms"), "604800000", "broker log.retention.ms")
    check_eq(broker.get("num.partitions"), "1", "broker num.partitions")

    # AlterConfigs replaces the topic's overrides: max.message.bytes goes back to its default.
    (resp,) = await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC, {"retention.ms": "7200000"})])
    (res,) = resp.to_object()["resources"]
    check_eq((res["error_code"], res["resource_name"]), (0, TOPIC), "alter_configs")
    got = await configs_of(admin, TOPIC)
    check_eq(got["retention.ms"], ("7200000", TOPIC_CONFIG), "retention.ms after alter_configs")
    check_eq(got["max.message.bytes"], ("1048588", DEFAULT_CONFIG), "max.message.bytes after alter_configs")

    (resp,) = await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC, {"retention.ms": "soon"})])
    (res,) = resp.to_object()["resources"]
    check_eq(res["error_code"], Errors.InvalidConfigurationError.errno, "alter_configs with a bad value")
    check_eq((await configs_of(admin, TOPIC))["retention.ms"], ("7200000", TOPIC_CONFIG), "retention.ms kept")
    log("configs described, filtered and altered")


async def partitions_and_records(addr, admin):
    await admin.create_partitions({TOPIC: NewPartitions(5)})
    (t,) = await admin.describe_topics([TOPIC])
    check_eq(sorted(p["partition"] for p in t["partitions"]), list(range(5)), "partitions after growing to 5")
    try:
        await admin.create_partitions({TOPIC: NewPartitions(2)})
        fail("create_partitions to fewer partitions succeeded")
    except Errors.InvalidPartitionsError:
        pass

    producer = AIOKafkaProducer(bootstrap_servers=addr, acks="all")
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(TOPIC, b"r%d" % i, partition=4)
    finally:
        await producer.stop()
    tp = TopicPartition(TOPIC, 4)
    check_eq(await admin.delete_records({tp: RecordsToDelete(4)}), {tp: 4}, "delete_records low watermark")
    try:
        await admin.delete_records({tp: RecordsToDelete(11)})
        fail("delete_records beyond the high watermark succeeded")
    except Errors.OffsetOutOfRangeError:
        pass

    consumer = AIOKafkaConsumer(bootstrap_servers=addr, enable_auto_commit=False, fetch_max_wait_ms=50)
    await consumer.start()
    try:
        check_eq(await consumer.beginning_offsets([tp]), {tp: 4}, "beginning offset after delete_records")
        check_eq(await consumer.end_offsets([tp]), {tp: 10}, "end offset after delete_records")
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        values = []
        for _ in range(50):
            for recs in (await consumer.getmany(tp, timeout_ms=200)).values():
                values.extend((r.offset, r.value) for r in recs)
            if len(values) >= 6:
                break
        check_eq(values, [(i, b"r%d" % i) for i in range(4, 10)], "records after delete_records")
    finally:
        await consumer.stop()
    log("partitions grown, records deleted below offset 4")


async def groups(addr, admin):
    # A group that only commits offsets (assign, no join): Kafka keeps it as an Empty group.
    consumer = AIOKafkaConsumer(bootstrap_servers=addr, group_id=GROUP, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(TOPIC, 4)
        consumer.assign([tp])
        await consumer.commit({tp: OffsetAndMetadata(7, "aio meta")})
        check_eq(await consumer.committed(tp), 7, "committed()")
    finally:
        await consumer.stop()

    listed = await admin.list_consumer_groups()
    check(GROUP in [g[0] for g in listed], "list_consumer_groups: %r" % (listed,))
    (resp,) = await admin.describe_consumer_groups([GROUP])
    (g,) = resp.to_object()["groups"]
    check_eq((g["error_code"], g["group"], g["state"], g["members"]), (0, GROUP, "Empty", []), "describe_consumer_groups")
    check_eq(
        await admin.list_consumer_group_offsets(GROUP),
        {TopicPartition(TOPIC, 4): OffsetAndMetadata(7, "aio meta")},
        "list_consumer_group_offsets",
    )
    got = await admin.list_consumer_group_offsets(GROUP, partitions=[TopicPartition(TOPIC, 4), TopicPartition(TOPIC, 0)])
    check_eq(
        {tp.partition: om.offset for tp, om in got.items()}, {4: 7, 0: -1}, "list_consumer_group_offsets of two partitions"
    )
    log("group listed, described, offsets read")


async def deletion(admin):
    resp = await admin.delete_topics([OTHER, "aio-admin-missing"])
    got = {t[0]: t[1] for t in resp.topic_error_codes}
    check_eq(
        got, {OTHER: 0, "aio-admin-missing": Errors.UnknownTopicOrPartitionError.errno}, "delete_topics error codes"
    )
    listed = await admin.list_topics()
    check(OTHER not in listed and TOPIC in listed, "list_topics after delete: %r" % listed)
    log("topic deleted")


if __name__ == "__main__":
    main(body)
