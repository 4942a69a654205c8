import type { JournalEntry } from './types.js';

/**
 * One journal.jsonl line without its newline: DESIGN.md's keys in its order
 * (`timestamp, type, model, message, details`), `details` only when present. The stream stores
 * entries in this form too, so the export writes back exactly what was appended.
 */
export function renderJournalLine(entry: JournalEntry): string {
  const ordered: JournalEntry = {
    timestamp: entry.timestamp,
    type: entry.type,
    model: entry.model,
    message: entry.message,
  };
  if (entry.details !== undefined) ordered.details = entry.details;
  return JSON.stringify(ordered);
}
