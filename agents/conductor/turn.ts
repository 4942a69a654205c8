import type {
  ContentBlock,
  ContentBlockParam,
  Message,
  MessageParam,
  TextBlockParam,
  Tool,
} from '@anthropic-ai/sdk/resources/messages';
import type { Clock } from '../../src/clock.js';
import { checkLlmBudget } from '../../src/infra/llm/budget.js';
import { describeLlmError, type LlmClient, type MessageRequest } from '../../src/infra/llm/client.js';
import {
  addUsage,
  type TokenUsage,
  usageCostNanos,
  usageFromApi,
  ZERO_USAGE,
} from '../../src/infra/llm/cost.js';
import { FLEET_RUN, type LlmLedger } from '../../src/infra/llm/ledger.js';
import { priceFor } from '../../src/infra/llm/prices.js';
import type { Logger } from '../../src/logger.js';
import type { Proposal } from '../../src/state/types.js';
import { answerFromRules, findRunsInText } from './rules.js';
import { loadFleetView, renderFleetSnapshot } from './snapshot.js';
import type { ThreadMessage } from './thread-memory.js';
import { type ConductorTool, executeToolCall, type ToolDeps, toolDefinition } from './tools.js';
import { wrapUntrusted } from './untrusted.js';

/**
 * One conductor turn: the system prompt (cached), the thread so far, a compact fleet snapshot and
 * the question, then a tool-use loop bounded in iterations and wall time. Every API call is
 * costed and recorded before the next one, and the daily budget is checked before each call.
 * Without an API key, past the budget, or when the API fails even after the SDK's retries, the
 * answer comes from the rules and says why.
 */

export interface TurnLimits {
  /** Model calls per turn (default 6). */
  maxIterations: number;
  /** Clock ms for the whole turn (default 90 s). */
  maxWallMs: number;
  /** max_tokens of each call (default 2048). */
  maxTokens: number;
}

export const DEFAULT_TURN_LIMITS: TurnLimits = { maxIterations: 6, maxWallMs: 90_000, maxTokens: 2048 };

export interface TurnDeps {
  llm: LlmClient | null;
  ledger: LlmLedger;
  dailyBudgetUsd: number;
  systemPrompt: string;
  tools: readonly ConductorTool[];
  toolDeps: ToolDeps;
  clock: Clock;
  logger: Logger;
  limits?: Partial<TurnLimits>;
  /** cache_control breakpoints on tools, system and conversation (default true; off = baseline). */
  promptCaching?: boolean;
}

export interface TurnInput {
  question: string;
  /** The thread before this question, oldest first. */
  history: readonly ThreadMessage[];
  /** Slack user id of the asker, if a person asked. */
  asker?: string;
  /** Runs the turn is about; found by name in the question when omitted. */
  runs?: string[];
  /** Recorded as the creator of proposals (default `conductor`). */
  createdBy?: string;
  incidentId?: string;
  /** The answer when the model cannot give one (default: status, journal and log of the runs). */
  rulesAnswer?: (why: string) => Promise<string>;
}

export type TurnFallback = 'no_api_key' | 'budget' | 'llm_error';

export interface TurnResult {
  text: string;
  proposals: Proposal[];
  usage: TokenUsage;
  costUsd: number;
  mode: 'llm' | 'rules';
  fallback?: TurnFallback;
  /** Model calls made. */
  iterations: number;
  toolCalls: { name: string; ok: boolean }[];
}

const EPHEMERAL = { type: 'ephemeral' } as const;
const NO_HISTORY_PLACEHOLDER = '(earlier in this thread)';

/** The thread as alternating user/assistant messages starting with the user, as the API wants. */
export function historyToMessages(history: readonly ThreadMessage[]): MessageParam[] {
  const merged: { role: 'user' | 'assistant'; texts: string[] }[] = [];
  for (const m of history) {
    const text = m.text.trim();
    if (text.length === 0) continue;
    const last = merged[merged.length - 1];
    if (last && last.role === m.role) last.texts.push(text);
    else merged.push({ role: m.role, texts: [text] });
  }
  if (merged[0]?.role === 'assistant') merged.unshift({ role: 'user', texts: [NO_HISTORY_PLACEHOLDER] });
  // The new question is a user message: the history must end with the assistant.
  if (merged[merged.length - 1]?.role === 'user')
    merged.push({ role: 'assistant', texts: ['(no answer was given)'] });
  return merged.map((m) => ({ role: m.role, content: m.texts.join('\n\n') }));
}

