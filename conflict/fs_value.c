/*
 * fs_value.c - values, rows and changes: construction, copying, ordering and
 * validation against the schema.
 *
 * Validation lives here, next to the types, so that every entry point (the
 * client API, the wire decoder, the server's import) rejects the same bad
 * input with the same message before anything reaches a store.
 */
#include "fs_conflict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fs_val_kind fs_type_kind(fs_type t)
{
    switch (t) {
    case FS_TYPE_TEXT:
    case FS_TYPE_ENUM:
    case FS_TYPE_CURRENCY:
        return FS_VAL_TEXT;
    case FS_TYPE_REAL:
        return FS_VAL_REAL;
    case FS_TYPE_ID:
        return FS_VAL_ID;
    case FS_TYPE_INT:
    case FS_TYPE_BOOL:
    case FS_TYPE_TIME:
    case FS_TYPE_MONEY:
        return FS_VAL_INT;
    }
    return FS_VAL_NULL;
}

fs_value fs_value_int(int64_t i)
{
    fs_value v = {.kind = FS_VAL_INT};
    v.u.i = i;
    return v;
}

fs_value fs_value_real(double r)
{
    fs_value v = {.kind = FS_VAL_REAL};
    /* SQLite stores -0.0 as 0.0; normalise so a merge tie-break never sees
     * a difference that a store round trip erases. */
    v.u.r = r == 0 ? 0.0 : r;
    return v;
}

fs_value fs_value_idv(const fs_id *id)
{
    fs_value v = {.kind = FS_VAL_ID};
    v.u.id = *id;
    return v;
}

fs_status fs_value_text(fs_value *out, const char *s, size_t n, fs_error *err)
{
    char *p;

    if (!out || (!s && n))
        return fs_error_set(err, FS_EINVAL, "fs_value_text: NULL argument");
    if (n > UINT32_MAX - 1)
        return fs_error_set(err, FS_ETOOLONG, "text of %zu bytes is too long", n);
    p = malloc(n + 1);
    if (!p)
        return fs_error_set(err, FS_ENOMEM, "out of memory copying %zu bytes", n);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    out->kind = FS_VAL_TEXT;
    out->u.text.p = p;
    out->u.text.n = (uint32_t)n;
    return FS_OK;
}

fs_status fs_value_copy(fs_value *dst, const fs_value *src, fs_error *err)
{
    if (!dst || !src)
        return fs_error_set(err, FS_EINVAL, "fs_value_copy: NULL argument");
    if (src->kind == FS_VAL_TEXT) {
        fs_value tmp;
        fs_status st = fs_value_text(&tmp, src->u.text.p, src->u.text.n, err);
        if (st != FS_OK)
            return st;
        fs_value_clear(dst);
        *dst = tmp;
        return FS_OK;
    }
    if (dst != src) {
        fs_value_clear(dst);
        *dst = *src;
    }
    return FS_OK;
}

void fs_value_clear(fs_value *v)
{
    if (!v)
        return;
    if (v->kind == FS_VAL_TEXT)
        free(v->u.text.p);
    memset(v, 0, sizeof *v);
}

/* IEEE-754 total order as an integer, so NaN and -0.0 order deterministically. */
static int64_t real_key(double r)
{
    int64_t k;
    if (r == 0)
        r = 0.0; /* -0.0 and 0.0 are one value (see fs_value_real) */
    memcpy(&k, &r, sizeof k);
    return k < 0 ? (int64_t)((uint64_t)k ^ INT64_MAX) : k;
}

int fs_value_cmp(const fs_value *a, const fs_value *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    switch (a->kind) {
    case FS_VAL_NULL:
        return 0;
    case FS_VAL_INT:
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    case FS_VAL_REAL: {
        int64_t x = real_key(a->u.r), y = real_key(b->u.r);
        return (x > y) - (x < y);
    }
    case FS_VAL_TEXT: {
        uint32_t n = a->u.text.n < b->u.text.n ? a->u.text.n : b->u.text.n;
        int c = n ? memcmp(a->u.text.p, b->u.text.p, n) : 0;
        if (c)
            return (c > 0) - (c < 0);
        return (a->u.text.n > b->u.text.n) - (a->u.text.n < b->u.text.n);
    }
    case FS_VAL_ID:
        return (fs_id_cmp(&a->u.id, &b->u.id) > 0) - (fs_id_cmp(&a->u.id, &b->u.id) < 0);
    }
    return 0;
}

bool fs_value_eq(const fs_value *a, const fs_value *b)
{
    return fs_value_cmp(a, b) == 0;
}

