/*
 * test_server_sync.c - the sync round over HTTP: enroll, push/pull with
 * merge and server stamps, sequence numbers and cursors, paging with
 * has_more, exactly-once batches (including a retry after a lost response),
 * batch id reuse, HLC advance, visit verification.
 */
#include "server_testkit.h"

#include <pthread.h>
#include "fss_sql.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void small_pages(fss_config *cfg)
{
    cfg->page_size = 10;
}

static void test_enroll_push_pull(void **state)
{
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fs_error_body eb;
    fs_change c;
    fs_id rep, cust = tk_new_id();
    const fs_pulled_row *pr;
    char rid[FS_ID_STRLEN + 1];

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    fs_id_format(&rep, rid);
    tk_enroll(&t, &rep, &d);

    /* A rep creates a customer: applied, and the server makes the rep its
     * owner (owner_rep is server-owned). */
    tk_change(&c, &d, "customer", &cust);
    tk_set_text(&c, &d, "name", "New Farm");
    tk_set_text(&c, &d, "phone", "+44 1");
    assert_int_equal(tk_sync(&t, &d, NULL, &c, 1, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.results[0].index, 0);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    pr = tk_find_row(&r, &cust);
    assert_non_null(pr);
    assert_true(pr->seq > 0);
    assert_string_equal(tk_row_text(&pr->row, "name"), "New Farm");
    assert_string_equal(tk_row_text(&pr->row, "owner_rep"), rid);
    assert_true(r.next_cursor >= pr->seq);
    assert_false(r.has_more);
    assert_true(r.server_time >= d.clock); /* the device can advance its HLC */
    d.cursor = r.next_cursor;
    fs_proto_sync_response_free(&r);
    fs_change_free(&c);

    /* Nothing new: an empty round returns no rows and keeps the cursor. */
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, d.cursor, 0, FS_PROTO_GZIP, &r, &eb), 200);
    assert_int_equal(r.nrows, 0);
    assert_int_equal(r.next_cursor, d.cursor);
    fs_proto_sync_response_free(&r);
    tk_stop(&t);
}

