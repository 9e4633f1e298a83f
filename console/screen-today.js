/* Today: the day's numbers for the viewer's territories (GET today). */
'use strict';

FS.register('today', {
  title: 'Today',
  live: true, /* reloads when GET changes moves (core.js, FS.startLive) */
  build: function (sec) {
    const dl = FS.el('dl', { id: 'today-numbers', className: 'numbers' });
    for (const k of [['visits_done', 'Visits done'], ['visits_planned', 'Visits planned'],
                     ['devices_synced', 'Devices synced today'], ['devices_silent', 'Devices silent over 3 days'],
                     ['open_conflicts', 'Open conflicts'], ['rejected_waiting', 'Rejected changes waiting']])
      dl.appendChild(FS.el('div', {}, FS.el('dt', {}, k[1]), FS.el('dd', { id: 't-' + k[0] })));
    sec.append(FS.el('h1', {}, 'Today'), FS.el('p', { id: 'today-day', className: 'muted' }), dl);
  },
  load: async function () {
    const r = await FS.api('GET', 'today');
    if (r.status !== 200) return FS.failed(r);
    const t = r.data;
    for (const k of ['visits_done', 'visits_planned', 'devices_synced', 'devices_silent',
                     'open_conflicts', 'rejected_waiting'])
      FS.$('t-' + k).textContent = String(t[k]);
    FS.$('today-day').textContent = 'Business day ' + FS.fmtTime(t.day_start) + ' to ' +
      FS.fmtTime(t.day_end) + ' (server day in ' + t.tz + '; times shown in your time zone)';
    FS.$('today-numbers').dataset.loaded = '1';
  },
});
