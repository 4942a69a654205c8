/**
 * How long to refuse new connection attempts after `failures` consecutive failed connects:
 * doubling from `baseMs`, capped at `maxMs`, so a dead host costs one attempt per window
 * instead of one per check.
 */
export function connectBackoffMs(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}
