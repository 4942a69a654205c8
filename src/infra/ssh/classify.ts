import { HostKeyMismatchError, SshDroppedError, SshTimeoutError, UnknownHostKeyError } from '../../errors.js';

export type SshErrorKind = 'timeout' | 'refused' | 'auth' | 'host_key' | 'dropped' | 'other';

const REFUSED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);
const DROPPED_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const DROPPED_MESSAGES = ['No response from server', 'Connection lost before handshake', 'Keepalive timeout'];

interface ErrorFacts {
  code?: unknown;
  level?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** Our own subclasses say what happened; ssh2 and socket errors say it through code and level. */
function kindOf(err: unknown): SshErrorKind | undefined {
  if (err instanceof SshTimeoutError) return 'timeout';
  if (err instanceof HostKeyMismatchError || err instanceof UnknownHostKeyError) return 'host_key';
  if (err instanceof SshDroppedError) return 'dropped';
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, level, message } = err as ErrorFacts;
  if (typeof code === 'string' && REFUSED_CODES.has(code)) return 'refused';
  if (typeof code === 'string' && DROPPED_CODES.has(code)) return 'dropped';
  if (code === 'ETIMEDOUT') return 'timeout';
  const text = typeof message === 'string' ? message : '';
  if (DROPPED_MESSAGES.some((m) => text.includes(m))) return 'dropped';
  if (level === 'client-authentication') return 'auth';
  if (level === 'client-timeout') return 'timeout';
  if (text.includes('Host denied')) return 'host_key';
  return undefined;
}

/**
 * What kind of SSH failure `err` is, looking through its `cause` chain, so callers can decide
 * (retry, back off, page a human) without parsing messages.
 */
export function classifySshError(err: unknown): SshErrorKind {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    const kind = kindOf(current);
    if (kind !== undefined) return kind;
    current = typeof current === 'object' ? (current as ErrorFacts).cause : undefined;
  }
  return 'other';
}
