/*
 * fc_workflow.c - the rep's workflows: every local write and every read.
 *
 * A write is built in two phases. First, outside any transaction, the input
 * is parsed and checked field by field against the schema (fc_value_parse ->
 * fs_field_check), so bad input costs nothing and touches nothing. Then one
 * IMMEDIATE transaction re-reads the displayed row, checks the rules that
 * depend on the current state (the parent exists and is live, the quote is
 * not accepted, the visit / e-sign status move is allowed), ticks the
 * persisted HLC, builds the fs_change (with base values from the displayed
 * row so a server-side conflict record shows what the rep saw), appends it to
 * the outbox and recomputes the displayed row from base + overlay. Any
 * failure rolls the whole step back.
 *
 * Reads come from the displayed tables through fs_store_decode; customer
 * search goes through the FTS5 index maintained by fc__recompute.
 */
#include "fc_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* Values from and to text                                                   */
/* ------------------------------------------------------------------------ */

static bool parse_i64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static const char *type_hint(fs_type t)
{
    switch (t) {
    case FS_TYPE_INT: return "a whole number";
    case FS_TYPE_MONEY: return "an amount in minor units (cents), e.g. 1250";
    case FS_TYPE_REAL: return "a number";
    case FS_TYPE_BOOL: return "true or false";
    case FS_TYPE_TIME: return "a time: now, today, tomorrow, +3d, YYYY-MM-DD, "
                              "YYYY-MM-DDTHH:MM (your time zone) or with Z/+01:00";
    case FS_TYPE_ID: return "an id (UUID)";
    default: return "text";
    }
}

static fc_status parse_with_now(const fs_field *f, const char *text, uint64_t now,
                                fs_value *out, fs_error *err)
{
    fs_error ferr = {0};
    fs_status fst = FS_OK;
    int64_t i;
    double r;
    char *end;

    memset(out, 0, sizeof *out);
    out->kind = FS_VAL_NULL;
    if (!f)
        return fc__fail(err, FC_EINVAL, "no field");
    if (text && *text) {
        switch (f->type) {
        case FS_TYPE_TEXT:
        case FS_TYPE_ENUM:
        case FS_TYPE_CURRENCY:
            fst = fs_value_text(out, text, strlen(text), &ferr);
            break;
        case FS_TYPE_INT:
        case FS_TYPE_MONEY:
            if (!parse_i64(text, &i))
                goto bad;
            *out = fs_value_int(i);
            break;
        case FS_TYPE_BOOL:
            if (!strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "1"))
                *out = fs_value_int(1);
            else if (!strcmp(text, "false") || !strcmp(text, "no") || !strcmp(text, "0"))
                *out = fs_value_int(0);
            else
                goto bad;
            break;
        case FS_TYPE_TIME:
            if (fc_time_parse(text, (int64_t)now, &i, NULL, NULL) != FC_OK)
                goto bad;
            *out = fs_value_int(i);
            break;
        case FS_TYPE_REAL:
            errno = 0;
            r = strtod(text, &end);
            if (errno || *end || isspace((unsigned char)*text) || !isfinite(r))
                goto bad;
            *out = fs_value_real(r);
            break;
        case FS_TYPE_ID: {
            fs_id id;
            if (fs_id_parse(text, strlen(text), &id, NULL))
                goto bad;
            *out = fs_value_idv(&id);
            break;
        }
        }
        if (fst)
            return fc__from_fs(fst, &ferr, err);
    }
    fst = fs_field_check(f, out, &ferr);
    if (fst) {
        fs_value_clear(out);
        return fc__from_fs(fst, &ferr, err);
    }
    return FC_OK;
bad:
    return fc__fail(err, FC_EINVAL, "field %s: '%.60s' is not %s", f->name, text,
                    type_hint(f->type));
}

fc_status fc_value_parse(const fs_field *f, const char *text, fs_value *out,
                         fs_error *err)
{
    return parse_with_now(f, text, fc__now_ms(NULL), out, err);
}

void fc_value_format(const fs_field *f, const fs_value *v, char *out, size_t cap)
{
    if (!out || cap == 0)
        return;
    out[0] = '\0';
    if (!v)
        return;
    switch (v->kind) {
    case FS_VAL_NULL:
        break;
    case FS_VAL_INT:
        if (f && f->type == FS_TYPE_TIME) {
            /* In the rep's zone with its offset, as every time shown. */
            fc_time_format(v->u.i, false, out, cap);
        } else if (f && f->type == FS_TYPE_BOOL) {
            snprintf(out, cap, "%s", v->u.i ? "true" : "false");
        } else {
            snprintf(out, cap, "%lld", (long long)v->u.i);
        }
        break;
    case FS_VAL_REAL:
        snprintf(out, cap, "%.10g", v->u.r);
        break;
    case FS_VAL_TEXT:
        snprintf(out, cap, "%s", v->u.text.p ? v->u.text.p : "");
        break;
    case FS_VAL_ID: {
        char s[FS_ID_STRLEN + 1];
        fs_id_format(&v->u.id, s);
        snprintf(out, cap, "%s", s);
        break;
    }
    }
}

/* ------------------------------------------------------------------------ */
/* A write plan: the field values of one change, checked before the txn      */
/* ------------------------------------------------------------------------ */

#define PLAN_MAX 32

typedef struct plan {
    const fs_entity *e;
    size_t n;
    int slot[PLAN_MAX];
    fs_value v[PLAN_MAX];
    int tomb;               /* -1 none, 1 delete, 0 restore */
    char summary[96];
} plan;

static void plan_init(plan *p, const fs_entity *e, const char *summary)
{
    memset(p, 0, sizeof *p);
    p->e = e;
    p->tomb = -1;
    snprintf(p->summary, sizeof p->summary, "%s", summary);
}

static void plan_free(plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        fs_value_clear(&p->v[i]);
    p->n = 0;
}

static int plan_find(const plan *p, int slot)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->slot[i] == slot)
            return (int)i;
    return -1;
}

/* Takes ownership of *v (left NULL). A second write to a slot replaces the
 * first (a workflow may override what it derived). */
static fc_status plan_put(plan *p, int slot, fs_value *v, fs_error *err)
{
    int at = plan_find(p, slot);
    fs_error ferr = {0};
    fs_status fst = fs_field_check(&p->e->fields[slot], v, &ferr);

    if (fst) {
        fs_value_clear(v);
        return fc__from_fs(fst, &ferr, err);
    }
    if (at < 0) {
        if (p->n == PLAN_MAX) {
            fs_value_clear(v);
            return fc__fail(err, FC_EINVAL, "too many fields in one change");
        }
        at = (int)p->n++;
    } else {
        fs_value_clear(&p->v[at]);
    }
    p->slot[at] = slot;
    p->v[at] = *v;
    memset(v, 0, sizeof *v);
    return FC_OK;
}

static int slot_of(const fs_entity *e, const char *name)
{
    return fs_entity_field_index(e, name);
}

static fc_status plan_int(plan *p, const char *name, int64_t i, fs_error *err)
{
    fs_value v = fs_value_int(i);
    return plan_put(p, slot_of(p->e, name), &v, err);
}

static fc_status plan_real(plan *p, const char *name, double r, fs_error *err)
{
    fs_value v = fs_value_real(r);
    return plan_put(p, slot_of(p->e, name), &v, err);
}

static fc_status plan_id(plan *p, const char *name, const fs_id *id, fs_error *err)
{
    fs_value v = fs_value_idv(id);
    return plan_put(p, slot_of(p->e, name), &v, err);
}

static fc_status plan_text(plan *p, const char *name, const char *s, fs_error *err)
{
    fs_value v = {0};
    fs_error ferr = {0};

    if (!s)
        return plan_put(p, slot_of(p->e, name), &v, err);
    if (fs_value_text(&v, s, strlen(s), &ferr))
        return fc__from_fs(FS_ENOMEM, &ferr, err);
    return plan_put(p, slot_of(p->e, name), &v, err);
}

/* Text assignments from the rep. Server-owned and parent fields are refused
 * here with a message that says why; everything else is parsed by type. */
static fc_status plan_kv(fc_client *c, plan *p, const fc_kv *kv, size_t n,
                         bool create, fs_error *err)
{
    fc_status rc;

    for (size_t i = 0; i < n; i++) {
        int slot;
        const fs_field *f;
        fs_value v;

        if (!kv[i].field)
            return fc__fail(err, FC_EINVAL, "a field name is missing");
        slot = slot_of(p->e, kv[i].field);
        if (slot < 0)
            return fc__fail(err, FC_EINVAL, "%s has no field '%.64s'", p->e->name,
                            kv[i].field);
        f = &p->e->fields[slot];
        if (f->policy == FS_POLICY_SERVER)
            return fc__fail(err, FC_ESERVEROWNED, "field %s of a %s is set by the "
                            "back office or the server; a device cannot change it",
                            f->name, p->e->name);
        if (slot == p->e->parent && !create)
            return fc__fail(err, FC_EINVAL, "field %s cannot be changed once the "
                            "%s exists", f->name, p->e->name);
        rc = parse_with_now(f, kv[i].value, fc__now_ms(c), &v, err);
        if (rc)
            return rc;
        rc = plan_put(p, slot, &v, err);
        if (rc)
            return rc;
    }
    return FC_OK;
}

/* ------------------------------------------------------------------------ */
/* The transaction                                                           */
/* ------------------------------------------------------------------------ */

