'use strict';

// Resolves Kafka's own jars from Maven Central (via pom.xml next to this file) into a per-user cache,
// and checks that a suitable Java is available to run them.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { KafkaSetupError } = require('./errors');

const KAFKA_VERSION = '3.9.2';
const MIN_JAVA = 17;
const PROFILES = ['broker', 'tools'];
const POM = path.join(__dirname, 'pom.xml');
const MARKER = '.complete';
// The main jar of each profile; its absence after a "successful" copy means the pom resolved nothing useful.
const MAIN_JAR = { broker: `kafka_2.13-${KAFKA_VERSION}.jar`, tools: `kafka-tools-${KAFKA_VERSION}.jar` };
const LOCK_STALE_MS = 15 * 60 * 1000;
const LOCK_WAIT_MS = 20 * 60 * 1000;

const ALTERNATIVES = 'or run Kafka with `docker compose up`, or set KAFKA_BROKERS to an existing cluster';

function cacheRoot() {
  if (process.env.KAFKA_CORE_CACHE) return path.resolve(process.env.KAFKA_CORE_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(path.resolve(base), 'kafka-core');
}

function jarsDir(profile) {
  return path.join(cacheRoot(), `kafka-${KAFKA_VERSION}`, profile);
}

/** JAVA_HOME wins over PATH, as in Kafka's own kafka-run-class.sh. */
function javaBin() {
  const home = process.env.JAVA_HOME;
  if (home) {
    const bin = path.join(home, 'bin', 'java');
    if (fs.existsSync(bin)) return bin;
  }
  return 'java';
}

let javaChecked = null;

/** Returns the java executable to use; throws KafkaSetupError if it is missing or older than 17. */
function checkJava() {
  if (javaChecked) return javaChecked;
  const bin = javaBin();
  const res = spawnSync(bin, ['-version'], { encoding: 'utf8', timeout: 30000 });
  if (res.error) {
    const why =
      res.error.code === 'ENOENT'
        ? '`java` was not found on PATH'
        : `\`${bin} -version\` failed (${res.error.message})`;
    throw new KafkaSetupError(
      `Kafka ${KAFKA_VERSION} needs Java ${MIN_JAVA}+, but ${why}. ` +
        `Install it (e.g. \`apt-get install openjdk-17-jre-headless\`), ${ALTERNATIVES}.`,
    );
  }
  // `java -version` writes to stderr: `openjdk version "17.0.15" ...` or, for Java 8, `java version "1.8.0_402"`.
  const out = `${res.stderr}\n${res.stdout}`;
  const m = out.match(/version "(\d+)(?:\.(\d+))?/);
  if (!m) {
    throw new KafkaSetupError(`Could not read the Java version from \`${bin} -version\`:\n${out.trim()}`);
  }
  const major = m[1] === '1' ? Number(m[2]) : Number(m[1]);
  if (major < MIN_JAVA) {
    throw new KafkaSetupError(
      `Kafka ${KAFKA_VERSION} is run here with Java ${MIN_JAVA}+, but \`${bin}\` is Java ${major}. ` +
        `Install a newer one (e.g. \`apt-get install openjdk-17-jre-headless\`) and put it first on PATH ` +
        `or in JAVA_HOME, ${ALTERNATIVES}.`,
    );
  }
  javaChecked = bin;
  return bin;
}

function checkMaven() {
  const res = spawnSync('mvn', ['-v'], { encoding: 'utf8', timeout: 60000 });
  if (res.error || res.status !== 0) {
    const why = res.error && res.error.code === 'ENOENT' ? '`mvn` was not found on PATH' : '`mvn -v` failed';
    throw new KafkaSetupError(
      `Kafka's jars are fetched from Maven Central with Maven the first time (cache: ${cacheRoot()}), ` +
        `but ${why}. Install it (e.g. \`apt-get install maven\`), ${ALTERNATIVES}.`,
    );
  }
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * mkdir is atomic, so the lock is a directory; an `owner` file inside names the holder so a lock left by a
 * killed process (dead pid, or simply very old) can be taken over.
 */
async function acquireLock(lockDir, log) {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(
        path.join(lockDir, 'owner'),
        `${process.pid} ${os.hostname()} ${new Date().toISOString()}\n`,
      );
      return () => fs.rmSync(lockDir, { recursive: true, force: true });
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    let owner = '';
    let ageMs = 0;
    try {
      owner = fs.readFileSync(path.join(lockDir, 'owner'), 'utf8');
      ageMs = Date.now() - fs.statSync(lockDir).mtimeMs;
    } catch {
      // Owner file not written yet (holder is between mkdir and write) or lock just released: retry.
    }
    const [pid, host] = owner.split(' ');
    const dead = owner && host === os.hostname() && !pidAlive(Number(pid));
    if (dead || ageMs > LOCK_STALE_MS) {
      // Rename first so that only one waiter removes this particular stale lock.
      const grave = `${lockDir}.stale-${process.pid}-${Date.now()}`;
      try {
        fs.renameSync(lockDir, grave);
        fs.rmSync(grave, { recursive: true, force: true });
      } catch {
        // Someone else took it over first.
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new KafkaSetupError(
        `Timed out waiting for another process to finish fetching Kafka jars (lock ${lockDir}, held by ${owner.trim() || 'unknown'}). ` +
          'If no such process is running, delete the lock directory.',
      );
    }
    if (!announced && log)
      log(`Waiting for another process that is fetching Kafka jars (lock ${lockDir})...`);
    announced = true;
    await sleep(500);
  }
}

function runMaven(args) {
  return new Promise((resolve) => {
    const child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk) => {
      output += chunk;
      if (output.length > 200000) output = output.slice(-100000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err) => resolve({ code: -1, output: `${output}\n${err.message}` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

function tail(text, lines) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Returns the absolute directory holding the jars of `profile` ('broker' or 'tools'). Maven runs only
 * while that directory has no completion marker, i.e. normally once per machine.
 */
async function ensureKafkaJars({ profile = 'broker', log } = {}) {
  if (!PROFILES.includes(profile)) {
    throw new KafkaSetupError(`Unknown jar profile "${profile}" (expected one of: ${PROFILES.join(', ')}).`);
  }
  checkJava();
  const dir = jarsDir(profile);
  if (fs.existsSync(path.join(dir, MARKER))) return dir;

  checkMaven();
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const release = await acquireLock(`${dir}.lock`, log);
  const tmp = `${dir}.tmp-${process.pid}`;
  try {
    // Another process may have finished while this one waited for the lock.
    if (fs.existsSync(path.join(dir, MARKER))) return dir;
    if (log) log(`Fetching Kafka ${KAFKA_VERSION} ${profile} jars from Maven Central (first run only)...`);
    fs.rmSync(tmp, { recursive: true, force: true });
    const args = ['-B', '-q', '-f', POM];
    // The broker profile is activeByDefault, so selecting tools alone means switching broker off explicitly.
    if (profile === 'tools') args.push('-P', '!broker,tools');
    args.push(
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
      `-DoutputDirectory=${tmp}`,
      '-DincludeScope=runtime',
    );
    const { code, output } = await runMaven(args);
    if (code !== 0 || !fs.existsSync(path.join(tmp, MAIN_JAR[profile]))) {
      throw new KafkaSetupError(
        `Maven could not fetch the Kafka ${KAFKA_VERSION} ${profile} jars (exit ${code}). ` +
          'Check network access to Maven Central (proxies and mirrors go in ~/.m2/settings.xml). ' +
          `Last Maven output:\n${tail(output, 30) || '(none)'}`,
      );
    }
    const jars = fs.readdirSync(tmp).filter((f) => f.endsWith('.jar')).length;
    fs.writeFileSync(
      path.join(tmp, MARKER),
      `kafka ${KAFKA_VERSION} ${profile}: ${jars} jars, ${new Date().toISOString()}\n`,
    );
    // Populate a private directory and rename it into place, so readers never see a half-copied classpath.
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    return dir;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    release();
  }
}

/** Classpath (a `dir/*` wildcard, expanded by java itself) for ProducerPerformance and friends. */
async function toolsClasspath({ log } = {}) {
  return `${await ensureKafkaJars({ profile: 'tools', log })}/*`;
}

module.exports = {
  KAFKA_VERSION,
  ensureKafkaJars,
  toolsClasspath,
  checkJava,
  cacheRoot,
  jarsDir,
  pidAlive,
  sleep,
  tail,
};