function withCacheMark(message: MessageParam): MessageParam {
  const content: ContentBlockParam[] =
    typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : [...message.content];
  const last = content[content.length - 1];
  if (!last || !('type' in last) || (last.type !== 'text' && last.type !== 'tool_result')) return message;
  content[content.length - 1] = { ...last, cache_control: EPHEMERAL };
  return { ...message, content } as MessageParam;
}

/**
 * The request with at most four cache breakpoints: the last tool and the system prompt (stable
 * for every turn), the end of the thread's history (stable for this turn and read by the next)
 * and the newest message (so each step of the tool loop reads the previous one).
 */
export function buildRequest(
  systemPrompt: string,
  tools: readonly Tool[],
  messages: readonly MessageParam[],
  historyLength: number,
  options: { caching: boolean; maxTokens: number },
): MessageRequest {
  const system: TextBlockParam[] = [
    { type: 'text', text: systemPrompt, ...(options.caching && { cache_control: EPHEMERAL }) },
  ];
  const toolList = tools.map((t, i) =>
    options.caching && i === tools.length - 1 ? { ...t, cache_control: EPHEMERAL } : t,
  );
  const marked = options.caching
    ? messages.map((m, i) => (i === historyLength - 1 || i === messages.length - 1 ? withCacheMark(m) : m))
    : [...messages];
  return { max_tokens: options.maxTokens, system, tools: toolList, messages: marked };
}

/** The response content as request params (text, tool_use and thinking blocks are echoed back). */
function contentAsParams(content: readonly ContentBlock[]): ContentBlockParam[] {
  return content.flatMap((block): ContentBlockParam[] => {
    switch (block.type) {
      case 'text':
        return [{ type: 'text', text: block.text }];
      case 'tool_use':
        return [{ type: 'tool_use', id: block.id, name: block.name, input: block.input }];
      case 'thinking':
        return [{ type: 'thinking', thinking: block.thinking, signature: block.signature }];
      case 'redacted_thinking':
        return [{ type: 'redacted_thinking', data: block.data }];
      default:
        return [];
    }
  });
}

function textOf(message: Message): string {
  return message.content
    .flatMap((b) => (b.type === 'text' ? [b.text] : []))
    .join('\n')
    .trim();
}

function userMessage(
  snapshot: string,
  at: number,
  question: string,
  asker: string | undefined,
): MessageParam {
  const who = asker ? `<@${asker}>` : 'the service';
  return {
    role: 'user',
    content: [
      {
        type: 'text',
        text: `Fleet snapshot at ${new Date(at).toISOString()}:\n${wrapUntrusted('fleet snapshot', snapshot)}`,
      },
      { type: 'text', text: `Question from ${who}:\n${question}` },
    ],
  };
}

