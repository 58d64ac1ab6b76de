import { Handler } from './pipeline';

/** The innermost step: calls the routed method with the deserialized payload. */
export const invokeHandler: Handler = async (message) => {
  const route = message.route ?? message.listener.routes[0];
  await route.invoke(message.payload, message.context, message.ack);
  return { status: 'success' };
};
