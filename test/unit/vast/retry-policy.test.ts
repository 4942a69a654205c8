import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  classifyFetchError,
  classifyStatus,
  type FailureKind,
  outcomeUnknown,
  shouldRetry,
} from '../../../src/infra/vast/retry-policy.js';

const ALL: FailureKind[] = [
  'rate_limited',
  'server_error',
  'not_sent',
  'connection_lost',
  'timeout',
  'rejected',
];

describe('shouldRetry', () => {
  it('retries every transient failure of an idempotent request', () => {
    expect(ALL.filter((k) => shouldRetry(k, true))).toEqual(ALL.filter((k) => k !== 'rejected'));
  });

  it('retries a rent only when the server certainly did not act', () => {
    expect(ALL.filter((k) => shouldRetry(k, false))).toEqual(['rate_limited', 'not_sent']);
  });

  it('every rent failure is either retried, unknown, or a definite refusal', () => {
    for (const kind of ALL) {
      const exits = [shouldRetry(kind, false), outcomeUnknown(kind), kind === 'rejected'].filter(Boolean);
      expect(exits, kind).toHaveLength(1);
    }
  });
});

describe('backoffDelayMs', () => {
  const options = { baseMs: 1000, maxMs: 30_000 };
  it('doubles per attempt with jitter between half and all of the ceiling', () => {
    expect([0, 1, 2, 3].map((n) => backoffDelayMs(n, options, 1))).toEqual([1000, 2000, 4000, 8000]);
    expect([0, 1, 2, 3].map((n) => backoffDelayMs(n, options, 0))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelayMs(2, options, 0.5)).toBe(3000);
  });

  it('caps at maxMs', () => {
    expect(backoffDelayMs(20, options, 1)).toBe(30_000);
  });
});

describe('classify', () => {
  it('maps statuses', () => {
    expect(classifyStatus(429)).toBe('rate_limited');
    expect(classifyStatus(503)).toBe('server_error');
    expect(classifyStatus(400)).toBe('rejected');
    expect(classifyStatus(401)).toBe('rejected');
  });

  it('tells a request never sent from one lost in flight', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });
    expect(classifyFetchError(refused)).toBe('not_sent');
    const reset = new TypeError('fetch failed', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(classifyFetchError(reset)).toBe('connection_lost');
    expect(classifyFetchError(new DOMException('timed out', 'TimeoutError'))).toBe('timeout');
    expect(classifyFetchError(new Error('weird'))).toBe('connection_lost');
  });
});
