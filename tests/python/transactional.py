"""A transactional kafka-python producer against a broker without transactions: init_transactions
must fail at once (well inside its timeout) with a non-retriable error, not retry a coordinator
lookup that can never succeed. The idempotent producer of the same client still works.

Usage: python transactional.py HOST:PORT
"""

import time

from helpers import check, log, main, require

require("kafka", "kafka-python")

from kafka import KafkaProducer  # noqa: E402
from kafka.errors import KafkaError  # noqa: E402


def body(addr):
    producer = KafkaProducer(bootstrap_servers=addr, transactional_id="strom-txn-py", max_block_ms=20000)
    started = time.monotonic()
    try:
        producer.init_transactions()
        raise AssertionError("init_transactions succeeded on a broker without transactions")
    except KafkaError as e:
        took = time.monotonic() - started
        log("init_transactions failed after %.2f s: %r" % (took, e))
        check(type(e).__name__ == "TransactionalIdAuthorizationFailedError", "error type: %r" % (e,))
        check(not e.retriable, "the error is not retriable: %r" % (e,))
        check(took < 5, "failed fast, not after retries: %.2f s" % took)
    finally:
        producer.close(timeout=5)

    plain = KafkaProducer(bootstrap_servers=addr, enable_idempotence=True, acks="all")
    meta = plain.send("txn-fallback", b"v").get(timeout=20)
    check(meta.offset == 0, "an idempotent producer still works: %r" % (meta,))
    plain.close(timeout=5)


main(body)
