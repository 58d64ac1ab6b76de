import { DiscoveryService } from '@nestjs/core';
import { anyProviderHolds } from './publishing-providers';

class Publisher {}
class Runtime {
  constructor(readonly publisher: Publisher) {}
}
class OrderService {
  constructor(readonly publisher: Publisher) {}
}
class Repository {
  constructor(readonly table: string) {}
}

const discovery = (...instances: object[]) =>
  ({
    getProviders: () => instances.map((instance) => ({ instance })),
    getControllers: () => [],
  }) as unknown as DiscoveryService;

describe('anyProviderHolds', () => {
  const publisher = new Publisher();

  it('finds a provider that had the publisher injected', () => {
    expect(
      anyProviderHolds(
        discovery(publisher, new Repository('t'), new OrderService(publisher)),
        [publisher],
        [],
      ),
    ).toBe(true);
  });

  it('ignores the target itself, the listed framework classes and unrelated providers', () => {
    expect(
      anyProviderHolds(
        discovery(publisher, new Runtime(publisher), new Repository('t')),
        [publisher],
        [Runtime],
      ),
    ).toBe(false);
  });
});