/* State-dependent rule, run inside the transaction with the current
 * displayed row (never-written row on create). May add to the plan. */
typedef fc_status (*check_fn)(fc_client *c, const fs_row *cur, plan *p,
                              void *arg, fs_error *err);

static const char *cell_text(const fs_row *r, const char *field)
{
    int s = fs_entity_field_index(r->entity, field);
    if (s < 0 || !r->cells || r->cells[s].v.kind != FS_VAL_TEXT)
        return NULL;
    return r->cells[s].v.u.text.p;
}

static bool row_live(const fs_row *r)
{
    return fs_row_exists(r) && !r->deleted;
}

/* Loads a displayed row; *live tells whether it exists and is not deleted. */
static fc_status load_disp(fc_client *c, const fs_entity *e, const fs_id *id,
                           fs_row *row, bool *live, fs_error *err)
{
    fs_error serr = {0};
    bool found = false;
    fs_store_status sst = fs_store_load(c->disp, e, id, row, NULL, &found, &serr);

    if (sst)
        return fc__from_store(sst, &serr, err);
    *live = found && row_live(row);
    return FC_OK;
}

static const char *id_str(const fs_id *id, char buf[FS_ID_STRLEN + 1])
{
    fs_id_format(id, buf);
    return buf;
}

/* The quote lifecycle (conflict/fs_quote.c) on a local write: a status
 * write must be a transition the rule allows a device; once a quote is no
 * longer a draft its locked fields (FS_FIELD_LOCKED), its tombstone and its
 * lines are read-only; a sent quote is changed by revising it. */
static fc_status check_lock(fc_client *c, const fs_row *cur, const plan *p,
                            fs_error *err)
{
    fs_row q = {0};
    bool live = false;
    fc_status rc = FC_OK;
    fs_error ferr = {0};
    const fs_entity *e = cur->entity;
    const fs_entity *pe = e->parent >= 0 ? fs_schema_entity(e->parent_entity) : NULL;
    char b[FS_ID_STRLEN + 1];

    /* A ticket's status moves as fs_ticket.c allows a device, the same rule
     * the server applies, so a refused move is heard now, not after a sync. */
    if (strcmp(e->name, "ticket") == 0) {
        int ss = slot_of(e, "status");
        for (size_t i = 0; i < p->n; i++)
            if (p->slot[i] == ss &&
                fs_ticket_check_write(cur, &p->v[i], false, &ferr) != FS_OK)
                return fc__fail(err, FC_ETRANSITION, "ticket %s: %s",
                                id_str(&cur->id, b), ferr.text);
        return FC_OK;
    }
    if (fs_entity_has_lifecycle(e) && fs_row_exists(cur)) {
        fs_quote_state from = fs_quote_row_state(cur);
        for (size_t i = 0; i < p->n; i++) {
            const fs_field *f = &e->fields[p->slot[i]];
            if (f->policy == FS_POLICY_LIFECYCLE) {
                const fs_value *v = &p->v[i];
                fs_quote_state to = v->kind == FS_VAL_TEXT
                                        ? fs_quote_state_parse(v->u.text.p, v->u.text.n)
                                        : FS_QUOTE_INVALID;
                if (fs_quote_check_transition(from, to, false, &ferr) != FS_OK)
                    return fc__fail(err, FC_ETRANSITION, "quote %s: %s",
                                    id_str(&cur->id, b), ferr.text);
                /* The offer lapsed: the server expires it (fs_quote_row_expired). */
                if (to == FS_QUOTE_ACCEPTED &&
                    fs_quote_row_expired(cur, (int64_t)fc__now_ms(c)))
                    return fc__fail(err, FC_ETRANSITION, "quote %s is past its "
                                    "valid_until; it can no longer be accepted (revise "
                                    "it into a new offer)", id_str(&cur->id, b));
            } else if ((f->flags & FS_FIELD_LOCKED) && fs_row_locked(cur)) {
                return fc__fail(err, FC_EFROZEN, "quote %s is %s; its %s can no longer "
                                "be changed (quote revise makes an editable copy)",
                                id_str(&cur->id, b), fs_quote_state_name(from), f->name);
            }
        }
        if (p->tomb >= 0 && fs_row_locked(cur))
            return fc__fail(err, FC_EFROZEN, "quote %s is %s; it can no longer be "
                            "deleted", id_str(&cur->id, b), fs_quote_state_name(from));
        return FC_OK;
    }
    if (!pe || !fs_entity_has_lifecycle(pe) || cur->cells[e->parent].v.kind != FS_VAL_ID)
        return FC_OK;
    rc = load_disp(c, pe, &cur->cells[e->parent].v.u.id, &q, &live, err);
    if (!rc && live && fs_row_locked(&q))
        rc = fc__fail(err, FC_EFROZEN, "quote %s is %s; its lines can no longer be "
                      "changed (quote revise makes an editable copy)", id_str(&q.id, b),
                      fs_quote_state_name(fs_quote_row_state(&q)));
    fs_row_free(&q);
    return rc;
}

/* The row rules (conflict/fs_rules.c) on the row this change would leave:
 * the same check the server runs, before anything is queued, so a rep hears
 * "check-out is before check-in" now, not as a rejection after a sync. */
static fc_status row_rules_check(fc_client *c, const fs_row *cur,
                                 const fs_change *ch, bool create, fs_error *err)
{
    fs_row after = {0};
    fs_conflict_list list = {0};
    fs_merge_result res;
    fs_merge_ctx ctx = {.origin = FS_ORIGIN_DEVICE};
    fs_error ferr = {0};
    fs_status fst;

    fst = fs_row_copy(&after, cur, &ferr);
    if (!fst)
        fst = fs_merge(&ctx, &after, ch, &res, &list, &ferr);
    if (!fst)
        fst = fs_row_check(&after, ch, create, fc__now_ms(c), &ferr);
    fs_row_free(&after);
    fs_conflict_list_free(&list);
    return fst ? fc__from_fs(fst, &ferr, err) : FC_OK;
}

static fc_status commit_write(fc_client *c, plan *p, const fs_id *id, bool create,
                              check_fn check, void *arg, fs_id *out_id,
                              fs_error *err)
{
    fs_row cur = {0}, parent = {0};
    fs_change ch = {0};
    fs_error ferr = {0};
    fs_status fst;
    fc_status rc;
    fs_id rid;
    fs_hlc hlc;
    bool live = false, in_txn = false, outer = false;
    char b[FS_ID_STRLEN + 1];

    if (p->e->flags & FS_ENTITY_READONLY) {
        rc = fc__fail(err, FC_EINVAL, "%s is reference data; devices cannot "
                      "change it", p->e->name);
        goto done;
    }
    if (p->tomb >= 0 && (p->e->flags & FS_ENTITY_SERVER_DELETE)) {
        /* The same rule the server applies (fs_merge refuses the tombstone),
         * said here before anything is queued. */
        rc = fc__fail(err, FC_ESERVEROWNED, "a %s is shared by everyone who "
                      "works with it: only the back office deletes or restores "
                      "one; ask the back office to %s %s %s", p->e->name,
                      p->tomb ? "delete" : "restore", p->e->name,
                      id ? id_str(id, b) : "");
        goto done;
    }
    if (create) {
        fst = fs_id_new(fc__now_ms(c), &rid, &ferr);
        if (fst) {
            rc = fc__from_fs(fst, &ferr, err);
            goto done;
        }
    } else {
        rid = *id;
    }
    /* Inside a caller's transaction (quote revise writes several rows as
     * one step) this write joins it; any failure rolls the whole step back. */
    outer = !c->wiped && c->db && !sqlite3_get_autocommit(c->db);
    if (!outer) {
        rc = fc__begin(c, err);
        if (rc)
            goto done;
    }
    in_txn = true;
    rc = load_disp(c, p->e, &rid, &cur, &live, err);
    if (rc)
        goto done;
    if (create && fs_row_exists(&cur)) {
        rc = fc__fail(err, FC_EINVAL, "id collision creating a %s", p->e->name);
        goto done;
    }
    if (!create && !live) {
        rc = fc__fail(err, FC_ENOTFOUND, "no %s with id %s in this replica",
                      p->e->name, id_str(&rid, b));
        goto done;
    }
    if (create && p->e->parent >= 0) {
        int at = plan_find(p, p->e->parent);
        const fs_entity *pe = fs_schema_entity(p->e->parent_entity);
        bool plive = false;
        if (at < 0 || p->v[at].kind != FS_VAL_ID || !pe) {
            rc = fc__fail(err, FC_EVALUE, "a new %s needs a %s", p->e->name,
                          p->e->fields[p->e->parent].name);
            goto done;
        }
        rc = load_disp(c, pe, &p->v[at].u.id, &parent, &plive, err);
        if (rc)
            goto done;
        if (!plive) {
            rc = fc__fail(err, FC_ENOTFOUND, "unknown %s id %s (not in this "
                          "replica, or deleted)", pe->name,
                          id_str(&p->v[at].u.id, b));
            goto done;
        }
        /* Seed the parent cell so check_lock sees it on create. */
        fs_value_copy(&cur.cells[p->e->parent].v, &p->v[at], NULL);
    }
    rc = check_lock(c, &cur, p, err);
    if (rc)
        goto done;
    if (check) {
        rc = check(c, &cur, p, arg, err);
        if (rc)
            goto done;
    }
    if (create)
        fs_value_clear(&cur.cells[p->e->parent >= 0 ? p->e->parent : 0].v);
    rc = fc__hlc_tick(c, &hlc, err);
    if (rc)
        goto done;
    fst = fs_change_init(&ch, p->e, &rid, &c->device, &ferr);
    for (size_t i = 0; !fst && i < p->n; i++) {
        const fs_cell *cell = &cur.cells[p->slot[i]];
        fst = fs_change_set(&ch, p->slot[i], &p->v[i], hlc, &ferr);
        /* The base is what this device saw, including "never written" on an
         * existing row: a newer value at the server is then known to be a
         * concurrent edit, and overwriting it is recorded. A create has no
         * prior state to report. */
        if (!fst && (cell->hlc != 0 || !create))
            fst = fs_change_set_base(&ch, p->slot[i], &cell->v, cell->hlc, &ferr);
    }
    if (fst) {
        rc = fc__from_fs(fst, &ferr, err);
        goto done;
    }
    if (p->tomb >= 0)
        fs_change_tombstone(&ch, p->tomb == 1, hlc);
    if (ch.nfields == 0 && !ch.has_tomb) {
        rc = fc__fail(err, FC_EINVAL, "nothing to change");
        goto done;
    }
    rc = row_rules_check(c, &cur, &ch, create, err);
    if (rc)
        goto done;
    rc = fc__outbox_append(c, &ch, p->summary, err);
    if (rc)
        goto done;
    rc = fc__recompute(c, p->e, &rid, err);
    if (rc)
        goto done;
    if (!outer)
        rc = fc__commit(c, err);
    in_txn = false;
    if (!rc && out_id)
        *out_id = rid;
done:
    if (in_txn)
        fc__rollback(c);
    fs_change_free(&ch);
    fs_row_free(&cur);
    fs_row_free(&parent);
    plan_free(p);
    return rc;
}

