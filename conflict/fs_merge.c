/*
 * fs_merge.c - the merge function shared by the server and every client.
 *
 * A row is a set of registers (one per field, plus the tombstone), each
 * holding (value, hlc, device). Merging a change joins every register with
 * the incoming write under the field's declared policy. The joins are
 * commutative, associative and idempotent, which is what lets replicas that
 * saw the same changes in different orders end up equal. Rules that depend on
 * where the merge happens (server-owned fields and tombstones, frozen quotes,
 * the clock guard) apply to device changes only and are decided before the
 * join.
 *
 * Two fields are ranked lattices rather than registers: a contract's
 * e-sign status and a quote's lifecycle status (fs_quote.c). Both are
 * described by the same data (a rank per value, which ranks are final, the
 * rules to record, `lattice`) and joined by the same case of plan_field().
 *
 * The merge is atomic: a plan phase validates, decides every write, copies
 * the values it will store and builds the conflict records; only then does a
 * commit phase, which cannot fail, move them into the row and the list.
 */
#include "fs_conflict_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No entity has more fields than this (checked per merge). */
#define MAX_FIELDS 64

const char *fs_reason_name(fs_reason r)
{
    switch (r) {
    case FS_REASON_NONE: return "none";
    case FS_REASON_STALE: return "stale";
    case FS_REASON_SERVER_OWNED: return "server_owned";
    case FS_REASON_FROZEN: return "frozen";
    case FS_REASON_DELETED: return "deleted";
    case FS_REASON_ESIGN: return "esign";
    case FS_REASON_CLOCK: return "clock";
    case FS_REASON_READONLY: return "readonly";
    case FS_REASON_ONCE: return "once";
    case FS_REASON_SCOPE: return "scope";
    case FS_REASON_INVALID: return "invalid";
    case FS_REASON_CLAIM: return "claim";
    case FS_REASON_REDIRECTED: return "redirected";
    }
    return "unknown";
}

