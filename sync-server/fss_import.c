/*
 * fss_import.c - back-office imports of customers, products and purchases from CSV
 * (RFC 4180: header row of field names, quoted fields with "" escapes, LF or
 * CRLF) or JSON (an array of objects keyed by field name).
 *
 * All-or-nothing per file: every row is converted and merged inside one
 * transaction; if any row is bad (unknown column, wrong type, unknown rep or
 * territory, missing required field) every bad row is reported with its
 * number and reason, and the transaction is rolled back so nothing changes.
 * A row with an "id" column updates that row (fields it names only); without
 * one a new row is created. Rows are written as FS_ORIGIN_SERVER changes, so
 * they get sequence numbers and sync out to devices in scope.
 */
#include "fss_json.h"

#include <stdlib.h>
#include <string.h>

#define CSV_MAX_COLS 64
#define IMPORT_MAX_ERRORS 1000

typedef struct csv_row {
    char *cell[CSV_MAX_COLS];
    size_t n;
    size_t line;
} csv_row;

static void csv_row_free(csv_row *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        free(r->cell[i]);
    r->n = 0;
}

/* Reads one record starting at *pos; false at end of input. */
static fss_status csv_next(const char *d, size_t len, size_t *pos, size_t *line,
                           csv_row *row, bool *got, fs_error *err)
{
    fss_buf cell = {0};
    size_t p = *pos;
    bool quoted = false, any = false;

    *got = false;
    row->n = 0;
    row->line = *line;
    if (p >= len)
        return FSS_OK;
    for (;;) {
        bool end_rec = p >= len, end_cell = end_rec;
        if (!end_rec) {
            char ch = d[p];
            if (quoted) {
                if (ch == '"') {
                    if (p + 1 < len && d[p + 1] == '"') {
                        fss_buf_add(&cell, "\"", 1);
                        p += 2;
                    } else {
                        quoted = false;
                        p++;
                    }
                } else {
                    if (ch == '\n')
                        (*line)++;
                    fss_buf_add(&cell, &ch, 1);
                    p++;
                }
                if (p >= len && quoted) {
                    fss_buf_free(&cell);
                    return fss__fail(err, FSS_EINVAL,
                                     "CSV line %zu: unterminated quote", row->line);
                }
                continue;
            }
            if (ch == '"' && cell.len == 0) {
                quoted = true;
                any = true;
                p++;
                continue;
            }
            if (ch == ',') {
                end_cell = true;
                p++;
            } else if (ch == '\n' || ch == '\r') {
                end_rec = end_cell = true;
                if (ch == '\r' && p + 1 < len && d[p + 1] == '\n')
                    p++;
                p++;
                (*line)++;
            } else {
                fss_buf_add(&cell, &ch, 1);
                any = true;
                p++;
            }
        }
        if (end_cell) {
            if (row->n == CSV_MAX_COLS) {
                fss_buf_free(&cell);
                return fss__fail(err, FSS_EINVAL, "CSV line %zu: more than %d columns",
                                 row->line, CSV_MAX_COLS);
            }
            fss_buf_add(&cell, "", 0);
            if (cell.oom || !(row->cell[row->n] = cell.data ? cell.data : strdup(""))) {
                fss_buf_free(&cell);
                return fss__fail(err, FSS_ENOMEM, "CSV");
            }
            row->n++;
            memset(&cell, 0, sizeof cell);
            if (!end_rec)
                any = true;
        }
        if (end_rec)
            break;
    }
    *pos = p;
    /* A blank line is not a record. */
    *got = any || row->n > 1 || (row->n == 1 && row->cell[0][0]);
    if (!*got)
        csv_row_free(row);
    return FSS_OK;
}

typedef struct import_ctx {
    fss_server *s;
    fss_conn *c;
    const fs_entity *e;
    fss_buf *errors; /* JSON array body */
    size_t nerrors, created, updated, rows;
} import_ctx;

static void row_error(import_ctx *x, size_t rowno, const char *msg)
{
    if (x->nerrors < IMPORT_MAX_ERRORS) {
        fss_buf_printf(x->errors, "%s{\"row\":%zu,\"error\":", x->nerrors ? "," : "",
                       rowno);
        fss_json_cstr(x->errors, msg);
        fss_buf_puts(x->errors, "}");
    }
    x->nerrors++;
}

/* One record as parallel arrays of names and either text (CSV) or JSON. */
typedef struct record {
    const char *const *names;
    const char *const *texts; /* CSV */
    const fsj *obj;           /* JSON object */
    size_t n;
} record;