static const fs_entity *entity_or_fail(const char *name, fs_error *err)
{
    const fs_entity *e = fs_schema_entity(name);
    if (!e)
        fc__fail(err, FC_EINVAL, "unknown kind of record '%.40s'", name ? name : "");
    return e;
}

/* ------------------------------------------------------------------------ */
/* Customers, contacts, generic edits                                        */
/* ------------------------------------------------------------------------ */

static fc_status add_kv(fc_client *c, const char *entity, const char *summary,
                        const char *parent_field, const fs_id *parent,
                        const fc_kv *kv, size_t n, fs_id *out_id, fs_error *err)
{
    plan p;
    fc_status rc;
    const fs_entity *e = entity_or_fail(entity, err);

    if (!c || (n && !kv))
        return fc__fail(err, FC_EINVAL, "%s: NULL argument", summary);
    if (!e)
        return FC_EINVAL;
    plan_init(&p, e, summary);
    rc = plan_kv(c, &p, kv, n, true, err);
    if (!rc && parent_field)
        rc = plan_id(&p, parent_field, parent, err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, NULL, true, NULL, NULL, out_id, err);
}

fc_status fc_row_edit(fc_client *c, const char *entity, const fs_id *id,
                      const fc_kv *kv, size_t n, fs_error *err)
{
    plan p;
    fc_status rc;
    char summary[64];
    const fs_entity *e = entity_or_fail(entity, err);

    if (!e)
        return FC_EINVAL;
    if (!c || !id || (n && !kv))
        return fc__fail(err, FC_EINVAL, "edit: NULL argument");
    if (n == 0)
        return fc__fail(err, FC_EINVAL, "edit %s: give at least one field=value", e->name);
    snprintf(summary, sizeof summary, "%s edit", e->name);
    plan_init(&p, e, summary);
    rc = plan_kv(c, &p, kv, n, false, err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, id, false, NULL, NULL, NULL, err);
}

/* ------------------------------------------------------------------------ */
/* Ownership and who may delete                                              */
/* ------------------------------------------------------------------------ */

/* The field that names a row's rep: rep_id (visits, quotes, tasks), else
 * created_by (contacts); NULL for entities without one. */
static const char *owner_field(const fs_entity *e)
{
    if (fs_entity_field_index(e, "rep_id") >= 0)
        return "rep_id";
    if (fs_entity_field_index(e, "created_by") >= 0)
        return "created_by";
    return NULL;
}

/* This device's rep id as text (what the server writes into rep_id);
 * *has false before enrollment. */
static fc_status my_rep(fc_client *c, char out[FS_ID_STRLEN + 1], bool *has,
                        fs_error *err)
{
    fs_id rep;
    size_t len = 0;
    bool found = false;
    fc_status rc = fc__meta_get_blob(c, "rep_id", rep.b, 16, &len, &found, err);

    *has = !rc && found && len == 16 && !fs_id_is_nil(&rep);
    out[0] = '\0';
    if (*has)
        fs_id_format(&rep, out);
    return rc;
}

/* Claims a pool customer (issue 17): a queued write of claimed_by = this
 * device's rep, judged by the server at sync (the first claim to arrive
 * wins; docs/PROTOCOL.md "Claims"). Refused here, nothing queued, when the
 * device is not enrolled or the customer already has an owner as far as
 * this replica knows. */
fc_status fc_customer_claim(fc_client *c, const fs_id *id, fs_error *err)
{
    char rep[FS_ID_STRLEN + 1];
    fs_row row = {0};
    bool has = false;
    fc_kv kv;
    fc_status rc = my_rep(c, rep, &has, err);
    int io;

    if (rc)
        return rc;
    if (!has)
        return fc__fail(err, FC_ENOTENROLLED, "claim: enroll this device first "
                        "(the claim names its rep)");
    if ((rc = fc_get(c, "customer", id, &row, err)) != FC_OK)
        return rc;
    io = fs_entity_field_index(row.entity, "owner_rep");
    if (row.cells[io].v.kind == FS_VAL_TEXT && row.cells[io].v.u.text.n) {
        rc = strcmp(row.cells[io].v.u.text.p, rep) == 0
                 ? fc__fail(err, FC_EINVAL, "claim: you own this customer already")
                 : fc__fail(err, FC_EINVAL, "claim: this customer is not in the "
                            "public pool (it is owned by %s)",
                            row.cells[io].v.u.text.p);
        fs_row_free(&row);
        return rc;
    }
    fs_row_free(&row);
    kv.field = "claimed_by";
    kv.value = rep;
    return fc_row_edit(c, "customer", id, &kv, 1, err);
}

/* A row created on this device and not yet confirmed by the server: queued
 * changes and no base_ copy (base_ is sparse; see fc_outbox.c). */
static fc_status local_create(fc_client *c, const fs_row *row, bool *out,
                              fs_error *err)
{
    fs_row b = {0};
    fs_error serr = {0};
    bool queued = false, found = false;
    fc_status rc = fc__has_overlay(c, row->entity, &row->id, &queued, err);
    fs_store_status sst;

    *out = false;
    if (rc || !queued)
        return rc;
    sst = fs_store_load(c->base, row->entity, &row->id, &b, NULL, &found, &serr);
    fs_row_free(&b);
    if (sst)
        return fc__from_store(sst, &serr, err);
    *out = !found;
    return FC_OK;
}

static fc_status row_mine(fc_client *c, const char *rep, bool has_rep,
                          const fs_row *row, bool *mine, fs_error *err)
{
    const char *f = owner_field(row->entity);
    const char *owner;

    *mine = false;
    if (!f)
        return FC_OK;
    owner = cell_text(row, f);
    if (owner) {
        *mine = has_rep && strcmp(owner, rep) == 0;
        return FC_OK;
    }
    return local_create(c, row, mine, err);
}

fc_status fc_row_mine(fc_client *c, const fs_row *row, bool *mine, fs_error *err)
{
    char rep[FS_ID_STRLEN + 1];
    bool has = false;
    fc_status rc;

    if (!c || !row || !row->entity || !row->cells || !mine)
        return fc__fail(err, FC_EINVAL, "fc_row_mine: NULL argument");
    *mine = false;
    rc = my_rep(c, rep, &has, err);
    return rc ? rc : row_mine(c, rep, has, row, mine, err);
}

/* What a rep may delete on their device (docs/ARCHITECTURE.md, "Who may
 * delete"): their own tasks, contacts they created, lines of a quote that is
 * still a draft. Customers never reach here (commit_write refuses them by
 * the schema's FS_ENTITY_SERVER_DELETE); everything else is the back
 * office's. */
static fc_status check_may_delete(fc_client *c, const fs_row *cur, plan *p,
                                  void *arg, fs_error *err)
{
    const char *name = cur->entity->name;
    char b[FS_ID_STRLEN + 1];
    bool mine = false;
    fc_status rc;

    (void)p;
    (void)arg;
    if (strcmp(name, "task") == 0 || strcmp(name, "contact") == 0) {
        rc = fc_row_mine(c, cur, &mine, err);
        if (rc || mine)
            return rc;
        return fc__fail(err, FC_EDENIED, "%s %s is not yours (%s %s): only its own "
                        "rep or the back office deletes it", name, id_str(&cur->id, b),
                        owner_field(cur->entity),
                        cell_text(cur, owner_field(cur->entity))
                            ? cell_text(cur, owner_field(cur->entity)) : "not recorded");
    }
    if (strcmp(name, "quote_line") == 0) {
        fs_row q = {0};
        bool live = false;
        const char *status = NULL;
        rc = FC_OK;
        if (cur->cells[cur->entity->parent].v.kind == FS_VAL_ID)
            rc = load_disp(c, fs_schema_entity("quote"),
                           &cur->cells[cur->entity->parent].v.u.id, &q, &live, err);
        if (!rc && live)
            status = cell_text(&q, "status");
        /* A quote without a status has not been sent: it is a draft. */
        if (!rc && status && strcmp(status, "draft") != 0)
            rc = fc__fail(err, FC_EDENIED, "quote %s is %s: only lines of a draft "
                          "quote can be removed", id_str(&q.id, b), status);
        fs_row_free(&q);
        return rc;
    }
    return fc__fail(err, FC_EDENIED, "a %s cannot be deleted on a device; ask the "
                    "back office", name);
}

