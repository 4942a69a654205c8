import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  OverloadedError,
  PermissionDeniedError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import type { Message, MessageCreateParamsNonStreaming } from '@anthropic-ai/sdk/resources/messages';
import type { Config } from '../../config.js';
import { errorMessage } from '../../errors.js';

/**
 * The conductor's only door to the model: the official SDK behind a one-method interface, so
 * tests and the demo can swap the endpoint (the fake API over real HTTP) and the turn logic never
 * sees SDK construction. The SDK retries 408/409/429/5xx and connection errors itself, honouring
 * Retry-After, with exponential backoff; a request that still fails surfaces as an error the
 * conductor reports honestly.
 */

export type MessageRequest = Omit<MessageCreateParamsNonStreaming, 'model' | 'stream'>;

export interface LlmRequestOptions {
  signal?: AbortSignal;
  /** Real ms for this request (each attempt); defaults to the client's timeout. */
  timeoutMs?: number;
}

export interface LlmClient {
  readonly model: string;
  createMessage(request: MessageRequest, options?: LlmRequestOptions): Promise<Message>;
}

export interface LlmClientOptions {
  /** Real ms one attempt may take (default 60 s). */
  timeoutMs?: number;
  /** Retries after the first attempt (default 2). */
  maxRetries?: number;
}

export const DEFAULT_LLM_TIMEOUT_MS = 60_000;
export const DEFAULT_LLM_MAX_RETRIES = 2;

/** Null when no API key is configured: the conductor then answers from the rules. */
export function createLlmClient(
  settings: Config['anthropic'],
  options: LlmClientOptions = {},
): LlmClient | null {
  if (!settings.apiKey) return null;
  const sdk = new Anthropic({
    apiKey: settings.apiKey,
    // Config is the only reader of the environment; pass ANTHROPIC_BASE_URL through explicitly.
    ...(settings.baseUrl !== undefined && { baseURL: settings.baseUrl }),
    maxRetries: options.maxRetries ?? DEFAULT_LLM_MAX_RETRIES,
    timeout: options.timeoutMs ?? DEFAULT_LLM_TIMEOUT_MS,
    // The SDK logs to the console; the service logs through pino instead.
    logLevel: 'off',
  });
  const model = settings.model;
  return {
    model,
    createMessage(request, requestOptions = {}) {
      return sdk.messages.create(
        { ...request, model, stream: false },
        {
          ...(requestOptions.signal !== undefined && { signal: requestOptions.signal }),
          ...(requestOptions.timeoutMs !== undefined && {
            timeout: Math.max(1, Math.round(requestOptions.timeoutMs)),
          }),
        },
      );
    },
  };
}

/** One line for Slack and the logs saying why the model could not answer. */
export function describeLlmError(err: unknown): string {
  if (err instanceof APIUserAbortError) return 'the answer took longer than the time allowed for one turn';
  if (err instanceof APIConnectionTimeoutError) return 'the request to Anthropic timed out (retried)';
  if (err instanceof APIConnectionError) return 'could not reach the Anthropic API (retried)';
  if (err instanceof RateLimitError) return 'Anthropic rate-limited the request (429, retried)';
  if (err instanceof OverloadedError || (err instanceof APIError && err.status === 529)) {
    return 'Anthropic is overloaded (529, retried)';
  }
  if (err instanceof AuthenticationError) return 'the Anthropic API key was rejected (401)';
  if (err instanceof PermissionDeniedError) return 'the Anthropic API key may not use this model (403)';
  if (err instanceof APIError) {
    const detail = err.apiMessage ?? err.type ?? 'error';
    return `the Anthropic API answered ${err.status ?? 'with an error'}: ${detail}`;
  }
  return `the LLM call failed: ${errorMessage(err)}`;
}

/** Whether an LLM failure is worth another try later (vs. a configuration problem). */
export function isTransientLlmError(err: unknown): boolean {
  if (err instanceof APIConnectionError) return true;
  if (err instanceof APIError) return err.status === undefined || err.status === 429 || err.status >= 500;
  return false;
}
