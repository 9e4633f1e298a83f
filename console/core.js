/*
 * fieldsync console, core: plain JavaScript, no framework, no build step.
 *
 * The console is this file, one file per screen (screen-*.js, each calling
 * FS.register) and app.js, which signs in and switches screens. Everything
 * a screen needs twice lives here once: the API call, the formats (times in
 * the viewer's time zone, money from minor units), a DOM builder and
 * FS.list, the paginated, sortable, filterable table with its CSV link
 * that most screens are.
 *
 * Talks only to this server's admin JSON API (docs/ADMIN-API.md) with the
 * session cookie the login sets (HttpOnly: this script never sees it) and
 * sends the CSRF token from the login or GET me on every POST. Every string
 * that comes from the server is put into the page with textContent, never
 * as HTML, so a customer named "<img src=x onerror=...>" shows as text.
 */
'use strict';

const FS = {
  PAGE: 50,
  state: { csrf: null, me: null, screen: null },
  screens: [], /* in registration order: the order of the tabs */
};

FS.$ = function (id) { return document.getElementById(id); };

/*
 * el('td', {className: 'muted', title: 'x'}, 'text', node, ...): an element
 * with properties set and children appended; strings become text nodes.
 * Properties starting with "on" add event listeners; "dataset" and
 * "attrs" take objects.
 */
