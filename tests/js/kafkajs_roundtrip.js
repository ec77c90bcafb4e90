// kafkajs producer -> strom broker -> kafkajs consumer.
//
// For each codec kafkajs has built in (none, gzip) and each acks setting (-1, 1, 0), a
// 3-partition topic gets N records with keys (some null), values (one empty, one null), headers
// (a repeated key, binary and empty values) and explicit timestamps, sent in chunks. The
// produce responses give each partition's base offset per send (acks -1/1); a consumer group
// member reading from the beginning (read_committed, kafkajs' default: it reads up to the last
// stable offset) must get every record back identical, in order, at the offset the producer was
// told. Then: an idempotent producer sending concurrently (kafkajs keeps one request in flight
// per broker and numbers the batches), its records stored once each and in order; sendBatch to
// two topics at once; and seek within a running consumer.
//
// Usage: node kafkajs_roundtrip.js HOST:PORT

'use strict'

const crypto = require('crypto')
const { kafkajs, check, checkEq, fail, log, main, newKafka, sleep, waitFor } = require('./helpers')

const { CompressionTypes } = kafkajs
const N = 300
const PARTITIONS = 3
const CHUNK = 50
const BASE_TS = 1700000000000
const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP }
const ACKS = [-1, 1, 0]

function makeRecords(seed) {
  let state = crypto.createHash('sha256').update(seed).digest()
  const bytes = n => {
    const out = []
    let len = 0
    while (len < n) {
      state = crypto.createHash('sha256').update(state).digest()
      out.push(state)
      len += state.length
    }
    return Buffer.concat(out).subarray(0, n)
  }
  const records = []
  for (let i = 0; i < N; i++) {
    const key = i % 11 === 3 ? null : Buffer.from(`key-${i % 17}`)
    let value
    if (i === 5) value = Buffer.alloc(0)
    else if (i === 6) value = null
    else if (i % 4 === 0) value = Buffer.from(`text value ${i} `.repeat(1 + (i % 9)))
    else value = bytes(1 + ((i * 7919) % 1500))
    const headers = { i: Buffer.from(String(i)) }
    if (i % 3 !== 0) {
      headers.bin = bytes(i % 40)
      headers.dup = [Buffer.from('first'), Buffer.from('second')]
      headers.empty = Buffer.alloc(0)
    }
    records.push({ key, value, headers, ts: BASE_TS + 7 * i, partition: i % PARTITIONS })
  }
  return records
}

// Reads `want` records of `topics` with a fresh group member; returns them by topic/partition.
async function consumeAll(kafka, topics, want, what) {
  const consumer = kafka.consumer({ groupId: `${what}-reader`, maxWaitTimeInMs: 100 })
  const got = {}
  let count = 0
  await consumer.connect()
  try {
    for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const k = `${batch.topic}/${batch.partition}`
          ;(got[k] = got[k] || []).push(m)
          count++
        }
      },
    })
    await waitFor(() => count >= want, 60000, `${what}: ${want} records consumed (have ${count})`)
    await sleep(300) // strays, if any, arrive now
  } finally {
    await consumer.disconnect()
  }
  checkEq(count, want, `${what}: records consumed`)
  return got
}

function normalizeHeaders(headers) {
  const out = {}
  for (const [k, v] of Object.entries(headers || {})) {
    out[k] = Array.isArray(v) ? v.map(b => Buffer.from(b)) : Buffer.from(v)
  }
  return out
}

async function roundtrip(kafka, admin, codec, acks) {
  const topic = `js-${codec}-acks${acks}`
  check(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true }), `create ${topic}`)
  const records = makeRecords(topic)
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const told = {} // partition -> [offset or null] in production order
  try {
    for (let start = 0; start < N; start += CHUNK) {
      const chunk = records.slice(start, start + CHUNK)
      const meta = await producer.send({
        topic,
        acks,
        compression: CODECS[codec],
        messages: chunk.map(r => ({
          key: r.key,
          value: r.value,
          headers: r.headers,
          partition: r.partition,
          timestamp: String(r.ts),
        })),
      })
      if (acks === 0) {
        checkEq(meta, [], `${topic}: acks=0 send answers nothing`)
      } else {
        const base = {}
        for (const m of meta) {
          checkEq([m.topicName, m.errorCode], [topic, 0], `${topic}: produce result`)
          base[m.partition] = Number(m.baseOffset)
        }
        const seen = {}
        for (const r of chunk) {
          seen[r.partition] = (seen[r.partition] || 0) + 1
        }
        for (const p of Object.keys(seen)) {
          const before = (told[p] || []).length
          checkEq(base[p], before, `${topic}: base offset of partition ${p} for records from ${start}`)
        }
      }
      for (const r of chunk) (told[r.partition] = told[r.partition] || []).push(r)
    }
  } finally {
    await producer.disconnect()
  }

  const got = await consumeAll(kafka, [topic], N, topic)
  for (let p = 0; p < PARTITIONS; p++) {
    const expected = told[p] || []
    const received = got[`${topic}/${p}`] || []
    checkEq(received.length, expected.length, `${topic}: records on partition ${p}`)
    received.forEach((m, n) => {
      const r = expected[n]
      const where = `${topic}: partition ${p} record ${n}`
      checkEq(m.offset, String(n), `${where}: offset`)
      checkEq(m.key, r.key, `${where}: key`)
      checkEq(m.value, r.value, `${where}: value`)
      checkEq(normalizeHeaders(m.headers), normalizeHeaders(r.headers), `${where}: headers`)
      checkEq(m.timestamp, String(r.ts), `${where}: timestamp`)
    })
  }
  const offsets = await admin.fetchTopicOffsets(topic)
  checkEq(
    offsets.map(o => [o.partition, o.low, o.high]).sort((a, b) => a[0] - b[0]),
    [0, 1, 2].map(p => [p, '0', String((told[p] || []).length)]),
    `${topic}: fetchTopicOffsets`
  )
  log(`${topic}: ${N} records round-tripped`)
}

