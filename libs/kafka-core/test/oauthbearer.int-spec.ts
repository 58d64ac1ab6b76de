import { generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { KafkajsClient } from '../src/client/kafkajs.client';
import { clientCredentialsTokenProvider } from '../src/client/security/oauth-client-credentials';
import { KafkaSecurityOptions } from '../src/client/security/kafka-security';
import { KafkaAuthenticationError } from '../src/errors/kafka-access.errors';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startKafka } = require('../../../scripts/kafka/kafka');

const AUDIENCE = 'kafka';
const TOKEN_LIFETIME_S = 6;
const CLIENT_SECRET = 'monolith-client-secret';

/**
 * A minimal OAuth authorization server: a JWKS and a client-credentials token endpoint issuing
 * RS256 JWTs whose `sub` is the client id. The broker validates them against the JWKS.
 */
class TokenIssuer {
  private readonly server: Server;
  private readonly key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  issued = 0;
  url = '';

  constructor() {
    this.server = createServer((req, res) => {
      if (req.url === '/jwks') {
        const jwk = { ...this.key.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
        return;
      }
      const [user, secret] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
        .toString()
        .split(':');
      if (req.url !== '/token' || secret !== CLIENT_SECRET) {
        res.writeHead(401).end();
        return;
      }
      this.issued++;
      const token = TokenIssuer.jwt(this.key.privateKey, { sub: user, aud: AUDIENCE });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S }));
    });
  }

  static jwt(key: KeyObject, claims: Record<string, unknown>, lifetimeS = TOKEN_LIFETIME_S): string {
    const now = Math.floor(Date.now() / 1000);
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const body = `${part({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${part({ ...claims, iat: now, exp: now + lifetimeS })}`;
    return `${body}.${sign('RSA-SHA256', Buffer.from(body), key).toString('base64url')}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('OAUTHBEARER against a broker validating tokens with the issuer’s JWKS', () => {
  const issuer = new TokenIssuer();
  let kafka: { brokers: string[]; security: { caFile: string }; stop(): Promise<void> };
  let ca: string;

  beforeAll(async () => {
    await issuer.start();
    // The broker ends a session when its token expires: clients must re-authenticate before that.
    kafka = await startKafka({
      port: 0,
      secure: true,
      oauth: { jwksUrl: `${issuer.url}/jwks`, audience: AUDIENCE },
    });
    ca = readFileSync(kafka.security.caFile, 'utf8');
  }, 120_000);

  afterAll(async () => {
    await kafka?.stop();
    await issuer.stop();
  });

  const clientWith = (tokenProvider: KafkaSecurityOptions extends { sasl?: infer S } ? S : never) =>
    new KafkajsClient({
      brokers: kafka.brokers,
      clientId: 'oauth-test',
      security: {
        protocol: 'SASL_SSL',
        tls: { ca },
        sasl: tokenProvider,
        reauthenticationThresholdMs: 1_000,
      },
    });

  it('publishes as the token’s subject and keeps publishing across re-authentications with fresh tokens', async () => {
    const client = clientWith({
      mechanism: 'OAUTHBEARER',
      principal: 'monolith',
      tokenProvider: clientCredentialsTokenProvider({
        tokenEndpoint: `${issuer.url}/token`,
        clientId: 'monolith',
        clientSecret: CLIENT_SECRET,
        // A fresh token by the time the connection re-authenticates (the margin exceeds the threshold).
        refreshMarginMs: 4_000,
      }),
    });
    const producer = client.producer();
    await producer.connect();
    try {
      // Over two token lifetimes of publishing on the same connections: each send must succeed, which
      // needs the connections to have re-authenticated with tokens that were still valid.
      const offsets: string[] = [];
      const until = Date.now() + 2.5 * TOKEN_LIFETIME_S * 1000;
      while (Date.now() < until) {
        const [[written]] = await producer.send([
          { topic: 'logging-events', records: [{ key: 'oauth', value: Buffer.from('{}'), headers: {} }] },
        ]);
        offsets.push(written.offset);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(offsets.length).toBeGreaterThan(20);
      expect(issuer.issued).toBeGreaterThanOrEqual(3);
    } finally {
      await producer.disconnect();
    }
  }, 60_000);

  it('is refused as what it is when the token is not signed by the issuer', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const client = clientWith({
      mechanism: 'OAUTHBEARER',
      principal: 'monolith',
      tokenProvider: async () => ({ value: TokenIssuer.jwt(stranger, { sub: 'monolith', aud: AUDIENCE }) }),
    });
    const admin = client.admin();
    const failure = await admin
      .connect()
      .then(() => admin.describeCluster())
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    await admin.disconnect().catch(() => undefined);
    expect(failure).toBeInstanceOf(KafkaAuthenticationError);
    expect((failure as KafkaAuthenticationError).reason).toBe('authentication failed');
    expect((failure as Error).message).toContain('refused to authenticate monolith');
  });
});