static fss_status import_record(import_ctx *x, size_t rowno, const record *r,
                                fs_error *err)
{
    fs_change chg;
    fs_id id;
    bool have_id = false, found = false;
    fs_row old = {0};
    fs_error ferr = {0}, verr = {0};
    fs_hlc now = fss__tick(x->s);
    fss_status st = FSS_OK;
    size_t i;
    char msg[300];

    memset(&chg, 0, sizeof chg);
    for (i = 0; i < r->n; i++) {
        if (strcmp(r->names[i], "id") != 0)
            continue;
        {
            const char *t = r->texts ? r->texts[i]
                                     : (r->obj->items[i].kind == FSJ_STR ? r->obj->items[i].str : "");
            if (t[0] && fs_id_parse(t, strlen(t), &id, NULL) != FS_OK) {
                snprintf(msg, sizeof msg, "id \"%.40s\" is not a UUID", t);
                row_error(x, rowno, msg);
                goto done;
            }
            have_id = t[0] != '\0';
        }
    }
    if (!have_id && fs_id_new(fss_now_ms(), &id, &ferr) != FS_OK) {
        st = fss__fail(err, FSS_ERANDOM, "%s", ferr.text);
        goto done;
    }
    if ((st = fss__repo_row_load(x->c, x->e, &id, &old, NULL, &found, err)) !=
        FSS_OK)
        goto done;
    if (fs_change_init(&chg, x->e, &id, &fss_server_device, &ferr) != FS_OK) {
        st = fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
        goto done;
    }
    for (i = 0; i < r->n; i++) {
        int slot;
        fs_value v = {0};
        fss_status vs;
        if (strcmp(r->names[i], "id") == 0)
            continue;
        slot = fs_entity_field_index(x->e, r->names[i]);
        if (slot < 0) {
            fs_utf8_format(msg, sizeof msg, "unknown column \"%.*s\" for %s",
                           (int)fs_utf8_cut(r->names[i], strlen(r->names[i]), 60),
                           r->names[i], x->e->name);
            row_error(x, rowno, msg);
            goto done;
        }
        vs = r->texts ? fsj_text_to_value(r->texts[i], &x->e->fields[slot], &v, &verr)
                      : fsj_to_value(&r->obj->items[i], &x->e->fields[slot], &v, &verr);
        if (vs == FSS_ENOMEM) {
            st = fss__fail(err, FSS_ENOMEM, "import");
            goto done;
        }
        if (vs != FSS_OK) {
            row_error(x, rowno, verr.text);
            goto done;
        }
        /* A CSV cell cannot say null, so an empty cell clears the field
         * (fsj_text_to_value). JSON can: there "" for these two is a
         * mistake to name, not a code to look up. */
        if (v.kind == FS_VAL_TEXT && !v.u.text.p[0] &&
            (strcmp(r->names[i], "owner_rep") == 0 ||
             strcmp(r->names[i], "territory") == 0)) {
            fs_value_clear(&v);
            snprintf(msg, sizeof msg, "%s \"\" is empty: use null to clear it",
                     r->names[i]);
            row_error(x, rowno, msg);
            goto done;
        }
        if (v.kind == FS_VAL_TEXT && strcmp(r->names[i], "owner_rep") == 0 &&
            fss__rep_active(x->c, v.u.text.p, "importing customers it owns", &verr) !=
                FSS_OK) {
            fs_value_clear(&v);
            row_error(x, rowno, verr.text);
            goto done;
        }
        if (v.kind == FS_VAL_TEXT && strcmp(r->names[i], "territory") == 0 &&
            fss__territory_known(x->c, v.u.text.p, &verr) != FSS_OK) {
            fs_value_clear(&v);
            row_error(x, rowno, verr.text);
            goto done;
        }
        if (fs_change_set(&chg, slot, &v, now, &ferr) != FS_OK) {
            fs_value_clear(&v);
            snprintf(msg, sizeof msg, "%s", ferr.text);
            row_error(x, rowno, msg);
            goto done;
        }
        fs_value_clear(&v);
    }
    /* Required fields, the time window and the other row rules are
     * fss__server_write's (fs_row_check), the same as for a device write. */
    st = fss__server_write(x->s, x->c, &chg, &verr);
    if (st == FSS_EINVAL) {
        row_error(x, rowno, verr.text);
        st = FSS_OK;
        goto done;
    }
    if (st != FSS_OK) {
        fss__fail(err, st, "%s", verr.text);
        goto done;
    }
    if (found)
        x->updated++;
    else
        x->created++;
done:
    fs_row_free(&old);
    fs_change_free(&chg);
    return st;
}

