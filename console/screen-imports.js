/*
 * Imports (admin): upload a CSV or JSON file of customers, products or
 * purchases (POST import/KIND with its Content-Type). The server imports
 * all or nothing: when any row is bad the answer is 422 with every bad
 * row, shown here as a table of row numbers (CSV: the line as a
 * spreadsheet shows it, the header being 1; JSON: the object's 1-based
 * position) and reasons, and nothing was imported.
 *
 * The file is read in the page (FileReader) and sent as the request body;
 * the format follows the file's name (.json or .csv), or the choice made.
 */
'use strict';

(function () {
  let said = null;
  let result = null;

  function formatOf(file, chosen) {
    if (chosen !== 'auto') return chosen;
    return /\.json$/i.test(file.name) || file.type === 'application/json' ? 'json' : 'csv';
  }

  function showErrors(a, fmt) {
    const tbody = FS.el('tbody', { id: 'import-errors' });
    for (const e of a.errors || []) {
      const tr = FS.el('tr');
      FS.cell(tr, String(e.row));
      FS.cell(tr, e.error);
      tbody.appendChild(tr);
    }
    result.replaceChildren(
      FS.el('p', { id: 'import-outcome', className: 'error' }, 'Nothing imported: ' + (a.errors || []).length +
            ' of ' + a.rows + ' rows are bad. Fix them and upload the whole file again.'),
      FS.el('table', { className: 'list' },
        FS.el('thead', {}, FS.el('tr', {}, FS.el('th', {}, fmt === 'json' ? 'Item' : 'Line'), FS.el('th', {}, 'Reason'))),
        tbody));
  }

  async function upload(kind, file, fmt) {
    FS.showStatus('');
    result.replaceChildren();
    const body = await file.text();
    const headers = { 'Content-Type': fmt === 'json' ? 'application/json' : 'text/csv; charset=utf-8' };
    if (FS.state.csrf) headers['X-CSRF-Token'] = FS.state.csrf;
    const r = await fetch('/admin/v1/import/' + kind, { method: 'POST', credentials: 'same-origin', headers: headers, body: body });
    let a = null;
    try { a = await r.json(); } catch (e) { a = null; }
    if (r.status === 200 && a) {
      FS.say(said, file.name + ': ' + a.rows + ' rows imported (' + a.created + ' new, ' + a.updated + ' updated).');
      result.replaceChildren(FS.el('p', { id: 'import-outcome' }, 'Imported.'));
    } else if (r.status === 422 && a && a.errors) {
      FS.say(said, '');
      showErrors(a, fmt);
    } else {
      FS.failed({ status: r.status, data: a });
    }
    result.dataset.loaded = String(Date.now());
  }

  FS.register('imports', {
    title: 'Imports',
    roles: ['admin'],
    build: function (sec) {
      said = FS.el('p', { id: 'import-said', className: 'said', attrs: { 'aria-live': 'polite' } });
      result = FS.el('div', { id: 'import-result' });
      const kind = FS.el('select', { id: 'import-kind' },
        FS.el('option', { value: 'customers' }, 'customers'), FS.el('option', { value: 'products' }, 'products'),
        FS.el('option', { value: 'purchases' }, 'purchases'));
      const fmt = FS.el('select', { id: 'import-format' },
        FS.el('option', { value: 'auto' }, 'by file name'), FS.el('option', { value: 'csv' }, 'CSV'),
        FS.el('option', { value: 'json' }, 'JSON'));
      const file = FS.el('input', { id: 'import-file', type: 'file', required: true, accept: '.csv,.json,text/csv,application/json' });
      const form = FS.el('form', { className: 'inline', onsubmit: function (ev) {
        ev.preventDefault();
        if (!file.files.length) return;
        const f = file.files[0];
        upload(kind.value, f, formatOf(f, fmt.value));
      } },
        FS.el('label', { htmlFor: 'import-kind' }, 'Import'), kind,
        FS.el('label', { htmlFor: 'import-file' }, 'from'), file,
        FS.el('label', { htmlFor: 'import-format' }, 'format'), fmt,
        FS.el('button', { type: 'submit', id: 'import-go' }, 'Upload'));
      sec.append(FS.el('h1', {}, 'Imports'),
        FS.el('p', { className: 'muted' }, 'CSV with a header row of field names, or a JSON array of objects. ' +
              'A row with an id updates that row; without one it creates a row. All or nothing: one bad row and nothing is imported.'),
        form, said, result);
    },
    load: function () { return Promise.resolve(); },
  });
})();
