import type { Redis } from 'ioredis';
import { sshHostCommands } from '../../../agents/healer/host-commands.js';
import { buildTrainerArgv } from '../../../src/fleet/policy/launch.js';
import { REMOTE_COMMANDS } from '../../../src/fleet/remote/index.js';
import type { Fleet, RunSpec } from '../../../src/fleet/schema.js';
import { hostKeyId, memoryHostKeyStore } from '../../../src/infra/ssh/host-keys.js';
import { createSshPool } from '../../../src/infra/ssh/pool.js';
import type { SshPool, SshTarget } from '../../../src/infra/ssh/types.js';
import { createVastClient, type VastClient } from '../../../src/infra/vast/client.js';
import { silentLogger } from '../../../src/logger.js';
import { createSimHosts, generateHostKey, type SimHosts } from '../../../src/sim/hosts/index.js';
import type { SimInstanceView } from '../../../src/sim/vast/cloud.js';
import { startVastSim, type VastSim } from '../../../src/sim/vast/index.js';
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

/**
 * The simulated Vast API over these simulated hosts, with two good RTX 3090 4x offers, one of
 * them rented as `run`'s old instance: running, its host key pinned, the trainer launched from
 * `step` with `trainerArgv`.
 */
export async function rentedOldInstance(
  s: SimSsh,
  options: {
    apiKey: string;
    seed: number;
    fleet: Fleet;
    run: RunSpec;
    trainerArgv: readonly string[];
    step: number;
  },
): Promise<{ vastSim: VastSim; vast: VastClient; oldId: number; target: SshTarget; view: SimInstanceView }> {
  const { clock, sim, pool, pins } = s;
  const vastSim = await startVastSim({
    clock,
    hosts: sim,
    apiKey: options.apiKey,
    tickIntervalMs: 0,
    loadingMs: 90_000,
    seed: options.seed,
  });
  const vast = createVastClient({
    baseUrl: vastSim.url,
    apiKey: options.apiKey,
    clock,
    logger: silentLogger,
    timeoutMs: 5000,
    retries: 1,
  });
  for (const minBid of [0.2, 0.25]) {
    vastSim.control.addOffer({
      gpu_name: 'RTX 3090',
      num_gpus: 4,
      min_bid: minBid,
      reliability: 0.99,
      inet_down: 1000,
      disk_space: 500,
    });
  }
  const offer = vastSim.control
    .offers()
    .find((o) => o.gpu_name === 'RTX 3090' && o.num_gpus === 4 && o.disk_space >= 100);
  if (!offer) throw new Error('no RTX 3090 4x offer in the simulated market');
  const { instanceId: oldId } = await vast.rent(offer.id, {
    image: options.fleet.image,
    disk: 100,
    label: `tc-${options.run.name}-old`,
    price: offer.min_bid * 1.1,
  });
  clock.advance(100_000);
  await vastSim.control.tick();
  const view = vastSim.control.instances().find((i) => i.id === oldId);
  const host = sim.get(oldId);
  if (!view || !host) throw new Error(`instance ${oldId} did not come up`);
  const target = { host: view.ssh_host, port: view.ssh_port };
  await pins.set(hostKeyId(target.host, target.port), view.host_key);
  host.seedRun({ runDir: options.run.run_dir, config: options.run.config, step: options.step });
  await pool.exec(target, REMOTE_COMMANDS.launch(options.fleet.paths, options.trainerArgv));
  return { vastSim, vast, oldId, target, view };
}
