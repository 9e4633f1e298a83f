/*
 * Conflicts: what the merge decided by rule and what it left open for a
 * person. A row opens the record: base / theirs / yours side by side with
 * the device, rep and time of each side, and the decision (keep theirs,
 * keep yours, set a value: POST conflicts/{id}/resolve), which the server
 * writes as a new change that syncs out to every device holding the row.
 *
 * "theirs" is what the store held when the write arrived, "yours" the
 * write that arrived (docs/ARCHITECTURE.md, conflict records). Devices are
 * named from GET devices (the rep of each side is its device's rep).
 */
'use strict';

(function () {
  let list = null;
  let detail = null;
  let devices = {};
  let current = null;

  const STATUS_TEXT = { open: 'open: needs a decision', auto: 'decided by a rule', resolved: 'resolved' };

  function shown(v) {
    if (v === null || v === undefined) return '(empty)';
    return typeof v === 'string' ? v : JSON.stringify(v);
  }

  function shortId(id) { return id ? String(id).slice(-8) : ''; }

  function deviceText(id) {
    if (!id) return 'the back office or the server';
    const d = devices[id];
    return d ? d.name + ' (' + d.rep_name + ')' : 'device ' + shortId(id);
  }

  async function loadDevices() {
    const r = await FS.api('GET', 'devices');
    devices = {};
    if (r.status !== 200) return;
    for (const d of FS.items(r.data)) devices[d.id] = d;
  }

  /* A hidden write (a write to a row someone deleted) is decided about the
   * delete: keep theirs = the delete stands, keep yours = restore. */
  function hiddenWrite(k) {
    return k.rule === 'delete_wins' && !k.yours_won && k.field && k.field !== '_deleted';
  }

  function side(title, value, dev, hlc, won, id) {
    const dl = FS.el('dl', { className: 'side-facts' },
      FS.el('dt', {}, 'Value'), FS.el('dd', { className: 'value', id: id + '-value' }, shown(value)));
    if (dev !== undefined) {
      dl.append(FS.el('dt', {}, 'Device (rep)'), FS.el('dd', { id: id + '-device' }, deviceText(dev)),
                FS.el('dt', {}, 'Written'), FS.el('dd', {}, FS.hlcTime(hlc)));
    }
    return FS.el('div', { className: 'side' + (won ? ' won' : ''), id: id },
      FS.el('h3', {}, title, won ? FS.el('span', { className: 'badge' }, 'in the store') : null), dl);
  }

  function resolve(k, choice, value) {
    const body = { choice: choice };
    if (value !== undefined) body.value = value;
    return FS.act('POST', 'conflicts/' + k.id + '/resolve', body, async function () {
      FS.say(FS.$('conflict-said'), 'Conflict ' + k.id + ' resolved (' +
        (choice === 'value' ? 'set to ' + shown(value) : 'kept ' + choice) + '); devices get it at their next sync.');
      const again = await reread(k.id, await list.load());
      if (again) open(again);
      else close();
    });
  }

  /* The record as it is now, after a decision here or elsewhere: from the
   * list just loaded, or among the resolved ones when the filter no longer
   * shows it (open only, decided by a rule); null when it is gone. */
  async function reread(id, data) {
    const again = FS.items(data).find(function (x) { return x.id === id; });
    if (again) return again;
    const r = await FS.api('GET', 'conflicts?status=resolved&limit=1000');
    if (r.status !== 200) return null;
    return FS.items(r.data).find(function (x) { return x.id === id; }) || null;
  }

  /* The typed text as the field's value: a number or true/false when the
   * record's values are of that kind, text otherwise. */
  function typedValue(k, text) {
    const sample = k.theirs !== null && k.theirs !== undefined ? k.theirs : k.yours;
    if (typeof sample === 'number') {
      const n = Number(text);
      return text.trim() === '' || isNaN(n) ? text : n;
    }
    if (typeof sample === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
    return text;
  }

  function close() {
    current = null;
    detail.replaceChildren();
    detail.hidden = true;
  }

  function open(k) {
    current = k;
    const hw = hiddenWrite(k);
    detail.replaceChildren();
    detail.hidden = false;
    detail.append(
      FS.el('h2', {}, 'Conflict ' + k.id + ': ' + k.entity + (k.field ? '.' + k.field : '')),
      FS.el('p', { className: 'muted' }, STATUS_TEXT[k.status] || k.status, ' \u00b7 rule ', k.rule,
        ' \u00b7 recorded ', FS.fmtTime(k.created_at), ' \u00b7 row ', FS.idText('', k.row)),
      FS.el('p', { id: 'conflict-customer' }),
      FS.el('p', { id: 'conflict-detail-text' }, k.detail || ''),
      FS.el('div', { className: 'sides' },
        side('Base (before both)', k.base, undefined, null, false, 'conflict-base'),
        side(hw ? 'Theirs (the delete)' : 'Theirs (what the store held)', k.theirs, k.theirs_device, k.theirs_hlc,
             !k.yours_won && k.status !== 'resolved', 'conflict-theirs'),
        side(hw ? 'Yours (the hidden write)' : 'Yours (the write that arrived)', k.yours, k.yours_device, k.yours_hlc,
             k.yours_won && k.status !== 'resolved', 'conflict-yours')));
    if (k.status === 'resolved') {
      let res = k.resolution;
      try { res = JSON.parse(k.resolution); } catch (e) { /* shown as stored */ }
      const what = res && res.choice ? res.choice + (res.choice === 'value' ? ' = ' + shown(res.value) : '') : String(k.resolution);
      detail.append(FS.el('p', { id: 'conflict-decision' }, 'Decided: ', what, ' by ', k.resolved_by || '?',
                          ', ', FS.fmtTime(k.resolved_at)));
    } else if (FS.state.me && FS.state.me.role !== 'viewer') {
      const input = FS.el('input', { id: 'conflict-value', type: 'text', placeholder: 'new value' });
      const form = FS.el('form', { className: 'decide', onsubmit: function (ev) {
        ev.preventDefault();
        resolve(k, 'value', typedValue(k, input.value));
      } },
        FS.el('button', { type: 'button', id: 'conflict-keep-theirs', onclick: function () { resolve(k, 'theirs'); } },
              hw ? 'Keep the delete' : 'Keep theirs'),
        FS.el('button', { type: 'button', id: 'conflict-keep-yours', onclick: function () { resolve(k, 'yours'); } },
              hw ? 'Restore the row' : 'Keep yours'),
        FS.el('label', { htmlFor: 'conflict-value' }, 'or set'), input,
        FS.el('button', { type: 'submit', id: 'conflict-set' }, 'Set value'));
      detail.append(form);
    }
    detail.append(FS.el('button', { type: 'button', id: 'conflict-close', onclick: close }, 'Close'));
    detail.dataset.conflict = String(k.id);
    detail.focus();
    if (k.entity === 'customer' && k.row) customerName(k);
  }

  /* The customer's name beside its id (a customer row's record). */
  async function customerName(k) {
    const r = await FS.api('GET', 'customers/' + k.row);
    if (r.status !== 200 || !r.data || !r.data.customer || current !== k) return;
    const p = FS.$('conflict-customer');
    if (p) p.replaceChildren('Customer ', FS.idText(r.data.customer.name, k.row));
  }

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
            options: [['open', 'open'], ['', 'all'], ['auto', 'decided by a rule'], ['resolved', 'resolved']] },
          { name: 'territory', label: 'Territory', type: 'text' },
          { name: 'from', label: 'From', type: 'date' },
          { name: 'to', label: 'To', type: 'date' },
        ],
        columns: [
          { title: 'When', sort: 'id', value: function (k) { return FS.fmtTime(k.created_at); } },
          { title: 'Status', value: function (k) { return k.status; } },
          { title: 'Row', value: function (k) { return k.entity + (k.field ? '.' + k.field : ''); } },
          { title: 'Theirs', value: function (k) { return shown(k.theirs); } },
          { title: 'Yours', value: function (k) { return shown(k.yours); } },
          { title: 'Writer', value: function (k) { return deviceText(k.yours_device); } },
          { title: 'Rule', value: function (k) { return k.rule; } },
          { title: 'Decided by', value: function (k) { return k.resolved_by || ''; } },
        ],
        rowClick: open,
      });
      detail = FS.el('div', { id: 'conflict-detail', className: 'panel', tabIndex: -1, hidden: true });
      sec.append(FS.el('h1', {}, 'Conflicts'),
                 FS.el('p', { id: 'conflict-said', className: 'said', attrs: { 'aria-live': 'polite' } }),
                 detail, list.node);
    },
    load: async function () {
      await loadDevices();
      const data = await list.load();
      if (current) {
        /* Re-drawn only when the record changed (a live refresh of an
         * unchanged record keeps the focus on its buttons); a record
         * decided elsewhere meanwhile stays open and shows that decision,
         * rather than vanishing from under the person reading it. */
        const shownNow = current;
        const again = await reread(shownNow.id, data);
        if (current !== shownNow) return; /* another record was opened meanwhile */
        if (!again) close();
        else if (JSON.stringify(again) !== JSON.stringify(current)) open(again);
      }
    },
  });
})();
