import { appendFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockBusyError } from '../../../src/errors.js';
import { renderJournalLine } from '../../../src/state/journal.js';
import { JOURNAL_CURSOR_FILE, JOURNAL_FILE } from '../../../src/state/journal-export.js';
import type { Store } from '../../../src/state/store.js';
import { T0 } from '../../unit/state/fixtures.js';
import { useStateHarness } from './harness.js';

const h = useStateHarness();

async function appendMany(store: Store, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i += 1) {
    await store.journal.append({
      type: i % 2 ? 'FIX' : 'STALL',
      model: 'mosaic_moe',
      message: `event ${i}`,
      ...(i % 3 === 0 ? { details: { i } } : {}),
    });
  }
}

async function fileText(): Promise<string> {
  return readFile(path.join(h().dir, JOURNAL_FILE), 'utf8');
}

/** The file must hold every stream entry exactly once, in stream order. */
async function expectFileMatchesStream(store: Store): Promise<void> {
  const all = await store.journal.recent(100_000);
  const expected = all.map((r) => `${renderJournalLine(r.entry)}\n`).join('');
  expect(await fileText()).toBe(expected);
}

describe('journal export', () => {
  it('writes exactly the DESIGN.md line shape', async () => {
    const store = h().store();
    await store.journal.append({ type: 'CRASH', model: 'mosaic_moe', message: 'exitcode: -9' });
    await h().clock.advance(1500);
    await store.journal.append({
      type: 'AUTO_CLEANUP',
      model: 'mosaic_dense',
      message: 'deleted 2 checkpoints',
      details: { deleted: ['step_2500.pt', 'step_5000.pt'], disk_pct: 71.5 },
    });
    expect(await store.journal.exportJournal(h().dir)).toEqual({
      exported: 2,
      reconciled: 0,
      droppedBytes: 0,
    });
    expect(await fileText()).toBe(
      `{"timestamp":"${new Date(T0).toISOString()}","type":"CRASH","model":"mosaic_moe","message":"exitcode: -9"}\n` +
        `{"timestamp":"2026-01-01T12:00:01.500Z","type":"AUTO_CLEANUP","model":"mosaic_dense","message":"deleted 2 checkpoints","details":{"deleted":["step_2500.pt","step_5000.pt"],"disk_pct":71.5}}\n`,
    );
  });

  it('appends only new entries, never rewriting what is there', async () => {
    const store = h().store();
    await appendMany(store, 5);
    await store.journal.exportJournal(h().dir);
    const before = await fileText();
    const inode = (await stat(path.join(h().dir, JOURNAL_FILE))).ino;
    expect((await store.journal.exportJournal(h().dir)).exported).toBe(0);
    await appendMany(store, 3, 5);
    expect((await store.journal.exportJournal(h().dir)).exported).toBe(3);
    const after = await fileText();
    expect(after.startsWith(before)).toBe(true);
    expect(after.split('\n').filter(Boolean)).toHaveLength(8);
    expect((await stat(path.join(h().dir, JOURNAL_FILE))).ino).toBe(inode);
    await expectFileMatchesStream(store);
  });

  it('exports each entry once when two stores export concurrently while entries arrive', async () => {
    const a = h().store();
    const b = h().store();
    const writer = h().store();
    for (let round = 0; round < 5; round += 1) {
      await Promise.all([
        appendMany(writer, 20, round * 20),
        a.journal.exportJournal(h().dir, { batchSize: 7 }),
        b.journal.exportJournal(h().dir, { batchSize: 7 }),
      ]);
    }
    await Promise.all([a.journal.exportJournal(h().dir), b.journal.exportJournal(h().dir)]);
    await expectFileMatchesStream(writer);
    expect((await fileText()).split('\n').filter(Boolean)).toHaveLength(100);
  });

  it('after a crash between append and cursor write, counts the written lines instead of repeating them', async () => {
    const store = h().store();
    await appendMany(store, 4);
    await store.journal.exportJournal(h().dir);
    await appendMany(store, 3, 4);
    // The crashed export had appended (and fsync'd) these lines but never saved its cursor.
    const crashed = (await store.journal.recent(3)).map((r) => `${renderJournalLine(r.entry)}\n`).join('');
    await appendFile(path.join(h().dir, JOURNAL_FILE), crashed);
    await appendMany(store, 2, 7);

    expect(await store.journal.exportJournal(h().dir)).toEqual({
      exported: 2,
      reconciled: 3,
      droppedBytes: 0,
    });
    await expectFileMatchesStream(store);
    expect((await store.journal.exportJournal(h().dir)).exported).toBe(0);
    await expectFileMatchesStream(store);
  });

  it('cuts a torn last line and writes that entry again whole', async () => {
    const store = h().store();
    await appendMany(store, 2);
    await store.journal.exportJournal(h().dir);
    await appendMany(store, 2, 2);
    const [third, fourth] = (await store.journal.recent(2)).map((r) => `${renderJournalLine(r.entry)}\n`);
    // One whole line made it to disk, the next only half.
    await appendFile(path.join(h().dir, JOURNAL_FILE), third! + fourth!.slice(0, 20));

    const result = await store.journal.exportJournal(h().dir);
    expect(result).toEqual({ exported: 1, reconciled: 1, droppedBytes: 20 });
    await expectFileMatchesStream(store);
  });

  it('recovers from a corrupt cursor without duplicating lines', async () => {
    const store = h().store();
    await appendMany(store, 6);
    await store.journal.exportJournal(h().dir);
    await writeFile(path.join(h().dir, JOURNAL_CURSOR_FILE), '{"lastId":');
    await appendMany(store, 2, 6);
    expect(await store.journal.exportJournal(h().dir)).toMatchObject({ exported: 2, reconciled: 6 });
    await expectFileMatchesStream(store);
  });

  it('keeps a journal.jsonl written by earlier tooling and appends after it', async () => {
    const store = h().store();
    const legacy =
      '{"timestamp": "2025-12-30T10:00:00Z", "type": "CRASH", "model": "mosaic_moe", "message": "old"}\n' +
      '{"timestamp": "2025-12-30T11:00:00Z", "type": "FIX", "model": "mosaic_moe", "message": "no newline"}';
    await writeFile(path.join(h().dir, JOURNAL_FILE), legacy);
    await appendMany(store, 3);
    expect(await store.journal.exportJournal(h().dir)).toEqual({
      exported: 3,
      reconciled: 0,
      droppedBytes: 0,
    });
    const all = await store.journal.recent(10);
    expect(await fileText()).toBe(`${legacy}\n${all.map((r) => `${renderJournalLine(r.entry)}\n`).join('')}`);
  });

  it('steps over a corrupt stream entry without losing its place', async () => {
    const store = h().store();
    await appendMany(store, 1);
    await h().redis.xadd(`${h().prefix}:journal`, '*', 'e', 'garbage');
    await appendMany(store, 1, 1);
    expect((await store.journal.exportJournal(h().dir)).exported).toBe(2);
    // A crash right after that export: its lines are there but the cursor is back at the start.
    await writeFile(path.join(h().dir, JOURNAL_CURSOR_FILE), '{"lastId":"0-0","bytes":0}\n');
    await appendMany(store, 1, 2);
    expect(await store.journal.exportJournal(h().dir)).toMatchObject({ exported: 1, reconciled: 2 });
    await expectFileMatchesStream(store);
  });

  it('leaves no temporary files behind, and waits at most lockWaitMs for another exporter', async () => {
    const store = h().store();
    await appendMany(store, 3);
    await store.journal.exportJournal(h().dir);
    expect((await readdir(h().dir)).sort()).toEqual([JOURNAL_CURSOR_FILE, JOURNAL_FILE].sort());
    await h().redis.set(`${h().prefix}:lock:journal-export`, 'someone-else', 'PX', 5000);
    await expect(store.journal.exportJournal(h().dir, { lockWaitMs: 150 })).rejects.toThrow(LockBusyError);
  });
});
