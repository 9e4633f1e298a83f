/*
 * Pipeline: quotes by status and contracts by e-sign status, each with its
 * count and value per currency (GET pipeline; currencies are never added
 * together), as tables always and as bar charts when Debian's Chart.js is
 * installed; below, the quotes themselves (GET quotes, paged, filtered,
 * CSV), each opening its customer's page.
 */
'use strict';

(function () {
  let pages = null, quotes = null, box = null;
  const charts = [];

  /* Counts per status, one bar series per currency. */
  function chartOf(canvas, rows, statusKey, label) {
    const statuses = [], currencies = [];
    for (const r of rows) {
      if (statuses.indexOf(r[statusKey]) < 0) statuses.push(r[statusKey]);
      if (currencies.indexOf(r.currency) < 0) currencies.push(r.currency);
    }
    const palette = ['#1f5fbf', '#c25e00', '#2e7d32', '#8e24aa', '#5b6675', '#b00020'];
    const datasets = currencies.map(function (cur, i) {
      return {
        label: (cur || 'no currency') + ' ' + label,
        backgroundColor: palette[i % palette.length],
        data: statuses.map(function (s) {
          const r = rows.find(function (x) { return x[statusKey] === s && x.currency === cur; });
          return r ? r.count : 0;
        }),
      };
    });
    return new window.Chart(canvas, {
      type: 'bar',
      data: { labels: statuses, datasets: datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
                 scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }

  async function loadSummary() {
    const r = await FS.api('GET', 'pipeline');
    if (r.status !== 200) return FS.failed(r);
    const p = r.data;
    const quoteTable = FS.table('pipeline-quotes', [
      { title: 'Status', value: function (q) { return q.status; } },
      { title: 'Currency', value: function (q) { return q.currency; } },
      { title: 'Quotes', value: function (q) { return q.count; } },
      { title: 'Value', value: function (q) { return FS.fmtMoney(q.value, q.currency); } },
      { title: 'Unpriced', value: function (q) { return q.unpriced; } },
    ], p.quotes, 'No quotes.');
    const contractTable = FS.table('pipeline-contracts', [
      { title: 'E-sign status', value: function (k) { return k.esign_status; } },
      { title: 'Currency', value: function (k) { return k.currency; } },
      { title: 'Contracts', value: function (k) { return k.count; } },
      { title: 'Amount', value: function (k) { return FS.fmtMoney(k.amount, k.currency); } },
      { title: 'Without amount', value: function (k) { return k.no_amount; } },
    ], p.contracts, 'No contracts.');
    const qCanvas = FS.el('canvas', { id: 'pipeline-quotes-chart', attrs: { role: 'img', 'aria-label': 'Quotes by status per currency' } });
    const kCanvas = FS.el('canvas', { id: 'pipeline-contracts-chart', attrs: { role: 'img', 'aria-label': 'Contracts by e-sign status per currency' } });
    const qChart = FS.el('div', { className: 'chart' }, qCanvas);
    const kChart = FS.el('div', { className: 'chart' }, kCanvas);
    box.replaceChildren(
      FS.el('div', { className: 'filters' },
            FS.el('a', { id: 'pipeline-csv', href: '/admin/v1/pipeline?format=csv',
                         attrs: { download: 'pipeline.csv' } }, 'Download CSV')),
      FS.el('div', { className: 'halves' },
        FS.el('div', {}, FS.el('h2', {}, 'Quotes by status'), qChart, quoteTable),
        FS.el('div', {}, FS.el('h2', {}, 'Contracts by e-sign status'), kChart, contractTable)));
    while (charts.length) charts.pop().destroy();
    const haveChart = await FS.vendor('chart');
    box.dataset.chart = haveChart ? 'chart.js' : 'none';
    if (haveChart) {
      if (p.quotes.length) charts.push(chartOf(qCanvas, p.quotes, 'status', 'quotes'));
      if (p.contracts.length) charts.push(chartOf(kCanvas, p.contracts, 'esign_status', 'contracts'));
    }
    qChart.hidden = !haveChart || !p.quotes.length;
    kChart.hidden = !haveChart || !p.contracts.length;
    box.dataset.loaded = String(Date.now());
  }

  FS.register('pipeline', {
    title: 'Pipeline',
    build: function (sec) {
      pages = FS.pages(sec);
      box = FS.el('div', { id: 'pipeline-summary' });
      quotes = FS.list({
        id: 'quote',
        path: 'quotes',
        sort: '-id',
        empty: 'No quotes match.',
        filters: [
          { name: 'status', label: 'Status', type: 'select',
            options: [['', 'any status'], ['draft', 'draft'], ['sent', 'sent'], ['accepted', 'accepted'],
                      ['rejected', 'rejected'], ['expired', 'expired']] },
          { name: 'currency', label: 'Currency', type: 'text', placeholder: 'EUR' },
          { name: 'rep', label: 'Rep', type: 'select', options: [['', 'all reps']] },
          { name: 'territory', label: 'Territory', type: 'select', options: [['', 'all territories']] },
        ],
        columns: [
          { title: 'Quote', sort: 'id', value: function (q) { return FS.named(q.id.slice(-8), q.id); } },
          { title: 'Customer', value: function (q) { return FS.named(q.customer_name, q.customer_id); } },
          { title: 'Territory', value: function (q) { return q.territory; } },
          { title: 'Rep', value: function (q) { return FS.named(q.rep_name, q.rep_id); } },
          { title: 'Status', value: function (q) { return q.status; } },
          { title: 'Lines', value: function (q) { return q.lines; } },
          { title: 'Total', value: function (q) { return FS.fmtMoney(q.total, q.currency); } },
          { title: 'Valid until', value: function (q) { return FS.fmtTime(q.valid_until); } },
        ],
        rowClick: function (q) { FS.openCustomer(q.customer_id, pages); },
      });
      pages.main.append(FS.el('h1', {}, 'Pipeline'), box, FS.el('h2', {}, 'Quotes'), quotes.node);
    },
    load: async function () {
      pages.back();
      await FS.fillRepAndTerritory(quotes.inputs.rep, quotes.inputs.territory);
      await Promise.all([loadSummary(), quotes.load()]);
    },
  });
})();
