"""kafka-python's KafkaAdminClient through a topic's whole life on the strom broker.

Create (with configs) -> describe topics and configs -> refuse a duplicate and a compacted
topic -> alter configs (AlterConfigs replaces every override) -> add partitions (and use the new
one) -> delete records -> describe log dirs -> delete the topic; list_topics/describe_topics
reflect each step. kafka-python 2.x sends CreateTopics v3, DescribeConfigs v2, AlterConfigs v1,
CreatePartitions v1, DeleteRecords v0, DescribeLogDirs v0, DeleteTopics v3 (at most).

Usage: admin.py HOST:PORT
"""

from helpers import check, check_eq, fail, log, main, poll_until, require, wait_for

require("kafka", "kafka-python")

import kafka.errors as Errors
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.protocol.admin import (
    AlterConfigsRequest,
    CreatePartitionsRequest,
    CreateTopicsRequest,
    DeleteRecordsRequest,
    DeleteTopicsRequest,
    DescribeConfigsRequest,
    DescribeLogDirsRequest,
)
from kafka.protocol.metadata import MetadataRequest

TOPIC = "py-admin"

# DescribeConfigs config_source values (Kafka's ConfigSource).
DYNAMIC_TOPIC_CONFIG = 1
STATIC_BROKER_CONFIG = 4
DEFAULT_CONFIG = 5


def versions(admin):
    """The version kafka-python picks for each admin request, for the failure report."""
    picks = []
    for name, req, cap in [
        ("Metadata", MetadataRequest, 8),
        ("CreateTopics", CreateTopicsRequest, 3),
        ("DeleteTopics", DeleteTopicsRequest, 3),
        ("DescribeConfigs", DescribeConfigsRequest, 2),
        ("AlterConfigs", AlterConfigsRequest, 1),
        ("CreatePartitions", CreatePartitionsRequest, 1),
        ("DeleteRecords", DeleteRecordsRequest, 0),
        ("DescribeLogDirs", DescribeLogDirsRequest, 0),
    ]:
        try:
            picks.append("%s v%d" % (name, admin._client.api_version(req, max_version=cap)))
        except Exception as e:  # an API the broker does not advertise
            picks.append("%s: %s" % (name, type(e).__name__))
    return ", ".join(picks)


class Steps:
    """Names the step in progress so a failure says which admin call broke."""

    def __init__(self):
        self.current = None

    def __call__(self, name):
        self.current = name
        log("step: " + name)


def expect_error(error_type, what, call):
    try:
        call()
    except error_type:
        return
    except Exception as e:
        fail("%s: expected %s, got %s: %s" % (what, error_type.__name__, type(e).__name__, e))
    fail("%s: expected %s, but it succeeded" % (what, error_type.__name__))


def topic_configs(admin, topic, names=None):
    resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs=dict.fromkeys(names) if names else None)
    responses = admin.describe_configs([resource])
    check_eq(len(responses), 1, "describe_configs responses")
    resources = responses[0].to_object()["resources"]
    check_eq(len(resources), 1, "describe_configs resources")
    r = resources[0]
    check_eq((r["error_code"], r["resource_name"]), (0, topic), "describe_configs error code and resource (message %r)" % r["error_message"])
    return {e["config_names"]: e for e in r["config_entries"]}


def check_config(entries, name, value, source):
    check(name in entries, "config %s missing from %s" % (name, sorted(entries)))
    e = entries[name]
    check_eq((e["config_value"], e["config_source"]), (value, source), "config %s (value, source)" % name)
    check_eq(e["is_sensitive"], False, "config %s is_sensitive" % name)
    check_eq(e["read_only"], False, "config %s read_only" % name)


def topic_partitions(admin, topic):
    """describe_topics for one topic: (error_code, {partition: (leader, replicas, isr)})."""
    topics = admin.describe_topics([topic])
    check_eq([t["topic"] for t in topics], [topic], "describe_topics topics")
    t = topics[0]
    return t["error_code"], {p["partition"]: (p["leader"], p["replicas"], p["isr"]) for p in t["partitions"]}


def check_partitions(admin, topic, count, node_id):
    err, parts = topic_partitions(admin, topic)
    check_eq(err, 0, "describe_topics %s error code" % topic)
    check_eq(parts, {p: (node_id, [node_id], [node_id]) for p in range(count)}, "partitions of %s" % topic)


