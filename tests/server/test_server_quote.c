/*
 * test_server_quote.c - the quote lifecycle at the server (conflict/
 * fs_quote.c's rule, sync-server/fss_quote.c): edits to a quote that was
 * sent meanwhile are refused with a reason the rep sees and an open record;
 * concurrent accept / reject end deterministically with an open record;
 * the server expires sent quotes past valid_until exactly once; the back
 * office accepts or rejects through the admin API; a contract made from a
 * quote carries its total and currency.
 */
#include "server_testkit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void admin(tk_server *t, const char *method, const char *path,
                  const char *body, tk_http *r)
{
    const char *h[] = {"Authorization: Bearer " TK_ADMIN_TOKEN,
                       "Content-Type: application/json", NULL};

    tk_request(t, method, path, h, body, body ? strlen(body) : 0, r);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Syncs one change and checks its outcome and reason. */
static void push1(tk_server *t, tk_device *d, fs_change *c, fs_outcome out,
                  fs_reason reason, fs_sync_response *r)
{
    fs_error_body eb;

    assert_int_equal(tk_sync(t, d, NULL, c, 1, 0, 0, FS_PROTO_DEFLATE, r, &eb), 200);
    if (r->results[0].outcome != out || r->results[0].reason != reason)
        fail_msg("outcome %d reason %s (%s), want %d %s", (int)r->results[0].outcome,
                 fs_reason_name(r->results[0].reason), r->results[0].detail, (int)out,
                 fs_reason_name(reason));
    fs_change_free(c);
}

/* A rep's quote with one line (qty x price), sent when `send`, with
 * valid_until when non-zero; all pushed in one batch. */
static void make_quote(tk_server *t, tk_device *d, const fs_id *cust, const fs_id *quote,
                       int64_t qty, int64_t price, int64_t valid_until, bool send)
{
    fs_change c[3];
    fs_id line = tk_new_id();
    fs_sync_response r;
    fs_error_body eb;
    size_t n = 2;

    tk_change(&c[0], d, "quote", quote);
    tk_set_id(&c[0], d, "customer_id", cust);
    tk_set_text(&c[0], d, "currency", "EUR");
    tk_set_text(&c[0], d, "status", "draft");
    if (valid_until)
        tk_set_int(&c[0], d, "valid_until", valid_until);
    tk_change(&c[1], d, "quote_line", &line);
    tk_set_id(&c[1], d, "quote_id", quote);
    tk_set_int(&c[1], d, "qty", qty);
    tk_set_int(&c[1], d, "unit_price", price);
    if (send) {
        tk_change(&c[2], d, "quote", quote);
        tk_set_text(&c[2], d, "status", "sent");
        n = 3;
    }
    assert_int_equal(tk_sync(t, d, NULL, c, n, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r.results[i].outcome, FS_APPLIED);
        fs_change_free(&c[i]);
    }
    fs_proto_sync_response_free(&r);
}

/* Finding 1 of issue 13: a quote sent (here by the rep's other device)
 * while this device edited it offline: the line, the discount and the
 * currency are refused with reason frozen, the quote and its total stay as
 * sent, and the back office sees open records that say why. */
static void test_edit_after_send_refused(void **state)
{
    tk_server t;
    tk_device d, d2;
    fs_sync_response r;
    fs_change c;
    fs_id rep, cust, quote = tk_new_id(), line = tk_new_id();
    fss_buf out = {0};

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&t, &rep, &d);
    tk_enroll(&t, &rep, &d2);
    make_quote(&t, &d, &cust, &quote, 2, 1000, 0, false);
    d2.clock = d.clock;
    tk_change(&c, &d2, "quote", &quote);
    tk_set_text(&c, &d2, "status", "sent");
    push1(&t, &d2, &c, FS_APPLIED, FS_REASON_NONE, &r);
    fs_proto_sync_response_free(&r);

    tk_change(&c, &d, "quote_line", &line);
    tk_set_id(&c, &d, "quote_id", &quote);
    tk_set_int(&c, &d, "qty", 100);
    tk_set_int(&c, &d, "unit_price", 100000);
    push1(&t, &d, &c, FS_REJECTED, FS_REASON_FROZEN, &r);
    assert_non_null(strstr(r.results[0].detail, "no longer a draft"));
    assert_null(tk_find_row(&r, &line));
    fs_proto_sync_response_free(&r);
    tk_change(&c, &d, "quote", &quote);
    tk_set_int(&c, &d, "discount", 5000);
    tk_set_text(&c, &d, "currency", "GBP");
    push1(&t, &d, &c, FS_REJECTED, FS_REASON_FROZEN, &r);
    assert_non_null(strstr(r.results[0].detail, "revise"));
    fs_proto_sync_response_free(&r);
    /* Deleting a sent quote is refused too. */
    tk_change(&c, &d, "quote", &quote);
    fs_change_tombstone(&c, true, d.clock + 1);
    push1(&t, &d, &c, FS_REJECTED, FS_REASON_FROZEN, &r);
    fs_proto_sync_response_free(&r);

    assert_int_equal(fss_admin_conflicts_list(t.s, "open", 0, &out, NULL), FSS_OK);
    assert_true(tk_count(out.data, "\"rule\":\"frozen\"") >= 5);
    assert_true(tk_count(out.data, "no longer a draft") >= 5);
    fss_buf_free(&out);
    tk_stop(&t);
}

