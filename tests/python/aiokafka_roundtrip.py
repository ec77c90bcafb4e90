"""aiokafka producer -> strom broker -> aiokafka consumer, without a consumer group.

For every codec aiokafka has (none, gzip, snappy, lz4, zstd) and every acks setting (0, 1,
all), a 3-partition topic gets N records with keys (some null), values (random bytes, one empty,
one null), headers (a repeated key, binary and empty values, a non-ASCII key) and explicit
timestamps. A consumer that assigns every partition and seeks to the beginning must read each
record back identical, in production order per partition, at the offset the producer was told
(acks 1/all; acks=0 gets no offsets, so a sequence number in the value orders them). Then, per
topic: end_offsets and beginning_offsets, offsets_for_times (exact hit, between two records, past
the last), seek_to_end followed by one more record that is the only one read, and
highwater/last_stable_offset as the fetch responses report them. The acks=all topics are read
with isolation_level=read_committed. Last, a consumer with 512-byte fetch limits seeks into the
middle of a batch and reads the next 5 records.

Usage: aiokafka_roundtrip.py HOST:PORT
"""

import asyncio
import random

from helpers import check, check_eq, fail, log, main, require

require("aiokafka", "aiokafka")

import aiokafka.codec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

N = 300
PARTITIONS = 3
BASE_TS = 1_700_000_000_000
ACKS = [0, 1, "all"]
CODECS = {
    "none": lambda: True,
    "gzip": aiokafka.codec.has_gzip,
    "snappy": aiokafka.codec.has_snappy,
    "lz4": aiokafka.codec.has_lz4,
    "zstd": aiokafka.codec.has_zstd,
}
PHASE_S = 60


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
            value = rng.randbytes(rng.randrange(1, 2000))
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
        # The sequence rides in a header every record has, so acks=0 records can be ordered.
        headers.append(("i", str(i).encode()))
        records.append({"key": key, "value": value, "headers": headers, "ts": BASE_TS + 7 * i})
    return records


async def produce(addr, topic, codec, acks, records):
    """Returns {partition: [(offset or None, record)]} in production order."""
    producer = AIOKafkaProducer(
        bootstrap_servers=addr,
        acks=acks,
        compression_type=None if codec == "none" else codec,
        linger_ms=5,
        max_batch_size=64 * 1024,
        request_timeout_ms=30000,
    )
    await producer.start()
    try:
        # The key decides the partition; spread null-key records explicitly so that the
        # partition of every record is known, acks=0 included.
        futures = []
        for i, r in enumerate(records):
            partition = i % PARTITIONS
            fut = await producer.send(
                topic, value=r["value"], key=r["key"], partition=partition, timestamp_ms=r["ts"], headers=r["headers"]
            )
            futures.append((partition, fut))
        await asyncio.wait_for(producer.flush(), PHASE_S)
        told = {}
        for (partition, fut), r in zip(futures, records):
            md = await asyncio.wait_for(fut, PHASE_S)
            if acks == 0:
                # aiokafka resolves acks=0 sends without a broker answer: offset -1.
                check(md is None or md.offset == -1, "acks=0: unexpected metadata %r" % (md,))
                told.setdefault(partition, []).append((None, r))
                continue
            check_eq((md.topic, md.partition), (topic, partition), "%s: acked topic and partition" % topic)
            # The broker answers log_append_time -1 for a CreateTime topic, which aiokafka turns
            # into timestamp type 0. (It then reports the batch's first timestamp for every
            # record of the batch, so the timestamps themselves are checked on the consumer.)
            check_eq(md.timestamp_type, 0, "%s: acked timestamp type" % topic)
            told.setdefault(partition, []).append((md.offset, r))
    finally:
        await producer.stop()
    for p, entries in told.items():
        if acks != 0:
            check_eq([o for o, _ in entries], list(range(len(entries))), "%s: offsets acked on partition %d" % (topic, p))
    return told


async def consume_all(consumer, tps, want, what):
    got = {tp: [] for tp in tps}
    count = 0
    polls = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PHASE_S
    while count < want and loop.time() < deadline and polls < PHASE_S * 10:
        polls += 1
        batch = await consumer.getmany(*tps, timeout_ms=200, max_records=1000)
        for tp, recs in batch.items():
            got[tp].extend(recs)
            count += len(recs)
    check_eq(count, want, "%s: records read within %ss (%d polls)" % (what, PHASE_S, polls))
    return got


async def check_nothing_more(consumer, tps, what):
    for _ in range(3):
        extra = await consumer.getmany(*tps, timeout_ms=100)
        check(not any(extra.values()), "%s: unexpected extra records %r" % (what, extra))


