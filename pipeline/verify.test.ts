import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assemblePayload, encodeRecord, type IndiciumRecord, rawFromPublicKey } from '../indicium/index.ts';
import { sampleRecord } from '../indicium/testing.ts';
import { KeyRegistry, type PublishedKey } from './registry.ts';
import { judge } from './verify.ts';

function vendorKey(keyNumber: number, meter = '4100000017', over: Partial<PublishedKey> = {}) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub: PublishedKey = {
    key_id: `41-${keyNumber.toString(16).padStart(8, '0')}`,
    meter,
    algorithm: 'ed25519',
    public_key: Buffer.from(rawFromPublicKey(publicKey)).toString('base64'),
    status: 'active',
    valid_from: '2026-01-01T00:00:00.000Z',
    valid_until: null,
    revoked_at: null,
    ...over,
  };
  const piece = (r: Partial<IndiciumRecord> = {}) => {
    const bytes = encodeRecord(sampleRecord({ keyNumber, ...r }));
    return {
      outcome: 'decoded' as const,
      payload: Buffer.from(assemblePayload(bytes, new Uint8Array(sign(null, bytes, privateKey)))).toString(
        'base64',
      ),
    };
  };
  return { pub, piece };
}

const SCAN = '2026-12-04T16:00:00.000Z';

describe('verify rules', () => {
  it.each([
    ['a genuine piece mailed today', {}, {}, 'VALID'],
    ['a piece mailed tomorrow (one day of tolerance)', { mailingDate: '2026-12-05' }, {}, 'VALID'],
    ['a piece mailed two days ahead', { mailingDate: '2026-12-06' }, {}, 'FUTURE_DATE'],
    ['a piece mailed 10 days ago', { mailingDate: '2026-11-24' }, {}, 'VALID'],
    ['a piece mailed 11 days ago', { mailingDate: '2026-11-23' }, {}, 'STALE_DATE'],
    [
      'a revoked key',
      {},
      { status: 'revoked', revoked_at: '2026-12-01T00:00:00.000Z', revocation_reason: 'compromise' },
      'REVOKED_KEY',
    ],
    [
      'a retired key, mailed before it retired',
      { mailingDate: '2026-11-30' },
      { status: 'retired', valid_until: '2026-12-01T00:00:00.000Z' },
      'VALID',
    ],
    [
      'a retired key, mailed after it retired',
      {},
      { status: 'retired', valid_until: '2026-12-01T00:00:00.000Z' },
      'REVOKED_KEY',
    ],
  ] as const)('%s -> %s', (_name, rec, key, expected) => {
    const k = vendorKey(7, '4100000017', key as Partial<PublishedKey>);
    const reg = new KeyRegistry();
    expect(reg.put(k.pub)).toBeUndefined();
    const j = judge(k.piece(rec as Partial<IndiciumRecord>), SCAN, reg);
    expect(j.verdict).toBe(expected);
    expect(j.genuine).toBe(expected !== 'REVOKED_KEY');
  });

  it('a key used for another meter than its own is FORGED, and not genuine', () => {
    const k = vendorKey(7, '4100000099');
    const reg = new KeyRegistry();
    reg.put(k.pub);
    const j = judge(k.piece({ device: 17 }), SCAN, reg);
    expect(j).toMatchObject({ verdict: 'FORGED', genuine: false });
    expect(j.reason).toMatch(/signs for meter 4100000099, not 4100000017/);
  });

  it('a refunded piece is VOIDED but still genuine (it enters the duplicate history)', () => {
    const k = vendorKey(7);
    const reg = new KeyRegistry();
    reg.put(k.pub);
    reg.apply({
      type: 'indicium.refunded',
      data: { meter: '4100000017', serial: 42, refunded_at: '2026-12-03T10:00:00.000Z' },
    });
    expect(judge(k.piece(), SCAN, reg)).toMatchObject({ verdict: 'VOIDED', genuine: true });
    expect(judge(k.piece({ serial: 43 }), SCAN, reg).verdict).toBe('VALID');
  });

  it('unreadable and malformed reads keep their reason', () => {
    const reg = new KeyRegistry();
    expect(judge({ outcome: 'unreadable', reason: 'no_barcode_found' }, SCAN, reg)).toMatchObject({
      verdict: 'UNREADABLE',
      reason: 'no_barcode_found',
    });
    const junk = Buffer.alloc(103, 1);
    junk[1] = 9;
    expect(judge({ outcome: 'malformed', payload: junk.toString('base64') }, SCAN, reg)).toMatchObject({
      verdict: 'MALFORMED',
      reason: 'algorithm',
    });
    expect(
      judge({ outcome: 'decoded', payload: Buffer.from([1, 1, 0]).toString('base64') }, SCAN, reg),
    ).toMatchObject({ verdict: 'MALFORMED', reason: 'length' });
  });
});

describe('the key registry', () => {
  it('refuses a small-order key, a malformed key id and a meter of another vendor', () => {
    const reg = new KeyRegistry();
    const good = vendorKey(1).pub;
    expect(
      reg.put({
        ...good,
        public_key: Buffer.from(
          '0100000000000000000000000000000000000000000000000000000000000000',
          'hex',
        ).toString('base64'),
      }),
    ).toMatch(/small order/);
    expect(reg.put({ ...good, key_id: '41-zz' })).toMatch(/key id/);
    expect(reg.put({ ...good, meter: '4200000017' })).toMatch(/vendor 41/);
    expect(reg.size).toBe(0);
    expect(reg.refused).toHaveLength(3);
  });

  it('refuses a second public key under the same key id, and follows status changes', () => {
    const reg = new KeyRegistry();
    const a = vendorKey(5).pub;
    expect(reg.put(a)).toBeUndefined();
    expect(reg.put({ ...vendorKey(5).pub })).toMatch(/different public key/);
    reg.apply({
      type: 'key.revoked',
      data: { ...a, status: 'revoked', revoked_at: '2026-12-02T00:00:00.000Z' },
    });
    expect(reg.get(a.key_id)?.status).toBe('revoked');
  });
});