static fss_status import_csv(import_ctx *x, const char *d, size_t len,
                             fs_error *err)
{
    csv_row hdr, row;
    /* Rows are numbered as a spreadsheet shows them: the header is row 1,
     * the first record row 2 (a quoted cell spanning lines is one row). */
    size_t pos = 0, line = 1, rowno = 1, i;
    bool got = false;
    fss_status st;

    memset(&hdr, 0, sizeof hdr);
    memset(&row, 0, sizeof row);
    if (len >= 3 && (unsigned char)d[0] == 0xEF && (unsigned char)d[1] == 0xBB &&
        (unsigned char)d[2] == 0xBF)
        pos = 3; /* UTF-8 byte order mark from spreadsheet exports */
    st = csv_next(d, len, &pos, &line, &hdr, &got, err);
    if (st != FSS_OK)
        goto done;
    if (!got) {
        st = fss__fail(err, FSS_EINVAL, "CSV has no header row");
        goto done;
    }
    for (;;) {
        record r;
        st = csv_next(d, len, &pos, &line, &row, &got, err);
        if (st != FSS_OK || !got)
            break;
        rowno++;
        x->rows++;
        if (row.n != hdr.n) {
            char msg[120];
            snprintf(msg, sizeof msg, "line %zu has %zu columns, the header has %zu",
                     row.line, row.n, hdr.n);
            row_error(x, rowno, msg);
            csv_row_free(&row);
            continue;
        }
        r.names = (const char *const *)hdr.cell;
        r.texts = (const char *const *)row.cell;
        r.obj = NULL;
        r.n = hdr.n;
        for (i = 0; i < hdr.n; i++)
            (void)i;
        st = import_record(x, rowno, &r, err);
        csv_row_free(&row);
        if (st != FSS_OK)
            break;
    }
done:
    csv_row_free(&hdr);
    csv_row_free(&row);
    return st;
}

static fss_status import_json(import_ctx *x, const char *d, size_t len,
                              fs_error *err)
{
    fsj doc;
    size_t i;
    fss_status st;

    if ((st = fsj_parse(d, len, &doc, err)) != FSS_OK)
        return st;
    if (doc.kind != FSJ_ARR) {
        fsj_free(&doc);
        return fss__fail(err, FSS_EINVAL, "JSON import must be an array of objects");
    }
    for (i = 0; i < doc.n && st == FSS_OK; i++) {
        record r;
        x->rows++;
        if (doc.items[i].kind != FSJ_OBJ) {
            row_error(x, i + 1, "not an object");
            continue;
        }
        r.names = (const char *const *)doc.items[i].keys;
        r.texts = NULL;
        r.obj = &doc.items[i];
        r.n = doc.items[i].n;
        st = import_record(x, i + 1, &r, err);
    }
    fsj_free(&doc);
    return st;
}

fss_status fss_admin_import(fss_server *s, const char *entity,
                            const char *format, const char *data, size_t len,
                            fss_buf *report, fs_error *err)
{
    import_ctx x;
    fss_buf errors = {0};
    fss_status st;

    memset(&x, 0, sizeof x);
    x.s = s;
    x.errors = &errors;
    /* Purchases come from the order system: the history analyze grades by
     * (fss_value.c). Devices only read them. */
    if (!entity || (strcmp(entity, "customer") != 0 && strcmp(entity, "product") != 0 &&
                    strcmp(entity, "purchase") != 0))
        return fss__fail(err, FSS_EINVAL,
                         "import entity must be customer, product or purchase");
    if (!format || (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0))
        return fss__fail(err, FSS_EINVAL, "import format must be csv or json");
    x.e = fs_schema_entity(entity);
    x.c = fss__conn_get(s, 10000);
    if (!x.c)
        return fss__fail(err, FSS_EDB, "no database connection free");
    if ((st = fss__begin_immediate(x.c, err)) != FSS_OK)
        goto done;
    st = strcmp(format, "csv") == 0 ? import_csv(&x, data, len, err)
                                    : import_json(&x, data, len, err);
    if (st == FSS_OK && errors.oom)
        st = fss__fail(err, FSS_ENOMEM, "import report");
    if (st == FSS_OK && x.nerrors) {
        fss__rollback(x.c);
        st = fss__fail(err, FSS_EIMPORT, "%zu of %zu rows are bad; nothing was imported",
                       x.nerrors, x.rows);
    }
    if (st == FSS_OK)
        st = fss__commit(x.c, err);
    if (st == FSS_OK || st == FSS_EIMPORT) {
        fss_buf_printf(report, "{\"entity\":\"%s\",\"rows\":%zu,\"created\":%zu,"
                               "\"updated\":%zu,\"imported\":%s,\"errors\":[%s]}\n",
                       entity, x.rows, st == FSS_OK ? x.created : 0,
                       st == FSS_OK ? x.updated : 0, st == FSS_OK ? "true" : "false",
                       errors.data ? errors.data : "");
    }
done:
    fss__conn_put(s, x.c);
    fss_buf_free(&errors);
    return st;
}
