import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import ssh2 from 'ssh2';
import type { Clock } from '../../../src/clock.js';
import { loadConfig, secretValues } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { type AppContext, createContext } from '../../../src/service/context.js';
import type { SimHost } from '../../../src/sim/hosts/index.js';
import type { SimWorld } from '../../../src/sim/world.js';
import { deleteKeys, redisUrl, uniquePrefix } from '../../helpers/redis.js';

/** Lines written by a logger, kept in memory. */
export function captureLines(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, destination };
}

export interface SecurityContext extends AppContext {
  prefix: string;
  /** Every log line, from a logger built as createContext builds the service's. */
  logLines: string[];
  cleanup(): Promise<void>;
}

/** An AppContext on the real Redis (unique prefix) whose service-style logger writes into memory. */
export function securityContext(
  options: {
    env?: Record<string, string>;
    label?: string;
    clock?: Clock;
    vast?: { url: string; apiKey: string } | null;
    /** Share another context's keys (a second process of the same service). */
    prefix?: string;
    sshPrivateKey?: string;
  } = {},
): SecurityContext {
  const prefix = options.prefix ?? uniquePrefix(options.label ?? 'sec');
  const config = loadConfig({
    FLEET_FILE: path.resolve('fleet.example.yaml'),
    KEY_PREFIX: prefix,
    STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'tc-sec-')),
    ...options.env,
  });
  const { lines, destination } = captureLines();
  const logger = createLogger({ level: 'debug', secrets: secretValues(config), destination });
  const ctx = createContext(config, {
    redisUrl: redisUrl(),
    logger,
    sshPrivateKey: options.sshPrivateKey ?? ssh2.utils.generateKeyPairSync('ed25519').private,
    vast: options.vast ?? null,
    ...(options.clock && { clock: options.clock }),
  });
  return {
    ...ctx,
    prefix,
    logLines: lines,
    async cleanup() {
      await ctx.queues.close();
      await ctx.ssh.close();
      await deleteKeys(ctx.redis, prefix);
      ctx.redis.disconnect();
    },
  };
}

export interface CapturedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * An HTTP proxy in front of the app that keeps the exact bytes Slack sent, so a test can replay
 * a genuine signed request later, as an attacker who captured it would.
 */
export async function recordingProxy(target: () => string) {
  const captured: CapturedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      captured.push({ method: req.method ?? 'POST', url: req.url ?? '/', headers, body });
      const { host: _host, 'content-length': _len, ...forward } = headers;
      fetch(`${target()}${req.url ?? '/'}`, { method: req.method ?? 'POST', headers: forward, body })
        .then(async (answer) => {
          res.writeHead(answer.status, Object.fromEntries(answer.headers));
          res.end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    captured,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Sends a captured (or hand-made) request to the app exactly as given. */
export function replay(appUrl: string, request: CapturedRequest): Promise<Response> {
  const { host: _host, 'content-length': _len, ...headers } = request.headers;
  return fetch(`${appUrl}${request.url}`, { method: request.method, headers, body: request.body });
}

export interface RecordedCommand {
  host: number;
  command: string;
  stdin: string | undefined;
}

/**
 * Records every command line the world's simulated hosts receive over SSH (their SSH servers
 * call `host.exec`), including hosts rented later, e.g. by a migration.
 */
export function recordHostCommands(world: SimWorld): RecordedCommand[] {
  const commands: RecordedCommand[] = [];
  const record = (host: SimHost) => {
    const exec = host.exec.bind(host);
    host.exec = (command, options = {}) => {
      commands.push({ host: host.id, command, stdin: options.stdin });
      return exec(command, options);
    };
  };
  for (const host of world.hosts.list()) record(host);
  const create = world.hosts.create.bind(world.hosts);
  world.hosts.create = async (spec) => {
    const endpoint = await create(spec);
    const host = world.hosts.get(spec.instanceId);
    if (host) record(host);
    return endpoint;
  };
  return commands;
}
