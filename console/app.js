/*
 * fieldsync console, the shell: builds a tab and a section for every screen
 * the screen-*.js files registered, signs in and out, and switches screens.
 * Loaded last (index.html), after core.js and the screens.
 *
 * The bar holds one row at 1366 px: the screens of the daily work are tabs,
 * and a screen registered with menu: 'Label' (or, by default, one only
 * admins see: the team and set-up screens) is an entry of that label's
 * menu at the end of the tabs. A menu is a disclosure: a real button with
 * aria-expanded and aria-controls opening a list of the same tab buttons
 * (Tab moves through them, Enter opens one, Escape closes the list and
 * returns to its button); it is hidden when the role sees none of its
 * screens, and marked while one of them is shown.
 */
'use strict';

function menuOf(s) {
  if (s.menu !== undefined) return s.menu;
  return s.roles && s.roles.length === 1 && s.roles[0] === 'admin' ? 'Admin' : null;
}

const menus = [];

function setOpen(m, open) {
  m.list.hidden = !open;
  m.button.setAttribute('aria-expanded', open ? 'true' : 'false');
}

function closeMenus() {
  for (const m of menus) setOpen(m, false);
}

function menuFor(nav, label) {
  let m = menus.find(function (x) { return x.label === label; });
  if (m) return m;
  const id = 'nav-menu-' + label.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const list = FS.el('ul', { id: id + '-list', className: 'menu-list', hidden: true });
  const button = FS.el('button', { type: 'button', className: 'tab menu', id: id,
                                   attrs: { 'aria-expanded': 'false', 'aria-controls': list.id } }, label);
  const box = FS.el('div', { className: 'menu-box' }, button, list);
  m = { label: label, button: button, list: list, box: box, screens: [] };
  button.addEventListener('click', function () { setOpen(m, list.hidden); });
  box.addEventListener('keydown', function (ev) {
    if (ev.key !== 'Escape' || list.hidden) return;
    setOpen(m, false);
    button.focus();
  });
  /* Focus or a click leaving the menu closes it. */
  box.addEventListener('focusout', function (ev) {
    if (!box.contains(ev.relatedTarget)) setOpen(m, false);
  });
  nav.appendChild(box);
  menus.push(m);
  return m;
}

function visibleScreens() {
  const role = FS.state.me ? FS.state.me.role : null;
  return FS.screens.filter(function (s) { return !s.roles || s.roles.indexOf(role) >= 0; });
}

function show(name) {
  const loggedIn = FS.state.me !== null;
  FS.$('bar').hidden = !loggedIn;
  FS.$('login-screen').hidden = loggedIn;
  const allowed = visibleScreens();
  if (!allowed.some(function (s) { return s.name === name; })) name = allowed.length ? allowed[0].name : null;
  for (const s of FS.screens) {
    const on = allowed.indexOf(s) >= 0;
    FS.$('nav-' + s.name).hidden = !on;
    FS.$(s.name + '-screen').hidden = !loggedIn || s.name !== name;
    if (s.name === name) FS.$('nav-' + s.name).setAttribute('aria-current', 'page');
    else FS.$('nav-' + s.name).removeAttribute('aria-current');
  }
  closeMenus();
  for (const m of menus) {
    const mine = m.screens.filter(function (s) { return allowed.indexOf(s) >= 0; });
    m.box.hidden = mine.length === 0;
    for (const s of m.screens) FS.$('nav-' + s.name).parentNode.hidden = allowed.indexOf(s) < 0;
    if (mine.some(function (s) { return s.name === name; })) m.button.dataset.current = 'true';
    else delete m.button.dataset.current;
  }
  if (!loggedIn) { FS.$('login-name').focus(); return; }
  FS.state.screen = name;
  FS.showStatus('');
  const def = FS.screens.find(function (s) { return s.name === name; });
  if (def) def.load();
}
FS.show = show;

FS.failed = function (r) {
  if (r.status === 401) { FS.state.me = null; FS.state.csrf = null; show(null); return; }
  FS.showStatus((r.data && r.data.error) || ('request failed: HTTP ' + r.status));
};

function signedIn(me) {
  FS.state.me = me;
  FS.state.csrf = me.csrf;
  FS.$('who').textContent = (me.user || 'token') + ' (' + me.role + ')';
  FS.$('who').title = FS.$('who').textContent;
  show(FS.screens[0].name);
}

async function start() {
  const nav = FS.$('nav');
  const main = FS.$('screens');
  for (const s of FS.screens) {
    const tab = FS.el('button', { type: 'button', className: 'tab', id: 'nav-' + s.name,
                                  onclick: function () { show(s.name); } }, s.title);
    const label = menuOf(s);
    if (label) {
      const m = menuFor(nav, label);
      m.screens.push(s);
      /* The entry is hidden with its list: the focus goes to the menu's
       * button, not to the page's start. */
      tab.addEventListener('click', function () { m.button.focus(); });
      m.list.appendChild(FS.el('li', {}, tab));
    } else {
      nav.appendChild(tab);
    }
    const sec = FS.el('section', { id: s.name + '-screen', hidden: true });
    s.build(sec);
    main.appendChild(sec);
  }
  FS.$('login-form').addEventListener('submit', async function (ev) {
    ev.preventDefault();
    FS.$('login-error').textContent = '';
    const r = await FS.api('POST', 'login', { name: FS.$('login-name').value, password: FS.$('login-password').value });
    FS.$('login-password').value = '';
    if (r.status === 200) signedIn(r.data);
    else FS.$('login-error').textContent = (r.data && r.data.error) || ('login failed: HTTP ' + r.status);
  });
  FS.$('logout').addEventListener('click', async function () {
    await FS.api('POST', 'logout');
    FS.state.me = null;
    FS.state.csrf = null;
    show(null);
  });
  FS.startLive(); /* Today and Conflicts follow syncs (core.js) */
  /* A visitor without a session gets the login page; GET me says which. */
  const r = await FS.api('GET', 'me');
  if (r.status === 200) signedIn(r.data);
  else show(null);
}

document.addEventListener('DOMContentLoaded', start);
