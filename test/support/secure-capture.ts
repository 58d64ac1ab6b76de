import { inspect } from 'node:util';

/** Everything written to stdout and stderr (Nest's logger writes there) and through `console`. */
export interface OutputCapture {
  text(): string;
  /** Adds output produced elsewhere, e.g. by a child process. */
  add(text: string): void;
  stop(): void;
}

/**
 * Captures the process's output until `stop()`, without passing it on: a secured run of four services
 * at debug level would bury the test report.
 */
export function captureOutput(): OutputCapture {
  const chunks: string[] = [];
  const record = (chunk: unknown) =>
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      record(chunk);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const originals = methods.map((name) => console[name]);
  for (const name of methods) {
    console[name] = (...args: unknown[]) =>
      record(`${args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' ')}\n`);
  }
  return {
    text: () => chunks.join(''),
    add: (text) => chunks.push(text),
    stop() {
      streams.forEach((stream, i) => (stream.write = writes[i]));
      methods.forEach((name, i) => (console[name] = originals[i]));
    },
  };
}
