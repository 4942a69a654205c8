import { describe, expect, it } from 'vitest';
import { measureThreadCaching } from '../../../agents/conductor/cache-bench.js';
import { fakeReply, lastUserText } from '../../../src/sim/llm/index.js';
import { newRedis, uniquePrefix } from '../../helpers/redis.js';
import { messageText, useConductorHarness } from './harness.js';

/** The conductor queue processor: thread answers, escalations, retries, and caching over a thread. */

const harness = useConductorHarness();
const THREAD = {
  kind: 'thread' as const,
  channel: 'C0FLEET',
  threadTs: '1767268800.000100',
  user: 'U0ALICE',
};

describe('conductor processor', () => {
  it('answers a thread question in the thread and remembers the exchange for the next one', async () => {
    const h = harness();
    const process = h.processor();
    h.fake.enqueue(fakeReply.text('mosaic_moe is at step 12340.'));
    const first = await process({ ...THREAD, ts: '1767268801.000200', text: 'How far is mosaic_moe?' });
    expect(first).toMatchObject({ kind: 'thread', mode: 'llm' });
    expect(h.posts).toHaveLength(1);
    expect(h.posts[0]).toMatchObject({ channel: 'C0FLEET', threadTs: THREAD.threadTs });
    expect(messageText(h.posts[0]!.message)).toContain('mosaic_moe is at step 12340.');

    h.fake.enqueue(fakeReply.text('About 20 hours.'));
    await process({ ...THREAD, ts: '1767268802.000300', text: 'and its ETA?' });
    const messages = h.fake.requests[1]?.messages ?? [];
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(JSON.stringify(messages[0])).toContain('How far is mosaic_moe?');
    expect(JSON.stringify(messages[1])).toContain('mosaic_moe is at step 12340.');
    expect(lastUserText(h.fake.requests[1]!)).toContain('and its ETA?');
  });

  it('posts the stored answer on a retry instead of paying for a second turn', async () => {
    const h = harness();
    let failures = 1;
    const process = h.processor({
      postToThread: async (channel, threadTs, message) => {
        if (failures-- > 0) throw new Error('slack is down');
        h.posts.push({ channel, threadTs, message });
      },
    });
    h.fake.enqueue(fakeReply.text('The answer.'));
    const job = { ...THREAD, ts: '1767268801.000200', text: 'status?' };
    await expect(process(job)).rejects.toThrow('slack is down');
    const retried = await process(job);
    expect(retried).toMatchObject({ mode: 'replayed', costUsd: 0 });
    expect(h.fake.requests).toHaveLength(1);
    expect(messageText(h.posts[0]!.message)).toContain('The answer.');
    expect(await process(job)).toMatchObject({ skipped: 'already answered' });
    expect(h.posts).toHaveLength(1);
  });

  it('posts a root-cause summary in the escalated incident thread, from the model or from the rules', async () => {
    const h = harness();
    const at = h.clock.now();
    for (const offset of [3, 2, 1]) {
      await h.store.journal.append({
        type: 'CRASH',
        model: 'mosaic_moe',
        message: 'torch.OutOfMemoryError: CUDA out of memory',
        timestamp: new Date(at - offset * 3_600_000).toISOString(),
      });
      await h.store.journal.append({
        type: 'AUTO_RESTART',
        model: 'mosaic_moe',
        message: 'restarted from latest.pt',
        timestamp: new Date(at - offset * 3_600_000 + 60_000).toISOString(),
      });
    }
    const { incident } = await h.store.incidents.openOrUpdate({
      run: 'mosaic_moe',
      kind: 'oom',
      severity: 'critical',
      message: 'CUDA out of memory',
    });
    await h.store.incidents.setSlackRef(incident.id, { channel: 'C0FLEET', ts: '1767268700.000001' });

    h.fake.enqueue(fakeReply.text('The batch does not fit: lower batch_size for RTX_3090_4x.'));
    const withLlm = await h.processor()({ kind: 'escalation', incidentId: incident.id });
    expect(withLlm).toMatchObject({ kind: 'escalation', mode: 'llm' });
    const question = lastUserText(h.fake.requests[0]!);
    expect(question).toContain(`Incident ${incident.id}`);
    expect(question).toContain('fixes tried: AUTO_RESTART x3');
    expect(h.posts[0]).toMatchObject({ channel: 'C0FLEET', threadTs: '1767268700.000001' });
    expect(messageText(h.posts[0]!.message)).toContain('Root-cause summary');
    expect(messageText(h.posts[0]!.message)).toContain('lower batch_size');
    expect(await h.processor()({ kind: 'escalation', incidentId: incident.id })).toMatchObject({
      skipped: 'already summarised',
    });

    const other = await h.store.incidents.openOrUpdate({
      run: 'mosaic_moe',
      kind: 'nan',
      severity: 'critical',
      message: 'loss nan',
    });
    await h.store.incidents.setSlackRef(other.incident.id, { channel: 'C0FLEET', ts: '1767268700.000002' });
    const rules = await h.processor({ llm: null })({ kind: 'escalation', incidentId: other.incident.id });
    expect(rules).toMatchObject({ mode: 'rules', fallback: 'no_api_key' });
    const text = messageText(h.posts[1]!.message);
    expect(text).toContain('Root-cause summary* (rules)');
    expect(text).toContain('Fixes tried: AUTO_RESTART x3');
    expect(text).toContain('Likely cause: the loss became NaN');
  });

  it('waits for the alert before summarising an escalation, and skips unknown incidents and other jobs', async () => {
    const h = harness();
    const { incident } = await h.store.incidents.openOrUpdate({
      run: 'mosaic_moe',
      kind: 'stalled',
      severity: 'warning',
      message: 'x',
    });
    await expect(h.processor()({ kind: 'escalation', incidentId: incident.id })).rejects.toThrow(
      'no Slack alert yet',
    );
    expect(await h.processor()({ kind: 'escalation', incidentId: 'inc_nope' })).toMatchObject({
      skipped: expect.stringContaining('unknown'),
    });
    expect(
      await h.processor()({ kind: 'incident_changed', incidentId: incident.id, change: 'acked' }),
    ).toMatchObject({
      skipped: expect.any(String),
    });
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe('prompt caching over a ten-turn thread', () => {
  it('serves most of every later turn from the cache, and costs less than without breakpoints', async () => {
    const h = harness();
    const redis = newRedis();
    try {
      const cached = await measureThreadCaching({
        redis,
        fleet: h.fleet,
        prefix: uniquePrefix('cbench'),
        turns: 10,
      });
      const baseline = await measureThreadCaching({
        redis,
        fleet: h.fleet,
        prefix: uniquePrefix('cbench'),
        turns: 10,
        promptCaching: false,
      });
      expect(cached.turns).toHaveLength(10);
      expect(cached.turns[0]?.usage.cacheWrite).toBeGreaterThan(1024);
      for (const turn of cached.turns.slice(1)) expect(turn.cachedFraction).toBeGreaterThan(0.6);
      expect(cached.laterCachedFraction).toBeGreaterThan(0.75);
      expect(baseline.laterCachedFraction).toBe(0);
      expect(cached.totalCostUsd).toBeLessThan(baseline.totalCostUsd * 0.6);
    } finally {
      await redis.quit();
    }
  });
});
