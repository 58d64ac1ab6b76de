'use strict';

// Secure mode of the local broker: which SCRAM users its storage is formatted with, and, once it is up,
// the topics and ACLs of the topic table applied as the admin principal.

const fs = require('node:fs');
const path = require('node:path');
const { KafkaSetupError } = require('./errors');
const { sleep } = require('./jars');
const acls = require('./acls');
const { ADMIN, ensureSecurity, kafkajsOptions, usersFingerprint } = require('./security');

const USERS_FILE = 'scram-users.json';

/** Certificates and passwords for admin, every service of the topic table and any extra principals. */
function prepareSecurity({
  securityDir,
  extraPrincipals = [],
  hosts = [],
  log,
  table = acls.loadTopicTable(),
}) {
  const principals = [ADMIN, ...acls.serviceNames(table), ...extraPrincipals];
  return ensureSecurity({ dir: securityDir, principals, hosts, log });
}

/** `kafka-storage format` arguments that put every SCRAM user into the initial metadata. */
function scramFormatArgs(security) {
  return Object.values(security.principals).flatMap((u) => [
    '--add-scram',
    `${security.mechanism}=[name=${u.username},password=${u.password}]`,
  ]);
}

/** Tool output may echo its arguments; the passwords among them are not for a terminal or a log. */
function redact(text, security) {
  if (!security) return text;
  let out = text;
  for (const u of Object.values(security.principals)) out = out.split(u.password).join('***');
  return out;
}

function sameUsers(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * SCRAM users can only be added at format time (there is no other way in without an admin password).
 * Storage formatted for other users (passwords regenerated, a service added) is re-formatted: it is
 * secure-mode development storage, made by this script. Storage without a record of its users came from
 * a plaintext run and is left alone.
 * Returns true when the caller must wipe and re-format.
 */
function storageNeedsReformat(dataDir, security, formattedCount, log = () => {}) {
  if (formattedCount === 0) return false;
  let recorded = null;
  try {
    recorded = JSON.parse(fs.readFileSync(path.join(dataDir, USERS_FILE), 'utf8'));
  } catch {
    throw new KafkaSetupError(
      `${dataDir} holds storage formatted for a plaintext broker, which has no SCRAM users; ` +
        'pass --fresh to wipe it, or use another data dir for the secure broker.',
    );
  }
  if (sameUsers(recorded, usersFingerprint(security))) return false;
  log(
    `the SCRAM users in ${dataDir} differ from ${security.dir}; formatting its storage again (topics start empty)`,
  );
  return true;
}

function recordUsers(dataDir, security) {
  fs.writeFileSync(
    path.join(dataDir, USERS_FILE),
    `${JSON.stringify(usersFingerprint(security), null, 2)}\n`,
  );
}

async function withAdmin(brokers, security, fn) {
  const { Kafka, logLevel } = require('kafkajs');
  const admin = new Kafka({
    clientId: 'kafka-core-provisioning',
    brokers,
    logLevel: logLevel.NOTHING,
    ...kafkajsOptions(security, ADMIN),
  }).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function provisionTopics(admin, specs, timeoutMs = 30000) {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((t) => !existing.has(t.name));
  if (missing.length > 0) {
    await admin
      .createTopics({
        // kafkajs' own leader wait fails on a node that has not seen the topic yet; poll below instead.
        waitForLeaders: false,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor,
          configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
        })),
      })
      .catch((err) => {
        const real = (err.errors || []).filter((e) => e.type !== 'TOPIC_ALREADY_EXISTS');
        if (!err.errors || real.length > 0) throw err;
      });
  }
  const present = specs.filter((t) => existing.has(t.name));
  if (present.length > 0) {
    const { topics } = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
    const grow = present.filter(
      (t) => topics.find((m) => m.name === t.name).partitions.length < t.partitions,
    );
    if (grow.length > 0) {
      await admin.createPartitions({
        topicPartitions: grow.map((t) => ({ topic: t.name, count: t.partitions })),
      });
    }
  }
  const names = specs.map((t) => t.name);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { topics } = await admin.fetchTopicMetadata({ topics: names }).catch(() => ({ topics: [] }));
    if (topics.length === names.length && topics.every((t) => t.partitions.every((p) => p.leader >= 0)))
      return;
    if (Date.now() > deadline)
      throw new KafkaSetupError(`Topics without a leader after ${timeoutMs} ms: ${names.join(', ')}`);
    await sleep(100);
  }
}