fc_status fc_row_delete(fc_client *c, const char *entity, const fs_id *id,
                        fs_error *err)
{
    plan p;
    char summary[64];
    const fs_entity *e = entity_or_fail(entity, err);

    if (!e)
        return FC_EINVAL;
    if (!c || !id)
        return fc__fail(err, FC_EINVAL, "delete: NULL argument");
    snprintf(summary, sizeof summary, "%s delete", e->name);
    plan_init(&p, e, summary);
    p.tomb = 1;
    return commit_write(c, &p, id, false, check_may_delete, NULL, NULL, err);
}

fc_status fc_each_id(fc_client *c, const fs_id *ids, size_t n, fc_id_fn fn,
                     void *arg, size_t *failed, fs_error *err)
{
    fc_status rc;
    size_t i;

    if (!c || (n && !ids) || !fn)
        return fc__fail(err, FC_EINVAL, "fc_each_id: NULL argument");
    if (c->in_each)
        return fc__fail(err, FC_EINVAL, "fc_each_id cannot nest");
    rc = fc__begin(c, err);
    if (rc)
        return rc;
    c->in_each = true;
    for (i = 0; i < n && !rc; i++) {
        rc = fn(c, &ids[i], arg, err);
        if (rc && failed)
            *failed = i;
    }
    c->in_each = false;
    if (rc) {
        fc__rollback(c);
        return rc;
    }
    return fc__commit(c, err);
}

fc_status fc_customer_add(fc_client *c, const fc_kv *kv, size_t n,
                          fs_id *out_id, fs_error *err)
{
    return add_kv(c, "customer", "customer add", NULL, NULL, kv, n, out_id, err);
}

fc_status fc_customer_edit(fc_client *c, const fs_id *id, const fc_kv *kv,
                           size_t n, fs_error *err)
{
    return fc_row_edit(c, "customer", id, kv, n, err);
}

fc_status fc_contact_add(fc_client *c, const fs_id *customer_id,
                         const fc_kv *kv, size_t n, fs_id *out_id, fs_error *err)
{
    if (!customer_id)
        return fc__fail(err, FC_EINVAL, "contact add: a customer id is required");
    return add_kv(c, "contact", "contact add", "customer_id", customer_id, kv, n,
                  out_id, err);
}

fc_status fc_contact_edit(fc_client *c, const fs_id *id, const fc_kv *kv,
                          size_t n, fs_error *err)
{
    return fc_row_edit(c, "contact", id, kv, n, err);
}

/* ------------------------------------------------------------------------ */
/* Visits                                                                    */
/* ------------------------------------------------------------------------ */

static fc_status gps_check(const char *what, double lat, double lon, fs_error *err)
{
    if (!isfinite(lat) || lat < -90 || lat > 90)
        return fc__fail(err, FC_EINVAL, "%s: latitude %g is not a GPS latitude "
                        "(-90..90)", what, lat);
    if (!isfinite(lon) || lon < -180 || lon > 180)
        return fc__fail(err, FC_EINVAL, "%s: longitude %g is not a GPS longitude "
                        "(-180..180)", what, lon);
    return FC_OK;
}

/* arg: a NULL-terminated list of statuses the visit may move from. */
static fc_status check_visit_from(fc_client *c, const fs_row *cur, plan *p,
                                  void *arg, fs_error *err)
{
    const char *const *allowed = arg;
    const char *status = cell_text(cur, "status");
    char b[FS_ID_STRLEN + 1];

    if (!status)
        status = "planned";
    for (size_t i = 0; allowed[i]; i++)
        if (strcmp(allowed[i], status) == 0)
            return FC_OK;
    return fc__fail(err, FC_ETRANSITION, "visit %s is %s; %s needs a visit that "
                    "is %s%s%s", id_str(&cur->id, b), status, p->summary, allowed[0],
                    allowed[1] ? " or " : "", allowed[1] ? allowed[1] : "");
}

fc_status fc_visit_plan(fc_client *c, const fs_id *customer_id,
                        int64_t planned_at_ms, fs_id *out_id, fs_error *err)
{
    plan p;
    fc_status rc;

    if (!c || !customer_id)
        return fc__fail(err, FC_EINVAL, "visit plan: a customer id is required");
    plan_init(&p, fs_schema_entity("visit"), "visit plan");
    rc = plan_id(&p, "customer_id", customer_id, err);
    if (!rc)
        rc = plan_text(&p, "status", "planned", err);
    if (!rc)
        rc = plan_int(&p, "planned_at", planned_at_ms > 0 ? planned_at_ms
                                                          : (int64_t)fc__now_ms(c), err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, NULL, true, NULL, NULL, out_id, err);
}

fc_status fc_visit_checkin(fc_client *c, const fs_id *visit_id, double lat,
                           double lon, double accuracy_m, int64_t at_ms,
                           fs_error *err)
{
    static const char *const from[] = {"planned", NULL};
    plan p;
    fc_status rc;

    if (!c || !visit_id)
        return fc__fail(err, FC_EINVAL, "visit checkin: a visit id is required");
    rc = gps_check("check-in", lat, lon, err);
    if (rc)
        return rc;
    if (!isfinite(accuracy_m) || accuracy_m < 0 || accuracy_m > 1e6)
        return fc__fail(err, FC_EINVAL, "check-in: GPS accuracy %g m is not a "
                        "distance (0..1000000 m)", accuracy_m);
    if (at_ms < 0)
        return fc__fail(err, FC_EINVAL, "check-in: negative time");
    plan_init(&p, fs_schema_entity("visit"), "visit checkin");
    rc = plan_int(&p, "checkin_at", at_ms ? at_ms : (int64_t)fc__now_ms(c), err);
    if (!rc)
        rc = plan_real(&p, "checkin_lat", lat, err);
    if (!rc)
        rc = plan_real(&p, "checkin_lon", lon, err);
    if (!rc)
        rc = plan_real(&p, "checkin_accuracy", accuracy_m, err);
    if (!rc)
        rc = plan_text(&p, "status", "in_progress", err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, visit_id, false, check_visit_from, (void *)from,
                        NULL, err);
}

typedef struct note_arg {
    const char *notes;
    bool append;
} note_arg;

static fc_status check_note(fc_client *c, const fs_row *cur, plan *p, void *arg,
                            fs_error *err)
{
    const note_arg *na = arg;
    const char *old = cell_text(cur, "notes");
    char *joined;
    size_t n;
    fc_status rc;

    if (!na->notes)
        return FC_OK;
    if (!na->append || !old || !*old)
        return plan_text(p, "notes", na->notes, err);
    /* Appending happens here, inside the transaction, so two quick notes
     * in a row both land even if another process wrote in between. */
    n = strlen(old) + 1 + strlen(na->notes) + 1;
    joined = malloc(n);
    if (!joined)
        return fc__fail(err, FC_ENOMEM, "out of memory");
    snprintf(joined, n, "%s\n%s", old, na->notes);
    rc = plan_text(p, "notes", joined, err);
    free(joined);
    return rc;
}

fc_status fc_visit_note(fc_client *c, const fs_id *visit_id, const char *notes,
                        bool append, const char *next_step, fs_error *err)
{
    plan p;
    fc_status rc = FC_OK;
    note_arg na = {notes, append};

    if (!c || !visit_id || (!notes && !next_step))
        return fc__fail(err, FC_EINVAL, "visit note: a visit id and a note or "
                        "next step are required");
    plan_init(&p, fs_schema_entity("visit"), "visit note");
    if (notes) {
        /* Check the note alone against the limit before the transaction. */
        fs_value v = {0};
        rc = parse_with_now(&p.e->fields[slot_of(p.e, "notes")], notes, 0, &v, err);
        fs_value_clear(&v);
    }
    if (!rc && next_step)
        rc = plan_text(&p, "next_step", next_step, err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, visit_id, false, check_note, &na, NULL, err);
}

fc_status fc_visit_checkout(fc_client *c, const fs_id *visit_id, double lat,
                            double lon, int64_t at_ms, const char *outcome,
                            fs_error *err)
{
    static const char *const from[] = {"in_progress", NULL};
    plan p;
    fc_status rc = FC_OK;
    bool gps = !isnan(lat) || !isnan(lon);

    if (!c || !visit_id)
        return fc__fail(err, FC_EINVAL, "visit checkout: a visit id is required");
    if (gps)
        rc = gps_check("check-out", lat, lon, err);
    if (rc)
        return rc;
    if (at_ms < 0)
        return fc__fail(err, FC_EINVAL, "check-out: negative time");
    plan_init(&p, fs_schema_entity("visit"), "visit checkout");
    rc = plan_int(&p, "checkout_at", at_ms ? at_ms : (int64_t)fc__now_ms(c), err);
    if (!rc && gps)
        rc = plan_real(&p, "checkout_lat", lat, err);
    if (!rc && gps)
        rc = plan_real(&p, "checkout_lon", lon, err);
    if (!rc && outcome)
        rc = plan_text(&p, "outcome", outcome, err);
    if (!rc)
        rc = plan_text(&p, "status", "completed", err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, visit_id, false, check_visit_from, (void *)from,
                        NULL, err);
}

