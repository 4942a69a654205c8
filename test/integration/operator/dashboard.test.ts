import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthMatches, DASHBOARD_PATH } from '../../../src/http/dashboard.js';
import { operatorRoutes } from '../../../src/http/routes.js';
import { startHttpServer } from '../../../src/http/server.js';
import type { QueueName } from '../../../src/queues/jobs.js';
import { type RunningSlackApp, startSlackApp } from '../../../src/service/slack-app.js';
import { type LocalSlack, startLocalSlack, VIEWER_USER_ID } from '../../../src/sim/slack/index.js';
import { type TestContext, testContext } from '../../helpers/app-context.js';

/**
 * The queue dashboard over real HTTP, on both servers that carry it: the Bolt HTTP receiver (bot
 * role, next to /slack/events) and the bare server of the worker role.
 */

const SECRET = 'dashboard-test-signing-secret';
const TOKEN = 'xoxb-dashboard-test';
const PASSWORD = 'board-pass-7f3a9c';
const QUEUES: readonly QueueName[] = ['monitor', 'healer', 'ops', 'conductor', 'notify'];

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const ADMIN = basic('admin', PASSWORD);

interface Servers {
  ctx: TestContext;
  slack: LocalSlack;
  app: RunningSlackApp;
  worker: { port: number; close(): Promise<void> };
}

async function startServers(env: Record<string, string>, label: string): Promise<Servers> {
  const ctx = testContext({ label, env });
  const slack = await startLocalSlack({ signingSecret: SECRET, botToken: TOKEN });
  const app = await startSlackApp(ctx, {
    botToken: TOKEN,
    signingSecret: SECRET,
    apiUrl: slack.url,
    channelId: 'CTRAINOPS',
    oncall: ['SONCALL'],
    approvers: ['SAPPROVERS'],
    port: 0,
  });
  slack.setAppUrl(`http://127.0.0.1:${app.port}`);
  // The worker role's server, built as roles.ts builds it.
  const worker = await startHttpServer(
    operatorRoutes({
      ...ctx,
      sweepIntervalS: ctx.config.fleet.thresholds.sweep_interval_s,
      dashboardPassword: ctx.config.dashboardPassword,
    }),
    0,
    '127.0.0.1',
  );
  return { ctx, slack, app, worker };
}

async function stopServers(s: Servers | undefined) {
  await s?.worker.close();
  await s?.app.stop();
  await s?.slack.close();
  await s?.ctx.cleanup();
}

function get(port: number, path: string, authorization?: string, method = 'GET') {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: authorization ? { authorization } : {},
  });
}

