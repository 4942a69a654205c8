import type { HostCommands } from '../../../agents/healer/host-commands.js';
import type { Clock } from '../../../src/clock.js';
import { SshConnectError } from '../../../src/errors.js';
import type { CheckpointFile, ProbeResult } from '../../../src/fleet/health/types.js';
import type { RunSpec } from '../../../src/fleet/schema.js';
import type { SshTarget } from '../../../src/infra/ssh/types.js';
import type { SimHostEndpoint, SimHostPower, SimHostProvider, SimHostSpec } from '../../../src/sim/types.js';

/**
 * Training hosts in memory, for the healer and ops tests until the simulated SSH hosts exist:
 * a HostCommands the agents drive, and a SimHostProvider the simulated Vast API drives (so a
 * rented instance becomes a machine here). The trainer's step follows the injected clock.
 */

export type TrainerBehaviour = 'train' | 'stuck' | 'die';

interface Trainer {
  startedAt: number;
  fromStep: number;
  behaviour: TrainerBehaviour;
}

export interface FakeMachine {
  target: SshTarget;
  power: SimHostPower;
  reachable: boolean;
  gpuName: string;
  numGpus: number;
  diskTotalBytes: number;
  /** Bytes used by everything but the checkpoints. */
  otherBytes: number;
  files: Map<string, { bytes: number; step: number | null }>;
  /** n_experts by config path (missing = the file's real value: 8 for mosaic_small.yaml). */
  experts: Map<string, number | null>;
  trainer: Trainer | null;
  /** The heartbeat left behind by the last trainer (stale once it stopped). */
  leftover: { step: number; ts: number } | null;
  /** What the next launch will do. */
  nextBehaviour: TrainerBehaviour;
  launches: string[][];
  stops: number;
  deleted: string[];
  pinned: number;
}

export const GB = 1_000_000_000;
/** A launched trainer loads for this long, then makes one step every MS_PER_STEP. */
export const WARMUP_MS = 60_000;
export const MS_PER_STEP = 3_000;

const key = (t: SshTarget) => `${t.host}:${t.port}`;

function defaultExperts(config: string): number | null {
  if (config.endsWith('mosaic_small.yaml')) return 8;
  if (config.endsWith('mosaic_small_resume.yaml')) return 4;
  return null;
}

export interface FakeFleetHosts extends HostCommands, SimHostProvider {
  machines: Map<string, FakeMachine>;
  byInstance: Map<number, FakeMachine>;
  /** Checkpoints at backup locations: source -> step. */
  backups: Map<string, number>;
  calls: string[];
  addMachine(target: SshTarget, init?: Partial<FakeMachine>): FakeMachine;
  machine(target: SshTarget): FakeMachine;
  stepOf(m: FakeMachine): number | null;
}