def alter(admin, configs):
    resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC, configs=configs)]).to_object()
    return [(r["error_code"], r["resource_name"], r["error_message"]) for r in resp["resources"]]


def body(addr):
    step = Steps()
    admin = KafkaAdminClient(bootstrap_servers=addr, client_id="strom-admin-test", request_timeout_ms=30000)
    log("versions picked: " + versions(admin))
    try:
        run(addr, admin, step)
    finally:
        # On a failure this names the admin call that broke (the error follows on stderr).
        log("last step: %s" % step.current)
        admin.close()


def run(addr, admin, step):
    step("describe_cluster")
    cluster = admin.describe_cluster()
    brokers = cluster["brokers"]
    check_eq(len(brokers), 1, "brokers in describe_cluster")
    node_id = brokers[0]["node_id"]
    check_eq("%s:%d" % (brokers[0]["host"], brokers[0]["port"]), addr, "advertised broker address")
    check_eq(cluster["controller_id"], node_id, "controller id")
    check(TOPIC not in admin.list_topics(), "%s exists before it is created" % TOPIC)

    step("create_topics with configs")
    admin.create_topics(
        [NewTopic(TOPIC, 2, 1, topic_configs={"retention.ms": "3600000", "segment.bytes": "1048576"})],
        timeout_ms=10000,
    )
    wait_for(lambda: TOPIC in admin.list_topics(), 10, "list_topics shows %s" % TOPIC)
    check_partitions(admin, TOPIC, 2, node_id)

    step("create_topics refuses a duplicate")
    expect_error(Errors.TopicAlreadyExistsError, "creating %s again" % TOPIC, lambda: admin.create_topics([NewTopic(TOPIC, 1, 1)]))
    step("create_topics refuses cleanup.policy=compact")
    expect_error(
        Errors.InvalidConfigurationError,
        "creating a compacted topic",
        lambda: admin.create_topics([NewTopic("py-compacted", 1, 1, topic_configs={"cleanup.policy": "compact"})]),
    )
    check("py-compacted" not in admin.list_topics(), "a refused topic was created anyway")

    step("describe_configs (topic)")
    entries = topic_configs(admin, TOPIC)
    check_config(entries, "retention.ms", "3600000", DYNAMIC_TOPIC_CONFIG)
    check_config(entries, "segment.bytes", "1048576", DYNAMIC_TOPIC_CONFIG)
    check_config(entries, "retention.bytes", "-1", DEFAULT_CONFIG)
    check_config(entries, "cleanup.policy", "delete", DEFAULT_CONFIG)
    check_config(entries, "max.message.bytes", "1048588", DEFAULT_CONFIG)
    check_config(entries, "message.timestamp.type", "CreateTime", DEFAULT_CONFIG)
    filtered = topic_configs(admin, TOPIC, names=["retention.ms"])
    check_eq(sorted(filtered), ["retention.ms"], "describe_configs for named configs only")

    step("describe_configs (broker)")
    responses = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(node_id))])
    r = responses[0].to_object()["resources"][0]
    check_eq(r["error_code"], 0, "broker describe_configs error code (message %r)" % r["error_message"])
    broker_entries = {e["config_names"]: e for e in r["config_entries"]}
    for name, value in [("num.partitions", "1"), ("log.retention.ms", "604800000"), ("auto.create.topics.enable", "true")]:
        check(name in broker_entries, "broker config %s missing from %s" % (name, sorted(broker_entries)))
        check_eq(broker_entries[name]["config_value"], value, "broker config %s" % name)

    step("alter_configs replaces the topic's overrides")
    check_eq([(c, n) for c, n, _ in alter(admin, {"retention.ms": "7200000"})], [(0, TOPIC)], "alter_configs result")
    entries = topic_configs(admin, TOPIC)
    check_config(entries, "retention.ms", "7200000", DYNAMIC_TOPIC_CONFIG)
    # AlterConfigs is not incremental: an override left out goes back to its default.
    check_config(entries, "segment.bytes", "1073741824", DEFAULT_CONFIG)

    step("alter_configs refuses cleanup.policy=compact")
    results = alter(admin, {"cleanup.policy": "compact"})
    check_eq([(c, n) for c, n, _ in results], [(Errors.InvalidConfigurationError.errno, TOPIC)], "alter_configs compact result")
    check_config(topic_configs(admin, TOPIC), "retention.ms", "7200000", DYNAMIC_TOPIC_CONFIG)

    step("create_partitions grows the topic to 4")
    admin.create_partitions({TOPIC: NewPartitions(4)}, timeout_ms=10000)
    check_partitions(admin, TOPIC, 4, node_id)
    step("create_partitions refuses shrinking")
    expect_error(Errors.InvalidPartitionsError, "shrinking to 3 partitions", lambda: admin.create_partitions({TOPIC: NewPartitions(3)}))
    check_partitions(admin, TOPIC, 4, node_id)

    step("produce to and consume from the new partition 3")
    producer = KafkaProducer(bootstrap_servers=addr, acks="all", max_block_ms=30000)
    offsets = [producer.send(TOPIC, key=b"k", value=b"v%d" % i, partition=3).get(timeout=30).offset for i in range(5)]
    producer.close(timeout=10)
    check_eq(offsets, [0, 1, 2, 3, 4], "offsets on the new partition")

    step("delete_records advances the log start offset")
    tp = TopicPartition(TOPIC, 3)
    result = admin.delete_records({tp: 2}, timeout_ms=10000)
    check_eq(result[tp]["low_watermark"], 2, "delete_records low watermark")
    consumer = KafkaConsumer(bootstrap_servers=addr, group_id=None, enable_auto_commit=False, request_timeout_ms=30000)
    check_eq(consumer.beginning_offsets([tp]), {tp: 2}, "earliest offset after delete_records")
    check_eq(consumer.end_offsets([tp]), {tp: 5}, "latest offset after delete_records")
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = poll_until(consumer, 3, 30, "consume after delete_records")
    check_eq([(m.offset, m.value) for m in got[tp]], [(2, b"v2"), (3, b"v3"), (4, b"v4")], "records after delete_records")
    consumer.close()

    step("describe_log_dirs (v0)")
    resp = admin.describe_log_dirs().to_object()
    dirs = resp["log_dirs"]
    check_eq(len(dirs), 1, "log dirs")
    check_eq(dirs[0]["error_code"], 0, "log dir error code")
    topics = {t["name"]: t["partitions"] for t in dirs[0]["topics"]}
    check(TOPIC in topics, "describe_log_dirs lacks %s: %r" % (TOPIC, sorted(topics)))
    sizes = {p["partition_index"]: p["partition_size"] for p in topics[TOPIC]}
    check_eq(sorted(sizes), [0, 1, 2, 3], "partitions in describe_log_dirs")
    check(sizes[3] > 0, "partition 3 holds records but its size is %r" % sizes[3])

    step("delete_topics")
    admin.delete_topics([TOPIC], timeout_ms=10000)
    wait_for(lambda: TOPIC not in admin.list_topics(), 10, "list_topics no longer shows %s" % TOPIC)
    err, parts = topic_partitions(admin, TOPIC)
    check_eq((err, parts), (Errors.UnknownTopicOrPartitionError.errno, {}), "describe_topics of the deleted topic")
    check(TOPIC not in admin.list_topics(), "describe_topics (no auto-creation) recreated %s" % TOPIC)
    step("delete_topics of a missing topic")
    expect_error(Errors.UnknownTopicOrPartitionError, "deleting %s again" % TOPIC, lambda: admin.delete_topics([TOPIC]))

    step("a topic of the same name can be created again, empty")
    admin.create_topics([NewTopic(TOPIC, 1, 1)], timeout_ms=10000)
    check_partitions(admin, TOPIC, 1, node_id)
    check_config(topic_configs(admin, TOPIC), "retention.ms", "604800000", DEFAULT_CONFIG)
    consumer = KafkaConsumer(bootstrap_servers=addr, group_id=None, enable_auto_commit=False, request_timeout_ms=30000)
    tp0 = TopicPartition(TOPIC, 0)
    check_eq(consumer.end_offsets([tp0]), {tp0: 0}, "end offset of the recreated topic")
    consumer.close()
    step("done")


if __name__ == "__main__":
    main(body)
