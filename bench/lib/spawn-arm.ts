import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { MemoryReport } from './child';

const REPO = path.resolve(__dirname, '..', '..');

/**
 * Runs an arm file in a fresh Node process (`node -r ./bench/register.js bench/arms/<arm>.ts`) and
 * returns what it reports: the arm's result and the process' memory during the run.
 */
export function spawnArm<R>(
  arm: string,
  options: object,
  timeoutMs = 180_000,
): Promise<{ result: R; memory: MemoryReport }> {
  const child = spawn(
    process.execPath,
    ['-r', './bench/register.js', `bench/arms/${arm}.ts`, JSON.stringify(options)],
    {
      cwd: REPO,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: process.env,
    },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let report: { result?: R; memory?: MemoryReport; error?: string } | undefined;
    child.on('message', (message: typeof report) => (report = message));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (report?.error) reject(new Error(`${arm}: ${report.error}`));
      else if (report?.result && report.memory) resolve({ result: report.result, memory: report.memory });
      else reject(new Error(`${arm} exited (${signal ?? code}) without a report`));
    });
  });
}
