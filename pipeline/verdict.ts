/**
 * The verdict stage, for one batch of `scans.read` messages of one meter partition (Kafka gives a
 * partition to one consumer at a time, so two sightings of one indicium are never decided at once):
 *   1. scans already recorded (a redelivery) keep their verdict and are not written again;
 *   2. the others are verified (verify.ts);
 *   3. genuine sightings are checked against the first genuine sighting of the same (meter, serial),
 *      in ClickHouse or earlier in this batch: a different scan id makes a DUPLICATE naming it;
 *   4. the new sightings are written to ClickHouse in one insert, with a deduplication token, so a
 *      retried batch writes no second copy.
 * The caller then publishes the verdicts and only then commits the offsets (at-least-once,
 * idempotent by scan id).
 */
import { createHash } from 'node:crypto';
import { type FirstSighting, type History, pieceKey, type SightingRow } from './history.ts';
import type { ReadMessage, VerdictMessage } from './messages.ts';
import type { KeyRegistry } from './registry.ts';
import { DEFAULT_VERIFY, DUPLICATE_OVERRIDES, type Judged, judge, type VerifyOptions } from './verify.ts';

export interface VerdictTimings {
  verify_ms: number;
  history_ms: number;
  insert_ms: number;
}

export class VerdictStage {
  constructor(
    private readonly history: History,
    private readonly registry: KeyRegistry,
    private readonly opts: VerifyOptions = DEFAULT_VERIFY,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async decide(
    batch: ReadMessage[],
  ): Promise<{ verdicts: VerdictMessage[]; written: SightingRow[]; timings: VerdictTimings }> {
    const timings: VerdictTimings = { verify_ms: 0, history_ms: 0, insert_ms: 0 };
    let t = performance.now();
    const lap = (k: keyof VerdictTimings) => {
      const n = performance.now();
      timings[k] += n - t;
      t = n;
    };

    // 1. Redeliveries.
    const known = await this.history.recorded([...new Set(batch.map((m) => m.scan_id))]);
    lap('history_ms');

    // 2. Verify each new scan once (a scan id twice in one batch is one sighting).
    const fresh = new Map<string, { m: ReadMessage; j: Judged; verifyMs: number }>();
    for (const m of batch) {
      if (known.has(m.scan_id) || fresh.has(m.scan_id)) continue;
      const t0 = performance.now();
      const j = judge(m, m.captured_at, this.registry, this.opts);
      fresh.set(m.scan_id, { m, j, verifyMs: performance.now() - t0 });
    }
    lap('verify_ms');

    // 3. Duplicates among genuine sightings, in batch order.
    const keys = new Map<string, [string, number]>();
    for (const { j } of fresh.values()) {
      if (j.genuine && j.decoded)
        keys.set(pieceKey(j.decoded.meter, j.decoded.record.serial), [
          j.decoded.meter,
          j.decoded.record.serial,
        ]);
    }
    const firsts: Map<string, FirstSighting> = await this.history.firstGenuine([...keys.values()]);
    lap('history_ms');

    const decidedAt = this.now().toISOString();
    const rows: SightingRow[] = [];
    for (const { m, j, verifyMs } of fresh.values()) {
      let first: FirstSighting | undefined;
      let verdict = j.verdict;
      let reason = j.reason;
      if (j.genuine && j.decoded) {
        const k = pieceKey(j.decoded.meter, j.decoded.record.serial);
        first = firsts.get(k);
        if (!first) firsts.set(k, { scan_id: m.scan_id, plant: m.plant, captured_at: m.captured_at });
        else if (DUPLICATE_OVERRIDES.has(verdict)) {
          verdict = 'DUPLICATE';
          reason = `first seen as scan ${first.scan_id} at plant ${first.plant}, ${first.captured_at}`;
        }
      }
      rows.push(
        this.row(
          m,
          j,
          verdict,
          reason,
          verdict === 'DUPLICATE' || j.verdict === 'VOIDED' ? first : undefined,
          decidedAt,
          verifyMs,
        ),
      );
    }

    // 4. Write the new sightings once.
    if (rows.length) {
      const token = createHash('sha256')
        .update(
          rows
            .map((r) => r.scan_id)
            .sort()
            .join('\n'),
        )
        .digest('hex');
      await this.history.insert(rows, token);
    }
    lap('insert_ms');

    const byId = new Map<string, SightingRow>([...known, ...rows.map((r) => [r.scan_id, r] as const)]);
    const verdicts = batch.map((m) => toVerdictMessage(byId.get(m.scan_id)!));
    return { verdicts, written: rows, timings };
  }

  private row(
    m: ReadMessage,
    j: Judged,
    verdict: string,
    reason: string,
    first: FirstSighting | undefined,
    decidedAt: string,
    verifyMs: number,
  ): SightingRow {
    const r = j.decoded?.record;
    return {
      scan_id: m.scan_id,
      plant: m.plant,
      machine: m.machine,
      captured_at: m.captured_at,
      read_at: m.read_at,
      decided_at: decidedAt,
      verdict,
      reason,
      meter: j.decoded?.meter ?? m.meter ?? '',
      serial: r?.serial ?? m.serial ?? 0,
      key_id: j.decoded?.keyId ?? '',
      postage_cents: r?.postageCents ?? 0,
      mailing_date: r?.mailingDate ?? null,
      mail_class: r?.mailClass ?? '',
      genuine: j.genuine ? 1 : 0,
      first_scan_id: first?.scan_id ?? '',
      first_plant: first?.plant ?? '',
      first_captured_at: first?.captured_at ?? null,
      symbology: m.symbology ?? '',
      region: m.region ?? '',
      payload: m.payload ?? '',
      read_ms: m.timings.image_ms + m.timings.barcode_ms,
      verify_ms: verifyMs,
      queue_ms: m.timings.queue_ms,
      total_ms: Date.parse(decidedAt) - Date.parse(m.captured_at),
    };
  }
}

export function toVerdictMessage(r: SightingRow): VerdictMessage {
  const decoded = r.key_id !== '';
  return {
    v: 1,
    scan_id: r.scan_id,
    plant: r.plant,
    machine: r.machine,
    captured_at: r.captured_at,
    verdict: r.verdict as VerdictMessage['verdict'],
    reason: r.reason,
    meter: decoded ? r.meter : null,
    serial: decoded ? r.serial : null,
    key_id: decoded ? r.key_id : null,
    postage_cents: decoded ? r.postage_cents : null,
    mailing_date: r.mailing_date,
    first: r.first_scan_id
      ? { scan_id: r.first_scan_id, plant: r.first_plant, captured_at: r.first_captured_at! }
      : null,
    decided_at: r.decided_at,
  };
}
