import type { ConnectConfig, Client as SshClient } from 'ssh2';
import ssh2 from 'ssh2';
import { type Clock, systemClock } from '../../clock.js';
import {
  ConfigError,
  errorMessage,
  HostKeyMismatchError,
  SshConnectError,
  SshDroppedError,
  SshError,
  SshTimeoutError,
  UnknownHostKeyError,
} from '../../errors.js';
import type { Logger } from '../../logger.js';
import { withTimeout } from '../../with-timeout.js';
import { connectBackoffMs } from './backoff.js';
import { classifySshError } from './classify.js';
import { type CommandRun, startCommand } from './exec-channel.js';
import { decideHostKey, type HostKeyStore, hostKeyId } from './host-keys.js';
import { createSemaphore, type Semaphore } from './semaphore.js';
import type { ExecOptions, ExecResult, SshPool, SshPoolOptions, SshPoolStats, SshTarget } from './types.js';

const { Client, utils } = ssh2;

const DEFAULTS = {
  username: 'root',
  maxConnections: 64,
  perHostConcurrency: 2,
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 30_000,
  maxOutputBytes: 1024 * 1024,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  idleCloseMs: 5 * 60_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 30_000,
} as const;

/** How long `close()` waits for a polite disconnect before cutting the socket. */
const CLOSE_GRACE_MS = 1_000;

/** An authenticated connection and the commands running on it. */
interface Connection {
  readonly client: SshClient;
  readonly runs: Set<CommandRun>;
  closed: boolean;
}

interface HandshakeState {
  readonly client: SshClient;
  /** Mutable: a caller that joins an attempt in progress may ask for the key to be learned. */
  learn: boolean;
  /** Why the host key was refused; ssh2 itself only reports "Host denied". */
  hostKeyError: SshError | undefined;
}

interface ConnectAttempt extends HandshakeState {
  readonly promise: Promise<Connection>;
}

/** One (host, port, user): its connection, its slots and its record of failed connects. */
interface Endpoint {
  readonly key: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly label: string;
  readonly slots: Semaphore;
  connection: Connection | undefined;
  connecting: ConnectAttempt | undefined;
  /** exec calls in progress, queued or running: the connection is idle when this is zero. */
  pending: number;
  failures: number;
  backoffUntil: number;
  lastError: unknown;
  idleTimer: NodeJS.Timeout | undefined;
}

type Settings = Required<Omit<SshPoolOptions, 'onHostKeyMismatch' | 'passphrase' | 'clock' | 'logger'>>;

function resolveSettings(options: SshPoolOptions): Settings {
  return {
    privateKey: options.privateKey,
    hostKeys: options.hostKeys,
    username: options.username ?? DEFAULTS.username,
    maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
    perHostConcurrency: options.perHostConcurrency ?? DEFAULTS.perHostConcurrency,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    commandTimeoutMs: options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs,
    maxOutputBytes: options.maxOutputBytes ?? DEFAULTS.maxOutputBytes,
    keepaliveIntervalMs: options.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs,
    keepaliveCountMax: options.keepaliveCountMax ?? DEFAULTS.keepaliveCountMax,
    idleCloseMs: options.idleCloseMs ?? DEFAULTS.idleCloseMs,
    backoffBaseMs: options.backoffBaseMs ?? DEFAULTS.backoffBaseMs,
    backoffMaxMs: options.backoffMaxMs ?? DEFAULTS.backoffMaxMs,
  };
}

/** Fail at start-up, not on the first probe, when the key cannot be used. */
function assertUsablePrivateKey(privateKey: string | Buffer, passphrase: string | undefined): void {
  const parsed = utils.parseKey(privateKey, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error || !key.isPrivateKey()) {
    const reason = key instanceof Error ? key.message : 'not a private key';
    throw new ConfigError(`SSH private key is unusable: ${reason}`);
  }
}

/**
 * A pool of persistent SSH connections: one per (host, port, user), many commands over it,
 * every command bounded in time and output, every host key pinned. See `SshPoolOptions`.
 */