fc_status fc_visit_abandon(fc_client *c, const fs_id *visit_id,
                           const char *outcome, fs_error *err)
{
    static const char *const from[] = {"planned", "in_progress", NULL};
    plan p;
    fc_status rc;

    if (!c || !visit_id)
        return fc__fail(err, FC_EINVAL, "visit abandon: a visit id is required");
    plan_init(&p, fs_schema_entity("visit"), "visit abandon");
    rc = plan_text(&p, "status", "abandoned", err);
    if (!rc && outcome)
        rc = plan_text(&p, "outcome", outcome, err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, visit_id, false, check_visit_from, (void *)from,
                        NULL, err);
}

/* ------------------------------------------------------------------------ */
/* Quotes                                                                    */
/* ------------------------------------------------------------------------ */

fc_status fc_quote_new(fc_client *c, const fs_id *customer_id,
                       const char *currency, fs_id *out_id, fs_error *err)
{
    plan p;
    fc_status rc;
    char code[4];

    if (!c || !customer_id || !currency)
        return fc__fail(err, FC_EINVAL, "quote new: a customer id and a currency "
                        "are required");
    /* Typed in any case ("eur"), stored as ISO 4217 writes it ("EUR"). */
    if (!fs_currency_normalise(currency, code))
        return fc__fail(err, FC_EVALUE, "unknown currency '%.16s' (use an ISO "
                        "4217 code such as EUR or USD)", currency);
    currency = code;
    plan_init(&p, fs_schema_entity("quote"), "quote new");
    rc = plan_id(&p, "customer_id", customer_id, err);
    if (!rc)
        rc = plan_text(&p, "currency", currency, err);
    if (!rc)
        rc = plan_text(&p, "status", fs_quote_state_name(FS_QUOTE_DRAFT), err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, NULL, true, NULL, NULL, out_id, err);
}

static fc_status amounts_check(int64_t qty, int64_t unit_price, int64_t discount_bp,
                               fs_error *err)
{
    if (qty < 0)
        return fc__fail(err, FC_EVALUE, "quantity must not be negative (got %lld)",
                        (long long)qty);
    if (unit_price < 0)
        return fc__fail(err, FC_EVALUE, "unit price must not be negative (got "
                        "%lld)", (long long)unit_price);
    if (discount_bp < 0 || discount_bp > 10000)
        return fc__fail(err, FC_EVALUE, "discount is in basis points 0..10000 "
                        "(got %lld)", (long long)discount_bp);
    return FC_OK;
}

fc_status fc_product_by_sku(fc_client *c, const char *sku, fs_row *out, fs_error *err)
{
    const fs_entity *e = fs_schema_entity("product");
    sqlite3_stmt *st = NULL;
    char sql[160];
    fs_id id;
    bool found = false;
    fc_status rc;

    if (!c || !sku || !out)
        return fc__fail(err, FC_EINVAL, "product: NULL argument");
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "replica deleted");
    snprintf(sql, sizeof sql, "SELECT id FROM \"%s\" WHERE deleted = 0 AND sku = ?1 "
             "ORDER BY id LIMIT 1", fs_store_table(c->disp, e));
    rc = fc__prepare(c, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, sku, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 16) {
        memcpy(id.b, sqlite3_column_blob(st, 0), 16);
        found = true;
    }
    sqlite3_finalize(st);
    if (!found)
        return fc__fail(err, FC_ENOTFOUND, "no product with SKU '%.64s' in the catalog", sku);
    return fc_get(c, "product", &id, out, err);
}

/* The catalog's word on a new line: its name and price when the line gives
 * none, and a refusal when the catalog prices the SKU in another currency
 * than the quote's (a price in the wrong currency is a wrong price). A SKU
 * the catalog does not know is the rep's own (a free-text line). */
static fc_status catalog_fill(fc_client *c, const fs_id *quote_id, const char *sku,
                              const char **description, int64_t *unit_price,
                              fs_row *prod, fs_error *err)
{
    fs_row q = {0};
    const char *qcur, *pcur, *name;
    int s;
    fc_status rc;

    if (!sku || !*sku) {
        if (*unit_price == FC_CATALOG_PRICE)
            return fc__fail(err, FC_EINVAL, "a line needs a unit price, or a SKU from "
                            "the catalog to take its price from");
        return FC_OK;
    }
    rc = fc_product_by_sku(c, sku, prod, NULL);
    if (rc == FC_ENOTFOUND) {
        if (*unit_price == FC_CATALOG_PRICE)
            return fc__fail(err, FC_ENOTFOUND, "SKU '%.64s' is not in the catalog on "
                            "this device: give the price (--price)", sku);
        return FC_OK;
    }
    if (rc)
        return fc__fail(err, rc, "catalog lookup of SKU '%.64s' failed", sku);
    rc = fc_get(c, "quote", quote_id, &q, err);
    if (rc)
        goto done;
    s = fs_entity_field_index(q.entity, "currency");
    qcur = q.cells[s].v.kind == FS_VAL_TEXT ? q.cells[s].v.u.text.p : "";
    s = fs_entity_field_index(prod->entity, "currency");
    pcur = prod->cells[s].v.kind == FS_VAL_TEXT ? prod->cells[s].v.u.text.p : NULL;
    if (pcur && strcmp(pcur, qcur) != 0) {
        rc = fc__fail(err, FC_EVALUE, "SKU '%.64s' is priced in %s in the catalog but "
                      "this quote is in %s: a line cannot mix currencies (make a "
                      "quote in %s for it)", sku, pcur, qcur, pcur);
        goto done;
    }
    if (*unit_price == FC_CATALOG_PRICE) {
        s = fs_entity_field_index(prod->entity, "price");
        if (prod->cells[s].v.kind != FS_VAL_INT) {
            rc = fc__fail(err, FC_EVALUE, "SKU '%.64s' has no price in the catalog: "
                          "give the price (--price)", sku);
            goto done;
        }
        *unit_price = prod->cells[s].v.u.i;
    }
    s = fs_entity_field_index(prod->entity, "name");
    name = prod->cells[s].v.kind == FS_VAL_TEXT ? prod->cells[s].v.u.text.p : NULL;
    if (!*description && name)
        *description = name;
done:
    fs_row_free(&q);
    return rc;
}

fc_status fc_quote_line_add(fc_client *c, const fs_id *quote_id, const char *sku,
                            const char *description, int64_t qty,
                            int64_t unit_price, int64_t discount_bp,
                            fs_id *out_id, fs_error *err)
{
    plan p;
    fc_status rc;
    fs_row prod = {0};

    if (!c || !quote_id)
        return fc__fail(err, FC_EINVAL, "quote line add: a quote id is required");
    rc = catalog_fill(c, quote_id, sku, &description, &unit_price, &prod, err);
    if (!rc)
        rc = amounts_check(qty, unit_price, discount_bp, err);
    if (rc) {
        fs_row_free(&prod);
        return rc;
    }
    if (rc)
        return rc;
    plan_init(&p, fs_schema_entity("quote_line"), "quote line add");
    rc = plan_id(&p, "quote_id", quote_id, err);
    if (!rc && sku)
        rc = plan_text(&p, "sku", sku, err);
    if (!rc && description)
        rc = plan_text(&p, "description", description, err);
    if (!rc)
        rc = plan_int(&p, "qty", qty, err);
    if (!rc)
        rc = plan_int(&p, "unit_price", unit_price, err);
    if (!rc)
        rc = plan_int(&p, "discount", discount_bp, err);
    fs_row_free(&prod); /* description may point into it: planned (copied) now */
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, NULL, true, NULL, NULL, out_id, err);
}

fc_status fc_quote_line_edit(fc_client *c, const fs_id *line_id,
                             const fc_kv *kv, size_t n, fs_error *err)
{
    return fc_row_edit(c, "quote_line", line_id, kv, n, err);
}

fc_status fc_quote_line_remove(fc_client *c, const fs_id *line_id, fs_error *err)
{
    return fc_row_delete(c, "quote_line", line_id, err);
}

fc_status fc_quote_discount(fc_client *c, const fs_id *quote_id,
                            int64_t discount_bp, fs_error *err)
{
    plan p;
    fc_status rc;

    if (!c || !quote_id)
        return fc__fail(err, FC_EINVAL, "quote discount: a quote id is required");
    rc = amounts_check(0, 0, discount_bp, err);
    if (rc)
        return rc;
    plan_init(&p, fs_schema_entity("quote"), "quote discount");
    rc = plan_int(&p, "discount", discount_bp, err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, quote_id, false, NULL, NULL, NULL, err);
}

