import 'reflect-metadata';

const EVENT_CONTRACT = Symbol('kafka-core:event-contract');

export interface EventContractOptions<T = never> {
  /** The topic events of this class are published to. */
  topic: string;
  /** The `event-type` header; defaults to the class name. */
  type?: string;
  /** The `schema-version` header; raise it on an incompatible change. Default 1. */
  version?: number;
  /** The record key (per-key order), taken from the event. */
  key?: (event: T) => string | null | undefined;
}

export interface EventContract {
  topic: string;
  type: string;
  version: number;
  key?: (event: object) => string | null | undefined;
}

/**
 * Binds an event class to its topic, type name and schema version, so producers and consumers share
 * one definition. Only metadata is written; the publisher and the outbox read it.
 */
export function EventContract<T extends object>(options: EventContractOptions<T>): ClassDecorator {
  return (target) => {
    const contract: EventContract = {
      topic: options.topic,
      type: options.type ?? target.name,
      version: options.version ?? 1,
      key: options.key as EventContract['key'],
    };
    Reflect.defineMetadata(EVENT_CONTRACT, contract, target);
  };
}

/** The contract of an event's class (or of a class), if it has one. */
export function contractOf(eventOrClass: object): EventContract | undefined {
  const target = typeof eventOrClass === 'function' ? eventOrClass : eventOrClass.constructor;
  return Reflect.getMetadata(EVENT_CONTRACT, target) as EventContract | undefined;
}
