/**
 * GET /: the status page every replica serves (issue 11). One self-contained HTML document
 * (inline CSS and script, no external asset, nothing built at install time) that polls the
 * JSON API once a second: /api/v1/status of the replica serving it, and /api/v1/lag,
 * /alerts, /events, /monitor (Kafka and the outbox), which a follower forwards to the
 * leader. The page keeps its own
 * latency history for the sparklines (the last five minutes it has seen), and fills in
 * the minutes before it was opened from the leader's GET /api/v1/lag/history.
 *
 * The Content-Security-Policy allows exactly the inline style and script below (by their
 * SHA-256, computed here from the text served) and requests to this origin only. When the
 * serving replica stops answering, the page says so and links the other replicas by the
 * `publicUrl` /api/v1/status gave while it answered.
 */
import { createHash } from 'node:crypto';
import { sendText } from './respond';
import type { HttpServer } from './server';

const STYLE = `
:root{color-scheme:light}
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#fff}
header{display:flex;flex-wrap:wrap;gap:4px 24px;align-items:baseline;padding:12px 24px;border-bottom:1px solid #d0d7de}
h1{font-size:20px;margin:0}h2{font-size:17px;margin:28px 0 8px}
main{padding:0 24px 48px;max-width:1400px}
.skip{position:absolute;left:-9999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px;z-index:1}
table{border-collapse:collapse;width:100%}
caption{text-align:left;color:#57606a;padding:0 0 4px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #d0d7de;vertical-align:middle}
thead th{background:#f6f8fa;font-weight:600}
tbody th{font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}
tr.breach{background:#ffebe9}tr.breach>th{box-shadow:inset 4px 0 #b42318}
.flag{font-weight:600;white-space:nowrap}
.flag-breach{color:#fff;background:#b42318;padding:1px 6px;border-radius:3px}
.flag-ok{color:#116329}.flag-unknown,.muted{color:#57606a}
.you{font-weight:600;color:#0550ae}
a{color:#0550ae}
:focus-visible{outline:3px solid #0550ae;outline-offset:2px}
tr:focus-visible{outline-offset:-3px}
.banner{margin:12px 24px 0;padding:12px 16px;background:#fff8c5;border:2px solid #9a6700;color:#1f2328}
.banner ul{margin:6px 0 0}
.note{margin:4px 0;color:#57606a}
.controls{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;margin:0 0 8px}
input[type=search]{font:inherit;padding:4px 8px;border:1px solid #57606a;border-radius:4px;min-width:18em;color:#1f2328;background:#fff}
button{font:inherit;padding:3px 12px;border:1px solid #57606a;border-radius:4px;background:#f6f8fa;color:#1f2328;cursor:pointer}
button:disabled{color:#57606a;cursor:default}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px;margin:0}dt{color:#57606a}dd{margin:0}
.spark{display:block}.spark polyline{fill:none;stroke:#0550ae;stroke-width:1.5}.spark line{stroke:#b42318;stroke-width:1;stroke-dasharray:3 2}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:0 32px}
`;

