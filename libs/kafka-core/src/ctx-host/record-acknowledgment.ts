import { Acknowledgment } from './kafka.context';

/**
 * The handle a handler receives. Before the handler returns, a nack becomes the delivery's outcome
 * (see invoke-handler); after it returned, acknowledge and nack go to the container's callbacks, so
 * a late nack is honoured like an early one. Only the first call of either counts.
 */
export class RecordAcknowledgment implements Acknowledgment {
  private done = false;
  private returned = false;
  /** A nack made while the handler was still running. */
  nackDelayMs?: number;

  constructor(
    private readonly onAcknowledge: () => void,
    private readonly onLateNack: (delayMs: number) => void,
  ) {}

  acknowledge(): void {
    if (this.done) return;
    this.done = true;
    this.onAcknowledge();
  }

  nack(delayMs = 0): void {
    if (this.done) return;
    this.done = true;
    if (this.returned) this.onLateNack(Math.max(0, delayMs));
    else this.nackDelayMs = Math.max(0, delayMs);
  }

  /** The handler returned: later calls are asynchronous acknowledgments. */
  handlerReturned(): void {
    this.returned = true;
  }
}

/** For deliveries whose acknowledgment the container makes itself (auto ack, batches). */
export const IMPLICIT_ACK: Acknowledgment = Object.freeze({
  acknowledge: () => undefined,
  nack: () => undefined,
});