async function idempotent(kafka, admin) {
  const topic = 'js-idempotent'
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true })
  // Idempotent producers retry without limit (kafkajs warns otherwise); the script's own time
  // bound stops a producer that never succeeds.
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 2000 },
  })
  await producer.connect()
  const SENDS = 40
  const PER_SEND = 50
  try {
    // Concurrent sends: kafkajs queues them behind its one in-flight request per broker and
    // gives each batch the next sequence number of its partition.
    const results = await Promise.all(
      Array.from({ length: SENDS }, (_, s) =>
        producer.send({
          topic,
          acks: -1,
          compression: s % 2 ? CompressionTypes.GZIP : CompressionTypes.None,
          messages: Array.from({ length: PER_SEND }, (_, i) => ({
            value: `${s}-${i}`,
            partition: (s * PER_SEND + i) % PARTITIONS,
          })),
        })
      )
    )
    for (const meta of results) {
      for (const m of meta) checkEq(m.errorCode, 0, `${topic}: produce error`)
    }
  } finally {
    await producer.disconnect()
  }
  const got = await consumeAll(kafka, [topic], SENDS * PER_SEND, topic)
  const seen = new Set()
  for (let p = 0; p < PARTITIONS; p++) {
    const last = {}
    for (const m of got[`${topic}/${p}`] || []) {
      const v = m.value.toString()
      check(!seen.has(v), `${topic}: ${v} stored twice`)
      seen.add(v)
      const [s, i] = v.split('-').map(Number)
      check(i > (last[s] === undefined ? -1 : last[s]), `${topic}: ${v} out of order on partition ${p}`)
      last[s] = i
    }
  }
  checkEq(seen.size, SENDS * PER_SEND, `${topic}: distinct records`)
  log(`${topic}: ${seen.size} records from concurrent idempotent sends, each once and in order`)
}

async function sendBatchAndSeek(kafka, admin) {
  const topics = ['js-batch-a', 'js-batch-b']
  await admin.createTopics({ topics: topics.map(topic => ({ topic, numPartitions: 1 })), waitForLeaders: true })
  const producer = kafka.producer()
  await producer.connect()
  try {
    const meta = await producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.GZIP,
      topicMessages: topics.map(topic => ({
        topic,
        messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `${topic}-${i}` })),
      })),
    })
    checkEq(
      meta.map(m => [m.topicName, m.partition, m.errorCode, m.baseOffset]).sort(),
      topics.map(t => [t, 0, 0, '0']),
      'sendBatch results'
    )
  } finally {
    await producer.disconnect()
  }
  const got = await consumeAll(kafka, topics, 40, 'js-batch')
  for (const t of topics) {
    checkEq(
      got[`${t}/0`].map(m => m.value.toString()),
      Array.from({ length: 20 }, (_, i) => `${t}-${i}`),
      `${t}: values`
    )
  }

  // seek while running: jump back to offset 12 of js-batch-a (inside a gzip batch).
  const consumer = kafka.consumer({ groupId: 'js-seek', maxWaitTimeInMs: 100 })
  const values = []
  let seeked = false
  await consumer.connect()
  try {
    await consumer.subscribe({ topic: 'js-batch-a', fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value.toString())
      },
    })
    await waitFor(() => values.length >= 20, 30000, 'js-seek: first pass')
    consumer.seek({ topic: 'js-batch-a', partition: 0, offset: '12' })
    seeked = true
    await waitFor(() => values.length >= 28, 30000, 'js-seek: after seek')
    await sleep(200)
  } finally {
    await consumer.disconnect()
  }
  check(seeked, 'seek not reached')
  checkEq(
    values,
    [...Array.from({ length: 20 }, (_, i) => `js-batch-a-${i}`), ...Array.from({ length: 8 }, (_, i) => `js-batch-a-${12 + i}`)],
    'values read before and after seek'
  )
  log('sendBatch to two topics; seek back into a gzip batch')
}

async function body(addr) {
  const kafka = newKafka(addr, 'js-roundtrip')
  const admin = kafka.admin()
  await admin.connect()
  try {
    for (const codec of Object.keys(CODECS)) {
      for (const acks of ACKS) await roundtrip(kafka, admin, codec, acks)
    }
    await idempotent(kafka, admin)
    await sendBatchAndSeek(kafka, admin)
  } finally {
    await admin.disconnect()
  }
}

main(body)
