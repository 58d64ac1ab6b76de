import { DiscoveryService } from '@nestjs/core';

/**
 * Whether any of the application's providers or controllers holds one of `targets` (injected through
 * its constructor, so kept in a field). Tracking the handled record costs every promise of the process
 * something on Node 20 (async hooks), so kafka-core only does it where a handler can publish.
 */
export function anyProviderHolds(
  discovery: DiscoveryService,
  targets: readonly object[],
  ignore: readonly (abstract new (...args: never[]) => object)[],
): boolean {
  const wanted = new Set(targets);
  for (const wrapper of [...discovery.getProviders(), ...discovery.getControllers()]) {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    if (!instance || typeof instance !== 'object' || wanted.has(instance)) continue;
    if (ignore.some((type) => instance instanceof type)) continue;
    for (const key of Object.keys(instance)) {
      if (wanted.has(instance[key] as object)) return true;
    }
  }
  return false;
}
