import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { buildTrainerArgv } from '../fleet/policy/launch.js';
import { parseBackupSource } from '../fleet/remote/backup-source.js';
import { REMOTE_COMMANDS, renderSecretEnvFile } from '../fleet/remote/commands.js';
import type { Fleet } from '../fleet/schema.js';
import { createVastClient } from '../infra/vast/client.js';
import type { Logger } from '../logger.js';
import { createSimHosts, type SimFault, type SimHosts } from './hosts/index.js';
import { parseDuration, type Scenario, type ScenarioFaultKind } from './scenario.js';
import { startVastSim, type VastSim } from './vast/index.js';

/**
 * The simulated world: a Vast.ai API on loopback whose instances are SSH hosts with trainers, set
 * up from a scenario (runs already training, as if provisioned earlier) with its fault schedule.
 */
export interface SimWorld {
  vast: VastSim;
  hosts: SimHosts;
  apiKey: string;
  /** Instance of each seeded run. */
  instances: Map<string, number>;
  /** Host keys of the seeded instances, by known_hosts id (`[127.0.0.1]:port`), as ops would pin them. */
  hostKeys: Map<string, string>;
  /** Applies a scenario fault now. */
  inject(run: string, fault: ScenarioFaultKind, pct?: number): Promise<void>;
  close(): Promise<void>;
}

export interface SimWorldOptions {
  clock: Clock;
  fleet: Fleet;
  scenario: Scenario;
  /** OpenSSH public key line the conductor authenticates with. */
  authorizedKey: string;
  logger: Logger;
  apiKey?: string;
  port?: number;
  loadingMs?: number;
  /** HF token the seeded hosts use to back their checkpoints up (as the training project does). */
  hfToken?: string;
}

function hostFault(kind: ScenarioFaultKind, pct?: number): SimFault | null {
  switch (kind) {
    case 'stall':
      return { kind: 'stall' };
    case 'crash_oom':
      return { kind: 'crash', signature: 'oom' };
    case 'crash_nccl':
      return { kind: 'crash', signature: 'nccl' };
    case 'crash_killed':
      return { kind: 'crash', signature: 'killed' };
    case 'nan':
      return { kind: 'nan' };
    case 'disk_fill':
      return { kind: 'disk_fill', ...(pct !== undefined && { pct }) };
    case 'slowdown':
      return { kind: 'slowdown' };
    case 'ssh_hang':
      return { kind: 'ssh_hang' };
    case 'complete':
      return { kind: 'complete' };
    default:
      return null;
  }
}

export async function startSimWorld(options: SimWorldOptions): Promise<SimWorld> {
  const { clock, fleet, scenario, logger } = options;
  const apiKey = options.apiKey ?? `sim-${randomBytes(12).toString('hex')}`;
  const hosts = createSimHosts({
    clock,
    authorizedKey: options.authorizedKey,
    logger: logger.child({ sim: 'hosts' }),
    paths: fleet.paths,
  });
  const vast = await startVastSim({
    clock,
    hosts,
    apiKey,
    logger: logger.child({ sim: 'vast' }),
    loadingMs: 0,
    ...(options.port !== undefined && { port: options.port }),
  });
  const client = createVastClient({
    baseUrl: vast.url,
    apiKey,
    clock,
    logger,
    timeoutMs: 10_000,
    retries: 2,
  });
  const instances = new Map<string, number>();
  const hostKeys = new Map<string, string>();

  // Seed: rent each run's instance as ops would have, place its checkpoints, launch the trainer.
  for (const seed of scenario.runs) {
    const spec = fleet.runs.find((r) => r.name === seed.run);
    if (!spec) throw new Error(`scenario run ${seed.run} is not in the fleet`);
    const offer = vast.control
      .offers()
      .filter((o) => o.gpu_name === seed.gpu_name && o.num_gpus === seed.num_gpus)
      .sort((a, b) => a.dph_total - b.dph_total)[0];
    if (!offer) throw new Error(`no ${seed.gpu_name} x${seed.num_gpus} offer in the simulated market`);
    const { instanceId } = await client.rent(offer.id, {
      image: 'pytorch/pytorch',
      disk: fleet.runs.length ? 100 : 100,
      label: `tc-${seed.run}-seed`,
      ...(spec.billing === 'bid' && { price: Math.round(offer.min_bid * 1.1 * 1000) / 1000 }),
    });
    await vast.control.tick();
    const host = hosts.get(instanceId);
    const view = vast.control.instances().find((i) => i.id === instanceId);
    if (!host || !view?.ssh_port) throw new Error(`seeded instance ${instanceId} has no host`);
    hostKeys.set(`[${view.ssh_host ?? '127.0.0.1'}]:${view.ssh_port}`, view.host_key);
    if (seed.step > 0) host.seedRun({ runDir: spec.run_dir, config: spec.config, step: seed.step });
    if (seed.step > 0 && spec.backup_source && options.hfToken) {
      // The training project pushes its checkpoints to the Hub: start with that backup in place.
      host.exec(REMOTE_COMMANDS.writeSecretFile(fleet.paths), {
        stdin: renderSecretEnvFile({ HF_TOKEN: options.hfToken }),
      });
      const backup = host.exec(
        REMOTE_COMMANDS.backupCheckpoint(
          fleet.paths,
          spec.run_dir,
          parseBackupSource(spec.backup_source),
          spec.hf_path,
          'latest.pt',
        ),
      );
      if (backup.code !== 0) throw new Error(`seed backup of ${seed.run} failed: ${backup.stderr}`);
    }
    const argv = buildTrainerArgv(spec, fleet, { name: seed.gpu_name, count: seed.num_gpus });
    const launched = host.exec(REMOTE_COMMANDS.launch(fleet.paths, argv));
    if (launched.code !== 0) throw new Error(`seed launch of ${seed.run} failed: ${launched.stderr}`);
    instances.set(seed.run, instanceId);
  }
  vast.control.setLoadingMs(options.loadingMs ?? 90_000);

  /** The run's current instance: after a migration that is the newest one labelled for it. */
  function currentInstance(run: string): number | undefined {
    const mine = vast.control
      .instances()
      .filter((i) => i.label?.startsWith(`tc-${run}-`) && i.actual_status === 'running')
      .sort((a, b) => (b.start_date ?? 0) - (a.start_date ?? 0));
    return mine[0]?.id ?? instances.get(run);
  }

  async function inject(run: string, kind: ScenarioFaultKind, pct?: number) {
    const id = currentInstance(run);
    if (id === undefined) throw new Error(`no instance for run ${run}`);
    if (kind === 'outbid') await vast.control.outbid(id);
    else if (kind === 'host_gone') await vast.control.hostGone(id, 'offline');
    else {
      const fault = hostFault(kind, pct);
      if (fault) hosts.inject(id, fault);
    }
    logger.info({ run, fault: kind }, 'scenario fault injected');
  }

  const timers = scenario.faults.map((f) =>
    setTimeout(
      () =>
        void inject(f.run, f.fault, f.pct).catch((err) => logger.warn({ err: String(err) }, 'fault failed')),
      parseDuration(f.at) / clock.speed,
    ),
  );
  let closing: Promise<void> | undefined;
  return {
    vast,
    hosts,
    apiKey,
    instances,
    hostKeys,
    inject,
    close() {
      closing ??= (async () => {
        for (const t of timers) clearTimeout(t);
        await vast.close();
        await hosts.closeAll();
      })();
      return closing;
    },
  };
}
