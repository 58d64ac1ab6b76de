import { readFileSync } from 'node:fs';
import {
  KafkaSaslOptions,
  KafkaSecurityOptions,
  KafkaTlsOptions,
  SASL_MECHANISMS,
  SaslMechanism,
  SECURITY_PROTOCOLS,
  SecurityProtocol,
} from './kafka-security';
import { clientCredentialsTokenProvider } from './oauth-client-credentials';

/** Every variable the connection security is read from (a `…_FILE` twin exists for each secret). */
export const KAFKA_SECURITY_ENV = {
  KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL.',
  KAFKA_SASL_MECHANISM: 'PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER; required with SASL_*.',
  KAFKA_SASL_USERNAME: 'SASL user name (PLAIN, SCRAM); or KAFKA_SASL_USERNAME_FILE.',
  KAFKA_SASL_PASSWORD: 'SASL password (PLAIN, SCRAM); or KAFKA_SASL_PASSWORD_FILE.',
  KAFKA_SSL_CA_FILE: "PEM CA bundle that signed the brokers' certificates; unset: the system's CAs.",
  KAFKA_SSL_CERT_FILE: 'PEM client certificate for mutual TLS (with KAFKA_SSL_KEY_FILE).',
  KAFKA_SSL_KEY_FILE: 'PEM private key of the client certificate.',
  KAFKA_SSL_KEY_PASSWORD: 'Passphrase of an encrypted KAFKA_SSL_KEY_FILE; or KAFKA_SSL_KEY_PASSWORD_FILE.',
  KAFKA_SSL_SERVERNAME: "Host name to check the broker's certificate against, when not the dialled one.",
  KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL:
    'OAUTHBEARER: the OAuth token endpoint (client-credentials grant).',
  KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'OAUTHBEARER: the client id.',
  KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: 'OAUTHBEARER: the client secret; or …_CLIENT_SECRET_FILE.',
  KAFKA_SASL_OAUTHBEARER_SCOPE: 'OAUTHBEARER: scopes to ask for, space-separated (optional).',
} as const;

const SECRETS = [
  'KAFKA_SASL_USERNAME',
  'KAFKA_SASL_PASSWORD',
  'KAFKA_SSL_KEY_PASSWORD',
  'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
] as const;

/** The names a deployment may set, `…_FILE` twins included (for checking compose files and docs). */
export const KAFKA_SECURITY_ENV_NAMES: readonly string[] = [
  ...Object.keys(KAFKA_SECURITY_ENV),
  ...SECRETS.map((name) => `${name}_FILE`),
];

