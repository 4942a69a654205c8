import { describe, expect, it } from 'vitest';
import { createConductorProcessor } from '../../../agents/conductor/index.js';
import { createPolicyProposer } from '../../../agents/conductor/propose.js';
import { silentLogger } from '../../../src/logger.js';
import { fakeReply } from '../../../src/sim/llm/index.js';
import { MODEL, messageText, OFFER_3090, runState, useConductorHarness } from './harness.js';

/** Proposals on the conductor's behalf go through the policy, are journaled, and only wait for a click. */

const harness = useConductorHarness();

describe('policy proposer', () => {
  it('creates an expiring proposal for an allowed offer and journals the decision', async () => {
    const h = harness();
    const propose = createPolicyProposer({
      store: h.store,
      fleet: h.fleet,
      clock: h.clock,
      offers: async () => h.offers,
    });
    const result = await propose({
      run: 'mosaic_moe',
      action: 'migrate',
      offerId: 101,
      reason: 'outbid',
      createdBy: 'conductor',
    });
    expect(result).toMatchObject({ needsApproval: true, proposalId: expect.any(String) });
    expect(result.proposal).toMatchObject({
      run: 'mosaic_moe',
      action: 'migrate',
      params: { offerId: 101, gpuName: 'RTX 3090', numGpus: 4, dphTotal: 1.1 },
      expiresAt: h.clock.now() + 30 * 60_000,
    });
    const decisions = await h.store.journal.recent(5, { type: 'DECISION' });
    expect(decisions[0]?.entry).toMatchObject({
      model: 'mosaic_moe',
      details: { proposalId: result.proposalId, needsApproval: true },
    });
  });

  it('refuses what a person would be refused, with the reason, and journals it', async () => {
    const h = harness();
    h.offers = [
      OFFER_3090,
      { ...OFFER_3090, id: 303, reliability: 0.5 },
      { ...OFFER_3090, id: 404, dph_total: 50 },
    ];
    const propose = createPolicyProposer({
      store: h.store,
      fleet: h.fleet,
      clock: h.clock,
      offers: async () => h.offers,
    });
    const base = { run: 'mosaic_moe', reason: 'r', createdBy: 'conductor' } as const;
    const cases = [
      [{ ...base, action: 'migrate' as const }, 'needs an offer id'],
      [{ ...base, action: 'migrate' as const, offerId: 999 }, 'offer 999 is not among the current offers'],
      [{ ...base, action: 'migrate' as const, offerId: 303 }, 'below the policy minimum 0.95'],
      [{ ...base, action: 'migrate' as const, offerId: 404 }, 'above the budget of $12.00/h'],
      [{ ...base, action: 'restart' as const, offerId: 101 }, 'only applies to migrate'],
      [{ ...base, run: 'nope', action: 'stop' as const }, 'nope is not a run of this fleet'],
    ] as const;
    for (const [request, reason] of cases) {
      const result = await propose(request);
      expect(result.proposalId).toBeNull();
      expect(result.refused).toContain(reason);
    }
    expect(await h.store.journal.recent(10, { type: 'POLICY_REFUSED' })).toHaveLength(cases.length);
    expect(await h.store.journal.recent(10, { type: 'DECISION' })).toHaveLength(0);
  });

  it('counts what the fleet already pays against the budget', async () => {
    const h = harness();
    await h.store.putRunState(runState('mosaic_dense', { costPerHr: 11.5, instanceId: 5151 }));
    const propose = createPolicyProposer({
      store: h.store,
      fleet: h.fleet,
      clock: h.clock,
      offers: async () => h.offers,
    });
    const result = await propose({
      run: 'mosaic_moe',
      action: 'migrate',
      offerId: 101,
      reason: 'r',
      createdBy: 'conductor',
    });
    expect(result.refused).toContain('the fleet would cost $13.80/h');
  });
});

describe('createConductorProcessor', () => {
  it('wires the SDK client from the config (ANTHROPIC_BASE_URL, CONDUCTOR_MODEL) and answers in the thread', async () => {
    const h = harness();
    const process = createConductorProcessor({
      config: {
        anthropic: { apiKey: h.apiKey, baseUrl: h.fake.url, model: MODEL, dailyBudgetUsd: 5 },
        fleet: h.fleet,
        keyPrefix: h.prefix,
      },
      redis: h.redis,
      store: h.store,
      clock: h.clock,
      logger: silentLogger,
      metrics: h.metrics,
      logs: async () => [],
      offers: async () => [],
      postToThread: async (channel, threadTs, message) => {
        h.posts.push({ channel, threadTs, message });
      },
      llmOptions: { maxRetries: 0 },
    });
    h.fake.enqueue(fakeReply.text('Wired.'));
    await process({
      kind: 'thread',
      channel: 'C0FLEET',
      threadTs: '1.1',
      ts: '1.2',
      user: 'U0BOB',
      text: 'hello',
    });
    expect(h.fake.requests[0]?.model).toBe(MODEL);
    expect(messageText(h.posts[0]!.message)).toContain('Wired.');
    expect((await h.ledger.day()).calls).toBe(1);

    const off = createConductorProcessor({
      config: { anthropic: { model: MODEL, dailyBudgetUsd: 5 }, fleet: h.fleet, keyPrefix: h.prefix },
      redis: h.redis,
      store: h.store,
      clock: h.clock,
      logger: silentLogger,
      logs: async () => [],
      offers: async () => [],
      postToThread: async (channel, threadTs, message) => {
        h.posts.push({ channel, threadTs, message });
      },
    });
    await off({
      kind: 'thread',
      channel: 'C0FLEET',
      threadTs: '1.1',
      ts: '1.3',
      user: 'U0BOB',
      text: 'mosaic_moe?',
    });
    expect(h.fake.requests).toHaveLength(1);
    expect(messageText(h.posts[1]!.message)).toContain('ANTHROPIC_API_KEY is not set');
  });
});
