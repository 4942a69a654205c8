import { describe, expect, it } from 'vitest';
import {
  classify,
  isIncidentStatus,
  STEP_HISTORY_MAX,
  severityOf,
  TOKS_HISTORY_MAX,
} from '../../../src/fleet/health/classify.js';
import { parseHeartbeat } from '../../../src/fleet/health/heartbeat.js';
import {
  HEALTH_STATUSES,
  type HealthStatus,
  type Observation,
  type ProbeOutcome,
  type RunHealth,
} from '../../../src/fleet/health/types.js';
import { ThresholdsSchema } from '../../../src/fleet/schema.js';
import type { VastInstance } from '../../../src/infra/vast/types.js';
import { HEARTBEAT_JSON, heartbeatJson, LOG, stepLine, vastInstance } from './samples.js';

/** stall 10 min, heartbeat stale 5 min, slow below 50% of median, disk 70% / 90%. */
const T = ThresholdsSchema.parse({});
/** Our clock at minute 0 of every scenario. */
const T0 = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;

interface Scene {
  /** Minutes after T0 on OUR clock. */
  atMin?: number;
  step?: number;
  loss?: string;
  tokS?: string;
  diskPct?: number;
  alive?: boolean | null;
  /** Log tail; defaults to one step line for `step`. */
  log?: string[];
  /** Raw heartbeat.json text; null = the file could not be read. Defaults to the trainer's format. */
  heartbeat?: string | null;
  /** Host clock minus our clock, seconds. */
  hostSkewS?: number;
  /** How old the heartbeat is on the host's clock. */
  heartbeatAgeS?: number;
  hostTimeKnown?: boolean;
  instance?: VastInstance | null | undefined;
  probe?: ProbeOutcome;
  paused?: boolean;
  stoppedByUs?: boolean;
  targetSteps?: number;
}

function observation(s: Scene = {}): Observation {
  const at = T0 + (s.atMin ?? 0) * MIN;
  const hostTime = Math.round(at / 1000) + (s.hostSkewS ?? 0);
  const step = s.step ?? 12340;
  const text =
    s.heartbeat === undefined
      ? heartbeatJson({
          step,
          loss: s.loss ?? '3.1234',
          tok_s: s.tokS ?? '48211.0',
          disk_pct: s.diskPct ?? 41.3,
          ts: hostTime - (s.heartbeatAgeS ?? 12),
        })
      : s.heartbeat;
  const parsed = text === null ? null : parseHeartbeat(text);
  const probe: ProbeOutcome = s.probe ?? {
    ok: true,
    result: {
      hostTime: s.hostTimeKnown === false ? null : hostTime,
      heartbeat: parsed?.ok ? parsed.heartbeat : null,
      heartbeatError: parsed === null ? 'No such file or directory' : parsed.ok ? null : parsed.error,
      processAlive: s.alive === undefined ? true : s.alive,
      gpus: [{ index: 0, utilPct: 97, memUsedMb: 20110, memTotalMb: 24576, tempC: 71 }],
      disk: { usedPct: s.diskPct ?? 41.3, availBytes: 58e9, totalBytes: 100e9 },
      checkpoints: [],
      logTail: s.log ?? [stepLine(step, s.loss === 'NaN' ? 'nan' : (s.loss ?? '3.1234'))],
      logMtime: hostTime - 30,
      exitCodes: {},
    },
  };
  return {
    run: 'mosaic_moe',
    at,
    instance: 'instance' in s ? s.instance : vastInstance(),
    probe,
    targetSteps: s.targetSteps ?? 50_000,
    paused: s.paused ?? false,
    stoppedByUs: s.stoppedByUs ?? false,
  };
}

function observe(previous: RunHealth | null, s: Scene = {}): RunHealth {
  const obs = observation(s);
  return classify(previous, obs, obs.at, T);
}

