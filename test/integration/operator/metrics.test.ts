import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Demo } from '../../../src/demo/demo.js';
import { silentLogger } from '../../../src/logger.js';
import type { FakeAnthropic } from '../../../src/sim/llm/index.js';
import { DEFAULT_SCENARIO } from '../../../src/sim/scenario.js';
import { VIEWER_USER_ID } from '../../../src/sim/slack/index.js';
import { type DemoStack, startDemoStack } from '../../helpers/demo-stack.js';
import { uniquePrefix } from '../../helpers/redis.js';

/**
 * /metrics after real activity: the demo stack sweeps, takes a slash command, sees a run crash
 * and restarts it, and answers a question through the (fake) LLM. Each metric the service
 * documents must then be served with a value that shows the activity.
 */

const CHANNEL = 'CTRAINOPS';
const KEY = 'sk-ant-metrics-test-key-0001';
const prefix = uniquePrefix('metrics');
let demo: Demo | undefined;
let fake: FakeAnthropic | undefined;
let stack: DemoStack | undefined;

function requireDemo(): Demo {
  if (!demo) throw new Error('the demo did not start');
  return demo;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition, parsed into samples (comments skipped). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match?.[1] || match[3] === undefined) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (k !== undefined && v !== undefined) labels[k] = v;
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

async function scrape(d: Demo): Promise<{ text: string; samples: Sample[]; contentType: string | null }> {
  const res = await fetch(`http://127.0.0.1:${d.appPort}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, samples: parseMetrics(text), contentType: res.headers.get('content-type') };
}

beforeAll(async () => {
  stack = await startDemoStack({
    prefix,
    env: { ANTHROPIC_API_KEY: KEY },
    scenario: { ...DEFAULT_SCENARIO, name: 'metrics', speed: 240, faults: [] },
    logger: silentLogger,
  });
  demo = stack.demo;
  fake = stack.fake;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

describe('/metrics after activity', () => {
  it('drives the stack: a command, a crash and its restart, a question to the conductor', async () => {
    const d = requireDemo();
    const status = await d.slack.sendCommand({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: '/train status',
    });
    expect(status.status).toBe(200);
    await d.world.inject('gpt2_reference', 'crash_oom');
    await d.slack.postUserMessage({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: `<@${d.slack.botUserId}> how is the fleet?`,
    });
    await expect
      .poll(
        async () =>
          (await d.ctx.store.journal.recent(50, { run: 'gpt2_reference' })).map((r) => r.entry.type),
        {
          timeout: 40_000,
          interval: 500,
        },
      )
      .toContain('AUTO_RESTART');
    await expect.poll(() => fake?.requests.length ?? 0, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('serves every documented metric, each showing that activity', async () => {
    const d = requireDemo();
    // Metrics are updated after the work they count: poll until the last of them lands.
    await expect
      .poll(
        async () =>
          total((await scrape(d)).samples, 'tc_jobs_total', { queue: 'healer', outcome: 'completed' }),
        {
          timeout: 10_000,
        },
      )
      .toBeGreaterThan(0);
    const { samples, contentType, text } = await scrape(d);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);

    expect(total(samples, 'tc_sweep_duration_seconds_count')).toBeGreaterThan(0);
    expect(total(samples, 'tc_sweep_duration_seconds_sum')).toBeGreaterThan(0);
    expect(total(samples, 'tc_incidents_opened_total', { kind: 'oom' })).toBeGreaterThanOrEqual(1);
    for (const queue of ['monitor', 'healer', 'conductor', 'notify']) {
      expect(total(samples, 'tc_jobs_total', { queue, outcome: 'completed' }), queue).toBeGreaterThan(0);
    }
    expect(total(samples, 'tc_slack_ack_seconds_count', { kind: 'command' })).toBeGreaterThan(0);
    // Prompt tokens land in input, cache_write or cache_read depending on the prompt cache.
    expect(total(samples, 'tc_llm_tokens_total')).toBeGreaterThan(
      total(samples, 'tc_llm_tokens_total', { type: 'output' }),
    );
    expect(total(samples, 'tc_llm_tokens_total', { type: 'output' })).toBeGreaterThan(0);
    expect(total(samples, 'tc_llm_dollars_total')).toBeGreaterThan(0);
    // Exported here; its value is checked by the monitor sweep tests.
    expect(text).toMatch(/^# TYPE tc_fleet_dollars_per_hour gauge$/m);
    expect(samples.some((s) => s.name === 'tc_fleet_dollars_per_hour')).toBe(true);
  });
});
