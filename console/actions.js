/*
 * fieldsync console, actions: what the screens that change things share
 * (Conflicts, Devices, Reps, Users, Imports), loaded after core.js.
 *
 * - FS.idText(name, id): a name with its id beside it, in a <code> the
 *   viewer selects with one click (user-select: all) to copy;
 * - FS.hlcTime(hlc): the wall time of an HLC stamp (48 bits of Unix ms
 *   above a 16-bit counter, docs/PROTOCOL.md);
 * - FS.act(method, path, body, done): a state-changing request; a refusal
 *   shows the server's own error text in the status line, success calls
 *   done(answer) (FS.api sends the CSRF token);
 * - FS.confirm(host, question, yesLabel, onYes): an inline confirmation
 *   in host (not window.confirm: stays in the page, keyboard usable, the
 *   focus goes to Cancel so Enter alone never destroys anything);
 * - FS.items(answer): the rows of a list answer, {items,...} or an array;
 * - FS.noCsv(list): drops the CSV link of a list whose route has none;
 * - FS.repName(reps, id): a rep's name.
 */
'use strict';

FS.idText = function (name, id) {
  const span = FS.el('span', { className: 'named' });
  if (name !== null && name !== undefined && name !== '') span.appendChild(document.createTextNode(String(name) + ' '));
  if (id) {
    /* The whole id is in the element (selected with one click, copied
     * whole); only its distinctive end shows: UUIDv7 ids begin with
     * their time, alike for rows made together. */
    const s = String(id);
    const cut = Math.max(0, s.length - 8);
    span.appendChild(FS.el('code', { className: 'id', title: 'id ' + s + ' (click to select, then copy)' },
                           FS.el('span', { className: 'id-head' }, s.slice(0, cut)), s.slice(cut)));
  }
  return span;
};

FS.hlcTime = function (hlc) {
  if (hlc === null || hlc === undefined) return '';
  /* The JSON number loses its low bits above 2^53; the milliseconds do not. */
  return FS.fmtTime(Math.floor(Number(hlc) / 65536));
};

FS.items = function (data) {
  if (!data) return [];
  return Array.isArray(data) ? data : (data.items || []);
};

FS.act = async function (method, path, body, done) {
  FS.showStatus('');
  const r = await FS.api(method, path, body);
  if (r.status >= 200 && r.status < 300) {
    if (done) await done(r.data);
    return r;
  }
  FS.failed(r);
  return r;
};

FS.confirm = function (host, question, yesLabel, onYes) {
  const box = FS.el('div', { className: 'confirm', attrs: { role: 'alertdialog', 'aria-label': question } });
  const cancel = FS.el('button', { type: 'button', className: 'confirm-no', onclick: function () { box.remove(); } }, 'Cancel');
  const yes = FS.el('button', { type: 'button', className: 'danger confirm-yes', onclick: async function () {
    yes.disabled = true;
    cancel.disabled = true;
    await onYes();
    box.remove();
  } }, yesLabel);
  box.append(FS.el('span', {}, question), yes, cancel);
  box.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') box.remove(); });
  for (const old of host.querySelectorAll('.confirm')) old.remove();
  host.appendChild(box);
  cancel.focus();
  return box;
};

/* Shows a result (a sentence) in a screen's own message line, as text. */
FS.say = function (node, text) {
  node.textContent = text;
  node.dataset.said = String(Date.now());
};

/* A list whose route has no CSV form: drop FS.list's CSV link. */
FS.noCsv = function (list) {
  const a = list.node.querySelector('a[download]');
  if (a) a.remove();
  const form = list.node.querySelector('form.filters');
  if (form && !form.querySelector('input, select')) form.remove();
};

/* A rep's name from a list of reps (GET reps), its id when unknown. */
FS.repName = function (reps, id) {
  if (!id) return '';
  const r = reps.find(function (x) { return x.id === id; });
  return r ? r.name : id;
};