async function currentAcls(admin) {
  const kafkajs = require('kafkajs');
  const { resources } = await admin.describeAcls({
    resourceType: kafkajs.AclResourceTypes.ANY,
    resourcePatternType: kafkajs.ResourcePatternTypes.ANY,
    operation: kafkajs.AclOperationTypes.ANY,
    permissionType: kafkajs.AclPermissionTypes.ANY,
  });
  return acls.fromKafkajsResources(resources, kafkajs);
}

/** Makes the services' ACLs exactly the derived set: adds what is missing, removes grants no longer derived. */
async function syncAcls(admin, wanted, services) {
  const kafkajs = require('kafkajs');
  const current = await currentAcls(admin);
  const wantedKeys = new Set(wanted.map(acls.bindingKey));
  const currentKeys = new Set(current.map(acls.bindingKey));
  const ours = new Set(services.map((s) => `User:${s}`));
  const stale = current.filter((b) => ours.has(b.principal) && !wantedKeys.has(acls.bindingKey(b)));
  const missing = wanted.filter((b) => !currentKeys.has(acls.bindingKey(b)));
  if (stale.length > 0) await admin.deleteAcls({ filters: stale.map((b) => acls.toKafkajsAcl(b, kafkajs)) });
  if (missing.length > 0) await admin.createAcls({ acl: missing.map((b) => acls.toKafkajsAcl(b, kafkajs)) });
  return { added: missing.length, removed: stale.length, total: wanted.length };
}

/**
 * Resolves once what was just written is in force: the brokers apply metadata (ACLs, new partitions)
 * shortly after the controller accepts it, and a service connecting in between would be refused.
 * ListOffsets answers only from a partition's leader once it has applied the partition, and the ACLs
 * precede the topics in the metadata log.
 */
async function awaitInForce(admin, specs, wanted, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  const wantedKeys = wanted.map(acls.bindingKey);
  let lastError = '';
  for (;;) {
    try {
      for (const spec of specs) await admin.fetchTopicOffsets(spec.name);
      const present = new Set((await currentAcls(admin)).map(acls.bindingKey));
      const absent = wantedKeys.filter((k) => !present.has(k));
      if (absent.length === 0) return;
      lastError = `${absent.length} ACLs not visible yet`;
    } catch (err) {
      lastError = err.message;
    }
    if (Date.now() > deadline) {
      throw new KafkaSetupError(`Topics and ACLs were not in force after ${timeoutMs} ms (${lastError}).`);
    }
    await sleep(100);
  }
}

/**
 * Topics and ACLs of the topic table, applied as admin. Topics are provisioned here, by the admin
 * principal, because services are given no CREATE permission (see acls.js).
 */
async function provisionSecure({ brokers, security, nodes, table = acls.loadTopicTable() }) {
  const specs = acls.topicSpecs(table, Math.min(3, nodes));
  const wanted = acls.deriveAcls(table);
  return withAdmin(brokers, security, async (admin) => {
    // ACLs first: a broker that has applied a new topic has then applied the grants too.
    const result = await syncAcls(admin, wanted, acls.serviceNames(table));
    await provisionTopics(admin, specs);
    await awaitInForce(admin, specs, wanted);
    return { topics: specs.length, ...result };
  });
}

module.exports = {
  prepareSecurity,
  scramFormatArgs,
  redact,
  storageNeedsReformat,
  recordUsers,
  provisionSecure,
};
