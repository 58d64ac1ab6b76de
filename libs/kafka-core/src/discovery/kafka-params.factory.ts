import { ParamData } from '@nestjs/common';
import { ParamsFactory } from '@nestjs/core/helpers/external-context-creator';
import { KafkaParamtype } from '../decorators/kafka-params.decorators';
import { KafkaContext } from '../ctx-host/kafka.context';

/** Maps a parameter decorator to its value; the handler's raw arguments are (payload, context, ack). */
export class KafkaParamsFactory implements ParamsFactory {
  exchangeKeyForValue(type: number, data: ParamData, args: unknown[]): unknown {
    const [payload, context, ack] = args as [unknown, KafkaContext, unknown];
    switch (type as KafkaParamtype) {
      case KafkaParamtype.PAYLOAD:
        return payload;
      case KafkaParamtype.KEY:
        return context.key;
      case KafkaParamtype.HEADERS:
        return typeof data === 'string' ? context.headers[data] : context.headers;
      case KafkaParamtype.ACK:
        return ack;
      case KafkaParamtype.CONTEXT:
        return context;
      case KafkaParamtype.TRANSACTION:
        return context.transaction;
      default:
        return undefined;
    }
  }
}
