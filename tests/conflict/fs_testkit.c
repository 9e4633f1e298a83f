/*
 * fs_testkit.c - turns compact row/change specs into fs_row / fs_change and
 * renders rows and conflict records for failure messages.
 *
 * The golden table and the property tests are data; this file is the one
 * place that knows how that data maps onto the public API.
 */
#include "conflict/fs_testkit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tk_dev(int n, fs_id *out)
{
    uint8_t rnd[10];

    memset(rnd, 0xd0 + n, sizeof rnd);
    /* The millisecond part orders the devices: A < B < C < S. */
    fs_id_from_parts(UINT64_C(0x0100000000) + (uint64_t)n, rnd, out);
}

void tk_row_id(int n, fs_id *out)
{
    uint8_t rnd[10];

    memset(rnd, 0x40 + n, sizeof rnd);
    fs_id_from_parts(UINT64_C(0x0190000000) + (uint64_t)n, rnd, out);
}

const char *tk_dev_name(const fs_id *id)
{
    static const struct { int n; const char *name; } devs[] = {
        {DEV_A, "A"}, {DEV_B, "B"}, {DEV_C, "C"}, {DEV_S, "S"}};
    fs_id d;

    if (fs_id_is_nil(id))
        return "-";
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++) {
        tk_dev(devs[i].n, &d);
        if (fs_id_cmp(&d, id) == 0)
            return devs[i].name;
    }
    return "?";
}

int tk_value_parse(const char *spec, fs_value *out)
{
    char *end = NULL;

    memset(out, 0, sizeof *out);
    if (!spec)
        return -1;
    if (strcmp(spec, "N") == 0)
        return 0;
    if (strlen(spec) < 2 || spec[1] != ':')
        return -1;
    errno = 0;
    switch (spec[0]) {
    case 'I':
        *out = fs_value_int(strtoll(spec + 2, &end, 10));
        return (errno || *end) ? -1 : 0;
    case 'R':
        *out = fs_value_real(strtod(spec + 2, &end));
        return (errno || *end) ? -1 : 0;
    case 'T':
        return fs_value_text(out, spec + 2, strlen(spec + 2), NULL) == FS_OK ? 0 : -1;
    case 'X': {
        long n = strtol(spec + 2, &end, 10);
        char *buf;
        int rc;
        if (errno || *end || n < 0 || n > 100000)
            return -1;
        buf = malloc((size_t)n + 1);
        if (!buf)
            return -1;
        memset(buf, 'x', (size_t)n);
        rc = fs_value_text(out, buf, (size_t)n, NULL) == FS_OK ? 0 : -1;
        free(buf);
        return rc;
    }
    case 'U': {
        long n = strtol(spec + 2, &end, 10);
        fs_id id;
        if (errno || *end)
            return -1;
        if (n == 0)
            memset(&id, 0, sizeof id); /* the nil id */
        else
            tk_row_id((int)n, &id);
        *out = fs_value_idv(&id);
        return 0;
    }
    default:
        return -1;
    }
}

/* Slot of a spec field name: "#<n>" is a raw slot, '!' prefix is skipped. */
static int spec_slot(const fs_entity *e, const char *name)
{
    if (name[0] == '!')
        name++;
    if (name[0] == '#')
        return atoi(name + 1);
    return fs_entity_field_index(e, name);
}

static bool spec_raw(const char *name)
{
    return name[0] == '!' || name[0] == '#';
}

int tk_row_build(const fs_entity *e, const tk_rowspec *s, fs_row *row,
                 char *msg, size_t cap)
{
    fs_id id;

    tk_row_id(1, &id);
    if (fs_row_init(row, e, &id, NULL) != FS_OK) {
        snprintf(msg, cap, "fs_row_init failed");
        return -1;
    }
    for (int i = 0; i < TK_MAXF && s->f[i].field; i++) {
        const tk_fw *w = &s->f[i];
        int slot = spec_slot(e, w->field);
        if (slot < 0 || (size_t)slot >= e->nfields) {
            snprintf(msg, cap, "row spec: %s has no field %s", e->name, w->field);
            return -1;
        }
        fs_value_clear(&row->cells[slot].v);
        if (tk_value_parse(w->val, &row->cells[slot].v) != 0) {
            snprintf(msg, cap, "row spec: bad value spec '%s'", w->val);
            return -1;
        }
        row->cells[slot].hlc = w->hlc;
        tk_dev(w->dev, &row->cells[slot].device);
    }
    if (s->tomb.set) {
        row->deleted = s->tomb.deleted != 0;
        row->del_hlc = s->tomb.hlc;
        tk_dev(s->tomb.dev, &row->del_device);
    }
    return 0;
}

/* Appends a field write without any check, to build invalid changes. The
 * change owns its array (realloc'd, freed by fs_change_free). */
static int raw_append(fs_change *c, int slot, fs_value *v, fs_hlc hlc)
{
    if (c->nfields == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 4;
        fs_field_change *p = realloc(c->fields, ncap * sizeof *p);
        if (!p)
            return -1;
        c->fields = p;
        c->cap = ncap;
    }
    memset(&c->fields[c->nfields], 0, sizeof c->fields[0]);
    c->fields[c->nfields].slot = (uint16_t)slot;
    c->fields[c->nfields].v = *v; /* stolen */
    c->fields[c->nfields].hlc = hlc;
    memset(v, 0, sizeof *v);
    c->nfields++;
    return 0;
}

