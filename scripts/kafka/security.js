'use strict';

// Security material for a local secure broker, made once and reused: a CA, a broker certificate signed by
// it, one random SCRAM password per principal and a librdkafka (kcat) configuration per principal.
// Everything lives in one directory (default <repo>/.data/kafka/security); keys and passwords are 0600.

const { spawnSync } = require('node:child_process');
const { createHash, randomBytes } = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { KafkaSetupError } = require('./errors');

const PROTOCOL = 'SASL_SSL';
const MECHANISM = 'SCRAM-SHA-512';
const ADMIN = 'admin';
// The broker's own certificate identity: it authenticates nodes to each other's controller listener.
const BROKER_CN = 'kafka-broker';
const BROKER_PRINCIPAL = `User:CN=${BROKER_CN}`;
// localhost/127.0.0.1 for local clients, kafka for the compose service of that name.
const DEFAULT_HOSTS = ['localhost', '127.0.0.1', 'kafka'];
const CA_DAYS = 3650;
const CERT_DAYS = 825;
// Renew a certificate this close to its end rather than have a long-running broker outlive it.
const RENEW_BEFORE_S = 30 * 24 * 3600;
// SCRAM user names go into `--add-scram 'SCRAM-SHA-512=[name=x,password=y]'` and JAAS strings unquoted.
const PRINCIPAL_NAME = /^[A-Za-z0-9._-]+$/;

const SECRET = { mode: 0o600 };

function openssl(args, cwd) {
  const res = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 60000 });
  if (res.error) {
    const why = res.error.code === 'ENOENT' ? '`openssl` was not found on PATH' : res.error.message;
    throw new KafkaSetupError(`Making the broker's certificates needs the openssl command: ${why}.`);
  }
  return res;
}

function mustOpenssl(args, cwd, what) {
  const res = openssl(args, cwd);
  if (res.status !== 0) {
    throw new KafkaSetupError(
      `${what} failed (openssl ${args[0]} exited ${res.status}): ${res.stderr.trim()}`,
    );
  }
  return res.stdout;
}

/** Still valid for RENEW_BEFORE_S from now. */
function validLongEnough(certFile, dir) {
  return (
    fs.existsSync(certFile) &&
    openssl(['x509', '-checkend', String(RENEW_BEFORE_S), '-noout', '-in', certFile], dir).status === 0
  );
}

function subjectAltNames(certFile, dir) {
  const res = openssl(['x509', '-noout', '-ext', 'subjectAltName', '-in', certFile], dir);
  if (res.status !== 0) return [];
  return [...res.stdout.matchAll(/(?:DNS|IP Address):([^,\s]+)/g)].map((m) => m[1].toLowerCase());
}

function writeSecret(file, content) {
  fs.writeFileSync(file, content, SECRET);
  fs.chmodSync(file, 0o600); // writeFileSync keeps the mode of a file that already existed.
}

function makeCa(dir, files) {
  const cnf = path.join(dir, 'ca.cnf');
  fs.writeFileSync(
    cnf,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = kafka-core development CA',
      '[v3_ca]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  try {
    mustOpenssl(
      [
        'req',
        '-x509',
        '-new',
        '-config',
        cnf,
        '-extensions',
        'v3_ca',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        files.caKey,
        '-out',
        files.ca,
        '-days',
        String(CA_DAYS),
      ],
      dir,
      'Creating the certificate authority',
    );
  } finally {
    fs.rmSync(cnf, { force: true });
  }
  fs.chmodSync(files.caKey, 0o600);
}

function makeBrokerCert(dir, files, hosts) {
  const san = hosts.map((h) => (net.isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  const ext = path.join(dir, 'broker.ext');
  const csr = path.join(dir, 'broker.csr');
  fs.writeFileSync(
    ext,
    [
      'basicConstraints = CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      // clientAuth too: nodes present this certificate to each other's controller listener.
      'extendedKeyUsage = serverAuth,clientAuth',
      `subjectAltName = ${san}`,
      '',
    ].join('\n'),
  );
  try {
    mustOpenssl(
      ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', files.key],
      dir,
      'Creating the broker key',
    );
    fs.chmodSync(files.key, 0o600);
    mustOpenssl(
      ['req', '-new', '-key', files.key, '-subj', `/CN=${BROKER_CN}`, '-out', csr],
      dir,
      'Creating the broker certificate request',
    );
    mustOpenssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        files.ca,
        '-CAkey',
        files.caKey,
        '-set_serial',
        `0x${randomBytes(16).toString('hex')}`,
        '-days',
        String(CERT_DAYS),
        '-extfile',
        ext,
        '-out',
        files.cert,
      ],
      dir,
      'Signing the broker certificate',
    );
  } finally {
    fs.rmSync(ext, { force: true });
    fs.rmSync(csr, { force: true });
  }
  // The JVM reads a PKCS12 keystore; its password only guards the file, which is 0600 anyway.
  writeSecret(files.keystorePassword, `${randomBytes(18).toString('base64url')}\n`);
  mustOpenssl(
    [
      'pkcs12',
      '-export',
      '-in',
      files.cert,
      '-inkey',
      files.key,
      '-certfile',
      files.ca,
      '-name',
      BROKER_CN,
      '-out',
      files.keystore,
      '-passout',
      `file:${files.keystorePassword}`,
    ],
    dir,
    'Building the broker keystore',
  );
  fs.chmodSync(files.keystore, 0o600);
}

