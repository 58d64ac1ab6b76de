'use strict';

// Finding, signalling and stopping broker JVMs through the pid files kept in a data dir.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { pidAlive, sleep, tail } = require('./jars');

const STOP_GRACE_MS = 15000;
const STATE_FILE = 'kafka.json';

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
    .map(({ id, dir }) => ({
      id,
      pidFile: path.join(dir, 'kafka.pid'),
      props: path.join(dir, 'server.properties'),
    }))
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

module.exports = {
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
  stopDataDir,
};
