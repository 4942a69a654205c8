import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { errorMessage } from '../../errors.js';
import { type Identity, slashCommandForm, triggerId } from '../../sim/slack/payloads.js';
import { signedHeaders } from '../../sim/slack/signing.js';

/**
 * Slack's side of the ack benchmark, in a process of its own as Slack's servers are: N signed
 * slash commands sent at once, each on its own connection, each timed from the first byte sent to
 * the app's complete answer.
 *
 * `node --import tsx src/bench/load/slash-sender-main.ts --url U --secret S --count N --text T
 *  --channel C --user U --response-base R [--bursts B] [--pause-ms P]` sends B bursts of N, P ms
 *  apart, prints one JSON line (`SenderReport`) and exits.
 */

export interface BurstResult {
  /** One per request, in sending order: milliseconds to the full answer, or -1 without one. */
  latencyMs: number[];
  /** One per request: the HTTP status, 0 without an answer. */
  status: number[];
}

export interface SenderReport {
  done: true;
  bursts: BurstResult[];
}

const ACK_DEADLINE_MS = 3000;

/** The team and app of the local Slack (the app under test checks neither). */
const LOCAL_SLACK_IDENTITY: Identity = {
  team: { id: 'TLOCAL', domain: 'local-slack', name: 'Local Slack' },
  app: { appId: 'ACONDUCTOR', botId: 'BCONDUCTOR', botUserId: 'UCONDUCTOR', botName: 'conductor' },
};

/**
 * One request on its own connection, written as raw HTTP/1.1 bytes: Node's HTTP client costs the
 * sender about half a millisecond per request, which at 200 at once would be timed as the app's.
 * The answer is complete when the app closes the connection (`connection: close`).
 */
function send(
  url: URL,
  headers: Record<string, string>,
  body: string,
): Promise<{ ms: number; status: number }> {
  const head = [
    `POST ${url.pathname} HTTP/1.1`,
    `host: ${url.host}`,
    'content-type: application/x-www-form-urlencoded',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join('\r\n');
  const bytes = Buffer.from(`${head}\r\n\r\n${body}`);
  return new Promise((resolve) => {
    const started = performance.now();
    let answer = '';
    const socket = connect({ host: url.hostname, port: Number(url.port) }, () => socket.end(bytes));
    socket.setEncoding('latin1');
    socket.setTimeout(ACK_DEADLINE_MS, () => socket.destroy());
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);
      resolve({ ms: status === 0 ? -1 : performance.now() - started, status });
    });
  });
}

async function burst(target: URL, secret: string, bodies: readonly string[]): Promise<BurstResult> {
  // Signed just before the burst, as Slack signs each request as it sends it.
  const timestampS = Math.floor(Date.now() / 1000);
  const signed = bodies.map((body) => ({ body, headers: signedHeaders(secret, body, timestampS) }));
  const answers = await Promise.all(signed.map(({ body, headers }) => send(target, headers, body)));
  return { latencyMs: answers.map((a) => a.ms), status: answers.map((a) => a.status) };
}

const USAGE =
  'usage: slash-sender-main --url U --secret S --count N --text T --channel C --user U --response-base R [--bursts B] [--pause-ms P]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      secret: { type: 'string' },
      count: { type: 'string' },
      text: { type: 'string' },
      channel: { type: 'string' },
      user: { type: 'string' },
      'response-base': { type: 'string' },
      bursts: { type: 'string', default: '1' },
      'pause-ms': { type: 'string', default: '500' },
    },
    strict: true,
  });
  const count = Number(values.count);
  const bursts = Number(values.bursts);
  const pauseMs = Number(values['pause-ms']);
  const { url, secret, text, channel, user } = values;
  const responseBase = values['response-base'];
  if (!url || !secret || !text || !channel || !user || !responseBase) throw new Error(USAGE);
  if (![count, bursts].every((v) => Number.isInteger(v) && v >= 1) || !(pauseMs >= 0)) throw new Error(USAGE);
  const target = new URL(url);
  const results: BurstResult[] = [];
  for (let b = 0; b < bursts; b++) {
    if (b > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    const bodies = Array.from({ length: count }, (_, i) =>
      slashCommandForm({
        id: LOCAL_SLACK_IDENTITY,
        channel: { id: channel, kind: 'channel', name: channel.toLowerCase() },
        user: { id: user, name: user.toLowerCase() },
        command: '/train',
        text,
        responseUrl: `${responseBase}/${b}-${i}`,
        triggerId: triggerId(Date.now()),
      }),
    );
    results.push(await burst(target, secret, bodies));
  }
  const report: SenderReport = { done: true, bursts: results };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`slash sender: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
