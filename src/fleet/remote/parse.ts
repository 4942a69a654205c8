import { z } from 'zod';
import { parseHeartbeat } from '../health/heartbeat.js';
import type { CheckpointFile, GpuSample, ProbeResult } from '../health/types.js';
import {
  PROBE_END_MARK,
  PROBE_PART_MARK,
  PROBE_PARTS,
  PROBE_RC_MARK,
  type ProbePart,
  RESTORED_MARK,
} from './commands.js';

/**
 * Parsers for what the command templates print. None of them throws: remote output is
 * untrusted, and a probe cut off halfway must still yield what it holds.
 */

export interface ProbeSection {
  output: string;
  code: number;
}

const SECTION_RE = new RegExp(
  String.raw`${PROBE_PART_MARK} ([a-z_]+)\n([\s\S]*?)\n${PROBE_RC_MARK} \1 (\d{1,3})\n`,
  'g',
);

/** The probe's sections by part name (unknown names are dropped; a cut-off last one is missing). */
export function splitProbeOutput(stdout: string): Map<ProbePart, ProbeSection> {
  const sections = new Map<ProbePart, ProbeSection>();
  for (const m of stdout.matchAll(SECTION_RE)) {
    const part = PROBE_PARTS.find((p) => p === m[1]);
    if (part && !sections.has(part)) sections.set(part, { output: m[2]!, code: Number(m[3]) });
  }
  return sections;
}

/** True when the probe ran to its end marker (else the connection dropped or output was capped). */
export function probeOutputComplete(stdout: string): boolean {
  return stdout.trimEnd().endsWith(PROBE_END_MARK);
}

export function parseProbeOutput(stdout: string): ProbeResult {
  const sections = splitProbeOutput(stdout);
  const ok = (part: ProbePart): string | null => {
    const s = sections.get(part);
    return s && s.code === 0 ? s.output : null;
  };
  const exitCodes: Record<string, number> = {};
  for (const [part, s] of sections) exitCodes[part] = s.code;

  const heartbeat = readHeartbeatSection(sections.get('heartbeat'));
  const logText = ok('log');
  return {
    hostTime: parseEpochSeconds(ok('time') ?? ''),
    heartbeat: heartbeat.heartbeat,
    heartbeatError: heartbeat.error,
    processAlive: parseAliveCode(sections.get('alive')?.code),
    gpus: parseNvidiaSmi(ok('gpu') ?? ''),
    disk: parseDf(ok('disk') ?? ''),
    checkpoints: parseCheckpointList(ok('checkpoints') ?? ''),
    logTail: logText === null ? [] : parseLines(logText),
    logMtime: parseEpochSeconds(ok('log_mtime') ?? ''),
    exitCodes,
  };
}

function readHeartbeatSection(section: ProbeSection | undefined): {
  heartbeat: ProbeResult['heartbeat'];
  error: string | null;
} {
  if (!section) return { heartbeat: null, error: 'the probe output has no heartbeat section' };
  if (section.code !== 0) {
    const why = section.output.trim().split('\n')[0] ?? '';
    return { heartbeat: null, error: why || `reading the heartbeat failed with exit code ${section.code}` };
  }
  const parsed = parseHeartbeat(section.output);
  return parsed.ok ? { heartbeat: parsed.heartbeat, error: null } : { heartbeat: null, error: parsed.error };
}

/** pgrep: 0 = found, 1 = none; anything else (127: no pgrep) says nothing. */
function parseAliveCode(code: number | undefined): boolean | null {
  if (code === 0) return true;
  if (code === 1) return false;
  return null;
}

/** Lines of text, without the empty string a final newline would leave. */
export function parseLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => l.replace(/\r$/, ''));
}

const EPOCH_SECONDS = z.coerce
  .number()
  .int()
  .nonnegative()
  .max(2 ** 40);

/** `date +%s` or `stat -c %Y`: one integer. */
export function parseEpochSeconds(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return null;
  const parsed = EPOCH_SECONDS.safeParse(trimmed);
  return parsed.success ? parsed.data : null;
}

const GpuRowSchema = z.object({
  index: z.coerce.number().int().nonnegative(),
  utilPct: z.coerce.number().min(0).max(100),
  memUsedMb: z.coerce.number().nonnegative(),
  memTotalMb: z.coerce.number().nonnegative(),
  tempC: z.coerce.number(),
});

/**
 * `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu
 * --format=csv,noheader,nounits`. A row with `[N/A]` or `[Not Supported]` in any field is dropped
 * rather than reported as zeros.
 */
