/**
 * The ledger audit: recompute everything that can be recomputed and report each disagreement.
 *   - the journal's hash chain, row by row, from the genesis hash;
 *   - per account: registers = sums of its journal rows, descending + ascending = control;
 *   - per row: the registers it records follow from the previous row of the same account;
 *   - per meter: serials 1..last_serial, each issued exactly once, each with its journal row;
 *   - optionally, every stored indicium's signature under its published key.
 */
import { decodeIndicium, publicKeyFromRaw, verifySignature } from '../indicium/index.ts';
import { GENESIS_HASH, journalHash, type Store } from './store.ts';

export interface AuditReport {
  ok: boolean;
  checked: { journal_rows: number; accounts: number; meters: number; indicia: number; signatures: number };
  totals: {
    deposited_cents: number;
    refunded_cents: number;
    descending_cents: number;
    ascending_cents: number;
  };
  problems: string[];
}

export function audit(store: Store, opts: { signatures?: boolean } = {}): AuditReport {
  const problems: string[] = [];
  const report = (p: string) => {
    if (problems.length < 1000) problems.push(p);
  };

  // The chain, and each row's registers against the previous row of its account.
  let prev: Buffer = GENESIS_HASH;
  let expectSeq = 1;
  let rows = 0;
  const running = new Map<string, { d: number; a: number; c: number }>();
  for (const r of store.journal()) {
    rows++;
    if (r.seq !== expectSeq)
      report(`journal: row ${r.seq} follows row ${expectSeq - 1} (a gap or a reorder)`);
    expectSeq = r.seq + 1;
    if (!r.prev_hash.equals(prev))
      report(`journal: row ${r.seq} does not point at the hash of the row before it`);
    if (!journalHash(r.prev_hash, r).equals(r.hash))
      report(`journal: row ${r.seq} was altered (its hash does not match)`);
    prev = r.hash;
    const s = running.get(r.account_id) ?? { d: 0, a: 0, c: 0 };
    if (r.kind === 'fund') {
      s.d += r.amount_cents;
      s.c += r.amount_cents;
    } else if (r.kind === 'issue') {
      s.d -= r.amount_cents;
      s.a += r.amount_cents;
    } else {
      s.d += r.amount_cents;
      s.c += r.amount_cents;
    }
    running.set(r.account_id, s);
    if (s.d !== r.descending_after || s.a !== r.ascending_after || s.c !== r.control_after) {
      report(
        `journal: row ${r.seq} records registers ${r.descending_after}/${r.ascending_after}/${r.control_after}, the rows before it give ${s.d}/${s.a}/${s.c}`,
      );
    }
    if (s.d < 0) report(`journal: row ${r.seq} takes account ${r.account_id} below zero`);
  }

  // Accounts against their journal.
  const totals = { deposited_cents: 0, refunded_cents: 0, descending_cents: 0, ascending_cents: 0 };
  const sums = new Map<string, { fund: number; issue: number; refund: number; issues: number }>();
  for (const t of store.journalTotals()) {
    const s = sums.get(t.account_id) ?? { fund: 0, issue: 0, refund: 0, issues: 0 };
    s[t.kind] = t.total;
    if (t.kind === 'issue') s.issues = t.n;
    sums.set(t.account_id, s);
  }
  let accounts = 0;
  const byMeter = new Map<string, { last: number; issued: number; refunded: number }>();
  for (const a of store.allAccounts()) {
    accounts++;
    const s = sums.get(a.id) ?? { fund: 0, issue: 0, refund: 0, issues: 0 };
    totals.deposited_cents += a.deposited_cents;
    totals.refunded_cents += a.refunded_cents;
    totals.descending_cents += a.descending_cents;
    totals.ascending_cents += a.ascending_cents;
    if (a.descending_cents + a.ascending_cents !== a.control_cents) {
      report(
        `account ${a.id}: descending ${a.descending_cents} + ascending ${a.ascending_cents} != control ${a.control_cents}`,
      );
    }
    if (a.deposited_cents !== s.fund)
      report(`account ${a.id}: deposits ${a.deposited_cents}, journal says ${s.fund}`);
    if (a.refunded_cents !== s.refund)
      report(`account ${a.id}: refunds ${a.refunded_cents}, journal says ${s.refund}`);
    if (a.ascending_cents !== s.issue)
      report(`account ${a.id}: ascending ${a.ascending_cents}, journal says ${s.issue}`);
    if (a.descending_cents !== s.fund + s.refund - s.issue) {
      report(
        `account ${a.id}: descending ${a.descending_cents}, journal says ${s.fund + s.refund - s.issue}`,
      );
    }
    if (a.last_serial !== s.issues)
      report(`meter ${a.meter}: last serial ${a.last_serial}, journal has ${s.issues} issues`);
    byMeter.set(a.meter, { last: a.last_serial, issued: a.ascending_cents, refunded: a.refunded_cents });
  }

  // Serials: 1..last, no gap, no reuse, and each piece has its journal row.
  let indicia = 0;
  for (const m of store.meterSerialStats()) {
    indicia += m.n;
    const a = byMeter.get(m.meter);
    if (!a) {
      report(`meter ${m.meter}: indicia without an account`);
      continue;
    }
    if (m.min_serial !== 1 || m.max_serial !== a.last || m.n !== a.last) {
      report(
        `meter ${m.meter}: ${m.n} indicia with serials ${m.min_serial}..${m.max_serial}, expected 1..${a.last}`,
      );
    }
    if (m.issued_cents !== a.issued)
      report(`meter ${m.meter}: indicia total ${m.issued_cents}, ascending register ${a.issued}`);
    if (m.refunded_cents !== a.refunded)
      report(`meter ${m.meter}: refunded indicia total ${m.refunded_cents}, account says ${a.refunded}`);
    byMeter.delete(m.meter);
  }
  for (const [meter, a] of byMeter)
    if (a.last !== 0) report(`meter ${meter}: last serial ${a.last} but no indicia`);
  const o = store.orphans();
  if (o.journal_without_indicium) report(`${o.journal_without_indicium} issue journal rows have no indicium`);
  if (o.indicium_without_journal) report(`${o.indicium_without_journal} indicia have no issue journal row`);
  if (o.idempotency_dangling) report(`${o.idempotency_dangling} idempotency keys point at no indicium`);

  let signatures = 0;
  if (opts.signatures) {
    const keys = new Map(store.listSigningKeys().map((k) => [k.key_id, publicKeyFromRaw(k.public_key)]));
    for (const row of store.indicia()) {
      const key = keys.get(row.key_id);
      try {
        const d = decodeIndicium(new Uint8Array(row.payload));
        if (d.meter !== row.meter || d.record.serial !== row.serial || d.keyId !== row.key_id) {
          report(
            `indicium ${row.meter}/${row.serial}: payload names ${d.meter}/${d.record.serial} key ${d.keyId}`,
          );
        } else if (!key || !verifySignature(d.signed, d.signature, key)) {
          report(`indicium ${row.meter}/${row.serial}: signature does not verify`);
        }
      } catch (e) {
        report(`indicium ${row.meter}/${row.serial}: ${(e as Error).message}`);
      }
      signatures++;
    }
  }

  return {
    ok: problems.length === 0,
    checked: { journal_rows: rows, accounts, meters: accounts, indicia, signatures },
    totals,
    problems,
  };
}
