/**
 * `npm run bench [-- central|pipeline|accuracy ...] [-- --quick]`: runs the benchmarks, shows
 * progress on stderr, prints the figures, and writes bench/report.json and bench/report.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { accuracyMarkdown } from '../scanner-sim/report.ts';
import { runAccuracy } from './accuracy.ts';
import { benchCentral } from './central.ts';
import { benchPipeline } from './pipeline.ts';
import { fmt } from './stats.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));
const all = ['central', 'pipeline', 'accuracy'];
const which = wanted.length ? wanted : all;
for (const w of which)
  if (!all.includes(w)) throw new Error(`unknown benchmark "${w}" (have: ${all.join(', ')})`);

const started = Date.now();
const progress = (m: string) => {
  const s = Math.round((Date.now() - started) / 1000);
  process.stderr.write(process.stderr.isTTY ? `\r\x1b[K[${s}s] ${m}` : `[${s}s] ${m}\n`);
};

const jsonPath = join(import.meta.dirname, 'report.json');
const report: Record<string, unknown> = existsSync(jsonPath)
  ? JSON.parse(readFileSync(jsonPath, 'utf8'))
  : {};
report.machine = {
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  memory_gib: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
};
report.generated_at = new Date().toISOString();
report.quick = quick;

const stamp = () => ({ measured_at: new Date().toISOString(), quick });
if (which.includes('central')) report.central = { ...(await benchCentral(progress, { quick })), ...stamp() };
if (which.includes('pipeline'))
  report.pipeline = { ...(await benchPipeline(progress, { quick })), ...stamp() };
if (which.includes('accuracy')) {
  const n = quick ? 300 : 1500;
  const t0 = performance.now();
  const { report: acc } = await runAccuracy({ n, seed: 7, progress });
  report.accuracy = {
    ...acc,
    scans_rendered_and_judged: n,
    seconds: Math.round((performance.now() - t0) / 1000),
    ...stamp(),
  };
}
process.stderr.write('\n');

writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
const md = renderMarkdown(report);
writeFileSync(join(import.meta.dirname, 'report.md'), md);
updateReadme(report);
process.stdout.write(md);

function renderMarkdown(r: Record<string, any>): string {
  const m = r.machine;
  const lines = [
    '# sigpost benchmark report',
    '',
    `Written ${r.generated_at}; each section says when it was measured (\`npm run bench -- <section>\` reruns one).`,
    `Machine: ${m.cores} × ${m.cpu}, ${m.memory_gib} GiB, Node ${m.node}, ${m.platform}.`,
    'Figures are medians, with the range over the runs in brackets.',
    '',
  ];
  if (r.central) {
    const c = r.central;
    lines.push(
      '## Central signer',
      '',
      `Measured ${c.measured_at ?? r.generated_at}${c.quick ? ' (quick)' : ''}.`,
      '',
      '| what | figure | goal |',
      '|---|---|---|',
      `| indicia issued per second, signed, verified after signing and durably committed, no rendering | ${fmt(c.issue_per_s, '/s')} | ≥ 5,000/s |`,
      `| the same without verify-after-sign (what that check costs) | ${fmt(c.issue_no_verify_per_s, '/s')} | |`,
      `| the same with the PDF417 PNG rendered | ${fmt(c.issue_render_png_per_s, '/s')} | ≥ 500/s |`,
      `| HTTP p50 latency, ${c.http.offered_rps} req/s evenly paced (open loop) | ${fmt(c.http.paced.p50_ms, ' ms')} | |`,
      `| HTTP p99 latency, ${c.http.offered_rps} req/s evenly paced (open loop) | ${fmt(c.http.paced.p99_ms, ' ms')} | ≤ 25 ms |`,
      `| HTTP throughput achieved, paced | ${fmt(c.http.paced.achieved_rps, '/s')} (failed ${c.http.paced.failed}) | |`,
      `| HTTP p50 latency, autocannon at ${c.http.offered_rps} req/s (${c.http.autocannon.connections} connections) | ${fmt(c.http.autocannon.p50_ms, ' ms')} | |`,
      `| HTTP p99 latency, autocannon at ${c.http.offered_rps} req/s (${c.http.autocannon.connections} connections) | ${fmt(c.http.autocannon.p99_ms, ' ms')} | |`,
      `| mean pieces per transaction (group commit) | ${c.batch.mean_pieces_per_transaction} | |`,
      '',
      "Paced: requests due every 1 ms whatever the answers, latency counted from the due time. autocannon's",
      '`overallRate` lets each connection send its share back to back at the start of every second, so its',
      'figures describe bursts of that size rather than an even 1,000 req/s.',
      '',
    );
  }
  if (r.pipeline) {
    const p = r.pipeline;
    lines.push(
      '## Verification pipeline',
      '',
      `Measured ${p.measured_at ?? r.generated_at}${p.quick ? ' (quick)' : ''}.`,
      '',
      `Reference image set: ${p.images} envelopes, 1900 x 850 px at 200 dpi, greyscale JPEG quality 75 (mean ${Math.round(p.image_bytes_mean / 1024)} KiB), each with its own genuine indicium.`,
      '',
      '| (a) read limit: sharp + zxing, one thread, one image at a time | images/s per core | CPU cores busy | read rate |',
      '|---|---|---|---|',
      ...p.read_limit.map(
        (x: any) =>
          `| ${x.options}${x.options === p.reference.options ? ' **(reference)**' : ''} | ${fmt(x.images_per_s_per_core)} | ${x.cores_used} | ${(x.read_rate * 100).toFixed(1)}% |`,
      ),
      '',
      '| what | figure | goal |',
      '|---|---|---|',
      `| (b) whole pipeline through Kafka (read + verdict + ClickHouse), ${p.pipeline.cores} cores, ${p.pipeline.scans} scans | ${fmt(p.pipeline.scans_per_s, ' scans/s')} | ≥ 0.8 × (a) × cores |`,
      `| (b) / ((a) × cores) | ${p.pipeline.ratio_to_read_limit_x_cores} | ≥ 0.8 |`,
      `| (c) scan to verdict at ${p.latency.rate} scans/s (half of (b)), ${p.latency.scans} scans: p50 / p90 / p99 / max | ${p.latency.p50_ms} / ${p.latency.p90_ms} / ${p.latency.p99_ms} / ${p.latency.max_ms} ms | p99 ≤ 500 ms |`,
      `| (d) Debian ZXingReader (zxing-cpp, native), one process, PDF417 | ${fmt(p.zxing_cpp.images_per_s, ' images/s')}, read ${(p.zxing_cpp.read_rate * 100).toFixed(1)}% | |`,
      '',
    );
  }
  if (r.accuracy) {
    lines.push(
      accuracyMarkdown(r.accuracy, 'Accuracy against ground truth (scanner-sim, default mix)'),
      `Measured ${r.accuracy.measured_at ?? r.generated_at}${r.accuracy.quick ? ' (quick)' : ''}.`,
      `Default mix (scanner-sim/scenarios.ts): damage none 20%, light 30%, moderate 30%, heavy 15%, severe 5%; 3% of pieces upside down; 10% Data Matrix. Seed 7; ${r.accuracy.seconds} s for ${r.accuracy.scans_rendered_and_judged} scans (rendering included). Damage levels: scanner-sim/README.md.`,
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Keep the README's figures the latest measured ones (between its bench markers). */
function updateReadme(r: Record<string, any>): void {
  const path = join(import.meta.dirname, '..', 'README.md');
  let readme = readFileSync(path, 'utf8');
  if (r.central && !r.quick) {
    const c = r.central;
    const table = [
      '| central signer | figure | goal |',
      '|---|---|---|',
      `| indicia issued per second, signed, verified after signing and durably committed, no rendering | ${fmt(c.issue_per_s, '/s')} | ≥ 5,000/s |`,
      `| the same without verify-after-sign | ${fmt(c.issue_no_verify_per_s, '/s')} | |`,
      `| the same with the PDF417 PNG rendered | ${fmt(c.issue_render_png_per_s, '/s')} | ≥ 500/s |`,
      `| HTTP p50 / p99 at ${c.http.offered_rps} req/s, evenly paced (open loop) | ${c.http.paced.p50_ms.median} / ${c.http.paced.p99_ms.median} ms (p99 ${c.http.paced.p99_ms.min}–${c.http.paced.p99_ms.max}) | p99 ≤ 25 ms |`,
      `| HTTP p50 / p99, autocannon at ${c.http.offered_rps} req/s (bursty, see report) | ${c.http.autocannon.p50_ms.median} / ${c.http.autocannon.p99_ms.median} ms | |`,
    ].join('\n');
    readme = readme.replace(
      /<!-- bench:central -->[\s\S]*?<!-- \/bench:central -->/,
      `<!-- bench:central -->\n${table}\n<!-- /bench:central -->`,
    );
  }
  if (r.pipeline && !r.quick) {
    const p = r.pipeline;
    const ref = p.read_limit.find((x: any) => x.options === p.reference.options);
    const table = [
      '| verification pipeline | figure | goal |',
      '|---|---|---|',
      `| (a) read limit, sharp + zxing, one core (${p.reference.options}) | ${fmt(ref.images_per_s_per_core, ' images/s')}, read ${(ref.read_rate * 100).toFixed(1)}% | reads ≥ 99.5% |`,
      `| (b) whole pipeline through the Kafka broker, ${p.pipeline.cores} cores | ${fmt(p.pipeline.scans_per_s, ' scans/s')} | ≥ 0.8 × (a) × cores; ≥ 100/s per core |`,
      `| (b) / ((a) × cores) | ${p.pipeline.ratio_to_read_limit_x_cores} | ≥ 0.8 |`,
      `| (c) scan to verdict at ${p.latency.rate} scans/s, p50 / p99 | ${p.latency.p50_ms} / ${p.latency.p99_ms} ms | p99 ≤ 500 ms |`,
      `| (d) Debian ZXingReader (native zxing-cpp), one core, same images | ${fmt(p.zxing_cpp.images_per_s, ' images/s')} | |`,
    ].join('\n');
    readme = readme.replace(
      /<!-- bench:pipeline -->[\s\S]*?<!-- \/bench:pipeline -->/,
      `<!-- bench:pipeline -->\n${table}\n<!-- /bench:pipeline -->`,
    );
  }
  if (r.accuracy && !r.quick) {
    const a = r.accuracy;
    const g = a.goals;
    const p = (x: number) => (Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(x === 1 || x === 0 ? 0 : 1)}%`);
    const table = [
      `| accuracy (${a.scans} simulated scans, default mix) | measured | goal |`,
      '|---|---|---|',
      `| copied indicia flagged DUPLICATE | ${p(g.duplicate_recall.value)} of ${g.duplicate_recall.n} | 100% |`,
      `| valid pieces flagged DUPLICATE | ${g.valid_flagged_duplicate.value} of ${g.valid_flagged_duplicate.n} | 0 |`,
      `| tampered or unknown-key pieces caught | ${p(g.forgeries_caught.value)} of ${g.forgeries_caught.n} | 100% |`,
      `| valid pieces read, by damage | ${a.read_by_damage.map((d: any) => `${d.level} ${p(d.rate)}`).join(', ')} | moderate ≥ 99.5% |`,
      `| reading falls below 99% at | ${a.below_99_at ?? 'none measured'} | |`,
    ].join('\n');
    readme = readme.replace(
      /<!-- bench:accuracy -->[\s\S]*?<!-- \/bench:accuracy -->/,
      `<!-- bench:accuracy -->\n${table}\n<!-- /bench:accuracy -->`,
    );
  }
  writeFileSync(path, readme);
}
