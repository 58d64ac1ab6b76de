#!/usr/bin/env node
'use strict';

// A real Apache Kafka broker (KRaft, no ZooKeeper, no Docker) run from Kafka's jars on Maven Central.
// Library: require('./scripts/kafka/kafka.js').startKafka(...). CLI: node scripts/kafka/kafka.js help

const path = require('node:path');
const { KafkaSetupError } = require('./errors');
const { KAFKA_VERSION, ensureKafkaJars, toolsClasspath } = require('./jars');
const { startKafka, waitForBrokers, stopDataDir, readState, liveBrokers, HOST } = require('./broker');
const { prepareSecurity } = require('./secure');
const { kafkajsOptions, writeKcatConfs, publicView } = require('./security');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const SELF = 'node scripts/kafka/kafka.js';

const USAGE = `Usage: ${SELF} <command> [options]

Commands:
  start [--port N] [--nodes N] [--data-dir D] [--fresh] [--heap-mb N] [--detach] [--secure]
                       Run Kafka ${KAFKA_VERSION} in the foreground until Ctrl-C (or, with --detach, in the
                       background). --port 0 picks free ports; node i listens on port+i.
                       --secure: SASL_SSL with SCRAM-SHA-512 only, ACLs from the topic table, topics made
                       by the admin user; a kcat configuration per user in the security dir.
  stop [--data-dir D] [--secure]
                       Stop a broker started with --detach.
  status [--data-dir D] [--port N] [--secure]
                       Report whether the broker answers.
  security [--dir D] [--hosts h1,h2] [--bootstrap host:port]
                       Only make (or refresh) the CA, the broker certificate (for localhost, 127.0.0.1,
                       kafka and --hosts), a password and a kcat configuration per user.
  fetch [broker|tools|all]
                       Download Kafka's jars with Maven (first time only) and print their directory.
  classpath [tools|broker]
                       Print a java classpath, e.g. for kafka.tools.ProducerPerformance.

Environment: KAFKA_PORT (default 9092), KAFKA_DATA_DIR (default <repo>/.data/kafka, or
<repo>/.data/kafka-secure when secure; kept between runs), KAFKA_SECURITY=sasl_ssl (same as --secure),
KAFKA_SECURITY_DIR (default <repo>/.data/kafka/security), KAFKA_CORE_CACHE (jar cache, default
~/.cache/kafka-core).
`;

class UsageError extends Error {}

function parseArgs(argv) {
  const flags = { fresh: false, detach: false, secure: false };
  const positional = [];
  const valueFlags = {
    '--port': 'port',
    '--nodes': 'nodes',
    '--data-dir': 'dataDir',
    '--heap-mb': 'heapMb',
    '--dir': 'securityDir',
    '--security-dir': 'securityDir',
    '--hosts': 'hosts',
    '--bootstrap': 'bootstrap',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith('--') ? arg.split(/=(.*)/s) : [arg];
    if (valueFlags[name]) {
      const value = inline !== undefined ? inline : argv[++i];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      flags[valueFlags[name]] = value;
    } else if (name === '--fresh' || name === '--detach' || name === '--secure') {
      flags[name.slice(2)] = true;
    } else if (name === '-h' || name === '--help') {
      positional.unshift('help');
    } else if (name.startsWith('-')) {
      throw new UsageError(`unknown option ${name}`);
    } else {
      positional.push(arg);
    }
  }
  return { flags, positional };
}