/** Folds scenes through classify() as successive sweeps; returns every result. */
function sweeps(scenes: Scene[], start: RunHealth | null = null): RunHealth[] {
  const out: RunHealth[] = [];
  let previous = start;
  for (const scene of scenes) {
    previous = observe(previous, scene);
    out.push(previous);
  }
  return out;
}

function last(scenes: Scene[]): RunHealth {
  return sweeps(scenes).at(-1)!;
}

/** Five healthy sweeps one minute apart at ~48k tok/s, step advancing: a tok/s baseline. */
function healthyHistory(startMin = 0): Scene[] {
  return [0, 1, 2, 3, 4].map((i) => ({ atMin: startMin + i, step: 12000 + i * 10 }));
}

const TIMEOUT: ProbeOutcome = {
  ok: false,
  kind: 'timeout',
  error: 'ssh: handshake timed out after 10000 ms',
};
const outbid = vastInstance({
  actual_status: 'stopped',
  cur_state: 'stopped',
  intended_status: 'stopped',
  next_state: 'stopped',
});
const GARBAGE_HEARTBEATS: [string, string][] = [
  ['truncated JSON', HEARTBEAT_JSON.slice(0, 40)],
  ['an empty file', ''],
  ['binary bytes', '\u0000\u0003\u00ff\u0010\u0000'],
  ['a JSON array', '[1, 2, 3]'],
  ['a bare NaN', 'NaN'],
  ['NaN inside a string only', '{"note": "NaN"}'],
];

