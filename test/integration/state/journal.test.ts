import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import type { NewJournalEntry } from '../../../src/state/journal.js';
import { T0 } from '../../unit/state/fixtures.js';
import { useStateHarness } from './harness.js';

const h = useStateHarness();

function compareStreamIds(a: string, b: string): number {
  const [ams, aseq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bms, bseq] = b.split('-').map(BigInt) as [bigint, bigint];
  return ams === bms ? Number(aseq - bseq) : Number(ams - bms);
}

async function seed(): Promise<string[]> {
  const { journal } = h().store();
  const entries: NewJournalEntry[] = [
    { type: 'OUTBID', model: 'mosaic_moe', message: 'bid instance 4242 stopped' },
    { type: 'DISK_CRITICAL', model: 'mosaic_dense', message: 'Disk at 93%', details: { pct: 93 } },
    {
      type: 'AUTO_CLEANUP',
      model: 'mosaic_dense',
      message: 'deleted 3 old checkpoints',
      details: { files: ['step_2500.pt'] },
    },
    {
      type: 'REPLACE',
      model: 'mosaic_moe',
      message: 'replaced 4242 with 5151',
      details: { reason: 'outbid' },
    },
    { type: 'stop', model: 'gpt2_reference', message: 'stopped for the night' },
  ];
  const ids: string[] = [];
  for (const e of entries) {
    ids.push(await journal.append(e));
    await h().clock.advance(1000);
  }
  return ids;
}

describe('journal', () => {
  it('appends with the clock time and returns increasing stream ids', async () => {
    const ids = await seed();
    expect(ids).toHaveLength(5);
    for (let i = 1; i < ids.length; i += 1) expect(compareStreamIds(ids[i - 1]!, ids[i]!)).toBeLessThan(0);
    const all = await h().store().journal.recent(10);
    expect(all.map((r) => r.id)).toEqual(ids);
    expect(all[0]?.entry).toEqual({
      timestamp: new Date(T0).toISOString(),
      type: 'OUTBID',
      model: 'mosaic_moe',
      message: 'bid instance 4242 stopped',
    });
    expect(all[1]?.entry.timestamp).toBe('2026-01-01T12:00:01.000Z');
  });

  it('keeps an explicit timestamp', async () => {
    const { journal } = h().store();
    await journal.append({ type: 'FIX', model: 'm', message: 'x', timestamp: '2025-12-31T23:59:59.000Z' });
    expect((await journal.recent(1))[0]?.entry.timestamp).toBe('2025-12-31T23:59:59.000Z');
  });

  it('returns the newest n, oldest first, filtered by run and type', async () => {
    await seed();
    const { journal } = h().store();
    expect((await journal.recent(2)).map((r) => r.entry.type)).toEqual(['REPLACE', 'stop']);
    expect((await journal.recent(10, { run: 'mosaic_dense' })).map((r) => r.entry.type)).toEqual([
      'DISK_CRITICAL',
      'AUTO_CLEANUP',
    ]);
    expect((await journal.recent(10, { type: 'OUTBID' })).map((r) => r.entry.model)).toEqual(['mosaic_moe']);
    expect(
      (await journal.recent(10, { run: 'mosaic_moe', type: ['OUTBID', 'REPLACE', 'FIX'] })).map(
        (r) => r.entry.type,
      ),
    ).toEqual(['OUTBID', 'REPLACE']);
    expect(await journal.recent(10, { run: 'nobody' })).toEqual([]);
    expect(await journal.recent(0)).toEqual([]);
  });

  it('finds entries by words in any field, newest n', async () => {
    await seed();
    const { journal } = h().store();
    expect((await journal.search('step_2500', 5)).map((r) => r.entry.type)).toEqual(['AUTO_CLEANUP']);
    expect((await journal.search('MOSAIC_MOE outbid', 5)).map((r) => r.entry.type)).toEqual([
      'OUTBID',
      'REPLACE',
    ]);
    expect((await journal.search('mosaic', 1)).map((r) => r.entry.type)).toEqual(['REPLACE']);
    expect(await journal.search('nccl', 5)).toEqual([]);
  });

  it('pages back through more than one read batch', async () => {
    const { journal } = h().store();
    const pipeline = h().redis.pipeline();
    for (let i = 0; i < 1200; i += 1) {
      const line = JSON.stringify({
        timestamp: '2026-01-01T00:00:00.000Z',
        type: 'FIX',
        model: `r${i % 3}`,
        message: `fix ${i}`,
      });
      pipeline.xadd(`${h().prefix}:journal`, '*', 'e', line);
    }
    await pipeline.exec();
    const r0 = await journal.recent(450, { run: 'r0' });
    expect(r0).toHaveLength(400);
    expect(r0[0]?.entry.message).toBe('fix 0');
    expect((await journal.search('fix 7', 1000)).map((r) => r.entry.message)).toContain('fix 7');
  });

  it('rejects invalid entries and skips corrupt stored ones', async () => {
    const { journal } = h().store();
    await expect(journal.append({ type: 'NOPE' as 'FIX', model: 'm', message: 'x' })).rejects.toThrow(
      ValidationError,
    );
    await expect(
      journal.append({ type: 'FIX', model: 'm', message: 'x', timestamp: 'yesterday' }),
    ).rejects.toThrow(ValidationError);
    await journal.append({ type: 'FIX', model: 'm', message: 'before' });
    await h().redis.xadd(`${h().prefix}:journal`, '*', 'e', '{not json');
    await journal.append({ type: 'FIX', model: 'm', message: 'after' });
    expect((await journal.recent(10)).map((r) => r.entry.message)).toEqual(['before', 'after']);
  });
});
