import { createHash } from 'node:crypto';

/**
 * The operator dashboard served at `GET /` by the admin API: one self-contained page (inline
 * CSS and JS, no external resource, works offline). It asks for the admin token once (kept in
 * sessionStorage for the tab), then polls /api/status, /api/channels (the busiest open ones)
 * and /api/settlements every second, draws recent settlements as an inline SVG bar chart, and
 * closes a channel (after a confirmation) with POST /api/channels/:id/close.
 *
 * Everything shown is set with textContent, never parsed as HTML. The page loads without a
 * token; every API call it makes sends it. Stable ids and data attributes are for tests.
 */

const STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #667085; --bg: #f6f7f9; --card: #fff;
  --line: #d9dde3; --accent: #1f6feb; --bad: #c62828; --ok: #2e7d32; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #9aa4b2; --bg: #0f1216;
  --card: #181c22; --line: #2b313a; --accent: #4c8dff; --bad: #ef5350; --ok: #66bb6a; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 16px; align-items: baseline; padding: 12px 20px;
  border-bottom: 1px solid var(--line); background: var(--card); flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0; }
.muted { color: var(--muted); }
.mono { font-family: ui-monospace, monospace; }
main { padding: 16px 20px; display: grid; gap: 16px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.tile, .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
.tile .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.tile .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; margin-top: 4px; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.num, th.num { text-align: right; }
tr[data-status="closed"] td { color: var(--muted); }
td[data-field="status"] { font-weight: 600; }
tr[data-status="open"] td[data-field="status"] { color: var(--ok); }
button { font: inherit; padding: 4px 10px; border-radius: 6px; border: 1px solid var(--line);
  background: var(--card); color: var(--fg); cursor: pointer; }
button.danger { border-color: var(--bad); color: var(--bad); }
button:disabled { opacity: .5; cursor: default; }
#login { max-width: 420px; margin: 60px auto; }
#login input { width: 100%; padding: 8px; margin: 8px 0; font: inherit; border-radius: 6px;
  border: 1px solid var(--line); background: var(--bg); color: var(--fg); }
