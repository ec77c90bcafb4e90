"""kafka-python's KafkaAdminClient on a live kafka-python group, then an empty one, then none.

Two consumers in one process join a group on a 4-partition topic and commit -> ListGroups lists
it as a consumer group -> DescribeGroups (kafka-python sends at most v3) shows "Stable", protocol
type "consumer", the protocol, both members with their member ids, client ids and hosts, and
the subscription and assignment bytes exactly as the clients sent them (kafka-python decodes
them into ConsumerProtocolMemberMetadata / ConsumerProtocolMemberAssignment), matching what
each consumer was assigned -> DeleteGroups on the live group -> NonEmptyGroupError (68) ->
the consumers close -> "Empty", no members, offsets still there -> DeleteGroups succeeds -> the
group is gone from ListGroups, its offsets too, DescribeGroups says "Dead".

Usage: group_admin.py HOST:PORT
"""

import time

from helpers import check, check_eq, fail, log, main, require, wait_for

require("kafka", "kafka-python")

import kafka.errors as Errors
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

TOPIC = "py-gadmin"
GROUP = "py-gadmin-g"
PARTITIONS = 4
RECORDS = 40


def group_names(admin):
    groups = admin.list_consumer_groups()
    return {g[0]: g[1] for g in groups}


def describe(admin):
    [d] = admin.describe_consumer_groups([GROUP])
    return d


def body(addr):
    admin = KafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=20000)
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
    producer = KafkaProducer(bootstrap_servers=addr)
    for i in range(RECORDS):
        producer.send(TOPIC, value=b"%d" % i, partition=i % PARTITIONS)
    producer.flush(timeout=30)
    producer.close(timeout=10)

    consumers = [
        KafkaConsumer(TOPIC, bootstrap_servers=addr, group_id=GROUP, client_id="py-gadmin-%s" % n,
                      auto_offset_reset="earliest", enable_auto_commit=False, session_timeout_ms=6000,
                      heartbeat_interval_ms=300, request_timeout_ms=20000, fetch_max_wait_ms=50)
        for n in ("a", "b")
    ]
    try:
        got = 0
        deadline = time.monotonic() + 60
        rounds = 0
        while not ([len(c.assignment()) for c in consumers] == [2, 2] and got >= RECORDS):
            rounds += 1
            if time.monotonic() > deadline or rounds > 1200:
                fail("two members with 2 partitions each and %d records: assignment %r, %d records after %d rounds"
                     % (RECORDS, [c.assignment() for c in consumers], got, rounds))
            for c in consumers:
                got += sum(len(rs) for rs in c.poll(timeout_ms=100).values())
        for c in consumers:
            c.commit()
        log("2 members with 2 partitions each; %d records read (re-reads after the join rebalance included: no auto-commit) and committed" % got)

        listed = group_names(admin)
        check(GROUP in listed, "list_consumer_groups: %r not in %r" % (GROUP, listed))
        check_eq(listed[GROUP], "consumer", "listed protocol type")

        d = wait_for(lambda: [c.poll(timeout_ms=50) for c in consumers] and describe(admin).state == "Stable" and describe(admin),
                     20, "group Stable")
        check_eq(d.error_code, 0, "describe error code")
        check_eq(d.group, GROUP, "described group")
        check_eq(d.protocol_type, "consumer", "protocol type")
        check_eq(d.protocol, "range", "protocol (kafka-python's first choice, range)")
        check_eq(len(d.members), 2, "member count")
        ids = {c._coordinator._generation.member_id: c for c in consumers}
        check_eq({m.member_id for m in d.members}, set(ids), "member ids")
        for m in d.members:
            c = ids[m.member_id]
            check_eq(m.client_id, c.config["client_id"], "client id of %s" % m.member_id)
            check(m.client_host and "127.0.0.1" in m.client_host, "client host of %s: %r" % (m.member_id, m.client_host))
            check(m.member_metadata is not None and hasattr(m.member_metadata, "topics"),
                  "member metadata of %s not decoded: %r" % (m.member_id, m.member_metadata))
            check_eq(list(m.member_metadata.topics), [TOPIC], "subscription of %s" % m.client_id)
            check(hasattr(m.member_assignment, "partitions"),
                  "member assignment of %s not decoded: %r" % (m.member_id, m.member_assignment))
            check_eq(set(m.member_assignment.partitions()), c.assignment(), "decoded assignment of %s" % m.client_id)
        all_parts = sorted(tp.partition for m in d.members for tp in m.member_assignment.partitions())
        check_eq(all_parts, list(range(PARTITIONS)), "partitions across the described assignments")
        log("described: %s %s/%s, members %r" % (d.state, d.protocol_type, d.protocol,
                                                 [(m.client_id, m.client_host, sorted(tp.partition for tp in m.member_assignment.partitions())) for m in d.members]))

        res = admin.delete_consumer_groups([GROUP])
        check_eq(res, [(GROUP, Errors.NonEmptyGroupError)], "delete_consumer_groups on the live group")
        check_eq(describe(admin).state, "Stable", "state after the refused delete")
        log("deleting the live group: NonEmptyGroupError")
    finally:
        for c in consumers:
            c.close()

    d = wait_for(lambda: describe(admin).state == "Empty" and describe(admin), 20, "group Empty after close")
    check_eq(d.members, [], "members of the Empty group")
    check_eq(d.protocol_type, "consumer", "protocol type of the Empty group")
    check(GROUP in group_names(admin), "Empty group missing from list_consumer_groups")
    offsets = admin.list_consumer_group_offsets(GROUP)
    check_eq({tp.partition: om.offset for tp, om in offsets.items()}, {p: RECORDS // PARTITIONS for p in range(PARTITIONS)},
             "committed offsets of the Empty group")
    log("after close: Empty, no members, offsets kept")

    res = admin.delete_consumer_groups([GROUP])
    check_eq(res, [(GROUP, Errors.NoError)], "delete_consumer_groups on the Empty group")
    check(GROUP not in group_names(admin), "deleted group still listed: %r" % group_names(admin))
    check_eq(admin.list_consumer_group_offsets(GROUP), {}, "offsets of the deleted group")
    d = describe(admin)
    check_eq((d.state, d.members), ("Dead", []), "describe of the deleted group")
    res = admin.delete_consumer_groups([GROUP])
    check_eq(res, [(GROUP, Errors.GroupIdNotFoundError)], "deleting it again")
    log("deleted: not listed, no offsets, Dead; deleting again: GroupIdNotFoundError")
    admin.close()


if __name__ == "__main__":
    main(body)
