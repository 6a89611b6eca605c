import { afterEach, describe, expect, it } from 'vitest';
import { audit } from './audit.ts';
import { LETTER, type TestCentral, testCentral } from './testing.ts';

let c: TestCentral;
afterEach(async () => {
  await c?.close();
});

async function busyLedger() {
  c = await testCentral();
  const a = await c.createAccount();
  const b = await c.createAccount('B');
  await c.fund(a.id, 1000);
  await c.fund(b.id, 500);
  for (let i = 0; i < 4; i++) await c.buy(a.api_key, LETTER);
  await c.buy(b.api_key, LETTER);
  await c.app.inject({
    method: 'POST',
    url: `/v1/indicia/${a.meter}/2/refund`,
    headers: { authorization: `Bearer ${a.api_key}` },
  });
  return { a, b };
}

describe('the ledger audit', () => {
  it('passes on an honest ledger and totals it', async () => {
    await busyLedger();
    const r = audit(c.store, { signatures: true });
    expect(r.problems).toEqual([]);
    expect(r.checked).toMatchObject({ journal_rows: 8, accounts: 2, indicia: 5, signatures: 5 });
    expect(r.totals).toEqual({
      deposited_cents: 1500,
      refunded_cents: 74,
      descending_cents: 1500 + 74 - 5 * 74,
      ascending_cents: 5 * 74,
    });
  });

  it('refuses to let the journal be edited or deleted', async () => {
    await busyLedger();
    expect(() => c.store.db.prepare('UPDATE journal SET amount_cents = 1 WHERE seq = 3').run()).toThrow(
      /append-only/,
    );
    expect(() => c.store.db.prepare('DELETE FROM journal WHERE seq = 3').run()).toThrow(/append-only/);
  });

  it('reports an altered journal row, even with the triggers dropped', async () => {
    await busyLedger();
    c.store.db.exec('DROP TRIGGER journal_append_only_update');
    c.store.db.prepare('UPDATE journal SET amount_cents = 1 WHERE seq = 4').run();
    const r = audit(c.store);
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(/row 4 was altered/);
  });

  it('reports a deleted journal row', async () => {
    await busyLedger();
    c.store.db.exec('DROP TRIGGER journal_append_only_delete');
    c.store.db.prepare('DELETE FROM journal WHERE seq = 5').run();
    const p = audit(c.store).problems.join('\n');
    expect(p).toMatch(/row 6 follows row 4/);
    expect(p).toMatch(/does not point at the hash/);
  });

  it('reports registers that disagree with the journal', async () => {
    const { a } = await busyLedger();
    // Move money without a journal row (keeping the row's own CHECK constraints satisfied).
    c.store.db
      .prepare(
        'UPDATE accounts SET descending_cents = descending_cents + 100, deposited_cents = deposited_cents + 100, control_cents = control_cents + 100 WHERE id = ?',
      )
      .run(a.id);
    const p = audit(c.store).problems.join('\n');
    expect(p).toMatch(new RegExp(`account ${a.id}: deposits 1100, journal says 1000`));
  });

  it('reports a gap in the serials and a forged stored signature', async () => {
    const { a } = await busyLedger();
    c.store.db.prepare('DELETE FROM indicia WHERE meter = ? AND serial = 3').run(a.meter);
    const row = c.store.indicium(a.meter, 1)!;
    row.payload[50] = row.payload[50]! ^ 1;
    c.store.db
      .prepare('UPDATE indicia SET payload = ? WHERE meter = ? AND serial = 1')
      .run(row.payload, a.meter);
    const p = audit(c.store, { signatures: true }).problems.join('\n');
    expect(p).toMatch(new RegExp(`meter ${a.meter}: 3 indicia with serials 1..4, expected 1..4`));
    expect(p).toMatch(/1 issue journal rows have no indicium/);
    expect(p).toMatch(new RegExp(`indicium ${a.meter}/1: signature does not verify`));
  });
});
