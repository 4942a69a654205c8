import type { Clock } from '../clock.js';
import { parseFleet } from '../config.js';
import { buildTrainerArgv } from '../fleet/policy/launch.js';
import { REMOTE_COMMANDS } from '../fleet/remote/commands.js';
import type { Fleet } from '../fleet/schema.js';
import { generateSshKeyPair } from '../infra/ssh/keys.js';
import { silentLogger } from '../logger.js';
import { createSimHosts, type SimHosts } from '../sim/hosts/index.js';

export interface BenchFleet {
  hosts: SimHosts;
  fleet: Fleet;
  /** Pinned host keys by known_hosts id. */
  hostKeys: Record<string, string>;
  keys: { private: string; public: string };
  endpoints: { host: string; port: number }[];
}

/**
 * N simulated hosts, each training one run, and a fleet file listing them as static hosts: the
 * shape the monitor sweeps. Uses the real launch template so the trainers are real sim processes.
 */
export async function startBenchFleet(n: number, clock: Clock): Promise<BenchFleet> {
  const keys = generateSshKeyPair();
  const hosts = createSimHosts({ clock, authorizedKey: keys.public, logger: silentLogger, startupMs: 0 });
  const doc: Record<string, unknown> = {};
  const hostKeys: Record<string, string> = {};
  const endpoints: { host: string; port: number }[] = [];
  for (let i = 0; i < n; i++) {
    const endpoint = await hosts.create({
      instanceId: i + 1,
      gpuName: 'RTX 3090',
      numGpus: 4,
      diskGb: 200,
      env: {},
      label: `bench-${i}`,
    });
    await hosts.setPower(i + 1, 'running');
    hostKeys[`[${endpoint.sshHost}]:${endpoint.sshPort}`] = endpoint.hostKey;
    endpoints.push({ host: endpoint.sshHost, port: endpoint.sshPort });
    doc[`run_${i}`] = {
      config: 'configs/mosaic_dense.yaml',
      run_dir: `runs/bench_${i}`,
      checkpoint_size_gb: 1.4,
      hf_path: `bench_${i}`,
      profiles: { RTX_3090_4x: { batch_size: 8, grad_accum: 16, nproc: 4 } },
      host: {
        host: endpoint.sshHost,
        port: endpoint.sshPort,
        user: 'root',
        gpu_name: 'RTX 3090',
        num_gpus: 4,
        cost_per_hr: 0.9,
      },
    };
  }
  const fleet = parseFleet(doc, 'bench');
  for (const [i, run] of fleet.runs.entries()) {
    const host = hosts.get(i + 1);
    if (!host) continue;
    host.seedRun({ runDir: run.run_dir, config: run.config, step: 10_000 });
    host.exec(
      REMOTE_COMMANDS.launch(fleet.paths, buildTrainerArgv(run, fleet, { name: 'RTX 3090', count: 4 })),
    );
  }
  return { hosts, fleet, hostKeys, keys, endpoints };
}
