/*
 * fc_names.c - rows people can name: short ids and references.
 *
 * Row ids are UUIDv7: time-ordered, so rows created close together share
 * their first 13 hex digits and a prefix would not tell them apart. A short
 * id is therefore the id's TAIL: its last 8 hex digits, extended digit by
 * digit while another live row of the same entity shares them, so it is
 * unique in the replica at the time it is shown. fc_resolve turns what a rep
 * typed back into an id: a full id, a short id (any tail of at least 4 hex
 * digits), or for customers a name and for products a SKU; a reference that
 * matches several rows is FC_EAMBIGUOUS, its message listing the candidates,
 * and nothing is done. The CLI and a handheld app share these rules.
 */
#include "fc_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHORT_MIN 8    /* hex digits shown at least */
#define TAIL_MIN 4     /* hex digits accepted at least */
#define CANDIDATES 5   /* candidates named in an ambiguity message */

struct fc_short_ids {
    size_t n;
    fs_id *ids;        /* sorted by their bytes read from the end */
};

/* Orders ids by their bytes from the last one: ids sharing a tail sort
 * next to each other. */
static int cmp_tail(const void *x, const void *y)
{
    const fs_id *a = x, *b = y;

    for (int i = 15; i >= 0; i--)
        if (a->b[i] != b->b[i])
            return a->b[i] < b->b[i] ? -1 : 1;
    return 0;
}

/* Hex digits two ids share at their end (0..32). */
static unsigned common_tail(const fs_id *a, const fs_id *b)
{
    unsigned n = 0;

    for (int i = 15; i >= 0; i--) {
        if (a->b[i] == b->b[i]) {
            n += 2;
            continue;
        }
        if ((a->b[i] & 0x0f) == (b->b[i] & 0x0f))
            n++;
        break;
    }
    return n;
}

fc_status fc_short_ids_load(fc_client *c, const char *entity, fc_short_ids **out,
                            fs_error *err)
{
    const fs_entity *e = fs_schema_entity(entity ? entity : "");
    sqlite3_stmt *st = NULL;
    fc_short_ids *s;
    size_t cap = 0;
    char sql[256];
    fc_status rc;
    int r;

    *out = NULL;
    if (!c || !e)
        return fc__fail(err, FC_EINVAL, "short ids: unknown entity '%.32s'",
                        entity ? entity : "");
    s = calloc(1, sizeof *s);
    if (!s)
        return fc__fail(err, FC_ENOMEM, "out of memory");
    snprintf(sql, sizeof sql, "SELECT id FROM \"%s\" WHERE deleted = 0",
             fs_store_table(c->disp, e));
    rc = fc__prepare(c, sql, &st, err);
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        if (s->n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            fs_id *ni = realloc(s->ids, ncap * sizeof *ni);
            if (!ni) {
                rc = fc__fail(err, FC_ENOMEM, "out of memory");
                break;
            }
            s->ids = ni;
            cap = ncap;
        }
        memcpy(s->ids[s->n++].b, sqlite3_column_blob(st, 0), 16);
    }
    if (!rc && r != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "short ids");
    sqlite3_finalize(st);
    if (rc) {
        fc_short_ids_free(s);
        return rc;
    }
    if (s->n)
        qsort(s->ids, s->n, sizeof *s->ids, cmp_tail);
    *out = s;
    return FC_OK;
}

void fc_short_ids_format(const fc_short_ids *s, const fs_id *id, char out[33])
{
    char full[FS_ID_STRLEN + 1], hex[33];
    unsigned need = SHORT_MIN;
    size_t k = 0;

    fs_id_format(id, full);
    for (const char *p = full; *p; p++)
        if (*p != '-')
            hex[k++] = *p;
    hex[k] = '\0';
    if (s && s->n) {
        /* Neighbours in tail order share the longest tails with id. */
        size_t lo = 0, hi = s->n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (cmp_tail(&s->ids[mid], id) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo > 0 ? lo - 1 : 0; i < s->n && i <= lo + 1; i++) {
            unsigned t = fs_id_cmp(&s->ids[i], id) == 0 ? 0 : common_tail(&s->ids[i], id);
            if (t + 1 > need)
                need = t + 1 > 32 ? 32 : t + 1;
        }
    }
    memcpy(out, hex + 32 - need, need + 1);
}

void fc_short_ids_free(fc_short_ids *s)
{
    if (!s)
        return;
    free(s->ids);
    free(s);
}

/* ------------------------------------------------------------------------ */
/* Resolving a reference                                                     */
/* ------------------------------------------------------------------------ */

typedef struct found {
    size_t n;
    fs_id ids[CANDIDATES + 1];
    const fs_entity *es[CANDIDATES + 1];
    char labels[CANDIDATES + 1][64];
} found;

static const char *label_column(const fs_entity *e)
{
    static const char *const keys[] = {"name", "title", "sku", "description", NULL};

    for (size_t k = 0; keys[k]; k++)
        if (fs_entity_field_index(e, keys[k]) >= 0)
            return keys[k];
    return NULL;
}

/* Rows of e whose `where` (with ?1 = arg) holds, added to f (counting all,
 * keeping the first few). */
