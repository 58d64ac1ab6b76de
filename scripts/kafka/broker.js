'use strict';

// Runs Kafka brokers in KRaft combined mode (each node is broker + controller) straight from the jars.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { KafkaSetupError } = require('./errors');
const { KAFKA_VERSION, ensureKafkaJars, checkJava, sleep, tail } = require('./jars');
const {
  HOST,
  choosePorts,
  newClusterId,
  readClusterId,
  serverProperties,
  LOG4J,
  jvmArgs,
} = require('./config');
const procs = require('./procs');
const secure = require('./secure');
const { kafkajsOptions, writeKcatConfs, publicView } = require('./security');
const {
  STATE_FILE,
  STOP_GRACE_MS,
  running,
  readState,
  nodeDirs,
  liveBrokers,
  fileSize,
  tailSince,
  waitUntil,
  signal,
  terminate,
} = procs;

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
async function waitForBrokers(
  brokers,
  { timeoutMs = 30000, expectNodes = brokers.length, intervalMs = 250, check, client = {} } = {},
) {
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
        ...client, // ssl and sasl for a secure broker
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

/** Writes configs and formats storage where needed. Returns the per-node runtime records. */
async function prepareNodes({ dataDir, logDir, count, ports, java, jars, security, log }) {
  const { brokerPorts, controllerPorts } = ports;
  // Reuse formatted storage only if it is exactly the requested cluster; a different node count would
  // leave replicas and quorum voters that no longer exist.
  const ids = Array.from({ length: count }, (_, i) => i);
  let formatted = nodeDirs(dataDir).filter((n) => readClusterId(path.join(n.dir, 'data')));
  if (security && secure.storageNeedsReformat(dataDir, security, formatted.length, log)) {
    for (const n of formatted) fs.rmSync(path.join(n.dir, 'data'), { recursive: true, force: true });
    formatted = [];
  }
  const clusterIds = new Set(formatted.map((n) => readClusterId(path.join(n.dir, 'data'))));
  if (
    formatted.length > 0 &&
    (formatted.length !== count || !formatted.every((n) => n.id < count) || clusterIds.size > 1)
  ) {
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
    // Secure mode puts the inter-broker password and the keystore password in it: owner only (chmod
    // too, since writing keeps the mode of an existing file).
    if (security) {
      fs.writeFileSync(rt.props, '', { mode: 0o600 });
      fs.chmodSync(rt.props, 0o600);
    }
    fs.writeFileSync(rt.props, serverProperties({ ...rt.info, dataDir: rt.dataDir }, voters, security));
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
          ...(security ? secure.scramFormatArgs(security) : []),
        ];
        const { code, output } = await runToCompletion(java, args, { cwd: rt.dir });
        if (code !== 0) {
          throw new KafkaSetupError(
            `Formatting Kafka storage in ${rt.dataDir} failed (exit ${code}):\n${tail(secure.redact(output, security), 30)}`,
          );
        }
      }),
  );
  if (security) secure.recordUsers(dataDir, security);
  return { clusterId, rts };
}

async function startKafka(opts = {}) {
  const t0 = Date.now();
  const { port = 9092, nodes: count = 1, heapMb = 512, fresh = false, log, readyTimeoutMs = 90000 } = opts;
  // detached: JVMs outlive this process (CLI `start --detach`); onNodeExit: told about unexpected exits.
  const { detached = false, onNodeExit } = opts;
  // secure: SASL_SSL/SCRAM-SHA-512 with ACLs from the topic table (see secure.js); securityDir holds the
  // CA, certificates, passwords and kcat configurations (default <dataDir>/security).
  const { secure: isSecure = false, extraPrincipals = [], hosts = [] } = opts;
  if (!Number.isInteger(count) || count < 1) {
    throw new KafkaSetupError(`nodes must be a positive integer, got ${count}.`);
  }
  if (!Number.isInteger(port) || port < 0 || port + count - 1 > 65535) {
    throw new KafkaSetupError(`port must be 0 (pick free ports) or a TCP port, got ${port}.`);
  }

  const java = checkJava();
  const jars = await ensureKafkaJars({ profile: 'broker', log });
  const ownsDataDir = !opts.dataDir;
  if (!ownsDataDir) await clearLeftovers(path.resolve(opts.dataDir));
  const ports = await choosePorts(port, count);
  const dataDir = ownsDataDir
    ? fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-core-'))
    : path.resolve(opts.dataDir);
  if (!ownsDataDir && fresh) {
    // The default security dir lives inside the plaintext data dir: wiping its passwords would make the
    // secure storage's SCRAM users unusable.
    for (const entry of fs.existsSync(dataDir) ? fs.readdirSync(dataDir) : []) {
      if (entry !== 'security') fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
    }
  }
  const logDir = opts.logDir ? path.resolve(opts.logDir) : path.join(dataDir, 'logs');
  let clusterId, rts, security, client;
  try {
    fs.mkdirSync(logDir, { recursive: true });
    if (isSecure) {
      const securityDir = path.resolve(opts.securityDir || path.join(dataDir, 'security'));
      security = secure.prepareSecurity({ securityDir, extraPrincipals, hosts, log });
      // oauth: { jwksUrl, audience } also accepts OAUTHBEARER tokens signed by that issuer.
      if (opts.oauth) security.oauth = opts.oauth;
      client = kafkajsOptions(security);
    }
    ({ clusterId, rts } = await prepareNodes({ dataDir, logDir, count, ports, java, jars, security, log }));
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
          ...(security ? { secure: true, securityDir: security.dir } : {}),
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
        // Kafka 4 refuses JWKS URLs that are not listed here.
        ...(security?.oauth
          ? [`-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=${security.oauth.jwksUrl}`]
          : []),
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
    // Unref'd either way: a caller that forgets stop() still exits, and the exit hook then kills the JVM.
    child.unref();
    if (!detached) attached.add(rt);
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
        client,
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
    if (security) {
      writeKcatConfs(security, brokers.join(','));
      const done = await secure.provisionSecure({ brokers, security, nodes: count }).catch(async (err) => {
        await stopNodes(rts, 'SIGKILL');
        throw new KafkaSetupError(
          `Provisioning topics and ACLs as ${security.principals.admin.username} failed: ${err.message}`,
        );
      });
      if (log)
        log(
          `${done.topics} topics and ${done.total} ACLs in place (${done.added} added, ${done.removed} removed)`,
        );
    }
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
    // Secure mode: where the CA, passwords and kcat configurations are; passwords for tests and tools.
    security: security
      ? {
          ...publicView(security),
          principals: Object.fromEntries(
            Object.entries(security.principals).map(([name, u]) => [name, { ...u }]),
          ),
        }
      : undefined,

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

    /**
     * SIGKILL (default) simulates a crash; SIGTERM/SIGINT/SIGHUP a clean shutdown. Either way this resolves
     * once the JVM is gone. SIGSTOP freezes the node (no exit) until startNode() or SIGCONT.
     */
    async killNode(id, sig = 'SIGKILL') {
      const rt = byId(id);
      if (!isRunning(rt)) return;
      if (sig === 'SIGSTOP' || sig === 'SIGCONT') {
        rt.paused = sig === 'SIGSTOP';
        signal(rt.child.pid, sig);
        return;
      }
      const terminating = ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP'].includes(sig);
      if (terminating) rt.stopping = true;
      signal(rt.child.pid, sig);
      if (terminating) await waitUntil(() => !isRunning(rt), STOP_GRACE_MS);
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

module.exports = { startKafka, waitForBrokers, stopDataDir: procs.stopDataDir, readState, liveBrokers, HOST };
