'use strict';

// A producer at a steady rate, in its own process so its work never shares the event loop of the
// consumer being measured: node bench/lib/steady-producer.js '<options as JSON>'
// Each value is ~`valueBytes` of JSON carrying `sentAt`, read from CLOCK_MONOTONIC (the same clock
// in every process of the machine) right before the record is handed to the client.

const { Kafka, logLevel } = require('kafkajs');

const options = JSON.parse(process.argv[2]);
const { topic, rate, durationMs, valueBytes, partitions } = options;
const monotonicMs = () => Number(process.hrtime.bigint() / 1000n) / 1000;

function value(seq) {
  const head = JSON.stringify({ seq, type: 'bench.latency', sentAt: monotonicMs(), pad: '' });
  return `${head.slice(0, -2)}${'x'.repeat(Math.max(0, valueBytes - head.length))}"}`;
}

async function main() {
  const kafka = new Kafka({
    clientId: 'bench-steady-producer',
    brokers: process.env.KAFKA_BROKERS.split(','),
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const total = Math.round((rate * durationMs) / 1000);
  const pending = new Set();
  let sent = 0;
  let failed = 0;
  const started = performance.now();
  await new Promise((resolve) => {
    // Each tick sends what is due by now, so the average rate holds even when timers fire late.
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000));
      if (due > sent) {
        const messages = [];
        for (; sent < due; sent++) messages.push({ partition: sent % partitions, value: value(sent) });
        const send = producer
          .send({ topic, acks: -1, messages })
          .catch(() => failed++)
          .finally(() => pending.delete(send));
        pending.add(send);
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(pending);
  await producer.disconnect();
  return { sent, failed, seconds: (performance.now() - started) / 1000 };
}

main().then(
  (result) => process.send(result, () => process.exit(0)),
  (error) => process.send({ error: error.stack }, () => process.exit(1)),
);