static void test_children_and_stamps(void **state)
{
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fs_error_body eb;
    fs_change c[2];
    fs_id rep, cust, visit = tk_new_id(), contact = tk_new_id();
    const fs_pulled_row *pr;
    char rid[FS_ID_STRLEN + 1];

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    fs_id_format(&rep, rid);
    cust = tk_customer(&t, "Greenfield", "north", NULL, 53.4808, -2.2426);
    tk_enroll(&t, &rep, &d);

    tk_change(&c[0], &d, "contact", &contact);
    tk_set_id(&c[0], &d, "customer_id", &cust);
    tk_set_text(&c[0], &d, "name", "Jo Bloggs");
    /* A check-in 50 m from the customer, captured now. */
    tk_change(&c[1], &d, "visit", &visit);
    tk_set_id(&c[1], &d, "customer_id", &cust);
    tk_set_int(&c[1], &d, "checkin_at", (int64_t)fs_hlc_ms(d.clock));
    tk_set_real(&c[1], &d, "checkin_lat", 53.4812);
    tk_set_real(&c[1], &d, "checkin_lon", -2.2426);
    tk_set_text(&c[1], &d, "status", "in_progress");
    assert_int_equal(tk_sync(&t, &d, NULL, c, 2, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    assert_int_equal(r.results[1].outcome, FS_APPLIED);
    /* Bootstrap pull: the customer, the contact and the visit. */
    assert_non_null(tk_find_row(&r, &cust));
    assert_non_null(tk_find_row(&r, &contact));
    pr = tk_find_row(&r, &visit);
    assert_non_null(pr);
    assert_string_equal(tk_row_text(&pr->row, "rep_id"), rid);
    assert_string_equal(tk_row_text(&pr->row, "verification"), "verified");
    assert_string_equal(tk_row_text(&pr->row, "time_check"), "ok");
    fs_proto_sync_response_free(&r);
    fs_change_free(&c[0]);
    fs_change_free(&c[1]);

    /* A check-in 5 km away, "captured" two hours before it was written. */
    visit = tk_new_id();
    tk_change(&c[0], &d, "visit", &visit);
    tk_set_id(&c[0], &d, "customer_id", &cust);
    tk_set_int(&c[0], &d, "checkin_at", (int64_t)fs_hlc_ms(d.clock) - 2 * 3600 * 1000);
    tk_set_real(&c[0], &d, "checkin_lat", 53.53);
    tk_set_real(&c[0], &d, "checkin_lon", -2.2426);
    assert_int_equal(tk_sync(&t, &d, NULL, c, 1, 0, 0, FS_PROTO_IDENTITY, &r, &eb), 200);
    pr = tk_find_row(&r, &visit);
    assert_non_null(pr);
    assert_string_equal(tk_row_text(&pr->row, "verification"), "outside_geofence");
    assert_string_equal(tk_row_text(&pr->row, "time_check"), "suspect");
    fs_proto_sync_response_free(&r);
    fs_change_free(&c[0]);
    tk_stop(&t);
}

/* A page asked for uncompressed (a client on a fast link) that would pass
 * max_body (8 MiB) comes compressed instead, whole: 1,100 visits with
 * 8,000-byte notes in one page. */
static void test_identity_page_past_max_body(void **state)
{
    enum { PER_PUSH = 275, PUSHES = 4 };
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fs_error_body eb;
    fs_change *c = calloc(PER_PUSH, sizeof *c);
    char *notes = malloc(8001);
    fs_id rep, cust;
    size_t visits = 0;

    (void)state;
    assert_non_null(c);
    assert_non_null(notes);
    memset(notes, 'n', 8000);
    notes[8000] = '\0';
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 53.4808, -2.2426);
    tk_enroll(&t, &rep, &d);
    for (int p = 0; p < PUSHES; p++) {
        for (size_t i = 0; i < PER_PUSH; i++) {
            fs_id v = tk_new_id();
            tk_change(&c[i], &d, "visit", &v);
            tk_set_id(&c[i], &d, "customer_id", &cust);
            tk_set_text(&c[i], &d, "status", "planned");
            tk_set_text(&c[i], &d, "notes", notes);
        }
        assert_int_equal(tk_sync(&t, &d, NULL, c, PER_PUSH, 0, 1, FS_PROTO_IDENTITY, &r,
                                 &eb), 200);
        fs_proto_sync_response_free(&r);
        for (size_t i = 0; i < PER_PUSH; i++)
            fs_change_free(&c[i]);
    }
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, 0, 2000, FS_PROTO_IDENTITY, &r, &eb),
                     200);
    for (size_t i = 0; i < r.nrows; i++)
        visits += strcmp(r.rows[i].row.entity->name, "visit") == 0;
    assert_int_equal(visits, PER_PUSH * PUSHES);
    assert_false(r.has_more);
    fs_proto_sync_response_free(&r);
    free(notes);
    free(c);
    tk_stop(&t);
}

/* A check-in by device d at visit v of customer cust, in one change. */
static void checkin_change(fs_change *c, tk_device *d, const fs_id *v)
{
    tk_change(c, d, "visit", v);
    tk_set_int(c, d, "checkin_at", (int64_t)fs_hlc_ms(d->clock));
    tk_set_real(c, d, "checkin_lat", 53.4812);
    tk_set_real(c, d, "checkin_lon", -2.2426);
    tk_set_real(c, d, "checkin_accuracy", 10);
    tk_set_text(c, d, "status", "in_progress");
}

/* The server's row of `id` as device d pulls it from the start. */
static void visit_reps(tk_server *t, tk_device *d, const fs_id *id, char rep[64],
                       char planned[64])
{
    fs_sync_response r;
    fs_error_body eb;
    const fs_pulled_row *pr;
    const char *s;

    assert_int_equal(tk_sync(t, d, NULL, NULL, 0, 0, 0, FS_PROTO_IDENTITY, &r, &eb), 200);
    pr = tk_find_row(&r, id);
    assert_non_null(pr);
    s = tk_row_text(&pr->row, "rep_id");
    snprintf(rep, 64, "%s", s ? s : "");
    s = tk_row_text(&pr->row, "planned_by");
    snprintf(planned, 64, "%s", s ? s : "");
    fs_proto_sync_response_free(&r);
}

/* Issue 13: the rep whose device checks in is the visit's rep; who planned
 * it stays in planned_by. Two offline check-ins at one visit end with the
 * rep of the check-in the merge keeps, whatever order they arrive in. */
