/*
 * fieldsync console, what several screens share beyond core.js: the
 * optional Debian libraries (Leaflet for maps, Chart.js for charts) loaded
 * on first use from /vendor/ (a page that cannot load one shows a table
 * instead), names for rep ids, a screen's list-or-detail pages, small
 * tables, and the visit page (Activity and the customer page open it).
 *
 * Rules stay in the server: the distance of a check-in and its
 * verification come from the API (conflict/fs_geo.c); the page only
 * formats them.
 */
'use strict';

(function () {
  const vendors = {
    leaflet: { js: '/vendor/leaflet/leaflet.js', css: '/vendor/leaflet/leaflet.css', global: 'L' },
    chart: { js: '/vendor/chart.js/chart.min.js', global: 'Chart' },
  };
  const loading = {};

  /* A promise of true when the library is there (loaded once per page),
   * false when the package is not installed. */
  FS.vendor = function (name) {
    const v = vendors[name];
    if (loading[name]) return loading[name];
    loading[name] = new Promise(function (resolve) {
      if (window[v.global]) { resolve(true); return; }
      if (v.css) document.head.appendChild(FS.el('link', { rel: 'stylesheet', href: v.css }));
      const s = FS.el('script', { src: v.js });
      s.addEventListener('load', function () { resolve(!!window[v.global]); });
      s.addEventListener('error', function () { resolve(false); });
      document.head.appendChild(s);
    });
    return loading[name];
  };

  /* id -> name of the reps the viewer may see (GET reps), fetched again on
   * each call so a new rep shows up; {} when the call fails. */
  FS.repNames = async function () {
    const r = await FS.api('GET', 'reps');
    const names = {};
    if (r.status === 200 && Array.isArray(r.data))
      for (const rep of r.data) names[rep.id] = rep.name;
    return names;
  };

  /* A name with its id to copy in the title (and in data-id). */
  FS.named = function (name, id) {
    if (!id) return name || '';
    return FS.el('span', { title: 'id ' + id, dataset: { id: id } }, name || id);
  };

  FS.fmtDistance = function (m) {
    if (m === null || m === undefined) return '';
    return m < 1000 ? Math.round(m) + ' m' : (m / 1000).toFixed(2) + ' km';
  };

  FS.fmtCoord = function (lat, lon) {
    if (lat === null || lat === undefined || lon === null || lon === undefined) return '';
    return lat.toFixed(5) + ', ' + lon.toFixed(5);
  };

  /* A flag as text with a class for its colour: ok / warn / unknown. */
  FS.flag = function (value, good) {
    const v = value || 'unknown';
    return FS.el('span', { className: 'flag ' + (value === good ? 'ok' : value ? 'warn' : 'unknown') }, v);
  };

  /* Fills <select> sel with [['', allLabel], [value, label]...] keeping
   * its current value when still there. */
  FS.fillSelect = function (sel, allLabel, pairs) {
    const keep = sel.value;
    sel.replaceChildren(FS.el('option', { value: '' }, allLabel));
    for (const p of pairs) sel.appendChild(FS.el('option', { value: p[0] }, p[1]));
    if (pairs.some(function (p) { return p[0] === keep; })) sel.value = keep;
  };

  /* The rep and territory choices of a filter form, from GET reps and
   * GET territories (the viewer's own). */
  FS.fillRepAndTerritory = async function (repSel, terrSel) {
    const reps = await FS.api('GET', 'reps');
    if (repSel && reps.status === 200)
      FS.fillSelect(repSel, 'all reps', reps.data.map(function (r) { return [r.id, r.name]; }));
    const terr = await FS.api('GET', 'territories');
    if (terrSel && terr.status === 200)
      FS.fillSelect(terrSel, 'all territories', terr.data.map(function (t) {
        return [t.code, t.name ? t.name + ' (' + t.code + ')' : t.code];
      }));
  };

  /*
   * FS.pages(sec): a screen that shows a list or one row's page in its
   * section. Returns {main, show(node), back()}: put the list in main;
   * show(node) hides it and shows node (its first heading gets the focus,
   * Escape or the Back button goes back); pages stack (a visit opened
   * from a customer's page goes back to that page). Opening a page closes
   * those of the other screens, so an element id is in the document once.
   */
  const allPages = [];
  FS.pages = function (sec) {
    const main = FS.el('div');
    const detail = FS.el('div', { className: 'detail', hidden: true });
    const stack = [];
    sec.append(main, detail);

    function render() {
      const top = stack[stack.length - 1];
      main.hidden = !!top;
      detail.hidden = !top;
      detail.replaceChildren();
      if (!top) return;
      const back = FS.el('button', { type: 'button', className: 'back', onclick: pop },
                         stack.length > 1 ? 'Back' : 'Back to the list');
      detail.append(back, top);
      const h = top.querySelector('h2');
      if (h) { h.tabIndex = -1; h.focus(); }
    }
    function pop() { stack.pop(); render(); }
    detail.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') pop(); });
    const self = {
      main: main,
      show: function (node) {
        for (const p of allPages) if (p !== self) p.back();
        stack.push(node);
        render();
      },
      back: function () { if (stack.length) { stack.length = 0; render(); } },
    };
    allPages.push(self);
    return self;
  };

  /* A small table of rows already in the page (a customer's children):
   * columns [{title, value(row)}]; id for the tbody (ID-rows). */
  FS.table = function (id, columns, rows, empty, rowClick) {
    const head = FS.el('tr');
    for (const c of columns) head.appendChild(FS.el('th', {}, c.title));
    const tbody = FS.el('tbody', { id: id + '-rows' });
    for (const row of rows) {
      const tr = FS.el('tr');
      for (const c of columns) FS.cell(tr, c.value(row));
      if (rowClick) {
        tr.tabIndex = 0;
        tr.className = 'clickable';
        tr.addEventListener('click', function () { rowClick(row); });
        tr.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') rowClick(row); });
      }
      tbody.appendChild(tr);
    }
    if (!rows.length) FS.emptyRow(tbody, columns.length, empty || 'None.');
    return FS.el('table', { className: 'list' }, FS.el('thead', {}, head), tbody);
  };

  /* Definition list [[label, value or node]...]. */
  FS.facts = function (id, pairs) {
    const dl = FS.el('dl', { className: 'facts', id: id });
    for (const p of pairs) {
      const dd = FS.el('dd', { dataset: { key: p[2] || '' } });
      if (p[1] instanceof Node) dd.appendChild(p[1]);
      else dd.textContent = p[1] === null || p[1] === undefined ? '' : String(p[1]);
      dl.append(FS.el('dt', {}, p[0]), dd);
    }
    return dl;
  };

  /* The check-in and the customer's position on a Leaflet map (no tiles
   * unless the operator configured a tile URL, GET settings' map_tiles:
   * points on a plain background with a scale), or a table of the two positions when
   * Leaflet is not installed or a position is missing. */
  async function visitMap(box, v) {
    const both = v.checkin_lat !== null && v.checkin_lat !== undefined &&
                 v.customer_lat !== null && v.customer_lat !== undefined;
    const points = FS.table('visit-points', [
      { title: 'Position', value: function (p) { return p[0]; } },
      { title: 'Latitude, longitude', value: function (p) { return FS.fmtCoord(p[1], p[2]); } },
    ], [['Check-in', v.checkin_lat, v.checkin_lon], ['Customer', v.customer_lat, v.customer_lon]]);
    if (!both || !(await FS.vendor('leaflet'))) {
      box.dataset.map = 'table';
      box.replaceChildren(points);
      return;
    }
    if (FS.state.mapTiles === undefined) {
      /* The operator's tile URL (--map-tiles), asked once; none = no tiles. */
      const r = await FS.api('GET', 'settings');
      FS.state.mapTiles = r.status === 200 ? r.data.map_tiles : null;
    }
    const div = FS.el('div', { className: 'map', id: 'visit-map',
                                attrs: { role: 'img', 'aria-label': 'Map of the check-in and the customer' } });
    box.dataset.map = 'leaflet';
    box.replaceChildren(div, points);
    const L = window.L;
    const map = L.map(div, { attributionControl: !!FS.state.mapTiles, keyboard: true });
    if (FS.state.mapTiles) L.tileLayer(FS.state.mapTiles, { maxZoom: 19 }).addTo(map);
    const cust = [v.customer_lat, v.customer_lon], chk = [v.checkin_lat, v.checkin_lon];
    L.circleMarker(cust, { radius: 8, color: '#1f5fbf', fillOpacity: 0.8 })
      .bindTooltip('Customer: ' + (v.customer_name || ''), { permanent: true, direction: 'right' }).addTo(map);
    L.circleMarker(chk, { radius: 8, color: '#c25e00', fillOpacity: 0.8 })
      .bindTooltip('Check-in', { permanent: true, direction: 'left' }).addTo(map);
    L.polyline([cust, chk], { color: '#5b6675', dashArray: '4 4' }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    if (cust[0] === chk[0] && cust[1] === chk[1]) map.setView(cust, 17);
    else map.fitBounds([cust, chk], { padding: [60, 60], maxZoom: 18 });
  }

  /*
   * The visit page: v is a visit as GET visits gives it ({id, customer_id,
   * customer_name, rep_id, rep_name, status, outcome, verification,
   * time_check, planned_at, checkin_at, checkout_at, checkin_lat/lon,
   * customer_lat/lon, distance_m}).
   */
  FS.visitPage = function (v) {
    const mapBox = FS.el('div', { id: 'visit-map-box', className: 'mapbox' });
    const node = FS.el('div', { id: 'visit-detail' },
      FS.el('h2', { title: 'visit id ' + v.id }, 'Visit to ', FS.named(v.customer_name, v.customer_id)),
      FS.facts('visit-facts', [
        ['Rep', FS.named(v.rep_name, v.rep_id), 'rep'],
        ['Status', v.status, 'status'],
        ['Outcome', v.outcome, 'outcome'],
        ['Planned for', FS.fmtTime(v.planned_at), 'planned_at'],
        ['Checked in', FS.fmtTime(v.checkin_at), 'checkin_at'],
        ['Checked out', FS.fmtTime(v.checkout_at), 'checkout_at'],
        ['Distance from the customer', v.distance_m === null || v.distance_m === undefined
          ? 'unknown (a position is missing)' : FS.fmtDistance(v.distance_m), 'distance'],
        ['Verification', FS.flag(v.verification, 'verified'), 'verification'],
        ['Time check', FS.flag(v.time_check, 'ok'), 'time_check'],
        ['Visit id', v.id, 'id'],
      ]),
      mapBox);
    visitMap(mapBox, v).then(function () { mapBox.dataset.loaded = '1'; });
    return node;
  };
})();