describe('classify: every status from real-format host output', () => {
  const cases: [HealthStatus, string, () => RunHealth, RegExp][] = [
    ['healthy', 'step advancing, fresh heartbeat', () => observe(null), /step 12340\/50000/],
    [
      'slow',
      'tok/s under half the median of the last 5 samples',
      () => last([...healthyHistory(), { atMin: 5, step: 12050, tokS: '20000.0' }]),
      /20000 tok\/s is below 24106/,
    ],
    [
      'stalled',
      'process alive, heartbeat 5 s old, step unchanged for 11 min',
      () =>
        last([
          { atMin: 0, step: 12340 },
          { atMin: 11, step: 12340, heartbeatAgeS: 5 },
        ]),
      /step 12340 unchanged for 11 min while the process is alive \(heartbeat 5 s old\)/,
    ],
    [
      'crashed',
      'process dead without a signature',
      () => observe(null, { alive: false }),
      /process not running at step 12340; no error signature/,
    ],
    ['crashed', 'exitcode -9', () => observe(null, { alive: false, log: [LOG.step, LOG.exit9] }), /killed/],
    ['crashed', 'Killed', () => observe(null, { alive: false, log: [LOG.step, LOG.killed] }), /killed/],
    [
      'crashed',
      'no space left',
      () => observe(null, { alive: false, log: [LOG.step, LOG.diskFull] }),
      /no space left on device/,
    ],
    [
      'crashed',
      'no kernel image (RTX 5090)',
      () => observe(null, { alive: false, log: [LOG.noKernel] }),
      /not supported by this PyTorch build/,
    ],
    [
      'crashed',
      'exit after SIGTERM',
      () => observe(null, { alive: false, log: [LOG.step, LOG.sigterm] }),
      /SIGTERM/,
    ],
    [
      'oom',
      'CUDA out of memory',
      () => observe(null, { alive: false, log: [LOG.step, LOG.oom] }),
      /out of memory/,
    ],
    [
      'nccl_hang',
      'watchdog and process dead',
      () => observe(null, { alive: false, log: [LOG.step, LOG.nccl] }),
      /NCCL collective timed out/,
    ],
    [
      'nccl_hang',
      'watchdog, process alive, step frozen',
      () =>
        last([
          { atMin: 0, step: 12340 },
          { atMin: 2, step: 12340, log: [LOG.step, LOG.nccl] },
        ]),
      /step 12340 frozen/,
    ],
    ['nan', 'NaN token in the heartbeat, process alive', () => observe(null, { loss: 'NaN' }), /loss is NaN/],
    [
      'nan',
      'loss nan in the log, heartbeat stale',
      () => observe(null, { heartbeatAgeS: 900, step: 12340, log: [LOG.step, LOG.nanStep] }),
      /loss is NaN at step 12350/,
    ],
    [
      'nan',
      'process died after an eval with loss nan',
      () => observe(null, { alive: false, log: [LOG.step, '  EVAL step 12340: loss=nan ppl=nan'] }),
      /died after NaN loss/,
    ],
    ['disk_warning', 'df 75%', () => observe(null, { diskPct: 75 }), /disk 75% used \(warning at 70%\)/],
    ['disk_critical', 'df 95%', () => observe(null, { diskPct: 95 }), /disk 95% used \(critical at 90%\)/],
    ['unreachable', 'SSH timeout on a running instance', () => observe(null, { probe: TIMEOUT }), /timeout/],
    [
      'unreachable',
      'static host (no Vast record) refusing SSH',
      () =>
        observe(null, { instance: undefined, probe: { ok: false, kind: 'refused', error: 'ECONNREFUSED' } }),
      /refused/,
    ],
    [
      'preempted',
      'instance vanished from the list',
      () => observe(null, { instance: null, probe: { ok: null } }),
      /gone from the Vast instance list/,
    ],
    [
      'preempted',
      'outbid bid instance',
      () => observe(null, { instance: outbid, probe: { ok: null } }),
      /outbid/,
    ],
    [
      'preempted',
      'instance exited',
      () => observe(null, { instance: vastInstance({ actual_status: 'exited' }), probe: { ok: null } }),
      /exited and will not return/,
    ],
    [
      'provisioning',
      'instance loading',
      () =>
        observe(null, {
          instance: vastInstance({ actual_status: 'loading', status_msg: 'Pulling image' }),
          probe: { ok: null },
        }),
      /instance 31337 is loading: Pulling image/,
    ],
    [
      'provisioning',
      'actual_status not reported yet',
      () => observe(null, { instance: vastInstance({ actual_status: null }), probe: { ok: null } }),
      /not yet reported/,
    ],
    [
      'provisioning',
      'stopped by us (not an outbid)',
      () => observe(null, { instance: outbid, stoppedByUs: true, probe: { ok: null } }),
      /stopped/,
    ],
    [
      'complete',
      'target step reached and process exited',
      () => observe(null, { step: 50000, alive: false, log: [stepLine(50000), LOG.complete] }),
      /training complete at step 50000\/50000, best val loss 2.9876/,
    ],
    [
      'complete',
      '"Training complete" in the log below the configured target',
      () =>
        observe(null, {
          step: 40000,
          alive: false,
          log: [stepLine(40000, '3.01', 48211, 40000), LOG.complete],
        }),
      /training complete/,
    ],
    ['paused', 'team paused supervision', () => observe(null, { paused: true }), /paused/],
    [
      'unknown',
      'garbage heartbeat and no step in the log',
      () => observe(null, { heartbeat: '{"step": 12', log: [] }),
      /nothing usable from the host: heartbeat is not valid JSON/,
    ],
    [
      'unknown',
      'not probed and no instance on record',
      () => observe(null, { instance: undefined, probe: { ok: null } }),
      /no instance on record/,
    ],
  ];

  it.each(cases)('%s: %s', (status, _label, run, reason) => {
    const health = run();
    expect(health.status).toBe(status);
    expect(health.severity).toBe(severityOf(status));
    expect(health.reason).toMatch(reason);
  });

  it('covers every status in HEALTH_STATUSES', () => {
    expect(new Set(cases.map(([status]) => status))).toEqual(new Set(HEALTH_STATUSES));
  });
});

