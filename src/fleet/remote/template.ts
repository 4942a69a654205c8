import { shellQuote } from '../policy/shell.js';

/**
 * A remote command line with named holes. Literal text is written exactly as bash will read it
 * (raw: backslashes stay backslashes); every hole is filled with shell-quoted values. The same
 * object renders a command and recognises one it rendered, which is how the simulated hosts run
 * exactly the command lines the conductor sends instead of a look-alike.
 */

export interface WordSlot<K extends string = string> {
  readonly kind: 'word';
  readonly name: K;
}

export interface ListSlot<K extends string = string> {
  readonly kind: 'list';
  readonly name: K;
}

type Slot = WordSlot | ListSlot;
type Part = { readonly kind: 'lit'; readonly text: string } | Slot;

export type SlotValues = Record<string, string | readonly string[]>;

type WordNames<U> = U extends WordSlot<infer K> ? K : never;
type ListNames<U> = U extends ListSlot<infer K> ? K : never;
export type SlotsOf<U> = { [K in WordNames<U>]: string } & { [K in ListNames<U>]: readonly string[] };

/** One shell word, quoted. A name may appear twice in a template: both holes get the same value. */
export function word<const K extends string>(name: K): WordSlot<K> {
  return { kind: 'word', name };
}

/** Zero or more shell words separated by single spaces. Must be followed by literal text or the end. */
export function list<const K extends string>(name: K): ListSlot<K> {
  return { kind: 'list', name };
}

/** Characters shellQuote leaves unquoted. */
const PLAIN_CHAR = /[A-Za-z0-9_@%+=:,./-]/;

export class CommandTemplate<S extends SlotValues = SlotValues> {
  readonly parts: readonly Part[];

  constructor(parts: readonly Part[]) {
    this.parts = mergeLiterals(parts);
    for (let i = 1; i < this.parts.length; i += 1) {
      if (this.parts[i]!.kind !== 'lit' && this.parts[i - 1]!.kind !== 'lit') {
        throw new TypeError('two holes in a row cannot be told apart: put literal text between them');
      }
    }
  }

  render(values: S): string {
    const slots = values as SlotValues;
    let out = '';
    for (const part of this.parts) {
      if (part.kind === 'lit') {
        out += part.text;
        continue;
      }
      const value = slots[part.name];
      if (part.kind === 'word') {
        if (typeof value !== 'string') throw new TypeError(`template hole ${part.name} needs a string`);
        out += shellQuote(value);
      } else {
        if (!Array.isArray(value)) throw new TypeError(`template hole ${part.name} needs a list`);
        out += (value as readonly string[]).map(shellQuote).join(' ');
      }
    }
    return out;
  }

  /** The values this template would need to render exactly `line`, or null when it could not. */
  match(line: string): S | null {
    const values: Record<string, string | string[]> = {};
    let pos = 0;
    for (let i = 0; i < this.parts.length; i += 1) {
      const part = this.parts[i]!;
      if (part.kind === 'lit') {
        if (!line.startsWith(part.text, pos)) return null;
        pos += part.text.length;
        continue;
      }
      const next = this.parts[i + 1];
      const stop = next?.kind === 'lit' ? next.text : null;
      if (part.kind === 'word') {
        const read = readQuotedWord(line, pos);
        if (!read || !bindValue(values, part.name, read.value)) return null;
        pos = read.end;
        continue;
      }
      const items: string[] = [];
      while (stop === null ? pos < line.length : !line.startsWith(stop, pos)) {
        if (items.length > 0) {
          if (line[pos] !== ' ') return null;
          pos += 1;
        }
        const read = readQuotedWord(line, pos);
        if (!read) return null;
        items.push(read.value);
        pos = read.end;
      }
      if (!bindValue(values, part.name, items)) return null;
    }
    if (pos !== line.length) return null;
    const matched = values as unknown as S;
    // Only what this template renders counts: `cat  x` or `cat "x"` are not ours.
    return this.render(matched) === line ? matched : null;
  }
}

function mergeLiterals(parts: readonly Part[]): Part[] {
  const out: Part[] = [];
  for (const part of parts) {
    const last = out[out.length - 1];
    if (part.kind === 'lit' && last?.kind === 'lit') {
      out[out.length - 1] = { kind: 'lit', text: last.text + part.text };
    } else if (part.kind !== 'lit' || part.text !== '') {
      out.push(part);
    }
  }
  return out;
}

function bindValue(
  values: Record<string, string | string[]>,
  name: string,
  value: string | string[],
): boolean {
  const existing = values[name];
  if (existing === undefined) {
    values[name] = value;
    return true;
  }
  return JSON.stringify(existing) === JSON.stringify(value);
}

/** Reads one word in the form shellQuote writes: plain characters, '...' runs and \' escapes. */
export function readQuotedWord(line: string, start: number): { value: string; end: number } | null {
  let pos = start;
  let value = '';
  let consumed = false;
  while (pos < line.length) {
    const ch = line[pos]!;
    if (ch === "'") {
      const close = line.indexOf("'", pos + 1);
      if (close < 0) return null;
      value += line.slice(pos + 1, close);
      pos = close + 1;
    } else if (ch === '\\' && line[pos + 1] === "'") {
      value += "'";
      pos += 2;
    } else if (PLAIN_CHAR.test(ch)) {
      value += ch;
      pos += 1;
    } else {
      break;
    }
    consumed = true;
  }
  return consumed ? { value, end: pos } : null;
}

/**
 * Tagged template for command lines: `cmd\`cat ${word('path')}\``. Literal text is taken raw, so
 * `printf '\n'` in the source is exactly `printf '\n'` on the wire.
 */
export function cmd<const P extends readonly Slot[]>(
  strings: TemplateStringsArray,
  ...slots: P
): CommandTemplate<SlotsOf<P[number]>> {
  const parts: Part[] = [];
  strings.raw.forEach((text, i) => {
    parts.push({ kind: 'lit', text });
    const slot = slots[i];
    if (slot) parts.push(slot);
  });
  return new CommandTemplate(parts);
}

/** Joins templates and literal text into one template (the probe is built from sections). */
export function joinTemplates<S extends SlotValues>(
  pieces: readonly (string | CommandTemplate<SlotValues>)[],
): CommandTemplate<S> {
  const parts: Part[] = [];
  for (const piece of pieces) {
    if (typeof piece === 'string') parts.push({ kind: 'lit', text: piece });
    else parts.push(...piece.parts);
  }
  return new CommandTemplate<S>(parts);
}
