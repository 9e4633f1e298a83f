/* Customers: search and filter the live customers (GET customers); a
 * customer opens its page (page-customer.js). */
'use strict';

(function () {
  let list = null, pages = null;

  FS.register('customers', {
    title: 'Customers',
    build: function (sec) {
      pages = FS.pages(sec);
      list = FS.list({
        id: 'customer',
        path: 'customers',
        sort: 'name',
        empty: 'No customers match.',
        filters: [
          { name: 'q', label: 'Search', type: 'search', placeholder: 'name, address, tag or contact' },
          { name: 'territory', label: 'Territory', type: 'text' },
          { name: 'segment', label: 'Segment', type: 'text' },
        ],
        columns: [
          { title: 'Name', sort: 'name', value: function (c) { return FS.el('span', { title: 'id ' + c.id }, c.name); } },
          { title: 'Territory', sort: 'territory', value: function (c) { return c.territory; } },
          { title: 'Owner', value: function (c) { return c.owner_name; } },
          { title: 'Segment', sort: 'segment', value: function (c) { return c.segment; } },
          { title: 'Phone', value: function (c) { return c.phone; } },
          { title: 'Address', value: function (c) { return c.address; } },
        ],
        rowClick: function (c) { FS.openCustomer(c.id, pages); },
      });
      pages.main.append(FS.el('h1', {}, 'Customers'), list.node);
    },
    load: function () { pages.back(); return list.load(); },
  });
})();
