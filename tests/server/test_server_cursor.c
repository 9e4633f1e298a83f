/*
 * test_server_cursor.c - keyset paging of the visits list (issue 15: list
 * endpoints take `limit`, `cursor` (or `offset`)): a full page ends with
 * next_cursor, the page after it continues exactly where offset paging
 * would (the same visits, in the same order, ties on the time broken by
 * id, newest first and oldest first), a short page has none, the total
 * still counts every match, and a cursor this server did not give is
 * refused with 400. Runs on both stores (test_server_cursor_pg).
 */
#include "server_testkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NVISITS 9

/* GET path into a NUL-terminated malloc'd body; returns the status. */
static long get(tk_server *t, const char *path, char **body)
{
    const char *h[] = {"Authorization: Bearer " TK_ADMIN_TOKEN, NULL};
    tk_http r;
    long status;

    tk_request(t, "GET", path, h, NULL, 0, &r);
    *body = malloc(r.len + 1);
    assert_non_null(*body);
    memcpy(*body, r.body, r.len);
    (*body)[r.len] = '\0';
    status = r.status;
    tk_http_free(&r);
    return status;
}

/* Appends the page's visit ids (in order) to ids[*n]. */
static void page_ids(const char *body, char ids[][FS_ID_STRLEN + 1], size_t *n)
{
    for (const char *p = strstr(body, "{\"id\":\""); p; p = strstr(p + 1, "{\"id\":\"")) {
        assert_true(*n < 2 * NVISITS);
        snprintf(ids[(*n)++], FS_ID_STRLEN + 1, "%.36s", p + 7);
    }
}

/* The page's next_cursor into out ("" when it has none). */
static void next_cursor(const char *body, char *out, size_t cap)
{
    const char *p = strstr(body, "\"next_cursor\":\"");
    const char *end = p ? strchr(p + 15, '"') : NULL;

    out[0] = '\0';
    if (p && end)
        snprintf(out, cap, "%.*s", (int)(end - p - 15), p + 15);
}

static void check_order(tk_server *t, const char *sort)
{
    char by_offset[2 * NVISITS][FS_ID_STRLEN + 1], by_cursor[2 * NVISITS][FS_ID_STRLEN + 1];
    size_t no = 0, nc = 0;
    char path[256], cursor[128] = "", *body;

    for (int off = 0; off < NVISITS; off += 2) {
        snprintf(path, sizeof path, "/admin/v1/visits?sort=%s&limit=2&offset=%d", sort, off);
        assert_int_equal(get(t, path, &body), 200);
        page_ids(body, by_offset, &no);
        free(body);
    }
    assert_int_equal(no, NVISITS);
    for (int pages = 0; pages < NVISITS; pages++) {
        snprintf(path, sizeof path, "/admin/v1/visits?sort=%s&limit=2%s%s", sort,
                 cursor[0] ? "&cursor=" : "", cursor);
        assert_int_equal(get(t, path, &body), 200);
        /* the total counts every match, not those after the cursor */
        assert_non_null(strstr(body, "\"total\":9,"));
        page_ids(body, by_cursor, &nc);
        next_cursor(body, cursor, sizeof cursor);
        free(body);
        if (!cursor[0])
            break;
    }
    /* 4 full pages and a last one of 1 without next_cursor; a full last
     * page would end with one leading to an empty page */
    assert_int_equal(nc, NVISITS);
    for (size_t i = 0; i < NVISITS; i++)
        if (strcmp(by_offset[i], by_cursor[i]) != 0)
            fail_msg("sort=%s: row %zu by offset %s, by cursor %s", sort, i, by_offset[i],
                     by_cursor[i]);
}

static void test_visits_cursor(void **state)
{
    tk_server t;
    tk_device d;
    fs_id rep, cust;
    fs_change c[NVISITS];
    fs_sync_response r;
    fs_error_body eb;
    int64_t now = (int64_t)time(NULL) * 1000;
    char *body;

    (void)state;
    tk_start(&t, NULL);
    rep = tk_rep(&t, "Nora North", "north");
    cust = tk_customer(&t, "Paged Ltd", "north", NULL, 50.0, 0.0);
    tk_enroll(&t, &rep, &d);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    /* Nine check-ins a minute apart, but 3 and 4 at the same time and 6
     * and 7 too: ties the cursor must break by id. */
    for (int i = 0; i < NVISITS; i++) {
        fs_id v = tk_new_id();
        int slot = i - (i >= 4) - (i >= 7);
        tk_change(&c[i], &d, "visit", &v);
        tk_set_id(&c[i], &d, "customer_id", &cust);
        tk_set_text(&c[i], &d, "status", "completed");
        tk_set_int(&c[i], &d, "checkin_at", now - 3600000 + slot * 60000);
    }
    assert_int_equal(tk_sync(&t, &d, NULL, c, NVISITS, d.cursor, 0, FS_PROTO_DEFLATE, &r, &eb),
                     200);
    for (int i = 0; i < NVISITS; i++) {
        assert_int_equal(r.results[i].outcome, FS_APPLIED);
        fs_change_free(&c[i]);
    }
    fs_proto_sync_response_free(&r);

    check_order(&t, "-time");
    check_order(&t, "time");

    /* A short page has no next_cursor. */
    assert_int_equal(get(&t, "/admin/v1/visits?limit=50", &body), 200);
    assert_null(strstr(body, "next_cursor"));
    free(body);
    /* Cursors this server did not give: 400, with the reason. */
    {
        static const char *const bad[] = {
            "x", "123", ".00000000-0000-7000-8000-000000000000", "12x.1",
            "12.not-a-uuid", "-.00000000-0000-7000-8000-000000000000"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char path[160];
            snprintf(path, sizeof path, "/admin/v1/visits?cursor=%s", bad[i]);
            if (get(&t, path, &body) != 400 || !strstr(body, "next_cursor"))
                fail_msg("cursor=%s: %s", bad[i], body);
            free(body);
        }
    }
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_visits_cursor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
