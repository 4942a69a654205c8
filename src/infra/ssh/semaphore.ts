export type Release = () => void;

/** A counting semaphore that admits waiters strictly first come, first served. */
export interface Semaphore {
  acquire(): Promise<Release>;
  /** Rejects every waiter (used on shutdown); holders keep their permits until they release. */
  rejectWaiters(reason: Error): void;
  readonly active: number;
  readonly waiting: number;
}

interface Waiter {
  resolve: (release: Release) => void;
  reject: (reason: Error) => void;
}

export function createSemaphore(limit: number): Semaphore {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`semaphore limit must be >= 1, got ${limit}`);
  let active = 0;
  const waiters: Waiter[] = [];

  // Each permit gets its own release so a double release cannot free someone else's slot.
  const makeRelease = (): Release => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiters.shift();
      if (next) next.resolve(makeRelease());
      else active--;
    };
  };

  return {
    acquire() {
      if (active < limit) {
        active++;
        return Promise.resolve(makeRelease());
      }
      return new Promise<Release>((resolve, reject) => waiters.push({ resolve, reject }));
    },
    rejectWaiters(reason) {
      for (const waiter of waiters.splice(0)) waiter.reject(reason);
    },
    get active() {
      return active;
    },
    get waiting() {
      return waiters.length;
    },
  };
}
