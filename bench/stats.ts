/** Small statistics for benchmark figures: medians with their range, and percentiles. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export type Progress = (message: string) => void;

const round = (x: number) => (Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100);

export function figure(values: number[]): Figure {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median: round(median), min: round(s[0]!), max: round(s[s.length - 1]!), runs: s.length };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export const fmt = (f: Figure, unit = '') => `${f.median}${unit} (${f.min}–${f.max}, ${f.runs} runs)`;
