import { describe, expect, it } from 'vitest';
import { progress } from '../../../src/fleet/health/progress.js';
import { buildStatusSnapshot, measuredStepsPerHour } from '../../../src/state/exports.js';
import { HOUR, runHealth, runState, T0 } from './fixtures.js';

const spec = { name: 'mosaic_moe', target_steps: 50_000 };

describe('buildStatusSnapshot', () => {
  it('has exactly the DESIGN.md keys, in order', () => {
    const snapshot = buildStatusSnapshot({
      runs: [{ spec, state: runState(), health: runHealth() }],
      now: T0,
    });
    expect(Object.keys(snapshot)).toEqual(['updated', 'timestamp', 'instances', 'total_cost_hr']);
    expect(Object.keys(snapshot.instances[0] ?? {})).toEqual([
      'instance_id',
      'model',
      'status',
      'step',
      'max_steps',
      'loss',
      'ppl',
      'tok_s',
      'gpu_util',
      'disk_pct',
      'process_alive',
      'heartbeat_age_s',
      'cost_per_hr',
      'uptime_hrs',
      'cost_total',
      'eta_hrs',
      'pct_complete',
    ]);
  });

  it('reports updated as ISO UTC and timestamp as epoch seconds of the same instant', () => {
    const snapshot = buildStatusSnapshot({ runs: [], now: T0 + 999 });
    expect(snapshot.updated).toBe('2026-01-01T12:00:00.999Z');
    expect(snapshot.timestamp).toBe(T0 / 1000);
    expect(snapshot.instances).toEqual([]);
    expect(snapshot.total_cost_hr).toBe(0);
  });

  it('derives cost, uptime, progress and ETA from state and health', () => {
    const snapshot = buildStatusSnapshot({
      runs: [{ spec, state: runState(), health: runHealth() }],
      now: T0,
    });
    expect(snapshot.instances[0]).toEqual({
      instance_id: 4242,
      model: 'mosaic_moe',
      status: 'healthy',
      step: 12_340,
      max_steps: 50_000,
      loss: 3.1234,
      ppl: 22.7,
      tok_s: 48_211,
      gpu_util: 97,
      disk_pct: 41.3,
      process_alive: true,
      heartbeat_age_s: 12,
      cost_per_hr: 0.8,
      uptime_hrs: 10,
      // 12.5 already paid + 10 h at $0.80
      cost_total: 20.5,
      // (50000 - 12340) steps at 1000 steps/h
      eta_hrs: 37.66,
      pct_complete: 24.7,
    });
    expect(snapshot.total_cost_hr).toBe(0.8);
  });

  it('sums the hourly cost of billing runs only', () => {
    const snapshot = buildStatusSnapshot({
      runs: [
        { spec, state: runState({ costPerHr: 0.8 }), health: null },
        {
          spec: { name: 'gpt2_reference', target_steps: 50_000 },
          state: runState({ costPerHr: 0.35 }),
          health: null,
        },
        {
          spec: { name: 'mosaic_dense', target_steps: 50_000 },
          state: runState({ instanceId: null, sshHost: null, costPerHr: 0.5, costAccrued: 3 }),
          health: null,
        },
      ],
      now: T0,
    });
    expect(snapshot.total_cost_hr).toBe(1.15);
    const idle = snapshot.instances[2];
    expect(idle?.cost_per_hr).toBe(0);
    expect(idle?.uptime_hrs).toBe(0);
    expect(idle?.cost_total).toBe(3);
  });

  it('falls back to the given steps per hour when the history cannot tell, else null', () => {
    const flat = runHealth({ stepHistory: [[T0, 12_340]] });
    const withProgress = buildStatusSnapshot({
      runs: [{ spec, state: runState(), health: flat, progress: { stepsPerHour: 2000 } }],
      now: T0,
    });
    expect(withProgress.instances[0]?.eta_hrs).toBe(18.83);
    const without = buildStatusSnapshot({ runs: [{ spec, state: runState(), health: flat }], now: T0 });
    expect(without.instances[0]?.eta_hrs).toBeNull();
  });

  it('gives ETA 0 and 100% for a finished run, and unknown status without health', () => {
    const done = buildStatusSnapshot({
      runs: [{ spec, state: runState(), health: runHealth({ status: 'complete', step: 50_000 }) }],
      now: T0,
    });
    expect(done.instances[0]).toMatchObject({ status: 'complete', eta_hrs: 0, pct_complete: 100 });
    const unseen = buildStatusSnapshot({ runs: [{ spec, state: null, health: null }], now: T0 });
    expect(unseen.instances[0]).toMatchObject({
      status: 'unknown',
      step: null,
      instance_id: null,
      pct_complete: null,
      eta_hrs: null,
      cost_per_hr: 0,
    });
    const paused = buildStatusSnapshot({
      runs: [{ spec, state: runState({ paused: true }), health: null }],
      now: T0,
    });
    expect(paused.instances[0]?.status).toBe('paused');
  });
});

describe('measuredStepsPerHour', () => {
  it('measures the productive hours on both sides of a resume, never the step going backwards', () => {
    // 1,000 steps in the hour before, 2,000 in the hour after; the drop and the hour spanning it
    // are not progress, lost or made.
    expect(
      measuredStepsPerHour([
        [T0, 20_000],
        [T0 + HOUR, 21_000],
        // resumed from the 17,500 checkpoint on a new instance
        [T0 + 2 * HOUR, 17_500],
        [T0 + 3 * HOUR, 19_500],
      ]),
    ).toBe(1500);
  });

  it('agrees with the Slack digest after a migration gap', () => {
    const MIN = 60_000;
    const history: [number, number][] = [];
    for (let i = 0; i <= 60; i++) history.push([T0 + i * MIN, 10_000 + i * 20]);
    // 40 minutes without samples while the run moved, then resumed at the last checkpoint.
    for (let i = 0; i <= 30; i++) history.push([T0 + (100 + i) * MIN, 11_000 + i * 20]);
    const rate = measuredStepsPerHour(history);
    expect(rate).toBe(progress(history, 50_000, 0).stepsPerHour);
    // 20 steps a minute in both segments; the 40-minute gap is neither progress nor time.
    expect(rate).toBeCloseTo(1200, 6);
  });

  it('returns null without two distinct advancing samples', () => {
    expect(measuredStepsPerHour([])).toBeNull();
    expect(measuredStepsPerHour([[T0, 5]])).toBeNull();
    expect(
      measuredStepsPerHour([
        [T0, 5],
        [T0 + HOUR, 5],
      ]),
    ).toBeNull();
  });
});
