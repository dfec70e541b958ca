// tests/browser/dashboard.mjs - the dashboard in a real browser (Debian's
// chromium, headless, driven by npm's playwright-core), run by
// tests/scenarios/dashboard.sh against an allot server it started:
//
//   node dashboard.mjs dev     URL  (a --dev server with the jobs the script submitted)
//   node dashboard.mjs tenant  URL  (a server with tokens; tenant a's token)
//
// Environment: PW_DIR (the directory holding node_modules/playwright-core),
// SHOTS (where screenshots go), JOBS (JSON: the ids the scenario submitted),
// TOKEN_A, TOKEN_BAD. Prints "ok ..." per check; exits 1 at the first failure.
import { createRequire } from 'module';
import path from 'path';
import fs from 'fs';

const require = createRequire(path.resolve(process.env.PW_DIR || '.') + '/');
const { chromium } = require('playwright-core');
const [mode, url] = process.argv.slice(2);
const jobs = JSON.parse(process.env.JOBS || '{}');
const shots = process.env.SHOTS || '.';
fs.mkdirSync(shots, { recursive: true });

let failed = false;
function ok(what) { console.log('ok   ' + what); }
function fail(what) { console.log('FAIL ' + what); failed = true; throw new Error(what); }
function check(cond, what) { if (!cond) fail(what); ok(what); }

// waits until fn() is truthy (polling the page), or fails with what
async function until(fn, what, ms = 30000) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < ms) {
    try { last = await fn(); if (last) { ok(what); return last; } } catch (e) { last = e.message; }
    await new Promise((r) => setTimeout(r, 250));
  }
  fail(what + ' (timed out after ' + ms / 1000 + ' s; last: ' + JSON.stringify(last) + ')');
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-proxy-server', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
});
const errors = [];
async function newPage(w, h) {
  const ctx = await browser.newContext({ viewport: { width: w, height: h } });
  const p = await ctx.newPage();
  p.on('pageerror', (e) => errors.push(e.message));
  // only loopback: nothing else may be fetched (no CDN)
  await p.route('**/*', (r) => {
    const u = new URL(r.request().url());
    if (u.hostname !== '127.0.0.1' && u.protocol !== 'data:' && u.protocol !== 'blob:') { errors.push('off-host request ' + u.href); return r.abort(); }
    return r.continue();
  });
  return p;
}
const rowsOf = (p) => p.$$eval('#jobs-table tbody tr', (rs) => rs.map((r) => ({ id: +r.dataset.job, text: r.innerText })));
const legendCount = (p, label) => p.$$eval('.legend li', (lis, label) => {
  const li = lis.find((l) => l.textContent.trim().startsWith(label));
  return li ? +li.querySelector('.muted').textContent.replace(/,/g, '') : -1;
}, label);

