/*
 * test_server_hide.c - a delete records what it hides, at any depth
 * (issue 12, finding 1). A customer or quote tombstone hides the rows below
 * it; every write there that the delete had not seen (newer than the
 * delete, saved after the deleter's cursor, or arriving after the delete)
 * must be an open delete_wins record of the child row and field, naming
 * the deleted ancestor, attributed to the writer's rep and listed to the
 * writer's devices; the back office can restore the ancestor (the subtree
 * syncs back) or accept the delete, and either answers the sibling records.
 */
#include "server_testkit.h"

#include "fss_sql.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct world {
    tk_server t;
    fs_id alice, bob, carol;     /* north, north, south */
    fs_id cust, quote, line1, contract;
    tk_device da, db, dc;
} world;

static uint64_t now_ms(void)
{
    return (uint64_t)time(NULL) * 1000;
}

/* Syncs changes of d with its cursor; asserts 200 and returns the outcomes. */
static void push(world *w, tk_device *d, fs_change *c, size_t n, fs_outcome *out,
                 fs_reason *why)
{
    fs_sync_response r;
    fs_error_body eb;

    assert_int_equal(tk_sync(&w->t, d, NULL, c, n, d->cursor, 0, FS_PROTO_DEFLATE, &r, &eb),
                     200);
    assert_int_equal(r.nresults, n);
    for (size_t i = 0; i < n; i++) {
        if (out)
            out[i] = r.results[i].outcome;
        if (why)
            why[i] = r.results[i].reason;
    }
    fs_proto_sync_response_free(&r);
    for (size_t i = 0; i < n; i++)
        fs_change_free(&c[i]);
}

/* Alice and Bob share territory north (customer N); Carol is south. Bob
 * creates a quote with one line and a contract under N; all devices pull. */
