import type { Clock } from '../../src/clock.js';
import { errorMessage } from '../../src/errors.js';
import { classify } from '../../src/fleet/health/classify.js';
import type { Observation, ProbeOutcome, ProbeResult, RunHealth } from '../../src/fleet/health/types.js';
import { recurringDecision } from '../../src/fleet/policy/recurring.js';
import type { Fleet, RunSpec } from '../../src/fleet/schema.js';
import type { Metrics } from '../../src/http/metrics.js';
import { classifySshError } from '../../src/infra/ssh/classify.js';
import type { SshPool, SshTarget } from '../../src/infra/ssh/types.js';
import type { VastClient } from '../../src/infra/vast/client.js';
import type { VastInstance } from '../../src/infra/vast/types.js';
import type { Logger } from '../../src/logger.js';
import { buildStatusSnapshot, writeStatusJson } from '../../src/state/exports.js';
import type { Store } from '../../src/state/store.js';
import type { RunState } from '../../src/state/types.js';
import type { IncidentEvents } from './events.js';
import { journalTypeFor, planIncidents } from './incident-plan.js';

/** The probe command and its parser: one read-only round trip per host per sweep. */
export interface ProbeSpec {
  command(run: RunSpec, fleet: Fleet): string;
  parse(stdout: string): ProbeResult;
}

export interface SweepDeps {
  fleet: Fleet;
  store: Store;
  vast: Pick<VastClient, 'listInstances' | 'getInstance'> | null;
  ssh: Pick<SshPool, 'exec'>;
  probe: ProbeSpec;
  clock: Clock;
  logger: Logger;
  events: IncidentEvents;
  stateDir: string | null;
  metrics?: Metrics;
  probeTimeoutMs?: number;
  /**
   * A run reached its target and still holds an instance (which bills until released): called on
   * every such sweep; the callee decides whether to ask (see `proposeFinish`).
   */
  onComplete?: (health: RunHealth, state: RunState) => Promise<unknown>;
}

export interface RunSweepResult {
  run: string;
  status: RunHealth['status'];
  probe: 'ok' | 'failed' | 'skipped';
  error?: string;
}

export interface SweepReport {
  at: number;
  durationMs: number;
  runs: RunSweepResult[];
  /** Set when the Vast list failed: the sweep went on with what it had. */
  vastError?: string;
  opened: string[];
  resolved: string[];
  escalated: string[];
}

const LABEL_PREFIX = 'tc-';

/** The instance our label scheme says belongs to `run`, newest first, when none is on record. */
function adoptInstance(run: string, instances: readonly VastInstance[]): VastInstance | undefined {
  const mine = instances.filter((i) => i.label?.startsWith(`${LABEL_PREFIX}${run}-`));
  return mine.sort((a, b) => (b.start_date ?? 0) - (a.start_date ?? 0))[0];
}

function emptyRunState(run: string): RunState {
  return {
    run,
    instanceId: null,
    sshHost: null,
    sshPort: null,
    gpuName: null,
    numGpus: null,
    costPerHr: 0,
    startedAt: null,
    costAccrued: 0,
    paused: false,
    stoppedByUs: false,
    complete: false,
  };
}

/** Where to SSH for a run: its static host, else its Vast instance, else the last known address. */
function sshTarget(
  spec: RunSpec,
  state: RunState,
  instance: VastInstance | null | undefined,
): SshTarget | null {
  if (spec.host) return { host: spec.host.host, port: spec.host.port, user: spec.host.user };
  if (instance?.ssh_host && instance.ssh_port) return { host: instance.ssh_host, port: instance.ssh_port };
  if (instance === undefined && state.sshHost && state.sshPort)
    return { host: state.sshHost, port: state.sshPort };
  return null;
}

function refreshRunState(
  spec: RunSpec,
  state: RunState,
  instance: VastInstance | null | undefined,
  now: number,
): RunState {
  if (spec.host) {
    return {
      ...state,
      sshHost: spec.host.host,
      sshPort: spec.host.port,
      gpuName: spec.host.gpu_name,
      numGpus: spec.host.num_gpus,
      costPerHr: spec.host.cost_per_hr,
      startedAt: state.startedAt ?? now,
    };
  }
  if (!instance) return state;
  return {
    ...state,
    instanceId: instance.id,
    sshHost: instance.ssh_host,
    sshPort: instance.ssh_port,
    gpuName: instance.gpu_name,
    numGpus: instance.num_gpus,
    costPerHr: instance.dph_total,
    startedAt: state.startedAt ?? (instance.start_date ? instance.start_date * 1000 : now),
  };
}

