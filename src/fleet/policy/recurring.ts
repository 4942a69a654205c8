import type { Thresholds } from '../schema.js';

/**
 * Rule 6: an issue that keeps coming back is not fixed by fixing it again. When the current
 * incident plus the past ones of the same kind for the same run, inside the window, reach
 * `recurring_count`, a human is paged with the history.
 */

export interface RecurringDecision {
  escalate: boolean;
  /** Incidents in the window, the current one included. */
  count: number;
  windowHours: number;
}

const HOUR_MS = 3_600_000;
const MIN_COUNT = 2;

/**
 * `occurrences` are the epoch-ms times of PAST incidents (not the current one, which happens at
 * `now` and is always counted). The window is inclusive at both ends: an incident exactly
 * `recurring_window_hours` ago still counts. Times after `now` (clock skew) and non-finite
 * times are ignored rather than trusted.
 */
export function recurringDecision(
  occurrences: readonly number[],
  now: number,
  thresholds: Pick<Thresholds, 'recurring_count' | 'recurring_window_hours'>,
): RecurringDecision {
  const windowHours = thresholds.recurring_window_hours;
  const since = now - windowHours * HOUR_MS;
  const past = occurrences.filter((t) => Number.isFinite(t) && t >= since && t <= now).length;
  const count = past + 1;
  const needed = Math.max(MIN_COUNT, thresholds.recurring_count);
  return { escalate: count >= needed, count, windowHours };
}
