import Anthropic, {
  APIConnectionTimeoutError,
  BadRequestError,
  OverloadedError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeAnthropic, fakeApiKey, fakeReply, startFakeAnthropic } from '../../../src/sim/llm/index.js';

/** The fake Messages API through the real SDK over HTTP: shapes, errors, and cache accounting. */

const MODEL = 'claude-sonnet-5-5';
const LONG_SYSTEM = `You are a test assistant. ${'The fleet has three runs and strict rules. '.repeat(150)}`;

let fake: FakeAnthropic;
let apiKey: string;

function client(options: { maxRetries?: number; timeout?: number } = {}) {
  return new Anthropic({
    apiKey,
    baseURL: fake.url,
    maxRetries: options.maxRetries ?? 0,
    timeout: options.timeout ?? 5000,
    logLevel: 'off',
  });
}

function cachedRequest(question: string) {
  return {
    model: MODEL,
    max_tokens: 256,
    system: [{ type: 'text' as const, text: LONG_SYSTEM, cache_control: { type: 'ephemeral' as const } }],
    messages: [{ role: 'user' as const, content: question }],
  };
}

beforeEach(async () => {
  apiKey = fakeApiKey();
  fake = await startFakeAnthropic({ apiKey });
});

afterEach(async () => {
  await fake.close();
});

describe('fake Anthropic Messages API', () => {
  it('answers a scripted text reply in the real response shape, with the SDK headers captured', async () => {
    fake.enqueue(fakeReply.text('hello from the fake'));
    const message = await client().messages.create({
      model: MODEL,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: MODEL,
      stop_reason: 'end_turn',
    });
    expect(message.id).toMatch(/^msg_/);
    expect(message.content).toEqual([{ type: 'text', text: 'hello from the fake', citations: null }]);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(message.usage.cache_read_input_tokens).toBe(0);
    const headers = fake.exchanges[0]?.headers ?? {};
    // SDK 1.x sends the key as a bearer token; the API (and the fake) also take x-api-key.
    expect(headers['x-api-key'] ?? headers.authorization).toMatch(new RegExp(`^(Bearer )?${apiKey}$`));
    expect(headers['anthropic-version']).toBeTruthy();
    expect(fake.requests[0]?.messages).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('accepts the key as x-api-key too, as the API does', async () => {
    fake.enqueue(fakeReply.text('ok'));
    const response = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    const missingVersion = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(missingVersion.status).toBe(400);
    expect(await missingVersion.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error' },
    });
  });

  it('returns tool_use blocks with stop_reason tool_use', async () => {
    fake.enqueue(fakeReply.toolUse('fleet_status', {}, 'Let me look.'));
    const message = await client().messages.create({
      model: MODEL,
      max_tokens: 64,
      tools: [{ name: 'fleet_status', input_schema: { type: 'object', properties: {} } }],
      messages: [{ role: 'user', content: 'status?' }],
    });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'Let me look.' });
    expect(message.content[1]).toMatchObject({ type: 'tool_use', name: 'fleet_status', input: {} });
    expect((message.content[1] as { id: string }).id).toMatch(/^toolu_/);
  });

  it('rejects a wrong key with 401 and a missing tool_result with 400, in the error shape', async () => {
    const wrong = new Anthropic({ apiKey: 'sk-wrong', baseURL: fake.url, maxRetries: 0, logLevel: 'off' });
    await expect(
      wrong.messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      status: 401,
      error: { type: 'error', error: { type: 'authentication_error' } },
    });
    const err = await client()
      .messages.create({
        model: MODEL,
        max_tokens: 8,
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 't', input: {} }] },
          { role: 'user', content: 'no result' },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error' },
    });
    expect((err as BadRequestError).message).toContain('tool_result');
  });

  it('refuses more than four cache breakpoints like the API does', async () => {
    const mark = { type: 'ephemeral' as const };
    const err = await client()
      .messages.create({
        model: MODEL,
        max_tokens: 8,
        system: [1, 2, 3, 4, 5].map((i) => ({
          type: 'text' as const,
          text: `part ${i}`,
          cache_control: mark,
        })),
        messages: [{ role: 'user', content: 'x' }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toContain('maximum of 4 blocks with cache_control');
  });

  it('bills a cache write on the first call with a breakpoint and a read on the identical prefix', async () => {
    fake.enqueue(fakeReply.text('one'), fakeReply.text('two'));
    const first = await client().messages.create(cachedRequest('first question'));
    const second = await client().messages.create(cachedRequest('second question'));
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(1024);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(second.usage.cache_creation_input_tokens).toBe(0);
    expect(second.usage.input_tokens).toBeLessThan(20);
  });

  it('does not cache a prefix below the minimum length', async () => {
    fake.enqueue(fakeReply.text('a'), fakeReply.text('b'));
    const short = {
      ...cachedRequest('q'),
      system: [{ type: 'text' as const, text: 'short', cache_control: { type: 'ephemeral' as const } }],
    };
    await client().messages.create(short);
    const again = await client().messages.create(short);
    expect(again.usage.cache_read_input_tokens).toBe(0);
    expect(again.usage.cache_creation_input_tokens).toBe(0);
  });

  it('sends 429 with retry-after, which the SDK retries, and 529 overloaded', async () => {
    fake.enqueue(fakeReply.rateLimited(0.01), fakeReply.text('after the wait'));
    const message = await client({ maxRetries: 1 }).messages.create({
      model: MODEL,
      max_tokens: 8,
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(message.content[0]).toMatchObject({ text: 'after the wait' });
    expect(fake.exchanges.map((e) => e.status)).toEqual([429, 200]);

    fake.enqueue(fakeReply.rateLimited(0.01));
    const limited = await client()
      .messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).headers.get('retry-after')).toBe('0.01');
    expect((limited as RateLimitError).error).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error' },
    });

    fake.enqueue(fakeReply.overloaded());
    const overloaded = await client()
      .messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(OverloadedError);
    expect((overloaded as OverloadedError).status).toBe(529);
  });

  it('answers slowly enough for a client timeout', async () => {
    fake.enqueue(fakeReply.slow(2000, fakeReply.text('too late')));
    const started = Date.now();
    const err = await client({ timeout: 150 })
      .messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIConnectionTimeoutError);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
