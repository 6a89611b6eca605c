/**
 * The verification pipeline end to end on a real Kafka broker and chDB: indicia bought from the
 * central signer (whose relay publishes keys and refunds to indicia.events), printed on synthetic
 * envelopes, produced to `scans`, read, verified and judged, with every verdict on `verdicts` and
 * in ClickHouse.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngChunk } from '../indicium/barcode/index.ts';
import { assemblePayload, decodeIndicium, ED25519_L, encodeRecord, signatureS } from '../indicium/index.ts';
import { VerdictSchema } from '../pipeline/messages.ts';
import { fastEnvelopes } from '../scanner-sim/fast.ts';
import { kafka, kafkaTool, prefix } from './helpers/kafka.ts';
import { ADDRESSES, envelope, type Harness, harness, SCAN_TIME, scanHeaders } from './helpers/pipeline.ts';

const LETTER = { mail_class: 'letter', weight_oz: 1, destination_zip: '10001' };
let h: Harness;
let account: { id: string; api_key: string; meter: string };

async function buy(): Promise<Uint8Array> {
  const r = await h.central.buy(account.api_key, LETTER);
  expect(r.status).toBe(201);
  return new Uint8Array(Buffer.from(r.body.payload, 'base64'));
}

function withSPlusL(payload: Uint8Array): Uint8Array {
  const out = payload.slice();
  let s = signatureS(payload.subarray(39)) + ED25519_L;
  for (let i = 39 + 32; i < 103; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

async function produce(...scans: { id: string; image: Buffer; plant?: string }[]): Promise<void> {
  await h.bus.send(
    h.t.scans,
    scans.map((s) => ({ key: s.id, value: s.image, headers: scanHeaders(s.id, s.plant) })),
  );
}

beforeAll(async () => {
  h = await harness(kafka(), prefix('e2e'));
  account = await h.central.createAccount('Hill Country Books', '78703');
  await h.central.fund(account.id, 10_000);
}, 120_000);
afterAll(async () => {
  await h?.stop();
});

describe('the pipeline on Kafka and ClickHouse', () => {
  it('judges every case: valid, duplicate, forged, unknown key, voided, unreadable, malformed', async () => {
    const fast = await fastEnvelopes(ADDRESSES);
    const a = await buy();
    const b = await buy();
    const c = await buy();
    const d = await buy();
    // A refund, published through the relay to indicia.events, makes d VOIDED.
    const ref = await h.central.app.inject({
      method: 'POST',
      url: `/v1/indicia/${account.meter}/4/refund`,
      headers: { authorization: `Bearer ${account.api_key}` },
    });
    expect(ref.statusCode).toBe(200);
    await h.relay.drain();
    for (let i = 0; i < 200 && h.registry.voidedAt(account.meter, 4) === undefined; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(h.registry.voidedAt(account.meter, 4)).toBeDefined();

    // A record with a changed byte, the signature left as it was.
    const tampered = c.slice();
    tampered[19] = tampered[19]! ^ 0x01; // postage
    // A well-formed record signed by a key no vendor published.
    const rogue = generateKeyPairSync('ed25519');
    const rec = { ...decodeIndicium(a).record, keyNumber: 999_999, serial: 77 };
    const recBytes = encodeRecord(rec);
    const unknownKey = assemblePayload(recBytes, new Uint8Array(sign(null, recBytes, rogue.privateKey)));
    // A barcode that reads but holds no valid record.
    const garbage = new Uint8Array(103).fill(0x41);

    await produce({ id: 'valid-a', image: await envelope(a) });
    await h.waitFor(['valid-a']);
    await produce(
      { id: 'copy-a', image: await envelope(a, 226), plant: 'PLANT-B' },
      { id: 'forged-b-s-plus-l', image: await fast.jpeg(withSPlusL(b)) },
      { id: 'forged-c-tampered', image: await fast.jpeg(tampered) },
      { id: 'unknown-key', image: await fast.jpeg(unknownKey) },
      { id: 'voided-d', image: await envelope(d) },
      { id: 'no-barcode', image: await envelope(undefined) },
      { id: 'garbage', image: await fast.jpeg(garbage) },
    );
    const v = await h.waitFor([
      'copy-a',
      'forged-b-s-plus-l',
      'forged-c-tampered',
      'unknown-key',
      'voided-d',
      'no-barcode',
      'garbage',
    ]);
    // The genuine pieces after their forged copies.
    await produce(
      { id: 'genuine-b', image: await envelope(b) },
      { id: 'genuine-c', image: await envelope(c) },
    );
    const g = await h.waitFor(['genuine-b', 'genuine-c']);

    const verdictOf = (id: string) => (v.get(id) ?? g.get(id) ?? h.verdicts.get(id)?.[0])!;
    expect(verdictOf('valid-a')).toMatchObject({
      verdict: 'VALID',
      meter: account.meter,
      serial: 1,
      plant: 'PLANT-A',
    });
    expect(verdictOf('copy-a')).toMatchObject({
      verdict: 'DUPLICATE',
      serial: 1,
      plant: 'PLANT-B',
      first: { scan_id: 'valid-a', plant: 'PLANT-A', captured_at: SCAN_TIME },
    });
    expect(verdictOf('forged-b-s-plus-l')).toMatchObject({ verdict: 'FORGED', serial: 2 });
    expect(verdictOf('forged-c-tampered')).toMatchObject({ verdict: 'FORGED', serial: 3 });
    expect(verdictOf('unknown-key')).toMatchObject({ verdict: 'UNKNOWN_KEY', key_id: '41-000f423f' });
    expect(verdictOf('voided-d')).toMatchObject({ verdict: 'VOIDED', serial: 4 });
    expect(verdictOf('no-barcode')).toMatchObject({ verdict: 'UNREADABLE', meter: null });
    expect(verdictOf('garbage')).toMatchObject({ verdict: 'MALFORMED', reason: 'version' });
    expect(verdictOf('genuine-b')).toMatchObject({ verdict: 'VALID', serial: 2, first: null });
    expect(verdictOf('genuine-c')).toMatchObject({ verdict: 'VALID', serial: 3, first: null });

    // Every sighting is in ClickHouse once, with its verdict.
    const rows = await h.history!.recorded([...h.verdicts.keys()]);
    expect(rows.size).toBe(h.verdicts.size);
    expect(rows.get('copy-a')).toMatchObject({ verdict: 'DUPLICATE', first_scan_id: 'valid-a', genuine: 1 });
    expect(rows.get('forged-c-tampered')).toMatchObject({ verdict: 'FORGED', genuine: 0 });
    expect((await h.history!.sightings(account.meter, 1)).map((s) => s.scan_id)).toEqual([
      'valid-a',
      'copy-a',
    ]);
  }, 120_000);

  it('gives a redelivered scan its original verdict, never DUPLICATE', async () => {
    const p = await buy();
    const image = await envelope(p);
    await produce({ id: 'once', image });
    await h.waitFor(['once']);
    await produce({ id: 'once', image }); // the same scan id again (a redelivery)
    const deadline = Date.now() + 30_000;
    while ((h.verdicts.get('once')?.length ?? 0) < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(h.verdicts.get('once')!.map((x) => x.verdict)).toEqual(['VALID', 'VALID']);
    expect((await h.history!.sightings(account.meter, decodeIndicium(p).record.serial)).length).toBe(1);
  }, 60_000);

  it('two copies produced at the same moment at two plants: one VALID, one DUPLICATE', async () => {
    const p = await buy();
    await produce(
      { id: 'plant-1', image: await envelope(p), plant: 'PLANT-1' },
      { id: 'plant-2', image: await envelope(p, 230), plant: 'PLANT-2' },
    );
    const v = await h.waitFor(['plant-1', 'plant-2']);
    const verdicts = [v.get('plant-1')!, v.get('plant-2')!];
    expect(verdicts.map((x) => x.verdict).sort()).toEqual(['DUPLICATE', 'VALID']);
    const dup = verdicts.find((x) => x.verdict === 'DUPLICATE')!;
    const valid = verdicts.find((x) => x.verdict === 'VALID')!;
    expect(dup.first?.scan_id).toBe(valid.scan_id);
  }, 60_000);

  it("processes scans produced by Kafka's own ConsoleProducer (an independent client)", async () => {
    const p = await buy();
    const image = await envelope(p);
    const headers = [
      'scan_id:console-1',
      'plant:PLANT-C',
      'machine:AFCS-2',
      `captured_at:${SCAN_TIME}`,
      'content_type:image/jpeg',
      'content_encoding:base64',
    ].join(',');
    kafkaTool(
      'org.apache.kafka.tools.ConsoleProducer',
      [
        '--bootstrap-server',
        kafka(),
        '--topic',
        h.t.scans,
        '--reader-property',
        'parse.headers=true',
        '--reader-property',
        'parse.key=true',
        '--reader-property',
        'key.separator=|',
      ],
      `${headers}\tconsole-1|${image.toString('base64')}\n`,
    );
    const v = await h.waitFor(['console-1'], 90_000);
    expect(v.get('console-1')).toMatchObject({
      verdict: 'VALID',
      plant: 'PLANT-C',
      machine: 'AFCS-2',
      serial: decodeIndicium(p).record.serial,
    });
  }, 120_000);

  it('reads a piece faced the wrong way and a Data Matrix indicium', async () => {
    const fast = await fastEnvelopes(ADDRESSES);
    const up = await buy();
    const dm = await buy();
    await produce(
      { id: 'upside-down', image: await fast.jpeg(up, { upsideDown: true }) },
      { id: 'datamatrix', image: await fast.jpeg(dm, { symbology: 'datamatrix' }) },
    );
    const v = await h.waitFor(['upside-down', 'datamatrix']);
    expect(v.get('upside-down')).toMatchObject({
      verdict: 'VALID',
      serial: decodeIndicium(up).record.serial,
    });
    expect(v.get('datamatrix')).toMatchObject({ verdict: 'VALID', serial: decodeIndicium(dm).record.serial });
    const rows = await h.history!.recorded(['upside-down', 'datamatrix']);
    expect(rows.get('upside-down')).toMatchObject({ region: 'flipped-area', symbology: 'pdf417' });
    expect(rows.get('datamatrix')).toMatchObject({ region: 'indicium-area', symbology: 'datamatrix' });
  }, 60_000);

  it('gives a decompression bomb a verdict, not a crash', async () => {
    // A PNG whose header claims 60,000 x 60,000 pixels: refused by the pixel limit before decoding.
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(60_000, 0);
    ihdr.writeUInt32BE(60_000, 4);
    ihdr.set([8, 0, 0, 0, 0], 8);
    const bomb = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      pngChunk('IHDR', ihdr),
      pngChunk('IDAT', deflateSync(Buffer.alloc(60_001 * 64))),
      pngChunk('IEND', Buffer.alloc(0)),
    ]);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    await h.bus.send(h.t.scans, [
      { key: 'bomb', value: bomb, headers: { ...scanHeaders('bomb'), content_type: 'image/png' } },
    ]);
    const v = await h.waitFor(['bomb']);
    expect(v.get('bomb')).toMatchObject({ verdict: 'UNREADABLE' });
    expect(v.get('bomb')!.reason).toMatch(/image_too_large|pixel/i);
  }, 60_000);

  it('sends a message that cannot be processed to scans.dead with its reason', async () => {
    const dead: { reason: string; offset: string }[] = [];
    const sub = await h.bus.subscribe({
      group: `${h.prefix}dead-reader`,
      topics: [h.t.dead],
      fromBeginning: true,
      onBatch: async (b) => {
        for (const m of b.messages)
          dead.push({ reason: m.headers.dead_reason!, offset: m.headers.source_offset! });
      },
    });
    await h.bus.send(h.t.scans, [
      {
        key: 'x',
        value: Buffer.from('not an image'),
        headers: { plant: 'P', machine: 'M', captured_at: SCAN_TIME, content_type: 'image/jpeg' },
      },
      {
        key: 'y',
        value: Buffer.from('x'),
        headers: { ...scanHeaders('bad-type'), content_type: 'application/pdf' },
      },
      { key: 'z', value: Buffer.alloc(1024 * 1024 + 16 * 1024, 7), headers: scanHeaders('too-big') }, // over the pipeline's limit, under the topic's
      {
        key: 'w',
        value: Buffer.from('x'),
        headers: { ...scanHeaders('bad-time'), captured_at: 'yesterday' },
      },
    ]);
    const deadline = Date.now() + 30_000;
    while (dead.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await sub.stop();
    expect(dead.map((d) => d.reason.replace(/:\d+ bytes.*/, '')).sort()).toEqual([
      'bad_header:captured_at',
      'missing_header:scan_id',
      'oversized',
      'unsupported_content_type:application/pdf',
    ]);
  }, 60_000);

  it('exposes the metrics, without a meter or serial in any label', async () => {
    const text = await h.metrics.metrics();
    expect(text).toMatch(/sigpost_scans_total\{verdict="VALID"\} [1-9]/);
    expect(text).toMatch(/sigpost_scans_total\{verdict="DUPLICATE"\} [1-9]/);
    expect(text).toMatch(/sigpost_pipeline_stage_seconds_bucket\{le="0.0005",stage="barcode"\}/);
    expect(text).toMatch(/sigpost_pipeline_batch_size_count\{stage="verdict"\} [1-9]/);
    expect(text).toMatch(/sigpost_clickhouse_insert_seconds_count [1-9]/);
    expect(text).toMatch(/sigpost_consumer_lag\{stage="read",partition="\d"\}/);
    expect(text).toMatch(/sigpost_dead_letters_total\{reason="missing_header"\} 1/);
    expect(text).not.toMatch(new RegExp(account.meter));
  });

  it('publishes verdicts that match the published JSON schema', () => {
    const ajv = new Ajv({ strict: false });
    addFormats.default(ajv);
    const check = ajv.compile(VerdictSchema);
    const all = [...h.verdicts.values()].flat();
    expect(all.length).toBeGreaterThan(10);
    for (const v of all) expect(check(v), JSON.stringify(check.errors)).toBe(true);
  });
});
