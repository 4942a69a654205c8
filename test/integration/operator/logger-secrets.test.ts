import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig, secretValues } from '../../../src/config.js';
import { VastApiError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';

/**
 * The service's logger (createLogger with secretValues(config), as createContext builds it) must
 * never print a secret: not in messages, object fields at any depth, errors and their stacks,
 * HTTP headers, child bindings or format arguments. Every line must still be JSON.
 */

const SECRETS = {
  SLACK_BOT_TOKEN: 'xoxb-4411-LOGLEAK-bot-token-9f8e7d',
  SLACK_SIGNING_SECRET: 'signing-LOGLEAK-3c2b1a0f9e8d',
  SLACK_APP_TOKEN: 'xapp-1-LOGLEAK-app-token-77aa',
  VAST_API_KEY: 'vastLOGLEAK0123456789abcdef0123456789abcdef',
  ANTHROPIC_API_KEY: 'sk-ant-api03-LOGLEAK-anthropic-key-5566',
  HF_TOKEN: 'hf_LOGLEAKhuggingfacetoken0987654321',
  DASHBOARD_PASSWORD: 'board-LOGLEAK-password-1122',
};

function serviceLogger() {
  const config = loadConfig({
    FLEET_FILE: path.resolve('fleet.example.yaml'),
    SLACK_CHANNEL_ID: 'CTRAINOPS',
    ...SECRETS,
  });
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const secrets = secretValues(config);
  const logger = createLogger({ level: 'trace', secrets, name: 'conductor', destination });
  return { config, logger, lines, secrets };
}

function expectClean(lines: readonly string[], secrets: readonly string[]) {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(() => JSON.parse(line), line).not.toThrow();
    for (const secret of secrets) {
      expect(line, 'a secret reached the log').not.toContain(secret);
      // Nor a recognisable part of one (the distinctive middle of every test secret).
      expect(line).not.toContain('LOGLEAK');
    }
  }
}

describe('structured logs never print secrets', () => {
  it('secretValues covers all seven secrets of the config', () => {
    const { secrets } = serviceLogger();
    expect([...secrets].sort()).toEqual(Object.values(SECRETS).sort());
  });

  it('in message strings and format arguments', () => {
    const { logger, lines, secrets } = serviceLogger();
    for (const s of secrets) {
      logger.info(`calling with ${s} inline`);
      logger.warn({ run: 'mosaic_moe' }, `key=${s};`);
      logger.info('format %s arg', s);
      logger.info({ n: 1 }, 'object arg %o', { nested: { value: s } });
      logger.info('json arg %j', { value: `prefix-${s}-suffix` });
    }
    expectClean(lines, secrets);
    expect(lines.some((l) => l.includes('[REDACTED]'))).toBe(true);
  });

  it('in object fields at any depth, arrays and unusual key names', () => {
    const { logger, lines, secrets, config } = serviceLogger();
    const [bot, , , vast, anthropic, hf] = Object.values(SECRETS);
    logger.info({ url: `https://console.vast.ai/api/v0/instances/?api_key=${vast}` }, 'vast call');
    logger.info({ request: { body: { text: `here is my token ${bot}` } } }, 'nested');
    logger.info({ deep: { a: { b: { c: { d: { e: [`x ${anthropic}`] } } } } } }, 'deep');
    logger.info({ list: [vast, { hf }] }, 'array');
    logger.info({ 'weird key': hf, env: { HF_TOKEN: hf }, spawn: { env: { HF_TOKEN: hf } } }, 'env');
    logger.info({ config }, 'whole config');
    logger.info({ ctx: { config } }, 'config one level down');
    logger.info({ token: bot, apiKey: vast, password: 'x', secret: 'y' }, 'named fields');
    expectClean(lines, secrets);
  });

  it('in errors: message, stack, cause and custom fields, logged as err or as the first argument', () => {
    const { logger, lines, secrets } = serviceLogger();
    const [bot, signing, , vast, anthropic, hf] = Object.values(SECRETS);
    const cause = new Error(`socket hang up talking to ${anthropic}`);
    const err = new VastApiError(`401 for key ${vast}`, 401, 'auth', { cause });
    logger.error({ err }, 'vast failed');
    logger.error(err);
    logger.error(new Error(`bad signature with ${signing}`), 'slack');
    const withFields = Object.assign(new Error('request failed'), {
      config: { headers: { Authorization: `Bearer ${bot}` } },
      data: { token: hf },
    });
    logger.warn({ err: withFields }, 'axios-like error');
    logger.warn({ error: withFields }, 'error under another key');
    expectClean(lines, secrets);
  });

  it('in HTTP headers, top-level or inside a request object', () => {
    const { logger, lines, secrets } = serviceLogger();
    const [bot, signing, app, vast, anthropic, , dashboard] = Object.values(SECRETS);
    const basic = `Basic ${Buffer.from(`admin:${dashboard}`).toString('base64')}`;
    const headers = {
      authorization: `Bearer ${bot}`,
      'x-api-key': anthropic,
      'x-slack-signature': `v0=${signing}`,
      cookie: `session=${app}`,
    };
    logger.info({ headers }, 'headers');
    logger.info({ req: { method: 'GET', url: '/x', headers: { ...headers, authorization: basic } } }, 'req');
    logger.info({ res: { headers: { 'set-cookie': `k=${vast}` } } }, 'res');
    logger.info({ outgoing: { request: { headers: { Authorization: `Bearer ${vast}` } } } }, 'deep');
    expectClean(lines, secrets);
    // The base64 Basic credentials are not the literal password: they must go by the header's name.
    for (const line of lines) expect(line).not.toContain(basic.slice(6));
  });

  it('in child logger bindings', () => {
    const { logger, lines, secrets } = serviceLogger();
    const [, , , vast, , hf] = Object.values(SECRETS);
    logger.child({ component: 'vast', baseUrl: `https://x/?api_key=${vast}` }).info('child');
    logger
      .child({ env: { HF_TOKEN: hf } })
      .child({ more: hf })
      .warn('grandchild');
    expectClean(lines, secrets);
  });
});
