import { spawn } from 'node:child_process';
import * as path from 'node:path';

// The repo's Kafka scripts are CommonJS without types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const jars = require(path.join(__dirname, '..', '..', 'scripts', 'kafka', 'jars.js')) as {
  checkJava(): string;
  toolsClasspath(options?: { log?: (msg: string) => void }): Promise<string>;
};

/** Runs one of Kafka's own tools (from the tools classpath) and returns its stdout. */
export async function runKafkaTool(mainClass: string, args: string[], timeoutMs = 180_000): Promise<string> {
  const java = jars.checkJava();
  const classpath = await jars.toolsClasspath({ log: (msg) => process.stderr.write(`kafka: ${msg}\n`) });
  // A small fixed heap: the tool should not compete with the broker for the machine's memory.
  const child = spawn(java, ['-Xmx512m', '-cp', classpath, mainClass, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  }).finally(() => clearTimeout(timer));
  if (code !== 0) {
    throw new Error(`${mainClass} exited with ${code}:\n${(stderr || stdout).trim().slice(-2000)}`);
  }
  return stdout;
}
