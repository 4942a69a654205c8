import { request } from 'node:http';
import { App, LogLevel } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/http/metrics.js';
import { silentLogger } from '../../../src/logger.js';
import { boltLogger } from '../../../src/service/slack-app.js';
import { slackSignature } from '../../../src/sim/slack/signing.js';
import { AckFirstReceiver } from '../../../src/slack-app/ack-first-receiver.js';

/**
 * The HTTP receiver that acks before the app runs, over real HTTP with real signatures: Slack
 * gets its 200 while the listener is still blocked, an acked request is processed even when the
 * app stops right after, and whatever must answer in its ack keeps Bolt's order.
 */

const SECRET = 'ack-first-signing-secret';

interface Answer {
  status: number;
  body: string;
}

function post(
  port: number,
  body: string,
  opts: { secret?: string; timestampS?: number; path?: string } = {},
) {
  const timestampS = opts.timestampS ?? Math.floor(Date.now() / 1000);
  const contentType = body.startsWith('{') ? 'application/json' : 'application/x-www-form-urlencoded';
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/slack/events',
        method: 'POST',
        headers: {
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
          'x-slack-request-timestamp': String(timestampS),
          'x-slack-signature': slackSignature(opts.secret ?? SECRET, timestampS, body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function get(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    })
      .on('error', reject)
      .end();
  });
}

const command = (text: string) =>
  new URLSearchParams({
    command: '/train',
    text,
    user_id: 'U1',
    channel_id: 'C1',
    team_id: 'T1',
    response_url: 'http://127.0.0.1:9/response',
    trigger_id: 't1',
  }).toString();

const interactivity = (payload: unknown) =>
  new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

let running: App | undefined;

