'use strict';

// Runs Kafka brokers in KRaft combined mode (each node is broker + controller) straight from the jars.

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { KafkaSetupError } = require('./errors');
const { KAFKA_VERSION, ensureKafkaJars, checkJava, pidAlive, sleep, tail } = require('./jars');

const HOST = '127.0.0.1';
const STOP_GRACE_MS = 15000;
const STATE_FILE = 'kafka.json';

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

// ---------------------------------------------------------------------------------------------------------
// Files: cluster id, server.properties, log4j, pid files

/** Same shape as Kafka's Uuid.randomUuid(): 16 random bytes, base64url without padding (22 chars). */
function newClusterId() {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
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

function serverProperties(node, all) {
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
  };
  const body = Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  return `# Written by scripts/kafka/broker.js on every start; edits are overwritten.\n${body}\n`;
}

// reload4j syntax; ${kafka.logs.dir} is a system property set per node, as in Kafka's own log4j.properties.
const LOG4J = `# Written by scripts/kafka/broker.js. Each node logs to <kafka.logs.dir>/server.log, nothing to the console.
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

/** The JVM's command line, read from /proc (or `ps` where there is no /proc); '' if it is gone. */
function commandLine(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    if (fs.existsSync('/proc/self')) return '';
    const res = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    return res.status === 0 ? res.stdout : '';
  }
}

/** Alive and not a zombie: an exited child whose parent has not reaped it still answers kill(pid, 0). */
function running(pid) {
  if (!pid || !pidAlive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

/** Only a JVM running kafka.Kafka on this exact config counts, so a recycled pid is never killed. */
function isOurBroker(pid, propsFile) {
  const cmd = commandLine(pid);
  return running(pid) && cmd.includes('kafka.Kafka') && cmd.includes(propsFile);
}

function readPid(file) {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function readState(dataDir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, STATE_FILE), 'utf8'));
  } catch {
    return null;
  }
}

function nodeDirs(dataDir) {
  if (!fs.existsSync(dataDir)) return [];
  return fs
    .readdirSync(dataDir)
    .filter((d) => /^node-\d+$/.test(d))
    .map((d) => ({ id: Number(d.slice(5)), dir: path.join(dataDir, d) }));
}

/** Brokers whose pid files in dataDir point at a live kafka.Kafka process for that node. */
function liveBrokers(dataDir) {
  return nodeDirs(dataDir)
    .map(({ id, dir }) => ({ id, pidFile: path.join(dir, 'kafka.pid'), props: path.join(dir, 'server.properties') }))
    .map((n) => ({ ...n, pid: readPid(n.pidFile) }))
    .filter((n) => n.pid && isOurBroker(n.pid, n.props));
}

function fileSize(file) {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Last lines written to `file` since byte `from` (logs are appended to across runs). */
function tailSince(file, from, lines) {
  try {
    const buf = fs.readFileSync(file);
    return tail(buf.subarray(from <= buf.length ? from : 0).toString('utf8'), lines);
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Stopping processes

async function waitUntil(pred, timeoutMs, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
  return true;
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** SIGTERM starts Kafka's controlled shutdown; SIGKILL if it has not finished within the grace period. */
async function terminate(pid, isRunning, graceMs = STOP_GRACE_MS) {
  if (!isRunning()) return;
  signal(pid, 'SIGCONT'); // A node paused with killNode(id, 'SIGSTOP') would never act on SIGTERM.
  signal(pid, 'SIGTERM');
  if (await waitUntil(() => !isRunning(), graceMs)) return;
  signal(pid, 'SIGKILL');
  await waitUntil(() => !isRunning(), 10000);
}

/** Stops the brokers recorded by pid files in dataDir (used for `start --detach`). Returns the pids. */
async function stopDataDir(dataDir) {
  const live = liveBrokers(dataDir);
  await Promise.all(live.map((n) => terminate(n.pid, () => isOurBroker(n.pid, n.props))));
  for (const { dir } of nodeDirs(dataDir)) fs.rmSync(path.join(dir, 'kafka.pid'), { force: true });
  fs.rmSync(path.join(dataDir, STATE_FILE), { force: true });
  return live.map((n) => n.pid);
}

// Last-resort cleanup: if the calling process exits without stop(), its (non-detached) JVMs go with it.
const attached = new Set();
const ownedTempDirs = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const rt of attached) if (rt.child && rt.child.exitCode === null) signal(rt.child.pid, 'SIGKILL');
    for (const dir of ownedTempDirs) fs.rmSync(dir, { recursive: true, force: true });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Readiness

/**
 * Resolves once every broker in `brokers` answers a metadata request and reports at least `expectNodes`
 * live brokers (KRaft only lists registered, unfenced brokers). `check` may throw to abort early.
 */
async function waitForBrokers(brokers, { timeoutMs = 30000, expectNodes = brokers.length, intervalMs = 250, check } = {}) {
  const { Kafka, logLevel } = require('kafkajs');
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer yet';
  for (;;) {
    if (check) check();
    const probe = async (broker) => {
      const admin = new Kafka({
        clientId: 'kafka-core-ready',
        brokers: [broker],
        logLevel: logLevel.NOTHING,
        connectionTimeout: 1000,
        requestTimeout: 2000,
        retry: { retries: 0 },
      }).admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length < expectNodes) {
          throw new Error(`${broker} sees ${cluster.brokers.length} of ${expectNodes} brokers`);
        }
        return cluster;
      } finally {
        await admin.disconnect().catch(() => {});
      }
    };
    try {
      const results = await Promise.all(brokers.map(probe));
      return results[0];
    } catch (err) {
      lastError = err.message;
    }
    if (Date.now() + intervalMs > deadline) {
      const err = new KafkaSetupError(
        `Kafka at ${brokers.join(',')} was not ready within ${(timeoutMs / 1000).toFixed(1)} s (last check: ${lastError}).`,
      );
      err.lastError = lastError;
      throw err;
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Starting

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

function runToCompletion(cmd, args, opts) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (err) => resolve({ code: -1, output: `${output}${err.message}` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

function describeExit(code, sig) {
  return sig ? `killed by ${sig}` : `exit code ${code}`;
}

/** Refuses to touch a dataDir some live process is serving; kills JVMs orphaned by a crashed run. */
async function clearLeftovers(dataDir) {
  const live = liveBrokers(dataDir);
  if (live.length === 0) return;
  const state = readState(dataDir);
  if (state && (state.detached || (state.ownerPid && running(state.ownerPid)))) {
    const how = state.detached
      ? `stop it with \`node scripts/kafka/kafka.js stop --data-dir ${dataDir}\``
      : `it belongs to process ${state.ownerPid}; stop that first`;
    throw new KafkaSetupError(
      `Kafka is already running from ${dataDir} (pid ${live.map((n) => n.pid).join(', ')}, ` +
        `${(state.brokers || []).join(',')}): ${how}, or point KAFKA_BROKERS at it to reuse it.`,
    );
  }
  for (const n of live) signal(n.pid, 'SIGKILL');
  await waitUntil(() => live.every((n) => !running(n.pid)), 10000);
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
    controllerPorts = (await findFreePorts(2 * count)).filter((p) => !brokerPorts.includes(p)).slice(0, count);
  }

  return { brokerPorts, controllerPorts };
}

