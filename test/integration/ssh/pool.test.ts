import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/clock.js';
import {
  HostKeyMismatchError,
  SshConnectError,
  SshDroppedError,
  SshError,
  SshTimeoutError,
  UnknownHostKeyError,
} from '../../../src/errors.js';
import {
  classifySshError,
  createSshPool,
  type HostKeyStore,
  hostKeyId,
  knownHostsStore,
  memoryHostKeyStore,
  type SshPool,
  type SshPoolOptions,
  type SshTarget,
} from '../../../src/infra/ssh/index.js';
import { silentLogger } from '../../../src/logger.js';
import {
  type CommandHandler,
  generateTestKeyPair,
  startTestSshServer,
  type TestSshServer,
  type TestSshServerOptions,
} from '../../helpers/ssh-server.js';

const clientKeys = generateTestKeyPair();
const pools: SshPool[] = [];
const servers: TestSshServer[] = [];
const rawServers: NetServer[] = [];
const processErrors: unknown[] = [];
const recordProcessError = (err: unknown) => processErrors.push(err);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

const echoHandler: CommandHandler = (command) => ({ stdout: `${command}\n` });

async function startServer(options: Partial<TestSshServerOptions> = {}): Promise<TestSshServer> {
  const server = await startTestSshServer({
    authorizedKey: clientKeys.publicKey,
    handler: echoHandler,
    ...options,
  });
  servers.push(server);
  return server;
}

function targetOf(server: { port: number }): SshTarget {
  return { host: '127.0.0.1', port: server.port };
}

function pinnedStore(server: TestSshServer) {
  return memoryHostKeyStore({ [hostKeyId('127.0.0.1', server.port)]: server.hostKeyLine });
}

function makePool(hostKeys: HostKeyStore, overrides: Partial<SshPoolOptions> = {}): SshPool {
  const pool = createSshPool({
    privateKey: clientKeys.privateKey,
    username: 'trainer',
    hostKeys,
    connectTimeoutMs: 800,
    commandTimeoutMs: 2_000,
    keepaliveIntervalMs: 1_000,
    idleCloseMs: 60_000,
    logger: silentLogger,
    ...overrides,
  });
  pools.push(pool);
  return pool;
}

/** A TCP listener that is not SSH at all: `onSocket` decides what the "host" does. */
async function startRawServer(onSocket: (socket: Socket) => void): Promise<{ port: number }> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    onSocket(socket);
  });
  rawServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { port: address.port };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

beforeAll(() => {
  process.on('uncaughtException', recordProcessError);
  process.on('unhandledRejection', recordProcessError);
});

afterAll(() => {
  process.off('uncaughtException', recordProcessError);
  process.off('unhandledRejection', recordProcessError);
});

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
  for (const server of rawServers.splice(0)) server.close();
  // Let any stray socket events surface before checking that none escaped.
  await sleep(20);
  expect(processErrors).toEqual([]);
});

