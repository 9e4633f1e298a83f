/*
 * test_server_search.c - the console's customer search (issue 15,
 * GET /admin/v1/customers?q=): accent-, case- and width-insensitive
 * substrings over the folded text the server keeps per customer, its
 * own fields and its contacts' (fss_search, fss_repo_search.c), on both
 * stores.
 *
 * What must stay true: a table of searches over imported customers
 * (muller finds Müller, creme Crème, CAFE Café, sao paulo São Paulo in an
 * address, 京 a Chinese name, fullwidth either way, '%' and '_' taken
 * literally, nothing found for what no customer holds); a text 1,100
 * customers hold (the capped count, the page in name order); a customer renamed
 * by a device's sync (the sync request's write-behind) is found by its
 * new name and no longer by its old one; a contact's name finds its
 * customer until the contact is deleted; a territory restriction still
 * applies; and the text is rebuilt for rows a store already held (the
 * migration's backfill).
 *
 * Runs on SQLite (test_server_search) and PostgreSQL (test_server_search_pg).
 */
#include "server_testkit.h"

#include "fss_repo.h"
#include "fss_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Percent-encodes q into out (every byte but unreserved ones). */
static void url_encode(const char *q, char *out, size_t cap)
{
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)q; *p && o + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.')
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", *p);
    }
    out[o] = '\0';
}

/* GET /admin/v1/customers?q=<q>&limit=100 over HTTP (as the console asks)
 * into *r (the caller frees it); asserts 200. */
static void search(tk_server *t, const char *q, tk_http *r)
{
    const char *h[] = {"Authorization: Bearer " TK_ADMIN_TOKEN, NULL};
    char enc[512], path[600];

    url_encode(q, enc, sizeof enc);
    snprintf(path, sizeof path, "/admin/v1/customers?limit=100&q=%s", enc);
    tk_request(t, "GET", path, h, NULL, 0, r);
    if (r->status != 200)
        fail_msg("q=%s: HTTP %ld %.*s", q, r->status, (int)r->len, (const char *)r->body);
}

/* The rows a search finds (counted by their ids), and whether the answer
 * names `has` (NULL: not asked). */
static size_t found(tk_server *t, const char *q, const char *has, bool *named)
{
    tk_http r;
    char *body;
    size_t n;

    search(t, q, &r);
    body = malloc(r.len + 1);
    assert_non_null(body);
    memcpy(body, r.body, r.len);
    body[r.len] = '\0';
    n = tk_count(body, "{\"id\":");
    if (named)
        *named = has && strstr(body, has);
    free(body);
    tk_http_free(&r);
    return n;
}

#define MULLER "M\xC3\xBCller Feinkost GmbH"
#define CREME "Cr\xC3\xA8me de la Cr\xC3\xA8me"
#define CAFE "Caf\xC3\xA9 Central"
#define BEIJING "\xE5\x8C\x97\xE4\xBA\xAC\xE8\xB4\xB8\xE6\x98\x93\xE6\x9C\x89\xE9\x99\x90" \
                "\xE5\x85\xAC\xE5\x8F\xB8"
#define FULLWIDTH "\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3 Trading"

static void import_customers(tk_server *t)
{
    tk_import(t, "customer",
              "[{\"name\":\"" MULLER "\",\"territory\":\"north\"},"
              " {\"name\":\"" CREME "\",\"territory\":\"north\",\"tags\":\"\xC3\x89picerie fine\"},"
              " {\"name\":\"" CAFE "\",\"territory\":\"south\"},"
              " {\"name\":\"Comercial Paulista\",\"territory\":\"south\","
              "  \"address\":\"Av. Paulista 1000, S\xC3\xA3o Paulo\"},"
              " {\"name\":\"" BEIJING "\",\"territory\":\"south\"},"
              " {\"name\":\"" FULLWIDTH "\",\"territory\":\"north\"},"
              " {\"name\":\"Outlet 100%_off\",\"territory\":\"north\"},"
              " {\"name\":\"Mueller Bau\",\"territory\":\"north\"}]");
}

static void ignore_row(const fss_customer_item *it, void *arg)
{
    (void)it;
    (void)arg;
}