int tk_change_build(const fs_entity *e, const tk_chspec *s, fs_change *c,
                    char *msg, size_t cap)
{
    fs_id row, dev;
    fs_error err = {0};

    tk_row_id(1, &row);
    tk_dev(s->dev, &dev);
    if (fs_change_init(c, e, &row, &dev, &err) != FS_OK) {
        snprintf(msg, cap, "fs_change_init: %s", err.text);
        return -1;
    }
    for (int i = 0; i < TK_MAXF && s->f[i].field; i++) {
        const tk_fw *w = &s->f[i];
        int slot = spec_slot(e, w->field);
        fs_value v;
        fs_status st;

        if (tk_value_parse(w->val, &v) != 0) {
            snprintf(msg, cap, "change spec: bad value spec '%s'", w->val);
            return -1;
        }
        if (spec_raw(w->field)) {
            int rc = raw_append(c, slot, &v, w->hlc);
            fs_value_clear(&v);
            if (rc != 0) {
                snprintf(msg, cap, "out of memory");
                return -1;
            }
            continue;
        }
        if (slot < 0) {
            fs_value_clear(&v);
            snprintf(msg, cap, "change spec: %s has no field %s", e->name, w->field);
            return -1;
        }
        st = fs_change_set(c, slot, &v, w->hlc, &err);
        fs_value_clear(&v);
        if (st != FS_OK) {
            snprintf(msg, cap, "fs_change_set(%s=%s): %s", w->field, w->val, err.text);
            return -1;
        }
        if (w->base) {
            fs_value b;
            if (tk_value_parse(w->base, &b) != 0) {
                snprintf(msg, cap, "change spec: bad base spec '%s'", w->base);
                return -1;
            }
            st = fs_change_set_base(c, slot, &b, w->base_hlc, &err);
            fs_value_clear(&b);
            if (st != FS_OK) {
                snprintf(msg, cap, "fs_change_set_base(%s): %s", w->field, err.text);
                return -1;
            }
        }
    }
    if (s->tomb.set)
        fs_change_tombstone(c, s->tomb.deleted != 0, s->tomb.hlc);
    return 0;
}

const char *tk_value_str(const fs_value *v, char *buf, size_t cap)
{
    char id[FS_ID_STRLEN + 1];

    switch (v->kind) {
    case FS_VAL_NULL:
        snprintf(buf, cap, "N");
        break;
    case FS_VAL_INT:
        snprintf(buf, cap, "I:%" PRId64, v->u.i);
        break;
    case FS_VAL_REAL:
        snprintf(buf, cap, "R:%g", v->u.r);
        break;
    case FS_VAL_TEXT:
        snprintf(buf, cap, "T:%.40s%s", v->u.text.p, v->u.text.n > 40 ? "..." : "");
        break;
    case FS_VAL_ID:
        fs_id_format(&v->u.id, id);
        snprintf(buf, cap, "U:%s", id);
        break;
    default:
        snprintf(buf, cap, "<kind %d>", (int)v->kind);
        break;
    }
    return buf;
}

static void hlc_str(fs_hlc h, char *buf, size_t cap)
{
    snprintf(buf, cap, "%" PRIu64 ".%u", fs_hlc_ms(h), (unsigned)fs_hlc_count(h));
}

const char *tk_row_str(const fs_row *r, char *buf, size_t cap)
{
    size_t len = 0;
    char v[96], h[32];

    buf[0] = '\0';
    hlc_str(r->del_hlc, h, sizeof h);
    len += (size_t)snprintf(buf + len, cap - len, "{deleted=%d@%s/%s", r->deleted, h,
                            tk_dev_name(&r->del_device));
    for (size_t i = 0; i < r->entity->nfields && len < cap; i++) {
        const fs_cell *c = &r->cells[i];
        if (!c->hlc && c->v.kind == FS_VAL_NULL)
            continue;
        hlc_str(c->hlc, h, sizeof h);
        len += (size_t)snprintf(buf + len, cap - len, " %s=%s@%s/%s",
                                r->entity->fields[i].name,
                                tk_value_str(&c->v, v, sizeof v), h,
                                tk_dev_name(&c->device));
    }
    if (len < cap)
        snprintf(buf + len, cap - len, "}");
    return buf;
}

const char *tk_conflict_str(const fs_conflict *c, char *buf, size_t cap)
{
    char t[96], y[96], th[32], yh[32];
    const char *field = c->field < 0 ? "<tombstone>"
                        : (c->entity && (size_t)c->field < c->entity->nfields)
                            ? c->entity->fields[c->field].name
                            : "<bad slot>";

    hlc_str(c->theirs_hlc, th, sizeof th);
    hlc_str(c->yours_hlc, yh, sizeof yh);
    snprintf(buf, cap, "{%s rule=%s status=%s yours_won=%d theirs=%s@%s/%s yours=%s@%s/%s}",
             field, fs_rule_name(c->rule),
             c->status == FS_CONFLICT_OPEN ? "open" : "auto", c->yours_won,
             tk_value_str(&c->theirs, t, sizeof t), th, tk_dev_name(&c->theirs_device),
             tk_value_str(&c->yours, y, sizeof y), yh, tk_dev_name(&c->yours_device));
    return buf;
}
