/*
 * sim_work.c - the simulated world: back office setup, the harness's model
 * of scopes, each device's random offline work through the real
 * libfieldclient API, syncs, mid-run back-office events (reassignments,
 * territory changes, deletes, a revoke), and the client SIGKILL during apply.
 *
 * Client kill: the device's handle is closed, a child process opens the same
 * replica and runs fc_sync. The child registers an SQLite auto-extension
 * (sqlite3_auto_extension, public SQLite API) that puts an update hook and a
 * commit hook on the client's connection; once the transport has handed a
 * 200 sync answer to the library, the child SIGKILLs itself at the N-th row
 * write of the apply transaction (N from the seed) or, at the latest, in
 * the commit hook, i.e. always inside apply_response's transaction. No
 * change to libfieldclient is needed for this.
 */
#include "sim.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const terr_codes[SIM_NTERR] = {"north", "south", "east"};

/* ------------------------------------------------------------------------ */
/* Model                                                                     */
/* ------------------------------------------------------------------------ */

int sim_customer_index(sim *s, const fs_id *id)
{
    sim_key k = sim_key_make(0, id, 0);
    size_t *ix = sim_map_get(&s->cust_ix, &k);
    return ix ? (int)*ix : -1;
}

int sim_add_customer(sim *s, const fs_id *id, int owner, int territory)
{
    sim_key k = sim_key_make(0, id, 0);
    sim_customer *c;

    if (s->ncust >= SIM_MAX_CUSTOMERS)
        return -1;
    c = &s->cust[s->ncust];
    memset(c, 0, sizeof *c);
    c->id = *id;
    c->owner = owner;
    c->territory = territory;
    c->former = -1;
    *sim_map_put(&s->cust_ix, &k, s->ncust, NULL) = s->ncust;
    return (int)s->ncust++;
}

bool sim_in_scope(sim *s, int rep, const fs_id *customer)
{
    int ci = sim_customer_index(s, customer);
    const sim_customer *c;

    /* A merged customer's rows live on under its survivor (sim_owner.c). */
    ci = sim_customer_final(s, ci);
    if (ci < 0)
        return false;
    c = &s->cust[ci];
    if (c->deleted)
        return false;
    return c->owner == rep ||
           (c->territory >= 0 && (s->reps[rep].terr & (1u << c->territory)));
}

/* Remembers which customer a new row hangs off (for the scope check). */
static void note_root(sim *s, const fs_id *row, const fs_id *parent)
{
    sim_key pk = sim_key_make(0, parent, 0), rk = sim_key_make(0, row, 0);
    size_t *ci = sim_map_get(&s->roots, &pk);
    int cust = sim_customer_index(s, parent);
    char t[FS_ID_STRLEN + 1];

    if (cust < 0 && !ci) {
        fs_id_format(parent, t);
        sim_violation("harness: parent %s of a new row is unknown", t);
        return;
    }
    *sim_map_put(&s->roots, &rk, 0, NULL) = cust >= 0 ? (size_t)cust : *ci;
}

void sim_note_write(sim_dev *d, const fs_id *row)
{
    sim_key k = sim_key_make(d->index, row, 0);
    (*sim_map_put(&d->sim->writes, &k, 0, NULL))++;
    d->sim->ops_ok++;
}

/* ------------------------------------------------------------------------ */
/* Devices                                                                   */
/* ------------------------------------------------------------------------ */

static uint64_t skewed_now(void *payload)
{
    const sim_dev *d = payload;
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + d->skew_ms);
}

int sim_device_open(sim_dev *d)
{
    fs_error err = {0};

    if (d->c || d->wiped)
        return 0;
    if (fc_open(d->path, &d->opt, &d->c, &err) != FC_OK) {
        sim_violation("dev%d: fc_open: %s", d->index, err.text);
        return -1;
    }
    return 0;
}

void sim_device_close(sim_dev *d)
{
    fc_close(d->c);
    d->c = NULL;
}

static void device_init(sim *s, sim_dev *d, int index)
{
    memset(d, 0, sizeof *d);
    d->sim = s;
    d->index = index;
    d->rep = index % (int)s->nrep;
    snprintf(d->path, sizeof d->path, "%s/dev%d.db", s->srv.dir, index);
    /* Clock skew: some devices run far ahead (past the server's clock
     * guard, so their stamps get clamped), some far behind. */
    d->skew_ms = index % 4 == 1 ? 20 * 60 * 1000 : index % 4 == 3 ? -2 * 3600 * 1000 : 0;
    d->opt.post = sim_post;
    d->opt.post_payload = d;
    d->opt.now_ms = skewed_now;
    d->opt.now_payload = d;
    d->opt.retries = 3;
    d->opt.backoff_ms = 2;
    d->opt.backoff_max_ms = 20;
    d->opt.timeout_ms = 60000;
    d->opt.page_size = s->page_size ? s->page_size : 25;
    d->opt.max_batch = 8;
    /* Odd devices pull pipelined (pages asked for ahead from a second
     * thread, two deep), even ones one page after another. */
    d->opt.pipeline = d->index % 2 ? FC_PIPELINE_ON : FC_PIPELINE_OFF;
    sim_rng_seed(&d->ops, s->seed, 100 + (uint64_t)index);
    sim_rng_seed(&d->faults, s->seed, 200 + (uint64_t)index);
}

/* Pulls the "code" member out of the enrollment-code answer. */
static bool json_str(const char *json, const char *name, char *out, size_t cap)
{
    char pat[64];
    const char *p;
    size_t n = 0;

    snprintf(pat, sizeof pat, "\"%s\":\"", name);
    if (!json || !(p = strstr(json, pat)))
        return false;
    p += strlen(pat);
    while (p[n] && p[n] != '"' && n + 1 < cap)
        n++;
    memcpy(out, p, n);
    out[n] = '\0';
    return n > 0;
}

