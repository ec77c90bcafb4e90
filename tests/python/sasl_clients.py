"""A Python client against a listener that requires TLS and/or SASL (tests/sasl_tls.rs).

With expect=ok the client produces three records to a fresh topic (auto-created) and reads them
back from the beginning with a consumer that assigns partition 0, over the given security
settings. With expect=auth-failure the client must fail to connect, quickly, and must have been
told SASL_AUTHENTICATION_FAILED with the broker's message.

Usage: sasl_clients.py HOST:PORT LIBRARY SETTINGS_JSON
  LIBRARY        kafka-python | confluent-kafka | aiokafka
  SETTINGS_JSON  {"protocol": "SASL_SSL", "mechanism": "SCRAM-SHA-512", "user": "alice",
                  "ca": PEM, "cert": PEM, "key": PEM, "topic": NAME, "expect": "ok"}
The password comes from the environment (STROM_TEST_SASL_PASSWORD), not the command line.
"""

import json
import logging
import os
import sys
import time

from helpers import check, check_eq, fail, log, main, report, require

LIBRARY = sys.argv[2] if len(sys.argv) > 2 else ""
SETTINGS = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
PASSWORD = os.environ.get("STROM_TEST_SASL_PASSWORD", "")
VALUES = [b"secure-0", b"secure-1", b"secure-2"]
AUTH_MESSAGE = "Authentication failed during authentication due to invalid credentials"
# A failed login must be reported well within this (the broker answers after 100 ms).
FAST_S = 10.0


def kafka_python_config():
    c = {"security_protocol": SETTINGS["protocol"]}
    if "mechanism" in SETTINGS:
        c.update(
            sasl_mechanism=SETTINGS["mechanism"],
            sasl_plain_username=SETTINGS["user"],
            sasl_plain_password=PASSWORD,
        )
    if "ca" in SETTINGS:
        c.update(ssl_cafile=SETTINGS["ca"], ssl_check_hostname=True)
    if "cert" in SETTINGS:
        c.update(ssl_certfile=SETTINGS["cert"], ssl_keyfile=SETTINGS["key"])
    return c


def run_kafka_python(addr):
    require("kafka", "kafka-python")
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient

    config = kafka_python_config()
    if SETTINGS["expect"] == "auth-failure":
        # kafka-python logs the broker's error and then gives up on bootstrap with its own
        # exception: both must come quickly, and the log must carry code 58 and the message.
        seen = []

        class Grab(logging.Handler):
            def emit(self, record):
                seen.append(record.getMessage())

        logging.getLogger("kafka.conn").addHandler(Grab())
        start = time.monotonic()
        try:
            KafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=5000, **config).close()
            fail("the admin client connected with a wrong password")
        except Exception as e:  # the exception kafka-python picks varies by version
            elapsed = time.monotonic() - start
            report("elapsed", "%.2f" % elapsed)
            check(elapsed < FAST_S, "failing took %.1fs" % elapsed)
            log("bootstrap failed with %s" % type(e).__name__)
        auth = [m for m in seen if "SaslAuthenticationFailedError" in m]
        check(auth, "no SaslAuthenticationFailedError in kafka-python's log: %r" % seen[-5:])
        check(AUTH_MESSAGE in auth[0], "message %r" % auth[0])
        report("error", auth[0])
        return

    topic = SETTINGS["topic"]
    producer = KafkaProducer(bootstrap_servers=addr, acks="all", **config)
    for v in VALUES:
        producer.send(topic, value=v, partition=0).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=addr, enable_auto_commit=False, **config)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = []
    deadline = time.monotonic() + 30
    polls = 0
    while len(got) < len(VALUES) and time.monotonic() < deadline and polls < 200:
        polls += 1
        for records in consumer.poll(timeout_ms=250).values():
            got.extend(r.value for r in records)
    consumer.close()
    check_eq(got, VALUES, "values read back")
    report("connected", "kafka-python")