describe('exec', () => {
  it('returns stdout, stderr and the exit code', async () => {
    const server = await startServer({
      handler: (command) =>
        command === 'fail' ? { stdout: 'partial', stderr: 'boom', code: 3 } : { stdout: 'fine', code: 0 },
    });
    const pool = makePool(pinnedStore(server));
    expect(await pool.exec(targetOf(server), 'ok')).toEqual({ stdout: 'fine', stderr: '', code: 0 });
    expect(await pool.exec(targetOf(server), 'fail')).toEqual({ stdout: 'partial', stderr: 'boom', code: 3 });
  });

  it('runs 50 commands over one connection', async () => {
    const server = await startServer();
    const pool = makePool(pinnedStore(server), { perHostConcurrency: 4 });
    const commands = Array.from({ length: 50 }, (_, i) => `echo ${i}`);
    const results = await Promise.all(commands.map((command) => pool.exec(targetOf(server), command)));
    expect(results.map((r) => r.stdout)).toEqual(commands.map((c) => `${c}\n`));
    await pool.exec(targetOf(server), 'once more');
    expect(server.connectionsAccepted).toBe(1);
    expect(pool.stats()).toMatchObject({ connections: 1, inFlight: 0, queued: 0 });
  });

  it('keeps at most perHostConcurrency commands running on a host', async () => {
    let running = 0;
    let peak = 0;
    const server = await startServer({
      handler: async () => {
        running++;
        peak = Math.max(peak, running);
        // Long enough for the next command's channel to open while this one still runs.
        await sleep(150);
        running--;
        return { stdout: 'done' };
      },
    });
    const pool = makePool(pinnedStore(server), { perHostConcurrency: 3 });
    const all = Array.from({ length: 9 }, () => pool.exec(targetOf(server), 'work'));
    expect(pool.stats().queued).toBeGreaterThanOrEqual(6);
    await Promise.all(all);
    expect(peak).toBe(3);
  });

  it('keeps at most maxConnections commands running across hosts', async () => {
    let running = 0;
    let peak = 0;
    const handler: CommandHandler = async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(100);
      running--;
      return { stdout: 'done' };
    };
    const first = await startServer({ handler });
    const second = await startServer({ handler });
    const store = memoryHostKeyStore({
      [hostKeyId('127.0.0.1', first.port)]: first.hostKeyLine,
      [hostKeyId('127.0.0.1', second.port)]: second.hostKeyLine,
    });
    const pool = makePool(store, { maxConnections: 2, perHostConcurrency: 2 });
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => pool.exec(targetOf(i % 2 === 0 ? first : second), 'work')),
    );
    expect(peak).toBe(2);
  });

  it('caps the output it keeps and cuts the command off', async () => {
    const server = await startServer({ handler: () => ({ stdout: 'x'.repeat(200_000), code: 0 }) });
    const pool = makePool(pinnedStore(server));
    const result = await pool.exec(targetOf(server), 'yes', { maxOutputBytes: 1_000 });
    expect(result.stdout.length).toBe(1_000);
    expect(result.truncated).toBe(true);
  });
});

describe('secrets', () => {
  it('sends env as channel environment, never on the command line', async () => {
    const server = await startServer();
    const pool = makePool(pinnedStore(server));
    await pool.exec(targetOf(server), 'printenv HF_TOKEN', { env: { HF_TOKEN: 'hf_s3cret_value' } });
    const [received] = server.commands;
    expect(received?.env).toEqual({ HF_TOKEN: 'hf_s3cret_value' });
    expect(received?.command).toBe('printenv HF_TOKEN');
    expect(received?.command).not.toContain('hf_s3cret_value');
  });

  it('pipes stdin for hosts whose sshd ignores AcceptEnv', async () => {
    const server = await startServer({
      handler: (_command, _env, stdin) => ({ stdout: `got ${stdin.length}` }),
    });
    const pool = makePool(pinnedStore(server));
    const result = await pool.exec(targetOf(server), 'umask 077 && cat > /root/.hf_token', {
      stdin: 'hf_s3cret_value',
    });
    expect(result.stdout).toBe('got 15');
    expect(server.commands[0]?.stdin).toBe('hf_s3cret_value');
    expect(server.commands[0]?.command).not.toContain('hf_s3cret_value');
  });
});

