/**
 * Independent checks, with tools no one here wrote: Debian's ZXingReader (zxing-cpp) and dmtxread
 * (libdmtx) read our barcodes and labels; openssl verifies our signatures; pdftoppm (poppler)
 * rasterises our PDFs. .ci/run installs them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelPdf, labelPng } from './label.ts';
import { type TestCentral, testCentral } from './testing.ts';

const out = join(import.meta.dirname, '..', 'test', '.artifacts', 'central');
mkdirSync(out, { recursive: true });

let c: TestCentral;
let piece: {
  meter: string;
  serial: number;
  payload: string;
  key_id: string;
  origin: { city: string; state: string };
};
let key: string;
let payload: Buffer;

beforeAll(async () => {
  c = await testCentral();
  const a = await c.createAccount('Hill Country Books', '78703');
  key = a.api_key;
  await c.fund(a.id, 5000);
  piece = (await c.buy(a.api_key, { mail_class: 'flat', weight_oz: 4, destination_zip: '10001-2345' })).body;
  payload = Buffer.from(piece.payload, 'base64');
});
afterAll(async () => {
  await c.close();
});

const zxing = (file: string, format: string) =>
  execFileSync('ZXingReader', ['-bytes', '-format', format, file]);

describe('independent checks of a piece bought through the API', () => {
  it('ZXingReader -bytes decodes the barcode PNG to exactly the payload', async () => {
    const r = await c.app.inject({
      url: `/v1/indicia/${piece.meter}/${piece.serial}/barcode.png`,
      headers: { authorization: `Bearer ${key}` },
    });
    const file = join(out, 'barcode.png');
    writeFileSync(file, r.rawPayload);
    expect(zxing(file, 'PDF417').equals(payload)).toBe(true);
  });

  it('openssl verifies the last 64 bytes against the PEM from /v1/keys', async () => {
    const keys = (await c.app.inject({ url: `/v1/keys?meter=${piece.meter}` })).json().keys;
    const k = keys.find((x: { key_id: string }) => x.key_id === piece.key_id);
    writeFileSync(join(out, 'key.pem'), k.public_key_pem);
    writeFileSync(join(out, 'record.bin'), payload.subarray(0, payload.length - 64));
    writeFileSync(join(out, 'signature.bin'), payload.subarray(payload.length - 64));
    const res = execFileSync('openssl', [
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      join(out, 'key.pem'),
      '-rawin',
      '-in',
      join(out, 'record.bin'),
      '-sigfile',
      join(out, 'signature.bin'),
    ]);
    expect(res.toString()).toMatch(/Signature Verified Successfully/);
  });

  it.each(['envelope', 'label4x6'] as const)(
    'the %s label PDF, printed at 300 dpi, reads back to the payload',
    async (layout) => {
      const pdf = await labelPdf([{ payload: new Uint8Array(payload), origin: piece.origin }], layout);
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      const file = join(out, `label-${layout}.pdf`);
      writeFileSync(file, pdf);
      execFileSync('pdftoppm', [
        '-r',
        '300',
        '-gray',
        '-png',
        '-singlefile',
        file,
        join(out, `label-${layout}`),
      ]);
      expect(zxing(join(out, `label-${layout}.png`), 'PDF417').equals(payload)).toBe(true);
      const text = execFileSync('pdftotext', ['-layout', file, '-']).toString();
      expect(text).toMatch(/US POSTAGE \$2\.44/);
      expect(text).toMatch(/FROM AUSTIN TX 78703/);
      expect(text).toMatch(new RegExp(`METER ${piece.meter} SERIAL 000000001`));
      expect(text).toMatch(/TO ZIP 10001-2345/);
    },
  );

  it('the PNG label reads back with ZXingReader, and a Data Matrix label with dmtxread', async () => {
    const png = join(out, 'label-envelope-svg.png');
    writeFileSync(
      png,
      await labelPng({ payload: new Uint8Array(payload), origin: piece.origin }, 'envelope'),
    );
    expect(zxing(png, 'PDF417').equals(payload)).toBe(true);
    const dm = join(out, 'label-datamatrix.png');
    writeFileSync(
      dm,
      await labelPng(
        { payload: new Uint8Array(payload), origin: piece.origin, symbology: 'datamatrix' },
        'label4x6',
      ),
    );
    expect(execFileSync('dmtxread', ['-N1', dm]).equals(payload)).toBe(true);
  });

  it('a multi-page PDF has one page per piece', async () => {
    const items = [1, 2, 3].map(() => ({ payload: new Uint8Array(payload), origin: piece.origin }));
    const file = join(out, 'batch.pdf');
    writeFileSync(file, await labelPdf(items, 'label4x6'));
    expect(execFileSync('pdfinfo', [file]).toString()).toMatch(/Pages:\s+3/);
  });
});