try {
  if (mode === 'dev') {
    const p = await newPage(1366, 768);
    await p.goto(url + '/');
    await until(() => p.textContent('#who').then((t) => t.includes('Admin')), 'the page loads and says who we are (admin, no tokens)');
    await until(async () => (await p.$$('.tile')).length >= 4, 'the overview shows its tiles');
    await until(() => p.$eval('.tiles', (e) => /Running jobs\s*[1-9]/i.test(e.innerText)), 'the overview counts running jobs');
    const charts = await p.evaluate(() => typeof window.uPlot === 'function');
    if (charts) await until(async () => (await p.$$('.uplot')).length >= 2, 'the charts are drawn (uPlot)');
    else await until(async () => (await p.$$('.chart-table')).length >= 2, 'the charts are tables (no uPlot in this build)');

    // fleet: every node, devices in use, and it updates as jobs finish
    await p.goto(url + '/#/fleet');
    await until(() => p.$eval('canvas.fleet', (c) => +c.dataset.nodes === 7), 'the fleet map holds every node (6 simulated + local)');
    const used0 = await until(async () => { const u = await legendCount(p, 'used'); return u >= jobs.shortDevices ? u : 0; }, 'the fleet shows the devices the jobs use');
    await p.click('text=Show as table');
    await until(() => p.$$eval('.tablewrap table tbody tr', (rs) => rs.some((r) => r.innerText.includes('local'))), 'the fleet table lists node local');
    await p.click('text=Show as map');
    // hover a node: the tooltip names it
    const box = await p.$eval('canvas.fleet', (c) => { const b = c.getBoundingClientRect(); return { x: b.left, y: b.top }; });
    let tipped = false;
    for (let dy = 20; dy < 140 && !tipped; dy += 6) {
      for (let dx = 10; dx < 700 && !tipped; dx += 12) {
        await p.mouse.move(box.x + dx, box.y + dy);
        tipped = await p.$eval('#tip', (t) => !t.hidden && /sim-|local/.test(t.textContent));
      }
    }
    check(tipped, 'hovering a node shows its name, devices and tasks');
    // the node of the long gang job: its devices and the jobs on them
    const gang = await (await fetch(url + '/v1/jobs/' + jobs.gang)).json();
    await p.goto(url + '/#/fleet/' + gang.tasks[0].node);
    await until(() => p.$eval('aside.side', (a, id) => !a.hidden && a.innerText.includes('Device 0') && a.innerText.includes('#' + id), jobs.gang), 'a node\'s panel lists its devices and the job on them');
    await p.screenshot({ path: shots + '/fleet-1366x768.png' });
    await p.goto(url + '/#/fleet');
    await until(async () => { const u = await legendCount(p, 'used'); return u >= 0 && u < used0; }, 'the fleet map updates as the short jobs finish', 40000);

    // queue: the submitted jobs, then the finished ones
    await p.goto(url + '/#/queue');
    await until(async () => { const r = await rowsOf(p); return r.some((x) => x.id === jobs.gang) && r.some((x) => x.id === jobs.pending && /pending/.test(x.text)); }, 'the queue shows the running gang job and the pending one');
    await p.click('button[data-state="finished"]');
    await until(async () => { const r = await rowsOf(p); return jobs.short.every((id) => r.some((x) => x.id === id && /succeeded/.test(x.text))); }, 'finished short jobs are listed as succeeded');
    await p.click('button[data-state="pending,running"]');
    await until(async () => { const r = await rowsOf(p); return r.length && !r.some((x) => jobs.short.includes(x.id)); }, 'finished jobs leave the active queue');
    await p.fill('#job-search', 'gang-all');
    await until(async () => { const r = await rowsOf(p); return r.length === 1 && r[0].id === jobs.gang; }, 'the queue search finds a job by name');
    await p.fill('#job-search', '');
    await p.click('th button.sort:has-text("Job")');
    await until(() => p.$eval('th[aria-sort]', (t) => t.getAttribute('aria-sort') === 'descending'), 'sorting by id descending');
    await p.screenshot({ path: shots + '/queue-1366x768.png' });

    // a job's page: events and the log tail of a real process on node local
    await p.goto(url + '/#/jobs/' + jobs.local);
    await until(() => p.$eval('#log', (e) => e.textContent.includes('hello-from-the-dashboard-test') && e.textContent.includes('last-line')), 'the job page shows the log tail', 40000);
    await until(() => p.$$eval('#events li', (ls) => ['submitted', 'started', 'succeeded'].every((t) => ls.some((l) => l.dataset.type === t))), 'the job page shows its events: submitted, started, succeeded');
    await p.screenshot({ path: shots + '/job-1366x768.png' });
    await p.goto(url + '/#/jobs/' + jobs.pending);
    await until(() => p.$('button.danger'), 'a pending job can be cancelled from its page');
    p.once('dialog', (d) => d.accept());
    await p.click('button.danger');
    await until(() => p.$$eval('#events li', (ls) => ls.some((l) => l.dataset.type === 'cancelled') && ls.some((l) => l.dataset.type === 'submitted')), 'the cancelled job shows submitted and cancelled');
    await p.goto(url + '/#/jobs/999999');
    await until(() => p.textContent('main').then((t) => t.includes('No job 999999')), 'an unknown job says so');

    // tenants and reports
    await p.goto(url + '/#/tenants');
    await until(() => p.$$eval('#tenants-table tbody tr', (rs) => rs.some((r) => r.dataset.tenant === 'default')), 'the tenants view lists the tenants');
    await p.goto(url + '/#/reports');
    await until(() => p.$$eval('#reports-table tbody tr', (rs) => rs.some((r) => r.innerText.includes('run1/report.html'))), 'the reports view lists run1/report.html');
    check(!(await p.$$eval('#reports-table tbody tr', (rs) => rs.some((r) => r.innerText.includes('secret') || r.innerText.includes('link.html')))), 'the reports list has no file outside the directory and no link');
    await p.click('button[data-report="run1/report.html"]');
    await until(async () => {
      const f = await p.$('iframe.report');
      const fr = f && (await f.contentFrame());
      return fr && (await fr.title()) === 'allot sim report';
    }, 'a report opens in a sandboxed frame');
    check(await p.$eval('iframe.report', (f) => f.getAttribute('sandbox') === ''), 'the report frame is sandboxed (no scripts)');

    // the same views on a wide screen
    const w = await newPage(2560, 1440);
    for (const [v, name] of [['', 'overview'], ['fleet', 'fleet'], ['queue', 'queue'], ['jobs/' + jobs.local, 'job']]) {
      await w.goto(url + '/#/' + v);
      await w.waitForTimeout(v === '' ? 3500 : 2000);
      await w.screenshot({ path: shots + '/' + name + '-2560x1440.png' });
    }
    await p.goto(url + '/#/');
    await p.waitForTimeout(3000);
    await p.screenshot({ path: shots + '/overview-1366x768.png' });
    ok('screenshots in ' + shots);
    // accessibility basics: landmarks, labelled controls, a lang
    await p.goto(url + '/#/queue');
    await until(async () => (await rowsOf(p)).length > 0, 'the queue is back');
    const a11y = await p.evaluate(() => {
      const bad = [];
      if (!document.documentElement.lang) bad.push('no lang');
      for (const sel of ['header', 'nav', 'main']) if (!document.querySelector(sel)) bad.push('no ' + sel);
      for (const el of document.querySelectorAll('input, select')) {
        if (el.closest('dialog')) continue;
        if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) bad.push('unlabelled ' + (el.id || el.tagName));
      }
      for (const b of document.querySelectorAll('button')) if (!b.textContent.trim() && !b.getAttribute('aria-label')) bad.push('button without a name');
      return bad;
    });
    check(a11y.length === 0, 'landmarks, labels and button names (' + (a11y.join(', ') || 'none missing') + ')');

    // inference services: one created through the API shows in the services
    // view with its replicas and the load pushed to it
    const made = await p.evaluate(async () => {
      const r = await fetch('/v1/services', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'web-svc', command: ['sleep', '600'], chips: [{ name: 'A100', rps: 2 }], slots: 1, slo_s: 5, min_replicas: 1, max_replicas: 3 }) });
      if (r.status !== 201) return r.status + ' ' + (await r.text());
      const l = await fetch('/v1/services/web-svc/load', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ rps: 1.5, queue: 2 }) });
      return l.ok ? 'ok' : l.status + ' ' + (await l.text());
    });
    check(made === 'ok', 'a service is created and its load pushed through the API (' + made + ')');
    await p.goto(url + '/#/services');
    await until(() => p.$eval('#nav-services', (n) => !n.hidden), 'the services view is in the navigation');
    const svcRow = await until(() => p.$$eval('#services-table tbody tr', (rs) => (rs.find((r) => /web-svc/.test(r.innerText) && /\b1\.5\b/.test(r.innerText)) || {}).innerText), 'the services view lists the service with its load');
    check(svcRow.includes('1–3') && svcRow.includes('allot') && svcRow.includes('5 s'), 'its row shows the bounds, the autoscaler and the SLO (' + svcRow.replace(/\s+/g, ' ') + ')');
    await p.screenshot({ path: shots + '/services-1366x768.png' });
  } else if (mode === 'tenant') {
    const p = await newPage(1366, 768);
    await p.goto(url + '/');
    await until(() => p.$eval('#login', (d) => d.open), 'a server with tokens asks for one');
    await p.fill('#token', process.env.TOKEN_BAD);
    await p.click('#login button[type=submit]');
    await until(() => p.$eval('#login-error', (e) => e.textContent.includes('not accepted')), 'a wrong token is refused');
    await p.fill('#token', process.env.TOKEN_A);
    await p.click('#login button[type=submit]');
    await until(() => p.textContent('#who').then((t) => t.includes('Tenant a')), 'tenant a is signed in');
    await p.goto(url + '/#/queue');
    await p.click('button[data-state="all"]');
    await until(async () => { const r = await rowsOf(p); return jobs.a.every((id) => r.some((x) => x.id === id)); }, 'tenant a sees its jobs');
    const r = await rowsOf(p);
    check(!r.some((x) => jobs.b.includes(x.id)) && r.every((x) => /\ba\b/.test(x.text)), 'tenant a sees none of tenant b\'s jobs');
    await p.goto(url + '/#/jobs/' + jobs.b[0]);
    await until(() => p.textContent('main').then((t) => t.includes('No job ' + jobs.b[0])), 'tenant b\'s job page is not shown to tenant a');
    await p.goto(url + '/#/tenants');
    await until(() => p.$$eval('#tenants-table tbody tr', (rs) => rs.length === 1 && rs[0].dataset.tenant === 'a'), 'tenant a sees only its own tenant');
    await p.goto(url + '/#/reports');
    await until(() => p.textContent('main').then((t) => t.includes('admin token')), 'reports are for the admin token');
    await p.goto(url + '/#/fleet/' + jobs.bnode);
    await until(() => p.$eval('aside.side', (a) => !a.hidden && a.innerText.includes('another tenant') && !a.innerText.includes('secret-b')), 'a node panel hides other tenants\' jobs');
    await p.screenshot({ path: shots + '/tenant-fleet-1366x768.png' });
    await p.click('#signout');
    await until(() => p.$eval('#login', (d) => d.open), 'signing out asks for a token again');
  } else {
    fail('usage: dashboard.mjs dev|tenant URL');
  }
  check(errors.length === 0, 'no script errors and no off-host requests (' + (errors.join('; ') || 'none') + ')');
} catch (e) {
  if (!failed) console.log('FAIL ' + e.message);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
