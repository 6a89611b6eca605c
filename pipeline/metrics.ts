/**
 * The pipeline's metrics, declared together (STYLE point 9). Every stage gets received / ok / error
 * counts and a latency histogram from `observe`; domain counters sit beside them. Labels stay
 * low-cardinality: stage, verdict, reason class. Never a meter, a serial or a scan id.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { VERDICTS } from './verify.ts';

/** Sub-millisecond to seconds. */
export const BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export class PipelineMetrics {
  readonly messages: Counter<'stage' | 'result'>;
  readonly stageSeconds: Histogram<'stage'>;
  readonly batchSize: Histogram<'stage'>;
  readonly scans: Counter<'verdict'>;
  readonly insertSeconds: Histogram;
  readonly lag: Gauge<'stage' | 'partition'>;
  readonly dead: Counter<'reason'>;
  readonly scanToVerdict: Histogram;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.messages = new Counter({
      name: 'sigpost_pipeline_messages_total',
      help: 'Messages by stage and result (received, ok, error, dead).',
      labelNames: ['stage', 'result'],
      registers,
    });
    this.stageSeconds = new Histogram({
      name: 'sigpost_pipeline_stage_seconds',
      help: 'Time spent per step: image, barcode, verify, history, insert, batch.',
      labelNames: ['stage'],
      buckets: BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'sigpost_pipeline_batch_size',
      help: 'Messages per batch, by stage.',
      labelNames: ['stage'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    });
    this.scans = new Counter({
      name: 'sigpost_scans_total',
      help: 'Scans by verdict.',
      labelNames: ['verdict'],
      registers,
    });
    for (const v of VERDICTS) this.scans.inc({ verdict: v }, 0);
    this.insertSeconds = new Histogram({
      name: 'sigpost_clickhouse_insert_seconds',
      help: 'ClickHouse insert latency per batch.',
      buckets: BUCKETS,
      registers,
    });
    this.lag = new Gauge({
      name: 'sigpost_consumer_lag',
      help: 'Messages behind the end of the partition, per stage.',
      labelNames: ['stage', 'partition'],
      registers,
    });
    this.dead = new Counter({
      name: 'sigpost_dead_letters_total',
      help: 'Messages sent to scans.dead, by reason class.',
      labelNames: ['reason'],
      registers,
    });
    this.scanToVerdict = new Histogram({
      name: 'sigpost_scan_to_verdict_seconds',
      help: 'From the scan being produced to its verdict being decided.',
      buckets: BUCKETS,
      registers,
    });
  }

  /** Wrap one stage step: counts and latency for every call, whatever it returns or throws. */
  async observe<T>(stage: string, n: number, fn: () => Promise<T>): Promise<T> {
    this.messages.inc({ stage, result: 'received' }, n);
    this.batchSize.observe({ stage }, n);
    const end = this.stageSeconds.startTimer({ stage });
    try {
      const r = await fn();
      this.messages.inc({ stage, result: 'ok' }, n);
      return r;
    } catch (e) {
      this.messages.inc({ stage, result: 'error' }, n);
      throw e;
    } finally {
      end();
    }
  }

  step(stage: string, ms: number): void {
    this.stageSeconds.observe({ stage }, ms / 1000);
  }

  deadLetter(reason: string): void {
    this.dead.inc({ reason: reason.split(':')[0]! });
  }
}