describe('classify: precedence (first match wins)', () => {
  const cases: [string, HealthStatus, () => RunHealth][] = [
    [
      'paused > preempted',
      'paused',
      () => observe(null, { paused: true, instance: null, probe: { ok: null } }),
    ],
    ['preempted > unreachable', 'preempted', () => observe(null, { instance: outbid, probe: TIMEOUT })],
    [
      'provisioning > unreachable',
      'provisioning',
      () => observe(null, { instance: vastInstance({ actual_status: 'loading' }), probe: TIMEOUT }),
    ],
    [
      'unreachable > complete (a finished run whose instance stops answering)',
      'unreachable',
      () => observe(observe(null, { step: 50000, alive: false }), { atMin: 1, probe: TIMEOUT }),
    ],
    [
      'complete > nan',
      'complete',
      () => observe(null, { step: 50000, loss: 'NaN', alive: false, log: [stepLine(50000, 'nan')] }),
    ],
    ['nan > oom', 'nan', () => observe(null, { loss: 'NaN', alive: false, log: [LOG.nanStep, LOG.oom] })],
    [
      'nccl_hang > stalled',
      'nccl_hang',
      () =>
        last([
          { atMin: 0, step: 12340 },
          { atMin: 15, step: 12340, log: [LOG.step, LOG.nccl] },
        ]),
    ],
    [
      'stalled > disk_critical',
      'stalled',
      () =>
        last([
          { atMin: 0, step: 12340 },
          { atMin: 12, step: 12340, diskPct: 95 },
        ]),
    ],
    ['crashed > disk_critical', 'crashed', () => observe(null, { alive: false, diskPct: 95 })],
    [
      'disk_critical > unknown (a full disk truncates the heartbeat)',
      'disk_critical',
      () => observe(null, { heartbeat: '', log: [], diskPct: 96 }),
    ],
    ['unknown > disk_warning', 'unknown', () => observe(null, { heartbeat: '', log: [], diskPct: 75 })],
    [
      'disk_warning > slow',
      'disk_warning',
      () => last([...healthyHistory(), { atMin: 5, step: 12050, tokS: '1000.0', diskPct: 80 }]),
    ],
  ];

  it.each(cases)('%s', (_label, status, run) => {
    expect(run().status).toBe(status);
  });

  it('the last signature decides between oom and crashed', () => {
    expect(observe(null, { alive: false, log: [LOG.step, LOG.exit9, LOG.oom] }).status).toBe('oom');
    expect(observe(null, { alive: false, log: [LOG.step, LOG.oom, LOG.exit9] }).status).toBe('crashed');
  });

  it('ignores a failure signature older than a later RESUMED line', () => {
    const log = [LOG.step, LOG.oom, LOG.resumed, stepLine(10010)];
    expect(observe(null, { step: 10010, log }).status).toBe('healthy');
    expect(observe(null, { step: 10010, alive: false, log }).reason).toMatch(/no error signature/);
  });

  it('a watchdog line while the step still advances is not a hang', () => {
    const [, second] = sweeps([
      { atMin: 0, step: 12340 },
      { atMin: 1, step: 12350, log: [LOG.nccl, stepLine(12350)] },
    ]);
    expect(second?.status).toBe('healthy');
  });
});

