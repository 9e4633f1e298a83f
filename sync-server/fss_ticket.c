/*
 * fss_ticket.c - the back office's side of service tickets (CRM.md section
 * 4): working a ticket (status, assignee, resolution) as one server change
 * through fss__server_write, so it syncs to every device of the customer
 * like any write, and the open-tickets list with each ticket's age. Which
 * status moves the back office may make is conflict/fs_ticket.c's; the rows
 * come from the repository (fss__repo_tickets).
 */
#include "fss_int.h"
#include "fss_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL

static const char *text_of(const fs_row *r, const char *field)
{
    int i = fs_entity_field_index(r->entity, field);
    return i >= 0 && r->cells[i].v.kind == FS_VAL_TEXT ? r->cells[i].v.u.text.p : NULL;
}

/* Sets one text field of the change (NULL text = leave it; "" = clear). */
static fs_status set_text(fs_change *chg, const char *field, const char *text, fs_hlc hlc,
                          fs_error *err)
{
    fs_value v = {0};
    fs_status st;

    if (!text)
        return FS_OK;
    if (*text && (st = fs_value_text(&v, text, strlen(text), err)) != FS_OK)
        return st;
    st = fs_field_check(&chg->entity->fields[fs_entity_field_index(chg->entity, field)],
                        &v, err);
    if (st == FS_OK)
        st = fs_change_set_named(chg, field, &v, hlc, err);
    fs_value_clear(&v);
    return st;
}

/* The satisfaction follow-up (CRM.md section 4: "send a satisfaction
 * survey two days later"): a task for the customer's owner rep, due
 * cfg.survey_delay_s after resolving, marked generated "satisfaction".
 * *task is its id; *made false when the customer has no owner rep (nobody
 * to ask: the report shows the ticket unrated). */
static fss_status survey_task(fss_server *s, fss_conn *c, const fs_row *t, fs_hlc hlc,
                              fs_id *task, bool *made, fs_error *err)
{
    const fs_entity *te = fs_schema_entity("task"), *ce = fs_schema_entity("customer");
    int ci = fs_entity_field_index(t->entity, "customer_id");
    const char *subj = text_of(t, "subject"), *owner;
    fs_row cust = {0};
    fs_change chg;
    fs_value v = {0};
    fs_error ferr = {0};
    bool found = false;
    int64_t now = (int64_t)fs_hlc_ms(hlc);
    char title[201];
    fss_status rc;

    *made = false;
    memset(&chg, 0, sizeof chg);
    if (t->cells[ci].v.kind != FS_VAL_ID)
        return FSS_OK;
    rc = fss__repo_row_load(c, ce, &t->cells[ci].v.u.id, &cust, NULL, &found, err);
    owner = found ? text_of(&cust, "owner_rep") : NULL;
    if (rc != FSS_OK || !owner || !*owner)
        goto done;
    snprintf(title, sizeof title, "Satisfaction survey: %s", subj ? subj : "ticket");
    title[fs_utf8_cut(title, strlen(title), 200)] = '\0';
    if (fs_id_new((uint64_t)now, task, &ferr) != FS_OK) {
        rc = fss__fail(err, FSS_ERANDOM, "%s", ferr.text);
        goto done;
    }
    v = fs_value_idv(&t->cells[ci].v.u.id);
    if (fs_change_init(&chg, te, task, &fss_server_device, &ferr) != FS_OK ||
        fs_change_set_named(&chg, "customer_id", &v, hlc, &ferr) != FS_OK ||
        set_text(&chg, "rep_id", owner, hlc, &ferr) != FS_OK ||
        set_text(&chg, "kind", "follow_up", hlc, &ferr) != FS_OK ||
        set_text(&chg, "title", title, hlc, &ferr) != FS_OK ||
        set_text(&chg, "generated", "satisfaction", hlc, &ferr) != FS_OK) {
        rc = fss__fail(err, FSS_EINVAL, "%s", ferr.text);
        goto done;
    }
    v = fs_value_int(now + (int64_t)s->cfg.survey_delay_s * 1000);
    if (fs_change_set_named(&chg, "due_at", &v, hlc, &ferr) != FS_OK ||
        (v = fs_value_int(0), fs_change_set_named(&chg, "done", &v, hlc, &ferr)) != FS_OK) {
        rc = fss__fail(err, FSS_EINVAL, "%s", ferr.text);
        goto done;
    }
    if ((rc = fss__server_write(s, c, &chg, err)) == FSS_OK)
        *made = true;
done:
    fs_change_free(&chg);
    fs_row_free(&cust);
    return rc;
}

