import { Handler, Outcome } from './pipeline';

const SUCCESS: Outcome = Object.freeze({ status: 'success' });

/** The innermost step: calls the routed method; a method that returns no promise costs no await. */
export const invokeHandler: Handler = async (message) => {
  const route = message.route ?? message.listener.routes[0];
  const result = route.invoke(message.payload, message.context, message.ack);
  if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') await result;
  return SUCCESS;
};
