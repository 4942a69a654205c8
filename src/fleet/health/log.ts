import type { ErrorSignature } from './types.js';

/**
 * Parsing `/workspace/training.log` lines (DESIGN.md "What the training hosts look like").
 * Numbers printed by Python as `nan`, `inf` or `-inf` parse to NaN/±Infinity in a parsed line;
 * the summary, which is stored and exported, turns them into null plus `lossIsNaN`.
 */

export interface StepLine {
  kind: 'step';
  step: number;
  max: number;
  /** May be NaN or ±Infinity when the trainer printed `nan`/`inf`. */
  loss: number;
  ppl: number | null;
  lr: number | null;
  gradNorm: number | null;
  /** Cumulative average since the process started, not the current rate. */
  tokS: number | null;
  /** MoE load-balancing loss; absent for dense models. */
  aux: number | null;
}

export interface ResumedLine {
  kind: 'resumed';
  step: number;
  max: number;
  checkpoint: string;
}

export interface EvalLine {
  kind: 'eval';
  step: number;
  loss: number;
  ppl: number | null;
}

export interface PlateauLine {
  kind: 'plateau';
  message: string;
}

export interface SigtermLine {
  kind: 'sigterm';
}

export interface CompleteLine {
  kind: 'complete';
  bestValLoss: number | null;
}

export interface ErrorLine {
  kind: 'error';
  signature: ErrorSignature;
  text: string;
}

export interface OtherLine {
  kind: 'other';
  text: string;
}

export type LogLine =
  | StepLine
  | ResumedLine
  | EvalLine
  | PlateauLine
  | SigtermLine
  | CompleteLine
  | ErrorLine
  | OtherLine;

/** What the tail of the log says about the current attempt. All numbers are finite or null. */
export interface LogSummary {
  lastStep: number | null;
  maxSteps: number | null;
  /** Loss of the last step line; null when none or when it was non-finite. */
  lastLoss: number | null;
  /** The last step line's loss was NaN or infinite. */
  lossIsNaN: boolean;
  /** tok/s of the last step line (a cumulative average). */
  lastTokS: number | null;
  /** The last failure signature after the last RESUMED line (older ones belong to a past attempt). */
  errorSignature: ErrorSignature | null;
  /** The line that carried `errorSignature`, for reasons and alerts. */
  errorLine: string | null;
  /** Step of the last RESUMED line, if any. */
  resumedAt: number | null;
  complete: boolean;
  bestValLoss: number | null;
  sigterm: boolean;
}

