import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { KafkaListener } from '../decorators/kafka-listener.decorator';
import { ListenerDefinition, toDefinition } from './listener-definition';

/** Reads `@KafkaListener` metadata once and returns plain definitions; the only metadata reader. */
@Injectable()
export class ListenerExplorer {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  explore(): ListenerDefinition[] {
    const definitions: ListenerDefinition[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || !wrapper.isDependencyTreeStatic() || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const options = this.discovery.getMetadataByDecorator(KafkaListener, wrapper, method);
        if (!options) continue;
        const fn = instance[method] as (...args: unknown[]) => unknown;
        definitions.push(toDefinition(options, instance.constructor.name, method, fn.bind(instance)));
      }
    }
    const ids = new Set<string>();
    for (const definition of definitions) {
      if (ids.has(definition.id)) throw new Error(`@KafkaListener id "${definition.id}" is used twice`);
      ids.add(definition.id);
    }
    return definitions;
  }
}
