import { ValidationError } from '../errors.js';
import { type Block, type ButtonElement, context, type SlackMessage, type TextObject } from './blocks.js';

/**
 * Slack's documented Block Kit limits. A message over any of them is rejected outright
 * (`invalid_blocks`), and a rejected alert is an alert nobody sees, so every renderer ends with
 * clampBlocks() and the tests hold every output to assertWithinLimits().
 */
export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  actionId: 255,
  /**
   * Slack allows 2000 characters in a button value; we hold values to 255 (the action_id limit)
   * because they are ids we parse back, and a long one means something went wrong.
   */
  buttonValue: 255,
  blockId: 255,
  /** Slack truncates longer fallback text; 4000 is its recommended maximum. */
  fallbackText: 4000,
} as const;

const ELLIPSIS = '…';
const ENTITY_AT = /^&(?:amp|lt|gt);/;
const MENTION_MAX = 48;

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function assertMax(max: number): void {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a positive integer, got ${max}`);
}

/**
 * A cut position at or before `cut` that splits neither a surrogate pair (half an emoji) nor an
 * escape entity (`&am…` would show as garbage), nor a `<…>` token such as a mention.
 */
export function safeCut(text: string, cut: number): number {
  let at = cut;
  if (at > 0 && isHighSurrogate(text.charCodeAt(at - 1))) at -= 1;
  const amp = text.lastIndexOf('&', at - 1);
  if (amp !== -1 && amp >= at - 4) {
    const entity = ENTITY_AT.exec(text.slice(amp, amp + 5));
    if (entity !== null && amp + entity[0].length > at) at = amp;
  }
  // Mentions are short; a `<` far back is not one we are inside of.
  const open = text.lastIndexOf('<', at - 1);
  if (
    open !== -1 &&
    open >= at - MENTION_MAX &&
    text.lastIndexOf('>', at - 1) < open &&
    text.indexOf('>', open) >= at
  ) {
    at = open;
  }
  return at;
}

/** `text` if it fits in `max` characters, else its start and an ellipsis, `max` long at most. */
export function truncate(text: string, max: number): string {
  assertMax(max);
  if (text.length <= max) return text;
  return text.slice(0, safeCut(text, max - ELLIPSIS.length)).trimEnd() + ELLIPSIS;
}

/** Like truncate() but keeps the END of the text (for logs, where the newest output matters). */
export function truncateStart(text: string, max: number): string {
  assertMax(max);
  if (text.length <= max) return text;
  let start = text.length - (max - ELLIPSIS.length);
  if (start < text.length && isHighSurrogate(text.charCodeAt(start - 1))) start += 1;
  const amp = text.lastIndexOf('&', start - 1);
  if (amp !== -1 && amp >= start - 4) {
    const entity = ENTITY_AT.exec(text.slice(amp, amp + 5));
    if (entity !== null && amp + entity[0].length > start) start = amp + entity[0].length;
  }
  return ELLIPSIS + text.slice(start);
}

/** truncate() for mrkdwn: a code fence left open by the cut is closed again. */
export function truncateMrkdwn(text: string, max: number): string {
  const cut = truncate(text, max);
  if (cut === text || countFences(cut) % 2 === 0) return cut;
  const closing = '\n```';
  return truncate(text, Math.max(1, max - closing.length)) + closing;
}

function countFences(text: string): number {
  return text.split('```').length - 1;
}

/**
 * Makes host, log, LLM and user text inert in mrkdwn: `&`, `<` and `>` are the only characters
 * Slack uses for control sequences (`<!channel>`, `<@U1>`, `<https://x|label>`), so escaping them
 * means text can never ping anyone or hide a link. Bare @channel/@here/@everyone also get a
 * zero-width space, for clients or fields that parse them without the angle brackets.
 */
export function escapeMrkdwn(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@(channel|here|everyone)\b/gi, '@\u200b$1');
}

/** escapeMrkdwn() then truncate(), without ever cutting an entity in half. */
export function escapeAndTruncate(text: string, max: number): string {
  return truncate(escapeMrkdwn(text), max);
}