static fc_status count_lines(fc_client *c, const fs_id *quote_id, int64_t *n,
                             fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;

    rc = fc__prepare(c, "SELECT count(*) FROM quote_line WHERE quote_id = ?1 AND "
                     "deleted = 0", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, quote_id->b, 16, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = fc__sqlfail(c, err, "count quote lines");
    sqlite3_finalize(st);
    return rc;
}

static fc_status check_send(fc_client *c, const fs_row *cur, plan *p, void *arg,
                            fs_error *err)
{
    int64_t lines = 0;
    fc_status rc;
    char b[FS_ID_STRLEN + 1];

    /* Whether draft -> sent is allowed is check_lock's question. */
    rc = count_lines(c, &cur->id, &lines, err);
    if (rc)
        return rc;
    if (lines == 0)
        return fc__fail(err, FC_ETRANSITION, "quote %s has no lines; add a line "
                        "before sending it", id_str(&cur->id, b));
    return FC_OK;
}

fc_status fc_quote_send(fc_client *c, const fs_id *quote_id, fs_error *err)
{
    plan p;
    fc_status rc;

    if (!c || !quote_id)
        return fc__fail(err, FC_EINVAL, "quote send: a quote id is required");
    plan_init(&p, fs_schema_entity("quote"), "quote send");
    rc = plan_text(&p, "status", fs_quote_state_name(FS_QUOTE_SENT), err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, quote_id, false, check_send, NULL, NULL, err);
}

fc_status fc_quote_set_status(fc_client *c, const fs_id *quote_id, const char *status,
                              fs_error *err)
{
    plan p;
    fc_status rc;
    fs_quote_state to;
    char summary[48];

    if (!c || !quote_id || !status)
        return fc__fail(err, FC_EINVAL, "quote status: a quote id and a status are "
                        "required");
    to = fs_quote_state_parse(status, strlen(status));
    if (to == FS_QUOTE_INVALID)
        return fc__fail(err, FC_EVALUE, "unknown quote status '%.32s'", status);
    snprintf(summary, sizeof summary, "quote %s", fs_quote_state_name(to));
    plan_init(&p, fs_schema_entity("quote"), summary);
    rc = plan_text(&p, "status", fs_quote_state_name(to), err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    /* The transition (and an accept's validity) is check_lock's. */
    return commit_write(c, &p, quote_id, false, NULL, NULL, NULL, err);
}

/* Ids of a quote's live lines, in id order (so a revision lists them alike). */
static fc_status line_ids(fc_client *c, const fs_id *quote_id, fs_id **out, size_t *n,
                          fs_error *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    fc_status rc;
    int s;

    *out = NULL;
    *n = 0;
    rc = fc__prepare(c, "SELECT id FROM quote_line WHERE quote_id = ?1 AND deleted = 0 "
                     "ORDER BY id", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, quote_id->b, 16, SQLITE_STATIC);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            fs_id *ni = realloc(*out, ncap * sizeof *ni);
            if (!ni) {
                rc = fc__fail(err, FC_ENOMEM, "out of memory");
                goto done;
            }
            *out = ni;
            cap = ncap;
        }
        memcpy((*out)[(*n)++].b, sqlite3_column_blob(st, 0), 16);
    }
    if (s != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "read quote lines");
done:
    sqlite3_finalize(st);
    return rc;
}

/* Copies field `name` of row r into the plan if it is set. */
static fc_status plan_copy(plan *p, const fs_row *r, const char *name, fs_error *err)
{
    int s = slot_of(r->entity, name);
    fs_value v = {0};
    fs_error ferr = {0};

    if (s < 0 || r->cells[s].v.kind == FS_VAL_NULL)
        return FC_OK;
    if (fs_value_copy(&v, &r->cells[s].v, &ferr))
        return fc__from_fs(FS_ENOMEM, &ferr, err);
    return plan_put(p, slot_of(p->e, name), &v, err);
}

fc_status fc_quote_revise(fc_client *c, const fs_id *quote_id, fs_id *out_id,
                          fs_error *err)
{
    static const char *const quote_copy[] = {"customer_id", "currency", "discount", NULL};
    static const char *const line_copy[] = {"sku", "description", "qty", "unit_price",
                                            "discount", NULL};
    const fs_entity *qe = fs_schema_entity("quote"), *le = fs_schema_entity("quote_line");
    fs_row q = {0}, l = {0};
    fs_id *lines = NULL, nid;
    size_t n = 0;
    bool live = false;
    plan p;
    fc_status rc;
    char b[FS_ID_STRLEN + 1];
    int vu;

    if (!c || !quote_id)
        return fc__fail(err, FC_EINVAL, "quote revise: a quote id is required");
    rc = fc__begin(c, err);
    if (rc)
        return rc;
    rc = load_disp(c, qe, quote_id, &q, &live, err);
    if (!rc && !live)
        rc = fc__fail(err, FC_ENOTFOUND, "no quote with id %s in this replica",
                      id_str(quote_id, b));
    if (!rc && !fs_row_locked(&q))
        rc = fc__fail(err, FC_ETRANSITION, "quote %s is a draft; edit it directly "
                      "(only a sent, accepted, rejected or expired quote is revised)",
                      id_str(quote_id, b));
    if (rc)
        goto done;
    /* The revision: a new draft with the quote's terms and lines, naming the
     * quote it supersedes. A validity already past is left for the rep to
     * set again. */
    plan_init(&p, qe, "quote revise");
    for (size_t i = 0; !rc && quote_copy[i]; i++)
        rc = plan_copy(&p, &q, quote_copy[i], err);
    vu = slot_of(qe, "valid_until");
    if (!rc && q.cells[vu].v.kind == FS_VAL_INT &&
        q.cells[vu].v.u.i >= (int64_t)fc__now_ms(c))
        rc = plan_copy(&p, &q, "valid_until", err);
    if (!rc)
        rc = plan_text(&p, "status", fs_quote_state_name(FS_QUOTE_DRAFT), err);
    if (!rc)
        rc = plan_id(&p, "supersedes", quote_id, err);
    if (rc) {
        plan_free(&p);
        goto done;
    }
    rc = commit_write(c, &p, NULL, true, NULL, NULL, &nid, err);
    if (!rc)
        rc = line_ids(c, quote_id, &lines, &n, err);
    for (size_t k = 0; !rc && k < n; k++) {
        fs_row_free(&l);
        rc = load_disp(c, le, &lines[k], &l, &live, err);
        if (rc || !live)
            continue;
        plan_init(&p, le, "quote revise line");
        rc = plan_id(&p, "quote_id", &nid, err);
        for (size_t i = 0; !rc && line_copy[i]; i++)
            rc = plan_copy(&p, &l, line_copy[i], err);
        if (rc) {
            plan_free(&p);
            break;
        }
        rc = commit_write(c, &p, NULL, true, NULL, NULL, NULL, err);
    }
    if (!rc)
        rc = fc__commit(c, err);
    if (!rc && out_id)
        *out_id = nid;
done:
    fc__rollback(c);
    free(lines);
    fs_row_free(&l);
    fs_row_free(&q);
    return rc;
}

fc_status fc_quote_totals(fc_client *c, const fs_id *quote_id,
                          fs_quote_totals *out, fs_error *err)
{
    const fs_entity *le = fs_schema_entity("quote_line");
    fs_row q = {0};
    fs_row *lines = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    fs_error ferr = {0};
    fs_status fst;
    fc_status rc;
    bool live = false;
    char sql[1024];
    int s;
    char b[FS_ID_STRLEN + 1];

    if (!c || !quote_id || !out)
        return fc__fail(err, FC_EINVAL, "quote totals: NULL argument");
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "replica deleted");
    memset(out, 0, sizeof *out);
    if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return fc__sqlfail(c, err, "begin");
    rc = load_disp(c, fs_schema_entity("quote"), quote_id, &q, &live, err);
    if (rc)
        goto done;
    if (!live) {
        rc = fc__fail(err, FC_ENOTFOUND, "no quote with id %s in this replica",
                      id_str(quote_id, b));
        goto done;
    }
    /* Column list and table name come from the schema, not from input. */
    snprintf(sql, sizeof sql, "SELECT %s FROM quote_line WHERE quote_id = ?1 AND "
             "deleted = 0 ORDER BY id", fs_store_columns(c->disp, le));
    rc = fc__prepare(c, sql, &st, err);
    if (rc)
        goto done;
    sqlite3_bind_blob(st, 1, quote_id->b, 16, SQLITE_STATIC);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        fs_store_status sst;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            fs_row *nl = realloc(lines, ncap * sizeof *nl);
            if (!nl) {
                rc = fc__fail(err, FC_ENOMEM, "out of memory");
                goto done;
            }
            memset(nl + cap, 0, (ncap - cap) * sizeof *nl);
            lines = nl;
            cap = ncap;
        }
        sst = fs_store_decode(c->disp, le, st, 0, &lines[n], NULL, &ferr);
        n++;
        if (sst) {
            rc = fc__from_store(sst, &ferr, err);
            goto done;
        }
    }
    if (s != SQLITE_DONE) {
        rc = fc__sqlfail(c, err, "read quote lines");
        goto done;
    }
    fst = fs_quote_totals_rows(&q, lines, n, out, &ferr);
    if (fst)
        rc = fc__from_fs(fst, &ferr, err);
done:
    sqlite3_finalize(st);
    fc__rollback(c);
    for (size_t i = 0; i < n; i++)
        fs_row_free(&lines[i]);
    free(lines);
    fs_row_free(&q);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Contracts and tasks                                                       */
