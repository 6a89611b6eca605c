/**
 * Print and scan damage, at named levels, drawn from a seeded random source so that a run can be
 * repeated exactly. Print damage acts on the printed indicium (a label raster): ink spread (blur), a
 * tired cartridge (low contrast), smudges, part of it covered. Scan damage acts on the whole camera
 * image: rotation, skew, perspective, sensor noise, motion blur along the belt, JPEG quality; and a
 * piece may be faced the wrong way (180 degrees).
 */
import sharp, { type Sharp } from 'sharp';

export const DAMAGE_LEVELS = ['none', 'light', 'moderate', 'heavy', 'severe'] as const;
export type DamageLevel = (typeof DAMAGE_LEVELS)[number];

/** A small, fast, seedable PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Damage {
  level: DamageLevel;
  // print
  blur: number; // Gaussian sigma in pixels at 200 dpi (0 = none)
  contrast: number; // ink strength, 1 = black ink, 0.5 = mid grey
  smudges: number;
  /** Fraction of the barcode's width covered (a sticker, a postmark, a fold). */
  covered: number;
  // scan
  rotation: number; // degrees
  skew: number; // degrees of horizontal shear
  perspective: number; // relative narrowing of one side (0 = none, 0.03 = 3%)
  noise: number; // Gaussian noise sigma, grey levels
  motionBlur: number; // pixels along the belt (0 = none)
  quality: number; // JPEG quality
  upsideDown: boolean;
}

interface Range {
  blur: [number, number];
  contrast: [number, number];
  smudges: [number, number];
  covered: [number, number];
  rotation: number;
  skew: number;
  perspective: number;
  noise: [number, number];
  motionBlur: [number, number];
  quality: [number, number];
}

/** What each level allows; a piece draws its damage uniformly inside these bounds. */
export const LEVELS: Record<DamageLevel, Range> = {
  none: {
    blur: [0, 0],
    contrast: [1, 1],
    smudges: [0, 0],
    covered: [0, 0],
    rotation: 0,
    skew: 0,
    perspective: 0,
    noise: [0, 0],
    motionBlur: [0, 0],
    quality: [85, 90],
  },
  light: {
    blur: [0, 0.4],
    contrast: [0.9, 1],
    smudges: [0, 0],
    covered: [0, 0],
    rotation: 2,
    skew: 1,
    perspective: 0.005,
    noise: [0, 4],
    motionBlur: [0, 0],
    quality: [75, 90],
  },
  moderate: {
    blur: [0.3, 0.7],
    contrast: [0.75, 0.9],
    smudges: [0, 1],
    covered: [0, 0],
    rotation: 4,
    skew: 1.5,
    perspective: 0.015,
    noise: [2, 6],
    motionBlur: [0, 0],
    quality: [60, 80],
  },
  heavy: {
    blur: [0.6, 1.0],
    contrast: [0.6, 0.75],
    smudges: [1, 2],
    covered: [0.05, 0.15],
    rotation: 10,
    skew: 3,
    perspective: 0.03,
    noise: [6, 12],
    motionBlur: [2, 3],
    quality: [50, 65],
  },
  severe: {
    blur: [0.9, 1.4],
    contrast: [0.45, 0.6],
    smudges: [2, 3],
    covered: [0.15, 0.3],
    rotation: 10,
    skew: 4,
    perspective: 0.04,
    noise: [10, 18],
    motionBlur: [3, 5],
    quality: [50, 55],
  },
};

export function drawDamage(level: DamageLevel, r: () => number, upsideDownShare = 0): Damage {
  const L = LEVELS[level];
  const u = ([a, b]: [number, number]) => a + (b - a) * r();
  const sym = (m: number) => (r() * 2 - 1) * m;
  return {
    level,
    blur: u(L.blur),
    contrast: u(L.contrast),
    smudges: Math.round(u(L.smudges)),
    covered: u(L.covered),
    rotation: sym(L.rotation),
    skew: sym(L.skew),
    perspective: L.perspective * r(),
    noise: u(L.noise),
    motionBlur: Math.round(u(L.motionBlur)),
    quality: Math.round(u(L.quality)),
    upsideDown: r() < upsideDownShare,
  };
}

export interface Grey {
  data: Buffer;
  width: number;
  height: number;
}

