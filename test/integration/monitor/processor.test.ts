import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordingEvents } from '../../../agents/monitor/events.js';
import { remoteProbe } from '../../../agents/monitor/probe.js';
import { monitorProcessor } from '../../../agents/monitor/processor.js';
import { systemClock } from '../../../src/clock.js';
import { loadFleetFile } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import { Store } from '../../../src/state/store.js';
import { deleteKeys, newRedis, uniquePrefix } from '../../helpers/redis.js';

const redis = newRedis();
const prefix = uniquePrefix('mproc');
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

function processor(listCalls: string[]) {
  const fleet = loadFleetFile(path.resolve('fleet.example.yaml'));
  return monitorProcessor({
    redis,
    prefix,
    fleet,
    store: new Store({ redis, prefix, clock: systemClock }),
    // A slow Vast list keeps each sweep busy long enough for the others to collide with it.
    vast: {
      async listInstances() {
        listCalls.push('list');
        await new Promise((r) => setTimeout(r, 300));
        return [];
      },
      async getInstance() {
        return null;
      },
    },
    ssh: {
      exec: async () => {
        throw new Error('no host should be probed');
      },
    },
    probe: remoteProbe,
    clock: systemClock,
    logger: silentLogger,
    events: recordingEvents(),
    stateDir: null,
  });
}

describe('monitor processor', () => {
  it('never overlaps sweeps: a scheduled sweep that finds one running is skipped', async () => {
    const calls: string[] = [];
    const [a, b, c] = [processor(calls), processor(calls), processor(calls)];
    const results = await Promise.all([a({ kind: 'sweep' }), b({ kind: 'sweep' }), c({ kind: 'sweep' })]);
    expect(results.filter((r) => 'skipped' in r)).toHaveLength(2);
    expect(calls).toHaveLength(1);
  });

  it('an on-demand sweep of one run waits for the running sweep instead of being dropped', async () => {
    const calls: string[] = [];
    const p = processor(calls);
    const [scheduled, onDemand] = await Promise.all([
      p({ kind: 'sweep' }),
      p({ kind: 'sweep_run', run: 'mosaic_moe' }),
    ]);
    expect('skipped' in scheduled).toBe(false);
    expect('runs' in onDemand && onDemand.runs.map((r) => r.run)).toEqual(['mosaic_moe']);
    expect(calls).toHaveLength(2);
  });
});
