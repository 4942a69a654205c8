import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretValues } from '../../../src/config.js';
import type { Demo } from '../../../src/demo/demo.js';
import { secretEnvFile } from '../../../src/fleet/remote/commands.js';
import { createLogger } from '../../../src/logger.js';
import { HUB_TOKEN_FILE } from '../../../src/sim/hosts/index.js';
import type { FakeAnthropic } from '../../../src/sim/llm/index.js';
import { DEFAULT_SCENARIO, type Scenario } from '../../../src/sim/scenario.js';
import { APPROVER_USER_ID, VIEWER_USER_ID } from '../../../src/sim/slack/index.js';
import { slackSignature } from '../../../src/sim/slack/signing.js';
import { ACTION_IDS } from '../../../src/slack-messages/blocks.js';
import { type DemoStack, startDemoStack } from '../../helpers/demo-stack.js';
import { uniquePrefix } from '../../helpers/redis.js';
import { captureLines, type RecordedCommand, recordHostCommands } from './harness.js';

/**
 * The whole demo stack (simulated cloud and SSH hosts, local Slack, Bolt app, every worker, the
 * fake Anthropic API) with distinctive secret values, driven through a scenario with faults:
 * an outbid -> proposal -> approval -> migration, a stall -> automatic restart, and a question to
 * the conductor. Then EVERYTHING it produced is scanned for the secrets: log lines, Slack
 * messages, every Redis key it wrote (journal stream, jobs, state), the files in STATE_DIR, the
 * LLM requests, and the command lines the SSH hosts received.
 */

const CHANNEL = 'CTRAINOPS';
const SPEED = 120;
const prefix = uniquePrefix('secrets');

const SECRETS = {
  HF_TOKEN: 'hf_SCANLEAKhuggingface0123456789abcdef',
  ANTHROPIC_API_KEY: 'sk-ant-api03-SCANLEAK-anthropic-0123456789',
  VAST_API_KEY: 'vastSCANLEAK0123456789abcdef0123456789abcdef',
  SLACK_BOT_TOKEN: 'xoxb-7788-SCANLEAK-bot-token-0123456789',
  SLACK_SIGNING_SECRET: 'signingSCANLEAK0123456789abcdef',
  DASHBOARD_PASSWORD: 'dashboard-SCANLEAK-password-01234',
};
/**
 * The demo talks to its local Slack with its own fixed credentials (not the configured ones);
 * beforeAll proves these are the ones in use before anything is scanned for them.
 */
const DEMO_SLACK_BOT_TOKEN = 'xoxb-local-demo-token';
const DEMO_SLACK_SIGNING_SECRET = 'local-demo-signing-secret';

const QUIET: Scenario = { ...DEFAULT_SCENARIO, name: 'secrets-scan', speed: SPEED, faults: [] };

let demo: Demo | undefined;
let fake: FakeAnthropic | undefined;
let stack: DemoStack | undefined;
let stateDir: string | undefined;
const { lines: logLines, destination } = captureLines();
/** Every command line any simulated host received over SSH, with the host's id. */
let commands: RecordedCommand[] = [];
/** All the secret values actually in use in this run. */
let secrets: string[] = [];

function requireDemo(): Demo {
  if (!demo) throw new Error('the demo did not start');
  return demo;
}

function findSecrets(text: string): string[] {
  return secrets.filter((s) => text.includes(s));
}

async function dumpRedis(redis: Redis): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let value: unknown;
      if (type === 'string') value = await redis.get(key);
      else if (type === 'hash') value = await redis.hgetall(key);
      else if (type === 'list') value = await redis.lrange(key, 0, -1);
      else if (type === 'set') value = await redis.smembers(key);
      else if (type === 'zset') value = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      else if (type === 'stream') value = await redis.xrange(key, '-', '+');
      else value = `(${type})`;
      out.set(key, JSON.stringify(value));
    }
  } while (cursor !== '0');
  return out;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

async function journalTypes(d: Demo, run: string): Promise<string[]> {
  return (await d.ctx.store.journal.recent(200, { run })).map((r) => r.entry.type);
}

