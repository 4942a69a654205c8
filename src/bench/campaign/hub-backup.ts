import type { Clock } from '../../clock.js';
import { parseBackupSource } from '../../fleet/remote/backup-source.js';
import type { Fleet } from '../../fleet/schema.js';
import type { SimWorld } from '../../sim/world.js';

/**
 * What the training project itself does and the simulated trainer does not model: each time
 * latest.pt is written, it is uploaded to the run's Hugging Face repository (`<hf_path>/latest.pt`
 * of its backup_source). Without it, a preempted host takes its checkpoint down with it and a
 * replacement can only start over. Applied to every strategy's world alike; only a strategy that
 * replaces instances ever reads it back.
 */

export interface HubBackups {
  /** Uploads every running host's newer latest.pt now. */
  sync(): void;
  readonly uploads: number;
}

export function hubBackups(world: SimWorld, fleet: Fleet, clock: Clock): HubBackups {
  const specs = fleet.runs.flatMap((spec) =>
    spec.backup_source ? [{ spec, repo: parseBackupSource(spec.backup_source) }] : [],
  );
  let uploads = 0;
  return {
    get uploads() {
      return uploads;
    },
    sync() {
      const hub = world.hosts.hub;
      for (const host of world.hosts.list()) {
        if (host.power !== 'running') continue;
        host.sync();
        for (const { spec, repo } of specs) {
          const local = host.vfs.get(`${fleet.paths.workspace}/${spec.run_dir}/latest.pt`);
          if (local?.kind !== 'blob' || !local.meta) continue;
          const path = `${spec.hf_path}/latest.pt`;
          const remote = hub.get(repo.repoType, repo.repoId, path);
          if (remote?.meta && remote.meta.step >= local.meta.step) continue;
          hub.put(repo.repoType, repo.repoId, path, {
            size: local.size,
            meta: local.meta,
            text: null,
            uploadedAtMs: clock.now(),
          });
          uploads += 1;
        }
      }
    },
  };
}
