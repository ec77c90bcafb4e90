// A kafkajs consumer group on a 4-partition topic, in two runs with a broker restart between.
//
// `first`: FIRST records are produced; member A joins and holds all 4 partitions; member B
// joins while A consumes (a rebalance of a member that holds partitions): each gets 2, the group
// is Stable with both in describeGroups, and every record is consumed exactly once across them
// (kafkajs commits what it resolved before it rejoins, so OffsetCommit during a rebalance must
// be accepted). B leaves: A gets all 4 and consumes SECOND new records, again exactly once. A
// leaves; fetchOffsets gives the end offsets of all four partitions.
//
// `resume` (after the Rust side SIGKILLed and restarted the broker): the committed offsets are
// still there, the group is listed and Empty; THIRD new records are produced and a new member
// reads exactly those (fromBeginning would re-read everything if the offsets were lost).
//
// Usage: node kafkajs_group.js HOST:PORT first|resume

'use strict'

const { check, checkEq, fail, log, main, newKafka, sleep, waitFor } = require('./helpers')

const TOPIC = 'js-group'
const GROUP = 'js-group-g'
const PARTITIONS = 4
const FIRST = 400
const SECOND = 200
const THIRD = 40
const PHASE_MS = 60000

class Member {
  constructor(kafka, name, tally) {
    this.name = name
    this.tally = tally
    this.assigned = null
    this.joins = 0
    this.consumer = kafka.consumer({
      groupId: GROUP,
      sessionTimeout: 6000,
      heartbeatInterval: 300,
      rebalanceTimeout: 10000,
      maxWaitTimeInMs: 100,
    })
    this.consumer.on(this.consumer.events.GROUP_JOIN, e => {
      this.assigned = (e.payload.memberAssignment[TOPIC] || []).slice().sort()
      this.joins++
    })
  }

  async start() {
    await this.consumer.connect()
    await this.consumer.subscribe({ topic: TOPIC, fromBeginning: true })
    await this.consumer.run({
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (const m of batch.messages) {
          this.tally.add(this.name, batch.partition, Number(m.offset), Number(m.value.toString()))
          resolveOffset(m.offset)
        }
        await heartbeat()
      },
    })
  }

  async stop() {
    await this.consumer.disconnect()
  }
}

class Tally {
  constructor() {
    this.seen = new Map() // value -> [[member, partition, offset]]
  }
  add(who, partition, offset, value) {
    if (!this.seen.has(value)) this.seen.set(value, [])
    this.seen.get(value).push([who, partition, offset])
  }
  count() {
    let n = 0
    for (const w of this.seen.values()) n += w.length
    return n
  }
  checkExactlyOnce(from, upto, what) {
    const dups = [...this.seen].filter(([, w]) => w.length > 1)
    check(dups.length === 0, `${what}: ${dups.length} records consumed more than once, e.g. ${JSON.stringify(dups.slice(0, 3))}`)
    const missing = []
    for (let v = from; v < upto; v++) if (!this.seen.has(v)) missing.push(v)
    check(missing.length === 0, `${what}: ${missing.length} records never consumed, e.g. ${missing.slice(0, 10)}`)
    const extra = [...this.seen.keys()].filter(v => v < from || v >= upto)
    check(extra.length === 0, `${what}: unexpected values ${extra.slice(0, 10)}`)
  }
}

async function produce(kafka, start, n) {
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: n }, (_, k) => ({ value: String(start + k), partition: (start + k) % PARTITIONS })),
    })
  } finally {
    await producer.disconnect()
  }
}

async function settled(members, sizes, what) {
  const got = await waitFor(
    () => {
      const a = members.map(m => m.assigned)
      if (a.some(x => x === null)) return false
      const union = new Set(a.flat())
      const ok = JSON.stringify(a.map(x => x.length).sort()) === JSON.stringify(sizes.slice().sort())
      return ok && union.size === PARTITIONS && a
    },
    PHASE_MS,
    what
  )
  log(`${what}: assignments ${JSON.stringify(got)}`)
}