describe('timeouts', () => {
  it('times out a command whose channel never closes, and the pool keeps working', async () => {
    const server = await startServer({
      handler: (command) => (command === 'hang' ? new Promise(() => {}) : { stdout: 'alive' }),
    });
    const pool = makePool(pinnedStore(server));
    await pool.exec(targetOf(server), 'warm up');
    const started = Date.now();
    const err = await pool.exec(targetOf(server), 'hang', { timeoutMs: 300 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(SshTimeoutError);
    expect(classifySshError(err)).toBe('timeout');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1_000);
    expect((await pool.exec(targetOf(server), 'after')).stdout).toBe('alive');
    expect(server.connectionsAccepted).toBe(1);
  });

  it('drops a connection whose host stops answering, then reconnects', async () => {
    const server = await startServer();
    const pool = makePool(pinnedStore(server), { connectTimeoutMs: 300 });
    await pool.exec(targetOf(server), 'warm up');
    server.freezeConnections();
    const err = await pool.exec(targetOf(server), 'echo', { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshTimeoutError);
    await waitFor(() => pool.stats().connections === 0);
    expect((await pool.exec(targetOf(server), 'echo again')).stdout).toBe('echo again\n');
    expect(server.connectionsAccepted).toBe(2);
  });

  it('gives up on a host that accepts TCP but never speaks SSH', async () => {
    const silent = await startServer({ behaviour: 'silent' });
    const pool = makePool(memoryHostKeyStore(), { connectTimeoutMs: 400 });
    const started = Date.now();
    const err = await pool.exec(targetOf(silent), 'echo').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshTimeoutError);
    expect(classifySshError(err)).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(silent.connectionsAccepted).toBe(1);
  });
});

describe('connection failures', () => {
  it('reports a refused port as refused', async () => {
    const port = await freePort();
    const pool = makePool(memoryHostKeyStore());
    const err = await pool.exec({ host: '127.0.0.1', port }, 'echo').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConnectError);
    expect(classifySshError(err)).toBe('refused');
  });

  it('reports a rejected client key as auth', async () => {
    const server = await startServer();
    const pool = makePool(pinnedStore(server), { privateKey: generateTestKeyPair().privateKey });
    const err = await pool.exec(targetOf(server), 'echo').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConnectError);
    expect(classifySshError(err)).toBe('auth');
    expect(server.commands).toEqual([]);
  });

  it('backs off from a failing host instead of hammering it', async () => {
    let accepted = 0;
    const dead = await startRawServer((socket) => {
      accepted++;
      socket.destroy();
    });
    const clock = manualClock();
    const pool = makePool(memoryHostKeyStore(), { clock, backoffBaseMs: 5_000 });
    const first = await pool.exec(targetOf(dead), 'echo').catch((e: unknown) => e);
    expect(first).toBeInstanceOf(SshConnectError);
    const second = await pool.exec(targetOf(dead), 'echo').catch((e: unknown) => e);
    expect(second).toBeInstanceOf(SshConnectError);
    expect((second as Error).message).toMatch(/backing off/);
    expect(accepted).toBe(1);
    expect(pool.stats().backingOff).toBe(1);
    await clock.advance(5_000);
    await pool.exec(targetOf(dead), 'echo').catch(() => {});
    expect(accepted).toBe(2);
    // Two failures in a row: the window doubled.
    await clock.advance(5_000);
    await pool.exec(targetOf(dead), 'echo').catch(() => {});
    expect(accepted).toBe(2);
  });

  it('fails a command as dropped when the server dies under it, without stray errors', async () => {
    const server = await startServer({
      handler: (command) => (command === 'slow' ? new Promise(() => {}) : { stdout: 'back' }),
    });
    const pool = makePool(pinnedStore(server));
    const pending = pool.exec(targetOf(server), 'slow').catch((e: unknown) => e);
    await waitFor(() => server.commands.length === 1);
    server.dropConnections();
    const err = await pending;
    expect(err).toBeInstanceOf(SshDroppedError);
    expect(classifySshError(err)).toBe('dropped');
    expect((await pool.exec(targetOf(server), 'next')).stdout).toBe('back');
    expect(server.connectionsAccepted).toBe(2);
  });

  it('reconnects after the server restarts on the same port', async () => {
    const before = await startServer();
    const store = pinnedStore(before);
    const pool = makePool(store);
    await pool.exec(targetOf(before), 'first');
    await before.close();
    await waitFor(() => pool.stats().connections === 0);
    const after = await startServer({ port: before.port, hostKey: before.hostPrivateKey });
    expect((await pool.exec(targetOf(after), 'second')).stdout).toBe('second\n');
    expect(after.connectionsAccepted).toBe(1);
  });

  it('closes idle connections and reopens on demand', async () => {
    const server = await startServer();
    const pool = makePool(pinnedStore(server), { idleCloseMs: 100 });
    await pool.exec(targetOf(server), 'one');
    await waitFor(() => pool.stats().connections === 0);
    await pool.exec(targetOf(server), 'two');
    expect(server.connectionsAccepted).toBe(2);
  });
});

