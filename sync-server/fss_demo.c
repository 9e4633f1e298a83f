/*
 * fss_demo.c - demo data for `sync-server serve --demo`: two territories,
 * three reps (two by territory, one owning a customer directly), a handful
 * of customers with coordinates (so visit verification has something to
 * measure), a small product list and a purchase history (so `analyze`
 * grades the customers and warns about one whose orders stopped), loaded
 * through the same admin operations and import code the back office uses,
 * then analyzed once. On a store that already
 * has reps nothing is added; fresh enrollment codes are issued either way.
 */
#include "fss_json.h"

#include <stdlib.h>
#include <string.h>

typedef struct demo_rep {
    const char *name, *email, *territory;
} demo_rep;

static const demo_rep demo_reps[] = {
    {"Alice Martin", "alice@demo.fieldsync", "north"},
    {"Bob Okafor", "bob@demo.fieldsync", "south"},
    {"Carol Diaz", "carol@demo.fieldsync", NULL},
};

static const char demo_products[] =
    "[{\"sku\":\"TRC-100\",\"name\":\"Tractor service kit\",\"price\":12900,\"currency\":\"EUR\"},"
    "{\"sku\":\"IRR-220\",\"name\":\"Drip irrigation set\",\"price\":45900,\"currency\":\"EUR\"},"
    "{\"sku\":\"SEN-010\",\"name\":\"Soil moisture sensor\",\"price\":3900,\"currency\":\"EUR\"},"
    "{\"sku\":\"SUP-001\",\"name\":\"Support plan (1 year)\",\"price\":99000,\"currency\":\"EUR\"}]";

/* Fixed ids, so the purchase history can name its customers. */
#define DEMO_GREEN "019a0000-0000-7000-8000-00000000d001"
#define DEMO_HILL "019a0000-0000-7000-8000-00000000d002"
#define DEMO_OAK "019a0000-0000-7000-8000-00000000d003"

/* Purchases relative to now: Greenfield ordered big every month until
 * 75 days ago (overdue: a churn warning and a follow-up task for Alice),
 * Oakridge orders big and often (grade E), Hillside once, small. */
static fss_status demo_purchases(fss_server *s, fs_error *err)
{
    static const struct { const char *cust; int days; int64_t amount; } buys[] = {
        {DEMO_GREEN, 165, 240000}, {DEMO_GREEN, 135, 180000}, {DEMO_GREEN, 105, 210000},
        {DEMO_GREEN, 75, 195000},  {DEMO_OAK, 40, 320000},    {DEMO_OAK, 25, 290000},
        {DEMO_OAK, 12, 350000},    {DEMO_OAK, 3, 310000},     {DEMO_HILL, 20, 45900},
    };
    int64_t now = (int64_t)fss_now_ms();
    fss_buf json = {0}, rep = {0};
    fss_status st;

    fss_buf_puts(&json, "[");
    for (size_t i = 0; i < sizeof buys / sizeof buys[0]; i++)
        fss_buf_printf(&json, "%s{\"customer_id\":\"%s\",\"amount\":%lld,"
                       "\"currency\":\"EUR\",\"purchased_at\":%lld}", i ? "," : "",
                       buys[i].cust, (long long)buys[i].amount,
                       (long long)(now - buys[i].days * INT64_C(86400000)));
    fss_buf_puts(&json, "]");
    st = json.oom ? fss__fail(err, FSS_ENOMEM, "demo purchases")
                  : fss_admin_import(s, "purchase", "json", json.data, json.len, &rep, err);
    fss_buf_free(&json);
    fss_buf_free(&rep);
    if (st == FSS_OK)
        st = fss_analyze(s, now, NULL, err);
    return st;
}

static fss_status count_reps(fss_server *s, int64_t *n, fs_error *err)
{
    fss_conn *c = fss__conn_get(s, 10000);
    fs_error ignored = {0};

    *n = 0;
    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    /* A store that cannot count its reps gets the demo data: the load
     * itself reports what fails. */
    (void)fss__repo_reps_count(c, n, &ignored);
    fss__conn_put(s, c);
    return FSS_OK;
}