export function createSshPool(options: SshPoolOptions): SshPool {
  assertUsablePrivateKey(options.privateKey, options.passphrase);
  const settings = resolveSettings(options);
  const clock: Clock = options.clock ?? systemClock;
  const logger: Logger = options.logger.child({ component: 'ssh' });
  const hostKeys: HostKeyStore = settings.hostKeys;
  const globalSlots = createSemaphore(settings.maxConnections);
  const endpoints = new Map<string, Endpoint>();
  let closed = false;
  let closing: Promise<void> | undefined;
  let inFlight = 0;

  const poolClosedError = () => new SshError('ssh pool is closed');

  function endpointFor(target: SshTarget): Endpoint {
    const user = target.user ?? settings.username;
    const key = `${user}@${target.host}:${target.port}`;
    let endpoint = endpoints.get(key);
    if (endpoint === undefined) {
      endpoint = {
        key,
        host: target.host,
        port: target.port,
        user,
        label: key,
        slots: createSemaphore(settings.perHostConcurrency),
        connection: undefined,
        connecting: undefined,
        pending: 0,
        failures: 0,
        backoffUntil: 0,
        lastError: undefined,
        idleTimer: undefined,
      };
      endpoints.set(key, endpoint);
    }
    return endpoint;
  }

  function notifyMismatch(hostId: string, expected: string, received: string): void {
    try {
      options.onHostKeyMismatch?.(hostId, expected, received);
    } catch (err) {
      logger.error({ err, host: hostId }, 'onHostKeyMismatch callback threw');
    }
  }

  async function checkHostKey(endpoint: Endpoint, keyBlob: Buffer, attempt: HandshakeState): Promise<void> {
    const hostId = hostKeyId(endpoint.host, endpoint.port);
    const decision = decideHostKey(await hostKeys.get(hostId), keyBlob, attempt.learn);
    switch (decision.action) {
      case 'accept':
        return;
      case 'learn':
        await hostKeys.set(hostId, decision.keyLine);
        logger.info({ host: hostId, fingerprint: decision.received }, 'ssh host key learned and pinned');
        return;
      case 'unknown':
        throw new UnknownHostKeyError(hostId, decision.received);
      case 'mismatch':
        logger.error(
          { host: hostId, expected: decision.expected, received: decision.received },
          'ssh host key changed: refusing to connect',
        );
        notifyMismatch(hostId, decision.expected, decision.received);
        throw new HostKeyMismatchError(hostId, decision.expected, decision.received);
    }
  }

  function connectFailure(endpoint: Endpoint, attempt: HandshakeState, cause: unknown): SshError {
    if (closed) return poolClosedError();
    if (attempt.hostKeyError) return attempt.hostKeyError;
    if (classifySshError(cause) === 'timeout') {
      return new SshTimeoutError(
        `ssh connect to ${endpoint.label} timed out after ${settings.connectTimeoutMs} ms`,
        { cause },
      );
    }
    return new SshConnectError(`ssh connect to ${endpoint.label} failed: ${errorMessage(cause)}`, { cause });
  }

  function connectConfig(endpoint: Endpoint, attempt: HandshakeState): ConnectConfig {
    const config: ConnectConfig = {
      host: endpoint.host,
      port: endpoint.port,
      username: endpoint.user,
      privateKey: settings.privateKey,
      readyTimeout: settings.connectTimeoutMs,
      keepaliveInterval: settings.keepaliveIntervalMs,
      keepaliveCountMax: settings.keepaliveCountMax,
      hostVerifier: (keyBlob: Buffer, verify: (valid: boolean) => void) => {
        checkHostKey(endpoint, keyBlob, attempt).then(
          () => verify(true),
          (err: unknown) => {
            attempt.hostKeyError =
              err instanceof SshError
                ? err
                : new SshConnectError(`host key check for ${endpoint.label} failed: ${errorMessage(err)}`, {
                    cause: err,
                  });
            verify(false);
          },
        );
      },
    };
    if (options.passphrase !== undefined) config.passphrase = options.passphrase;
    return config;
  }

  /** Every 'error' is handled for the client's whole life; a close under running commands drops them. */
  function openConnection(endpoint: Endpoint, attempt: HandshakeState): Promise<Connection> {
    const { client } = attempt;
    return new Promise<Connection>((resolve, reject) => {
      let connection: Connection | undefined;
      let lastError: unknown;
      client.on('error', (err: Error) => {
        lastError = err;
        if (connection === undefined) reject(connectFailure(endpoint, attempt, err));
        else logger.debug({ err, endpoint: endpoint.label }, 'ssh connection error');
      });
      client.on('ready', () => {
        connection = { client, runs: new Set(), closed: false };
        resolve(connection);
      });
      client.on('close', () => {
        if (connection === undefined) {
          reject(
            connectFailure(endpoint, attempt, lastError ?? new Error('connection closed during handshake')),
          );
          return;
        }
        onConnectionClosed(endpoint, connection, lastError);
      });
      try {
        client.connect(connectConfig(endpoint, attempt));
      } catch (err) {
        reject(connectFailure(endpoint, attempt, err));
      }
    });
  }

  function onConnectionClosed(endpoint: Endpoint, connection: Connection, cause: unknown): void {
    connection.closed = true;
    if (endpoint.connection === connection) endpoint.connection = undefined;
    const reason = cause === undefined ? 'connection closed' : errorMessage(cause);
    for (const run of connection.runs) {
      run.abort(new SshDroppedError(`ssh connection to ${endpoint.label} dropped: ${reason}`, { cause }));
    }
    connection.runs.clear();
    if (!closed) logger.debug({ endpoint: endpoint.label, reason }, 'ssh connection closed');
    if (endpoint.pending === 0 && endpoint.failures === 0 && endpoint.connecting === undefined) {
      clearTimeout(endpoint.idleTimer);
      endpoints.delete(endpoint.key);
    }
  }

  function recordConnectFailure(endpoint: Endpoint, err: SshError): void {
    endpoint.lastError = err;
    // A refused host key is a decision, not an outage: retrying at once (e.g. with learning on) is fine.
    if (closed || classifySshError(err) === 'host_key') return;
    endpoint.failures++;
    const delay = connectBackoffMs(endpoint.failures, settings.backoffBaseMs, settings.backoffMaxMs);
    endpoint.backoffUntil = clock.now() + delay;
    logger.warn(
      { endpoint: endpoint.label, failures: endpoint.failures, backoffMs: delay, err: errorMessage(err) },
      'ssh connect failed',
    );
  }

  function startConnect(endpoint: Endpoint, learn: boolean): ConnectAttempt {
    const state: HandshakeState = { client: new Client(), learn, hostKeyError: undefined };
    const promise = openConnection(endpoint, state).then(
      (connection) => {
        endpoint.connecting = undefined;
        if (closed) {
          connection.client.end();
          throw poolClosedError();
        }
        endpoint.connection = connection;
        endpoint.failures = 0;
        endpoint.backoffUntil = 0;
        logger.debug({ endpoint: endpoint.label }, 'ssh connected');
        return connection;
      },
      (err: SshError) => {
        endpoint.connecting = undefined;
        recordConnectFailure(endpoint, err);
        throw err;
      },
    );
    return Object.assign(state, { promise });
  }

  /** The endpoint's live connection, the attempt in progress, or a new attempt unless backing off. */
  function connectionFor(endpoint: Endpoint, learn: boolean): Promise<Connection> {
    if (endpoint.connection !== undefined && !endpoint.connection.closed) {
      return Promise.resolve(endpoint.connection);
    }
    if (endpoint.connecting !== undefined) {
      if (learn) endpoint.connecting.learn = true;
      return endpoint.connecting.promise;
    }
    const waitMs = endpoint.backoffUntil - clock.now();
    if (waitMs > 0) {
      return Promise.reject(
        new SshConnectError(
          `ssh to ${endpoint.label} is backing off after ${endpoint.failures} failed connects (retry in ${Math.ceil(waitMs)} ms)`,
          { cause: endpoint.lastError },
        ),
      );
    }
    endpoint.connecting = startConnect(endpoint, learn);
    return endpoint.connecting.promise;
  }

  /** After a timeout the host should answer our channel close; if it cannot, the connection is dead. */
  function destroyIfUnanswered(endpoint: Endpoint, connection: Connection, run: CommandRun): void {
    const timer = setTimeout(() => {
      if (run.channelDone || connection.closed) return;
      logger.warn(
        { endpoint: endpoint.label },
        'ssh host did not answer a channel close; dropping connection',
      );
      connection.client.destroy();
    }, settings.connectTimeoutMs);
    timer.unref();
  }

  async function runCommand(
    endpoint: Endpoint,
    connection: Connection,
    command: string,
    options: ExecOptions,
  ): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? settings.commandTimeoutMs;
    const input: Parameters<typeof startCommand>[2] = {
      maxOutputBytes: options.maxOutputBytes ?? settings.maxOutputBytes,
    };
    if (options.env !== undefined) input.env = options.env;
    if (options.stdin !== undefined) input.stdin = options.stdin;
    const run = startCommand(connection.client, command, input);
    connection.runs.add(run);
    try {
      return await withTimeout(run.result, timeoutMs, () => {
        const err = new SshTimeoutError(`ssh command on ${endpoint.label} timed out after ${timeoutMs} ms`);
        run.abort(err);
        destroyIfUnanswered(endpoint, connection, run);
        return err;
      });
    } finally {
      connection.runs.delete(run);
    }
  }

  function scheduleIdleClose(endpoint: Endpoint): void {
    clearTimeout(endpoint.idleTimer);
    if (closed || endpoint.connection === undefined) return;
    const connection = endpoint.connection;
    endpoint.idleTimer = setTimeout(() => {
      if (endpoint.pending > 0 || connection.closed) return;
      logger.debug({ endpoint: endpoint.label }, 'closing idle ssh connection');
      connection.client.end();
    }, settings.idleCloseMs);
    endpoint.idleTimer.unref();
  }

  async function exec(target: SshTarget, command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (closed) throw poolClosedError();
    const endpoint = endpointFor(target);
    endpoint.pending++;
    clearTimeout(endpoint.idleTimer);
    try {
      // Host slot first: a busy host must not hold global slots that other hosts could use.
      const releaseHost = await endpoint.slots.acquire();
      try {
        const releaseGlobal = await globalSlots.acquire();
        inFlight++;
        try {
          if (closed) throw poolClosedError();
          const connection = await connectionFor(endpoint, options.learnHostKey === true);
          return await runCommand(endpoint, connection, command, options);
        } finally {
          inFlight--;
          releaseGlobal();
        }
      } finally {
        releaseHost();
      }
    } finally {
      endpoint.pending--;
      if (endpoint.pending === 0) scheduleIdleClose(endpoint);
    }
  }

  function stats(): SshPoolStats {
    const now = clock.now();
    let connections = 0;
    let connecting = 0;
    let queued = globalSlots.waiting;
    let backingOff = 0;
    for (const endpoint of endpoints.values()) {
      if (endpoint.connection !== undefined && !endpoint.connection.closed) connections++;
      if (endpoint.connecting !== undefined) connecting++;
      if (endpoint.backoffUntil > now) backingOff++;
      queued += endpoint.slots.waiting;
    }
    return { connections, connecting, inFlight, queued, backingOff };
  }

  function endGracefully(connection: Connection): Promise<void> {
    if (connection.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        connection.client.destroy();
        resolve();
      }, CLOSE_GRACE_MS);
      connection.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      connection.client.end();
    });
  }

  async function shutdown(): Promise<void> {
    closed = true;
    const reason = poolClosedError();
    globalSlots.rejectWaiters(reason);
    const ending: Promise<void>[] = [];
    for (const endpoint of endpoints.values()) {
      endpoint.slots.rejectWaiters(reason);
      clearTimeout(endpoint.idleTimer);
      // A handshake in progress has nothing worth a polite goodbye.
      endpoint.connecting?.client.destroy();
      const connection = endpoint.connection;
      if (connection === undefined) continue;
      for (const run of connection.runs) run.abort(reason);
      ending.push(endGracefully(connection));
    }
    await Promise.all(ending);
    endpoints.clear();
  }

  return {
    exec,
    stats,
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}
