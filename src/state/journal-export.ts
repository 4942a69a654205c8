import { mkdir, open, readFile, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { LockBusyError } from '../errors.js';
import type { Logger } from '../logger.js';
import { withLock } from '../queues/instance-lock.js';
import { appendDurably, writeFileAtomic } from './atomic-file.js';
import { renderJournalLine } from './journal-line.js';
import { parseStored } from './schemas.js';
import type { JournalEntry } from './types.js';

/**
 * Exporting the journal stream to `journal.jsonl`, append-only and exactly once.
 *
 * A sidecar cursor `.journal.jsonl.cursor` records the last exported stream id and the file's
 * length at that point. Each batch is appended and fsync'd first, then the cursor is replaced
 * atomically. A crash between the two leaves the file longer than the cursor says: the next
 * export counts the complete lines past the recorded length (they are, in order, the entries that
 * follow the cursor, because only the exporter writes the file and always in stream order), moves
 * the cursor over that many entries, and truncates a torn last line so its entry is written again
 * whole. A Redis lock keeps concurrent exporters (other processes, other workers) from both
 * appending the same batch. A journal.jsonl found without a cursor (the team's earlier tooling
 * wrote it) is kept, and the export continues after it.
 */

export const JOURNAL_FILE = 'journal.jsonl';
export const JOURNAL_CURSOR_FILE = '.journal.jsonl.cursor';

export interface JournalSource {
  readAfter(afterId: string, count: number): Promise<{ id: string; entry: JournalEntry | null }[]>;
}

export interface ExportOptions {
  /** Entries per append (default 500). */
  batchSize?: number;
  /** How long to wait for another exporter to finish (real ms, default 15 s). */
  lockWaitMs?: number;
}

export interface JournalExportResult {
  /** Lines appended by this call. */
  exported: number;
  /** Lines found already written by an export that crashed before saving its cursor. */
  reconciled: number;
  /** Bytes of a torn last line that were cut off (their entry is written again). */
  droppedBytes: number;
}

interface ExportCursor {
  lastId: string;
  bytes: number;
}

const CursorSchema = z
  .object({
    lastId: z.string().regex(/^\d+-\d+$/),
    bytes: z.number().int().nonnegative(),
  })
  .strict();

const START: ExportCursor = { lastId: '0-0', bytes: 0 };
const LOCK_TTL_MS = 60_000;

interface ExportDeps {
  redis: Redis;
  lockKey: string;
  source: JournalSource;
  logger: Logger;
}

export async function exportJournalTo(
  deps: ExportDeps,
  dir: string,
  options: ExportOptions = {},
): Promise<JournalExportResult> {
  await mkdir(dir, { recursive: true });
  const batchSize = options.batchSize ?? 500;
  return withLock(
    deps.redis,
    deps.lockKey,
    async (lost) => {
      const files = {
        journal: path.join(dir, JOURNAL_FILE),
        cursor: path.join(dir, JOURNAL_CURSOR_FILE),
      };
      const saved = (await readCursor(files.cursor, deps.logger)) ?? (await adoptExistingFile(deps, files));
      const recovered = await reconcile(deps, files, saved, batchSize);
      let cursor = recovered.cursor;
      let exported = 0;
      for (;;) {
        const batch = await deps.source.readAfter(cursor.lastId, batchSize);
        const last = batch[batch.length - 1];
        if (!last) break;
        const lines = batch.flatMap(({ entry }) => (entry ? [journalLine(entry)] : []));
        // Another exporter may have taken over if our lease lapsed: stop before writing twice.
        if (lost.aborted) throw new LockBusyError('journal export lock was lost');
        const data = Buffer.from(lines.join(''));
        if (data.length > 0) await appendDurably(files.journal, data);
        cursor = { lastId: last.id, bytes: cursor.bytes + data.length };
        await writeCursor(files.cursor, cursor);
        exported += lines.length;
      }
      return { exported, reconciled: recovered.reconciled, droppedBytes: recovered.droppedBytes };
    },
    { ttlMs: LOCK_TTL_MS, waitMs: options.lockWaitMs ?? 15_000 },
  );
}

/** The exact bytes of one journal.jsonl line, newline included. */
function journalLine(entry: JournalEntry): string {
  return `${renderJournalLine(entry)}\n`;
}

/** The saved cursor; null when there is none (this directory was never exported to). */
async function readCursor(file: string, logger: Logger): Promise<ExportCursor | null> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  try {
    return parseStored(CursorSchema, raw, file);
  } catch (err) {
    // Without a cursor every line in the file is matched against the stream from its start.
    logger.warn({ err, file }, 'journal export cursor is corrupt: reconciling from the start');
    return START;
  }
}

