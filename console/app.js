/*
 * fieldsync console: plain JavaScript, no framework, no build step.
 *
 * Talks only to this server's admin JSON API (docs/ADMIN-API.md) with the
 * session cookie the login sets (HttpOnly: this script never sees it) and
 * sends the CSRF token from the login or GET me on every POST. Every string
 * that comes from the server is put into the page with textContent, never
 * as HTML, so a customer named "<img src=x onerror=...>" shows as text.
 */
'use strict';

const PAGE = 50;
const state = { csrf: null, me: null, screen: 'today', custOffset: 0, custTotal: 0, custQ: '' };

function $(id) { return document.getElementById(id); }

/* Unix ms as a date and time in the viewer's own time zone. */
function fmtTime(ms) {
  if (ms === null || ms === undefined) return '';
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/* Money from minor units with its currency (ISO 4217 decides the decimals). */
function fmtMoney(minor, currency) {
  if (minor === null || minor === undefined) return '';
  const f = new Intl.NumberFormat(undefined, { style: 'currency', currency: currency || 'EUR' });
  const digits = f.resolvedOptions().maximumFractionDigits;
  return f.format(minor / Math.pow(10, digits));
}
window.fieldsyncFmtMoney = fmtMoney; /* for the browser test and later screens */

function showStatus(text) { $('status').textContent = text || ''; }

async function api(method, path, body) {
  const opts = { method: method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (method !== 'GET' && state.csrf) opts.headers['X-CSRF-Token'] = state.csrf;
  const r = await fetch('/admin/v1/' + path, opts);
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  return { status: r.status, data: data };
}

function cell(tr, text) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '' : String(text);
  tr.appendChild(td);
  return td;
}

function emptyRow(tbody, cols, text) {
  const tr = document.createElement('tr');
  const td = cell(tr, text);
  td.colSpan = cols;
  td.className = 'muted';
  tbody.appendChild(tr);
}

function show(screen) {
  const loggedIn = state.me !== null;
  $('bar').hidden = !loggedIn;
  $('login-screen').hidden = loggedIn;
  for (const s of ['today', 'customers', 'conflicts']) {
    $(s + '-screen').hidden = !loggedIn || s !== screen;
    const tab = $('nav-' + s);
    if (s === screen) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  if (!loggedIn) { $('login-name').focus(); return; }
  state.screen = screen;
  showStatus('');
  if (screen === 'today') loadToday();
  else if (screen === 'customers') loadCustomers();
  else if (screen === 'conflicts') loadConflicts();
}

async function loadToday() {
  const r = await api('GET', 'today');
  if (r.status !== 200) return failed(r);
  const t = r.data;
  for (const k of ['visits_done', 'visits_planned', 'devices_synced', 'devices_silent',
                   'open_conflicts', 'rejected_waiting'])
    $('t-' + k).textContent = String(t[k]);
  $('today-day').textContent = 'Business day ' + fmtTime(t.day_start) + ' to ' +
    fmtTime(t.day_end) + ' (server day in ' + t.tz + '; times shown in your time zone)';
  $('today-numbers').dataset.loaded = '1';
}

async function loadCustomers() {
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(state.custOffset) });
  if (state.custQ) q.set('q', state.custQ);
  const r = await api('GET', 'customers?' + q.toString());
  if (r.status !== 200) return failed(r);
  const tbody = $('customer-rows');
  tbody.replaceChildren();
  for (const c of r.data.items) {
    const tr = document.createElement('tr');
    cell(tr, c.name).title = 'id ' + c.id;
    cell(tr, c.territory);
    cell(tr, c.owner_name);
    cell(tr, c.segment);
    cell(tr, c.phone);
    cell(tr, c.address);
    tbody.appendChild(tr);
  }
  if (r.data.items.length === 0) emptyRow(tbody, 6, 'No customers match.');
  state.custTotal = r.data.total;
  const first = r.data.total === 0 ? 0 : state.custOffset + 1;
  $('customer-page').textContent = first + '-' + (state.custOffset + r.data.items.length) +
    ' of ' + r.data.total;
  $('customer-prev').disabled = state.custOffset === 0;
  $('customer-next').disabled = state.custOffset + PAGE >= r.data.total;
  tbody.dataset.loaded = String(Date.now());
}

async function loadConflicts() {
  const r = await api('GET', 'conflicts?limit=200');
  if (r.status !== 200) return failed(r);
  const tbody = $('conflict-rows');
  tbody.replaceChildren();
  for (const k of r.data) {
    const tr = document.createElement('tr');
    cell(tr, fmtTime(k.created_at));
    cell(tr, k.status);
    cell(tr, k.entity);
    cell(tr, k.field);
    cell(tr, k.rule);
    cell(tr, k.detail);
    tbody.appendChild(tr);
  }
  if (r.data.length === 0) emptyRow(tbody, 6, 'No conflicts.');
  tbody.dataset.loaded = '1';
}

function failed(r) {
  if (r.status === 401) { state.me = null; state.csrf = null; show('today'); return; }
  showStatus((r.data && r.data.error) || ('request failed: HTTP ' + r.status));
}

function signedIn(me) {
  state.me = me;
  state.csrf = me.csrf;
  $('who').textContent = (me.user || 'token') + ' (' + me.role + ')';
  show('today');
}

async function start() {
  $('login-form').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    $('login-error').textContent = '';
    const r = await api('POST', 'login', { name: $('login-name').value, password: $('login-password').value });
    $('login-password').value = '';
    if (r.status === 200) signedIn(r.data);
    else $('login-error').textContent = (r.data && r.data.error) || ('login failed: HTTP ' + r.status);
  });
  $('logout').addEventListener('click', async function () {
    await api('POST', 'logout');
    state.me = null;
    state.csrf = null;
    show('today');
  });
  for (const b of document.querySelectorAll('.tab'))
    b.addEventListener('click', function () { show(b.dataset.screen); });
  $('customer-search').addEventListener('submit', function (ev) {
    ev.preventDefault();
    state.custQ = $('customer-q').value.trim();
    state.custOffset = 0;
    loadCustomers();
  });
  $('customer-prev').addEventListener('click', function () {
    state.custOffset = Math.max(0, state.custOffset - PAGE);
    loadCustomers();
  });
  $('customer-next').addEventListener('click', function () {
    state.custOffset += PAGE;
    loadCustomers();
  });
  /* A visitor without a session gets the login page; GET me says which. */
  const r = await api('GET', 'me');
  if (r.status === 200) signedIn(r.data);
  else show('today');
}

document.addEventListener('DOMContentLoaded', start);