describe('classify: stall detection uses step progress on our clock, not heartbeat freshness', () => {
  it('turns stalled at stall_minutes although every heartbeat is seconds old, and recovers', () => {
    const results = sweeps([
      { atMin: 0, step: 12340, heartbeatAgeS: 3 },
      { atMin: 5, step: 12340, heartbeatAgeS: 4 },
      { atMin: 9, step: 12340, heartbeatAgeS: 2 },
      { atMin: 10, step: 12340, heartbeatAgeS: 7 },
      { atMin: 13, step: 12340, heartbeatAgeS: 1 },
      { atMin: 14, step: 12350, heartbeatAgeS: 1 },
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'healthy',
      'healthy',
      'healthy',
      'stalled',
      'stalled',
      'healthy',
    ]);
    expect(results[3]!.heartbeatAgeS).toBe(7);
    expect(results[3]!.stepChangedAt).toBe(T0);
    expect(results[3]!.since).toBe(T0 + 10 * MIN);
    expect(results[4]!.since).toBe(T0 + 10 * MIN);
    expect(results[5]!.since).toBe(T0 + 14 * MIN);
    expect(results[5]!.stepChangedAt).toBe(T0 + 14 * MIN);
  });

  it('keeps measuring a stall across a brief unreachable spell', () => {
    const results = sweeps([
      { atMin: 0, step: 12340 },
      { atMin: 4, probe: TIMEOUT },
      { atMin: 11, step: 12340 },
    ]);
    expect(results.map((r) => r.status)).toEqual(['healthy', 'unreachable', 'stalled']);
    expect(results[1]!.step).toBe(12340);
  });

  it('a dead process is not stalled (it is crashed)', () => {
    const results = sweeps([
      { atMin: 0, step: 12340 },
      { atMin: 20, step: 12340, alive: false, heartbeatAgeS: 1200 },
    ]);
    expect(results[1]!.status).toBe('crashed');
  });

  it('a step that went back (resume from an earlier checkpoint) counts as a change', () => {
    const results = sweeps([
      { atMin: 0, step: 12340 },
      { atMin: 11, step: 10000, log: [LOG.resumed] },
    ]);
    expect(results[1]!.status).toBe('healthy');
    expect(results[1]!.stepChangedAt).toBe(T0 + 11 * MIN);
  });

  it('a single probe timeout right after healthy is already unreachable (no suppression)', () => {
    const [healthy, next] = sweeps([{ atMin: 0 }, { atMin: 1, probe: TIMEOUT }]);
    expect(healthy!.status).toBe('healthy');
    expect(next).toMatchObject({ status: 'unreachable', severity: 'warning', processAlive: null });
    expect(isIncidentStatus(next!.status)).toBe(true);
  });
});

describe('classify: clock skew (the host clock is hours off ours)', () => {
  it.each([
    ['5 h ahead', 5 * 3600],
    ['3 h behind', -3 * 3600],
  ])('measures heartbeat age on the host clock when the host is %s', (_label, skew) => {
    const health = observe(null, { hostSkewS: skew, heartbeatAgeS: 20 });
    expect(health.heartbeatAgeS).toBe(20);
    expect(health.status).toBe('healthy');
  });

  it('judges liveness from the host clock when the process check failed', () => {
    const fresh = observe(null, { hostSkewS: 5 * 3600, heartbeatAgeS: 20, alive: null });
    expect(fresh).toMatchObject({ processAlive: true, status: 'healthy' });
    const stale = observe(null, { hostSkewS: -3 * 3600, heartbeatAgeS: 600, alive: null });
    expect(stale).toMatchObject({ processAlive: false, status: 'crashed' });
  });

  it('never falls back to our clock for the age when the host time is missing', () => {
    const health = observe(null, { hostSkewS: 5 * 3600, hostTimeKnown: false });
    expect(health.heartbeatAgeS).toBeNull();
    expect(health.status).toBe('healthy');
  });

  it('measures stalls on our clock whatever the host clock does', () => {
    const results = sweeps([
      { atMin: 0, step: 12340, hostSkewS: 0 },
      // The host's clock jumps back two hours (NTP step) while training hangs.
      { atMin: 11, step: 12340, hostSkewS: -2 * 3600 },
    ]);
    expect(results[1]!.status).toBe('stalled');
  });
});

