/**
 * The small subset of Block Kit this service posts, typed locally so the renderers stay pure and
 * do not depend on the Slack SDK. Every mrkdwn object is `verbatim`: Slack then does no automatic
 * parsing of the text (bare URLs, channel names, "certain mentions"), so only the explicit
 * `<@U…>` / `<!subteam^S…>` syntax we write ourselves can ever notify anyone.
 */

export interface PlainTextObject {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}

export interface MrkdwnTextObject {
  type: 'mrkdwn';
  text: string;
  verbatim?: boolean;
}

export type TextObject = PlainTextObject | MrkdwnTextObject;

export interface ButtonElement {
  type: 'button';
  text: PlainTextObject;
  action_id: string;
  value?: string;
  style?: 'primary' | 'danger';
}

export interface SectionBlock {
  type: 'section';
  block_id?: string;
  text?: MrkdwnTextObject;
  fields?: MrkdwnTextObject[];
  accessory?: ButtonElement;
}

export interface HeaderBlock {
  type: 'header';
  block_id?: string;
  text: PlainTextObject;
}

export interface ContextBlock {
  type: 'context';
  block_id?: string;
  elements: TextObject[];
}

export interface DividerBlock {
  type: 'divider';
  block_id?: string;
}

export interface ActionsBlock {
  type: 'actions';
  block_id?: string;
  elements: ButtonElement[];
}

export type Block = SectionBlock | HeaderBlock | ContextBlock | DividerBlock | ActionsBlock;

/** What every renderer returns: `text` is the notification / fallback text, `blocks` the body. */
export interface SlackMessage {
  text: string;
  blocks: Block[];
}

/** Action ids the handlers listen for. One place, so renderer and handler cannot drift apart. */
export const ACTION_IDS = {
  incidentAck: 'incident_ack',
  proposalApprove: 'proposal_approve',
  proposalReject: 'proposal_reject',
} as const;

export function mrkdwn(text: string): MrkdwnTextObject {
  return { type: 'mrkdwn', text, verbatim: true };
}

/**
 * plain_text is not parsed for mentions, but headers and button labels also end up in
 * notifications, logs and other clients: angle brackets from host or user text are swapped for
 * look-alikes so no `<!channel>` survives anywhere in what we send.
 */
export function plainText(text: string): PlainTextObject {
  return { type: 'plain_text', text: text.replace(/</g, '‹').replace(/>/g, '›'), emoji: true };
}

export function header(text: string, blockId?: string): HeaderBlock {
  const block: HeaderBlock = { type: 'header', text: plainText(text) };
  if (blockId !== undefined) block.block_id = blockId;
  return block;
}

export function section(text: string, blockId?: string, accessory?: ButtonElement): SectionBlock {
  const block: SectionBlock = { type: 'section', text: mrkdwn(text) };
  if (blockId !== undefined) block.block_id = blockId;
  if (accessory !== undefined) block.accessory = accessory;
  return block;
}

export function fieldsSection(fields: readonly string[], blockId?: string): SectionBlock {
  const block: SectionBlock = { type: 'section', fields: fields.map(mrkdwn) };
  if (blockId !== undefined) block.block_id = blockId;
  return block;
}

export function context(texts: readonly string[], blockId?: string): ContextBlock {
  const block: ContextBlock = { type: 'context', elements: texts.map(mrkdwn) };
  if (blockId !== undefined) block.block_id = blockId;
  return block;
}

export function divider(): DividerBlock {
  return { type: 'divider' };
}

export function actions(elements: ButtonElement[], blockId?: string): ActionsBlock {
  const block: ActionsBlock = { type: 'actions', elements };
  if (blockId !== undefined) block.block_id = blockId;
  return block;
}

export function button(
  text: string,
  actionId: string,
  value: string,
  style?: ButtonElement['style'],
): ButtonElement {
  const element: ButtonElement = { type: 'button', text: plainText(text), action_id: actionId, value };
  if (style !== undefined) element.style = style;
  return element;
}
