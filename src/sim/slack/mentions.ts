import type { SlackUsergroupSpec, SlackUserSpec } from './types.js';

/**
 * What the Slack client does to a typed message before sending it: `@name` becomes `<@U…>`,
 * `@handle` of a user group `<!subteam^S…>`, `@here` `<!here>`. Text that is already in Slack's
 * markup passes unchanged, so converting twice is harmless.
 */
export function toSlackMarkup(
  typed: string,
  users: Iterable<SlackUserSpec>,
  usergroups: Iterable<SlackUsergroupSpec>,
): string {
  const byName = new Map<string, string>();
  for (const u of users) byName.set(u.name.toLowerCase(), `<@${u.id}>`);
  for (const g of usergroups) byName.set(g.handle.toLowerCase(), `<!subteam^${g.id}>`);
  for (const special of ['here', 'channel', 'everyone']) byName.set(special, `<!${special}>`);
  return typed.replace(/(^|[\s(])@([a-z0-9][a-z0-9._-]*)/gi, (whole, lead: string, name: string) => {
    const markup = byName.get(name.toLowerCase());
    return markup ? `${lead}${markup}` : whole;
  });
}

export type RichTextElement =
  | { type: 'text'; text: string }
  | { type: 'user'; user_id: string }
  | { type: 'usergroup'; usergroup_id: string }
  | { type: 'broadcast'; range: string }
  | { type: 'channel'; channel_id: string }
  | { type: 'link'; url: string; text?: string };

/** The `rich_text` block the Slack client attaches to a message a person typed. */
export function richTextBlock(text: string, blockId: string) {
  const elements: RichTextElement[] = [];
  let last = 0;
  for (const match of text.matchAll(/<([^>\s]+)>/g)) {
    if (match.index > last)
      elements.push({ type: 'text', text: unescapeText(text.slice(last, match.index)) });
    elements.push(markupElement(match[1] ?? ''));
    last = match.index + match[0].length;
  }
  if (last < text.length) elements.push({ type: 'text', text: unescapeText(text.slice(last)) });
  return {
    type: 'rich_text',
    block_id: blockId,
    elements: [{ type: 'rich_text_section', elements }],
  };
}

function markupElement(inner: string): RichTextElement {
  const [target = '', label] = inner.split('|');
  if (target.startsWith('@')) return { type: 'user', user_id: target.slice(1) };
  if (target.startsWith('#')) return { type: 'channel', channel_id: target.slice(1) };
  if (target.startsWith('!subteam^'))
    return { type: 'usergroup', usergroup_id: target.slice('!subteam^'.length) };
  if (target.startsWith('!')) return { type: 'broadcast', range: target.slice(1) };
  return label === undefined ? { type: 'link', url: target } : { type: 'link', url: target, text: label };
}

function unescapeText(s: string): string {
  return s.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

/** True when the text mentions this user the way Slack marks a mention (`<@U…>` or `<@U…|name>`). */
export function mentions(text: string, userId: string): boolean {
  return new RegExp(`<@${userId}(\\|[^>]*)?>`).test(text);
}
