// kafkajs' admin client against the bundled broker, every call it has for topics, configs,
// records, offsets and groups:
// createTopics (configs; validateOnly creates nothing; an existing name resolves false; a
// refused config and zero partitions throw with their Kafka error types), listTopics,
// fetchTopicMetadata, describeCluster, createPartitions (grow; shrinking throws
// INVALID_PARTITIONS), describeConfigs (topic overrides and defaults with their sources, a
// filtered request, the broker's own) and alterConfigs (replaces the overrides; a bad value
// throws INVALID_CONFIG), fetchTopicOffsets, fetchTopicOffsetsByTimestamp, deleteTopicRecords
// (an offset, and -1 for "to the end"; beyond the end throws OFFSET_OUT_OF_RANGE), and on a
// group: listGroups, describeGroups (members, assignment), fetchOffsets, setOffsets and
// resetOffsets (refused while the group runs, applied once it is empty, and read back by a
// member that resumes from them), deleteGroups (refused while not empty), deleteTopics.
//
// Usage: node kafkajs_admin.js HOST:PORT

'use strict'

const { kafkajs, check, checkEq, fail, log, main, newKafka, sleep, waitFor } = require('./helpers')

const { ConfigResourceTypes, ConfigSource } = kafkajs
const TOPIC = 'js-admin'
const OTHER = 'js-admin-other'
const GROUP = 'js-admin-g'
const BASE_TS = 1700000000000

// The Kafka error types inside a kafkajs error: it wraps them in aggregate errors (`errors`),
// per-partition and per-group errors (`partitions[].error`, `groups[].error`) and retry
// wrappers (`cause`).
function typesOf(e) {
  if (e.errors) return e.errors.flatMap(typesOf)
  if (e.partitions) return e.partitions.flatMap(p => typesOf(p.error))
  if (e.groups) return e.groups.flatMap(g => typesOf(g.error))
  if (e.type) return [e.type]
  if (e.cause) return typesOf(e.cause)
  return [e.name]
}

// Awaits f() expecting it to throw; returns the Kafka error types it carried.
async function errorTypes(f, what) {
  try {
    await f()
  } catch (e) {
    return typesOf(e)
  }
  fail(`${what}: succeeded`)
}

async function topicConfigs(admin, name, configNames) {
  const { resources } = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames }],
    includeSynonyms: false,
  })
  checkEq(resources.map(r => [r.errorCode, r.resourceName]), [[0, name]], `describeConfigs of ${name}`)
  const out = {}
  for (const e of resources[0].configEntries) out[e.configName] = [e.configValue, e.configSource]
  return out
}

async function topics(addr, admin) {
  checkEq(
    // waitForLeaders would ask Metadata for the topic that validateOnly did not create (and fail
    // with UNKNOWN_TOPIC_OR_PARTITION, on Kafka too).
    await admin.createTopics({ topics: [{ topic: 'js-admin-dry', numPartitions: 2 }], validateOnly: true, waitForLeaders: false }),
    true,
    'validateOnly createTopics'
  )
  check(!(await admin.listTopics()).includes('js-admin-dry'), 'validateOnly created the topic')
  checkEq(
    await admin.createTopics({
      topics: [
        { topic: TOPIC, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
        { topic: OTHER },
      ],
    }),
    true,
    'createTopics'
  )
  checkEq(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] }), false, 'createTopics of an existing topic')
  checkEq(
    await errorTypes(
      () =>
        admin.createTopics({
          topics: [{ topic: 'js-admin-compact', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
        }),
      'a compacted topic'
    ),
    ['INVALID_CONFIG'],
    'createTopics with cleanup.policy=compact'
  )
  checkEq(
    await errorTypes(() => admin.createTopics({ topics: [{ topic: 'js-admin-zero', numPartitions: 0 }] }), 'zero partitions'),
    ['INVALID_PARTITIONS'],
    'createTopics with zero partitions'
  )
  const listed = await admin.listTopics()
  check(listed.includes(TOPIC) && listed.includes(OTHER), `listTopics: ${listed}`)
  check(!listed.includes('js-admin-compact') && !listed.includes('js-admin-zero'), `refused topics listed: ${listed}`)

  const { topics: md } = await admin.fetchTopicMetadata({ topics: [TOPIC] })
  checkEq(md.map(t => t.name), [TOPIC], 'fetchTopicMetadata topics')
  checkEq(
    md[0].partitions.map(p => [p.partitionId, p.partitionErrorCode, p.leader, p.replicas, p.isr]).sort((a, b) => a[0] - b[0]),
    [0, 1, 2].map(p => [p, 0, 1, [1], [1]]),
    'fetchTopicMetadata partitions'
  )

  const cluster = await admin.describeCluster()
  const [host, port] = addr.split(':')
  checkEq(cluster.brokers, [{ nodeId: 1, host, port: Number(port) }], 'describeCluster brokers')
  checkEq(cluster.controller, 1, 'describeCluster controller')
  check(typeof cluster.clusterId === 'string' && cluster.clusterId.length > 0, 'describeCluster cluster id')

  await admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 5 }] })
  const { topics: grown } = await admin.fetchTopicMetadata({ topics: [TOPIC] })
  checkEq(grown[0].partitions.length, 5, 'partitions after createPartitions')
  checkEq(
    await errorTypes(() => admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 2 }] }), 'shrinking'),
    ['INVALID_PARTITIONS'],
    'createPartitions to fewer partitions'
  )
  log('topics created, refused, listed, described and grown')
}