// Plain ES2020 for the browser: no backticks and no template placeholders in it (it lives
// in a template literal), and no HTML built from data: every value goes in through
// textContent or attributes; only the sparkline SVG, made of numbers, is markup.
const SCRIPT = String.raw`
'use strict';
(function () {
  var POLL_MS = 1000, EVENTS_EVERY = 5, TIMEOUT_MS = 2500, PAGE_SIZE = 50, HISTORY_MS = 5 * 60000, PAGES_SHOWN = 20;
  var $ = function (id) { return document.getElementById(id); };
  var s = { status: null, lag: null, alerts: [], events: null, okAtMs: 0, downSinceMs: 0, page: 0, filter: '', history: new Map(), monitor: null, lastGenerated: null, tick: 0, historyLoaded: false, historyTries: 0, leaderNote: '', focusGroup: null };

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(cells) { var tr = document.createElement('tr'); cells.forEach(function (c) { tr.appendChild(c); }); return tr; }
  function secs(v) { return v === null || v === undefined ? 'unknown' : (v < 10 ? v.toFixed(1) : String(Math.round(v))) + ' s'; }
  function time(ms) { return new Date(ms).toLocaleTimeString(); }
  function answerMs(ms) { return ms >= 1000 ? (Math.round(ms / 100) / 10) + ' s' : ms >= 10 ? Math.round(ms) + ' ms' : (Math.round(ms * 10) / 10) + ' ms'; }
  function emptyRow(tbody, cols, text) { var c = el('td', text, 'muted'); c.colSpan = cols; tbody.replaceChildren(row([c])); }

  async function getJson(path) {
    var ctl = new AbortController();
    var t = setTimeout(function () { ctl.abort(); }, TIMEOUT_MS);
    try {
      var res = await fetch(path, { signal: ctl.signal, cache: 'no-store', headers: { accept: 'application/json' } });
      var body = await res.json().catch(function () { return null; });
      return { ok: res.ok, status: res.status, body: body };
    } finally { clearTimeout(t); }
  }
  function whyNot(r) {
    if (r.status === 'rejected') return 'no answer';
    var e = r.value.body && r.value.body.error;
    return e ? e.code + ': ' + e.message : 'HTTP ' + r.value.status;
  }

  // ---- replicas ------------------------------------------------------------------------
  function renderReplicas() {
    var st = s.status; if (!st) return;
    $('cluster').textContent = st.cluster;
    $('served-by').textContent = st.nodeId;
    $('leader').textContent = st.leaderId === null ? 'none known (election under way?)' : st.leaderId + ' (term ' + st.term + ')';
    var tbody = $('replicas-body');
    var rows = [];
    var self = [el('th', st.nodeId), el('td', st.role), el('td', st.term, 'num'),
      el('td', st.leaseValid ? 'valid, ' + (st.leaseRemainingMs / 1000).toFixed(1) + ' s left' : (st.role === 'leader' ? 'expired' : 'not held')),
      el('td', 'this replica', 'muted')];
    self[0].scope = 'row';
    var you = el('td'); you.appendChild(el('span', 'you are here', 'you'));
    self.push(you);
    var tr = row(self); tr.setAttribute('aria-current', 'true'); rows.push(tr);
    st.peers.slice().sort(function (a, b) { return a.id < b.id ? -1 : 1; }).forEach(function (p) {
      var isLeader = st.leaderId === p.id;
      var name = el('th', p.id); name.scope = 'row';
      var link = el('td');
      var url = p.publicUrl || p.url;
      if (url) { var a = el('a', 'open ' + p.id + "'s page"); a.href = url.replace(/\/+$/, '') + '/'; link.appendChild(a); }
      rows.push(row([name,
        el('td', isLeader ? 'leader' : (p.connected ? 'follower' : 'not connected')),
        el('td', isLeader ? st.term : '—', isLeader ? 'num' : 'num muted'),
        el('td', '—', 'muted'),
        el('td', p.lastContactSeconds === null ? 'never' : p.lastContactSeconds.toFixed(1) + ' s ago'),
        link]));
    });
    tbody.replaceChildren.apply(tbody, rows);
    $('replicas-caption').textContent = 'As seen by ' + st.nodeId + '. Roles, terms and leases of the other replicas are what ' + st.nodeId + ' knows of them.';
  }

  // ---- consumer groups -----------------------------------------------------------------
  function ingestLag(doc) {
    s.lag = doc;
    if (doc.generatedAt === s.lastGenerated) return;
    s.lastGenerated = doc.generatedAt;
    var t = Date.parse(doc.generatedAt);
    for (var i = 0; i < doc.groups.length; i++) {
      var g = doc.groups[i];
      var h = s.history.get(g.group);
      if (!h) { h = []; s.history.set(g.group, h); }
      h.push(t, g.lagSeconds);
      var cut = 0;
      while (cut < h.length && h[cut] < t - HISTORY_MS) cut += 2;
      if (cut > 0) h.splice(0, cut);
    }
    // Bounded: a group gone for longer than the window is forgotten.
    s.history.forEach(function (h, name) { if (h.length === 0 || h[h.length - 2] < t - HISTORY_MS) s.history.delete(name); });
  }

  // What the leader kept (GET /api/v1/lag/history) goes before what this page has seen.
  function mergeHistory(doc) {
    Object.keys(doc.groups).forEach(function (name) {
      var mine = s.history.get(name) || [], firstMs = mine.length ? mine[0] : Infinity, older = [];
      doc.groups[name].forEach(function (p) { if (p[0] < firstMs) older.push(p[0], p[1]); });
      s.history.set(name, older.concat(mine));
    });
  }

  function causesByGroup() {
    var m = new Map();
    s.alerts.forEach(function (a) {
      if (!a.group || !a.cause) return;
      var c = m.get(a.group) || [];
      if (c.indexOf(a.cause) < 0) c.push(a.cause);
      m.set(a.group, c);
    });
    return m;
  }

  function sparkline(h, thresholdSeconds, nowMs) {
    var W = 120, H = 28;
    var max = thresholdSeconds, min = Infinity, mx = 0, n = 0;
    for (var i = 1; i < h.length; i += 2) if (h[i] !== null) { max = Math.max(max, h[i]); min = Math.min(min, h[i]); mx = Math.max(mx, h[i]); n++; }
    max *= 1.1;
    var y = function (v) { return (H - 1 - (v / max) * (H - 2)).toFixed(1); };
    var x = function (t) { return Math.max(0, W - ((nowMs - t) / HISTORY_MS) * W).toFixed(1); };
    var lines = [], cur = [];
    for (var j = 0; j < h.length; j += 2) {
      if (h[j + 1] === null) { if (cur.length) lines.push(cur); cur = []; continue; }
      cur.push(x(h[j]) + ',' + y(h[j + 1]));
    }
    if (cur.length) lines.push(cur);
    var label = n === 0 ? 'no measurements yet' : 'last ' + Math.round((nowMs - h[0]) / 1000) + ' s: from ' + min.toFixed(1) + ' to ' + mx.toFixed(1) + ' s, threshold ' + thresholdSeconds + ' s';
    var svg = '<svg class="spark" width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="' + label + '">' +
      '<line x1="0" x2="' + W + '" y1="' + y(thresholdSeconds) + '" y2="' + y(thresholdSeconds) + '"></line>';
    lines.forEach(function (l) { if (l.length === 1) l.push(l[0]); svg += '<polyline points="' + l.join(' ') + '"></polyline>'; });
    return svg + '</svg>';
  }

  function groupRow(g, causes, thresholdSeconds, nowMs) {
    var tr = document.createElement('tr');
    tr.dataset.group = g.group;
    tr.tabIndex = -1;
    if (g.breach === true) tr.className = 'breach';
    var name = el('th', g.group); name.scope = 'row'; tr.appendChild(name);
    tr.appendChild(el('td', secs(g.lagSeconds), 'num'));
    var sp = el('td'); sp.innerHTML = sparkline(s.history.get(g.group) || [], thresholdSeconds, nowMs); tr.appendChild(sp);
    var flag = el('td');
    flag.appendChild(g.breach === true ? el('span', '▲ breach', 'flag flag-breach') : g.breach === false ? el('span', 'ok', 'flag flag-ok') : el('span', 'unknown', 'flag flag-unknown'));
    tr.appendChild(flag);
    var c = causes.get(g.group);
    tr.appendChild(el('td', c ? c.join(', ') : g.error ? g.error : '—', c || g.error ? '' : 'muted'));
    tr.appendChild(el('td', g.lagMessages === null ? 'unknown' : g.lagMessages, 'num'));
    tr.appendChild(el('td', g.topics.map(function (t) { return t.topic; }).join(', ')));
    return tr;
  }

  function renderGroups() {
    var doc = s.lag, tbody = $('groups-body');
    var all = doc ? doc.groups : [];
    var f = s.filter;
    var shown = f ? all.filter(function (g) { return g.group.toLowerCase().indexOf(f) >= 0 || g.topics.some(function (t) { return t.topic.toLowerCase().indexOf(f) >= 0; }); }) : all;
    var pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
    if (s.page >= pages) s.page = pages - 1;
    var start = s.page * PAGE_SIZE, slice = shown.slice(start, start + PAGE_SIZE);
    var active = document.activeElement;
    var hadFocus = !!(active && active.parentElement === tbody);
    var causes = causesByGroup(), nowMs = doc ? Date.parse(doc.generatedAt) : 0;
    var rows = slice.map(function (g) { return groupRow(g, causes, doc.thresholdSeconds, nowMs); });
    if (rows.length === 0) emptyRow(tbody, 7, doc ? (f ? 'No group matches the filter.' : 'No watched group has committed offsets.') : 'No data from the leader yet.');
    else {
      var keep = rows.find(function (r) { return r.dataset.group === s.focusGroup; }) || rows[0];
      keep.tabIndex = 0;
      tbody.replaceChildren.apply(tbody, rows);
      if (hadFocus) keep.focus();
    }
    var breaches = all.filter(function (g) { return g.breach === true; }).length;
    $('groups-count').textContent = shown.length === 0 ? '' : 'Groups ' + (start + 1) + '–' + (start + slice.length) + ' of ' + shown.length + (f ? ' matching' : '') + '; ' + breaches + ' of ' + all.length + ' in breach' + (doc ? '; threshold ' + doc.thresholdSeconds + ' s, measured ' + time(nowMs) : '') + '.';
    $('page-info').textContent = 'Page ' + (s.page + 1) + ' of ' + pages;
    $('prev').disabled = s.page === 0;
    $('next').disabled = s.page >= pages - 1;
  }

  // ---- alerts, pages, outbox, kafka -----------------------------------------------------
  function scopeOf(a) {
    var parts = [];
    if (a.group) parts.push('group ' + a.group);
    if (a.topic) parts.push('topic ' + a.topic);
    if (a.broker !== undefined) parts.push('broker ' + a.broker);
    if (a.partitions) parts.push('partitions ' + a.partitions.join(', '));
    return parts.join(', ') || a.cluster;
  }
  function renderAlerts() {
    var tbody = $('alerts-body');
    if (s.alerts.length === 0) { emptyRow(tbody, 6, 'No open alerts.'); return; }
    tbody.replaceChildren.apply(tbody, s.alerts.map(function (a) {
      var name = el('th', a.alert); name.scope = 'row';
      return row([name, el('td', a.severity), el('td', scopeOf(a)), el('td', a.summary), el('td', a.cause || '—', a.cause ? '' : 'muted'), el('td', time(Date.parse(a.startsAt)))]);
    }));
  }
  function renderPages() {
    var tbody = $('pages-body');
    if (s.events === null) { emptyRow(tbody, 5, 'Not read yet.'); return; }
    var pages = s.events.filter(function (e) { return e.type === 'alert-firing' || e.type === 'alert-resolved'; }).slice(-PAGES_SHOWN).reverse();
    if (pages.length === 0) { emptyRow(tbody, 5, 'No page decided recently.'); return; }
    tbody.replaceChildren.apply(tbody, pages.map(function (e) {
      var d = e.data || {};
      var when = el('th', time(e.timeMs)); when.scope = 'row';
      return row([when, el('td', e.type === 'alert-firing' ? 'firing' : 'resolved'), el('td', d.alert || '—'), el('td', d.summary || d.key || '—'), el('td', e.nodeId + ', term ' + e.term)]);
    }));
  }
  function dl(id, pairs) {
    var d = $(id), out = [];
    pairs.forEach(function (p) { out.push(el('dt', p[0]), el('dd', p[1])); });
    d.replaceChildren.apply(d, out);
  }
  // The leader's view (GET /api/v1/monitor); this replica's own while the leader does not answer.
  function view() { return s.monitor || { kafka: s.status.kafka, redis: s.status.redis, own: true }; }
  function viewNote() { return view().own ? 'As seen by ' + s.status.nodeId + ', which is not the leader or did not hear from it: may be out of date.' : 'As the leader sees it.'; }
  function renderOutbox() {
    var r = s.status && view().redis;
    if (!r) return;
    var o = r.outbox;
    $('outbox-note').textContent = viewNote() + ' The leader delivers the pages.';
    if (!o) { dl('outbox', [['Redis', r.state]]); return; }
    dl('outbox', [['Redis', o.redisUp ? 'up' : 'down'], ['State', o.degraded ? 'degraded' : 'healthy'], ['Pages queued', o.queued], ['Failed, retrying', o.failed],
      ['Oldest queued', o.oldestQueuedSeconds.toFixed(1) + ' s'], ['Not yet recorded in Redis', o.unsynced], ['Failing channels', o.failingChannels.length ? o.failingChannels.join(', ') : 'none']]);
  }
  function renderKafka() {
    var k = s.status && view().kafka;
    if (!k) return;
    $('kafka-note').textContent = viewNote();
    var ph = k.partitionHealth;
    var pairs = [['State', k.state]];
    if (k.state === 'down') pairs.push(['Error', k.error]);
    if (k.state === 'up') {
      pairs.push(['Cluster id', k.clusterId], ['Controller', k.controllerId], ['Brokers', k.brokers + (k.brokersDown.length ? ', down: ' + k.brokersDown.join(', ') : ', all up')]);
      if (ph) pairs.push(['Partitions', ph.total], ['Offline', ph.offline], ['Under-replicated', ph.underReplicated], ['Under min.insync.replicas', ph.underMinIsr]);
      else pairs.push(['Partitions', k.partitions]);
    }
    if (k.at) pairs.push(['Observed', time(Date.parse(k.at))]);
    dl('kafka', pairs);
    var tbody = $('brokers-body');
    var list = k.brokerStates || [];
    if (list.length === 0) { emptyRow(tbody, 4, k.state === 'up' ? 'No broker detail.' : 'No snapshot of Kafka.'); return; }
    tbody.replaceChildren.apply(tbody, list.map(function (b) {
      var id = el('th', b.nodeId); id.scope = 'row';
      var ok = b.reachable && b.inMetadata;
      var st = el('td'); st.appendChild(el('span', ok ? 'up' : '▲ down', ok ? 'flag flag-ok' : 'flag flag-breach'));
      if (!ok) st.appendChild(el('span', ' ' + (!b.inMetadata ? 'not in the metadata' : '') + (b.error ? ' ' + b.error : ''), 'muted'));
      // how long it takes to answer vigil: a typical cycle's slowest answer over the last cycles, and this cycle's
      var a = b.answers, ans = el('td', a && a.windowSlowestMs != null ? answerMs(a.windowSlowestMs) : '—');
      if (a && a.maxMs != null) ans.appendChild(el('span', ' (this cycle ' + answerMs(a.maxMs) + ')', 'muted'));
      return row([id, el('td', b.host + ':' + b.port), st, ans]);
    }));
  }

  // ---- the serving replica up or down ------------------------------------------------
  function renderConnection() {
    var banner = $('down');
    if (s.downSinceMs === 0) {
      banner.hidden = true;
      $('conn').textContent = 'Live: updated ' + time(s.okAtMs) + (s.leaderNote ? '. Leader data: ' + s.leaderNote : '');
      return;
    }
    var st = s.status;
    $('conn').textContent = 'Not answering since ' + time(s.downSinceMs) + '.';
    $('down-title').textContent = (st ? st.nodeId : 'This replica') + ' is not answering';
    $('down-text').textContent = 'No answer since ' + time(s.downSinceMs) + (s.okAtMs ? '; what this page shows is from ' + time(s.okAtMs) + '.' : '.') + ' Open another replica:';
    var list = $('down-links'), items = [];
    (st ? st.peers : []).forEach(function (p) {
      var url = p.publicUrl || p.url; if (!url) return;
      var li = el('li'), a = el('a', p.id); a.href = url.replace(/\/+$/, '') + '/';
      li.appendChild(a);
      if (st.leaderId === p.id) li.appendChild(document.createTextNode(' (the leader when last seen)'));
      items.push(li);
    });
    if (items.length === 0) items.push(el('li', 'no other replica is known'));
    list.replaceChildren.apply(list, items);
    if (banner.hidden) banner.hidden = false;
  }

  async function tick() {
    s.tick++;
    var wantEvents = s.tick % EVENTS_EVERY === 1;
    var wantHistory = !s.historyLoaded && s.historyTries < 5;
    var r = await Promise.allSettled([getJson('/api/v1/status'), getJson('/api/v1/lag'), getJson('/api/v1/alerts'),
      wantEvents ? getJson('/api/v1/events?limit=200') : null, wantHistory ? getJson('/api/v1/lag/history') : null, getJson('/api/v1/monitor')]);
    var st = r[0];
    if (st.status === 'fulfilled' && st.value.ok && st.value.body) {
      s.status = st.value.body; s.okAtMs = Date.now(); s.downSinceMs = 0;
      var notes = [];
      if (r[2].status === 'fulfilled' && r[2].value.ok) s.alerts = r[2].value.body.alerts; else notes.push('alerts: ' + whyNot(r[2]));
      if (wantEvents) { if (r[3].status === 'fulfilled' && r[3].value.ok) s.events = r[3].value.body.events; else notes.push('events: ' + whyNot(r[3])); }
      if (r[5].status === 'fulfilled' && r[5].value.ok) s.monitor = r[5].value.body; else { s.monitor = null; notes.push('Kafka and outbox: ' + whyNot(r[5])); }
      if (wantHistory) {
        s.historyTries++;
        if (r[4].status === 'fulfilled' && r[4].value.ok) { mergeHistory(r[4].value.body); s.historyLoaded = true; }
      }
      if (r[1].status === 'fulfilled' && r[1].value.ok) {
        var t0 = performance.now();
        ingestLag(r[1].value.body);
        renderGroups();
        void $('groups-body').offsetHeight; // layout included in the measure
        performance.measure('vigil:groups-render', { start: t0, end: performance.now() });
      } else notes.push('groups: ' + whyNot(r[1]));
      s.leaderNote = notes.join('; ');
      $('groups-note').textContent = notes.length ? 'Not current: ' + notes.join('; ') + '.' : '';
      renderReplicas(); renderAlerts(); renderPages(); renderOutbox(); renderKafka();
    } else if (s.downSinceMs === 0) s.downSinceMs = Date.now();
    renderConnection();
    setTimeout(tick, POLL_MS);
  }

  // ---- keyboard ------------------------------------------------------------------------
  $('filter').addEventListener('input', function (e) { s.filter = e.target.value.trim().toLowerCase(); s.page = 0; renderGroups(); });
  $('prev').addEventListener('click', function () { if (s.page > 0) { s.page--; renderGroups(); } });
  $('next').addEventListener('click', function () { s.page++; renderGroups(); });
  var body = $('groups-body');
  body.addEventListener('focusin', function (e) {
    var tr = e.target.closest('tr'); if (!tr || !tr.dataset.group) return;
    s.focusGroup = tr.dataset.group;
    Array.prototype.forEach.call(body.rows, function (r) { r.tabIndex = r === tr ? 0 : -1; });
  });
  body.addEventListener('keydown', function (e) {
    var tr = e.target.closest('tr'); if (!tr) return;
    var rows = body.rows, i = Array.prototype.indexOf.call(rows, tr), to = -1;
    if (e.key === 'ArrowDown') to = Math.min(rows.length - 1, i + 1);
    else if (e.key === 'ArrowUp') to = Math.max(0, i - 1);
    else if (e.key === 'Home') to = 0;
    else if (e.key === 'End') to = rows.length - 1;
    if (to < 0) return;
    e.preventDefault();
    rows[to].focus();
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === '/' && document.activeElement && document.activeElement.tagName !== 'INPUT') { e.preventDefault(); $('filter').focus(); }
  });
  renderGroups(); renderPages();
  tick();
})();
`;