fss_status fss_admin_ticket_update(fss_server *s, const fs_id *ticket, const char *status,
                                   const char *assignee, const char *resolution,
                                   fs_error *err)
{
    const fs_entity *e = fs_schema_entity("ticket");
    fss_conn *c = NULL;
    fs_row t = {0};
    fs_change chg;
    fs_value v = {0}, now = {0};
    fs_error ferr = {0};
    bool found = false;
    fss_status rc;
    fs_hlc hlc;

    memset(&chg, 0, sizeof chg);
    if (!status && !assignee && !resolution)
        return fss__fail(err, FSS_EINVAL, "give a status, an assignee or a resolution");
    if (status && fs_ticket_state_parse(status, strlen(status)) == FS_TICKET_INVALID)
        return fss__fail(err, FSS_EINVAL, "status must be open, in_progress, resolved "
                         "or closed, not '%.40s'", status);
    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((rc = fss__begin_immediate(c, err)) != FSS_OK) {
        fss__conn_put(s, c);
        return rc;
    }
    rc = fss__repo_row_load(c, e, ticket, &t, NULL, &found, err);
    if (rc != FSS_OK)
        goto done;
    if (!found || t.deleted) {
        rc = fss__fail(err, FSS_ENOTFOUND, "no such ticket");
        goto done;
    }
    if (status) {
        if (fs_value_text(&v, status, strlen(status), &ferr) != FS_OK ||
            fs_ticket_check_write(&t, &v, true, &ferr) != FS_OK) {
            rc = fss__fail(err, FSS_EINVAL, "%s", ferr.text);
            goto done;
        }
    }
    hlc = fss__tick(s);
    if (fs_change_init(&chg, e, ticket, &fss_server_device, &ferr) != FS_OK ||
        set_text(&chg, "status", status, hlc, &ferr) != FS_OK ||
        set_text(&chg, "assignee", assignee, hlc, &ferr) != FS_OK ||
        set_text(&chg, "resolution", resolution, hlc, &ferr) != FS_OK) {
        rc = fss__fail(err, FSS_EINVAL, "%s", ferr.text);
        goto done;
    }
    /* Resolving stamps when; the satisfaction follow-up is due from it,
     * once per ticket (a ticket reopened and resolved again keeps its
     * first survey: survey_task is set). */
    if (status && fs_ticket_state_parse(status, strlen(status)) == FS_TICKET_RESOLVED &&
        fs_ticket_row_state(&t) != FS_TICKET_RESOLVED) {
        int sv = fs_entity_field_index(e, "survey_task");
        bool made = false;
        fs_id task;
        now = fs_value_int((int64_t)fs_hlc_ms(hlc));
        if (fs_change_set_named(&chg, "resolved_at", &now, hlc, &ferr) != FS_OK) {
            rc = fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
            goto done;
        }
        if (t.cells[sv].v.kind != FS_VAL_ID) {
            if ((rc = survey_task(s, c, &t, hlc, &task, &made, err)) != FSS_OK)
                goto done;
            now = fs_value_idv(&task);
            if (made && fs_change_set_named(&chg, "survey_task", &now, hlc, &ferr) != FS_OK) {
                rc = fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
                goto done;
            }
        }
    }
    rc = fss__server_write(s, c, &chg, err);
done:
    fs_value_clear(&v);
    fs_change_free(&chg);
    fs_row_free(&t);
    if (rc == FSS_OK)
        rc = fss__commit(c, err);
    if (rc != FSS_OK)
        fss__rollback(c);
    fss__conn_put(s, c);
    return rc;
}

typedef struct list_ctx {
    fss_conn *c;
    fss_buf *out;
    size_t n;
    int64_t now_ms;
} list_ctx;

static void json_field(fss_buf *out, const char *key, const char *val)
{
    fss_buf_printf(out, ",\"%s\":", key);
    if (val)
        fss_json_str(out, val, strlen(val));
    else
        fss_buf_puts(out, "null");
}

