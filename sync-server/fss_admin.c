/*
 * fss_admin.c - the back-office operations as C functions. The JSON admin
 * API (fss_admin_http.c) and the CLI subcommands (main.c) both call these,
 * so a shell operator and the web console do exactly the same thing.
 *
 * Every write is one IMMEDIATE transaction; edits to synced rows are
 * fs_change's merged with FS_ORIGIN_SERVER (fss__server_write), so they get
 * sequence numbers and reach devices like any other change. List outputs are
 * built here in C from the plain rows the repository returns
 * (fss__repo_*_list), as fss_report.c does: no JSON is assembled in SQL, so
 * every backend only has to return the same rows.
 */
#include "fss_json.h"

#include <stdlib.h>
#include <string.h>

fss_status fss__tx_begin(fss_server *s, fss_tx *t, fs_error *err)
{
    t->s = s;
    t->c = fss__conn_get(s, 10000);
    if (!t->c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    if (fss__begin_immediate(t->c, err) != FSS_OK) {
        fss__conn_put(s, t->c);
        t->c = NULL;
        return FSS_EDB;
    }
    return FSS_OK;
}

fss_status fss__tx_end(fss_tx *t, fss_status st, fs_error *err)
{
    if (!t->c)
        return st;
    if (st == FSS_OK)
        st = fss__commit(t->c, err);
    if (st != FSS_OK)
        fss__rollback(t->c);
    fss__conn_put(t->s, t->c);
    t->c = NULL;
    return st;
}

/* Runs one list query on a borrowed connection; the rows' callback writes
 * the JSON array into out, closed here with "]\n". */
typedef fss_status (*list_fn)(fss_conn *c, void *arg, fs_error *err);
static fss_status json_list(fss_server *s, list_fn list, void *arg,
                            fss_buf *out, fs_error *err)
{
    fss_conn *c = fss__conn_get(s, 10000);
    fss_status rc;

    if (!c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    fss_buf_puts(out, "[");
    rc = list(c, arg, err);
    fss_buf_puts(out, "]\n");
    if (rc == FSS_OK && out->oom)
        rc = fss__fail(err, FSS_ENOMEM, "output");
    fss__conn_put(s, c);
    return rc;
}

static void json_int_or_null(fss_buf *b, bool has, int64_t v)
{
    if (has)
        fss_buf_printf(b, "%lld", (long long)v);
    else
        fss_buf_puts(b, "null");
}

static void json_id_or_null(fss_buf *b, bool has, const fs_id *id)
{
    if (has)
        fss_json_id(b, id);
    else
        fss_buf_puts(b, "null");
}

/* A stored JSON text embedded as a value (NULL -> null). */
static void json_raw_or_null(fss_buf *b, const char *json)
{
    fss_buf_puts(b, json ? json : "null");
}

/* Grouping state of the lists whose rows repeat the parent for each child
 * (reps with their territories, territories with their reps). */
typedef struct group_out {
    fss_buf *out;
    char key[256];   /* the open parent's key; "" before the first row */
    bool open;
    int64_t count;   /* the open parent's trailing number */
    const char *count_name;
    const char *const *terr; /* the territory restriction (NULL = all) */
} group_out;

static bool group_next(group_out *g, const char *key)
{
    if (g->open && strcmp(g->key, key) == 0)
        return false;
    if (g->open)
        fss_buf_printf(g->out, "],\"%s\":%lld},", g->count_name,
                       (long long)g->count);
    snprintf(g->key, sizeof g->key, "%s", key);
    g->open = true;
    return true;
}

static void group_close(group_out *g)
{
    if (g->open) {
        fss_buf_printf(g->out, "],\"%s\":%lld}", g->count_name,
                       (long long)g->count);
        g->open = false;
    }
}

static void rep_item(const fss_rep_item *r, void *arg)
{
    group_out *g = arg;

    if (group_next(g, r->id)) {
        fss_buf_puts(g->out, "{\"id\":");
        fss_json_cstr(g->out, r->id);
        fss_buf_puts(g->out, ",\"name\":");
        fss_json_cstr(g->out, r->name);
        fss_buf_puts(g->out, ",\"email\":");
        fss_json_cstr(g->out, r->email);
        fss_buf_printf(g->out, ",\"active\":%s,\"territories\":[",
                       r->active ? "true" : "false");
        g->count = r->devices;
    } else
        fss_buf_puts(g->out, ",");
    if (r->territory)
        fss_json_cstr(g->out, r->territory);
}

static fss_status reps_list(fss_conn *c, void *arg, fs_error *err)
{
    group_out *g = arg;
    fss_status rc = fss__repo_reps_list(c, g->terr, rep_item, g, err);

    group_close(g);
    return rc;
}
fss_status fss_admin_rep_add(fss_server *s, const char *name,
                             const char *email, fs_id *rep_out, fs_error *err)
{
    fss_tx t;
    fs_id id;
    char txt[FS_ID_STRLEN + 1];
    fss_status st;

    if (!name || !name[0] || strlen(name) > 200)
        return fss__fail(err, FSS_EINVAL, "rep name must be 1..200 bytes");
    if (email && strlen(email) > 254)
        return fss__fail(err, FSS_EINVAL, "email too long");
    if (fs_id_new(fss_now_ms(), &id, err) != FS_OK)
        return FSS_ERANDOM;
    fs_id_format(&id, txt);
    if ((st = fss__tx_begin(s, &t, err)) != FSS_OK)
        return st;
    st = fss__repo_rep_add(t.c, txt, name, (email && email[0]) ? email : NULL,
                           (int64_t)fss_now_ms(), err);
    if (st == FSS_EEXISTS)
        fss__fail(err, FSS_EEXISTS, "a rep with email %s exists", email);
    st = fss__tx_end(&t, st, err);
    if (st == FSS_OK && rep_out)
        *rep_out = id;
    return st;
}

fss_status fss__admin_reps_list(fss_server *s, const char *const *terr,
                                fss_buf *out, fs_error *err)
{
    group_out g = {.out = out, .count_name = "devices", .terr = terr};

    return json_list(s, reps_list, &g, out, err);
}

fss_status fss_admin_reps_list(fss_server *s, fss_buf *out, fs_error *err)
{
    return fss__admin_reps_list(s, NULL, out, err);
}

fss_status fss_admin_territory_add(fss_server *s, const char *code,
                                   const char *name, fs_error *err)
{
    fss_tx t;
    fss_status st;
    size_t i, n = code ? strlen(code) : 0;

    if (n == 0 || n > 64)
        return fss__fail(err, FSS_EINVAL, "territory code must be 1..64 bytes");
    for (i = 0; i < n; i++)
        if (!((code[i] >= 'a' && code[i] <= 'z') || (code[i] >= '0' && code[i] <= '9') ||
              code[i] == '-' || code[i] == '_'))
            return fss__fail(err, FSS_EINVAL,
                             "territory code must be [a-z0-9_-] (got \"%s\")", code);
    if ((st = fss__tx_begin(s, &t, err)) != FSS_OK)
        return st;
    st = fss__repo_territory_put(t.c, code, name && name[0] ? name : code, err);
    return fss__tx_end(&t, st, err);
}

static void territory_item(const fss_territory_item *t, void *arg)
{
    group_out *g = arg;

    if (group_next(g, t->code)) {
        fss_buf_puts(g->out, "{\"code\":");
        fss_json_cstr(g->out, t->code);
        fss_buf_puts(g->out, ",\"name\":");
        fss_json_cstr(g->out, t->name);
        fss_buf_puts(g->out, ",\"reps\":[");
        g->count = t->customers;
    } else
        fss_buf_puts(g->out, ",");
    if (t->rep)
        fss_json_cstr(g->out, t->rep);
}

static fss_status territories_list(fss_conn *c, void *arg, fs_error *err)
{
    group_out *g = arg;
    fss_status rc = fss__repo_territories_list(c, g->terr, territory_item, g, err);

    group_close(g);
    return rc;
}

fss_status fss__admin_territories_list(fss_server *s, const char *const *terr,
                                       fss_buf *out, fs_error *err)
{
    group_out g = {.out = out, .count_name = "customers", .terr = terr};

    return json_list(s, territories_list, &g, out, err);
}

fss_status fss_admin_territories_list(fss_server *s, fss_buf *out,
                                      fs_error *err)
{
    return fss__admin_territories_list(s, NULL, out, err);
}

fss_status fss_admin_rep_territory(fss_server *s, const fs_id *rep,
                                   const char *territory, bool member,
                                   fs_error *err)
{
    fss_tx t;
    char rid[FS_ID_STRLEN + 1];
    fs_id *ids = NULL;
    bool *had = NULL;
    size_t n = 0, i;
    bool changed = false;
    fss_status st;

    fs_id_format(rep, rid);
    if ((st = fss__tx_begin(s, &t, err)) != FSS_OK)
        return st;
    /* A territory for an offboarded rep would hand it customers again. */
    if ((st = member ? fss__rep_active(t.c, rid, "adding a territory", err)
                     : fss__rep_known(t.c, rid, err)) != FSS_OK ||
        (st = fss__territory_known(t.c, territory, err)) != FSS_OK ||
        (st = fss__repo_territory_customers(t.c, territory, &ids, &n, err)) != FSS_OK)
        goto done;
    had = calloc(n ? n : 1, sizeof *had);
    if (!had) {
        st = fss__fail(err, FSS_ENOMEM, "membership");
        goto done;
    }
    for (i = 0; i < n; i++)
        if ((st = fss__customer_in_scope(t.c, rid, &ids[i], &had[i], err)) != FSS_OK)
            goto done;
    /* Customers of the territory were collected (and their visibility to
     * the rep noted) before the membership change. */
    st = fss__repo_rep_territory_set(t.c, rid, territory, member, &changed, err);
    if (st != FSS_OK || !changed)
        goto done;
    for (i = 0; i < n; i++) {
        bool now = false;
        if ((st = fss__customer_in_scope(t.c, rid, &ids[i], &now, err)) != FSS_OK)
            goto done;
        if (now && !had[i])
            st = fss__restamp_subtree(t.c, &ids[i], err);
        else if (!now && had[i])
            st = fss__add_exit(t.c, rid, &ids[i], FS_EXIT_REVOKED, err);
        if (st != FSS_OK)
            goto done;
    }
done:
    free(ids);
    free(had);
    return fss__tx_end(&t, st, err);
}

/* A server change setting text fields (NULL value = leave, "" = clear). */
static fss_status set_text(fs_change *chg, const char *field, const char *val,
                           fs_hlc hlc, fs_error *err)
{
    fs_value v = {0};
    fs_error ferr = {0};
    fs_status fst;

    if (!val)
        return FSS_OK;
    if (val[0] && fs_value_text(&v, val, strlen(val), &ferr) != FS_OK)
        return fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
    fst = fs_change_set_named(chg, field, &v, hlc, &ferr);
    fs_value_clear(&v);
    if (fst != FS_OK)
        return fss__fail(err, FSS_EINVAL, "%s: %s", field, ferr.text);
    return FSS_OK;
}

static fss_status customer_exists(fss_conn *c, const fs_id *id, fs_error *err)
{
    fs_row row = {0};
    bool found = false;
    fss_status st;

    st = fss__repo_row_load(c, fs_schema_entity("customer"), id, &row, NULL, &found,
                            err);
    if (st == FSS_OK && !found)
        st = fss__fail(err, FSS_ENOTFOUND, "no such customer");
    fs_row_free(&row);
    return st;
}

fss_status fss_admin_customer_assign(fss_server *s, const fs_id *customer,
                                     const char *owner_rep,
                                     const char *territory, fs_error *err)
{
    fss_tx t;
    fs_change chg;
    fss_status st;
    fs_hlc now;
    fs_error ferr = {0};

    memset(&chg, 0, sizeof chg);
    if ((st = fss__tx_begin(s, &t, err)) != FSS_OK)
        return st;
    if ((st = customer_exists(t.c, customer, err)) != FSS_OK)
        goto done;
    if (owner_rep && owner_rep[0] &&
        (st = fss__rep_active(t.c, owner_rep, "assigning it customers", err)) != FSS_OK)
        goto done;
    if (territory && territory[0] &&
        (st = fss__territory_known(t.c, territory, err)) != FSS_OK)
        goto done;
    if (fs_change_init(&chg, fs_schema_entity("customer"), customer,
                       &fss_server_device, &ferr) != FS_OK) {
        st = fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
        goto done;
    }
    now = fss__tick(s);
    if ((st = set_text(&chg, "owner_rep", owner_rep, now, err)) != FSS_OK ||
        (st = set_text(&chg, "territory", territory, now, err)) != FSS_OK)
        goto done;
    if (chg.nfields)
        st = fss__server_write(s, t.c, &chg, err);
done:
    fs_change_free(&chg);
    return fss__tx_end(&t, st, err);
}

fss_status fss_admin_customer_delete(fss_server *s, const fs_id *customer,
                                     fs_error *err)
{
    fss_tx t;
    fs_change chg;
    fss_status st;
    fs_error ferr = {0};

    memset(&chg, 0, sizeof chg);
    if ((st = fss__tx_begin(s, &t, err)) != FSS_OK)
        return st;
    if ((st = customer_exists(t.c, customer, err)) != FSS_OK)
        goto done;
    if (fs_change_init(&chg, fs_schema_entity("customer"), customer,
                       &fss_server_device, &ferr) != FS_OK) {
        st = fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
        goto done;
    }
    fs_change_tombstone(&chg, true, fss__tick(s));
    st = fss__server_write(s, t.c, &chg, err);
done:
    fs_change_free(&chg);
    return fss__tx_end(&t, st, err);
}

/* A list's output and whether a row was written yet (for the commas). */
typedef struct items_out {
    fss_buf *out;
    bool any;
    const char *const *terr; /* the territory restriction (NULL = all) */
} items_out;

void fss__device_json(fss_buf *b, const fss_device_item *d)
{
    fss_buf_puts(b, "{\"id\":");
    fss_json_id(b, &d->id);
    fss_buf_puts(b, ",\"rep\":");
    fss_json_cstr(b, d->rep);
    fss_buf_puts(b, ",\"rep_name\":");
    fss_json_cstr(b, d->rep_name);
    fss_buf_puts(b, ",\"name\":");
    fss_json_cstr(b, d->name);
    fss_buf_printf(b, ",\"created_at\":%lld,\"last_seen\":",
                   (long long)d->created_at);
    json_int_or_null(b, d->has_last_seen, d->last_seen);
    fss_buf_puts(b, d->revoked ? ",\"revoked\":true,\"revoked_at\":"
                               : ",\"revoked\":false,\"revoked_at\":");
    json_int_or_null(b, d->has_revoked_at, d->revoked_at);
    fss_buf_puts(b, ",\"pending_changes\":");
    json_int_or_null(b, d->has_pending_changes, d->pending_changes);
    fss_buf_puts(b, ",\"rejected_changes\":");
    json_int_or_null(b, d->has_rejected_changes, d->rejected_changes);
    fss_buf_puts(b, ",\"reported_at\":");
    json_int_or_null(b, d->has_reported_at, d->reported_at);
    fss_buf_puts(b, "}");
}

static void device_item(const fss_device_item *d, void *arg)
{
    items_out *x = arg;

    if (x->any)
        fss_buf_puts(x->out, ",");
    x->any = true;
    fss__device_json(x->out, d);
}

static fss_status devices_list(fss_conn *c, void *arg, fs_error *err)
{
    return fss__repo_devices_list(c, ((items_out *)arg)->terr, device_item, arg, err);
}

fss_status fss__admin_devices_list(fss_server *s, const char *const *terr,
                                   fss_buf *out, fs_error *err)
{
    items_out x = {.out = out, .terr = terr};

    return json_list(s, devices_list, &x, out, err);
}

fss_status fss_admin_devices_list(fss_server *s, fss_buf *out, fs_error *err)
{
    return fss__admin_devices_list(s, NULL, out, err);
}

fss_status fss_admin_device_revoke(fss_server *s, const fs_id *device,
                                   fs_error *err)
{
    fss_tx t;
    bool found = false;
    fss_status rc;

    if ((rc = fss__tx_begin(s, &t, err)) != FSS_OK)
        return rc;
    rc = fss__repo_device_revoke(t.c, device, (int64_t)fss_now_ms(), &found, err);
    if (rc == FSS_OK && !found)
        rc = fss__fail(err, FSS_ENOTFOUND, "no such device");
    return fss__tx_end(&t, rc, err);
}

typedef struct conflicts_out {
    items_out items;
    const char *status;
    int64_t limit;
} conflicts_out;

void fss__conflict_json(fss_buf *b, const fss_conflict_item *k)
{
    fss_buf_printf(b, "{\"id\":%lld,\"created_at\":%lld,\"entity\":", (long long)k->id,
                   (long long)k->created_at);
    fss_json_cstr(b, k->entity);
    fss_buf_puts(b, ",\"row\":");
    json_id_or_null(b, k->has_row, &k->row);
    fss_buf_puts(b, ",\"field\":");
    fss_json_cstr(b, k->field);
    fss_buf_puts(b, ",\"base\":");
    json_raw_or_null(b, k->base);
    fss_buf_puts(b, ",\"theirs\":");
    json_raw_or_null(b, k->theirs);
    fss_buf_puts(b, ",\"yours\":");
    json_raw_or_null(b, k->yours);
    fss_buf_puts(b, ",\"theirs_hlc\":");
    json_int_or_null(b, k->has_theirs_hlc, k->theirs_hlc);
    fss_buf_puts(b, ",\"yours_hlc\":");
    json_int_or_null(b, k->has_yours_hlc, k->yours_hlc);
    fss_buf_puts(b, ",\"theirs_device\":");
    json_id_or_null(b, k->has_theirs_device, &k->theirs_device);
    fss_buf_puts(b, ",\"yours_device\":");
    json_id_or_null(b, k->has_yours_device, &k->yours_device);
    fss_buf_puts(b, ",\"rule\":");
    fss_json_cstr(b, k->rule);
    fss_buf_puts(b, k->yours_won ? ",\"yours_won\":true,\"status\":"
                                 : ",\"yours_won\":false,\"status\":");
    fss_json_cstr(b, k->status);
    fss_buf_puts(b, ",\"rep\":");
    fss_json_cstr(b, k->rep);
    fss_buf_puts(b, ",\"detail\":");
    fss_json_cstr(b, k->detail);
    fss_buf_puts(b, ",\"hidden_by\":");
    if (k->has_anc_row) {
        fss_buf_puts(b, "{\"entity\":");
        fss_json_cstr(b, k->anc_entity);
        fss_buf_puts(b, ",\"id\":");
        fss_json_id(b, &k->anc_row);
        fss_buf_puts(b, "}");
    } else
        fss_buf_puts(b, "null");
    fss_buf_puts(b, ",\"resolved_by\":");
    fss_json_cstr(b, k->resolved_by);
    fss_buf_puts(b, ",\"resolution\":");
    fss_json_cstr(b, k->resolution);
    fss_buf_puts(b, ",\"resolved_at\":");
    json_int_or_null(b, k->has_resolved_at, k->resolved_at);
    fss_buf_puts(b, "}");
}

static void conflict_item(const fss_conflict_item *k, void *arg)
{
    items_out *x = arg;

    if (x->any)
        fss_buf_puts(x->out, ",");
    x->any = true;
    fss__conflict_json(x->out, k);
}

static fss_status conflicts_list(fss_conn *c, void *arg, fs_error *err)
{
    conflicts_out *x = arg;

    return fss__repo_conflicts_list(c, x->status, x->limit, x->items.terr, conflict_item,
                                    &x->items, err);
}

fss_status fss_admin_conflicts_list(fss_server *s, const char *status,
                                    uint32_t limit, fss_buf *out, fs_error *err)
{
    return fss__admin_conflicts_list(s, status, limit, NULL, out, err);
}

fss_status fss__admin_conflicts_list(fss_server *s, const char *status,
                                     uint32_t limit, const char *const *terr,
                                     fss_buf *out, fs_error *err)
{
    conflicts_out x = {.items = {.out = out, .terr = terr}};

    if (status && strcmp(status, "open") != 0 && strcmp(status, "auto") != 0 &&
        strcmp(status, "resolved") != 0)
        return fss__fail(err, FSS_EINVAL,
                         "status must be open, auto or resolved (got \"%s\")", status);
    x.status = status;
    x.limit = limit ? limit : 1000;
    return json_list(s, conflicts_list, &x, out, err);
}

/* What resolving needs of a stored conflict record (copied out of the
 * repository's borrowed row). */
typedef struct picked {
    char entity[64], field[80], status[16], rule[32];
    fs_id row, anc_row;
    bool has_anc_row, yours_won, oom;
    int64_t theirs_hlc;
    char *theirs, *yours;  /* stored JSON literals, malloc; NULL for NULL */
} picked;

static void pick(const fss_conflict_item *it, void *arg)
{
    picked *k = arg;

    snprintf(k->entity, sizeof k->entity, "%s", it->entity ? it->entity : "");
    snprintf(k->field, sizeof k->field, "%s", it->field ? it->field : "");
    snprintf(k->status, sizeof k->status, "%s", it->status ? it->status : "");
    snprintf(k->rule, sizeof k->rule, "%s", it->rule ? it->rule : "");
    if (it->has_row)
        k->row = it->row;
    k->has_anc_row = it->has_anc_row;
    k->anc_row = it->anc_row;
    k->yours_won = it->yours_won;
    k->theirs_hlc = it->theirs_hlc;
    k->theirs = it->theirs ? strdup(it->theirs) : NULL;
    k->yours = it->yours ? strdup(it->yours) : NULL;
    k->oom = (it->theirs && !k->theirs) || (it->yours && !k->yours);
}

/* Resolves the other open records of writes hidden by the same delete (the
 * hider's own row, or rows below it, and the same tombstone stamp): one
 * decision of the back office about one delete answers all of them. */
static fss_status resolve_siblings(fss_conn *c, const fs_id *hider, fs_hlc del_hlc,
                                   const char *by, const char *resolution,
                                   fs_error *err)
{
    return fss__repo_conflicts_resolve_hidden(c, hider, (int64_t)del_hlc,
                                              by ? by : "admin", resolution,
                                              (int64_t)fss_now_ms(), err);
}

fss_status fss_admin_conflict_resolve(fss_server *s, int64_t id,
                                      const char *choice,
                                      const char *value_json,
                                      const char *resolved_by, fs_error *err)
{
    fss_tx t;
    picked rec;
    bool found = false;
    fs_change chg;
    fsj j;
    fs_value v = {0};
    fs_error ferr = {0};
    const fs_entity *e = NULL;
    char field[80] = "", status[16] = "", *chosen = NULL;
    fs_id row, hider;
    fs_hlc del_hlc = 0;
    fss_status rc;
    bool chg_init = false, hidden_write = false, refused, restore, accept;

    memset(&chg, 0, sizeof chg);
    memset(&j, 0, sizeof j);
    if (!choice || (strcmp(choice, "theirs") != 0 && strcmp(choice, "yours") != 0 &&
                    strcmp(choice, "value") != 0 && strcmp(choice, "restore") != 0 &&
                    strcmp(choice, "accept") != 0))
        return fss__fail(err, FSS_EINVAL,
                         "choice must be theirs, yours, value, restore or accept");
    restore = strcmp(choice, "restore") == 0;
    accept = strcmp(choice, "accept") == 0;
    if (strcmp(choice, "value") == 0 && !value_json)
        return fss__fail(err, FSS_EINVAL, "choice value needs a value");
    if ((rc = fss__tx_begin(s, &t, err)) != FSS_OK)
        return rc;
    memset(&rec, 0, sizeof rec);
    if ((rc = fss__repo_conflict_get(t.c, id, pick, &rec, &found, err)) != FSS_OK)
        goto done;
    if (!found) {
        rc = fss__fail(err, FSS_ENOTFOUND, "no conflict %lld", (long long)id);
        goto done;
    }
    if (rec.oom) {
        rc = fss__fail(err, FSS_ENOMEM, "resolve");
        goto done;
    }
    e = fs_schema_entity(rec.entity);
    row = rec.row;
    snprintf(field, sizeof field, "%s", rec.field);
    snprintf(status, sizeof status, "%s", rec.status);
    refused = strcmp(rec.rule, "scope") == 0 || strcmp(rec.rule, "invalid") == 0;
    if (strcmp(status, "resolved") == 0) {
        rc = fss__fail(err, FSS_EEXISTS, "conflict %lld is already resolved",
                       (long long)id);
        goto done;
    }
    /* A write hidden by a delete (of its row or of an ancestor): the choice
     * is about the delete. restore (or yours: the write stands, visibly)
     * un-tombstones the deleted row(s); accept (or theirs) keeps the
     * delete and writes nothing. */
    hidden_write = strcmp(rec.rule, "delete_wins") == 0 && !rec.yours_won && field[0] &&
                   strcmp(field, "_deleted") != 0;
    if ((restore || accept) && !hidden_write) {
        rc = fss__fail(err, FSS_EINVAL, "conflict %lld is not a write hidden by a "
                       "delete: choose theirs, yours or value", (long long)id);
        goto done;
    }
    if (hidden_write) {
        del_hlc = (fs_hlc)rec.theirs_hlc;
        hider = rec.has_anc_row ? rec.anc_row : row;
        if (strcmp(choice, "yours") == 0)
            restore = true;
        else if (strcmp(choice, "theirs") == 0)
            accept = true;
    }
    if (strcmp(choice, "value") == 0)
        chosen = strdup(value_json);
    else if (restore || accept)
        chosen = strdup("null");
    else {
        const char *pv = strcmp(choice, "theirs") == 0 ? rec.theirs : rec.yours;
        chosen = strdup(pv ? pv : "null");
    }
    if (!chosen) {
        rc = fss__fail(err, FSS_ENOMEM, "resolve");
        goto done;
    }
    if (restore) {
        fs_hider undone[FSS_HIDE_MAX_DEPTH];
        size_t nundone = 0;
        if (!e) {
            rc = fss__fail(err, FSS_EINVAL, "conflict %lld names no known entity",
                           (long long)id);
            goto done;
        }
        rc = fss__restore_path(s, t.c, e, &row, undone, &nundone, err);
        for (size_t k = 0; k < nundone && rc == FSS_OK; k++)
            rc = resolve_siblings(t.c, &undone[k].row, undone[k].hlc, resolved_by,
                                  "{\"choice\":\"restore\",\"value\":null}", err);
        if (rc != FSS_OK)
            goto done;
    } else if (accept) {
        if ((rc = resolve_siblings(t.c, &hider, del_hlc, resolved_by,
                                   "{\"choice\":\"accept\",\"value\":null}", err)) !=
            FSS_OK)
            goto done;
    } else if (e && field[0] && !refused) {
        /* Scope/invalid rejections record the refused writes for audit;
         * the server's rules refused them, so resolving acknowledges the
         * record and writes nothing (the row may not even exist, or lie
         * outside the writer's scope). */
        if ((rc = fsj_parse(chosen, strlen(chosen), &j, err)) != FSS_OK)
            goto done;
        if (fs_change_init(&chg, e, &row, &fss_server_device, &ferr) != FS_OK) {
            rc = fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
            goto done;
        }
        chg_init = true;
        if (strcmp(field, "_deleted") == 0) {
            bool del = (j.kind == FSJ_BOOL && j.b) || (j.kind == FSJ_NUM && j.num != 0);
            fs_change_tombstone(&chg, del, fss__tick(s));
        } else {
            int slot = fs_entity_field_index(e, field);
            if (slot < 0) {
                rc = fss__fail(err, FSS_EINVAL, "unknown field %s", field);
                goto done;
            }
            if ((rc = fsj_to_value(&j, &e->fields[slot], &v, err)) != FSS_OK)
                goto done;
            if (fs_change_set(&chg, slot, &v, fss__tick(s), &ferr) != FS_OK) {
                rc = fss__fail(err, FSS_EINVAL, "%s", ferr.text);
                goto done;
            }
        }
        if ((rc = fss__server_decide(s, t.c, &chg, err)) != FSS_OK)
            goto done;
    }
    {
        fss_buf res = {0};
        fss_buf_printf(&res, "{\"choice\":\"%s\",\"value\":%s}",
                       restore ? "restore" : accept ? "accept" : choice, chosen);
        if (res.oom)
            rc = fss__fail(err, FSS_ENOMEM, "resolve");
        else
            rc = fss__repo_conflict_resolve(t.c, id, resolved_by ? resolved_by : "admin",
                                            res.data ? res.data : "",
                                            (int64_t)fss_now_ms(), err);
        fss_buf_free(&res);
    }
done:
    free(rec.theirs);
    free(rec.yours);
    if (chg_init)
        fs_change_free(&chg);
    fs_value_clear(&v);
    fsj_free(&j);
    free(chosen);
    return fss__tx_end(&t, rc, err);
}

typedef struct export_ctx {
    fss_conn *c;
    const char *rep;
    fss_buf *out;
    fss_status st;
    fs_error *err;
} export_ctx;

static bool export_filter(const fs_entity *e, const fs_row *row,
                          const fs_id *root, void *payload)
{
    export_ctx *x = payload;
    bool in = false;

    (void)row;
    if (e->parent < 0 && strcmp(e->name, "customer") != 0)
        return true; /* reference data without a root: product */
    if (!root)
        return false;
    if (fss__customer_in_scope(x->c, x->rep, root, &in, x->err) != FSS_OK) {
        x->st = FSS_EDB;
        return false;
    }
    return in;
}

static int export_write(const char *buf, size_t n, void *payload)
{
    export_ctx *x = payload;

    fss_buf_add(x->out, buf, n);
    return x->out->oom ? -1 : 0;
}

fss_status fss_admin_export(fss_server *s, const fs_id *rep, fss_buf *out,
                            fs_error *err)
{
    export_ctx x;
    char rid[FS_ID_STRLEN + 1];
    fs_error serr = {0};
    fss_status st;

    fs_id_format(rep, rid);
    memset(&x, 0, sizeof x);
    x.c = fss__conn_get(s, 10000);
    if (!x.c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    x.rep = rid;
    x.out = out;
    x.err = err;
    /* One read transaction: the export is a consistent snapshot. */
    if ((st = fss__begin_read(x.c, err)) != FSS_OK)
        goto done;
    if ((st = fss__rep_known(x.c, rid, err)) != FSS_OK)
        goto done;
    /* A failed scope check inside the filter keeps its own message. */
    if (fss__repo_export(x.c, export_filter, &x, export_write, &x, &serr) != FSS_OK)
        st = x.st != FSS_OK ? x.st : fss__fail(err, FSS_EDB, "%s", serr.text);
    else
        st = x.st;
done:
    fss__conn_put(s, x.c);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Naming rows for people (the CLI's references; issue 14 item 8)           */
/* ------------------------------------------------------------------------ */
/*
 * A back-office operator names a rep by name or email, a customer by name,
 * and any row by its full UUID or a short id: the last 8 or more hex digits
 * of the id (time-ordered ids share their first characters, so a prefix
 * would not tell them apart). Matches are ranked (0 exact id, 1 email,
 * 2 name, 3 short id) and only the best rank counts: one row there is the
 * answer, several are an ambiguity that lists the candidates and resolves
 * nothing. Names compare case-insensitively (ASCII), whole.
 *
 * Kept in its own block so the storage refactor can move it behind the
 * repository interface unchanged.
 */

static const char *const find_noun[] = {
    [FSS_REF_REP] = "rep", [FSS_REF_CUSTOMER] = "customer",
    [FSS_REF_DEVICE] = "device", [FSS_REF_QUOTE] = "quote",
};

/* Collects the best-ranked matches (the repository gives them best first). */
typedef struct find_ctx {
    int best;
    size_t found;
    char *id_out, *label;
    size_t label_cap;
    fss_buf *candidates;
} find_ctx;

static void find_row(const fss_find_item *f, void *arg)
{
    find_ctx *x = arg;

    if (x->best >= 0 && f->rank != x->best)
        return;
    x->best = f->rank;
    if (x->found++ == 0) {
        snprintf(x->id_out, FS_ID_STRLEN + 1, "%s", f->id);
        if (x->label && x->label_cap)
            snprintf(x->label, x->label_cap, "%s", f->label);
    }
    if (x->candidates)
        fss_buf_printf(x->candidates, "  %s  %s\n", f->id, f->label);
}

fss_status fss_admin_find(fss_server *s, fss_ref_kind kind, const char *ref,
                          char id_out[FS_ID_STRLEN + 1], char *label,
                          size_t label_cap, fss_buf *candidates, fs_error *err)
{
    fss_conn *c = NULL;
    fss_status rc = FSS_OK;
    char hex[33] = "", lref[33];
    size_t n, i, h = 0;
    bool is_hex;
    find_ctx x = {-1, 0, id_out, label, label_cap, candidates};
    fs_id id;

    if (!ref || !ref[0] || (unsigned)kind >= sizeof find_noun / sizeof find_noun[0])
        return fss__fail(err, FSS_EINVAL, "empty %s reference",
                         (unsigned)kind < 4 ? find_noun[kind] : "row");
    n = strlen(ref);
    /* A full UUID compares as its 32 hex digits; a short id is 8..32 hex
     * digits (lowercased, so a pattern built from it holds no wildcard). */
    if (fs_id_parse(ref, n, &id, NULL) == FS_OK) {
        char t[FS_ID_STRLEN + 1];
        fs_id_format(&id, t);
        for (i = 0; t[i]; i++)
            if (t[i] != '-')
                hex[h++] = t[i];
        hex[h] = '\0';
    }
    is_hex = fs_id_tail(ref, 8, lref);

    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((rc = fss__repo_find(c, kind, is_hex ? lref : ref, is_hex, hex, find_row, &x,
                             err)) != FSS_OK)
        goto done;
    if (x.found == 0 && hex[0]) {
        /* A well-formed id nobody has: the operation itself says "no such". */
        fs_id_format(&id, id_out);
        if (label && label_cap)
            snprintf(label, label_cap, "%s", id_out);
    } else if (x.found == 0) {
        rc = fss__fail(err, FSS_ENOTFOUND, "no %s matches \"%s\"", find_noun[kind], ref);
    } else if (x.found > 1) {
        rc = fss__fail(err, FSS_EINVAL, "\"%s\" matches %s%zu %ss; nothing changed "
                       "(name one by its id)", ref, x.found == FSS_FIND_MAX ? "at least " : "",
                       x.found, find_noun[kind]);
    } else if (candidates) {
        fss_buf_free(candidates);
    }
done:
    fss__conn_put(s, c);
    return rc;
}
