import type { JournalEntry } from '../state/types.js';
import { renderTable } from './table.js';

export function renderJournal(entries: readonly JournalEntry[]): string {
  if (entries.length === 0) return 'The journal is empty.';
  return renderTable(
    ['TIME (UTC)', 'TYPE', 'RUN', 'MESSAGE'],
    entries.map((e) => [
      e.timestamp.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''),
      e.type,
      e.model,
      oneLine(e.message),
    ]),
  );
}

function oneLine(text: string, max = 120): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