static void make_world(world *w)
{
    fs_change c[3];
    fs_outcome o[3];

    tk_start(&w->t, NULL);
    w->alice = tk_rep(&w->t, "Alice", "north");
    w->bob = tk_rep(&w->t, "Bob", NULL);
    assert_int_equal(fss_admin_rep_territory(w->t.s, &w->bob, "north", true, NULL), FSS_OK);
    w->carol = tk_rep(&w->t, "Carol", "south");
    w->cust = tk_customer(&w->t, "North One", "north", NULL, 53, -2);
    tk_enroll(&w->t, &w->alice, &w->da);
    tk_enroll(&w->t, &w->bob, &w->db);
    tk_enroll(&w->t, &w->carol, &w->dc);
    w->quote = tk_new_id();
    w->line1 = tk_new_id();
    w->contract = tk_new_id();
    tk_change(&c[0], &w->db, "quote", &w->quote);
    tk_set_id(&c[0], &w->db, "customer_id", &w->cust);
    tk_set_text(&c[0], &w->db, "currency", "EUR");
    tk_change(&c[1], &w->db, "quote_line", &w->line1);
    tk_set_id(&c[1], &w->db, "quote_id", &w->quote);
    tk_set_int(&c[1], &w->db, "qty", 1);
    tk_change(&c[2], &w->db, "contract", &w->contract);
    tk_set_id(&c[2], &w->db, "customer_id", &w->cust);
    tk_set_text(&c[2], &w->db, "esign_status", "sent");
    push(w, &w->db, c, 3, o, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(o[i], FS_APPLIED);
    tk_pull_all(&w->t, &w->da, NULL, NULL, NULL, NULL);
    tk_pull_all(&w->t, &w->db, NULL, NULL, NULL, NULL);
    tk_pull_all(&w->t, &w->dc, NULL, NULL, NULL, NULL);
}

/* Open delete_wins records of (row, field) written by dev at hlc (0 = any
 * stamp) that name `anc` as the hiding ancestor and `rep` as the rep. */
static int hidden_records(world *w, const fs_id *row, const char *field,
                          const tk_device *dev, fs_hlc hlc, const fs_id *anc,
                          const fs_id *rep)
{
    fss_sql *db = NULL;
    fss_stmt *st = NULL;
    char repu[FS_ID_STRLEN + 1];
    int n = -1;

    fs_id_format(rep, repu);
    db = tk_sql(&w->t);
    assert_int_equal(
        fss_prepare(db,
                           "SELECT count(*) FROM fss_conflicts WHERE rule = 'delete_wins'"
                           " AND status = 'open' AND yours_won = 0 AND row = ?1 AND"
                           " (field = ?2 OR ?2 IS NULL) AND yours_device = ?3 AND"
                           " (yours_hlc = ?4 OR ?4 = 0) AND anc_row = ?5 AND rep = ?6",
                           -1, &st, NULL),
        FSS_SQL_OK);
    fss_bind_blob(st, 1, row->b, 16, FSS_SQL_STATIC);
    if (field)
        fss_bind_text(st, 2, field, -1, FSS_SQL_STATIC);
    fss_bind_blob(st, 3, dev->id.b, 16, FSS_SQL_STATIC);
    fss_bind_int64(st, 4, (int64_t)hlc);
    fss_bind_blob(st, 5, anc->b, 16, FSS_SQL_STATIC);
    fss_bind_text(st, 6, repu, -1, FSS_SQL_STATIC);
    if (fss_step(st) == FSS_SQL_ROW)
        n = fss_column_int(st, 0);
    fss_finalize(st);
    fss_sql_close(db);
    return n;
}

/* Every field write of c has its record (the stamps are read before c is
 * pushed and freed). */
typedef struct wrote {
    fs_id row;
    char field[32];
    fs_hlc hlc;
} wrote;

static size_t note(const fs_change *c, wrote *out, size_t n)
{
    for (size_t i = 0; i < c->nfields; i++, n++) {
        out[n].row = c->row;
        snprintf(out[n].field, sizeof out[n].field, "%s",
                 c->entity->fields[c->fields[i].slot].name);
        out[n].hlc = c->fields[i].hlc;
    }
    return n;
}

static void assert_all_recorded(world *w, const wrote *wr, size_t n, const tk_device *dev,
                                const fs_id *anc, const fs_id *rep)
{
    for (size_t i = 0; i < n; i++)
        if (hidden_records(w, &wr[i].row, wr[i].field, dev, wr[i].hlc, anc, rep) != 1)
            fail_msg("the hidden write of %s (#%zu) has no open delete_wins record",
                     wr[i].field, i);
}

/* The device's open conflicts as the sync answer lists them. */
static size_t listed_open(world *w, tk_device *d, const fs_id *row)
{
    fs_sync_response r;
    fs_error_body eb;
    size_t n = 0;

    assert_int_equal(tk_sync(&w->t, d, NULL, NULL, 0, d->cursor, 0, FS_PROTO_DEFLATE, &r,
                             &eb), 200);
    assert_true(r.conflicts_listed);
    for (size_t i = 0; i < r.nconflicts; i++)
        if (fs_id_cmp(&r.conflicts[i].row, row) == 0 &&
            strcmp(r.conflicts[i].rule, "delete_wins") == 0)
            n++;
    fs_proto_sync_response_free(&r);
    return n;
}

/* A delete a device may still make (issue 13 leaves customers to the back
 * office): Alice deletes a quote offline. Bob's writes below it - a new
 * line and an edit of line 1 - are newer and sync first: when the delete
 * arrives, each is recorded for Bob, naming the quote. The line's parent
 * reference, written with the line, is Bob's work too. */
static void test_device_delete_after_newer_child_writes(void **state)
{
    world w;
    fs_change del, c[2];
    fs_outcome o[2];
    wrote wr[16];
    size_t n = 0;
    fs_id line2 = tk_new_id();
    fs_hlc h;

    (void)state;
    make_world(&w);
    tk_change(&del, &w.da, "quote", &w.quote);
    assert_int_equal(fs_hlc_tick(&w.da.clock, now_ms(), &h, NULL), FS_OK);
    fs_change_tombstone(&del, true, h);
    w.db.clock = fs_hlc_make(fs_hlc_ms(h) + 10000, 0); /* later than the delete */
    tk_change(&c[0], &w.db, "quote_line", &line2);
    tk_set_id(&c[0], &w.db, "quote_id", &w.quote);
    tk_set_text(&c[0], &w.db, "sku", "SKU-9");
    tk_set_int(&c[0], &w.db, "qty", 3);
    tk_change(&c[1], &w.db, "quote_line", &w.line1);
    tk_set_int(&c[1], &w.db, "qty", 4);
    for (int i = 0; i < 2; i++)
        n = note(&c[i], wr, n);
    push(&w, &w.db, c, 2, o, NULL);
    for (int i = 0; i < 2; i++)
        assert_int_equal(o[i], FS_APPLIED);
    push(&w, &w.da, &del, 1, o, NULL);
    assert_int_equal(o[0], FS_APPLIED);

    assert_all_recorded(&w, wr, n, &w.db, &w.quote, &w.bob);
    /* Bob's device is told; Carol's (another territory) is not. */
    assert_true(listed_open(&w, &w.db, &line2) >= 1);
    assert_int_equal(listed_open(&w, &w.dc, &line2), 0);
    tk_stop(&w.t);
}

/* The back office deletes the customer. Its delete is stamped by the
 * server, whose clock has folded every device clock it accepted, so it is
 * newer than every stored write: the back office acted on a store holding
 * them (Bob's signature: not recorded). A task Bob wrote offline before the
 * delete but pushed after it was not seen: it is merged hidden and
 * recorded. Carol, outside the customer's placement, is still refused for
 * scope. */
static void test_admin_delete_and_later_writes(void **state)
{
    world w;
    fs_change c[2];
    fs_outcome o[2];
    fs_reason why[2];
    wrote wr[8];
    size_t n = 0;
    fs_id task = tk_new_id(), task2 = tk_new_id();

    (void)state;
    make_world(&w);
    tk_change(&c[0], &w.db, "contract", &w.contract);
    tk_set_text(&c[0], &w.db, "esign_status", "signed");
    push(&w, &w.db, c, 1, o, NULL);
    assert_int_equal(o[0], FS_APPLIED);
    /* Written offline before the delete, pushed after it. */
    tk_change(&c[0], &w.db, "task", &task);
    tk_set_id(&c[0], &w.db, "customer_id", &w.cust);
    tk_set_text(&c[0], &w.db, "title", "call back");
    n = note(&c[0], wr, n);
    tk_change(&c[1], &w.dc, "task", &task2);
    tk_set_id(&c[1], &w.dc, "customer_id", &w.cust);
    tk_set_text(&c[1], &w.dc, "title", "not mine");

    assert_int_equal(fss_admin_customer_delete(w.t.s, &w.cust, NULL), FSS_OK);
    assert_int_equal(hidden_records(&w, &w.contract, NULL, &w.db, 0, &w.cust, &w.bob), 0);
    push(&w, &w.db, c, 1, o, why);
    assert_int_equal(o[0], FS_MERGED);
    assert_int_equal(why[0], FS_REASON_DELETED);
    push(&w, &w.dc, &c[1], 1, o, why);
    assert_int_equal(o[0], FS_REJECTED);
    assert_int_equal(why[0], FS_REASON_SCOPE);
    assert_all_recorded(&w, wr, n, &w.db, &w.cust, &w.bob);
    assert_true(listed_open(&w, &w.db, &task) >= 1);
    tk_stop(&w.t);
}

/* A device deletes a quote. Bob's line edits were made with stamps older
 * than the delete, but saved after Alice's cursor: she had not seen them
 * (concurrent), so they are recorded under the quote, not the customer;
 * Alice's own line is not. A line write arriving after the quote delete is
 * merged hidden and recorded too. */
static void test_quote_delete_hides_lines(void **state)
{
    world w;
    fs_change c[2], del;
    fs_outcome o[2];
    fs_reason why[2];
    wrote wr[8];
    size_t n = 0;
    fs_id line2 = tk_new_id(), line3 = tk_new_id();
    fs_hlc h;

    (void)state;
    make_world(&w);
    /* Alice's own line, seen by her delete. */
    tk_change(&c[0], &w.da, "quote_line", &line3);
    tk_set_id(&c[0], &w.da, "quote_id", &w.quote);
    tk_set_int(&c[0], &w.da, "qty", 7);
    push(&w, &w.da, c, 1, o, NULL);
    assert_int_equal(o[0], FS_APPLIED);
    tk_pull_all(&w.t, &w.da, NULL, NULL, NULL, NULL);
    /* Bob, offline, edits line 1 and adds line 2. */
    tk_change(&c[0], &w.db, "quote_line", &w.line1);
    tk_set_int(&c[0], &w.db, "qty", 4);
    tk_change(&c[1], &w.db, "quote_line", &line2);
    tk_set_id(&c[1], &w.db, "quote_id", &w.quote);
    tk_set_int(&c[1], &w.db, "qty", 2);
    n = note(&c[0], wr, n);
    n = note(&c[1], wr, n);
    push(&w, &w.db, c, 2, o, NULL);
    assert_int_equal(o[0], FS_APPLIED);
    assert_int_equal(o[1], FS_APPLIED);
    /* Alice deletes the quote with her old cursor; her clock is ahead of
     * Bob's, so his writes look older than the delete by their stamps. */
    w.da.clock = fs_hlc_make(now_ms() + 20000, 0);
    tk_change(&del, &w.da, "quote", &w.quote);
    assert_int_equal(fs_hlc_tick(&w.da.clock, now_ms(), &h, NULL), FS_OK);
    fs_change_tombstone(&del, true, h);
    push(&w, &w.da, &del, 1, o, NULL);
    assert_int_equal(o[0], FS_APPLIED);
    assert_all_recorded(&w, wr, n, &w.db, &w.quote, &w.bob);
    assert_int_equal(hidden_records(&w, &line3, NULL, &w.da, 0, &w.quote, &w.alice), 0);
    assert_int_equal(hidden_records(&w, &w.line1, NULL, &w.db, 0, &w.cust, &w.bob), 0);
    /* After the delete: Bob edits line 2 again. */
    n = 0;
    tk_change(&c[0], &w.db, "quote_line", &line2);
    tk_set_text(&c[0], &w.db, "description", "late");
    n = note(&c[0], wr, n);
    push(&w, &w.db, c, 1, o, why);
    assert_int_equal(o[0], FS_MERGED);
    assert_int_equal(why[0], FS_REASON_DELETED);
    assert_all_recorded(&w, wr, n, &w.db, &w.quote, &w.bob);
    tk_stop(&w.t);
}

/* Each delete answers for itself (fieldsync_sim --seed 16): Alice deletes
 * the quote offline; Bob then edits line 1 (newer than her delete) and
 * syncs; the back office deletes the customer, having seen Bob's write (no
 * record naming the customer). Alice's older quote delete arrives last,
 * under the deleted customer: it had not seen Bob's write either, and a
 * restore of the customer would leave the line hidden by it, so Bob's
 * write is recorded naming the quote. */
static void test_quote_delete_under_deleted_customer(void **state)
{
    world w;
    fs_change c[1], del;
    fs_outcome o[1];
    wrote wr[4];
    size_t n = 0;
    fs_hlc h;

    (void)state;
    make_world(&w);
    tk_change(&del, &w.da, "quote", &w.quote);
    assert_int_equal(fs_hlc_tick(&w.da.clock, now_ms(), &h, NULL), FS_OK);
    fs_change_tombstone(&del, true, h);
    w.db.clock = fs_hlc_make(fs_hlc_ms(h) + 10000, 0); /* later than the delete */
    tk_change(&c[0], &w.db, "quote_line", &w.line1);
    tk_set_int(&c[0], &w.db, "qty", 6);
    n = note(&c[0], wr, n);
    push(&w, &w.db, c, 1, o, NULL);
    assert_int_equal(o[0], FS_APPLIED);
    assert_int_equal(fss_admin_customer_delete(w.t.s, &w.cust, NULL), FSS_OK);
    assert_int_equal(hidden_records(&w, &w.line1, NULL, &w.db, 0, &w.cust, &w.bob), 0);
    push(&w, &w.da, &del, 1, o, NULL);
    assert_int_not_equal(o[0], FS_REJECTED);
    assert_all_recorded(&w, wr, n, &w.db, &w.quote, &w.bob);
    tk_stop(&w.t);
}

/* The id of an open delete_wins record of row (0 if none). */
static int64_t record_id(world *w, const fs_id *row, const char *status)
{
    fss_sql *db = NULL;
    fss_stmt *st = NULL;
    int64_t id = 0;

    db = tk_sql(&w->t);
    assert_int_equal(fss_prepare(db,
                                        "SELECT min(id) FROM fss_conflicts WHERE row = ?1"
                                        " AND rule = 'delete_wins' AND status = ?2",
                                        -1, &st, NULL),
                     FSS_SQL_OK);
    fss_bind_blob(st, 1, row->b, 16, FSS_SQL_STATIC);
    fss_bind_text(st, 2, status, -1, FSS_SQL_STATIC);
    if (fss_step(st) == FSS_SQL_ROW)
        id = fss_column_int64(st, 0);
    fss_finalize(st);
    fss_sql_close(db);
    return id;
}

static bool pulls_row(world *w, tk_device *d, const fs_id *row)
{
    size_t seen = 0;
    tk_pull_all(&w->t, d, row, &seen, NULL, NULL);
    return seen > 0;
}

/* Restore: resolving one record of the hidden subtree un-deletes the
 * customer; Bob's device gets the subtree back (with the hidden signature)
 * and every sibling record of that delete is resolved. Accept on a quote
 * delete keeps it and closes its siblings. */
static void test_restore_and_accept(void **state)
{
    world w;
    fs_change c[2], del;
    fs_outcome o[2];
    fs_id line2 = tk_new_id();
    fss_buf out = {0};
    int64_t id;
    fs_hlc h;

    (void)state;
    make_world(&w);
    /* The back office deletes the customer while Bob works offline: his
     * writes, pushed after the delete, are merged hidden and recorded. */
    assert_int_equal(fss_admin_customer_delete(w.t.s, &w.cust, NULL), FSS_OK);
    tk_change(&c[0], &w.db, "contract", &w.contract);
    tk_set_text(&c[0], &w.db, "esign_status", "signed");
    tk_change(&c[1], &w.db, "quote", &w.quote);
    tk_set_int(&c[1], &w.db, "discount", 700);
    push(&w, &w.db, c, 2, o, NULL);
    assert_int_equal(o[0], FS_MERGED);
    tk_pull_all(&w.t, &w.db, NULL, NULL, NULL, NULL); /* the exit */
    tk_pull_all(&w.t, &w.da, NULL, NULL, NULL, NULL);
    assert_true(record_id(&w, &w.quote, "open") > 0);
    id = record_id(&w, &w.contract, "open");
    assert_true(id > 0);
    assert_int_equal(fss_admin_conflict_resolve(w.t.s, id, "restore", NULL, "ops", NULL),
                     FSS_OK);
    assert_int_equal(record_id(&w, &w.contract, "open"), 0);
    assert_int_equal(record_id(&w, &w.quote, "open"), 0); /* the sibling */
    assert_true(pulls_row(&w, &w.db, &w.contract));
    assert_int_equal(fss_admin_conflicts_list(w.t.s, "resolved", 0, &out, NULL), FSS_OK);
    assert_true(tk_count(out.data, "restore") >= 2);
    fss_buf_free(&out);

    /* Accept: a quote delete by Alice hides Bob's newer line; accepting
     * keeps the quote deleted. */
    tk_pull_all(&w.t, &w.da, NULL, NULL, NULL, NULL);
    tk_change(&del, &w.da, "quote", &w.quote);
    w.da.clock = w.db.clock;
    assert_int_equal(fs_hlc_tick(&w.da.clock, now_ms(), &h, NULL), FS_OK);
    fs_change_tombstone(&del, true, h);
    w.db.clock = fs_hlc_make(fs_hlc_ms(h) + 10000, 0);
    tk_change(&c[0], &w.db, "quote_line", &line2);
    tk_set_id(&c[0], &w.db, "quote_id", &w.quote);
    tk_set_int(&c[0], &w.db, "qty", 9);
    push(&w, &w.db, c, 1, o, NULL);
    push(&w, &w.da, &del, 1, o, NULL);
    id = record_id(&w, &line2, "open");
    assert_true(id > 0);
    assert_int_equal(fss_admin_conflict_resolve(w.t.s, id, "accept", NULL, "ops", NULL),
                     FSS_OK);
    assert_int_equal(record_id(&w, &line2, "open"), 0);
    assert_true(record_id(&w, &line2, "resolved") > 0);
    /* restore/accept make no sense for other records. */
    assert_int_equal(fss_admin_conflict_resolve(w.t.s, id, "restore", NULL, "ops", NULL),
                     FSS_EEXISTS);
    tk_stop(&w.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_delete_after_newer_child_writes),
        cmocka_unit_test(test_admin_delete_and_later_writes),
        cmocka_unit_test(test_quote_delete_hides_lines),
        cmocka_unit_test(test_quote_delete_under_deleted_customer),
        cmocka_unit_test(test_restore_and_accept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