static void test_visit_attribution(void **state)
{
    tk_server t;
    tk_device a, b;
    fs_sync_response r;
    fs_error_body eb;
    fs_change c[2];
    fs_id ra, rb, cust, v[3];
    char ida[FS_ID_STRLEN + 1], idb[FS_ID_STRLEN + 1], rep[64], planned[64];

    (void)state;
    tk_start(&t, NULL);
    ra = tk_rep(&t, "Alice", "north");
    rb = tk_rep(&t, "Bob", "north");
    fs_id_format(&ra, ida);
    fs_id_format(&rb, idb);
    cust = tk_customer(&t, "Greenfield", "north", NULL, 53.4808, -2.2426);
    tk_enroll(&t, &ra, &a);
    tk_enroll(&t, &rb, &b);

    /* Alice plans three visits. */
    for (int i = 0; i < 3; i++) {
        v[i] = tk_new_id();
        tk_change(&c[0], &a, "visit", &v[i]);
        tk_set_id(&c[0], &a, "customer_id", &cust);
        tk_set_int(&c[0], &a, "planned_at", (int64_t)fs_hlc_ms(a.clock) + 3600000);
        tk_set_text(&c[0], &a, "status", "planned");
        assert_int_equal(tk_sync(&t, &a, NULL, c, 1, 0, 0, FS_PROTO_IDENTITY, &r, &eb), 200);
        assert_int_equal(r.results[0].outcome, FS_APPLIED);
        fs_proto_sync_response_free(&r);
        fs_change_free(&c[0]);
    }
    visit_reps(&t, &a, &v[0], rep, planned);
    assert_string_equal(rep, ida);
    assert_string_equal(planned, ida);

    /* Bob checks in at Alice's plan: the visit is Bob's, planned by Alice. */
    checkin_change(&c[0], &b, &v[0]);
    assert_int_equal(tk_sync(&t, &b, NULL, c, 1, 0, 0, FS_PROTO_IDENTITY, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&r);
    fs_change_free(&c[0]);
    visit_reps(&t, &a, &v[0], rep, planned);
    assert_string_equal(rep, idb);
    assert_string_equal(planned, ida);

    /* Both check in offline at v[1] and v[2]; Bob's clock is a second ahead,
     * so his check-in is the one the merge keeps. v[1] hears Alice first,
     * v[2] hears Bob first: both end as Bob's visit. */
    b.clock = fs_hlc_make((uint64_t)time(NULL) * 1000 + 5000, 0);
    for (int i = 1; i < 3; i++) {
        tk_device *first = i == 1 ? &a : &b, *second = i == 1 ? &b : &a;
        checkin_change(&c[0], first, &v[i]);
        checkin_change(&c[1], second, &v[i]);
        assert_int_equal(tk_sync(&t, first, NULL, &c[0], 1, 0, 0, FS_PROTO_IDENTITY, &r,
                                 &eb), 200);
        fs_proto_sync_response_free(&r);
        assert_int_equal(tk_sync(&t, second, NULL, &c[1], 1, 0, 0, FS_PROTO_IDENTITY, &r,
                                 &eb), 200);
        fs_proto_sync_response_free(&r);
        fs_change_free(&c[0]);
        fs_change_free(&c[1]);
        visit_reps(&t, &a, &v[i], rep, planned);
        assert_string_equal(rep, idb);
        assert_string_equal(planned, ida);
    }
    tk_stop(&t);
}

/* Issue 13: a device cannot delete (or restore) a customer; the server
 * refuses the tombstone with reason server_owned and says why. */
static void test_customer_delete_refused(void **state)
{
    tk_server t;
    tk_device a;
    fs_sync_response r;
    fs_error_body eb;
    fs_change c;
    fs_id ra, cust;
    const fs_pulled_row *pr;

    (void)state;
    tk_start(&t, NULL);
    ra = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 53.4808, -2.2426);
    tk_enroll(&t, &ra, &a);
    tk_change(&c, &a, "customer", &cust);
    fs_change_tombstone(&c, true, fs_hlc_make((uint64_t)time(NULL) * 1000, 0));
    assert_int_equal(tk_sync(&t, &a, NULL, &c, 1, 0, 0, FS_PROTO_IDENTITY, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_REJECTED);
    assert_int_equal(r.results[0].reason, FS_REASON_SERVER_OWNED);
    assert_non_null(strstr(r.results[0].detail, "back office"));
    pr = tk_find_row(&r, &cust);
    assert_non_null(pr);
    assert_false(pr->row.deleted);
    fs_proto_sync_response_free(&r);
    fs_change_free(&c);
    tk_stop(&t);
}

static void test_paging(void **state)
{
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fs_error_body eb;
    fs_id rep;
    fs_id ids[25];
    size_t seen[25] = {0}, i, k, rounds = 0, total = 0;
    uint64_t last_seq = 0;
    char name[32];

    (void)state;
    tk_start(&t, small_pages);
    rep = tk_rep(&t, "Alice", "north");
    for (i = 0; i < 25; i++) {
        snprintf(name, sizeof name, "Customer %zu", i);
        ids[i] = tk_customer(&t, name, "north", NULL, 50, 0);
    }
    tk_enroll(&t, &rep, &d);
    for (;;) {
        assert_true(rounds++ < 10);
        assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, d.cursor, 0,
                                 FS_PROTO_DEFLATE, &r, &eb), 200);
        assert_true(r.nrows <= 10);
        for (k = 0; k < r.nrows; k++) {
            assert_true(r.rows[k].seq > last_seq); /* ascending seq */
            last_seq = r.rows[k].seq;
            for (i = 0; i < 25; i++)
                if (fs_id_cmp(&r.rows[k].row.id, &ids[i]) == 0)
                    seen[i]++;
        }
        total += r.nrows;
        d.cursor = r.next_cursor;
        if (!r.has_more) {
            fs_proto_sync_response_free(&r);
            break;
        }
        assert_int_equal(r.nrows, 10);
        fs_proto_sync_response_free(&r);
    }
    assert_int_equal(rounds, 3);
    assert_int_equal(total, 25);
    for (i = 0; i < 25; i++)
        assert_int_equal(seen[i], 1);
    /* The device's page_size wins over the server default (up to the cap). */
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, 0, 3, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.nrows, 3);
    assert_true(r.has_more);
    fs_proto_sync_response_free(&r);
    tk_stop(&t);
}