/** The connection security could not be read; each problem is one sentence naming its variable. */
export class KafkaSecurityConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Kafka connection security is misconfigured: ${problems.join('; ')}`);
    this.name = 'KafkaSecurityConfigError';
  }
}

type Env = Record<string, string | undefined>;
type FileReader = (path: string) => string;

class Reader {
  constructor(
    private readonly env: Env,
    private readonly readFile: FileReader,
    readonly problems: string[],
  ) {}

  value(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  }

  /** A file's contents; the path is named in the problem, never the contents. */
  file(name: string): string | undefined {
    const path = this.value(name);
    if (path === undefined) return undefined;
    try {
      return this.readFile(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      this.problems.push(`${name} names ${path}, which cannot be read (${code})`);
      return undefined;
    }
  }

  pem(name: string, kind: string): string | undefined {
    const text = this.file(name);
    if (text !== undefined && !text.includes('-----BEGIN')) {
      this.problems.push(`${name} must name a PEM file holding ${kind}`);
      return undefined;
    }
    return text;
  }

  /** A secret from `NAME` or from the file `NAME_FILE` (Docker and Kubernetes secrets), not both. */
  secret(name: string): string | undefined {
    const direct = this.value(name);
    const fromFile = this.value(`${name}_FILE`) !== undefined ? this.file(`${name}_FILE`) : undefined;
    if (direct !== undefined && this.value(`${name}_FILE`) !== undefined) {
      this.problems.push(`set ${name} or ${name}_FILE, not both`);
      return undefined;
    }
    // Secret files usually end with a newline that is not part of the secret.
    const secret = fromFile !== undefined ? fromFile.replace(/\r?\n$/, '') : direct;
    if (fromFile !== undefined && secret === '') this.problems.push(`${name}_FILE names an empty file`);
    return secret === '' ? undefined : secret;
  }

  /** A secret that must be given: missing is a problem of its own, unless reading it was one already. */
  required(name: string, mechanism: string): string | undefined {
    const before = this.problems.length;
    const secret = this.secret(name);
    if (secret === undefined && this.problems.length === before) {
      this.problems.push(`${name} (or ${name}_FILE) is required with ${mechanism}`);
    }
    return secret;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const raw = this.value(name);
    if (raw === undefined) return undefined;
    const upper = raw.toUpperCase() as T;
    if (allowed.includes(upper)) return upper;
    this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
    return undefined;
  }
}

/**
 * The connection security a service was configured with (see KAFKA_SECURITY_ENV). Collects every
 * problem into `problems` when given, otherwise throws them as one KafkaSecurityConfigError.
 */
export function kafkaSecurityFromEnv(
  env: Env = process.env,
  problems?: string[],
  readFile: FileReader = (path) => readFileSync(path, 'utf8'),
): KafkaSecurityOptions | undefined {
  const found: string[] = [];
  const r = new Reader(env, readFile, found);
  const protocol: SecurityProtocol = r.oneOf('KAFKA_SECURITY_PROTOCOL', SECURITY_PROTOCOLS) ?? 'PLAINTEXT';
  const tls = protocol === 'SSL' || protocol === 'SASL_SSL' ? readTls(r) : undefined;
  const sasl = protocol.startsWith('SASL_') ? readSasl(r, protocol) : undefined;
  if (protocol === 'PLAINTEXT' || protocol === 'SASL_PLAINTEXT')
    refuseUnused(r, protocol, ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE']);
  if (protocol === 'PLAINTEXT' || protocol === 'SSL')
    refuseUnused(r, protocol, [
      'KAFKA_SASL_MECHANISM',
      'KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD',
      'KAFKA_SASL_PASSWORD_FILE',
    ]);

  if (problems) problems.push(...found);
  else if (found.length > 0) throw new KafkaSecurityConfigError(found);
  if (found.length > 0 || protocol === 'PLAINTEXT') return undefined;
  return { protocol, ...(tls ? { tls } : {}), ...(sasl ? { sasl } : {}) };
}

/** Credentials given for a protocol that would not use them are a mistake, not something to ignore. */
function refuseUnused(r: Reader, protocol: SecurityProtocol, names: string[]): void {
  for (const name of names) {
    if (r.value(name) !== undefined) {
      r.problems.push(`${name} is set but KAFKA_SECURITY_PROTOCOL is ${protocol}, which does not use it`);
    }
  }
}

function readTls(r: Reader): KafkaTlsOptions {
  const tls: KafkaTlsOptions = {};
  const ca = r.pem('KAFKA_SSL_CA_FILE', 'certificates');
  const cert = r.pem('KAFKA_SSL_CERT_FILE', 'a certificate');
  const key = r.pem('KAFKA_SSL_KEY_FILE', 'a private key');
  const passphrase = r.secret('KAFKA_SSL_KEY_PASSWORD');
  const servername = r.value('KAFKA_SSL_SERVERNAME');
  if ((r.value('KAFKA_SSL_CERT_FILE') === undefined) !== (r.value('KAFKA_SSL_KEY_FILE') === undefined)) {
    r.problems.push('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (mutual TLS needs both)');
  }
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  if (passphrase !== undefined) tls.passphrase = passphrase;
  if (servername !== undefined) tls.servername = servername;
  return tls;
}

function readSasl(r: Reader, protocol: SecurityProtocol): KafkaSaslOptions | undefined {
  const mechanism = r.oneOf<SaslMechanism>('KAFKA_SASL_MECHANISM', SASL_MECHANISMS);
  if (mechanism === undefined) {
    if (r.value('KAFKA_SASL_MECHANISM') === undefined) {
      r.problems.push(`KAFKA_SASL_MECHANISM is required with KAFKA_SECURITY_PROTOCOL=${protocol}`);
    }
    return undefined;
  }
  if (mechanism === 'OAUTHBEARER') return readOauth(r);
  if (mechanism === 'PLAIN' && protocol === 'SASL_PLAINTEXT') {
    r.problems.push(
      'KAFKA_SASL_MECHANISM=PLAIN would send the password in clear text over SASL_PLAINTEXT; use SASL_SSL',
    );
  }
  const username = r.required('KAFKA_SASL_USERNAME', mechanism);
  const password = r.required('KAFKA_SASL_PASSWORD', mechanism);
  return username !== undefined && password !== undefined ? { mechanism, username, password } : undefined;
}

function readOauth(r: Reader): KafkaSaslOptions | undefined {
  const endpoint = r.value('KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL');
  const clientId = r.value('KAFKA_SASL_OAUTHBEARER_CLIENT_ID');
  const clientSecret = r.required('KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET', 'OAUTHBEARER');
  const scope = r.value('KAFKA_SASL_OAUTHBEARER_SCOPE');
  if (endpoint === undefined) {
    r.problems.push('KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL is required with OAUTHBEARER');
  } else if (!isSafeEndpoint(endpoint)) {
    r.problems.push(
      'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL must be an https:// URL (http:// only on localhost)',
    );
  }
  if (clientId === undefined)
    r.problems.push('KAFKA_SASL_OAUTHBEARER_CLIENT_ID is required with OAUTHBEARER');
  if (endpoint === undefined || clientId === undefined || clientSecret === undefined) return undefined;
  return {
    mechanism: 'OAUTHBEARER',
    principal: clientId,
    tokenProvider: clientCredentialsTokenProvider({ tokenEndpoint: endpoint, clientId, clientSecret, scope }),
  };
}

function isSafeEndpoint(raw: string): boolean {
  try {
    const url = new URL(raw);
    if (url.protocol === 'https:') return true;
    return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}
