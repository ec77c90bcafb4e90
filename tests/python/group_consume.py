"""Three kafka-python group consumers in one process on a 6-partition topic.

Produce N records -> start the consumers one after another (each joining while the others are
consuming, so every join is a rebalance of members that hold partitions) -> all three end up with
2 partitions and every record is consumed exactly once across them (auto-commit commits the
consumed positions in on_join_prepare, before each rejoin: OffsetCommit during
PreparingRebalance must be accepted) -> close one: the other two get 3 partitions each and
consume new records, again exactly once -> the committed offsets, read back through
KafkaAdminClient.list_consumer_group_offsets, are the end offsets of all six partitions.

The consumers are polled round-robin with short timeouts: kafka-python's poll returns while its
JoinGroup is still parked at the coordinator, so one thread can drive all three members.

Usage: group_consume.py HOST:PORT
"""

import time

from helpers import check, check_eq, fail, log, main, require

require("kafka", "kafka-python")

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

TOPIC = "py-group"
GROUP = "py-group-g"
PARTITIONS = 6
FIRST = 1200   # records produced before the consumers start
SECOND = 600   # records produced after one consumer left
PHASE_S = 60   # time bound of each phase


def new_consumer(addr, n):
    return KafkaConsumer(
        TOPIC,
        bootstrap_servers=addr,
        group_id=GROUP,
        client_id="py-group-c%d" % n,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        auto_commit_interval_ms=200,
        session_timeout_ms=6000,
        heartbeat_interval_ms=300,
        max_poll_interval_ms=30000,
        request_timeout_ms=20000,
        fetch_max_wait_ms=50,
    )


def produce(addr, start, n):
    producer = KafkaProducer(bootstrap_servers=addr, linger_ms=5)
    futures = [producer.send(TOPIC, value=b"%d" % i, partition=i % PARTITIONS) for i in range(start, start + n)]
    producer.flush(timeout=30)
    for f in futures:
        f.get(timeout=30)
    producer.close(timeout=10)


class Tally:
    """Every record seen, by value, with the consumer that got it."""

    def __init__(self):
        self.seen = {}  # value -> [(consumer index, partition, offset)]

    def add(self, who, records):
        for tp, recs in records.items():
            for r in recs:
                self.seen.setdefault(int(r.value), []).append((who, tp.partition, r.offset))

    def count(self):
        return sum(len(v) for v in self.seen.values())

    def check_exactly_once(self, upto, what):
        dups = {v: w for v, w in self.seen.items() if len(w) > 1}
        check(not dups, "%s: %d records consumed more than once, e.g. %r" % (what, len(dups), sorted(dups.items())[:5]))
        missing = [v for v in range(upto) if v not in self.seen]
        check(not missing, "%s: %d records never consumed, e.g. %r" % (what, len(missing), missing[:10]))
        extra = [v for v in self.seen if v >= upto]
        check(not extra, "%s: unexpected values %r" % (what, extra[:10]))


def sizes(consumers):
    return [len(c.assignment()) if c is not None else None for c in consumers]


def poll_round(consumers, tally, max_records=50):
    for i, c in enumerate(consumers):
        if c is not None:
            tally.add(i, c.poll(timeout_ms=100, max_records=max_records))


def drive(consumers, tally, done, what):
    """Polls round-robin until done() (bounded in time and rounds)."""
    deadline = time.monotonic() + PHASE_S
    rounds = 0
    while not done():
        rounds += 1
        if time.monotonic() > deadline or rounds > PHASE_S * 20:
            fail("%s: not reached within %ss / %d rounds (assignment sizes %r, %d records consumed)"
                 % (what, PHASE_S, rounds, sizes(consumers), tally.count()))
        poll_round(consumers, tally)
    return rounds


def body(addr):
    admin = KafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=20000)
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
    produce(addr, 0, FIRST)
    log("produced %d records to %d partitions" % (FIRST, PARTITIONS))

    tally = Tally()
    consumers = [None, None, None]
    try:
        # Start the members one at a time; each joins while the earlier ones hold partitions
        # and have consumed (and not all committed) part of the records.
        for n in range(3):
            consumers[n] = new_consumer(addr, n)
            before = tally.count()
            want = min(FIRST, before + 150)
            drive(consumers, tally,
                  lambda: (n == 2 or tally.count() >= want) and all(s for s in sizes(consumers) if s is not None),
                  "member %d joined" % n)
            log("member %d in: assignment sizes %r, %d records consumed" % (n, sizes(consumers), tally.count()))
        drive(consumers, tally, lambda: sizes(consumers) == [2, 2, 2] and tally.count() >= FIRST,
              "three members with 2 partitions each, all %d records consumed" % FIRST)
        parts = [sorted(tp.partition for tp in c.assignment()) for c in consumers]
        check_eq(sorted(p for ps in parts for p in ps), list(range(PARTITIONS)), "partitions across the 3 members")
        # Nothing more arrives (a duplicate would show up here).
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            poll_round(consumers, tally)
        tally.check_exactly_once(FIRST, "three members")
        log("3 members, partitions %r: %d records each consumed exactly once" % (parts, FIRST))

        # One member leaves (close commits its positions, then LeaveGroup).
        consumers[2].close()
        consumers[2] = None
        drive(consumers, tally, lambda: sizes(consumers)[:2] == [3, 3], "two members with 3 partitions each")
        parts = [sorted(tp.partition for tp in c.assignment()) for c in consumers[:2]]
        check_eq(sorted(parts[0] + parts[1]), list(range(PARTITIONS)), "partitions across the 2 members")
        log("member 2 closed: the other two have %r" % parts)
        produce(addr, FIRST, SECOND)
        drive(consumers, tally, lambda: tally.count() >= FIRST + SECOND, "the %d new records consumed" % SECOND)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            poll_round(consumers, tally)
        tally.check_exactly_once(FIRST + SECOND, "after the leave")
        late = {w[0][0] for v, w in tally.seen.items() if v >= FIRST}
        check(late <= {0, 1}, "new records went to members %r" % late)
        log("%d new records consumed exactly once by the remaining two" % SECOND)

        for c in consumers[:2]:
            c.commit()
        offsets = admin.list_consumer_group_offsets(GROUP)
        got = {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == TOPIC}
        per = (FIRST + SECOND) // PARTITIONS
        check_eq(got, {p: per for p in range(PARTITIONS)}, "committed offsets (list_consumer_group_offsets)")
        log("committed offsets: %r" % got)
    finally:
        for c in consumers:
            if c is not None:
                c.close()
        admin.close()


if __name__ == "__main__":
    main(body)