/** Writes configs and formats storage where needed. Returns the per-node runtime records. */
async function prepareNodes({ dataDir, logDir, count, ports, java, jars }) {
  const { brokerPorts, controllerPorts } = ports;
  // Reuse formatted storage only if it is exactly the requested cluster; a different node count would
  // leave replicas and quorum voters that no longer exist.
  const ids = Array.from({ length: count }, (_, i) => i);
  const formatted = nodeDirs(dataDir).filter((n) => readClusterId(path.join(n.dir, 'data')));
  const clusterIds = new Set(formatted.map((n) => readClusterId(path.join(n.dir, 'data'))));
  if (formatted.length > 0 && (formatted.length !== count || !formatted.every((n) => n.id < count) || clusterIds.size > 1)) {
    throw new KafkaSetupError(
      `${dataDir} holds storage of a different cluster (${formatted.length} formatted node(s)); ` +
        `start it with --nodes ${formatted.length}, pass --fresh to wipe it, or use another data dir.`,
    );
  }
  const clusterId = formatted.length > 0 ? [...clusterIds][0] : newClusterId();

  const log4jFile = path.join(logDir, 'log4j.properties');
  fs.writeFileSync(log4jFile, LOG4J);
  const rts = ids.map((id) => {
    const dir = path.join(dataDir, `node-${id}`);
    const nodeLogDir = path.join(logDir, `node-${id}`);
    return {
      info: {
        id,
        port: brokerPorts[id],
        controllerPort: controllerPorts[id],
        pid: null,
        logFile: path.join(nodeLogDir, 'server.log'),
      },
      dir,
      dataDir: path.join(dir, 'data'),
      nodeLogDir,
      log4jFile,
      props: path.join(dir, 'server.properties'),
      pidFile: path.join(dir, 'kafka.pid'),
      stdoutFile: path.join(nodeLogDir, 'stdout.log'),
      child: null,
    };
  });
  const voters = rts.map((rt) => rt.info);
  for (const rt of rts) {
    fs.mkdirSync(rt.dataDir, { recursive: true });
    fs.mkdirSync(rt.nodeLogDir, { recursive: true });
    fs.writeFileSync(rt.props, serverProperties({ ...rt.info, dataDir: rt.dataDir }, voters));
  }

  // Format in parallel: each StorageTool run is a JVM start of its own.
  await Promise.all(
    rts
      .filter((rt) => !readClusterId(rt.dataDir))
      .map(async (rt) => {
        const args = [
          ...jvmArgs({ heapMb: 256, log4jFile, nodeLogDir: rt.nodeLogDir }),
          '-cp',
          `${jars}/*`,
          'kafka.tools.StorageTool',
          'format',
          '-t',
          clusterId,
          '-c',
          rt.props,
          '--ignore-formatted',
        ];
        const { code, output } = await runToCompletion(java, args, { cwd: rt.dir });
        if (code !== 0) {
          throw new KafkaSetupError(`Formatting Kafka storage in ${rt.dataDir} failed (exit ${code}):\n${tail(output, 30)}`);
        }
      }),
  );
  return { clusterId, rts };
}

