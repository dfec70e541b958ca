/* allot dashboard: one page, no framework, served from the allot binary.
 *
 * Views (hash routes): #/ overview, #/fleet, #/queue, #/jobs/ID, #/tenants,
 * #/services (only when the server has /v1/services), #/reports.
 * Data: the REST API with the same bearer tokens as the CLI (kept in
 * sessionStorage). Live: the current view refreshes every few seconds while
 * the tab is visible and not paused. Built for 10,000 nodes and 100,000
 * jobs: the fleet is drawn on a canvas from one compact array
 * (GET /v1/fleet), the queue is paged and sorted by the server
 * (GET /v1/queue), and the charts read only new samples
 * (GET /v1/stats/history?since=T). Charts use uPlot when the build embedded
 * it, tables otherwise. */
(function () {
  'use strict';

  // ---------------------------------------------------------------- helpers
  const $ = (sel, root) => (root || document).querySelector(sel);
  const main = () => document.getElementById('main');
  const charts = typeof window.uPlot === 'function';

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const k in attrs) {
        const v = attrs[k];
        if (v == null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : v);
      }
    }
    for (const c of kids.flat(Infinity)) {
      if (c == null || c === false) continue;
      el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return el;
  }

  // replaceChildren/append without the nulls and falses of conditional parts
  const clean = (kids) => kids.flat(Infinity).filter((k) => k != null && k !== false);
  const fill = (el, ...kids) => el.replaceChildren(...clean(kids));
  const add = (el, ...kids) => el.append(...clean(kids));

  const nf = new Intl.NumberFormat('en-US');
  const fmtN = (x) => (x == null ? '–' : nf.format(x));
  const fmtDev = (x) => (x == null ? '–' : nf.format(Math.round(x * 100) / 100));
  function fmtDur(s) {
    if (s == null || !isFinite(s)) return '–';
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + String(s % 60).padStart(2, '0') + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + String(Math.floor((s % 3600) / 60)).padStart(2, '0') + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  }
  function fmtTime(t) {
    if (!t) return '–';
    const d = new Date(t * 1000), now = new Date();
    const hms = d.toLocaleTimeString('en-GB', { hour12: false });
    if (d.toDateString() === now.toDateString()) return hms;
    return d.toISOString().slice(0, 10) + ' ' + hms;
  }
  // an axis label: seconds for short spans, minutes for a day, dates beyond
  function clockLabel(t, span) {
    const d = new Date(t * 1000);
    if (span < 900) return d.toLocaleTimeString('en-GB', { hour12: false });
    if (span < 2 * 86400) return d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false });
    return d.toISOString().slice(5, 16).replace('T', ' ');
  }
  function fmtBytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1 << 20) return (n / 1024).toFixed(1) + ' KiB';
    return (n / (1 << 20)).toFixed(1) + ' MiB';
  }
  const badge = (state) => h('span', { class: 'badge st-' + state, text: state });
  const collator = new Intl.Collator('en', { numeric: true });
  const natCmp = collator.compare;
  const debounce = (fn, ms) => {
    let t = 0;
    return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
  };

  // -------------------------------------------------------------------- api
  const TOKEN_KEY = 'allot.token';
  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let whoami = null; // {role, tenant}
  let loginShown = false;

  class ApiError extends Error {
    constructor(status, msg) { super(msg); this.status = status; }
  }

  async function api(path, opts) {
    opts = opts || {};
    const headers = Object.assign({}, opts.headers || {});
    if (token) headers.Authorization = 'Bearer ' + token;
    let r;
    try {
      r = await fetch(path, { method: opts.method || 'GET', headers, cache: 'no-store' });
    } catch (e) {
      setConn(false, 'Cannot reach the server');
      throw new ApiError(0, 'cannot reach the server');
    }
    if (r.status === 401) {
      showLogin(token ? 'This token is not accepted.' : '');
      throw new ApiError(401, 'sign in first');
    }
    if (opts.raw) return r;
    let body = null;
    const text = await r.text();
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
    if (!r.ok) {
      const msg = body && body.error ? body.error.message : r.status + ' ' + r.statusText;
      throw new ApiError(r.status, msg);
    }
    setConn(true);
    return body;
  }

  function setConn(ok, msg) {
    const dot = document.getElementById('conn');
    dot.className = 'dot ' + (ok ? 'ok' : 'err');
    const up = document.getElementById('updated');
    if (!ok) up.textContent = msg || 'Disconnected';
    else if (paused) up.textContent = 'Paused';
    else up.textContent = 'Live · updated ' + new Date().toLocaleTimeString('en-GB', { hour12: false });
  }

  function showLogin(msg) {
    const dlg = document.getElementById('login');
    document.getElementById('login-error').textContent = msg || '';
    if (!dlg.open) {
      loginShown = true;
      dlg.showModal();
      document.getElementById('token').focus();
    }
  }

  async function loadWho() {
    try {
      whoami = await api('/v1/whoami');
    } catch (e) {
      whoami = null;
      return false;
    }
    const who = document.getElementById('who');
    if (whoami.role === 'tenant') who.textContent = 'Tenant ' + whoami.tenant;
    else if (whoami.role === 'admin') who.textContent = token ? 'Admin' : 'Admin · authentication off';
    else who.textContent = whoami.role;
    document.getElementById('signout').hidden = !token;
    return true;
  }

  // ------------------------------------------------------------ live loop
  let paused = false;
  let view = null; // {name, refresh(), interval, leave()}
  let timer = 0;
  let inflight = false;

  let again = false; // a refresh was asked for while one was in flight
  async function tick() {
    clearTimeout(timer);
    if (!view) return;
    if (inflight) { again = true; return; }
    if (!paused && !document.hidden && whoami) {
      inflight = true;
      const v = view;
      const t0 = performance.now();
      try {
        await v.refresh();
      } catch (e) {
        if (e.status !== 401 && v === view) showError(e);
      } finally {
        inflight = false;
      }
      window.__allotLastUpdateMs = performance.now() - t0;
      window.__allotUpdates = (window.__allotUpdates || 0) + 1;
      if (again) { again = false; return tick(); } // the user changed something meanwhile
    }
    timer = setTimeout(tick, view ? view.interval : 3000);
  }
  function showError(e) {
    const el = document.getElementById('view-error');
    if (el) el.textContent = e.message;
    setConn(e.status !== 0, e.status === 0 ? 'Cannot reach the server' : undefined);
  }
  document.addEventListener('visibilitychange', () => { if (!document.hidden) tick(); });

  // ------------------------------------------------------------ history
  // Samples since the page opened (and the server's ring before that):
  // columns, as the server sends them.
  const hist = { res: 'fine', time: [], pending: [], running: [], demand_any: [], nodes_up: [], nodes_down: [], nodes_draining: [], chips: {} };
  const HIST_KEEP = 1800;
  async function loadHistory() {
    const since = hist.time.length ? hist.time[hist.time.length - 1] : 0;
    const d = await api('/v1/stats/history?res=' + hist.res + '&since=' + since);
    const add = (dst, src) => { for (const x of src) dst.push(x); };
    add(hist.time, d.time);
    for (const k of ['pending', 'running', 'demand_any', 'nodes_up', 'nodes_down', 'nodes_draining']) add(hist[k], d[k]);
    for (const c in d.chips) {
      if (!hist.chips[c]) {
        // a chip type seen for the first time: zeros before
        const z = hist.time.length - d.time.length;
        hist.chips[c] = { used: new Array(z).fill(null), total: new Array(z).fill(null), down: new Array(z).fill(null), demand: new Array(z).fill(null) };
      }
      for (const k of ['used', 'total', 'down', 'demand']) add(hist.chips[c][k], d.chips[c][k]);
    }
    const extra = hist.time.length - HIST_KEEP;
    if (extra > 0) {
      hist.time.splice(0, extra);
      for (const k of ['pending', 'running', 'demand_any', 'nodes_up', 'nodes_down', 'nodes_draining']) hist[k].splice(0, extra);
      for (const c in hist.chips) for (const k in hist.chips[c]) hist.chips[c][k].splice(0, extra);
    }
    hist.interval = d.interval;
    hist.now = d.now;
    return d.time.length;
  }
  function resetHistory(res) {
    hist.res = res;
    hist.time = [];
    for (const k of ['pending', 'running', 'demand_any', 'nodes_up', 'nodes_down', 'nodes_draining']) hist[k] = [];
    hist.chips = {};
  }

  // ------------------------------------------------------------- charts
  const PALETTE = ['#2360a8', '#d4820a', '#2f8f4e', '#8657d6', '#c62828', '#00838f', '#6d4c41', '#ad1457'];

  // A chart: uPlot when embedded, else a table of the latest samples.
  // series: [{label, color, dash, scale}], data: [xs, ys...]
  function makeChart(box, title, series, axes) {
    const wrap = h('div', { class: 'chart' });
    const summary = h('p', { class: 'chart-summary' });
    box.appendChild(wrap);
    box.appendChild(summary);
    const c = { wrap, summary, series, plot: null, title };
    if (charts) {
      const w = Math.max(300, box.clientWidth - 4);
      const opts = {
        width: w, height: 230,
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true } },
        series: [{ label: 'time', value: (u, v) => (v == null ? '' : fmtTime(v)) }].concat(series.map((s) => ({
          label: s.label, stroke: s.color, width: 1.6, dash: s.dash, scale: s.scale || 'y',
          fill: s.fill, points: { show: false }, value: (u, v) => (v == null ? '' : fmtDev(v)),
        }))),
        axes: [{ stroke: '#55606e', grid: { stroke: '#eef1f5' }, ticks: { stroke: '#d5dbe3' }, space: 70,
          incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400],
          values: (u, vals) => vals.map((v) => clockLabel(v, (u.scales.x.max - u.scales.x.min) || 1)) }].concat(axes || [{ stroke: '#55606e', grid: { stroke: '#eef1f5' }, ticks: { stroke: '#d5dbe3' }, size: 56 }]),
      };
      c.plot = new window.uPlot(opts, [[]].concat(series.map(() => [])), wrap);
      wrap.setAttribute('role', 'img');
      wrap.setAttribute('aria-label', title);
      c.ro = new ResizeObserver(() => {
        const nw = Math.max(300, box.clientWidth - 4);
        if (Math.abs(nw - c.plot.width) > 2) c.plot.setSize({ width: nw, height: 230 });
      });
      c.ro.observe(box);
    }
    return c;
  }
  function setChart(c, data) {
    const n = data[0].length;
    if (c.plot) {
      c.plot.setData(data);
    } else {
      // tables instead of charts: the latest 10 samples, newest first
      const rows = [];
      for (let i = n - 1; i >= 0 && i >= n - 10; i--) {
        rows.push(h('tr', null, h('td', null, fmtTime(data[0][i])), c.series.map((s, k) => h('td', { class: 'num' }, fmtDev(data[k + 1][i])))));
      }
      fill(c.wrap, h('div', { class: 'tablewrap' }, h('table', { class: 'chart-table' },
        h('caption', null, c.title + ' (latest samples)'),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'time'), c.series.map((s) => h('th', { scope: 'col', class: 'num' }, s.label)))),
        h('tbody', null, rows))));
    }
    // the latest values in words, beside the colours
    const parts = [];
    c.series.forEach((s, k) => {
      const v = data[k + 1][n - 1];
      parts.push(h('span', null, s.label + ': ', h('b', null, fmtDev(v))));
      parts.push('  ·  ');
    });
    parts.pop();
    fill(c.summary, n ? h('span', null, 'Now: ') : 'No samples yet.', ...(n ? parts : []));
  }
  function destroyChart(c) {
    if (c && c.ro) c.ro.disconnect();
    if (c && c.plot) c.plot.destroy();
  }

  // -------------------------------------------------------------- router
  const views = {};
  function route() {
    const hash = location.hash || '#/';
    let name = 'overview', arg = null;
    const m = hash.match(/^#\/([a-z]+)(?:\/(.+))?$/);
    if (m) { name = m[1]; arg = m[2] ? decodeURIComponent(m[2]) : null; }
    if (!views[name]) name = 'overview';
    if (view && view.leave) view.leave();
    document.querySelectorAll('#nav a').forEach((a) => {
      const cur = a.dataset.view === name || (name === 'jobs' && a.dataset.view === 'queue');
      if (cur) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    });
    const el = main();
    fill(el);
    hideTip();
    view = views[name](el, arg);
    view.name = name;
    document.title = (view.title || name) + ' · allot';
    tick();
  }
  window.addEventListener('hashchange', () => { route(); main().focus({ preventScroll: true }); });

  const errLine = () => h('p', { id: 'view-error', class: 'error', role: 'alert' });

  // ------------------------------------------------------------ overview
  views.overview = function (el) {
    const tiles = h('div', { class: 'grid tiles' });
    const range = h('div', { class: 'seg', role: 'group', 'aria-label': 'Time range' });
    const ranges = [['fine', 'Last hour'], ['coarse', 'Last day']];
    for (const [res, label] of ranges) {
      range.appendChild(h('button', { type: 'button', 'aria-pressed': String(hist.res === res), onclick: () => {
        if (hist.res === res) return;
        resetHistory(res);
        range.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', String(b.textContent === label)));
        rebuild();
        tick();
      } }, label));
    }
    const grid = h('div', { class: 'grid charts' });
    add(el, h('div', { class: 'toolbar' }, h('h1', { style: 'margin:0' }, 'Overview'), h('span', { class: 'spacer' }), h('span', { class: 'muted', id: 'chartmode' }, charts ? '' : 'Charts are shown as tables: this build has no uPlot (npm was not available).'), range), errLine(), tiles, grid);
    let cUse = null, cQueue = null, chipsKey = '';
    const boxes = {};
    function rebuild() {
      destroyChart(cUse);
      destroyChart(cQueue);
      fill(grid);
      const chips = Object.keys(hist.chips);
      chipsKey = chips.join(',');
      boxes.use = h('section', { class: 'panel', 'aria-labelledby': 'h-use' }, h('h2', { id: 'h-use' }, 'Devices in use by chip type'));
      boxes.queue = h('section', { class: 'panel', 'aria-labelledby': 'h-queue' }, h('h2', { id: 'h-queue' }, 'Queue and demand'));
      add(grid, boxes.use, boxes.queue);
      const useSeries = [];
      chips.forEach((c, i) => {
        useSeries.push({ label: c + ' used', color: PALETTE[i % PALETTE.length] });
        useSeries.push({ label: c + ' capacity', color: PALETTE[i % PALETTE.length], dash: [5, 4] });
      });
      cUse = makeChart(boxes.use, 'Devices in use by chip type', useSeries);
      cQueue = makeChart(boxes.queue, 'Queue and demand', [
        { label: 'pending jobs', color: '#d4820a' },
        { label: 'running jobs', color: '#2360a8' },
        { label: 'pending demand (devices)', color: '#8657d6', dash: [5, 4], scale: 'dev' },
      ], [
        { stroke: '#55606e', grid: { stroke: '#eef1f5' }, ticks: { stroke: '#d5dbe3' }, size: 56, label: 'jobs' },
        { scale: 'dev', side: 1, stroke: '#55606e', grid: { show: false }, ticks: { stroke: '#d5dbe3' }, size: 56, label: 'devices' },
      ]);
      if (servicesKnown) {
        boxes.svc = h('section', { class: 'panel', 'aria-labelledby': 'h-svc' }, h('h2', { id: 'h-svc' }, 'Services: replicas against demand'));
        add(grid, boxes.svc);
        svcChart = makeChart(boxes.svc, 'Services: replicas against demand', svcSeries(), svcAxes());
      }
    }
    let svcChart = null;
    function drawCharts() {
      const chips = Object.keys(hist.chips);
      if (chips.join(',') !== chipsKey || !cUse) rebuild();
      const useData = [hist.time];
      for (const c of chips) { useData.push(hist.chips[c].used); useData.push(hist.chips[c].total); }
      setChart(cUse, useData);
      const demand = hist.time.map((_, i) => {
        let s = hist.demand_any[i] || 0;
        for (const c of chips) s += hist.chips[c].demand[i] || 0;
        return s;
      });
      setChart(cQueue, [hist.time, hist.pending, hist.running, demand]);
      if (svcChart) setChart(svcChart, svcData());
    }
    function drawTiles() {
      const n = hist.time.length - 1;
      if (n < 0) return;
      const chips = Object.keys(hist.chips);
      const t = [];
      const up = hist.nodes_up[n], down = hist.nodes_down[n], dr = hist.nodes_draining[n];
      t.push(tile('Nodes', fmtN(up + down + dr), fmtN(up) + ' up · ' + fmtN(dr) + ' draining · ' + fmtN(down) + ' down', null));
      for (const c of chips) {
        const u = hist.chips[c].used[n] || 0, tot = hist.chips[c].total[n] || 0;
        t.push(tile(c + ' in use', fmtDev(u) + ' / ' + fmtN(tot), (tot ? Math.round((100 * u) / tot) : 0) + '% of the devices up' + (hist.chips[c].down[n] ? ' · ' + fmtN(hist.chips[c].down[n]) + ' down' : ''), tot ? u / tot : 0));
      }
      t.push(tile('Pending jobs', fmtN(hist.pending[n]), 'waiting for devices', null));
      t.push(tile('Running jobs', fmtN(hist.running[n]), 'placed on the fleet', null));
      let dem = hist.demand_any[n] || 0;
      for (const c of chips) dem += hist.chips[c].demand[n] || 0;
      t.push(tile('Pending demand', fmtDev(dem), 'devices asked for by pending jobs', null));
      fill(tiles, ...t);
    }
    function tile(k, v, s, frac) {
      return h('div', { class: 'tile' }, h('div', { class: 'k' }, k), h('div', { class: 'v' }, v), h('div', { class: 's' }, s),
        frac == null ? null : h('div', { class: 'bar', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(frac * 100)), 'aria-label': k }, h('span', { style: 'width:' + Math.min(100, frac * 100).toFixed(1) + '%' })));
    }
    return {
      title: 'Overview', interval: 2000,
      async refresh() {
        await loadHistory();
        if (servicesKnown) await loadServices();
        drawTiles();
        drawCharts();
      },
      leave() { destroyChart(cUse); destroyChart(cQueue); destroyChart(svcChart); },
    };
  };

  // --------------------------------------------------------------- fleet
  const CODES = { F: 'free', U: 'used', P: 'fractional', L: 'lent', R: 'draining', D: 'down' };
  const CSSVAR = (n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim();
  views.fleet = function (el, arg) {
    const COLORS = { F: CSSVAR('--free'), U: CSSVAR('--used'), P: CSSVAR('--frac'), L: CSSVAR('--lent'), R: CSSVAR('--drain'), D: CSSVAR('--down'), C: CSSVAR('--cpu') };
    const search = h('input', { type: 'search', id: 'node-search', placeholder: 'node name', 'aria-describedby': 'fleet-count' });
    const chipSel = h('select', { id: 'chip-filter' }, h('option', { value: '' }, 'all chip types'));
    const legend = h('ul', { class: 'legend', 'aria-label': 'Legend: device states' });
    const count = h('span', { id: 'fleet-count', class: 'muted' });
    const canvas = h('canvas', { class: 'fleet', tabindex: '0', role: 'img', 'aria-label': 'Fleet map: every node as a cell, grouped by zone, block and rack. Arrow keys move between nodes, Enter shows a node.' });
    const cwrap = h('div', { class: 'canvaswrap' }, canvas);
    const announce = h('p', { class: 'sr', 'aria-live': 'polite' });
    const side = h('aside', { class: 'panel side', 'aria-label': 'Node details', hidden: true });
    const tableBtn = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Show as table');
    const tableBox = h('div', { hidden: true });
    const layoutEl = h('div', { class: 'fleet-layout' }, h('section', { class: 'panel', 'aria-labelledby': 'h-fleet' }, h('h2', { id: 'h-fleet', class: 'sr' }, 'Fleet map'), cwrap, tableBox, announce), side);
    add(el, h('div', { class: 'toolbar' }, h('h1', { style: 'margin:0' }, 'Fleet'),
      h('label', { for: 'node-search' }, 'Find', search), h('label', { for: 'chip-filter' }, 'Chip', chipSel), tableBtn, h('span', { class: 'spacer' }), count),
    h('div', { class: 'toolbar' }, legend), errLine(), layoutEl);

    let data = null; // the server's reply
    let order = []; // node indexes in drawing order
    let rects = null; // Float32Array x,y,w,h per drawn node (in order)
    let focus = -1; // index into order
    let selected = arg || null;
    let cell = 8;
    let labels = [];
    let lastKey = '';

    function layout() {
      const W = Math.max(320, cwrap.clientWidth - 8);
      const nodes = data.nodes, racks = data.racks;
      // racks sorted by zone, block, rack; nodes by name inside
      const byRack = new Map();
      for (let i = 0; i < nodes.length; i++) {
        const r = nodes[i][1];
        if (!byRack.has(r)) byRack.set(r, []);
        byRack.get(r).push(i);
      }
      const rk = [...byRack.keys()].sort((a, b) => natCmp(racks[a][0], racks[b][0]) || natCmp(racks[a][1], racks[b][1]) || natCmp(racks[a][2], racks[b][2]));
      for (const r of rk) byRack.get(r).sort((a, b) => natCmp(nodes[a][0], nodes[b][0]));
      let maxDev = 1;
      for (const n of nodes) maxDev = Math.max(maxDev, Math.min(8, n[4].length || 1));
      const target = Math.max(500, window.innerHeight * 1.6);
      const sizes = [14, 11, 8, 6, 5, 4, 3, 2];
      let res = null;
      for (const cs of sizes) {
        res = place(cs);
        if (res.height <= target) break;
      }
      cell = res.cs;
      return res;

      function place(cs) {
        const gap = cs >= 6 ? 1 : 0, ng = cs >= 6 ? 3 : 1, pad = cs >= 6 ? 5 : 2;
        const nodeW = maxDev * (cs + gap) - gap;
        const perCol = 16;
        const lab = cs >= 8;
        const labH = lab ? 14 : 0;
        const out = [], labs = [];
        let x = 0, y = 0, rowH = 0, zone = null, block = null;
        const headH = 22;
        for (const r of rk) {
          const [z, b] = racks[r];
          if (z !== zone || b !== block) {
            if (rowH) { y += rowH + 10; x = 0; rowH = 0; }
            zone = z; block = b;
            labs.push({ x: 0, y: y + 14, text: z + ' / ' + b, head: true });
            y += headH;
          }
          const list = byRack.get(r);
          const rows = (n) => Math.max(1, Math.ceil(Math.min(64, nodes[n][4].length || 1) / 8));
          const cols = Math.ceil(list.length / perCol);
          let colH = 0, h0 = 0, k = 0;
          for (let c = 0; c < cols; c++) {
            let hh = 0;
            for (let j = 0; j < perCol && k < list.length; j++, k++) hh += rows(list[k]) * (cs + gap) - gap + ng;
            colH = Math.max(colH, hh);
          }
          const rw = cols * (nodeW + pad) + pad, rh = colH + 2 * pad + labH - ng;
          if (x + rw > W && x > 0) { x = 0; y += rowH + 8; rowH = 0; }
          out.push({ rack: r, x, y, w: rw, h: rh });
          if (lab) labs.push({ x: x + pad, y: y + 11, text: racks[r][2], head: false, w: rw - pad });
          k = 0;
          for (let c = 0; c < cols; c++) {
            let ny = y + pad + labH;
            for (let j = 0; j < perCol && k < list.length; j++, k++) {
              const n = list[k];
              out.push({ node: n, x: x + pad + c * (nodeW + pad), y: ny, w: nodeW, h: rows(n) * (cs + gap) - gap });
              ny += rows(n) * (cs + gap) - gap + ng;
            }
          }
          x += rw + 8;
          rowH = Math.max(rowH, rh);
          h0 = h0 + 0;
        }
        return { cs, gap, items: out, labels: labs, height: y + rowH + 4, width: W };
      }
    }

    let L = null, layoutKey = '';
    // The layout (where each rack and node goes) depends only on the nodes'
    // names and places and on the width: it is kept across updates, which
    // only recolour the devices. Devices are drawn one colour at a time (one
    // path per colour), so 80,000 devices cost a few fills.
    function draw() {
      if (!data) return;
      const nodes = data.nodes;
      const key = cwrap.clientWidth + '|' + nodes.length + '|' + data.racks.length + '|' + (nodes.length ? nodes[0][0] + nodes[nodes.length - 1][0] : '');
      if (key !== layoutKey || !L) {
        layoutKey = key;
        L = layout();
        labels = L.labels;
        order = [];
        const rr = [];
        for (const it of L.items) if (it.node != null) { order.push(it.node); rr.push(it.x, it.y, it.w, it.h); }
        rects = Float32Array.from(rr);
      }
      const dpr = window.devicePixelRatio || 1;
      if (canvas.width !== Math.ceil(L.width * dpr) || canvas.height !== Math.ceil(L.height * dpr)) {
        canvas.width = Math.ceil(L.width * dpr);
        canvas.height = Math.ceil(L.height * dpr);
        canvas.style.width = L.width + 'px';
        canvas.style.height = L.height + 'px';
      }
      const g = canvas.getContext('2d');
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.clearRect(0, 0, L.width, L.height);
      const cs = L.cs, gap = L.gap;
      const fl = search.value.trim().toLowerCase(), chip = chipSel.value;
      // racks
      g.fillStyle = '#f6f8fa';
      g.strokeStyle = '#d5dbe3';
      g.lineWidth = 1;
      for (const it of L.items) {
        if (it.rack == null) continue;
        g.fillRect(it.x + 0.5, it.y + 0.5, it.w, it.h);
        if (cs >= 6) g.strokeRect(it.x + 0.5, it.y + 0.5, it.w, it.h);
      }
      g.font = '600 12.5px system-ui, sans-serif';
      g.fillStyle = '#17202b';
      for (const lb of labels) if (lb.head) g.fillText(lb.text, lb.x, lb.y);
      // devices: a path per (colour, dimmed)
      const paths = {};
      const P = (k) => paths[k] || (paths[k] = new Path2D());
      let sel = -1;
      for (let k = 0; k < order.length; k++) {
        const n = nodes[order[k]];
        const x = rects[k * 4], y = rects[k * 4 + 1];
        const dim = (fl && !n[0].toLowerCase().includes(fl)) || (chip !== '' && String(n[2]) !== chip) ? '~' : '';
        const devs = n[4];
        if (!devs.length) P((n[3] === 'down' ? 'D' : 'C') + dim).rect(x, y, cs, cs);
        for (let d = 0; d < devs.length && d < 64; d++) P(devs[d] + dim).rect(x + (d % 8) * (cs + gap), y + ((d / 8) | 0) * (cs + gap), cs, cs);
        if (selected && n[0] === selected) sel = k;
      }
      for (const k in paths) {
        g.globalAlpha = k.length > 1 ? 0.18 : 1;
        g.fillStyle = COLORS[k[0]] || COLORS.C;
        g.fill(paths[k]);
      }
      g.globalAlpha = 1;
      if (sel >= 0) {
        g.strokeStyle = '#101820';
        g.lineWidth = 2;
        g.strokeRect(rects[sel * 4] - 2, rects[sel * 4 + 1] - 2, rects[sel * 4 + 2] + 4, rects[sel * 4 + 3] + 4);
      }
      g.font = '10px system-ui, sans-serif';
      g.fillStyle = '#55606e';
      for (const lb of labels) {
        if (lb.head) continue;
        if (lb.fit == null) { // shortened once per layout
          let t = lb.text;
          while (t.length > 3 && g.measureText(t).width > lb.w) t = t.slice(0, -2);
          lb.fit = t === lb.text ? t : t + '…';
        }
        g.fillText(lb.fit, lb.x, lb.y);
      }
      if (focus >= 0) drawFocus(g);
    }
    function drawFocus(g) {
      if (focus < 0 || !rects || focus * 4 >= rects.length) return;
      g = g || canvas.getContext('2d');
      const x = rects[focus * 4], y = rects[focus * 4 + 1], w = rects[focus * 4 + 2], hh = rects[focus * 4 + 3];
      g.strokeStyle = '#f0b429';
      g.lineWidth = 2;
      g.strokeRect(x - 3, y - 3, w + 6, hh + 6);
    }
    function hit(px, py) {
      if (!rects) return -1;
      for (let k = 0; k < rects.length; k += 4) {
        if (px >= rects[k] - 1 && px <= rects[k] + rects[k + 2] + 1 && py >= rects[k + 1] - 1 && py <= rects[k + 1] + rects[k + 3] + 1) return k / 4;
      }
      return -1;
    }
    function summary(n) {
      const cnt = {};
      for (const c of n[4]) cnt[c] = (cnt[c] || 0) + 1;
      const parts = Object.keys(CODES).filter((c) => cnt[c]).map((c) => cnt[c] + ' ' + CODES[c]);
      return parts.join(', ') || 'no devices';
    }
    function tipFor(n) {
      const chip = n[2] >= 0 ? data.chips[n[2]] : 'CPU only';
      const r = data.racks[n[1]];
      return [h('b', null, n[0]), ' · ' + n[3], h('br'), chip + ' × ' + n[4].length + ' · ' + r[0] + ' / ' + r[1] + ' / ' + r[2], h('br'), summary(n), h('br'), n[5] + ' task' + (n[5] === 1 ? '' : 's') + ' running'];
    }
    canvas.addEventListener('mousemove', (e) => {
      const b = canvas.getBoundingClientRect();
      const k = hit(e.clientX - b.left, e.clientY - b.top);
      if (k < 0) return hideTip();
      showTip(e.clientX, e.clientY, tipFor(data.nodes[order[k]]));
    });
    canvas.addEventListener('mouseleave', hideTip);
    canvas.addEventListener('click', (e) => {
      const b = canvas.getBoundingClientRect();
      const k = hit(e.clientX - b.left, e.clientY - b.top);
      if (k >= 0) { focus = k; openNode(data.nodes[order[k]][0]); }
    });
    canvas.addEventListener('keydown', (e) => {
      if (!order.length) return;
      const cols = (() => { // nodes in the same row: move by rows with up/down
        return 1;
      })();
      let k = focus < 0 ? 0 : focus;
      if (e.key === 'ArrowRight' || e.key === 'ArrowDown') k = Math.min(order.length - 1, k + cols);
      else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') k = Math.max(0, k - cols);
      else if (e.key === 'PageDown') k = Math.min(order.length - 1, k + 16);
      else if (e.key === 'PageUp') k = Math.max(0, k - 16);
      else if (e.key === 'Home') k = 0;
      else if (e.key === 'End') k = order.length - 1;
      else if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); if (focus >= 0) openNode(data.nodes[order[focus]][0]); return; }
      else return;
      e.preventDefault();
      focus = k;
      draw();
      const n = data.nodes[order[k]];
      announce.textContent = n[0] + ', ' + n[3] + ', ' + summary(n);
      const x = rects[k * 4], y = rects[k * 4 + 1];
      if (y < cwrap.scrollTop || y > cwrap.scrollTop + cwrap.clientHeight - 20) cwrap.scrollTop = y - 40;
      const b = canvas.getBoundingClientRect();
      showTip(b.left + x + 20, b.top + y + 10, tipFor(n));
    });
    canvas.addEventListener('blur', hideTip);
    search.addEventListener('input', debounce(() => { draw(); drawTable(); updateCount(); }, 150));
    chipSel.addEventListener('change', () => { draw(); drawTable(); updateCount(); });
    tableBtn.addEventListener('click', () => {
      const on = tableBtn.getAttribute('aria-pressed') !== 'true';
      tableBtn.setAttribute('aria-pressed', String(on));
      tableBtn.textContent = on ? 'Show as map' : 'Show as table';
      tableBox.hidden = !on;
      cwrap.hidden = on;
      drawTable();
    });
    let tablePage = 0;
    function drawTable() {
      if (tableBox.hidden || !data) return;
      const fl = search.value.trim().toLowerCase(), chip = chipSel.value;
      const list = data.nodes.filter((n) => (!fl || n[0].toLowerCase().includes(fl)) && (chip === '' || String(n[2]) === chip));
      list.sort((a, b) => natCmp(a[0], b[0]));
      const per = 200, pages = Math.max(1, Math.ceil(list.length / per));
      tablePage = Math.min(tablePage, pages - 1);
      const rows = list.slice(tablePage * per, tablePage * per + per).map((n) => h('tr', null,
        h('td', null, h('a', { href: '#/fleet/' + encodeURIComponent(n[0]), onclick: (e) => { e.preventDefault(); openNode(n[0]); } }, n[0])),
        h('td', null, badge(n[3])), h('td', null, n[2] >= 0 ? data.chips[n[2]] : 'CPU only'), h('td', { class: 'num' }, n[4].length),
        h('td', null, summary(n)), h('td', { class: 'num' }, n[5]), h('td', null, data.racks[n[1]].join(' / '))));
      fill(tableBox, h('div', { class: 'tablewrap' }, h('table', null,
        h('caption', null, 'Nodes ' + fmtN(tablePage * per + 1) + '–' + fmtN(Math.min(list.length, (tablePage + 1) * per)) + ' of ' + fmtN(list.length)),
        h('thead', null, h('tr', null, ['Node', 'State', 'Chip', 'Devices', 'Device use', 'Tasks', 'Zone / block / rack'].map((t, i) => h('th', { scope: 'col', class: i === 3 || i === 5 ? 'num' : null }, t)))),
        h('tbody', null, rows))),
      h('div', { class: 'pager' }, h('button', { type: 'button', disabled: tablePage === 0, onclick: () => { tablePage--; drawTable(); } }, 'Previous'),
        h('span', null, 'Page ' + (tablePage + 1) + ' of ' + pages),
        h('button', { type: 'button', disabled: tablePage >= pages - 1, onclick: () => { tablePage++; drawTable(); } }, 'Next')));
    }
    function updateCount() {
      const fl = search.value.trim().toLowerCase();
      const tot = data.nodes.length;
      if (fl) {
        const m = data.nodes.filter((n) => n[0].toLowerCase().includes(fl)).length;
        count.textContent = fmtN(m) + ' of ' + fmtN(tot) + ' nodes match';
      } else count.textContent = fmtN(tot) + ' nodes · ' + fmtN(data.racks.length) + ' racks';
    }
    function drawLegend() {
      const cnt = { F: 0, U: 0, P: 0, L: 0, R: 0, D: 0 };
      for (const n of data.nodes) for (const c of n[4]) cnt[c]++;
      fill(legend, ...Object.keys(CODES).map((c) => h('li', null, h('span', { class: 'sw ' + c, 'aria-hidden': 'true' }), CODES[c] + ' ', h('span', { class: 'muted' }, fmtN(cnt[c])))),
        h('li', null, h('span', { class: 'sw C', 'aria-hidden': 'true' }), 'CPU only'));
    }

    // the side panel: one node's devices and the jobs on them
    let sideTimer = 0;
    async function openNode(name) {
      selected = name;
      if (location.hash !== '#/fleet/' + encodeURIComponent(name)) history.replaceState(null, '', '#/fleet/' + encodeURIComponent(name));
      draw();
      await loadSide();
      side.querySelector('h2').focus();
    }
    async function loadSide() {
      if (!selected) return;
      let d;
      try {
        d = await api('/v1/fleet/' + encodeURIComponent(selected));
      } catch (e) {
        side.hidden = false;
        layoutEl.classList.add('with-side');
        fill(side, h('h2', { tabindex: '-1' }, selected), h('p', { class: 'error' }, e.message));
        return;
      }
      const n = d.node;
      const close = h('button', { type: 'button', class: 'close', 'aria-label': 'Close node details', onclick: () => {
        selected = null; side.hidden = true; layoutEl.classList.remove('with-side'); history.replaceState(null, '', '#/fleet'); draw(); canvas.focus();
      } }, '×');
      const devs = d.devices.map((dv) => {
        const code = n.state === 'down' ? 'D' : dv.jobs.some((j) => j.lent) ? 'L' : dv.free_milli >= 1000 ? (n.state === 'draining' ? 'R' : 'F') : dv.free_milli <= 0 ? 'U' : 'P';
        return h('div', { class: 'dev' }, h('div', { class: 'hd' }, h('span', { class: 'sw ' + code, 'aria-hidden': 'true' }), 'Device ' + dv.index, h('span', { class: 'muted' }, CODES[code])),
          h('div', { class: 'muted' }, 'free ' + (dv.free_milli / 10).toFixed(0) + '%'),
          dv.jobs.length ? h('ul', { style: 'margin:4px 0 0;padding-left:16px' }, dv.jobs.map((j) => h('li', null, j.id == null ? 'another tenant\'s job' : h('a', { href: '#/jobs/' + j.id }, '#' + j.id + ' ' + j.name), j.milli < 1000 ? ' (' + j.milli / 10 + '%)' : '', j.lent ? ' · lent' : ''))) : null);
      });
      const jobs = n.jobs.map((j) => h('tr', null, h('td', null, h('a', { href: '#/jobs/' + j.id }, '#' + j.id)), h('td', null, j.name), h('td', null, j.tenant), h('td', { class: 'num' }, j.tasks)));
      fill(side, h('h2', { tabindex: '-1' }, n.name, badge(n.state), close),
        h('dl', { class: 'kv' }, h('dt', null, 'Chip'), h('dd', null, n.chip ? n.chip + ' × ' + n.devices : 'CPU only'),
          h('dt', null, 'Place'), h('dd', null, n.zone + ' / ' + n.block + ' / ' + n.rack),
          h('dt', null, 'CPU free'), h('dd', null, fmtN(d.cpu_free / 1000) + ' of ' + fmtN(n.cpu / 1000) + ' cores'),
          h('dt', null, 'Memory free'), h('dd', null, fmtN(Math.round(d.mem_free / 1024)) + ' of ' + fmtN(Math.round(n.mem / 1024)) + ' GiB'),
          h('dt', null, 'Heartbeat'), h('dd', null, n.simulated ? 'simulated node' : fmtTime(n.last_heartbeat))),
        h('h3', null, 'Devices'), d.devices.length ? h('div', { class: 'devgrid' }, devs) : h('p', { class: 'muted' }, 'No accelerators.'),
        h('h3', null, 'Jobs on this node'), n.jobs.length ? h('table', null, h('thead', null, h('tr', null, ['Job', 'Name', 'Tenant', 'Tasks'].map((t, i) => h('th', { scope: 'col', class: i === 3 ? 'num' : null }, t)))), h('tbody', null, jobs)) : h('p', { class: 'muted' }, 'None' + (d.other_jobs ? ' of yours (' + d.other_jobs + ' of other tenants)' : '') + '.'));
      side.hidden = false;
      layoutEl.classList.add('with-side');
    }
    const ro = new ResizeObserver(debounce(() => draw(), 100));
    ro.observe(cwrap);
    return {
      title: 'Fleet', interval: 4000,
      async refresh() {
        const t0 = performance.now();
        data = await api('/v1/fleet');
        const key = data.chips.join(',');
        if (key !== lastKey) {
          lastKey = key;
          const v = chipSel.value;
          fill(chipSel, h('option', { value: '' }, 'all chip types'), ...data.chips.map((c, i) => h('option', { value: String(i) }, c)));
          chipSel.value = v;
        }
        draw();
        drawLegend();
        drawTable();
        updateCount();
        window.__allotFleetDrawMs = performance.now() - t0;
        canvas.dataset.nodes = String(data.nodes.length);
        if (selected) {
          clearTimeout(sideTimer);
          await loadSide();
        }
      },
      leave() { ro.disconnect(); hideTip(); },
    };
  };

  const tipEl = () => document.getElementById('tip');
  function showTip(x, y, content) {
    const t = tipEl();
    fill(t, ...content);
    t.hidden = false;
    const w = t.offsetWidth, hh = t.offsetHeight;
    t.style.left = Math.min(window.innerWidth - w - 8, x + 14) + 'px';
    t.style.top = Math.min(window.innerHeight - hh - 8, y + 14) + 'px';
  }
  function hideTip() { const t = tipEl(); if (t) t.hidden = true; }

  // --------------------------------------------------------------- queue
  const qstate = { states: 'pending,running', tenant: '', q: '', sort: 'id', order: 'asc', offset: 0, limit: 100 };
  views.queue = function (el) {
    const segs = [['pending,running', 'Active'], ['pending', 'Pending'], ['running', 'Running'], ['finished', 'Finished'], ['all', 'All']];
    const seg = h('div', { class: 'seg', role: 'group', 'aria-label': 'Job state' });
    const segBtns = segs.map(([v, label]) => h('button', { type: 'button', 'data-state': v, 'aria-pressed': String(qstate.states === v), onclick: () => {
      qstate.states = v; qstate.offset = 0;
      segBtns.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.state === v)));
      tick();
    } }, label, h('span', { class: 'muted cnt' })));
    add(seg, ...segBtns);
    const tenantSel = h('select', { id: 'tenant-filter' }, h('option', { value: '' }, 'all tenants'));
    const search = h('input', { type: 'search', id: 'job-search', placeholder: 'id, name or tenant', value: qstate.q });
    const perSel = h('select', { id: 'per-page' }, [50, 100, 200, 500].map((n) => h('option', { value: String(n), selected: n === qstate.limit }, String(n))));
    const tableBox = h('div', { class: 'tablewrap' });
    const pager = h('div', { class: 'pager' });
    add(el, h('div', { class: 'toolbar' }, h('h1', { style: 'margin:0' }, 'Queue'), seg,
      h('label', { for: 'tenant-filter' }, 'Tenant', tenantSel), h('label', { for: 'job-search' }, 'Search', search),
      h('label', { for: 'per-page' }, 'Rows', perSel)), errLine(),
    h('section', { class: 'panel', 'aria-labelledby': 'h-jobs' }, h('h2', { id: 'h-jobs', class: 'sr' }, 'Jobs'), tableBox, pager));
    tenantSel.addEventListener('change', () => { qstate.tenant = tenantSel.value; qstate.offset = 0; tick(); });
    search.addEventListener('input', debounce(() => { qstate.q = search.value.trim(); qstate.offset = 0; tick(); }, 250));
    perSel.addEventListener('change', () => { qstate.limit = +perSel.value; qstate.offset = 0; tick(); });
    const cols = [
      ['id', 'Job', 'id', 'num'], ['name', 'Name'], ['tenant', 'Tenant', 'tenant'], ['state', 'State', 'state'],
      ['priority', 'Priority', 'priority', 'num'], ['devices', 'Devices', 'devices', 'num'], ['chip', 'Chip'],
      ['wait', 'Waited', 'wait', 'num'], ['submit', 'Submitted', 'submit'], ['nodes', 'Nodes / reason'],
    ];
    let tenantsKey = '';
    function head() {
      return h('thead', null, h('tr', null, cols.map(([k, label, sort, cls]) => {
        const cur = sort && qstate.sort === sort;
        return h('th', { scope: 'col', class: cls, 'aria-sort': cur ? (qstate.order === 'asc' ? 'ascending' : 'descending') : null },
          sort ? h('button', { type: 'button', class: 'sort', onclick: () => {
            if (qstate.sort === sort) qstate.order = qstate.order === 'asc' ? 'desc' : 'asc';
            else { qstate.sort = sort; qstate.order = sort === 'wait' || sort === 'priority' || sort === 'devices' ? 'desc' : 'asc'; }
            qstate.offset = 0;
            tick();
          } }, label) : label);
      })));
    }
    function row(j) {
      const dev = j.devices === 0 ? 'CPU' : (j.gang_size > 1 ? j.gang_size + ' × ' : '') + j.devices + (j.milli < 1000 ? ' @ ' + j.milli / 10 + '%' : '');
      return h('tr', { 'data-job': j.id },
        h('td', { class: 'num' }, h('a', { href: '#/jobs/' + j.id }, String(j.id))),
        h('td', { class: 'wrap' }, j.name), h('td', null, j.tenant), h('td', null, badge(j.state)),
        h('td', { class: 'num' }, String(j.priority)), h('td', { class: 'num' }, dev), h('td', null, j.chip || 'any'),
        h('td', { class: 'num' }, fmtDur(j.wait)), h('td', null, fmtTime(j.submit_time)),
        h('td', { class: 'wrap' }, j.state === 'running' ? j.nodes : j.reason || ''));
    }
    return {
      title: 'Queue', interval: 3000,
      async refresh() {
        const p = new URLSearchParams({ state: qstate.states, sort: qstate.sort, order: qstate.order, offset: qstate.offset, limit: qstate.limit });
        if (qstate.tenant) p.set('tenant', qstate.tenant);
        if (qstate.q) p.set('q', qstate.q);
        const d = await api('/v1/queue?' + p);
        const key = d.tenants.join(',');
        if (key !== tenantsKey) {
          tenantsKey = key;
          fill(tenantSel, h('option', { value: '' }, d.tenants.length === 1 && whoami && whoami.role === 'tenant' ? d.tenants[0] : 'all tenants'),
            ...(whoami && whoami.role === 'tenant' ? [] : d.tenants.map((t) => h('option', { value: t }, t))));
          tenantSel.value = qstate.tenant;
        }
        const c = d.counts;
        const by = { 'pending,running': c.pending + c.running, pending: c.pending, running: c.running, finished: c.succeeded + c.failed + c.cancelled, all: c.pending + c.running + c.succeeded + c.failed + c.cancelled };
        segBtns.forEach((b) => { b.querySelector('.cnt').textContent = ' ' + fmtN(by[b.dataset.state]); });
        fill(tableBox, h('table', { id: 'jobs-table' }, h('caption', { class: 'sr' }, 'Jobs, ' + fmtN(d.total) + ' matching'), head(), h('tbody', null, d.jobs.map(row))),
          d.jobs.length ? null : h('p', { class: 'empty' }, 'No jobs here.'));
        const pages = Math.max(1, Math.ceil(d.total / qstate.limit)), page = Math.floor(qstate.offset / qstate.limit);
        const go = (o) => { qstate.offset = Math.max(0, o); tick(); };
        fill(pager, 
          h('button', { type: 'button', disabled: page === 0, onclick: () => go(0) }, 'First'),
          h('button', { type: 'button', disabled: page === 0, onclick: () => go(qstate.offset - qstate.limit) }, 'Previous'),
          h('span', { id: 'page-info' }, d.total ? fmtN(qstate.offset + 1) + '–' + fmtN(Math.min(d.total, qstate.offset + qstate.limit)) + ' of ' + fmtN(d.total) : '0 jobs'),
          h('button', { type: 'button', disabled: page >= pages - 1, onclick: () => go(qstate.offset + qstate.limit) }, 'Next'),
          h('button', { type: 'button', disabled: page >= pages - 1, onclick: () => go((pages - 1) * qstate.limit) }, 'Last'));
        if (qstate.offset >= d.total && d.total > 0) go((pages - 1) * qstate.limit);
      },
    };
  };

  // ----------------------------------------------------------------- job
  views.jobs = function (el, arg) {
    const id = parseInt(arg, 10);
    const head = h('div', { class: 'toolbar' });
    const info = h('section', { class: 'panel', 'aria-labelledby': 'h-info' });
    const events = h('section', { class: 'panel', 'aria-labelledby': 'h-events' });
    const tasks = h('section', { class: 'panel', 'aria-labelledby': 'h-tasks' });
    const taskSel = h('select', { id: 'log-task' });
    const streamSel = h('select', { id: 'log-stream' }, h('option', { value: 'stdout' }, 'stdout'), h('option', { value: 'stderr' }, 'stderr'));
    const pre = h('pre', { class: 'log', id: 'log', tabindex: '0', 'aria-label': 'Log tail' });
    const logInfo = h('span', { class: 'muted', id: 'log-info' });
    const logs = h('section', { class: 'panel', 'aria-labelledby': 'h-logs' }, h('div', { class: 'toolbar' }, h('h2', { id: 'h-logs', style: 'margin:0' }, 'Log'),
      h('label', { for: 'log-task' }, 'Task', taskSel), h('label', { for: 'log-stream' }, 'Stream', streamSel), h('span', { class: 'spacer' }), logInfo), pre);
    add(el, head, errLine(), h('div', { class: 'cols' }, h('div', null, info, tasks), h('div', null, events)), h('div', { style: 'margin-top:14px' }, logs));
    let job = null, gang = -1;
    const log = { key: '', offset: 0, text: '', done: false };
    const TAIL = 64 * 1024;
    taskSel.addEventListener('change', () => { log.key = ''; tick(); });
    streamSel.addEventListener('change', () => { log.key = ''; tick(); });

    async function loadLog() {
      const key = taskSel.value + '/' + streamSel.value + '/' + job.epoch;
      if (key !== log.key) { log.key = key; log.offset = -1; log.text = ''; log.done = false; }
      if (log.done) return;
      const base = '/v1/jobs/' + id + '/logs?task=' + (taskSel.value || 0) + '&stream=' + streamSel.value;
      if (log.offset < 0) { // the size first, then the tail
        const r = await api(base + '&limit=1', { raw: true });
        if (!r.ok) { pre.textContent = '(no log: ' + r.status + ')'; return; }
        const size = +(r.headers.get('X-Allot-Log-Size') || 0);
        log.offset = Math.max(0, size - TAIL);
        log.truncated = log.offset > 0;
      }
      const r = await api(base + '&offset=' + log.offset + '&limit=' + TAIL, { raw: true });
      if (!r.ok) return;
      const t = await r.text();
      const size = +(r.headers.get('X-Allot-Log-Size') || 0);
      log.done = r.headers.get('X-Allot-Log-Done') === '1' && log.offset + new Blob([t]).size >= size;
      log.offset += new Blob([t]).size;
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      log.text = (log.text + t).slice(-TAIL);
      pre.textContent = (log.truncated ? '… (earlier output not shown)\n' : '') + (log.text || (log.done ? '(empty)' : '(nothing yet)'));
      if (atEnd) pre.scrollTop = pre.scrollHeight;
      logInfo.textContent = fmtBytes(size) + (log.done ? ' · complete' : ' · following');
    }

    function render() {
      const j = job;
      const active = j.state === 'pending' || j.state === 'running';
      const cancel = active ? h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!confirm('Cancel job ' + j.id + ' (' + j.name + ')?')) return;
        try { await api('/v1/jobs/' + j.id, { method: 'DELETE' }); tick(); } catch (e) { showError(e); }
      } }, 'Cancel job') : null;
      fill(head, h('a', { href: '#/queue' }, '← Queue'), h('h1', { style: 'margin:0' }, 'Job ' + j.id + ' · ' + j.name), badge(j.state), h('span', { class: 'spacer' }), cancel);
      const wait = j.start_time ? j.start_time - j.submit_time : (j.state === 'pending' ? Date.now() / 1000 - j.submit_time : null);
      const run = j.start_time ? (j.end_time || Date.now() / 1000) - j.start_time : null;
      const kv = [
        ['Tenant', j.tenant], ['State', j.state + (j.reason ? ' — ' + j.reason : '')],
        ['Command', h('code', null, j.command.map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a)).join(' '))],
        ['Devices', j.devices === 0 ? 'none (CPU only)' : (j.gang_size > 1 ? j.gang_size + ' tasks × ' : '') + j.devices + ' device' + (j.devices > 1 ? 's' : '') + (j.milli < 1000 ? ' at ' + j.milli / 10 + '% each' : '') + ' · ' + (j.chip || 'any chip type')],
        ['CPU, memory', (j.cpu ? j.cpu / 1000 + ' cores' : '–') + ', ' + (j.mem ? fmtN(j.mem) + ' MiB' : '–') + ' per task'],
        ['Priority', j.priority + (j.preemptible ? ' · preemptible' : '')],
        ['Time limit', j.time_limit ? fmtDur(j.time_limit) : 'none'],
        ['Submitted', fmtTime(j.submit_time)], ['Started', fmtTime(j.start_time)], ['Ended', fmtTime(j.end_time)],
        ['Waited', fmtDur(wait)], ['Ran', fmtDur(run)], ['Exit code', j.exit_code == null ? '–' : String(j.exit_code)], ['Epoch', String(j.epoch)],
      ];
      fill(info, h('h2', { id: 'h-info' }, 'Job'), h('dl', { class: 'kv' }, kv.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])));
      fill(tasks, h('h2', { id: 'h-tasks' }, 'Tasks'), j.tasks.length ? h('table', null,
        h('thead', null, h('tr', null, ['Task', 'Node', 'Devices', 'State', 'Exit'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, j.tasks.map((t) => h('tr', null, h('td', null, String(t.task)), h('td', null, h('a', { href: '#/fleet/' + encodeURIComponent(t.node) }, t.node)),
          h('td', null, t.devices.join(', ') || '–'), h('td', null, t.state), h('td', null, t.exit_code == null ? '–' : String(t.exit_code)))))) : h('p', { class: 'muted' }, active ? 'Not placed yet.' : 'None now: the job has ended.'));
      const evs = (j.events || []).slice().reverse();
      fill(events, h('h2', { id: 'h-events' }, 'Events'), h('ol', { class: 'events', id: 'events', reversed: true }, evs.map((e) => h('li', { 'data-type': e.type }, badge(e.type), h('time', { datetime: new Date(e.time * 1000).toISOString() }, fmtTime(e.time)), e.epoch ? h('span', { class: 'muted' }, ' · run ' + e.epoch) : null, e.detail ? h('span', { class: 'detail' }, e.detail) : null))));
      if (j.gang_size !== gang) {
        gang = j.gang_size;
        fill(taskSel, ...Array.from({ length: Math.min(gang, 4096) }, (_, k) => h('option', { value: String(k) }, String(k))));
      }
    }
    return {
      title: 'Job ' + id, interval: 2000,
      async refresh() {
        if (!(id > 0)) { fill(head, h('h1', null, 'No such job')); return; }
        try {
          job = await api('/v1/jobs/' + id);
        } catch (e) {
          if (e.status === 404) {
            fill(el, h('div', { class: 'toolbar' }, h('a', { href: '#/queue' }, '← Queue'), h('h1', { style: 'margin:0' }, 'Job ' + id)),
              h('p', { class: 'empty' }, 'No job ' + id + ' here: it does not exist, belongs to another tenant, or ended longer ago than the server keeps jobs.'));
            return;
          }
          throw e;
        }
        render();
        if (job.epoch > 0) await loadLog();
        else pre.textContent = '(the job has not run)';
      },
    };
  };

  // -------------------------------------------------------------- tenants
  views.tenants = function (el) {
    const box = h('div');
    add(el, h('h1', null, 'Tenants'), errLine(), h('p', { class: 'muted' }, 'Share: the devices a tenant holds now, against its entitlement: its guaranteed quota per chip type or, without quotas, its fair share of the fleet by weight. Borrowed: devices held beyond the quota (the scheduler may take them back for tenants within their quota).'), box);
    return {
      title: 'Tenants', interval: 4000,
      async refresh() {
        const [d] = await Promise.all([api('/v1/tenants'), loadHistory()]);
        const n = hist.time.length - 1;
        const chips = Object.keys(hist.chips);
        const cap = {};
        for (const c of chips) cap[c] = n >= 0 ? hist.chips[c].total[n] || 0 : 0;
        const fleet = chips.reduce((s, c) => s + cap[c], 0);
        const anyQuota = d.tenants.some((t) => Object.keys(t.quota).length);
        const wsum = d.tenants.reduce((s, t) => s + t.weight, 0) || 1;
        const rows = d.tenants.map((t) => {
          const used = Object.values(t.devices_used).reduce((s, x) => s + x, 0);
          const quota = Object.values(t.quota).reduce((s, x) => s + x, 0);
          const ent = anyQuota ? quota : (fleet * t.weight) / wsum;
          let borrowed = 0;
          if (anyQuota) for (const c in t.devices_used) borrowed += Math.max(0, t.devices_used[c] - (t.quota[c] || 0));
          const share = fleet ? used / fleet : 0;
          const frac = ent > 0 ? Math.min(1, used / ent) : used > 0 ? 1 : 0;
          const perChip = Object.keys(t.devices_used).length ? Object.entries(t.devices_used).map(([c, x]) => fmtDev(x) + ' ' + c + (t.quota[c] != null ? ' / ' + t.quota[c] : '')).join(', ') : '–';
          return h('tr', { 'data-tenant': t.name }, h('th', { scope: 'row' }, t.name), h('td', { class: 'num' }, String(t.weight)),
            h('td', { class: 'num' }, fmtN(t.jobs_pending)), h('td', { class: 'num' }, fmtN(t.jobs_running)),
            h('td', null, perChip), h('td', { class: 'num' }, fmtDev(used)), h('td', { class: 'num' }, anyQuota ? (quota ? fmtN(quota) : '0') : fmtDev(ent) + ' (weight)'),
            h('td', null, h('div', { class: 'bar', style: 'width:140px;margin:0', role: 'meter', 'aria-label': 'use against entitlement', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(frac * 100)) }, h('span', { style: 'width:' + (frac * 100).toFixed(1) + '%;background:' + (used > ent ? 'var(--lent)' : 'var(--used)') })),
              h('span', { class: 'muted' }, (fleet ? (100 * share).toFixed(1) : '0') + '% of fleet')),
            h('td', { class: 'num' }, anyQuota ? fmtDev(borrowed) : '–'), h('td', { class: 'num' }, t.borrow_limit == null ? 'unlimited' : fmtN(t.borrow_limit)));
        });
        fill(box, h('section', { class: 'panel' }, h('div', { class: 'tablewrap' }, h('table', { id: 'tenants-table' },
          h('caption', { class: 'sr' }, 'Tenants: share against entitlement'),
          h('thead', null, h('tr', null, ['Tenant', 'Weight', 'Pending', 'Running', 'Devices by chip (used / quota)', 'Devices used', 'Entitlement', 'Share', 'Borrowed', 'Borrow limit'].map((t, i) => h('th', { scope: 'col', class: [1, 2, 3, 5, 6, 8, 9].includes(i) ? 'num' : null }, t)))),
          h('tbody', null, rows)))), d.tenants.length ? null : h('p', { class: 'empty' }, 'No tenants.'));
      },
    };
  };

  // ------------------------------------------------------------- services
  // GET /v1/services (when the server has it): replicas against demand, with
  // the history the page gathers while it is open.
  let servicesKnown = false;
  let services = [];
  const svcHist = { time: [], by: {} };
  async function loadServices() {
    const d = await api('/v1/services');
    services = d.services || [];
    const t = Date.now() / 1000;
    svcHist.time.push(t);
    const n = svcHist.time.length;
    for (const s of services) {
      if (!svcHist.by[s.name]) svcHist.by[s.name] = { ready: new Array(n - 1).fill(null), wanted: new Array(n - 1).fill(null), rps: new Array(n - 1).fill(null) };
    }
    for (const name in svcHist.by) {
      const s = services.find((x) => x.name === name);
      const b = svcHist.by[name];
      const rep = (s && s.replicas) || {}, load = (s && s.load) || {};
      b.ready.push(s ? rep.ready : null);
      b.wanted.push(s ? rep.wanted : null);
      b.rps.push(s ? load.rps : null);
    }
    if (n > 1800) { svcHist.time.shift(); for (const k in svcHist.by) for (const a of Object.values(svcHist.by[k])) a.shift(); }
  }
  function svcSeries() {
    const out = [];
    Object.keys(svcHist.by).slice(0, 4).forEach((name, i) => {
      out.push({ label: name + ' ready', color: PALETTE[i % PALETTE.length] });
      out.push({ label: name + ' wanted', color: PALETTE[i % PALETTE.length], dash: [2, 3] });
      out.push({ label: name + ' req/s', color: PALETTE[i % PALETTE.length], dash: [6, 4], scale: 'rps' });
    });
    return out.length ? out : [{ label: 'no services', color: '#999' }];
  }
  function svcAxes() {
    return [{ stroke: '#55606e', grid: { stroke: '#eef1f5' }, size: 50, label: 'replicas' }, { scale: 'rps', side: 1, stroke: '#55606e', grid: { show: false }, size: 56, label: 'requests/s' }];
  }
  function svcData() {
    const names = Object.keys(svcHist.by).slice(0, 4);
    if (!names.length) return [svcHist.time, svcHist.time.map(() => null)];
    const out = [svcHist.time];
    for (const nm of names) out.push(svcHist.by[nm].ready, svcHist.by[nm].wanted, svcHist.by[nm].rps);
    return out;
  }
  async function probeServices() {
    try {
      await loadServices();
      servicesKnown = true;
    } catch (e) {
      servicesKnown = false; // 404: this server has no services
    }
    document.getElementById('nav-services').hidden = !servicesKnown;
  }
  views.services = function (el) {
    const box = h('div');
    const chartBox = h('section', { class: 'panel', 'aria-labelledby': 'h-svc2' }, h('h2', { id: 'h-svc2' }, 'Replicas against demand'));
    add(el, h('h1', null, 'Services'), errLine(), box, h('div', { style: 'margin-top:14px' }, chartBox));
    let chart = null, key = '';
    return {
      title: 'Services', interval: 3000,
      async refresh() {
        if (!servicesKnown) { fill(box, h('p', { class: 'empty' }, 'This server runs no inference services.')); return; }
        await loadServices();
        fill(box, h('section', { class: 'panel' }, h('div', { class: 'tablewrap' }, h('table', { id: 'services-table' },
          h('thead', null, h('tr', null, ['Service', 'Tenant', 'Policy', 'Ready', 'Starting', 'Draining', 'Wanted', 'Min–max', 'Requests/s', 'Queue', 'SLO'].map((t, i) => h('th', { scope: 'col', class: i >= 3 && i !== 7 ? 'num' : null }, t)))),
          h('tbody', null, services.map((s) => h('tr', null, h('th', { scope: 'row' }, s.name), h('td', null, s.tenant || ''), h('td', null, s.policy || ''),
            h('td', { class: 'num' }, fmtN((s.replicas || {}).ready)), h('td', { class: 'num' }, fmtN((s.replicas || {}).starting)), h('td', { class: 'num' }, fmtN((s.replicas || {}).draining)),
            h('td', { class: 'num' }, fmtN((s.replicas || {}).wanted)), h('td', null, s.min_replicas + '–' + s.max_replicas),
            h('td', { class: 'num' }, fmtDev(s.load && s.load.rps)), h('td', { class: 'num' }, fmtN(s.load && s.load.queue)), h('td', { class: 'num' }, s.slo_s != null ? s.slo_s + ' s' : '–'))))))));
        const k = Object.keys(svcHist.by).slice(0, 4).join(',');
        if (k !== key) { destroyChart(chart); fill(chartBox, chartBox.firstChild); chart = makeChart(chartBox, 'Replicas against demand', svcSeries(), svcAxes()); key = k; }
        setChart(chart, svcData());
      },
      leave() { destroyChart(chart); },
    };
  };

  // -------------------------------------------------------------- reports
  views.reports = function (el) {
    const box = h('div');
    const frameBox = h('div');
    add(el, h('h1', null, 'Reports'), errLine(), box, frameBox);
    let shown = '';
    async function open(name) {
      shown = name;
      const r = await api('/reports/' + name.split('/').map(encodeURIComponent).join('/'), { raw: true });
      if (!r.ok) { fill(frameBox, h('p', { class: 'error' }, 'Cannot open ' + name + ': ' + r.status)); return; }
      const html = await r.text();
      // a sandboxed frame: the report's own markup, no scripts, no access to this page
      const fr = h('iframe', { class: 'report', sandbox: '', title: 'Report ' + name, referrerpolicy: 'no-referrer' });
      fr.srcdoc = html;
      fill(frameBox, h('section', { class: 'panel', style: 'margin-top:14px', 'aria-labelledby': 'h-rep' },
        h('div', { class: 'toolbar' }, h('h2', { id: 'h-rep', style: 'margin:0' }, name), h('span', { class: 'spacer' }),
          token ? null : h('a', { href: '/reports/' + name, target: '_blank', rel: 'noopener' }, 'Open in a new tab'),
          h('button', { type: 'button', onclick: () => { shown = ''; fill(frameBox); } }, 'Close')), fr));
    }
    let loaded = false;
    return {
      title: 'Reports', interval: 15000,
      async refresh() {
        if (whoami && whoami.role !== 'admin') { fill(box, h('p', { class: 'empty' }, 'Reports are available with the admin token.')); return; }
        const d = await api('/v1/reports');
        if (!d.configured) {
          fill(box, h('div', { class: 'panel' }, h('p', null, 'No reports directory is configured.'),
            h('p', { class: 'muted' }, 'Start the server with --reports-dir DIR (or reports_dir in its configuration file) and write reports there, e.g. allot sim --out DIR/run1 or allot compare --out DIR/policies.')));
          return;
        }
        fill(box, h('section', { class: 'panel' }, d.reports.length ? h('div', { class: 'tablewrap' }, h('table', { id: 'reports-table' },
          h('thead', null, h('tr', null, ['Report', 'File', 'Size', 'Written', ''].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', null, d.reports.map((r) => h('tr', null, h('td', null, r.title || r.name), h('td', null, h('code', null, r.name)), h('td', null, fmtBytes(r.size)), h('td', null, fmtTime(r.mtime)),
            h('td', null, h('button', { type: 'button', 'data-report': r.name, onclick: () => open(r.name).catch(showError) }, 'Open'))))))) : h('p', { class: 'empty' }, 'No reports yet.')));
        if (!loaded && d.reports.length && !shown) loaded = true;
      },
    };
  };

  // ---------------------------------------------------------------- start
  document.getElementById('pause').addEventListener('click', (e) => {
    paused = !paused;
    e.currentTarget.setAttribute('aria-pressed', String(paused));
    e.currentTarget.textContent = paused ? 'Resume' : 'Pause';
    document.getElementById('updated').textContent = paused ? 'Paused' : 'Resuming…';
    if (!paused) tick();
  });
  document.getElementById('signout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    token = '';
    location.hash = '#/';
    location.reload();
  });
  document.getElementById('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const dlg = document.getElementById('login');
    token = document.getElementById('token').value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    dlg.close();
    loginShown = false;
    if (await loadWho()) { await probeServices(); route(); } else if (!loginShown) showLogin('This token is not accepted.');
  });
  document.getElementById('login').addEventListener('cancel', (e) => e.preventDefault());

  (async function start() {
    if (await loadWho()) await probeServices();
    route();
  })();
})();