describe('queue dashboard with DASHBOARD_PASSWORD', () => {
  let s: Servers;
  beforeAll(async () => {
    s = await startServers({ DASHBOARD_PASSWORD: PASSWORD }, 'board');
  });
  afterAll(() => stopServers(s));

  const servers = () =>
    [
      ['bot (Bolt HTTP receiver)', s.app.port],
      ['worker', s.worker.port],
    ] as const;

  it('asks for credentials: 401 with a Basic WWW-Authenticate challenge, on every path below it', async () => {
    for (const [, port] of servers()) {
      for (const path of [DASHBOARD_PATH, `${DASHBOARD_PATH}/`, `${DASHBOARD_PATH}/api/queues`]) {
        const res = await get(port, path);
        expect(res.status, `${port}${path}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"/);
        expect(await res.text()).not.toContain('<html');
      }
    }
  });

  it('refuses a wrong password, a wrong user, and malformed headers with 401', async () => {
    const wrong = [
      basic('admin', 'board-pass-7f3a9'),
      basic('admin', `${PASSWORD}x`),
      basic('root', PASSWORD),
      basic('', PASSWORD),
      basic('admin', ''),
      `Bearer ${PASSWORD}`,
      `Basic ${Buffer.from(`admin${PASSWORD}`).toString('base64')}`,
      'Basic !!!',
      ADMIN.replace('Basic ', 'Basic  x'),
    ];
    for (const [name, port] of servers()) {
      for (const auth of wrong) {
        const res = await get(port, `${DASHBOARD_PATH}/api/queues`, auth);
        expect(res.status, `${name}: ${auth}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
      }
    }
  });

  it('serves the board page, its assets and the API of all five queues to admin', async () => {
    await s.ctx.queues.enqueue('notify', 'post', { kind: 'post', channel: 'CTRAINOPS', text: 'hello' });
    for (const [name, port] of servers()) {
      const page = await get(port, DASHBOARD_PATH, ADMIN);
      expect(page.status, name).toBe(200);
      const html = await page.text();
      expect(html).toContain(`<base href="${DASHBOARD_PATH}/"`);
      expect(html).toContain('<title>Train Conductor</title>');
      // An asset the page loads, resolved against its <base>.
      const asset = /(?:src|href)="(static\/[^"]+\.(?:js|css))"/.exec(html)?.[1];
      expect(asset, 'the page references a script or stylesheet').toBeDefined();
      const assetRes = await get(port, `${DASHBOARD_PATH}/${asset}`, ADMIN);
      expect(assetRes.status).toBe(200);
      expect((await assetRes.arrayBuffer()).byteLength).toBeGreaterThan(100);
      // Assets are behind the password too.
      expect((await get(port, `${DASHBOARD_PATH}/${asset}`)).status).toBe(401);

      const api = await get(port, `${DASHBOARD_PATH}/api/queues`, ADMIN);
      expect(api.status).toBe(200);
      const body = (await api.json()) as {
        queues: { name: string; readOnlyMode: boolean; counts: Record<string, number> }[];
      };
      expect(body.queues.map((q) => q.name).sort()).toEqual([...QUEUES].sort());
      const notify = body.queues.find((q) => q.name === 'notify');
      expect((notify?.counts['waiting'] ?? 0) + (notify?.counts['delayed'] ?? 0)).toBeGreaterThanOrEqual(1);
    }
  });

  it('keeps healer, ops and conductor read-only (no way around the Approve button), monitor and notify operable', async () => {
    const readOnly = Object.fromEntries(
      (
        (await (await get(s.app.port, `${DASHBOARD_PATH}/api/queues`, ADMIN)).json()) as {
          queues: { name: string; readOnlyMode: boolean }[];
        }
      ).queues.map((q) => [q.name, q.readOnlyMode]),
    );
    expect(readOnly).toEqual({ monitor: false, healer: true, ops: true, conductor: true, notify: false });

    for (const queue of ['ops', 'healer', 'conductor'] as const) {
      const pause = await get(s.app.port, `${DASHBOARD_PATH}/api/queues/${queue}/pause`, ADMIN, 'PUT');
      expect(pause.status, queue).toBe(405);
      expect(await s.ctx.queues.queue(queue).isPaused()).toBe(false);
    }
    const add = await fetch(`http://127.0.0.1:${s.app.port}${DASHBOARD_PATH}/api/queues/ops/add`, {
      method: 'POST',
      headers: { authorization: ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'migrate', data: { action: 'destroy', run: 'mosaic_moe' } }),
    });
    expect(add.status).toBe(405);
    expect(await s.ctx.queues.queue('ops').count()).toBe(0);

    const pause = await get(s.worker.port, `${DASHBOARD_PATH}/api/queues/monitor/pause`, ADMIN, 'PUT');
    expect(pause.status).toBe(200);
    expect(await s.ctx.queues.queue('monitor').isPaused()).toBe(true);
    await s.ctx.queues.queue('monitor').resume();
  });

  it('leaves /slack/events, /healthz and /metrics working beside it', async () => {
    const command = await s.slack.sendCommand({
      user: VIEWER_USER_ID,
      channel: 'CTRAINOPS',
      text: '/train help',
    });
    expect(command.status).toBe(200);
    for (const [, port] of servers()) {
      expect((await get(port, '/metrics')).status).toBe(200);
      expect([200, 503]).toContain((await get(port, '/healthz')).status);
      expect((await get(port, '/admin/queuesx')).status).toBe(404);
    }
  });
});

describe('queue dashboard without DASHBOARD_PASSWORD', () => {
  let s: Servers;
  beforeAll(async () => {
    s = await startServers({}, 'noboard');
  });
  afterAll(() => stopServers(s));

  it('is not mounted at all: 404 with or without credentials, no challenge', async () => {
    for (const port of [s.app.port, s.worker.port]) {
      for (const path of [DASHBOARD_PATH, `${DASHBOARD_PATH}/api/queues`]) {
        for (const auth of [undefined, basic('admin', ''), ADMIN]) {
          const res = await get(port, path, auth);
          expect(res.status, `${port}${path}`).toBe(404);
          expect(res.headers.get('www-authenticate')).toBeNull();
        }
      }
      expect((await get(port, '/metrics')).status).toBe(200);
    }
  });
});

describe('basicAuthMatches', () => {
  it('accepts exactly admin:<password>, a password containing colons included', () => {
    expect(basicAuthMatches(basic('admin', 'a:b:c'), 'a:b:c')).toBe(true);
    expect(basicAuthMatches(`basic ${Buffer.from('admin:pw').toString('base64')}`, 'pw')).toBe(true);
    expect(basicAuthMatches(basic('admin', 'a:b'), 'a:b:c')).toBe(false);
    expect(basicAuthMatches(undefined, 'pw')).toBe(false);
    expect(basicAuthMatches('', 'pw')).toBe(false);
    expect(basicAuthMatches('Basic ', 'pw')).toBe(false);
    expect(basicAuthMatches(basic('Admin', 'pw'), 'pw')).toBe(false);
  });
});
