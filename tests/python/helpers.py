"""Shared bits of the Python client scripts (run by tests/compat_kafka_python.rs with kafka-python,
tests/compat_aiokafka.rs with aiokafka, tests/compat_confluent.rs with confluent-kafka).

Every script takes the bootstrap address as argv[1], prints what it checks, and exits non-zero
with a message on the first failure. Every wait is bounded in count and in time.
"""

import asyncio
import importlib
import os
import sys
import time
import traceback


def require(module, package):
    """Exits 2 with the install command when `module` (from pip package `package`) is missing."""
    try:
        importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - the message is the point
        sys.stderr.write(
            "%s is not installed for %s (%s): run `bash .ci/run`, or "
            "`.venv/bin/pip install -r tests/python/requirements.txt`\n" % (package, sys.executable, e)
        )
        sys.exit(2)


SCRIPT = os.path.basename(sys.argv[0])


class Failure(Exception):
    pass


def fail(message):
    raise Failure(message)


def check(condition, message):
    if not condition:
        raise Failure(message)


def check_eq(got, expected, what):
    if got != expected:
        raise Failure("%s: got %r, expected %r" % (what, got, expected))


def log(message):
    print("%s: %s" % (SCRIPT, message), flush=True)


def bootstrap():
    if len(sys.argv) < 2 or ":" not in sys.argv[1]:
        sys.stderr.write("usage: %s HOST:PORT [ARGS...]\n" % SCRIPT)
        sys.exit(2)
    return sys.argv[1]


def report(key, value):
    """A `KEY value` line for the Rust side of the test to read (common/scripts.rs `reported`)."""
    print("%s %s" % (key, value), flush=True)


def main(body):
    """Runs body(addr); any failure or exception exits 1 with the reason on stderr. A coroutine
    function is run with asyncio. Scripts with more arguments read them from sys.argv."""
    addr = bootstrap()
    try:
        if asyncio.iscoroutinefunction(body):
            asyncio.run(body(addr))
        else:
            body(addr)
    except Failure as e:
        sys.stderr.write("%s: FAIL: %s\n" % (SCRIPT, e))
        sys.exit(1)
    except Exception:
        sys.stderr.write("%s: FAIL with an exception:\n%s" % (SCRIPT, traceback.format_exc()))
        sys.exit(1)
    log("OK")


def poll_until(consumer, want, timeout_s, what):
    """Polls an assigned consumer until `want` records arrived (or timeout_s / a poll-count
    bound passes); returns {TopicPartition: [ConsumerRecord, ...]} in arrival order."""
    got = {}
    count = 0
    deadline = time.monotonic() + timeout_s
    polls = 0
    max_polls = int(timeout_s * 20) + 10  # a poll waits at most 250 ms, usually much less
    while count < want and time.monotonic() < deadline and polls < max_polls:
        polls += 1
        for tp, records in consumer.poll(timeout_ms=250, max_records=1000).items():
            got.setdefault(tp, []).extend(records)
            count += len(records)
    check(count >= want, "%s: %d of %d records read within %ss (%d polls)" % (what, count, want, timeout_s, polls))
    return got


def poll_nothing_more(consumer, what, quiet_s=1.0):
    """Checks that an assigned consumer at the end of its partitions gets nothing more."""
    deadline = time.monotonic() + quiet_s
    polls = 0
    while time.monotonic() < deadline and polls < 100:
        polls += 1
        extra = consumer.poll(timeout_ms=100)
        check(not extra, "%s: unexpected extra records %r" % (what, extra))


def wait_for(predicate, timeout_s, what, interval_s=0.1):
    """Calls predicate() until it returns a true value, at most timeout_s; returns that value."""
    deadline = time.monotonic() + timeout_s
    tries = 0
    last = None
    while True:
        tries += 1
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline or tries > timeout_s / interval_s + 10:
            fail("%s: not true within %ss (last value %r)" % (what, timeout_s, last))
        time.sleep(interval_s)


async def wait_for_async(predicate, timeout_s, what, interval_s=0.1):
    """wait_for for coroutines: awaits predicate() until it returns a true value, at most
    timeout_s; returns that value."""
    deadline = time.monotonic() + timeout_s
    tries = 0
    last = None
    while True:
        tries += 1
        last = await predicate()
        if last:
            return last
        if time.monotonic() >= deadline or tries > timeout_s / interval_s + 10:
            fail("%s: not true within %ss (last value %r)" % (what, timeout_s, last))
        await asyncio.sleep(interval_s)
