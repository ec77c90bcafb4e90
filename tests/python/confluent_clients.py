"""confluent-kafka's Producer and Consumer (librdkafka inside the wheel) against the bundled broker.

Round trip: for every codec (none, gzip, snappy, lz4, zstd) and acks 0, 1 and all, a 3-partition
topic gets N records with keys (some null), values (one empty, one null), headers (a repeated
key, binary and empty values) and explicit timestamps, from an idempotent producer where acks is
all. Delivery reports give partition and offset (acks 1/all); a consumer assigned to every
partition from the beginning must read each record back identical, in order, at that offset.
get_watermark_offsets, offsets_for_times (an exact hit, between two records, past the last) and
seek agree with what was produced.

Group: two consumers subscribe (cooperative-sticky, librdkafka's incremental protocol over the
classic JoinGroup), share the 4 partitions 2 + 2 and consume every record exactly once; one closes
and the other takes over all 4; everything is committed; a new consumer of the group resumes from
the committed offsets and reads only records produced afterwards.

Usage: confluent_clients.py HOST:PORT
"""

import random
import time

from helpers import check, check_eq, fail, log, main, require, wait_for

require("confluent_kafka", "confluent-kafka")

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

N = 300
PARTITIONS = 3
BASE_TS = 1_700_000_000_000
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
ACKS = ["0", "1", "all"]
T = 30


def make_records(seed):
    rng = random.Random(seed)
    records = []
    for i in range(N):
        key = None if i % 11 == 3 else ("key-%d" % (i % 17)).encode()
        if i == 5:
            value = b""
        elif i == 6:
            value = None
        elif i % 4 == 0:
            value = ("text value %d " % i).encode() * (1 + i % 9)
        else:
            value = rng.randbytes(rng.randrange(1, 2000))
        headers = [("i", str(i).encode())]
        if i % 3 != 0:
            headers += [("bin", rng.randbytes(rng.randrange(0, 40))), ("dup", b"first"), ("dup", b"second"), ("empty", b"")]
        records.append({"key": key, "value": value, "headers": headers, "ts": BASE_TS + 7 * i})
    return records


def create(admin, topics):
    for name, f in admin.create_topics([NewTopic(t, p, 1) for t, p in topics], request_timeout=T).items():
        f.result(T)


def poll_n(consumer, want, what, timeout_s=60):
    got = []
    deadline = time.monotonic() + timeout_s
    polls = 0
    while len(got) < want and time.monotonic() < deadline and polls < timeout_s * 20:
        polls += 1
        for m in consumer.consume(num_messages=1000, timeout=0.05):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                fail("%s: consumer error %s" % (what, m.error()))
            got.append(m)
    check_eq(len(got), want, "%s: records read within %ss" % (what, timeout_s))
    return got


def roundtrip(addr, codec, acks):
    topic = "cf-%s-acks%s" % (codec, acks)
    records = make_records(topic)
    conf = {"bootstrap.servers": addr, "acks": acks, "compression.type": codec, "linger.ms": 5}
    if acks == "all":
        conf["enable.idempotence"] = True
    producer = Producer(conf)
    told = {}
    errors = []

    def delivered(err, msg, r):
        if err is not None:
            errors.append(err)
        else:
            told.setdefault(msg.partition(), []).append((msg.offset(), r))

    for i, r in enumerate(records):
        producer.produce(
            topic,
            value=r["value"],
            key=r["key"],
            partition=i % PARTITIONS,
            timestamp=r["ts"],
            headers=r["headers"],
            on_delivery=lambda err, msg, r=r: delivered(err, msg, r),
        )
    check_eq(producer.flush(T), 0, "%s: records left unflushed" % topic)
    check_eq(errors, [], "%s: delivery errors" % topic)
    for p, entries in told.items():
        if acks != "0":
            check_eq([o for o, _ in entries], list(range(len(entries))), "%s: delivered offsets on %d" % (topic, p))

    # A fetch parks the connection for up to fetch.wait.max.ms, and the offset lookups below
    # queue behind it (one request at a time per connection, as in Kafka): keep it short.
    consumer = Consumer(
        {"bootstrap.servers": addr, "group.id": "cf-roundtrip", "enable.auto.commit": False, "fetch.wait.max.ms": 20}
    )
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        got = {}
        for m in poll_n(consumer, N, topic):
            got.setdefault(m.partition(), []).append(m)
        for p in range(PARTITIONS):
            expected = told.get(p, [])
            received = got.get(p, [])
            check_eq(len(received), len(expected), "%s: records on partition %d" % (topic, p))
            for n, (m, (offset, r)) in enumerate(zip(received, expected)):
                where = "%s: partition %d record %d" % (topic, p, n)
                # acks=0: librdkafka reports offset -1; the order is checked through the value.
                check_eq(m.offset(), n if acks == "0" else offset, where + ": offset")
                check_eq((m.key(), m.value()), (r["key"], r["value"]), where + ": key and value")
                check_eq(m.headers(), r["headers"], where + ": headers")
                check_eq(m.timestamp(), (1, r["ts"]), where + ": (CreateTime, timestamp)")

        for p in range(PARTITIONS):
            tp = TopicPartition(topic, p)
            check_eq(consumer.get_watermark_offsets(tp, timeout=T), (0, len(told[p])), "%s: watermarks of %d" % (topic, p))
            entries = told[p]
            mid = len(entries) // 2
            ts = entries[mid][1]["ts"]
            for query, want in [(ts, mid), (ts - 20, mid), (ts + 1, mid + 1), (entries[-1][1]["ts"] + 1, -1)]:
                (found,) = consumer.offsets_for_times([TopicPartition(topic, p, query)], timeout=T)
                check_eq(found.offset, want, "%s: offsets_for_times(%d) on %d" % (topic, query, p))
        # seek back into the middle of a (compressed) batch: the next record is the one asked for.
        consumer.seek(TopicPartition(topic, 1, 40))
        m = None
        for _ in range(100):
            m = consumer.poll(0.1)
            if m is not None and not m.error() and m.partition() == 1:
                break
        check(m is not None and not m.error(), "%s: no record after seek: %r" % (topic, m and m.error()))
        check_eq((m.partition(), m.offset(), m.value()), (1, 40, told[1][40][1]["value"]), "%s: record after seek" % topic)
    finally:
        consumer.close()
    log("%s: %d records round-tripped" % (topic, N))


