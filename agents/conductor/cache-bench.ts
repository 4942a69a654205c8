import type { Redis } from 'ioredis';
import type { BenchRow } from '../../src/bench/types.js';
import { type Clock, systemClock } from '../../src/clock.js';
import type { Fleet } from '../../src/fleet/schema.js';
import { createLlmClient } from '../../src/infra/llm/client.js';
import {
  addUsage,
  cachedFraction,
  promptTokens,
  type TokenUsage,
  ZERO_USAGE,
} from '../../src/infra/llm/cost.js';
import { createLlmLedger } from '../../src/infra/llm/ledger.js';
import { silentLogger } from '../../src/logger.js';
import { fakeApiKey, startFakeAnthropic } from '../../src/sim/llm/index.js';
import { Store } from '../../src/state/store.js';
import { loadPromptTemplates, renderConductorPrompt } from './prompt.js';
import { createPolicyProposer } from './propose.js';
import { createThreadMemory } from './thread-memory.js';
import { createConductorTools, type ToolDeps } from './tools.js';
import { runConductorTurn, type TurnResult } from './turn.js';

/**
 * How much of a conductor thread's prompt the cache serves: a thread of `turns` questions with the
 * real SDK against the fake API over HTTP (which bills cache writes and reads the way the real API
 * does), each turn using a tool and answering. The benchmark calls this twice, with and without
 * cache breakpoints, to show the saving.
 */

export interface CachingOptions {
  redis: Redis;
  fleet: Fleet;
  /** Key prefix for the run's state; every key under it is deleted afterwards. */
  prefix: string;
  turns?: number;
  promptCaching?: boolean;
  model?: string;
  clock?: Clock;
}

export interface CachingReport {
  turns: { usage: TokenUsage; costUsd: number; cachedFraction: number }[];
  /** Turns after the first, summed. */
  later: TokenUsage;
  /** Share of the later turns' prompt tokens read from the cache. */
  laterCachedFraction: number;
  totalCostUsd: number;
  promptCaching: boolean;
}

const QUESTIONS = [
  'How is the fleet doing?',
  'What is the ETA of mosaic_moe?',
  'Any open incidents?',
  'How much does the fleet cost per hour?',
  'Is gpt2_reference still training?',
];

async function deleteUnder(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

export async function measureThreadCaching(options: CachingOptions): Promise<CachingReport> {
  const clock = options.clock ?? systemClock;
  const turns = options.turns ?? 10;
  const promptCaching = options.promptCaching !== false;
  const apiKey = fakeApiKey();
  const fake = await startFakeAnthropic({ apiKey });
  try {
    const llm = createLlmClient(
      { apiKey, baseUrl: fake.url, model: options.model ?? 'claude-sonnet-5-5', dailyBudgetUsd: 1000 },
      { maxRetries: 0, timeoutMs: 10_000 },
    );
    const store = new Store({ redis: options.redis, prefix: options.prefix, clock });
    const offers = async () => [];
    const toolDeps: ToolDeps = {
      store,
      fleet: options.fleet,
      clock,
      logs: async (run, n) =>
        Array.from({ length: Math.min(n, 5) }, (_, i) => `step ${i * 10}/50000 | loss 3.1 | ${run}`),
      offers,
      propose: createPolicyProposer({ store, fleet: options.fleet, clock, offers }),
    };
    const memory = createThreadMemory(options.redis, options.prefix);
    const deps = {
      llm,
      ledger: createLlmLedger({ redis: options.redis, prefix: options.prefix, clock }),
      dailyBudgetUsd: 1000,
      systemPrompt: renderConductorPrompt(options.fleet, loadPromptTemplates()),
      tools: createConductorTools(options.fleet),
      toolDeps,
      clock,
      logger: silentLogger,
      promptCaching,
    };
    const results: TurnResult[] = [];
    for (let i = 0; i < turns; i += 1) {
      const question = QUESTIONS[i % QUESTIONS.length] ?? QUESTIONS[0] ?? '';
      const history = await memory.read('CBENCH', '1.0');
      const result = await runConductorTurn(deps, { question, history, asker: 'UBENCH' });
      results.push(result);
      await memory.append('CBENCH', '1.0', [
        { role: 'user', text: `<@UBENCH>: ${question}` },
        { role: 'assistant', text: result.text },
      ]);
    }
    const later = results.slice(1).reduce((sum, r) => addUsage(sum, r.usage), { ...ZERO_USAGE });
    return {
      turns: results.map((r) => ({
        usage: r.usage,
        costUsd: r.costUsd,
        cachedFraction: cachedFraction(r.usage),
      })),
      later,
      laterCachedFraction: cachedFraction(later),
      totalCostUsd: results.reduce((sum, r) => sum + r.costUsd, 0),
      promptCaching,
    };
  } finally {
    await fake.close();
    await deleteUnder(options.redis, options.prefix);
  }
}

/** Rows for `conductor bench`: cached share and cost, against a no-cache baseline when given. */
export function cachingBenchRows(cached: CachingReport, baseline?: CachingReport): BenchRow[] {
  const scenario = 'conductor-thread-cache';
  const prompt = cached.turns.reduce((sum, t) => sum + promptTokens(t.usage), 0);
  const rows: BenchRow[] = [
    {
      scenario,
      metric: 'later turns: prompt read from cache',
      unit: '%',
      value: cached.laterCachedFraction * 100,
    },
    {
      scenario,
      metric: 'prompt tokens per turn',
      unit: 'tokens',
      value: prompt / Math.max(1, cached.turns.length),
    },
  ];
  const cost: BenchRow = { scenario, metric: 'thread cost', unit: 'USD', value: cached.totalCostUsd };
  if (baseline && cached.totalCostUsd > 0) {
    cost.baseline = baseline.totalCostUsd;
    cost.ratio = baseline.totalCostUsd / cached.totalCostUsd;
  }
  rows.push(cost);
  return rows;
}