static void test_exactly_once(void **state)
{
    tk_server t;
    tk_device d;
    fs_sync_response r1, r2, r3;
    fs_error_body eb;
    fs_change c, c2;
    fs_id rep, cust, batch = tk_new_id();
    size_t n;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&t, &rep, &d);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);

    tk_change(&c, &d, "customer", &cust);
    tk_set_text(&c, &d, "phone", "111");
    assert_int_equal(tk_sync(&t, &d, &batch, &c, 1, d.cursor, 0, FS_PROTO_DEFLATE, &r1, &eb), 200);
    assert_int_equal(r1.results[0].outcome, FS_APPLIED);
    assert_int_equal(r1.nrows, 1);
    /* The response is "lost": the device retries the same batch from the
     * same cursor. Same results; nothing applied twice (the row keeps its
     * seq, so the pull returns the very same version). */
    assert_int_equal(tk_sync(&t, &d, &batch, &c, 1, d.cursor, 0, FS_PROTO_GZIP, &r2, &eb), 200);
    assert_int_equal(r2.nresults, 1);
    assert_int_equal(r2.results[0].outcome, r1.results[0].outcome);
    assert_int_equal(r2.results[0].reason, r1.results[0].reason);
    assert_string_equal(r2.results[0].detail, r1.results[0].detail);
    assert_int_equal(r2.nrows, 1);
    assert_int_equal(r2.rows[0].seq, r1.rows[0].seq);
    assert_int_equal(r2.next_cursor, r1.next_cursor);
    d.cursor = r2.next_cursor;
    n = tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    assert_int_equal(n, 0);

    /* The same batch id with different content is refused. */
    tk_change(&c2, &d, "customer", &cust);
    tk_set_text(&c2, &d, "phone", "222");
    assert_int_equal(tk_sync(&t, &d, &batch, &c2, 1, d.cursor, 0, FS_PROTO_DEFLATE, &r3, &eb), 409);
    assert_int_equal(eb.code, FS_PROTO_ERR_BATCH_CONFLICT);
    n = tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    assert_int_equal(n, 0); /* store unchanged */

    fs_proto_sync_response_free(&r1);
    fs_proto_sync_response_free(&r2);
    fs_change_free(&c);
    fs_change_free(&c2);
    tk_stop(&t);
}

