import { describe, expect, it } from 'vitest';
import { recurringDecision } from '../../../src/fleet/policy/index.js';
import { defaultThresholds } from './fixtures.js';

const HOUR = 3_600_000;
const now = Date.UTC(2026, 0, 1, 12);
const thresholds = defaultThresholds();

describe('recurringDecision', () => {
  it('escalates the third incident within 24 h (two past ones plus this one)', () => {
    expect(recurringDecision([now - 5 * HOUR, now - HOUR], now, thresholds)).toEqual({
      escalate: true,
      count: 3,
      windowHours: 24,
    });
  });

  it('does not escalate the first or second incident', () => {
    expect(recurringDecision([], now, thresholds)).toEqual({ escalate: false, count: 1, windowHours: 24 });
    expect(recurringDecision([now - HOUR], now, thresholds)).toMatchObject({ escalate: false, count: 2 });
  });

  it('counts an incident exactly at the window edge, not one a millisecond older', () => {
    expect(recurringDecision([now - 24 * HOUR, now - HOUR], now, thresholds).escalate).toBe(true);
    expect(recurringDecision([now - 24 * HOUR - 1, now - HOUR], now, thresholds)).toMatchObject({
      escalate: false,
      count: 2,
    });
  });

  it('ignores incidents in the future and garbage times', () => {
    const odd = [now + HOUR, Number.NaN, Number.POSITIVE_INFINITY, now - HOUR];
    expect(recurringDecision(odd, now, thresholds)).toMatchObject({ escalate: false, count: 2 });
  });

  it('accepts unsorted history', () => {
    const history = [now - 2 * HOUR, now - 30 * HOUR, now - 10 * HOUR, now - 48 * HOUR];
    expect(recurringDecision(history, now, thresholds)).toMatchObject({ escalate: true, count: 3 });
  });

  it('follows the thresholds', () => {
    const strict = { recurring_count: 5, recurring_window_hours: 2 };
    const history = [now - HOUR, now - HOUR, now - 90 * 60_000, now - 3 * HOUR];
    expect(recurringDecision(history, now, strict)).toEqual({ escalate: false, count: 4, windowHours: 2 });
    expect(recurringDecision([...history, now - 1], now, strict)).toMatchObject({ escalate: true, count: 5 });
  });

  it('never escalates a single incident, whatever the thresholds say', () => {
    expect(recurringDecision([], now, { recurring_count: 1, recurring_window_hours: 24 }).escalate).toBe(
      false,
    );
  });
});
