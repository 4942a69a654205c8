import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Demo, startDemo } from '../../src/demo/demo.js';
import { DEFAULT_SCENARIO, type Scenario } from '../../src/sim/scenario.js';
import { APPROVER_USER_ID, type SimMessage, VIEWER_USER_ID } from '../../src/sim/slack/index.js';
import { ACTION_IDS } from '../../src/slack-messages/blocks.js';
import { deleteKeys, newRedis, redisUrl, uniquePrefix } from '../helpers/redis.js';

/**
 * The whole product as a person meets it: the demo stack in this process (simulated cloud and SSH
 * hosts, local Slack, Bolt app, every worker) driven through the local Slack's page in headless
 * Chromium. Bob asks for the status, an outbid pages on-call, the rules post a migration proposal
 * in the alert's thread, Bob's Approve is refused and Alice's starts the migration.
 */

const CHROMIUM = '/usr/bin/chromium';
const CHANNEL = 'CTRAINOPS';
const RUNS = ['gpt2_reference', 'mosaic_dense', 'mosaic_moe'] as const;
const ONCALL_MENTION = '<!subteam^SONCALL>';
const ARTIFACTS = path.resolve('test-artifacts');
const SCREENSHOT = path.join(ARTIFACTS, 'e2e-slack-demo.png');
/** 60x: a sweep every real second, and the 30-minute proposal TTL still leaves 30 real seconds to click. */
const SPEED = 60;
/** Every state a BullMQ job can be in: a migrate job anywhere in the queue counts. */
const JOB_STATES = [
  'active',
  'waiting',
  'waiting-children',
  'prioritized',
  'delayed',
  'completed',
  'failed',
] as const;

/** The default three runs with no scheduled faults: the test injects the one it wants, when it wants. */
const QUIET_SCENARIO: Scenario = { ...DEFAULT_SCENARIO, name: 'e2e-quiet', speed: SPEED, faults: [] };

let demo: Demo | undefined;
let browser: Browser | undefined;
let page: Page | undefined;
let stateDir: string | undefined;
const prefix = uniquePrefix('e2e');
const started = performance.now();
const timings: string[] = [];
let screenshotSaved = false;

/** What the steps learn and later steps use. */
const seen: {
  /** Every message ts in the channel before the outbid. */
  beforeOutbid?: ReadonlySet<string>;
  alertTs?: string;
  proposalTs?: string;
  /** Where the proposal was posted: the alert's ts when it is in the alert's thread. */
  proposalThreadTs?: string | undefined;
  proposalId?: string;
  offerId?: number;
} = {};

