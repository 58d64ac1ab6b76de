'use strict';

module.exports = async function globalTeardown() {
  const kafka = globalThis.__KAFKA_CORE_TEST_BROKER__;
  if (kafka) await kafka.stop();
};
