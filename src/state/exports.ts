import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { type ContinuationInput, renderContinuationContext } from './continuation-context.js';
import type { StatusSnapshot } from './types.js';

/**
 * The files a team already reads, written into STATE_DIR. Both are replaced atomically, so a
 * reader (a dashboard, `jq`, an LLM agent) never sees a partial file. journal.jsonl is exported
 * by Journal.exportJournal (append-only, see journal-export.ts).
 */

export const STATUS_FILE = 'status.json';
export const CONTINUATION_FILE = 'CONTINUATION_CONTEXT.md';

export type { ContinuationInput } from './continuation-context.js';
export { DECISION_TYPES, decisionReason, renderContinuationContext } from './continuation-context.js';
export type { RunProgress, StatusInput, StatusRunInput } from './status-snapshot.js';
export { buildStatusInstance, buildStatusSnapshot, measuredStepsPerHour } from './status-snapshot.js';

/** Writes `${dir}/status.json` (pretty-printed, keys in DESIGN.md order). Returns its path. */
export async function writeStatusJson(dir: string, snapshot: StatusSnapshot): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, STATUS_FILE);
  await writeFileAtomic(file, `${JSON.stringify(snapshot, null, 2)}\n`);
  return file;
}

/** Renders and writes `${dir}/CONTINUATION_CONTEXT.md`. Returns its path. */
export async function writeContinuationContext(dir: string, input: ContinuationInput): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, CONTINUATION_FILE);
  await writeFileAtomic(file, renderContinuationContext(input));
  return file;
}