async function configs(admin) {
  const { TOPIC_CONFIG, DEFAULT_CONFIG } = ConfigSource
  let got = await topicConfigs(admin, TOPIC)
  checkEq(got['retention.ms'], ['3600000', TOPIC_CONFIG], 'retention.ms override')
  checkEq(got['retention.bytes'], ['-1', DEFAULT_CONFIG], 'retention.bytes default')
  checkEq(got['cleanup.policy'], ['delete', DEFAULT_CONFIG], 'cleanup.policy default')
  checkEq(await topicConfigs(admin, TOPIC, ['retention.ms']), { 'retention.ms': ['3600000', TOPIC_CONFIG] }, 'filtered')

  const { resources } = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.BROKER, name: '1' }],
    includeSynonyms: false,
  })
  checkEq(resources[0].errorCode, 0, 'describeConfigs of broker 1')
  const broker = Object.fromEntries(resources[0].configEntries.map(e => [e.configName, e.configValue]))
  checkEq(broker['log.retention.ms'], '604800000', 'broker log.retention.ms')

  const altered = await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'segment.ms', value: '3600000' }] }],
  })
  checkEq(altered.resources.map(r => [r.errorCode, r.resourceName]), [[0, TOPIC]], 'alterConfigs')
  got = await topicConfigs(admin, TOPIC)
  checkEq(got['segment.ms'], ['3600000', TOPIC_CONFIG], 'segment.ms after alterConfigs')
  checkEq(got['retention.ms'], ['604800000', DEFAULT_CONFIG], 'retention.ms after alterConfigs (replaced)')
  checkEq(
    await errorTypes(
      () =>
        admin.alterConfigs({
          resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'retention.ms', value: 'x' }] }],
        }),
      'a bad value'
    ),
    ['INVALID_CONFIG'],
    'alterConfigs with a bad value'
  )
  checkEq((await topicConfigs(admin, TOPIC))['segment.ms'][0], '3600000', 'segment.ms kept')
  log('configs described, filtered and altered')
}

async function offsetsAndRecords(kafka, admin) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: 20 }, (_, i) => ({ value: `r${i}`, partition: 4, timestamp: String(BASE_TS + 1000 * i) })),
    })
  } finally {
    await producer.disconnect()
  }
  const byPartition = list => Object.fromEntries(list.map(o => [o.partition, o]))
  let offsets = byPartition(await admin.fetchTopicOffsets(TOPIC))
  checkEq([offsets[4].low, offsets[4].high, offsets[4].offset], ['0', '20', '20'], 'fetchTopicOffsets of partition 4')
  checkEq([offsets[0].low, offsets[0].high], ['0', '0'], 'fetchTopicOffsets of partition 0')

  const at = byPartition(await admin.fetchTopicOffsetsByTimestamp(TOPIC, BASE_TS + 4500))
  checkEq(at[4].offset, '5', 'fetchTopicOffsetsByTimestamp between records 4 and 5')
  // No record at or after the time: kafkajs falls back to the high watermark.
  const late = byPartition(await admin.fetchTopicOffsetsByTimestamp(TOPIC, BASE_TS + 99999))
  checkEq(late[4].offset, '20', 'fetchTopicOffsetsByTimestamp past the last record')

  await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 4, offset: '6' }] })
  offsets = byPartition(await admin.fetchTopicOffsets(TOPIC))
  checkEq([offsets[4].low, offsets[4].high], ['6', '20'], 'offsets after deleteTopicRecords')
  checkEq(
    await errorTypes(
      () => admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 4, offset: '21' }] }),
      'deleting past the end'
    ),
    ['OFFSET_OUT_OF_RANGE'],
    'deleteTopicRecords past the end'
  )
  await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 4, offset: '-1' }] })
  offsets = byPartition(await admin.fetchTopicOffsets(TOPIC))
  checkEq([offsets[4].low, offsets[4].high], ['20', '20'], 'offsets after deleteTopicRecords to the end')
  log('offsets listed, records deleted')
}

