/**
 * `sigpost verify IMAGE...`: the pipeline's stages in process, without a bus: read each image (in
 * the worker pool), verify, check against the history in chDB under --data, record the sighting,
 * print one JSON line per image. Each image argument is one sighting (a fresh scan id), so images
 * given in one call, or across calls with the same --data, share their history: the second
 * sighting of an indicium is a DUPLICATE that names the first.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { History } from './history.ts';
import { ReadPool } from './read/pool.ts';
import { readMessage } from './read/read.ts';
import { KeyRegistry } from './registry.ts';
import { VerdictStage } from './verdict.ts';
import { DEFAULT_VERIFY, type VerifyOptions } from './verify.ts';

export interface VerifyFilesOptions {
  dataDir: string;
  keys?: string | undefined;
  /** A central signer's events feed (base URL), for voided indicia and keys. */
  events?: string | undefined;
  feedToken?: string | undefined;
  plant?: string;
  machine?: string;
  capturedAt?: string | undefined;
  verify?: VerifyOptions;
}

export interface FileVerdict {
  file: string;
  scan_id: string;
  verdict: string;
  reason: string;
  meter: string | null;
  serial: number | null;
  key_id: string | null;
  first: { scan_id: string; plant: string; captured_at: string } | null;
  read: { outcome: string; region?: string | undefined; symbology?: string | undefined; ms: number };
}

/** Pull the whole events feed of a central signer into the registry. */
export async function loadEvents(registry: KeyRegistry, base: string, token?: string): Promise<number> {
  let after = 0;
  let n = 0;
  for (;;) {
    const url = new URL('/v1/events', base);
    url.searchParams.set('after', String(after));
    url.searchParams.set('limit', '10000');
    const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
    const body = (await res.json()) as {
      events: { seq: number; type: string; data: unknown }[];
      next: number;
    };
    for (const e of body.events) registry.apply(e);
    n += body.events.length;
    if (body.events.length === 0) return n;
    after = body.next;
  }
}

export async function verifyFiles(
  files: string[],
  o: VerifyFilesOptions,
  emit: (v: FileVerdict) => void,
): Promise<void> {
  const registry = new KeyRegistry();
  if (o.keys) await registry.load(o.keys);
  if (o.events) await loadEvents(registry, o.events, o.feedToken);
  const history = await History.open(`chdb:${join(o.dataDir, 'history')}`);
  const pool = new ReadPool();
  const stage = new VerdictStage(history, registry, o.verify ?? DEFAULT_VERIFY);
  try {
    // Read in parallel, decide in the order given (so "first" means first on the command line).
    const reads = files.map(async (file) => {
      const t0 = performance.now();
      const image = await readFile(file);
      const r = await pool.run(image);
      return { file, r, ms: performance.now() - t0 };
    });
    for (const pending of reads) {
      const { file, r, ms } = await pending;
      const now = new Date().toISOString();
      const msg = readMessage(
        {
          scan_id: `${basename(file, extname(file))}-${randomUUID()}`,
          plant: o.plant ?? 'cli',
          machine: o.machine ?? 'verify',
          captured_at: o.capturedAt ?? now,
        },
        r,
        { queued_at: now, read_at: now, queue_ms: 0 },
      );
      const { verdicts } = await stage.decide([msg]);
      const v = verdicts[0]!;
      emit({
        file,
        scan_id: v.scan_id,
        verdict: v.verdict,
        reason: v.reason,
        meter: v.meter,
        serial: v.serial,
        key_id: v.key_id,
        first: v.first,
        read: {
          outcome: r.outcome,
          region: msg.region,
          symbology: msg.symbology,
          ms: Math.round(ms * 10) / 10,
        },
      });
    }
  } finally {
    await pool.close();
    await history.close();
  }
}
