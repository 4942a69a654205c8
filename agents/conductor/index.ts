import type { Redis } from 'ioredis';
import type { Clock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import type { Metrics } from '../../src/http/metrics.js';
import { createLlmClient, type LlmClient, type LlmClientOptions } from '../../src/infra/llm/client.js';
import { createLlmLedger } from '../../src/infra/llm/ledger.js';
import type { VastOffer } from '../../src/infra/vast/types.js';
import type { Logger } from '../../src/logger.js';
import type { SlackMessage } from '../../src/slack-messages/blocks.js';
import type { Store } from '../../src/state/store.js';
import { type ConductorProcessorDeps, conductorProcessor } from './processor.js';
import { loadPromptTemplates, renderConductorPrompt } from './prompt.js';
import { createPolicyProposer } from './propose.js';
import { createThreadMemory, type ThreadMessage } from './thread-memory.js';
import type { TurnLimits } from './turn.js';

export { type ConductorJobResult, type ConductorProcessorDeps, conductorProcessor } from './processor.js';
export { loadPromptTemplates, renderConductorPrompt } from './prompt.js';
export { createPolicyProposer } from './propose.js';
export { createThreadMemory, type ThreadMemory, type ThreadMessage } from './thread-memory.js';
export { createConductorTools, type ProposeRequest, type ProposeResult, type ToolDeps } from './tools.js';
export { runConductorTurn, type TurnDeps, type TurnInput, type TurnResult } from './turn.js';

export interface ConductorWiring {
  config: Pick<Config, 'anthropic' | 'fleet' | 'keyPrefix'>;
  redis: Redis;
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics?: Pick<Metrics, 'llmTokens' | 'llmDollars'>;
  /** The last `n` lines of a run's training log (SSH). */
  logs(run: string, n: number): Promise<string[]>;
  /** Replacement offers for a run (Vast.ai). */
  offers(run: string): Promise<VastOffer[]>;
  /** Posts into a Slack thread (the notify side). */
  postToThread(channel: string, threadTs: string, message: SlackMessage): Promise<void>;
  history?: (channel: string, threadTs: string) => Promise<ThreadMessage[]>;
  /** Overrides the client built from config (tests, the demo's fake API). */
  llm?: LlmClient | null;
  llmOptions?: LlmClientOptions;
  limits?: Partial<TurnLimits>;
  promptsDir?: string;
}

/**
 * Everything the conductor processor needs, built from the config: the SDK client (null without
 * ANTHROPIC_API_KEY), the Redis spend ledger, the thread memory, the policy proposer and the
 * system prompt rendered from prompts/ and the fleet's policy.
 */
export function createConductorProcessor(w: ConductorWiring) {
  const { fleet } = w.config;
  const deps: ConductorProcessorDeps = {
    store: w.store,
    fleet,
    llm: w.llm !== undefined ? w.llm : createLlmClient(w.config.anthropic, w.llmOptions),
    ledger: createLlmLedger({
      redis: w.redis,
      prefix: w.config.keyPrefix,
      clock: w.clock,
      metrics: w.metrics,
    }),
    dailyBudgetUsd: w.config.anthropic.dailyBudgetUsd,
    systemPrompt: renderConductorPrompt(fleet, loadPromptTemplates(w.promptsDir)),
    toolDeps: {
      logs: w.logs,
      offers: w.offers,
      propose: createPolicyProposer({
        store: w.store,
        fleet,
        clock: w.clock,
        offers: w.offers,
        logger: w.logger,
      }),
    },
    memory: createThreadMemory(w.redis, w.config.keyPrefix),
    postToThread: w.postToThread,
    clock: w.clock,
    logger: w.logger,
    ...(w.history !== undefined && { history: w.history }),
    ...(w.limits !== undefined && { limits: w.limits }),
  };
  return conductorProcessor(deps);
}
