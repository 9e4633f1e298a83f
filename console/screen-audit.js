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
          { title: 'What', value: function (a) { return a.action || ''; } },
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
    load: function () {
      stack = [];
      return show();
    },
  });
})();
