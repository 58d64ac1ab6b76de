'use strict';

// What the secure local broker provisions and grants, derived from the topic table
// (libs/contracts/src/topic-table.json): the topics themselves and one set of ACLs per service.
//
// Who provisions topics: the `admin` principal, once the broker is up (see secure.js). Services get no
// CREATE permission, so a service can never create a topic by mistake (a typo, an old name); at startup
// each service finds its topics already there and only checks them.

const path = require('node:path');

const TOPIC_TABLE_FILE = path.resolve(__dirname, '..', '..', 'libs', 'contracts', 'src', 'topic-table.json');

const retryTopic = (topic) => `${topic}-retry`;
const deadLetterTopic = (topic) => `${topic}-dlq`;

function loadTopicTable(file = TOPIC_TABLE_FILE) {
  return require(file);
}

/** Every service named as a producer or consumer, in table order. */
function serviceNames(table) {
  const names = new Set();
  for (const row of Object.values(table.topics)) {
    for (const name of [...row.producers, ...row.consumers]) names.add(name);
  }
  return [...names];
}

/**
 * The topics to create: each table topic plus, when someone consumes it, its retry and dead-letter
 * topics with the same partition count (a record keeps its partition, so its key order) and retention.
 * Mirrors what the services declare (libs/contracts topicsOfService).
 */
function topicSpecs(table, replicationFactor) {
  const specs = [];
  for (const [name, row] of Object.entries(table.topics)) {
    const configs = {};
    if (row.retentionMs !== undefined) configs['retention.ms'] = String(row.retentionMs);
    // With replicas to spare, acks=all must mean "written to at least two" (as the services would set).
    if (replicationFactor >= 3) configs['min.insync.replicas'] = '2';
    const names = row.consumers.length > 0 ? [name, retryTopic(name), deadLetterTopic(name)] : [name];
    for (const topic of names) {
      specs.push({ name: topic, partitions: row.partitions, replicationFactor, configs: { ...configs } });
    }
  }
  return specs;
}

/**
 * One ALLOW binding per (principal, resource, operation). For each service:
 * - topics it produces: WRITE, DESCRIBE;
 * - topics it consumes: READ, DESCRIBE, DESCRIBE_CONFIGS (its startup compares retention with its inbox);
 * - their `-retry` topics: READ, WRITE, DESCRIBE (it re-publishes failed records and reads them back);
 *   their `-dlq` topics: WRITE, DESCRIBE;
 * - consumer groups whose id starts with the service name (PREFIXED): READ, DESCRIBE.
 * No CREATE anywhere, and nothing on the cluster: since Kafka 3.0 (KIP-679) WRITE on a topic is enough
 * for an idempotent producer's InitProducerId.
 */
function deriveAcls(table) {
  const wanted = new Map();
  const add = (service, resourceType, patternType, name, operations) => {
    for (const operation of operations) {
      const binding = {
        principal: `User:${service}`,
        host: '*',
        resourceType,
        patternType,
        name,
        operation,
        permission: 'ALLOW',
      };
      wanted.set(bindingKey(binding), binding);
    }
  };
  for (const [topic, row] of Object.entries(table.topics)) {
    for (const service of row.producers) add(service, 'TOPIC', 'LITERAL', topic, ['WRITE', 'DESCRIBE']);
    for (const service of row.consumers) {
      add(service, 'TOPIC', 'LITERAL', topic, ['READ', 'DESCRIBE', 'DESCRIBE_CONFIGS']);
      add(service, 'TOPIC', 'LITERAL', retryTopic(topic), ['READ', 'WRITE', 'DESCRIBE']);
      add(service, 'TOPIC', 'LITERAL', deadLetterTopic(topic), ['WRITE', 'DESCRIBE']);
      add(service, 'GROUP', 'PREFIXED', service, ['READ', 'DESCRIBE']);
    }
  }
  return [...wanted.values()].sort((a, b) => bindingKey(a).localeCompare(bindingKey(b)));
}

function bindingKey(b) {
  return [b.principal, b.resourceType, b.patternType, b.name, b.operation, b.permission, b.host].join('|');
}

/** The same bindings in kafkajs' createAcls/deleteAcls shape. */
function toKafkajsAcl(binding, kafkajs) {
  return {
    resourceType: kafkajs.AclResourceTypes[binding.resourceType],
    resourceName: binding.name,
    resourcePatternType: kafkajs.ResourcePatternTypes[binding.patternType],
    principal: binding.principal,
    host: binding.host,
    operation: kafkajs.AclOperationTypes[binding.operation],
    permissionType: kafkajs.AclPermissionTypes[binding.permission],
  };
}

/** kafkajs' describeAcls answer back in binding form, to compare with what is wanted. */
function fromKafkajsResources(resources, kafkajs) {
  const nameOf = (enumeration, value) => Object.keys(enumeration).find((k) => enumeration[k] === value);
  const bindings = [];
  for (const resource of resources) {
    for (const acl of resource.acls) {
      bindings.push({
        principal: acl.principal,
        host: acl.host,
        resourceType: nameOf(kafkajs.AclResourceTypes, resource.resourceType),
        patternType: nameOf(kafkajs.ResourcePatternTypes, resource.resourcePatternType),
        name: resource.resourceName,
        operation: nameOf(kafkajs.AclOperationTypes, acl.operation),
        permission: nameOf(kafkajs.AclPermissionTypes, acl.permissionType),
      });
    }
  }
  return bindings;
}

module.exports = {
  TOPIC_TABLE_FILE,
  loadTopicTable,
  serviceNames,
  topicSpecs,
  deriveAcls,
  bindingKey,
  toKafkajsAcl,
  fromKafkajsResources,
};
