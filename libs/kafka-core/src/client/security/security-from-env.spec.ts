import { kafkajsSecurity } from '../kafkajs/kafkajs-security';
import { describeSecurity } from './kafka-security';
import { kafkaSecurityFromEnv, KafkaSecurityConfigError } from './security-from-env';

const CA = '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n';
const files: Record<string, string> = {
  '/s/ca.pem': CA,
  '/s/client.pem': CERT,
  '/s/client.key': KEY,
  '/s/password': 's3cret-pass\n',
  '/s/empty': '',
  '/s/not-pem': 'hello',
};
const readFile = (path: string): string => {
  if (path in files) return files[path];
  throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
};

function read(env: Record<string, string>) {
  const problems: string[] = [];
  const security = kafkaSecurityFromEnv(env, problems, readFile);
  return { security, problems };
}

describe('kafkaSecurityFromEnv', () => {
  it('is PLAINTEXT (no security) when nothing is set', () => {
    expect(read({})).toEqual({ security: undefined, problems: [] });
  });

  it('reads SASL_SSL with SCRAM, the password from a secret file without its trailing newline', () => {
    const { security, problems } = read({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'monolith',
      KAFKA_SASL_PASSWORD_FILE: '/s/password',
      KAFKA_SSL_CA_FILE: '/s/ca.pem',
    });
    expect(problems).toEqual([]);
    expect(security).toEqual({
      protocol: 'SASL_SSL',
      tls: { ca: CA },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'monolith', password: 's3cret-pass' },
    });
    expect(describeSecurity(security)).toBe('SASL_SSL SCRAM-SHA-512 as monolith');
    const kafkajs = kafkajsSecurity(security);
    expect(kafkajs.ssl).toEqual({ rejectUnauthorized: true, ca: CA });
    expect(kafkajs.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'monolith',
      password: 's3cret-pass',
    });
    expect(kafkajs.reauthenticationThreshold).toBe(10_000);
  });

  it('reads mutual TLS: certificate, key and server name', () => {
    const { security, problems } = read({
      KAFKA_SECURITY_PROTOCOL: 'SSL',
      KAFKA_SSL_CA_FILE: '/s/ca.pem',
      KAFKA_SSL_CERT_FILE: '/s/client.pem',
      KAFKA_SSL_KEY_FILE: '/s/client.key',
      KAFKA_SSL_SERVERNAME: 'kafka.internal',
    });
    expect(problems).toEqual([]);
    expect(kafkajsSecurity(security)).toEqual({
      ssl: { rejectUnauthorized: true, ca: CA, cert: CERT, key: KEY, servername: 'kafka.internal' },
    });
    expect(describeSecurity(security)).toBe('SSL with a client certificate');
  });

  it('verifies certificates against the system CAs when no CA file is given', () => {
    const { security } = read({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'PLAIN',
      KAFKA_SASL_USERNAME: 'key',
      KAFKA_SASL_PASSWORD: 'secret',
    });
    expect(kafkajsSecurity(security).ssl).toEqual({ rejectUnauthorized: true });
  });

  it('names the variable of each problem in one sentence and never echoes a secret', () => {
    const { problems } = read({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'monolith',
      KAFKA_SASL_PASSWORD: 'hunter2-secret',
      KAFKA_SASL_PASSWORD_FILE: '/s/password',
      KAFKA_SSL_CA_FILE: '/missing/ca.pem',
      KAFKA_SSL_CERT_FILE: '/s/client.pem',
    });
    expect(problems).toEqual([
      'KAFKA_SSL_CA_FILE names /missing/ca.pem, which cannot be read (ENOENT)',
      'KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (mutual TLS needs both)',
      'set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both',
    ]);
    expect(problems.join(' ')).not.toContain('hunter2');
    expect(problems.join(' ')).not.toContain('s3cret');
  });

  it.each([
    [
      { KAFKA_SECURITY_PROTOCOL: 'TLS' },
      'KAFKA_SECURITY_PROTOCOL must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, got "TLS"',
    ],
    [
      { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' },
      'KAFKA_SASL_MECHANISM is required with KAFKA_SECURITY_PROTOCOL=SASL_SSL',
    ],
    [
      { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'GSSAPI' },
      'KAFKA_SASL_MECHANISM must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER, got "GSSAPI"',
    ],
    [
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
        KAFKA_SASL_USERNAME: 'u',
      },
      'KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) is required with SCRAM-SHA-256',
    ],
    [
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
        KAFKA_SASL_MECHANISM: 'PLAIN',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
      },
      'KAFKA_SASL_MECHANISM=PLAIN would send the password in clear text over SASL_PLAINTEXT; use SASL_SSL',
    ],
    [
      { KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512' },
      'KAFKA_SASL_MECHANISM is set but KAFKA_SECURITY_PROTOCOL is PLAINTEXT, which does not use it',
    ],
    [
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
        KAFKA_SSL_CA_FILE: '/s/ca.pem',
      },
      'KAFKA_SSL_CA_FILE is set but KAFKA_SECURITY_PROTOCOL is SASL_PLAINTEXT, which does not use it',
    ],
    [
      { KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: '/s/not-pem' },
      'KAFKA_SSL_CA_FILE must name a PEM file holding certificates',
    ],
    [
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD_FILE: '/s/empty',
      },
      'KAFKA_SASL_PASSWORD_FILE names an empty file',
    ],
    [
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
        KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'http://idp.example.com/token',
        KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'svc',
        KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: 'x',
      },
      'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL must be an https:// URL (http:// only on localhost)',
    ],
    [
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
        KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'https://idp.example.com/token',
        KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'svc',
      },
      'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET (or KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE) is required with OAUTHBEARER',
    ],
  ])('refuses %j', (env, problem) => {
    expect(read(env as Record<string, string>).problems).toEqual([problem]);
  });

  it('throws every problem at once when no list is given', () => {
    expect(() =>
      kafkaSecurityFromEnv(
        { KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_SASL_MECHANISM: 'PLAIN' },
        undefined,
        readFile,
      ),
    ).toThrow(KafkaSecurityConfigError);
  });

  it('builds an OAUTHBEARER token provider from the client-credentials variables', () => {
    const { security, problems } = read({
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
      KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'https://idp.example.com/token',
      KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'monolith',
      KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE: '/s/password',
    });
    expect(problems).toEqual([]);
    expect(security?.sasl?.mechanism).toBe('OAUTHBEARER');
    expect(describeSecurity(security)).toBe('SASL_SSL OAUTHBEARER as monolith');
    const kafkajs = kafkajsSecurity(security);
    expect(kafkajs.sasl).toMatchObject({ mechanism: 'oauthbearer' });
    expect(typeof (kafkajs.sasl as { oauthBearerProvider?: unknown }).oauthBearerProvider).toBe('function');
  });
});
