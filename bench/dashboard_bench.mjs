// bench/dashboard_bench.mjs URL - how the dashboard copes with a large fleet
// (run by bench/dashboard_bench.sh against allot server --dev --sim-nodes
// 10000 holding 100,000 jobs). Headless chromium (Debian's) through npm's
// playwright-core, 1366x768. For each view it prints the time to first
// render (navigation to the view's content on screen) and the cost of one
// live update (fetch + parse + draw, measured in the page), plus the longest
// main-thread task (what a click could wait behind) and a few interactions.
import { createRequire } from 'module';
import path from 'path';

const require = createRequire(path.resolve(process.env.PW_DIR || 'build/web') + '/');
const { chromium } = require('playwright-core');
const url = process.argv[2];
const UPDATES = +(process.env.UPDATES || 5);

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
await page.addInitScript(() => {
  window.__longest = 0;
  window.__longSum = 0;
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) { window.__longest = Math.max(window.__longest, e.duration); window.__longSum += e.duration; }
  }).observe({ type: 'longtask', buffered: true });
});
const rows = [];
const fmt = (x) => (x == null ? '-' : x < 10 ? x.toFixed(1) : Math.round(x).toString());

async function measure(name, hash, ready) {
  const t0 = Date.now();
  await page.goto(url + '/#/' + hash);
  await page.waitForFunction(ready, null, { timeout: 120000, polling: 20 });
  const first = Date.now() - t0;
  // live updates: the page records each one's cost
  const costs = [];
  let n0 = await page.evaluate(() => window.__allotUpdates || 0);
  for (let k = 0; k < UPDATES; k++) {
    await page.waitForFunction((n) => (window.__allotUpdates || 0) > n, n0, { timeout: 60000, polling: 50 });
    const v = await page.evaluate(() => [window.__allotUpdates, window.__allotLastUpdateMs]);
    n0 = v[0];
    costs.push(v[1]);
  }
  const longest = await page.evaluate(() => window.__longest);
  await page.evaluate(() => { window.__longest = 0; });
  const mean = costs.reduce((s, x) => s + x, 0) / costs.length;
  rows.push([name, first, mean, Math.max(...costs), longest]);
}

await measure('overview', '', () => document.querySelectorAll('.tile').length >= 4 && document.querySelector('.chart-summary b'));
await measure('fleet (10,000 nodes, canvas)', 'fleet', () => { const c = document.querySelector('canvas.fleet'); return c && +c.dataset.nodes >= 10000; });
await measure('queue (100 rows of 100,000 jobs)', 'queue', () => document.querySelectorAll('#jobs-table tbody tr').length >= 100);
await measure('tenants', 'tenants', () => document.querySelectorAll('#tenants-table tbody tr').length >= 1);

// interactions on the queue: sort 100,000 jobs by wait, jump to the last page
async function interact(name, act, ready) {
  const t0 = Date.now();
  await act();
  await page.waitForFunction(ready, null, { timeout: 60000, polling: 10 });
  rows.push([name, Date.now() - t0, null, null, null]);
}
await page.goto(url + '/#/queue');
await page.waitForFunction(() => document.querySelectorAll('#jobs-table tbody tr').length >= 100);
await page.click('button[data-state="all"]');
await page.waitForFunction(() => document.querySelector('button[data-state="all"]').getAttribute('aria-pressed') === 'true');
await interact('queue: sort all jobs by wait (click to rows)', () => page.click('th button.sort:has-text("Waited")'), () => { const t = document.querySelector('th[aria-sort]'); return t && t.textContent.includes('Waited') && document.querySelectorAll('#jobs-table tbody tr').length >= 100; });
const before = await page.textContent('#page-info');
await interact('queue: last page (click to rows)', () => page.click('button:has-text("Last")'), (b) => document.querySelector('#page-info').textContent !== b, before);
await interact('queue: search by name (type to rows)', () => page.fill('#job-search', 'bench-short'), () => /of [0-9,]+$/.test(document.querySelector('#page-info').textContent) && document.querySelector('#jobs-table tbody tr') && document.querySelector('#jobs-table tbody tr').innerText.includes('bench-short'));
await page.goto(url + '/#/fleet');
await page.waitForFunction(() => { const c = document.querySelector('canvas.fleet'); return c && +c.dataset.nodes >= 10000; });
await interact('fleet: open a node (click to panel)', async () => {
  const b = await page.$eval('canvas.fleet', (c) => { const r = c.getBoundingClientRect(); return { x: r.left, y: r.top }; });
  for (let dx = 8; dx < 200; dx += 3) {
    await page.mouse.click(b.x + dx, b.y + 40);
    if (await page.$eval('aside.side', (a) => !a.hidden).catch(() => false)) break;
  }
}, () => { const a = document.querySelector('aside.side'); return a && !a.hidden && a.innerText.includes('Device 0'); });
await browser.close();

console.log('');
console.log('| view or action | first render / action (ms) | update, mean (ms) | update, max (ms) | longest main-thread task (ms) |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log('| ' + r[0] + ' | ' + fmt(r[1]) + ' | ' + fmt(r[2]) + ' | ' + fmt(r[3]) + ' | ' + fmt(r[4]) + ' |');