static void test_lww_conflict_recorded(void **state)
{
    tk_server t;
    tk_device a, b;
    fs_sync_response r;
    fs_error_body eb;
    fs_change ca, cb;
    fs_id cust;
    fss_buf out = {0};

    (void)state;
    /* Device a writes phone; device b wrote earlier (older stamp) offline. */
    tk_stale_phone_writes(&t, &a, &b, &cust, &ca, &cb);
    assert_int_equal(tk_sync(&t, &a, NULL, &ca, 1, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&r);
    assert_int_equal(tk_sync(&t, &b, NULL, &cb, 1, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    /* The merge engine reports a losing write as merged (accepted, decided
     * by a rule) with reason stale. */
    assert_int_not_equal(r.results[0].outcome, FS_APPLIED);
    assert_int_equal(r.results[0].reason, FS_REASON_STALE);
    assert_string_equal(tk_row_text(&tk_find_row(&r, &cust)->row, "phone"), "new");
    fs_proto_sync_response_free(&r);
    assert_int_equal(fss_admin_conflicts_list(t.s, NULL, 0, &out, NULL), FSS_OK);
    assert_true(tk_count(out.data, "\"rule\":\"lww\"") >= 1);
    assert_true(tk_count(out.data, "\"yours\":\"old\"") == 1);
    /* The stored record explains itself. */
    assert_true(tk_count(out.data, "\"detail\":\"a newer write of phone stands\"") == 1);
    fss_buf_free(&out);
    fs_change_free(&ca);
    fs_change_free(&cb);
    tk_stop(&t);
}


static void test_frozen_quote(void **state)
{
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fs_error_body eb;
    fs_change c;
    fs_id rep, cust, quote = tk_new_id(), line = tk_new_id();
    fss_buf out = {0};

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&t, &rep, &d);
    tk_change(&c, &d, "quote", &quote);
    tk_set_id(&c, &d, "customer_id", &cust);
    tk_set_text(&c, &d, "currency", "EUR");
    tk_set_text(&c, &d, "status", "accepted");
    assert_int_equal(tk_sync(&t, &d, NULL, &c, 1, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&r);
    fs_change_free(&c);
    /* The quote is accepted at the server: later edits and new lines are
     * rejected (frozen) and recorded as open conflicts. */
    tk_change(&c, &d, "quote", &quote);
    tk_set_int(&c, &d, "discount", 500);
    assert_int_equal(tk_sync(&t, &d, NULL, &c, 1, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_REJECTED);
    assert_int_equal(r.results[0].reason, FS_REASON_FROZEN);
    fs_proto_sync_response_free(&r);
    fs_change_free(&c);
    tk_change(&c, &d, "quote_line", &line);
    tk_set_id(&c, &d, "quote_id", &quote);
    tk_set_int(&c, &d, "qty", 2);
    assert_int_equal(tk_sync(&t, &d, NULL, &c, 1, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_REJECTED);
    assert_int_equal(r.results[0].reason, FS_REASON_FROZEN);
    assert_null(tk_find_row(&r, &line));
    fs_proto_sync_response_free(&r);
    fs_change_free(&c);
    assert_int_equal(fss_admin_conflicts_list(t.s, "open", 0, &out, NULL), FSS_OK);
    assert_true(tk_count(out.data, "\"rule\":\"frozen\"") >= 2);
    fss_buf_free(&out);
    tk_stop(&t);
}

static void test_clock_bound(void **state)
{
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fs_error_body eb;
    fs_change c;
    fs_id rep, cust;
    const fs_pulled_row *pr;
    int slot;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&t, &rep, &d);
    /* A device clock a day in the future competes as if it wrote now. */
    d.clock += (UINT64_C(86400000) << 16);
    tk_change(&c, &d, "customer", &cust);
    tk_set_text(&c, &d, "phone", "future");
    assert_int_equal(tk_sync(&t, &d, NULL, &c, 1, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_MERGED);
    assert_int_equal(r.results[0].reason, FS_REASON_CLOCK);
    pr = tk_find_row(&r, &cust);
    assert_non_null(pr);
    slot = fs_entity_field_index(pr->row.entity, "phone");
    assert_true(fs_hlc_ms(pr->row.cells[slot].hlc) <= fs_hlc_ms(r.server_time));
    fs_proto_sync_response_free(&r);
    fs_change_free(&c);
    tk_stop(&t);
}

typedef struct writer_arg {
    tk_server *t;
    tk_device d;
    fs_id cust;
    int ok;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *w = p;
    int i;

    for (i = 0; i < 15; i++) {
        fs_change c;
        fs_sync_response r;
        fs_error_body eb;
        fs_id contact = tk_new_id();
        tk_change(&c, &w->d, "contact", &contact);
        tk_set_id(&c, &w->d, "customer_id", &w->cust);
        tk_set_text(&c, &w->d, "name", "parallel");
        if (tk_sync(w->t, &w->d, NULL, &c, 1, 0, 1, FS_PROTO_DEFLATE, &r, &eb) == 200 &&
            r.results[0].outcome == FS_APPLIED)
            w->ok++;
        fs_proto_sync_response_free(&r);
        fs_change_free(&c);
    }
    return NULL;
}

static void test_concurrent_devices(void **state)
{
    tk_server t;
    writer_arg w[4];
    pthread_t th[4];
    tk_device fresh;
    fs_id rep, cust;
    size_t rows, i;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
    for (i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].t = &t;
        w[i].cust = cust;
        tk_enroll(&t, &rep, &w[i].d);
    }
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer, &w[i]), 0);
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < 4; i++)
        assert_int_equal(w[i].ok, 15);
    /* A new device converges on everything: 1 customer + 60 contacts. */
    tk_enroll(&t, &rep, &fresh);
    rows = tk_pull_all(&t, &fresh, NULL, NULL, NULL, NULL);
    assert_int_equal(rows, 61);
    tk_stop(&t);
}

static void test_in_process_handler(void **state)
{
    tk_server t;
    fss_request rq;
    fss_response rs;
    uint8_t body[256];
    size_t i, k;
    uint32_t x = 12345;

    (void)state;
    tk_start(&t, NULL);
    /* The sync handler runs without HTTP on arbitrary bytes (the fuzzing
     * entry point): every answer is a 4xx with a body, never a crash. */
    memset(&rq, 0, sizeof rq);
    rq.method = "POST";
    rq.path = "/v1/sync";
    rq.content_type = "application/x-protobuf";
    rq.authorization = "Bearer nope";
    rq.remote_addr = "in-process";
    for (i = 0; i < 50; i++) {
        for (k = 0; k < sizeof body; k++) {
            x = x * 1103515245u + 12345u;
            body[k] = (uint8_t)(x >> 16);
        }
        rq.body = body;
        rq.body_len = i * 5;
        rq.remote_addr = (i % 2) ? "a" : "b";
        fss_handle(t.s, &rq, &rs);
        assert_true(rs.status >= 400 && rs.status < 500);
        assert_true(rs.body_len > 0);
        fss_response_free(&rs);
    }
    tk_stop(&t);
}

/* Finds the listed open conflict on row, or NULL. */
static const fs_open_conflict *listed(const fs_sync_response *r, const fs_id *row)
{
    for (size_t i = 0; i < r->nconflicts; i++)
        if (fs_id_cmp(&r->conflicts[i].row, row) == 0)
            return &r->conflicts[i];
    return NULL;
}

/* Syncs with nothing to push and returns the (last page's) answer. */
static void quiet_sync(tk_server *t, tk_device *d, fs_sync_response *r)
{
    fs_error_body eb;

    assert_int_equal(tk_sync(t, d, NULL, NULL, 0, d->cursor, 0, FS_PROTO_DEFLATE, r, &eb),
                     200);
    assert_false(r->has_more);
    d->cursor = r->next_cursor;
}

/* Alice deletes a contact while Bob, offline, edits its phone: delete wins
 * and the hidden write is an open conflict. Both reps' devices are told on
 * their next sync (each seeing whose value was kept), a rep not involved is
 * not, and the list empties once the back office resolves it. */
static void test_open_conflicts_listed(void **state)
{
    tk_server t;
    tk_device a, b, c;
    fs_sync_response r;
    fs_error_body eb;
    fs_change ch;
    fs_id alice, bob, carol, cust, contact = tk_new_id();
    const fs_open_conflict *k;
    fs_hlc del;
    uint64_t kid;

    (void)state;
    tk_start(&t, NULL);
    alice = tk_rep(&t, "Alice", "north");
    bob = tk_rep(&t, "Bob", NULL);
    assert_int_equal(fss_admin_rep_territory(t.s, &bob, "north", true, NULL), FSS_OK);
    carol = tk_rep(&t, "Carol", "south");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&t, &alice, &a);
    tk_enroll(&t, &bob, &b);
    tk_enroll(&t, &carol, &c);

    tk_change(&ch, &a, "contact", &contact);
    tk_set_id(&ch, &a, "customer_id", &cust);
    tk_set_text(&ch, &a, "name", "Jo");
    tk_set_text(&ch, &a, "phone", "111");
    assert_int_equal(tk_sync(&t, &a, NULL, &ch, 1, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_true(r.conflicts_listed);
    assert_int_equal(r.open_conflicts, 0);
    assert_int_equal(r.nconflicts, 0);
    a.cursor = r.next_cursor;
    fs_proto_sync_response_free(&r);
    fs_change_free(&ch);
    tk_pull_all(&t, &b, NULL, NULL, NULL, NULL);

    /* Alice deletes; Bob's later edit of the phone loses to the delete. */
    tk_change(&ch, &a, "contact", &contact);
    assert_int_equal(fs_hlc_tick(&a.clock, (uint64_t)time(NULL) * 1000, &del, NULL), FS_OK);
    fs_change_tombstone(&ch, true, del);
    assert_int_equal(tk_sync(&t, &a, NULL, &ch, 1, a.cursor, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    a.cursor = r.next_cursor;
    fs_proto_sync_response_free(&r);
    fs_change_free(&ch);
    tk_change(&ch, &b, "contact", &contact);
    tk_set_text(&ch, &b, "phone", "222");
    assert_int_equal(tk_sync(&t, &b, NULL, &ch, 1, b.cursor, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.results[0].reason, FS_REASON_DELETED);
    assert_true(r.conflicts_listed);
    assert_int_equal(r.open_conflicts, 1);
    assert_int_equal(r.nconflicts, 1);
    k = listed(&r, &contact);
    assert_non_null(k);
    assert_ptr_equal(k->entity, fs_schema_entity("contact"));
    assert_string_equal(k->field, "phone");
    assert_string_equal(k->rule, fs_rule_name(FS_RULE_DELETE_WINS));
    assert_false(k->mine_kept); /* Bob's phone is hidden under the delete */
    assert_true(k->detail[0] != '\0');
    assert_true(k->id > 0 && k->created_ms > 0);
    kid = k->id;
    b.cursor = r.next_cursor;
    fs_proto_sync_response_free(&r);
    fs_change_free(&ch);

    /* Alice's devices hear of it too: her side was kept. Carol's do not. */
    quiet_sync(&t, &a, &r);
    assert_int_equal(r.open_conflicts, 1);
    k = listed(&r, &contact);
    assert_non_null(k);
    assert_true(k->mine_kept);
    fs_proto_sync_response_free(&r);
    quiet_sync(&t, &c, &r);
    assert_true(r.conflicts_listed);
    assert_int_equal(r.open_conflicts, 0);
    fs_proto_sync_response_free(&r);

    /* Resolved: the next complete sync lists nothing. */
    assert_int_equal(fss_admin_conflict_resolve(t.s, (int64_t)kid, "theirs", NULL, "ops",
                                                NULL), FSS_OK);
    quiet_sync(&t, &b, &r);
    assert_true(r.conflicts_listed);
    assert_int_equal(r.open_conflicts, 0);
    assert_int_equal(r.nconflicts, 0);
    fs_proto_sync_response_free(&r);
    tk_stop(&t);
}

/* count_pending: the first round learns how many rows the sync will pull,
 * which is what the pages then bring. */
static void test_count_pending(void **state)
{
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fs_error_body eb;
    fs_id rep;
    char name[32];
    size_t rows = 0;

    (void)state;
    tk_start(&t, small_pages);
    rep = tk_rep(&t, "Alice", "north");
    tk_rep(&t, "Carol", "south");
    tk_customer(&t, "Elsewhere", "south", NULL, 50, 0); /* not in scope */
    for (int i = 0; i < 23; i++) {
        snprintf(name, sizeof name, "Customer %d", i);
        tk_customer(&t, name, "north", NULL, 50, 0);
    }
    tk_enroll(&t, &rep, &d);
    d.count_pending = true;
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_true(r.has_pending);
    assert_int_equal(r.pending, 23);
    assert_false(r.conflicts_listed); /* not the last page */
    fs_proto_sync_response_free(&r);
    /* Without asking, no count; the pages add up to it. */
    d.count_pending = false;
    d.cursor = 0;
    for (int round = 0; round < 10; round++) {
        assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, d.cursor, 0, FS_PROTO_DEFLATE, &r,
                                 &eb), 200);
        assert_false(r.has_pending);
        rows += r.nrows + r.nexits;
        d.cursor = r.next_cursor;
        if (!r.has_more) {
            fs_proto_sync_response_free(&r);
            break;
        }
        fs_proto_sync_response_free(&r);
    }
    assert_int_equal(rows, 23);
    /* From a cursor that has seen everything, nothing is pending. */
    d.count_pending = true;
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, d.cursor, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_true(r.has_pending);
    assert_int_equal(r.pending, 0);
    fs_proto_sync_response_free(&r);
    tk_stop(&t);
}

/* Rows of fss_batches for device d, read straight from the store file. */
static int stored_batches(tk_server *t, const tk_device *d)
{
    fss_sql *db = NULL;
    fss_stmt *st = NULL;
    int n = -1;

    db = tk_sql(t);
    assert_int_equal(fss_prepare(db, "SELECT count(*) FROM fss_batches WHERE device = ?1",
                                        -1, &st, NULL), FSS_SQL_OK);
    fss_bind_blob(st, 1, d->id.b, 16, FSS_SQL_STATIC);
    if (fss_step(st) == FSS_SQL_ROW)
        n = fss_column_int(st, 0);
    fss_finalize(st);
    fss_sql_close(db);
    return n;
}

/* A device's stored batches stay bounded (8) however often it syncs, and
 * its newest batch - the only one a client can retry - is still answered
 * from the record. Another device's batches are not touched. */
static void test_batch_retention(void **state)
{
    tk_server t;
    tk_device a, b;
    fs_sync_response r, again;
    fs_error_body eb;
    fs_change c;
    fs_id rep, cust, batch;
    char phone[16];

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&t, &rep, &a);
    tk_enroll(&t, &rep, &b);
    tk_pull_all(&t, &a, NULL, NULL, NULL, NULL);
    tk_change(&c, &b, "customer", &cust);
    tk_set_text(&c, &b, "tags", "b-device");
    assert_int_equal(tk_sync(&t, &b, NULL, &c, 1, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    fs_proto_sync_response_free(&r);
    fs_change_free(&c);
    for (int i = 0; i < 12; i++) {
        batch = tk_new_id();
        snprintf(phone, sizeof phone, "555-%04d", i);
        tk_change(&c, &a, "customer", &cust);
        tk_set_text(&c, &a, "phone", phone);
        assert_int_equal(tk_sync(&t, &a, &batch, &c, 1, a.cursor, 0, FS_PROTO_DEFLATE, &r, &eb),
                         200);
        assert_int_equal(r.results[0].outcome, FS_APPLIED);
        a.cursor = r.next_cursor;
        fs_proto_sync_response_free(&r);
        if (i < 11)
            fs_change_free(&c);
        assert_int_equal(stored_batches(&t, &a), i + 1 < 8 ? i + 1 : 8);
    }
    assert_int_equal(stored_batches(&t, &b), 1);
    /* The answer to the newest batch was "lost": the retry is answered from
     * the record and applies nothing (no new seq for the device to pull). */
    assert_int_equal(tk_sync(&t, &a, &batch, &c, 1, a.cursor, 0, FS_PROTO_DEFLATE, &again, &eb),
                     200);
    assert_int_equal(again.nresults, 1);
    assert_int_equal(again.results[0].outcome, FS_APPLIED);
    assert_int_equal(again.nrows, 0);
    assert_int_equal(again.next_cursor, a.cursor);
    fs_proto_sync_response_free(&again);
    fs_change_free(&c);
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enroll_push_pull),
        cmocka_unit_test(test_children_and_stamps),
        cmocka_unit_test(test_visit_attribution),
        cmocka_unit_test(test_identity_page_past_max_body),
        cmocka_unit_test(test_customer_delete_refused),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_exactly_once),
        cmocka_unit_test(test_lww_conflict_recorded),
        cmocka_unit_test(test_frozen_quote),
        cmocka_unit_test(test_clock_bound),
        cmocka_unit_test(test_concurrent_devices),
        cmocka_unit_test(test_in_process_handler),
        cmocka_unit_test(test_open_conflicts_listed),
        cmocka_unit_test(test_count_pending),
        cmocka_unit_test(test_batch_retention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
