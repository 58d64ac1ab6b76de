/**
 * Every metric kafka-core exports, in one place: Prometheus naming (base units, `_total` for counters,
 * `_seconds` for durations). The README maps the seed's names onto these.
 */
export const KAFKA_METRICS = {
  // Listeners, per topic, group and listener.
  recordsProcessed: {
    name: 'kafka_core_listener_records_processed_total',
    help: 'Records a listener handled successfully',
    labelNames: ['topic', 'group', 'listener'],
  },
  recordsFailed: {
    name: 'kafka_core_listener_records_failed_total',
    help: 'Records whose handling failed for good (dead-lettered or skipped after an error)',
    labelNames: ['topic', 'group', 'listener'],
  },
  recordsRetried: {
    name: 'kafka_core_listener_records_retried_total',
    help: 'Retries scheduled (blocking backoff or a retry topic)',
    labelNames: ['topic', 'group', 'listener'],
  },
  recordsDeadLettered: {
    name: 'kafka_core_listener_records_dead_lettered_total',
    help: 'Records written to a dead-letter topic',
    labelNames: ['topic', 'group', 'listener'],
  },
  recordsSkipped: {
    name: 'kafka_core_listener_records_skipped_total',
    help: 'Records acknowledged without handling (inbox duplicates, another group retry, deadLetter false)',
    labelNames: ['topic', 'group', 'listener'],
  },
  processingDuration: {
    name: 'kafka_core_listener_processing_duration_seconds',
    help: 'Time of one delivery attempt through the pipeline and handler',
    labelNames: ['topic', 'group', 'listener'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  },
  inFlight: {
    name: 'kafka_core_listener_in_flight_records',
    help: 'Records taken from Kafka and not yet finished',
    labelNames: ['group', 'listener'],
  },
  backpressureActive: {
    name: 'kafka_core_listener_backpressure_active',
    help: '1 while a listener holds back fetching because its in-flight bound is reached',
    labelNames: ['group', 'listener'],
  },
  commits: {
    name: 'kafka_core_listener_offset_commits_total',
    help: 'Offset commit requests sent to the broker',
    labelNames: ['group', 'listener', 'ack_mode'],
  },
  processingRate: {
    name: 'kafka_core_listener_processing_rate_records_per_second',
    help: 'Records handled per second over the last 10 seconds',
    labelNames: ['group', 'listener'],
  },
  consumerLag: {
    name: 'kafka_core_consumer_lag_records',
    help: 'Records between the committed offset and the end of the partition (admin API)',
    labelNames: ['topic', 'partition', 'group'],
  },
  listenerUp: {
    name: 'kafka_core_listener_running',
    help: '1 while a listener is running (or paused), 0 when stopped or failed',
    labelNames: ['group', 'listener'],
  },
  oldestInFlightAge: {
    name: 'kafka_core_listener_oldest_in_flight_age_seconds',
    help: 'How long the oldest record taken and not finished has waited (0 when none); grows while a listener is stuck',
    labelNames: ['group', 'listener'],
  },
  retrying: {
    name: 'kafka_core_listener_retrying',
    help: '1 while a record waits out an infrastructure (transient) failure, retried in place',
    labelNames: ['group', 'listener'],
  },
  breakerState: {
    name: 'kafka_core_listener_circuit_breaker_state',
    help: "The listener's circuit breaker: 0 closed, 1 half-open, 2 open (listeners with a breaker only)",
    labelNames: ['group', 'listener'],
  },
  listenerPaused: {
    name: 'kafka_core_listener_paused',
    help: '1 while an operator holds the listener paused',
    labelNames: ['group', 'listener'],
  },
  pauseActions: {
    name: 'kafka_core_listener_pause_actions_total',
    help: 'Operator pause and resume requests (action "pause" or "resume")',
    labelNames: ['group', 'listener', 'action'],
  },
  // Publisher.
  producerRecordsSent: {
    name: 'kafka_core_producer_records_sent_total',
    help: 'Records acknowledged by the broker',
    labelNames: ['topic'],
  },
  producerErrors: {
    name: 'kafka_core_producer_records_failed_total',
    help: 'Records whose produce request failed',
    labelNames: ['topic'],
  },
  producerLatency: {
    name: 'kafka_core_producer_request_duration_seconds',
    help: 'Time from sending a produce request to its acknowledgement (acks=all)',
    labelNames: [],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  },
  // Outbox.
  outboxBacklog: {
    name: 'kafka_core_outbox_backlog_rows',
    help: 'Outbox rows waiting to be published',
    labelNames: [],
  },
  outboxOldestAge: {
    name: 'kafka_core_outbox_oldest_age_seconds',
    help: 'Age of the oldest outbox row waiting to be published',
    labelNames: [],
  },
  outboxParkedRows: {
    name: 'kafka_core_outbox_parked_rows',
    help: 'Rows in kafka_outbox_dead',
    labelNames: [],
  },
  outboxPublished: {
    name: 'kafka_core_outbox_published_total',
    help: 'Outbox rows published by this instance',
    labelNames: [],
  },
  outboxFailed: {
    name: 'kafka_core_outbox_failed_total',
    help: 'Outbox rows whose publish attempt failed (retried later)',
    labelNames: [],
  },
  outboxParked: {
    name: 'kafka_core_outbox_parked_total',
    help: 'Outbox rows this instance moved to kafka_outbox_dead',
    labelNames: [],
  },
  outboxLeader: {
    name: 'kafka_core_outbox_relay_leader',
    help: '1 while this instance leads the outbox relay',
    labelNames: [],
  },
  // Broker.
  connectivity: {
    name: 'kafka_core_broker_connectivity',
    help: '1 when the broker answered the last probe, 0 when it did not',
    labelNames: [],
  },
} as const;

/** The seed's metric names, and the query that gives each from ours (README, operations). */
export const SEED_METRIC_MAPPING: Record<string, string> = {
  kafka_consumer_lag_total: `sum by (group, topic, partition) (${KAFKA_METRICS.consumerLag.name})`,
  kafka_connectivity_status: KAFKA_METRICS.connectivity.name,
  backpressure_active_total: `sum(${KAFKA_METRICS.backpressureActive.name})`,
  manual_commits_total: `${KAFKA_METRICS.commits.name}{ack_mode=~"manual.*"}`,
  processing_rate_current: KAFKA_METRICS.processingRate.name,
};