export async function probeRun(
  deps: Pick<SweepDeps, 'ssh' | 'probe' | 'fleet' | 'probeTimeoutMs'>,
  spec: RunSpec,
  target: SshTarget,
): Promise<ProbeOutcome> {
  try {
    const result = await deps.ssh.exec(target, deps.probe.command(spec, deps.fleet), {
      timeoutMs: deps.probeTimeoutMs ?? 15_000,
      maxOutputBytes: 512 * 1024,
    });
    return { ok: true, result: deps.probe.parse(result.stdout) };
  } catch (err) {
    return { ok: false, kind: classifySshError(err), error: errorMessage(err) };
  }
}

/**
 * One sweep: one Vast list call, one probe per run in parallel over the pool, classify, store,
 * open/resolve incidents, rewrite status.json. A failure of one part never stops the others.
 */
export async function sweep(deps: SweepDeps, only?: readonly string[]): Promise<SweepReport> {
  const { fleet, store, clock, logger } = deps;
  const started = clock.now();
  const realStart = performance.now();
  const report: SweepReport = {
    at: started,
    durationMs: 0,
    runs: [],
    opened: [],
    resolved: [],
    escalated: [],
  };

  let instances: VastInstance[] | null = null;
  if (deps.vast && fleet.runs.some((r) => !r.host)) {
    try {
      instances = await deps.vast.listInstances();
    } catch (err) {
      report.vastError = errorMessage(err);
      logger.warn({ err: report.vastError }, 'vast list failed: sweeping with what we have');
    }
  }

  const runs = fleet.runs.filter((r) => !only || only.includes(r.name));
  report.runs = await Promise.all(
    runs.map((spec) =>
      sweepRun(deps, spec, instances, report).catch((err): RunSweepResult => {
        logger.error({ err: errorMessage(err), run: spec.name }, 'sweep of one run failed');
        return { run: spec.name, status: 'unknown', probe: 'failed', error: errorMessage(err) };
      }),
    ),
  );

  if (deps.metrics) {
    const states = await Promise.all(runs.map((r) => store.getRunState(r.name)));
    deps.metrics.fleetDollarsPerHour.set(states.reduce((sum, st) => sum + (st?.costPerHr ?? 0), 0));
    deps.metrics.incidentsOpen.set((await store.incidents.listOpen()).length);
  }
  if (deps.stateDir) {
    try {
      await exportStatus(deps);
      await store.journal.exportJournal(deps.stateDir);
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'export of status.json/journal.jsonl failed');
    }
  }
  const now = clock.now();
  await store.setMeta('last_sweep', String(now));
  report.durationMs = performance.now() - realStart;
  deps.metrics?.sweepDuration.observe(report.durationMs / 1000);
  deps.metrics?.sweepsTotal.inc({ outcome: report.vastError ? 'partial' : 'ok' });
  return report;
}

async function sweepRun(
  deps: SweepDeps,
  spec: RunSpec,
  instances: VastInstance[] | null,
  report: SweepReport,
): Promise<RunSweepResult> {
  const { store, clock, fleet } = deps;
  let state = (await store.getRunState(spec.name)) ?? emptyRunState(spec.name);
  const originalInstanceId = state.instanceId;

  // What the Vast list says of this run: a record, null (on record but gone), or undefined (unknown).
  let instance: VastInstance | null | undefined;
  if (!spec.host && instances) {
    instance =
      state.instanceId !== null
        ? (instances.find((i) => i.id === state.instanceId) ?? null)
        : (adoptInstance(spec.name, instances) ?? undefined);
  }

  const target = sshTarget(spec, state, instance);
  const running = spec.host !== undefined || instance === undefined || instance?.actual_status === 'running';
  let probe: ProbeOutcome = { ok: null };
  if (target && running && !state.paused) {
    probe = await probeRun(deps, spec, target);
    // The instance may have vanished between the list and the probe: ask again before blaming SSH.
    if (probe.ok === false && instance && deps.vast) {
      instance = await deps.vast.getInstance(instance.id).catch(() => instance);
    }
  }

  const now = clock.now();
  state = refreshRunState(spec, state, instance, now);
  const observation: Observation = {
    run: spec.name,
    at: now,
    instance,
    probe,
    targetSteps: spec.target_steps,
    paused: state.paused,
    stoppedByUs: state.stoppedByUs,
  };
  const previous = await store.getHealth(spec.name);
  const health = classify(previous, observation, now, fleet.thresholds);
  // Ops owns the instance assignment: if a migration switched the run while we probed, our view
  // is of the old instance and must not overwrite the new one (compare-and-set on the instance).
  const latest = await store.getRunState(spec.name);
  const written = await store.putObservationIfInstance(
    {
      ...state,
      paused: latest?.paused ?? state.paused,
      stoppedByUs: latest?.stoppedByUs ?? state.stoppedByUs,
    },
    health,
    originalInstanceId,
  );
  if (!written) {
    return {
      run: spec.name,
      status: health.status,
      probe: 'skipped',
      error: 'instance changed during the sweep',
    };
  }
  if (health.step !== null) deps.metrics?.runStep.set({ run: spec.name }, health.step);
  if (health.status === 'complete' && !latest?.complete && state.instanceId !== null && deps.onComplete) {
    await deps
      .onComplete(health, state)
      .catch((err: unknown) =>
        deps.logger.warn({ err, run: spec.name }, 'could not propose releasing a finished run'),
      );
  }
  if (probe.ok === false) deps.metrics?.probeFailures.inc({ kind: probe.kind });

  await applyIncidents(deps, health, probe, report);
  return {
    run: spec.name,
    status: health.status,
    probe: probe.ok === null ? 'skipped' : probe.ok ? 'ok' : 'failed',
    ...(probe.ok === false && { error: probe.error }),
  };
}

