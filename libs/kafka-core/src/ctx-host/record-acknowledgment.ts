import { Acknowledgment } from './kafka.context';

/**
 * The handle a handler receives. Before the handler returns, a nack becomes the delivery's outcome
 * (see invoke-handler); after it returned, acknowledge and nack go to the container's callbacks, so
 * a late nack is honoured like an early one. Only the first call of either counts.
 */
/** Who hears an acknowledgment; `of` is what the container attached to the handle. */
export interface AcknowledgmentSink<T> {
  acknowledged(of: T): void;
  lateNack(of: T, delayMs: number): void;
}

export class RecordAcknowledgment<T = unknown> implements Acknowledgment {
  private done = false;
  private returned = false;
  /** A nack made while the handler was still running. */
  nackDelayMs?: number;

  /** One object per record, no closures: this is on every record's path. */
  constructor(
    private readonly sink: AcknowledgmentSink<T> | undefined,
    private readonly of: T,
  ) {}

  acknowledge(): void {
    if (this.done) return;
    this.done = true;
    this.sink?.acknowledged(this.of);
  }

  nack(delayMs = 0): void {
    if (this.done) return;
    this.done = true;
    if (this.returned) this.sink?.lateNack(this.of, Math.max(0, delayMs));
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
