// kafkajs against a listener that requires TLS and/or SASL (tests/sasl_tls.rs).
//
// With expect=ok: three records produced to a fresh topic and read back by a consumer group
// member from the beginning. With expect=auth-failure: connecting must fail quickly with
// kafkajs' SASL authentication error carrying the broker's message.
//
// Usage: node kafkajs_sasl.js HOST:PORT SETTINGS_JSON
//   SETTINGS_JSON  {"ssl": true, "mechanism": "scram-sha-512", "user": "alice", "ca": PEM,
//                   "topic": NAME, "expect": "ok"}
// The password comes from the environment (STROM_TEST_SASL_PASSWORD).

'use strict'

const fs = require('fs')
const { kafkajs, check, checkEq, fail, log, main, report, waitFor } = require('./helpers')

const SETTINGS = JSON.parse(process.argv[3] || '{}')
const PASSWORD = process.env.STROM_TEST_SASL_PASSWORD || ''
const VALUES = ['secure-0', 'secure-1', 'secure-2']
const AUTH_MESSAGE = 'Authentication failed during authentication due to invalid credentials'
const FAST_MS = 10000

function client(addr) {
  return new kafkajs.Kafka({
    clientId: 'kafkajs-sasl',
    brokers: [addr],
    logLevel: kafkajs.logLevel.NOTHING,
    connectionTimeout: 5000,
    requestTimeout: 10000,
    retry: { retries: 0 },
    ssl: SETTINGS.ssl ? { ca: [fs.readFileSync(SETTINGS.ca, 'utf8')], rejectUnauthorized: true } : false,
    sasl: { mechanism: SETTINGS.mechanism, username: SETTINGS.user, password: PASSWORD },
  })
}

main(async addr => {
  check(PASSWORD, 'STROM_TEST_SASL_PASSWORD is not set')
  const kafka = client(addr)
  if (SETTINGS.expect === 'auth-failure') {
    const admin = kafka.admin()
    const start = Date.now()
    try {
      await admin.connect()
      await admin.disconnect()
      fail('connected with a wrong password')
    } catch (e) {
      const elapsed = Date.now() - start
      check(e.name === 'KafkaJSSASLAuthenticationError', `error ${e.name}: ${e.message}`)
      check(e.message.includes(AUTH_MESSAGE), `message ${e.message}`)
      check(elapsed < FAST_MS, `failing took ${elapsed} ms`)
      report('elapsed', (elapsed / 1000).toFixed(2))
      report('error', e.message)
    }
    return
  }
  const topic = SETTINGS.topic
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, acks: -1, messages: VALUES.map(value => ({ value, partition: 0 })) })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: 'kafkajs-sasl', sessionTimeout: 10000 })
  const got = []
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({ eachMessage: async ({ message }) => got.push(message.value.toString()) })
  await waitFor(() => got.length >= VALUES.length, 30000, 'records read back')
  await consumer.disconnect()
  checkEq(got, VALUES, 'values read back')
  log(`read ${got.length} records over ${SETTINGS.ssl ? 'SASL_SSL' : 'SASL_PLAINTEXT'}`)
  report('connected', 'kafkajs')
})