/* ------------------------------------------------------------------------ */

static fc_status check_esign(fc_client *c, const fs_row *cur, plan *p, void *arg,
                             fs_error *err)
{
    fs_esign to = *(const fs_esign *)arg;
    const char *s = cell_text(cur, "esign_status");
    fs_esign from = s ? fs_esign_parse(s, strlen(s)) : FS_ESIGN_DRAFT;
    fs_error ferr = {0};
    fs_status fst;
    fc_status rc;

    fst = fs_esign_check_transition(from, to, &ferr);
    if (fst)
        return fc__fail(err, FC_ETRANSITION, "%s", ferr.text[0] ? ferr.text
                        : "this e-sign status change is not allowed");
    rc = plan_int(p, "status_changed_at", (int64_t)fc__now_ms(c), err);
    if (!rc && (to == FS_ESIGN_SIGNED || to == FS_ESIGN_COMPLETED)) {
        int slot = slot_of(cur->entity, "signed_at");
        if (cur->cells[slot].v.kind == FS_VAL_NULL)
            rc = plan_int(p, "signed_at", (int64_t)fc__now_ms(c), err);
    }
    return rc;
}

fc_status fc_contract_esign(fc_client *c, const fs_id *contract_id,
                            const char *to, fs_error *err)
{
    plan p;
    fc_status rc;
    fs_esign target;

    if (!c || !contract_id || !to)
        return fc__fail(err, FC_EINVAL, "contract esign: a contract id and a "
                        "status are required");
    target = fs_esign_parse(to, strlen(to));
    if (target == FS_ESIGN_INVALID)
        return fc__fail(err, FC_EVALUE, "unknown e-sign status '%.32s' (one of "
                        "draft, sent, delivered, signed, voided, declined, "
                        "completed)", to);
    plan_init(&p, fs_schema_entity("contract"), "contract esign");
    rc = plan_text(&p, "esign_status", fs_esign_name(target), err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, contract_id, false, check_esign, &target, NULL, err);
}

fc_status fc_contract_new(fc_client *c, const fs_id *quote_id,
                          const char *envelope_id, fs_id *out_id, fs_error *err)
{
    fs_row q = {0};
    fs_quote_totals t;
    fs_quote_state state;
    const char *currency;
    fs_id customer;
    int slot;
    plan p;
    fc_status rc;

    if (!c || !quote_id)
        return fc__fail(err, FC_EINVAL, "contract new: a quote id is required");
    rc = fc_get(c, "quote", quote_id, &q, err);
    if (rc)
        goto done;
    state = fs_quote_row_state(&q);
    currency = cell_text(&q, "currency");
    slot = fs_entity_field_index(q.entity, "customer_id");
    if (!fs_quote_state_contractable(state)) {
        rc = fc__fail(err, FC_ETRANSITION, "contract new: the quote is %s; only a sent "
                      "or accepted quote becomes a contract", fs_quote_state_name(state));
        goto done;
    }
    if (!currency) {
        rc = fc__fail(err, FC_EVALUE, "contract new: the quote has no currency");
        goto done;
    }
    if (slot < 0 || q.cells[slot].v.kind != FS_VAL_ID) {
        rc = fc__fail(err, FC_EVALUE, "contract new: the quote has no customer");
        goto done;
    }
    customer = q.cells[slot].v.u.id;
    rc = fc_quote_totals(c, quote_id, &t, err);
    if (rc)
        goto done;
    plan_init(&p, fs_schema_entity("contract"), "contract new");
    rc = plan_id(&p, "customer_id", &customer, err);
    if (!rc)
        rc = plan_id(&p, "quote_id", quote_id, err);
    if (!rc)
        rc = plan_int(&p, "amount", t.total, err);
    if (!rc)
        rc = plan_text(&p, "currency", currency, err);
    if (!rc)
        rc = plan_text(&p, "esign_status", "draft", err);
    if (!rc && envelope_id)
        rc = plan_text(&p, "envelope_id", envelope_id, err);
    if (rc) {
        plan_free(&p);
        goto done;
    }
    rc = commit_write(c, &p, NULL, true, NULL, NULL, out_id, err);
done:
    fs_row_free(&q);
    return rc;
}

fc_status fc_task_add(fc_client *c, const fs_id *customer_id, const char *title,
                      const char *kind, int64_t due_at_ms, fs_id *out_id,
                      fs_error *err)
{
    plan p;
    fc_status rc;

    if (!c || !customer_id)
        return fc__fail(err, FC_EINVAL, "task add: a customer id is required");
    if (due_at_ms < 0)
        return fc__fail(err, FC_EINVAL, "task add: negative due time");
    plan_init(&p, fs_schema_entity("task"), "task add");
    rc = plan_id(&p, "customer_id", customer_id, err);
    if (!rc && title)
        rc = plan_text(&p, "title", title, err);
    if (!rc)
        rc = plan_text(&p, "kind", kind ? kind : "follow_up", err);
    if (!rc && due_at_ms > 0)
        rc = plan_int(&p, "due_at", due_at_ms, err);
    if (!rc)
        rc = plan_int(&p, "done", 0, err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, NULL, true, NULL, NULL, out_id, err);
}

fc_status fc_task_done(fc_client *c, const fs_id *task_id, fs_error *err)
{
    plan p;
    fc_status rc;

    if (!c || !task_id)
        return fc__fail(err, FC_EINVAL, "task done: a task id is required");
    plan_init(&p, fs_schema_entity("task"), "task done");
    rc = plan_int(&p, "done", 1, err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, task_id, false, NULL, NULL, NULL, err);
}

static fc_status check_done(fc_client *c, const fs_row *cur, plan *p, void *arg,
                            fs_error *err)
{
    int s = fs_entity_field_index(cur->entity, "done");
    char b[FS_ID_STRLEN + 1];

    (void)c;
    (void)p;
    (void)arg;
    if (cur->cells[s].v.kind != FS_VAL_INT || cur->cells[s].v.u.i == 0)
        return fc__fail(err, FC_ETRANSITION, "task %s is not done; only a done "
                        "task can be reopened", id_str(&cur->id, b));
    return FC_OK;
}

fc_status fc_task_reopen(fc_client *c, const fs_id *task_id, fs_error *err)
{
    plan p;
    fc_status rc;

    if (!c || !task_id)
        return fc__fail(err, FC_EINVAL, "task reopen: a task id is required");
    plan_init(&p, fs_schema_entity("task"), "task reopen");
    rc = plan_int(&p, "done", 0, err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, task_id, false, check_done, NULL, NULL, err);
}

/* ------------------------------------------------------------------------ */
/* Reads                                                                     */
/* ------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------ */
/* Service tickets (CRM.md section 4; the status rule is fs_ticket.c)         */
/* ------------------------------------------------------------------------ */

fc_status fc_ticket_open(fc_client *c, const fs_id *customer_id, const char *kind,
                         const char *subject, const char *priority,
                         const char *description, fs_id *out_id, fs_error *err)
{
    plan p;
    fc_status rc;

    if (!c || !customer_id || !kind || !subject)
        return fc__fail(err, FC_EINVAL, "ticket open: a customer, a kind and a "
                        "subject are required");
    plan_init(&p, fs_schema_entity("ticket"), "ticket open");
    rc = plan_id(&p, "customer_id", customer_id, err);
    if (!rc)
        rc = plan_text(&p, "kind", kind, err);
    if (!rc)
        rc = plan_text(&p, "subject", subject, err);
    if (!rc)
        rc = plan_text(&p, "priority", priority ? priority : "normal", err);
    if (!rc && description)
        rc = plan_text(&p, "description", description, err);
    if (!rc)
        rc = plan_text(&p, "status", fs_ticket_state_name(FS_TICKET_OPEN), err);
    if (!rc)
        rc = plan_int(&p, "opened_at", (int64_t)fc__now_ms(c), err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, NULL, true, NULL, NULL, out_id, err);
}

fc_status fc_ticket_note(fc_client *c, const fs_id *ticket_id, const char *note,
                         fs_error *err)
{
    plan p;
    fc_status rc;
    note_arg na = {note, true};
    fs_value v = {0};

    if (!c || !ticket_id || !note || !*note)
        return fc__fail(err, FC_EINVAL, "ticket note: a ticket id and a note are required");
    plan_init(&p, fs_schema_entity("ticket"), "ticket note");
    /* Check the note alone against the limit before the transaction. */
    rc = parse_with_now(&p.e->fields[slot_of(p.e, "notes")], note, 0, &v, err);
    fs_value_clear(&v);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, ticket_id, false, check_note, &na, NULL, err);
}

/* A rep's status command that would move nothing is refused, so "ticket
 * close" twice says so (the rule itself lets a write repeat the status). */
static fc_status check_ticket_moves(fc_client *c, const fs_row *cur, plan *p, void *arg,
                                    fs_error *err)
{
    const char *to = arg, *now = cell_text(cur, "status");
    char b[FS_ID_STRLEN + 1];

    (void)c;
    (void)p;
    if (strcmp(now ? now : fs_ticket_state_name(FS_TICKET_OPEN), to) == 0)
        return fc__fail(err, FC_ETRANSITION, "ticket %s is already %s",
                        id_str(&cur->id, b), to);
    return FC_OK;
}

