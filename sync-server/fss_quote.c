/*
 * fss_quote.c - the server's side of the quote lifecycle.
 *
 * The rules are conflict/fs_quote.c's; this file only reads the store and
 * writes through the server-write path (fss__server_write, FS_ORIGIN_SERVER):
 *   - expiry: every sent quote past its valid_until becomes expired, one
 *     server change each, all in one transaction; a second run finds nothing
 *     and hands out no sequence number;
 *   - the back office's accept / reject of a sent quote;
 *   - the totals of a stored quote from its stored lines (one shared
 *     function, fs_quote_totals_rows), which a device's contract made from a
 *     quote must carry (fss__contract_quote_check, called by the sync).
 */
#include "fss_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads quote `id` into *q (found or not) and its live lines' totals. */
static fss_status quote_totals(fss_conn *c, const fs_id *id, fs_row *q, bool *found,
                               fs_quote_totals *t, fs_error *err)
{
    fs_row *lines = NULL;
    size_t n = 0;
    fs_error serr = {0};
    fss_status rc;

    *found = false;
    if ((rc = fss__repo_row_load(c, fs_schema_entity("quote"), id, q, NULL, found,
                                 err)) != FSS_OK)
        return rc;
    if (!*found || q->deleted)
        return FSS_OK;
    if ((rc = fss__repo_quote_lines(c, id, &lines, &n, err)) != FSS_OK)
        return rc;
    if (fs_quote_totals_rows(q, lines, n, t, &serr) != FS_OK)
        rc = fss__fail(err, FSS_EINVAL, "quote totals: %s", serr.text);
    for (size_t i = 0; i < n; i++)
        fs_row_free(&lines[i]);
    free(lines);
    return rc;
}

static const fs_field_change *writes(const fs_change *c, const char *field)
{
    int slot = fs_entity_field_index(c->entity, field);

    for (size_t i = 0; slot >= 0 && i < c->nfields; i++)
        if (c->fields[i].slot == slot)
            return &c->fields[i];
    return NULL;
}

fss_status fss__contract_quote_check(fss_conn *c, const fs_change *chg,
                                     const fs_row *merged, bool *ok, char *why,
                                     size_t cap, fs_error *err)
{
    int qs = fs_entity_field_index(merged->entity, "quote_id");
    fs_row q = {0};
    fs_quote_totals t = {0};
    fs_error ferr = {0};
    bool found = false;
    fss_status rc;

    *ok = true;
    if (strcmp(chg->entity->name, "contract") != 0 || merged->deleted ||
        (!writes(chg, "amount") && !writes(chg, "currency") && !writes(chg, "quote_id")))
        return FSS_OK;
    if (qs < 0 || merged->cells[qs].v.kind != FS_VAL_ID)
        return FSS_OK; /* a contract without a quote carries its own amount */
    rc = quote_totals(c, &merged->cells[qs].v.u.id, &q, &found, &t, err);
    if (rc == FSS_OK && (!found || q.deleted)) {
        *ok = false;
        snprintf(why, cap, "the contract's quote is unknown or deleted");
    } else if (rc == FSS_OK && fs_contract_quote_check(merged, &q, &t, &ferr) != FS_OK) {
        *ok = false;
        snprintf(why, cap, "%s", ferr.text);
    }
    fs_row_free(&q);
    return rc;
}

/* One server change setting a quote's status. */
static fss_status write_status(fss_server *s, fss_conn *c, const fs_id *id,
                               fs_quote_state to, fs_error *err)
{
    const fs_entity *qe = fs_schema_entity("quote");
    const char *name = fs_quote_state_name(to);
    fs_change chg;
    fs_value v = {0};
    fs_error ferr = {0};
    fss_status rc = FSS_OK;

    memset(&chg, 0, sizeof chg);
    if (fs_change_init(&chg, qe, id, &fss_server_device, &ferr) != FS_OK ||
        fs_value_text(&v, name, strlen(name), &ferr) != FS_OK ||
        fs_change_set_named(&chg, "status", &v, fss__tick(s), &ferr) != FS_OK)
        rc = fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
    else
        rc = fss__server_write(s, c, &chg, err);
    fs_value_clear(&v);
    fs_change_free(&chg);
    return rc;
}

