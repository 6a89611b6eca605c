import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeIndicium } from '../payload.ts';
import { publicKeyToPem } from '../signature.ts';
import { newTestKey, sampleRecord, signedPayload } from '../testing.ts';
import { readGrey, readImage } from './read.ts';
import {
  darkRects,
  encodeMatrix,
  encodeWithZxing,
  renderBitmap,
  renderPng,
  renderSvg,
  SYMBOLOGIES,
} from './write.ts';

const dir = mkdtempSync(join(tmpdir(), 'sigpost-barcode-'));
const key = newTestKey();
const payload = signedPayload(sampleRecord(), key);

/** Run an independent tool; these are installed by .ci/run (zxing-cpp-tools, dmtx-utils, openssl). */
function tool(cmd: string, args: string[]): Buffer {
  return execFileSync(cmd, args, { maxBuffer: 1 << 20 });
}

describe.each(SYMBOLOGIES)('%s', (symbology) => {
  it('round-trips the payload through PNG with our reader', async () => {
    const m = await encodeMatrix(payload, symbology);
    const hits = await readImage(renderPng(m), { formats: [symbology] });
    expect(hits).toHaveLength(1);
    expect(hits[0]!.symbology).toBe(symbology);
    expect(hits[0]!.bytes).toEqual(payload);
  });

  it('round-trips through a raw greyscale bitmap, whole and by region', async () => {
    const m = await encodeMatrix(payload, symbology);
    const bmp = renderBitmap(m, { moduleSize: 3 });
    // Place the symbol inside a larger white page, then read the region around it.
    const W = bmp.width + 300;
    const H = bmp.height + 200;
    const page = new Uint8Array(W * H).fill(255);
    for (let y = 0; y < bmp.height; y++)
      page.set(bmp.data.subarray(y * bmp.width, (y + 1) * bmp.width), (y + 100) * W + 250);
    const whole = await readGrey(page, W, H, { formats: [symbology] });
    expect(whole[0]?.bytes).toEqual(payload);
    const region = await readGrey(page, W, H, {
      formats: [symbology],
      region: { left: 200, top: 50, width: bmp.width + 100, height: bmp.height + 100 },
    });
    expect(region[0]?.bytes).toEqual(payload);
    expect(region[0]!.position.topLeft.x).toBeGreaterThan(240); // offset back into page coordinates
    const elsewhere = await readGrey(page, W, H, {
      formats: [symbology],
      region: { left: 0, top: 0, width: 200, height: 90 },
    });
    expect(elsewhere).toHaveLength(0);
  });

  it('renders an SVG that reads back after rasterising', async () => {
    const m = await encodeMatrix(payload, symbology);
    const svg = renderSvg(m, { moduleSize: 4 });
    expect(svg).toMatch(/^<svg /);
    const png = await sharp(Buffer.from(svg)).png().toBuffer();
    expect((await readImage(png, { formats: [symbology] }))[0]?.bytes).toEqual(payload);
    // Merged rectangles cover exactly the dark modules.
    const area = darkRects(m).reduce((a, r) => a + r.w * r.h, 0);
    expect(area).toBe(m.dark.reduce((a, b) => a + b, 0));
  });

  it('is read byte-exact by Debian ZXingReader -bytes (zxing-cpp, independent of zxing-wasm)', async () => {
    const file = join(dir, `${symbology}.png`);
    writeFileSync(file, renderPng(await encodeMatrix(payload, symbology)));
    const out = tool('ZXingReader', [
      '-bytes',
      '-format',
      symbology === 'pdf417' ? 'PDF417' : 'DataMatrix',
      file,
    ]);
    expect(new Uint8Array(out)).toEqual(payload);
  });
});

describe('independent checks', () => {
  it('PDF417 from bwip-js (ours) and from zxing-wasm (reference) both carry the payload, for many payloads', async () => {
    for (let i = 0; i < 30; i++) {
      const p = signedPayload(sampleRecord({ serial: 1000 + i * 7919, postageCents: 50 + i }), key);
      for (const m of [await encodeMatrix(p, 'pdf417'), await encodeWithZxing(p, 'pdf417')]) {
        // 6 data columns; rows 3 modules high; 26 or 27 rows, as the encoder's compaction falls.
        expect(m.width).toBe(171);
        expect(m.height % 3).toBe(0);
        expect(m.height / 3).toBeLessThanOrEqual(28);
        expect((await readImage(renderPng(m), { formats: ['pdf417'], isPure: true }))[0]?.bytes).toEqual(p);
      }
    }
  });

  it('writes a 1-bit PNG that states 300 dpi', async () => {
    const png = renderPng(await encodeMatrix(payload));
    const meta = await sharp(png).metadata();
    expect(meta).toMatchObject({
      format: 'png',
      channels: 1,
      density: 300,
      width: (171 + 4) * 4,
      height: (78 + 4) * 4,
    });
  });

  it('Data Matrix is read byte-exact by libdmtx (dmtxread)', async () => {
    const file = join(dir, 'dm-dmtx.png');
    writeFileSync(file, renderPng(await encodeMatrix(payload, 'datamatrix')));
    expect(new Uint8Array(tool('dmtxread', ['-N1', file]))).toEqual(payload);
  });

  it('openssl verifies the last 64 bytes over the rest against the PEM', () => {
    const d = decodeIndicium(payload);
    const pem = join(dir, 'key.pem');
    writeFileSync(pem, publicKeyToPem(key.raw));
    writeFileSync(join(dir, 'msg.bin'), payload.subarray(0, payload.length - 64));
    writeFileSync(join(dir, 'sig.bin'), payload.subarray(payload.length - 64));
    const ok = tool('openssl', [
      'pkeyutl',
      '-verify',
      '-pubin',
      '-inkey',
      pem,
      '-rawin',
      '-in',
      join(dir, 'msg.bin'),
      '-sigfile',
      join(dir, 'sig.bin'),
    ]);
    expect(ok.toString()).toMatch(/Signature Verified Successfully/);
    // And a tampered record fails the same independent check.
    const bad = Buffer.from(d.signed);
    bad[11] = bad[11]! ^ 1;
    writeFileSync(join(dir, 'msg.bin'), bad);
    expect(() =>
      tool('openssl', [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        pem,
        '-rawin',
        '-in',
        join(dir, 'msg.bin'),
        '-sigfile',
        join(dir, 'sig.bin'),
      ]),
    ).toThrow();
  });

  it('reports nothing, not an error, for an image without a barcode', async () => {
    const blank = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    expect(await readImage(blank)).toEqual([]);
    expect(await readGrey(new Uint8Array(400 * 300).fill(255), 400, 300)).toEqual([]);
  });

  it('refuses a region outside the image', async () => {
    await expect(
      readGrey(new Uint8Array(100), 10, 10, { region: { left: 5, top: 5, width: 10, height: 2 } }),
    ).rejects.toThrow(RangeError);
  });
});