async function groups(kafka, admin) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: 60 }, (_, i) => ({ value: `g${i}`, partition: i % 3 })),
    })
  } finally {
    await producer.disconnect()
  }

  const values = []
  const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
  await consumer.run({ eachMessage: async ({ message }) => values.push(message.value.toString()) })
  await waitFor(() => values.length >= 60, 60000, `60 records consumed (have ${values.length})`)

  const { groups: listed } = await admin.listGroups()
  check(listed.some(g => g.groupId === GROUP && g.protocolType === 'consumer'), `listGroups: ${JSON.stringify(listed)}`)
  let { groups: described } = await admin.describeGroups([GROUP])
  checkEq([described[0].state, described[0].members.length], ['Stable', 1], 'describeGroups while consuming')
  checkEq(
    await errorTypes(
      () => admin.setOffsets({ groupId: GROUP, topic: TOPIC, partitions: [{ partition: 0, offset: '3' }] }),
      'setOffsets on a running group'
    ),
    ['KafkaJSNonRetriableError'],
    'setOffsets while the group runs'
  )
  checkEq(
    await errorTypes(() => admin.deleteGroups([GROUP]), 'deleting a running group'),
    ['NON_EMPTY_GROUP'],
    'deleteGroups while the group runs'
  )
  await waitFor(
    async () => {
      const [t] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })
      return t.partitions.filter(p => p.partition < 3).every(p => p.offset === '20')
    },
    30000,
    'offsets committed'
  )
  await consumer.disconnect()
  ;({ groups: described } = await admin.describeGroups([GROUP]))
  checkEq([described[0].state, described[0].members], ['Empty', []], 'describeGroups after the member left')

  const committed = async () => {
    const [t] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })
    return Object.fromEntries(t.partitions.map(p => [p.partition, p.offset]))
  }
  // Partitions 3 (empty) and 4 (all records deleted) had nothing to consume: nothing committed.
  checkEq(await committed(), { 0: '20', 1: '20', 2: '20', 3: '-1', 4: '-1' }, 'fetchOffsets')
  checkEq(
    (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC], resolveOffsets: false }))[0].topic,
    TOPIC,
    'fetchOffsets topic'
  )

  await admin.setOffsets({ groupId: GROUP, topic: TOPIC, partitions: [{ partition: 0, offset: '3' }] })
  checkEq((await committed())[0], '3', 'offset after setOffsets')
  await admin.resetOffsets({ groupId: GROUP, topic: TOPIC, earliest: true })
  const reset = await committed()
  checkEq([reset[0], reset[1], reset[2]], ['-2', '-2', '-2'], 'offsets after resetOffsets(earliest)')
  // resolveOffsets turns the "earliest" marker into real offsets (and commits them).
  const [resolved] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC], resolveOffsets: true })
  checkEq(
    Object.fromEntries(resolved.partitions.map(p => [p.partition, p.offset])),
    { 0: '0', 1: '0', 2: '0', 3: '0', 4: '20' },
    'fetchOffsets with resolveOffsets after resetOffsets'
  )

  // A member of the group now starts at offset 0 again on partitions 0-2.
  const again = []
  const c2 = kafka.consumer({ groupId: GROUP, sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 100 })
  await c2.connect()
  try {
    await c2.subscribe({ topic: TOPIC, fromBeginning: false })
    await c2.run({ eachMessage: async ({ message }) => again.push(message.value.toString()) })
    await waitFor(() => again.length >= 60, 60000, `re-read after resetOffsets (have ${again.length})`)
    await sleep(300)
  } finally {
    await c2.disconnect()
  }
  checkEq(again.slice().sort(), values.slice().sort(), 'records re-read after resetOffsets')

  checkEq(await admin.deleteGroups([GROUP]), [{ groupId: GROUP, errorCode: 0 }], 'deleteGroups')
  const { groups: after } = await admin.listGroups()
  check(!after.some(g => g.groupId === GROUP), `deleted group still listed: ${JSON.stringify(after)}`)
  checkEq(await committed(), { 0: '-1', 1: '-1', 2: '-1', 3: '-1', 4: '-1' }, 'fetchOffsets of the deleted group')
  log('group listed, described, offsets fetched, set, reset and resumed from; group deleted')
}

async function deletion(kafka, admin) {
  await admin.deleteTopics({ topics: [OTHER] })
  const listed = await admin.listTopics()
  check(!listed.includes(OTHER) && listed.includes(TOPIC), `listTopics after deleteTopics: ${listed}`)
  // kafkajs retries UNKNOWN_TOPIC_OR_PARTITION (metadata may lag on a cluster): once is enough.
  const impatient = kafka.admin({ retry: { retries: 1, initialRetryTime: 50 } })
  await impatient.connect()
  try {
    checkEq(
      await errorTypes(() => impatient.deleteTopics({ topics: ['js-admin-missing'], timeout: 2000 }), 'deleting a missing topic'),
      ['UNKNOWN_TOPIC_OR_PARTITION'],
      'deleteTopics of a missing topic'
    )
  } finally {
    await impatient.disconnect()
  }
  log('topic deleted')
}

async function body(addr) {
  const kafka = newKafka(addr, 'js-admin')
  const admin = kafka.admin()
  await admin.connect()
  try {
    await topics(addr, admin)
    await configs(admin)
    await offsetsAndRecords(kafka, admin)
    await groups(kafka, admin)
    await deletion(kafka, admin)
  } finally {
    await admin.disconnect()
  }
}

main(body)
