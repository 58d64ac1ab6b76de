import { runInDelivery } from '../context/delivery-scope';
import { Handler, InboundMessage, Outcome } from './pipeline';

const SUCCESS: Outcome = Object.freeze({ status: 'success' });

function call(message: InboundMessage): unknown {
  const route = message.route ?? message.listener.routes[0];
  return route.invoke(message.payload, message.context, message.ack);
}

/** The innermost step: calls the routed method; a method that returns no promise costs no await. */
export const invokeHandler: Handler = async (message) => {
  const result = call(message);
  if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') await result;
  return SUCCESS;
};

/**
 * The same, inside the record's delivery scope: what the handler publishes or enqueues names the
 * record as its cause and keeps its correlation id and trace.
 */
export const invokeHandlerInScope: Handler = async (message) => {
  const delivery = {
    record: message.record,
    groupId: message.listener.groupId,
    transaction: message.transaction,
  };
  const result = runInDelivery(delivery, () => call(message));
  if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') await result;
  return SUCCESS;
};
