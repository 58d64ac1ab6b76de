import {
  Catch,
  CanActivate,
  ExceptionFilter,
  UseFilters,
  UseGuards,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { ExternalContextCreator } from '@nestjs/core';
import { KafkaContext } from '../ctx-host/kafka.context';
import { Ctx, Key, Payload } from '../decorators/kafka-params.decorators';
import { fakeRecord } from '../testing/pipeline-fakes';
import { directInvoker, hasExceptionFilters, needsNestContext } from './direct-invoker';
import { KafkaParamsFactory } from './kafka-params.factory';

class AllowAll implements CanActivate {
  canActivate() {
    return true;
  }
}

class Plain {
  handle(@Payload() payload: unknown, @Key() key: string | null, @Ctx() ctx: KafkaContext) {
    return { payload, key, offset: ctx.offset };
  }
  bare(...args: unknown[]) {
    return args.length;
  }
}

class Guarded {
  @UseGuards(AllowAll)
  handle() {}
}

@UsePipes(new ValidationPipe())
class ClassPiped {
  handle() {}
}

const creator = (globals: Partial<Record<string, unknown[]>> = {}, withConfig = true) => {
  const config = Object.fromEntries(
    [
      'getGlobalPipes',
      'getGlobalGuards',
      'getGlobalInterceptors',
      'getGlobalFilters',
      'getGlobalRequestPipes',
      'getGlobalRequestGuards',
      'getGlobalRequestInterceptors',
      'getGlobalRequestFilters',
    ].map((name) => [name, () => globals[name] ?? []]),
  );
  return { pipesContextCreator: withConfig ? { config } : {} } as unknown as ExternalContextCreator;
};

describe('needsNestContext', () => {
  it('is false only when nothing could apply to the method', () => {
    expect(needsNestContext(creator(), new Plain(), 'handle')).toBe(false);
    expect(needsNestContext(creator(), new Guarded(), 'handle')).toBe(true);
    expect(needsNestContext(creator(), new ClassPiped(), 'handle')).toBe(true);
    expect(needsNestContext(creator({ getGlobalPipes: [new ValidationPipe()] }), new Plain(), 'handle')).toBe(
      true,
    );
    expect(needsNestContext(creator({ getGlobalRequestGuards: [{}] }), new Plain(), 'handle')).toBe(true);
  });

  it('keeps the wrapper when the global configuration cannot be read', () => {
    expect(needsNestContext(creator({}, false), new Plain(), 'handle')).toBe(true);
  });
});

@Catch()
class Swallow implements ExceptionFilter {
  catch() {
    return 'handled';
  }
}

class Filtered {
  @UseFilters(new Swallow())
  handle() {}
}

describe('hasExceptionFilters', () => {
  it('is true only when a filter could apply', () => {
    expect(
      hasExceptionFilters(creator({ getGlobalPipes: [new ValidationPipe()] }), new Plain(), 'handle'),
    ).toBe(false);
    expect(hasExceptionFilters(creator(), new Filtered(), 'handle')).toBe(true);
    expect(hasExceptionFilters(creator({ getGlobalFilters: [new Swallow()] }), new Plain(), 'handle')).toBe(
      true,
    );
    expect(hasExceptionFilters(creator({}, false), new Plain(), 'handle')).toBe(true);
  });
});

describe('directInvoker', () => {
  const record = fakeRecord();
  const context = new KafkaContext({
    record,
    listener: { id: 'l', groupId: 'g' },
    attempt: 1,
    heartbeat: async () => undefined,
  });
  const ack = { acknowledge: () => undefined, nack: () => undefined };

  it('maps decorated parameters like the Nest wrapper does', async () => {
    const invoke = directInvoker(new Plain(), 'handle', new KafkaParamsFactory());
    expect(invoke({ id: 1 }, context, ack)).toEqual({
      payload: { id: 1 },
      key: 'k1',
      offset: '41',
    });
  });

  it('passes (payload, context, ack) to a method without parameter decorators', async () => {
    const invoke = directInvoker(new Plain(), 'bare', new KafkaParamsFactory());
    expect(invoke({}, context, ack)).toBe(3);
  });
});