static const char *kind_name(fs_val_kind k)
{
    switch (k) {
    case FS_VAL_NULL: return "null";
    case FS_VAL_INT: return "integer";
    case FS_VAL_REAL: return "real";
    case FS_VAL_TEXT: return "text";
    case FS_VAL_ID: return "id";
    }
    return "?";
}

fs_status fs_field_check(const fs_field *f, const fs_value *v, fs_error *err)
{
    fs_val_kind want;

    if (!f || !v)
        return fs_error_set(err, FS_EINVAL, "fs_field_check: NULL argument");
    if (v->kind == FS_VAL_NULL) {
        if (f->flags & FS_FIELD_REQUIRED)
            return fs_error_set(err, FS_ERANGE, "field %s is required and cannot be null",
                                f->name);
        return FS_OK;
    }
    want = fs_type_kind(f->type);
    if (v->kind != want)
        return fs_error_set(err, FS_ETYPE, "field %s takes %s, not %s", f->name,
                            kind_name(want), kind_name(v->kind));
    switch (f->type) {
    case FS_TYPE_TEXT:
        if (v->u.text.n > f->max_len)
            return fs_error_set(err, FS_ETOOLONG,
                                "field %s is %u bytes, limit is %u", f->name,
                                (unsigned)v->u.text.n, (unsigned)f->max_len);
        if (memchr(v->u.text.p, '\0', v->u.text.n))
            return fs_error_set(err, FS_ETYPE, "field %s contains a NUL byte", f->name);
        if (!fs_utf8_valid(v->u.text.p, v->u.text.n))
            return fs_error_set(err, FS_ETYPE, "field %s is not valid UTF-8", f->name);
        break;
    case FS_TYPE_ENUM:
        for (const char *const *e = f->enum_values; e && *e; e++)
            if (strlen(*e) == v->u.text.n && memcmp(*e, v->u.text.p, v->u.text.n) == 0)
                return FS_OK;
        return fs_error_set(err, FS_ERANGE, "field %s: '%.*s' is not one of its values",
                            f->name, v->u.text.n > 32 ? 32 : (int)v->u.text.n,
                            v->u.text.p);
    case FS_TYPE_CURRENCY:
        if (!fs_currency_valid(v->u.text.p, v->u.text.n))
            return fs_error_set(err, FS_ERANGE,
                                "field %s: '%.*s' is not an ISO 4217 currency code",
                                f->name, v->u.text.n > 8 ? 8 : (int)v->u.text.n,
                                v->u.text.p);
        break;
    case FS_TYPE_BOOL:
        if (v->u.i != 0 && v->u.i != 1)
            return fs_error_set(err, FS_ERANGE, "field %s is a boolean (0 or 1)", f->name);
        break;
    case FS_TYPE_REAL:
        if (!isfinite(v->u.r))
            return fs_error_set(err, FS_ERANGE, "field %s must be a finite number", f->name);
        break;
    case FS_TYPE_TIME:
        if (v->u.i < 0 || (uint64_t)v->u.i > FS_HLC_MS_MAX)
            return fs_error_set(err, FS_ERANGE, "field %s: time out of range", f->name);
        break;
    case FS_TYPE_ID:
        if (fs_id_is_nil(&v->u.id))
            return fs_error_set(err, FS_EBADID, "field %s: the nil id is not a reference",
                                f->name);
        break;
    case FS_TYPE_INT:
    case FS_TYPE_MONEY:
        break;
    }
    if (f->flags & FS_FIELD_RANGE) {
        double x = v->kind == FS_VAL_REAL ? v->u.r : (double)v->u.i;
        if (x < f->lo || x > f->hi)
            return fs_error_set(err, FS_ERANGE, "field %s: %g is outside [%g, %g]",
                                f->name, x, f->lo, f->hi);
    }
    return FS_OK;
}

/* ------------------------------------------------------------------------ */

fs_status fs_row_init(fs_row *row, const fs_entity *e, const fs_id *id, fs_error *err)
{
    if (!row || !e || !id)
        return fs_error_set(err, FS_EINVAL, "fs_row_init: NULL argument");
    memset(row, 0, sizeof *row);
    row->cells = calloc(e->nfields, sizeof *row->cells);
    if (!row->cells)
        return fs_error_set(err, FS_ENOMEM, "out of memory for a %s row", e->name);
    row->entity = e;
    row->id = *id;
    return FS_OK;
}

