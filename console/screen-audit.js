/*
 * Audit (admin): who did what, when (GET audit?limit=&before=), newest
 * first, 50 at a time: "Older" asks for the entries before the last id
 * shown, "Newer" goes back one page. Actors are `token`, `user:NAME` or
 * `cli`; the action is `METHOD /path` (or the account command), with the
 * HTTP status and the address.
 */
'use strict';

(function () {
  const PAGE = 50;
  let list = null;
  let stack = []; /* the `before` of each page shown, the current last */
  let lastIds = [];
  let show = null;
  let names = {}; /* rep and device ids -> names, for the paths */

  /* "POST /reps/<uuid>/offboard" as "POST /reps/Carol Diaz/offboard" for
   * the reps, devices and customers it knows (the path with its ids is
   * the title). */
  function named(action) {
    return String(action || '').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g,
                                          function (id) { return names[id] || id; });
  }

  async function loadNames() {
    names = {};
    /* Customers: the first 1000 by name, one request (a deleted or merged
     * one keeps its id). */
    const [r, d, c] = await Promise.all([FS.api('GET', 'reps'), FS.api('GET', 'devices'),
                                         FS.api('GET', 'customers?limit=1000')]);
    for (const x of c.status === 200 ? FS.items(c.data) : []) names[x.id] = x.name;
    for (const x of r.status === 200 ? FS.items(r.data) : []) names[x.id] = x.name;
    for (const x of d.status === 200 ? FS.items(d.data) : []) names[x.id] = x.name;
  }

  FS.register('audit', {
    title: 'Audit',
    roles: ['admin'],
    build: function (sec) {
      list = FS.list({
        id: 'audit', path: 'audit', paged: false, empty: 'Nothing recorded yet.',
        params: function () {
          const p = { limit: String(PAGE) };
          const before = stack[stack.length - 1];
          if (before) p.before = String(before);
          return p;
        },
        columns: [
          { title: 'When', value: function (a) { return FS.fmtTime(a.at); } },
          { title: 'Who', value: function (a) { return a.actor || ''; } },
          { title: 'What', value: function (a) { return FS.el('span', { title: a.action || '' }, named(a.action)); } },
          { title: 'On', value: function (a) { return a.target || ''; } },
          { title: 'Result', value: function (a) { return a.status === null || a.status === undefined ? '' : String(a.status); } },
          { title: 'From', value: function (a) { return a.remote || ''; } },
        ],
      });
      FS.noCsv(list);
      const newer = FS.el('button', { type: 'button', id: 'audit-newer', onclick: function () {
        stack.pop();
        show();
      } }, 'Newer');
      const older = FS.el('button', { type: 'button', id: 'audit-older', onclick: function () {
        stack.push(lastIds[lastIds.length - 1]);
        show();
      } }, 'Older');
      show = async function () {
        const data = await list.load();
        lastIds = FS.items(data).map(function (a) { return a.id; });
        newer.disabled = stack.length === 0;
        older.disabled = lastIds.length < PAGE;
      };
      sec.append(FS.el('h1', {}, 'Audit log'), list.node, FS.el('div', { className: 'pager' }, newer, older));
    },
    load: async function () {
      stack = [];
      await loadNames();
      return show();
    },
  });
})();
