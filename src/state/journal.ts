import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { type ExportOptions, exportJournalTo, type JournalExportResult } from './journal-export.js';
import { renderJournalLine } from './journal-line.js';
import type { StateKeys } from './keys.js';
import { JournalEntrySchema, parseStored, parseValue } from './schemas.js';
import type { JournalEntry, JournalRecord, JournalType } from './types.js';

/**
 * The journal is a Redis stream: every process appends to it, stream ids give one total order,
 * and the export to journal.jsonl follows that order with a cursor. Each stream entry has a single
 * field `e` holding the entry as JSON in journal.jsonl's key order.
 */

export type NewJournalEntry = Omit<JournalEntry, 'timestamp'> & { timestamp?: string };

export interface JournalFilter {
  /** The run (journal.jsonl calls it `model`). */
  run?: string;
  type?: JournalType | readonly JournalType[];
}

export interface JournalOptions {
  /** Approximate cap on stream length (XADD MAXLEN ~). Default 200,000 entries. */
  maxLen?: number;
  /** How many entries a recent()/search() call may read before giving up. Default 20,000. */
  maxScan?: number;
}

const FIELD = 'e';
const SCAN_BATCH = 500;

export { renderJournalLine };

/** Whether every whitespace-separated term of `text` occurs (case-insensitively) in the entry. */
export function journalEntryMatches(entry: JournalEntry, text: string): boolean {
  const haystack = renderJournalLine(entry).toLowerCase();
  const terms = text.toLowerCase().split(/\s+/).filter(Boolean);
  return terms.every((term) => haystack.includes(term));
}

function matchesFilter(entry: JournalEntry, filter: JournalFilter): boolean {
  if (filter.run !== undefined && entry.model !== filter.run) return false;
  if (filter.type !== undefined) {
    const types: readonly JournalType[] = typeof filter.type === 'string' ? [filter.type] : filter.type;
    if (!types.includes(entry.type)) return false;
  }
  return true;
}

export class Journal {
  private readonly maxLen: number;
  private readonly maxScan: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: StateKeys,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: JournalOptions = {},
  ) {
    this.maxLen = options.maxLen ?? 200_000;
    this.maxScan = options.maxScan ?? 20_000;
  }

  /** Appends one entry (timestamp defaults to the clock) and returns its stream id. */
  async append(input: NewJournalEntry): Promise<string> {
    const entry = parseValue(
      JournalEntrySchema,
      // A JSON round trip drops undefined values and turns NaN into null, as the file will.
      JSON.parse(
        JSON.stringify({ ...input, timestamp: input.timestamp ?? new Date(this.clock.now()).toISOString() }),
      ),
      'journal entry',
    );
    const id = await this.redis.xadd(
      this.keys.journal,
      'MAXLEN',
      '~',
      this.maxLen,
      '*',
      FIELD,
      renderJournalLine(entry),
    );
    if (id === null) throw new Error('XADD returned no id');
    return id;
  }

  /** The newest `n` entries matching `filter`, oldest first. */
  recent(n: number, filter: JournalFilter = {}): Promise<JournalRecord[]> {
    return this.scanBackward(n, (entry) => matchesFilter(entry, filter));
  }

  /** The newest `n` entries containing every word of `text` (any field, case-insensitive), oldest first. */
  search(text: string, n: number): Promise<JournalRecord[]> {
    return this.scanBackward(n, (entry) => journalEntryMatches(entry, text));
  }

  /**
   * Up to `count` entries after stream id `afterId`, oldest first. A corrupt entry comes back with
   * `entry: null` so a reader can step over it without losing its place.
   */
  async readAfter(afterId: string, count: number): Promise<{ id: string; entry: JournalEntry | null }[]> {
    const batch = await this.redis.xrange(this.keys.journal, `(${afterId}`, '+', 'COUNT', count);
    return batch.map(([id, fields]) => ({ id, entry: this.parseFields(id, fields) }));
  }

  /** Appends new entries to `${dir}/journal.jsonl` exactly once; see journal-export.ts. */
  exportJournal(dir: string, options: ExportOptions = {}): Promise<JournalExportResult> {
    return exportJournalTo(
      { redis: this.redis, lockKey: this.keys.journalExportLock, source: this, logger: this.logger },
      dir,
      options,
    );
  }

  private async scanBackward(n: number, keep: (entry: JournalEntry) => boolean): Promise<JournalRecord[]> {
    const found: JournalRecord[] = [];
    let end = '+';
    let scanned = 0;
    while (found.length < n && scanned < this.maxScan) {
      const batch = await this.redis.xrevrange(this.keys.journal, end, '-', 'COUNT', SCAN_BATCH);
      for (const [id, fields] of batch) {
        scanned += 1;
        const entry = this.parseFields(id, fields);
        if (entry && keep(entry)) found.push({ id, entry });
        if (found.length >= n) break;
      }
      const last = batch[batch.length - 1];
      if (!last || batch.length < SCAN_BATCH) break;
      end = `(${last[0]}`;
    }
    return found.reverse();
  }

  private parseFields(id: string, fields: string[]): JournalEntry | null {
    const where = `${this.keys.journal} ${id}`;
    const index = fields.indexOf(FIELD);
    const raw = index >= 0 && index % 2 === 0 ? fields[index + 1] : undefined;
    try {
      if (raw === undefined) throw new Error(`${where}: no "${FIELD}" field`);
      return parseStored(JournalEntrySchema, raw, where);
    } catch (err) {
      this.logger.warn({ err, id }, 'skipping corrupt journal entry');
      return null;
    }
  }
}
