/*
 * fieldsync console, the shell: builds a tab and a section for every screen
 * the screen-*.js files registered, signs in and out, and switches screens.
 * Loaded last (index.html), after core.js and the screens.
 */
'use strict';

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
  show(FS.screens[0].name);
}

async function start() {
  const nav = FS.$('nav');
  const main = FS.$('screens');
  for (const s of FS.screens) {
    nav.appendChild(FS.el('button', { type: 'button', className: 'tab', id: 'nav-' + s.name,
                                      onclick: function () { show(s.name); } }, s.title));
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
