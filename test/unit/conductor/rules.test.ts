import { describe, expect, it } from 'vitest';
import { findRunsInText, type RunReport, renderRulesAnswer } from '../../../agents/conductor/rules.js';
import type { FleetRow, FleetView } from '../../../agents/conductor/snapshot.js';
import type { StatusInstance } from '../../../src/state/types.js';

/** Answers without the model: the run is found by name, and the answer says why the LLM is off. */

const RUNS = ['gpt2_reference', 'mosaic_dense', 'mosaic_moe'];

function row(run: string, overrides: Partial<StatusInstance> = {}): FleetRow {
  return {
    run,
    status: {
      instance_id: 7,
      model: run,
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
      cost_per_hr: 1.2,
      uptime_hrs: 5,
      cost_total: 9.5,
      eta_hrs: 20.4,
      pct_complete: 24.7,
      ...overrides,
    },
    state: null,
    health: null,
    incidents: [],
  };
}

const view: FleetView = { at: 0, rows: RUNS.map((r) => row(r)), totalCostHr: 3.6 };

describe('findRunsInText', () => {
  it('finds run names as whole words, any case, in order of mention', () => {
    expect(findRunsInText('Is MOSAIC_MOE faster than gpt2_reference?', RUNS)).toEqual([
      'mosaic_moe',
      'gpt2_reference',
    ]);
    expect(findRunsInText("what's mosaic_dense's ETA", RUNS)).toEqual(['mosaic_dense']);
    expect(findRunsInText('mosaic_moe2 and xmosaic_dense and mosaic', RUNS)).toEqual([]);
    expect(findRunsInText('(mosaic_moe)', RUNS)).toEqual(['mosaic_moe']);
  });
});

describe('renderRulesAnswer', () => {
  it('says why first, then the status, journal and fenced log tail of the run in question', () => {
    const report: RunReport = {
      row: row('mosaic_moe'),
      journal: [
        {
          timestamp: '2026-01-15T10:00:00.000Z',
          type: 'AUTO_RESTART',
          model: 'mosaic_moe',
          message: 'restarted',
        },
      ],
      log: { lines: ['step 12330/50000 | loss 3.12', 'evil ``` fence\u0007'] },
    };
    const text = renderRulesAnswer({ why: 'The LLM is off.', view, runs: [report] });
    expect(text.startsWith('_The LLM is off._')).toBe(true);
    expect(text).toContain('mosaic_moe: healthy | step 12340/50000 (24.7%) | loss 3.123 | tok/s 48211');
    expect(text).toContain('• 2026-01-15 10:00 AUTO_RESTART — restarted');
    expect(text).toContain("```\nstep 12330/50000 | loss 3.12\nevil ''' fence\n```");
    expect(text).not.toContain('gpt2_reference');
  });

  it('says when the log could not be read', () => {
    const text = renderRulesAnswer({
      why: 'w',
      view,
      runs: [{ row: row('mosaic_moe'), journal: [], log: { error: 'ssh timeout' } }],
    });
    expect(text).toContain('_Log tail unavailable: ssh timeout_');
  });

  it('summarises the whole fleet when no run is named', () => {
    const text = renderRulesAnswer({ why: 'The LLM budget is used up.', view, runs: [] });
    for (const run of RUNS) expect(text).toContain(`${run}: healthy`);
    expect(text).toContain('Fleet cost: $3.60/h');
    expect(text).toContain('No open incidents.');
  });
});