function intFlag(value, name) {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(String(value)))
    throw new UsageError(`${name} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

const progress = (msg) => process.stderr.write(`kafka: ${msg}\n`);

/** --secure, or KAFKA_SECURITY=sasl_ssl; any other KAFKA_SECURITY value is a mistake worth stopping for. */
function secureRequested(flags) {
  const env = (process.env.KAFKA_SECURITY || '').trim();
  if (env && env.toLowerCase() !== 'sasl_ssl') {
    throw new UsageError(`KAFKA_SECURITY must be sasl_ssl (or unset for a plaintext broker), got "${env}"`);
  }
  return flags.secure || env !== '';
}

// Secure storage is kept apart from plaintext storage: its SCRAM users only go in when it is formatted.
function dataDirOf(flags, secure = secureRequested(flags)) {
  const fallback = path.join(REPO_ROOT, '.data', secure ? 'kafka-secure' : 'kafka');
  return path.resolve(flags.dataDir || process.env.KAFKA_DATA_DIR || fallback);
}

function securityDirOf(flags) {
  return path.resolve(
    flags.securityDir || process.env.KAFKA_SECURITY_DIR || path.join(REPO_ROOT, '.data', 'kafka', 'security'),
  );
}

function hostsOf(flags) {
  return flags.hosts
    ? String(flags.hosts)
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean)
    : [];
}

function printKcatHelp(security, write = (line) => process.stdout.write(`${line}\n`)) {
  write(`kcat configurations (one per user, passwords inside, mode 0600) in ${security.dir}:`);
  for (const [name, user] of Object.entries(security.principals))
    write(`  ${name.padEnd(22)} ${user.kcatConf}`);
  const example = security.principals.admin?.kcatConf;
  if (example) write(`e.g. kcat -F ${example} -L`);
}

async function cmdStart(flags) {
  const isSecure = secureRequested(flags);
  const opts = {
    port: intFlag(flags.port ?? process.env.KAFKA_PORT ?? 9092, 'port'),
    nodes: intFlag(flags.nodes ?? 1, '--nodes'),
    heapMb: intFlag(flags.heapMb ?? 512, '--heap-mb'),
    dataDir: dataDirOf(flags),
    fresh: flags.fresh,
    detached: flags.detach,
    log: progress,
    ...(isSecure ? { secure: true, securityDir: securityDirOf(flags), hosts: hostsOf(flags) } : {}),
  };
  let handle = null;
  let exiting = false;
  const shutdown = (code) => {
    if (exiting) return;
    exiting = true;
    // Not yet ready: exiting runs the exit hook, which kills the JVMs this process started.
    if (!handle) {
      progress('interrupted before Kafka was ready; stopped it');
      process.exit(code || 1);
    }
    handle.stop().then(
      () => process.exit(code),
      () => process.exit(1),
    );
  };
  if (!opts.detached) {
    // A second Ctrl-C while stopping skips Kafka's controlled shutdown.
    const onSignal = () => (exiting ? process.exit(130) : shutdown(0));
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    opts.onNodeExit = (node, code, sig) => {
      if (exiting) return;
      progress(`node ${node.id} stopped unexpectedly (${sig || `exit code ${code}`}); see ${node.logFile}`);
      shutdown(1);
    };
  }
  handle = await startKafka(opts);
  const n = handle.nodes.length;
  const secs = (handle.startupMs / 1000).toFixed(1);
  process.stdout.write(
    `Kafka ${KAFKA_VERSION} ready on ${handle.bootstrap}${handle.security ? ' (SASL_SSL, SCRAM-SHA-512)' : ''} ` +
      `(${n} node${n === 1 ? '' : 's'}, ${secs} s); logs: ${handle.logDir}\n`,
  );
  if (handle.security) printKcatHelp(handle.security);
  if (opts.detached) process.exit(0);
  setInterval(() => {}, 1 << 30); // The JVMs are unref'd; stay up until a signal arrives.
}

async function cmdStop(flags) {
  const dataDir = dataDirOf(flags);
  const pids = await stopDataDir(dataDir);
  console.log(
    pids.length
      ? `Stopped Kafka (pid ${pids.join(', ')}) in ${dataDir}`
      : `No Kafka is running from ${dataDir}`,
  );
}

async function cmdStatus(flags) {
  const dataDir = dataDirOf(flags);
  const state = readState(dataDir);
  const port = intFlag(flags.port ?? process.env.KAFKA_PORT ?? 9092, 'port');
  const brokers = !flags.port && state ? state.brokers : [`${HOST}:${port}`];
  const pids = liveBrokers(dataDir).map((n) => n.pid);
  let client;
  if (secureRequested(flags) || state?.secure) {
    const dir = state?.securityDir || securityDirOf(flags);
    client = kafkajsOptions(prepareSecurity({ securityDir: dir }));
  }
  try {
    const cluster = await waitForBrokers(brokers, { timeoutMs: 3000, expectNodes: 1, client });
    const who = pids.length ? `, pid ${pids.join(', ')}` : '';
    console.log(
      `Kafka is running on ${brokers.join(',')} (cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s)${who})`,
    );
  } catch (err) {
    if (!(err instanceof KafkaSetupError)) throw err;
    const hint = pids.length
      ? ` (pid ${pids.join(', ')} from ${dataDir} is running but not answering yet)`
      : '';
    console.log(`Kafka is not answering on ${brokers.join(',')}${hint}`);
    process.exitCode = 3;
  }
}

/** Certificates, passwords and kcat configurations without starting a broker (e.g. for docker compose). */
async function cmdSecurity(flags) {
  const bootstrap = flags.bootstrap || `${HOST}:${process.env.KAFKA_PORT || 9092}`;
  const security = prepareSecurity({
    securityDir: securityDirOf(flags),
    hosts: hostsOf(flags),
    log: progress,
  });
  writeKcatConfs(security, bootstrap);
  const view = publicView(security);
  const out = (line) => process.stdout.write(`${line}\n`);
  out(`Security material in ${view.dir} (certificate for ${security.hosts.join(', ')}):`);
  out(`  CA certificate         ${view.caFile}`);
  out(`  CA key                 ${security.files.caKey}`);
  out(`  broker certificate     ${security.files.cert} (CN=kafka-broker)`);
  out(`  broker key             ${security.files.key}`);
  out(
    `  broker keystore        ${security.files.keystore} (PKCS12, password in ${security.files.keystorePassword})`,
  );
  for (const [name, user] of Object.entries(view.principals))
    out(`  ${`${name} password`.padEnd(30)} ${user.passwordFile}`);
  printKcatHelp(view, out);
}

async function cmdFetch(which = 'broker') {
  const profiles = which === 'all' ? ['broker', 'tools'] : [which];
  for (const profile of profiles) console.log(await ensureKafkaJars({ profile, log: progress }));
}

async function cmdClasspath(which = 'tools') {
  if (which === 'tools') console.log(await toolsClasspath({ log: progress }));
  else console.log(`${await ensureKafkaJars({ profile: which, log: progress })}/*`);
}

async function main(argv) {
  let command, flags, positional;
  try {
    ({ flags, positional } = parseArgs(argv));
    command = positional.shift();
    const commands = {
      start: () => cmdStart(flags),
      stop: () => cmdStop(flags),
      status: () => cmdStatus(flags),
      security: () => cmdSecurity(flags),
      fetch: () => cmdFetch(positional[0]),
      classpath: () => cmdClasspath(positional[0]),
      help: () => process.stdout.write(USAGE),
    };
    if (!commands[command])
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
    await commands[command]();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`kafka: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (err instanceof KafkaSetupError) {
      process.stderr.write(`kafka: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

module.exports = {
  KafkaSetupError,
  ensureKafkaJars,
  toolsClasspath,
  startKafka,
  waitForBrokers,
  stopDataDir,
  KAFKA_VERSION,
};

if (require.main === module) main(process.argv.slice(2));