static int enroll(sim *s, sim_dev *d)
{
    sim_http h = {0};
    char path[128], code[64], name[32];
    fs_error err = {0};
    fc_info info;
    int rc = -1;

    if (sim_device_open(d) != 0)
        return -1;
    snprintf(path, sizeof path, "reps/%s/enrollment-codes", s->reps[d->rep].uuid);
    if (sim_admin(&s->srv, "POST", path, "{}", &h) != 201 ||
        !json_str((const char *)h.body, "code", code, sizeof code)) {
        fprintf(stderr, "sim: enrollment code: HTTP %ld\n", h.status);
        goto done;
    }
    snprintf(name, sizeof name, "sim-dev%d", d->index);
    if (fc_enroll(d->c, s->srv.base, code, name, &err) != FC_OK) {
        fprintf(stderr, "sim: dev%d enroll: %s\n", d->index, err.text);
        goto done;
    }
    if (fc_info_get(d->c, &info, &err) != FC_OK)
        goto done;
    d->id = info.device_id;
    rc = 0;
done:
    sim_http_free(&h);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Setup: territories, reps, imported customers and products, devices       */
/* ------------------------------------------------------------------------ */

static int setup_reps(sim *s)
{
    char body[256], path[160];
    sim_http h = {0};

    for (int t = 0; t < SIM_NTERR; t++) {
        snprintf(body, sizeof body, "{\"code\":\"%s\",\"name\":\"%s\"}", terr_codes[t],
                 terr_codes[t]);
        if (sim_admin(&s->srv, "POST", "territories", body, &h) != 200)
            goto fail;
        sim_http_free(&h);
    }
    for (unsigned r = 0; r < s->nrep; r++) {
        sim_rep *rep = &s->reps[r];
        snprintf(body, sizeof body, "{\"name\":\"Rep %u\",\"email\":\"rep%u@sim.test\"}", r, r);
        if (sim_admin(&s->srv, "POST", "reps", body, &h) != 201 ||
            !json_str((const char *)h.body, "id", rep->uuid, sizeof rep->uuid) ||
            fs_id_parse(rep->uuid, strlen(rep->uuid), &rep->id, NULL) != FS_OK)
            goto fail;
        sim_http_free(&h);
        /* Territories overlap between reps, so customers are shared. */
        rep->terr = 1u << (r % SIM_NTERR);
        if (sim_chance(&s->sched, 500))
            rep->terr |= 1u << sim_below(&s->sched, SIM_NTERR);
        for (int t = 0; t < SIM_NTERR; t++) {
            if (!(rep->terr & (1u << t)))
                continue;
            snprintf(path, sizeof path, "reps/%s/territories", rep->uuid);
            snprintf(body, sizeof body, "{\"territory\":\"%s\"}", terr_codes[t]);
            if (sim_admin(&s->srv, "POST", path, body, &h) != 200)
                goto fail;
            sim_http_free(&h);
        }
    }
    return 0;
fail:
    fprintf(stderr, "sim: setup admin call failed: HTTP %ld %.200s\n", h.status,
            h.body ? (const char *)h.body : "");
    sim_http_free(&h);
    return -1;
}

static int setup_data(sim *s)
{
    size_t ncust = 3 * s->nrep + 2, cap = 512 * (ncust + 4), n = 0;
    char *json = malloc(cap), idt[FS_ID_STRLEN + 1];
    sim_http h = {0};
    long st;

    if (!json)
        return -1;
    n += (size_t)snprintf(json + n, cap - n, "[");
    for (size_t i = 0; i < ncust; i++) {
        fs_id id;
        int terr = sim_chance(&s->sched, 700) ? (int)sim_below(&s->sched, SIM_NTERR) : -1;
        int owner = sim_chance(&s->sched, 400) ? (int)sim_below(&s->sched, s->nrep) : -1;
        if (fs_id_new((uint64_t)time(NULL) * 1000, &id, NULL) != FS_OK ||
            sim_add_customer(s, &id, owner, terr) < 0) {
            free(json);
            return -1;
        }
        s->cust[s->ncust - 1].at_server = true;
        fs_id_format(&id, idt);
        n += (size_t)snprintf(json + n, cap - n,
                              "%s{\"id\":\"%s\",\"name\":\"Customer %zu\",\"address\":\"%zu "
                              "Main St\",\"lat\":%.4f,\"lon\":%.4f,\"phone\":\"+49 30 %zu\""
                              "%s%s%s%s%s%s}",
                              i ? "," : "", idt, i, i, 52.0 + (double)i / 100, 13.0, 1000 + i,
                              terr >= 0 ? ",\"territory\":\"" : "",
                              terr >= 0 ? terr_codes[terr] : "", terr >= 0 ? "\"" : "",
                              owner >= 0 ? ",\"owner_rep\":\"" : "",
                              owner >= 0 ? s->reps[owner].uuid : "", owner >= 0 ? "\"" : "");
    }
    snprintf(json + n, cap - n, "]");
    st = sim_admin(&s->srv, "POST", "import/customers", json, &h);
    free(json);
    if (st != 200) {
        fprintf(stderr, "sim: import customers: HTTP %ld %.300s\n", st,
                h.body ? (const char *)h.body : "");
        sim_http_free(&h);
        return -1;
    }
    sim_http_free(&h);
    st = sim_admin(&s->srv, "POST", "import/products",
                   "[{\"sku\":\"SKU-1\",\"name\":\"Pump\",\"price\":12500,\"currency\":\"EUR\"},"
                   "{\"sku\":\"SKU-2\",\"name\":\"Valve\",\"price\":990,\"currency\":\"EUR\"}]",
                   &h);
    sim_http_free(&h);
    return st == 200 ? 0 : -1;
}

int sim_setup(sim *s)
{
    if (setup_reps(s) != 0 || setup_data(s) != 0)
        return -1;
    for (unsigned i = 0; i < s->ndev; i++) {
        device_init(s, &s->dev[i], (int)i);
        if (enroll(s, &s->dev[i]) != 0)
            return -1;
        s->dev[i].faults_on = true;
    }
    /* Devices come online once (under faults) before the offline work. */
    for (unsigned i = 0; i < s->ndev; i++) {
        fs_error err = {0};
        sim_sync(&s->dev[i], &err);
    }
    /* The server dies mid-request at least once per run. */
    s->server_kill_at = 20 + sim_below(&s->sched, 40);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading the replica                                                       */
/* ------------------------------------------------------------------------ */

typedef struct picker {
    const char *field, *want; /* only rows whose field equals want */
    bool want_not;            /* ... or differs from it */
    fs_id *ids;
    char (*vals)[24];
    size_t n, cap;
    fc_client *not_mine;      /* when set: only rows that are not this rep's */
} picker;

static bool pick_cb(const fs_row *row, void *payload)
{
    picker *p = payload;
    const char *v = "";
    int slot = p->field ? fs_entity_field_index(row->entity, p->field) : -1;
    bool mine = false;

    if (p->not_mine && (fc_row_mine(p->not_mine, row, &mine, NULL) != FC_OK || mine))
        return true;

    if (slot >= 0 && row->cells[slot].v.kind == FS_VAL_TEXT)
        v = row->cells[slot].v.u.text.p;
    if (p->want && (strcmp(v, p->want) == 0) == p->want_not)
        return true;
    if (p->n >= p->cap) {
        size_t cap = p->cap;
        p->ids = sim_grow(p->ids, &cap, p->n, sizeof *p->ids);
        p->vals = sim_grow(p->vals, &p->cap, p->n, sizeof *p->vals);
    }
    p->ids[p->n] = row->id;
    snprintf(p->vals[p->n], sizeof p->vals[0], "%s", v);
    p->n++;
    return p->n < 100000;
}

/* A random live row of `entity` in d's replica (optionally filtered); the
 * value of `field` goes to val. */
static bool pick_from(sim_dev *d, const char *entity, const char *field, const char *want,
                      bool want_not, bool not_mine, fs_id *out, char val[24])
{
    picker p = {field, want, want_not, NULL, NULL, 0, 0, not_mine ? d->c : NULL};
    bool ok = false;

    if (fc_list(d->c, entity, NULL, pick_cb, &p, NULL, NULL) == FC_OK && p.n) {
        size_t i = sim_below(&d->ops, (uint32_t)p.n);
        *out = p.ids[i];
        if (val)
            memcpy(val, p.vals[i], 24);
        ok = true;
    }
    free(p.ids);
    free(p.vals);
    return ok;
}

static bool pick(sim_dev *d, const char *entity, const char *field, const char *want,
                 bool want_not, fs_id *out, char val[24])
{
    return pick_from(d, entity, field, want, want_not, false, out, val);
}

typedef struct esign_scan {
    sim_dev *d;
    const char *where;
} esign_scan;

static bool esign_cb(const fs_row *row, void *payload)
{
    esign_scan *e = payload;
    int slot = fs_entity_field_index(row->entity, "esign_status");

    if (slot >= 0 && row->cells[slot].v.kind == FS_VAL_TEXT)
        sim_esign_seen(e->d->sim, e->d->index, &row->id, row->cells[slot].v.u.text.p,
                       e->where);
    return true;
}

void sim_observe_replica(sim_dev *d, const char *where)
{
    esign_scan e = {d, where};
    if (d->c && !d->wiped)
        fc_list(d->c, "contract", NULL, esign_cb, &e, NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* Random offline work                                                       */
/* ------------------------------------------------------------------------ */

enum op {
    OP_CUST_ADD, OP_CUST_EDIT, OP_CONTACT_ADD, OP_CONTACT_EDIT, OP_VISIT_PLAN,
    OP_VISIT_CHECKIN, OP_VISIT_NOTE, OP_VISIT_CHECKOUT, OP_VISIT_ABANDON,
    OP_QUOTE_NEW, OP_LINE_ADD, OP_LINE_EDIT, OP_LINE_REMOVE, OP_QUOTE_DISCOUNT,
    OP_QUOTE_SEND, OP_QUOTE_VALIDITY, OP_QUOTE_REVISE, OP_QUOTE_ACCEPT, OP_CONTRACT_NEW,
    OP_ESIGN, OP_TASK_ADD, OP_TASK_DONE, OP_DELETE, OP_CUST_DELETE, OP_QUOTE_DELETE,
    OP_TICKET,
    OP_COUNT
};
/* Weighted towards edits of shared rows and the quote -> contract -> e-sign
 * path, where concurrent writes meet the interesting merge rules. */
static const unsigned op_weight[OP_COUNT] = {3, 14, 3, 4, 6, 4, 4, 3, 1, 4, 6, 3, 2,
                                             2, 5, 2, 2, 3, 5, 14, 2, 2, 3, 1, 2, 4};

/* The outcome of one fc_* write: OK counts as a write, ordinary refusals
 * (state rules, a row gone meanwhile) are fine, anything else is a bug. */
static void judge(sim_dev *d, fc_status rc, const fs_error *err, const char *what,
                  const fs_id *row)
{
    if (rc == FC_OK) {
        sim_note_write(d, row);
        return;
    }
    d->sim->ops_refused++;
    /* EDENIED: a delete the rep may not make (another rep's task...). */
    if (rc == FC_ETRANSITION || rc == FC_EFROZEN || rc == FC_ENOTFOUND || rc == FC_EDENIED)
        return;
    sim_violation("dev%d: %s failed: %s (%s)", d->index, what, fc_strerror(rc), err->text);
}

static void op_customer(sim_dev *d, int op)
{
    sim *s = d->sim;
    fs_id id;
    fs_error err = {0};
    char v1[64], v2[64];
    fc_status rc;
    static const char *const fields[] = {"phone", "tags", "segment", "name", "address"};

    if (op == OP_CUST_ADD) {
        fc_kv kv[3] = {{"name", v1}, {"address", v2}, {"phone", "+1 555 0100"}};
        snprintf(v1, sizeof v1, "New customer d%d-%u", d->index, sim_below(&d->ops, 10000));
        snprintf(v2, sizeof v2, "%u Side Rd", sim_below(&d->ops, 500));
        rc = fc_customer_add(d->c, kv, 3, &id, &err);
        if (rc == FC_OK && sim_add_customer(s, &id, d->rep, -1) < 0)
            sim_violation("harness: too many customers");
        judge(d, rc, &err, "customer add", &id);
        return;
    }
    if (!pick(d, "customer", NULL, NULL, false, &id, NULL))
        return;
    if (op == OP_CUST_DELETE) {
        /* Only the back office deletes customers (admin_delete below): a
         * rep's device must refuse it before anything is queued. */
        rc = fc_row_delete(d->c, "customer", &id, &err);
        if (rc == FC_ESERVEROWNED) {
            s->ops_refused++;
            return;
        }
        sim_violation("dev%d: customer delete was not refused: %s", d->index,
                      rc ? err.text : "queued");
        return;
    }
    {
        /* Edits of shared customers: one or two fields, so that concurrent
         * edits hit both the same and different fields. */
        fc_kv kv[2];
        size_t n = 1 + sim_below(&d->ops, 2);
        unsigned f0 = sim_below(&d->ops, 5), f1 = (f0 + 1 + sim_below(&d->ops, 4)) % 5;
        snprintf(v1, sizeof v1, "%s d%d #%u", fields[f0], d->index, sim_below(&d->ops, 1000));
        snprintf(v2, sizeof v2, "%s d%d #%u", fields[f1], d->index, sim_below(&d->ops, 1000));
        kv[0].field = fields[f0];
        kv[0].value = f0 == 2 ? (sim_below(&d->ops, 2) ? "smb" : "enterprise") : v1;
        kv[1].field = fields[f1];
        kv[1].value = f1 == 2 ? "retail" : v2;
        rc = fc_customer_edit(d->c, &id, kv, n, &err);
        judge(d, rc, &err, "customer edit", &id);
    }
}

static void op_contact(sim_dev *d, int op)
{
    fs_id cust, id;
    fs_error err = {0};
    char v[64];
    fc_status rc;

    if (op == OP_CONTACT_ADD) {
        fc_kv kv[2] = {{"name", v}, {"title", "Buyer"}};
        if (!pick(d, "customer", NULL, NULL, false, &cust, NULL))
            return;
        snprintf(v, sizeof v, "Contact d%d-%u", d->index, sim_below(&d->ops, 10000));
        rc = fc_contact_add(d->c, &cust, kv, 2, &id, &err);
        if (rc == FC_OK)
            note_root(d->sim, &id, &cust);
        judge(d, rc, &err, "contact add", &id);
        return;
    }
    if (!pick(d, "contact", NULL, NULL, false, &id, NULL))
        return;
    {
        fc_kv kv[1] = {{sim_below(&d->ops, 2) ? "phone" : "email", v}};
        snprintf(v, sizeof v, "c%u@d%d.test", sim_below(&d->ops, 1000), d->index);
        rc = fc_contact_edit(d->c, &id, kv, 1, &err);
        judge(d, rc, &err, "contact edit", &id);
    }
}

static void op_visit(sim_dev *d, int op)
{
    fs_id cust, id;
    fs_error err = {0};
    char note[64];
    fc_status rc;
    double lat = 52.0 + sim_below(&d->ops, 100) / 1000.0;

    switch (op) {
    case OP_VISIT_PLAN:
        if (!pick(d, "customer", NULL, NULL, false, &cust, NULL))
            return;
        rc = fc_visit_plan(d->c, &cust, 1700000000000 + sim_below(&d->ops, 1000000), &id,
                           &err);
        if (rc == FC_OK)
            note_root(d->sim, &id, &cust);
        judge(d, rc, &err, "visit plan", &id);
        return;
    case OP_VISIT_CHECKIN:
        /* Half the time at a visit another rep planned (shared territory):
         * who did the visit is then not who planned it. */
        if (!(sim_below(&d->ops, 2) &&
              pick_from(d, "visit", "status", "planned", false, true, &id, NULL)) &&
            !pick(d, "visit", "status", "planned", false, &id, NULL))
            return;
        rc = fc_visit_checkin(d->c, &id, lat, 13.0, 5 + sim_below(&d->ops, 50), 0, &err);
        judge(d, rc, &err, "visit checkin", &id);
        return;
    case OP_VISIT_NOTE:
        if (!pick(d, "visit", NULL, NULL, false, &id, NULL))
            return;
        snprintf(note, sizeof note, "note by d%d #%u", d->index, sim_below(&d->ops, 1000));
        rc = fc_visit_note(d->c, &id, note, sim_below(&d->ops, 2), NULL, &err);
        judge(d, rc, &err, "visit note", &id);
        return;
    case OP_VISIT_CHECKOUT:
        if (!pick(d, "visit", "status", "in_progress", false, &id, NULL))
            return;
        rc = fc_visit_checkout(d->c, &id, lat, 13.0, 0, "ordered", &err);
        /* A device whose clock is behind another device's check-in cannot
         * check out before it: the shared row rule refuses that, which is
         * a refusal like a wrong transition, not a fault. */
        if (rc == FC_EVALUE && strstr(err.text, "before checkin_at"))
            rc = FC_ETRANSITION;
        judge(d, rc, &err, "visit checkout", &id);
        return;
    default:
        if (!pick(d, "visit", NULL, NULL, false, &id, NULL))
            return;
        rc = fc_visit_abandon(d->c, &id, "closed", &err);
        judge(d, rc, &err, "visit abandon", &id);
        return;
    }
}

typedef struct revision_scan {
    sim_dev *d;
    const fs_id *quote;
} revision_scan;

static bool revision_line_cb(const fs_row *row, void *payload)
{
    revision_scan *r = payload;
    note_root(r->d->sim, &row->id, r->quote);
    sim_note_write(r->d, &row->id);
    return true;
}

/* A revision's quote hangs off the original's customer and its copied
 * lines off the revision (for the scope check of pulled rows); each copied
 * line is a write of its own. */
static void note_revision(sim_dev *d, const fs_id *orig, const fs_id *rev)
{
    fc_query q = {0};
    revision_scan r = {d, rev};

    note_root(d->sim, rev, orig);
    q.parent = rev;
    fc_list(d->c, "quote_line", &q, revision_line_cb, &r, NULL, NULL);
}

static void op_quote(sim_dev *d, int op)
{
    fs_id cust, q, id;
    fs_error err = {0};
    char v[32];
    fc_status rc;

    switch (op) {
    case OP_QUOTE_NEW:
        if (!pick(d, "customer", NULL, NULL, false, &cust, NULL))
            return;
        rc = fc_quote_new(d->c, &cust, sim_below(&d->ops, 4) ? "EUR" : "USD", &id, &err);
        if (rc == FC_OK)
            note_root(d->sim, &id, &cust);
        judge(d, rc, &err, "quote new", &id);
        return;
    case OP_LINE_ADD: {
        /* The catalog prices SKU-1/-2 in EUR and the device refuses them on
         * a quote in another currency (issue 14): lines of a USD quote are
         * free-text SKUs. Same random draws either way. */
        fs_row qr = {0};
        bool eur = true;
        if (!pick(d, "quote", NULL, NULL, false, &q, NULL))
            return;
        if (fc_get(d->c, "quote", &q, &qr, NULL) == FC_OK) {
            int cs = fs_entity_field_index(qr.entity, "currency");
            eur = cs < 0 || qr.cells[cs].v.kind != FS_VAL_TEXT ||
                  strcmp(qr.cells[cs].v.u.text.p, "EUR") == 0;
        }
        fs_row_free(&qr);
        rc = fc_quote_line_add(d->c, &q, sim_below(&d->ops, 2) ? (eur ? "SKU-1" : "FREE-1")
                                                                : (eur ? "SKU-2" : "FREE-2"),
                               "line",
                               1 + sim_below(&d->ops, 9), 100 + sim_below(&d->ops, 20000),
                               sim_below(&d->ops, 3) * 500, &id, &err);
        if (rc == FC_OK)
            note_root(d->sim, &id, &q);
        judge(d, rc, &err, "quote line add", &id);
        return;
    }
    case OP_LINE_EDIT: {
        fc_kv kv[1] = {{"qty", v}};
        if (!pick(d, "quote_line", NULL, NULL, false, &id, NULL))
            return;
        snprintf(v, sizeof v, "%u", 1 + sim_below(&d->ops, 20));
        rc = fc_quote_line_edit(d->c, &id, kv, 1, &err);
        judge(d, rc, &err, "quote line edit", &id);
        return;
    }
    case OP_LINE_REMOVE:
        if (!pick(d, "quote_line", NULL, NULL, false, &id, NULL))
            return;
        rc = fc_quote_line_remove(d->c, &id, &err);
        judge(d, rc, &err, "quote line remove", &id);
        return;
    case OP_QUOTE_DISCOUNT:
        if (!pick(d, "quote", NULL, NULL, false, &id, NULL))
            return;
        rc = fc_quote_discount(d->c, &id, sim_below(&d->ops, 5) * 250, &err);
        judge(d, rc, &err, "quote discount", &id);
        return;
    case OP_QUOTE_SEND:
        if (!pick(d, "quote", "status", "draft", false, &id, NULL))
            return;
        rc = fc_quote_send(d->c, &id, &err);
        judge(d, rc, &err, "quote send", &id);
        return;
    case OP_QUOTE_VALIDITY: {
        /* A validity from a few seconds behind to a few seconds ahead of
         * the device's clock: the expiry runs meet it, and so do devices
         * whose clocks are hours behind or ahead. */
        fc_kv kv[1] = {{"valid_until", v}};
        if (!pick(d, "quote", "status", "draft", false, &id, NULL))
            return;
        snprintf(v, sizeof v, "%llu",
                 (unsigned long long)(skewed_now(d) - 5000 + sim_below(&d->ops, 20000)));
        rc = fc_row_edit(d->c, "quote", &id, kv, 1, &err);
        judge(d, rc, &err, "quote validity", &id);
        return;
    }
    case OP_QUOTE_REVISE:
        if (!pick(d, "quote", "status", "draft", true, &q, NULL))
            return;
        rc = fc_quote_revise(d->c, &q, &id, &err);
        if (rc == FC_OK)
            note_revision(d, &q, &id);
        judge(d, rc, &err, "quote revise", &id);
        return;
    default: { /* the customer decides: the quote freezes at the server */
        bool yes = sim_below(&d->ops, 3) != 0;
        if (!pick(d, "quote", "status", "sent", false, &id, NULL))
            return;
        rc = fc_quote_set_status(d->c, &id, fs_quote_state_name(yes ? FS_QUOTE_ACCEPTED
                                                                    : FS_QUOTE_REJECTED),
                                 &err);
        judge(d, rc, &err, yes ? "quote accept" : "quote reject", &id);
        return;
    }
    }
}

static void op_contract(sim_dev *d, int op)
{
    static const char *const states[] = {"sent", "delivered", "signed", "completed",
                                         "voided", "declined"};
    fs_id q, id;
    fs_error err = {0};
    fc_status rc;

    if (op == OP_CONTRACT_NEW) {
        if (!pick(d, "quote", "status", "draft", true, &q, NULL))
            return;
        rc = fc_contract_new(d->c, &q, "env-1", &id, &err);
        if (rc == FC_OK)
            note_root(d->sim, &id, &q);
        judge(d, rc, &err, "contract new", &id);
        return;
    }
    if (!pick(d, "contract", NULL, NULL, false, &id, NULL))
        return;
    rc = fc_contract_esign(d->c, &id, states[sim_below(&d->ops, 6)], &err);
    judge(d, rc, &err, "contract esign", &id);
}

static void op_misc(sim_dev *d, int op)
{
    static const char *const deletable[] = {"contact", "visit", "task", "quote_line"};
    fs_id cust, id;
    fs_error err = {0};
    fc_status rc;

    if (op == OP_TASK_ADD) {
        if (!pick(d, "customer", NULL, NULL, false, &cust, NULL))
            return;
        rc = fc_task_add(d->c, &cust, "call back", "call", 1700000000000, &id, &err);
        if (rc == FC_OK)
            note_root(d->sim, &id, &cust);
        judge(d, rc, &err, "task add", &id);
    } else if (op == OP_TASK_DONE) {
        if (!pick(d, "task", NULL, NULL, false, &id, NULL))
            return;
        rc = fc_task_done(d->c, &id, &err);
        judge(d, rc, &err, "task done", &id);
    } else {
        const char *e = deletable[sim_below(&d->ops, 4)];
        if (!pick(d, e, NULL, NULL, false, &id, NULL))
            return;
        rc = fc_row_delete(d->c, e, &id, &err);
        judge(d, rc, &err, "delete", &id);
    }
}

/* A rep deletes a quote: its lines (written by other devices too, maybe
 * newer than the delete) are hidden with it (issue 12: a delete records what
 * it hides; sim_check.c check_hidden_writes). */
static void op_quote_delete(sim_dev *d)
{
    fs_id id;
    fs_error err = {0};

    if (!pick(d, "quote", NULL, NULL, false, &id, NULL))
        return;
    judge(d, fc_row_delete(d->c, "quote", &id, &err), &err, "quote delete", &id);
}

/* Service tickets (issue 16): a rep opens one, adds a note, closes or
 * reopens it, or rates a resolved/closed one (the back office resolves
 * them: ticket_resolve). Refused moves (a rating twice, a close of a closed
 * ticket) are the device's state rules; two devices rating one ticket meet
 * the write-once rule at the server, which records the loser. */
static void op_ticket(sim_dev *d)
{
    static const char *const kinds[] = {"complaint", "repair", "question", "request"};
    fs_id cust, id;
    fs_error err = {0};
    char st[24];
    fc_status rc;

    switch (sim_below(&d->ops, 4)) {
    case 0:
        if (!pick(d, "customer", NULL, NULL, false, &cust, NULL))
            return;
        rc = fc_ticket_open(d->c, &cust, kinds[sim_below(&d->ops, 4)], "pump failed",
                            NULL, NULL, &id, &err);
        if (rc == FC_OK)
            note_root(d->sim, &id, &cust);
        judge(d, rc, &err, "ticket open", &id);
        break;
    case 1:
        if (!pick(d, "ticket", NULL, NULL, false, &id, NULL))
            return;
        judge(d, fc_ticket_note(d->c, &id, "called back", &err), &err, "ticket note", &id);
        break;
    case 2:
        if (!pick(d, "ticket", "status", NULL, false, &id, st))
            return;
        rc = fc_ticket_set_status(d->c, &id, strcmp(st, "closed") == 0 ? "open" : "closed",
                                  &err);
        judge(d, rc, &err, "ticket close/reopen", &id);
        break;
    default:
        if (!pick(d, "ticket", NULL, NULL, false, &id, NULL))
            return;
        rc = fc_ticket_rate(d->c, &id, 1 + sim_below(&d->ops, 5), NULL, &err);
        judge(d, rc, &err, "ticket rate", &id);
        break;
    }
}

void sim_random_op(sim_dev *d)
{
    unsigned total = 0, r;
    int op = 0;

    for (int i = 0; i < OP_COUNT; i++)
        total += op_weight[i];
    r = sim_below(&d->ops, total);
    while (r >= op_weight[op])
        r -= op_weight[op++];
    if (op == OP_TICKET)
        op_ticket(d);
    else if (op == OP_QUOTE_DELETE)
        op_quote_delete(d);
    else if (op <= OP_CUST_EDIT || op == OP_CUST_DELETE)
        op_customer(d, op);
    else if (op <= OP_CONTACT_EDIT)
        op_contact(d, op);
    else if (op <= OP_VISIT_ABANDON)
        op_visit(d, op);
    else if (op <= OP_QUOTE_ACCEPT)
        op_quote(d, op);
    else if (op <= OP_ESIGN)
        op_contract(d, op);
    else
        op_misc(d, op);
}

/* ------------------------------------------------------------------------ */
/* Sync, wipe, client kill                                                   */
/* ------------------------------------------------------------------------ */

static bool file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Property 5/f: a revoked device holds no data after its next sync. */
static void check_wiped(sim_dev *d)
{
    char p[340];
    const char *sfx[] = {"", "-wal", "-shm"};

    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", d->path, sfx[i]);
        if (file_exists(p))
            sim_violation("dev%d was wiped but %s still exists", d->index, p);
    }
}

/* fc_progress_fn: every committed page (and every retry) is a state the
 * device shows; the e-sign check runs on each (sim_observe_replica). */
static void observe_round(const fc_progress *p, void *payload)
{
    sim_dev *d = payload;

    sim_observe_lock();
    sim_observe_replica(d, p->retry ? "before a retry" : "after a page");
    sim_observe_unlock();
}

fc_status sim_sync(sim_dev *d, fs_error *err)
{
    fc_status rc;

    if (sim_device_open(d) != 0)
        return FC_EDB;
    d->cut = false;
    d->sync_thread = pthread_self();
    rc = fc_sync(d->c, observe_round, d, NULL, err);
    sim_observe_lock(); /* another device may be syncing (SIM_F_PAIR) */
    d->sim->syncs++;
    if (rc != FC_OK && rc != FC_EWIPED)
        d->sim->syncs_failed++;
    sim_observe_unlock();
    if (rc == FC_EWIPED) {
        if (!d->revoked)
            sim_violation("dev%d wiped although not revoked: %s", d->index, err->text);
        d->wiped = true;
        sim_device_close(d);
        check_wiped(d);
    } else if (rc == FC_OK && d->revoked) {
        sim_violation("dev%d synced successfully after it was revoked", d->index);
    } else if (rc != FC_OK) {
        if (rc != FC_ENETWORK && rc != FC_EHTTP)
            sim_violation("dev%d: sync failed: %s (%s)", d->index, fc_strerror(rc),
                          err->text);
    }
    return rc;
}

/*
 * SIM_F_PAIR: d syncs on this thread while `other` (another live device)
 * syncs on a second one, both starting at once. Their first requests (each
 * a push of its outbox when it has one) reach the server side by side,
 * possibly on different processes: one device's commit can land between
 * the other's first reads and its lock, which is what a push's late lock
 * has to get right (ARCHITECTURE.md, "A push takes the lock late"). The
 * answers of a pair are observed as unordered (sim_net.c).
 */
static void *pair_thread(void *p)
{
    fs_error err = {0};

    sim_sync(p, &err);
    return NULL;
}

static void pair_sync(sim_dev *d, sim_dev *other)
{
    sim *s = d->sim;
    fs_error err = {0};
    pthread_t th;

    sim_observe_lock();
    s->pair++;
    s->pair_active = true;
    sim_sh->faults[SIM_F_PAIR]++;
    sim_observe_unlock();
    if (pthread_create(&th, NULL, pair_thread, other) != 0) {
        sim_violation("pthread_create: %s", strerror(errno));
        sim_sync(d, &err);
    } else {
        sim_sync(d, &err);
        pthread_join(th, NULL);
    }
    sim_observe_lock();
    s->pair_active = false;
    sim_observe_unlock();
    sim_observe_replica(other, "after a step");
}

/* The partner for d's pair sync: a device that can sync now, preferably of
 * another rep (its outbox holds other rows), or NULL. */
static sim_dev *pair_partner(sim *s, const sim_dev *d)
{
    sim_dev *same_rep = NULL;

    for (unsigned tries = 0; tries < 2 * s->ndev; tries++) {
        sim_dev *o = &s->dev[sim_below(&s->pair_rng, s->ndev)];
        if (o == d || o->wiped || sim_device_open(o) != 0)
            continue;
        if (o->rep != d->rep)
            return o;
        same_rep = o;
    }
    return same_rep;
}

/* State of the crash child (one process, one device; no library globals). */
static struct {
    bool armed;
    unsigned writes, kill_at;
} crash;

static void crash_now(void)
{
    kill(getpid(), SIGKILL);
    _exit(99); /* not reached */
}

static void on_update(void *p, int op, const char *db, const char *tbl, sqlite3_int64 rowid)
{
    (void)p, (void)op, (void)db, (void)tbl, (void)rowid;
    if (crash.armed && ++crash.writes >= crash.kill_at)
        crash_now();
}

static int on_commit(void *p)
{
    (void)p;
    if (crash.armed)
        crash_now();
    return 0;
}

static int crash_hooks(sqlite3 *db, const char **errmsg, const void *api)
{
    (void)errmsg, (void)api;
    sqlite3_update_hook(db, on_update, NULL);
    sqlite3_commit_hook(db, on_commit, NULL);
    return SQLITE_OK;
}

void sim_crash_arm(void)
{
    crash.armed = true;
}

/* Runs d's sync in a child that SIGKILLs itself inside the apply of the
 * first answer; the parent reaps it and reopens the replica. */
static void crash_sync(sim_dev *d)
{
    sim *s = d->sim;
    unsigned kill_at = 1 + sim_below(&d->ops, 40);
    pid_t pid;
    int st = 0;

    sim_device_close(d);
    /* What the child sends, the parent sees only at the retry. */
    if (!d->crash_pending) {
        d->crash_pending = true;
        d->crash_tick = ++s->tick;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        sim_violation("fork failed: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        fs_error err = {0};
        fc_client *c = NULL;
        crash.kill_at = kill_at;
        d->in_child = true;
        d->sync_thread = pthread_self();
        d->faults_on = false; /* the answer must arrive: the kill is the fault */
        sqlite3_auto_extension((void (*)(void))crash_hooks);
        if (fc_open(d->path, &d->opt, &c, &err) == FC_OK)
            fc_sync(c, NULL, NULL, NULL, &err);
        _exit(3); /* no kill happened */
    }
    for (int i = 0; i < 12000; i++) { /* at most 120 s */
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (i == 11999) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            sim_violation("dev%d crash child hung", d->index);
        }
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
        sim_sh->faults[SIM_F_CLIENT_KILL]++;
    else if (s->verbose)
        fprintf(stderr, "sim:   dev%d crash child exited without the kill\n", d->index);
    sim_device_open(d);
}

/* ------------------------------------------------------------------------ */
/* Back office events                                                        */
/* ------------------------------------------------------------------------ */

static int pick_server_customer(sim *s)
{
    for (int tries = 0; tries < 50 && s->ncust; tries++) {
        int ci = (int)sim_below(&s->sched, (uint32_t)s->ncust);
        if (s->cust[ci].at_server && !s->cust[ci].deleted)
            return ci;
    }
    return -1;
}

static void reassign(sim *s)
{
    int ci = pick_server_customer(s);
    int owner = (int)sim_below(&s->sched, s->nrep + 1) - 1;
    int terr = (int)sim_below(&s->sched, SIM_NTERR + 1) - 1;
    char path[128], body[200], idt[FS_ID_STRLEN + 1];
    sim_http h = {0};

    if (ci < 0)
        return;
    /* An offboarded rep cannot be given customers (issue 17): the pool. */
    if (owner >= 0 && s->reps[owner].off)
        owner = -1;
    fs_id_format(&s->cust[ci].id, idt);
    snprintf(path, sizeof path, "customers/%s/assign", idt);
    snprintf(body, sizeof body, "{\"owner_rep\":\"%s\",\"territory\":\"%s\"}",
             owner >= 0 ? s->reps[owner].uuid : "", terr >= 0 ? terr_codes[terr] : "");
    if (sim_admin(&s->srv, "POST", path, body, &h) == 200) {
        s->cust[ci].owner = owner;
        s->cust[ci].territory = terr;
        sim_sh->faults[SIM_F_REASSIGN]++;
    } else {
        sim_violation("admin assign %s: HTTP %ld %.200s", idt, h.status,
                      h.body ? (const char *)h.body : "");
    }
    sim_http_free(&h);
}

static void territory_change(sim *s)
{
    int r = (int)sim_below(&s->sched, s->nrep), t = (int)sim_below(&s->sched, SIM_NTERR);
    bool member = s->reps[r].terr & (1u << t);
    char path[160], body[64];
    sim_http h = {0};
    long st;

    if (s->reps[r].off) /* no territory for an offboarded rep (issue 17) */
        return;
    if (member) {
        snprintf(path, sizeof path, "reps/%s/territories/%s", s->reps[r].uuid, terr_codes[t]);
        st = sim_admin(&s->srv, "DELETE", path, NULL, &h);
    } else {
        snprintf(path, sizeof path, "reps/%s/territories", s->reps[r].uuid);
        snprintf(body, sizeof body, "{\"territory\":\"%s\"}", terr_codes[t]);
        st = sim_admin(&s->srv, "POST", path, body, &h);
    }
    if (st == 200) {
        s->reps[r].terr ^= 1u << t;
        sim_sh->faults[SIM_F_TERRITORY]++;
    } else {
        sim_violation("admin territory change: HTTP %ld", st);
    }
    sim_http_free(&h);
}

static void admin_delete(sim *s)
{
    int ci = pick_server_customer(s);
    char path[128], idt[FS_ID_STRLEN + 1];
    sim_http h = {0};

    if (ci < 0)
        return;
    fs_id_format(&s->cust[ci].id, idt);
    snprintf(path, sizeof path, "customers/%s", idt);
    if (sim_admin(&s->srv, "DELETE", path, NULL, &h) == 200) {
        s->cust[ci].deleted = true;
        sim_note_deleted(s, &s->cust[ci].id);
        sim_sh->faults[SIM_F_ADMIN_DELETE]++;
    } else {
        sim_violation("admin delete %s: HTTP %ld", idt, h.status);
    }
    sim_http_free(&h);
}

static void revoke_device(sim *s)
{
    /* The last device: its rep keeps the other device(s). */
    sim_dev *d = &s->dev[s->ndev - 1];
    char path[128], idt[FS_ID_STRLEN + 1];
    sim_http h = {0};

    if (d->revoked || s->ndev < 2)
        return;
    fs_id_format(&d->id, idt);
    snprintf(path, sizeof path, "devices/%s/revoke", idt);
    if (sim_admin(&s->srv, "POST", path, "{}", &h) == 200) {
        d->revoked = true;
        sim_sh->faults[SIM_F_REVOKE]++;
    } else {
        sim_violation("admin revoke: HTTP %ld", h.status);
    }
    sim_http_free(&h);
}

/* The back office accepts or rejects quote q. The server may know it
 * differently by now: 200 (decided), 400 (the lifecycle refused, e.g.
 * already final) and 404 (not synced yet) are all answers the rule allows;
 * anything else is a bug. */
static void decide_quote(sim *s, const fs_id *q, bool yes)
{
    char path[128], idt[FS_ID_STRLEN + 1];
    sim_http h = {0};
    long st;

    fs_id_format(q, idt);
    snprintf(path, sizeof path, "quotes/%s/status", idt);
    st = sim_admin(&s->srv, "POST", path, yes ? "{\"status\":\"accepted\"}"
                                             : "{\"status\":\"rejected\"}", &h);
    if (st == 200)
        sim_sh->faults[SIM_F_QUOTE_DECIDE]++;
    else if (st != 400 && st != 404)
        sim_violation("admin quote status %s: HTTP %ld %.200s", idt, st,
                      h.body ? (const char *)h.body : "");
    sim_http_free(&h);
}

/* ... a quote some device shows as sent. */
static void quote_decide(sim *s)
{
    sim_dev *d = &s->dev[sim_below(&s->sched, s->ndev)];
    bool yes = sim_below(&s->sched, 2) != 0;
    fs_id q;

    if (d->wiped || !d->c || !pick(d, "quote", "status", "sent", false, &q, NULL))
        return;
    decide_quote(s, &q, yes);
}

/* The back office works a ticket a device has: resolves an open one (the
 * owner rep gets a satisfaction task) or puts it in progress. A move the
 * rule refuses (the ticket was closed meanwhile) is a 400, never a 5xx. */
static void ticket_resolve(sim *s)
{
    sim_dev *d = &s->dev[sim_below(&s->sched, s->ndev)];
    char path[128], idt[FS_ID_STRLEN + 1];
    bool resolve = sim_below(&s->sched, 3) != 0;
    sim_http h = {0};
    fs_id t;
    long st;

    if (d->wiped || !d->c || !pick(d, "ticket", "status", "open", false, &t, NULL))
        return;
    fs_id_format(&t, idt);
    snprintf(path, sizeof path, "tickets/%s", idt);
    st = sim_admin(&s->srv, "POST", path,
                   resolve ? "{\"status\":\"resolved\",\"resolution\":\"fixed\"}"
                           : "{\"status\":\"in_progress\",\"assignee\":\"desk\"}", &h);
    if (st != 200 && st != 400 && st != 404)
        sim_violation("admin ticket %s: HTTP %ld %.200s", idt, st,
                      h.body ? (const char *)h.body : "");
    sim_http_free(&h);
}

/* The server's expiry run (what `serve` does every minute), on demand. */
static void quote_expire(sim *s)
{
    sim_http h = {0};
    const char *n;

    if (sim_admin(&s->srv, "POST", "quotes/expire", "{}", &h) != 200 || !h.body ||
        !(n = strstr((const char *)h.body, "\"expired\":"))) {
        sim_violation("admin quotes/expire: HTTP %ld", h.status);
    } else {
        sim_sh->faults[SIM_F_QUOTE_EXPIRE] += strtoul(n + 10, NULL, 10);
    }
    sim_http_free(&h);
}

/* The server's analyze (customer value and churn, issue 16), on demand:
 * it writes server-owned fields of every customer mid-run, next to the
 * devices' own writes. Every check after quiescence must still hold. */
static void value_analyze(sim *s)
{
    sim_http h = {0};

    if (sim_admin(&s->srv, "POST", "analyze", "{}", &h) != 200 || !h.body ||
        !strstr((const char *)h.body, "\"changed\":"))
        sim_violation("admin analyze: HTTP %ld", h.status);
    sim_http_free(&h);
}

/* One sent quote, built and synced by device d: with valid_until an hour
 * behind the server's clock when `stale`. true when the server has it. */
static bool staged_quote(sim_dev *d, bool stale, fs_id *q)
{
    fs_id cust, line;
    fs_error err = {0};
    char v[32];
    fc_kv kv[1] = {{"valid_until", v}};
    fc_status rc;

    if (!pick(d, "customer", NULL, NULL, false, &cust, NULL))
        return false;
    if ((rc = fc_quote_new(d->c, &cust, "EUR", q, &err)) != FC_OK) {
        judge(d, rc, &err, "staged quote new", q);
        return false;
    }
    note_root(d->sim, q, &cust);
    sim_note_write(d, q);
    rc = fc_quote_line_add(d->c, q, "SKU-1", "line", 2, 1500, 0, &line, &err);
    if (rc == FC_OK)
        note_root(d->sim, &line, q);
    judge(d, rc, &err, "staged quote line", &line);
    if (stale) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)((int64_t)skewed_now(d) - d->skew_ms - 3600000));
        rc = fc_row_edit(d->c, "quote", q, kv, 1, &err);
        judge(d, rc, &err, "staged quote validity", q);
    }
    rc = fc_quote_send(d->c, q, &err);
    judge(d, rc, &err, "staged quote send", q);
    for (int i = 0; i < 3; i++)
        if (sim_sync(d, &err) == FC_OK)
            return rc == FC_OK;
    return false;
}

/*
 * Once per run, the quote faults on purpose: the random schedule draws
 * them only when some device happens to hold a sent quote at that moment,
 * which depends on timing (two CI runs once drew neither in a whole seed
 * range). A device sends one quote that is already past its validity and
 * one that is valid; the expiry run then has one to expire and the back
 * office one to decide. Both are ordinary operations, judged like any.
 */
static void staged_quote_faults(sim *s)
{
    sim_dev *d = NULL;
    fs_id q;

    for (unsigned i = 0; i < s->ndev && !d; i++)
        if (!s->dev[i].wiped && !s->dev[i].revoked && sim_device_open(&s->dev[i]) == 0)
            d = &s->dev[i];
    if (!d)
        return;
    if (staged_quote(d, true, &q))
        quote_expire(s);
    if (staged_quote(d, false, &q))
        decide_quote(s, &q, true);
}

/* ------------------------------------------------------------------------ */
/* One step                                                                  */
/* ------------------------------------------------------------------------ */

void sim_step(sim *s, unsigned step)
{
    sim_dev *d;
    fs_error err = {0};

    /* Back office, at random moments and at least once per run each. */
    if (sim_chance(&s->sched, 15) || step == s->steps / 3)
        reassign(s);
    if (sim_chance(&s->sched, 5) || step == 2 * s->steps / 3)
        territory_change(s);
    if (sim_chance(&s->sched, 3) || step == s->steps / 5)
        admin_delete(s);
    if (step == s->steps / 2)
        revoke_device(s);
    if (step == s->steps / 6)
        staged_quote_faults(s);
    if (sim_chance(&s->sched, 8))
        quote_decide(s);
    if (sim_chance(&s->sched, 20))
        quote_expire(s);
    if (sim_chance(&s->sched, 30))
        ticket_resolve(s);
    if (step == s->steps / 2 + 1 || step == 4 * s->steps / 5)
        value_analyze(s);
    sim_owner_step(s, step);
    d = &s->dev[sim_below(&s->sched, s->ndev)];
    if (step == s->steps / 4 || step == 3 * s->steps / 4) {
        /* A client kill during apply, at least twice per run. */
        d = &s->dev[step % (s->ndev - 1)];
        if (sim_device_open(d) != 0)
            return;
        if (s->verbose)
            fprintf(stderr, "sim: step %u dev%d sync (client kill)\n", step, d->index);
        /* An offboarded rep's device (--merges) is wiped by this sync: a
         * child doing it would leave the parent a replica it cannot tell
         * from a fresh one. */
        if (d->revoked) {
            if (!d->wiped)
                sim_sync(d, &err);
        } else
            crash_sync(d);
    } else if (d->wiped || sim_device_open(d) != 0) {
        return;
    } else if (sim_below(&s->sched, 100) < 22) {
        bool crash_now = !d->revoked && sim_chance(&s->sched, 40);
        sim_dev *other = !crash_now && s->pairs && sim_chance(&s->pair_rng, s->pairs)
                             ? pair_partner(s, d)
                             : NULL;
        if (s->verbose && other)
            fprintf(stderr, "sim: step %u dev%d sync beside dev%d\n", step, d->index,
                    other->index);
        else if (s->verbose)
            fprintf(stderr, "sim: step %u dev%d %s\n", step, d->index,
                    crash_now ? "sync (client kill)" : "sync");
        if (crash_now)
            crash_sync(d);
        else if (other)
            pair_sync(d, other);
        else
            sim_sync(d, &err);
    } else {
        unsigned n = 1 + sim_below(&s->sched, 3);
        for (unsigned i = 0; i < n; i++) {
            sim_random_op(d);
            sim_observe_replica(d, "after a local write");
        }
    }
    sim_observe_replica(d, "after a step");
}
