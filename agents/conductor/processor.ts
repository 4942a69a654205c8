import { z } from 'zod';
import type { Clock } from '../../src/clock.js';
import { ConductorError } from '../../src/errors.js';
import type { Fleet } from '../../src/fleet/schema.js';
import type { LlmClient } from '../../src/infra/llm/client.js';
import type { LlmLedger } from '../../src/infra/llm/ledger.js';
import type { Logger } from '../../src/logger.js';
import type { ConductorJob } from '../../src/queues/jobs.js';
import type { Block, SlackMessage } from '../../src/slack-messages/blocks.js';
import { renderThreadAnswer } from '../../src/slack-messages/thread-reply.js';
import type { Store } from '../../src/state/store.js';
import { escalationQuestion, escalationSummaryFromRules, gatherEscalationFacts } from './escalation.js';
import type { ThreadMemory, ThreadMessage } from './thread-memory.js';
import { type ConductorTool, createConductorTools, type ToolDeps } from './tools.js';
import { runConductorTurn, type TurnDeps, type TurnLimits, type TurnResult } from './turn.js';

/**
 * The conductor queue's processor. It is only ever given threads and escalations, so routine
 * sweeps spend no tokens. A thread question gets one turn and the answer is posted in the thread;
 * an escalation gets a root-cause summary in the incident's thread. An answer is stored before it
 * is posted, so a retried job re-posts it instead of paying for a second turn.
 */

export interface ConductorProcessorDeps {
  store: Store;
  fleet: Fleet;
  llm: LlmClient | null;
  ledger: LlmLedger;
  dailyBudgetUsd: number;
  /** Rendered once at start-up from prompts/ and the policy (renderConductorPrompt). */
  systemPrompt: string;
  /** Reading logs over SSH, listing offers and creating proposals are owned elsewhere. */
  toolDeps: Pick<ToolDeps, 'logs' | 'offers' | 'propose'>;
  memory: ThreadMemory;
  /** The thread so far from Slack; defaults to what the conductor remembers of it. */
  history?: (channel: string, threadTs: string) => Promise<ThreadMessage[]>;
  postToThread(channel: string, threadTs: string, message: SlackMessage): Promise<void>;
  clock: Clock;
  logger: Logger;
  limits?: Partial<TurnLimits>;
  promptCaching?: boolean;
}

export type ConductorJobResult =
  | {
      kind: 'thread' | 'escalation';
      mode: TurnResult['mode'] | 'replayed';
      fallback?: TurnResult['fallback'];
      costUsd: number;
      proposals: string[];
    }
  | { kind: ConductorJob['kind']; skipped: string };

const ANSWER_TTL_MS = 86_400_000;

const StoredAnswerSchema = z.object({ text: z.string(), blocks: z.array(z.record(z.string(), z.unknown())) });