export function fakeFleetHosts(clock: Clock): FakeFleetHosts {
  const machines = new Map<string, FakeMachine>();
  const byInstance = new Map<number, FakeMachine>();
  const backups = new Map<string, number>();
  const calls: string[] = [];
  let nextPort = 41_000;

  const nowS = () => Math.floor(clock.now() / 1000);

  function addMachine(target: SshTarget, init: Partial<FakeMachine> = {}): FakeMachine {
    const m: FakeMachine = {
      target,
      power: 'running',
      reachable: true,
      gpuName: 'RTX 3090',
      numGpus: 4,
      diskTotalBytes: 200 * GB,
      otherBytes: 20 * GB,
      files: new Map(),
      experts: new Map(),
      trainer: null,
      leftover: null,
      nextBehaviour: 'train',
      launches: [],
      stops: 0,
      deleted: [],
      pinned: 0,
      ...init,
    };
    machines.set(key(target), m);
    return m;
  }

  function reach(target: SshTarget): FakeMachine {
    const m = machines.get(key(target));
    if (m?.power !== 'running' || !m.reachable) {
      throw new SshConnectError(`connect ECONNREFUSED ${target.host}:${target.port}`);
    }
    return m;
  }

  function alive(m: FakeMachine): boolean {
    const t = m.trainer;
    if (!t) return false;
    return !(t.behaviour === 'die' && clock.now() - t.startedAt >= WARMUP_MS);
  }

  function stepOf(m: FakeMachine): number | null {
    const t = m.trainer;
    if (!t) return m.leftover?.step ?? null;
    const running = clock.now() - t.startedAt - WARMUP_MS;
    if (t.behaviour !== 'train' || running <= 0) return t.fromStep;
    return t.fromStep + Math.floor(running / MS_PER_STEP);
  }

  function checkpoints(m: FakeMachine): CheckpointFile[] {
    return [...m.files.entries()].map(([name, f]) => ({ name, bytes: f.bytes, step: f.step }));
  }

  function probeOf(m: FakeMachine, spec: RunSpec): ProbeResult {
    const used = m.otherBytes + [...m.files.values()].reduce((s, f) => s + f.bytes, 0);
    const t = m.trainer;
    const step = stepOf(m);
    const live = alive(m);
    const heartbeat = t && live ? { step: step ?? 0, ts: nowS() } : m.leftover;
    const logTail =
      t === null
        ? []
        : [
            `[HEARTBEAT] RESUMED step=${t.fromStep} max=${spec.target_steps} checkpoint=${spec.run_dir}/latest.pt`,
            ...(step !== null && step > t.fromStep
              ? [
                  `step  ${step}/${spec.target_steps} | loss 3.1234 | ppl 22.7 | lr 2.91e-04 | grad_norm 0.87 | 48211 tok/s`,
                ]
              : []),
            ...(t.behaviour === 'die' && !live ? ['torch.OutOfMemoryError: CUDA out of memory'] : []),
          ];
    return {
      hostTime: nowS(),
      heartbeat: heartbeat
        ? {
            step: heartbeat.step,
            loss: 3.1,
            ppl: 22.7,
            tok_s: 48_000,
            gpu_util: 97,
            disk_pct: null,
            ts: heartbeat.ts,
            pid: 4242,
            max_steps: spec.target_steps,
            model: spec.name,
          }
        : null,
      heartbeatError: heartbeat ? null : 'no heartbeat',
      processAlive: live,
      gpus: [],
      disk: {
        usedPct: Math.round((used / m.diskTotalBytes) * 1000) / 10,
        availBytes: m.diskTotalBytes - used,
        totalBytes: m.diskTotalBytes,
      },
      checkpoints: checkpoints(m),
      logTail,
      logMtime: t ? Math.max(Math.floor(t.startedAt / 1000), nowS()) : null,
      exitCodes: {},
    };
  }

  function stopTrainer(m: FakeMachine) {
    if (m.trainer) m.leftover = { step: stepOf(m) ?? 0, ts: nowS() };
    m.trainer = null;
  }

  return {
    machines,
    byInstance,
    backups,
    calls,
    addMachine,
    machine: (target) => {
      const m = machines.get(key(target));
      if (!m) throw new Error(`no machine ${key(target)}`);
      return m;
    },
    stepOf,

    // --- HostCommands ---
    async probe(target, spec) {
      return probeOf(reach(target), spec);
    },
    async stop(target) {
      const m = reach(target);
      calls.push(`stop ${key(target)}`);
      m.stops += 1;
      stopTrainer(m);
    },
    async cleanupCheckpoints(target, _spec, files) {
      const m = reach(target);
      calls.push(`cleanup ${key(target)} ${files.join(',')}`);
      for (const f of files) {
        if (!/^step_\d+\.pt$/.test(f)) throw new Error(`refusing to delete ${f}`);
        m.files.delete(f);
        m.deleted.push(f);
      }
    },
    async configExperts(target, config) {
      const m = reach(target);
      return m.experts.has(config) ? (m.experts.get(config) ?? null) : defaultExperts(config);
    },
    async launch(target, argv) {
      const m = reach(target);
      calls.push(`launch ${key(target)}`);
      m.launches.push([...argv]);
      m.trainer = {
        startedAt: clock.now(),
        fromStep: m.files.get('latest.pt')?.step ?? 0,
        behaviour: m.nextBehaviour,
      };
      return { pid: 4242 };
    },
    async logTail(target) {
      const m = reach(target);
      return [`log of ${key(m.target)}`, 'step  100/50000 | loss 3.1'];
    },
    async pinHostKey(target) {
      reach(target).pinned += 1;
      calls.push(`pin ${key(target)}`);
    },
    async copyCheckpoint(from, to) {
      const source = reach(from);
      const dest = reach(to);
      const latest = source.files.get('latest.pt');
      if (!latest) throw new Error(`no latest.pt on ${key(from)}`);
      dest.files.set('latest.pt', { ...latest });
      calls.push(`copy ${key(from)} -> ${key(to)}`);
    },
    async restoreCheckpoint(to, _spec, source) {
      const dest = reach(to);
      const step = backups.get(source);
      if (step === undefined) throw new Error(`nothing backed up at ${source}`);
      dest.files.set('latest.pt', { bytes: 4 * GB, step });
      calls.push(`restore ${source} -> ${key(to)}`);
    },
    async backupCheckpoint(from, _spec, file, destination) {
      const m = reach(from);
      const f = m.files.get(file);
      if (!f) throw new Error(`no ${file} on ${key(from)}`);
      backups.set(`${destination}/${file}`, f.step ?? 0);
      calls.push(`backup ${file} -> ${destination}`);
    },

    // --- SimHostProvider (the simulated Vast API creates and powers machines) ---
    async create(spec: SimHostSpec): Promise<SimHostEndpoint> {
      nextPort += 1;
      const target = { host: '127.0.0.1', port: nextPort };
      const m = addMachine(target, {
        power: 'stopped',
        gpuName: spec.gpuName,
        numGpus: spec.numGpus,
        diskTotalBytes: spec.diskGb * GB,
        otherBytes: 10 * GB,
      });
      byInstance.set(spec.instanceId, m);
      return {
        sshHost: target.host,
        sshPort: target.port,
        hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRlc3Qta2V5LW5vdC1yZWFs',
      };
    },
    async setPower(instanceId, power) {
      const m = byInstance.get(instanceId);
      if (!m) return;
      m.power = power;
      if (power === 'stopped') stopTrainer(m);
    },
    async destroy(instanceId) {
      const m = byInstance.get(instanceId);
      if (!m) return;
      byInstance.delete(instanceId);
      machines.delete(key(m.target));
    },
  };
}

/** Sleeping moves time forward at once: polling loops run instantly and stay deterministic. */
export function jumpingClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    speed: 1,
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason;
      now += Math.max(0, ms);
      await Promise.resolve();
    },
    advance(ms) {
      now += ms;
    },
  };
}

/** A run directory as a long-running run leaves it: numbered checkpoints plus the named ones. */
export function runFiles(step: number, sizeGb = 4.2): Map<string, { bytes: number; step: number | null }> {
  const files = new Map<string, { bytes: number; step: number | null }>();
  const bytes = Math.round(sizeGb * GB);
  for (let s = 2500; s <= step; s += 2500) files.set(`step_${s}.pt`, { bytes, step: s });
  const last = Math.floor(step / 2500) * 2500;
  files.set('latest.pt', { bytes, step: last });
  files.set('best.pt', { bytes, step: last });
  return files;
}
