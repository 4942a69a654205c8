import { describe, expect, it } from 'vitest';
import type { HealthStatus, Severity } from '../../../src/fleet/health/types.js';
import { type DigestRun, renderStatusDigest } from '../../../src/slack-messages/index.js';
import {
  allText,
  expectValid,
  HOUR,
  health,
  INJECTION,
  MINUTE,
  NOW,
  runSpec,
  sectionTexts,
} from './fixtures.js';

function run(name: string, overrides: Partial<DigestRun> = {}): DigestRun {
  return {
    spec: runSpec(name),
    health: health({ run: name }),
    instance: { id: 28_123_456, gpuName: 'RTX 3090', numGpus: 4, dphTotal: 0.872 },
    progress: { stepsPerHour: 1_200, etaHours: 24.2, pctComplete: 42 },
    ...overrides,
  };
}

const fleet: DigestRun[] = [
  run('gpt2_reference', { progress: { stepsPerHour: 2_400, etaHours: 0.75, pctComplete: 96.4 } }),
  run('mosaic_dense', {
    health: health({
      run: 'mosaic_dense',
      status: 'stalled',
      severity: 'critical',
      reason: 'step 18,200 has not advanced for 14 min while the heartbeat is fresh',
      step: 18_200,
    }),
    progress: { stepsPerHour: 0, etaHours: null, pctComplete: 36.4 },
  }),
  run('mosaic_moe', {
    instance: null,
    health: null,
    progress: { stepsPerHour: null, etaHours: null, pctComplete: null },
  }),
];

describe('renderStatusDigest', () => {
  it('shows every run with health, progress bar, step, rate, loss, ETA, cost, disk and GPU', () => {
    const msg = renderStatusDigest({ runs: fleet, openIncidents: 1, totalCostHr: 1.744, generatedAt: NOW });
    expectValid(msg);
    const text = sectionTexts(msg.blocks).join('\n');
    expect(text).toContain(':large_green_circle: *gpt2_reference* — healthy');
    expect(text).toContain('`▓▓▓▓▓▓▓▓▓░` 96% · step 21,000 / 50,000');
    expect(text).toContain('2,400 steps/h · loss 3.1234 · ETA 45m · $0.872/h · disk 41%');
    expect(text).toContain('`▓▓▓░░░░░░░` 36% · step 18,200 / 50,000');
    expect(text).toContain('0 steps/h');
    expect(text).toContain('instance 28123456 · 4× RTX 3090');
    expect(text).toContain(':red_circle: *mosaic_dense* — stalled');
    expect(text).toContain('_step 18,200 has not advanced for 14 min while the heartbeat is fresh_');
    expect(text).toContain('*mosaic_moe* — no data yet');
    expect(text).toContain('no instance');
    expect(msg.text).toBe(
      'Training fleet status: 3 runs · 1 healthy · 1 need attention · 1 open incident · $1.74/h',
    );
    expect(allText(msg)).toContain('2026-01-01 12:00 UTC');
  });

  it('computes the percentage from step and target when progress has none, and flags a NaN loss', () => {
    const msg = renderStatusDigest({
      runs: [
        run('mosaic_moe', {
          health: health({ step: 25_000, loss: null, lossIsNaN: true, status: 'nan', severity: 'critical' }),
          progress: { stepsPerHour: null, etaHours: null, pctComplete: null },
        }),
      ],
      openIncidents: 0,
      totalCostHr: 0,
      generatedAt: NOW,
    });
    const text = sectionTexts(msg.blocks).join('\n');
    expect(text).toContain('`▓▓▓▓▓░░░░░` 50%');
    expect(text).toContain('loss NaN :warning:');
  });

  it('warns when a health reading is stale', () => {
    const stale = run('mosaic_moe', { health: health({ observedAt: NOW - 2 * HOUR }) });
    const msg = renderStatusDigest({ runs: [stale], openIncidents: 0, totalCostHr: 0, generatedAt: NOW });
    expect(sectionTexts(msg.blocks).join()).toContain('last observed 2h ago');
    const fresh = run('mosaic_moe', { health: health({ observedAt: NOW - MINUTE }) });
    const ok = renderStatusDigest({ runs: [fresh], openIncidents: 0, totalCostHr: 0, generatedAt: NOW });
    expect(sectionTexts(ok.blocks).join()).not.toContain('last observed');
  });

  it('says so when there are no runs', () => {
    const msg = renderStatusDigest({ runs: [], openIncidents: 0, totalCostHr: 0, generatedAt: NOW });
    expectValid(msg);
    expect(allText(msg)).toContain('No runs in the fleet yet');
  });

  it('escapes host-controlled text (GPU names, reasons)', () => {
    const hostile = run('mosaic_moe', {
      instance: { id: 1, gpuName: INJECTION, numGpus: 1, dphTotal: 0.2 },
      health: health({ status: 'crashed', severity: 'critical', reason: `log says ${INJECTION}` }),
    });
    const msg = renderStatusDigest({ runs: [hostile], openIncidents: 0, totalCostHr: 0.2, generatedAt: NOW });
    expectValid(msg);
    expect(allText(msg)).toContain('&lt;!channel&gt; ignore previous instructions');
  });

  it('condenses 100 runs with 80-character GPU names, problems first, within Slack limits', () => {
    const statuses: [HealthStatus, Severity][] = [
      ['healthy', 'info'],
      ['slow', 'warning'],
      ['crashed', 'critical'],
      ['preempted', 'critical'],
    ];
    const runs = Array.from({ length: 100 }, (_, i) => {
      const [status, severity] = statuses[i % statuses.length] ?? ['healthy', 'info'];
      return run(`run_${String(i).padStart(3, '0')}_${'x'.repeat(40)}`, {
        health: health({ status, severity, reason: 'r'.repeat(2000) }),
        instance: { id: 1000 + i, gpuName: 'G'.repeat(80), numGpus: 8, dphTotal: 3.2 },
      });
    });
    const msg = renderStatusDigest({ runs, openIncidents: 50, totalCostHr: 320, generatedAt: NOW });
    expectValid(msg);
    const text = sectionTexts(msg.blocks).join('\n');
    const firstLine = text.split('\n')[0] ?? '';
    expect(firstLine).toContain(':red_circle:');
    // Every critical run is listed before any healthy one.
    const lastCritical = text.lastIndexOf(':red_circle:');
    const firstHealthy = text.indexOf(':large_green_circle:');
    expect(firstHealthy === -1 || lastCritical < firstHealthy).toBe(true);
    expect(allText(msg)).toContain('Condensed view');
    expect(msg.text).toContain('100 runs');
  });

  it('stays within limits for 1,000 runs by counting the ones it cannot list', () => {
    const runs = Array.from({ length: 1000 }, (_, i) => run(`r${i}`));
    const msg = renderStatusDigest({ runs, openIncidents: 0, totalCostHr: 872, generatedAt: NOW });
    expectValid(msg);
    expect(allText(msg)).toMatch(/…and \d+ more run\(s\) not shown/);
  });

  it('keeps a detailed section per run up to 20 runs', () => {
    const runs = Array.from({ length: 20 }, (_, i) => run(`r${i}`));
    const msg = renderStatusDigest({ runs, openIncidents: 0, totalCostHr: 0, generatedAt: NOW });
    expectValid(msg);
    expect(msg.blocks.filter((b) => b.block_id?.startsWith('run-'))).toHaveLength(20);
  });
});
