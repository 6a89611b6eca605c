/**
 * The rate table: mail class + weight -> postage. The client never chooses the amount; it names a
 * class and a weight, and this table prices them. Tables are versioned JSON files; the default
 * ships in rates/, another can be configured (--rates FILE) and is validated at start.
 */
import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isMailClass, type MailClass } from '../indicium/index.ts';
import { fail } from './errors.ts';

export const RateTableSchema = Type.Object({
  version: Type.String({ minLength: 1, maxLength: 40 }),
  effective: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
  currency: Type.Literal('USD'),
  note: Type.Optional(Type.String()),
  classes: Type.Record(
    Type.String(),
    Type.Object({
      label: Type.String(),
      steps: Type.Array(
        Type.Object({
          max_oz: Type.Number({ exclusiveMinimum: 0, maximum: 1120 }),
          cents: Type.Integer({ minimum: 1, maximum: 999_999 }),
        }),
        { minItems: 1 },
      ),
    }),
  ),
});
export type RateTable = Static<typeof RateTableSchema>;

export const DEFAULT_RATES = new URL('./rates/2026-07-sample.json', import.meta.url);

export function loadRates(path: string | URL = DEFAULT_RATES): RateTable {
  const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Value.Check(RateTableSchema, raw)) {
    const first = Value.Errors(RateTableSchema, raw).First();
    throw new Error(`rate table ${String(path)}: ${first?.path || '/'} ${first?.message ?? 'is invalid'}`);
  }
  for (const [name, cls] of Object.entries(raw.classes)) {
    if (!isMailClass(name)) throw new Error(`rate table ${String(path)}: unknown mail class "${name}"`);
    for (let i = 1; i < cls.steps.length; i++) {
      if (cls.steps[i]!.max_oz <= cls.steps[i - 1]!.max_oz) {
        throw new Error(`rate table ${String(path)}: ${name} steps must increase in weight`);
      }
    }
  }
  return raw;
}

export interface Price {
  mailClass: MailClass;
  cents: number;
  /** The weight as the record carries it: tenths of an ounce, rounded up. */
  weightTenthsOz: number;
  rateVersion: string;
}

export function price(table: RateTable, mailClass: string, weightOz: number): Price {
  const cls = table.classes[mailClass];
  if (!isMailClass(mailClass) || !cls) {
    return fail(
      'unknown_mail_class',
      `"${mailClass}" is not one of: ${Object.keys(table.classes).join(', ')}`,
    );
  }
  if (!Number.isFinite(weightOz) || weightOz <= 0)
    return fail('invalid_request', 'weight_oz must be above 0');
  const weightTenthsOz = Math.ceil(Math.round(weightOz * 1000) / 100);
  const step = cls.steps.find((s) => weightTenthsOz <= Math.round(s.max_oz * 10));
  if (!step) {
    const max = cls.steps[cls.steps.length - 1]!.max_oz;
    return fail('overweight', `${mailClass} allows at most ${max} oz; the piece weighs ${weightOz} oz`, {
      max_oz: max,
    });
  }
  return { mailClass, cents: step.cents, weightTenthsOz, rateVersion: table.version };
}
