#!/usr/bin/env node
'use strict';

// Benchmarks: what they measure and their targets are in the design notes on benchmarks.
//   npm run bench            every benchmark
//   npm run bench -- B1 B3   a subset
// Starts its own Kafka broker unless KAFKA_BROKERS points at one, runs each benchmark's arms side by
// side on the same broker and data, and writes bench/results/latest.{json,md} plus a dated copy.
// B1s and B4s run B1's and B4's arms over SASL_SSL beside plaintext; for them the bench also starts a
// secure broker of its own (SCRAM-SHA-512, ACLs) and connects as its admin principal.
// The outbox benchmarks (B5, B6, B8) each create a database of their own on the PostgreSQL server at
// DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) and drop it when they end.

const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

require('./register');
const { startKafka, KAFKA_VERSION } = require('../scripts/kafka/kafka.js');
const { machine, writeReport } = require('./lib/results');

const log = (message) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const BENCHMARKS = ['B0', 'B1', 'B1s', 'B2', 'B3', 'B4', 'B4s', 'B4b', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10'];
/** Benchmarks that need the secure broker. */
const SECURE_BENCHMARKS = ['B1s', 'B4s'];

function parseArgs(argv) {
  const known = BENCHMARKS;
  const ids = [];
  let reps = 3;
  for (const arg of argv) {
    const id = known.find((name) => name.toUpperCase() === arg.toUpperCase());
    if (id) ids.push(id);
    else if (/^--reps=\d+$/.test(arg)) reps = Number(arg.split('=')[1]);
    else
      throw new Error(`unknown argument "${arg}" (benchmarks: ${known.join(' ')}; option --reps=N, N ≥ 3)`);
  }
  if (reps < 3) throw new Error('--reps must be at least 3');
  return { ids: ids.length > 0 ? ids : known, reps };
}

// Between benchmarks a full collection keeps one arm's garbage from being collected during another's run.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

async function main() {
  const { ids, reps } = parseArgs(process.argv.slice(2));
  let broker;
  let secureBroker;
  const stopBroker = async () => {
    const handles = [broker, secureBroker].filter(Boolean);
    broker = undefined;
    secureBroker = undefined;
    await Promise.all(handles.map((handle) => handle.stop()));
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      log(`${signal}: stopping the broker`);
      stopBroker().finally(() => process.exit(130));
    });
  }

  const started = Date.now();
  const loadStart = os.loadavg()[0].toFixed(2);
  let kafka = `external (${process.env.KAFKA_BROKERS})`;
  if (!process.env.KAFKA_BROKERS) {
    broker = await startKafka({ port: 0 });
    process.env.KAFKA_BROKERS = broker.bootstrap;
    kafka = KAFKA_VERSION;
    log(
      `Kafka ${KAFKA_VERSION} on ${broker.bootstrap} (started in ${(broker.startupMs / 1000).toFixed(1)} s)`,
    );
  }

  let secure;
  if (ids.some((id) => SECURE_BENCHMARKS.includes(id))) {
    try {
      secureBroker = await startKafka({ port: 0, secure: true });
    } catch (error) {
      await stopBroker();
      throw error;
    }
    secure = secureConnection(secureBroker, broker !== undefined);
    kafka += `; SASL_SSL broker for ${SECURE_BENCHMARKS.join('/')} on ${secureBroker.bootstrap}`;
    log(
      `Kafka ${KAFKA_VERSION} over SASL_SSL (SCRAM-SHA-512) on ${secureBroker.bootstrap} ` +
        `(started in ${(secureBroker.startupMs / 1000).toFixed(1)} s), as ${secure.env.KAFKA_SASL_USERNAME}`,
    );
  }

  const results = {};
  try {
    // Loaded only now: the scenarios read KAFKA_BROKERS, and transpiling them warms the cache the
    // memory benchmark's child processes read from.
    const { SCENARIOS } = require('./lib/scenarios.ts');
    for (const id of ids) {
      gc();
      const t0 = Date.now();
      log(`${id} …`);
      try {
        results[id] = await SCENARIOS[id]({ log, reps, secure });
        const r = results[id];
        log(
          `${id} done in ${((Date.now() - t0) / 1000).toFixed(0)} s: ratio ${r.ratio ?? '—'} ${JSON.stringify(r.arms)}`,
        );
      } catch (error) {
        log(`${id} failed: ${error.stack}`);
        results[id] = { error: error.stack ?? String(error) };
      }
    }
  } finally {
    const external = !broker;
    await stopBroker();
    if (external) {
      // A shared broker keeps nothing of ours: the data sets alone are several hundred MB.
      const deleted = await require('./lib/seed.ts')
        .deleteCreatedTopics()
        .catch((error) => log(`could not delete the bench topics: ${error.message}`));
      if (deleted) log(`deleted ${deleted} bench topics`);
    }
  }

  const report = {
    machine: machine(),
    node: process.version,
    kafkajs: require('kafkajs/package.json').version,
    kafka,
    date: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    loadAverage: { start: Number(loadStart), end: Number(os.loadavg()[0].toFixed(2)) },
    subset: ids.length < BENCHMARKS.length ? ids : undefined,
    results,
  };
  const dir = writeReport(report);
  log(`results in ${path.relative(process.cwd(), dir)}/latest.{json,md} (${report.durationSeconds} s)`);
  if (Object.values(results).some((r) => r.error)) process.exitCode = 1;
}

/**
 * The secure broker's connection as the KAFKA_* variables a service reads: its admin principal (a super
 * user, so ACLs never stand in the way), the password as a file path so it is never printed or passed
 * on a command line.
 */
function secureConnection(handle, ownPlaintextBroker) {
  const { protocol, mechanism, caFile, principals } = handle.security;
  const admin = principals.admin;
  const note = ownPlaintextBroker
    ? 'Both brokers were started by the bench the same way (one KRaft node each, same heap, on this machine), the second with --secure; only the listener differs.'
    : `The plaintext arms used the external broker at ${process.env.KAFKA_BROKERS}, the SASL_SSL arms a broker the bench started: the two may be set up differently.`;
  return {
    env: {
      KAFKA_BROKERS: handle.bootstrap,
      KAFKA_SECURITY_PROTOCOL: protocol,
      KAFKA_SASL_MECHANISM: mechanism,
      KAFKA_SASL_USERNAME: admin.username,
      KAFKA_SASL_PASSWORD_FILE: admin.passwordFile,
      KAFKA_SSL_CA_FILE: caFile,
    },
    note,
  };
}

main().catch((error) => {
  log(error.stack ?? String(error));
  process.exit(1);
});