const BODY = `<a class="skip" href="#groups-h">Skip to consumer groups</a>
<header>
<h1>vigil <span id="cluster"></span></h1>
<p>Served by <strong id="served-by">…</strong> · Leader: <strong id="leader">…</strong></p>
<p id="conn" role="status">Loading…</p>
</header>
<div id="down" class="banner" role="alert" hidden><strong id="down-title"></strong><p id="down-text"></p><ul id="down-links"></ul></div>
<noscript><p class="banner">This page needs JavaScript. The same data is at <a href="/api/v1/status">/api/v1/status</a>.</p></noscript>
<main>
<section aria-labelledby="replicas-h"><h2 id="replicas-h">Replicas</h2>
<table><caption id="replicas-caption"></caption><thead><tr><th scope="col">Replica</th><th scope="col">Role</th><th scope="col" class="num">Term</th><th scope="col">Lease</th><th scope="col">Last contact</th><th scope="col">Page</th></tr></thead><tbody id="replicas-body"></tbody></table>
</section>
<section aria-labelledby="alerts-h"><h2 id="alerts-h">Open alerts</h2>
<table><thead><tr><th scope="col">Alert</th><th scope="col">Severity</th><th scope="col">Scope</th><th scope="col">Summary</th><th scope="col">Cause</th><th scope="col">Since</th></tr></thead><tbody id="alerts-body"></tbody></table>
</section>
<section aria-labelledby="groups-h"><h2 id="groups-h" tabindex="-1">Consumer groups, worst first</h2>
<div class="controls"><label for="filter">Filter by group or topic</label><input id="filter" type="search" autocomplete="off" aria-describedby="groups-count" placeholder="press / to search">
<button id="prev" type="button">Previous page</button><span id="page-info" aria-live="polite"></span><button id="next" type="button">Next page</button></div>
<p id="groups-count" class="note"></p><p id="groups-note" class="note"></p>
<table aria-describedby="groups-keys"><caption id="groups-keys">Arrow keys move between rows. The sparkline shows the last five minutes of delivery latency; the dashed line is the threshold.</caption>
<thead><tr><th scope="col">Group</th><th scope="col" class="num">Delivery latency</th><th scope="col">Last minutes</th><th scope="col">Breach</th><th scope="col">Cause</th><th scope="col" class="num">Messages behind</th><th scope="col">Topics</th></tr></thead>
<tbody id="groups-body"></tbody></table>
</section>
<div class="cols">
<section aria-labelledby="kafka-h"><h2 id="kafka-h">Brokers and partitions</h2>
<p id="kafka-note" class="note"></p><dl id="kafka"></dl>
<table><thead><tr><th scope="col">Broker</th><th scope="col">Address</th><th scope="col">State</th><th scope="col">Slowest answer</th></tr></thead><tbody id="brokers-body"></tbody></table>
</section>
<section aria-labelledby="outbox-h"><h2 id="outbox-h">Outbox</h2><p id="outbox-note" class="note"></p><dl id="outbox"></dl></section>
</div>
<section aria-labelledby="pages-h"><h2 id="pages-h">Recent pages</h2>
<table><caption>Alert transitions the leader decided to page (from the events stream), newest first.</caption><thead><tr><th scope="col">Time</th><th scope="col">Status</th><th scope="col">Alert</th><th scope="col">Summary</th><th scope="col">Decided by</th></tr></thead><tbody id="pages-body"></tbody></table>
</section>
</main>`;

function sha256Source(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The page, byte for byte as served. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>vigil status</title>
<style>${STYLE}</style>
</head>
<body>
${BODY}
<script>${SCRIPT}</script>
</body></html>
`;

/**
 * Exactly the inline style and script of the page, requests to this origin only (the API),
 * no plugins, no framing, no form posts. Style changes made by the script through the CSSOM
 * are not inline styles and need no allowance.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256Source(SCRIPT)}`,
  `style-src ${sha256Source(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function registerStatusPage(server: HttpServer): void {
  server.route('GET', '/', ({ res }) => {
    res.setHeader('Content-Security-Policy', STATUS_PAGE_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    sendText(res, 200, STATUS_PAGE_HTML, 'text/html; charset=utf-8');
  });
}