/**
 * First export into a directory: a journal.jsonl already there was written by someone else (the
 * team's previous tooling), so it is kept as it is and our lines go after it. The cursor is saved
 * before anything is appended, so "no cursor" never means "we appended and crashed".
 */
async function adoptExistingFile(
  deps: ExportDeps,
  files: { journal: string; cursor: string },
): Promise<ExportCursor> {
  let size = await fileSize(files.journal);
  if (size > 0) {
    const lastByte = await readRange(files.journal, size - 1, size);
    if (lastByte[0] !== 0x0a) {
      await appendDurably(files.journal, '\n');
      size += 1;
    }
    deps.logger.info(
      { file: files.journal, bytes: size },
      'appending the journal after an existing journal.jsonl',
    );
  }
  const cursor = { lastId: START.lastId, bytes: size };
  await writeCursor(files.cursor, cursor);
  return cursor;
}

function writeCursor(file: string, cursor: ExportCursor): Promise<void> {
  return writeFileAtomic(file, `${JSON.stringify(cursor)}\n`);
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if (isNotFound(err)) return 0;
    throw err;
  }
}

async function readRange(file: string, start: number, end: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(end - start);
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesRead } = await handle.read(buffer, offset, buffer.length - offset, start + offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
    }
    return buffer.subarray(0, offset);
  } finally {
    await handle.close();
  }
}

/**
 * Brings the cursor in line with the file: counts lines an interrupted export wrote after the
 * recorded length, and cuts a torn last line. Saves the corrected cursor before returning.
 */
async function reconcile(
  deps: ExportDeps,
  files: { journal: string; cursor: string },
  saved: ExportCursor,
  batchSize: number,
): Promise<{ cursor: ExportCursor; reconciled: number; droppedBytes: number }> {
  const size = await fileSize(files.journal);
  if (size === saved.bytes) return { cursor: saved, reconciled: 0, droppedBytes: 0 };

  let from = saved.bytes;
  if (size < saved.bytes) {
    // Someone truncated or rotated the file: keep what is there and continue after the cursor.
    deps.logger.warn({ file: files.journal, size, recorded: saved.bytes }, 'journal.jsonl shrank');
    from = 0;
  }
  const tail = await readRange(files.journal, from, size);
  const completeLength = tail.lastIndexOf(0x0a) + 1;
  const droppedBytes = tail.length - completeLength;
  if (droppedBytes > 0) await truncate(files.journal, from + completeLength);

  let cursor: ExportCursor = { lastId: saved.lastId, bytes: from + completeLength };
  let reconciled = 0;
  if (size > saved.bytes) {
    const lines = tail.subarray(0, completeLength).toString('utf8').split('\n').slice(0, -1);
    const walked = await walkLines(deps, saved.lastId, lines, batchSize);
    cursor = { lastId: walked.lastId, bytes: from + completeLength };
    reconciled = lines.length;
  }
  await writeCursor(files.cursor, cursor);
  if (droppedBytes > 0 || reconciled > 0) {
    deps.logger.info({ reconciled, droppedBytes }, 'journal export recovered from an interrupted write');
  }
  return { cursor, reconciled, droppedBytes };
}

/** Moves past one stream entry per line, in order, checking each line is that entry. */
async function walkLines(
  deps: ExportDeps,
  afterId: string,
  lines: readonly string[],
  batchSize: number,
): Promise<{ lastId: string }> {
  let lastId = afterId;
  let matched = 0;
  let mismatched = 0;
  while (matched < lines.length) {
    const batch = await deps.source.readAfter(lastId, batchSize);
    if (batch.length === 0) break;
    for (const { id, entry } of batch) {
      if (matched >= lines.length) break;
      lastId = id;
      if (!entry) continue;
      if (`${lines[matched]}\n` !== journalLine(entry)) mismatched += 1;
      matched += 1;
    }
  }
  if (mismatched > 0 || matched < lines.length) {
    deps.logger.warn(
      { mismatched, unmatched: lines.length - matched },
      'journal.jsonl has lines that do not match the journal stream; kept them as they are',
    );
  }
  return { lastId };
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && 'code' in err && err.code === 'ENOENT';
}