static void test_search_table(void **state)
{
    static const struct {
        const char *q;
        size_t count;
        const char *has;
    } cases[] = {
        {"muller", 1, "Feinkost"},
        {"M\xC3\x9CLLER", 1, "Feinkost"},                 /* MÜLLER */
        {"\xEF\xBD\x8D\xEF\xBD\x95ller", 1, "Feinkost"},  /* ｍｕller */
        {"mueller", 1, "Mueller Bau"},                    /* not Müller: no transliteration */
        {"creme", 1, "de la Cr"},
        {"CR\xC3\x88ME DE", 1, "de la Cr"},               /* CRÈME DE */
        {"epicerie", 1, "de la Cr"},                      /* a tag */
        {"CAFE", 1, "Central"},
        {"caf\xC3\xA9 c", 1, "Central"},                  /* café c */
        {"sao paulo", 1, "Comercial Paulista"},           /* the address */
        {"\xE4\xBA\xAC", 1, NULL},                         /* 京 */
        {"\xE8\xB4\xB8\xE6\x98\x93", 1, NULL},             /* 贸易 */
        {"abc trading", 1, "Trading"},                    /* a fullwidth name */
        {"\xEF\xBC\xA1\xEF\xBC\xA2", 1, "Trading"},       /* ＡＢ */
        {"%", 1, "100%_off"},
        {"_", 1, "100%_off"},
        {"0%_o", 1, "100%_off"},
        {"0_%o", 0, NULL},
        {"\\", 0, NULL},
        {"zz-no-such", 0, NULL},
        {"la cr\xC3\xA8me \xC3\xA9picerie", 0, NULL},      /* name, tags: not joined */
    };
    tk_server t;

    (void)state;
    tk_start(&t, NULL);
    tk_rep(&t, "Nora North", "north");
    tk_rep(&t, "Sam South", "south");
    import_customers(&t);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool named = false;
        size_t n = found(&t, cases[i].q, cases[i].has, &named);
        if (n != cases[i].count || (cases[i].has && !named))
            fail_msg("q=%s: %zu rows, want %zu%s%s", cases[i].q, n, cases[i].count,
                     cases[i].has ? " naming " : "", cases[i].has ? cases[i].has : "");
    }
    /* A territory restriction (a manager's) still applies to a search. */
    {
        fss_conn *c = fss__conn_get(t.s, 5000);
        const char *south[] = {"south", NULL}, *north[] = {"north", NULL};
        fss_customer_query q = {.text = "muller", .limit = 50};
        int64_t total = -1;
        fs_error err = {0};

        assert_non_null(c);
        assert_int_equal(fss__repo_customers_list(c, &q, south, &total, ignore_row, NULL, &err),
                         FSS_OK);
        assert_int_equal(total, 0);
        assert_int_equal(fss__repo_customers_list(c, &q, north, &total, ignore_row, NULL, &err),
                         FSS_OK);
        assert_int_equal(total, 1);
        fss__conn_put(t.s, c);
    }
    tk_stop(&t);
}

/* A text most customers hold (the count reaches its cap): the page is
 * read in name order, probing each customer's text (another query shape
 * than a rare text's, fss_repo_console.c). */
static void test_search_common_text(void **state)
{
    tk_server t;
    size_t cap = 64 * 1100, o = 0;
    char *many = malloc(cap), *body;
    tk_http r;

    (void)state;
    assert_non_null(many);
    tk_start(&t, NULL);
    tk_rep(&t, "Nora North", "north");
    for (int n = 0; n < 1100; n++)
        o += (size_t)snprintf(many + o, cap - o,
                              "%s{\"name\":\"B\u00e4ckerei %04d\",\"territory\":\"north\"}",
                              n ? "," : "[", 1099 - n);
    snprintf(many + o, cap - o, ",{\"name\":\"Aaa other\",\"territory\":\"north\"}]");
    tk_import(&t, "customer", many);
    free(many);
    {
        const char *h[] = {"Authorization: Bearer " TK_ADMIN_TOKEN, NULL};
        tk_request(&t, "GET", "/admin/v1/customers?q=BACKEREI&limit=50&offset=50", h, NULL, 0,
                   &r);
    }
    assert_int_equal(r.status, 200);
    body = malloc(r.len + 1);
    assert_non_null(body);
    memcpy(body, r.body, r.len);
    body[r.len] = '\0';
    tk_http_free(&r);
    assert_int_equal(tk_count(body, "{\"id\":"), 50);
    assert_non_null(strstr(body, "\"total\":1000,\"limit\":50,\"offset\":50,"
                                 "\"total_capped\":true"));
    /* the second page of the name order: 0050 first, 0099 last */
    {
        const char *first = strstr(body, "ckerei 0");
        assert_non_null(first);
        assert_memory_equal(first, "ckerei 0050", 11);
        assert_non_null(strstr(body, "ckerei 0099"));
        assert_null(strstr(body, "ckerei 0100"));
        assert_null(strstr(body, "Aaa other"));
    }
    free(body);
    tk_stop(&t);
}

