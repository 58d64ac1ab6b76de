#!/usr/bin/env node
// `npm start`: everything a newcomer needs, in one command. Installs dependencies when missing,
// builds, starts (or reuses) a Kafka broker, starts the four services (each provisions its topics and
// migrates its own database at startup), waits until they are ready, prints their URLs, and on
// Ctrl-C stops everything it started.
// KAFKA_SECURITY=sasl_ssl: the broker speaks SASL_SSL (SCRAM-SHA-512) only and enforces ACLs from the
// topic table; its admin user provisions the topics, and each service logs in as itself.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const { DEV_DEFAULTS } = require('./dev-defaults');

const root = path.resolve(__dirname, '..');
const SERVICES = [
  ['monolith', 3000, 'MONOLITH_PORT'],
  ['logging-service', 3001, 'LOGGING_SERVICE_PORT'],
  ['analytics-service', 3002, 'ANALYTICS_SERVICE_PORT'],
  ['notification-service', 3003, 'NOTIFICATION_SERVICE_PORT'],
];
const COLORS = [36, 35, 33, 32];
const READY_TIMEOUT_MS = 180_000;

const say = (line) => console.log(`\x1b[1m[start]\x1b[0m ${line}`);
class StartError extends Error {}

function run(command, args, what) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error?.code === 'ENOENT')
    throw new StartError(`${command} is not installed (needed to ${what}).`);
  if (result.status !== 0)
    throw new StartError(`${what} failed (${command} ${args.join(' ')} exited ${result.status}).`);
}

function ensureDependencies() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  say('Installing dependencies (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund'], 'install dependencies');
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

function ensureBuild() {
  const built = path.join(root, 'dist', 'apps', 'monolith', 'src', 'main.js');
  const sources = Math.max(newestMtime(path.join(root, 'apps')), newestMtime(path.join(root, 'libs')));
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= sources) return;
  say('Building…');
  fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  run(
    process.execPath,
    [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', 'tsconfig.build.json'],
    'build',
  );
}

