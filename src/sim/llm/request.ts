import { z } from 'zod';
import type { CacheTtl, PromptBlock } from './prompt-cache.js';

/**
 * The parts of a Messages API request body the fake reads, validated the way the API does
 * (unknown fields pass through), and the request flattened into prompt blocks for the cache.
 */

const CacheControlSchema = z
  .object({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).optional() })
  .nullable()
  .optional();

export const ContentBlockSchema = z.looseObject({
  type: z.string().min(1),
  cache_control: CacheControlSchema,
});
export type FakeContentBlock = z.infer<typeof ContentBlockSchema>;

const MessageSchema = z.object({
  role: z.enum(['user', 'assistant', 'system']),
  content: z.union([z.string(), z.array(ContentBlockSchema)]),
});

const ToolSchema = z.looseObject({ name: z.string().min(1), cache_control: CacheControlSchema });

export const FakeRequestSchema = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z.array(MessageSchema).min(1),
  system: z.union([z.string(), z.array(ContentBlockSchema)]).optional(),
  tools: z.array(ToolSchema).optional(),
  stream: z.boolean().optional(),
  cache_control: CacheControlSchema,
});
export type FakeRequest = z.infer<typeof FakeRequestSchema>;
export type FakeMessage = FakeRequest['messages'][number];

/** The API's hard limit on explicit cache breakpoints in one request. */
export const MAX_CACHE_BREAKPOINTS = 4;
/** Tokens of the tool-use instructions the API adds when a request has tools. */
const TOOL_PREAMBLE_TOKENS = 300;
/** Role framing of each message. */
const MESSAGE_OVERHEAD_TOKENS = 4;

/** About four characters a token, like English text and JSON. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function withoutCacheControl(value: Record<string, unknown>): string {
  const { cache_control: _ignored, ...rest } = value;
  return JSON.stringify(rest);
}

function ttlOf(value: {
  cache_control?: { ttl?: CacheTtl | undefined } | null | undefined;
}): CacheTtl | undefined {
  return value.cache_control ? (value.cache_control.ttl ?? '5m') : undefined;
}

function block(key: string, tokens: number, ttl: CacheTtl | undefined): PromptBlock {
  return ttl === undefined ? { key, tokens } : { key, tokens, breakpoint: ttl };
}

function messageBlocks(message: FakeMessage): PromptBlock[] {
  const content: FakeContentBlock[] =
    typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
  return content.map((b, i) => {
    const key = `${message.role}:${withoutCacheControl(b)}`;
    const overhead = i === 0 ? MESSAGE_OVERHEAD_TOKENS : 0;
    return block(key, estimateTokens(key) + overhead, ttlOf(b));
  });
}

/** Tools, then system, then messages: the order in which the API builds (and caches) a prompt. */
export function promptBlocks(request: FakeRequest): PromptBlock[] {
  const blocks: PromptBlock[] = [];
  const tools = request.tools ?? [];
  tools.forEach((tool, i) => {
    const key = `tool:${withoutCacheControl(tool)}`;
    const extra = i === 0 ? TOOL_PREAMBLE_TOKENS : 0;
    blocks.push(block(key, estimateTokens(key) + extra, ttlOf(tool)));
  });
  const system = request.system;
  if (typeof system === 'string') blocks.push(block(`system:${system}`, estimateTokens(system), undefined));
  else if (system) {
    for (const b of system)
      blocks.push(block(`system:${withoutCacheControl(b)}`, estimateTokens(String(b.text ?? '')), ttlOf(b)));
  }
  for (const message of request.messages) blocks.push(...messageBlocks(message));
  // Top-level cache_control (automatic caching) marks the last cacheable block.
  const auto = ttlOf(request);
  const last = blocks[blocks.length - 1];
  if (auto && last && !last.breakpoint) blocks[blocks.length - 1] = { ...last, breakpoint: auto };
  return blocks;
}

/** Counts explicit cache_control markers, which the API caps at four. */
export function countBreakpoints(request: FakeRequest): number {
  let count = 0;
  for (const tool of request.tools ?? []) if (tool.cache_control) count += 1;
  if (Array.isArray(request.system)) for (const b of request.system) if (b.cache_control) count += 1;
  for (const m of request.messages) {
    if (Array.isArray(m.content)) for (const b of m.content) if (b.cache_control) count += 1;
  }
  return count;
}

/**
 * The API's rule for tool use: every tool_use of an assistant message is answered by a tool_result
 * in the user message right after it, and every tool_result answers such a tool_use. Returns the
 * API's complaint, or null.
 */
export function toolPairingError(request: FakeRequest): string | null {
  const { messages } = request;
  for (let i = 0; i < messages.length; i += 1) {
    const message = messages[i];
    if (!message || typeof message.content === 'string') continue;
    if (message.role === 'user') {
      const previous = messages[i - 1];
      const offered = new Set(
        previous?.role === 'assistant' && Array.isArray(previous.content)
          ? previous.content.filter((b) => b.type === 'tool_use').map((b) => String(b.id))
          : [],
      );
      for (const b of message.content) {
        if (b.type === 'tool_result' && !offered.has(String(b.tool_use_id))) {
          return `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(b.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
        }
      }
    }
    if (message.role === 'assistant') {
      const ids = message.content.filter((b) => b.type === 'tool_use').map((b) => String(b.id));
      if (ids.length === 0) continue;
      const next = messages[i + 1];
      const answered = new Set(
        next && Array.isArray(next.content)
          ? next.content.filter((b) => b.type === 'tool_result').map((b) => String(b.tool_use_id))
          : [],
      );
      const missing = ids.filter((id) => !answered.has(id));
      if (next && missing.length > 0) {
        return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
      }
    }
  }
  return null;
}

/** Text of the system prompt, for tests. */
export function systemText(request: FakeRequest): string {
  const { system } = request;
  if (system === undefined) return '';
  if (typeof system === 'string') return system;
  return system.map((b) => String(b.text ?? '')).join('\n');
}

export interface FakeToolResult {
  toolUseId: string;
  text: string;
  isError: boolean;
}

/** The tool results in the request's last message, with their text joined. */
export function lastToolResults(request: FakeRequest): FakeToolResult[] {
  const last = request.messages[request.messages.length - 1];
  if (!last || typeof last.content === 'string') return [];
  return last.content
    .filter((b) => b.type === 'tool_result')
    .map((b) => ({
      toolUseId: String(b.tool_use_id),
      text: resultText(b.content),
      isError: b.is_error === true,
    }));
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) =>
      part && typeof part === 'object' && 'text' in part ? String((part as { text: unknown }).text) : '',
    )
    .join('\n');
}

/** Every text of the request's last user message (string content or text blocks). */
export function lastUserText(request: FakeRequest): string {
  const last = [...request.messages].reverse().find((m) => m.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  return last.content
    .filter((b) => b.type === 'text')
    .map((b) => String(b.text ?? ''))
    .join('\n');
}