function readPassword(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * Makes (or reuses) the CA, the broker certificate covering `hosts` plus the defaults, and a password per
 * principal. The CA is remade when missing or near its end; the broker certificate also when it does not
 * chain to the CA or lacks a requested host.
 */
function ensureSecurity({ dir, principals, hosts = [], log = () => {} }) {
  dir = path.resolve(dir);
  for (const name of principals) {
    if (!PRINCIPAL_NAME.test(name)) {
      throw new KafkaSetupError(
        `"${name}" cannot be a SCRAM user name: use letters, digits, ".", "_" and "-".`,
      );
    }
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = {
    ca: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca.key'),
    cert: path.join(dir, 'broker.pem'),
    key: path.join(dir, 'broker.key'),
    keystore: path.join(dir, 'broker.p12'),
    keystorePassword: path.join(dir, 'broker.keystore.password'),
  };
  const wantedHosts = [
    ...new Set([...DEFAULT_HOSTS, ...hosts].map((h) => h.trim().toLowerCase()).filter(Boolean)),
  ];

  let newCa = false;
  if (!fs.existsSync(files.caKey) || !validLongEnough(files.ca, dir)) {
    log(`creating a certificate authority in ${dir}`);
    makeCa(dir, files);
    newCa = true;
  }
  const covered = fs.existsSync(files.cert) ? subjectAltNames(files.cert, dir) : [];
  const brokerOk =
    !newCa &&
    fs.existsSync(files.key) &&
    fs.existsSync(files.keystore) &&
    readPassword(files.keystorePassword) !== '' &&
    validLongEnough(files.cert, dir) &&
    openssl(['verify', '-CAfile', files.ca, files.cert], dir).status === 0 &&
    wantedHosts.every((h) => covered.includes(h));
  if (!brokerOk) {
    log(`creating the broker certificate for ${wantedHosts.join(', ')}`);
    makeBrokerCert(dir, files, wantedHosts);
  }

  const users = {};
  for (const name of [...new Set(principals)]) {
    const passwordFile = path.join(dir, `${name}.password`);
    let password = readPassword(passwordFile);
    if (!password) {
      // base64url: safe inside --add-scram's [name=..,password=..], JAAS quotes and librdkafka properties.
      password = randomBytes(24).toString('base64url');
      writeSecret(passwordFile, `${password}\n`);
    }
    users[name] = { username: name, password, passwordFile };
  }
  return {
    protocol: PROTOCOL,
    mechanism: MECHANISM,
    dir,
    caFile: files.ca,
    files,
    hosts: wantedHosts,
    keystorePassword: readPassword(files.keystorePassword),
    brokerPrincipal: BROKER_PRINCIPAL,
    principals: users,
  };
}

/** librdkafka properties, usable as `kcat -F <file>`, for every principal. Returns the file per principal. */
function writeKcatConfs(security, bootstrap) {
  const confs = {};
  for (const [name, user] of Object.entries(security.principals)) {
    const file = path.join(security.dir, `${name}.kcat.conf`);
    writeSecret(
      file,
      [
        `# ${name} on the local secure broker: kcat -F ${file} -L`,
        `bootstrap.servers=${bootstrap}`,
        `security.protocol=${PROTOCOL}`,
        `sasl.mechanisms=${MECHANISM}`,
        `sasl.username=${user.username}`,
        `sasl.password=${user.password}`,
        `ssl.ca.location=${security.caFile}`,
        '',
      ].join('\n'),
    );
    user.kcatConf = file;
    confs[name] = file;
  }
  return confs;
}

/** kafkajs `ssl` and `sasl` options for one principal. */
function kafkajsOptions(security, principal = ADMIN) {
  const user = security.principals[principal];
  if (!user) throw new KafkaSetupError(`No SCRAM user "${principal}" on this broker.`);
  return {
    ssl: { ca: [fs.readFileSync(security.caFile, 'utf8')] },
    sasl: { mechanism: MECHANISM.toLowerCase(), username: user.username, password: user.password },
  };
}

/** What a caller may see: no passwords in it, so it is safe to print or store. */
function publicView(security) {
  const principals = {};
  for (const [name, user] of Object.entries(security.principals)) {
    principals[name] = { username: user.username, passwordFile: user.passwordFile, kcatConf: user.kcatConf };
  }
  return { protocol: PROTOCOL, mechanism: MECHANISM, dir: security.dir, caFile: security.caFile, principals };
}

/** Identifies the SCRAM users (names and passwords) a storage was formatted with, without revealing them. */
function usersFingerprint(security) {
  const out = {};
  for (const [name, user] of Object.entries(security.principals).sort(([a], [b]) => a.localeCompare(b))) {
    out[name] = createHash('sha256').update(`${name}\0${user.password}`).digest('hex');
  }
  return out;
}

module.exports = {
  PROTOCOL,
  MECHANISM,
  ADMIN,
  BROKER_PRINCIPAL,
  DEFAULT_HOSTS,
  ensureSecurity,
  writeKcatConfs,
  kafkajsOptions,
  publicView,
  usersFingerprint,
};