function portTaken(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** KAFKA_SECURITY=sasl_ssl turns the secure broker on; anything else but unset is refused. */
function securityRequested() {
  const value = (process.env.KAFKA_SECURITY || '').trim();
  if (value === '') return false;
  if (value.toLowerCase() === 'sasl_ssl') return true;
  throw new StartError(`KAFKA_SECURITY must be sasl_ssl (or unset for a plaintext broker), got "${value}".`);
}

const securityDir = () =>
  path.resolve(process.env.KAFKA_SECURITY_DIR || path.join(root, '.data', 'kafka', 'security'));

/**
 * The secure broker: reused when one already answers on the port with our admin credentials, otherwise
 * started from its own storage (.data/kafka-secure: SCRAM users only go in when storage is formatted).
 */
async function ensureSecureKafka(kafkaLib) {
  const { prepareSecurity } = require('./kafka/secure');
  const { kafkajsOptions, writeKcatConfs } = require('./kafka/security');
  const port = Number(process.env.KAFKA_PORT || 9092);
  const dir = securityDir();
  const external = process.env.KAFKA_BROKERS;
  if (external || (await portTaken(port))) {
    const brokers = external ? external.split(',') : [`127.0.0.1:${port}`];
    if (!fs.existsSync(path.join(dir, 'ca.pem')) || !fs.existsSync(path.join(dir, 'admin.password'))) {
      throw new StartError(
        `Kafka at ${brokers.join(',')} is in use, but ${dir} holds no CA and passwords for it. ` +
          'Stop it, or point KAFKA_SECURITY_DIR at the directory it was secured with.',
      );
    }
    const security = prepareSecurity({ securityDir: dir });
    const answers = await kafkaLib
      .waitForBrokers(brokers, { timeoutMs: 10_000, expectNodes: 1, client: kafkajsOptions(security) })
      .then(
        () => true,
        () => false,
      );
    if (!answers) {
      throw new StartError(
        `Kafka at ${brokers.join(',')} does not accept the admin user of ${dir} over SASL_SSL ` +
          '(a plaintext broker, or one secured with other credentials). Stop it, or set KAFKA_PORT.',
      );
    }
    if (!external) writeKcatConfs(security, brokers.join(','));
    say(`Reusing the secure Kafka broker at ${brokers.join(',')} (SASL_SSL, SCRAM-SHA-512)`);
    return { brokers: brokers.join(','), security, stop: async () => undefined };
  }
  say(`Starting a secure Kafka on 127.0.0.1:${port} (SASL_SSL, SCRAM-SHA-512, ACLs from the topic table)…`);
  const kafka = await kafkaLib.startKafka({
    port,
    dataDir: process.env.KAFKA_DATA_DIR || path.join(root, '.data', 'kafka-secure'),
    secure: true,
    securityDir: dir,
    log: (line) => say(line),
  });
  say(
    `Kafka ready in ${(kafka.startupMs / 1000).toFixed(1)} s (logs: ${path.relative(root, kafka.logDir) || kafka.logDir})`,
  );
  return { brokers: kafka.bootstrap, security: kafka.security, stop: () => kafka.stop() };
}

async function ensureKafka(kafkaLib) {
  if (securityRequested()) return ensureSecureKafka(kafkaLib);
  if (process.env.KAFKA_BROKERS) {
    const brokers = process.env.KAFKA_BROKERS.split(',');
    say(`Using Kafka at ${brokers.join(',')} (KAFKA_BROKERS)`);
    await kafkaLib.waitForBrokers(brokers, { timeoutMs: 15_000 }).catch(() => {
      throw new StartError(
        `Kafka at ${brokers.join(',')} does not answer. Start it, or unset KAFKA_BROKERS to use a local one.`,
      );
    });
    return { brokers: brokers.join(','), stop: async () => undefined };
  }
  const port = Number(process.env.KAFKA_PORT || 9092);
  if (await portTaken(port)) {
    // Something listens already: reuse it when it is a Kafka broker (e.g. `npm run kafka` in another terminal).
    const brokers = [`127.0.0.1:${port}`];
    const isKafka = await kafkaLib.waitForBrokers(brokers, { timeoutMs: 5_000 }).then(
      () => true,
      () => false,
    );
    if (!isKafka) {
      throw new StartError(
        `Port ${port} is in use by something that is not a plaintext Kafka broker (a secure one needs ` +
          'KAFKA_SECURITY=sasl_ssl). Free it, or set KAFKA_PORT or KAFKA_BROKERS.',
      );
    }
    say(`Reusing the Kafka broker already running on 127.0.0.1:${port}`);
    return { brokers: brokers.join(','), stop: async () => undefined };
  }
  say(`Starting Kafka on 127.0.0.1:${port} (first run downloads its jars from Maven Central)…`);
  const kafka = await kafkaLib.startKafka({
    port,
    dataDir: process.env.KAFKA_DATA_DIR || path.join(root, '.data', 'kafka'),
    log: (line) => say(line),
  });
  say(
    `Kafka ready in ${(kafka.startupMs / 1000).toFixed(1)} s (logs: ${path.relative(root, kafka.logDir) || kafka.logDir})`,
  );
  return { brokers: kafka.bootstrap, stop: () => kafka.stop() };
}

/** Each service logs in as itself; the password stays in its file and is never printed. */
function securityEnv(security, name) {
  if (!security) return {};
  const user = security.principals[name];
  if (!user) throw new StartError(`The secure broker has no user for ${name}: is it in the topic table?`);
  return {
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    KAFKA_SASL_USERNAME: name,
    KAFKA_SASL_PASSWORD_FILE: user.passwordFile,
    KAFKA_SSL_CA_FILE: security.caFile,
  };
}

/** Connection settings of the calling shell would contradict the ones given for the secure broker. */
function withoutKafkaSecurity(env) {
  return Object.fromEntries(
    Object.entries(env).filter(([key]) => !/^KAFKA_(SECURITY_PROTOCOL|SASL_|SSL_)/.test(key)),
  );
}

function startServices(brokers, security) {
  return SERVICES.map(([name, defaultPort, portVar], i) => {
    const port = Number(process.env[portVar] || defaultPort);
    const env = {
      ...DEV_DEFAULTS,
      ...(security ? withoutKafkaSecurity(process.env) : process.env),
      ...securityEnv(security, name),
      KAFKA_BROKERS: brokers,
      PORT: String(port),
      HOST: process.env.HOST || '127.0.0.1',
      PGLITE_DATA_DIR: path.join(root, '.data', 'pglite', name),
    };
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'run-service.js'), name], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const prefix = `\x1b[${COLORS[i]}m[${name}]\x1b[0m `;
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream.on('data', (chunk) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop();
        for (const line of lines) process.stdout.write(prefix + line + '\n');
      });
    }
    return { name, port, child, exited: false };
  });
}