def group(addr, admin):
    topic, gid = "cf-group", "cf-group-g"
    create(admin, [(topic, 4)])
    producer = Producer({"bootstrap.servers": addr, "linger.ms": 5})

    def produce(start, n):
        for i in range(start, start + n):
            producer.produce(topic, value=b"%d" % i, partition=i % 4)
        check_eq(producer.flush(T), 0, "records left unflushed")

    def member(name):
        c = Consumer(
            {
                "bootstrap.servers": addr,
                "group.id": gid,
                "client.id": name,
                "partition.assignment.strategy": "cooperative-sticky",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": True,
                "auto.commit.interval.ms": 200,
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 300,
            }
        )
        c.subscribe([topic])
        return c

    def parts(c):
        return sorted(tp.partition for tp in c.assignment())

    seen = {}

    def drain(consumers, what, until):
        deadline = time.monotonic() + 60
        polls = 0
        while time.monotonic() < deadline and polls < 3000:
            polls += 1
            for c in consumers:
                for m in c.consume(num_messages=500, timeout=0.02):
                    if m.error():
                        fail("%s: consumer error %s" % (what, m.error()))
                    seen.setdefault(int(m.value()), []).append((c, m.partition(), m.offset()))
            if until():
                return
        fail("%s: not done within 60 s: %d records seen, assignments %r" % (what, len(seen), [parts(c) for c in consumers]))

    produce(0, 400)
    a, b = member("cf-a"), member("cf-b")
    drain([a, b], "two members", lambda: len(seen) >= 400 and parts(a) and parts(b) and len(parts(a) + parts(b)) == 4)
    check_eq(sorted(parts(a) + parts(b)), [0, 1, 2, 3], "assignments of the two members")
    check_eq((len(parts(a)), len(parts(b))), (2, 2), "partitions per member")
    b.close()
    drain([a], "after one left", lambda: parts(a) == [0, 1, 2, 3])
    produce(400, 200)
    drain([a], "one member", lambda: len(seen) >= 600)
    time.sleep(0.3)
    drain([a], "strays", lambda: True)
    dups = {v: w for v, w in seen.items() if len(w) > 1}
    check(not dups, "%d records consumed twice, e.g. %r" % (len(dups), sorted(dups)[:5]))
    check_eq(sorted(seen), list(range(600)), "records consumed")
    try:
        a.commit(asynchronous=False)
    except KafkaException as e:
        # Auto-commit may have committed every position already.
        check_eq(e.args[0].code(), KafkaError._NO_OFFSET, "commit")
    committed = a.committed([TopicPartition(topic, p) for p in range(4)], timeout=T)
    check_eq([tp.offset for tp in committed], [150] * 4, "committed offsets")
    a.close()

    produce(600, 40)
    c = member("cf-c")
    got = []
    deadline = time.monotonic() + 60
    while len(got) < 40 and time.monotonic() < deadline:
        got.extend(int(m.value()) for m in c.consume(num_messages=100, timeout=0.1) if not m.error())
    time.sleep(0.3)
    got.extend(int(m.value()) for m in c.consume(num_messages=100, timeout=0.3) if not m.error())
    check_eq(sorted(got), list(range(600, 640)), "records read by a new member (from the committed offsets)")
    c.close()
    log("group: 600 records exactly once over a rebalance, a new member resumed at the committed offsets")


def body(addr):
    admin = AdminClient({"bootstrap.servers": addr})
    create(admin, [("cf-%s-acks%s" % (codec, acks), PARTITIONS) for codec in CODECS for acks in ACKS])
    for codec in CODECS:
        for acks in ACKS:
            roundtrip(addr, codec, acks)
    group(addr, admin)


if __name__ == "__main__":
    main(body)
