import { afterEach, describe, expect, it } from 'vitest';
import { opsProcessor } from '../../../agents/ops/processor.js';
import { PolicyViolation } from '../../../src/errors.js';
import type { OpsJob } from '../../../src/queues/jobs.js';
import { runFiles } from '../healer/fake-hosts.js';
import {
  createOpsHarness,
  type OpsHarness,
  opsFleet,
  outbid,
  RUN,
  rentRequests,
  runningRun,
} from './harness.js';

const LOW = 'gpt2_reference';

let h: OpsHarness;
afterEach(async () => {
  await h?.close();
});

function job(run: string, action: OpsJob['action'], proposalId?: string): OpsJob {
  return {
    action,
    run,
    reason: 'outbid',
    requestedBy: action === 'offers' ? 'conductor' : 'U0APPROVER',
    ...(proposalId !== undefined && { proposalId }),
  };
}

/** Two runs outbid at once, a budget that covers one replacement: priority decides. */
async function twoOutbidRuns() {
  h = await createOpsHarness(
    opsFleet(
      { policy: { budget: { max_dph: 0.4 } } },
      {
        [RUN]: { priority: 80, backup_source: 'hf://team/moe' },
        [LOW]: { priority: 20, backup_source: 'hf://team/gpt2' },
      },
    ),
  );
  const moe = await runningRun(h, 12_340, RUN);
  const gpt2 = await runningRun(h, 7_000, LOW);
  gpt2.machine.files = runFiles(7_000, 1.5);
  await outbid(h, moe, RUN, 12_340);
  await outbid(h, gpt2, LOW, 7_000);
  h.hosts.backups.set('hf://team/moe', 10_000);
  h.hosts.backups.set('hf://team/gpt2', 5_000);
}

describe('ops budget and priorities', () => {
  it("the lower-priority run's proposal says what it waits for; its migration is refused, the other's goes", async () => {
    await twoOutbidRuns();
    const low = await opsProcessor(h.ops)(job(LOW, 'offers'));
    if (low.action !== 'offers' || !low.proposal) throw new Error('no proposal');
    expect(low.waitingFor).toMatch(/waits for mosaic_moe \(priority 80\)/);
    expect(low.proposal.params['waitingFor']).toBe(low.waitingFor);
    const high = await opsProcessor(h.ops)(job(RUN, 'offers'));
    expect(high.action === 'offers' && high.waitingFor).toBeNull();

    const rentsBefore = rentRequests(h);
    await h.store.proposals.consume(low.proposal.id);
    const refused = await opsProcessor(h.ops)(job(LOW, 'migrate', low.proposal.id)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PolicyViolation);
    expect((refused as PolicyViolation).rule).toBe('budget');
    expect((refused as Error).message).toMatch(/waits for mosaic_moe/);
    expect(rentRequests(h)).toBe(rentsBefore);
    const refusal = (await h.journal()).filter((e) => e.type === 'POLICY_REFUSED');
    expect(refusal).toHaveLength(1);
    expect(refusal[0]?.model).toBe(LOW);

    if (high.action !== 'offers' || !high.proposal) throw new Error('no proposal');
    await h.store.proposals.consume(high.proposal.id);
    const moved = await opsProcessor(h.ops)(job(RUN, 'migrate', high.proposal.id));
    expect(moved.action).toBe('migrate');
    expect(rentRequests(h)).toBe(rentsBefore + 1);
  });
});
