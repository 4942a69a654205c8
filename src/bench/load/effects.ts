import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { LocalSlack, ResponseUrlPost } from '../../sim/slack/index.js';
import type { Store } from '../../state/store.js';
import type { BurstResult, FiredRequest } from './burst.js';
import type { PostedProposal } from './proposals.js';

/**
 * Did every request of the burst get what it asked for, exactly once? A command is answered by
 * one post to its response_url. An Approve click either wins the proposal (it is consumed, one
 * ops job carries its id, the journal says APPROVED once, the message turns into "approved") or,
 * when it is a second click, is told the proposal was already decided.
 */

export interface CommandEvidence {
  acked: boolean;
  /** Posts to its response_url that the local Slack accepted / refused. */
  answers: number;
  failedAnswers: number;
}

export interface ProposalEvidence {
  clicks: number;
  /** Clicks answered "already decided". */
  refusals: number;
  messageApproved: boolean;
  consumed: boolean;
  /** Ops jobs carrying this proposal id, and how many times they were started in all. */
  opsJobs: number;
  opsStarts: number;
  approvedEntries: number;
}

export interface LoadOutcome {
  commands: number;
  commandsAnswered: number;
  clicks: number;
  clicksWithEffect: number;
  notAcked: number;
  /** Requests with no answer or no effect. */
  dropped: number;
  /** Answers, jobs or journal entries beyond the one each request should cause. */
  doneTwice: number;
  /** Answers the local Slack refused (e.g. a message over Block Kit limits). */
  failedAnswers: number;
}

/** Pure: the outcome from the evidence gathered for each command and each proposal. */
export function assessOutcome(
  commands: readonly CommandEvidence[],
  proposals: readonly ProposalEvidence[],
  clicksAcked: number,
): LoadOutcome {
  const commandsAnswered = commands.filter((c) => c.answers >= 1).length;
  let clicks = 0;
  let clicksWithEffect = 0;
  let doneTwice = commands.reduce((n, c) => n + Math.max(0, c.answers - 1), 0);
  for (const p of proposals) {
    clicks += p.clicks;
    const won = p.messageApproved && p.consumed && p.opsJobs >= 1 && p.approvedEntries >= 1;
    clicksWithEffect += (won ? 1 : 0) + Math.min(p.refusals, p.clicks - 1);
    doneTwice +=
      Math.max(0, p.opsJobs - 1) + Math.max(0, p.opsStarts - p.opsJobs) + Math.max(0, p.approvedEntries - 1);
  }
  const acked = commands.filter((c) => c.acked).length + clicksAcked;
  return {
    commands: commands.length,
    commandsAnswered,
    clicks,
    clicksWithEffect,
    notAcked: commands.length + clicks - acked,
    dropped: commands.length - commandsAnswered + clicks - clicksWithEffect,
    doneTwice,
    failedAnswers: commands.reduce((n, c) => n + c.failedAnswers, 0),
  };
}

const TextBodySchema = z.looseObject({ text: z.string() });

function saysAlreadyDecided(posts: readonly ResponseUrlPost[]): boolean {
  return posts.some((p) => {
    const body = TextBodySchema.safeParse(p.body);
    return p.status === 200 && body.success && body.data.text.includes('already been decided');
  });
}

function commandEvidence(f: FiredRequest): CommandEvidence {
  const posts = f.result.responseUrlPosts;
  return {
    acked: f.result.status === 200,
    answers: posts.filter((p) => p.status === 200).length,
    failedAnswers: posts.filter((p) => p.status !== 200).length,
  };
}

const OpsJobDataSchema = z.looseObject({ proposalId: z.string().optional() });

export interface EffectSources {
  slack: LocalSlack;
  store: Store;
  ops: Queue;
}

async function proposalEvidence(
  sources: EffectSources,
  burst: BurstResult,
  proposals: readonly PostedProposal[],
): Promise<ProposalEvidence[]> {
  const jobs = await sources.ops.getJobs(
    ['active', 'waiting', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'],
    0,
    10_000,
  );
  const approved = await sources.store.journal.recent(proposals.length * 3 + 50, { type: 'APPROVED' });
  const messages = new Map(proposals.map((p) => [p.ts, p]));
  const approvedTs = new Set(
    sources.slack
      .messages(proposals[0]?.channel ?? '')
      .filter((m) => messages.has(m.ts) && m.text.startsWith('Proposal approved'))
      .map((m) => m.ts),
  );
  return Promise.all(
    proposals.map(async (p, index): Promise<ProposalEvidence> => {
      const clicks = burst.fired.filter((f) => f.request.kind === 'approve' && f.request.proposal === index);
      const mine = jobs.filter((j) => OpsJobDataSchema.safeParse(j.data).data?.proposalId === p.id);
      return {
        clicks: clicks.length,
        refusals: clicks.filter((c) => saysAlreadyDecided(c.result.responseUrlPosts)).length,
        messageApproved: approvedTs.has(p.ts),
        consumed: (await sources.store.proposals.get(p.id)) === null,
        opsJobs: mine.length,
        opsStarts: mine.reduce((n, j) => n + j.attemptsStarted, 0),
        approvedEntries: approved.filter((r) => r.entry.details?.['proposal'] === p.id).length,
      };
    }),
  );
}

export interface EffectsResult {
  outcome: LoadOutcome;
  /** Wall-clock ms from the end of the burst until everything was seen (or the deadline). */
  settledMs: number;
  /** Whether every ops job had run to its end when we stopped looking. */
  opsFinished: boolean;
}

/** Polls until nothing is missing and every ops job has finished, or until `timeoutMs`. */
export async function waitForEffects(
  sources: EffectSources,
  burst: BurstResult,
  proposals: readonly PostedProposal[],
  timeoutMs: number,
): Promise<EffectsResult> {
  const deadline = Date.now() + timeoutMs;
  const clicksAcked = burst.fired.filter(
    (f) => f.request.kind === 'approve' && f.result.status === 200,
  ).length;
  for (;;) {
    const commands = burst.fired.filter((f) => f.request.kind !== 'approve').map(commandEvidence);
    const evidence = await proposalEvidence(sources, burst, proposals);
    const outcome = assessOutcome(commands, evidence, clicksAcked);
    const unfinished = await sources.ops.getJobCountByTypes('active', 'waiting', 'delayed', 'prioritized');
    const settled = outcome.dropped === 0 && unfinished === 0;
    if (settled || Date.now() >= deadline) {
      return { outcome, settledMs: Date.now() - burst.end, opsFinished: unfinished === 0 };
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
