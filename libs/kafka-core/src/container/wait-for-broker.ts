import { KafkaAdminPort } from '../client/kafka-client.port';
import { KafkaAuthenticationError } from '../errors/kafka-access.errors';

/** Thrown when the broker did not answer within the startup budget. */
export class BrokerUnavailableError extends Error {
  constructor(brokers: string[], waitedMs: number, cause: unknown) {
    super(
      `Kafka is not reachable at ${brokers.join(',')} after ${Math.round(waitedMs / 1000)} s ` +
        `(${(cause as Error)?.message ?? cause}). Start a broker (npm run kafka) or set KAFKA_BROKERS.`,
    );
    this.name = 'BrokerUnavailableError';
  }
}

/**
 * Polls describeCluster with exponential backoff (capped at 5 s) until it answers or time runs out.
 * A refused login or certificate ends the wait at once: waiting would not change the answer.
 */
export async function waitForBroker(
  admin: KafkaAdminPort,
  brokers: string[],
  timeoutMs: number,
  onRetry: (error: unknown, delayMs: number) => void = () => undefined,
): Promise<void> {
  const started = Date.now();
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      await admin.connect();
      await admin.describeCluster();
      return;
    } catch (error) {
      if (error instanceof KafkaAuthenticationError) {
        await admin.disconnect().catch(() => undefined);
        throw error;
      }
      const elapsed = Date.now() - started;
      if (elapsed + delay > timeoutMs) throw new BrokerUnavailableError(brokers, elapsed, error);
      onRetry(error, delay);
      await admin.disconnect().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