fss_status fss_demo_load(fss_server *s, fss_buf *summary, fss_buf *text,
                         fs_error *err)
{
    fs_id ids[3];
    char rid[3][FS_ID_STRLEN + 1], code[FSS_CODE_LEN + 1];
    fss_buf cust = {0}, rep = {0}, reps = {0};
    fsj list;
    int64_t have = 0;
    size_t i;
    fss_status st;

    memset(&list, 0, sizeof list);
    if ((st = count_reps(s, &have, err)) != FSS_OK)
        return st;
    if (have == 0) {
        if ((st = fss_admin_territory_add(s, "north", "North region", err)) != FSS_OK ||
            (st = fss_admin_territory_add(s, "south", "South region", err)) != FSS_OK)
            goto done;
        for (i = 0; i < 3; i++) {
            if ((st = fss_admin_rep_add(s, demo_reps[i].name, demo_reps[i].email,
                                        &ids[i], err)) != FSS_OK)
                goto done;
            fs_id_format(&ids[i], rid[i]);
            if (demo_reps[i].territory &&
                (st = fss_admin_rep_territory(s, &ids[i], demo_reps[i].territory,
                                              true, err)) != FSS_OK)
                goto done;
        }
        fss_buf_printf(&cust,
            "[{\"id\":\"" DEMO_GREEN "\",\"name\":\"Greenfield Farms\","
            "\"address\":\"12 Mill Lane, Northby\",\"owner_rep\":\"%s\","
            "\"lat\":53.4808,\"lon\":-2.2426,\"segment\":\"large\",\"territory\":\"north\"},"
            "{\"id\":\"" DEMO_HILL "\",\"name\":\"Hillside Orchards\",\"address\":\"3 Apple Row, Northby\","
            "\"lat\":53.5001,\"lon\":-2.2101,\"segment\":\"medium\",\"territory\":\"north\"},"
            "{\"name\":\"Riverbend Co-op\",\"address\":\"88 Quay St, Northby\","
            "\"lat\":53.4700,\"lon\":-2.3000,\"segment\":\"small\",\"territory\":\"north\"},"
            "{\"name\":\"Sunvale Vineyards\",\"address\":\"1 Terrace Rd, Southam\","
            "\"lat\":51.4545,\"lon\":-2.5879,\"segment\":\"large\",\"territory\":\"south\"},"
            "{\"name\":\"Coastal Greens\",\"address\":\"42 Harbour Way, Southam\","
            "\"lat\":51.4300,\"lon\":-2.6200,\"segment\":\"medium\",\"territory\":\"south\"},"
            "{\"id\":\"" DEMO_OAK "\",\"name\":\"Oakridge Estate\",\"address\":\"7 Forest Dr, Midfield\","
            "\"lat\":52.4862,\"lon\":-1.8904,\"segment\":\"key_account\",\"owner_rep\":\"%s\"}]",
            rid[0], rid[2]);
        if (cust.oom) {
            st = fss__fail(err, FSS_ENOMEM, "demo");
            goto done;
        }
        {
            fss_buf rep1 = {0};
            st = fss_admin_import(s, "customer", "json", cust.data, cust.len, &rep1, err);
            fss_buf_free(&rep1);
            if (st != FSS_OK)
                goto done;
            st = fss_admin_import(s, "product", "json", demo_products,
                                  sizeof demo_products - 1, &rep1, err);
            fss_buf_free(&rep1);
            if (st != FSS_OK || (st = demo_purchases(s, err)) != FSS_OK)
                goto done;
        }
    }
    /* Fresh codes for every rep (demo or pre-existing). */
    if ((st = fss_admin_reps_list(s, &reps, err)) != FSS_OK ||
        (st = fsj_parse(reps.data, reps.len, &list, err)) != FSS_OK)
        goto done;
    fss_buf_puts(summary, "{\"reps\":[");
    for (i = 0; i < list.n; i++) {
        const char *id = fsj_str(&list.items[i], "id");
        const char *name = fsj_str(&list.items[i], "name");
        const fsj *terr = fsj_get(&list.items[i], "territories");
        fs_id rep_id;
        size_t k;
        if (!id || fs_id_parse(id, strlen(id), &rep_id, NULL) != FS_OK)
            continue;
        if ((st = fss_admin_enroll_code(s, &rep_id, 0, code, err)) != FSS_OK)
            goto done;
        fss_buf_puts(summary, i ? ",{\"id\":" : "{\"id\":");
        fss_json_cstr(summary, id);
        fss_buf_puts(summary, ",\"name\":");
        fss_json_cstr(summary, name);
        fss_buf_puts(summary, ",\"territories\":[");
        for (k = 0; terr && terr->kind == FSJ_ARR && k < terr->n; k++) {
            if (k)
                fss_buf_puts(summary, ",");
            fss_json_cstr(summary, terr->items[k].kind == FSJ_STR ? terr->items[k].str : "");
        }
        fss_buf_puts(summary, "],\"enrollment_code\":");
        if (text) {
            fss_buf_printf(text, "    %-14s %-8s %s   (rep %s)\n", name ? name : "?",
                           terr && terr->kind == FSJ_ARR && terr->n &&
                                   terr->items[0].kind == FSJ_STR
                               ? terr->items[0].str : "-",
                           code, id);
        }
        fss_json_cstr(summary, code);
        fss_buf_puts(summary, "}");
    }
    fss_buf_puts(summary, "]}\n");
    if (summary->oom || (text && text->oom))
        st = fss__fail(err, FSS_ENOMEM, "demo summary");
done:
    fsj_free(&list);
    fss_buf_free(&cust);
    fss_buf_free(&rep);
    fss_buf_free(&reps);
    return st;
}
