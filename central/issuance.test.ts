import { afterEach, describe, expect, it } from 'vitest';
import { readImage } from '../indicium/barcode/index.ts';
import { decodeIndicium, publicKeyFromRaw, rawFromPem, verifyIndicium } from '../indicium/index.ts';
import { audit } from './audit.ts';
import { LETTER, type TestCentral, testCentral } from './testing.ts';

let c: TestCentral;
afterEach(async () => {
  await c?.close();
});

describe('buying postage', () => {
  it('issues a signed indicium that decodes, verifies and matches the account', async () => {
    c = await testCentral();
    const a = await c.createAccount('Acme Mailing', '78703');
    expect(a.meter).toMatch(/^41\d{8}$/);
    expect(a).toMatchObject({
      origin: { zip: '78703', city: 'Austin', state: 'TX' },
      balance_cents: 0,
      status: 'active',
    });
    await c.fund(a.id, 1000);
    const r = await c.buy(a.api_key, LETTER);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      meter: a.meter,
      serial: 1,
      postage_cents: 74,
      mail_class: 'letter',
      mailing_date: '2026-12-04',
      balance_cents: 926,
    });
    expect(r.headers.location).toBe(`/v1/indicia/${a.meter}/1`);

    const payload = new Uint8Array(Buffer.from(r.body.payload, 'base64'));
    const d = decodeIndicium(payload);
    expect(d.meter).toBe(a.meter);
    expect(d.keyId).toBe(r.body.key_id);
    expect(d.record).toMatchObject({
      serial: 1,
      postageCents: 74,
      mailClass: 'letter',
      ascendingCents: 74,
      origin: { zip5: '78703' },
      destination: { zip5: '10001' },
    });

    const keys = (await c.app.inject({ url: '/v1/keys' })).json().keys;
    const key = keys.find((k: { key_id: string }) => k.key_id === r.body.key_id);
    expect(key).toMatchObject({ meter: a.meter, status: 'active', algorithm: 'ed25519' });
    expect(verifyIndicium(d, publicKeyFromRaw(rawFromPem(key.public_key_pem)))).toBe(true);

    const acct = await c.account(a.api_key);
    expect(acct).toMatchObject({
      balance_cents: 926,
      pieces_issued: 1,
      registers: { descending_cents: 926, ascending_cents: 74, control_cents: 1000 },
    });
  });

  it("serves the barcode as PNG and SVG, and hides other accounts' pieces", async () => {
    c = await testCentral();
    const a = await c.createAccount();
    const b = await c.createAccount('Other');
    await c.fund(a.id, 500);
    const r = await c.buy(a.api_key, LETTER);
    const url = `/v1/indicia/${a.meter}/1/barcode.png`;
    const png = await c.app.inject({ url, headers: { authorization: `Bearer ${a.api_key}` } });
    expect(png.statusCode).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    const hits = await readImage(new Uint8Array(png.rawPayload));
    expect(Buffer.from(hits[0]!.bytes).toString('base64')).toBe(r.body.payload);
    const dm = await c.app.inject({
      url: `${url}?symbology=datamatrix`,
      headers: { authorization: `Bearer ${a.api_key}` },
    });
    expect((await readImage(new Uint8Array(dm.rawPayload)))[0]?.symbology).toBe('datamatrix');
    const svg = await c.app.inject({
      url: `/v1/indicia/${a.meter}/1/barcode.svg`,
      headers: { authorization: `Bearer ${a.api_key}` },
    });
    expect(svg.body).toMatch(/^<svg/);
    const other = await c.app.inject({ url, headers: { authorization: `Bearer ${b.api_key}` } });
    expect(other.statusCode).toBe(404);
    expect(other.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(
      (
        await c.app.inject({
          url: `/v1/indicia/${a.meter}/2/barcode.png`,
          headers: { authorization: `Bearer ${a.api_key}` },
        })
      ).statusCode,
    ).toBe(404);
  });

  it('prices from the rate table, never from the client', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    await c.fund(a.id, 100_000);
    const cases: [object, number][] = [
      [{ mail_class: 'letter', weight_oz: 0.5 }, 74],
      [{ mail_class: 'letter', weight_oz: 1.01 }, 103],
      [{ mail_class: 'letter', weight_oz: 3.5 }, 161],
      [{ mail_class: 'postcard', weight_oz: 0.2 }, 61],
      [{ mail_class: 'flat', weight_oz: 13 }, 487],
      [{ mail_class: 'parcel', weight_oz: 3 }, 550],
      [{ mail_class: 'parcel', weight_oz: 17 }, 1001],
    ];
    for (const [body, cents] of cases) {
      const r = await c.buy(a.api_key, body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      expect(r.body.postage_cents).toBe(cents);
    }
    const sneaky = await c.buy(a.api_key, { ...LETTER, postage_cents: 1 });
    expect(sneaky.status).toBe(400);
  });

  it('answers 402 when the balance is short, and changes nothing', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    await c.fund(a.id, 100);
    expect((await c.buy(a.api_key, LETTER)).status).toBe(201);
    const r = await c.buy(a.api_key, LETTER);
    expect(r.status).toBe(402);
    expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(r.body).toMatchObject({
      code: 'insufficient_funds',
      status: 402,
      balance_cents: 26,
      postage_cents: 74,
    });
    expect(await c.account(a.api_key)).toMatchObject({ balance_cents: 26, pieces_issued: 1 });
  });
});

