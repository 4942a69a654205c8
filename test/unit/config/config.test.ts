import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, loadFleetFile, maskedConfig, parseFleet, secretValues } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';

const PROFILES = path.resolve('../shared/fixtures/mosaic-gpt/instance_profiles.yaml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tc-config-'));

function fleetFile(name: string, text: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('fleet file', () => {
  it('loads the real instance_profiles.yaml unchanged, with the default rules', () => {
    const fleet = loadFleetFile(PROFILES);
    expect(fleet.runs.map((r) => r.name)).toEqual(['gpt2_reference', 'mosaic_dense', 'mosaic_moe']);
    const moe = fleet.runs.find((r) => r.name === 'mosaic_moe');
    expect(moe).toMatchObject({
      config: 'configs/mosaic_small_resume.yaml',
      run_dir: 'runs/mosaic_small_3090',
      n_experts: 4,
      checkpoint_size_gb: 4.2,
      target_steps: 50_000,
    });
    expect(moe?.profiles['RTX_3090_8x']).toEqual({ batch_size: 4, grad_accum: 8, nproc: 8 });
    expect(fleet.policy.gpu_blocklist.map((b) => b.gpu)).toEqual(['RTX 5090']);
    expect(fleet.policy.stop_command).toBe('killall -9 torchrun');
    expect(fleet.thresholds.sweep_interval_s).toBe(60);
    expect(Object.isFrozen(fleet.runs[0])).toBe(true);
  });

  it('refuses the 8-expert config for the MoE run at start-up, naming file, path and reason', () => {
    const text = readFileSync(PROFILES, 'utf8').replace(
      'config: configs/mosaic_small_resume.yaml',
      'config: configs/mosaic_small.yaml',
    );
    const file = fleetFile('moe8.yaml', text);
    const message = configError(() => loadFleetFile(file));
    expect(message).toContain(file);
    expect(message).toContain('mosaic_moe.config');
    expect(message).toMatch(/8 experts/);
  });

  it('loads the shipped example fleet with its extensions', () => {
    const fleet = loadFleetFile(path.resolve('fleet.example.yaml'));
    expect(fleet.runs).toHaveLength(3);
    expect(fleet.runs.find((r) => r.name === 'mosaic_moe')?.priority).toBe(80);
    expect(fleet.paths).toEqual({ workspace: '/workspace/mosaic-gpt', log: '/workspace/training.log' });
  });

  const base = parse(readFileSync(PROFILES, 'utf8')) as Record<string, Record<string, unknown>>;
  const cases: [string, (doc: Record<string, Record<string, unknown>>) => void, RegExp][] = [
    [
      'injection in run_dir',
      (d) => (d['gpt2_reference']!['run_dir'] = 'runs/x; rm -rf /'),
      /gpt2_reference\.run_dir: must be/,
    ],
    [
      'path traversal in config',
      (d) => (d['mosaic_dense']!['config'] = '../../etc/passwd'),
      /mosaic_dense\.config/,
    ],
    [
      'negative checkpoint size',
      (d) => (d['mosaic_dense']!['checkpoint_size_gb'] = -1),
      /mosaic_dense\.checkpoint_size_gb/,
    ],
    [
      'bad profile key',
      (d) =>
        ((d['mosaic_dense']!['profiles'] as Record<string, unknown>)['RTX3090'] = {
          batch_size: 1,
          grad_accum: 1,
          nproc: 1,
        }),
      /mosaic_dense\.profiles\.RTX3090/,
    ],
    [
      'nproc zero',
      (d) =>
        ((d['mosaic_moe']!['profiles'] as Record<string, Record<string, unknown>>)['RTX_3090_8x']!['nproc'] =
          0),
      /mosaic_moe\.profiles\.RTX_3090_8x\.nproc/,
    ],
    [
      'unknown key (typo)',
      (d) => (d['mosaic_moe']!['target_step'] = 10),
      /mosaic_moe\.\(root\)|mosaic_moe.*target_step/,
    ],
    ['bad run name', (d) => (d['bad name!'] = d['mosaic_moe']!), /run name/],
    [
      'shared run dir',
      (d) => (d['copy'] = { ...d['mosaic_moe']! }),
      /copy\.run_dir: .* also used by mosaic_moe/,
    ],
    [
      'pkill stop command',
      (d) => (d['conductor'] = { policy: { stop_command: 'pkill -9 -f python3' } }),
      /conductor\.policy\.stop_command: only "killall -9 torchrun"/,
    ],
    [
      'keep fewer than 2',
      (d) => (d['conductor'] = { policy: { disk_cleanup: { keep_newest: 1 } } }),
      /conductor\.policy\.disk_cleanup\.keep_newest/,
    ],
    [
      'disk thresholds inverted',
      (d) => (d['conductor'] = { thresholds: { disk_warn_pct: 95, disk_critical_pct: 90 } }),
      /conductor\.thresholds\.disk_warn_pct/,
    ],
    [
      'shell in extra args',
      (d) => (d['mosaic_moe']!['extra_args'] = ['--x', '$(reboot)']),
      /mosaic_moe\.extra_args\.1/,
    ],
  ];
  for (const [name, mutate, expected] of cases) {
    it(`rejects ${name} with one line naming the YAML path`, () => {
      const doc = structuredClone(base);
      mutate(doc);
      expect(configError(() => parseFleet(doc, 'fleet.yaml'))).toMatch(expected);
    });
  }

  it('names the file for unreadable and invalid YAML', () => {
    expect(configError(() => loadFleetFile(path.join(tmp, 'missing.yaml')))).toMatch(
      /missing\.yaml: cannot read.*ENOENT/,
    );
    const file = fleetFile('broken.yaml', 'a: [1, 2\nb: {');
    expect(configError(() => loadFleetFile(file))).toMatch(/broken\.yaml: invalid YAML/);
    expect(configError(() => parseFleet([], 'list.yaml'))).toMatch(/list\.yaml: \(root\)/);
    expect(configError(() => parseFleet({}, 'empty.yaml'))).toMatch(/lists no runs/);
  });
});

describe('environment', () => {
  const env = { FLEET_FILE: PROFILES };

  it('has defaults that run the demo', () => {
    const config = loadConfig(env);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.redisUrlExplicit).toBe(false);
    expect(config.slack.botToken).toBeUndefined();
    expect(config.vast.apiUrl).toBe('https://console.vast.ai');
    expect(config.port).toBe(3000);
    expect(Object.isFrozen(config.slack)).toBe(true);
  });

  it.each([
    ['REDIS_URL', 'localhost:6379', /environment: REDIS_URL: must start with redis:\/\//],
    ['PORT', 'eighty', /environment: PORT/],
    ['SLACK_BOT_TOKEN', 'xoxp-user-token', /environment: SLACK_BOT_TOKEN: must be a bot token/],
    ['SLACK_APPROVERS', 'U123,alice', /environment: SLACK_APPROVERS\.1/],
    ['SLACK_API_URL', 'not a url', /environment: SLACK_API_URL: must be a URL/],
  ])('rejects a bad %s with one line', (name, value, expected) => {
    expect(configError(() => loadConfig({ ...env, [name]: value }))).toMatch(expected);
  });

  it('requires the signing secret and channel with a bot token', () => {
    expect(configError(() => loadConfig({ ...env, SLACK_BOT_TOKEN: 'xoxb-1' }))).toMatch(
      /SLACK_SIGNING_SECRET/,
    );
    expect(
      configError(() => loadConfig({ ...env, SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' })),
    ).toMatch(/SLACK_CHANNEL_ID/);
  });

  it('masks every secret when printed', () => {
    const config = loadConfig({
      ...env,
      SLACK_BOT_TOKEN: 'xoxb-secret-bot-token',
      SLACK_SIGNING_SECRET: 'signing-secret-value',
      SLACK_CHANNEL_ID: 'C0123ABCD',
      VAST_API_KEY: 'vast-key-value-123',
      ANTHROPIC_API_KEY: 'sk-ant-secret-value',
      HF_TOKEN: 'hf_secret_token_value',
      REDIS_URL: 'redis://user:pass-word@127.0.0.1:6379',
    });
    const printed = JSON.stringify(maskedConfig(config));
    for (const secret of secretValues(config)) expect(printed).not.toContain(secret);
    expect(printed).not.toContain('pass-word');
    expect(secretValues(config)).toHaveLength(6);
  });
});