async function applyIncidents(deps: SweepDeps, health: RunHealth, probe: ProbeOutcome, report: SweepReport) {
  const { store, fleet, clock } = deps;
  const incidents = store.incidents;
  const open = await incidents.listOpen({ run: health.run });
  const plan = planIncidents(health, open);

  if (probe.ok === false && probe.kind === 'host_key') {
    const { incident, opened } = await incidents.openOrUpdate({
      run: health.run,
      kind: 'host_key_changed',
      severity: 'critical',
      message: `SSH host key changed: connection refused. ${probe.error}`,
    });
    if (opened) {
      await store.journal.append({ type: 'HOST_KEY_CHANGED', model: health.run, message: incident.message });
      report.opened.push(incident.id);
      await deps.events.publish({ incident, change: 'opened' });
    }
  }

  for (const stale of plan.resolve) {
    const resolved = await incidents.resolve(stale.id);
    if (!resolved?.resolved) continue;
    await store.journal.append({
      type: 'RESOLVED',
      model: health.run,
      message: `${stale.kind} resolved: run is ${health.status}`,
      details: { incident: stale.id, kind: stale.kind, count: stale.count },
    });
    report.resolved.push(stale.id);
    await deps.events.publish({ incident: resolved.incident, change: 'resolved' });
  }

  if (!plan.open) return;
  const { incident, opened } = await incidents.openOrUpdate({
    run: health.run,
    kind: plan.open.kind,
    severity: plan.open.severity,
    message: plan.open.message,
  });
  if (!opened) return;
  await store.journal.append({
    type: journalTypeFor(plan.open.kind, plan.open.message),
    model: health.run,
    message: plan.open.message,
    details: { incident: incident.id, step: health.step, severity: incident.severity },
  });
  deps.metrics?.incidentsOpened.inc({ kind: incident.kind, severity: incident.severity });
  report.opened.push(incident.id);
  await deps.events.publish({ incident, change: 'opened' });

  const windowMs = fleet.thresholds.recurring_window_hours * 3_600_000;
  const past = (await incidents.history(health.run, plan.open.kind, clock.now() - windowMs)).filter(
    (t) => t !== incident.firstSeen,
  );
  const decision = recurringDecision(past, clock.now(), fleet.thresholds);
  if (decision.escalate && !incident.escalated) {
    const escalated = (await incidents.markEscalated(incident.id)) ?? incident;
    await store.journal.append({
      type: 'ESCALATION',
      model: health.run,
      message: `${plan.open.kind} happened ${decision.count} times in ${decision.windowHours} h: a human should look`,
      details: { incident: incident.id, kind: plan.open.kind, count: decision.count, occurrences: past },
    });
    report.escalated.push(incident.id);
    await deps.events.publish({ incident: escalated, change: 'escalated' });
  }
}

/** Rewrites status.json from the store. */
export async function exportStatus(
  deps: Pick<SweepDeps, 'fleet' | 'store' | 'clock' | 'stateDir'>,
): Promise<void> {
  if (!deps.stateDir) return;
  const names = deps.fleet.runs.map((r) => r.name);
  const healths = await deps.store.listHealth(names);
  const runs = await Promise.all(
    deps.fleet.runs.map(async (spec) => ({
      spec,
      state: await deps.store.getRunState(spec.name),
      health: healths.get(spec.name) ?? null,
    })),
  );
  await writeStatusJson(deps.stateDir, buildStatusSnapshot({ runs, now: deps.clock.now() }));
}
