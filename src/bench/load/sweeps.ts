import type { Queue } from 'bullmq';
import { z } from 'zod';
import { percentile } from './plan.js';

/**
 * Sweep timings read back from what the processes left behind: the monitor queue's finished jobs
 * (their return value is the sweep report) and each process's Prometheus counters.
 */

const SweepReturnSchema = z.union([
  z.object({ skipped: z.literal(true) }),
  z.looseObject({
    durationMs: z.number(),
    runs: z.array(z.looseObject({ probe: z.string() })),
  }),
]);

export interface SweepRecord {
  /** Wall-clock epoch ms the job started and finished (BullMQ's processedOn / finishedOn). */
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  runs: number;
  probesOk: number;
}

export interface SweepHistory {
  sweeps: SweepRecord[];
  /** Scheduled sweeps that found another sweep running and stood down. */
  skipped: number;
}

/** Completed sweeps, oldest first. */
export async function readSweeps(monitor: Queue): Promise<SweepHistory> {
  const jobs = await monitor.getJobs(['completed'], 0, 1000);
  const sweeps: SweepRecord[] = [];
  let skipped = 0;
  for (const job of jobs) {
    const parsed = SweepReturnSchema.safeParse(job.returnvalue);
    if (!parsed.success || job.processedOn === undefined || job.finishedOn === undefined) continue;
    if ('skipped' in parsed.data) {
      skipped++;
      continue;
    }
    sweeps.push({
      startedAt: job.processedOn,
      finishedAt: job.finishedOn,
      durationMs: parsed.data.durationMs,
      runs: parsed.data.runs.length,
      probesOk: parsed.data.runs.filter((r) => r.probe === 'ok').length,
    });
  }
  sweeps.sort((a, b) => a.startedAt - b.startedAt);
  return { sweeps, skipped };
}

export interface SweepSummary {
  count: number;
  skipped: number;
  /** The first full sweep: every connection opened from scratch. */
  firstMs: number;
  p50Ms: number;
  maxMs: number;
  /** The sweeps running while the burst arrived; NaN when none overlapped it. */
  duringBurstMs: number;
  /** Probes that answered in the last full sweep. */
  lastProbesOk: number;
  /** Pairs of sweeps whose run times overlapped: the sweep lock says this must be 0. */
  overlaps: number;
}

/** Pure: figures from completed sweeps of `hosts` runs, given the burst's wall-clock window. */
export function summariseSweeps(
  history: SweepHistory,
  hosts: number,
  burst: { start: number; end: number },
): SweepSummary {
  const full = history.sweeps.filter((s) => s.runs === hosts);
  const durations = full.map((s) => s.durationMs).sort((a, b) => a - b);
  const during = full.filter((s) => s.startedAt <= burst.end && s.finishedAt >= burst.start);
  let overlaps = 0;
  const all = history.sweeps;
  for (let i = 1; i < all.length; i++) {
    const previous = all[i - 1];
    const current = all[i];
    if (previous && current && current.startedAt < previous.finishedAt) overlaps++;
  }
  return {
    count: full.length,
    skipped: history.skipped,
    firstMs: full[0]?.durationMs ?? Number.NaN,
    p50Ms: percentile(durations, 50),
    maxMs: durations.at(-1) ?? Number.NaN,
    duringBurstMs: during.length ? Math.max(...during.map((s) => s.durationMs)) : Number.NaN,
    lastProbesOk: full.at(-1)?.probesOk ?? 0,
    overlaps,
  };
}

/** A counter or gauge's value summed over its label sets, from Prometheus text; 0 when absent. */
export function metricValue(text: string, name: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match?.[1] === name) total += Number(match[3]);
  }
  return total;
}

export interface ProcessSweeps {
  name: string;
  sweeps: number;
  meanMs: number;
  /** Resident memory of the process (MB), from its own /metrics. */
  rssMb: number;
}

/** How many sweeps each process ran, from its /metrics. */
export async function sweepsPerProcess(
  processes: readonly { name: string; port: number }[],
): Promise<ProcessSweeps[]> {
  return Promise.all(
    processes.map(async ({ name, port }) => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      const text = await res.text();
      const count = metricValue(text, 'tc_sweep_duration_seconds_count');
      const sum = metricValue(text, 'tc_sweep_duration_seconds_sum');
      const rssMb = metricValue(text, 'tc_process_process_resident_memory_bytes') / 1e6;
      return { name, sweeps: count, meanMs: count > 0 ? (sum / count) * 1000 : Number.NaN, rssMb };
    }),
  );
}

/** The bot's own ack histogram (`tc_slack_ack_seconds`): acks counted, and those within `withinS`. */
export interface ServerAcks {
  total: number;
  within: number;
}

export async function serverAcks(port: number, withinS: number): Promise<ServerAcks> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let within = 0;
  for (const line of text.split('\n')) {
    const match = /^tc_slack_ack_seconds_bucket\{([^}]*)\}\s+(\S+)/.exec(line);
    if (match && new RegExp(`(^|,)le="${withinS}"`).test(match[1] ?? '')) within += Number(match[2]);
  }
  return { total: metricValue(text, 'tc_slack_ack_seconds_count'), within };
}
