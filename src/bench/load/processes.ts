import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConductorError } from '../../errors.js';
import { packageRoot } from '../../package-root.js';

/**
 * Real child processes for the load benchmark: conductor roles (`src/cli/main.ts start|worker`)
 * and the simulated hosts, each run by this same node with the tsx loader. Output is kept (the
 * last lines) so a failed start can say why.
 */

export interface ChildHandle {
  name: string;
  pid: number;
  /** The first output line (stdout or stderr) matching `pattern`; rejects if the child exits first. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** The last lines the child wrote, for error messages. */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
  readonly exited: boolean;
}

const KEPT_LINES = 200;

/** The environment a child gets: only what it needs, never this process's conductor settings. */
export function childEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG'] as const) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  return { ...base, ...settings };
}

/** The Node options the Docker image sets (`ENV NODE_OPTIONS=...`), so the bench runs what ships. */
export function shippedNodeOptions(dockerfile = path.join(packageRoot(), 'Dockerfile')): string[] {
  const text = existsSync(dockerfile) ? readFileSync(dockerfile, 'utf8') : '';
  const line = /^ENV NODE_OPTIONS=(?:"([^"]*)"|(\S+))\s*$/m.exec(text);
  const value = line?.[1] ?? line?.[2] ?? '';
  return value.split(/\s+/).filter(Boolean);
}

/** Runs `entry` (a .ts file relative to the package root) under tsx in a new node process. */
export function spawnTsx(
  name: string,
  entry: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  nodeFlags: readonly string[] = [],
): ChildHandle {
  const root = packageRoot();
  const argv = [...nodeFlags, '--import', 'tsx', path.join(root, entry), ...args];
  const child: ChildProcess = spawn(process.execPath, argv, {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new ConductorError(`${name}: could not start ${entry}`);
  const pid = child.pid;
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  let exitCode: number | null | undefined;
  const exitListeners = new Set<() => void>();

  function onOutput(stream: NodeJS.ReadableStream | null): void {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > KEPT_LINES) lines.shift();
        for (const watch of [...watchers]) watch(line);
      }
    });
  }
  onOutput(child.stdout);
  onOutput(child.stderr);
  child.on('exit', (code) => {
    exitCode = code;
    for (const listener of [...exitListeners]) listener();
  });

  const tail = (n = 20) => lines.slice(-n).join('\n');

  function waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const seen = lines.map((l) => pattern.exec(l)).find((m) => m !== null);
      if (seen) return resolve(seen);
      const finish = () => {
        clearTimeout(timer);
        watchers.delete(watch);
        exitListeners.delete(onExit);
      };
      const watch = (line: string) => {
        const match = pattern.exec(line);
        if (!match) return;
        finish();
        resolve(match);
      };
      const onExit = () => {
        finish();
        reject(new ConductorError(`${name} exited (code ${exitCode}) before ready:\n${tail()}`));
      };
      const timer = setTimeout(() => {
        finish();
        reject(new ConductorError(`${name} not ready after ${timeoutMs} ms:\n${tail()}`));
      }, timeoutMs);
      watchers.add(watch);
      exitListeners.add(onExit);
      if (exitCode !== undefined) onExit();
    });
  }

  let stopping: Promise<number | null> | undefined;
  function stop(graceMs = 10_000): Promise<number | null> {
    stopping ??= new Promise((resolve) => {
      if (exitCode !== undefined) return resolve(exitCode);
      const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      exitListeners.add(() => {
        clearTimeout(killer);
        resolve(exitCode ?? null);
      });
      child.kill('SIGTERM');
    });
    return stopping;
  }

  return {
    name,
    pid,
    waitForLine,
    tail,
    stop,
    get exited() {
      return exitCode !== undefined;
    },
  };
}
