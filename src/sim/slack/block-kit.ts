import type { Block } from './types.js';

/**
 * Block Kit checks the way Slack makes them: a message breaking a limit is refused with
 * `invalid_blocks` and one line per problem, each ending in a JSON pointer to the offending field.
 * Only the limits an app is likely to hit are checked; unknown fields pass, as they often do.
 */

export const LIMITS = {
  blocks: 50,
  messageText: 40_000,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  url: 3000,
  blockId: 255,
  actionId: 255,
  actionsElements: 25,
  contextElements: 10,
  altText: 2000,
  markdownText: 12_000,
} as const;

const BLOCK_TYPES = new Set([
  'section',
  'header',
  'context',
  'divider',
  'actions',
  'image',
  'rich_text',
  'input',
  'markdown',
  'file',
  'video',
  'table',
  'context_actions',
]);

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isBlock = (v: unknown): v is Block => isObject(v) && typeof v['type'] === 'string';

class Problems {
  readonly list: string[] = [];
  add(message: string, pointer: string): void {
    this.list.push(`${message} [json-pointer:${pointer}]`);
  }
}

function checkLength(value: unknown, max: number, pointer: string, p: Problems, min = 1): void {
  if (typeof value !== 'string') {
    p.add('must be a string', pointer);
  } else if (value.length > max) {
    p.add(`must be less than ${max + 1} characters`, pointer);
  } else if (value.length < min) {
    p.add(`must be more than ${min - 1} characters`, pointer);
  }
}

function checkTextObject(
  value: unknown,
  pointer: string,
  max: number,
  p: Problems,
  only?: 'plain_text' | 'mrkdwn',
): void {
  if (!isObject(value)) {
    p.add('must provide an object', pointer);
    return;
  }
  const type = value['type'];
  if (type === undefined) p.add('missing required field: type', pointer);
  else if (type !== 'plain_text' && type !== 'mrkdwn')
    p.add(`unsupported text type: ${String(type)}`, `${pointer}/type`);
  else if (only && type !== only) p.add(`must be a ${only} text object`, `${pointer}/type`);
  if (value['text'] === undefined) p.add('missing required field: text', pointer);
  else checkLength(value['text'], max, `${pointer}/text`, p);
}

function checkButton(value: Json, pointer: string, p: Problems): void {
  checkTextObject(value['text'], `${pointer}/text`, LIMITS.buttonText, p, 'plain_text');
  if (value['value'] !== undefined) checkLength(value['value'], LIMITS.buttonValue, `${pointer}/value`, p);
  if (value['url'] !== undefined) checkLength(value['url'], LIMITS.url, `${pointer}/url`, p);
  const style = value['style'];
  if (style !== undefined && style !== 'primary' && style !== 'danger') {
    p.add('must be one of primary, danger', `${pointer}/style`);
  }
}

function checkElement(value: unknown, pointer: string, p: Problems): void {
  if (!isObject(value)) {
    p.add('must provide an object', pointer);
    return;
  }
  const type = value['type'];
  if (typeof type !== 'string') {
    p.add('missing required field: type', pointer);
    return;
  }
  if (value['action_id'] !== undefined)
    checkLength(value['action_id'], LIMITS.actionId, `${pointer}/action_id`, p);
  if (type === 'button') checkButton(value, pointer, p);
  if (type === 'image') checkImage(value, pointer, p);
}

function checkImage(value: Json, pointer: string, p: Problems): void {
  if (value['image_url'] === undefined && value['slack_file'] === undefined) {
    p.add('missing required field: image_url', pointer);
  }
  if (value['alt_text'] === undefined) p.add('missing required field: alt_text', pointer);
  else checkLength(value['alt_text'], LIMITS.altText, `${pointer}/alt_text`, p);
}

function checkUniqueActionIds(elements: unknown[], pointer: string, p: Problems): void {
  const seen = new Set<string>();
  elements.forEach((el, i) => {
    const id = isObject(el) ? el['action_id'] : undefined;
    if (typeof id !== 'string') return;
    if (seen.has(id))
      p.add(`action_id must be unique in a block: ${id}`, `${pointer}/elements/${i}/action_id`);
    seen.add(id);
  });
}

function checkElementList(block: Json, pointer: string, max: number, p: Problems): unknown[] {
  const elements = block['elements'];
  if (!Array.isArray(elements)) {
    p.add('missing required field: elements', pointer);
    return [];
  }
  if (elements.length === 0) p.add('must provide at least 1 item', `${pointer}/elements`);
  if (elements.length > max) p.add(`must be less than ${max + 1} items`, `${pointer}/elements`);
  return elements;
}

function checkSection(block: Json, pointer: string, p: Problems): void {
  const { text, fields, accessory } = block;
  if (text === undefined && fields === undefined) {
    p.add('must provide either text or fields', pointer);
  }
  if (text !== undefined) checkTextObject(text, `${pointer}/text`, LIMITS.sectionText, p);
  if (fields !== undefined) {
    if (!Array.isArray(fields)) p.add('must be an array', `${pointer}/fields`);
    else {
      if (fields.length > LIMITS.sectionFields) {
        p.add(`must be less than ${LIMITS.sectionFields + 1} items`, `${pointer}/fields`);
      }
      fields.forEach((f, i) => {
        checkTextObject(f, `${pointer}/fields/${i}`, LIMITS.fieldText, p);
      });
    }
  }
  if (accessory !== undefined) checkElement(accessory, `${pointer}/accessory`, p);
}