describe('idempotency', () => {
  it('returns the same indicium for a retry and debits once', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    await c.fund(a.id, 1000);
    const first = await c.buy(a.api_key, LETTER, 'order-1');
    const again = await c.buy(a.api_key, LETTER, 'order-1');
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await c.account(a.api_key)).toMatchObject({ balance_cents: 926, pieces_issued: 1 });
  });

  it('debits once under 50 concurrent retries of one key', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    await c.fund(a.id, 1000);
    const rs = await Promise.all(Array.from({ length: 50 }, () => c.buy(a.api_key, LETTER, 'same-key')));
    expect(new Set(rs.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(rs.map((r) => r.body.payload)).size).toBe(1);
    expect(await c.account(a.api_key)).toMatchObject({ balance_cents: 926, pieces_issued: 1 });
  });

  it('refuses the same key with a different body', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    await c.fund(a.id, 1000);
    await c.buy(a.api_key, LETTER, 'k');
    const r = await c.buy(a.api_key, { ...LETTER, weight_oz: 2 }, 'k');
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('idempotency_key_reused');
    expect(await c.account(a.api_key)).toMatchObject({ balance_cents: 926 });
  });

  it('keeps keys apart between accounts', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    const b = await c.createAccount('B');
    await c.fund(a.id, 1000);
    await c.fund(b.id, 1000);
    const ra = await c.buy(a.api_key, LETTER, 'shared');
    const rb = await c.buy(b.api_key, LETTER, 'shared');
    expect(ra.body.meter).not.toBe(rb.body.meter);
    expect(rb.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('no overdraw under concurrency', () => {
  it('200 concurrent purchases against a balance for 50: exactly 50 succeed', async () => {
    c = await testCentral();
    const a = await c.createAccount();
    await c.fund(a.id, 50 * 74);
    const rs = await Promise.all(
      Array.from({ length: 200 }, (_, i) => c.buy(a.api_key, LETTER, `race-${i}`)),
    );
    const ok = rs.filter((r) => r.status === 201);
    const short = rs.filter((r) => r.status === 402);
    expect(ok).toHaveLength(50);
    expect(short).toHaveLength(150);
    expect(short.every((r) => r.body.code === 'insufficient_funds')).toBe(true);
    const serials = ok.map((r) => r.body.serial as number).sort((x, y) => x - y);
    expect(serials).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await c.account(a.api_key)).toMatchObject({
      balance_cents: 0,
      pieces_issued: 50,
      registers: { ascending_cents: 3700, control_cents: 3700 },
    });
    const report = audit(c.store, { signatures: true });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked.signatures).toBe(50);
  });

  it('keeps the registers of several accounts apart while they buy at once', async () => {
    c = await testCentral();
    const accts = await Promise.all([1, 2, 3].map((i) => c.createAccount(`A${i}`)));
    for (const a of accts) await c.fund(a.id, 10 * 74);
    const rs = await Promise.all(
      accts.flatMap((a) => Array.from({ length: 15 }, (_, i) => c.buy(a.api_key, LETTER, `m-${i}`))),
    );
    expect(rs.filter((r) => r.status === 201)).toHaveLength(30);
    for (const a of accts)
      expect(await c.account(a.api_key)).toMatchObject({ balance_cents: 0, pieces_issued: 10 });
    expect(audit(c.store).ok).toBe(true);
  });
});
