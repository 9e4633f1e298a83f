/* Conflicts: the records of what the merge decided or left open. */
'use strict';

(function () {
  let list = null;

  FS.register('conflicts', {
    title: 'Conflicts',
    live: true, /* the shown page reloads when GET changes moves (core.js) */
    build: function (sec) {
      list = FS.list({
        id: 'conflict',
        path: 'conflicts',
        sort: '-id',
        empty: 'No conflicts.',
        filters: [
          { name: 'status', label: 'Status', type: 'select',
            options: [['', 'all'], ['open', 'open'], ['auto', 'decided by a rule'], ['resolved', 'resolved']] },
          { name: 'territory', label: 'Territory', type: 'text' },
          { name: 'from', label: 'From', type: 'date' },
          { name: 'to', label: 'To', type: 'date' },
        ],
        columns: [
          { title: 'When', sort: 'id', value: function (k) { return FS.fmtTime(k.created_at); } },
          { title: 'Status', value: function (k) { return k.status; } },
          { title: 'Entity', value: function (k) { return k.entity; } },
          { title: 'Field', value: function (k) { return k.field; } },
          { title: 'Rule', value: function (k) { return k.rule; } },
          { title: 'Detail', value: function (k) { return k.detail; } },
        ],
      });
      sec.append(FS.el('h1', {}, 'Conflicts'), list.node);
    },
    load: function () { return list.load(); },
  });
})();