#message { min-height: 20px; }
#message[data-kind="error"] { color: var(--bad); }
#message[data-kind="info"] { color: var(--ok); }
#settlement-chart { width: 100%; height: 140px; display: block; }
#settlement-chart rect { fill: var(--accent); }
#settlement-chart text { fill: var(--muted); font-size: 10px; }
[hidden] { display: none !important; }
`;

const SCRIPT = `
(function () {
  'use strict';
  var KEY = 'farthing-admin-token';
  var token = sessionStorage.getItem(KEY);
  var timer = null;
  var closedHere = {};
  var previous = {};
  var byId = function (id) { return document.getElementById(id); };

  function group(text) {
    var s = String(text);
    var out = '';
    while (s.length > 3) { out = ',' + s.slice(-3) + out; s = s.slice(0, -3); }
    return s + out;
  }
  function set(id, text, value) {
    var el = byId(id);
    el.textContent = text;
    el.setAttribute('data-value', value === undefined ? String(text) : String(value));
  }
  function message(text, kind) {
    var el = byId('message');
    el.textContent = text || '';
    el.setAttribute('data-kind', kind || '');
  }
  function showLogin(text) {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    byId('login').hidden = false;
    byId('dashboard').hidden = true;
    byId('login-message').textContent = text || '';
    byId('token-input').focus();
  }
  function showDashboard() {
    byId('login').hidden = true;
    byId('dashboard').hidden = false;
    poll();
  }
  function api(method, path) {
    return fetch(path, {
      method: method,
      headers: { authorization: 'Bearer ' + token, accept: 'application/json' },
      cache: 'no-store'
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 401) {
          sessionStorage.removeItem(KEY);
          token = null;
          showLogin('The hub refused that token.');
          var denied = new Error('unauthorized');
          denied.silent = true;
          throw denied;
        }
        if (!response.ok) {
          var e = body && body.error;
          var failure = new Error(e ? e.code + ': ' + e.message : 'HTTP ' + response.status);
          failure.code = e ? e.code : '';
          throw failure;
        }
        return body;
      });
    });
  }

  function poll() {
    if (token === null) return;
    Promise.all([
      api('GET', '/api/status'),
      api('GET', '/api/channels?status=open&sort=accepted&limit=10'),
      api('GET', '/api/settlements?limit=30')
    ]).then(function (results) {
      render(results[0], results[1].items, results[2].items);
      byId('last-updated').textContent = 'updated ' + new Date().toLocaleTimeString();
      byId('last-updated').setAttribute('data-updated-at', String(Date.now()));
    }).catch(function (error) {
      if (!error.silent) message('Polling failed: ' + error.message, 'error');
    }).then(function () {
      if (token !== null) timer = setTimeout(poll, 1000);
    });
  }

  function render(status, channels, runs) {
    set('hub-id', status.hubId);
    set('broker-status', status.brokerConnected ? 'broker connected' : 'broker DISCONNECTED',
      status.brokerConnected ? 'connected' : 'disconnected');
    set('uptime', 'up ' + Math.floor(status.uptimeS) + ' s', status.uptimeS);
    set('vouchers-per-s', status.vouchers.acceptedPerS.toFixed(1), status.vouchers.acceptedPerS);
    set('refused-per-s', status.vouchers.refusedPerS.toFixed(1), status.vouchers.refusedPerS);
    set('vouchers-accepted', group(status.vouchers.accepted), status.vouchers.accepted);
    set('open-channels', group(status.openChannels), status.openChannels);
    set('escrow', group(status.escrowOutstanding), status.escrowOutstanding);
    set('unsettled', group(status.unsettled), status.unsettled);
    set('settled-total', group(status.settledSinceStart), status.settledSinceStart);
    set('last-commit', status.lastGroupCommit.size + ' in ' + status.lastGroupCommit.ms.toFixed(1) + ' ms',
      status.lastGroupCommit.size);
    set('fee', status.settings.feeBasisPoints + ' bps' + (status.settings.autoFund ? ' · auto-fund ON' : ''));
    drawChart(runs);
    renderChannels(channels);
  }

  function drawChart(runs) {
    var svg = byId('settlement-chart');
    var NS = 'http://www.w3.org/2000/svg';
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var width = 600, height = 140, bottom = 16, slots = 30;
    var max = 0;
    runs.forEach(function (r) { var m = Number(r.moved); if (m > max) max = m; });
    svg.setAttribute('data-runs', String(runs.length));
    if (runs.length === 0) {
      var empty = document.createElementNS(NS, 'text');
      empty.setAttribute('x', '8'); empty.setAttribute('y', '20');
      empty.textContent = 'no settlement yet';
      svg.appendChild(empty);
      return;
    }
    var barWidth = width / slots;
    runs.forEach(function (r, i) {
      var h = max > 0 ? Math.max(1, (Number(r.moved) / max) * (height - bottom - 14)) : 1;
      var rect = document.createElementNS(NS, 'rect');
      rect.setAttribute('x', String(i * barWidth + 1));
      rect.setAttribute('y', String(height - bottom - h));
      rect.setAttribute('width', String(barWidth - 2));
      rect.setAttribute('height', String(h));
      rect.setAttribute('data-moved', r.moved);
      var title = document.createElementNS(NS, 'title');
      title.textContent = r.at + ': ' + group(r.moved) + ' base units, ' + r.channels + ' channels';
      rect.appendChild(title);
      svg.appendChild(rect);
    });
    var label = document.createElementNS(NS, 'text');
    label.setAttribute('x', '4'); label.setAttribute('y', String(height - 3));
    var maxText = runs.reduce(function (a, r) { return BigInt(r.moved) > BigInt(a) ? r.moved : a; }, '0');
    label.textContent = 'last ' + runs.length + ' settlements · max ' + group(maxText) + ' base units';
    svg.appendChild(label);
  }

  function cell(row, text, field, numeric) {
    var td = document.createElement('td');
    td.textContent = text;
    if (field) td.setAttribute('data-field', field);
    if (numeric) td.className = 'num';
    row.appendChild(td);
    return td;
  }

  function renderChannels(channels) {
    var now = Date.now();
    var body = byId('busiest-body');
    while (body.firstChild) body.removeChild(body.firstChild);
    var rows = channels.filter(function (c) { return !closedHere[c.channelId]; });
    Object.keys(closedHere).forEach(function (id) { rows.push(closedHere[id]); });
    rows.forEach(function (c) {
      var accepted = c.acceptedAmount === null ? c.amount : c.acceptedAmount;
      var rate = '';
      var before = previous[c.channelId];
      if (before && c.status !== 'closed' && now > before.at) {
        rate = (Number(BigInt(accepted) - BigInt(before.amount)) / ((now - before.at) / 1000)).toFixed(0);
      }
      if (c.status !== 'closed') previous[c.channelId] = { amount: accepted, at: now };
      var row = document.createElement('tr');
      row.setAttribute('data-channel-id', c.channelId);
      row.setAttribute('data-status', c.status);
      var idCell = cell(row, c.channelId.slice(0, 12) + '…', 'channel-id');
      idCell.title = c.channelId;
      idCell.className = 'mono';
      cell(row, c.deviceId.slice(0, 10) + '…', 'device').title = c.deviceId;
      cell(row, c.payeeId, 'payee');
      cell(row, group(accepted), 'accepted', true);
      cell(row, rate, 'rate', true);
      cell(row, group(c.capacity), 'capacity', true);
      cell(row, c.status, 'status');
      var action = cell(row, '', 'action');
      if (c.status === 'open') {
        var button = document.createElement('button');
        button.textContent = 'Close';
        button.className = 'danger';
        button.setAttribute('data-action', 'close');
        button.setAttribute('data-channel-id', c.channelId);
        button.addEventListener('click', function () { closeChannel(c, button); });
        action.appendChild(button);
      }
      body.appendChild(row);
    });
    set('busiest-count', String(channels.length));
  }

  function closeChannel(c, button) {
    if (!window.confirm('Close channel ' + c.channelId + '? The final voucher is settled and the rest of the escrow refunded to the device.')) return;
    button.disabled = true;
    api('POST', '/api/channels/' + c.channelId + '/close').then(function (receipt) {
      closedHere[c.channelId] = Object.assign({}, c, { status: 'closed', acceptedAmount: null, amount: receipt.amount });
      message('Closed ' + c.channelId + ': ' + group(receipt.amount) + ' settled, ' + group(receipt.refund) + ' refunded.', 'info');
      renderFromCache(c.channelId);
    }).catch(function (error) {
      if (error.code === 'ADMIN_CONFLICT') {
        closedHere[c.channelId] = Object.assign({}, c, { status: 'closed' });
        renderFromCache(c.channelId);
      } else {
        button.disabled = false;
      }
      if (!error.silent) message('Close failed: ' + error.message, 'error');
    });
  }

  function renderFromCache(channelId) {
    var row = document.querySelector('tr[data-channel-id="' + channelId + '"]');
    if (!row) return;
    row.setAttribute('data-status', 'closed');
    row.querySelector('td[data-field="status"]').textContent = 'closed';
    var action = row.querySelector('td[data-field="action"]');
    while (action.firstChild) action.removeChild(action.firstChild);
  }

  byId('token-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var value = byId('token-input').value.trim();
    if (value === '') return;
    token = value;
    sessionStorage.setItem(KEY, token);
    byId('token-input').value = '';
    showDashboard();
  });
  byId('logout').addEventListener('click', function () {
    sessionStorage.removeItem(KEY);
    token = null;
    showLogin('Signed out.');
  });
  if (token === null) showLogin(''); else showDashboard();
})();
`;

const BODY = `
<section id="login" class="card" hidden>
  <h2>Farthing hub dashboard</h2>
  <p class="muted">Paste the hub's admin token (the file <span class="mono">admin.token</span> in its data directory). It is kept in this tab only.</p>
  <form id="token-form" autocomplete="off">
    <input id="token-input" type="password" name="token" placeholder="admin token" spellcheck="false">
    <button id="token-submit" type="submit">Open dashboard</button>
  </form>
  <p id="login-message" class="muted"></p>