const char *fs_rule_name(fs_rule r)
{
    switch (r) {
    case FS_RULE_LWW: return "lww";
    case FS_RULE_ONCE: return "once";
    case FS_RULE_ESIGN_LATTICE: return "esign_lattice";
    case FS_RULE_ESIGN_TERMINAL: return "esign_terminal";
    case FS_RULE_SERVER_OWNED: return "server_owned";
    case FS_RULE_FROZEN: return "frozen";
    case FS_RULE_DELETE_WINS: return "delete_wins";
    case FS_RULE_CLOCK_BOUND: return "clock_bound";
    case FS_RULE_READONLY: return "readonly";
    case FS_RULE_SCOPE: return "scope";
    case FS_RULE_INVALID: return "invalid";
    case FS_RULE_LIFECYCLE: return "lifecycle";
    case FS_RULE_LIFECYCLE_TERMINAL: return "lifecycle_terminal";
    case FS_RULE_CLAIM: return "claim";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------ */
/* E-sign lattice: the enum order is the lattice order.                      */
/* ------------------------------------------------------------------------ */

static const char *const esign_names[] = {
    "draft", "sent", "delivered", "signed", "voided", "declined", "completed"};

fs_esign fs_esign_parse(const char *s, size_t len)
{
    if (!s)
        return FS_ESIGN_INVALID;
    for (int i = 0; i <= FS_ESIGN_COMPLETED; i++)
        if (strlen(esign_names[i]) == len && memcmp(esign_names[i], s, len) == 0)
            return (fs_esign)i;
    return FS_ESIGN_INVALID;
}

const char *fs_esign_name(fs_esign s)
{
    return s >= FS_ESIGN_DRAFT && s <= FS_ESIGN_COMPLETED ? esign_names[s] : "invalid";
}

bool fs_esign_is_terminal(fs_esign s)
{
    return s == FS_ESIGN_VOIDED || s == FS_ESIGN_DECLINED || s == FS_ESIGN_COMPLETED;
}

fs_esign fs_esign_join(fs_esign a, fs_esign b)
{
    return a > b ? a : b;
}

fs_status fs_esign_check_transition(fs_esign from, fs_esign to, fs_error *err)
{
    if (from < FS_ESIGN_DRAFT || from > FS_ESIGN_COMPLETED || to < FS_ESIGN_DRAFT ||
        to > FS_ESIGN_COMPLETED)
        return fs_error_set(err, FS_ERANGE, "unknown e-sign status");
    if (fs_esign_is_terminal(from))
        return fs_error_set(err, FS_ETRANSITION,
                            "contract is %s, which is final; it cannot become %s",
                            esign_names[from], esign_names[to]);
    if (to == from)
        return fs_error_set(err, FS_ETRANSITION, "contract is already %s", esign_names[to]);
    if (to < from)
        return fs_error_set(err, FS_ETRANSITION,
                            "e-sign status never goes back: %s cannot become %s",
                            esign_names[from], esign_names[to]);
    return FS_OK;
}

/* Rank of a stored or incoming e-sign value; unset/null ranks below draft. */
static int esign_rank(const fs_value *v)
{
    if (v->kind != FS_VAL_TEXT)
        return -1;
    return (int)fs_esign_parse(v->u.text.p, v->u.text.n);
}

static bool esign_rank_final(int r)
{
    return r >= 0 && fs_esign_is_terminal((fs_esign)r);
}

/* A ranked status field, as data: how to rank a value, which ranks are
 * final, and the rules a loss and a clash of final states are recorded
 * under. */
typedef struct lattice {
    int (*rank)(const fs_value *v); /* -1 = unset or unknown */
    bool (*final)(int rank);
    fs_rule order_rule, terminal_rule;
} lattice;

static const lattice esign_lattice = {esign_rank, esign_rank_final,
                                      FS_RULE_ESIGN_LATTICE, FS_RULE_ESIGN_TERMINAL};
static const lattice lifecycle_lattice = {fs__lifecycle_rank, fs__lifecycle_rank_final,
                                          FS_RULE_LIFECYCLE, FS_RULE_LIFECYCLE_TERMINAL};

/* ------------------------------------------------------------------------ */
/* Conflict lists                                                            */
/* ------------------------------------------------------------------------ */

static void conflict_clear(fs_conflict *k)
{
    fs_value_clear(&k->base);
    fs_value_clear(&k->theirs);
    fs_value_clear(&k->yours);
}

void fs_conflict_list_clear(fs_conflict_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        conflict_clear(&l->items[i]);
    l->n = 0;
}

void fs_conflict_list_free(fs_conflict_list *l)
{
    if (!l)
        return;
    fs_conflict_list_clear(l);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static fs_status list_reserve(fs_conflict_list *l, size_t extra, fs_error *err)
{
    size_t cap;
    fs_conflict *p;

    if (l->n + extra <= l->cap)
        return FS_OK;
    cap = l->cap ? l->cap : 8;
    while (cap < l->n + extra)
        cap *= 2;
    p = realloc(l->items, cap * sizeof *p);
    if (!p)
        return fs_error_set(err, FS_ENOMEM, "out of memory for conflict records");
    l->items = p;
    l->cap = cap;
    return FS_OK;
}

fs_status fs_conflict_refused(fs_conflict_list *l, const fs_change *c, fs_rule rule,
                              fs_error *err)
{
    size_t need;
    fs_status st;

    if (!l || !c)
        return fs_error_set(err, FS_EINVAL, "fs_conflict_refused: NULL argument");
    need = c->nfields + (c->has_tomb ? 1 : 0);
    if ((st = list_reserve(l, need ? need : 1, err)) != FS_OK)
        return st;
    /* One record per write, the refused value as "yours", so the audit
     * keeps what the device asked for (issue 12): nothing a user wrote is
     * dropped without a trace. Nothing was stored, so "theirs" is null. */
    for (size_t i = 0; i < (need ? need : 1); i++) {
        const fs_field_change *fc = i < c->nfields ? &c->fields[i] : NULL;
        fs_conflict *k = &l->items[l->n];

        st = FS_OK;
        memset(k, 0, sizeof *k);
        k->entity = c->entity;
        k->row = c->row;
        k->yours_device = c->device;
        k->rule = rule;
        k->status = FS_CONFLICT_AUTO;
        if (fc) {
            k->field = fc->slot;
            k->yours_hlc = fc->hlc;
            st = fs_value_copy(&k->yours, &fc->v, err);
            if (st == FS_OK && fc->has_base) {
                k->has_base = true;
                st = fs_value_copy(&k->base, &fc->base, err);
            }
        } else if (c->has_tomb) {
            k->field = -1;
            k->yours_hlc = c->tomb_hlc;
            k->yours = fs_value_int(c->deleted);
        } else {
            k->field = FS_CONFLICT_NO_FIELD; /* nothing of the change was readable */
        }
        l->n++; /* counted before a failed copy, so the list frees it */
        if (st != FS_OK)
            return st;
    }
    return FS_OK;
}

/* The reason a change reports for a record that went against it. */
static fs_reason rule_reason(const fs_conflict *k)
{
    switch (k->rule) {
    case FS_RULE_LWW: return FS_REASON_STALE;
    case FS_RULE_ONCE: return FS_REASON_ONCE;
    case FS_RULE_ESIGN_LATTICE:
    case FS_RULE_ESIGN_TERMINAL: return FS_REASON_ESIGN;
    case FS_RULE_SERVER_OWNED: return FS_REASON_SERVER_OWNED;
    case FS_RULE_FROZEN: return FS_REASON_FROZEN;
    case FS_RULE_DELETE_WINS: return FS_REASON_DELETED;
    case FS_RULE_CLOCK_BOUND: return FS_REASON_CLOCK;
    case FS_RULE_READONLY: return FS_REASON_READONLY;
    case FS_RULE_SCOPE: return FS_REASON_SCOPE;
    case FS_RULE_INVALID: return FS_REASON_INVALID;
    case FS_RULE_CLAIM: return FS_REASON_CLAIM;
    /* A status the lifecycle keeps is, to the writer, a frozen quote. */
    case FS_RULE_LIFECYCLE:
    case FS_RULE_LIFECYCLE_TERMINAL: return FS_REASON_FROZEN;
    }
    return FS_REASON_NONE;
}

void fs_conflict_describe(const fs_conflict *k, char *out, size_t cap)
{
    const char *f, *ent;

    if (!out || !cap)
        return;
    if (!k || !k->entity) {
        snprintf(out, cap, "invalid conflict record");
        return;
    }
    ent = k->entity->name;
    f = k->field >= 0 && (size_t)k->field < k->entity->nfields
            ? k->entity->fields[k->field].name : NULL;
    switch (k->rule) {
    case FS_RULE_LWW:
        if (!f)
            snprintf(out, cap, "a newer %s of the row stands",
                     k->theirs.kind == FS_VAL_INT && k->theirs.u.i ? "delete" : "restore");
        else if (k->yours_won)
            snprintf(out, cap, "%s: a concurrent edit the writer had not seen was overwritten", f);
        else
            snprintf(out, cap, "a newer write of %s stands", f);
        break;
    case FS_RULE_ONCE:
        if (k->yours_won)
            snprintf(out, cap, "%s is write-once: the earlier write replaces a later one", f);
        else
            snprintf(out, cap, "%s is write-once and already set", f);
        break;
    case FS_RULE_ESIGN_LATTICE:
    case FS_RULE_ESIGN_TERMINAL:
    case FS_RULE_LIFECYCLE:
    case FS_RULE_LIFECYCLE_TERMINAL:
        if (k->yours_won && k->theirs.kind == FS_VAL_TEXT && k->yours.kind == FS_VAL_TEXT)
            snprintf(out, cap, "%s: final states %s and %s met; %s stands", f,
                     k->theirs.u.text.p, k->yours.u.text.p, k->yours.u.text.p);
        else
            snprintf(out, cap, "%s stays %s: it was already further along, and a "
                     "status never moves back", f,
                     k->theirs.kind == FS_VAL_TEXT ? k->theirs.u.text.p : "unset");
        break;
    case FS_RULE_SERVER_OWNED:
        if (f)
            snprintf(out, cap, "field %s is server-owned", f);
        else
            snprintf(out, cap, "a %s is deleted or restored only by the back office; "
                     "a device cannot", ent);
        break;
    case FS_RULE_FROZEN:
        if (f && strcmp(ent, "quote") == 0)
            snprintf(out, cap, "the quote is no longer a draft; its %s cannot change "
                     "(revise the quote)", f);
        else if (strcmp(ent, "quote") == 0)
            snprintf(out, cap, "the quote is no longer a draft; it cannot be deleted");
        else
            snprintf(out, cap, "the quote is no longer a draft; its %s rows cannot "
                     "change (revise the quote)", ent);
        break;
    case FS_RULE_DELETE_WINS:
        if (k->anc_entity) {
            char id[FS_ID_STRLEN + 1];
            fs_id_format(&k->anc_row, id);
            snprintf(out, cap, "%s %s is deleted; the write to %s is kept hidden",
                     k->anc_entity->name, id, f ? f : "the row");
        } else if (!f)
            snprintf(out, cap, "a newer delete of the row stands");
        else if (k->yours_won)
            snprintf(out, cap, "a delete hid a newer write of %s", f);
        else
            snprintf(out, cap, "the row is deleted; the write to %s is kept hidden", f);
        break;
    case FS_RULE_CLOCK_BOUND:
        if (f)
            snprintf(out, cap, "stamp of %s too far in the future; clamped to server time", f);
        else
            snprintf(out, cap, "tombstone stamp too far in the future");
        break;
    case FS_RULE_READONLY:
        snprintf(out, cap, "%s is reference data; devices cannot write it", ent);
        break;
    case FS_RULE_SCOPE:
        snprintf(out, cap, "the %s row is outside the writer's scope", ent);
        break;
    case FS_RULE_INVALID:
        snprintf(out, cap, "the %s change failed validation", ent);
        break;
    default:
        snprintf(out, cap, "unknown rule");
    }
}

/* ------------------------------------------------------------------------ */
/* The merge                                                                 */
/* ------------------------------------------------------------------------ */

/* Everything decided about one merge before the row is touched. */
typedef struct plan {
    const fs_merge_ctx *ctx;
    const fs_change *c;
    fs_row *row;
    fs_conflict_list *list; /* records go to items[n .. n+nrec) until commit */
    size_t nrec;
    fs_error *err;
    /* Per field write of the change: */
    bool win[MAX_FIELDS];
    fs_hlc stamp[MAX_FIELDS]; /* after the clock guard */
    fs_value newv[MAX_FIELDS]; /* copies to move into the row on a win */
    /* Tombstone: */
    bool tomb_win;
    fs_hlc tomb_stamp;
    bool deleted_after;
    /* Outcome bookkeeping: */
    size_t decided, rejected;
    /* A device change to a row whose lifecycle left its editable state
     * (fs_row_locked of the stored row): its locked fields and tombstone
     * are frozen. */
    bool locked;
} plan;


/* Appends a record (not yet counted in list->n). theirs may be NULL for
 * "nothing stored"; yours may be NULL for a tombstone-only write. */
static fs_status record(plan *p, int field, const fs_field_change *fc,
                        const fs_value *theirs, fs_hlc theirs_hlc, const fs_id *theirs_dev,
                        const fs_value *yours, fs_hlc yours_hlc, fs_rule rule,
                        bool yours_won, fs_conflict_status status)
{
    fs_conflict *k = &p->list->items[p->list->n + p->nrec];
    fs_status st = FS_OK;

    memset(k, 0, sizeof *k);
    k->entity = p->c->entity;
    k->row = p->c->row;
    k->field = field;
    k->theirs_hlc = theirs_hlc;
    if (theirs_dev)
        k->theirs_device = *theirs_dev;
    k->yours_hlc = yours_hlc;
    k->yours_device = p->c->device;
    k->rule = rule;
    k->yours_won = yours_won;
    k->status = status;
    if (theirs)
        st = fs_value_copy(&k->theirs, theirs, p->err);
    if (st == FS_OK && yours)
        st = fs_value_copy(&k->yours, yours, p->err);
    if (st == FS_OK && fc && fc->has_base) {
        k->has_base = true;
        st = fs_value_copy(&k->base, &fc->base, p->err);
    }
    if (st != FS_OK) {
        conflict_clear(k);
        return st;
    }
    p->nrec++;
    return FS_OK;
}

static fs_hlc guard_clock(const plan *p, fs_hlc h)
{
    const fs_merge_ctx *ctx = p->ctx;
    uint64_t ms = fs_hlc_ms(h), now_ms;
    if (ctx->origin != FS_ORIGIN_DEVICE || ctx->now == 0)
        return h;
    /* Compare the distance, not now + max_ahead, which can wrap around. */
    now_ms = fs_hlc_ms(ctx->now);
    if (ms > now_ms && ms - now_ms > ctx->max_ahead_ms)
        return ctx->now;
    return h;
}

/* Whole-change rejections: reference data and frozen quotes. */
static fs_status reject_all(plan *p, fs_rule rule, fs_conflict_status status)
{
    const fs_change *c = p->c;
    fs_status st;

    for (size_t i = 0; i < c->nfields; i++) {
        const fs_field_change *fc = &c->fields[i];
        const fs_cell *cell = &p->row->cells[fc->slot];
        st = record(p, fc->slot, fc, &cell->v, cell->hlc, &cell->device, &fc->v, fc->hlc,
                    rule, false, status);
        if (st != FS_OK)
            return st;
    }
    if (c->has_tomb) {
        fs_value was = fs_value_int(p->row->deleted), want = fs_value_int(c->deleted);
        st = record(p, -1, NULL, &was, p->row->del_hlc, &p->row->del_device, &want,
                    c->tomb_hlc, rule, false, status);
        if (st != FS_OK)
            return st;
    }
    p->rejected = p->decided = c->nfields + (c->has_tomb ? 1 : 0);
    return FS_OK;
}

/* An entity whose tombstone is server-owned (FS_ENTITY_SERVER_DELETE): a
 * device may neither delete nor restore its rows. The tombstone register is
 * then treated exactly like a server-owned field: this write is refused and
 * recorded, the change's other fields are decided as usual. */
static bool device_may_not_delete(const plan *p)
{
    return p->ctx->origin == FS_ORIGIN_DEVICE &&
           (p->c->entity->flags & FS_ENTITY_SERVER_DELETE);
}

static fs_status refuse_tombstone(plan *p)
{
    fs_value was = fs_value_int(p->row->deleted), want = fs_value_int(p->c->deleted);
    fs_status st = record(p, -1, NULL, &was, p->row->del_hlc, &p->row->del_device, &want,
                          p->c->tomb_hlc, FS_RULE_SERVER_OWNED, false, FS_CONFLICT_AUTO);

    if (st != FS_OK)
        return st;
    p->decided++;
    p->rejected++;
    return FS_OK;
}

static fs_status plan_tombstone(plan *p)
{
    const fs_change *c = p->c;
    fs_row *row = p->row;
    size_t clock_at = SIZE_MAX;
    int cmp;

    p->deleted_after = row->deleted;
    if (!c->has_tomb)
        return FS_OK;
    if (device_may_not_delete(p))
        return refuse_tombstone(p);
    if (p->locked) {
        fs_value was = fs_value_int(row->deleted), want = fs_value_int(c->deleted);
        fs_status st = record(p, -1, NULL, &was, row->del_hlc, &row->del_device, &want,
                              c->tomb_hlc, FS_RULE_FROZEN, false, FS_CONFLICT_OPEN);
        if (st != FS_OK)
            return st;
        p->decided++;
        p->rejected++;
        return FS_OK;
    }
    p->tomb_stamp = guard_clock(p, c->tomb_hlc);
    if (p->tomb_stamp != c->tomb_hlc) {
        fs_value want = fs_value_int(c->deleted);
        clock_at = p->nrec;
        fs_status st = record(p, -1, NULL, NULL, p->ctx->now, NULL, &want, c->tomb_hlc,
                              FS_RULE_CLOCK_BOUND, true, FS_CONFLICT_AUTO);
        if (st != FS_OK)
            return st;
        p->decided++;
    }
    cmp = fs_stamp_cmp(p->tomb_stamp, &c->device, row->del_hlc, &row->del_device);
    if (cmp == 0) /* same stamp and writer: a delete beats a restore */
        cmp = (int)c->deleted - (int)row->deleted;
    if (cmp > 0) {
        p->tomb_win = true;
        p->deleted_after = c->deleted;
    } else if (c->deleted != row->deleted) {
        fs_value was = fs_value_int(row->deleted), want = fs_value_int(c->deleted);
        fs_rule rule = row->deleted ? FS_RULE_DELETE_WINS : FS_RULE_LWW;
        fs_status st = record(p, -1, NULL, &was, row->del_hlc, &row->del_device, &want,
                              p->tomb_stamp, rule, false,
                              row->deleted ? FS_CONFLICT_OPEN : FS_CONFLICT_AUTO);
        if (st != FS_OK)
            return st;
        p->decided++;
    }
    /* The clock record tells whether the clamped write stood in the end. */
    if (clock_at != SIZE_MAX)
        p->list->items[p->list->n + clock_at].yours_won = p->tomb_win;
    return FS_OK;
}

/* Decides one field write; sets p->win[i] and records a loser. */
static fs_status plan_field(plan *p, size_t i)
{
    const fs_change *c = p->c;
    const fs_field_change *fc = &c->fields[i];
    const fs_field *f = &c->entity->fields[fc->slot];
    const fs_cell *cell = &p->row->cells[fc->slot];
    fs_hlc stamp = guard_clock(p, fc->hlc);
    int cmp;
    fs_rule rule = FS_RULE_LWW;
    fs_conflict_status status = FS_CONFLICT_AUTO;
    bool record_loser = false, record_overwrite = false;
    size_t clock_at = SIZE_MAX;
    fs_status st;

    p->stamp[i] = stamp;
    if (f->policy == FS_POLICY_SERVER && p->ctx->origin == FS_ORIGIN_DEVICE) {
        st = record(p, fc->slot, fc, &cell->v, cell->hlc, &cell->device, &fc->v, fc->hlc,
                    FS_RULE_SERVER_OWNED, false, FS_CONFLICT_AUTO);
        if (st != FS_OK)
            return st;
        p->decided++;
        p->rejected++;
        return FS_OK;
    }
    if ((f->flags & FS_FIELD_LOCKED) && p->locked) {
        st = record(p, fc->slot, fc, &cell->v, cell->hlc, &cell->device, &fc->v, fc->hlc,
                    FS_RULE_FROZEN, false, FS_CONFLICT_OPEN);
        if (st != FS_OK)
            return st;
        p->decided++;
        p->rejected++;
        return FS_OK;
    }
    if (stamp != fc->hlc) {
        clock_at = p->nrec;
        st = record(p, fc->slot, fc, &cell->v, p->ctx->now, NULL, &fc->v, fc->hlc,
                    FS_RULE_CLOCK_BOUND, true, FS_CONFLICT_AUTO);
        if (st != FS_OK)
            return st;
        p->decided++;
    }

    cmp = fs_stamp_cmp(stamp, &c->device, cell->hlc, &cell->device);
    if (cmp == 0)
        cmp = fs_value_cmp(&fc->v, &cell->v);
    switch (f->policy) {
    case FS_POLICY_ONCE:
        /* First writer wins: the lowest stamp stands once the cell is set. */
        rule = FS_RULE_ONCE;
        if (cell->hlc == 0)
            cmp = 1;
        else
            cmp = -cmp;
        break;
    case FS_POLICY_ESIGN:
    case FS_POLICY_LIFECYCLE: {
        /* The higher rank wins whatever the stamps; two different final
         * states end in the higher one and a record left open. */
        const lattice *l = f->policy == FS_POLICY_ESIGN ? &esign_lattice
                                                        : &lifecycle_lattice;
        int a = l->rank(&fc->v), b = cell->hlc ? l->rank(&cell->v) : -2;
        if (p->ctx->decision && p->ctx->origin == FS_ORIGIN_SERVER) {
            cmp = fs_value_eq(&fc->v, &cell->v) ? 0 : 1;
            break;
        }
        if (a != b)
            cmp = a > b ? 1 : -1;
        rule = l->order_rule;
        if (a != b && l->final(a) && b >= 0 && l->final(b)) {
            rule = l->terminal_rule;
            status = FS_CONFLICT_OPEN;
            record_loser = cmp < 0;
            record_overwrite = cmp > 0;
        }
        break;
    }
    default:
        break;
    }

    if (cmp > 0) {
        p->win[i] = true;
        st = fs_value_copy(&p->newv[i], &fc->v, p->err);
        if (st != FS_OK)
            return st;
        /* The stored write is newer than what the writer saw: it was a
         * concurrent edit, and it is now overwritten. */
        if (f->policy == FS_POLICY_LWW && fc->has_base && cell->hlc > fc->base_hlc &&
            !fs_value_eq(&fc->v, &cell->v))
            record_overwrite = true;
        if (f->policy == FS_POLICY_ONCE && cell->hlc && !fs_value_eq(&fc->v, &cell->v))
            record_overwrite = true;
    } else if (cmp < 0 && !fs_value_eq(&fc->v, &cell->v)) {
        record_loser = true;
    }

    if (record_overwrite || record_loser) {
        bool won = cmp > 0;
        st = record(p, fc->slot, fc, &cell->v, cell->hlc, &cell->device, &fc->v, stamp,
                    rule, won, status);
        if (st != FS_OK)
            return st;
        if (!won)
            p->decided++;
    }
    /* The clock record tells whether the clamped write stood in the end. */
    if (clock_at != SIZE_MAX)
        p->list->items[p->list->n + clock_at].yours_won = p->win[i];
    return FS_OK;
}

bool fs_delete_saw(fs_hlc w_hlc, const fs_id *w_dev, fs_hlc d_hlc,
                   const fs_id *d_dev, bool changed_since_view)
{
    if (fs_stamp_cmp(w_hlc, w_dev, d_hlc, d_dev) > 0)
        return false;
    return !changed_since_view || fs_id_cmp(w_dev, d_dev) == 0;
}

/* A deleted row, or a row under a deleted ancestor (ctx.hidden_by), hides
 * every write that lands in it: the deleter cannot have seen a write that
 * reached the row after the delete, so each is recorded. A delete that
 * lands on a live row records every stored write it had not seen
 * (fs_delete_saw); the rows below it are the caller's (fs_hide_row). */
static fs_status plan_delete_wins(plan *p)
{
    const fs_change *c = p->c;
    fs_row *row = p->row;
    const fs_hider *anc = p->deleted_after ? NULL : p->ctx->hidden_by;
    fs_status st;

    if (!p->deleted_after && !anc)
        return FS_OK;
    if (!(c->has_tomb && c->deleted)) {
        for (size_t i = 0; i < c->nfields; i++) {
            const fs_field_change *fc = &c->fields[i];
            const fs_cell *cell = &row->cells[fc->slot];
            /* Hidden is every write whose value the row would show: one
             * that wins its cell, and one that ties with the newer stored
             * write of the same value (it stands as one with it, and would
             * otherwise be answered APPLIED with no record naming it). A
             * loser with another value is superseded, recorded by
             * plan_field; a redelivered write is the stored one. */
            if (!p->win[i] &&
                (!fs_value_eq(&fc->v, &cell->v) ||
                 (cell->hlc == p->stamp[i] && fs_id_cmp(&cell->device, &c->device) == 0)))
                continue;
            st = record(p, fc->slot, fc, NULL, anc ? anc->hlc : row->del_hlc,
                        anc ? &anc->device : &row->del_device, &fc->v,
                        p->stamp[i], FS_RULE_DELETE_WINS, false, FS_CONFLICT_OPEN);
            if (st != FS_OK)
                return st;
            if (anc) {
                fs_conflict *k = &p->list->items[p->list->n + p->nrec - 1];
                k->anc_entity = anc->entity;
                k->anc_row = anc->row;
            }
            p->decided++;
        }
        return FS_OK;
    }
    if (!p->tomb_win || row->deleted || anc)
        return FS_OK;
    for (size_t s = 0; s < c->entity->nfields; s++) {
        const fs_cell *cell = &row->cells[s];
        bool rewritten = false;
        for (size_t i = 0; i < c->nfields; i++)
            rewritten |= c->fields[i].slot == s && p->win[i];
        /* A server-owned cell is a stamp the server derived (rep_id,
         * created_by, verification...), not a write anyone could lose: the
         * server's clock may simply run ahead of the deleting device's. */
        if (rewritten || cell->hlc == 0 ||
            c->entity->fields[s].policy == FS_POLICY_SERVER ||
            fs_delete_saw(cell->hlc, &cell->device, p->tomb_stamp, &c->device,
                          p->ctx->row_unseen))
            continue;
        st = record(p, (int)s, NULL, &cell->v, cell->hlc, &cell->device, NULL, p->tomb_stamp,
                    FS_RULE_DELETE_WINS, true, FS_CONFLICT_OPEN);
        if (st != FS_OK)
            return st;
    }
    return FS_OK;
}

static void commit(plan *p)
{
    const fs_change *c = p->c;
    fs_row *row = p->row;

    for (size_t i = 0; i < c->nfields; i++) {
        fs_cell *cell = &row->cells[c->fields[i].slot];
        if (!p->win[i])
            continue;
        fs_value_clear(&cell->v);
        cell->v = p->newv[i];
        memset(&p->newv[i], 0, sizeof p->newv[i]);
        cell->hlc = p->stamp[i];
        cell->device = c->device;
    }
    if (p->tomb_win) {
        row->deleted = c->deleted;
        row->del_hlc = p->tomb_stamp;
        row->del_device = c->device;
    }
    p->list->n += p->nrec;
    p->nrec = 0;
}

static void abandon(plan *p)
{
    for (size_t i = 0; i < p->c->nfields; i++)
        fs_value_clear(&p->newv[i]);
    for (size_t k = 0; k < p->nrec; k++)
        conflict_clear(&p->list->items[p->list->n + k]);
    p->nrec = 0;
}

fs_status fs_merge(const fs_merge_ctx *ctx, fs_row *row, const fs_change *c,
                   fs_merge_result *res, fs_conflict_list *conflicts, fs_error *err)
{
    plan *p = NULL;
    fs_status st;
    size_t writes, first;

    if (!ctx || !row || !c || !res || !conflicts)
        return fs_error_set(err, FS_EINVAL, "fs_merge: NULL argument");
    st = fs_change_check(c, err);
    if (st != FS_OK)
        return st;
    if (row->entity != c->entity || !row->cells || fs_id_cmp(&row->id, &c->row) != 0)
        return fs_error_set(err, FS_EINVAL, "fs_merge: the row is not the change's %s row",
                            c->entity->name);
    if (c->entity->nfields > MAX_FIELDS)
        return fs_error_set(err, FS_EINVAL, "entity %s has more than %d fields",
                            c->entity->name, MAX_FIELDS);
    /* Upper bound on records: per write a clock record and a decision, plus a
     * tombstone pair, plus one per stored field hidden by a delete. */
    st = list_reserve(conflicts, 2 * c->nfields + 2 + c->entity->nfields, err);
    if (st != FS_OK)
        return st;
    p = calloc(1, sizeof *p);
    if (!p)
        return fs_error_set(err, FS_ENOMEM, "out of memory merging a %s change",
                            c->entity->name);
    p->ctx = ctx;
    p->c = c;
    p->row = row;
    p->list = conflicts;
    p->err = err;
    p->locked = ctx->origin == FS_ORIGIN_DEVICE && fs_row_locked(row);

    if (ctx->origin == FS_ORIGIN_DEVICE && (c->entity->flags & FS_ENTITY_READONLY)) {
        st = reject_all(p, FS_RULE_READONLY, FS_CONFLICT_AUTO);
    } else if (ctx->origin == FS_ORIGIN_DEVICE && ctx->frozen) {
        st = reject_all(p, FS_RULE_FROZEN, FS_CONFLICT_OPEN);
    } else {
        st = plan_tombstone(p);
        for (size_t i = 0; st == FS_OK && i < c->nfields; i++)
            st = plan_field(p, i);
        if (st == FS_OK)
            st = plan_delete_wins(p);
    }
    if (st != FS_OK) {
        abandon(p);
        goto done;
    }
    first = conflicts->n;
    commit(p);

    writes = c->nfields + (c->has_tomb ? 1 : 0);
    memset(res, 0, sizeof *res);
    if (p->decided == 0) {
        res->outcome = FS_APPLIED;
    } else if (p->rejected == writes) {
        res->outcome = FS_REJECTED;
    } else {
        res->outcome = FS_MERGED;
    }
    /* The change reports its first record that went against it (a clamp
     * counts even when the clamped write stood): the reason and the same
     * text a reviewer sees on that record. */
    for (size_t k = first; k < conflicts->n; k++) {
        const fs_conflict *rec = &conflicts->items[k];
        if (!rec->yours_won || rec->rule == FS_RULE_CLOCK_BOUND) {
            res->reason = rule_reason(rec);
            fs_conflict_describe(rec, res->detail, sizeof res->detail);
            break;
        }
    }
done:
    free(p);
    return st;
}

fs_status fs_hide_row(const fs_row *row, const fs_hider *h, bool changed_since_view,
                      fs_conflict_list *conflicts, fs_error *err)
{
    size_t first, nf;
    fs_status st;

    if (!row || !h || !conflicts || !row->entity || !h->entity)
        return fs_error_set(err, FS_EINVAL, "fs_hide_row: NULL argument");
    nf = row->entity->nfields;
    st = list_reserve(conflicts, nf, err);
    if (st != FS_OK)
        return st;
    first = conflicts->n;
    for (size_t s = 0; s < nf; s++) {
        const fs_cell *cell = &row->cells[s];
        fs_conflict *k = &conflicts->items[conflicts->n];
        /* Server-owned cells (rep_id, verification) are the server's
         * stamps, not anybody's work. */
        if (cell->hlc == 0 || row->entity->fields[s].policy == FS_POLICY_SERVER ||
            fs_delete_saw(cell->hlc, &cell->device, h->hlc, &h->device,
                          changed_since_view))
            continue;
        memset(k, 0, sizeof *k);
        k->entity = row->entity;
        k->row = row->id;
        k->field = (int)s;
        k->theirs_hlc = h->hlc;
        k->theirs_device = h->device;
        k->yours_hlc = cell->hlc;
        k->yours_device = cell->device;
        k->rule = FS_RULE_DELETE_WINS;
        k->status = FS_CONFLICT_OPEN;
        k->anc_entity = h->entity;
        k->anc_row = h->row;
        if ((st = fs_value_copy(&k->yours, &cell->v, err)) != FS_OK) {
            while (conflicts->n > first)
                conflict_clear(&conflicts->items[--conflicts->n]);
            return st;
        }
        conflicts->n++;
    }
    return FS_OK;
}
