import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { type Demo, startDemo } from '../../../src/demo/demo.js';
import { createLlmClient } from '../../../src/infra/llm/client.js';
import { silentLogger } from '../../../src/logger.js';
import {
  type FakeAnthropic,
  fakeReply,
  lastToolResults,
  startFakeAnthropic,
} from '../../../src/sim/llm/index.js';
import { DEFAULT_SCENARIO } from '../../../src/sim/scenario.js';
import { DEFAULT_BOT_USER_ID, VIEWER_USER_ID } from '../../../src/sim/slack/index.js';
import { deleteKeys, newRedis, redisUrl, uniquePrefix } from '../../helpers/redis.js';

const CHANNEL = 'CTRAINOPS';
const API_KEY = 'sk-ant-threads-test-0123456789';
const redis = newRedis();
let fake: FakeAnthropic;
let demo: Demo;
let prefix: string;

beforeAll(async () => {
  fake = await startFakeAnthropic({ apiKey: API_KEY });
  prefix = uniquePrefix('thr');
  const config = loadConfig({
    FLEET_FILE: path.resolve('fleet.example.yaml'),
    KEY_PREFIX: prefix,
    STATE_DIR: mkdtempSync(path.join(os.tmpdir(), 'tc-thr-')),
    REDIS_URL: redisUrl(),
  });
  demo = await startDemo(config, {
    scenario: { ...DEFAULT_SCENARIO, faults: [] },
    speed: 60,
    logger: silentLogger,
    keyPrefix: prefix,
    llm: createLlmClient({ ...config.anthropic, apiKey: API_KEY, baseUrl: fake.url }),
  });
  // Let the first sweep land so the tools have data.
  await demo.slack
    .waitFor(async () => (await demo.ctx.store.getMeta('last_sweep')) !== null, 15_000)
    .catch(() => {});
  await new Promise((r) => setTimeout(r, 2500));
}, 60_000);

afterAll(async () => {
  await demo?.stop();
  await fake?.close();
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

const botReplies = (threadTs: string) =>
  demo.slack.messages(CHANNEL).filter((m) => m.threadTs === threadTs && m.user === DEFAULT_BOT_USER_ID);

describe('conductor in Slack threads (real Bolt, local Slack, fake Messages API)', () => {
  it('answers a mention once, in its thread, with data from the tools', async () => {
    fake.enqueue(
      fakeReply.toolUse('run_detail', { run: 'mosaic_moe' }),
      fakeReply.respond((request) => {
        const result = JSON.stringify(lastToolResults(request));
        const step = /step\\*"?:\s*(\d+)/.exec(result)?.[1] ?? 'unknown';
        return fakeReply.text(`mosaic_moe is at step ${step}.`);
      }),
    );
    const posted = await demo.slack.postUserMessage({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: `<@${DEFAULT_BOT_USER_ID}> where is mosaic_moe?`,
    });
    const reply = await demo.slack.waitFor(() => botReplies(posted.ts)[0], 20_000);
    const health = await demo.ctx.store.getHealth('mosaic_moe');
    expect(reply.text).toMatch(/mosaic_moe is at step \d+/);
    expect(health?.step).not.toBeNull();
    // Slack delivered app_mention and message for the one mention: one conductor turn.
    await new Promise((r) => setTimeout(r, 1500));
    expect(botReplies(posted.ts)).toHaveLength(1);
    expect(fake.requests.length).toBe(2);
  });

  it('a proposal the model makes that breaks a rule is refused by the policy', async () => {
    const before = fake.requests.length;
    fake.enqueue(
      fakeReply.toolUse('propose', {
        run: 'mosaic_moe',
        action: 'migrate',
        reason: 'cheaper',
        offerId: 999_999_999,
      }),
      fakeReply.respond((request) =>
        fakeReply.text(`Result: ${JSON.stringify(lastToolResults(request)).slice(0, 300)}`),
      ),
    );
    const posted = await demo.slack.postUserMessage({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: `<@${DEFAULT_BOT_USER_ID}> move mosaic_moe to the cheapest GPU you can find`,
    });
    const reply = await demo.slack.waitFor(() => botReplies(posted.ts)[0], 20_000);
    expect(fake.requests.length).toBe(before + 2);
    expect(reply.text).toMatch(/refused|not (an )?(current|available)|no such offer|not found/i);
    const refusals = await demo.ctx.store.journal.recent(20, { type: 'POLICY_REFUSED' });
    expect(refusals.length).toBeGreaterThan(0);
    expect(await demo.ctx.queues.queue('ops').getJobCountByTypes('waiting', 'active', 'delayed')).toBe(0);
  });

  it('/train ask starts a thread answered by the conductor', async () => {
    fake.enqueue(fakeReply.text('All three runs are training.'));
    await demo.slack.sendCommand({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: '/train ask how is the fleet?',
    });
    const question = await demo.slack.waitFor(
      () => demo.slack.messages(CHANNEL).find((m) => !m.threadTs && /asked: how is the fleet\?/.test(m.text)),
      10_000,
    );
    const reply = await demo.slack.waitFor(() => botReplies(question.ts)[0], 20_000);
    expect(reply.text).toContain('All three runs are training.');
  });
});
