import { scaledClock } from '../../clock.js';
import { generateSshKeyPair } from '../../infra/ssh/keys.js';
import { silentLogger } from '../../logger.js';
import { createSimHosts } from '../../sim/hosts/index.js';
import type { BenchScenario } from '../types.js';

/** Start 1,000 simulated hosts (each a real SSH server on loopback): start-up time and memory. */
export const hostsScenario: BenchScenario = {
  name: 'hosts',
  description: 'start simulated SSH hosts: start-up time and memory',
  async run({ quick, log }) {
    const n = quick ? 200 : 1000;
    const keys = generateSshKeyPair();
    global.gc?.();
    const before = process.memoryUsage();
    const hosts = createSimHosts({
      clock: scaledClock(60),
      authorizedKey: keys.public,
      logger: silentLogger,
    });
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      await hosts.create({
        instanceId: i + 1,
        gpuName: 'RTX 3090',
        numGpus: 4,
        diskGb: 200,
        env: {},
        label: `h${i}`,
      });
      await hosts.setPower(i + 1, 'running');
    }
    const seconds = (performance.now() - started) / 1000;
    const after = process.memoryUsage();
    log(`${n} hosts in ${seconds.toFixed(2)} s`);
    await hosts.closeAll();
    return [
      { scenario: 'hosts', metric: `start ${n} hosts`, unit: 's', value: seconds },
      { scenario: 'hosts', metric: 'per host', unit: 'ms', value: (seconds * 1000) / n },
      {
        scenario: 'hosts',
        metric: `heap for ${n} hosts`,
        unit: 'MB',
        value: (after.heapUsed - before.heapUsed) / 1e6,
      },
      { scenario: 'hosts', metric: `rss for ${n} hosts`, unit: 'MB', value: (after.rss - before.rss) / 1e6 },
    ];
  },
};
