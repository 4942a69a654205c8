/**
 * When the Vast client may try a request again, and how long it waits. Pure, so the rules that
 * keep us from renting two machines for one request are tested on their own.
 */

export type FailureKind =
  /** 429: the API refused before doing anything. */
  | 'rate_limited'
  /** 5xx: the server may or may not have acted. */
  | 'server_error'
  /** No connection was ever made (refused, DNS, connect timeout): the request was never sent. */
  | 'not_sent'
  /** The connection dropped after the request may have been sent. */
  | 'connection_lost'
  /** Our own deadline passed; the server may still act on it. */
  | 'timeout'
  /** A definite answer that retrying cannot change (4xx, success:false, bad shape). */
  | 'rejected';

/**
 * Idempotent requests (reads, search, label/state/bid changes, destroy) may be repeated after any
 * transient failure. Rent is not idempotent: repeat it only when the server certainly did not
 * act on it (429, or no connection at all); every other failure leaves its outcome unknown.
 */
export function shouldRetry(kind: FailureKind, idempotent: boolean): boolean {
  if (kind === 'rejected') return false;
  if (idempotent) return true;
  return kind === 'rate_limited' || kind === 'not_sent';
}

/** True when a failed rent may nevertheless have created an instance. */
export function outcomeUnknown(kind: FailureKind): boolean {
  return kind === 'server_error' || kind === 'connection_lost' || kind === 'timeout';
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": half the ceiling is fixed, half random, so waits grow
 * with each attempt yet clients hit by the same 429 spread out. `attempt` counts from 0.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: number): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * Math.min(Math.max(random, 0), 1));
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = err;
  while (current !== undefined && current !== null && chain.length < 8) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const { code } = err as { code: unknown };
  return typeof code === 'string' ? code : undefined;
}

/** Classifies an exception thrown by fetch (never an HTTP status, those are answers). */
export function classifyFetchError(err: unknown): 'timeout' | 'not_sent' | 'connection_lost' {
  const chain = causeChain(err);
  if (chain.some((e) => e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError'))) {
    return 'timeout';
  }
  if (chain.some((e) => NOT_SENT_CODES.has(codeOf(e) ?? ''))) return 'not_sent';
  return 'connection_lost';
}

export function classifyStatus(status: number): FailureKind {
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server_error';
  return 'rejected';
}
