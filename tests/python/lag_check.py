"""Checks `strom lag GROUP --json` against the lag kafka-python computes from the same broker,
independently of strom's own client: committed offsets from the admin client's
list_consumer_group_offsets, log start and high watermark from a KafkaConsumer's
beginning_offsets / end_offsets, lag = high watermark - max(committed, log start) (None
without a commit).

Usage: lag_check.py HOST:PORT GROUP LAG.json
"""

import json
import sys

from helpers import check, check_eq, log, main

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition


def run(addr, group, path):
    with open(path) as f:
        got = json.load(f)
    check_eq(got["group"], group, "group")
    admin = KafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=20000)
    committed = {
        (tp.topic, tp.partition): om.offset
        for tp, om in admin.list_consumer_group_offsets(group).items()
        if om.offset >= 0
    }
    parts = got["partitions"]
    check(parts, "strom lists partitions")
    tps = [TopicPartition(p["topic"], p["partition"]) for p in parts]
    consumer = KafkaConsumer(bootstrap_servers=addr, request_timeout_ms=20000)
    starts = consumer.beginning_offsets(tps)
    ends = consumer.end_offsets(tps)
    total = None
    for p, tp in zip(parts, tps):
        what = "%s-%d" % (tp.topic, tp.partition)
        c = committed.get((tp.topic, tp.partition))
        check_eq(p["committed"], c, what + " committed")
        check_eq(p["log_start"], starts[tp], what + " log start")
        check_eq(p["high_watermark"], ends[tp], what + " high watermark")
        lag = None if c is None else ends[tp] - max(c, starts[tp])
        check_eq(p["lag"], lag, what + " lag")
        if lag is not None:
            total = (total or 0) + lag
        log("%s committed %s log start %d hw %d lag %s: agrees" % (what, c, starts[tp], ends[tp], lag))
    # No commit anywhere: no total either (null, not 0).
    check_eq(got["total_lag"], total, "total lag")
    consumer.close()
    admin.close()


if __name__ == "__main__":
    main(lambda addr: run(addr, sys.argv[2], sys.argv[3]))