/* Offline accept on one device and reject on another: whichever arrives
 * first, accepted stands and an open lifecycle_terminal record remains. */
static void test_accept_vs_reject(void **state)
{
    for (int order = 0; order < 2; order++) {
        tk_server t;
        tk_device a, b;
        fs_sync_response r;
        fs_change ca, cb;
        fs_id rep, cust, quote = tk_new_id();
        fss_buf out = {0};

        (void)state;
        tk_start(&t, NULL);
        rep = tk_rep(&t, "Alice", "north");
        cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
        tk_enroll(&t, &rep, &a);
        tk_enroll(&t, &rep, &b);
        make_quote(&t, &a, &cust, &quote, 1, 500, 0, true);
        b.clock = a.clock;
        tk_change(&ca, &a, "quote", &quote);
        tk_set_text(&ca, &a, "status", "accepted");
        tk_change(&cb, &b, "quote", &quote);
        tk_set_text(&cb, &b, "status", "rejected");
        if (order == 0) {
            push1(&t, &a, &ca, FS_APPLIED, FS_REASON_NONE, &r);
            fs_proto_sync_response_free(&r);
            push1(&t, &b, &cb, FS_MERGED, FS_REASON_FROZEN, &r);
        } else {
            push1(&t, &b, &cb, FS_APPLIED, FS_REASON_NONE, &r);
            fs_proto_sync_response_free(&r);
            push1(&t, &a, &ca, FS_APPLIED, FS_REASON_NONE, &r);
        }
        assert_string_equal(tk_row_text(&tk_find_row(&r, &quote)->row, "status"), "accepted");
        fs_proto_sync_response_free(&r);
        assert_int_equal(fss_admin_conflicts_list(t.s, "open", 0, &out, NULL), FSS_OK);
        assert_int_equal(tk_count(out.data, "\"rule\":\"lifecycle_terminal\""), 1);
        /* The back office decides for the lower state (rejected: "yours"
         * when reject arrived second, "theirs" when it was stored first):
         * the quote moves to rejected and a device pulls it so, although
         * the lattice ranks accepted higher. */
        {
            const char *idp = strstr(out.data, "\"id\":");
            int64_t kid;
            assert_non_null(idp);
            kid = strtoll(idp + 5, NULL, 10);
            assert_int_equal(fss_admin_conflict_resolve(t.s, kid, order == 0 ? "yours" : "theirs",
                                                        NULL, "ops", NULL), FSS_OK);
        }
        fss_buf_free(&out);
        assert_int_equal(fss_admin_conflicts_list(t.s, "open", 0, &out, NULL), FSS_OK);
        assert_int_equal(tk_count(out.data, "\"rule\":\"lifecycle_terminal\""), 0);
        fss_buf_free(&out);
        {
            fs_error_body eb;
            assert_int_equal(tk_sync(&t, &a, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb),
                             200);
            assert_non_null(tk_find_row(&r, &quote));
            assert_string_equal(tk_row_text(&tk_find_row(&r, &quote)->row, "status"),
                                "rejected");
            fs_proto_sync_response_free(&r);
        }
        tk_stop(&t);
    }
}

/* The server expires sent quotes past valid_until, once: a second run finds
 * nothing and hands out no sequence number. Drafts and quotes still valid
 * are left alone; a rep's edit to the expired quote is refused. */
static void test_expiry_idempotent(void **state)
{
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fs_error_body eb;
    fs_change c;
    fs_id rep, cust, late = tk_new_id(), valid = tk_new_id(), draft = tk_new_id();
    int64_t n = -1, now = now_ms();
    uint64_t cursor;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&t, &rep, &d);
    make_quote(&t, &d, &cust, &late, 1, 100, now - 60000, true);
    make_quote(&t, &d, &cust, &valid, 1, 100, now + 86400000, true);
    make_quote(&t, &d, &cust, &draft, 1, 100, now - 60000, false);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    cursor = d.cursor;

    assert_int_equal(fss_quotes_expire(t.s, now, &n, NULL), FSS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, cursor, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.nrows, 1);
    assert_string_equal(tk_row_text(&tk_find_row(&r, &late)->row, "status"), "expired");
    cursor = r.next_cursor;
    fs_proto_sync_response_free(&r);

    assert_int_equal(fss_quotes_expire(t.s, now, &n, NULL), FSS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, cursor, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.nrows, 0);
    assert_int_equal(r.next_cursor, cursor);
    fs_proto_sync_response_free(&r);

    tk_change(&c, &d, "quote", &late);
    tk_set_int(&c, &d, "valid_until", now + 86400000);
    push1(&t, &d, &c, FS_REJECTED, FS_REASON_FROZEN, &r);
    fs_proto_sync_response_free(&r);
    tk_stop(&t);
}