function checkContext(block: Json, pointer: string, p: Problems): void {
  const elements = checkElementList(block, pointer, LIMITS.contextElements, p);
  elements.forEach((el, i) => {
    const at = `${pointer}/elements/${i}`;
    if (isObject(el) && el['type'] === 'image') checkImage(el, at, p);
    else checkTextObject(el, at, LIMITS.sectionText, p);
  });
}

function checkBlock(block: unknown, pointer: string, p: Problems): void {
  if (!isObject(block)) {
    p.add('must provide an object', pointer);
    return;
  }
  const type = block['type'];
  if (type === undefined) {
    p.add('missing required field: type', pointer);
    return;
  }
  if (typeof type !== 'string' || !BLOCK_TYPES.has(type)) {
    p.add(`unsupported block type: ${String(type)}`, `${pointer}/type`);
    return;
  }
  if (block['block_id'] !== undefined)
    checkLength(block['block_id'], LIMITS.blockId, `${pointer}/block_id`, p);
  switch (type) {
    case 'section':
      checkSection(block, pointer, p);
      break;
    case 'header':
      checkTextObject(block['text'], `${pointer}/text`, LIMITS.headerText, p, 'plain_text');
      break;
    case 'context':
      checkContext(block, pointer, p);
      break;
    case 'actions': {
      const elements = checkElementList(block, pointer, LIMITS.actionsElements, p);
      elements.forEach((el, i) => {
        checkElement(el, `${pointer}/elements/${i}`, p);
      });
      checkUniqueActionIds(elements, pointer, p);
      break;
    }
    case 'image':
      checkImage(block, pointer, p);
      break;
    case 'markdown':
      checkLength(block['text'], LIMITS.markdownText, `${pointer}/text`, p);
      break;
    case 'rich_text':
      if (!Array.isArray(block['elements'])) p.add('missing required field: elements', pointer);
      break;
    default:
      break;
  }
}

/** Every problem in a message's blocks, in Slack's words; empty when the blocks are valid. */
export function validateBlocks(blocks: readonly unknown[]): string[] {
  const p = new Problems();
  if (blocks.length > LIMITS.blocks) p.add(`must be less than ${LIMITS.blocks + 1} items`, '/blocks');
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    checkBlock(block, `/blocks/${i}`, p);
    const id = isObject(block) ? block['block_id'] : undefined;
    if (typeof id === 'string') {
      if (blockIds.has(id)) p.add(`duplicate block_id: ${id}`, `/blocks/${i}/block_id`);
      blockIds.add(id);
    }
  });
  return p.list;
}

export type ContentCheck =
  | { ok: true; text: string; blocks?: Block[] }
  | { ok: false; error: string; errors?: string[] };

/**
 * `blocks` arrives as a JSON string from form-encoded calls and as an array from JSON calls;
 * `text` may be absent when blocks are present (Slack then shows no notification text).
 */
export function checkMessageContent(input: { text?: unknown; blocks?: unknown }): ContentCheck {
  let blocks: unknown = input.blocks;
  if (typeof blocks === 'string') {
    if (blocks.trim() === '') blocks = undefined;
    else {
      try {
        blocks = JSON.parse(blocks);
      } catch {
        return { ok: false, error: 'invalid_blocks_format' };
      }
    }
  }
  if (blocks !== undefined && !Array.isArray(blocks)) return { ok: false, error: 'invalid_blocks_format' };
  const text = input.text === undefined ? '' : String(input.text);
  if (text.length > LIMITS.messageText) return { ok: false, error: 'msg_too_long' };
  if (blocks === undefined || blocks.length === 0) {
    return text.trim() === '' ? { ok: false, error: 'no_text' } : { ok: true, text };
  }
  const errors = validateBlocks(blocks);
  if (errors.length > 0) return { ok: false, error: 'invalid_blocks', errors };
  return { ok: true, text, blocks: blocks.filter(isBlock) };
}

function randomId(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let id = '';
  for (let i = 0; i < length; i += 1) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}

/**
 * Slack gives every block a `block_id` and every interactive element an `action_id` when the app
 * left them out; clicks then carry these generated ids, so the stored message must have them too.
 */
export function withGeneratedIds(blocks: readonly Block[]): Block[] {
  return blocks.map((block) => {
    const withId: Block = {
      ...block,
      block_id: typeof block['block_id'] === 'string' ? block['block_id'] : randomId(4),
    };
    const elements = block['elements'];
    if (block.type === 'actions' && Array.isArray(elements)) {
      withId['elements'] = elements.map((el) =>
        isObject(el) && el['action_id'] === undefined ? { ...el, action_id: randomId(5) } : el,
      );
    }
    const accessory = block['accessory'];
    if (isObject(accessory) && accessory['type'] === 'button' && accessory['action_id'] === undefined) {
      withId['accessory'] = { ...accessory, action_id: randomId(5) };
    }
    return withId;
  });
}

export interface ButtonRef {
  actionId: string;
  blockId: string;
  text: unknown;
  value?: string;
  style?: string;
}

/** Every button in a message (in actions blocks and as section accessories), in order. */
export function buttonsOf(blocks: readonly Block[] | undefined): ButtonRef[] {
  const found: ButtonRef[] = [];
  for (const block of blocks ?? []) {
    const blockId = typeof block['block_id'] === 'string' ? block['block_id'] : '';
    const candidates = [...(Array.isArray(block['elements']) ? block['elements'] : []), block['accessory']];
    for (const el of candidates) {
      if (!isObject(el) || el['type'] !== 'button' || typeof el['action_id'] !== 'string') continue;
      const value = el['value'];
      const style = el['style'];
      found.push({
        actionId: el['action_id'],
        blockId,
        text: el['text'],
        ...(typeof value === 'string' && { value }),
        ...(typeof style === 'string' && { style }),
      });
    }
  }
  return found;
}
