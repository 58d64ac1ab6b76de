import { runInDelivery } from '../context/delivery-scope';
import { RecordAcknowledgment } from '../ctx-host/record-acknowledgment';
import { Handler, InboundMessage, Outcome } from './pipeline';

const SUCCESS: Outcome = Object.freeze({ status: 'success' });

function call(message: InboundMessage): unknown {
  const route = message.route ?? message.listener.routes[0];
  return route.invoke(message.payload, message.context, message.ack);
}

/**
 * A nack made inside the handler is its outcome: the inbox rolls its row back with it, so the
 * redelivery is handled, not skipped as a duplicate. No failed attempt is counted.
 */
function settled(message: InboundMessage): Outcome {
  const ack = message.ack;
  if (!(ack instanceof RecordAcknowledgment)) return SUCCESS;
  ack.handlerReturned();
  if (ack.nackDelayMs === undefined) return SUCCESS;
  return { status: 'retry', delayMs: ack.nackDelayMs, error: new Error('nack'), nack: true };
}

/** The innermost step: calls the routed method; a method that returns no promise costs no await. */
export const invokeHandler: Handler = async (message) => {
  const result = call(message);
  if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') await result;
  return settled(message);
};

/**
 * The same, inside the record's delivery scope: what the handler publishes or enqueues names the
 * record as its cause and keeps its correlation id and trace.
 */
export const invokeHandlerInScope: Handler = async (message) => {
  const result = runInDelivery(message, () => call(message));
  if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') await result;
  return settled(message);
};
