// Shared bits of the kafkajs scripts (run by tests/compat_kafkajs.rs).
//
// Every script takes the bootstrap address as argv[2], prints what it checks, and exits
// non-zero with a message on the first failure. Every wait is bounded in count and in time,
// and the whole script is bounded by SCRIPT_TIMEOUT_MS.

'use strict'

const path = require('path')
const util = require('util')

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

let kafkajs
try {
  kafkajs = require('kafkajs')
} catch (e) {
  process.stderr.write(
    `kafkajs is not installed (${e.message}): run \`npm ci\` in tests/js (or \`bash .ci/run\`)\n`
  )
  process.exit(2)
}

const SCRIPT = path.basename(process.argv[1])
const SCRIPT_TIMEOUT_MS = 150000

class Failure extends Error {}

function fail(message) {
  throw new Failure(message)
}

function check(condition, message) {
  if (!condition) fail(message)
}

function show(v) {
  return util.inspect(v, { depth: 6, maxArrayLength: 20, breakLength: Infinity })
}

function checkEq(got, expected, what) {
  if (!util.isDeepStrictEqual(got, expected)) {
    fail(`${what}: got ${show(got)}, expected ${show(expected)}`)
  }
}

function log(message) {
  console.log(`${SCRIPT}: ${message}`)
}

// A `KEY value` line for the Rust side of the test (common/scripts.rs `reported`).
function report(key, value) {
  console.log(`${key} ${value}`)
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// Awaits predicate() until it returns a truthy value, at most timeoutMs; returns that value.
async function waitFor(predicate, timeoutMs, what, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs
  let last
  for (let tries = 0; tries < timeoutMs / intervalMs + 10; tries++) {
    last = await predicate()
    if (last) return last
    if (Date.now() >= deadline) break
    await sleep(intervalMs)
  }
  fail(`${what}: not true within ${timeoutMs} ms (last value ${show(last)})`)
}

function bootstrap() {
  const addr = process.argv[2]
  if (!addr || !addr.includes(':')) {
    process.stderr.write(`usage: node ${SCRIPT} HOST:PORT [ARGS...]\n`)
    process.exit(2)
  }
  return addr
}

// kafkajs logs WARN and above to stderr, as JSON lines, so a failure shows what it saw.
function newKafka(addr, clientId) {
  return new kafkajs.Kafka({
    clientId,
    brokers: [addr],
    logLevel: kafkajs.logLevel.WARN,
    connectionTimeout: 5000,
    requestTimeout: 30000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
  })
}

// Runs body(addr); a failure or exception exits 1 with the reason on stderr.
function main(body) {
  const addr = bootstrap()
  const timer = setTimeout(() => {
    process.stderr.write(`${SCRIPT}: FAIL: did not finish within ${SCRIPT_TIMEOUT_MS} ms\n`)
    process.exit(1)
  }, SCRIPT_TIMEOUT_MS)
  body(addr)
    .then(() => {
      clearTimeout(timer)
      log('OK')
      process.exit(0)
    })
    .catch(e => {
      if (e instanceof Failure) {
        process.stderr.write(`${SCRIPT}: FAIL: ${e.message}\n`)
      } else {
        process.stderr.write(`${SCRIPT}: FAIL with an exception:\n${e && e.stack ? e.stack : show(e)}\n`)
        if (e && e.cause) process.stderr.write(`caused by: ${show(e.cause)}\n`)
      }
      process.exit(1)
    })
}

module.exports = { kafkajs, fail, check, checkEq, log, report, sleep, waitFor, newKafka, main, show }
