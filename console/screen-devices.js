/*
 * Devices: every enrolled device with its rep, when it enrolled and last
 * synced, the changes the server refused from it that are still open, and
 * whether it is revoked; "Revoke and wipe" (after a confirmation) revokes
 * it (POST devices/{id}/revoke): its next request is answered 401 with
 * wipe and the field client deletes its replica.
 *
 * Rejected changes are the device's open conflict records of rule scope or
 * invalid (GET conflicts?status=open), the changes its last syncs pushed
 * that the server refused and the device still shows as rejected.
 */
'use strict';

(function () {
  let list = null;
  let rejected = {};
  let said = null;

  async function loadRejected() {
    rejected = {};
    const r = await FS.api('GET', 'conflicts?status=open&limit=1000');
    if (r.status !== 200) return;
    for (const k of FS.items(r.data)) {
      if ((k.rule === 'scope' || k.rule === 'invalid') && k.yours_device)
        rejected[k.yours_device] = (rejected[k.yours_device] || 0) + 1;
    }
  }

  function revokeButton(d) {
    if (d.revoked || (FS.state.me && FS.state.me.role === 'viewer')) return '';
    const b = FS.el('button', { type: 'button', className: 'danger', dataset: { device: d.id },
                                attrs: { 'aria-label': 'Revoke and wipe ' + d.name } }, 'Revoke and wipe');
    b.addEventListener('click', function () {
      FS.confirm(b.parentNode, 'Revoke ' + d.name + ' (' + d.rep_name + ')? Its next sync deletes its replica, ' +
                 'including changes it has not pushed.', 'Yes, revoke and wipe', function () {
        return FS.act('POST', 'devices/' + d.id + '/revoke', {}, async function () {
          FS.say(said, 'Device ' + d.name + ' revoked: its next sync wipes it.');
          await list.load();
        });
      });
    });
    return b;
  }

  FS.register('devices', {
    title: 'Devices',
    build: function (sec) {
      said = FS.el('p', { id: 'device-said', className: 'said', attrs: { 'aria-live': 'polite' } });
      list = FS.list({
        id: 'device',
        path: 'devices',
        /* paged: the array the route answers today is shown whole, and a
         * {items,total} page (the list API's shape) pages. */
        empty: 'No device has enrolled.',
        columns: [
          { title: 'Device', value: function (d) { return FS.idText(d.name, d.id); } },
          { title: 'Rep', value: function (d) { return d.rep_name; } },
          { title: 'Enrolled', value: function (d) { return FS.fmtTime(d.created_at); } },
          { title: 'Last sync', value: function (d) { return d.last_seen ? FS.fmtTime(d.last_seen) : 'never'; } },
          { title: 'Rejected (open)', value: function (d) { return String(rejected[d.id] || 0); } },
          { title: 'Revoked', value: function (d) { return d.revoked ? FS.fmtTime(d.revoked_at) || 'yes' : 'no'; } },
          { title: '', value: revokeButton },
        ],
      });
      sec.append(FS.el('h1', {}, 'Devices'), said, list.node);
    },
    load: async function () {
      await loadRejected();
      return list.load();
    },
  });
})();