describe('host key pinning', () => {
  it('refuses a changed host key, reports it, and runs nothing', async () => {
    const server = await startServer();
    const hostId = hostKeyId('127.0.0.1', server.port);
    const oldKey = generateTestKeyPair().publicKey;
    const store = memoryHostKeyStore({ [hostId]: oldKey });
    const mismatches: string[][] = [];
    const pool = makePool(store, {
      onHostKeyMismatch: (host, expected, received) => mismatches.push([host, expected, received]),
    });
    const err = await pool.exec(targetOf(server), 'echo', { learnHostKey: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(classifySshError(err)).toBe('host_key');
    expect(mismatches).toHaveLength(1);
    const [host, expected, received] = mismatches[0]!;
    expect(host).toBe(hostId);
    expect(expected).toMatch(/^SHA256:/);
    expect(received).toMatch(/^SHA256:/);
    expect(expected).not.toBe(received);
    expect(server.commands).toEqual([]);
    expect(await store.get(hostId)).toBe(oldKey);
  });

  it('refuses an unknown host key unless asked to learn it, then pins it', async () => {
    const server = await startServer();
    const hostId = hostKeyId('127.0.0.1', server.port);
    const store = memoryHostKeyStore();
    const pool = makePool(store);
    const err = await pool.exec(targetOf(server), 'echo').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownHostKeyError);
    expect(classifySshError(err)).toBe('host_key');
    expect(server.commands).toEqual([]);
    expect(store.entries()).toEqual({});

    await pool.exec(targetOf(server), 'provision', { learnHostKey: true });
    expect(await store.get(hostId)).toBe(server.hostKeyLine);

    const later = makePool(store);
    expect((await later.exec(targetOf(server), 'probe')).stdout).toBe('probe\n');
  });

  it('refuses to connect when the key store cannot answer', async () => {
    const server = await startServer();
    const broken: HostKeyStore = {
      get: () => Promise.reject(new Error('redis down')),
      set: () => Promise.resolve(),
    };
    const pool = makePool(broken);
    const err = await pool.exec(targetOf(server), 'echo', { learnHostKey: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConnectError);
    expect((err as Error).message).toMatch(/redis down/);
    expect(server.commands).toEqual([]);
  });

  it('trusts hosts listed in known_hosts text', async () => {
    const server = await startServer();
    const store = knownHostsStore(
      `# static hosts\n[127.0.0.1]:${server.port} ${server.hostKeyLine} ops@box\n`,
    );
    const pool = makePool(store);
    expect((await pool.exec(targetOf(server), 'probe')).stdout).toBe('probe\n');
  });
});

describe('close', () => {
  it('is safe to call twice and fails what is still running', async () => {
    const server = await startServer({
      handler: (command) => (command === 'hang' ? new Promise(() => {}) : { stdout: 'ok' }),
    });
    const pool = makePool(pinnedStore(server));
    const running = pool.exec(targetOf(server), 'hang').catch((e: unknown) => e);
    await waitFor(() => server.commands.length === 1);
    const first = pool.close();
    const second = pool.close();
    expect(second).toBe(first);
    await first;
    const err = await running;
    expect(err).toBeInstanceOf(SshError);
    expect((err as Error).message).toMatch(/closed/);
    await expect(pool.exec(targetOf(server), 'echo')).rejects.toThrow(/closed/);
    expect(pool.stats().connections).toBe(0);
  });
});
