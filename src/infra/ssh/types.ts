import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import type { HostKeyStore } from './host-keys.js';

export interface SshTarget {
  host: string;
  port: number;
  /** Defaults to the pool's username. */
  user?: string;
}

export interface ExecOptions {
  /**
   * Bound on the command itself, from channel open to exit (connecting has its own bound,
   * `connectTimeoutMs`). On expiry the channel is closed, but OpenSSH does not kill a command
   * without a tty when its channel closes: wrap long remote work in `timeout N ...`.
   */
  timeoutMs?: number;
  /**
   * Sent as SSH channel environment requests, never on the command line. OpenSSH drops
   * variables not listed in the host's `AcceptEnv` without telling us, so for secrets that
   * must arrive use `stdin` instead (e.g. `umask 077; cat > /root/.hf_token`).
   */
  env?: Record<string, string>;
  /** Written to the command's standard input, then EOF. Without it stdin gets EOF at once. */
  stdin?: string | Buffer;
  /** Cap on stdout + stderr bytes kept; beyond it the channel is closed and `truncated` set. */
  maxOutputBytes?: number;
  /** Pin the host's key if none is pinned yet (ops does this when it provisions a host). */
  learnHostKey?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; null when the command was killed by a signal or the channel closed without one. */
  code: number | null;
  signal?: string;
  /** Set when output passed `maxOutputBytes` and the command was cut off. */
  truncated?: boolean;
}

export interface SshPoolStats {
  /** Authenticated connections currently open. */
  connections: number;
  /** Connection attempts in progress. */
  connecting: number;
  /** Commands holding both a host and a global slot. */
  inFlight: number;
  /** Commands waiting for a slot. */
  queued: number;
  /** Endpoints currently refusing new attempts after failed connects. */
  backingOff: number;
}

export interface SshPool {
  exec(target: SshTarget, command: string, options?: ExecOptions): Promise<ExecResult>;
  stats(): SshPoolStats;
  /** Ends every connection; safe to call more than once (returns the same promise). */
  close(): Promise<void>;
}

export interface SshPoolOptions {
  privateKey: string | Buffer;
  /** Passphrase of an encrypted private key. */
  passphrase?: string;
  username?: string;
  hostKeys: HostKeyStore;
  /** Commands running at once across all hosts. */
  maxConnections?: number;
  /** Commands running at once on one endpoint (keep below sshd's MaxSessions, 10 by default). */
  perHostConcurrency?: number;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  maxOutputBytes?: number;
  keepaliveIntervalMs?: number;
  /** Missed keepalives before a connection is declared dead. */
  keepaliveCountMax?: number;
  idleCloseMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  clock?: Clock;
  logger: Logger;
  onHostKeyMismatch?: (hostId: string, expected: string, received: string) => void;
}
