/**
 * `sigpost verify`: the pipeline's stages in process, on image files, with chDB under --data.
 * History is shared within a call and across calls with the same --data.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestCentral, testCentral } from '../central/testing.ts';
import { envelope } from './helpers/pipeline.ts';
import { runToEnd } from './helpers/processes.ts';

const work = mkdtempSync(join(tmpdir(), 'sigpost-verify-'));
let c: TestCentral;
let meter: string;
const file = (name: string) => join(work, name);

beforeAll(async () => {
  c = await testCentral();
  const a = await c.createAccount('Verify Test', '78703');
  meter = a.meter;
  await c.fund(a.id, 1000);
  const p1 = new Uint8Array(
    Buffer.from((await c.buy(a.api_key, { mail_class: 'letter', weight_oz: 1 })).body.payload, 'base64'),
  );
  const p2 = new Uint8Array(
    Buffer.from((await c.buy(a.api_key, { mail_class: 'letter', weight_oz: 1 })).body.payload, 'base64'),
  );
  writeFileSync(file('keys.json'), (await c.app.inject({ url: '/v1/keys' })).body);
  writeFileSync(file('piece1.jpg'), await envelope(p1));
  writeFileSync(file('piece1-copy.jpg'), await envelope(p1, 228));
  writeFileSync(file('piece2.jpg'), await envelope(p2));
  writeFileSync(file('blank.jpg'), await envelope(undefined));
  writeFileSync(file('not-an-image.jpg'), 'hello');
}, 60_000);
afterAll(async () => {
  await c.close();
});

const verify = async (...images: string[]) => {
  const r = await runToEnd([
    'verify',
    '--data',
    file('data'),
    '--keys',
    file('keys.json'),
    '--captured-at',
    '2026-12-04T16:00:00Z',
    ...images.map(file),
  ]);
  expect(r.code, r.out).toBe(0);
  return r.out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
};

describe('sigpost verify', () => {
  it('prints one JSON line per image and shares the history within the call', async () => {
    const out = await verify('piece1.jpg', 'piece1-copy.jpg', 'blank.jpg', 'not-an-image.jpg');
    expect(out.map((o) => [o.file.split('/').pop(), o.verdict])).toEqual([
      ['piece1.jpg', 'VALID'],
      ['piece1-copy.jpg', 'DUPLICATE'],
      ['blank.jpg', 'UNREADABLE'],
      ['not-an-image.jpg', 'UNREADABLE'],
    ]);
    expect(out[0]).toMatchObject({ meter, serial: 1, reason: '' });
    expect(out[1].first.scan_id).toBe(out[0].scan_id);
    expect(out[3].reason).toMatch(/^image_unreadable/);
  }, 60_000);

  it('shares the history across calls with the same --data', async () => {
    const [again, other] = await verify('piece1.jpg', 'piece2.jpg');
    expect(again).toMatchObject({ verdict: 'DUPLICATE', serial: 1 });
    expect(other).toMatchObject({ verdict: 'VALID', serial: 2 });
  }, 60_000);

  it("says UNKNOWN_KEY without the vendor's keys", async () => {
    const r = await runToEnd(['verify', '--data', file('data-nokeys'), file('piece2.jpg')]);
    expect(JSON.parse(r.out.trim().split('\n').pop()!)).toMatchObject({ verdict: 'UNKNOWN_KEY', serial: 2 });
  }, 60_000);
});
