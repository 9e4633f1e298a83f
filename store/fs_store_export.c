/*
 * fs_store_export.c - the canonical JSON export of a table set.
 *
 * The client's `export` and the server's per-rep export both come from this
 * file and are compared byte for byte, so every choice here is part of a
 * contract (docs/ARCHITECTURE.md "## Store"): entity order, row order, field
 * order, number and string formatting, and where the line breaks go. Output
 * goes through one fixed buffer and rows are decoded one at a time into one
 * reused fs_row, so memory does not grow with the tables.
 */
#include "fs_store_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct jout {
    fs_store_write_fn write;
    void *payload;
    bool failed;
    size_t n;
    char buf[16384];
} jout;

static void j_flush(jout *o)
{
    if (o->n && !o->failed && o->write(o->buf, o->n, o->payload) != 0)
        o->failed = true;
    o->n = 0;
}

static void j_put(jout *o, const char *p, size_t n)
{
    while (n) {
        size_t k = sizeof o->buf - o->n;
        if (k > n)
            k = n;
        memcpy(o->buf + o->n, p, k);
        o->n += k;
        p += k;
        n -= k;
        if (o->n == sizeof o->buf)
            j_flush(o);
    }
}

static void j_lit(jout *o, const char *s)
{
    j_put(o, s, strlen(s));
}

/* A JSON string: quote and backslash escaped, every byte below 0x20 as
 * \u00xx (lowercase hex), valid UTF-8 copied as is, and each byte that does
 * not start a valid sequence as \ufffd, so the output is always valid JSON
 * and both sides replace the same bytes the same way. */
static void j_str(jout *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;

    j_put(o, "\"", 1);
    while (i < n) {
        unsigned c = p[i];
        size_t len = c >= 0x20 && c != '"' && c != '\\' ? fs_utf8_seq(p + i, n - i) : 0;

        if (len) {
            i += len;
            run += len;
            continue;
        }
        j_put(o, (const char *)p + i - run, run);
        run = 0;
        if (c == '"')
            j_put(o, "\\\"", 2);
        else if (c == '\\')
            j_put(o, "\\\\", 2);
        else if (c < 0x20) {
            char esc[7];
            static const char hex[] = "0123456789abcdef";
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xF];
            j_put(o, esc, 6);
        } else
            j_put(o, "\\ufffd", 6);
        i++;
    }
    j_put(o, (const char *)p + i - run, run);
    j_put(o, "\"", 1);
}

static void j_int(jout *o, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%lld", (long long)v);
    j_put(o, b, (size_t)n);
}

/* fs_real_format's shortest form; NaN and infinities are not JSON numbers
 * and are written as strings. (SQLite drops the sign of a zero, and
 * fs_real_format writes both as "0", so a row prints the same before and
 * after a round trip through the store.) */
static void j_real(jout *o, double d)
{
    char b[FS_REAL_STRLEN + 1];
    size_t n = fs_real_format(d, b);

    if (!isfinite(d))
        j_put(o, "\"", 1);
    j_put(o, b, n);
    if (!isfinite(d))
        j_put(o, "\"", 1);
}

static void j_id(jout *o, const fs_id *id)
{
    char t[FS_ID_STRLEN + 3];

    t[0] = '"';
    fs_id_format(id, t + 1);
    t[FS_ID_STRLEN + 1] = '"';
    j_put(o, t, FS_ID_STRLEN + 2);
}

static void j_row(jout *o, const fs_row *row)
{
    const fs_entity *e = row->entity;

    j_lit(o, "{\"id\":");
    j_id(o, &row->id);
    for (size_t j = 0; j < e->nfields; j++) {
        const fs_value *v = &row->cells[j].v;

        /* Field names are checked plain identifiers (fs_store_open). */
        j_lit(o, ",\"");
        j_lit(o, e->fields[j].name);
        j_lit(o, "\":");
        switch (v->kind) {
        case FS_VAL_NULL:
            j_lit(o, "null");
            break;
        case FS_VAL_INT:
            j_int(o, v->u.i);
            break;
        case FS_VAL_REAL:
            j_real(o, v->u.r);
            break;
        case FS_VAL_TEXT:
            j_str(o, v->u.text.p, v->u.text.n);
            break;
        case FS_VAL_ID:
            j_id(o, &v->u.id);
            break;
        }
    }
    j_lit(o, "}");
}

fs_store_status fs_store_export(fs_store *s, fs_store_filter_fn filter,
                                void *filter_payload, fs_store_write_fn write,
                                void *write_payload, fs_error *err)
{
    jout *o = NULL;
    fs_row row = {0};
    fs_store_rowinfo info;
    fss_stmt *st = NULL;
    fs_store_status rc = FS_STORE_OK;
    int r;

    if (!s || !write)
        return fs_store__fail(err, FS_STORE_EINVAL, "fs_store_export: NULL argument");
    /* The buffer is on the heap to keep a 16 KiB array off small thread
     * stacks (the server runs this on a libmicrohttpd pool thread). */
    o = malloc(sizeof *o);
    if (!o)
        return fs_store__fail(err, FS_STORE_ENOMEM, "out of memory");
    o->write = write;
    o->payload = write_payload;
    o->failed = false;
    o->n = 0;

    j_lit(o, "{");
    for (size_t i = 0; i < s->nent; i++) {
        fs_store_ent *ent = &s->ents[i];
        size_t nrows = 0;

        if (i)
            j_lit(o, ",\n");
        j_lit(o, "\"");
        j_lit(o, ent->e->name);
        j_lit(o, "\":[");
        rc = fs_store__stmt(s, ent, FS_STORE_ST_EXPORT, &st, err);
        if (rc != FS_STORE_OK)
            goto done;
        while ((r = fss_step(st)) == FSS_SQL_ROW) {
            rc = fs_store__decode(ent, st, 0, NULL, &row, &info, err);
            if (rc != FS_STORE_OK)
                goto done;
            if (filter && !filter(ent->e, &row, info.has_root ? &info.root : NULL,
                                  filter_payload))
                continue;
            j_lit(o, nrows ? ",\n" : "\n");
            j_row(o, &row);
            nrows++;
            if (o->failed)
                break;
        }
        if (r != FSS_SQL_ROW && r != FSS_SQL_DONE) {
            rc = fs_store__sqlfail(s, err, ent->table);
            goto done;
        }
        fss_reset(st);
        st = NULL;
        j_lit(o, "]");
        if (o->failed)
            break;
    }
    j_lit(o, "}\n");
    j_flush(o);
    if (o->failed)
        rc = fs_store__fail(err, FS_STORE_EWRITE, "export: the writer failed");
done:
    if (st)
        fss_reset(st);
    fs_row_free(&row);
    free(o);
    return rc;
}

static int file_write(const char *buf, size_t n, void *payload)
{
    return fwrite(buf, 1, n, (FILE *)payload) == n ? 0 : -1;
}

fs_store_status fs_store_export_file(fs_store *s, fs_store_filter_fn filter,
                                     void *filter_payload, FILE *out,
                                     fs_error *err)
{
    fs_store_status rc;

    if (!s || !out)
        return fs_store__fail(err, FS_STORE_EINVAL,
                              "fs_store_export_file: NULL argument");
    rc = fs_store_export(s, filter, filter_payload, file_write, out, err);
    if (rc == FS_STORE_OK && (fflush(out) != 0 || ferror(out)))
        rc = fs_store__fail(err, FS_STORE_EWRITE, "export: writing the file failed");
    return rc;
}