describe('classify: garbage from the host never throws', () => {
  it.each(GARBAGE_HEARTBEATS)('%s with no step in the log is unknown', (_label, text) => {
    for (const alive of [true, false, null]) {
      const health = observe(null, { heartbeat: text, log: [], alive });
      expect(health.status).toBe('unknown');
      expect(health.reason).toMatch(/nothing usable/);
      expect(health.step).toBeNull();
    }
  });

  it('a missing heartbeat with a binary log tail is unknown', () => {
    expect(observe(null, { heartbeat: null, log: ['\u0000\u0001\u0002', ''] }).status).toBe('unknown');
  });

  it('falls back to the log when the heartbeat is garbage but the log has steps', () => {
    const health = observe(null, { heartbeat: HEARTBEAT_JSON.slice(0, 30), log: [stepLine(12330)] });
    expect(health).toMatchObject({ status: 'healthy', step: 12330, loss: 3.1234, heartbeatAgeS: null });
  });

  it('a NaN heartbeat loss survives a JSON round trip as null plus lossIsNaN', () => {
    const health = observe(null, { loss: 'NaN' });
    const stored = JSON.parse(JSON.stringify(health)) as RunHealth;
    expect(stored).toMatchObject({ loss: null, lossIsNaN: true, status: 'nan' });
  });
});

describe('classify: carried state', () => {
  it('caps tokSHistory and stepHistory', () => {
    const scenes: Scene[] = Array.from({ length: STEP_HISTORY_MAX + 10 }, (_, i) => ({
      atMin: i,
      step: 1000 + i * 10,
    }));
    const health = last(scenes);
    expect(health.tokSHistory).toHaveLength(TOKS_HISTORY_MAX);
    expect(health.stepHistory).toHaveLength(STEP_HISTORY_MAX);
    expect(health.stepHistory.at(-1)).toEqual([
      T0 + (STEP_HISTORY_MAX + 9) * MIN,
      1000 + (STEP_HISTORY_MAX + 9) * 10,
    ]);
  });

  it('drops step samples older than 24 h', () => {
    const first = observe(null, { atMin: 0, step: 100 });
    const dayLater = observe(first, { atMin: 24 * 60 + 1, step: 200 });
    expect(dayLater.stepHistory).toEqual([[T0 + (24 * 60 + 1) * MIN, 200]]);
  });

  it('starts a new tok/s baseline on a new instance, so a slower GPU is not "slow"', () => {
    const before = last(healthyHistory());
    const moved = observe(before, {
      atMin: 30,
      step: 12050,
      tokS: '20000.0',
      instance: vastInstance({ id: 99, gpu_name: 'RTX 4090' }),
    });
    expect(moved.status).toBe('healthy');
    expect(moved.tokSHistory).toEqual([20000]);
    expect(moved.instanceId).toBe(99);
    const sameHost = observe(before, { atMin: 30, step: 12050, tokS: '20000.0' });
    expect(sameHost.status).toBe('slow');
  });

  it('needs 5 earlier tok/s samples before calling a run slow', () => {
    const scenes = [...healthyHistory().slice(0, 4), { atMin: 4, step: 12040, tokS: '1000.0' }];
    expect(last(scenes).status).toBe('healthy');
  });

  it('keeps a complete run complete once its instance is released', () => {
    const done = observe(null, { step: 50000, alive: false, log: [stepLine(50000), LOG.complete] });
    const released = observe(done, { atMin: 30, instance: null, probe: { ok: null } });
    expect(released).toMatchObject({ status: 'complete', since: T0, step: 50000 });
  });
});

describe('severityOf / isIncidentStatus', () => {
  it('healthy, provisioning, complete, paused and unknown are not incidents; everything else is', () => {
    const quiet = HEALTH_STATUSES.filter((s) => !isIncidentStatus(s));
    expect(quiet.sort()).toEqual(['complete', 'healthy', 'paused', 'provisioning', 'unknown']);
    for (const s of quiet.filter((q) => q !== 'unknown')) expect(severityOf(s)).toBe('info');
  });

  it('rates failures that stop training critical', () => {
    for (const s of [
      'stalled',
      'crashed',
      'oom',
      'nccl_hang',
      'nan',
      'disk_critical',
      'preempted',
    ] as const) {
      expect(severityOf(s)).toBe('critical');
    }
    for (const s of ['slow', 'disk_warning', 'unreachable', 'unknown'] as const) {
      expect(severityOf(s)).toBe('warning');
    }
  });
});
