// A transactional kafkajs producer against a broker without transactions: producer.transaction()
// must fail at once (the broker answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED), not retry
// a coordinator lookup that can never succeed; an idempotent producer still works.
//
// Usage: node kafkajs_transactional.js HOST:PORT

'use strict'

const { check, checkEq, log, main, newKafka } = require('./helpers')

main(async addr => {
  const kafka = newKafka(addr, 'kafkajs-txn')
  const producer = kafka.producer({ transactionalId: 'strom-txn-js', idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const started = Date.now()
  let error
  try {
    await producer.transaction()
  } catch (e) {
    error = e
  }
  const took = Date.now() - started
  check(error, 'producer.transaction() succeeded on a broker without transactions')
  log(`transaction() failed after ${took} ms: ${error.name}: ${error.message}`)
  // kafkajs tries each broker for the coordinator; a non-retriable answer from every one ends
  // the lookup at once with its own KafkaJSGroupCoordinatorNotFound (the broker's code and
  // message do not survive). COORDINATOR_NOT_AVAILABLE would be retried with backoff instead.
  checkEq(error.name, 'KafkaJSGroupCoordinatorNotFound', 'error')
  check(took < 1500, `failed fast, not after retries: ${took} ms`)
  await producer.disconnect()

  const plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await plain.connect()
  const [res] = await plain.send({ topic: 'txn-fallback', messages: [{ value: 'v' }] })
  checkEq(res.errorCode, 0, 'an idempotent producer still works')
  await plain.disconnect()
})
