/**
 * Sorting-plant feeds: scans produced at a chosen rate with even pacing (scan i is due at
 * start + i / rate), to Kafka's `scans` topic, to any sender (the in-process bus), or to a
 * directory. The rate actually achieved is measured and reported, never assumed.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { GeneratedScan, Truth } from './scenarios.ts';
import { truthOf } from './scenarios.ts';

export type Send = (scans: GeneratedScan[]) => Promise<void>;

export function scanHeaders(s: GeneratedScan): Record<string, string> {
  return {
    scan_id: s.scan_id,
    plant: s.plant,
    machine: s.machine,
    captured_at: s.captured_at,
    content_type: 'image/jpeg',
  };
}

/** A producer to Kafka's `scans` topic (the camera feeds). */
export async function kafkaSend(
  brokers: string[],
  topic = 'scans',
): Promise<{ send: Send; close(): Promise<void> }> {
  const kafka = new Kafka({ clientId: 'sigpost-scanner-sim', brokers, logLevel: logLevel.WARN });
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  return {
    send: async (scans) => {
      await producer.send({
        topic,
        acks: -1,
        messages: scans.map((s) => ({ key: s.scan_id, value: s.image, headers: scanHeaders(s) })),
      });
    },
    close: () => producer.disconnect(),
  };
}

/** Images as files (scan_id.jpg) and the ground truth as JSON lines, in `dir`. */
export function dirSend(dir: string): Send {
  mkdirSync(dir, { recursive: true });
  return async (scans) => {
    for (const s of scans) {
      writeFileSync(join(dir, `${s.scan_id}.jpg`), s.image);
      appendFileSync(join(dir, 'truth.jsonl'), `${JSON.stringify(truthOf(s))}\n`);
    }
  };
}

export interface FeedProgress {
  sent: number;
  elapsedS: number;
  achievedRps: number;
  targetRps: number;
  behind: number;
}

export interface FeedOptions {
  generator: { next(): Promise<GeneratedScan> };
  send: Send;
  /** Scans per second, all plants and machines together. */
  rate: number;
  /** Stop after this many seconds, or this many scans (whichever comes first). */
  durationS?: number;
  count?: number;
  /** Ground truth goes here as JSON lines (with `send` to Kafka; a directory feed writes its own). */
  truth?: (t: Truth) => void;
  progress?: (p: FeedProgress) => void;
  /** Set to stop early (Ctrl-C). */
  signal?: AbortSignal;
}

export interface FeedResult {
  sent: number;
  elapsedS: number;
  achievedRps: number;
  byScenario: Record<string, number>;
}

/**
 * Generate and send scans at `rate`. Generation runs ahead of the pacer (one piece at a time, so
 * a seeded run is repeatable); if rendering cannot keep up, the achieved rate says so.
 */
export async function runFeed(o: FeedOptions): Promise<FeedResult> {
  const total = o.count ?? Number.POSITIVE_INFINITY;
  const until = o.durationS !== undefined ? o.durationS * 1000 : Number.POSITIVE_INFINITY;
  const ready: GeneratedScan[] = [];
  const byScenario: Record<string, number> = {};
  let generated = 0;
  let done = false;
  const stop = () => done || o.signal?.aborted === true;
  const ahead = Math.max(4, Math.ceil(o.rate));
  const producer = (async () => {
    while (!stop() && generated < total) {
      if (ready.length >= ahead) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      ready.push(await o.generator.next());
      generated++;
    }
  })();
  const t0 = performance.now();
  let sent = 0;
  const inflight: Promise<void>[] = [];
  let lastReport = 0;
  while (!stop() && sent < total && performance.now() - t0 < until) {
    const due = t0 + (sent * 1000) / o.rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, Math.min(wait, 50)));
    if (performance.now() < due) continue;
    const s = ready.shift();
    if (!s) {
      if (generated >= total) break;
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    o.truth?.(truthOf(s));
    byScenario[s.scenario] = (byScenario[s.scenario] ?? 0) + 1;
    inflight.push(o.send([s]));
    if (inflight.length > 64) await Promise.all(inflight.splice(0, 32));
    sent++;
    const now = performance.now();
    if (o.progress && now - lastReport > 500) {
      lastReport = now;
      const elapsedS = (now - t0) / 1000;
      o.progress({
        sent,
        elapsedS,
        achievedRps: sent / elapsedS,
        targetRps: o.rate,
        behind: Math.max(0, Math.floor(((now - t0) * o.rate) / 1000) - sent),
      });
    }
  }
  done = true;
  await Promise.all(inflight);
  await producer;
  const elapsedS = (performance.now() - t0) / 1000;
  return { sent, elapsedS, achievedRps: sent / Math.max(elapsedS, 1e-9), byScenario };
}
