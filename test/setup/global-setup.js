// Starts one real Kafka broker for the whole run (unless KAFKA_BROKERS points at one) and checks
// that PostgreSQL answers, so a missing piece fails in one clear line instead of in every suite.
'use strict';
const { Client } = require('pg');
const { startKafka, KafkaSetupError } = require('../../scripts/kafka/kafka');

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

async function checkPostgres() {
  const url = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable (${error.message}). Start it with ` +
        '"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start" or set DATABASE_URL.',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

module.exports = async function globalSetup() {
  await checkPostgres();
  if (process.env.KAFKA_BROKERS) {
    console.log(`\nUsing the Kafka cluster at ${process.env.KAFKA_BROKERS}`);
    return;
  }
  try {
    const kafka = await startKafka({ port: 0 });
    globalThis.__KAFKA_CORE_TEST_BROKER__ = kafka;
    // Jest workers start after this and inherit the environment.
    process.env.KAFKA_BROKERS = kafka.bootstrap;
    console.log(
      `\nKafka ${kafka.bootstrap} ready in ${(kafka.startupMs / 1000).toFixed(1)} s (logs: ${kafka.logDir})`,
    );
  } catch (error) {
    if (error instanceof KafkaSetupError) throw new Error(`Cannot start the test broker: ${error.message}`);
    throw error;
  }
};