fc_status fc_ticket_set_status(fc_client *c, const fs_id *ticket_id, const char *status,
                               fs_error *err)
{
    plan p;
    fc_status rc;

    if (!c || !ticket_id || !status)
        return fc__fail(err, FC_EINVAL, "ticket status: a ticket id and a status are "
                        "required");
    plan_init(&p, fs_schema_entity("ticket"), "ticket status");
    rc = plan_text(&p, "status", status, err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, ticket_id, false, check_ticket_moves, (void *)status,
                        NULL, err);
}

/* One survey per ticket (fs_ticket_check_rate), taken once the back office
 * resolved it. The server applies the same rule to what arrives, so a
 * second score from another device is refused there and recorded. */
static fc_status check_rate(fc_client *c, const fs_row *cur, plan *p, void *arg,
                            fs_error *err)
{
    fs_ticket_state st = fs_ticket_row_state(cur);
    char b[FS_ID_STRLEN + 1];

    (void)c;
    (void)p;
    (void)arg;
    fs_error ferr = {0};

    if (fs_ticket_check_rate(cur, &ferr) != FS_OK)
        return fc__fail(err, FC_ETRANSITION, "ticket %s: %s", id_str(&cur->id, b),
                        ferr.text);
    if (st != FS_TICKET_RESOLVED && st != FS_TICKET_CLOSED)
        return fc__fail(err, FC_ETRANSITION, "ticket %s is %s; the customer rates it "
                        "once the back office has resolved it", id_str(&cur->id, b),
                        fs_ticket_state_name(st));
    return FC_OK;
}

fc_status fc_ticket_rate(fc_client *c, const fs_id *ticket_id, int64_t score,
                         const char *note, fs_error *err)
{
    plan p;
    fc_status rc;

    if (!c || !ticket_id)
        return fc__fail(err, FC_EINVAL, "ticket rate: a ticket id is required");
    plan_init(&p, fs_schema_entity("ticket"), "ticket rate");
    rc = plan_int(&p, "rating", score, err);
    if (!rc && note)
        rc = plan_text(&p, "rating_note", note, err);
    if (!rc)
        rc = plan_int(&p, "rated_at", (int64_t)fc__now_ms(c), err);
    if (rc) {
        plan_free(&p);
        return rc;
    }
    return commit_write(c, &p, ticket_id, false, check_rate, NULL, NULL, err);
}

fc_status fc_get(fc_client *c, const char *entity, const fs_id *id, fs_row *out,
                 fs_error *err)
{
    const fs_entity *e = entity_or_fail(entity, err);
    bool live = false;
    fc_status rc;
    char b[FS_ID_STRLEN + 1];

    if (!e)
        return FC_EINVAL;
    if (!c || !id || !out)
        return fc__fail(err, FC_EINVAL, "get: NULL argument");
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "replica deleted");
    rc = load_disp(c, e, id, out, &live, err);
    if (!rc && !live)
        rc = fc__fail(err, FC_ENOTFOUND, "no %s with id %s in this replica",
                      e->name, id_str(id, b));
    return rc;
}

fc_status fc_list(fc_client *c, const char *entity, const fc_query *q,
                  fc_row_fn fn, void *payload, size_t *count, fs_error *err)
{
    const fs_entity *e = entity_or_fail(entity, err);
    fc_query none = {0};
    sqlite3_stmt *st = NULL;
    fs_row row = {0};
    char sql[4096];
    fc_search_plan sp = {0};
    const char *rank = NULL;
    size_t got = 0;
    fc_status rc;
    const char *table;
    int s, k;
    bool is_task, is_cust, is_ticket, has_rep = false;
    char rep[FS_ID_STRLEN + 1] = "";

    if (count)
        *count = 0;
    if (!e)
        return FC_EINVAL;
    if (!c || !fn)
        return fc__fail(err, FC_EINVAL, "list: NULL argument");
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "replica deleted");
    if (!q)
        q = &none;
    is_task = strcmp(e->name, "task") == 0;
    is_cust = strcmp(e->name, "customer") == 0;
    is_ticket = strcmp(e->name, "ticket") == 0;
    if (q->search && !is_cust)
        return fc__fail(err, FC_EINVAL, "search works on customers only");
    if (q->parent && e->parent < 0)
        return fc__fail(err, FC_EINVAL, "%s rows have no parent to filter by", e->name);
    /* The computed customer fields filter by a value the field can hold
     * (its enum), so a typo is an error, not an empty list. */
    static const char *const filters[] = {"grade", "risk"};
    const char *fval[2] = {q->grade, q->risk};
    for (int f = 0; f < 2; f++) {
        fs_value v = {0};
        fs_error verr = {0};
        int slot;
        if (!fval[f])
            continue;
        if (!is_cust)
            return fc__fail(err, FC_EINVAL, "--%s works on customers only", filters[f]);
        slot = fs_entity_field_index(e, filters[f]);
        if (slot < 0 || fs_value_text(&v, fval[f], strlen(fval[f]), &verr) != FS_OK)
            return fc__fail(err, FC_EINVAL, "--%s: %s", filters[f], verr.text);
        fs_status fst = fs_field_check(&e->fields[slot], &v, &verr);
        fs_value_clear(&v);
        if (fst != FS_OK)
            return fc__fail(err, FC_EINVAL, "--%s: %s", filters[f], verr.text);
    }
    table = fs_store_table(c->disp, e);
    /* Every identifier below comes from the static schema; values are bound. */
    k = snprintf(sql, sizeof sql, "SELECT %s", fs_store_columns(c->disp, e));
    if (q->search) {
        rc = fc__search_plan_make(q->search, &sp, err);
        if (rc)
            return rc;
    }
    if (sp.any)
        k += fc__search_sql(&sp, table, q->mine ? 0 : q->limit, sql + k,
                            sizeof sql - (size_t)k, &rank);
    else
        k += snprintf(sql + k, sizeof sql - (size_t)k, " FROM \"%s\"", table);
    k += snprintf(sql + k, sizeof sql - (size_t)k, " WHERE");
    k += snprintf(sql + k, sizeof sql - (size_t)k, " \"%s\".deleted = 0", table);
    if (q->parent)
        k += snprintf(sql + k, sizeof sql - (size_t)k, " AND \"%s\".\"%s\" = ?2",
                      table, e->fields[e->parent].name);
    if (is_task && q->due_before_ms)
        k += snprintf(sql + k, sizeof sql - (size_t)k,
                      " AND due_at IS NOT NULL AND due_at < ?3");
    if (is_task && q->open_only)
        k += snprintf(sql + k, sizeof sql - (size_t)k, " AND coalesce(done, 0) = 0");
    if (is_ticket && q->open_only)
        k += snprintf(sql + k, sizeof sql - (size_t)k, " AND coalesce(status, '') <> '%s'",
                      fs_ticket_state_name(FS_TICKET_CLOSED));
    if (is_cust && q->grade)
        k += snprintf(sql + k, sizeof sql - (size_t)k, " AND \"%s\".grade = ?4", table);
    if (is_cust && q->risk)
        k += snprintf(sql + k, sizeof sql - (size_t)k, " AND \"%s\".risk = ?5", table);
    if (sp.any)
        k += snprintf(sql + k, sizeof sql - (size_t)k,
                      " ORDER BY %s, m.rid", rank);
    else if (is_cust)
        k += snprintf(sql + k, sizeof sql - (size_t)k,
                      " ORDER BY \"%s\".name COLLATE NOCASE, \"%s\".id", table, table);
    else if (is_task)
        k += snprintf(sql + k, sizeof sql - (size_t)k,
                      " ORDER BY due_at IS NULL, due_at, id");
    else
        k += snprintf(sql + k, sizeof sql - (size_t)k, " ORDER BY \"%s\".id", table);
    /* --mine filters in the loop below, so the limit is counted there. */
    if (q->limit && !q->mine)
        snprintf(sql + k, sizeof sql - (size_t)k, " LIMIT %u", q->limit);
    if (q->mine) {
        if (!owner_field(e))
            return fc__fail(err, FC_EINVAL, "%s rows have no rep to filter by", e->name);
        rc = my_rep(c, rep, &has_rep, err);
        if (rc)
            return rc;
    }
    rc = fc__prepare(c, sql, &st, err);
    if (rc)
        goto done;
    fc__search_bind(&sp, st);
    if (q->parent)
        sqlite3_bind_blob(st, 2, q->parent->b, 16, SQLITE_STATIC);
    if (is_task && q->due_before_ms)
        sqlite3_bind_int64(st, 3, q->due_before_ms);
    if (is_cust && q->grade)
        sqlite3_bind_text(st, 4, q->grade, -1, SQLITE_STATIC);
    if (is_cust && q->risk)
        sqlite3_bind_text(st, 5, q->risk, -1, SQLITE_STATIC);
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        fs_error serr = {0};
        fs_store_status sst = fs_store_decode(c->disp, e, st, 0, &row, NULL, &serr);
        if (sst) {
            rc = fc__from_store(sst, &serr, err);
            goto done;
        }
        if (q->mine) {
            bool mine = false;
            rc = row_mine(c, rep, has_rep, &row, &mine, err);
            if (rc)
                goto done;
            if (!mine)
                continue;
        }
        got++;
        if (!fn(&row, payload) || (q->limit && got >= q->limit))
            break;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "list");
done:
    if (count)
        *count = got;
    sqlite3_finalize(st);
    fs_row_free(&row);
    fc__search_free(&sp);
    return rc;
}
