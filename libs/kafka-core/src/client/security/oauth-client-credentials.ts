import { OauthBearerToken } from './kafka-security';

export interface ClientCredentialsOptions {
  /** The OAuth token endpoint (Kafka's `sasl.oauthbearer.token.endpoint.url`). */
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes, when the provider wants them. */
  scope?: string;
  /** Refresh this long before the token's `expires_in` ends, in ms. Default 30000. */
  refreshMarginMs?: number;
  /** Bound of one token request, in ms. Default 10000. */
  timeoutMs?: number;
}

/** A token endpoint that refused or failed; the response body is not quoted (it may echo secrets). */
export class TokenEndpointError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenEndpointError';
  }
}

/**
 * OAUTHBEARER tokens from an OAuth 2.0 client-credentials grant (RFC 6749 §4.4), as Kafka's own
 * login callback handler does: fetched on first use, reused until shortly before they expire, and
 * fetched once for all connections that re-authenticate at the same moment.
 */
export function clientCredentialsTokenProvider(
  options: ClientCredentialsOptions,
): () => Promise<OauthBearerToken> {
  const margin = options.refreshMarginMs ?? 30_000;
  let cached: { token: OauthBearerToken; refreshAt: number } | undefined;
  let inFlight: Promise<OauthBearerToken> | undefined;

  const request = async (): Promise<OauthBearerToken> => {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (options.scope) body.set('scope', options.scope);
    const basic = Buffer.from(
      `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
    ).toString('base64');
    let response: Response;
    try {
      response = await fetch(options.tokenEndpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      throw new TokenEndpointError(`The token endpoint ${options.tokenEndpoint} did not answer`, {
        cause: error,
      });
    }
    if (!response.ok) {
      throw new TokenEndpointError(
        `The token endpoint ${options.tokenEndpoint} refused client ${options.clientId} (HTTP ${response.status})`,
      );
    }
    const json = (await response.json().catch(() => ({}))) as {
      access_token?: unknown;
      expires_in?: unknown;
    };
    if (typeof json.access_token !== 'string' || json.access_token === '') {
      throw new TokenEndpointError(
        `The token endpoint ${options.tokenEndpoint} answered without an access_token`,
      );
    }
    const lifetimeMs = typeof json.expires_in === 'number' ? json.expires_in * 1000 : 300_000;
    const token = { value: json.access_token };
    cached = { token, refreshAt: Date.now() + Math.max(lifetimeMs - margin, lifetimeMs / 2) };
    return token;
  };

  return () => {
    if (cached && Date.now() < cached.refreshAt) return Promise.resolve(cached.token);
    inFlight ??= request().finally(() => (inFlight = undefined));
    return inFlight;
  };
}
