"""aiokafka idempotent producers (enable_idempotence=True) through broker restarts.

Two idempotent producers write N records each, concurrently, to a 3-partition topic; the value
of a record names its producer and its sequence on that producer, and record i of a producer
goes to partition i % 3. The script prints `PRODUCER_ID p id` for each producer and `ACKED n`
every STEP acknowledged records of the first one; the Rust side (tests/compat_aiokafka.rs)
SIGKILLs and restarts the broker on the same port while they run. The producers retry what the
dead broker did not answer, with the same producer id, epoch and sequence numbers, so the
broker must acknowledge a batch it had already appended as a duplicate instead of appending it
again.

At the end a consumer reads every partition from the beginning: every record exactly once, in
the order it was sent (per producer and partition), with offsets 0..count-1 and the acked
offsets pointing at the records acked.

Usage: aiokafka_idempotent.py HOST:PORT N
"""

import asyncio
import sys

from helpers import check, check_eq, log, main, report, require

require("aiokafka", "aiokafka")

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

TOPIC = "aio-idempotent"
PARTITIONS = 3
STEP = 500
# Sends in flight per producer: enough to keep batches full, small enough that a restart finds
# work in flight.
WINDOW = 200
TIMEOUT_S = 120


async def produce(addr, name, n, acked_by_value):
    producer = AIOKafkaProducer(
        bootstrap_servers=addr,
        enable_idempotence=True,  # acks=all, retries forever with the same sequences
        linger_ms=2,
        max_batch_size=16 * 1024,
        request_timeout_ms=10000,
        retry_backoff_ms=100,
        client_id="aio-idem-%s" % name,
    )
    await producer.start()
    try:
        check(producer._txn_manager is not None, "%s: no idempotence manager" % name)
        pid = producer._txn_manager.producer_id
        epoch = producer._txn_manager.producer_epoch
        check(pid >= 0 and epoch == 0, "%s: producer id %r epoch %r" % (name, pid, epoch))
        report("PRODUCER_ID", "%s %d" % (name, pid))
        pending = []
        done = 0

        async def settle(upto):
            nonlocal done
            while len(pending) > upto:
                value, fut = pending.pop(0)
                md = await fut
                acked_by_value[value] = (md.partition, md.offset)
                done += 1
                if name == "a" and done % STEP == 0:
                    report("ACKED", done)

        for i in range(n):
            value = b"%s-%d" % (name.encode(), i)
            fut = await producer.send(TOPIC, value=value, partition=i % PARTITIONS)
            pending.append((value, fut))
            await settle(WINDOW)
        await settle(0)
        return pid
    finally:
        await producer.stop()


async def body(addr):
    n = int(sys.argv[2])
    admin = AIOKafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=30000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
    finally:
        await admin.close()

    acked = {}
    pids = await asyncio.wait_for(
        asyncio.gather(produce(addr, "a", n, acked), produce(addr, "b", n, acked)), TIMEOUT_S
    )
    check(pids[0] != pids[1], "both producers got producer id %d" % pids[0])
    check_eq(len(acked), 2 * n, "acknowledged records")
    log("%d records acknowledged by producers %r" % (len(acked), pids))

    consumer = AIOKafkaConsumer(
        bootstrap_servers=addr, enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=50
    )
    await consumer.start()
    try:
        tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        got = {tp: [] for tp in tps}
        count = 0
        polls = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while count < 2 * n and loop.time() < deadline and polls < 1000:
            polls += 1
            for tp, recs in (await consumer.getmany(*tps, timeout_ms=200, max_records=5000)).items():
                got[tp].extend(recs)
                count += len(recs)
        extra = await consumer.getmany(*tps, timeout_ms=300)
        for tp, recs in extra.items():
            got[tp].extend(recs)
            count += len(recs)
        end = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()

    seen = {}
    for tp in tps:
        recs = got[tp]
        check_eq([r.offset for r in recs], list(range(len(recs))), "offsets of partition %d" % tp.partition)
        check_eq(end[tp], len(recs), "end offset of partition %d" % tp.partition)
        last = {}
        for r in recs:
            name, i = r.value.decode().split("-")
            i = int(i)
            check_eq(i % PARTITIONS, tp.partition, "partition of %r" % r.value)
            check(i > last.get(name, -1), "partition %d: %r after %s-%d (out of order)" % (tp.partition, r.value, name, last.get(name, -1)))
            last[name] = i
            check(r.value not in seen, "%r stored twice: offsets %r and %d" % (r.value, seen.get(r.value), r.offset))
            seen[r.value] = (tp.partition, r.offset)
    missing = [v for v in acked if v not in seen]
    check(not missing, "%d acknowledged records missing, e.g. %r" % (len(missing), missing[:5]))
    wrong = [(v, acked[v], seen[v]) for v in acked if acked[v] != seen[v]]
    check(not wrong, "%d records acked at other offsets than stored, e.g. %r" % (len(wrong), wrong[:5]))
    check_eq(count, 2 * n, "records stored")
    log("%d records stored exactly once, in order, at the acknowledged offsets" % count)


if __name__ == "__main__":
    main(body)