void fs_row_free(fs_row *row)
{
    if (!row || !row->cells)
        return;
    for (size_t i = 0; i < row->entity->nfields; i++)
        fs_value_clear(&row->cells[i].v);
    free(row->cells);
    memset(row, 0, sizeof *row);
}

fs_status fs_row_copy(fs_row *dst, const fs_row *src, fs_error *err)
{
    fs_row tmp;
    fs_status st;

    if (!dst || !src || !src->entity)
        return fs_error_set(err, FS_EINVAL, "fs_row_copy: NULL argument");
    st = fs_row_init(&tmp, src->entity, &src->id, err);
    if (st != FS_OK)
        return st;
    for (size_t i = 0; i < src->entity->nfields; i++) {
        st = fs_value_copy(&tmp.cells[i].v, &src->cells[i].v, err);
        if (st != FS_OK) {
            fs_row_free(&tmp);
            return st;
        }
        tmp.cells[i].hlc = src->cells[i].hlc;
        tmp.cells[i].device = src->cells[i].device;
    }
    tmp.deleted = src->deleted;
    tmp.del_hlc = src->del_hlc;
    tmp.del_device = src->del_device;
    fs_row_free(dst);
    *dst = tmp;
    return FS_OK;
}

bool fs_row_exists(const fs_row *row)
{
    if (!row || !row->cells)
        return false;
    if (row->del_hlc)
        return true;
    for (size_t i = 0; i < row->entity->nfields; i++)
        if (row->cells[i].hlc)
            return true;
    return false;
}