async def roundtrip(addr, admin, codec, acks):
    topic = "aio-%s-acks%s" % (codec, acks)
    resp = await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    check_eq([(t[0], t[1]) for t in resp.topic_errors], [(topic, 0)], "create %s" % topic)
    records = make_records(seed=topic)
    told = await produce(addr, topic, codec, acks, records)

    consumer = AIOKafkaConsumer(
        bootstrap_servers=addr,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="none",
        # read_committed reads up to the last stable offset: it must be the high watermark.
        isolation_level="read_committed" if acks == "all" else "read_uncommitted",
        fetch_max_wait_ms=20,  # a fetch parks the connection: ListOffsets waits behind it
        request_timeout_ms=30000,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        got = await consume_all(consumer, tps, N, topic)
        for tp in tps:
            expected = told.get(tp.partition, [])
            received = got[tp]
            check_eq(len(received), len(expected), "%s: records read from partition %d" % (topic, tp.partition))
            for n, (m, (offset, r)) in enumerate(zip(received, expected)):
                where = "%s: partition %d record %d" % (topic, tp.partition, n)
                check_eq(m.offset, n if offset is None else offset, where + ": offset")
                check_eq(m.key, r["key"], where + ": key")
                check_eq(m.value, r["value"], where + ": value")
                check_eq([(k, bytes(v)) for k, v in m.headers], r["headers"], where + ": headers")
                check_eq(m.timestamp, r["ts"], where + ": timestamp")
                check_eq(m.timestamp_type, 0, where + ": timestamp type (CreateTime)")
        await check_nothing_more(consumer, tps, "%s: after the last record" % topic)

        counts = {tp: len(told.get(tp.partition, [])) for tp in tps}
        check_eq(await consumer.end_offsets(tps), counts, "%s: end offsets" % topic)
        check_eq(await consumer.beginning_offsets(tps), {tp: 0 for tp in tps}, "%s: beginning offsets" % topic)
        for tp in tps:
            check_eq(consumer.highwater(tp), counts[tp], "%s: highwater of partition %d" % (topic, tp.partition))
            check_eq(
                consumer.last_stable_offset(tp), counts[tp], "%s: last stable offset of partition %d" % (topic, tp.partition)
            )

        # Timestamps grow by 7 ms per record and the records go round-robin over the three
        # partitions, so on one partition successive records are 21 ms apart.
        for tp in tps:
            entries = told[tp.partition]
            mid = len(entries) // 2
            ts = entries[mid][1]["ts"]
            for query, want in [(ts, mid), (ts - 20, mid), (ts + 1, mid + 1), (BASE_TS - 10_000, 0)]:
                found = (await consumer.offsets_for_times({tp: query}))[tp]
                check(found is not None, "%s: offsets_for_times(%d) found nothing on %d" % (topic, query, tp.partition))
                want_ts = entries[want][1]["ts"]
                check_eq(
                    (found.offset, found.timestamp),
                    (want, want_ts),
                    "%s: offsets_for_times(%d) on partition %d" % (topic, query, tp.partition),
                )
            last_ts = entries[-1][1]["ts"]
            check_eq(
                (await consumer.offsets_for_times({tp: last_ts + 1}))[tp],
                None,
                "%s: offsets_for_times after the last record" % topic,
            )

        # seek_to_end, then one new record on partition 1: it is the only one read.
        await consumer.seek_to_end(*tps)
        for tp in tps:
            check_eq(await consumer.position(tp), counts[tp], "%s: position after seek_to_end" % topic)
        producer = AIOKafkaProducer(bootstrap_servers=addr, acks="all")
        await producer.start()
        try:
            md = await producer.send_and_wait(topic, b"after-seek", partition=1)
        finally:
            await producer.stop()
        check_eq(md.offset, counts[tps[1]], "%s: offset of the record after seek_to_end" % topic)
        got = await consume_all(consumer, tps, 1, "%s: after seek_to_end" % topic)
        check_eq(
            [(m.partition, m.offset, m.value) for m in got[tps[1]]],
            [(1, counts[tps[1]], b"after-seek")],
            "%s: read after seek_to_end" % topic,
        )
        await check_nothing_more(consumer, tps, "%s: after the record after seek_to_end" % topic)
    finally:
        await consumer.stop()
    await mid_batch_with_tiny_fetches(addr, topic, told)
    log("%s: %d records round-tripped over %d partitions" % (topic, N, len(told)))


async def mid_batch_with_tiny_fetches(addr, topic, told):
    """A fetch offset inside a (compressed) batch, with fetch limits far below the batch size:
    the broker must still return the whole batch (Kafka's KIP-74 rule: the first batch always
    goes out whole), and the client skips the records before the offset it asked for."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=addr,
        enable_auto_commit=False,
        max_partition_fetch_bytes=512,
        fetch_max_bytes=1024,
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        entries = told[0]
        start = len(entries) // 2 + 1
        consumer.seek(tp, start)
        got = []
        for _ in range(50):
            for recs in (await consumer.getmany(tp, timeout_ms=200, max_records=5 - len(got))).values():
                got.extend(recs)
            if len(got) >= 5:
                break
        check_eq(
            [(m.offset, m.value) for m in got],
            [(start + k, entries[start + k][1]["value"]) for k in range(5)],
            "%s: 5 records from offset %d with 512-byte fetches" % (topic, start),
        )
    finally:
        await consumer.stop()


async def body(addr):
    missing = [c for c, available in CODECS.items() if not available()]
    if missing:
        fail(
            "aiokafka has no support for codecs %s in this interpreter (it needs cramjam): run "
            "`bash .ci/run` or `.venv/bin/pip install -r tests/python/requirements.txt`" % missing
        )
    admin = AIOKafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=30000)
    await admin.start()
    try:
        for codec in CODECS:
            for acks in ACKS:
                await roundtrip(addr, admin, codec, acks)
    finally:
        await admin.close()


if __name__ == "__main__":
    main(body)
