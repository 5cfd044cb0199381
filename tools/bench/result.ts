// One figure of `npm run bench`: what was measured, its value and unit, and when it has one, the
// baseline measured in the same run and the ratio between them (machines here are shared and noisy:
// only same-run ratios compare across runs).
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  note?: string;
}
