import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService, ExternalContextCreator, MetadataScanner } from '@nestjs/core';
import { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { KafkaHandler } from '../decorators/kafka-handler.decorator';
import { KafkaListener, KafkaListenerOptions } from '../decorators/kafka-listener.decorator';
import { KAFKA_PARAMS_METADATA } from '../decorators/kafka-params.decorators';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { KafkaCoreModuleOptions } from '../kafka-core.options';
import { directInvoker, hasExceptionFilters, needsNestContext } from './direct-invoker';
import { KafkaParamsFactory } from './kafka-params.factory';
import { defineListener, Invoker, ListenerDefinition, ListenerRoute } from './listener-definition';

/**
 * Reads `@KafkaListener` / `@KafkaHandler` metadata once and returns plain definitions; the only
 * metadata reader. Handlers are wrapped by Nest's ExternalContextCreator, so pipes, guards,
 * interceptors and exception filters apply to them as to controllers (context type `kafka`).
 */
@Injectable()
export class ListenerExplorer {
  private readonly paramsFactory = new KafkaParamsFactory();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly contextCreator: ExternalContextCreator,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions,
  ) {}

  explore(): ListenerDefinition[] {
    const definitions = this.discovery.getProviders().flatMap((wrapper) => this.fromProvider(wrapper));
    const ids = new Set<string>();
    for (const definition of definitions) {
      if (ids.has(definition.id)) throw new Error(`@KafkaListener id "${definition.id}" is used twice`);
      ids.add(definition.id);
    }
    return definitions;
  }

  private fromProvider(wrapper: InstanceWrapper): ListenerDefinition[] {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) return [];
    const className = instance.constructor.name;
    const methods = this.scanner.getAllMethodNames(Object.getPrototypeOf(instance));
    const defaults = this.options.listenerDefaults ?? {};

    const classOptions = this.discovery.getMetadataByDecorator(KafkaListener, wrapper) as
      KafkaListenerOptions | undefined;
    if (classOptions) {
      const routes: ListenerRoute[] = [];
      for (const method of methods) {
        const handler = this.discovery.getMetadataByDecorator(KafkaHandler, wrapper, method);
        if (!handler) continue;
        routes.push({
          methodName: method,
          eventType: handler.eventType,
          isDefault: handler.isDefault ?? false,
          payload: handler.payload,
          invoke: this.invoker(instance, method),
        });
      }
      return [defineListener(classOptions, defaults, className, routes, true)];
    }

    return methods.flatMap((method) => {
      const options = this.discovery.getMetadataByDecorator(KafkaListener, wrapper, method);
      if (!options) return [];
      const route: ListenerRoute = {
        methodName: method,
        isDefault: true,
        invoke: this.invoker(instance, method),
      };
      return [defineListener(options, defaults, `${className}.${method}`, [route], false)];
    });
  }

  private invoker(instance: Record<string, unknown>, method: string): Invoker {
    if (!needsNestContext(this.contextCreator, instance, method)) {
      return directInvoker(instance, method, this.paramsFactory);
    }
    const callback = instance[method] as (...args: unknown[]) => unknown;
    return this.contextCreator.create(
      instance,
      callback,
      method,
      KAFKA_PARAMS_METADATA,
      this.paramsFactory,
      undefined,
      undefined,
      {
        guards: true,
        interceptors: true,
        filters: hasExceptionFilters(this.contextCreator, instance, method),
      },
      'kafka',
    ) as Invoker;
  }
}