export function conductorProcessor(deps: ConductorProcessorDeps) {
  const tools: ConductorTool[] = createConductorTools(deps.fleet);
  const toolDeps: ToolDeps = { store: deps.store, fleet: deps.fleet, clock: deps.clock, ...deps.toolDeps };
  const turnDeps: TurnDeps = {
    llm: deps.llm,
    ledger: deps.ledger,
    dailyBudgetUsd: deps.dailyBudgetUsd,
    systemPrompt: deps.systemPrompt,
    tools,
    toolDeps,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.limits !== undefined && { limits: deps.limits }),
    ...(deps.promptCaching !== undefined && { promptCaching: deps.promptCaching }),
  };

  /** Posts the stored answer if a previous attempt already produced one. */
  async function replay(key: string, channel: string, threadTs: string): Promise<boolean> {
    const raw = await deps.store.getMeta(key);
    if (raw === null) return false;
    const answer = StoredAnswerSchema.parse(JSON.parse(raw));
    // The blocks are our own rendering, stored verbatim a moment ago.
    await deps.postToThread(channel, threadTs, {
      text: answer.text,
      blocks: answer.blocks as unknown as Block[],
    });
    return true;
  }

  async function post(key: string, channel: string, threadTs: string, message: SlackMessage): Promise<void> {
    await deps.store.setMeta(key, JSON.stringify(message), ANSWER_TTL_MS / deps.clock.speed);
    await deps.postToThread(channel, threadTs, message);
  }

  async function thread(job: Extract<ConductorJob, { kind: 'thread' }>): Promise<ConductorJobResult> {
    const doneKey = `conductor:answered:${job.channel}:${job.ts}`;
    const answerKey = `conductor:answer:${job.channel}:${job.ts}`;
    if ((await deps.store.getMeta(doneKey)) !== null) return { kind: 'thread', skipped: 'already answered' };
    if (await replay(answerKey, job.channel, job.threadTs)) {
      await deps.store.setMeta(doneKey, '1', ANSWER_TTL_MS / deps.clock.speed);
      return { kind: 'thread', mode: 'replayed', costUsd: 0, proposals: [] };
    }
    const history = await (deps.history?.(job.channel, job.threadTs) ??
      deps.memory.read(job.channel, job.threadTs));
    const result = await runConductorTurn(turnDeps, { question: job.text, history, asker: job.user });
    const message = renderThreadAnswer({
      text: result.text,
      proposals: result.proposals,
      now: deps.clock.now(),
    });
    await post(answerKey, job.channel, job.threadTs, message);
    await deps.memory.append(job.channel, job.threadTs, [
      { role: 'user', text: `<@${job.user}>: ${job.text}` },
      { role: 'assistant', text: result.text },
    ]);
    await deps.store.setMeta(doneKey, '1', ANSWER_TTL_MS / deps.clock.speed);
    deps.logger.info(
      {
        channel: job.channel,
        mode: result.mode,
        fallback: result.fallback,
        iterations: result.iterations,
        costUsd: result.costUsd,
      },
      'conductor answered in thread',
    );
    return summary('thread', result);
  }

  async function escalation(job: Extract<ConductorJob, { kind: 'escalation' }>): Promise<ConductorJobResult> {
    const incident = await deps.store.incidents.get(job.incidentId);
    if (!incident) return { kind: 'escalation', skipped: `incident ${job.incidentId} is unknown` };
    if (!incident.slack) {
      // Transient: the alert is posted by the notify queue; retry once it has a thread.
      throw new ConductorError(`incident ${incident.id} has no Slack alert yet to reply under`);
    }
    const { channel, ts } = incident.slack;
    const doneKey = `conductor:escalated:${incident.id}`;
    const answerKey = `conductor:escalation-answer:${incident.id}`;
    if ((await deps.store.getMeta(doneKey)) !== null)
      return { kind: 'escalation', skipped: 'already summarised' };
    if (await replay(answerKey, channel, ts)) {
      await deps.store.setMeta(doneKey, '1', ANSWER_TTL_MS / deps.clock.speed);
      return { kind: 'escalation', mode: 'replayed', costUsd: 0, proposals: [] };
    }
    const facts = await gatherEscalationFacts(deps.store, incident, deps.fleet.thresholds, deps.clock.now());
    const result = await runConductorTurn(turnDeps, {
      question: escalationQuestion(facts),
      history: [],
      runs: [incident.run],
      incidentId: incident.id,
      rulesAnswer: async (why) => escalationSummaryFromRules(facts, why),
    });
    const title = `:mag: *Root-cause summary* (${result.mode === 'llm' ? 'LLM' : 'rules'})`;
    const message = renderThreadAnswer({
      text: `${title}\n${result.text}`,
      proposals: result.proposals,
      now: deps.clock.now(),
    });
    await post(answerKey, channel, ts, message);
    await deps.store.setMeta(doneKey, '1', ANSWER_TTL_MS / deps.clock.speed);
    return summary('escalation', result);
  }

  // The queue has already validated the job data against ConductorJobSchema.
  return async (job: ConductorJob): Promise<ConductorJobResult> => {
    switch (job.kind) {
      case 'thread':
        return thread(job);
      case 'escalation':
        return escalation(job);
      default:
        // Incident changes are rendered by the notify queue; they never cost tokens.
        return { kind: job.kind, skipped: 'no conductor turn for this job kind' };
    }
  };
}

function summary(kind: 'thread' | 'escalation', result: TurnResult): ConductorJobResult {
  return {
    kind,
    mode: result.mode,
    ...(result.fallback !== undefined && { fallback: result.fallback }),
    costUsd: result.costUsd,
    proposals: result.proposals.map((p) => p.id),
  };
}
