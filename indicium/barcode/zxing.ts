/**
 * Loads zxing-wasm (ZXing-C++ compiled to WebAssembly) from node_modules, never from the network:
 * the package's default is a CDN. One module instance per thread, created on first use.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { prepareZXingModule, type ZXingFullModule } from 'zxing-wasm';

let ready: Promise<ZXingFullModule> | undefined;

export function zxingModule(): Promise<ZXingFullModule> {
  if (!ready) {
    const path = createRequire(import.meta.url).resolve('zxing-wasm/full/zxing_full.wasm');
    const bin = readFileSync(path);
    const wasmBinary = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
    ready = prepareZXingModule({ overrides: { wasmBinary }, fireImmediately: true });
  }
  return ready;
}
