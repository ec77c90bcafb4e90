// kafkajs idempotent producers through broker restarts.
//
// Two idempotent producers send N records each, concurrently, to a 3-partition topic, in sends
// of STEP records (record i of a producer goes to partition i % 3; its value names producer and
// i). The script prints `ACKED n` after every send of the first one; the Rust side (tests/compat_kafkajs.rs) SIGKILLs and restarts the broker on the same
// port meanwhile. kafkajs resends what the dead broker did not answer with the same producer id,
// epoch and sequence numbers, so a batch the broker had already appended must be acknowledged as
// a duplicate, not appended again.
//
// At the end a consumer group member reads the topic from the beginning: every record exactly
// once, in the order it was sent (per producer and partition), offsets without gaps.
//
// Usage: node kafkajs_idempotent.js HOST:PORT N

'use strict'

const { check, checkEq, log, main, newKafka, report, sleep, waitFor } = require('./helpers')

const TOPIC = 'js-idempotent-restarts'
const PARTITIONS = 3
const STEP = 100

async function produce(kafka, name, n) {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    // Retry without limit (kafkajs warns otherwise); the script's own time bound stops it.
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1000 },
  })
  await producer.connect()
  try {
    for (let start = 0; start < n; start += STEP) {
      const messages = []
      for (let i = start; i < Math.min(start + STEP, n); i++) {
        messages.push({ value: `${name}-${i}`, partition: i % PARTITIONS })
      }
      const meta = await producer.send({ topic: TOPIC, acks: -1, messages })
      for (const m of meta) checkEq(m.errorCode, 0, `${name}: produce error`)
      if (name === 'a') report('ACKED', start + messages.length)
    }
  } finally {
    await producer.disconnect()
  }
}

async function body(addr) {
  const n = Number(process.argv[3])
  check(n > 0, `N must be a positive number, not ${process.argv[3]}`)
  const kafka = newKafka(addr, 'js-idempotent')
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] })
  } finally {
    await admin.disconnect()
  }
  await Promise.all([produce(kafka, 'a', n), produce(kafka, 'b', n)])
  log(`${2 * n} records acknowledged`)

  const consumer = kafka.consumer({ groupId: 'js-idempotent-reader', maxWaitTimeInMs: 100 })
  const got = Array.from({ length: PARTITIONS }, () => [])
  let count = 0
  await consumer.connect()
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          got[batch.partition].push([Number(m.offset), m.value.toString()])
          count++
        }
      },
    })
    await waitFor(() => count >= 2 * n, 60000, `${2 * n} records consumed (have ${count})`)
    await sleep(500)
  } finally {
    await consumer.disconnect()
  }

  const seen = new Set()
  got.forEach((records, p) => {
    checkEq(
      records.map(([offset]) => offset),
      records.map((_, k) => k),
      `offsets of partition ${p}`
    )
    const last = {}
    for (const [offset, v] of records) {
      check(!seen.has(v), `${v} stored twice (again at offset ${offset} of partition ${p})`)
      seen.add(v)
      const [name, i] = v.split('-')
      check(Number(i) % PARTITIONS === p, `${v} on partition ${p}`)
      check(Number(i) > (last[name] === undefined ? -1 : last[name]), `${v} out of order on partition ${p}`)
      last[name] = Number(i)
    }
  })
  checkEq(seen.size, 2 * n, 'distinct records stored')
  checkEq(count, 2 * n, 'records stored')
  log(`${count} records stored exactly once, in order`)
}

main(body)
