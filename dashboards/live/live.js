// The live page: polls the pipeline's API (counts, flagged pieces). No framework, no build step.
const ORDER = [
  'VALID',
  'DUPLICATE',
  'FORGED',
  'UNKNOWN_KEY',
  'REVOKED_KEY',
  'VOIDED',
  'STALE_DATE',
  'FUTURE_DATE',
  'MALFORMED',
  'UNREADABLE',
];
const $ = (id) => document.getElementById(id);
const esc = (s) =>
  String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
let last = null;

async function json(url) {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.json();
}

async function counts() {
  const s = await json('/v1/stats');
  const total = ORDER.reduce((a, v) => a + (s.verdicts[v] ?? 0), 0);
  $('counts').innerHTML = ORDER.map(
    (v) =>
      `<div class="card ${v}" data-verdict="${v}"><div class="n">${s.verdicts[v] ?? 0}</div><div class="v">${v.replace('_', ' ')}</div></div>`,
  ).join('');
  $('total').textContent = `${total} scans`;
  $('total').dataset.total = String(total);
  const now = Date.now();
  if (last) $('rate').textContent = `${(((total - last.total) * 1000) / (now - last.at)).toFixed(1)} scans/s`;
  last = { total, at: now };
}

async function flagged() {
  const f = await json('/v1/flagged?verdict=DUPLICATE,FORGED,UNKNOWN_KEY,VOIDED&limit=12');
  if (!f.sightings.length) return;
  $('flagged').innerHTML = f.sightings
    .map(
      (p) => `<div class="piece">
        <img loading="lazy" src="/v1/scans/${encodeURIComponent(p.scan_id)}/image.jpg" alt="scan ${esc(p.scan_id)}" onerror="this.style.display='none'">
        <div class="meta"><span class="badge ${esc(p.verdict)}">${esc(p.verdict)}</span>${p.meter ? `meter ${esc(p.meter)} serial ${esc(p.serial)}` : ''}
        · ${esc(p.plant)} / ${esc(p.machine)} · ${esc(p.captured_at.replace('T', ' ').slice(0, 19))}
        <div class="why">${esc(p.reason)}</div></div></div>`,
    )
    .join('');
}

async function config() {
  try {
    const c = await json('/config.json');
    $('docs').href = `${c.central_url}/docs`;
  } catch {}
}

config();
const tick = () => counts().catch(() => {});
tick();
flagged().catch(() => {});
setInterval(tick, 1000);
setInterval(() => flagged().catch(() => {}), 2500);