async function consumed(tally, want, what) {
  await waitFor(() => tally.count() >= want, PHASE_MS, `${what}: ${want} records consumed`)
  await sleep(500) // strays, if any, arrive now
}

async function committed(admin) {
  const [t] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })
  checkEq(t.topic, TOPIC, 'fetchOffsets topic')
  return t.partitions.map(p => [p.partition, p.offset]).sort((a, b) => a[0] - b[0])
}

async function describe(admin) {
  const { groups } = await admin.describeGroups([GROUP])
  checkEq(groups.length, 1, 'describeGroups: groups')
  return groups[0]
}

async function first(kafka, admin) {
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true })
  await produce(kafka, 0, FIRST)
  const tally = new Tally()
  const a = new Member(kafka, 'a', tally)
  const b = new Member(kafka, 'b', tally)
  await a.start()
  await settled([a], [4], 'one member')
  await sleep(100)
  await b.start()
  await settled([a, b], [2, 2], 'two members')
  await consumed(tally, FIRST, 'two members')
  tally.checkExactlyOnce(0, FIRST, 'two members')
  const g = await describe(admin)
  checkEq([g.errorCode, g.groupId, g.state, g.protocolType, g.protocol], [0, GROUP, 'Stable', 'consumer', 'RoundRobinAssigner'], 'describeGroups')
  checkEq(g.members.length, 2, 'members in describeGroups')
  for (const m of g.members) {
    checkEq(m.clientId, 'js-group', 'member client id')
    check(m.memberAssignment.length > 0 && m.memberMetadata.length > 0, 'member metadata and assignment bytes')
  }

  const joins = a.joins
  await b.stop()
  await waitFor(() => a.joins > joins, PHASE_MS, 'A rejoined after B left')
  await settled([a], [4], 'after one left')
  await produce(kafka, FIRST, SECOND)
  await consumed(tally, FIRST + SECOND, 'one member')
  tally.checkExactlyOnce(0, FIRST + SECOND, 'one member')
  await a.stop()

  const per = (FIRST + SECOND) / PARTITIONS
  checkEq(await committed(admin), [0, 1, 2, 3].map(p => [p, String(per)]), 'committed offsets')
  const after = await describe(admin)
  checkEq([after.state, after.members], ['Empty', []], 'group after both left')
  log(`${FIRST + SECOND} records consumed exactly once; committed ${per} per partition`)
}

async function resume(kafka, admin) {
  const per = (FIRST + SECOND) / PARTITIONS
  checkEq(await committed(admin), [0, 1, 2, 3].map(p => [p, String(per)]), 'committed offsets after the restart')
  const { groups } = await admin.listGroups()
  check(groups.some(g => g.groupId === GROUP && g.protocolType === 'consumer'), `listGroups: ${JSON.stringify(groups)}`)
  const g = await describe(admin)
  checkEq([g.errorCode, g.state, g.members], [0, 'Empty', []], 'describeGroups after the restart')

  await produce(kafka, FIRST + SECOND, THIRD)
  const tally = new Tally()
  const c = new Member(kafka, 'c', tally)
  await c.start()
  await settled([c], [4], 'a member after the restart')
  await consumed(tally, THIRD, 'after the restart')
  tally.checkExactlyOnce(FIRST + SECOND, FIRST + SECOND + THIRD, 'after the restart')
  await c.stop()
  checkEq(
    await committed(admin),
    [0, 1, 2, 3].map(p => [p, String(per + THIRD / PARTITIONS)]),
    'committed offsets after the new member'
  )
  log(`after the restart: committed offsets kept, ${THIRD} new records consumed`)
}

async function body(addr) {
  const phase = process.argv[3]
  const kafka = newKafka(addr, 'js-group')
  const admin = kafka.admin()
  await admin.connect()
  try {
    if (phase === 'first') await first(kafka, admin)
    else if (phase === 'resume') await resume(kafka, admin)
    else fail(`phase must be first or resume, not ${phase}`)
  } finally {
    await admin.disconnect()
  }
}

main(body)
