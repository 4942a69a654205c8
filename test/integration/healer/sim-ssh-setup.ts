import type { Redis } from 'ioredis';
import { sshHostCommands } from '../../../agents/healer/host-commands.js';
import { buildTrainerArgv } from '../../../src/fleet/policy/launch.js';
import { memoryHostKeyStore } from '../../../src/infra/ssh/host-keys.js';
import { createSshPool } from '../../../src/infra/ssh/pool.js';
import type { SshPool } from '../../../src/infra/ssh/types.js';
import { silentLogger } from '../../../src/logger.js';
import { createSimHosts, generateHostKey, type SimHosts } from '../../../src/sim/hosts/index.js';
import { Store } from '../../../src/state/store.js';
import { deleteKeys, uniquePrefix } from '../../helpers/redis.js';
import { runOf, testFleet } from '../../unit/ops/fixtures.js';
import { jumpingClock } from './fake-hosts.js';

/**
 * The agents against the simulated training hosts over real SSH: the pool, the command templates
 * and their parsers, the simulated trainer. Only the clock is fake (it jumps when the agents
 * sleep), so a ten-minute verification window takes milliseconds.
 */

export const RUN = 'mosaic_moe';
export const TOKEN = 'hf_simulatedSecretToken42';
export const fleet = testFleet();
export const spec = runOf(fleet, RUN);
export const argv = buildTrainerArgv(spec, fleet, { name: 'RTX 3090', count: 4 });
const clientKey = generateHostKey();

export interface SimSsh {
  clock: ReturnType<typeof jumpingClock>;
  sim: SimHosts;
  prefix: string;
  store: Store;
  pool: SshPool;
  pins: ReturnType<typeof memoryHostKeyStore>;
  hostCommands(): ReturnType<typeof sshHostCommands>;
  close(): Promise<void>;
}

export function simSsh(redis: Redis): SimSsh {
  const clock = jumpingClock();
  const sim = createSimHosts({ clock, authorizedKey: clientKey.publicKey, logger: silentLogger });
  const prefix = uniquePrefix('simssh');
  const store = new Store({ redis, prefix, clock });
  const pins = memoryHostKeyStore();
  const pool = createSshPool({
    privateKey: clientKey.privateKey,
    hostKeys: pins,
    logger: silentLogger,
    commandTimeoutMs: 5000,
  });
  return {
    clock,
    sim,
    prefix,
    store,
    pool,
    pins,
    hostCommands: () =>
      sshHostCommands({ ssh: pool, paths: fleet.paths, policy: fleet.policy, secrets: { HF_TOKEN: TOKEN } }),
    async close() {
      await pool.close();
      await sim.closeAll();
      await deleteKeys(redis, prefix);
    },
  };
}