</section>
<div id="dashboard" hidden>
  <header>
    <h1>Farthing hub</h1>
    <span id="hub-id" class="mono muted"></span>
    <span id="broker-status"></span>
    <span id="uptime" class="muted"></span>
    <span id="fee" class="muted"></span>
    <span id="last-updated" class="muted"></span>
    <button id="logout" type="button">Sign out</button>
  </header>
  <main>
    <div id="message" role="status"></div>
    <section class="tiles">
      <div class="tile"><div class="label">Vouchers / s</div><div class="value" id="vouchers-per-s">–</div></div>
      <div class="tile"><div class="label">Refused / s</div><div class="value" id="refused-per-s">–</div></div>
      <div class="tile"><div class="label">Vouchers accepted</div><div class="value" id="vouchers-accepted">–</div></div>
      <div class="tile"><div class="label">Open channels</div><div class="value" id="open-channels">–</div></div>
      <div class="tile"><div class="label">Escrow outstanding</div><div class="value" id="escrow">–</div></div>
      <div class="tile"><div class="label">Unsettled</div><div class="value" id="unsettled">–</div></div>
      <div class="tile"><div class="label">Settled since start</div><div class="value" id="settled-total">–</div></div>
      <div class="tile"><div class="label">Last group commit</div><div class="value" id="last-commit">–</div></div>
    </section>
    <section class="card">
      <h2>Recent settlements <span class="muted">(base units moved per run)</span></h2>
      <svg id="settlement-chart" viewBox="0 0 600 140" preserveAspectRatio="none" role="img" aria-label="recent settlements"></svg>
    </section>
    <section class="card">
      <h2>Busiest open channels <span class="muted">(by accepted amount, <span id="busiest-count">0</span> shown; amounts in base units)</span></h2>
      <table id="busiest">
        <thead><tr><th>Channel</th><th>Device</th><th>Payee</th><th class="num">Accepted</th><th class="num">Per s</th><th class="num">Capacity</th><th>Status</th><th></th></tr></thead>
        <tbody id="busiest-body"></tbody>
      </table>
    </section>
  </main>
</div>
`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Farthing hub</title>
<style>${STYLE}</style>
</head>
<body>${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string): string =>
  `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Only this page's own inline script and style may run; it talks to its own origin only. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
