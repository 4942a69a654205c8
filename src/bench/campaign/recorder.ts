import type { Clock } from '../../clock.js';
import type { SimFault, SimHost } from '../../sim/hosts/index.js';
import type { SimWorld } from '../../sim/world.js';
import type { InstanceSample } from './accounting.js';
import type { CampaignFaultKind } from './schedule.js';

const DEFAULT_LOG = '/workspace/training.log';

type HostFaultKind = Exclude<CampaignFaultKind, 'outbid' | 'host_gone'>;

/**
 * Watches one simulated world from the outside (the simulator's own view, not what any strategy
 * believes): every instance's billing state and its trainer's step, as timeline samples, and each
 * run's progress for deciding when the campaign is over.
 */

const BILLED = new Set(['running', 'loading']);
const RESUMED = /\[HEARTBEAT\]\s+RESUMED\s+step=(\d+)/;

/** The run a `tc-<run>-<key>` label belongs to (the longest run name that fits). */
export function runOfLabel(label: string | null, runs: readonly string[]): string | null {
  if (!label?.startsWith('tc-')) return null;
  const rest = label.slice(3);
  const fits = runs.filter((r) => rest.startsWith(`${r}-`)).sort((a, b) => b.length - a.length);
  return fits[0] ?? null;
}

export interface RunProgress {
  /** Highest valid step seen. */
  highWater: number;
  /** Clock ms the high-water mark last rose. */
  lastGainAt: number;
}

export interface WorldRecorder {
  readonly samples: InstanceSample[];
  readonly progress: ReadonlyMap<string, RunProgress>;
  /** Takes one sample of every instance now. */
  sample(): void;
  /** The loss of this trainer is NaN from the step after `step` on. */
  markNan(instanceId: number, pid: number, step: number): void;
}

interface Known {
  run: string;
  gpus: number;
  dph: number;
  gone: boolean;
}

export function createRecorder(
  world: SimWorld,
  runs: readonly string[],
  clock: Clock,
  logPath = DEFAULT_LOG,
): WorldRecorder {
  const samples: InstanceSample[] = [];
  const known = new Map<number, Known>();
  const nanFrom = new Map<string, number>();
  const resumed = new Map<string, number>();

  /** Where this trainer started: its RESUMED line (the launch truncates the log), else step 0. */
  function resumedFrom(host: SimHost, pid: number): number {
    const key = `${host.id}:${pid}`;
    let step = resumed.get(key);
    if (step === undefined) {
      const log = host.vfs.get(logPath);
      const lines = log?.kind === 'log' ? log.lines : [];
      const line = lines.findLast((l) => RESUMED.test(l));
      step = line ? Number(RESUMED.exec(line)?.[1] ?? 0) : 0;
      resumed.set(key, step);
    }
    return step;
  }
  const startedAt = clock.now();
  const progress = new Map<string, RunProgress>(
    runs.map((r) => [r, { highWater: 0, lastGainAt: startedAt }]),
  );

  function note(run: string, validStep: number | null, at: number) {
    const p = progress.get(run);
    if (!p || validStep === null) return;
    if (validStep > p.highWater) {
      p.highWater = validStep;
      p.lastGainAt = at;
    }
  }

  return {
    samples,
    progress,
    sample() {
      const t = clock.now();
      const seen = new Set<number>();
      for (const view of world.vast.control.instances()) {
        const run = runOfLabel(view.label, runs);
        if (!run) continue;
        seen.add(view.id);
        known.set(view.id, { run, gpus: view.num_gpus, dph: view.dph_total, gone: false });
        const host = world.hosts.get(view.id);
        const status = host?.trainerStatus() ?? null;
        // A trainer still loading reports step 0 until it has read its checkpoint.
        const step = status && status.phase !== 'starting' ? status.step : null;
        const from = host && status && step !== null ? resumedFrom(host, status.pid) : null;
        const cap = status ? nanFrom.get(`${view.id}:${status.pid}`) : undefined;
        const validStep =
          step === null ? null : status?.nan && cap !== undefined ? Math.min(step, cap) : step;
        samples.push({
          t,
          instanceId: view.id,
          run,
          gpus: view.num_gpus,
          dph: view.dph_total,
          billed: BILLED.has(view.actual_status ?? ''),
          pid: status?.pid ?? null,
          step,
          resumedFrom: from,
          validStep,
        });
        note(run, validStep, t);
      }
      // Destroyed instances vanish from the listing: close their timeline once.
      for (const [id, k] of known) {
        if (seen.has(id) || k.gone) continue;
        k.gone = true;
        samples.push({
          t,
          instanceId: id,
          run: k.run,
          gpus: k.gpus,
          dph: k.dph,
          billed: false,
          pid: null,
          step: null,
          resumedFrom: null,
          validStep: null,
        });
      }
    },
    markNan(instanceId, pid, step) {
      nanFrom.set(`${instanceId}:${pid}`, step);
    },
  };
}

/** The instance a fault hits: the run's newest running instance (as the simulator's inject picks it). */
export function currentInstance(world: SimWorld, run: string): number | undefined {
  const mine = world.vast.control
    .instances()
    .filter((i) => runOfLabel(i.label, [run]) === run && i.actual_status === 'running')
    .sort((a, b) => (b.start_date ?? 0) - (a.start_date ?? 0));
  return mine[0]?.id;
}

function hostFault(kind: HostFaultKind, pct?: number): SimFault {
  switch (kind) {
    case 'stall':
      return { kind: 'stall' };
    case 'nan':
      return { kind: 'nan' };
    case 'disk_fill':
      return { kind: 'disk_fill', ...(pct !== undefined && { pct }) };
    case 'crash_oom':
      return { kind: 'crash', signature: 'oom' };
    case 'crash_nccl':
      return { kind: 'crash', signature: 'nccl' };
    case 'crash_killed':
      return { kind: 'crash', signature: 'killed' };
  }
}

export interface InjectOutcome {
  instanceId: number | null;
  applied: boolean;
  /** Why it did not apply (no running instance, no running trainer). */
  note?: string;
}

/** Applies one scheduled fault to a world now; a fault with nothing to hit is recorded, not thrown. */
export async function injectFault(
  world: SimWorld,
  recorder: WorldRecorder,
  run: string,
  fault: CampaignFaultKind,
  pct?: number,
): Promise<InjectOutcome> {
  const id = currentInstance(world, run);
  if (id === undefined) return { instanceId: null, applied: false, note: 'no running instance' };
  try {
    if (fault === 'outbid') await world.vast.control.outbid(id);
    else if (fault === 'host_gone') await world.vast.control.hostGone(id, 'offline');
    else {
      const host = world.hosts.get(id);
      const before = host?.trainerStatus();
      if (fault === 'nan' && before && before.phase === 'training') {
        recorder.markNan(id, before.pid, before.step);
      }
      // Throws when the host has no running trainer: the fault then has nothing to hit.
      world.hosts.inject(id, hostFault(fault, pct));
    }
    return { instanceId: id, applied: true };
  } catch (err) {
    return { instanceId: id, applied: false, note: (err as Error).message };
  }
}