async function startKafka(opts = {}) {
  const t0 = Date.now();
  const { port = 9092, nodes: count = 1, heapMb = 512, fresh = false, log, readyTimeoutMs = 90000 } = opts;
  // detached: JVMs outlive this process (CLI `start --detach`); onNodeExit: told about unexpected exits.
  const { detached = false, onNodeExit } = opts;
  if (!Number.isInteger(count) || count < 1) throw new KafkaSetupError(`nodes must be a positive integer, got ${count}.`);
  if (!Number.isInteger(port) || port < 0 || port + count - 1 > 65535) {
    throw new KafkaSetupError(`port must be 0 (pick free ports) or a TCP port, got ${port}.`);
  }

  const java = checkJava();
  const jars = await ensureKafkaJars({ profile: 'broker', log });
  const ownsDataDir = !opts.dataDir;
  if (!ownsDataDir) await clearLeftovers(path.resolve(opts.dataDir));
  const ports = await choosePorts(port, count);
  const dataDir = ownsDataDir ? fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-core-')) : path.resolve(opts.dataDir);
  if (!ownsDataDir && fresh) fs.rmSync(dataDir, { recursive: true, force: true });
  const logDir = opts.logDir ? path.resolve(opts.logDir) : path.join(dataDir, 'logs');
  let clusterId, rts;
  try {
    fs.mkdirSync(logDir, { recursive: true });
    ({ clusterId, rts } = await prepareNodes({ dataDir, logDir, count, ports, java, jars }));
  } catch (err) {
    if (ownsDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const ids = rts.map((rt) => rt.info.id);

  const brokers = rts.map((rt) => `${HOST}:${rt.info.port}`);
  let stopped = null;
  const isRunning = (rt) => !!rt.child && rt.child.exitCode === null && rt.child.signalCode === null;
  const writeState = () =>
    fs.writeFileSync(
      path.join(dataDir, STATE_FILE),
      `${JSON.stringify(
        {
          version: KAFKA_VERSION,
          clusterId,
          ownerPid: process.pid,
          detached,
          brokers,
          logDir,
          nodes: rts.map((rt) => rt.info),
        },
        null,
        2,
      )}\n`,
    );

  function spawnNode(rt) {
    rt.stopping = false;
    rt.paused = false;
    rt.exit = null;
    rt.logFrom = fileSize(rt.info.logFile);
    rt.stdoutFrom = fileSize(rt.stdoutFile);
    const out = fs.openSync(rt.stdoutFile, 'a');
    try {
      const args = [
        ...jvmArgs({ heapMb, log4jFile: rt.log4jFile, nodeLogDir: rt.nodeLogDir }),
        '-cp',
        `${jars}/*`,
        'kafka.Kafka',
        rt.props,
      ];
      rt.child = spawn(java, args, { cwd: rt.dir, detached, stdio: ['ignore', out, out] });
    } finally {
      fs.closeSync(out);
    }
    const child = rt.child;
    child.on('error', () => {}); // Surfaces as an exit below; java itself was checked already.
    child.on('exit', (code, sig) => {
      rt.exit = { code, sig };
      attached.delete(rt);
      if (!rt.stopping && !stopped && onNodeExit) onNodeExit(rt.info, code, sig);
    });
    if (detached) child.unref();
    else attached.add(rt);
    rt.info.pid = child.pid;
    fs.writeFileSync(rt.pidFile, `${child.pid}\n`);
  }

  function failure(rt) {
    const { code, sig } = rt.exit;
    const serverTail = tailSince(rt.info.logFile, rt.logFrom, 30);
    const stdoutTail = tailSince(rt.stdoutFile, rt.stdoutFrom, 15);
    return new KafkaSetupError(
      `Kafka node ${rt.info.id} exited during startup (${describeExit(code, sig)}). ` +
        `Last lines of ${rt.info.logFile}:\n${serverTail || '(empty)'}` +
        (stdoutTail ? `\n--- ${rt.stdoutFile}:\n${stdoutTail}` : ''),
    );
  }

  async function stopNodes(list, sig) {
    await Promise.all(
      list.map(async (rt) => {
        rt.stopping = true;
        if (sig === 'SIGKILL') {
          if (isRunning(rt)) signal(rt.child.pid, 'SIGKILL');
          await waitUntil(() => !isRunning(rt), 10000);
        } else {
          await terminate(rt.child ? rt.child.pid : 0, () => isRunning(rt));
        }
        fs.rmSync(rt.pidFile, { force: true });
      }),
    );
  }

  async function waitReady(list, timeoutMs, reportedMs = timeoutMs) {
    try {
      await waitForBrokers(brokers, {
        timeoutMs,
        expectNodes: count,
        check: () => {
          const dead = list.find((rt) => rt.exit);
          if (dead) throw failure(dead);
        },
      });
    } catch (err) {
      await stopNodes(list, 'SIGKILL');
      if (err.lastError !== undefined) {
        throw new KafkaSetupError(
          `Kafka did not become ready within ${(reportedMs / 1000).toFixed(1)} s (last check: ${err.lastError}). ` +
            `See ${list.map((rt) => rt.info.logFile).join(', ')}`,
        );
      }
      throw err;
    }
  }

  installExitHook();
  if (ownsDataDir) ownedTempDirs.add(dataDir);
  for (const rt of rts) spawnNode(rt);
  writeState();
  try {
    await waitReady(rts, Math.max(1000, readyTimeoutMs - (Date.now() - t0)), readyTimeoutMs);
  } catch (err) {
    fs.rmSync(path.join(dataDir, STATE_FILE), { force: true });
    ownedTempDirs.delete(dataDir); // Keep the logs the error message points at.
    throw err;
  }

  const byId = (id) => {
    const rt = rts.find((r) => r.info.id === id);
    if (!rt) throw new KafkaSetupError(`No Kafka node ${id} (nodes are ${ids.join(', ')}).`);
    if (stopped) throw new KafkaSetupError('This Kafka cluster has been stopped.');
    return rt;
  };

  return {
    brokers,
    bootstrap: brokers.join(','),
    clusterId,
    dataDir,
    logDir,
    nodes: rts.map((rt) => rt.info),
    startupMs: Date.now() - t0,

    stop() {
      if (!stopped) {
        stopped = (async () => {
          await stopNodes(rts, 'SIGTERM');
          fs.rmSync(path.join(dataDir, STATE_FILE), { force: true });
          if (ownsDataDir) {
            fs.rmSync(dataDir, { recursive: true, force: true });
            ownedTempDirs.delete(dataDir);
          }
        })();
      }
      return stopped;
    },

    /** SIGKILL (default) simulates a crash. SIGSTOP freezes the node until startNode() or SIGCONT. */
    async killNode(id, sig = 'SIGKILL') {
      const rt = byId(id);
      if (!isRunning(rt)) return;
      if (sig === 'SIGSTOP' || sig === 'SIGCONT') {
        rt.paused = sig === 'SIGSTOP';
        signal(rt.child.pid, sig);
        return;
      }
      rt.stopping = true;
      signal(rt.child.pid, sig);
      if (sig === 'SIGKILL') await waitUntil(() => !isRunning(rt), 10000);
    },

    async stopNode(id) {
      await stopNodes([byId(id)], 'SIGTERM');
    },

    /** (Re)starts a node with its original ports and storage; resolves once the whole cluster answers. */
    async startNode(id) {
      const rt = byId(id);
      if (rt.paused) {
        rt.paused = false;
        signal(rt.child.pid, 'SIGCONT');
      } else if (isRunning(rt) && rt.stopping) {
        await stopNodes([rt], 'SIGTERM'); // A signalled node must be gone before its log dirs are reused.
      }
      if (!isRunning(rt)) {
        spawnNode(rt);
        writeState();
      }
      await waitReady([rt], readyTimeoutMs);
    },
  };
}

module.exports = { startKafka, waitForBrokers, stopDataDir, readState, liveBrokers, HOST };
