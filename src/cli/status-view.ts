import { renderTable } from './table.js';

/** One row of status.json's `instances` (DESIGN.md), which the terminal view renders. */
export interface StatusRow {
  instance_id: number | string | null;
  model: string;
  status: string;
  step: number | null;
  max_steps: number | null;
  loss: number | null;
  ppl?: number | null;
  tok_s: number | null;
  gpu_util: number | null;
  disk_pct: number | null;
  cost_per_hr: number | null;
  eta_hrs: number | null;
  pct_complete: number | null;
}

const dash = '-';
const fixed = (v: number | null | undefined, digits: number) =>
  v === null || v === undefined || !Number.isFinite(v) ? (Number.isNaN(v) ? 'NaN' : dash) : v.toFixed(digits);

export function formatEta(hours: number | null): string {
  if (hours === null || !Number.isFinite(hours)) return dash;
  if (hours < 1) return `${Math.round(hours * 60)}m`;
  if (hours < 48) return `${hours.toFixed(1)}h`;
  return `${(hours / 24).toFixed(1)}d`;
}

/** The legacy manager's table: run, instance, status, step/target, %, loss, tok/s, GPU, disk, $/h, ETA. */
export function renderStatusTable(rows: readonly StatusRow[], totalCostHr: number): string {
  if (rows.length === 0)
    return 'No runs in the store yet: the monitor has not swept. Start the service, or wait for the first sweep.';
  const body = rows.map((r) => [
    r.model,
    r.instance_id === null ? dash : String(r.instance_id),
    r.status,
    r.step === null ? dash : `${r.step}/${r.max_steps ?? '?'}`,
    r.pct_complete === null ? dash : `${r.pct_complete.toFixed(1)}%`,
    fixed(r.loss, 4),
    r.tok_s === null ? dash : Math.round(r.tok_s).toString(),
    r.gpu_util === null ? dash : `${Math.round(r.gpu_util)}%`,
    r.disk_pct === null ? dash : `${r.disk_pct.toFixed(0)}%`,
    r.cost_per_hr === null ? dash : `$${r.cost_per_hr.toFixed(3)}`,
    formatEta(r.eta_hrs),
  ]);
  const table = renderTable(
    ['RUN', 'INSTANCE', 'STATUS', 'STEP', '%', 'LOSS', 'TOK/S', 'GPU', 'DISK', '$/H', 'ETA'],
    body,
  );
  return `${table}\n\nFleet: ${rows.length} run(s), $${totalCostHr.toFixed(3)}/h`;
}
