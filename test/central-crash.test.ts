/**
 * Crash safety of the central signer: kill -9 the server in the middle of load, restart it on the
 * same data, and check that the registers agree with the journal, no serial was reused, every
 * acknowledged indicium is retrievable byte for byte, and retries of the unanswered requests
 * (same Idempotency-Key) neither lose nor double-charge a piece.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adminCall, runToEnd, startCentral } from './helpers/processes.ts';

const LETTER = { mail_class: 'letter', weight_oz: 1, destination_zip: '10001' };

async function buy(
  url: string,
  key: string,
  idem: string,
): Promise<{ status: number; body: any } | { error: string }> {
  try {
    const r = await fetch(`${url}/v1/indicia`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'idempotency-key': idem,
        'content-type': 'application/json',
      },
      body: JSON.stringify(LETTER),
    });
    return { status: r.status, body: await r.json() };
  } catch (e) {
    return { error: String(e) };
  }
}

describe('central signer crash safety', () => {
  it('survives kill -9 under load with every acknowledged piece intact', async () => {
    const data = mkdtempSync(join(tmpdir(), 'sigpost-crash-'));
    const first = await startCentral(data, ['--rate-limit', '1000000']);
    const acct = await adminCall(first.url, 'POST', '/v1/admin/accounts', {
      name: 'Crash Test Mailer',
      origin_zip: '78703',
    });
    await adminCall(first.url, 'POST', `/v1/admin/accounts/${acct.id}/funds`, { amount_cents: 10_000_000 });

    const acked = new Map<string, { meter: string; serial: number; payload: string }>();
    const unanswered: string[] = [];
    let n = 0;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const idem = `crash-${n++}`;
        const r = await buy(first.url, acct.api_key, idem);
        if ('status' in r && r.status === 201) acked.set(idem, r.body);
        else if ('status' in r) throw new Error(`unexpected ${r.status} ${JSON.stringify(r.body)}`);
        else unanswered.push(idem);
      }
    };
    const workers = Array.from({ length: 32 }, worker);
    while (acked.size < 1500) await new Promise((r) => setTimeout(r, 10));
    first.proc.kill('SIGKILL');
    await first.exited;
    stop = true;
    await Promise.all(workers);
    expect(unanswered.length).toBeGreaterThan(0); // the kill really landed mid-load

    // Offline audit of the data the crash left behind.
    const audit = await runToEnd(['central', 'audit', '--data', data, '--signatures', '--json']);
    const report = JSON.parse(audit.out);
    expect(report.problems).toEqual([]);
    expect(audit.code).toBe(0);

    const second = await startCentral(data, ['--rate-limit', '1000000']);
    try {
      const headers = { authorization: `Bearer ${acct.api_key}` };
      const before = (await (await fetch(`${second.url}/v1/account`, { headers })).json()) as any;
      // Every piece that was acknowledged is there, byte for byte.
      for (const p of acked.values()) {
        const r = await fetch(`${second.url}/v1/indicia/${p.meter}/${p.serial}`, { headers });
        expect(r.status).toBe(200);
        expect(((await r.json()) as any).payload).toBe(p.payload);
      }
      // Pieces committed but not acknowledged are allowed: at least the acknowledged ones exist.
      expect(before.pieces_issued).toBeGreaterThanOrEqual(acked.size);
      expect(before.pieces_issued).toBeLessThanOrEqual(acked.size + unanswered.length);
      expect(before.registers.descending_cents + before.registers.ascending_cents).toBe(
        before.registers.control_cents,
      );
      expect(before.registers.ascending_cents).toBe(74 * before.pieces_issued);

      // Retrying the unanswered requests with their keys: each ends with exactly one piece.
      const retried = await Promise.all(unanswered.map((k) => buy(second.url, acct.api_key, k)));
      expect(retried.every((r) => 'status' in r && r.status === 201)).toBe(true);
      const after = (await (await fetch(`${second.url}/v1/account`, { headers })).json()) as any;
      expect(after.pieces_issued).toBe(acked.size + unanswered.length);

      // No serial was reused: the next piece continues the sequence.
      const next = await buy(second.url, acct.api_key, 'after-restart');
      expect('status' in next && next.body.serial).toBe(after.pieces_issued + 1);
      const serials = new Set([...acked.values()].map((p) => p.serial));
      for (const r of retried) if ('status' in r) serials.add(r.body.serial);
      expect(serials.size).toBe(acked.size + unanswered.length);
      expect(Math.max(...serials)).toBe(serials.size);

      const online = await adminCall(second.url, 'GET', '/v1/admin/audit?signatures=true');
      expect(online.problems).toEqual([]);
    } finally {
      second.proc.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  }, 120_000);
});
