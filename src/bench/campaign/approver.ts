import type { Redis } from 'ioredis';
import type { Clock } from '../../clock.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Queues } from '../../queues/queues.js';
import { approveProposal } from '../../slack-app/approval.js';
import type { Store } from '../../state/store.js';
import type { Proposal } from '../../state/types.js';

/**
 * The on-call human of the campaign: every proposal is approved, and every page acknowledged,
 * `delayMs` of clock time after it appeared, through the same functions the Approve and Ack
 * buttons call. The store is polled (in real time) rather than Slack, so the notify queue's
 * pacing of Slack posts does not add to the human's delay.
 */

export interface ApprovalRecord {
  proposalId: string;
  run: string;
  action: string;
  seenAt: number;
  decidedAt: number;
  ok: boolean;
  reason?: string;
}

export interface Approver {
  readonly approvals: readonly ApprovalRecord[];
  readonly acks: number;
  stop(): Promise<void>;
}

export interface ApproverOptions {
  redis: Redis;
  prefix: string;
  store: Store;
  queues: Queues;
  clock: Clock;
  logger: Logger;
  /** Clock ms between a proposal (or page) appearing and the human acting on it. */
  delayMs: number;
  /** Slack user id of the human (must be one of SLACK_APPROVERS). */
  user: string;
  /** Real ms between looks at the store. */
  pollMs?: number;
}

const PROPOSAL_ID = /:proposal:([A-Za-z0-9_-]+)$/;

/** The offer the approver clicks: the first (best-ranked) one the proposal presents. */
export function firstPresentedOffer(proposal: Proposal): number | null {
  const { offerId, offerIds, offers } = proposal.params;
  if (typeof offerId === 'number') return offerId;
  if (Array.isArray(offerIds) && typeof offerIds[0] === 'number') return offerIds[0];
  if (Array.isArray(offers)) {
    const first = offers[0] as { offer?: { id?: unknown } } | undefined;
    if (typeof first?.offer?.id === 'number') return first.offer.id;
  }
  return null;
}

async function proposalIds(redis: Redis, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:proposal:*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const id = PROPOSAL_ID.exec(key)?.[1];
      if (id) ids.push(id);
    }
  } while (cursor !== '0');
  return ids;
}

export function startApprover(options: ApproverOptions): Approver {
  const { redis, prefix, store, queues, clock, logger, delayMs, user } = options;
  const pollMs = options.pollMs ?? 25;
  const seen = new Map<string, number>();
  const decided = new Set<string>();
  const approvals: ApprovalRecord[] = [];
  let acks = 0;
  let stopped = false;

  async function approve(id: string, seenAt: number): Promise<void> {
    decided.add(id);
    const proposal = await store.proposals.get(id);
    if (!proposal) return;
    const offerId = firstPresentedOffer(proposal);
    let outcome = await approveProposal({ store, queues }, { proposalId: id, offerId, user });
    // A button value the proposal did not record as presented is refused: take the default offer.
    if (!outcome.ok && offerId !== null && outcome.reason.includes('not one this proposal presented')) {
      outcome = await approveProposal({ store, queues }, { proposalId: id, offerId: null, user });
    }
    approvals.push({
      proposalId: id,
      run: proposal.run,
      action: proposal.action,
      seenAt,
      decidedAt: clock.now(),
      ok: outcome.ok,
      ...(!outcome.ok && { reason: outcome.reason }),
    });
  }

  async function ackPages(now: number): Promise<void> {
    for (const incident of await store.incidents.listOpen()) {
      if (incident.ackedBy || incident.lastPagedAt === undefined) continue;
      if (now < incident.lastPagedAt + delayMs) continue;
      const result = await store.incidents.ack(incident.id, user, now);
      if (!result?.acked) continue;
      acks += 1;
      await queues.enqueue(
        'notify',
        'incident',
        { kind: 'incident', incidentId: incident.id, change: 'acked' },
        { jobId: `incident-${incident.id}-acked` },
      );
    }
  }

  async function look(): Promise<void> {
    const now = clock.now();
    for (const id of await proposalIds(redis, prefix)) {
      if (!seen.has(id)) seen.set(id, now);
      const seenAt = seen.get(id)!;
      if (!decided.has(id) && now >= seenAt + delayMs) await approve(id, seenAt);
    }
    await ackPages(now);
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        await look();
      } catch (err) {
        // Redis restarting, a worker gone: the human looks again in a moment.
        logger.debug({ err: errorMessage(err) }, 'approver: look failed');
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();

  return {
    approvals,
    get acks() {
      return acks;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
