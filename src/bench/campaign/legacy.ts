import type { Clock } from '../../clock.js';
import { buildTrainerArgv } from '../../fleet/policy/launch.js';
import { REMOTE_COMMANDS } from '../../fleet/remote/commands.js';
import type { Fleet } from '../../fleet/schema.js';
import type { SimWorld } from '../../sim/world.js';

/**
 * The setup Train Conductor replaces, as the campaign's baseline: a loop that looks at each run's
 * instance every 60 s, relaunches the trainer with the same command when its process is gone,
 * and does nothing else: no stall or NaN detection, no disk clean-up, and a lost instance is
 * never replaced. Its commands run through the simulated hosts' shell directly (the old script
 * opened a new SSH connection per check; skipping SSH only spares it connection failures).
 */

export interface LegacySupervisor {
  /** Relaunches it performed. */
  readonly restarts: number;
  stop(): Promise<void>;
}

export interface LegacyOptions {
  world: SimWorld;
  fleet: Fleet;
  /** Each run's GPU, as seeded: the launch command never changes. */
  gpus: ReadonlyMap<string, { name: string; count: number }>;
  clock: Clock;
  pollMs?: number;
}

const DEFAULT_POLL_MS = 60_000;
const COMPLETE_LINE = 'Training complete';

export function startLegacySupervisor(options: LegacyOptions): LegacySupervisor {
  const { world, fleet, clock } = options;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const abort = new AbortController();
  const finished = new Set<string>();
  let restarts = 0;

  function check(run: string): void {
    const spec = fleet.runs.find((r) => r.name === run);
    const gpu = options.gpus.get(run);
    // Only the instance it started on: the legacy setup never rented a replacement.
    const id = world.instances.get(run);
    if (!spec || !gpu || id === undefined || finished.has(run)) return;
    const view = world.vast.control.instances().find((i) => i.id === id);
    const host = world.hosts.get(id);
    if (view?.actual_status !== 'running' || !host || host.power !== 'running') return;
    if (host.exec(REMOTE_COMMANDS.trainerAlive()).code === 0) return;
    const tail = host.exec(REMOTE_COMMANDS.logTail(fleet.paths.log, 20)).stdout;
    if (tail.includes(COMPLETE_LINE)) {
      finished.add(run);
      return;
    }
    host.exec(REMOTE_COMMANDS.launch(fleet.paths, buildTrainerArgv(spec, fleet, gpu)));
    restarts += 1;
  }

  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        await clock.sleep(pollMs, abort.signal);
      } catch {
        return;
      }
      for (const run of world.instances.keys()) check(run);
    }
  })();

  return {
    get restarts() {
      return restarts;
    },
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
