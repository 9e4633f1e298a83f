/*
 * Pool (admin): the customers without an owner (GET pool) with an
 * "assign to" per customer (POST customers/{id}/assign), the claims the
 * server judged (GET claims), and the likely duplicates (GET duplicates)
 * with a merge after a confirmation (POST customers/{a}/merge: the first
 * of the pair survives; the answer's counts are shown).
 */
'use strict';

(function () {
  let reps = [];
  let pool = null;
  let claims = null;
  let dups = null;
  let said = null;

  /* A select and a button (a select acting on change would act at every
   * arrow key). */
  function assignCell(c) {
    const s = FS.el('select', { attrs: { 'aria-label': 'New owner of ' + c.name } });
    for (const r of reps) s.appendChild(FS.el('option', { value: r.id }, r.name));
    const go = FS.el('button', { type: 'button', className: 'pool-assign', onclick: function () {
      const who = s.options[s.selectedIndex].textContent;
      FS.act('POST', 'customers/' + c.id + '/assign', { owner_rep: s.value }, async function () {
        FS.say(said, c.name + ' now belongs to ' + who + '.');
        await pool.load();
      });
    } }, 'Assign');
    return FS.el('span', { className: 'inline' }, s, go);
  }

  function mergeCell(d) {
    const b = FS.el('button', { type: 'button', className: 'danger' }, 'Merge\u2026');
    b.addEventListener('click', function () {
      FS.confirm(b.parentNode, 'Merge "' + d.b_name + '" into "' + d.a_name + '"? The first keeps its values; ' +
                 'everything under the second moves to it.', 'Yes, merge', function () {
        return FS.act('POST', 'customers/' + d.a + '/merge', { duplicates: [d.b] }, async function (a) {
          FS.say(said, 'Merged ' + d.b_name + ' into ' + d.a_name + ': ' + a.children_moved + ' rows moved, ' +
                 a.fields_filled + ' empty fields filled.');
          await Promise.all([dups.load(), pool.load()]);
        });
      });
    });
    return b;
  }

  FS.register('pool', {
    title: 'Pool',
    roles: ['admin'],
    build: function (sec) {
      said = FS.el('p', { id: 'pool-said', className: 'said', attrs: { 'aria-live': 'polite' } });
      pool = FS.list({
        id: 'pool', path: 'pool', paged: false, empty: 'Every customer has an owner.',
        columns: [
          { title: 'Customer', value: function (c) { return FS.idText(c.name, c.id); } },
          { title: 'Territory', value: function (c) { return c.territory || ''; } },
          { title: 'In the pool since', value: function (c) { return c.pooled_at ? FS.fmtTime(c.pooled_at) : 'never owned'; } },
          { title: 'Former owner', value: function (c) { return FS.repName(reps, c.former_owner); } },
          { title: '', value: assignCell },
        ],
      });
      claims = FS.list({
        id: 'claim', path: 'claims', paged: false, empty: 'No claims yet.',
        params: function () { return { limit: '200' }; },
        columns: [
          { title: 'When', value: function (k) { return FS.fmtTime(k.at); } },
          { title: 'Customer', value: function (k) { return k.customer_name || k.customer; } },
          { title: 'Rep', value: function (k) { return k.rep_name || k.rep; } },
          { title: 'Outcome', value: function (k) { return k.outcome; } },
          { title: 'Why', value: function (k) { return k.detail || ''; } },
        ],
      });
      dups = FS.list({
        id: 'dup', path: 'duplicates', paged: false, empty: 'No likely duplicates.',
        columns: [
          { title: 'Keep', value: function (d) { return FS.idText(d.a_name, d.a); } },
          { title: 'Merge into it', value: function (d) { return FS.idText(d.b_name, d.b); } },
          { title: 'Score', value: function (d) { return String(d.score); } },
          { title: 'Why', value: function (d) { return Array.isArray(d.reasons) ? d.reasons.join(', ') : String(d.reasons || ''); } },
          { title: '', value: mergeCell },
        ],
      });
      for (const l of [pool, claims, dups]) FS.noCsv(l);
      sec.append(FS.el('h1', {}, 'Public pool'), said, pool.node,
                 FS.el('h2', {}, 'Likely duplicates'), dups.node,
                 FS.el('h2', {}, 'Claims'), claims.node);
    },
    load: async function () {
      const r = await FS.api('GET', 'reps');
      reps = r.status === 200 ? FS.items(r.data) : [];
      await Promise.all([pool.load(), dups.load(), claims.load()]);
    },
  });
})();
