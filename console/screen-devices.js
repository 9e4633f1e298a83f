/*
 * Devices: every enrolled device with its rep, when it enrolled and last
 * synced, the pending and rejected changes it reported at its last sync,
 * and whether it is revoked; "Revoke and wipe" (after a confirmation)
 * revokes it (POST devices/{id}/revoke): its next request is answered 401
 * with wipe and the field client deletes its replica.
 *
 * Pending and Rejected are the device's own counts (SyncRequest
 * outbox_pending and rejected_held, docs/PROTOCOL.md "Outbox report"):
 * changes still queued beyond its last request, and changes the server
 * refused that the rep has not fixed or dismissed. "—" = its client does
 * not report them (or it never synced), not 0. The server's records of
 * refused changes are on the Conflicts screen (filter by rep).
 */
'use strict';

(function () {
  let list = null;
  let said = null;

  /* A reported count, with the time of the report on hover. */
  function reported(d, n) {
    if (n === null || n === undefined) return FS.el('span', { title: 'not reported by this device' }, '—');
    return FS.el('span', { title: 'reported ' + FS.fmtTime(d.reported_at) }, String(n));
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
          { title: 'Enrolled', sort: 'created_at', value: function (d) { return FS.fmtTime(d.created_at); } },
          { title: 'Last sync', sort: 'last_seen', value: function (d) { return d.last_seen ? FS.fmtTime(d.last_seen) : 'never'; } },
          { title: 'Pending', sort: 'pending_changes', value: function (d) { return reported(d, d.pending_changes); } },
          { title: 'Rejected', sort: 'rejected_changes', value: function (d) { return reported(d, d.rejected_changes); } },
          { title: 'Revoked', value: function (d) { return d.revoked ? FS.fmtTime(d.revoked_at) || 'yes' : 'no'; } },
          { title: '', value: revokeButton },
        ],
      });
      sec.append(FS.el('h1', {}, 'Devices'), said, list.node);
    },
    load: function () {
      return list.load();
    },
  });
})();
