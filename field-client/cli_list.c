/*
 * cli_list.c - field-client's lists and single rows: one line per row with
 * its short id (fc_short_ids), the fields that identify it, its customer's
 * name and whose it is; `customer show` with what hangs off the customer;
 * `quote show` with its lines and totals in the quote's currency.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Listing                                                                   */
/* ------------------------------------------------------------------------ */

/* Before fc_list: the device's rep, read outside the listing's statement
 * (fc_info_get runs its own read transaction). */
void cli_list_init(list_ctx *lc, cli *a, const char *entity)
{
    fc_info in;
    fs_error err = {0};

    memset(lc, 0, sizeof *lc);
    lc->a = a;
    if (fc_info_get(a->c, &in, &err) == FC_OK && in.enrolled)
        fs_id_format(&in.rep_id, lc->rep);
    /* Without them (an error) rows show the last 8 digits of their id. */
    if (fc_short_ids_load(a->c, entity, &lc->sids, &err) != FC_OK)
        lc->sids = NULL;
}

void cli_list_done(list_ctx *lc)
{
    fc_short_ids_free(lc->sids);
    lc->sids = NULL;
}

/* The name of the customer a row belongs to (lists say whose it is),
 * remembered for the next row, which is often the same customer's. */
static const char *customer_name(list_ctx *lc, const fs_row *r)
{
    int s = fs_entity_field_index(r->entity, "customer_id");
    fs_row c = {0};
    fs_error err = {0};

    if (s < 0 || r->cells[s].v.kind != FS_VAL_ID)
        return NULL;
    if (lc->cust_name[0] && fs_id_cmp(&lc->cust, &r->cells[s].v.u.id) == 0)
        return lc->cust_name;
    lc->cust = r->cells[s].v.u.id;
    lc->cust_name[0] = '\0';
    if (fc_get(lc->a->c, "customer", &lc->cust, &c, &err) == FC_OK &&
        cli_row_text(&c, "name"))
        snprintf(lc->cust_name, sizeof lc->cust_name, "%s", cli_row_text(&c, "name"));
    fs_row_free(&c);
    return lc->cust_name[0] ? lc->cust_name : NULL;
}

/* Whose row: "you", or the rep id the row names (rep names live at the
 * server, not on the device), or "-" when none is recorded. */
static const char *rep_label(const list_ctx *lc, const char *rep, bool mine)
{
    if (mine)
        return "you";
    if (rep && lc->rep[0] && strcmp(rep, lc->rep) == 0)
        return "you";
    return rep ? rep : "-";
}

/* Rows that have a rep (visits, quotes, tasks) or a creator (contacts) say
 * whose they are: `rep=you` / `rep=ID`, and a visit planned by someone else
 * also `planned_by=...`. */
static void text_owner(list_ctx *lc, const fs_row *r)
{
    fs_error err = {0};
    bool mine = false;
    const char *f = fs_entity_field_index(r->entity, "rep_id") >= 0 ? "rep_id"
                    : fs_entity_field_index(r->entity, "created_by") >= 0 ? "created_by"
                                                                          : NULL;
    const char *planned = cli_row_text(r, "planned_by");

    if (!f)
        return;
    if (fc_row_mine(lc->a->c, r, &mine, &err) != FC_OK)
        mine = false;
    printf("  %s=%s", strcmp(f, "rep_id") == 0 ? "rep" : f,
           rep_label(lc, cli_row_text(r, f), mine));
    if (planned && (!cli_row_text(r, f) || strcmp(planned, cli_row_text(r, f)) != 0))
        printf("  planned_by=%s", rep_label(lc, planned, false));
}

bool cli_print_row(const fs_row *r, void *p)
{
    list_ctx *lc = p;
    bool owned = fs_entity_field_index(r->entity, "rep_id") >= 0 ||
                 fs_entity_field_index(r->entity, "created_by") >= 0;
    bool mine = false;
    fs_error err = {0};
    char sid[33];

    fc_short_ids_format(lc->sids, &r->id, sid);
    if (lc->a->json) {
        if (lc->n)
            fputc(',', stdout);
        if (owned && fc_row_mine(lc->a->c, r, &mine, &err) != FC_OK)
            mine = false;
        cli_json_row_owned(stdout, r, owned ? mine : -1, sid);
    } else {
        const char *cust = customer_name(lc, r);
        cli_text_line(stdout, r, sid, lc->currency);
        if (cust)
            printf("  customer=%s", cust);
        if (owned)
            text_owner(lc, r);
        fputc('\n', stdout);
    }
    lc->n++;
    return true;
}

