import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../../src/cli/main.js';
import { systemClock } from '../../../src/clock.js';
import type { RunHealth } from '../../../src/fleet/health/types.js';
import { Store } from '../../../src/state/store.js';
import { deleteKeys, newRedis, redisUrl, uniquePrefix } from '../../helpers/redis.js';

const redis = newRedis();
const prefix = uniquePrefix('cli');
const env = { FLEET_FILE: path.resolve('fleet.example.yaml'), KEY_PREFIX: prefix, REDIS_URL: redisUrl() };
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

async function run(args: string[], extraEnv: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t) };
  const code = await main(args, { ...env, ...extraEnv }, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const health = (run: string, step: number): RunHealth => ({
  run,
  status: 'healthy',
  severity: 'info',
  reason: 'training',
  since: Date.now() - 3_600_000,
  observedAt: Date.now(),
  step,
  stepChangedAt: Date.now(),
  loss: 3.1234,
  ppl: 22.7,
  tokS: 48211,
  gpuUtil: 97,
  diskPct: 41.3,
  processAlive: true,
  heartbeatAgeS: 12,
  tokSHistory: [48000],
  stepHistory: [
    [Date.now() - 3_600_000, step - 1000],
    [Date.now(), step],
  ],
});

describe('conductor CLI', () => {
  it('says what to do on an empty store', async () => {
    const status = await run(['status']);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/RUN\s+INSTANCE\s+STATUS/);
    expect(status.out).toMatch(/gpt2_reference/);
    const journal = await run(['journal']);
    expect(journal).toMatchObject({ code: 0, out: 'The journal is empty.' });
  });

  it('prints the fleet table and the journal from a store with data', async () => {
    const store = new Store({ redis, prefix, clock: systemClock });
    await store.putHealth(health('mosaic_moe', 31_000));
    await store.putRunState({
      run: 'mosaic_moe',
      instanceId: 4242,
      sshHost: '127.0.0.1',
      sshPort: 2222,
      gpuName: 'RTX 3090',
      numGpus: 8,
      costPerHr: 1.6,
      startedAt: Date.now() - 7_200_000,
      costAccrued: 0,
      paused: false,
      stoppedByUs: false,
      complete: false,
    });
    await store.journal.append({
      type: 'OUTBID',
      model: 'mosaic_moe',
      message: 'bid instance 4242 was stopped',
    });
    await store.journal.append({ type: 'AUTO_RESTART', model: 'gpt2_reference', message: 'restarted' });

    const status = await run(['status']);
    expect(status.out).toMatch(
      /mosaic_moe\s+4242\s+healthy\s+31000\/50000\s+62\.0%\s+3\.1234\s+48211\s+97%\s+41%\s+\$1\.600/,
    );
    const json = JSON.parse((await run(['status', '--json'])).out);
    expect(json.instances.find((i: { model: string }) => i.model === 'mosaic_moe')).toMatchObject({
      step: 31000,
      instance_id: 4242,
    });

    const journal = await run(['journal', '--last', '5', '--run', 'mosaic_moe']);
    expect(journal.out).toMatch(/OUTBID\s+mosaic_moe\s+bid instance 4242 was stopped/);
    expect(journal.out).not.toMatch(/AUTO_RESTART/);
    const typed = await run(['journal', '--type', 'AUTO_RESTART', '--json']);
    expect(JSON.parse(typed.out)).toMatchObject({ type: 'AUTO_RESTART', model: 'gpt2_reference' });
  });

  it('refuses bad arguments with one clear line and a non-zero exit', async () => {
    expect(await run(['journal', '--last', 'ten'])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/--last must be a whole number/),
    });
    expect(await run(['journal', '--run', 'nope'])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/unknown run "nope"/),
    });
    expect(await run(['journal', '--type', 'BOGUS'])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/unknown journal type/),
    });
    expect(await run(['frobnicate'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/unknown command/),
    });
    expect(await run(['status', '--wat'])).toMatchObject({ code: 1 });
  });

  it('config prints the resolved config with secrets masked, or the one-line error', async () => {
    const ok = await run(['config'], {
      SLACK_BOT_TOKEN: 'xoxb-very-secret-token',
      SLACK_SIGNING_SECRET: 'sign-secret-123',
      SLACK_CHANNEL_ID: 'C0123ABCD',
    });
    expect(ok.code).toBe(0);
    expect(ok.out).not.toContain('xoxb-very-secret-token');
    expect(ok.out).not.toContain('sign-secret-123');
    expect(JSON.parse(ok.out).fleet.runs).toHaveLength(3);
    const bad = await run(['config', '--fleet', '../shared/fixtures/mosaic-gpt/configs/mosaic_small.yaml']);
    expect(bad.code).toBe(1);
    expect(bad.err.split('\n')).toHaveLength(1);
    expect(bad.err).toMatch(/mosaic_small\.yaml/);
  });

  it('never runs the demo in production: missing Slack credentials are an error', async () => {
    const prod = await run(['start'], { NODE_ENV: 'production' });
    expect(prod).toMatchObject({
      code: 1,
      err: expect.stringMatching(/SLACK_BOT_TOKEN: required in production/),
    });
  });

  it('status says how to reach Redis when it is down', async () => {
    const down = await run(['status'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(down).toMatchObject({ code: 1, err: expect.stringMatching(/not reachable/) });
  });
});
