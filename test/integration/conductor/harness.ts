import type { Redis } from 'ioredis';
import { afterEach, beforeEach } from 'vitest';
import { type ConductorProcessorDeps, conductorProcessor } from '../../../agents/conductor/processor.js';
import { loadPromptTemplates, renderConductorPrompt } from '../../../agents/conductor/prompt.js';
import { createPolicyProposer } from '../../../agents/conductor/propose.js';
import { createThreadMemory } from '../../../agents/conductor/thread-memory.js';
import { createConductorTools, type ToolDeps } from '../../../agents/conductor/tools.js';
import type { TurnDeps } from '../../../agents/conductor/turn.js';
import { type ManualClock, manualClock } from '../../../src/clock.js';
import { loadFleetFile } from '../../../src/config.js';
import type { RunHealth } from '../../../src/fleet/health/types.js';
import type { Fleet } from '../../../src/fleet/schema.js';
import { createMetrics, type Metrics } from '../../../src/http/metrics.js';
import { createLlmClient, type LlmClient, type LlmClientOptions } from '../../../src/infra/llm/client.js';
import { createLlmLedger, type LlmLedger } from '../../../src/infra/llm/ledger.js';
import type { VastOffer } from '../../../src/infra/vast/types.js';
import { silentLogger } from '../../../src/logger.js';
import { type FakeAnthropic, fakeApiKey, startFakeAnthropic } from '../../../src/sim/llm/index.js';
import type { SlackMessage } from '../../../src/slack-messages/blocks.js';
import { Store } from '../../../src/state/store.js';
import type { RunState } from '../../../src/state/types.js';
import { deleteKeys, newRedis, uniquePrefix } from '../../helpers/redis.js';

/**
 * Per test: the fake Messages API on loopback, the real SDK pointed at it, a real Redis store
 * under a unique prefix with one run (mosaic_moe) seeded as training, and spies for the parts
 * owned elsewhere (log tail over SSH, Vast offers, Slack posts).
 */

export const MODEL = 'claude-sonnet-5-5';
export const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

export const OFFER_3090: VastOffer = {
  id: 101,
  machine_id: 9001,
  gpu_name: 'RTX 3090',
  num_gpus: 4,
  gpu_ram: 24_576,
  dph_total: 1.1,
  min_bid: 0.6,
  reliability: 0.99,
  inet_down: 900,
  disk_space: 200,
  geolocation: 'Norway',
  cuda_max_good: 12.4,
  compute_cap: 860,
};
export const OFFER_5090: VastOffer = {
  ...OFFER_3090,
  id: 202,
  machine_id: 9002,
  gpu_name: 'RTX 5090',
  dph_total: 0.9,
  compute_cap: 1200,
};

export interface Post {
  channel: string;
  threadTs: string;
  message: SlackMessage;
}

export interface ConductorHarness {
  prefix: string;
  redis: Redis;
  store: Store;
  clock: ManualClock;
  fleet: Fleet;
  fake: FakeAnthropic;
  apiKey: string;
  metrics: Metrics;
  ledger: LlmLedger;
  systemPrompt: string;
  logLines: string[];
  logCalls: { run: string; n: number }[];
  offers: VastOffer[];
  posts: Post[];
  llm(options?: LlmClientOptions): LlmClient;
  toolDeps(): ToolDeps;
  turnDeps(overrides?: Partial<TurnDeps>): TurnDeps;
  processor(overrides?: Partial<ConductorProcessorDeps>): ReturnType<typeof conductorProcessor>;
}

export function runState(run: string, overrides: Partial<RunState> = {}): RunState {
  return {
    run,
    instanceId: 4242,
    sshHost: '10.0.0.5',
    sshPort: 22,
    gpuName: 'RTX 3090',
    numGpus: 4,
    costPerHr: 1.2,
    startedAt: T0 - 5 * 3_600_000,
    costAccrued: 3.5,
    paused: false,
    stoppedByUs: false,
    complete: false,
    ...overrides,
  };
}

