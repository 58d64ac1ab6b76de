import { DiscoveryService } from '@nestjs/core';

export interface KafkaHandlerOptions {
  /** The `event-type` header value this method handles. */
  eventType?: string;
  /** Handles every event type without a method of its own (Spring's `isDefault`). */
  isDefault?: boolean;
  /** Payload class for this event type (overrides the listener's). */
  payload?: new (...args: never[]) => object;
}

/**
 * One method per event type inside a class-level `@KafkaListener`:
 * `@KafkaHandler({ eventType: 'patient.created', payload: PatientCreated })`.
 */
export const KafkaHandler = DiscoveryService.createDecorator<KafkaHandlerOptions>();