FS.el = function (tag, props) {
  const e = document.createElement(tag);
  for (const k in props || {}) {
    const v = props[k];
    if (k === 'dataset' || k === 'attrs') {
      for (const a in v) {
        if (k === 'dataset') e.dataset[a] = v[a];
        else e.setAttribute(a, v[a]);
      }
    } else if (k.startsWith('on')) {
      e.addEventListener(k.slice(2), v);
    } else {
      e[k] = v;
    }
  }
  for (let i = 2; i < arguments.length; i++) {
    const c = arguments[i];
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
};

/* Unix ms as a date and time in the viewer's own time zone. */
FS.fmtTime = function (ms) {
  if (ms === null || ms === undefined) return '';
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
};

/* Money from minor units with its currency (ISO 4217 decides the decimals). */
FS.fmtMoney = function (minor, currency) {
  if (minor === null || minor === undefined) return '';
  const f = new Intl.NumberFormat(undefined, { style: 'currency', currency: currency || 'EUR' });
  const digits = f.resolvedOptions().maximumFractionDigits;
  return f.format(minor / Math.pow(10, digits));
};
window.fieldsyncFmtMoney = FS.fmtMoney; /* for the browser test */

FS.showStatus = function (text) { FS.$('status').textContent = text || ''; };

FS.api = async function (method, path, body) {
  const opts = { method: method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (method !== 'GET' && FS.state.csrf) opts.headers['X-CSRF-Token'] = FS.state.csrf;
  /* FS.inflight: requests not answered yet (the browser tests wait for 0
   * before they measure a screen). */
  FS.inflight++;
  try {
    const r = await fetch('/admin/v1/' + path, opts);
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    return { status: r.status, data: data };
  } finally {
    FS.inflight--;
  }
};
FS.inflight = 0;

/* A failed answer: 401 means the session is gone (back to the login page),
 * anything else is shown in the status line. Set by app.js. */
FS.failed = function (r) {
  FS.showStatus((r.data && r.data.error) || ('request failed: HTTP ' + r.status));
};

FS.cell = function (tr, value) {
  const td = FS.el('td');
  if (value instanceof Node) td.appendChild(value);
  else td.textContent = value === null || value === undefined ? '' : String(value);
  tr.appendChild(td);
  return td;
};

FS.emptyRow = function (tbody, cols, text) {
  const tr = FS.el('tr');
  const td = FS.cell(tr, text);
  td.colSpan = cols;
  td.className = 'muted';
  tbody.appendChild(tr);
};

/*
 * FS.register(name, {title, roles, build(section), load()}): a screen. build
 * fills its <section id="NAME-screen"> once; load runs each time the screen
 * is shown. roles (optional) lists the roles that see its tab.
 */
FS.register = function (name, def) {
  def.name = name;
  FS.screens.push(def);
};

/*
 * Live screens (a screen registered with live: true, e.g. Today and
 * Conflicts): while one is shown and the browser tab is visible, GET
 * changes every FS.LIVE_MS; when its opaque version differs from the last
 * one seen on this screen (the first poll after showing counts as a
 * difference), the screen loads again, so a sync shows up within a few
 * seconds without a reload. Polling, not server-sent events: an open
 * event stream would hold one of the server's few HTTP workers per
 * console (docs/ARCHITECTURE.md, "Console: live refresh").
 */
FS.LIVE_MS = 3000;
FS.startLive = function () {
  let seen = null, screen = null, busy = false;
  setInterval(async function () {
    if (busy || !FS.state.me || document.hidden) return;
    const def = FS.screens.find(function (s) { return s.name === FS.state.screen; });
    if (!def || !def.live) { screen = null; return; }
    if (screen !== def.name) { screen = def.name; seen = null; }
    busy = true;
    try {
      const r = await FS.api('GET', 'changes');
      if (r.status === 200 && r.data.version !== seen && screen === FS.state.screen) {
        seen = r.data.version;
        await def.load();
      }
    } catch (e) {
      /* the server is away for a moment: the next poll asks again */
    } finally {
      busy = false;
    }
  }, FS.LIVE_MS);
};

/*
 * FS.list(opts) builds a list view and returns {node, load}:
 *   id       prefix of the element ids: ID-rows (tbody, data-loaded set
 *            after each load), ID-page (the "1-50 of N" text), ID-FILTER
 *            for each filter's input, ID-csv (the CSV link)
 *   path     the API list, e.g. 'customers'; answers {items,total} (paged
 *            on the server) or a plain array (shown whole)
 *   columns  [{title, value(row) -> string|Node, sort: 'key'}]; a column
 *            with sort is clickable (the API's sort=key / sort=-key)
 *   filters  [{name, label, type: 'search'|'date'|'text'|'select',
 *            options: [[value, label]...]}]; values go to the query
 *   sort     the default sort key (or none), paged  false for plain arrays
 *   rowClick optional function(row) when a row is activated
 */
FS.list = function (opts) {
  const st = { offset: 0, sort: opts.sort || '', total: 0, gen: 0, key: null };
  const tbody = FS.el('tbody', { id: opts.id + '-rows' });
  const pageText = FS.el('span', { id: opts.id + '-page' });
  const csv = FS.el('a', { id: opts.id + '-csv', textContent: 'Download CSV', attrs: { download: opts.path + '.csv' } });
  const inputs = {};
  const form = FS.el('form', { className: 'filters', onsubmit: function (ev) { ev.preventDefault(); st.offset = 0; load(); } });
  for (const f of opts.filters || []) {
    let input;
    if (f.type === 'select') {
      input = FS.el('select', { id: opts.id + '-' + f.name });
      for (const o of f.options) input.appendChild(FS.el('option', { value: o[0] }, o[1]));
      input.addEventListener('change', function () { st.offset = 0; load(); });
    } else {
      input = FS.el('input', { id: opts.id + '-' + f.name, type: f.type || 'text', placeholder: f.placeholder || '' });
    }
    inputs[f.name] = input;
    form.appendChild(FS.el('label', { htmlFor: input.id }, f.label));
    form.appendChild(input);
  }
  if (opts.filters && opts.filters.length) form.appendChild(FS.el('button', { type: 'submit' }, 'Apply'));
  form.appendChild(csv);

  const headRow = FS.el('tr');
  for (const c of opts.columns) {
    if (!c.sort) { headRow.appendChild(FS.el('th', {}, c.title)); continue; }
    const b = FS.el('button', { type: 'button', className: 'sort', onclick: function () {
      st.sort = st.sort === c.sort ? '-' + c.sort : c.sort;
      st.offset = 0;
      load();
    } }, c.title);
    headRow.appendChild(FS.el('th', { attrs: { 'aria-sort': 'none' }, dataset: { sort: c.sort } }, b));
  }
  const prev = FS.el('button', { type: 'button', id: opts.id + '-prev', onclick: function () { st.offset = Math.max(0, st.offset - FS.PAGE); load(); } }, 'Previous');
  const next = FS.el('button', { type: 'button', id: opts.id + '-next', onclick: function () { st.offset += FS.PAGE; load(); } }, 'Next');
  const node = FS.el('div', { className: 'listview' }, form,
    FS.el('table', { className: 'list' }, FS.el('thead', {}, headRow), tbody),
    opts.paged === false ? null : FS.el('div', { className: 'pager' }, prev, pageText, next));

  function query(extra) {
    const q = new URLSearchParams(opts.params ? opts.params() : {});
    for (const name in inputs) if (inputs[name].value.trim()) q.set(name, inputs[name].value.trim());
    if (st.sort) q.set('sort', st.sort);
    for (const k in extra) q.set(k, extra[k]);
    return q.toString();
  }

  async function load() {
    const paging = opts.paged === false ? {} : { limit: String(FS.PAGE), offset: String(st.offset) };
    const mine = ++st.gen;
    const r = await FS.api('GET', opts.path + '?' + query(paging));
    /* A newer load (a filter, a page, a live refresh) started meanwhile:
     * its answer is the one to show, whichever arrives last. */
    if (mine !== st.gen) return r.data;
    if (r.status !== 200) return FS.failed(r);
    const items = Array.isArray(r.data) ? r.data : r.data.items;
    /* The same answer as shown (a live refresh after a change elsewhere):
     * the rows stay as they are, so the focus and a row being read stay. */
    const key = query(paging) + '\n' + JSON.stringify(r.data);
    if (key === st.key) {
      tbody.dataset.loaded = String(Date.now());
      return r.data;
    }
    st.key = key;
    tbody.replaceChildren();
    for (const row of items) {
      const tr = FS.el('tr');
      for (const c of opts.columns) FS.cell(tr, c.value(row));
      if (opts.rowClick) {
        tr.tabIndex = 0;
        tr.className = 'clickable';
        tr.addEventListener('click', function () { opts.rowClick(row); });
        tr.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') opts.rowClick(row); });
      }
      tbody.appendChild(tr);
    }
    if (items.length === 0) FS.emptyRow(tbody, opts.columns.length, opts.empty || 'Nothing matches.');
    st.total = Array.isArray(r.data) ? items.length : r.data.total;
    const first = st.total === 0 ? 0 : st.offset + 1;
    /* total_capped: the server stopped counting at total (ADMIN-API.md). */
    const capped = !Array.isArray(r.data) && r.data.total_capped;
    pageText.textContent = first + '-' + (st.offset + items.length) + ' of ' + st.total + (capped ? '+' : '');
    prev.disabled = st.offset === 0;
    next.disabled = st.offset + FS.PAGE >= st.total && !capped;
    for (const th of headRow.children) {
      if (!th.dataset.sort) continue;
      th.setAttribute('aria-sort', st.sort === th.dataset.sort ? 'ascending' : st.sort === '-' + th.dataset.sort ? 'descending' : 'none');
    }
    csv.href = '/admin/v1/' + opts.path + '?' + query({ format: 'csv' });
    tbody.dataset.loaded = String(Date.now());
    return r.data;
  }

  return { node: node, load: load, inputs: inputs };
};
