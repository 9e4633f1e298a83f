/*
 * test_server_multi.c - two servers on one store, as two `sync-server serve`
 * processes behind one address would be (docs/ARCHITECTURE.md, "Several
 * processes"): a device's requests go to either, in any order, and every
 * decision that must hold across them is made from the store, not from one
 * server's memory.
 *
 * Both servers run in this process (two fss_server handles, each with its
 * own connection pool, clock, rate table and metrics: everything a second
 * process has of its own); the store file and its locks are shared exactly
 * as between processes. tests/sim runs the real executable twice
 * (test_sim_multi) with kills on top.
 *
 * Covered: two servers creating a fresh store together; exactly-once per
 * batch id when the retry of a lost answer lands on the other server, and
 * when one batch reaches both at the same moment; enrollment codes used on
 * one refused on the other, and one code sent to both at once enrolling
 * one device; revocation through one refused (with a wipe) by the other; a
 * conflict resolved through one is resolved for the other; the quote
 * expiry that every process runs expires a quote once when two run at the
 * same moment; the auth-failure limit and the metrics are per server
 * (documented, not shared). The races run in threads through fss_handle
 * (no cmocka assertion off the main thread), eight rounds each so the two
 * requests often truly overlap; nothing is timed.
 */
#include "server_testkit.h"
#include "fss_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A second server on first's store (a second process on the same file).
 * Stopped with peer_stop, which leaves the store to tk_stop(first). */
static void peer_start(tk_server *peer, const tk_server *first,
                       void (*cfg_edit)(fss_config *cfg))
{
    fs_error err = {0};

    memset(peer, 0, sizeof *peer);
    snprintf(peer->dir, sizeof peer->dir, "%s", first->dir);
    snprintf(peer->db, sizeof peer->db, "%s", first->db);
    peer->cfg = first->cfg;
    peer->cfg.db_path = peer->db;
    peer->cfg.port = 0;
    if (cfg_edit)
        cfg_edit(&peer->cfg);
    if (fss_server_open(&peer->cfg, &peer->s, &err) != FSS_OK)
        fail_msg("open peer: %s", err.text);
    if (fss_server_start(peer->s, &err) != FSS_OK)
        fail_msg("start peer: %s", err.text);
    assert_true(fss_server_port(peer->s) > 0);
    assert_int_not_equal(fss_server_port(peer->s), fss_server_port(first->s));
    snprintf(peer->base, sizeof peer->base, "http://127.0.0.1:%u",
             (unsigned)fss_server_port(peer->s));
}

static void peer_stop(tk_server *peer)
{
    fss_server_close(peer->s);
    peer->s = NULL;
}

/* A lost answer on server a, the retry on server b: the batch is applied
 * once (same results, the row keeps the seq a gave it, nothing new to
 * pull), and the same batch id with other content is refused by b too. */