beforeAll(async () => {
  stack = await startDemoStack({
    prefix,
    env: { LOG_LEVEL: 'debug', SLACK_CHANNEL_ID: CHANNEL, ...SECRETS },
    scenario: QUIET,
    // The service's logger (createContext's), writing into memory instead of stderr.
    logger: (config) =>
      createLogger({ level: 'debug', secrets: secretValues(config), name: 'conductor', destination }),
  });
  demo = stack.demo;
  fake = stack.fake;
  stateDir = stack.stateDir;
  const world = demo.world;
  commands = recordHostCommands(world);
  secrets = [
    ...new Set([...Object.values(SECRETS), world.apiKey, DEMO_SLACK_BOT_TOKEN, DEMO_SLACK_SIGNING_SECRET]),
  ];

  // The demo's Slack credentials are the ones above: the local Slack accepts the token, and the
  // app accepts a request signed with the secret (and only with it).
  const auth = (await (
    await fetch(`${demo.slack.url}auth.test`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEMO_SLACK_BOT_TOKEN}` },
    })
  ).json()) as { ok: boolean };
  expect(auth.ok).toBe(true);
  const body = new URLSearchParams({ command: '/train', text: 'help', user_id: VIEWER_USER_ID }).toString();
  const ts = Math.floor(Date.now() / 1000);
  const signed = await fetch(`http://127.0.0.1:${demo.appPort}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': slackSignature(DEMO_SLACK_SIGNING_SECRET, ts, body),
    },
    body,
  });
  expect(signed.status).toBe(200);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

describe('a demo scenario with faults, then a scan of everything it produced', () => {
  it('runs: status, outbid -> approved migration, stall -> restart, a question to the conductor', async () => {
    const d = requireDemo();
    const status = await d.slack.sendCommand({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: '/train status',
    });
    expect(status.status).toBe(200);

    // Outbid: the rules propose a migration; the approver approves one offer.
    const before = new Set(d.slack.messages(CHANNEL).map((m) => m.ts));
    await d.world.inject('mosaic_moe', 'outbid');
    const proposal = await d.slack.waitFor(
      () =>
        d.slack
          .messages(CHANNEL)
          .find(
            (m) =>
              !before.has(m.ts) &&
              m.ephemeralTo === undefined &&
              JSON.stringify(m.blocks ?? []).includes(`"action_id":"${ACTION_IDS.proposalApprove}"`),
          ),
      30_000,
    );
    const value = /"action_id":"proposal_approve"[^}]*?"value":"([^"]+)"/.exec(
      JSON.stringify(proposal.blocks),
    )?.[1];
    expect(value).toBeDefined();
    const click = await d.slack.clickButton({
      user: APPROVER_USER_ID,
      channel: CHANNEL,
      ts: proposal.ts,
      actionId: ACTION_IDS.proposalApprove,
      ...(value !== undefined && { value }),
    });
    expect(click.status).toBe(200);

    // Stall of another run while the migration goes on: the healer restarts it.
    await d.world.inject('gpt2_reference', 'stall');

    // A question in the alert's thread: the conductor reads the fleet and a log through its tools.
    fake?.enqueue(
      { kind: 'tool_use', calls: [{ name: 'log_tail', input: { run: 'mosaic_dense', n: 20 } }] },
      { kind: 'text', text: 'The dense run is training normally.' },
    );
    await d.slack.postUserMessage({
      user: VIEWER_USER_ID,
      channel: CHANNEL,
      text: `<@${d.slack.botUserId}> how is mosaic_dense doing? show me its log`,
    });

    await expect
      .poll(() => journalTypes(d, 'mosaic_moe'), { timeout: 60_000, interval: 500 })
      .toContain('REPLACE');
    await expect
      .poll(() => journalTypes(d, 'gpt2_reference'), { timeout: 60_000, interval: 500 })
      .toContain('AUTO_RESTART');
    await expect.poll(() => fake?.requests.length ?? 0, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    // Let the notify queue drain the last progress messages.
    await new Promise((r) => setTimeout(r, 2_000));
    // The scenario really did touch the secrets' paths: the token went to the hosts, by stdin.
    expect(commands.some((c) => c.stdin?.includes(SECRETS.HF_TOKEN))).toBe(true);
    expect(commands.length).toBeGreaterThan(20);
  }, 120_000);

  it('no secret in any log line (the service logger, as createContext builds it)', () => {
    expect(logLines.length).toBeGreaterThan(10);
    const leaks = logLines.filter((l) => findSecrets(l).length > 0);
    expect(leaks).toEqual([]);
    for (const line of logLines) expect(() => JSON.parse(line)).not.toThrow();
    const scrubbed = logLines.filter((l) => l.includes('[REDACTED]'));
    if (scrubbed.length > 0)
      console.info(`log lines where the logger had to scrub a secret:\n${scrubbed.join('\n')}`);
  });

  it('no secret in any Slack message (text or blocks, ephemeral ones included)', () => {
    const d = requireDemo();
    const messages = d.slack.messages(CHANNEL);
    expect(messages.length).toBeGreaterThan(5);
    const leaks = messages.filter((m) => findSecrets(JSON.stringify(m)).length > 0);
    expect(leaks).toEqual([]);
  });

  it('no secret in Redis: journal stream, jobs, state, proposals, incidents', async () => {
    const d = requireDemo();
    const dump = await dumpRedis(d.ctx.redis);
    expect(dump.size).toBeGreaterThan(10);
    expect([...dump.keys()].some((k) => k.includes('journal'))).toBe(true);
    const leaks = [...dump.entries()].filter(([, v]) => findSecrets(v).length > 0).map(([k]) => k);
    expect(leaks).toEqual([]);
  });

  it('no secret in the exported files (journal.jsonl, status.json, CONTINUATION_CONTEXT.md)', () => {
    const files = filesUnder(stateDir as string);
    expect(files.map((f) => path.basename(f))).toEqual(
      expect.arrayContaining(['journal.jsonl', 'status.json']),
    );
    const leaks = files.filter((f) => findSecrets(readFileSync(f, 'utf8')).length > 0);
    expect(leaks).toEqual([]);
  });

  it('no secret in any LLM request body or header other than the API key header itself', () => {
    const exchanges = fake?.exchanges ?? [];
    expect(exchanges.length).toBeGreaterThanOrEqual(2);
    // The log tail really reached a prompt.
    expect(JSON.stringify(fake?.requests)).toContain('training log of mosaic_dense');
    for (const e of exchanges) {
      const { 'x-api-key': _key, authorization: _auth, ...headers } = e.headers;
      expect(findSecrets(JSON.stringify({ request: e.request, headers }))).toEqual([]);
    }
  });

  it('no secret on any remote command line, trainer command line, instance label or onstart script', () => {
    const d = requireDemo();
    const leaks = commands.filter((c) => findSecrets(c.command).length > 0);
    expect(leaks).toEqual([]);
    for (const host of d.world.hosts.list()) {
      for (const p of host.processes()) expect(findSecrets(`${p.comm} ${p.cmdline}`)).toEqual([]);
    }
    for (const i of d.world.vast.control.instances()) {
      expect(findSecrets(JSON.stringify({ label: i.label, onstart: i.onstart }))).toEqual([]);
    }
  });

  it('the HF token rests on the hosts only in the mode-600 secret files', () => {
    const d = requireDemo();
    const allowed = new Set([secretEnvFile(d.ctx.config.fleet.paths), HUB_TOKEN_FILE]);
    for (const host of d.world.hosts.list()) {
      for (const file of host.files('/')) {
        if (file.text === null || !file.text.includes(SECRETS.HF_TOKEN)) continue;
        expect(allowed.has(file.path), `HF token in ${file.path} on host ${host.id}`).toBe(true);
        expect(file.mode & 0o077, `${file.path} readable by others`).toBe(0);
      }
    }
  });
});
