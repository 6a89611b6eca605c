import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS } from './errors.ts';

describe('the error catalog', () => {
  it('agrees with ERRORS.md, row for row', () => {
    const doc = readFileSync(new URL('./ERRORS.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` *\| (\d{3}) *\| ([^|]+) \|/gm)].map((m) => [
      m[1],
      Number(m[2]),
      m[3]!.trim(),
    ]);
    const catalog = Object.entries(ERRORS).map(([code, e]) => [code, e.status, e.title]);
    expect(rows).toEqual(catalog);
  });
});
