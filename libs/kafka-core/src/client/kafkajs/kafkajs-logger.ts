import { Logger } from '@nestjs/common';
import { logLevel, LogEntry } from 'kafkajs';

/** kafkajs logs through Nest's logger; its INFO chatter (joins, commits) stays at debug. */
export function nestLogCreator() {
  const logger = new Logger('kafkajs');
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...extra } = log;
      const text = `${message} ${JSON.stringify(extra)}`;
      // Error responses are also thrown to the caller, which decides whether they matter (a topic
      // another instance created first does not); logging them here too would only alarm.
      // The publisher replaces its producer after a failed request, which keeps idempotence without
      // kafkajs' endless retries; its warning about limited retries does not apply.
      if (message.startsWith('Response ') || message.startsWith('Limiting retries for the idempotent'))
        logger.debug(text);
      else if (level === logLevel.ERROR) logger.error(text);
      else if (level === logLevel.WARN) logger.warn(text);
      else logger.debug(text);
    };
}
