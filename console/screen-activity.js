/*
 * Activity: completed visits per rep per business day (GET activity) and
 * the visits themselves (GET visits, paged on the server), under one
 * filter form (date range, rep, territory, and the visits' status); a
 * rep's day narrows the visits to it, and a visit opens its page with the
 * check-in beside the customer on a map.
 */
'use strict';

(function () {
  let pages = null, perDay = null, visits = null;

  function filters() {
    const q = {};
    for (const name of ['from', 'to', 'rep', 'territory']) {
      const v = visits.inputs[name].value.trim();
      if (v) q[name] = v;
    }
    return q;
  }

  function when(v) {
    return FS.fmtTime(v.checkin_at !== null ? v.checkin_at : v.checkout_at !== null ? v.checkout_at : v.planned_at);
  }

  FS.register('activity', {
    title: 'Activity',
    build: function (sec) {
      pages = FS.pages(sec);
      visits = FS.list({
        id: 'visit',
        path: 'visits',
        sort: '-time',
        empty: 'No visits match.',
        filters: [
          { name: 'from', label: 'From', type: 'date' },
          { name: 'to', label: 'To', type: 'date' },
          { name: 'rep', label: 'Rep', type: 'select', options: [['', 'all reps']] },
          { name: 'territory', label: 'Territory', type: 'select', options: [['', 'all territories']] },
          { name: 'status', label: 'Status', type: 'select',
            options: [['', 'any status'], ['completed', 'completed'], ['abandoned', 'abandoned'],
                      ['planned', 'planned'], ['in_progress', 'in progress']] },
        ],
        columns: [
          { title: 'When', sort: 'time', value: when },
          { title: 'Customer', value: function (v) { return FS.named(v.customer_name, v.customer_id); } },
          { title: 'Territory', value: function (v) { return v.territory; } },
          { title: 'Rep', value: function (v) { return FS.named(v.rep_name, v.rep_id); } },
          { title: 'Status', value: function (v) { return v.status; } },
          { title: 'Outcome', value: function (v) { return v.outcome; } },
          { title: 'Verification', value: function (v) { return FS.flag(v.verification, 'verified'); } },
          { title: 'Time check', value: function (v) { return FS.flag(v.time_check, 'ok'); } },
          { title: 'Distance', value: function (v) { return FS.fmtDistance(v.distance_m); } },
        ],
        rowClick: function (v) { pages.show(FS.visitPage(v)); },
      });
      perDay = FS.list({
        id: 'activity',
        path: 'activity',
        paged: false,
        params: filters,
        empty: 'No completed visits in this range.',
        columns: [
          { title: 'Day', value: function (a) { return a.day; } },
          { title: 'Rep', value: function (a) { return FS.named(a.rep_name, a.rep); } },
          { title: 'Visits', value: function (a) { return a.visits; } },
          { title: 'Completed', value: function (a) { return a.completed; } },
          { title: 'Abandoned', value: function (a) { return a.abandoned; } },
          { title: 'Verified', value: function (a) { return a.verified; } },
          { title: 'Outside geofence', value: function (a) { return a.outside_geofence; } },
          { title: 'Unverified', value: function (a) { return a.unverified; } },
          { title: 'Time suspect', value: function (a) { return a.time_suspect; } },
          { title: 'Outcomes', value: function (a) { return a.outcomes.join('; '); } },
        ],
        /* A rep's day: the visits list narrows to that rep and day. */
        rowClick: function (a) {
          if (!a.day) return;
          visits.inputs.from.value = a.day;
          visits.inputs.to.value = a.day;
          if (a.rep) visits.inputs.rep.value = a.rep;
          visits.inputs.rep.form.requestSubmit();
        },
      });
      /* One filter form above both lists: the visits list's own, moved up;
       * applying it (or changing a choice) reloads both. Its CSV link
       * stays with the visits. */
      const form = visits.node.querySelector('form.filters');
      const csv = form.querySelector('a');
      form.id = 'activity-filters';
      visits.node.insertBefore(FS.el('div', { className: 'filters' }, csv), visits.node.firstChild);
      form.addEventListener('submit', function () { perDay.load(); });
      for (const sel of form.querySelectorAll('select')) sel.addEventListener('change', function () { perDay.load(); });
      pages.main.append(FS.el('h1', {}, 'Activity'), form,
                        FS.el('h2', {}, 'Completed visits per rep per day'), perDay.node,
                        FS.el('h2', {}, 'Visits'), visits.node);
    },
    load: async function () {
      pages.back();
      await FS.fillRepAndTerritory(visits.inputs.rep, visits.inputs.territory);
      await Promise.all([perDay.load(), visits.load()]);
    },
  });
})();