static fss_status ticket_row(const fs_row *row, void *arg, fs_error *err)
{
    list_ctx *x = arg;
    const fs_entity *ce = fs_schema_entity("customer");
    int oa = fs_entity_field_index(row->entity, "opened_at");
    int ci = fs_entity_field_index(row->entity, "customer_id");
    int64_t opened = row->cells[oa].v.kind == FS_VAL_INT ? row->cells[oa].v.u.i : 0;
    fs_row cust = {0};
    bool found = false;
    char id[FS_ID_STRLEN + 1], cid[FS_ID_STRLEN + 1];
    fss_status rc = FSS_OK;

    if (row->cells[ci].v.kind == FS_VAL_ID)
        rc = fss__repo_row_load(x->c, ce, &row->cells[ci].v.u.id, &cust, NULL, &found, err);
    if (rc != FSS_OK)
        goto done;
    fs_id_format(&row->id, id);
    fs_id_format(&row->cells[ci].v.u.id, cid);
    fss_buf_printf(x->out, "%s{\"id\":\"%s\",\"customer_id\":\"%s\"", x->n++ ? ",\n" : "",
                   id, cid);
    json_field(x->out, "customer", found ? text_of(&cust, "name") : NULL);
    json_field(x->out, "territory", found ? text_of(&cust, "territory") : NULL);
    json_field(x->out, "owner_rep", found ? text_of(&cust, "owner_rep") : NULL);
    json_field(x->out, "kind", text_of(row, "kind"));
    json_field(x->out, "priority", text_of(row, "priority"));
    json_field(x->out, "subject", text_of(row, "subject"));
    json_field(x->out, "status", text_of(row, "status") ? text_of(row, "status")
                                                        : fs_ticket_state_name(FS_TICKET_OPEN));
    json_field(x->out, "opened_by", text_of(row, "opened_by"));
    json_field(x->out, "assignee", text_of(row, "assignee"));
    json_field(x->out, "resolution", text_of(row, "resolution"));
    fss_buf_printf(x->out, ",\"opened_at\":%lld,\"age_days\":%lld}", (long long)opened,
                   (long long)(opened && x->now_ms > opened ? (x->now_ms - opened) / DAY_MS
                                                            : 0));
done:
    fs_row_free(&cust);
    return rc;
}

