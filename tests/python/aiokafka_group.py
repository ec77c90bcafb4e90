"""An aiokafka consumer group on a 6-partition topic, in two runs with a broker restart between.

`first`: FIRST records are produced, then three consumers join one after another while the
others consume (every join is a rebalance of members that hold partitions), each in its own
task. All three must end up with 2 of the 6 partitions (roundrobin, aiokafka's default), the
group must be Stable with three members in DescribeGroups, and every record must be consumed
exactly once across them (auto-commit commits the consumed positions before each rejoin, so
OffsetCommit during a rebalance must be accepted). One consumer then leaves: the other two get
3 partitions each and consume SECOND new records, again exactly once. The remaining consumers
commit and leave; the committed offsets, read with AIOKafkaAdminClient and with
consumer.committed(), are the end offsets of all six partitions.

`resume` (after the Rust side restarted the broker): the committed offsets are still there,
the group is listed and Empty; THIRD new records are produced and a new member of the group
reads exactly those (auto_offset_reset=earliest would re-read everything if the offsets were
lost), commits, and the committed offsets are the new end offsets.

Usage: aiokafka_group.py HOST:PORT first|resume
"""

import asyncio
import sys

from helpers import check, check_eq, fail, log, main, require, wait_for_async

require("aiokafka", "aiokafka")

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

TOPIC = "aio-group"
GROUP = "aio-group-g"
PARTITIONS = 6
FIRST = 1200
SECOND = 600
THIRD = 60
PHASE_S = 60
TPS = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]


class Member(ConsumerRebalanceListener):
    """One group member consuming in its own task; records every record and assignment."""

    def __init__(self, addr, n, tally):
        self.n = n
        self.tally = tally
        self.assigned = set()
        self.generations = 0
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=addr,
            group_id=GROUP,
            client_id="aio-group-c%d" % n,
            auto_offset_reset="earliest",
            enable_auto_commit=True,
            auto_commit_interval_ms=200,
            session_timeout_ms=6000,
            heartbeat_interval_ms=300,
            max_poll_interval_ms=30000,
            request_timeout_ms=20000,
            fetch_max_wait_ms=50,
        )
        self.task = None
        self.stopping = False

    async def on_partitions_revoked(self, revoked):
        self.assigned = set()

    async def on_partitions_assigned(self, assigned):
        self.assigned = {tp.partition for tp in assigned}
        self.generations += 1

    async def start(self):
        await self.consumer.start()
        self.consumer.subscribe([TOPIC], listener=self)
        self.task = asyncio.create_task(self.run())

    async def run(self):
        polls = 0
        while not self.stopping and polls < PHASE_S * 40:
            polls += 1
            batch = await self.consumer.getmany(timeout_ms=50, max_records=500)
            for tp, recs in batch.items():
                for r in recs:
                    self.tally.add(self.n, tp.partition, r.offset, int(r.value))

    async def stop(self):
        """Stops consuming and leaves the group (the last auto-commit happens on the way)."""
        self.stopping = True
        await asyncio.wait_for(self.task, 10)
        await self.consumer.stop()


class Tally:
    def __init__(self):
        self.seen = {}  # value -> [(member, partition, offset)]

    def add(self, who, partition, offset, value):
        self.seen.setdefault(value, []).append((who, partition, offset))

    def count(self):
        return sum(len(v) for v in self.seen.values())

    def check_exactly_once(self, upto, what):
        dups = {v: w for v, w in self.seen.items() if len(w) > 1}
        check(not dups, "%s: %d records consumed more than once, e.g. %r" % (what, len(dups), sorted(dups.items())[:5]))
        missing = [v for v in range(upto) if v not in self.seen]
        check(not missing, "%s: %d records never consumed, e.g. %r" % (what, len(missing), missing[:10]))
        extra = [v for v in self.seen if v >= upto]
        check(not extra, "%s: unexpected values %r" % (what, extra[:10]))


async def produce(addr, start, n):
    producer = AIOKafkaProducer(bootstrap_servers=addr, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(TOPIC, value=b"%d" % i, partition=i % PARTITIONS) for i in range(start, start + n)]
        for f in futures:
            await asyncio.wait_for(f, 30)
    finally:
        await producer.stop()


async def settled(members, sizes, what):
    """Waits until the members hold disjoint partitions covering all six, `sizes` of them each."""

    async def done():
        got = [m.assigned for m in members]
        union = set().union(*got)
        return sorted(len(a) for a in got) == sorted(sizes) and len(union) == PARTITIONS and got

    got = await wait_for_async(done, PHASE_S, what)
    log("%s: assignments %r" % (what, [sorted(a) for a in got]))
    return got