def confluent_config():
    c = {"security.protocol": SETTINGS["protocol"]}
    if "mechanism" in SETTINGS:
        c.update({"sasl.mechanisms": SETTINGS["mechanism"], "sasl.username": SETTINGS["user"], "sasl.password": PASSWORD})
    if "ca" in SETTINGS:
        c["ssl.ca.location"] = SETTINGS["ca"]
    if "cert" in SETTINGS:
        c.update({"ssl.certificate.location": SETTINGS["cert"], "ssl.key.location": SETTINGS["key"]})
    return c


def run_confluent(addr):
    require("confluent_kafka", "confluent-kafka")
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

    errors = []
    config = dict(confluent_config(), **{"bootstrap.servers": addr, "error_cb": errors.append})
    if SETTINGS["expect"] == "auth-failure":
        start = time.monotonic()
        p = Producer(config)
        while not errors and time.monotonic() - start < FAST_S:
            p.poll(0.1)
        elapsed = time.monotonic() - start
        check(errors, "no error reported within %ss" % FAST_S)
        e = errors[0]
        check_eq(e.code(), KafkaError._AUTHENTICATION, "error code of %s" % e)
        check(AUTH_MESSAGE in e.str(), "message %r" % e.str())
        report("elapsed", "%.2f" % elapsed)
        report("error", e.str())
        return

    topic = SETTINGS["topic"]
    p = Producer(dict(config, acks="all"))
    delivered = []
    for v in VALUES:
        p.produce(topic, value=v, partition=0, on_delivery=lambda err, msg: delivered.append(err))
    check_eq(p.flush(30), 0, "messages left after flush")
    check_eq(delivered, [None] * len(VALUES), "delivery errors")
    c = Consumer(dict(config, **{"group.id": "sasl-test", "enable.auto.commit": False}))
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.monotonic() + 30
    polls = 0
    while len(got) < len(VALUES) and time.monotonic() < deadline and polls < 200:
        polls += 1
        m = c.poll(0.25)
        if m is not None and m.error() is None:
            got.append(m.value())
    c.close()
    check_eq(got, VALUES, "values read back")
    check_eq([e for e in errors if e.code() != KafkaError._ALL_BROKERS_DOWN], [], "client errors")
    report("connected", "confluent-kafka")


async def run_aiokafka(addr):
    require("aiokafka", "aiokafka")
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.helpers import create_ssl_context

    config = {"security_protocol": SETTINGS["protocol"]}
    if "mechanism" in SETTINGS:
        config.update(
            sasl_mechanism=SETTINGS["mechanism"],
            sasl_plain_username=SETTINGS["user"],
            sasl_plain_password=PASSWORD,
        )
    if "ca" in SETTINGS:
        config["ssl_context"] = create_ssl_context(
            cafile=SETTINGS["ca"], certfile=SETTINGS.get("cert"), keyfile=SETTINGS.get("key")
        )
    check_eq(SETTINGS["expect"], "ok", "aiokafka runs the positive case only")
    topic = SETTINGS["topic"]
    producer = AIOKafkaProducer(bootstrap_servers=addr, acks="all", **config)
    await producer.start()
    try:
        for v in VALUES:
            await producer.send_and_wait(topic, value=v, partition=0)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=addr, enable_auto_commit=False, **config)
    await consumer.start()
    got = []
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        deadline = time.monotonic() + 30
        polls = 0
        while len(got) < len(VALUES) and time.monotonic() < deadline and polls < 200:
            polls += 1
            for records in (await consumer.getmany(timeout_ms=250)).values():
                got.extend(r.value for r in records)
    finally:
        await consumer.stop()
    check_eq(got, VALUES, "values read back")
    report("connected", "aiokafka")


def body(addr):
    check(PASSWORD or "mechanism" not in SETTINGS, "STROM_TEST_SASL_PASSWORD is not set")
    if LIBRARY == "kafka-python":
        run_kafka_python(addr)
    elif LIBRARY == "confluent-kafka":
        run_confluent(addr)
    elif LIBRARY == "aiokafka":
        import asyncio

        asyncio.run(run_aiokafka(addr))
    else:
        fail("unknown library %r" % LIBRARY)


main(body)
