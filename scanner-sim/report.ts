/**
 * Accuracy against ground truth: the pipeline's verdicts joined with what each simulated scan
 * should have got. A confusion matrix, read rates per damage level, and the goals:
 *   - duplicates: every copied indicium flagged DUPLICATE, and no valid piece flagged DUPLICATE;
 *   - forgeries: every tampered or unknown-key piece caught (FORGED or UNKNOWN_KEY);
 *   - reading: valid pieces at moderate damage read at 99.5% or better;
 * and the damage level at which reading falls below 99%.
 */
import { DAMAGE_LEVELS, type DamageLevel } from './damage.ts';
import { SCENARIOS, type Truth } from './scenarios.ts';

export interface SeenVerdict {
  scan_id: string;
  verdict: string;
  reason?: string | undefined;
}

export const VERDICT_ORDER = [
  'VALID',
  'DUPLICATE',
  'FORGED',
  'UNKNOWN_KEY',
  'REVOKED_KEY',
  'VOIDED',
  'STALE_DATE',
  'FUTURE_DATE',
  'MALFORMED',
  'UNREADABLE',
  '(none)',
];

export interface Goal {
  value: number;
  n: number;
  target: string;
  /** False when the run had no scan the goal is about (then `met` says nothing). */
  measured: boolean;
  met: boolean;
}

export interface AccuracyReport {
  scans: number;
  without_verdict: number;
  confusion: Record<string, Record<string, number>>;
  by_scenario: Record<string, { n: number; correct: number; rate: number }>;
  read_by_damage: { level: DamageLevel; n: number; read: number; rate: number }[];
  below_99_at: DamageLevel | null;
  goals: {
    duplicate_recall: Goal;
    valid_flagged_duplicate: Goal;
    forgeries_caught: Goal;
    read_rate_moderate: Goal;
  };
  all_goals_met: boolean;
}

const unread = (v: string) => v === 'UNREADABLE' || v === 'MALFORMED' || v === '(none)';

export function accuracy(truth: Truth[], verdicts: Map<string, SeenVerdict>): AccuracyReport {
  const confusion: Record<string, Record<string, number>> = {};
  const byScenario: AccuracyReport['by_scenario'] = {};
  const damage = new Map<DamageLevel, { n: number; read: number }>();
  let without = 0;
  let copies = 0;
  let copiesFlagged = 0;
  let validFlagged = 0;
  let validN = 0;
  let forgeries = 0;
  let caught = 0;
  for (const t of truth) {
    const v = verdicts.get(t.scan_id)?.verdict ?? '(none)';
    if (v === '(none)') without++;
    confusion[t.expected] ??= {};
    confusion[t.expected]![v] = (confusion[t.expected]![v] ?? 0) + 1;
    byScenario[t.scenario] ??= { n: 0, correct: 0, rate: 0 };
    const s = byScenario[t.scenario]!;
    s.n++;
    if (v === t.expected) s.correct++;
    if (t.scenario === 'valid') {
      validN++;
      if (v === 'DUPLICATE') validFlagged++;
      const d = damage.get(t.damage) ?? { n: 0, read: 0 };
      d.n++;
      if (!unread(v)) d.read++;
      damage.set(t.damage, d);
    }
    if (t.scenario === 'copied') {
      copies++;
      if (v === 'DUPLICATE') copiesFlagged++;
    }
    if (t.scenario === 'tampered' || t.scenario === 'unknown_key') {
      forgeries++;
      if (v === 'FORGED' || v === 'UNKNOWN_KEY') caught++;
    }
  }
  for (const s of Object.values(byScenario)) s.rate = s.n ? s.correct / s.n : 0;
  const readByDamage = DAMAGE_LEVELS.filter((l) => damage.has(l)).map((level) => {
    const d = damage.get(level)!;
    return { level, n: d.n, read: d.read, rate: d.n ? d.read / d.n : 0 };
  });
  const moderate = damage.get('moderate') ?? { n: 0, read: 0 };
  const goals: AccuracyReport['goals'] = {
    duplicate_recall: {
      value: copies ? copiesFlagged / copies : Number.NaN,
      n: copies,
      target: '100% of copied indicia flagged DUPLICATE',
      measured: copies > 0,
      met: copiesFlagged === copies,
    },
    valid_flagged_duplicate: {
      value: validFlagged,
      n: validN,
      target: 'no valid piece flagged DUPLICATE',
      measured: validN > 0,
      met: validFlagged === 0,
    },
    forgeries_caught: {
      value: forgeries ? caught / forgeries : Number.NaN,
      n: forgeries,
      target: '100% of tampered or unknown-key pieces caught',
      measured: forgeries > 0,
      met: caught === forgeries,
    },
    read_rate_moderate: {
      value: moderate.n ? moderate.read / moderate.n : Number.NaN,
      n: moderate.n,
      target: 'valid pieces at moderate damage read at ≥ 99.5%',
      measured: moderate.n > 0,
      met: moderate.n > 0 && moderate.read / moderate.n >= 0.995,
    },
  };
  return {
    scans: truth.length,
    without_verdict: without,
    confusion,
    by_scenario: byScenario,
    read_by_damage: readByDamage,
    below_99_at: readByDamage.find((d) => d.rate < 0.99)?.level ?? null,
    goals,
    all_goals_met: Object.values(goals).every((g) => !g.measured || g.met),
  };
}

