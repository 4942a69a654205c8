import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CliIo } from '../cli/main.js';
import { renderTable } from '../cli/table.js';
import { ConductorError } from '../errors.js';
import { SCENARIOS } from './scenarios.js';
import type { BenchRow } from './types.js';

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

export function renderBenchTable(rows: readonly BenchRow[]): string {
  return renderTable(
    ['SCENARIO', 'METRIC', 'VALUE', 'UNIT', 'BASELINE', 'RATIO'],
    rows.map((r) => [
      r.scenario,
      r.metric,
      formatNumber(r.value),
      r.unit,
      r.baseline === undefined ? '-' : formatNumber(r.baseline),
      r.ratio === undefined ? '-' : `${formatNumber(r.ratio)}x`,
    ]),
  );
}

/** `conductor bench [scenario...] [--quick] [--json FILE]` — all scenarios by default. */
export async function runBench(_env: NodeJS.ProcessEnv, args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const unknown = positionals.filter((p) => !SCENARIOS.some((s) => s.name === p));
  if (unknown.length) {
    throw new ConductorError(
      `unknown bench scenario(s): ${unknown.join(', ')}; available: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  }
  const chosen = positionals.length ? SCENARIOS.filter((s) => positionals.includes(s.name)) : SCENARIOS;
  const rows: BenchRow[] = [];
  for (const scenario of chosen) {
    io.err(`bench: ${scenario.name} — ${scenario.description}`);
    rows.push(...(await scenario.run({ quick: values.quick, log: (t) => io.err(`  ${t}`) })));
  }
  io.out(renderBenchTable(rows));
  if (values.json) writeFileSync(values.json, `${JSON.stringify(rows, null, 2)}\n`);
  return 0;
}