const raw = (g: Grey) => sharp(g.data, { raw: { width: g.width, height: g.height, channels: 1 } });
async function toGrey(p: Sharp): Promise<Grey> {
  const { data, info } = await p.extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Print damage on the printed indicium (white paper, black ink). */
export async function damagePrint(
  label: Grey,
  d: Damage,
  r: () => number,
  barcode: { left: number; top: number; width: number; height: number },
  paper = 255,
): Promise<Grey> {
  let g = label;
  if (d.contrast < 1) {
    // Faded ink: ink moves towards the paper's tone; the paper (and the white label) stay as they are.
    const out = Buffer.alloc(g.data.length);
    for (let i = 0; i < out.length; i++) {
      const v = g.data[i]!;
      out[i] = v >= paper ? v : paper - Math.round((paper - v) * d.contrast);
    }
    g = { ...g, data: out };
  }
  const overlays: string[] = [];
  for (let i = 0; i < d.smudges; i++) {
    const cx = barcode.left + r() * barcode.width;
    const cy = barcode.top + r() * barcode.height;
    overlays.push(
      `<ellipse cx="${cx}" cy="${cy}" rx="${10 + r() * 25}" ry="${6 + r() * 14}" fill="#000" fill-opacity="${0.15 + r() * 0.25}"/>`,
    );
  }
  if (d.covered > 0) {
    const w = barcode.width * d.covered;
    const x = barcode.left + r() * (barcode.width - w);
    overlays.push(
      `<rect x="${x}" y="${barcode.top - 4}" width="${w}" height="${barcode.height + 8}" fill="#f4f4f4"/>`,
    );
  }
  let p = raw(g);
  if (overlays.length) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}">${overlays.join('')}</svg>`;
    g = await toGrey(p.composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).greyscale());
    p = raw(g);
  }
  if (d.blur > 0.3) g = await toGrey(p.blur(d.blur));
  return g;
}

/** Scan damage on the whole camera image; returns the JPEG the camera sends. */
export async function damageScan(img: Grey, d: Damage, r: () => number, paper: number): Promise<Buffer> {
  let g = img;
  const bg = { r: paper, g: paper, b: paper };
  if (d.rotation || d.skew) {
    const a = (d.rotation * Math.PI) / 180;
    const sh = Math.tan((d.skew * Math.PI) / 180);
    // Rotation then horizontal shear, about the centre; the camera frame keeps its size.
    const m: [number, number, number, number] = [
      Math.cos(a) + sh * Math.sin(a),
      -Math.sin(a) + sh * Math.cos(a),
      Math.sin(a),
      Math.cos(a),
    ];
    // The camera's frame holds the whole piece: the turned piece is fitted back into the frame.
    const turned = await raw(g)
      .affine(m, { background: bg, interpolator: 'bilinear' })
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const fitted = await sharp(turned.data, {
      raw: { width: turned.info.width, height: turned.info.height, channels: 1 },
    })
      .resize(img.width, img.height, { fit: 'contain', background: bg, kernel: 'linear' })
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    g = { data: fitted.data, width: fitted.info.width, height: fitted.info.height };
  }
  if (d.perspective > 0) g = perspective(g, d.perspective, r() < 0.5, paper);
  let p = raw(g);
  if (d.motionBlur > 1) {
    const k = d.motionBlur | 1; // convolution kernels have odd sizes
    // A horizontal line kernel (sharp wants at least 3 x 3: the other rows are zero).
    const kernel = [...Array(k).fill(0), ...Array(k).fill(1 / k), ...Array(k).fill(0)];
    p = p.convolve({ width: k, height: 3, kernel });
  }
  if (d.noise > 0) {
    g = await toGrey(p);
    addNoise(g, d.noise, r);
    p = raw(g);
  }
  if (d.upsideDown) p = p.rotate(180);
  return p.toColourspace('b-w').jpeg({ quality: d.quality }).toBuffer();
}

/** A keystone: one side of the piece appears `k` narrower than the other (camera not square on). */
function perspective(g: Grey, k: number, leftNarrow: boolean, paper: number): Grey {
  const { width: w, height: h } = g;
  const out = Buffer.alloc(w * h, paper);
  const cy = h / 2;
  for (let x = 0; x < w; x++) {
    const t = leftNarrow ? 1 - x / w : x / w;
    const s = 1 - k * t; // vertical scale at this column
    for (let y = 0; y < h; y++) {
      const sy = cy + (y - cy) / s;
      const y0 = Math.floor(sy);
      if (y0 < 0 || y0 + 1 >= h) continue;
      const f = sy - y0;
      out[y * w + x] = Math.round(g.data[y0 * w + x]! * (1 - f) + g.data[(y0 + 1) * w + x]! * f);
    }
  }
  return { data: out, width: w, height: h };
}

/** Standard normal samples, made once; a piece reads them from a random start with a random stride. */
const GAUSS = (() => {
  const r = rng(0x5eed);
  const t = new Float32Array(1 << 16);
  for (let i = 0; i < t.length; i += 2) {
    const u = Math.max(r(), 1e-12);
    const v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    t[i] = m * Math.cos(2 * Math.PI * v);
    t[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return t;
})();

function addNoise(g: Grey, sigma: number, r: () => number): void {
  // A clamped view: assignment rounds and clamps to 0..255 natively.
  const d = new Uint8ClampedArray(g.data.buffer, g.data.byteOffset, g.data.length);
  const mask = GAUSS.length - 1;
  let j = Math.floor(r() * GAUSS.length);
  const stride = (Math.floor(r() * 4096) * 2 + 1) & mask; // odd: visits the whole table
  for (let i = 0; i < d.length; i++) {
    d[i] = d[i]! + sigma * GAUSS[j]!;
    j = (j + stride) & mask;
  }
}

const _clamp = (x: number) => (x < 0 ? 0 : x > 255 ? 255 : Math.round(x));