/* A device renames its customer and adds a contact (one sync request:
 * the write-behind path); later it deletes the contact. */
static void test_search_follows_device_writes(void **state)
{
    tk_server t;
    tk_device d;
    fs_id rep, cust, contact = tk_new_id();
    fs_change c[2];
    fs_sync_response r;
    fs_error_body eb;
    fs_hlc h;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Nora North", "north");
    cust = tk_customer(&t, "B\xC3\xA4" "ckerei Alt", "north", NULL, 52.5, 13.4);
    tk_enroll(&t, &rep, &d);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    assert_int_equal(found(&t, "backerei alt", NULL, NULL), 1);

    tk_change(&c[0], &d, "customer", &cust);
    tk_set_text(&c[0], &d, "name", "Konditorei \xC3\x9Cnal"); /* Ünal */
    tk_change(&c[1], &d, "contact", &contact);
    tk_set_id(&c[1], &d, "customer_id", &cust);
    tk_set_text(&c[1], &d, "name", "Zo\xC3\xAB \xC3\x85ngstr\xC3\xB6m"); /* Zoë Ångström */
    assert_int_equal(tk_sync(&t, &d, NULL, c, 2, d.cursor, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    assert_int_equal(r.results[1].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&r);
    fs_change_free(&c[0]);
    fs_change_free(&c[1]);
    assert_int_equal(found(&t, "konditorei unal", NULL, NULL), 1);
    assert_int_equal(found(&t, "backerei", NULL, NULL), 0);
    {
        bool named = false;
        assert_int_equal(found(&t, "zoe angstrom", "Konditorei", &named), 1);
        assert_true(named); /* a contact's name finds its customer */
    }

    tk_change(&c[0], &d, "contact", &contact);
    assert_int_equal(fs_hlc_tick(&d.clock, (uint64_t)time(NULL) * 1000, &h, NULL), FS_OK);
    fs_change_tombstone(&c[0], true, h);
    assert_int_equal(tk_sync(&t, &d, NULL, c, 1, d.cursor, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&r);
    fs_change_free(&c[0]);
    assert_int_equal(found(&t, "angstrom", NULL, NULL), 0);
    assert_int_equal(found(&t, "unal", NULL, NULL), 1);
    tk_stop(&t);
}

/* The migration's step: the folded text of the rows a store already held
 * is computed from the stored rows (here: after it was wiped). */
static void test_search_backfill(void **state)
{
    tk_server t;
    fss_conn *c;
    fs_error err = {0};

    (void)state;
    tk_start(&t, NULL);
    tk_rep(&t, "Nora North", "north");
    tk_rep(&t, "Sam South", "south");
    import_customers(&t);
    {
        fss_sql *db = tk_sql(&t);
        assert_int_equal(fss_exec(db, "DELETE FROM fss_search", NULL, NULL, NULL), FSS_SQL_OK);
        fss_sql_close(db);
    }
    assert_int_equal(found(&t, "muller", NULL, NULL), 0);

    c = fss__conn_get(t.s, 5000);
    assert_int_equal(fss__begin_immediate(c, &err), FSS_OK);
    assert_int_equal(fss__repo_search_backfill(c, &err), FSS_OK);
    assert_int_equal(fss__commit(c, &err), FSS_OK);
    fss__conn_put(t.s, c);
    assert_int_equal(found(&t, "muller", "Feinkost", NULL), 1);
    assert_int_equal(found(&t, "sao paulo", NULL, NULL), 1);
    assert_int_equal(found(&t, "\xE4\xBA\xAC", NULL, NULL), 1);
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_table),
        cmocka_unit_test(test_search_common_text),
        cmocka_unit_test(test_search_follows_device_writes),
        cmocka_unit_test(test_search_backfill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
