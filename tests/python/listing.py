"""Checks `strom topics --json` and `strom groups --json` against what kafka-python reads from
the same broker, independently of strom's own client.

Topics: every topic kafka-python's admin client lists appears once, with its partition count,
replication factor and internal flag (DescribeTopics / metadata), records = end offsets minus
beginning offsets summed over partitions (ListOffsets through a KafkaConsumer), size = the sum
of the partition sizes DescribeLogDirs reports, retention.ms from DescribeConfigs.
Groups: every group list_consumer_groups lists appears once, with the state, protocol type,
protocol (assignor) and member count that describe_consumer_groups reports.

Usage: listing.py HOST:PORT TOPICS.json GROUPS.json
"""

import json
import sys

from helpers import check, check_eq, log, main

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType


def log_dir_sizes(admin):
    """Bytes per topic from DescribeLogDirs (kafka-python returns the raw response)."""
    resp = admin.describe_log_dirs()
    sizes = {}
    for result in resp.log_dirs:
        # (error_code, log_dir, topics); topics: (name, partitions); partitions:
        # (partition_index, partition_size, offset_lag, is_future_key)
        error_code, _dir, topics = result[0], result[1], result[2]
        check_eq(error_code, 0, "DescribeLogDirs error")
        for name, partitions in topics:
            for p in partitions:
                sizes[name] = sizes.get(name, 0) + p[1]
    return sizes


def check_topics(addr, listed):
    admin = KafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=20000)
    consumer = KafkaConsumer(bootstrap_servers=addr, request_timeout_ms=20000)
    try:
        names = sorted(admin.list_topics())
        by_name = {t["name"]: t for t in listed}
        check_eq(len(listed), len(by_name), "topics listed once each")
        check_eq(sorted(by_name), names, "topic names")
        described = {d["topic"]: d for d in admin.describe_topics(names)}
        sizes = log_dir_sizes(admin)
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
        retention = {}
        for resp in configs:
            for res in resp.resources:
                # (error_code, error_message, resource_type, resource_name, config_entries)
                name, entries = res[3], res[4]
                for e in entries:
                    if e[0] == "retention.ms":
                        retention[name] = int(e[1])
        for name in names:
            t = by_name[name]
            d = described[name]
            parts = d["partitions"]
            check_eq(t["partitions"], len(parts), "%s partitions" % name)
            check_eq(t["replication_factor"], max(len(p["replicas"]) for p in parts), "%s replication" % name)
            check_eq(t["internal"], d["is_internal"], "%s internal" % name)
            tps = [TopicPartition(name, p["partition"]) for p in parts]
            ends = consumer.end_offsets(tps)
            starts = consumer.beginning_offsets(tps)
            check_eq(t["records"], sum(ends[tp] - starts[tp] for tp in tps), "%s records" % name)
            check_eq(t["size_bytes"], sizes.get(name, 0), "%s size_bytes" % name)
            check_eq(t["retention_ms"], retention[name], "%s retention_ms" % name)
            for key in ("health", "retention_bytes", "offline_partitions", "under_replicated_partitions"):
                check(key in t, "%s has %r" % (name, key))
        log("%d topics match kafka-python: partitions, replication, records, sizes, retention" % len(names))
    finally:
        consumer.close()
        admin.close()


def check_groups(addr, listed):
    admin = KafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=20000)
    try:
        names = sorted(g[0] for g in admin.list_consumer_groups())
        by_name = {g["group"]: g for g in listed}
        check_eq(len(listed), len(by_name), "groups listed once each")
        check_eq(sorted(by_name), names, "group names")
        for d in admin.describe_consumer_groups(names):
            g = by_name[d.group]
            check_eq(g["state"], d.state, "%s state" % d.group)
            check_eq(g["protocol_type"], d.protocol_type or None, "%s protocol type" % d.group)
            check_eq(g["protocol"], d.protocol or None, "%s protocol" % d.group)
            check_eq(g["members"], len(d.members), "%s members" % d.group)
        log("%d groups match kafka-python: state, protocol type, protocol, members" % len(names))
    finally:
        admin.close()


def body(addr):
    with open(sys.argv[2]) as f:
        topics = json.load(f)
    with open(sys.argv[3]) as f:
        groups = json.load(f)
    check(isinstance(topics, list) and isinstance(groups, list), "one JSON array each")
    check_topics(addr, topics)
    check_groups(addr, groups)


if __name__ == "__main__":
    main(body)
