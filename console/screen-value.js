/*
 * Customer value (issue 16's reports, CRM.md sections 2 and 3): the A-E
 * matrix as a scatter of unit price against purchase count and the
 * Pareto curve, per currency (GET reports/value); the customers at risk
 * with the rules' reasons (GET reports/at-risk); lost customers by reason
 * (GET reports/lost); tickets waiting, oldest first (GET tickets); and
 * satisfaction scores (GET reports/satisfaction). One territory filter
 * for all of them (the server keeps a manager within their own). Charts
 * need Debian's Chart.js; the tables are always there. Each list has its
 * CSV link (format=csv, table= where a report has several; every
 * currency in one file), with the territory chosen.
 */
'use strict';

(function () {
  const SHOWN = 100; /* matrix rows listed per currency, by revenue */
  const GRADE_COLOURS = { A: '#5b6675', B: '#2e7d32', C: '#1f5fbf', D: '#c25e00', E: '#8e24aa' };
  let pages = null, terrSel = null, box = null;
  const charts = [];

  function path(p) {
    return terrSel.value ? p + (p.indexOf('?') < 0 ? '?' : '&') + 'territory=' + encodeURIComponent(terrSel.value) : p;
  }

  function open(id) { FS.openCustomer(id, pages); }

  /* A report's CSV (format=csv&table=...), for the territory shown. */
  function csvLink(id, p, file, text) {
    return FS.el('a', { id: id, className: 'csv', href: '/admin/v1/' + path(p + (p.indexOf('?') < 0 ? '?' : '&') + 'format=csv'),
                        attrs: { download: file } }, text || 'Download CSV');
  }

  function matrixChart(canvas, cur) {
    const byGrade = {};
    for (const c of cur.customers) (byGrade[c.grade] = byGrade[c.grade] || []).push({ x: c.count, y: c.unit });
    return new window.Chart(canvas, {
      type: 'scatter',
      data: { datasets: Object.keys(byGrade).sort().map(function (g) {
        return { label: 'grade ' + g, data: byGrade[g], backgroundColor: GRADE_COLOURS[g] || '#000' };
      }) },
      options: { animation: false, maintainAspectRatio: false, scales: {
        x: { title: { display: true, text: 'purchases in the window' }, beginAtZero: true },
        y: { title: { display: true, text: 'unit price' }, beginAtZero: true,
             ticks: { callback: function (v) { return FS.fmtMoney(v, cur.currency); } } } } },
    });
  }

  function paretoChart(canvas, cur) {
    return new window.Chart(canvas, {
      type: 'line',
      data: { labels: cur.pareto.map(function (p) { return p[0] + '%'; }),
              datasets: [{ label: 'share of ' + cur.currency + ' revenue', data: cur.pareto.map(function (p) { return p[1]; }),
                           borderColor: '#1f5fbf', pointRadius: 0 }] },
      options: { animation: false, maintainAspectRatio: false,
                 scales: { y: { min: 0, max: 100, title: { display: true, text: '% of revenue' } },
                           x: { title: { display: true, text: 'top % of customers' } } } },
    });
  }

  function topOf(cur) {
    return cur.customers.slice().sort(function (a, b) { return b.revenue - a.revenue; }).slice(0, SHOWN);
  }

  /* Fills names[id] for the ids not named yet (GET customer-names, at
   * most 100 ids a request). */
  async function nameThem(ids, names) {
    const want = ids.filter(function (id) { return !(id in names); });
    for (let i = 0; i < want.length; i += 100) {
      const r = await FS.api('GET', 'customer-names?ids=' + want.slice(i, i + 100).join(','));
      if (r.status !== 200) return FS.failed(r);
      for (const c of r.data) names[c.id] = c.name;
    }
  }

  function currencySection(cur, names, haveChart) {
    const top = topOf(cur);
    const mCanvas = FS.el('canvas', { attrs: { role: 'img', 'aria-label': 'A-E matrix, ' + cur.currency } });
    const pCanvas = FS.el('canvas', { attrs: { role: 'img', 'aria-label': 'Pareto curve, ' + cur.currency } });
    const id = 'value-' + cur.currency;
    const sec = FS.el('div', { className: 'currency', id: id },
      FS.el('h2', {}, cur.currency + ': ' + cur.customers.length + ' buying customers'),
      FS.el('p', { className: 'muted' }, 'Thresholds: unit price ' + FS.fmtMoney(cur.unit_threshold, cur.currency) +
            ', ' + cur.count_threshold + ' purchases.'),
      haveChart ? FS.el('div', { className: 'halves' },
                        FS.el('div', { className: 'chart' }, mCanvas), FS.el('div', { className: 'chart' }, pCanvas)) : null,
      FS.el('div', { className: 'halves' },
        FS.el('div', {},
          FS.el('h3', {}, cur.customers.length > SHOWN ? 'The ' + SHOWN + ' with the most revenue' : 'Customers'),
          FS.table(id + '-matrix', [
            { title: 'Customer', value: function (c) { return FS.named(names[c.id] || c.id.slice(-8), c.id); } },
            { title: 'Grade', value: function (c) { return c.grade; } },
            { title: 'Core', value: function (c) { return c.core ? 'yes' : 'no'; } },
            { title: 'RFM', value: function (c) { return c.rfm; } },
            { title: 'Unit price', value: function (c) { return FS.fmtMoney(c.unit, cur.currency); } },
            { title: 'Purchases', value: function (c) { return c.count; } },
            { title: 'Revenue', value: function (c) { return FS.fmtMoney(c.revenue, cur.currency); } },
          ], top, 'No buying customers.', function (c) { open(c.id); })),
        FS.el('div', {},
          FS.el('h3', {}, 'Pareto'),
          FS.table(id + '-pareto', [
            { title: 'Top customers', value: function (p) { return p[0] + '%'; } },
            { title: 'Share of revenue', value: function (p) { return p[1].toFixed(1) + '%'; } },
          ], cur.pareto.filter(function (p) { return [10, 20, 30, 50, 80, 100].indexOf(p[0]) >= 0; })))));
    if (haveChart) {
      charts.push(matrixChart(mCanvas, cur));
      charts.push(paretoChart(pCanvas, cur));
    }
    return sec;
  }

  async function load() {
    const [value, risk, lost, tickets, sat, reps] = await Promise.all([
      FS.api('GET', path('reports/value')), FS.api('GET', path('reports/at-risk')),
      FS.api('GET', path('reports/lost')), FS.api('GET', path('tickets')),
      FS.api('GET', path('reports/satisfaction')), FS.repNames()]);
    for (const r of [value, risk, lost, tickets, sat]) if (r.status !== 200) return FS.failed(r);
    /* Names of customers the reports name (the value report gives ids). */
    const names = {};
    for (const c of risk.data) names[c.id] = c.name;
    for (const g of lost.data) for (const c of g.list) names[c.id] = c.name;
    const shown = [];
    for (const cur of value.data.currencies) for (const c of topOf(cur)) shown.push(c.id);
    await nameThem(shown, names);
    while (charts.length) charts.pop().destroy();
    const haveChart = await FS.vendor('chart');
    const rep = function (id) { return id ? FS.named(reps[id] || id, id) : ''; };
    const avg = function (s) { return s.average; };
    box.replaceChildren(
      FS.el('p', { className: 'muted' }, value.data.prospects + ' prospects (grade A: no purchase in the last ' +
            value.data.window_days + ' days) are not on the matrix.'),
      FS.el('p', { className: 'csv-links' }, 'Download CSV, every currency:',
            csvLink('value-grades-csv', 'reports/value', 'grades.csv', 'grades'), '·',
            csvLink('value-pareto-csv', 'reports/value?table=pareto', 'pareto.csv', 'Pareto'), '·',
            csvLink('value-movements-csv', 'reports/movements', 'movements.csv', 'grade movements by territory')),
      ...value.data.currencies.map(function (cur) { return currencySection(cur, names, haveChart); }),
      FS.el('div', { className: 'halves' },
        FS.el('div', {}, FS.el('h2', {}, 'At risk'), csvLink('value-at-risk-csv', 'reports/at-risk', 'at-risk.csv'),
          FS.table('value-at-risk', [
            { title: 'Customer', value: function (c) { return FS.named(c.name, c.id); } },
            { title: 'Territory', value: function (c) { return c.territory; } },
            { title: 'Owner', value: function (c) { return rep(c.owner_rep); } },
            { title: 'Grade', value: function (c) { return c.grade; } },
            { title: 'Risk', value: function (c) { return FS.flag(c.risk, 'none'); } },
            { title: 'Why', value: function (c) { return c.risk_reason; } },
          ], risk.data, 'No customer at risk.', function (c) { open(c.id); })),
        FS.el('div', {}, FS.el('h2', {}, 'Lost'), csvLink('value-lost-csv', 'reports/lost', 'lost.csv'),
          FS.table('value-lost', [
            { title: 'Reason', value: function (g) { return g.reason; } },
            { title: 'Customers', value: function (g) { return g.customers; } },
            { title: 'Who', value: function (g) { return g.list.map(function (c) { return c.name; }).join(', '); } },
          ], lost.data, 'No lost customers.'))),
      FS.el('h2', {}, 'Tickets waiting, oldest first'), csvLink('value-tickets-csv', 'tickets', 'tickets.csv'),
      FS.table('value-tickets', [
        { title: 'Age (days)', value: function (t) { return t.age_days; } },
        { title: 'Customer', value: function (t) { return FS.named(t.customer, t.customer_id); } },
        { title: 'Territory', value: function (t) { return t.territory; } },
        { title: 'Subject', value: function (t) { return FS.named(t.subject, t.id); } },
        { title: 'Kind', value: function (t) { return t.kind; } },
        { title: 'Priority', value: function (t) { return t.priority; } },
        { title: 'Status', value: function (t) { return t.status; } },
        { title: 'Opened by', value: function (t) { return rep(t.opened_by); } },
        { title: 'Assignee', value: function (t) { return t.assignee; } },
      ], tickets.data, 'No ticket is waiting.', function (t) { open(t.customer_id); }),
      FS.el('h2', {}, 'Satisfaction'),
      FS.el('p', { className: 'csv-links' }, 'Download CSV:',
            csvLink('value-sat-rep-csv', 'reports/satisfaction', 'satisfaction-rep.csv', 'by rep'), '·',
            csvLink('value-sat-territory-csv', 'reports/satisfaction?table=territory', 'satisfaction-territory.csv', 'by territory'), '·',
            csvLink('value-sat-month-csv', 'reports/satisfaction?table=month', 'satisfaction-month.csv', 'by month')),
      FS.el('div', { className: 'thirds' },
        FS.table('value-sat-rep', [
          { title: 'Rep', value: function (s) { return rep(s.rep); } },
          { title: 'Surveys', value: function (s) { return s.surveys; } },
          { title: 'Average (1-5)', value: avg }], sat.data.by_rep, 'No scores yet.'),
        FS.table('value-sat-territory', [
          { title: 'Territory', value: function (s) { return s.territory; } },
          { title: 'Surveys', value: function (s) { return s.surveys; } },
          { title: 'Average (1-5)', value: avg }], sat.data.by_territory, 'No scores yet.'),
        FS.table('value-sat-month', [
          { title: 'Month', value: function (s) { return s.month; } },
          { title: 'Surveys', value: function (s) { return s.surveys; } },
          { title: 'Average (1-5)', value: avg }], sat.data.by_month, 'No scores yet.')));
    box.dataset.chart = haveChart ? 'chart.js' : 'none';
    box.dataset.loaded = String(Date.now());
  }

  FS.register('value', {
    title: 'Customer value',
    build: function (sec) {
      pages = FS.pages(sec);
      terrSel = FS.el('select', { id: 'value-territory', onchange: function () { load(); } },
                      FS.el('option', { value: '' }, 'all territories'));
      box = FS.el('div', { id: 'value-reports' });
      pages.main.append(FS.el('h1', {}, 'Customer value'),
        FS.el('form', { className: 'filters', onsubmit: function (ev) { ev.preventDefault(); load(); } },
              FS.el('label', { htmlFor: 'value-territory' }, 'Territory'), terrSel),
        box);
    },
    load: async function () {
      pages.back();
      await FS.fillRepAndTerritory(null, terrSel);
      await load();
    },
  });
})();
