import { describe, expect, it } from 'vitest';
import { connectBackoffMs } from '../../../src/infra/ssh/backoff.js';
import { createSemaphore } from '../../../src/infra/ssh/semaphore.js';
import { withTimeout } from '../../../src/with-timeout.js';

describe('createSemaphore', () => {
  it('admits up to the limit and then serves waiters in arrival order', async () => {
    const semaphore = createSemaphore(2);
    const first = await semaphore.acquire();
    const second = await semaphore.acquire();
    const order: number[] = [];
    const third = semaphore.acquire().then((release) => {
      order.push(3);
      return release;
    });
    const fourth = semaphore.acquire().then((release) => {
      order.push(4);
      return release;
    });
    expect(semaphore.active).toBe(2);
    expect(semaphore.waiting).toBe(2);
    second();
    second(); // a second release of the same permit must not free another slot
    (await third)();
    first();
    (await fourth)();
    expect(order).toEqual([3, 4]);
    expect(semaphore.active).toBe(0);
  });

  it('rejects waiters on shutdown', async () => {
    const semaphore = createSemaphore(1);
    await semaphore.acquire();
    const waiting = semaphore.acquire();
    semaphore.rejectWaiters(new Error('closed'));
    await expect(waiting).rejects.toThrow('closed');
  });
});

describe('connectBackoffMs', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([0, 1, 2, 3, 10, 1000].map((n) => connectBackoffMs(n, 500, 8_000))).toEqual([
      0, 500, 1000, 2000, 8000, 8000,
    ]);
  });
});

describe('withTimeout', () => {
  it('returns the result in time and rejects with the given error when late', async () => {
    expect(await withTimeout(Promise.resolve(1), 50, () => new Error('late'))).toBe(1);
    let cancelled = false;
    const never = new Promise<number>(() => {});
    await expect(
      withTimeout(never, 20, () => {
        cancelled = true;
        return new Error('late');
      }),
    ).rejects.toThrow('late');
    expect(cancelled).toBe(true);
  });
});
