/** Where the simulator gets real indicia: a central signer in this process, or one over its API. */
import { randomUUID } from 'node:crypto';
import type { Central } from '../central/app.ts';
import { ApiClient } from '../central/client.ts';
import type { PostageSource } from './scenarios.ts';

/** An in-process central signer (the demo, tests, benchmarks): the services directly. */
export function centralSource(central: Central, accountId: string): PostageSource {
  return {
    async buy(req) {
      const { view } = await central.issuer.issue(accountId, randomUUID(), req);
      return {
        payload: new Uint8Array(Buffer.from(view.payload, 'base64')),
        origin: { city: view.origin.city, state: view.origin.state },
      };
    },
    async refund(meter, serial) {
      central.refunds.refund(accountId, meter, serial, 'scanner-sim: refunded, then mailed');
    },
  };
}

/** A central signer over HTTP, as a mailer (its API key). */
export function apiSource(api: string, key: string): PostageSource {
  const client = new ApiClient(api, key);
  return {
    async buy(req) {
      const v = await client.buy(req);
      return {
        payload: new Uint8Array(Buffer.from(v.payload, 'base64')),
        origin: { city: v.origin.city, state: v.origin.state },
      };
    },
    async refund(meter, serial) {
      await client.refund(meter, serial, 'scanner-sim: refunded, then mailed');
    },
  };
}