const pct = (x: number) => (Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(x === 1 || x === 0 ? 0 : 1)}%`);

export function accuracyMarkdown(r: AccuracyReport, title = 'Accuracy against ground truth'): string {
  const cols = VERDICT_ORDER.filter((v) => Object.values(r.confusion).some((row) => row[v]));
  const rows = VERDICT_ORDER.filter((v) => r.confusion[v]);
  const lines = [
    `## ${title}`,
    '',
    `${r.scans} scans, ${r.without_verdict} without a verdict.`,
    '',
    '| goal | measured | n | met |',
    '|---|---|---|---|',
    `| ${r.goals.duplicate_recall.target} | ${pct(r.goals.duplicate_recall.value)} | ${r.goals.duplicate_recall.n} | ${!r.goals.duplicate_recall.measured ? 'not measured' : r.goals.duplicate_recall.met ? 'yes' : '**no**'} |`,
    `| ${r.goals.valid_flagged_duplicate.target} | ${r.goals.valid_flagged_duplicate.value} flagged | ${r.goals.valid_flagged_duplicate.n} | ${!r.goals.valid_flagged_duplicate.measured ? 'not measured' : r.goals.valid_flagged_duplicate.met ? 'yes' : '**no**'} |`,
    `| ${r.goals.forgeries_caught.target} | ${pct(r.goals.forgeries_caught.value)} | ${r.goals.forgeries_caught.n} | ${!r.goals.forgeries_caught.measured ? 'not measured' : r.goals.forgeries_caught.met ? 'yes' : '**no**'} |`,
    `| ${r.goals.read_rate_moderate.target} | ${pct(r.goals.read_rate_moderate.value)} | ${r.goals.read_rate_moderate.n} | ${!r.goals.read_rate_moderate.measured ? 'not measured' : r.goals.read_rate_moderate.met ? 'yes' : '**no**'} |`,
    '',
    `Reading falls below 99% at damage level: **${r.below_99_at ?? 'none of those measured'}**.`,
    '',
    '| damage (valid pieces) | n | read | read rate |',
    '|---|---|---|---|',
    ...r.read_by_damage.map((d) => `| ${d.level} | ${d.n} | ${d.read} | ${pct(d.rate)} |`),
    '',
    'Confusion matrix (rows: expected verdict; columns: verdict given):',
    '',
    `| expected \\ given | ${cols.join(' | ')} |`,
    `|---|${cols.map(() => '---').join('|')}|`,
    ...rows.map((e) => `| ${e} | ${cols.map((c) => r.confusion[e]![c] ?? 0).join(' | ')} |`),
    '',
    '| scenario | n | correct | rate |',
    '|---|---|---|---|',
    ...SCENARIOS.filter((s) => r.by_scenario[s]).map(
      (s) =>
        `| ${s} | ${r.by_scenario[s]!.n} | ${r.by_scenario[s]!.correct} | ${pct(r.by_scenario[s]!.rate)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