async function waitReady(service) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (service.exited) throw new StartError(`${service.name} exited during startup (see its lines above).`);
    try {
      const response = await fetch(`http://127.0.0.1:${service.port}/health/ready`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new StartError(`${service.name} was not ready within ${READY_TIMEOUT_MS / 1000} s.`);
}

async function main() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) throw new StartError(`Node ${process.versions.node} is too old: install Node 20 or newer.`);
  ensureDependencies();
  ensureBuild();
  const kafkaLib = require('./kafka/kafka');

  let kafka;
  let services = [];
  let stopping = false;
  const shutdown = async (code) => {
    if (stopping) return;
    stopping = true;
    say('Stopping…');
    await Promise.all(
      services.map(
        (s) =>
          new Promise((resolve) => {
            if (s.exited) return resolve();
            s.child.once('exit', resolve);
            s.child.kill('SIGTERM');
            setTimeout(() => (s.child.kill('SIGKILL'), resolve()), 15_000).unref();
          }),
      ),
    );
    await kafka?.stop();
    say('Stopped.');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    kafka = await ensureKafka(kafkaLib);
    for (const [name, port, portVar] of SERVICES) {
      const chosen = Number(process.env[portVar] || port);
      if (await portTaken(chosen))
        throw new StartError(`Port ${chosen} for ${name} is in use. Free it or set ${portVar}.`);
    }
    if (!process.env.DATABASE_URL)
      say('No DATABASE_URL: each service uses its embedded database under .data/pglite/');
    services = startServices(kafka.brokers, kafka.security);
    for (const service of services) {
      service.child.once('exit', (code, signal) => {
        service.exited = true;
        if (!stopping) {
          say(`${service.name} exited (${signal || code}); stopping the rest.`);
          void shutdown(1);
        }
      });
    }
    await Promise.all(services.map(waitReady));
  } catch (error) {
    if (stopping) return;
    if (error instanceof StartError || error instanceof kafkaLib.KafkaSetupError) {
      console.error(`\n\x1b[31m[start]\x1b[0m ${error.message}`);
      await shutdown(1);
      return;
    }
    throw error;
  }

  say('All four services are ready:');
  for (const s of services) {
    console.log(`  ${s.name.padEnd(22)} http://127.0.0.1:${s.port}   (health: /health/ready)`);
  }
  console.log(
    `  ${'kafka'.padEnd(22)} ${kafka.brokers}${kafka.security ? ' (SASL_SSL, SCRAM-SHA-512)' : ''}`,
  );
  if (kafka.security) {
    const confs = Object.values(kafka.security.principals)
      .map((u) => u.kcatConf)
      .filter(Boolean);
    if (confs.length > 0)
      console.log(
        `\n  kcat configurations, one per user (passwords inside, mode 0600): ${kafka.security.dir}/<user>.kcat.conf` +
          `\n    e.g. kcat -F ${confs.find((f) => f && f.endsWith('/admin.kcat.conf')) || confs[0]} -L`,
      );
  }
  const devSettings = Object.keys(DEV_DEFAULTS).filter((name) => !process.env[name]);
  if (devSettings.length > 0) {
    console.log(`\n  Development settings (set them to override):`);
    for (const name of devSettings) console.log(`    ${name}=${DEV_DEFAULTS[name]}`);
  }
  console.log(
    `\n  Try: npm run demo          (in another terminal: a day on a ward, across all four services)\n` +
      `       curl http://127.0.0.1:3000/patients\n\n  Ctrl-C stops everything.`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