fss_status fss_report_tickets(fss_server *s, const char *const *territories, size_t nterr,
                              bool open_only, int64_t now_ms, fss_buf *out, fs_error *err)
{
    /* Waiting on someone: not yet resolved or closed. */
    const char *const waiting[] = {fs_ticket_state_name(FS_TICKET_OPEN),
                                   fs_ticket_state_name(FS_TICKET_IN_PROGRESS)};
    list_ctx x = {.out = out, .now_ms = now_ms};
    fss_status rc;

    if (!(x.c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    fss_buf_puts(out, "[");
    if ((rc = fss__begin_read(x.c, err)) == FSS_OK) {
        rc = fss__repo_tickets(x.c, territories, nterr, open_only ? waiting : NULL,
                               open_only ? 2 : 0, ticket_row, &x, err);
        fss__rollback(x.c);
    }
    fss__conn_put(s, x.c);
    fss_buf_puts(out, "]\n");
    if (rc == FSS_OK && out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "tickets report");
    return rc;
}

/* ---- satisfaction by rep, territory and month ---------------------------- */

typedef struct sat_group {
    char key[72];
    int64_t n, sum;
} sat_group;

typedef struct sat_list {
    sat_group *g;
    size_t n, cap;
} sat_list;

typedef struct sat_ctx {
    fss_conn *c;
    sat_list by[3]; /* rep, territory, month */
} sat_ctx;

static fss_status sat_add(sat_list *l, const char *key, int64_t score, fs_error *err)
{
    size_t i;

    for (i = 0; i < l->n && strcmp(l->g[i].key, key) != 0; i++)
        ;
    if (i == l->n) {
        if (l->n == l->cap) {
            size_t ncap = l->cap ? l->cap * 2 : 16;
            sat_group *p = realloc(l->g, ncap * sizeof *p);
            if (!p)
                return fss__fail(err, FSS_ENOMEM, "satisfaction report");
            l->g = p;
            l->cap = ncap;
        }
        memset(&l->g[i], 0, sizeof l->g[i]);
        snprintf(l->g[i].key, sizeof l->g[i].key, "%s", key);
        l->n++;
    }
    l->g[i].n++;
    l->g[i].sum += score;
    return FSS_OK;
}

static fss_status sat_row(const fs_row *row, void *arg, fs_error *err)
{
    sat_ctx *x = arg;
    int ri = fs_entity_field_index(row->entity, "rating");
    int ai = fs_entity_field_index(row->entity, "rated_at");
    int ci = fs_entity_field_index(row->entity, "customer_id");
    fs_row cust = {0};
    bool found = false;
    const char *rep = NULL, *terr = NULL;
    char month[32] = "unknown";
    fss_status rc = FSS_OK;

    if (row->cells[ri].v.kind != FS_VAL_INT)
        return FSS_OK;
    if (row->cells[ci].v.kind == FS_VAL_ID)
        rc = fss__repo_row_load(x->c, fs_schema_entity("customer"), &row->cells[ci].v.u.id,
                                &cust, NULL, &found, err);
    if (rc == FSS_OK && found) {
        rep = text_of(&cust, "owner_rep");
        terr = text_of(&cust, "territory");
    }
    if (row->cells[ai].v.kind == FS_VAL_INT) {
        time_t t = (time_t)(row->cells[ai].v.u.i / 1000);
        struct tm tm;
        if (gmtime_r(&t, &tm))
            snprintf(month, sizeof month, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
    }
    if (rc == FSS_OK)
        rc = sat_add(&x->by[0], rep ? rep : "", row->cells[ri].v.u.i, err);
    if (rc == FSS_OK)
        rc = sat_add(&x->by[1], terr ? terr : "", row->cells[ri].v.u.i, err);
    if (rc == FSS_OK)
        rc = sat_add(&x->by[2], month, row->cells[ri].v.u.i, err);
    fs_row_free(&cust);
    return rc;
}

static int sat_cmp(const void *a, const void *b)
{
    return strcmp(((const sat_group *)a)->key, ((const sat_group *)b)->key);
}

fss_status fss_report_satisfaction(fss_server *s, const char *const *territories,
                                   size_t nterr, fss_buf *out, fs_error *err)
{
    static const char *const names[3][2] = {
        {"by_rep", "rep"}, {"by_territory", "territory"}, {"by_month", "month"}};
    sat_ctx x;
    fss_status rc;

    memset(&x, 0, sizeof x);
    if (!(x.c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((rc = fss__begin_read(x.c, err)) == FSS_OK) {
        rc = fss__repo_tickets(x.c, territories, nterr, NULL, 0, sat_row, &x, err);
        fss__rollback(x.c);
    }
    fss__conn_put(s, x.c);
    if (rc == FSS_OK) {
        /* Scores are summed exactly; the average is printed with two
         * decimals from the integers (no floating point). */
        fss_buf_puts(out, "{");
        for (int k = 0; k < 3; k++) {
            sat_list *l = &x.by[k];
            if (l->n)
                qsort(l->g, l->n, sizeof *l->g, sat_cmp);
            fss_buf_printf(out, "%s\"%s\":[", k ? ",\n" : "", names[k][0]);
            for (size_t i = 0; i < l->n; i++) {
                int64_t c100 = (l->g[i].sum * 100 + l->g[i].n / 2) / l->g[i].n;
                fss_buf_printf(out, "%s{\"%s\":", i ? "," : "", names[k][1]);
                if (l->g[i].key[0])
                    fss_json_str(out, l->g[i].key, strlen(l->g[i].key));
                else
                    fss_buf_puts(out, "null");
                fss_buf_printf(out, ",\"surveys\":%lld,\"sum\":%lld,\"average\":\"%lld.%02lld\"}",
                               (long long)l->g[i].n, (long long)l->g[i].sum,
                               (long long)(c100 / 100), (long long)(c100 % 100));
            }
            fss_buf_puts(out, "]");
        }
        fss_buf_puts(out, "}\n");
        if (out->oom)
            rc = fss__fail(err, FSS_ENOMEM, "satisfaction report");
    }
    for (int k = 0; k < 3; k++)
        free(x.by[k].g);
    return rc;
}
