import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adjustableClock } from '../../../src/clock.js';
import { loadFleetFile } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { generateSshKeyPair } from '../../../src/infra/ssh/keys.js';
import { silentLogger } from '../../../src/logger.js';
import { startSimControl } from '../../../src/sim/control.js';
import { loadScenario, parseDuration } from '../../../src/sim/scenario.js';
import { startSimWorld } from '../../../src/sim/world.js';

const fleet = loadFleetFile(path.resolve('fleet.example.yaml'));
const runs = fleet.runs.map((r) => r.name);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'tc-scenario-'));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function scenarioFile(name: string, text: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

describe('scenario files', () => {
  it('parse durations and load a valid scenario', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('3m')).toBe(180_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    const scenario = loadScenario(
      scenarioFile(
        'ok.yaml',
        'name: night\nspeed: 120\nruns:\n  - { run: mosaic_moe, gpu_name: RTX 3090, num_gpus: 8, step: 1000 }\nfaults:\n  - { at: 2m, run: mosaic_moe, fault: stall }\n',
      ),
      runs,
    );
    expect(scenario).toMatchObject({ name: 'night', speed: 120, faults: [{ at: '2m', fault: 'stall' }] });
  });

  it.each([
    ['unknown fault', 'faults:\n  - { at: 2m, run: mosaic_moe, fault: meteor }\n', /faults\.0\.fault/],
    [
      'bad duration',
      'faults:\n  - { at: soon, run: mosaic_moe, fault: stall }\n',
      /faults\.0\.at: must be a duration/,
    ],
    ['unknown run', 'faults:\n  - { at: 2m, run: nope, fault: stall }\n', /unknown run "nope"/],
    ['unknown key', 'speeed: 3\n', /\(root\)|speeed/],
  ])('refuses %s with one line naming the file', (_name, text, expected) => {
    const file = scenarioFile('bad.yaml', text);
    expect(() => loadScenario(file, runs)).toThrow(ConfigError);
    expect(() => loadScenario(file, runs)).toThrow(expected);
  });
});

describe('simulated world and its control API', () => {
  it('seeds the runs, lists hosts, injects faults over HTTP and changes the clock speed', async () => {
    const clock = adjustableClock(60);
    const world = await startSimWorld({
      clock,
      fleet,
      scenario: {
        name: 't',
        speed: 60,
        runs: [{ run: 'mosaic_dense', gpu_name: 'RTX 3090', num_gpus: 4, step: 5000 }],
        faults: [],
      },
      authorizedKey: generateSshKeyPair().public,
      logger: silentLogger,
      hfToken: 'hf_test_token_for_the_hub',
    });
    const control = await startSimControl(world, clock);
    cleanups.push(async () => {
      await control.close();
      await world.close();
    });
    const hosts = (await (await fetch(`${control.url}/hosts`)).json()) as {
      id: number;
      label: string;
      status: string;
      ssh: string;
      trainer: { phase?: string } | null;
    }[];
    expect(hosts).toHaveLength(1);
    expect(hosts[0]).toMatchObject({ label: 'tc-mosaic_dense-seed', status: 'running' });
    expect(hosts[0]?.ssh).toMatch(/^127\.0\.0\.1:\d+$/);
    // The seeded checkpoint was backed up to the simulated Hub, as the training project does.
    expect(world.hosts.hub).toBeDefined();

    const bad = await fetch(`${control.url}/faults`, {
      method: 'POST',
      body: JSON.stringify({ run: 'mosaic_dense', fault: 'meteor' }),
    });
    expect(bad.status).toBe(400);
    const ok = await fetch(`${control.url}/faults`, {
      method: 'POST',
      body: JSON.stringify({ run: 'mosaic_dense', fault: 'outbid' }),
    });
    expect(ok.status).toBe(200);
    expect(world.vast.control.instances()[0]?.actual_status).toBe('stopped');

    const speed = await fetch(`${control.url}/clock`, {
      method: 'POST',
      body: JSON.stringify({ speed: 600 }),
    });
    expect(((await speed.json()) as { speed: number }).speed).toBe(600);
    expect(clock.speed).toBe(600);
    expect(
      (await fetch(`${control.url}/clock`, { method: 'POST', body: JSON.stringify({ speed: -1 }) })).status,
    ).toBe(400);
    expect((await fetch(`${control.url}/nope`)).status).toBe(404);
  });
});
