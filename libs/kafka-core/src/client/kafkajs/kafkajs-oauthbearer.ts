import { KafkaJSNonRetriableError } from 'kafkajs';
import type { OauthBearerToken } from '../security/kafka-security';

const SOH = '\u0001';

interface SaslExchange {
  request: { encode(): Promise<Buffer> };
  response: { decode(bytes: Buffer): Promise<Buffer>; parse(bytes: Buffer): Buffer };
}

/**
 * SASL/OAUTHBEARER (RFC 7628) that notices a refused token. A broker refusing a token answers the
 * initial response with an error document instead of failing it; kafkajs' own authenticator ignores
 * that answer, so a bad token surfaces later as a dropped connection ("unreachable") and startup
 * keeps retrying. This one fails the authentication there, as the Java client does.
 */
export function oauthBearerAuthenticator(tokenProvider: () => Promise<OauthBearerToken>) {
  return ({
    saslAuthenticate,
  }: {
    saslAuthenticate(exchange: SaslExchange): Promise<Buffer | undefined>;
  }) => ({
    authenticate: async (): Promise<void> => {
      const token = await tokenProvider();
      const message = Buffer.from(`n,,${SOH}auth=Bearer ${token.value}${SOH}${SOH}`);
      // kafkajs sends the encoded bytes as they are: a length prefix, then the message.
      const framed = Buffer.alloc(4 + message.length);
      framed.writeInt32BE(message.length, 0);
      message.copy(framed, 4);
      const answer = await saslAuthenticate({
        request: { encode: async () => framed },
        // The answer comes length-prefixed too; success is an empty one.
        response: { decode: async (bytes) => unframe(bytes), parse: (bytes) => bytes },
      });
      if (answer && answer.length > 0) {
        let status = 'invalid_token';
        try {
          status = String((JSON.parse(answer.toString('utf8')) as { status?: unknown }).status ?? status);
        } catch {
          // Not JSON: still a refusal.
        }
        // The name is what kafkajs' own SASL failures carry, so callers classify it alike.
        const refused = new KafkaJSNonRetriableError(`SASL OAUTHBEARER authentication failed: ${status}`);
        Object.defineProperty(refused, 'name', { value: 'KafkaJSSASLAuthenticationError' });
        throw refused;
      }
    },
  });
}

function unframe(bytes: Buffer): Buffer {
  if (bytes.length < 4) return bytes;
  const length = bytes.readInt32BE(0);
  return length <= 0 ? Buffer.alloc(0) : bytes.subarray(4, 4 + length);
}