/** Every way `blocks` (and the fallback `text`, when given) break Slack's limits; empty = fine. */
export function limitViolations(blocks: readonly Block[], text?: string): string[] {
  const problems: string[] = [];
  const L = SLACK_LIMITS;
  if (text !== undefined && (text.length === 0 || text.length > L.fallbackText)) {
    problems.push(`fallback text is ${text.length} characters (1..${L.fallbackText})`);
  }
  if (blocks.length > L.blocksPerMessage)
    problems.push(`${blocks.length} blocks (max ${L.blocksPerMessage})`);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const where = `block ${i} (${block.type})`;
    if (block.block_id !== undefined) {
      if (block.block_id.length === 0 || block.block_id.length > L.blockId) {
        problems.push(`${where}: block_id length ${block.block_id.length}`);
      }
      if (blockIds.has(block.block_id)) problems.push(`${where}: duplicate block_id ${block.block_id}`);
      blockIds.add(block.block_id);
    }
    problems.push(...blockViolations(block).map((p) => `${where}: ${p}`));
  });
  return problems;
}

function textViolation(label: string, obj: TextObject | undefined, max: number): string[] {
  if (obj === undefined) return [];
  const n = obj.text.length;
  return n === 0 || n > max ? [`${label} is ${n} characters (1..${max})`] : [];
}

function blockViolations(block: Block): string[] {
  const L = SLACK_LIMITS;
  switch (block.type) {
    case 'section': {
      const out: string[] = [];
      if (block.text === undefined && (block.fields === undefined || block.fields.length === 0)) {
        out.push('section has neither text nor fields');
      }
      out.push(...textViolation('text', block.text, L.sectionText));
      const fields = block.fields ?? [];
      if (fields.length > L.sectionFields) out.push(`${fields.length} fields (max ${L.sectionFields})`);
      fields.forEach((f, i) => {
        out.push(...textViolation(`field ${i}`, f, L.fieldText));
      });
      if (block.accessory !== undefined) out.push(...buttonViolations(block.accessory));
      return out;
    }
    case 'header':
      return [
        ...(block.text.type === 'plain_text' ? [] : ['header text must be plain_text']),
        ...textViolation('header', block.text, L.headerText),
      ];
    case 'context': {
      const n = block.elements.length;
      const out = n === 0 || n > L.contextElements ? [`${n} context elements (1..${L.contextElements})`] : [];
      block.elements.forEach((e, i) => {
        out.push(...textViolation(`element ${i}`, e, L.contextText));
      });
      return out;
    }
    case 'actions': {
      const n = block.elements.length;
      const out = n === 0 || n > L.actionsElements ? [`${n} elements (1..${L.actionsElements})`] : [];
      const ids = new Set<string>();
      for (const el of block.elements) {
        if (ids.has(el.action_id)) out.push(`duplicate action_id ${el.action_id} in one block`);
        ids.add(el.action_id);
        out.push(...buttonViolations(el));
      }
      return out;
    }
    case 'divider':
      return [];
  }
}

function buttonViolations(el: ButtonElement): string[] {
  const L = SLACK_LIMITS;
  const out = textViolation('button text', el.text, L.buttonText);
  if (el.text.type !== 'plain_text') out.push('button text must be plain_text');
  if (el.action_id.length === 0 || el.action_id.length > L.actionId) {
    out.push(`action_id is ${el.action_id.length} characters (1..${L.actionId})`);
  }
  if (el.value !== undefined && el.value.length > L.buttonValue) {
    out.push(`button value is ${el.value.length} characters (max ${L.buttonValue})`);
  }
  return out;
}

/** Throws a ValidationError listing every violation. */
export function assertWithinLimits(blocks: readonly Block[], text?: string): void {
  const problems = limitViolations(blocks, text);
  if (problems.length > 0) {
    throw new ValidationError(`Slack message breaks Block Kit limits: ${problems.join('; ')}`);
  }
}

/**
 * The last line of defence: returns a copy of `blocks` that Slack accepts. Texts are truncated,
 * buttons whose id or value would not fit are dropped (a truncated id would act on the wrong
 * thing), empty blocks are dropped, block_ids made unique, and past 50 blocks the tail is
 * replaced by a note, keeping a final actions block so its buttons survive.
 */
export function clampBlocks(blocks: readonly Block[]): Block[] {
  let out = blocks.map(clampBlock).filter((b): b is Block => b !== null);
  const max = SLACK_LIMITS.blocksPerMessage;
  if (out.length > max) {
    const last = out[out.length - 1];
    const keepLast = last?.type === 'actions';
    const room = max - 1 - (keepLast ? 1 : 0);
    const omitted = out.length - room - (keepLast ? 1 : 0);
    const tail: Block[] = keepLast && last !== undefined ? [last] : [];
    out = [...out.slice(0, room), context([`…${omitted} more block(s) not shown`]), ...tail];
  }
  return uniqueBlockIds(out);
}

