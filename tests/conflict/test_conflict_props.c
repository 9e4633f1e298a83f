/*
 * test_conflict_props.c - seeded property tests of the merge join.
 *
 * Each case draws a handful of device changes to one row (LWW text fields,
 * the write-once parent, the e-sign lattice, the tombstone) with stamps from
 * a tiny range, so equal HLCs, equal devices and equal values are common.
 * For every case:
 *   - any order, with duplicates, ends in the same row (fs_row_eq), and so
 *     does merging groups into partial rows first and then the partial rows
 *     (commutative, associative, idempotent);
 *   - the row equals an independent oracle: per register the max (min for
 *     write-once) by (rank, hlc, device, value);
 *   - e-sign never goes down along any order;
 *   - nothing vanishes: every write is in the row, or named by a conflict
 *     record, or was seen by a later writer (its base), or was superseded in
 *     a way the rules define as progress (lattice up, explicit restore);
 *     every write hidden by a delete is recorded.
 * A failure prints its seed; FS_SEED=<seed> runs just that case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conflict/fs_testkit.h"

#define NCASES 10000
#define SEED0 UINT64_C(0x5EED0000F1E1D5)
#define MAXCH 6
#define MAXW 3
#define MAXSEQ 16

typedef struct prng {
    uint64_t s;
} prng;

/* splitmix64: tiny, good enough, and the same on every platform. */
static uint64_t rnd(prng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static unsigned below(prng *r, unsigned n)
{
    return (unsigned)(rnd(r) % n);
}

typedef struct pcase {
    uint64_t seed;
    const fs_entity *e;
    size_t nch;
    fs_change ch[MAXCH];
    int dev[MAXCH];
    char why[512]; /* first failure */
} pcase;

static const int devs[] = {DEV_A, DEV_B, DEV_C};
static const char *const esign_states[] = {
    "draft", "sent", "delivered", "signed", "voided", "declined", "completed"};

/* A random valid value for a field (small pools: equal values are common). */
static void gen_value(prng *r, const fs_field *f, fs_value *v)
{
    static const char *const texts[] = {"a", "b", "c"};
    fs_id id;

    memset(v, 0, sizeof *v);
    if (!(f->flags & FS_FIELD_REQUIRED) && below(r, 8) == 0)
        return; /* null */
    switch (f->type) {
    case FS_TYPE_ENUM: {
        const char *s = f->policy == FS_POLICY_ESIGN ? esign_states[below(r, 7)]
                                                     : f->enum_values[0];
        assert_int_equal(fs_value_text(v, s, strlen(s), NULL), FS_OK);
        break;
    }
    case FS_TYPE_ID:
        tk_row_id(1 + (int)below(r, 3), &id);
        *v = fs_value_idv(&id);
        break;
    case FS_TYPE_MONEY:
    case FS_TYPE_INT:
        *v = fs_value_int((int64_t)below(r, 3));
        break;
    default: {
        const char *s = texts[below(r, 3)];
        assert_int_equal(fs_value_text(v, s, strlen(s), NULL), FS_OK);
        break;
    }
    }
}

static fs_hlc gen_hlc(prng *r)
{
    return fs_hlc_make(1 + below(r, 4), (uint16_t)below(r, 2));
}

static void gen_case(pcase *pc, uint64_t seed)
{
    static const char *const cust[] = {"name", "phone", "title"}; /* contact: a device may delete it */
    static const char *const contr[] = {"esign_status", "customer_id", "envelope_id", "amount"};
    prng r = {seed};
    fs_id row;
    bool contract;

    memset(pc, 0, sizeof *pc);
    pc->seed = seed;
    contract = below(&r, 2) == 0;
    pc->e = fs_schema_entity(contract ? "contract" : "contact");
    assert_non_null(pc->e);
    tk_row_id(1, &row);
    pc->nch = 1 + below(&r, MAXCH);
    for (size_t i = 0; i < pc->nch; i++) {
        fs_change *c = &pc->ch[i];
        fs_id dev;
        unsigned nw = below(&r, MAXW + 1);
        bool tomb = nw == 0 || below(&r, 4) == 0;
        fs_hlc lo = UINT64_MAX, hi = 0;

        pc->dev[i] = devs[below(&r, 3)];
        tk_dev(pc->dev[i], &dev);
        assert_int_equal(fs_change_init(c, pc->e, &row, &dev, NULL), FS_OK);
        for (unsigned k = 0; k < nw; k++) {
            const char *name = contract ? contr[below(&r, 4)] : cust[below(&r, 3)];
            int slot = fs_entity_field_index(pc->e, name);
            fs_value v, base;
            fs_hlc h = gen_hlc(&r);
            fs_status st;

            gen_value(&r, &pc->e->fields[slot], &v);
            st = fs_change_set(c, slot, &v, h, NULL);
            fs_value_clear(&v);
            if (st == FS_EDUPLICATE)
                continue;
            assert_int_equal(st, FS_OK);
            /* Every write says what its writer saw: an older stamp. */
            gen_value(&r, &pc->e->fields[slot], &base);
            assert_int_equal(fs_change_set_base(c, slot, &base, rnd(&r) % h, NULL), FS_OK);
            fs_value_clear(&base);
            lo = h < lo ? h : lo;
            hi = h > hi ? h : hi;
        }
        if (tomb || c->nfields == 0) {
            /* A device deletes after its edits and edits after a restore. */
            bool del = below(&r, 3) != 0;
            fs_hlc h = gen_hlc(&r);
            if (c->nfields && del && h < hi)
                h = hi;
            if (c->nfields && !del && h > lo)
                h = lo;
            fs_change_tombstone(c, del, h);
        }
    }
}

static void free_case(pcase *pc)
{
    for (size_t i = 0; i < pc->nch; i++)
        fs_change_free(&pc->ch[i]);
}

/* The oracle below orders registers with its own comparisons, written from
 * docs/ARCHITECTURE.md, and not with fs_esign_parse, fs_stamp_cmp or
 * fs_value_cmp: an oracle built from the engine's own helpers would agree
 * with a bug in them. */

/* Lattice rank: the position in esign_states (draft < ... < completed);
 * -2 for a never-written cell, -1 for anything else. */
static int esign_rank_of(const fs_value *v, fs_hlc h)
{
    if (!h)
        return -2;
    if (v->kind != FS_VAL_TEXT)
        return -1;
    for (size_t i = 0; i < sizeof esign_states / sizeof esign_states[0]; i++)
        if (strlen(esign_states[i]) == v->u.text.n &&
            memcmp(esign_states[i], v->u.text.p, v->u.text.n) == 0)
            return (int)i;
    return -1;
}

static int sign3(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

/* HLC as an integer, then the writer's 16-byte device id bytewise. */
static int oracle_stamp_cmp(fs_hlc h1, const fs_id *d1, fs_hlc h2, const fs_id *d2)
{
    int c;

    if (h1 != h2)
        return h1 < h2 ? -1 : 1;
    c = memcmp(d1->b, d2->b, sizeof d1->b);
    return (c > 0) - (c < 0);
}

/* Kind first (null < int < real < text < id), then the value: text bytewise
 * with a prefix first, ids bytewise. The generator makes no reals. */
static int oracle_value_cmp(const fs_value *a, const fs_value *b)
{
    int c;
    size_t n;

    if (a->kind != b->kind)
        return sign3(a->kind, b->kind);
    switch (a->kind) {
    case FS_VAL_INT:
        return sign3(a->u.i, b->u.i);
    case FS_VAL_TEXT:
        n = a->u.text.n < b->u.text.n ? a->u.text.n : b->u.text.n;
        c = n ? memcmp(a->u.text.p, b->u.text.p, n) : 0;
        return c ? (c > 0) - (c < 0) : sign3(a->u.text.n, b->u.text.n);
    case FS_VAL_ID:
        c = memcmp(a->u.id.b, b->u.id.b, sizeof a->u.id.b);
        return (c > 0) - (c < 0);
    case FS_VAL_REAL:
        fail_msg("the property generator makes no reals");
        return 0;
    case FS_VAL_NULL:
        break;
    }
    return 0;
}

static int esign_slot(const fs_entity *e)
{
    for (size_t i = 0; i < e->nfields; i++)
        if (e->fields[i].policy == FS_POLICY_ESIGN)
            return (int)i;
    return -1;
}

/* Merges changes seq[0..n) into a fresh row; records go to list (may be
 * NULL). Checks the e-sign rank never goes down. Returns 0 or -1 (pc->why). */
static int fold(pcase *pc, const size_t *seq, size_t n, fs_row *row, fs_conflict_list *list)
{
    fs_merge_ctx ctx = {0};
    fs_conflict_list scratch = {0};
    fs_id id;
    int es = esign_slot(pc->e), rank = -2;
    int rc = 0;

    tk_row_id(1, &id);
    assert_int_equal(fs_row_init(row, pc->e, &id, NULL), FS_OK);
    ctx.origin = FS_ORIGIN_DEVICE;
    for (size_t k = 0; k < n && rc == 0; k++) {
        fs_merge_result res;
        fs_error err = {0};
        fs_status st = fs_merge(&ctx, row, &pc->ch[seq[k]], &res, list ? list : &scratch, &err);
        if (st != FS_OK) {
            snprintf(pc->why, sizeof pc->why, "merge of change %zu failed: %s", seq[k],
                     err.text);
            rc = -1;
            break;
        }
        if (res.outcome == FS_REJECTED) {
            snprintf(pc->why, sizeof pc->why, "change %zu rejected (%s) with no rule that rejects",
                     seq[k], res.detail);
            rc = -1;
        }
        if (es >= 0) {
            int now = esign_rank_of(&row->cells[es].v, row->cells[es].hlc);
            if (now < rank) {
                snprintf(pc->why, sizeof pc->why, "e-sign regressed from %d to %d at step %zu",
                         rank, now, k);
                rc = -1;
            }
            rank = now;
        }
    }
    fs_conflict_list_free(&scratch);
    return rc;
}

/* Exports a row as one change per written register (its writer, its stamp),
 * then merges those into `into`: a state-based join of two rows. */
static int join_row(pcase *pc, fs_row *into, const fs_row *from)
{
    fs_merge_ctx ctx = {0};
    fs_conflict_list scratch = {0};
    int rc = 0;

    for (size_t s = 0; s <= pc->e->nfields && rc == 0; s++) {
        fs_change c;
        fs_merge_result res;
        fs_error err = {0};
        const fs_id *dev = s < pc->e->nfields ? &from->cells[s].device : &from->del_device;

        if (s < pc->e->nfields ? from->cells[s].hlc == 0 : from->del_hlc == 0)
            continue;
        assert_int_equal(fs_change_init(&c, pc->e, &from->id, dev, NULL), FS_OK);
        if (s < pc->e->nfields)
            assert_int_equal(fs_change_set(&c, (int)s, &from->cells[s].v, from->cells[s].hlc,
                                           NULL), FS_OK);
        else
            fs_change_tombstone(&c, from->deleted, from->del_hlc);
        if (fs_merge(&ctx, into, &c, &res, &scratch, &err) != FS_OK) {
            snprintf(pc->why, sizeof pc->why, "joining rows failed: %s", err.text);
            rc = -1;
        }
        fs_change_free(&c);
    }
    fs_conflict_list_free(&scratch);
    return rc;
}

/* Is (hlc, dev, v) ahead of the best so far under the register's order? */
static int reg_cmp(const fs_field *f, fs_hlc h1, const fs_id *d1, const fs_value *v1,
                   fs_hlc h2, const fs_id *d2, const fs_value *v2)
{
    int c;

    if (f && f->policy == FS_POLICY_ESIGN) {
        int a = esign_rank_of(v1, h1), b = esign_rank_of(v2, h2);
        if (a != b)
            return a > b ? 1 : -1;
    }
    c = oracle_stamp_cmp(h1, d1, h2, d2);
    if (c == 0)
        c = oracle_value_cmp(v1, v2);
    if (f && f->policy == FS_POLICY_ONCE && h2 != 0)
        c = -c; /* the lowest stamp stands */
    return c;
}

/* The oracle: every register computed directly from the set of writes. */
static void oracle(pcase *pc, fs_row *want)
{
    fs_id id;

    tk_row_id(1, &id);
    assert_int_equal(fs_row_init(want, pc->e, &id, NULL), FS_OK);
    for (size_t i = 0; i < pc->nch; i++) {
        const fs_change *c = &pc->ch[i];
        for (size_t k = 0; k < c->nfields; k++) {
            const fs_field_change *w = &c->fields[k];
            fs_cell *cell = &want->cells[w->slot];
            if (cell->hlc == 0 || reg_cmp(&pc->e->fields[w->slot], w->hlc, &c->device, &w->v,
                                          cell->hlc, &cell->device, &cell->v) > 0) {
                assert_int_equal(fs_value_copy(&cell->v, &w->v, NULL), FS_OK);
                cell->hlc = w->hlc;
                cell->device = c->device;
            }
        }
        if (c->has_tomb) {
            fs_value a = fs_value_int(c->deleted), b = fs_value_int(want->deleted);
            if (want->del_hlc == 0 ||
                reg_cmp(NULL, c->tomb_hlc, &c->device, &a, want->del_hlc, &want->del_device,
                        &b) > 0) {
                want->deleted = c->deleted;
                want->del_hlc = c->tomb_hlc;
                want->del_device = c->device;
            }
        }
    }
}

static bool rec_names(const fs_conflict *k, int field, fs_hlc h, const fs_id *dev,
                      const fs_value *v, bool theirs)
{
    if (k->field != field)
        return false;
    if (theirs)
        return k->theirs_hlc == h && fs_id_cmp(&k->theirs_device, dev) == 0 &&
               (!v || fs_value_eq(&k->theirs, v));
    return k->yours_hlc == h && fs_id_cmp(&k->yours_device, dev) == 0 &&
           (!v || fs_value_eq(&k->yours, v));
}

/* A record names the write itself, or (for a field write) the same value in
 * the same field: an equal write that superseded this one silently (same
 * value, nothing lost) and was itself recorded when it lost. */
static bool recorded(const fs_conflict_list *l, int field, fs_hlc h, const fs_id *dev,
                     const fs_value *v)
{
    for (size_t i = 0; i < l->n; i++) {
        const fs_conflict *k = &l->items[i];
        if (rec_names(k, field, h, dev, v, false) || rec_names(k, field, h, dev, v, true))
            return true;
        if (v && k->field == field && (fs_value_eq(&k->theirs, v) || fs_value_eq(&k->yours, v)))
            return true;
    }
    return false;
}

/* Nothing vanishes (see the file comment). */
static int accounted(pcase *pc, const fs_row *row, const fs_conflict_list *l)
{
    char a[1024];

    for (size_t i = 0; i < pc->nch; i++) {
        const fs_change *c = &pc->ch[i];
        for (size_t k = 0; k < c->nfields; k++) {
            const fs_field_change *w = &c->fields[k];
            const fs_cell *cell = &row->cells[w->slot];
            const fs_field *f = &pc->e->fields[w->slot];
            bool ok = fs_value_eq(&cell->v, &w->v) ||
                      recorded(l, w->slot, w->hlc, &c->device, &w->v);
            if (!ok && f->policy == FS_POLICY_ESIGN)
                ok = esign_rank_of(&cell->v, cell->hlc) > esign_rank_of(&w->v, w->hlc);
            /* Seen by a later writer of the same field. */
            for (size_t j = 0; j < pc->nch && !ok; j++)
                for (size_t m = 0; m < pc->ch[j].nfields && !ok; m++)
                    ok = pc->ch[j].fields[m].slot == w->slot &&
                         pc->ch[j].fields[m].base_hlc >= w->hlc;
            if (!ok) {
                snprintf(pc->why, sizeof pc->why,
                         "write %s of change %zu (hlc %" PRIu64 ".%u) vanished: row %s",
                         f->name, i, fs_hlc_ms(w->hlc), (unsigned)fs_hlc_count(w->hlc),
                         tk_row_str(row, a, sizeof a));
                return -1;
            }
        }
        if (c->has_tomb) {
            bool ok = row->deleted == c->deleted || recorded(l, -1, c->tomb_hlc, &c->device, NULL);
            /* A tombstone write superseded by a newer one (an explicit
             * restore or a later delete) is the register's history. */
            fs_value mine = fs_value_int(c->deleted), final = fs_value_int(row->deleted);
            ok = ok || reg_cmp(NULL, row->del_hlc, &row->del_device, &final, c->tomb_hlc,
                               &c->device, &mine) > 0;
            if (!ok) {
                snprintf(pc->why, sizeof pc->why, "tombstone write of change %zu vanished", i);
                return -1;
            }
        }
    }
    /* Every write newer than the delete that hides it is recorded. */
    if (row->deleted) {
        for (size_t s = 0; s < pc->e->nfields; s++) {
            const fs_cell *cell = &row->cells[s];
            bool ok = false;
            if (cell->hlc <= row->del_hlc)
                continue;
            for (size_t i = 0; i < l->n && !ok; i++)
                ok = l->items[i].rule == FS_RULE_DELETE_WINS &&
                     (rec_names(&l->items[i], (int)s, cell->hlc, &cell->device, &cell->v, false) ||
                      rec_names(&l->items[i], (int)s, cell->hlc, &cell->device, &cell->v, true));
            if (!ok) {
                snprintf(pc->why, sizeof pc->why,
                         "write of %s hidden by the delete without a delete_wins record: %s",
                         pc->e->fields[s].name, tk_row_str(row, a, sizeof a));
                return -1;
            }
        }
    }
    return 0;
}

static void shuffle(prng *r, size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = below(r, (unsigned)i), t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static bool verbose;

/* With FS_SEED: print the case's changes and the records of the reference
 * order, so a failure can be read without a debugger. */
static void dump_case(const pcase *pc, const fs_conflict_list *l)
{
    char v[96], base[96];

    for (size_t i = 0; i < pc->nch; i++) {
        const fs_change *c = &pc->ch[i];
        print_message("   change %zu by %s:", i, tk_dev_name(&c->device));
        for (size_t k = 0; k < c->nfields; k++)
            print_message(" %s=%s@%" PRIu64 ".%u(base %s@%" PRIu64 ".%u)",
                          pc->e->fields[c->fields[k].slot].name,
                          tk_value_str(&c->fields[k].v, v, sizeof v), fs_hlc_ms(c->fields[k].hlc),
                          (unsigned)fs_hlc_count(c->fields[k].hlc),
                          tk_value_str(&c->fields[k].base, base, sizeof base),
                          fs_hlc_ms(c->fields[k].base_hlc),
                          (unsigned)fs_hlc_count(c->fields[k].base_hlc));
        if (c->has_tomb)
            print_message(" %s@%" PRIu64 ".%u", c->deleted ? "DELETE" : "RESTORE",
                          fs_hlc_ms(c->tomb_hlc), (unsigned)fs_hlc_count(c->tomb_hlc));
        print_message("\n");
    }
    for (size_t i = 0; l && i < l->n; i++) {
        char buf[512];
        print_message("   record %zu: %s\n", i, tk_conflict_str(&l->items[i], buf, sizeof buf));
    }
}

/* One case; returns 0 or -1 with pc->why set. */
static int run_one(uint64_t seed, pcase *pc)
{
    prng r = {seed ^ UINT64_C(0xA5A5A5A5A5A5A5A5)};
    size_t seq[MAXSEQ], n;
    fs_row ref = {0}, want = {0}, perm = {0}, joined = {0};
    fs_row part[3] = {{0}};
    fs_conflict_list l0 = {0}, l1 = {0};
    char a[1024], b[1024];
    int rc = -1;

    gen_case(pc, seed);

    /* Reference: declaration order. */
    for (size_t i = 0; i < pc->nch; i++)
        seq[i] = i;
    if (fold(pc, seq, pc->nch, &ref, &l0) != 0)
        goto done;
    oracle(pc, &want);
    if (!fs_row_eq(&ref, &want)) {
        snprintf(pc->why, sizeof pc->why, "row differs from the oracle\n   got  %s\n   want %s",
                 tk_row_str(&ref, a, sizeof a), tk_row_str(&want, b, sizeof b));
        goto done;
    }
    if (verbose)
        dump_case(pc, &l0);
    if (accounted(pc, &ref, &l0) != 0)
        goto done;

    /* Another order, with duplicates. */
    n = pc->nch;
    for (size_t extra = below(&r, 4); extra > 0; extra--)
        seq[n++] = below(&r, (unsigned)pc->nch);
    shuffle(&r, seq, n);
    if (fold(pc, seq, n, &perm, &l1) != 0)
        goto done;
    if (!fs_row_eq(&ref, &perm)) {
        snprintf(pc->why, sizeof pc->why, "order/duplicates matter\n   ref  %s\n   perm %s",
                 tk_row_str(&ref, a, sizeof a), tk_row_str(&perm, b, sizeof b));
        goto done;
    }
    if (accounted(pc, &perm, &l1) != 0)
        goto done;

    /* Grouping: fold groups into partial rows, then join the partial rows
     * in a random order. */
    {
        size_t ng = 1 + below(&r, 3), start = 0, order[3] = {0, 1, 2};
        fs_id id;
        for (size_t g = 0; g < ng; g++) {
            size_t end = g + 1 == ng ? n : start + below(&r, (unsigned)(n - start + 1));
            if (fold(pc, seq + start, end - start, &part[g], NULL) != 0)
                goto done;
            start = end;
        }
        shuffle(&r, order, ng);
        tk_row_id(1, &id);
        assert_int_equal(fs_row_init(&joined, pc->e, &id, NULL), FS_OK);
        for (size_t g = 0; g < ng; g++)
            if (join_row(pc, &joined, &part[order[g]]) != 0)
                goto done;
        if (!fs_row_eq(&ref, &joined)) {
            snprintf(pc->why, sizeof pc->why, "grouping matters\n   ref    %s\n   joined %s",
                     tk_row_str(&ref, a, sizeof a), tk_row_str(&joined, b, sizeof b));
            goto done;
        }
    }
    rc = 0;
done:
    fs_row_free(&ref);
    fs_row_free(&want);
    fs_row_free(&perm);
    fs_row_free(&joined);
    for (int g = 0; g < 3; g++)
        fs_row_free(&part[g]);
    fs_conflict_list_free(&l0);
    fs_conflict_list_free(&l1);
    free_case(pc);
    return rc;
}

static void test_properties(void **state)
{
    (void)state;
    const char *env = getenv("FS_SEED");
    pcase *pc = calloc(1, sizeof *pc);
    uint64_t first = SEED0, count = NCASES;
    size_t failures = 0;
    uint64_t first_bad = 0;

    assert_non_null(pc);
    if (env && *env) {
        first = strtoull(env, NULL, 0);
        count = 1;
        verbose = true;
        print_message("FS_SEED=%" PRIu64 ": running that case only\n", first);
    }
    for (uint64_t i = 0; i < count; i++) {
        uint64_t seed = first + i;
        if (run_one(seed, pc) != 0) {
            if (failures++ == 0)
                first_bad = seed;
            if (failures <= 5)
                print_message("property case failed: seed=%" PRIu64
                              " (replay: FS_SEED=%" PRIu64 " test_conflict_props)\n   %s\n",
                              seed, seed, pc->why);
        }
    }
    free(pc);
    if (failures)
        fail_msg("%zu of %" PRIu64 " property cases failed; first seed %" PRIu64
                 " (FS_SEED=%" PRIu64 ")", failures, count, first_bad, first_bad);
    print_message("%" PRIu64 " property cases passed\n", count);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_properties),
    };
    return cmocka_run_group_tests_name("conflict_props", tests, NULL, NULL);
}
