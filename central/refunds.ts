/**
 * Refunds (voids). An indicium that was not used may be voided within the refund window (default
 * 30 days from issue). The postage goes back to the descending register and the control total;
 * the ascending register keeps what was dispensed. The journal records the refund and the outbox
 * carries an `indicium.refunded` event, so the postal authority treats the piece as VOIDED.
 */
import type { Clock } from './clock.ts';
import { fail } from './errors.ts';
import { type IssuedView, issuedView } from './issuance.ts';
import type { Store } from './store.ts';

export type RefundStore = Pick<
  Store,
  'transaction' | 'indicium' | 'markRefunded' | 'credit' | 'appendJournal' | 'appendEvent' | 'account'
>;

const DAY = 86_400_000;

export class Refunds {
  constructor(
    private readonly store: RefundStore,
    private readonly clock: Clock,
    private readonly windowDays: number,
  ) {}

  refund(accountId: string, meter: string, serial: number, reason: string | null): IssuedView {
    return this.store.transaction(() => {
      const row = this.store.indicium(meter, serial);
      if (!row || row.account_id !== accountId)
        return fail('not_found', `no indicium ${meter}/${serial} on this account`);
      if (row.status === 'refunded')
        return fail('already_refunded', `indicium ${meter}/${serial} was refunded at ${row.refunded_at}`);
      const now = this.clock.now();
      const closes = new Date(Date.parse(row.created_at) + this.windowDays * DAY);
      if (now > closes) {
        return fail(
          'refund_window_closed',
          `the ${this.windowDays}-day refund window closed at ${closes.toISOString()}`,
        );
      }
      const at = now.toISOString();
      this.store.markRefunded(meter, serial, at);
      const a = this.store.credit(accountId, row.postage_cents);
      this.store.appendJournal({
        at,
        account_id: accountId,
        kind: 'refund',
        amount_cents: row.postage_cents,
        meter,
        serial,
        descending_after: a.descending_cents,
        ascending_after: a.ascending_cents,
        control_after: a.control_cents,
        ref: reason,
      });
      this.store.appendEvent('indicium.refunded', meter, at, {
        meter,
        serial,
        key_id: row.key_id,
        postage_cents: row.postage_cents,
        mailing_date: row.mailing_date,
        refunded_at: at,
      });
      return issuedView({ ...row, status: 'refunded', refunded_at: at }, a, a.descending_cents);
    });
  }
}
