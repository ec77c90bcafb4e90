"""kafka-python producer with acks=0 (the broker sends no response) against the strom broker.

N records go out with acks=0 over one connection, pipelined without replies; a consumer
without a group must then read every one back, identical and in order, at offsets 0..N-1.
A record produced with acks=1 afterwards lands at offset N: the unanswered requests neither
lost records nor desynchronised the connection's replies.

Usage: producer_acks0.py HOST:PORT
"""

from helpers import check_eq, log, main, poll_nothing_more, poll_until, require

require("kafka", "kafka-python")

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

N = 2000
TOPIC = "py-acks0"
BASE_TS = 1_700_000_000_000


def body(addr):
    admin = KafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=30000)
    admin.create_topics([NewTopic(TOPIC, 1, 1)])
    admin.close()

    records = [(b"k%d" % (i % 10), b"acks0 value %d " % i * (1 + i % 5), BASE_TS + i) for i in range(N)]
    # kafka-python 2.3.x queues a request that expects no response without marking its socket
    # for writing (client_async.send registers the connection only while the future is
    # pending), so acks=0 produce requests leave with the next request on that connection.
    # A short metadata max age supplies such a request every 100 ms; the producer stays open
    # until the records have been read back. (kafka-python 3.x sends them at once.)
    producer = KafkaProducer(
        bootstrap_servers=addr, acks=0, linger_ms=2, batch_size=16 * 1024, max_block_ms=30000, metadata_max_age_ms=100
    )
    for key, value, ts in records:
        producer.send(TOPIC, key=key, value=value, partition=0, headers=[("h", key)], timestamp_ms=ts)
    producer.flush(timeout=60)
    log("%d records sent with acks=0" % N)

    tp = TopicPartition(TOPIC, 0)
    consumer = KafkaConsumer(bootstrap_servers=addr, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=200, request_timeout_ms=30000)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = poll_until(consumer, N, 60, "consume the acks=0 records").get(tp, [])
    check_eq(len(got), N, "records read")
    for i, (m, (key, value, ts)) in enumerate(zip(got, records)):
        check_eq((m.offset, m.key, m.value, list(m.headers), m.timestamp), (i, key, value, [("h", key)], ts), "record %d" % i)
    poll_nothing_more(consumer, "after the last acks=0 record")
    producer.close(timeout=10)

    acked = KafkaProducer(bootstrap_servers=addr, acks=1, max_block_ms=30000)
    md = acked.send(TOPIC, key=b"after", value=b"acks=1", partition=0).get(timeout=30)
    acked.close(timeout=10)
    check_eq(md.offset, N, "offset of an acks=1 record after the acks=0 ones")
    check_eq(consumer.end_offsets([tp]), {tp: N + 1}, "end offset")
    consumer.close()
    log("acks=0: %d records read back in order" % N)


if __name__ == "__main__":
    main(body)
