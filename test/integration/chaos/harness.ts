import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { SimWorld } from '../../../src/sim/world.js';
import type { WorkerSettings } from './worker-settings.js';

/** Worker processes, and what the chaos test watches the simulated cloud for. */

const WORKER_MAIN = path.resolve('test/integration/chaos/worker-main.ts');
const READY_TIMEOUT_MS = 30_000;

export interface WorkerProcess {
  readonly name: string;
  /** Resolves once the workers run; rejects if the process dies first. */
  readonly ready: Promise<void>;
  /** stderr lines, for a failure message. */
  readonly stderr: string[];
  /** SIGKILL: no shutdown, no finishing of active jobs, locks left to expire. */
  kill(): Promise<void>;
  /** SIGTERM and wait: the ordered shutdown. */
  stop(): Promise<void>;
}

export function spawnWorker(settings: WorkerSettings): WorkerProcess {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', WORKER_MAIN, JSON.stringify(settings)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${settings.name} not ready in time`)), READY_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(`${settings.name} exited (${code}) before it was ready: ${stderr.slice(-5).join(' | ')}`),
      );
    });
  });
  ready.catch(() => {});
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return {
    name: settings.name,
    ready,
    stderr,
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
  };
}

/** Every instance the simulated cloud ever had, with its label (destroyed ones vanish from its list). */
export interface InstanceWatch {
  readonly labels: ReadonlyMap<number, string | null>;
  stop(): void;
}

export function watchInstances(world: SimWorld, everyMs = 20): InstanceWatch {
  const labels = new Map<number, string | null>();
  const look = () => {
    for (const i of world.vast.control.instances()) if (!labels.has(i.id)) labels.set(i.id, i.label);
  };
  look();
  const timer = setInterval(look, everyMs);
  return {
    labels,
    stop() {
      clearInterval(timer);
      look();
    },
  };
}

/** Polls `probe` (real time) until it returns something truthy. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