function clampText<T extends TextObject>(obj: T, max: number): T {
  const text = obj.type === 'mrkdwn' ? truncateMrkdwn(obj.text, max) : truncate(obj.text, max);
  return { ...obj, text: text.length === 0 ? '-' : text };
}

function clampButton(el: ButtonElement): ButtonElement | null {
  const L = SLACK_LIMITS;
  if (el.action_id.length === 0 || el.action_id.length > L.actionId) return null;
  if (el.value !== undefined && el.value.length > L.buttonValue) return null;
  return { ...el, text: clampText(el.text, L.buttonText) };
}

function clampBlock(block: Block): Block | null {
  const L = SLACK_LIMITS;
  switch (block.type) {
    case 'section': {
      const out = { ...block };
      if (out.text !== undefined) out.text = clampText(out.text, L.sectionText);
      if (out.fields !== undefined) {
        out.fields = out.fields.slice(0, L.sectionFields).map((f) => clampText(f, L.fieldText));
        if (out.fields.length === 0) delete out.fields;
      }
      if (out.text === undefined && out.fields === undefined) return null;
      if (out.accessory !== undefined) {
        const accessory = clampButton(out.accessory);
        if (accessory === null) delete out.accessory;
        else out.accessory = accessory;
      }
      return out;
    }
    case 'header':
      return block.text.text.length === 0 ? null : { ...block, text: clampText(block.text, L.headerText) };
    case 'context': {
      const elements = block.elements.slice(0, L.contextElements).map((e) => clampText(e, L.contextText));
      return elements.length === 0 ? null : { ...block, elements };
    }
    case 'actions': {
      const elements: ButtonElement[] = [];
      for (const el of block.elements) {
        const clamped = clampButton(el);
        // Slack wants action_ids unique within a block; a second one would be ambiguous anyway.
        if (clamped === null || elements.some((e) => e.action_id === clamped.action_id)) continue;
        if (elements.length < L.actionsElements) elements.push(clamped);
      }
      return elements.length === 0 ? null : { ...block, elements };
    }
    case 'divider':
      return { ...block };
  }
}

function uniqueBlockIds(blocks: Block[]): Block[] {
  const seen = new Set<string>();
  return blocks.map((block) => {
    if (block.block_id === undefined) return block;
    let id = truncate(block.block_id, SLACK_LIMITS.blockId - 4) || 'block';
    for (let n = 2; seen.has(id); n++) id = `${truncate(block.block_id, SLACK_LIMITS.blockId - 4)}-${n}`;
    seen.add(id);
    return { ...block, block_id: id };
  });
}

/** What every renderer returns through: blocks clamped, fallback text escaped-safe and bounded. */
export function finalizeMessage(text: string, blocks: readonly Block[]): SlackMessage {
  const fallback = truncate(text.length === 0 ? '-' : text, SLACK_LIMITS.fallbackText);
  return { text: fallback, blocks: clampBlocks(blocks) };
}

/**
 * Packs lines, in order, into chunks of at most `maxChars` (joined by newlines), at most
 * `maxChunks` chunks and `budget` characters in all. Lines longer than a chunk are truncated.
 * Returns the chunks and how many lines did not fit, so the caller can say so.
 */
export function packLines(
  lines: readonly string[],
  options: { maxChars: number; maxChunks: number; budget?: number },
): { chunks: string[]; omitted: number } {
  const chunks: string[] = [];
  let current = '';
  let total = 0;
  let used = 0;
  const budget = options.budget ?? Number.POSITIVE_INFINITY;
  for (const raw of lines) {
    const line = truncateMrkdwn(raw, options.maxChars);
    const joined = current.length === 0 ? line : `${current}\n${line}`;
    if (joined.length <= options.maxChars) {
      if (total + line.length + 1 > budget) break;
      current = joined;
    } else {
      if (chunks.length + 1 >= options.maxChunks || total + line.length + 1 > budget) break;
      chunks.push(current);
      current = line;
    }
    total += line.length + 1;
    used += 1;
  }
  if (current.length > 0) chunks.push(current);
  return { chunks, omitted: lines.length - used };
}
