import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedIndicium } from '../errors.ts';
import { decodeIndicium } from '../payload.ts';
import { recordArb, sampleRecord } from '../testing.ts';
import {
  dateToDays,
  daysToDate,
  decodeRecord,
  encodeRecord,
  keyIdString,
  meterString,
  PAYLOAD_LENGTH,
  parseKeyId,
  parseMeter,
  RECORD_LENGTH,
} from './record.ts';

describe('record format v1', () => {
  it('encodes the sample record to the documented bytes', () => {
    // The worked example in FORMAT.md; if this changes, the format changed.
    const hex = Buffer.from(encodeRecord(sampleRecord())).toString('hex');
    expect(hex).toBe(
      '0101' +
        '00000007' +
        '29' +
        '00000011' +
        '0000002a' +
        '266a' +
        '00004e' +
        '01' +
        '000a' +
        '2ee924c2' +
        '05f60810' +
        '0000003039' +
        '0001' +
        '03',
    );
    expect(RECORD_LENGTH).toBe(39);
    expect(PAYLOAD_LENGTH).toBe(103);
  });

  it('round-trips every valid record', () => {
    fc.assert(
      fc.property(recordArb, (r) => {
        const bytes = encodeRecord(r);
        expect(bytes.length).toBe(RECORD_LENGTH);
        expect(decodeRecord(bytes)).toEqual(r);
        expect(encodeRecord(decodeRecord(bytes))).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but MalformedIndicium, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (bytes) => {
        try {
          decodeIndicium(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedIndicium);
        }
        try {
          decodeRecord(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedIndicium);
        }
      }),
      { numRuns: 5000 },
    );
    // Random 39-byte records, with the version and algorithm fixed so the deeper checks are reached.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: RECORD_LENGTH, maxLength: RECORD_LENGTH }), (bytes) => {
        bytes[0] = 1;
        bytes[1] = 1;
        try {
          const r = decodeRecord(bytes);
          expect(encodeRecord(r)).toEqual(bytes); // whatever decodes is canonical
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedIndicium);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it.each([null, 'a string', [1, 1, 0], { length: 103 }])(
    'rejects a payload that is not bytes (%j)',
    (input) => {
      expect(() => decodeIndicium(input)).toThrow(expect.objectContaining({ reason: 'not_bytes' }));
    },
  );

  const good = encodeRecord(sampleRecord());
  const mutate = (f: (b: Uint8Array, v: DataView) => void) => {
    const b = good.slice();
    f(b, new DataView(b.buffer));
    return b;
  };
  const cases: [string, Uint8Array, string][] = [
    ['one byte short', good.subarray(0, 38), 'length'],
    ['one byte long', new Uint8Array([...good, 0]), 'length'],
    ['an unknown version', mutate((b) => (b[0] = 2)), 'version'],
    ['version zero', mutate((b) => (b[0] = 0)), 'version'],
    ['an unknown algorithm', mutate((b) => (b[1] = 2)), 'algorithm'],
    ['key number zero', mutate((_, v) => v.setUint32(2, 0)), 'key_id'],
    ['vendor zero', mutate((b) => (b[6] = 0)), 'vendor'],
    ['vendor above 99', mutate((b) => (b[6] = 100)), 'vendor'],
    ['device zero', mutate((_, v) => v.setUint32(7, 0)), 'device'],
    ['device above 8 digits', mutate((_, v) => v.setUint32(7, 100_000_000)), 'device'],
    ['serial zero', mutate((_, v) => v.setUint32(11, 0)), 'serial'],
    ['a date before 2020', mutate((_, v) => v.setUint16(15, 7304)), 'date'],
    ['a date after 2099', mutate((_, v) => v.setUint16(15, 36525)), 'date'],
    ['zero postage', mutate((b) => b.fill(0, 17, 20)), 'postage'],
    ['postage above $9,999.99', mutate((b) => b.fill(0xff, 17, 20)), 'postage'],
    ['mail class zero', mutate((b) => (b[20] = 0)), 'mail_class'],
    ['an unknown mail class', mutate((b) => (b[20] = 6)), 'mail_class'],
    ['zero weight', mutate((_, v) => v.setUint16(21, 0)), 'weight'],
    ['weight above 70 lb', mutate((_, v) => v.setUint16(21, 11_201)), 'weight'],
    ['origin ZIP 00000', mutate((_, v) => v.setUint32(23, 1234)), 'origin_zip'],
    ['origin ZIP above 99999', mutate((_, v) => v.setUint32(23, 1_000_000_000)), 'origin_zip'],
    [
      'origin +4 digits without the flag',
      mutate((b, v) => {
        b[38] = 0b110;
        v.setUint32(23, 787_031_234);
      }),
      'origin_zip',
    ],
    ['destination bytes without the flag', mutate((b) => (b[38] = 0b001)), 'destination_zip'],
    [
      'destination +4 flag without the destination flag',
      mutate((b, v) => {
        b[38] = 0b101;
        v.setUint32(27, 0);
      }),
      'destination_zip',
    ],
    [
      'destination +4 digits without the flag',
      mutate((_, v) => v.setUint32(27, 100_011_234)),
      'destination_zip',
    ],
    [
      'ascending register below the postage',
      mutate((b) => {
        b.fill(0, 31, 36);
        b[35] = 1;
      }),
      'ascending_register',
    ],
    ['software id zero', mutate((_, v) => v.setUint16(36, 0)), 'software_id'],
    ['a reserved flag bit', mutate((b) => (b[38] = b[38]! | 0b1000)), 'reserved_bits'],
    ['the top flag bit', mutate((b) => (b[38] = b[38]! | 0x80)), 'reserved_bits'],
  ];
  it.each(cases)('rejects %s', (_name, bytes, reason) => {
    expect(() => decodeRecord(bytes)).toThrow(MalformedIndicium);
    expect(() => decodeRecord(bytes)).toThrow(expect.objectContaining({ reason }));
  });

  it('rejects payloads of the wrong length and unknown versions before the record', () => {
    const p = new Uint8Array(PAYLOAD_LENGTH + 1);
    p[0] = 1;
    expect(() => decodeIndicium(p)).toThrow(expect.objectContaining({ reason: 'length' }));
    expect(() => decodeIndicium(new Uint8Array(0))).toThrow(expect.objectContaining({ reason: 'length' }));
    expect(() => decodeIndicium(new Uint8Array(PAYLOAD_LENGTH).fill(9))).toThrow(
      expect.objectContaining({ reason: 'version' }),
    );
  });

  it('refuses to encode an out-of-range record', () => {
    expect(() => encodeRecord(sampleRecord({ postageCents: 0 }))).toThrow(MalformedIndicium);
    expect(() => encodeRecord(sampleRecord({ mailingDate: '2026-02-30' }))).toThrow(MalformedIndicium);
    expect(() => encodeRecord(sampleRecord({ origin: { zip5: '7870' } }))).toThrow(MalformedIndicium);
    expect(() => encodeRecord(sampleRecord({ serial: 2 ** 32 }))).toThrow(MalformedIndicium);
    expect(() => encodeRecord(sampleRecord({ ascendingCents: 5 }))).toThrow(MalformedIndicium);
  });

  it('names meters and keys', () => {
    expect(meterString(41, 17)).toBe('4100000017');
    expect(parseMeter('4100000017')).toEqual({ vendor: 41, device: 17 });
    expect(parseMeter('0000000017')).toBeUndefined();
    expect(parseMeter('41000000170')).toBeUndefined();
    expect(keyIdString(41, 26)).toBe('41-0000001a');
    expect(parseKeyId('41-0000001a')).toEqual({ vendor: 41, keyNumber: 26 });
    expect(parseKeyId('41-00000000')).toBeUndefined();
    expect(parseKeyId('41-0000001A')).toBeUndefined();
  });

  it('counts days from 2000-01-01 and refuses dates that do not exist', () => {
    expect(dateToDays('2000-01-01')).toBe(0);
    expect(dateToDays('2026-12-04')).toBe(9834);
    expect(daysToDate(9834)).toBe('2026-12-04');
    expect(dateToDays('2024-02-29')).toBeDefined();
    expect(dateToDays('2025-02-29')).toBeUndefined();
    expect(dateToDays('2026-13-01')).toBeUndefined();
    expect(dateToDays('26-12-04')).toBeUndefined();
  });
});
