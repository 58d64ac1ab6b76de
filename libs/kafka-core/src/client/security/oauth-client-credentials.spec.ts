import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { clientCredentialsTokenProvider, TokenEndpointError } from './oauth-client-credentials';

/** A real HTTP token endpoint: records each grant and answers with what the test scripted. */
describe('clientCredentialsTokenProvider', () => {
  let server: Server;
  let url: string;
  const grants: { authorization?: string; body: string }[] = [];
  let answer: (n: number) => { status: number; body: unknown } = () => ({ status: 500, body: {} });

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        grants.push({ authorization: req.headers.authorization, body });
        const { status, body: json } = answer(grants.length);
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => (grants.length = 0));

  it('asks with the client credentials once and shares the token until it nears expiry', async () => {
    answer = (n) => ({ status: 200, body: { access_token: `token-${n}`, expires_in: 3600 } });
    const provider = clientCredentialsTokenProvider({
      tokenEndpoint: url,
      clientId: 'monolith',
      clientSecret: 's3cret',
      scope: 'kafka',
    });
    const tokens = await Promise.all([provider(), provider(), provider()]);
    expect(tokens.map((t) => t.value)).toEqual(['token-1', 'token-1', 'token-1']);
    expect(grants).toHaveLength(1);
    expect(grants[0].authorization).toBe(`Basic ${Buffer.from('monolith:s3cret').toString('base64')}`);
    expect(new URLSearchParams(grants[0].body).get('grant_type')).toBe('client_credentials');
    expect(new URLSearchParams(grants[0].body).get('scope')).toBe('kafka');
  });

  it('fetches a new token once the old one is within the refresh margin', async () => {
    answer = (n) => ({ status: 200, body: { access_token: `token-${n}`, expires_in: 1 } });
    const provider = clientCredentialsTokenProvider({
      tokenEndpoint: url,
      clientId: 'monolith',
      clientSecret: 's3cret',
      refreshMarginMs: 1_000,
    });
    expect((await provider()).value).toBe('token-1');
    // A one-second token with a one-second margin is refreshed halfway through its life.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await provider()).value).toBe('token-2');
  });

  it('fails with the status, never the response body, when the endpoint refuses', async () => {
    answer = () => ({ status: 401, body: { error: 'invalid_client', echoed: 's3cret' } });
    const provider = clientCredentialsTokenProvider({
      tokenEndpoint: url,
      clientId: 'monolith',
      clientSecret: 's3cret',
    });
    const failure = await provider().then(
      () => new Error('expected a refusal'),
      (error: unknown) => error as Error,
    );
    expect(failure).toBeInstanceOf(TokenEndpointError);
    expect(failure.message).toBe(`The token endpoint ${url} refused client monolith (HTTP 401)`);
    expect(failure.message).not.toContain('s3cret');
  });
});
