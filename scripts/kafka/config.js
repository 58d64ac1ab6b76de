'use strict';

// What each Kafka node is given: ports, cluster id, server.properties, log4j config and JVM flags.

const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { KafkaSetupError } = require('./errors');

const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------------------
// Ports

function listenOn(port) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host: HOST, exclusive: true }, () => resolve(server));
  });
}

/** Asks the kernel for `count` distinct free ports by holding that many listeners open at once. */
async function findFreePorts(count) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listenOn(0));
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

async function isPortFree(port) {
  try {
    const server = await listenOn(port);
    await new Promise((resolve) => server.close(resolve));
    return true;
  } catch (err) {
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES') return false;
    throw err;
  }
}

/** Broker ports (given, or free ones for port 0) plus free controller ports, checked before touching disk. */
async function choosePorts(port, count) {
  let brokerPorts = Array.from({ length: count }, (_, i) => port + i);
  let controllerPorts;
  if (port === 0) {
    const free = await findFreePorts(2 * count);
    brokerPorts = free.slice(0, count);
    controllerPorts = free.slice(count);
  } else {
    for (const p of brokerPorts) {
      if (!(await isPortFree(p))) {
        throw new KafkaSetupError(
          `Port ${p} is already in use: another Kafka (or something else) is listening there. ` +
            'Stop it, choose another port (KAFKA_PORT=...), or point KAFKA_BROKERS at it to reuse it.',
        );
      }
    }
    controllerPorts = (await findFreePorts(2 * count))
      .filter((p) => !brokerPorts.includes(p))
      .slice(0, count);
  }

  return { brokerPorts, controllerPorts };
}

// ---------------------------------------------------------------------------------------------------------
// Files: cluster id, server.properties, log4j

/** Same shape as Kafka's Uuid.randomUuid(): 16 random bytes, base64url without padding (22 chars). */
function newClusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    // Kafka's own generator also skips ids starting with '-': they look like an option to its CLI tools.
    if (!id.startsWith('-')) return id;
  }
}

function readClusterId(dataDir) {
  const meta = path.join(dataDir, 'meta.properties');
  if (!fs.existsSync(meta)) return null;
  const m = fs.readFileSync(meta, 'utf8').match(/^cluster\.id=(.+)$/m);
  return m ? m[1].trim() : null;
}

/**
 * Secure mode: one SASL_SSL listener (SCRAM-SHA-512) for clients and for the nodes among themselves (as
 * the admin user), a controller listener that only takes the brokers' own certificate (mutual TLS), and
 * the standard authorizer denying whatever no ACL allows. No listener accepts an unauthenticated client.
 */
function secureProperties(node, security) {
  const admin = security.principals.admin;
  return {
    listeners: `SASL_SSL://${HOST}:${node.port},CONTROLLER://${HOST}:${node.controllerPort}`,
    'advertised.listeners': `SASL_SSL://${HOST}:${node.port}`,
    'inter.broker.listener.name': 'SASL_SSL',
    'listener.security.protocol.map': 'SASL_SSL:SASL_SSL,CONTROLLER:SSL',
    'sasl.enabled.mechanisms': security.mechanism,
    'sasl.mechanism.inter.broker.protocol': security.mechanism,
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config':
      'org.apache.kafka.common.security.scram.ScramLoginModule required ' +
      `username="${admin.username}" password="${admin.password}";`,
    'listener.name.controller.ssl.client.auth': 'required',
    'ssl.keystore.type': 'PKCS12',
    'ssl.keystore.location': security.files.keystore,
    'ssl.keystore.password': security.keystorePassword,
    'ssl.key.password': security.keystorePassword,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': security.caFile,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found': false,
    'super.users': [`User:${admin.username}`, security.brokerPrincipal].join(';'),
    // Topics come from the admin's provisioning; a misspelt name must fail, not appear.
    'auto.create.topics.enable': false,
    ...(security.oauth ? oauthProperties(security) : {}),
  };
}

/**
 * OAUTHBEARER beside SCRAM on the same listener, validated as Kafka's OIDC support does: the token's
 * signature against the issuer's JWKS, its expiry, and its audience; the principal is its `sub`.
 */
function oauthProperties(security) {
  const { jwksUrl, audience } = security.oauth;
  const prefix = 'listener.name.sasl_ssl.oauthbearer.';
  return {
    'sasl.enabled.mechanisms': `${security.mechanism},OAUTHBEARER`,
    [`${prefix}sasl.server.callback.handler.class`]:
      'org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler',
    [`${prefix}sasl.jaas.config`]:
      'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
    'sasl.oauthbearer.jwks.endpoint.url': jwksUrl,
    ...(audience ? { 'sasl.oauthbearer.expected.audience': audience } : {}),
  };
}

function serverProperties(node, all, security = null) {
  const n = all.length;
  const props = {
    'process.roles': 'broker,controller',
    'node.id': node.id,
    // A static voter set: StorageTool can format without --standalone/--initial-controllers, and the
    // controller ports may change between runs because they come from the config, not the metadata log.
    'controller.quorum.voters': all.map((x) => `${x.id}@${HOST}:${x.controllerPort}`).join(','),
    listeners: `PLAINTEXT://${HOST}:${node.port},CONTROLLER://${HOST}:${node.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${node.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': node.dataDir,
    'num.partitions': 1,
    // Internal topics cannot be created until this many brokers exist, so it must not exceed the node count.
    'offsets.topic.replication.factor': Math.min(3, n),
    // 10 instead of 50 partitions: the first consumer group's coordinator lookup creates them all.
    'offsets.topic.num.partitions': 10,
    'transaction.state.log.replication.factor': Math.min(3, n),
    'transaction.state.log.min.isr': n >= 3 ? 2 : 1,
    // The default 3 s delay only helps large groups settle; tests would just wait for it.
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': true,
    'delete.topic.enable': true,
    // Fence a dead node after 4 s instead of 9 s: fencing is what drops it from every ISR and moves
    // leadership, so killNode() failover tests finish within a producer's default retry budget.
    'broker.heartbeat.interval.ms': 1000,
    'broker.session.timeout.ms': 4000,
    ...(security ? secureProperties(node, security) : {}),
  };
  const body = Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  return `# Generated by scripts/kafka/kafka.js on every start; edits are overwritten.\n${body}\n`;
}

// reload4j syntax; ${kafka.logs.dir} is a system property set per node, as in Kafka's own log4j.properties.
const LOG4J = `# Generated by scripts/kafka/kafka.js. Each node logs to <kafka.logs.dir>/server.log, nothing to the console.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=\${kafka.logs.dir}/server.log
log4j.appender.file.MaxFileSize=5MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.controller=WARN
log4j.logger.kafka.log=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
`;

/** Close to Kafka's kafka-server-start.sh defaults (G1, 20 ms pause goal), with a small starting heap. */
function jvmArgs({ heapMb, log4jFile, nodeLogDir }) {
  return [
    `-Xms${Math.min(128, heapMb)}m`,
    `-Xmx${heapMb}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Xshare:auto',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${log4jFile}`,
    `-Dkafka.logs.dir=${nodeLogDir}`,
  ];
}

module.exports = { HOST, choosePorts, newClusterId, readClusterId, serverProperties, LOG4J, jvmArgs };