function mark(label: string): void {
  timings.push(`${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

function requireDemo(): Demo {
  if (!demo) throw new Error('the demo did not start');
  return demo;
}

function requirePage(): Page {
  if (!page) throw new Error('the browser page did not open');
  return page;
}

function requireSeen<K extends keyof typeof seen>(key: K): NonNullable<(typeof seen)[K]> {
  const value = seen[key];
  if (value === undefined) throw new Error(`an earlier step did not find the ${key}`);
  return value as NonNullable<(typeof seen)[K]>;
}

async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the end-to-end test needs Debian's Chromium (apt-get install chromium); it never downloads a browser`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Switches the page's "You are" selector and waits until the page has redrawn as that person. */
async function actAs(p: Page, user: string): Promise<void> {
  await p.selectOption('#user-select', user);
  await p.locator(`body[data-user="${user}"]`).waitFor({ timeout: 15_000 });
}

function channelMessages(d: Demo): SimMessage[] {
  return d.slack.messages(CHANNEL);
}

function hasButton(m: SimMessage, actionId: string): boolean {
  return JSON.stringify(m.blocks ?? []).includes(`"action_id":"${actionId}"`);
}

async function opsJobs(d: Demo): Promise<Job[]> {
  return d.ctx.queues.queue('ops').getJobs([...JOB_STATES]);
}

async function journalTypes(d: Demo, run: string): Promise<string[]> {
  const records = await d.ctx.store.journal.recent(200, { run });
  return records.map((r) => r.entry.type);
}

async function openThread(p: Page, threadTs: string): Promise<void> {
  await p.locator(`#messages .replies[data-thread="${threadTs}"]`).click({ timeout: 10_000 });
  await p.locator(`#thread-pane[data-thread="${threadTs}"]`).waitFor({ timeout: 15_000 });
}

/** The proposal message on the page: in the thread pane when it is a reply, else in the channel. */
async function showProposal(p: Page): Promise<Locator> {
  const ts = requireSeen('proposalTs');
  const thread = seen.proposalThreadTs;
  if (thread === undefined) return p.locator(`#messages .msg[data-ts="${ts}"]`);
  await openThread(p, thread);
  return p.locator(`#thread-pane .msg[data-ts="${ts}"]`);
}

function approveButtons(message: Locator): Locator {
  return message.locator(`button.block-button[data-action-id="${ACTION_IDS.proposalApprove}"]`);
}

/** A message's rendered text on the page, wherever it is drawn. */
async function textOf(locator: Locator): Promise<string> {
  return ((await locator.first().textContent()) ?? '').replace(/\s+/g, ' ');
}

describe('Slack demo end to end in headless Chromium', () => {
  beforeAll(async () => {
    browser = await launchChromium();
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'tc-e2e-'));
    const config = loadConfig({
      FLEET_FILE: path.resolve('fleet.example.yaml'),
      KEY_PREFIX: prefix,
      STATE_DIR: stateDir,
      REDIS_URL: redisUrl(),
    });
    demo = await startDemo(config, { scenario: QUIET_SCENARIO, speed: SPEED, keyPrefix: prefix });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(demo.slack.pageUrl);
    await page.locator('body[data-version]').waitFor({ timeout: 10_000 });
    mark('demo and browser up');
  }, 60_000);

  afterAll(async () => {
    if (page && !screenshotSaved) {
      // A failed run leaves its last screen for whoever reads the CI log.
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'e2e-slack-demo-failure.png') }).catch(() => {});
    }
    await browser?.close();
    await demo?.stop();
    const redis = newRedis();
    try {
      await deleteKeys(redis, prefix);
    } finally {
      redis.disconnect();
    }
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    mark('stopped');
    console.info(`e2e timings (since file start):\n  ${timings.join('\n  ')}`);
  }, 60_000);

  it('answers /train status typed by the viewer with the three runs, only to them', async () => {
    const d = requireDemo();
    const p = requirePage();
    await actAs(p, VIEWER_USER_ID);
    await p.fill('#composer', '/train status');
    await p.click('#send');

    let answer = p.locator('#messages .msg[data-ephemeral="true"]');
    for (const run of RUNS) answer = answer.filter({ hasText: run });
    await answer.first().waitFor({ timeout: 15_000 });
    const text = await textOf(answer);
    for (const run of RUNS) expect(text).toContain(run);
    expect(text).toContain('Only visible to you');

    // The local Slack holds it as an ephemeral message for bob alone, sent by the app.
    const stored = channelMessages(d).filter(
      (m) =>
        m.ephemeralTo !== undefined && RUNS.every((r) => `${m.text}${JSON.stringify(m.blocks)}`.includes(r)),
    );
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.every((m) => m.ephemeralTo === VIEWER_USER_ID)).toBe(true);
    mark('status answered');
  }, 30_000);

  it('pages on-call when mosaic_moe is outbid', async () => {
    const d = requireDemo();
    const p = requirePage();
    const before = new Set(channelMessages(d).map((m) => m.ts));
    seen.beforeOutbid = before;
    await d.world.inject('mosaic_moe', 'outbid');
    mark('outbid injected');

    const alert = await d.slack.waitFor(
      () =>
        channelMessages(d).find(
          (m) =>
            !before.has(m.ts) &&
            m.threadTs === undefined &&
            m.ephemeralTo === undefined &&
            m.text.includes('mosaic_moe') &&
            m.text.includes(ONCALL_MENTION),
        ),
      20_000,
    );
    seen.alertTs = alert.ts;
    expect(hasButton(alert, ACTION_IDS.incidentAck)).toBe(true);
    // On the page the alert is drawn with the on-call group as a mention.
    const alertOnPage = p.locator(`#messages .msg[data-ts="${alert.ts}"]`);
    await alertOnPage.waitFor({ timeout: 10_000 });
    const alertText = await textOf(alertOnPage);
    expect(alertText).toContain('mosaic_moe');
    expect(alertText).toContain('CRITICAL');
    expect(alertText).toContain('outbid');
    expect(await alertOnPage.locator('.mention', { hasText: '@oncall' }).count()).toBeGreaterThan(0);
    mark('alert paged on-call');
  }, 30_000);

  it('ranks offers and posts a migration proposal with an Approve button per offer', async () => {
    const d = requireDemo();
    const p = requirePage();
    const before = requireSeen('beforeOutbid');
    const proposal = await d.slack.waitFor(
      () =>
        channelMessages(d).find(
          (m) =>
            !before.has(m.ts) &&
            m.ephemeralTo === undefined &&
            m.text.includes('mosaic_moe') &&
            hasButton(m, ACTION_IDS.proposalApprove),
        ),
      20_000,
    );
    seen.proposalTs = proposal.ts;
    seen.proposalThreadTs = proposal.threadTs;
    mark('proposal posted');

    const approve = approveButtons(await showProposal(p));
    await approve.first().waitFor({ timeout: 10_000 });
    const value = await approve.first().getAttribute('data-value');
    const match = /^([A-Za-z0-9_-]{16,}):(\d+)$/.exec(value ?? '');
    if (!match?.[1] || !match[2])
      throw new Error(`Approve button value ${value}: not <proposalId>:<offerId>`);
    seen.proposalId = match[1];
    seen.offerId = Number(match[2]);
    const stored = await d.ctx.store.proposals.get(requireSeen('proposalId'));
    expect(stored?.action).toBe('migrate');
    expect(stored?.run).toBe('mosaic_moe');
  }, 30_000);

  it("posts the proposal in the alert's thread, where the thread pane shows its buttons", async () => {
    const p = requirePage();
    const alertTs = requireSeen('alertTs');
    const proposalTs = requireSeen('proposalTs');
    expect(seen.proposalThreadTs, 'the proposal should be a reply to the alert').toBe(alertTs);
    await openThread(p, alertTs);
    const buttons = approveButtons(p.locator(`#thread-pane .msg[data-ts="${proposalTs}"]`));
    expect(await buttons.count()).toBeGreaterThan(0);
  }, 20_000);

  it("refuses the viewer's Approve: an ephemeral refusal, no migrate job, the proposal still open", async () => {
    const d = requireDemo();
    const p = requirePage();
    const proposalId = requireSeen('proposalId');
    await actAs(p, VIEWER_USER_ID);
    const message = await showProposal(p);
    await approveButtons(message).first().click({ timeout: 10_000 });

    const refusal = p.locator('.msg[data-ephemeral="true"]', { hasText: 'Only approvers can approve' });
    await refusal.first().waitFor({ timeout: 15_000 });
    const stored = channelMessages(d).filter((m) => m.text.includes('Only approvers can approve'));
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.every((m) => m.ephemeralTo === VIEWER_USER_ID)).toBe(true);
    mark('viewer refused');

    // The refusal is sent after the approver check, where an approval would already have been queued.
    const jobs = await opsJobs(d);
    expect(jobs.filter((j) => j.name === 'migrate').map((j) => j.id)).toEqual([]);
    expect(await d.ctx.queues.queue('ops').getJob(`proposal-${proposalId}`)).toBeUndefined();
    expect(await d.ctx.store.proposals.get(proposalId)).not.toBeNull();
    expect(await journalTypes(d, 'mosaic_moe')).not.toContain('APPROVED');
    // The proposal is still undecided on the page, its buttons still there.
    expect(await textOf(message)).not.toContain('Approved by');
    expect(await approveButtons(message).count()).toBeGreaterThan(0);
  }, 30_000);

  it("carries out the approver's Approve: message updated with who approved, migrate job queued, journal APPROVED", async () => {
    const d = requireDemo();
    const p = requirePage();
    const proposalId = requireSeen('proposalId');
    const offerId = requireSeen('offerId');
    await actAs(p, APPROVER_USER_ID);
    const message = await showProposal(p);
    await approveButtons(message)
      .and(p.locator(`[data-value="${proposalId}:${offerId}"]`))
      .click({ timeout: 10_000 });
    mark('approver clicked');

    // Either the message shows the approval or the app tells alice why not (then fail with its words).
    const decided = message.filter({ hasText: 'Approved by' });
    const answered = await d.slack.waitFor(
      () =>
        channelMessages(d).find(
          (m) =>
            (m.ts === requireSeen('proposalTs') && m.text.includes('approved')) ||
            (m.ephemeralTo === APPROVER_USER_ID && /not approved|failed|only approvers/i.test(m.text)),
        ),
      // Generous: the update shares the channel's one-message-a-second budget with the migration's progress.
      30_000,
    );
    expect(answered.ephemeralTo, `the app refused alice's approval: ${answered.text}`).toBeUndefined();
    await decided.waitFor({ timeout: 10_000 });
    mark('approval shown');
    const text = await textOf(decided);
    expect(text).toContain('@alice');
    expect(text).toContain(`offer ${offerId}`);
    // Decided: the buttons are gone from the updated message.
    expect(await message.locator('button.block-button').count()).toBe(0);

    const job = await d.ctx.queues.queue('ops').getJob(`proposal-${proposalId}`);
    expect(job?.name).toBe('migrate');
    expect(job?.data).toMatchObject({
      action: 'migrate',
      run: 'mosaic_moe',
      requestedBy: APPROVER_USER_ID,
      proposalId,
      offerId,
    });
    expect(await d.ctx.store.proposals.get(proposalId)).toBeNull();
    expect(await journalTypes(d, 'mosaic_moe')).toContain('APPROVED');

    mkdirSync(ARTIFACTS, { recursive: true });
    await p.screenshot({ path: SCREENSHOT, fullPage: true });
    screenshotSaved = true;
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
  }, 50_000);
});