async def consumed(tally, want, what):
    async def done():
        return tally.count() >= want

    await wait_for_async(done, PHASE_S, "%s: %d records consumed (have %d)" % (what, want, tally.count()))
    await asyncio.sleep(0.5)  # strays, if any, arrive now


async def group_offsets(admin):
    offsets = await admin.list_consumer_group_offsets(GROUP)
    return {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == TOPIC}


async def describe(admin):
    (resp,) = await admin.describe_consumer_groups([GROUP])
    (g,) = resp.to_object()["groups"]
    return g


async def first(addr, admin):
    await admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
    await produce(addr, 0, FIRST)
    tally = Tally()
    members = [Member(addr, n, tally) for n in range(3)]
    await members[0].start()
    await settled(members[:1], [6], "one member")
    # The others join while the first consumes: each join rebalances a member holding partitions.
    for m in members[1:]:
        await asyncio.sleep(0.3)
        await m.start()
    await settled(members, [2, 2, 2], "three members")
    await consumed(tally, FIRST, "three members")
    tally.check_exactly_once(FIRST, "three members")
    g = await describe(admin)
    check_eq(
        (g["error_code"], g["group"], g["state"], g["protocol_type"], g["protocol"]),
        (0, GROUP, "Stable", "consumer", "roundrobin"),
        "DescribeGroups",
    )
    check_eq(
        sorted(m["client_id"] for m in g["members"]),
        ["aio-group-c0", "aio-group-c1", "aio-group-c2"],
        "client ids of the members",
    )
    check(all(members[i].generations >= 1 for i in range(3)), "every member was assigned")

    await members[2].stop()
    live = members[:2]
    await settled(live, [3, 3], "after one left")
    await produce(addr, FIRST, SECOND)
    await consumed(tally, FIRST + SECOND, "two members")
    tally.check_exactly_once(FIRST + SECOND, "two members")
    per_partition = (FIRST + SECOND) // PARTITIONS

    # consumer.committed() as a live member sees it, once auto-commit caught up.
    async def caught_up():
        got = [await live[0].consumer.committed(TopicPartition(TOPIC, p)) for p in sorted(live[0].assigned)]
        return got and all(o == per_partition for o in got) and got

    await wait_for_async(caught_up, PHASE_S, "committed() of a live member")
    for m in live:
        await m.stop()
    g = await describe(admin)
    check_eq((g["state"], g["members"]), ("Empty", []), "group state and members after all left")
    check_eq(await group_offsets(admin), {p: per_partition for p in range(PARTITIONS)}, "committed offsets")
    log("%d records consumed exactly once; committed %d per partition" % (FIRST + SECOND, per_partition))


async def resume(addr, admin):
    per_partition = (FIRST + SECOND) // PARTITIONS
    check_eq(
        await group_offsets(admin), {p: per_partition for p in range(PARTITIONS)}, "committed offsets after the restart"
    )
    groups = await admin.list_consumer_groups()
    check((GROUP, "consumer") in groups, "list_consumer_groups: %r" % (groups,))
    g = await describe(admin)
    check_eq(
        (g["error_code"], g["state"], g["protocol_type"], g["members"]),
        (0, "Empty", "consumer", []),
        "DescribeGroups after the restart",
    )

    await produce(addr, FIRST + SECOND, THIRD)
    tally = Tally()
    member = Member(addr, 9, tally)
    await member.start()
    await settled([member], [6], "a member after the restart")
    await consumed(tally, THIRD, "after the restart")
    check_eq(
        sorted(tally.seen),
        list(range(FIRST + SECOND, FIRST + SECOND + THIRD)),
        "records read after the restart (only the new ones)",
    )
    check(all(len(w) == 1 for w in tally.seen.values()), "a record read twice after the restart")
    for p in range(PARTITIONS):
        check_eq(
            await member.consumer.position(TopicPartition(TOPIC, p)),
            per_partition + THIRD // PARTITIONS,
            "position of partition %d" % p,
        )
    await member.consumer.commit()
    await member.stop()
    want = {p: per_partition + THIRD // PARTITIONS for p in range(PARTITIONS)}
    check_eq(await group_offsets(admin), want, "committed offsets after the new member")
    log("after the restart: committed offsets kept, %d new records consumed" % THIRD)


async def body(addr):
    phase = sys.argv[2] if len(sys.argv) > 2 else ""
    admin = AIOKafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=30000)
    await admin.start()
    try:
        if phase == "first":
            await first(addr, admin)
        elif phase == "resume":
            await resume(addr, admin)
        else:
            fail("phase must be first or resume, not %r" % phase)
    finally:
        await admin.close()


if __name__ == "__main__":
    main(body)
