/** One read worker thread: decodes images one at a time (see read.ts). */
import sharp from 'sharp';
import { type ReadLimits, type ReadOutcome, readScan } from './read.ts';

// Parallelism comes from the worker threads; libvips inside each stays on one thread.
sharp.concurrency(1);
sharp.cache(false);

export default function read(task: { image: Uint8Array; limits: ReadLimits }): Promise<ReadOutcome> {
  return readScan(task.image, task.limits);
}
