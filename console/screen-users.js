/*
 * Users (admin): the back-office accounts (GET users), a form to add one
 * with its role and territories (POST users: a manager or viewer needs at
 * least one territory, an admin none; the server says so when not), and
 * per account: disable or enable (POST users/{name}/disable|enable, which
 * ends its sessions) and a new password (POST users/{name}/password).
 * Passwords never come back from the server and are cleared from the
 * form once sent.
 */
'use strict';

(function () {
  let list = null;
  let said = null;
  let terrBox = null;

  function accountActions(u) {
    const cell = FS.el('span', { className: 'inline' });
    if (FS.state.me && FS.state.me.user === u.name) return FS.el('span', { className: 'muted' }, 'you');
    const toggle = FS.el('button', { type: 'button', className: u.disabled ? '' : 'danger',
                                     dataset: { user: u.name } }, u.disabled ? 'Enable' : 'Disable');
    toggle.addEventListener('click', function () {
      const verb = u.disabled ? 'enable' : 'disable';
      const run = function () {
        return FS.act('POST', 'users/' + encodeURIComponent(u.name) + '/' + verb, {}, async function () {
          FS.say(said, 'Account ' + u.name + (u.disabled ? ' enabled.' : ' disabled: its sessions are ended.'));
          await list.load();
        });
      };
      if (u.disabled) run();
      else FS.confirm(cell, 'Disable ' + u.name + '? Its sessions end now.', 'Yes, disable', run);
    });
    const pw = FS.el('input', { type: 'password', placeholder: 'new password', autocomplete: 'new-password',
                                attrs: { 'aria-label': 'New password for ' + u.name } });
    const set = FS.el('button', { type: 'button' }, 'Set password');
    set.addEventListener('click', function () {
      const value = pw.value;
      pw.value = '';
      FS.act('POST', 'users/' + encodeURIComponent(u.name) + '/password', { password: value }, function () {
        FS.say(said, 'New password set for ' + u.name + '; its sessions are ended.');
      });
    });
    cell.append(toggle, pw, set);
    return cell;
  }

  async function loadTerritories() {
    const r = await FS.api('GET', 'territories');
    terrBox.replaceChildren(FS.el('legend', {}, 'Territories (manager, viewer)'));
    for (const t of r.status === 200 ? FS.items(r.data) : []) {
      const id = 'user-new-terr-' + t.code;
      terrBox.append(FS.el('input', { type: 'checkbox', id: id, value: t.code }),
                     FS.el('label', { htmlFor: id }, t.code));
    }
  }

  function addForm() {
    const name = FS.el('input', { id: 'user-new-name', required: true, placeholder: 'name', autocomplete: 'off' });
    const role = FS.el('select', { id: 'user-new-role', attrs: { 'aria-label': 'Role' } },
      FS.el('option', { value: 'manager' }, 'manager'), FS.el('option', { value: 'viewer' }, 'viewer'),
      FS.el('option', { value: 'admin' }, 'admin'));
    const pw = FS.el('input', { id: 'user-new-password', type: 'password', required: true, placeholder: 'password (8 or more)',
                                autocomplete: 'new-password', attrs: { 'aria-label': 'Password' } });
    terrBox = FS.el('fieldset', { className: 'inline', id: 'user-new-territories' });
    return FS.el('form', { className: 'inline', id: 'user-new', onsubmit: function (ev) {
      ev.preventDefault();
      const terr = Array.from(terrBox.querySelectorAll('input:checked')).map(function (c) { return c.value; });
      const body = { name: name.value.trim(), role: role.value, territories: terr, password: pw.value };
      pw.value = '';
      FS.act('POST', 'users', body, async function () {
        FS.say(said, 'Account ' + body.name + ' (' + body.role + ') added.');
        name.value = '';
        for (const c of terrBox.querySelectorAll('input')) c.checked = false;
        await list.load();
      });
    } }, FS.el('label', { htmlFor: 'user-new-name' }, 'New account'), name, role, pw, terrBox,
      FS.el('button', { type: 'submit', id: 'user-add' }, 'Add account'));
  }

  FS.register('users', {
    title: 'Users',
    roles: ['admin'],
    build: function (sec) {
      said = FS.el('p', { id: 'user-said', className: 'said', attrs: { 'aria-live': 'polite' } });
      list = FS.list({
        id: 'user', path: 'users', paged: false, empty: 'No accounts.',
        columns: [
          { title: 'Name', value: function (u) { return u.name; } },
          { title: 'Role', value: function (u) { return u.role; } },
          { title: 'Territories', value: function (u) { return (u.territories || []).join(', ') || (u.role === 'admin' ? 'all' : ''); } },
          { title: 'Created', value: function (u) { return FS.fmtTime(u.created_at); } },
          { title: 'State', value: function (u) { return u.disabled ? 'disabled' : 'active'; } },
          { title: '', value: accountActions },
        ],
      });
      FS.noCsv(list);
      sec.append(FS.el('h1', {}, 'Back-office accounts'), said, addForm(), list.node);
    },
    load: async function () {
      await loadTerritories();
      return list.load();
    },
  });
})();
