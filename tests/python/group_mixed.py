"""The kafka-python half of a mixed group (the rdkafka half is in tests/compat_kafka_python.rs).

Joins GROUP on TOPIC with partition_assignment_strategy [sticky, range]; the rdkafka member
offers [roundrobin, range], so "range" is the only protocol both support and neither's first
choice: the coordinator must pick it. Prints "ASSIGNED p,p" on each assignment change and
"GOT partition value" for every record; once STOP_FILE exists it commits, closes (LeaveGroup)
and prints "DONE n". Bounded: at most RUN_S seconds and a fixed number of polls.

Usage: group_mixed.py HOST:PORT TOPIC GROUP STOP_FILE
"""

import os
import sys
import time

from helpers import check, fail, log, main, require

require("kafka", "kafka-python")

from kafka import KafkaConsumer
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor

RUN_S = 120


def body(addr):
    check(len(sys.argv) == 5, "usage: group_mixed.py HOST:PORT TOPIC GROUP STOP_FILE")
    topic, group, stop_file = sys.argv[2:5]
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=addr,
        group_id=group,
        client_id="py-mixed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        partition_assignment_strategy=[StickyPartitionAssignor, RangePartitionAssignor],
        session_timeout_ms=6000,
        heartbeat_interval_ms=300,
        request_timeout_ms=20000,
        fetch_max_wait_ms=50,
    )
    got = 0
    try:
        deadline = time.monotonic() + RUN_S
        polls = 0
        last = None
        while not os.path.exists(stop_file):
            polls += 1
            if time.monotonic() > deadline or polls > RUN_S * 20:
                fail("no stop file within %ss (%d polls)" % (RUN_S, polls))
            records = consumer.poll(timeout_ms=100)
            now = sorted(tp.partition for tp in consumer.assignment())
            if now != last:
                print("ASSIGNED %s" % ",".join(map(str, now)), flush=True)
                last = now
            for tp, recs in records.items():
                for r in recs:
                    print("GOT %d %s" % (tp.partition, r.value.decode()), flush=True)
                    got += 1
        consumer.commit()
    finally:
        consumer.close()
    print("DONE %d" % got, flush=True)


if __name__ == "__main__":
    main(body)
