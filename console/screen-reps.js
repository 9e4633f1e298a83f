/*
 * Reps (admin): the team. Add a rep; issue an enrollment code (shown once,
 * with its expiry); add or remove a rep's territories; offboard a rep (to
 * another rep or to the pool, optionally draining its devices' outboxes
 * first; the answer's counts are shown) and reactivate one; assign a
 * customer to an owner or territory; the offboardings so far.
 *
 * Routes: GET reps, territories, offboards; POST reps, territories,
 * reps/{id}/territories, DELETE reps/{id}/territories/{code},
 * POST reps/{id}/enrollment-codes, reps/{id}/offboard, reps/{id}/reactivate,
 * customers/{id}/assign (docs/ADMIN-API.md). Every refusal shows the
 * server's text in the status line.
 */
'use strict';

(function () {
  let reps = [];
  let territories = [];
  let offboarded = {}; /* rep id -> its open offboarding */
  let list = null;
  let said = null;
  let panel = null;
  let offboards = null;

  function repName(id) {
    const r = reps.find(function (x) { return x.id === id; });
    return r ? r.name : id;
  }

  function select(id, options, label) {
    const s = FS.el('select', { id: id, attrs: { 'aria-label': label } });
    for (const o of options) s.appendChild(FS.el('option', { value: o[0] }, o[1]));
    return s;
  }

  async function refresh() {
    const [r, t, o] = await Promise.all([FS.api('GET', 'reps'), FS.api('GET', 'territories'), FS.api('GET', 'offboards')]);
    if (r.status !== 200) return FS.failed(r);
    reps = FS.items(r.data);
    territories = t.status === 200 ? FS.items(t.data) : [];
    offboarded = {};
    for (const ob of o.status === 200 ? FS.items(o.data) : []) {
      if (ob.reactivated_at === null) offboarded[ob.rep] = ob;
      else delete offboarded[ob.rep];
    }
    fillForms();
    await Promise.all([list.load(), offboards.load()]);
  }

  function done(text) {
    return async function () {
      FS.say(said, text);
      await refresh();
    };
  }

  /* The panel under the title: one rep's task at a time (a code, an
   * offboarding). */
  function showPanel() {
    panel.replaceChildren.apply(panel, arguments);
    panel.hidden = false;
  }

  async function issueCode(r) {
    await FS.act('POST', 'reps/' + r.id + '/enrollment-codes', {}, function (a) {
      const until = Date.now() + a.ttl_s * 1000;
      showPanel(FS.el('h2', {}, 'Enrollment code for ' + r.name),
        FS.el('p', {}, FS.el('span', { id: 'rep-code', className: 'secret' }, a.code)),
        FS.el('p', { id: 'rep-code-expiry' }, 'Valid until ' + FS.fmtTime(until) +
          ', for one device. It is shown only now: write it down or pass it on before closing.'),
        FS.el('button', { type: 'button', onclick: function () { panel.hidden = true; panel.replaceChildren(); } }, 'Close'));
      FS.say(said, 'Enrollment code issued for ' + r.name + '.');
    });
  }

  function offboard(r) {
    const others = reps.filter(function (x) { return x.id !== r.id && !offboarded[x.id]; });
    const to = select('offboard-to', [['pool', 'the public pool']].concat(others.map(function (x) { return [x.id, x.name]; })),
                      'Customers go to');
    const drain = FS.el('input', { type: 'checkbox', id: 'offboard-drain' });
    const result = FS.el('p', { id: 'offboard-result' });
    const go = FS.el('button', { type: 'button', className: 'danger', id: 'offboard-go' }, 'Offboard ' + r.name);
    const form = FS.el('div', { className: 'inline' },
      FS.el('label', { htmlFor: 'offboard-to' }, 'Customers go to'), to,
      drain, FS.el('label', { htmlFor: 'offboard-drain' }, 'let its devices push their outbox once before the wipe'), go);
    go.addEventListener('click', function () {
      FS.confirm(form, 'Offboard ' + r.name + '? Its territories and codes are removed and its devices revoked.',
                 'Yes, offboard', function () {
          return FS.act('POST', 'reps/' + r.id + '/offboard', { to: to.value, drain: drain.checked }, async function (a) {
            result.textContent = r.name + ' offboarded: ' + a.customers_moved + ' customers moved, ' +
              a.territories_removed + ' territories removed, ' + a.devices_revoked + ' devices revoked, ' +
              a.codes_voided + ' codes voided' + (a.drain ? ', devices drain first.' : '.');
            go.disabled = true;
            await done('Offboarded ' + r.name + '.')();
          });
        });
    });
    showPanel(FS.el('h2', {}, 'Offboard ' + r.name),
      FS.el('p', { className: 'muted' }, 'Owns its customers until now; they move in short steps, so devices keep syncing meanwhile.'),
      form, result,
      FS.el('button', { type: 'button', onclick: function () { panel.hidden = true; panel.replaceChildren(); } }, 'Close'));
    to.focus();
  }

  function territoryCell(r) {
    const span = FS.el('span', { className: 'chips' });
    for (const code of r.territories || []) {
      span.appendChild(FS.el('span', { className: 'chip' }, code,
        FS.el('button', { type: 'button', className: 'chip-x', attrs: { 'aria-label': 'Remove ' + r.name + ' from ' + code },
          onclick: function () {
            FS.act('DELETE', 'reps/' + r.id + '/territories/' + encodeURIComponent(code), undefined,
                   done(r.name + ' left ' + code + '.'));
          } }, '\u00d7')));
    }
    if (offboarded[r.id]) return span;
    const free = territories.filter(function (t) { return (r.territories || []).indexOf(t.code) < 0; });
    if (free.length) {
      /* A select and a button, not a select that acts on change: arrowing
       * through a closed select fires change at every step. */
      const s = select('', free.map(function (t) { return [t.code, t.code]; }), 'Territory to add ' + r.name + ' to');
      const add = FS.el('button', { type: 'button', className: 'terr-add', onclick: function () {
        FS.act('POST', 'reps/' + r.id + '/territories', { territory: s.value }, done(r.name + ' joined ' + s.value + '.'));
      } }, 'Add');
      span.append(s, add);
    }
    return span;
  }

  function actions(r) {
    const cell = FS.el('span', { className: 'inline' });
    if (offboarded[r.id]) {
      cell.appendChild(FS.el('button', { type: 'button', onclick: function () {
        FS.act('POST', 'reps/' + r.id + '/reactivate', {}, done(r.name + ' is active again.'));
      } }, 'Reactivate'));
    } else {
      cell.append(FS.el('button', { type: 'button', onclick: function () { issueCode(r); } }, 'Enrollment code'),
                  FS.el('button', { type: 'button', onclick: function () { offboard(r); } }, 'Offboard\u2026'));
    }
    return cell;
  }

  let repSel = null;
  let terrSel = null;
  function fillForms() {
    if (!repSel) return;
    repSel.replaceChildren(FS.el('option', { value: '' }, '(owner unchanged)'), FS.el('option', { value: '-' }, 'nobody (pool)'));
    for (const r of reps) if (!offboarded[r.id]) repSel.appendChild(FS.el('option', { value: r.id }, r.name));
    terrSel.replaceChildren(FS.el('option', { value: '' }, '(territory unchanged)'));
    for (const t of territories) terrSel.appendChild(FS.el('option', { value: t.code }, t.code + ' \u2013 ' + (t.name || '')));
  }

  function forms() {
    const name = FS.el('input', { id: 'rep-new-name', required: true, placeholder: 'name' });
    const email = FS.el('input', { id: 'rep-new-email', type: 'email', placeholder: 'email (optional)' });
    const addRep = FS.el('form', { className: 'inline', onsubmit: function (ev) {
      ev.preventDefault();
      const body = { name: name.value.trim() };
      if (email.value.trim()) body.email = email.value.trim();
      FS.act('POST', 'reps', body, async function () {
        const n = body.name;
        name.value = '';
        email.value = '';
        await done('Rep ' + n + ' added: issue an enrollment code for their device.')();
      });
    } }, FS.el('label', { htmlFor: 'rep-new-name' }, 'New rep'), name, email,
      FS.el('button', { type: 'submit', id: 'rep-add' }, 'Add rep'));

    const code = FS.el('input', { id: 'territory-new-code', required: true, placeholder: 'code', size: 8 });
    const tname = FS.el('input', { id: 'territory-new-name', placeholder: 'name (optional)' });
    const addTerr = FS.el('form', { className: 'inline', onsubmit: function (ev) {
      ev.preventDefault();
      const body = { code: code.value.trim() };
      if (tname.value.trim()) body.name = tname.value.trim();
      FS.act('POST', 'territories', body, async function () {
        code.value = '';
        tname.value = '';
        await done('Territory ' + body.code + ' added.')();
      });
    } }, FS.el('label', { htmlFor: 'territory-new-code' }, 'New territory'), code, tname,
      FS.el('button', { type: 'submit' }, 'Add territory'));

    const cust = FS.el('input', { id: 'assign-customer', required: true, placeholder: 'customer id (copy it from Customers)', size: 38 });
    repSel = FS.el('select', { id: 'assign-owner', attrs: { 'aria-label': 'New owner' } });
    terrSel = FS.el('select', { id: 'assign-territory', attrs: { 'aria-label': 'New territory' } });
    const assign = FS.el('form', { className: 'inline', onsubmit: function (ev) {
      ev.preventDefault();
      const body = {};
      if (repSel.value) body.owner_rep = repSel.value === '-' ? '' : repSel.value;
      if (terrSel.value) body.territory = terrSel.value;
      FS.act('POST', 'customers/' + encodeURIComponent(cust.value.trim()) + '/assign', body, async function () {
        cust.value = '';
        await done('Customer assigned.')();
      });
    } }, FS.el('label', { htmlFor: 'assign-customer' }, 'Assign customer'), cust, repSel, terrSel,
      FS.el('button', { type: 'submit', id: 'assign-go' }, 'Assign'));
    return [addRep, addTerr, assign];
  }

  FS.register('reps', {
    title: 'Reps',
    roles: ['admin'],
    build: function (sec) {
      said = FS.el('p', { id: 'rep-said', className: 'said', attrs: { 'aria-live': 'polite' } });
      panel = FS.el('div', { id: 'rep-panel', className: 'panel', hidden: true });
      list = FS.list({
        id: 'rep',
        path: 'reps',
        paged: false,
        empty: 'No reps yet.',
        columns: [
          { title: 'Rep', value: function (r) { return FS.idText(r.name, r.id); } },
          { title: 'Email', value: function (r) { return r.email || ''; } },
          { title: 'Territories', value: territoryCell },
          { title: 'Devices', value: function (r) { return String(r.devices); } },
          { title: 'State', value: function (r) { return offboarded[r.id] ? 'offboarded ' + FS.fmtTime(offboarded[r.id].at) : 'active'; } },
          { title: '', value: actions },
        ],
      });
      offboards = FS.list({
        id: 'offboard',
        path: 'offboards',
        paged: false,
        empty: 'No rep was offboarded.',
        columns: [
          { title: 'When', value: function (o) { return FS.fmtTime(o.at); } },
          { title: 'Rep', value: function (o) { return o.rep_name || repName(o.rep); } },
          { title: 'To', value: function (o) { return o.to === 'pool' ? 'the pool' : repName(o.to); } },
          { title: 'Customers', value: function (o) { return String(o.customers_moved); } },
          { title: 'Devices', value: function (o) { return String(o.devices_revoked); } },
          { title: 'Drained', value: function (o) { return o.drain ? String(o.changes_drained) + ' changes' : 'no'; } },
          { title: 'By', value: function (o) { return o.by || ''; } },
          { title: 'Reactivated', value: function (o) { return FS.fmtTime(o.reactivated_at); } },
        ],
      });
      FS.noCsv(list);
      FS.noCsv(offboards);
      const f = forms();
      sec.append(FS.el('h1', {}, 'Reps and territories'), said, panel, f[0], f[1], f[2], list.node,
                 FS.el('h2', {}, 'Offboardings'), offboards.node);
    },
    load: refresh,
  });
})();
