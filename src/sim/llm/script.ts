import { randomBytes } from 'node:crypto';
import type { FakeRequest } from './request.js';

/**
 * What the fake model does with one HTTP request. Every request, including each retry the SDK
 * makes, takes the next step from the queue; when the queue is empty the fallback responder
 * decides. Errors are sent in the API's own shape and status codes.
 */

export interface FakeToolCall {
  name: string;
  input: unknown;
  /** Defaults to a fresh `toolu_...` id. */
  id?: string;
}

export type FakeStep =
  | { kind: 'text'; text: string }
  | { kind: 'tool_use'; calls: FakeToolCall[]; text?: string }
  /** Decided when the request arrives (e.g. by reading the tool results it carries). */
  | { kind: 'respond'; respond: (request: FakeRequest) => FakeStep }
  | { kind: 'error'; status: number; type: string; message: string; retryAfterS?: number }
  /** The reply comes only after `delayMs` (real time): for client timeouts. */
  | { kind: 'slow'; delayMs: number; then: FakeStep };

export type FakeResponder = (request: FakeRequest) => FakeStep;

export const fakeReply = {
  text: (text: string): FakeStep => ({ kind: 'text', text }),
  toolUse: (name: string, input: unknown, text?: string): FakeStep =>
    text === undefined
      ? { kind: 'tool_use', calls: [{ name, input }] }
      : { kind: 'tool_use', calls: [{ name, input }], text },
  tools: (calls: FakeToolCall[], text?: string): FakeStep =>
    text === undefined ? { kind: 'tool_use', calls } : { kind: 'tool_use', calls, text },
  respond: (respond: (request: FakeRequest) => FakeStep): FakeStep => ({ kind: 'respond', respond }),
  /** 429 rate_limit_error with a Retry-After in seconds (the SDK honours fractions). */
  rateLimited: (retryAfterS = 1): FakeStep => ({
    kind: 'error',
    status: 429,
    type: 'rate_limit_error',
    message: 'Number of request tokens has exceeded your per-minute rate limit',
    retryAfterS,
  }),
  overloaded: (): FakeStep => ({
    kind: 'error',
    status: 529,
    type: 'overloaded_error',
    message: 'Overloaded',
  }),
  serverError: (): FakeStep => ({
    kind: 'error',
    status: 500,
    type: 'api_error',
    message: 'Internal server error',
  }),
  error: (status: number, type: string, message: string): FakeStep => ({
    kind: 'error',
    status,
    type,
    message,
  }),
  slow: (delayMs: number, then: FakeStep): FakeStep => ({ kind: 'slow', delayMs, then }),
};

export function newId(prefix: string): string {
  return `${prefix}_01${randomBytes(12).toString('base64url')}`;
}

export type FakeResponseBlock =
  | { type: 'text'; text: string; citations: null }
  | { type: 'tool_use'; id: string; name: string; input: unknown; caller: { type: 'direct' } };

/** The content blocks and stop reason of a successful step. */
export function contentOf(step: Extract<FakeStep, { kind: 'text' | 'tool_use' }>): {
  content: FakeResponseBlock[];
  stopReason: 'end_turn' | 'tool_use';
} {
  if (step.kind === 'text')
    return { content: [{ type: 'text', text: step.text, citations: null }], stopReason: 'end_turn' };
  const content: FakeResponseBlock[] = [];
  if (step.text) content.push({ type: 'text', text: step.text, citations: null });
  for (const call of step.calls) {
    content.push({
      type: 'tool_use',
      id: call.id ?? newId('toolu'),
      name: call.name,
      input: call.input,
      caller: { type: 'direct' },
    });
  }
  return { content, stopReason: 'tool_use' };
}