/* The ids of the candidates fs_quote_row_expired says are due. */
typedef struct due_ids {
    int64_t now_ms;
    fs_id *ids;
    size_t n, cap;
} due_ids;

static fss_status collect_due(const fs_row *q, void *arg, fs_error *err)
{
    due_ids *d = arg;

    if (!fs_quote_row_expired(q, d->now_ms))
        return FSS_OK;
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 16;
        fs_id *ni = realloc(d->ids, ncap * sizeof *ni);
        if (!ni)
            return fss__fail(err, FSS_ENOMEM, "expire quotes");
        d->ids = ni;
        d->cap = ncap;
    }
    d->ids[d->n++] = q->id;
    return FSS_OK;
}

fss_status fss_quotes_expire(fss_server *s, int64_t now_ms, int64_t *count,
                             fs_error *err)
{
    fss_conn *c = fss__conn_get(s, 10000);
    due_ids d = {.now_ms = now_ms};
    fss_status rc;

    if (count)
        *count = 0;
    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((rc = fss__begin_immediate(c, err)) != FSS_OK) {
        fss__conn_put(s, c);
        return rc;
    }
    /* The query only narrows the candidates (the state name is bound from
     * fs_quote.c); fs_quote_row_expired decides each one. */
    rc = fss__repo_quotes_due(c, fs_quote_state_name(FS_QUOTE_SENT), now_ms,
                              collect_due, &d, err);
    /* Write after the read is finished: a save inside the walk would change
     * the table it walks. */
    for (size_t i = 0; rc == FSS_OK && i < d.n; i++)
        rc = write_status(s, c, &d.ids[i], FS_QUOTE_EXPIRED, err);
    if (rc == FSS_OK && count)
        *count = (int64_t)d.n;
    if (rc == FSS_OK)
        rc = fss__commit(c, err);
    if (rc != FSS_OK)
        fss__rollback(c);
    fss__conn_put(s, c);
    free(d.ids);
    return rc;
}

fss_status fss_admin_quote_status(fss_server *s, const fs_id *quote,
                                  const char *status, fs_error *err)
{
    fss_conn *c;
    fs_row q = {0};
    bool found = false;
    fs_error ferr = {0};
    fs_quote_state to;
    fss_status rc;

    to = status ? fs_quote_state_parse(status, strlen(status)) : FS_QUOTE_INVALID;
    if (to != FS_QUOTE_ACCEPTED && to != FS_QUOTE_REJECTED)
        return fss__fail(err, FSS_EINVAL, "status must be %s or %s",
                         fs_quote_state_name(FS_QUOTE_ACCEPTED),
                         fs_quote_state_name(FS_QUOTE_REJECTED));
    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((rc = fss__begin_immediate(c, err)) != FSS_OK) {
        fss__conn_put(s, c);
        return rc;
    }
    rc = fss__repo_row_load(c, fs_schema_entity("quote"), quote, &q, NULL, &found,
                            err);
    if (rc == FSS_OK && (!found || q.deleted))
        rc = fss__fail(err, FSS_ENOTFOUND, "no such quote");
    else if (rc == FSS_OK &&
             fs_quote_check_transition(fs_quote_row_state(&q), to, true, &ferr) != FS_OK)
        rc = fss__fail(err, FSS_EINVAL, "%s", ferr.text);
    else if (rc == FSS_OK)
        rc = write_status(s, c, quote, to, err);
    fs_row_free(&q);
    if (rc == FSS_OK)
        rc = fss__commit(c, err);
    if (rc != FSS_OK)
        fss__rollback(c);
    fss__conn_put(s, c);
    return rc;
}