bool fs_row_eq(const fs_row *a, const fs_row *b)
{
    if (a->entity != b->entity || fs_id_cmp(&a->id, &b->id) != 0)
        return false;
    if (a->deleted != b->deleted || a->del_hlc != b->del_hlc ||
        fs_id_cmp(&a->del_device, &b->del_device) != 0)
        return false;
    for (size_t i = 0; i < a->entity->nfields; i++) {
        const fs_cell *x = &a->cells[i], *y = &b->cells[i];
        if (x->hlc != y->hlc || fs_id_cmp(&x->device, &y->device) != 0 ||
            !fs_value_eq(&x->v, &y->v))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */

fs_status fs_change_init(fs_change *c, const fs_entity *e, const fs_id *row,
                         const fs_id *device, fs_error *err)
{
    if (!c || !e || !row || !device)
        return fs_error_set(err, FS_EINVAL, "fs_change_init: NULL argument");
    memset(c, 0, sizeof *c);
    c->entity = e;
    c->row = *row;
    c->device = *device;
    return FS_OK;
}

void fs_change_free(fs_change *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nfields; i++) {
        fs_value_clear(&c->fields[i].v);
        fs_value_clear(&c->fields[i].base);
    }
    free(c->fields);
    memset(c, 0, sizeof *c);
}

static fs_field_change *change_find(const fs_change *c, int slot)
{
    for (size_t i = 0; i < c->nfields; i++)
        if (c->fields[i].slot == slot)
            return &c->fields[i];
    return NULL;
}

fs_status fs_change_set(fs_change *c, int slot, const fs_value *v, fs_hlc hlc,
                        fs_error *err)
{
    fs_field_change *fc;
    fs_status st;

    if (!c || !c->entity || !v)
        return fs_error_set(err, FS_EINVAL, "fs_change_set: NULL argument");
    if (slot < 0 || (size_t)slot >= c->entity->nfields)
        return fs_error_set(err, FS_EUNKNOWN_FIELD, "%s has no field slot %d",
                            c->entity->name, slot);
    if (hlc == 0)
        return fs_error_set(err, FS_EINVAL, "field %s.%s: a write needs a non-zero HLC",
                            c->entity->name, c->entity->fields[slot].name);
    if (change_find(c, slot))
        return fs_error_set(err, FS_EDUPLICATE, "field %s.%s is written twice in one change",
                            c->entity->name, c->entity->fields[slot].name);
    st = fs_field_check(&c->entity->fields[slot], v, err);
    if (st != FS_OK)
        return st;
    if (c->nfields == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        fs_field_change *p = realloc(c->fields, cap * sizeof *p);
        if (!p)
            return fs_error_set(err, FS_ENOMEM, "out of memory growing a change");
        c->fields = p;
        c->cap = cap;
    }
    fc = &c->fields[c->nfields];
    memset(fc, 0, sizeof *fc);
    st = fs_value_copy(&fc->v, v, err);
    if (st != FS_OK)
        return st;
    fc->slot = (uint16_t)slot;
    fc->hlc = hlc;
    c->nfields++;
    return FS_OK;
}

fs_status fs_change_set_base(fs_change *c, int slot, const fs_value *base,
                             fs_hlc base_hlc, fs_error *err)
{
    fs_field_change *fc;
    fs_status st;

    if (!c || !base)
        return fs_error_set(err, FS_EINVAL, "fs_change_set_base: NULL argument");
    fc = change_find(c, slot);
    if (!fc)
        return fs_error_set(err, FS_EUNKNOWN_FIELD,
                            "fs_change_set_base: slot %d is not written by the change", slot);
    st = fs_value_copy(&fc->base, base, err);
    if (st != FS_OK)
        return st;
    fc->has_base = true;
    fc->base_hlc = base_hlc;
    return FS_OK;
}

fs_status fs_change_set_named(fs_change *c, const char *field, const fs_value *v,
                              fs_hlc hlc, fs_error *err)
{
    int slot;

    if (!c || !c->entity || !field)
        return fs_error_set(err, FS_EINVAL, "fs_change_set_named: NULL argument");
    slot = fs_entity_field_index(c->entity, field);
    if (slot < 0)
        return fs_error_set(err, FS_EUNKNOWN_FIELD, "%s has no field '%.64s'",
                            c->entity->name, field);
    return fs_change_set(c, slot, v, hlc, err);
}

void fs_change_tombstone(fs_change *c, bool deleted, fs_hlc hlc)
{
    if (!c)
        return;
    c->has_tomb = true;
    c->deleted = deleted;
    c->tomb_hlc = hlc;
}

fs_status fs_change_check(const fs_change *c, fs_error *err)
{
    if (!c || !c->entity)
        return fs_error_set(err, FS_EINVAL, "change without an entity");
    if (fs_schema_entity_by_tag(c->entity->tag) != c->entity)
        return fs_error_set(err, FS_EUNKNOWN_ENTITY, "change names an unknown entity");
    if (fs_id_is_nil(&c->row))
        return fs_error_set(err, FS_EBADID, "%s change: the nil id is not a row id",
                            c->entity->name);
    if (c->has_tomb && c->tomb_hlc == 0)
        return fs_error_set(err, FS_EINVAL, "%s change: tombstone write needs a non-zero HLC",
                            c->entity->name);
    if (c->nfields == 0 && !c->has_tomb)
        return fs_error_set(err, FS_EINVAL, "%s change writes nothing", c->entity->name);
    for (size_t i = 0; i < c->nfields; i++) {
        const fs_field_change *fc = &c->fields[i];
        fs_status st;
        if (fc->slot >= c->entity->nfields)
            return fs_error_set(err, FS_EUNKNOWN_FIELD, "%s has no field slot %u",
                                c->entity->name, (unsigned)fc->slot);
        if (fc->hlc == 0)
            return fs_error_set(err, FS_EINVAL, "field %s.%s: a write needs a non-zero HLC",
                                c->entity->name, c->entity->fields[fc->slot].name);
        st = fs_field_check(&c->entity->fields[fc->slot], &fc->v, err);
        if (st != FS_OK)
            return st;
        for (size_t j = 0; j < i; j++)
            if (c->fields[j].slot == fc->slot)
                return fs_error_set(err, FS_EDUPLICATE,
                                    "field %s.%s is written twice in one change",
                                    c->entity->name, c->entity->fields[fc->slot].name);
    }
    return FS_OK;
}

size_t fs_real_format(double d, char buf[FS_REAL_STRLEN + 1])
{
    char b[40];
    size_t k = 0;

    if (!isfinite(d) || d == 0) {
        const char *t = isnan(d) ? "NaN" : d == 0 ? "0" : d > 0 ? "Infinity" : "-Infinity";
        k = strlen(t);
        memcpy(buf, t, k + 1);
        return k;
    }
    /* %.17g always reads back; shorter forms often do. */
    for (int prec = 15; prec <= 17; prec++) {
        double back;
        snprintf(b, sizeof b, "%.*g", prec, d);
        back = strtod(b, NULL);
        if (memcmp(&back, &d, sizeof d) == 0)
            break;
    }
    /* Keep digits, sign and exponent; whatever else is there is the
     * locale's decimal point (maybe several bytes): write '.'. */
    for (size_t i = 0; b[i] && k < FS_REAL_STRLEN; i++) {
        char c = b[i];
        if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e')
            buf[k++] = c;
        else if (k == 0 || buf[k - 1] != '.')
            buf[k++] = '.';
    }
    buf[k] = 0;
    return k;
}
