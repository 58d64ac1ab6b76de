import { IsInt, Min } from 'class-validator';
import {
  DeserializationError,
  PayloadValidationError,
  UnknownEventTypeError,
} from '../errors/kafka-core.errors';
import { deserializeMiddleware } from './deserialize.middleware';
import { InboundMessage } from './pipeline';
import { fakeListener, fakeMessage, fakeRecord } from '../testing/pipeline-fakes';

class Order {
  @IsInt()
  @Min(1)
  id: number;
}

describe('deserializeMiddleware', () => {
  const seen: InboundMessage[] = [];
  const handler = deserializeMiddleware(async (message) => {
    seen.push(message);
    return { status: 'success' };
  });
  beforeEach(() => (seen.length = 0));

  it('hands the parsed JSON to the next step', async () => {
    await expect(handler(fakeMessage())).resolves.toEqual({ status: 'success' });
    expect(seen[0].payload).toEqual({ id: 1 });
  });

  it('turns the value into the payload class instance when it validates', async () => {
    await handler(fakeMessage(fakeListener({ payload: Order })));
    expect(seen[0].payload).toBeInstanceOf(Order);
  });

  it('refuses bytes that are not JSON with a DeserializationError naming the position', async () => {
    const message = fakeMessage(fakeListener(), fakeRecord({ value: Buffer.from('{oops') }));
    await expect(handler(message)).rejects.toThrow(DeserializationError);
    await expect(handler(message)).rejects.toThrow(/orders.*2.*41/);
    expect(seen).toHaveLength(0);
  });

  it('reports the failing fields without their values', async () => {
    const message = fakeMessage(
      fakeListener({ payload: Order }),
      fakeRecord({ value: Buffer.from('{"id":-5}') }),
    );
    const error = (await handler(message).catch((e) => e)) as PayloadValidationError;
    expect(error).toBeInstanceOf(PayloadValidationError);
    expect(error.errors).toEqual([{ field: 'id', constraints: ['min'] }]);
    expect(error.message).not.toContain('-5');
  });

  it('routes by the event-type header, falling back to the default handler', async () => {
    const invoke = async () => undefined;
    const listener = fakeListener({}, [
      { methodName: 'created', eventType: 'order.created', isDefault: false, payload: Order, invoke },
      { methodName: 'other', isDefault: true, invoke },
    ]);
    await handler(fakeMessage(listener, fakeRecord({ headers: { 'event-type': 'order.created' } })));
    await handler(fakeMessage(listener, fakeRecord({ headers: { 'event-type': 'order.shipped' } })));
    expect(seen.map((m) => m.route?.methodName)).toEqual(['created', 'other']);
    expect(seen[0].payload).toBeInstanceOf(Order);
  });

  it('fails an unknown event type, or skips it when configured', async () => {
    const invoke = async () => undefined;
    const routes = [{ methodName: 'created', eventType: 'order.created', isDefault: false, invoke }];
    const unknown = fakeRecord({ headers: { 'event-type': 'order.deleted' } });
    await expect(handler(fakeMessage(fakeListener({}, routes), unknown))).rejects.toThrow(
      UnknownEventTypeError,
    );
    await expect(
      handler(fakeMessage(fakeListener({ unknownEventType: 'skip' }, routes), unknown)),
    ).resolves.toEqual({
      status: 'skipped',
    });
    expect(seen).toHaveLength(0);
  });
});
