/*
 * The customer page (a customer clicked in Customers, or in a value
 * report): GET customers/{id} - the customer's fields with the value
 * analysis (grade, core, RFM, risk and its reason), contacts, the
 * timeline of visits (each opens the visit page), quotes with their
 * totals, contracts with their e-sign status, tasks, tickets and the
 * conflict records. Rep ids are shown by name (GET reps).
 */
'use strict';

(function () {
  function byTimeDesc(key) {
    return function (a, b) { return (b[key] || 0) - (a[key] || 0); };
  }

  function visitTime(v) {
    return v.checkin_at !== null ? v.checkin_at : v.checkout_at !== null ? v.checkout_at : v.planned_at;
  }

  function yesNo(b) { return b === null || b === undefined ? '' : b ? 'yes' : 'no'; }

  /* A promise of the page's node, or null when the customer is not there
   * (or not the viewer's: the server answers both with 404). */
  FS.customerPage = async function (id, pages) {
    const [r, reps] = await Promise.all([FS.api('GET', 'customers/' + encodeURIComponent(id)), FS.repNames()]);
    if (r.status !== 200) { FS.failed(r); return null; }
    const d = r.data, c = d.customer;
    const rep = function (rid) { return rid ? FS.named(reps[rid] || rid, rid) : ''; };

    /* A visit of this page in the shape the visit page takes (GET visits'). */
    function asVisit(v) {
      return {
        id: v.id, customer_id: c.id, customer_name: c.name, rep_id: v.rep_id,
        rep_name: reps[v.rep_id] || v.rep_id, status: v.status, outcome: v.outcome,
        verification: v.verification, time_check: v.time_check, planned_at: v.planned_at,
        checkin_at: v.checkin_at, checkout_at: v.checkout_at, checkin_lat: v.checkin_lat,
        checkin_lon: v.checkin_lon, customer_lat: c.lat, customer_lon: c.lon, distance_m: v.distance_m,
      };
    }

    const visits = d.visits.map(function (v) { v._t = visitTime(v); return v; }).sort(byTimeDesc('_t'));
    const openTickets = d.tickets.filter(function (t) { return t.status === 'open' || t.status === 'in_progress' || !t.status; });

    return FS.el('div', { id: 'customer-detail' },
      FS.el('h2', { title: 'customer id ' + c.id }, c.name || c.id),
      FS.facts('customer-facts', [
        ['Territory', c.territory, 'territory'],
        ['Owner', rep(c.owner_rep), 'owner'],
        ['Segment', c.segment, 'segment'],
        ['Phone', c.phone, 'phone'],
        ['Address', c.address, 'address'],
        ['Tags', c.tags, 'tags'],
        ['Grade', c.grade, 'grade'],
        ['Core customer', yesNo(c.core), 'core'],
        ['RFM', c.rfm, 'rfm'],
        ['Risk', c.risk ? FS.flag(c.risk, 'none') : '', 'risk'],
        ['Risk reason', c.risk_reason, 'risk_reason'],
        ['Lost', c.lost_reason ? c.lost_reason + ' (' + FS.fmtTime(c.lost_at) + ')' : '', 'lost'],
        ['Open tickets', String(openTickets.length), 'open_tickets'],
        ['Customer id', c.id, 'id'],
      ]),
      FS.el('h3', {}, 'Contacts'),
      FS.table('cust-contacts', [
        { title: 'Name', value: function (k) { return FS.named(k.name, k.id); } },
        { title: 'Title', value: function (k) { return k.title; } },
        { title: 'Phone', value: function (k) { return k.phone; } },
        { title: 'Email', value: function (k) { return k.email; } },
      ], d.contacts, 'No contacts.'),
      FS.el('h3', {}, 'Visits'),
      FS.table('cust-visits', [
        { title: 'When', value: function (v) { return FS.fmtTime(v._t); } },
        { title: 'Rep', value: function (v) { return rep(v.rep_id); } },
        { title: 'Status', value: function (v) { return v.status; } },
        { title: 'Outcome', value: function (v) { return v.outcome; } },
        { title: 'Verification', value: function (v) { return FS.flag(v.verification, 'verified'); } },
        { title: 'Distance', value: function (v) { return FS.fmtDistance(v.distance_m); } },
      ], visits, 'No visits.', function (v) { pages.show(FS.visitPage(asVisit(v))); }),
      FS.el('h3', {}, 'Quotes'),
      FS.table('cust-quotes', [
        { title: 'Quote', value: function (q) { return FS.named(q.id.slice(-8), q.id); } },
        { title: 'Status', value: function (q) { return q.status || 'draft'; } },
        { title: 'Rep', value: function (q) { return rep(q.rep_id); } },
        { title: 'Lines', value: function (q) { return q.lines; } },
        { title: 'Subtotal', value: function (q) { return FS.fmtMoney(q.subtotal, q.currency); } },
        { title: 'Discount', value: function (q) { return FS.fmtMoney(q.discount_amount, q.currency); } },
        { title: 'Total', value: function (q) { return FS.fmtMoney(q.total, q.currency); } },
        { title: 'Valid until', value: function (q) { return FS.fmtTime(q.valid_until); } },
      ], d.quotes, 'No quotes.'),
      FS.el('h3', {}, 'Contracts'),
      FS.table('cust-contracts', [
        { title: 'Contract', value: function (k) { return FS.named(k.id.slice(-8), k.id); } },
        { title: 'Amount', value: function (k) { return FS.fmtMoney(k.amount, k.currency); } },
        { title: 'E-sign status', value: function (k) { return k.esign_status || 'draft'; } },
        { title: 'Status changed', value: function (k) { return FS.fmtTime(k.status_changed_at); } },
        { title: 'Signed', value: function (k) { return FS.fmtTime(k.signed_at); } },
      ], d.contracts, 'No contracts.'),
      FS.el('h3', {}, 'Tasks'),
      FS.table('cust-tasks', [
        { title: 'Due', value: function (t) { return FS.fmtTime(t.due_at); } },
        { title: 'Title', value: function (t) { return t.title; } },
        { title: 'Kind', value: function (t) { return t.kind; } },
        { title: 'Rep', value: function (t) { return rep(t.rep_id); } },
        { title: 'Done', value: function (t) { return yesNo(t.done); } },
      ], d.tasks.sort(byTimeDesc('due_at')), 'No tasks.'),
      FS.el('h3', {}, 'Tickets'),
      FS.table('cust-tickets', [
        { title: 'Opened', value: function (t) { return FS.fmtTime(t.opened_at); } },
        { title: 'Subject', value: function (t) { return FS.named(t.subject, t.id); } },
        { title: 'Kind', value: function (t) { return t.kind; } },
        { title: 'Priority', value: function (t) { return t.priority; } },
        { title: 'Status', value: function (t) { return t.status || 'open'; } },
        { title: 'Assignee', value: function (t) { return t.assignee; } },
      ], d.tickets.sort(byTimeDesc('opened_at')), 'No tickets.'),
      FS.el('h3', {}, 'Conflicts'),
      FS.table('cust-conflicts', [
        { title: 'When', value: function (k) { return FS.fmtTime(k.created_at); } },
        { title: 'Status', value: function (k) { return k.status; } },
        { title: 'Entity', value: function (k) { return k.entity; } },
        { title: 'Field', value: function (k) { return k.field; } },
        { title: 'Rule', value: function (k) { return k.rule; } },
        { title: 'Detail', value: function (k) { return k.detail; } },
        { title: 'Resolved by', value: function (k) { return k.resolved_by; } },
      ], d.conflicts, 'No conflicts.'));
  };

  /* Opens the customer's page in pages (FS.pages) and returns when shown. */
  FS.openCustomer = async function (id, pages) {
    const node = await FS.customerPage(id, pages);
    if (node) pages.show(node);
    return node;
  };
})();