int cli_list_rows(cli *a, const char *entity, const fc_query *q)
{
    list_ctx lc;
    fs_error err = {0};
    fc_status st;

    cli_list_init(&lc, a, entity);
    if (a->json)
        printf("{\"ok\":true,\"rows\":[");
    st = fc_list(a->c, entity, q, cli_print_row, &lc, NULL, &err);
    cli_list_done(&lc);
    if (a->json)
        printf("]}\n");
    if (st)
        return cli_fail(a, st, &err);
    if (!a->json && lc.n == 0)
        printf("(no %s)\n", entity);
    return 0;
}

int cli_show_row(cli *a, const char *entity, const fs_id *id)
{
    fs_row r = {0};
    fs_error err = {0};
    fc_status st = fc_get(a->c, entity, id, &r, &err);
    int rc = 0;

    if (st) {
        rc = cli_fail(a, st, &err);
    } else if (a->json) {
        printf("{\"ok\":true,\"row\":");
        cli_json_row(stdout, &r);
        printf("}\n");
    } else {
        cli_text_row(stdout, &r, NULL);
    }
    fs_row_free(&r);
    return rc;
}

/* customer show: the customer and what hangs off it. */
int cli_show_customer(cli *a, const fs_id *id)
{
    static const char *const kids[] = {"contact", "visit", "quote", "contract",
                                       "task", NULL};
    fs_row r = {0};
    fs_error err = {0};
    fc_status st = fc_get(a->c, "customer", id, &r, &err);
    fc_query q = {0};

    if (st) {
        fs_row_free(&r);
        return cli_fail(a, st, &err);
    }
    q.parent = id;
    if (a->json) {
        printf("{\"ok\":true,\"row\":");
        cli_json_row(stdout, &r);
    } else {
        cli_text_row(stdout, &r, NULL);
    }
    fs_row_free(&r);
    for (size_t k = 0; kids[k]; k++) {
        list_ctx lc;
        cli_list_init(&lc, a, kids[k]);
        if (a->json)
            printf(",\"%ss\":[", kids[k]);
        else
            printf("%ss:\n", kids[k]);
        st = fc_list(a->c, kids[k], &q, cli_print_row, &lc, NULL, &err);
        cli_list_done(&lc);
        if (a->json)
            printf("]");
        if (st)
            return cli_fail(a, st, &err);
    }
    if (a->json)
        printf("}\n");
    return 0;
}

int cli_show_quote(cli *a, const fs_id *id)
{
    fs_row r = {0};
    fs_error err = {0};
    fs_quote_totals t;
    fc_query q = {0};
    list_ctx lc;
    char cur[4] = "", sub[64], dis[64], tot[64];
    fc_status st = fc_get(a->c, "quote", id, &r, &err);

    cli_list_init(&lc, a, "quote_line");
    if (!st)
        st = fc_quote_totals(a->c, id, &t, &err);
    if (st) {
        fs_row_free(&r);
        cli_list_done(&lc);
        return cli_fail(a, st, &err);
    }
    if (cli_row_text(&r, "currency"))
        snprintf(cur, sizeof cur, "%s", cli_row_text(&r, "currency"));
    lc.currency = cur;
    q.parent = id;
    if (a->json) {
        printf("{\"ok\":true,\"row\":");
        cli_json_row(stdout, &r);
        printf(",\"totals\":{\"subtotal\":%lld,\"discount\":%lld,\"total\":%lld,"
               "\"lines\":%zu},\"lines\":[", (long long)t.subtotal,
               (long long)t.discount, (long long)t.total, t.lines);
    } else {
        cli_text_row(stdout, &r, NULL);
        printf("lines:\n");
    }
    fs_row_free(&r);
    st = fc_list(a->c, "quote_line", &q, cli_print_row, &lc, NULL, &err);
    cli_list_done(&lc);
    if (a->json) {
        printf("]}\n");
    } else {
        fs_money_format(t.subtotal, cur, FS_MONEY_CODE, sub, sizeof sub);
        fs_money_format(t.discount, cur, FS_MONEY_CODE, dis, sizeof dis);
        fs_money_format(t.total, cur, FS_MONEY_CODE, tot, sizeof tot);
        printf("totals: subtotal %s  discount %s  total %s\n", sub, dis, tot);
    }
    return st ? cli_fail(a, st, &err) : 0;
}