/* The back office accepts or rejects a sent quote over the admin API; the
 * lifecycle's refusals are 4xx with its reason. */
static void test_admin_quote_status(void **state)
{
    tk_server t;
    tk_device d;
    tk_http h;
    fs_sync_response r;
    fs_error_body eb;
    fs_change c;
    fs_id rep, cust, quote = tk_new_id(), draft = tk_new_id();
    char path[160], qs[FS_ID_STRLEN + 1];

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&t, &rep, &d);
    make_quote(&t, &d, &cust, &quote, 1, 100, 0, true);
    make_quote(&t, &d, &cust, &draft, 1, 100, 0, false);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);

    fs_id_format(&draft, qs);
    snprintf(path, sizeof path, "/admin/v1/quotes/%s/status", qs);
    admin(&t, "POST", path, "{\"status\":\"accepted\"}", &h);
    assert_int_equal(h.status, 400); /* a draft is sent first */
    assert_non_null(strstr((const char *)h.body, "send it first"));
    tk_http_free(&h);

    fs_id_format(&quote, qs);
    snprintf(path, sizeof path, "/admin/v1/quotes/%s/status", qs);
    admin(&t, "POST", path, "{\"status\":\"expired\"}", &h);
    assert_int_equal(h.status, 400);
    tk_http_free(&h);
    admin(&t, "POST", path, "{\"status\":\"accepted\"}", &h);
    assert_int_equal(h.status, 200);
    tk_http_free(&h);
    admin(&t, "POST", path, "{\"status\":\"rejected\"}", &h);
    assert_int_equal(h.status, 400);
    assert_non_null(strstr((const char *)h.body, "final"));
    tk_http_free(&h);
    admin(&t, "POST", "/admin/v1/quotes/0190e7c2-1a2b-7c3d-8e4f-0123456789ab/status",
          "{\"status\":\"accepted\"}", &h);
    assert_int_equal(h.status, 404);
    tk_http_free(&h);

    /* The device pulls the decision; its offline line is refused. */
    assert_int_equal(tk_sync(&t, &d, NULL, NULL, 0, d.cursor, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_string_equal(tk_row_text(&tk_find_row(&r, &quote)->row, "status"), "accepted");
    fs_proto_sync_response_free(&r);
    tk_change(&c, &d, "quote", &quote);
    tk_set_int(&c, &d, "discount", 10);
    push1(&t, &d, &c, FS_REJECTED, FS_REASON_FROZEN, &r);
    fs_proto_sync_response_free(&r);
    tk_stop(&t);
}

/* A device's contract from a quote must carry the quote's derived total
 * and currency; a mismatch is refused with both numbers, nothing stored. */
static void test_contract_amount_from_quote(void **state)
{
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fs_change c;
    fs_id rep, cust, quote = tk_new_id(), k1 = tk_new_id(), k2 = tk_new_id();

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&t, &rep, &d);
    make_quote(&t, &d, &cust, &quote, 3, 1250, 0, true);

    tk_change(&c, &d, "contract", &k1);
    tk_set_id(&c, &d, "customer_id", &cust);
    tk_set_id(&c, &d, "quote_id", &quote);
    tk_set_int(&c, &d, "amount", 999);
    tk_set_text(&c, &d, "currency", "EUR");
    push1(&t, &d, &c, FS_REJECTED, FS_REASON_INVALID, &r);
    assert_non_null(strstr(r.results[0].detail, "3750"));
    assert_null(tk_find_row(&r, &k1));
    fs_proto_sync_response_free(&r);

    tk_change(&c, &d, "contract", &k2);
    tk_set_id(&c, &d, "customer_id", &cust);
    tk_set_id(&c, &d, "quote_id", &quote);
    tk_set_int(&c, &d, "amount", 3750);
    tk_set_text(&c, &d, "currency", "GBP");
    push1(&t, &d, &c, FS_REJECTED, FS_REASON_INVALID, &r);
    assert_non_null(strstr(r.results[0].detail, "currency"));
    fs_proto_sync_response_free(&r);

    tk_change(&c, &d, "contract", &k2);
    tk_set_id(&c, &d, "customer_id", &cust);
    tk_set_id(&c, &d, "quote_id", &quote);
    tk_set_int(&c, &d, "amount", 3750);
    tk_set_text(&c, &d, "currency", "EUR");
    tk_set_text(&c, &d, "esign_status", "draft");
    push1(&t, &d, &c, FS_APPLIED, FS_REASON_NONE, &r);
    fs_proto_sync_response_free(&r);
    /* A later edit of the amount is checked again. */
    tk_change(&c, &d, "contract", &k2);
    tk_set_int(&c, &d, "amount", 1);
    push1(&t, &d, &c, FS_REJECTED, FS_REASON_INVALID, &r);
    fs_proto_sync_response_free(&r);
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_after_send_refused),
        cmocka_unit_test(test_accept_vs_reject),
        cmocka_unit_test(test_expiry_idempotent),
        cmocka_unit_test(test_admin_quote_status),
        cmocka_unit_test(test_contract_amount_from_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
