"""kafka-python producer -> strom broker -> kafka-python consumer, without a consumer group.

For each compression codec (none, gzip, snappy, lz4, zstd) a 3-partition topic gets N records
with keys (some null), values (random bytes, one empty, one null), headers (including a
repeated key and binary values) and explicit timestamps, produced with acks=all. A consumer
that assigns every partition and seeks to the beginning must read each record back identical,
in order per partition, at the offset the producer was told; end/beginning offsets and
offsets_for_times must agree.

Usage: roundtrip.py HOST:PORT
"""

import random

from helpers import check, check_eq, fail, log, main, poll_nothing_more, poll_until, require

require("kafka", "kafka-python")

import kafka.codec
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

N = 600
PARTITIONS = 3
BASE_TS = 1_700_000_000_000

CODECS = {
    "none": lambda: True,
    "gzip": kafka.codec.has_gzip,
    "snappy": kafka.codec.has_snappy,
    "lz4": kafka.codec.has_lz4,
    "zstd": kafka.codec.has_zstd,
}


def make_records(seed):
    rng = random.Random(seed)
    records = []
    for i in range(N):
        key = None if i % 11 == 3 else ("key-%d" % (i % 17)).encode()
        if i == 5:
            value = b""
        elif i == 6:
            value = None  # a tombstone: null value, key present
        elif i % 4 == 0:
            value = ("text value %d " % i).encode() * (1 + i % 9)  # compressible
        else:
            value = rng.randbytes(rng.randrange(1, 3000))
        headers = []
        if i % 3 != 0:
            headers = [
                ("seq", str(i).encode()),
                ("bin", rng.randbytes(rng.randrange(0, 40))),
                ("dup", b"first"),
                ("dup", b"second"),
                ("empty", b""),
                ("\u00fcnic\u00f8de", "\u2713".encode()),
            ]
        records.append({"key": key, "value": value, "headers": headers, "ts": BASE_TS + 7 * i})
    return records


def roundtrip(addr, admin, codec):
    topic = "py-roundtrip-%s" % codec
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    records = make_records(seed=codec)

    producer = KafkaProducer(
        bootstrap_servers=addr,
        acks="all",
        compression_type=None if codec == "none" else codec,
        linger_ms=5,
        batch_size=64 * 1024,
        request_timeout_ms=30000,
        max_block_ms=30000,
    )
    futures = [
        producer.send(topic, key=r["key"], value=r["value"], headers=r["headers"], timestamp_ms=r["ts"])
        for r in records
    ]
    producer.flush(timeout=60)
    # What the producer was told: partition -> [(offset, record)] in production order.
    told = {}
    for r, f in zip(records, futures):
        md = f.get(timeout=30)
        check_eq(md.topic, topic, "%s: acked topic" % codec)
        check_eq(md.timestamp, r["ts"], "%s: acked timestamp of a CreateTime record" % codec)
        told.setdefault(md.partition, []).append((md.offset, r))
    producer.close(timeout=10)
    for p, entries in told.items():
        offsets = [o for o, _ in entries]
        check_eq(offsets, list(range(len(entries))), "%s: offsets acked on partition %d" % (codec, p))
    check(len(told) > 1, "%s: all records went to partitions %r" % (codec, sorted(told)))

    consumer = KafkaConsumer(
        bootstrap_servers=addr,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        consumer_timeout_ms=5000,
        fetch_max_wait_ms=200,
        request_timeout_ms=30000,
    )
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(tps)
    consumer.seek_to_beginning()
    got = poll_until(consumer, N, 60, "%s: consume" % codec)
    for tp in tps:
        expected = told.get(tp.partition, [])
        received = got.get(tp, [])
        check_eq(len(received), len(expected), "%s: records read from partition %d" % (codec, tp.partition))
        for m, (offset, r) in zip(received, expected):
            where = "%s: partition %d offset %d" % (codec, tp.partition, offset)
            check_eq(m.offset, offset, where + ": offset (order)")
            check_eq(m.key, r["key"], where + ": key")
            check_eq(m.value, r["value"], where + ": value")
            check_eq(list(m.headers), r["headers"], where + ": headers")
            check_eq(m.timestamp, r["ts"], where + ": timestamp")
            check_eq(m.timestamp_type, 0, where + ": timestamp type (CreateTime)")
    poll_nothing_more(consumer, "%s: after the last record" % codec)

    counts = {tp: len(told.get(tp.partition, [])) for tp in tps}
    check_eq(consumer.end_offsets(tps), counts, "%s: end offsets" % codec)
    check_eq(consumer.beginning_offsets(tps), {tp: 0 for tp in tps}, "%s: beginning offsets" % codec)
    # Timestamps grow by 7 ms per record, so on each partition a time 3 ms before a record's
    # timestamp finds exactly that record.
    for tp in tps:
        entries = told.get(tp.partition, [])
        if len(entries) < 2:
            continue
        offset, r = entries[len(entries) // 2]
        found = consumer.offsets_for_times({tp: r["ts"] - 3})[tp]
        check(found is not None, "%s: offsets_for_times found nothing on partition %d" % (codec, tp.partition))
        check_eq((found.offset, found.timestamp), (offset, r["ts"]), "%s: offsets_for_times on partition %d" % (codec, tp.partition))
        last_ts = entries[-1][1]["ts"]
        check_eq(consumer.offsets_for_times({tp: last_ts + 1})[tp], None, "%s: offsets_for_times after the last record" % codec)
    consumer.close()
    log("%s: %d records round-tripped over %d partitions" % (codec, N, len(told)))


def body(addr):
    missing = [c for c, available in CODECS.items() if not available()]
    if missing:
        fail(
            "no Python support for codecs %s in this interpreter: run `bash .ci/run` or "
            "`.venv/bin/pip install -r tests/python/requirements.txt`" % missing
        )
    admin = KafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=30000)
    for codec in CODECS:
        roundtrip(addr, admin, codec)
    admin.close()


if __name__ == "__main__":
    main(body)
