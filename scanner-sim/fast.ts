/**
 * Many mail-piece images, fast: one envelope background (addresses, paper) is rendered once; each
 * piece then gets its barcode drawn straight into a copy of it at the scan resolution, and is
 * encoded as greyscale JPEG. About 10 ms a piece instead of about 100 ms through SVG, for runs of
 * thousands of scans (load and restart tests, benchmarks). The human-readable block is left out;
 * envelope.ts renders the full label.
 */
import sharp from 'sharp';
import { encodeMatrix, renderBitmap, type Symbology } from '../indicium/barcode/index.ts';
import { type EnvelopeSpec, envelopeGrey } from './envelope.ts';

export interface FastEnvelopes {
  width: number;
  height: number;
  /** A piece carrying `payload` (or nothing), as JPEG. */
  jpeg(
    payload: Uint8Array | undefined,
    opts?: { quality?: number; symbology?: Symbology; upsideDown?: boolean },
  ): Promise<Buffer>;
}

export async function fastEnvelopes(spec: Omit<EnvelopeSpec, 'payload'>): Promise<FastEnvelopes> {
  const bg = await envelopeGrey({ ...spec, payload: undefined });
  const dpi = spec.dpi ?? 200;
  // 0.0133 in per module printed (4 dots at 300 dpi) is 2.67 px at 200 dpi; 3 px is the nearest whole size.
  const moduleSize = Math.max(1, Math.round(0.0133 * dpi));
  return {
    width: bg.width,
    height: bg.height,
    async jpeg(payload, opts = {}) {
      const img = Buffer.from(bg.data);
      if (payload) {
        const bmp = renderBitmap(await encodeMatrix(payload, opts.symbology ?? 'pdf417'), {
          moduleSize: opts.symbology === 'datamatrix' ? 4 : moduleSize,
        });
        const left = bg.width - bmp.width - Math.round(0.25 * dpi);
        const top = Math.round(0.25 * dpi);
        for (let y = 0; y < bmp.height; y++)
          img.set(bmp.data.subarray(y * bmp.width, (y + 1) * bmp.width), (top + y) * bg.width + left);
      }
      let p = sharp(img, { raw: { width: bg.width, height: bg.height, channels: 1 } });
      if (opts.upsideDown) p = p.rotate(180);
      return p
        .toColourspace('b-w')
        .jpeg({ quality: opts.quality ?? 75 })
        .toBuffer();
    },
  };
}