export function parseNvidiaSmi(text: string): GpuSample[] {
  const gpus: GpuSample[] = [];
  for (const line of parseLines(text)) {
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length !== 5 || cells.some((c) => !/^-?\d+(\.\d+)?$/.test(c))) continue;
    const [index, utilPct, memUsedMb, memTotalMb, tempC] = cells;
    const row = GpuRowSchema.safeParse({ index, utilPct, memUsedMb, memTotalMb, tempC });
    if (row.success) gpus.push(row.data);
  }
  return gpus;
}

const DfRowSchema = z.object({
  blocks: z.coerce.number().int().positive(),
  used: z.coerce.number().int().nonnegative(),
  avail: z.coerce.number().int().nonnegative(),
});

/**
 * `df -P <path>`: the last line (a long device name never wraps with -P). usedPct is
 * used / (used + available), the share of the space a user can fill, as df's Capacity is,
 * but to one decimal rather than rounded up.
 */
export function parseDf(text: string): ProbeResult['disk'] {
  const lines = parseLines(text).filter((l) => l.trim() !== '');
  if (lines.length < 2 || !/^Filesystem\s/.test(lines[0]!)) return null;
  const cells = lines[lines.length - 1]!.trim().split(/\s+/);
  if (cells.length < 6) return null;
  // Columns from the right of the device name: blocks used available capacity mountpoint.
  const at = cells.length - 5;
  const row = DfRowSchema.safeParse({ blocks: cells[at], used: cells[at + 1], avail: cells[at + 2] });
  if (!row.success) return null;
  const { blocks, used, avail } = row.data;
  const usable = used + avail;
  return {
    usedPct: usable === 0 ? 100 : Math.round((used / usable) * 1000) / 10,
    availBytes: avail * 1024,
    totalBytes: blocks * 1024,
  };
}

const CHECKPOINT_NAME = /^[A-Za-z0-9._-]+\.pt$/;
const STEP_NAME = /^step_(\d+)\.pt$/;

const CheckpointRowSchema = z.object({
  name: z.string().regex(CHECKPOINT_NAME),
  bytes: z.coerce.number().int().nonnegative(),
});

/** `find -printf '%f %s\n'` lines, sorted: numbered checkpoints by step, then the others by name. */
export function parseCheckpointList(text: string): CheckpointFile[] {
  const files: CheckpointFile[] = [];
  for (const line of parseLines(text)) {
    const m = /^(\S+) (\d+)$/.exec(line);
    if (!m) continue;
    const row = CheckpointRowSchema.safeParse({ name: m[1], bytes: m[2] });
    if (!row.success) continue;
    const step = STEP_NAME.exec(row.data.name);
    files.push({ name: row.data.name, bytes: row.data.bytes, step: step ? Number(step[1]) : null });
  }
  return files.sort(compareCheckpoints);
}

function compareCheckpoints(a: CheckpointFile, b: CheckpointFile): number {
  if (a.step !== null && b.step !== null) return a.step - b.step;
  if (a.step !== null) return -1;
  if (b.step !== null) return 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** `pgrep` output: one pid a line. */
export function parsePids(text: string): number[] {
  return parseLines(text)
    .map((l) => l.trim())
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

/** The launch prints the trainer's pid (`echo $!`). */
export function parseLaunchPid(stdout: string): number | null {
  const pids = parsePids(stdout);
  return pids.length === 1 ? pids[0]! : null;
}

/** `configExperts`: the first `n_experts` value, or null when the config has none (dense). */
export function parseConfigExperts(stdout: string): number | null {
  const first = parseLines(stdout)
    .map((l) => l.trim())
    .find((l) => l !== '');
  return first !== undefined && /^\d+$/.test(first) ? Number(first) : null;
}

export interface RestoredCheckpoint {
  /** Absolute path of the restored checkpoint on the host. */
  path: string;
  bytes: number;
}

const RESTORED_RE = new RegExp(`^${RESTORED_MARK} (/\\S+) (\\d{1,15})$`);

/** `restoreCheckpoint`'s last line, `restored <path> <bytes>`; null when it never got there. */
export function parseRestoreOutput(stdout: string): RestoredCheckpoint | null {
  const lines = parseLines(stdout);
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const m = RESTORED_RE.exec(lines[i]!.trim());
    if (m) return { path: m[1]!, bytes: Number(m[2]) };
  }
  return null;
}
