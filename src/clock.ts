/**
 * Time is injected everywhere so that time-based logic is testable and the simulator can run a
 * day of training in seconds. `now()` is epoch milliseconds in the clock's own timeline.
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** How many clock milliseconds pass per real millisecond (1 for the system clock). */
  readonly speed: number;
}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: realSleep,
  speed: 1,
};

/** A clock that runs `speed` times faster than real time, starting at `start`. */
export function scaledClock(speed: number, start: number = Date.now()): Clock {
  if (!(speed > 0)) throw new RangeError(`clock speed must be positive, got ${speed}`);
  const realStart = Date.now();
  return {
    now: () => start + (Date.now() - realStart) * speed,
    sleep: (ms, signal) => realSleep(ms / speed, signal),
    speed,
  };
}

/** A clock that only moves when told to: for unit tests. Sleepers wake when time passes them. */
export interface ManualClock extends Clock {
  advance(ms: number): Promise<void>;
  set(ms: number): Promise<void>;
}

export function manualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let current = start;
  const sleepers: { until: number; resolve: () => void }[] = [];
  const wake = async () => {
    for (const s of [...sleepers]) {
      if (s.until <= current) {
        sleepers.splice(sleepers.indexOf(s), 1);
        s.resolve();
      }
    }
    await Promise.resolve();
  };
  return {
    now: () => current,
    speed: 1,
    sleep(ms, signal) {
      return new Promise((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        const entry = { until: current + ms, resolve };
        sleepers.push(entry);
        signal?.addEventListener(
          'abort',
          () => {
            const i = sleepers.indexOf(entry);
            if (i >= 0) sleepers.splice(i, 1);
            reject(signal.reason);
          },
          { once: true },
        );
      });
    },
    async advance(ms) {
      current += ms;
      await wake();
    },
    async set(ms) {
      current = ms;
      await wake();
    },
  };
}

/** A scaled clock whose speed can change while it runs (time never jumps when it does). */
export interface AdjustableClock extends Clock {
  setSpeed(speed: number): void;
}

export function adjustableClock(initialSpeed: number, start: number = Date.now()): AdjustableClock {
  if (!(initialSpeed > 0)) throw new RangeError(`clock speed must be positive, got ${initialSpeed}`);
  let base = start;
  let realBase = Date.now();
  let speed = initialSpeed;
  const now = () => base + (Date.now() - realBase) * speed;
  return {
    now,
    sleep: (ms, signal) => realSleep(ms / speed, signal),
    get speed() {
      return speed;
    },
    setSpeed(next) {
      if (!(next > 0)) throw new RangeError(`clock speed must be positive, got ${next}`);
      base = now();
      realBase = Date.now();
      speed = next;
    },
  };
}
