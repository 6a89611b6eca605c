/**
 * k6 load script for the central signer: mailers buying postage at a constant arrival rate.
 *
 *   k6 run -e API=http://127.0.0.1:7300 -e KEY=sp_live_... -e RATE=1000 test/k6/central-buy.ts
 *
 * k6 cannot be installed on the development machines; this script is type-checked against
 * @types/k6 (npm run typecheck), and bench/paced.ts runs the same load shape from Node.
 */

import { uuidv4 } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';
import { check } from 'k6';
import http from 'k6/http';
import type { Options } from 'k6/options';

const API = __ENV.API ?? 'http://127.0.0.1:7300';
const KEY = __ENV.KEY ?? '';
const RATE = Number(__ENV.RATE ?? 1000);

export const options: Options = {
  scenarios: {
    buy: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: __ENV.DURATION ?? '60s',
      preAllocatedVUs: 64,
      maxVUs: 512,
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    'http_req_duration{expected_response:true}': ['p(99)<25'],
  },
};

const CLASSES = [
  { mail_class: 'letter', weight_oz: 1 },
  { mail_class: 'letter', weight_oz: 2.5 },
  { mail_class: 'postcard', weight_oz: 0.2 },
  { mail_class: 'flat', weight_oz: 6 },
  { mail_class: 'parcel', weight_oz: 24 },
];
const ZIPS = ['10001', '60601', '94103', '30301', '98101'];

export default function (): void {
  const piece = CLASSES[Math.floor(Math.random() * CLASSES.length)]!;
  const res = http.post(
    `${API}/v1/indicia`,
    JSON.stringify({ ...piece, destination_zip: ZIPS[Math.floor(Math.random() * ZIPS.length)] }),
    {
      headers: {
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/json',
        'idempotency-key': uuidv4(),
      },
    },
  );
  check(res, {
    'issued (201)': (r) => r.status === 201,
    'has a payload': (r) => r.status !== 201 || typeof r.json('payload') === 'string',
  });
}
