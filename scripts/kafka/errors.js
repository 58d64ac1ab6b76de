'use strict';

/**
 * An expected failure (missing Java, port taken, broker did not start, ...). The message is meant to be
 * shown to a person as-is, so callers print `message` and skip the stack trace.
 */
class KafkaSetupError extends Error {
  constructor(message) {
    super(message);
    this.name = 'KafkaSetupError';
  }
}

module.exports = { KafkaSetupError };