/** Runs a function with an abort signal that fires after `ms` real milliseconds. */
async function withDeadline<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('turn time limit')), Math.max(1, ms));
  try {
    return await fn(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

export async function runConductorTurn(deps: TurnDeps, input: TurnInput): Promise<TurnResult> {
  const limits: TurnLimits = { ...DEFAULT_TURN_LIMITS, ...deps.limits };
  const runs =
    input.runs ??
    findRunsInText(
      input.question,
      deps.toolDeps.fleet.runs.map((r) => r.name),
    );
  const rules =
    input.rulesAnswer ?? ((why: string) => answerFromRules(deps.toolDeps, input.question, why, runs));
  const result: TurnResult = {
    text: '',
    proposals: [],
    usage: { ...ZERO_USAGE },
    costUsd: 0,
    mode: 'llm',
    iterations: 0,
    toolCalls: [],
  };
  const fallBack = async (fallback: TurnFallback, why: string, prefix = ''): Promise<TurnResult> => {
    result.mode = 'rules';
    result.fallback = fallback;
    result.text = `${prefix}${await rules(why)}`;
    return result;
  };

  const llm = deps.llm;
  if (!llm)
    return fallBack(
      'no_api_key',
      'The LLM is off (ANTHROPIC_API_KEY is not set), so this answer comes from the rules.',
    );
  const budget = checkLlmBudget(await deps.ledger.spentTodayUsd(), deps.dailyBudgetUsd);
  if (!budget.ok)
    return fallBack('budget', `The LLM is paused: ${budget.reason}. This answer comes from the rules.`);

  const { price, known } = priceFor(llm.model);
  if (!known)
    deps.logger.warn({ model: llm.model }, 'no price for this model: costing it as the dearest known model');
  const started = deps.clock.now();
  const view = await loadFleetView(deps.toolDeps.store, deps.toolDeps.fleet, started);
  const history = historyToMessages(input.history);
  const messages: MessageParam[] = [
    ...history,
    userMessage(renderFleetSnapshot(view), started, input.question, input.asker),
  ];
  const toolDefs = deps.tools.map(toolDefinition);
  const ctx = {
    deps: deps.toolDeps,
    createdBy: input.createdBy ?? 'conductor',
    ...(input.incidentId !== undefined && { incidentId: input.incidentId }),
  };
  const costRun = runs[0] ?? FLEET_RUN;
  let lastText = '';

  while (result.iterations < limits.maxIterations) {
    if (result.iterations > 0) {
      const again = checkLlmBudget(await deps.ledger.spentTodayUsd(), deps.dailyBudgetUsd);
      if (!again.ok) {
        return fallBack(
          'budget',
          `The LLM stopped mid-answer: ${again.reason}. The rest comes from the rules.`,
          lastText ? `${lastText}\n\n` : '',
        );
      }
    }
    const remainingMs = limits.maxWallMs - (deps.clock.now() - started);
    if (remainingMs <= 0) break;
    const request = buildRequest(deps.systemPrompt, toolDefs, messages, history.length, {
      caching: deps.promptCaching !== false,
      maxTokens: limits.maxTokens,
    });
    let response: Message;
    try {
      response = await withDeadline(remainingMs / deps.clock.speed, (signal) =>
        llm.createMessage(request, { signal }),
      );
    } catch (err) {
      deps.logger.warn({ err, iterations: result.iterations }, 'conductor LLM call failed');
      const why = `The LLM is unavailable right now: ${describeLlmError(err)}. This answer comes from the rules.`;
      return fallBack('llm_error', why, lastText ? `${lastText}\n\n` : '');
    }
    result.iterations += 1;
    const usage = usageFromApi(response.usage);
    const nanos = usageCostNanos(usage, price);
    result.usage = addUsage(result.usage, usage);
    result.costUsd += nanos / 1e9;
    await deps.ledger.record({ usage, costNanos: nanos, run: costRun });

    const text = textOf(response);
    if (text) lastText = text;
    const calls = response.content.flatMap((b) => (b.type === 'tool_use' ? [b] : []));
    if (response.stop_reason !== 'tool_use' || calls.length === 0) {
      result.text = finalText(text, response.stop_reason);
      return result;
    }
    messages.push({ role: 'assistant', content: contentAsParams(response.content) });
    const outcomes = [];
    for (const call of calls) {
      const outcome = await executeToolCall(
        deps.tools,
        { id: call.id, name: call.name, input: call.input },
        ctx,
      );
      result.toolCalls.push({ name: outcome.name, ok: outcome.ok });
      if (outcome.proposal) result.proposals.push(outcome.proposal);
      outcomes.push(outcome.block);
    }
    messages.push({ role: 'user', content: outcomes });
  }
  const why =
    result.iterations >= limits.maxIterations
      ? `I stopped after ${result.iterations} steps without a final answer`
      : 'I ran out of time for this answer';
  result.text = `${lastText ? `${lastText}\n\n` : ''}_${why}; ask again, perhaps more narrowly._`;
  return result;
}

function finalText(text: string, stopReason: Message['stop_reason']): string {
  if (stopReason === 'refusal') return text || 'The model declined to answer this.';
  if (stopReason === 'max_tokens') return `${text}\n\n_(answer cut short)_`;
  return text || '(no answer)';
}