static void test_batch_once_across_servers(void **state)
{
    tk_server a, b;
    tk_device d;
    fs_sync_response r1, r2, r3;
    fs_error_body eb;
    fs_change c1[2], c2;
    fs_id rep, cust, batch = tk_new_id(), visit = tk_new_id();

    (void)state;
    tk_start(&a, NULL);
    peer_start(&b, &a, NULL);
    rep = tk_rep(&a, "Alice", "north");
    cust = tk_customer(&a, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&a, &rep, &d);
    tk_pull_all(&b, &d, NULL, NULL, NULL, NULL);

    tk_change(&c1[0], &d, "customer", &cust);
    tk_set_text(&c1[0], &d, "phone", "111");
    tk_change(&c1[1], &d, "visit", &visit);
    tk_set_id(&c1[1], &d, "customer_id", &cust);
    tk_set_text(&c1[1], &d, "status", "planned");
    tk_set_int(&c1[1], &d, "planned_at", (int64_t)fs_hlc_ms(d.clock));
    assert_int_equal(tk_sync(&a, &d, &batch, c1, 2, d.cursor, 0, FS_PROTO_DEFLATE, &r1, &eb),
                     200);
    assert_int_equal(r1.nresults, 2);
    assert_int_equal(r1.results[0].outcome, FS_APPLIED);
    assert_int_equal(r1.results[1].outcome, FS_APPLIED);
    assert_int_equal(r1.nrows, 2);
    /* a's answer is lost; the retry reaches b. */
    assert_int_equal(tk_sync(&b, &d, &batch, c1, 2, d.cursor, 0, FS_PROTO_GZIP, &r2, &eb), 200);
    assert_int_equal(r2.nresults, r1.nresults);
    for (size_t i = 0; i < r1.nresults; i++) {
        assert_int_equal(r2.results[i].outcome, r1.results[i].outcome);
        assert_int_equal(r2.results[i].reason, r1.results[i].reason);
        assert_string_equal(r2.results[i].detail, r1.results[i].detail);
    }
    assert_int_equal(r2.nrows, r1.nrows);
    for (size_t i = 0; i < r1.nrows; i++)
        assert_int_equal(r2.rows[i].seq, r1.rows[i].seq); /* not applied again */
    assert_int_equal(r2.next_cursor, r1.next_cursor);
    d.cursor = r2.next_cursor;
    assert_int_equal(tk_pull_all(&a, &d, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(tk_pull_all(&b, &d, NULL, NULL, NULL, NULL), 0);

    /* Reusing the id with other content: refused by either server. */
    tk_change(&c2, &d, "customer", &cust);
    tk_set_text(&c2, &d, "phone", "222");
    assert_int_equal(tk_sync(&b, &d, &batch, &c2, 1, d.cursor, 0, FS_PROTO_DEFLATE, &r3, &eb),
                     409);
    assert_int_equal(eb.code, FS_PROTO_ERR_BATCH_CONFLICT);
    assert_int_equal(tk_sync(&a, &d, &batch, &c2, 1, d.cursor, 0, FS_PROTO_DEFLATE, &r3, &eb),
                     409);
    assert_int_equal(tk_pull_all(&b, &d, NULL, NULL, NULL, NULL), 0); /* unchanged */

    fs_proto_sync_response_free(&r1);
    fs_proto_sync_response_free(&r2);
    fs_change_free(&c1[0]);
    fs_change_free(&c1[1]);
    fs_change_free(&c2);
    peer_stop(&b);
    tk_stop(&a);
}

/* One sync request handled by a server in a thread (fss_handle). */
typedef struct sync_run {
    fss_server *s;
    const fs_proto_buf *body;
    const char *auth;
    fss_response rs;
} sync_run;

static void *sync_thread(void *p)
{
    sync_run *x = p;
    fss_request rq = {0};

    rq.method = "POST";
    rq.path = "/v1/sync";
    rq.content_type = "application/x-protobuf";
    rq.authorization = x->auth;
    rq.remote_addr = "127.0.0.1";
    rq.body = x->body->data;
    rq.body_len = x->body->len;
    fss_handle(x->s, &rq, &x->rs);
    return NULL;
}

/* The same batch reaching both servers at the same moment (a retry racing
 * the original through a load balancer): both answer 200 with the same
 * verdict, and the change is applied once (the device pulls one version).
 * A few rounds, each a new batch, so the two often truly overlap. */
static void test_batch_race_across_servers(void **state)
{
    tk_server a, b;
    tk_device d;
    fs_id rep, cust;
    char auth[200];

    (void)state;
    tk_start(&a, NULL);
    peer_start(&b, &a, NULL);
    rep = tk_rep(&a, "Alice", "north");
    cust = tk_customer(&a, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&a, &rep, &d);
    tk_pull_all(&a, &d, NULL, NULL, NULL, NULL);
    snprintf(auth, sizeof auth, "Bearer %s", d.token);
    for (int round = 0; round < 8; round++) {
        fs_sync_request rq;
        fs_sync_response out[2];
        fs_proto_buf body = {0};
        fs_change c;
        sync_run x[2];
        pthread_t th[2];
        char phone[32];

        snprintf(phone, sizeof phone, "+49 30 %d", round);
        tk_change(&c, &d, "customer", &cust);
        tk_set_text(&c, &d, "phone", phone);
        memset(&rq, 0, sizeof rq);
        rq.version = FS_PROTO_VERSION;
        rq.device_id = d.id;
        rq.batch_id = tk_new_id();
        rq.cursor = d.cursor;
        rq.client_time = d.clock;
        rq.changes = &c;
        rq.nchanges = 1;
        assert_int_equal(fs_proto_sync_request_encode(&rq, FS_PROTO_IDENTITY, NULL, &body,
                                                      NULL), FS_PROTO_OK);
        x[0] = (sync_run){a.s, &body, auth, {0}};
        x[1] = (sync_run){b.s, &body, auth, {0}};
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&th[i], NULL, sync_thread, &x[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        fs_proto_buf_free(&body);
        fs_change_free(&c);
        for (int i = 0; i < 2; i++) {
            fs_proto_encoding enc = FS_PROTO_IDENTITY;
            assert_int_equal(x[i].rs.status, 200);
            if (x[i].rs.content_encoding)
                assert_int_equal(fs_proto_encoding_parse(x[i].rs.content_encoding,
                                                         strlen(x[i].rs.content_encoding),
                                                         &enc, NULL), FS_PROTO_OK);
            memset(&out[i], 0, sizeof out[i]);
            assert_int_equal(fs_proto_sync_response_decode(x[i].rs.body, x[i].rs.body_len, enc,
                                                           NULL, &out[i], NULL, NULL),
                             FS_PROTO_OK);
            fss_response_free(&x[i].rs);
        }
        assert_int_equal(out[0].nresults, 1);
        assert_int_equal(out[1].nresults, 1);
        assert_int_equal(out[0].results[0].outcome, FS_APPLIED);
        assert_int_equal(out[1].results[0].outcome, FS_APPLIED);
        assert_int_equal(out[0].nrows, 1);
        assert_int_equal(out[1].nrows, 1);
        assert_int_equal(out[0].rows[0].seq, out[1].rows[0].seq); /* one version */
        d.cursor = out[0].next_cursor > out[1].next_cursor ? out[0].next_cursor
                                                           : out[1].next_cursor;
        fs_proto_sync_response_free(&out[0]);
        fs_proto_sync_response_free(&out[1]);
        assert_int_equal(tk_pull_all(&b, &d, NULL, NULL, NULL, NULL), 0);
    }
    peer_stop(&b);
    tk_stop(&a);
}

/* A code is single-use across servers, whichever issued it. */
static void test_enroll_code_once_across_servers(void **state)
{
    tk_server a, b;
    tk_device d1, d2;
    fs_error_body eb;
    fs_id rep;
    char code[FSS_CODE_LEN + 1];

    (void)state;
    tk_start(&a, NULL);
    peer_start(&b, &a, NULL);
    rep = tk_rep(&a, "Alice", "north");
    /* Issued through a, used on a, refused by b. */
    assert_int_equal(fss_admin_enroll_code(a.s, &rep, 0, code, NULL), FSS_OK);
    assert_int_equal(tk_enroll_code(&a, code, &d1, &eb), 200);
    assert_int_equal(tk_enroll_code(&b, code, &d2, &eb), 403);
    assert_int_equal(eb.code, FS_PROTO_ERR_ENROLL_CODE);
    assert_non_null(strstr(eb.message, "already used"));
    /* Issued through b, used on a, refused by b and by a. */
    assert_int_equal(fss_admin_enroll_code(b.s, &rep, 0, code, NULL), FSS_OK);
    assert_int_equal(tk_enroll_code(&a, code, &d2, &eb), 200);
    assert_int_equal(tk_enroll_code(&b, code, &d1, &eb), 403);
    assert_int_equal(tk_enroll_code(&a, code, &d1, &eb), 403);
    /* The device a enrolled is known to b: its token works there. */
    {
        fs_sync_response r;
        assert_int_equal(tk_sync(&b, &d2, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
        fs_proto_sync_response_free(&r);
    }
    peer_stop(&b);
    tk_stop(&a);
}

/* One enrollment with `code` handled by a server in a thread (in-process,
 * fss_handle: no cmocka assertion runs off the main thread). */
typedef struct enroll_run {
    fss_server *s;
    const fs_proto_buf *body;
    int status;
} enroll_run;

static void *enroll_thread(void *p)
{
    enroll_run *x = p;
    fss_request rq = {0};
    fss_response rs = {0};

    rq.method = "POST";
    rq.path = "/v1/enroll";
    rq.content_type = "application/x-protobuf";
    rq.remote_addr = "127.0.0.1";
    rq.body = x->body->data;
    rq.body_len = x->body->len;
    fss_handle(x->s, &rq, &rs);
    x->status = rs.status;
    fss_response_free(&rs);
    return NULL;
}

/* The same code typed on two laptops at once, each reaching another server:
 * one enrollment, the other "already used"; the rep has one device. Run a
 * few rounds, each with a new code, so the two often truly overlap. */
static void test_enroll_code_race_across_servers(void **state)
{
    tk_server a, b;
    fs_id rep;
    char code[FSS_CODE_LEN + 1];
    fs_enroll_request rq;
    fs_proto_buf body = {0};
    enroll_run x[2];
    pthread_t th[2];
    int ok = 0;

    (void)state;
    tk_start(&a, NULL);
    peer_start(&b, &a, NULL);
    rep = tk_rep(&a, "Alice", "north");
    for (int round = 0; round < 8; round++) {
        assert_int_equal(fss_admin_enroll_code(round % 2 ? a.s : b.s, &rep, 0, code, NULL),
                         FSS_OK);
        memset(&rq, 0, sizeof rq);
        rq.version = FS_PROTO_VERSION;
        snprintf(rq.code, sizeof rq.code, "%s", code);
        snprintf(rq.device_name, sizeof rq.device_name, "laptop");
        assert_int_equal(fs_proto_enroll_request_encode(&rq, FS_PROTO_IDENTITY, NULL, &body,
                                                        NULL), FS_PROTO_OK);
        x[0] = (enroll_run){a.s, &body, 0};
        x[1] = (enroll_run){b.s, &body, 0};
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&th[i], NULL, enroll_thread, &x[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(th[i], NULL);
        fs_proto_buf_free(&body);
        assert_true((x[0].status == 200 && x[1].status == 403) ||
                    (x[0].status == 403 && x[1].status == 200));
        ok++;
    }
    assert_int_equal(ok, 8);
    {
        fss_buf out = {0};
        assert_int_equal(fss_admin_devices_list(b.s, &out, NULL), FSS_OK);
        fss_buf_add(&out, "", 1);
        assert_int_equal(tk_count((const char *)out.data, "\"revoked\":false"), 8);
        fss_buf_free(&out);
    }
    peer_stop(&b);
    tk_stop(&a);
}

/* Revoked through a: b refuses the device at once, with the wipe. */
static void test_revoke_across_servers(void **state)
{
    tk_server a, b;
    tk_device d;
    fs_error_body eb;
    fs_sync_response r;
    fs_id rep;

    (void)state;
    tk_start(&a, NULL);
    peer_start(&b, &a, NULL);
    rep = tk_rep(&a, "Alice", "north");
    tk_enroll(&b, &rep, &d);
    /* b has served this device (anything it kept of it is warm now). */
    assert_int_equal(tk_sync(&b, &d, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    fs_proto_sync_response_free(&r);
    assert_int_equal(tk_sync(&b, &d, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    fs_proto_sync_response_free(&r);
    assert_int_equal(fss_admin_device_revoke(a.s, &d.id, NULL), FSS_OK);
    assert_int_equal(tk_sync(&b, &d, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 401);
    assert_int_equal(eb.code, FS_PROTO_ERR_REVOKED);
    assert_true(eb.wipe);
    assert_int_equal(tk_sync(&a, &d, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 401);
    assert_int_equal(eb.code, FS_PROTO_ERR_REVOKED);
    peer_stop(&b);
    tk_stop(&a);
}

/* The id of the first conflict record in a list (JSON from the admin API). */
static int64_t first_conflict_id(fss_server *s, const char *status)
{
    fss_buf out = {0};
    const char *p;
    int64_t id = 0;

    assert_int_equal(fss_admin_conflicts_list(s, status, 100, &out, NULL), FSS_OK);
    fss_buf_add(&out, "", 1);
    p = strstr((const char *)out.data, "{\"id\":");
    if (p)
        id = strtoll(p + 6, NULL, 10);
    fss_buf_free(&out);
    return id;
}

/* A conflict recorded through b and resolved through b is resolved for a:
 * a lists it as resolved and cannot resolve it a second time. */
static void test_conflict_resolved_across_servers(void **state)
{
    tk_server a, b;
    tk_device da, db;
    fs_sync_response r;
    fs_error_body eb;
    fs_change ca, cb;
    fs_id cust;
    int64_t id;

    (void)state;
    tk_start(&a, NULL);
    tk_stale_phone_writes(&a, &da, &db, &cust, &ca, &cb);
    peer_start(&b, &a, NULL);
    assert_int_equal(tk_sync(&a, &da, NULL, &ca, 1, da.cursor, 0, FS_PROTO_DEFLATE, &r, &eb),
                     200);
    fs_proto_sync_response_free(&r);
    assert_int_equal(tk_sync(&b, &db, NULL, &cb, 1, db.cursor, 0, FS_PROTO_DEFLATE, &r, &eb),
                     200);
    fs_proto_sync_response_free(&r);
    /* The stale write lost on b (recorded, decided by the rule: "auto"). */
    id = first_conflict_id(a.s, "auto");
    assert_true(id > 0);
    assert_int_equal(first_conflict_id(b.s, "auto"), id);
    assert_int_equal(fss_admin_conflict_resolve(b.s, id, "yours", NULL, "ops", NULL), FSS_OK);
    assert_int_equal(first_conflict_id(a.s, "auto"), 0);
    assert_int_equal(first_conflict_id(a.s, "resolved"), id);
    assert_int_equal(fss_admin_conflict_resolve(a.s, id, "theirs", NULL, "ops", NULL),
                     FSS_EEXISTS);
    fs_change_free(&ca);
    fs_change_free(&cb);
    peer_stop(&b);
    tk_stop(&a);
}

/* One expiry run of a server in a thread: what every process's once-a-minute
 * timer does (sync-server/main.c). */
typedef struct expiry_run {
    fss_server *s;
    int64_t now, n;
    fss_status st;
} expiry_run;

static void *expire_thread(void *p)
{
    expiry_run *x = p;
    x->st = fss_quotes_expire(x->s, x->now, &x->n, NULL);
    return NULL;
}

/* Both servers run the expiry at the same moment: the due quote is expired
 * once (the counts add up to 1 and the device pulls one new version). */
static void test_expiry_once_across_servers(void **state)
{
    tk_server a, b;
    tk_device d;
    fs_sync_response r;
    fs_error_body eb;
    fs_change c[3];
    fs_id rep, cust, quote = tk_new_id(), line = tk_new_id();
    struct timespec ts;
    int64_t now;
    expiry_run xa, xb;
    pthread_t ta, tb;

    (void)state;
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    tk_start(&a, NULL);
    peer_start(&b, &a, NULL);
    rep = tk_rep(&a, "Alice", "north");
    cust = tk_customer(&a, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&a, &rep, &d);
    tk_change(&c[0], &d, "quote", &quote);
    tk_set_id(&c[0], &d, "customer_id", &cust);
    tk_set_text(&c[0], &d, "currency", "EUR");
    tk_set_text(&c[0], &d, "status", "draft");
    tk_set_int(&c[0], &d, "valid_until", now - 60000);
    tk_change(&c[1], &d, "quote_line", &line);
    tk_set_id(&c[1], &d, "quote_id", &quote);
    tk_set_int(&c[1], &d, "qty", 1);
    tk_set_int(&c[1], &d, "unit_price", 100);
    tk_change(&c[2], &d, "quote", &quote);
    tk_set_text(&c[2], &d, "status", "sent");
    assert_int_equal(tk_sync(&b, &d, NULL, c, 3, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(r.results[i].outcome, FS_APPLIED);
        fs_change_free(&c[i]);
    }
    fs_proto_sync_response_free(&r);
    tk_pull_all(&a, &d, NULL, NULL, NULL, NULL);

    xa = (expiry_run){a.s, now, -1, FSS_OK};
    xb = (expiry_run){b.s, now, -1, FSS_OK};
    assert_int_equal(pthread_create(&ta, NULL, expire_thread, &xa), 0);
    assert_int_equal(pthread_create(&tb, NULL, expire_thread, &xb), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(xa.st, FSS_OK);
    assert_int_equal(xb.st, FSS_OK);
    assert_int_equal(xa.n + xb.n, 1);
    assert_int_equal(tk_sync(&b, &d, NULL, NULL, 0, d.cursor, 0, FS_PROTO_DEFLATE, &r, &eb),
                     200);
    assert_int_equal(r.nrows, 1);
    assert_string_equal(tk_row_text(&tk_find_row(&r, &quote)->row, "status"), "expired");
    fs_proto_sync_response_free(&r);
    peer_stop(&b);
    tk_stop(&a);
}

/* Two servers opening a store that does not exist yet at the same moment
 * (two processes started together on a fresh store): both open, the
 * schema is created once (the migrations run in the write transaction),
 * and both serve it. */
typedef struct open_run {
    fss_config cfg;
    fss_server *s;
    fss_status st;
    fs_error err;
} open_run;

static void *open_thread(void *p)
{
    open_run *o = p;
    o->st = fss_server_open(&o->cfg, &o->s, &o->err);
    return NULL;
}

static void test_first_start_together(void **state)
{
    tk_server a, b;
    open_run o[2];
    pthread_t th[2];
    char path[400];
    tk_device d;
    fs_id rep;

    (void)state;
    tk_start(&a, NULL); /* only for its folder, config and cleanup */
    fss_server_close(a.s);
    snprintf(a.db, sizeof a.db, "%s/fresh.db", a.dir);
    a.cfg.db_path = a.db;
    memset(o, 0, sizeof o);
    for (int i = 0; i < 2; i++) {
        o[i].cfg = a.cfg;
        assert_int_equal(pthread_create(&th[i], NULL, open_thread, &o[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++)
        if (o[i].st != FSS_OK)
            fail_msg("server %d: %s", i, o[i].err.text);
    for (int i = 0; i < 2; i++)
        fss_server_close(o[i].s);
    /* Both opened the same schema: serve it from two servers again. */
    assert_int_equal(fss_server_open(&a.cfg, &a.s, NULL), FSS_OK);
    assert_int_equal(fss_server_start(a.s, NULL), FSS_OK);
    snprintf(a.base, sizeof a.base, "http://127.0.0.1:%u", (unsigned)fss_server_port(a.s));
    peer_start(&b, &a, NULL);
    rep = tk_rep(&a, "Alice", "north");
    tk_enroll(&b, &rep, &d);
    peer_stop(&b);
    fss_server_close(a.s);
    for (int i = 0; i < 4; i++) {
        static const char *const names[] = {"fresh.db", "fresh.db-wal", "fresh.db-shm",
                                            "central.db"};
        snprintf(path, sizeof path, "%s/%s", a.dir, names[i]);
        unlink(path);
    }
    rmdir(a.dir);
}

static void strict_limit(fss_config *cfg)
{
    cfg->auth_fail_limit = 3;
}

/* One sync with a bad token; its HTTP status. */
static long guess(tk_server *t, const tk_device *d)
{
    fs_sync_request rq;
    fs_proto_buf buf = {0};
    tk_http r;
    const char *h[3] = {"Content-Type: application/x-protobuf", "Authorization: Bearer guess",
                        NULL};
    long st;

    memset(&rq, 0, sizeof rq);
    rq.version = FS_PROTO_VERSION;
    rq.device_id = d->id;
    rq.batch_id = tk_new_id();
    assert_int_equal(fs_proto_sync_request_encode(&rq, FS_PROTO_IDENTITY, NULL, &buf, NULL),
                     FS_PROTO_OK);
    tk_request(t, "POST", "/v1/sync", h, buf.data, buf.len, &r);
    fs_proto_buf_free(&buf);
    st = r.status;
    tk_http_free(&r);
    return st;
}

/* Documented per process (ARCHITECTURE.md): the failed-auth count lives in
 * each server's memory, so an address limited by a is still answered by b
 * until it fails there too. With N processes an attacker gets at most N
 * times the limit per window; the limit holds on each. Metrics are each
 * server's own, too (Prometheus scrapes every process). */
static void test_rate_limit_and_metrics_per_server(void **state)
{
    tk_server a, b;
    tk_device d;
    fs_id rep;
    fss_buf ma = {0}, mb = {0};

    (void)state;
    tk_start(&a, strict_limit);
    peer_start(&b, &a, NULL);
    rep = tk_rep(&a, "Alice", "north");
    tk_enroll(&a, &rep, &d);
    for (int i = 0; i < 3; i++)
        assert_int_equal(guess(&a, &d), 401);
    assert_int_equal(guess(&a, &d), 429);
    for (int i = 0; i < 3; i++)
        assert_int_equal(guess(&b, &d), 401);
    assert_int_equal(guess(&b, &d), 429);
    assert_int_equal(guess(&a, &d), 429);

    fss_metrics_render(a.s, &ma);
    fss_metrics_render(b.s, &mb);
    fss_buf_add(&ma, "", 1);
    fss_buf_add(&mb, "", 1);
    /* a served the enrollment, b did not. */
    assert_non_null(strstr((const char *)ma.data, "route=\"enroll\",code=\"2xx\"} 1\n"));
    assert_non_null(strstr((const char *)mb.data, "route=\"enroll\",code=\"2xx\"} 0\n"));
    fss_buf_free(&ma);
    fss_buf_free(&mb);
    peer_stop(&b);
    tk_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_start_together),
        cmocka_unit_test(test_batch_once_across_servers),
        cmocka_unit_test(test_batch_race_across_servers),
        cmocka_unit_test(test_enroll_code_once_across_servers),
        cmocka_unit_test(test_enroll_code_race_across_servers),
        cmocka_unit_test(test_revoke_across_servers),
        cmocka_unit_test(test_conflict_resolved_across_servers),
        cmocka_unit_test(test_expiry_once_across_servers),
        cmocka_unit_test(test_rate_limit_and_metrics_per_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