const NUMBER = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)`;

const STEP_RE = /^step\s+(\d+)\s*\/\s*(\d+)\s*\|(.*)$/;
const RESUMED_RE = /\[HEARTBEAT\]\s+RESUMED\s+step=(\d+)\s+max=(\d+)\s+checkpoint=(\S+)/;
const EVAL_RE = new RegExp(String.raw`^EVAL step (\d+):\s*loss=(${NUMBER})(?:\s+ppl=(${NUMBER}))?`, 'i');
const PLATEAU_RE = /^PLATEAU DETECTED:?\s*(.*)$/;
const SIGTERM_RE = /^\[SIGTERM\]/;
const COMPLETE_RE = new RegExp(String.raw`^Training complete\.(?:\s*Best val loss:\s*(${NUMBER}))?`);
/** torchrun prefixes worker output with `[rank0]:` (or `[default0]:`) in some modes. */
const RANK_PREFIX_RE = /^\[(?:rank|default)\d+\]:\s*/;

/** Order matters only for lines carrying two signatures; the more specific cause comes first. */
const SIGNATURE_PATTERNS: readonly [ErrorSignature, RegExp][] = [
  ['oom', /OutOfMemoryError|CUDA out of memory/],
  ['nccl_hang', /Watchdog caught collective operation timeout/],
  ['no_kernel_image', /no kernel image is available for execution on the device/],
  ['disk_full', /No space left on device/],
  ['nan', /\bloss[\s=:]+-?nan\b/i],
  ['killed', /exitcode\s*:\s*-9\b|\bKilled\b/],
];

export function parseLogLine(line: string): LogLine {
  const text = line.replace(/\r/g, '').trimEnd();
  const body = text.trimStart().replace(RANK_PREFIX_RE, '');

  const step = parseStepLine(body);
  if (step !== null) return step;

  const resumed = RESUMED_RE.exec(body);
  if (resumed) {
    return { kind: 'resumed', step: Number(resumed[1]), max: Number(resumed[2]), checkpoint: resumed[3]! };
  }

  const evalLine = EVAL_RE.exec(body);
  if (evalLine) {
    return {
      kind: 'eval',
      step: Number(evalLine[1]),
      loss: parseNumber(evalLine[2]!),
      ppl: evalLine[3] === undefined ? null : parseNumber(evalLine[3]),
    };
  }

  const plateau = PLATEAU_RE.exec(body);
  if (plateau) return { kind: 'plateau', message: plateau[1] ?? '' };
  if (SIGTERM_RE.test(body)) return { kind: 'sigterm' };

  const complete = COMPLETE_RE.exec(body);
  if (complete) {
    const best = complete[1] === undefined ? null : parseNumber(complete[1]);
    return { kind: 'complete', bestValLoss: best !== null && Number.isFinite(best) ? best : null };
  }

  for (const [signature, pattern] of SIGNATURE_PATTERNS) {
    if (pattern.test(body)) return { kind: 'error', signature, text: body };
  }
  return { kind: 'other', text };
}

function parseStepLine(body: string): StepLine | null {
  const head = STEP_RE.exec(body);
  if (!head) return null;
  const fields = parseStepFields(head[3]!);
  const loss = fields.get('loss');
  if (loss === undefined) return null;
  return {
    kind: 'step',
    step: Number(head[1]),
    max: Number(head[2]),
    loss,
    ppl: fields.get('ppl') ?? null,
    lr: fields.get('lr') ?? null,
    gradNorm: fields.get('grad_norm') ?? null,
    tokS: fields.get('tok/s') ?? null,
    aux: fields.get('aux') ?? null,
  };
}

/** Segments are `name value`, except throughput which is `value tok/s`. */
function parseStepFields(rest: string): Map<string, number> {
  const fields = new Map<string, number>();
  const named = new RegExp(String.raw`^([a-z_]+)\s+(${NUMBER})$`, 'i');
  const throughput = new RegExp(String.raw`^(${NUMBER})\s+tok/s$`, 'i');
  for (const segment of rest.split('|')) {
    const s = segment.trim();
    const t = throughput.exec(s);
    if (t) {
      fields.set('tok/s', parseNumber(t[1]!));
      continue;
    }
    const n = named.exec(s);
    if (n) fields.set(n[1]!.toLowerCase(), parseNumber(n[2]!));
  }
  return fields;
}

function parseNumber(token: string): number {
  const t = token.toLowerCase().replace(/^\+/, '');
  if (t === 'nan' || t === '-nan') return Number.NaN;
  if (t === 'inf' || t === 'infinity') return Number.POSITIVE_INFINITY;
  if (t === '-inf' || t === '-infinity') return Number.NEGATIVE_INFINITY;
  return Number(t);
}

/**
 * Folds the tail of the log into the state of the current attempt. A RESUMED line starts a new
 * attempt, so failure signatures, SIGTERM and completion seen before it are forgotten.
 */
export function summarizeLogTail(lines: readonly string[]): LogSummary {
  const summary: LogSummary = {
    lastStep: null,
    maxSteps: null,
    lastLoss: null,
    lossIsNaN: false,
    lastTokS: null,
    errorSignature: null,
    errorLine: null,
    resumedAt: null,
    complete: false,
    bestValLoss: null,
    sigterm: false,
  };
  for (const raw of lines) applyLine(summary, parseLogLine(raw));
  return summary;
}

function applyLine(summary: LogSummary, line: LogLine): void {
  switch (line.kind) {
    case 'step':
      summary.lastStep = line.step;
      summary.maxSteps = line.max;
      summary.lossIsNaN = !Number.isFinite(line.loss);
      summary.lastLoss = summary.lossIsNaN ? null : line.loss;
      summary.lastTokS = line.tokS !== null && Number.isFinite(line.tokS) ? line.tokS : null;
      if (summary.lossIsNaN) setSignature(summary, 'nan', `step ${line.step}: loss ${line.loss}`);
      return;
    case 'resumed':
      summary.lastStep = line.step;
      summary.maxSteps = line.max;
      summary.resumedAt = line.step;
      summary.errorSignature = null;
      summary.errorLine = null;
      summary.complete = false;
      summary.sigterm = false;
      summary.lossIsNaN = false;
      return;
    case 'eval':
      if (!Number.isFinite(line.loss)) setSignature(summary, 'nan', `eval at step ${line.step}: loss nan`);
      return;
    case 'complete':
      summary.complete = true;
      summary.bestValLoss = line.bestValLoss;
      return;
    case 'sigterm':
      summary.sigterm = true;
      return;
    case 'error':
      setSignature(summary, line.signature, line.text);
      return;
    case 'plateau':
    case 'other':
      return;
  }
}

function setSignature(summary: LogSummary, signature: ErrorSignature, text: string): void {
  summary.errorSignature = signature;
  summary.errorLine = text;
}
