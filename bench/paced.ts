/**
 * An open-loop, evenly paced HTTP load: request i is due at t0 + i / rate, whatever happened to
 * the others, and its latency is measured from when it was due (so a stall counts against every
 * request it delays: no coordinated omission). autocannon's own rate limit instead sends each
 * connection's share back to back at the start of every second, which measures bursts.
 */
import http from 'node:http';
import { percentile } from './stats.ts';

export interface PacedResult {
  offered_rps: number;
  achieved_rps: number;
  sent: number;
  ok: number;
  failed: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
}

export interface PacedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export async function paced(
  base: string,
  rate: number,
  seconds: number,
  make: (i: number) => PacedRequest,
): Promise<PacedResult> {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let sent = 0;
  const t0 = performance.now() + 20;
  const inflight: Promise<void>[] = [];

  const fire = (i: number) => {
    const due = t0 + (i * 1000) / rate;
    const r = make(i);
    inflight.push(
      new Promise<void>((resolve) => {
        const req = http.request(
          { host: url.hostname, port: url.port, method: r.method, path: r.path, headers: r.headers, agent },
          (res) => {
            res.resume();
            res.on('end', () => {
              latencies.push(performance.now() - due);
              if (res.statusCode && res.statusCode < 300) ok++;
              else failed++;
              resolve();
            });
          },
        );
        req.on('error', () => {
          failed++;
          resolve();
        });
        if (r.body) req.end(r.body);
        else req.end();
      }),
    );
  };

  while (sent < total) {
    const now = performance.now();
    while (sent < total && t0 + (sent * 1000) / rate <= now) fire(sent++);
    const nextDue = t0 + (sent * 1000) / rate;
    const wait = nextDue - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, Math.floor(wait)));
    else await new Promise((r) => setImmediate(r));
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    offered_rps: rate,
    achieved_rps: Math.round(ok / elapsed),
    sent,
    ok,
    failed,
    p50_ms: r2(percentile(latencies, 50)),
    p90_ms: r2(percentile(latencies, 90)),
    p99_ms: r2(percentile(latencies, 99)),
    max_ms: r2(latencies[latencies.length - 1] ?? Number.NaN),
  };
}