async function startApp(
  setup: (app: App) => void,
  metrics = createMetrics(),
  firstSeen?: (signature: string) => Promise<boolean>,
) {
  const logger = boltLogger(silentLogger);
  const receiver = new AckFirstReceiver({
    signingSecret: SECRET,
    routes: [
      {
        path: '/healthz',
        method: 'GET',
        handler: (_req, res) => {
          res.end('ok');
        },
      },
    ],
    logger,
    metrics,
    host: '127.0.0.1',
    ...(firstSeen && { firstSeen }),
  });
  const app = new App({
    receiver,
    authorize: async () => ({ botToken: 'xoxb-test', botId: 'B1', botUserId: 'UBOT' }),
    logger,
    logLevel: LogLevel.ERROR,
  });
  const errors: Error[] = [];
  app.error(async (err) => {
    errors.push(err);
  });
  setup(app);
  await app.start(0);
  const port = receiver.port;
  if (port === undefined) throw new Error('receiver did not start');
  running = app;
  return { app, port, metrics, errors };
}

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('AckFirstReceiver', () => {
  it('answers a slash command 200 while the app is still blocked before its listener, then runs it', async () => {
    const blocked = gate();
    const ran: string[] = [];
    const { port, metrics } = await startApp((app) => {
      // A slow middleware (a Redis lookup, say): Bolt's own receiver would answer only after it.
      app.use(async ({ next }) => {
        await blocked.opened;
        await next();
      });
      app.command('/train', async ({ ack, command: cmd }) => {
        await ack();
        ran.push(cmd.text);
      });
    });
    const answer = await post(port, command('status'));
    expect(answer).toEqual({ status: 200, body: '' });
    expect(ran).toEqual([]);
    blocked.open();
    await expect.poll(() => ran).toEqual(['status']);
    const histogram = await metrics.ackLatency.get();
    const count = histogram.values.find((v) => v.metricName === 'tc_slack_ack_seconds_count');
    expect(count).toMatchObject({ labels: { kind: 'command' }, value: 1 });
  });

  it('acks a burst and processes every request of it exactly once', async () => {
    const seen: string[] = [];
    const { port } = await startApp((app) => {
      app.command('/train', async ({ ack, command: cmd }) => {
        await ack();
        seen.push(cmd.text);
      });
    });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => post(port, command(`status r${i}`))),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await expect.poll(() => seen.length).toBe(50);
    expect(new Set(seen).size).toBe(50);
  });

  it('finishes processing requests it already acked when the app stops', async () => {
    const seen: string[] = [];
    const { app, port } = await startApp((a) => {
      a.command('/train', async ({ ack, command: cmd }) => {
        await ack();
        await new Promise((r) => setTimeout(r, 50));
        seen.push(cmd.text);
      });
    });
    const answers = await Promise.all([post(port, command('one')), post(port, command('two'))]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    await app.stop();
    running = undefined;
    expect(seen.sort()).toEqual(['one', 'two']);
  });

  it('acks a button click and an Events API callback before processing', async () => {
    const blocked = gate();
    const ran: string[] = [];
    const { port } = await startApp((app) => {
      app.use(async ({ next }) => {
        await blocked.opened;
        await next();
      });
      app.action('approve', async ({ ack }) => {
        await ack();
        ran.push('action');
      });
      app.event('app_mention', async () => {
        ran.push('event');
      });
    });
    const click = await post(
      port,
      interactivity({
        type: 'block_actions',
        user: { id: 'U1' },
        team: { id: 'T1' },
        channel: { id: 'C1' },
        actions: [{ action_id: 'approve', block_id: 'b', type: 'button', value: 'x', action_ts: '1.2' }],
        response_url: 'http://127.0.0.1:9/r',
        trigger_id: 't',
      }),
    );
    const event = await post(
      port,
      JSON.stringify({
        type: 'event_callback',
        team_id: 'T1',
        api_app_id: 'A1',
        event_id: 'Ev1',
        event_time: 1,
        event: { type: 'app_mention', user: 'U1', text: '<@UBOT> hi', ts: '1.1', channel: 'C1' },
      }),
    );
    expect([click.status, event.status]).toEqual([200, 200]);
    expect(ran).toEqual([]);
    blocked.open();
    await expect.poll(() => ran.sort()).toEqual(['action', 'event']);
  });

  it("keeps Bolt's order where the ack carries the answer (a view submission's errors)", async () => {
    const { port } = await startApp((app) => {
      app.view('settings', async ({ ack }) => {
        await new Promise((r) => setTimeout(r, 20));
        await ack({ response_action: 'errors', errors: { budget: 'must be a number' } });
      });
    });
    const answer = await post(
      port,
      interactivity({
        type: 'view_submission',
        user: { id: 'U1' },
        team: { id: 'T1' },
        view: { id: 'V1', callback_id: 'settings', state: { values: {} } },
      }),
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      response_action: 'errors',
      errors: { budget: 'must be a number' },
    });
  });

  it('refuses forged, stale and malformed requests before anything runs', async () => {
    const ran: string[] = [];
    const { port } = await startApp((app) => {
      app.command('/train', async ({ ack }) => {
        await ack();
        ran.push('ran');
      });
    });
    expect((await post(port, command('status'), { secret: 'wrong' })).status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 10 * 60;
    expect((await post(port, command('status'), { timestampS: stale })).status).toBe(401);
    expect((await post(port, '{"type": "event_callback", ')).status).toBe(400);
    await new Promise((r) => setTimeout(r, 50));
    expect(ran).toEqual([]);
  });

  it('answers url_verification and ssl_check as Slack expects', async () => {
    const { port } = await startApp(() => {});
    const challenge = await post(port, JSON.stringify({ type: 'url_verification', challenge: 'abc123' }));
    expect(challenge.status).toBe(200);
    expect(JSON.parse(challenge.body)).toEqual({ challenge: 'abc123' });
    expect((await post(port, new URLSearchParams({ ssl_check: '1', token: 'x' }).toString())).status).toBe(
      200,
    );
  });

  it('serves the operator routes beside /slack/events and 404 elsewhere', async () => {
    const { port } = await startApp(() => {});
    expect(await get(port, '/healthz')).toEqual({ status: 200, body: 'ok' });
    expect((await get(port, '/nope')).status).toBe(404);
    expect((await get(port, '/slack/events')).status).toBe(404);
  });

  it('answers the exact same signed request again but processes it once (a replay)', async () => {
    const seen = new Set<string>();
    const firstSeen = async (signature: string) => {
      const first = !seen.has(signature);
      seen.add(signature);
      return first;
    };
    const ran: string[] = [];
    const { port } = await startApp(
      (app) => {
        app.command('/train', async ({ ack, command: cmd }) => {
          await ack();
          ran.push(cmd.text);
        });
        app.view('settings', async ({ ack }) => {
          await ack();
          ran.push('view');
        });
      },
      createMetrics(),
      firstSeen,
    );
    const timestampS = Math.floor(Date.now() / 1000);
    const body = command('restart mosaic_moe');
    const answers = await Promise.all([1, 2, 3].map(() => post(port, body, { timestampS })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    // The same command sent again by Slack as a retry is newly signed: it runs.
    expect((await post(port, body, { timestampS: timestampS + 1 })).status).toBe(200);
    const view = interactivity({
      type: 'view_submission',
      user: { id: 'U1' },
      team: { id: 'T1' },
      view: { id: 'V1', callback_id: 'settings', state: { values: {} } },
    });
    expect((await post(port, view, { timestampS })).status).toBe(200);
    expect((await post(port, view, { timestampS })).status).toBe(200);
    await expect.poll(() => ran.length).toBe(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(ran.sort()).toEqual(['restart mosaic_moe', 'restart mosaic_moe', 'view']);
  });

  it('survives a listener that throws after the ack', async () => {
    const { port, errors } = await startApp((app) => {
      app.command('/train', async ({ ack }) => {
        await ack();
        throw new Error('boom after ack');
      });
    });
    expect((await post(port, command('status'))).status).toBe(200);
    await expect.poll(() => errors.map((e) => e.message)).toEqual(['boom after ack']);
    expect((await post(port, command('status'))).status).toBe(200);
  });
});