static fc_status collect(fc_client *c, const fs_entity *e, const char *where,
                         const char *arg, found *f, fs_error *err)
{
    const char *label = label_column(e);
    sqlite3_stmt *st = NULL;
    char sql[512];
    fc_status rc;
    int r;

    snprintf(sql, sizeof sql, "SELECT id, %s%s%s FROM \"%s\" WHERE deleted = 0 AND %s"
             " ORDER BY id LIMIT 50", label ? "\"" : "", label ? label : "NULL",
             label ? "\"" : "", fs_store_table(c->disp, e), where);
    rc = fc__prepare(c, sql, &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 16)
            continue;
        if (f->n < CANDIDATES + 1) {
            const unsigned char *t = sqlite3_column_text(st, 1);
            memcpy(f->ids[f->n].b, sqlite3_column_blob(st, 0), 16);
            f->es[f->n] = e;
            snprintf(f->labels[f->n], sizeof f->labels[f->n], "%s", t ? (const char *)t : "");
        }
        f->n++;
    }
    if (r != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "resolve");
    sqlite3_finalize(st);
    return rc;
}

/* The candidates of an ambiguous reference, for the message. */
static fc_status ambiguous(fc_client *c, const char *what, const char *ref,
                           const found *f, fs_error *err)
{
    char list[600] = "";
    size_t k = 0;

    for (size_t i = 0; i < f->n && i < CANDIDATES; i++) {
        fc_short_ids *s = NULL;
        char sid[33];
        if (fc_short_ids_load(c, f->es[i]->name, &s, NULL) != FC_OK)
            s = NULL;
        fc_short_ids_format(s, &f->ids[i], sid);
        fc_short_ids_free(s);
        k += (size_t)snprintf(list + k, k < sizeof list ? sizeof list - k : 0, "%s%s%s%s%s",
                              i ? ", " : "", sid, f->labels[i][0] ? " (" : "",
                              f->labels[i], f->labels[i][0] ? ")" : "");
        if (k >= sizeof list)
            break;
    }
    return fc__fail(err, FC_EAMBIGUOUS, "'%.60s' matches %zu %ss: %.400s%s; nothing was "
                    "done (give a longer short id or the full id)", ref, f->n, what, list,
                    f->n > CANDIDATES ? ", ..." : "");
}

fc_status fc_resolve(fc_client *c, const char *entity, const char *ref, fs_id *out,
                     fs_error *err)
{
    const fs_entity *only = entity ? fs_schema_entity(entity) : NULL;
    const fs_entity *const *all;
    size_t nall = 0;
    found f;
    char tail[40], *pat = NULL;
    const char *what = only ? only->name : "row";
    fc_status rc = FC_OK;

    if (!c || !ref || !out || (entity && !only))
        return fc__fail(err, FC_EINVAL, "resolve: bad argument");
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "replica deleted");
    memset(&f, 0, sizeof f);
    if (fs_id_parse(ref, strlen(ref), out, NULL) == FS_OK)
        return FC_OK;
    all = fs_schema_entities(&nall);
    /* A short id: a tail of the hex digits. */
    if (fs_id_tail(ref, TAIL_MIN, tail)) {
        for (size_t i = 0; i < nall && !rc; i++)
            if (!only || all[i] == only)
                rc = collect(c, all[i], "lower(hex(id)) LIKE '%' || ?1", tail, &f, err);
        if (rc)
            return rc;
    }
    /* Customers by name, products by SKU: exactly (any case), else as a
     * part of the name. */
    if (f.n == 0 && only && (strcmp(only->name, "customer") == 0 ||
                             strcmp(only->name, "product") == 0)) {
        const char *col = strcmp(only->name, "customer") == 0 ? "name" : "sku";
        char where[128];
        size_t len = strlen(ref);
        snprintf(where, sizeof where, "\"%s\" = ?1 COLLATE NOCASE", col);
        rc = collect(c, only, where, ref, &f, err);
        if (!rc && f.n == 0 && len > 0) {
            pat = malloc(len * 2 + 3);
            if (!pat)
                return fc__fail(err, FC_ENOMEM, "out of memory");
            /* LIKE with the wildcards of the reference escaped. */
            size_t k = 0;
            pat[k++] = '%';
            for (const char *p = ref; *p; p++) {
                if (*p == '%' || *p == '_' || *p == '\\')
                    pat[k++] = '\\';
                pat[k++] = *p;
            }
            pat[k++] = '%';
            pat[k] = '\0';
            snprintf(where, sizeof where, "\"%s\" LIKE ?1 ESCAPE '\\'", col);
            rc = collect(c, only, where, pat, &f, err);
            free(pat);
        }
        if (rc)
            return rc;
    }
    if (f.n == 1) {
        *out = f.ids[0];
        return FC_OK;
    }
    if (f.n > 1)
        return ambiguous(c, what, ref, &f, err);
    return fc__fail(err, FC_ENOTFOUND, "no %s '%.60s' in this replica (give its short id "
                    "from a list, its full id%s)", what, ref,
                    only && strcmp(only->name, "customer") == 0 ? " or its name"
                    : only && strcmp(only->name, "product") == 0 ? " or its SKU" : "");
}
