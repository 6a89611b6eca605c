import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScanHeaders, VerdictSchema } from './messages.ts';

describe('pipeline messages', () => {
  it('publishes the verdict schema as pipeline/schemas/verdict.schema.json', () => {
    const file = JSON.parse(readFileSync(new URL('./schemas/verdict.schema.json', import.meta.url), 'utf8'));
    const { $schema, ...rest } = file;
    expect($schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(rest).toEqual(JSON.parse(JSON.stringify(VerdictSchema)));
  });

  it.each([
    [
      { plant: 'P', machine: 'M', captured_at: '2026-12-04T16:00:00Z', content_type: 'image/jpeg' },
      'missing_header:scan_id',
    ],
    [
      {
        scan_id: 'a b',
        plant: 'P',
        machine: 'M',
        captured_at: '2026-12-04T16:00:00Z',
        content_type: 'image/jpeg',
      },
      'bad_header:scan_id',
    ],
    [
      { scan_id: 's', plant: 'P', machine: 'M', captured_at: '2026-12-04 16:00', content_type: 'image/jpeg' },
      'bad_header:captured_at',
    ],
    [
      {
        scan_id: 's',
        plant: 'P',
        machine: 'M',
        captured_at: '2026-12-04T16:00:00Z',
        content_type: 'image/gif',
      },
      'unsupported_content_type:image/gif',
    ],
    [
      {
        scan_id: 's',
        plant: 'P',
        machine: 'M',
        captured_at: '2026-12-04T16:00:00Z',
        content_type: 'image/png',
        content_encoding: 'gzip',
      },
      'unsupported_content_encoding:gzip',
    ],
  ])('refuses headers %j as %s', (h, reason) => {
    expect(parseScanHeaders(h)).toEqual({ dead: reason });
  });

  it('accepts good headers and normalises the time to UTC', () => {
    expect(
      parseScanHeaders({
        scan_id: 's-1',
        plant: 'P',
        machine: 'M',
        captured_at: '2026-12-04T10:00:00-06:00',
        content_type: 'image/JPEG; q=1',
      }),
    ).toEqual({
      scan_id: 's-1',
      plant: 'P',
      machine: 'M',
      captured_at: '2026-12-04T16:00:00.000Z',
      content_type: 'image/jpeg',
    });
  });
});
