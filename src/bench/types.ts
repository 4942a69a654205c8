/** One figure a benchmark reports; `baseline` and `ratio` only when a baseline ran in the same run. */
export interface BenchRow {
  scenario: string;
  metric: string;
  unit: string;
  value: number;
  baseline?: number;
  ratio?: number;
}

export interface BenchContext {
  quick: boolean;
  log: (text: string) => void;
}

export interface BenchScenario {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}