export function runHealth(run: string, overrides: Partial<RunHealth> = {}): RunHealth {
  return {
    run,
    status: 'healthy',
    severity: 'info',
    reason: 'step advancing',
    since: T0 - 3_600_000,
    observedAt: T0 - 30_000,
    step: 12_340,
    stepChangedAt: T0 - 60_000,
    loss: 3.1234,
    ppl: 22.7,
    tokS: 48_211,
    gpuUtil: 97,
    diskPct: 41.3,
    processAlive: true,
    heartbeatAgeS: 12,
    tokSHistory: [48_000, 48_211],
    stepHistory: [
      [T0 - 3_600_000, 11_780],
      [T0 - 60_000, 12_340],
    ],
    ...overrides,
  };
}

export function useConductorHarness(): () => ConductorHarness {
  let current: ConductorHarness | undefined;

  beforeEach(async () => {
    const prefix = uniquePrefix('conductor');
    const redis = newRedis();
    const clock = manualClock(T0);
    const store = new Store({ redis, prefix, clock });
    const fleet = loadFleetFile('fleet.example.yaml');
    const apiKey = fakeApiKey();
    const fake = await startFakeAnthropic({ apiKey, now: () => clock.now() });
    const metrics = createMetrics();
    const ledger = createLlmLedger({ redis, prefix, clock, metrics });
    const systemPrompt = renderConductorPrompt(fleet, loadPromptTemplates());
    await store.putRunState(runState('mosaic_moe'));
    await store.putHealth(runHealth('mosaic_moe'));
    await store.journal.append({
      type: 'start',
      model: 'mosaic_moe',
      message: 'training started on 4x RTX 3090',
    });
    const h: ConductorHarness = {
      prefix,
      redis,
      store,
      clock,
      fleet,
      fake,
      apiKey,
      metrics,
      ledger,
      systemPrompt,
      logLines: [
        'step  12330/50000 | loss 3.1240 | ppl 22.8 | lr 2.91e-04 | grad_norm 0.87 | 48200 tok/s | aux 0.0123',
      ],
      logCalls: [],
      offers: [OFFER_3090, OFFER_5090],
      posts: [],
      llm(options = {}) {
        const client = createLlmClient(
          { apiKey, baseUrl: fake.url, model: MODEL, dailyBudgetUsd: 20 },
          { maxRetries: 2, timeoutMs: 5000, ...options },
        );
        if (!client) throw new Error('no client');
        return client;
      },
      toolDeps() {
        const offers = async () => h.offers;
        return {
          store,
          fleet,
          clock,
          logs: async (run, n) => {
            h.logCalls.push({ run, n });
            return h.logLines.slice(-n);
          },
          offers,
          propose: createPolicyProposer({ store, fleet, clock, offers }),
        };
      },
      turnDeps(overrides = {}) {
        return {
          llm: h.llm(),
          ledger,
          dailyBudgetUsd: 20,
          systemPrompt,
          tools: createConductorTools(fleet),
          toolDeps: h.toolDeps(),
          clock,
          logger: silentLogger,
          ...overrides,
        };
      },
      processor(overrides = {}) {
        const { logs, offers, propose } = h.toolDeps();
        return conductorProcessor({
          store,
          fleet,
          llm: h.llm(),
          ledger,
          dailyBudgetUsd: 20,
          systemPrompt,
          toolDeps: { logs, offers, propose },
          memory: createThreadMemory(redis, prefix),
          postToThread: async (channel, threadTs, message) => {
            h.posts.push({ channel, threadTs, message });
          },
          clock,
          logger: silentLogger,
          ...overrides,
        });
      },
    };
    current = h;
  });

  afterEach(async () => {
    if (!current) return;
    await current.fake.close();
    await deleteKeys(current.redis, current.prefix);
    await current.redis.quit();
    current = undefined;
  });

  return () => {
    if (!current) throw new Error('harness not set up');
    return current;
  };
}

/** All text of a Slack message's blocks, for assertions. */
export function messageText(message: SlackMessage): string {
  return message.blocks.map((b) => ('text' in b && b.text ? b.text.text : '')).join('\n');
}
