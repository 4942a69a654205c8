import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildStatusSnapshot,
  CONTINUATION_FILE,
  STATUS_FILE,
  writeContinuationContext,
  writeStatusJson,
} from '../../../src/state/exports.js';
import type { StatusSnapshot } from '../../../src/state/types.js';
import { runHealth, runState, T0 } from '../../unit/state/fixtures.js';
import { useStateHarness } from './harness.js';

const h = useStateHarness();

/** A snapshot of `n` runs: big enough that a non-atomic write would be seen half done. */
function snapshot(n: number, step: number): StatusSnapshot {
  return buildStatusSnapshot({
    runs: Array.from({ length: n }, (_, i) => ({
      spec: { name: `run_${i}`, target_steps: 50_000 },
      state: runState({ run: `run_${i}` }),
      health: runHealth({ run: `run_${i}`, step }),
    })),
    now: T0,
  });
}

describe('status.json', () => {
  it('is written with exactly the snapshot, keys in order', async () => {
    const snap = snapshot(3, 12_340);
    const file = await writeStatusJson(path.join(h().dir, 'nested'), snap);
    expect(file).toBe(path.join(h().dir, 'nested', STATUS_FILE));
    const text = await readFile(file, 'utf8');
    expect(text).toBe(`${JSON.stringify(snap, null, 2)}\n`);
    const parsed = JSON.parse(text);
    expect(Object.keys(parsed)).toEqual(['updated', 'timestamp', 'instances', 'total_cost_hr']);
    expect(parsed.instances).toHaveLength(3);
  });

  it('is never seen partially written by a reader polling during rewrites', async () => {
    const small = snapshot(2, 1);
    const big = snapshot(3000, 2);
    const valid = new Set([JSON.stringify(small), JSON.stringify(big)]);
    const file = path.join(h().dir, STATUS_FILE);
    await writeStatusJson(h().dir, small);
    let writing = true;
    let reads = 0;
    const reader = (async () => {
      while (writing) {
        const text = await readFile(file, 'utf8');
        expect(valid.has(JSON.stringify(JSON.parse(text)))).toBe(true);
        reads += 1;
      }
    })();
    for (let i = 0; i < 16; i += 1) await writeStatusJson(h().dir, i % 2 ? small : big);
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(2);
    expect(await readdir(h().dir)).toEqual([STATUS_FILE]);
  });
});

describe('CONTINUATION_CONTEXT.md', () => {
  it('is written from the store: fleet, open incidents, decisions and next steps', async () => {
    const store = h().store();
    await store.putRunState(runState());
    await store.putHealth(runHealth({ status: 'preempted', reason: 'bid instance stopped by host' }));
    const { incident } = await store.incidents.openOrUpdate({
      run: 'mosaic_moe',
      kind: 'preempted',
      severity: 'critical',
      message: 'outbid on instance 4242',
    });
    await store.journal.append({
      type: 'DECISION',
      model: 'mosaic_moe',
      message: 'propose migrating to offer 777',
      details: { reason: 'cheapest RTX 3090 4x with reliability 0.99' },
    });
    const file = await writeContinuationContext(h().dir, {
      generatedAt: T0,
      runs: [
        {
          spec: { name: 'mosaic_moe', target_steps: 50_000 },
          state: await store.getRunState('mosaic_moe'),
          health: await store.getHealth('mosaic_moe'),
        },
      ],
      openIncidents: await store.incidents.listOpen(),
      journal: (await store.journal.recent(50)).map((r) => r.entry),
      nextSteps: ['Wait for an approver to accept the migration'],
    });
    expect(path.basename(file)).toBe(CONTINUATION_FILE);
    const md = await readFile(file, 'utf8');
    expect(md).toContain('| mosaic_moe | preempted | 12340/50000 |');
    expect(md).toContain(`id \`${incident.id}\``);
    expect(md).toContain(
      '**DECISION** mosaic_moe: propose migrating to offer 777 Reason: cheapest RTX 3090 4x with reliability 0.99',
    );
    expect(md).toContain('1. Wait for an approver to accept the migration');
    expect(await readdir(h().dir)).toEqual([CONTINUATION_FILE]);
  });
});
