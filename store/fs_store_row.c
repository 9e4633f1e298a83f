/*
 * fs_store_row.c - one row in and out of SQLite: encode, decode, load, save,
 * root, delete, and paged iteration by sequence number.
 *
 * A stored row is its field values in real columns (so back-office SQL can
 * read them) plus one `meta` blob holding the stamp (HLC + device) of every
 * written cell, keyed by the field's stable tag. Keeping the stamps in one
 * blob instead of two extra columns per field keeps the tables readable and
 * lets a field be added by ALTER TABLE alone: old blobs simply lack its tag.
 *
 * Meta blob, format 1 (all integers little-endian):
 *   u8  version (= 1)
 *   u8  ndev, then ndev x 16-byte device ids (a dictionary: most rows are
 *       written by one or two devices, so each cell refers to one by index)
 *   then one 11-byte record per written cell, in field order:
 *       u16 tag, u8 device index (< ndev), u64 hlc
 * A cell is "written" when its hlc or device is non-zero; unwritten cells
 * have no record and read back as hlc 0, nil device. A NULL blob (a row an
 * older or foreign writer left) means no cell has a stamp. Unknown tags
 * (a retired field) are skipped; a truncated blob, a bad version, a device
 * index out of range or a tag listed twice is FS_STORE_ECORRUPT.
 *
 * The hot paths (save and decode) use the statements cached per entity,
 * bind text and blobs without copying (FSS_SQL_STATIC: the row outlives the
 * step), encode the blob into one scratch buffer owned by the handle, and
 * reuse the caller's cell array, so a save allocates nothing and a decode
 * allocates only the text values it returns.
 */
#include "fs_store_int.h"

#include <stdlib.h>
#include <string.h>

#define META_VERSION 1
#define META_RECORD 11

static const fs_id nil_id;

static bool id_nil(const fs_id *id)
{
    return memcmp(id->b, nil_id.b, sizeof id->b) == 0;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* HLCs are unsigned; SQLite integers are signed. The conversion wraps values
 * above INT64_MAX (year 10889 and later) and the read side undoes it. */
static int64_t hlc_to_sql(fs_hlc h)
{
    return (int64_t)h;
}

static fs_hlc hlc_from_sql(int64_t v)
{
    return (fs_hlc)v;
}

static bool cell_written(const fs_cell *c)
{
    return c->hlc != 0 || !id_nil(&c->device);
}

/* Encodes the stamps of `row` into s->meta; returns the length. */
static size_t meta_encode(fs_store *s, const fs_row *row)
{
    const fs_entity *e = row->entity;
    uint8_t *p = s->meta;
    uint8_t devidx[FS_STORE_MAX_FIELDS];
    size_t ndev = 0, n;

    /* First pass: the device dictionary, in order of first use. */
    for (size_t j = 0; j < e->nfields; j++) {
        const fs_cell *c = &row->cells[j];
        size_t k;

        if (!cell_written(c))
            continue;
        for (k = 0; k < ndev; k++)
            if (memcmp(p + 2 + 16 * k, c->device.b, 16) == 0)
                break;
        if (k == ndev)
            memcpy(p + 2 + 16 * ndev++, c->device.b, 16);
        devidx[j] = (uint8_t)k;
    }
    p[0] = META_VERSION;
    p[1] = (uint8_t)ndev;
    n = 2 + 16 * ndev;
    for (size_t j = 0; j < e->nfields; j++) {
        const fs_cell *c = &row->cells[j];

        if (!cell_written(c))
            continue;
        p[n] = (uint8_t)(e->fields[j].tag & 0xFF);
        p[n + 1] = (uint8_t)(e->fields[j].tag >> 8);
        p[n + 2] = devidx[j];
        put_u64(p + n + 3, c->hlc);
        n += META_RECORD;
    }
    return n;
}

static fs_store_status meta_decode(const fs_entity *e, const uint8_t *p, size_t n,
                                   fs_row *row, fs_error *err)
{
    bool seen[FS_STORE_MAX_FIELDS] = {false};
    size_t ndev, hdr, guess = 0;

    if (!p || n == 0)
        return FS_STORE_OK;
    if (n < 2 || p[0] != META_VERSION)
        return fs_store__fail(err, FS_STORE_ECORRUPT,
                              "%s row: meta blob has unknown version", e->name);
    ndev = p[1];
    hdr = 2 + 16 * ndev;
    if (n < hdr || (n - hdr) % META_RECORD != 0)
        return fs_store__fail(err, FS_STORE_ECORRUPT,
                              "%s row: meta blob of %zu bytes is truncated", e->name, n);
    for (size_t off = hdr; off < n; off += META_RECORD) {
        unsigned tag = (unsigned)p[off] | ((unsigned)p[off + 1] << 8);
        unsigned dev = p[off + 2];
        int slot;

        if (dev >= ndev)
            return fs_store__fail(err, FS_STORE_ECORRUPT,
                                  "%s row: meta blob refers to device %u of %zu",
                                  e->name, dev, ndev);
        /* Records are written in field order, so the next field is almost
         * always the one; fall back to a scan for reordered or retired tags. */
        if (guess < e->nfields && e->fields[guess].tag == tag)
            slot = (int)guess;
        else
            slot = fs_entity_field_index_by_tag(e, tag);
        if (slot < 0)
            continue;
        if (seen[slot])
            return fs_store__fail(err, FS_STORE_ECORRUPT,
                                  "%s row: meta blob lists field tag %u twice",
                                  e->name, tag);
        seen[slot] = true;
        row->cells[slot].hlc = get_u64(p + off + 3);
        memcpy(row->cells[slot].device.b, p + 2 + 16 * dev, 16);
        guess = (size_t)slot + 1;
    }
    return FS_STORE_OK;
}

/* Maps a failed libfsconflict call to a store status; err already holds its
 * text, so only the code is rewritten. */
static fs_store_status conflict_fail(fs_status st, fs_error *err)
{
    fs_store_status code = st == FS_ENOMEM ? FS_STORE_ENOMEM : FS_STORE_EINVAL;

    if (err)
        err->code = (int)code;
    return code;
}

/* Makes `row` a never-written row of e with the given id, reusing its cell
 * array when it already belongs to e. */
static fs_store_status row_reset(fs_row *row, const fs_entity *e, const fs_id *id,
                                 fs_error *err)
{
    fs_status st;

    if (row->entity == e && row->cells) {
        for (size_t j = 0; j < e->nfields; j++) {
            fs_value_clear(&row->cells[j].v);
            row->cells[j].hlc = 0;
            row->cells[j].device = nil_id;
        }
        row->id = *id;
        row->deleted = false;
        row->del_hlc = 0;
        row->del_device = nil_id;
        return FS_STORE_OK;
    }
    fs_row_free(row);
    st = fs_row_init(row, e, id, err);
    return st == FS_OK ? FS_STORE_OK : conflict_fail(st, err);
}

/* Reads an optional 16-byte id column: false if it is neither NULL nor 16
 * bytes. */
static bool column_id(fss_stmt *st, int col, bool *has, fs_id *out)
{
    int t = fss_column_type(st, col);

    *has = false;
    if (t == FSS_SQL_NULL)
        return true;
    if (t != FSS_SQL_BLOB || fss_column_bytes(st, col) != 16)
        return false;
    memcpy(out->b, fss_column_blob(st, col), 16);
    *has = true;
    return true;
}

static bool column_int(fss_stmt *st, int col, int64_t *out)
{
    int t = fss_column_type(st, col);

    *out = 0;
    if (t == FSS_SQL_NULL)
        return true;
    if (t != FSS_SQL_INTEGER)
        return false;
    *out = fss_column_int64(st, col);
    return true;
}

fs_store_status fs_store__decode(const fs_store_ent *ent, fss_stmt *st,
                                 int c0, const int *fcols, fs_row *row,
                                 fs_store_rowinfo *info, fs_error *err)
{
    const fs_entity *e = ent->e;
    fs_store_rowinfo tmp = {0};
    fs_id id = {{0}}, del_dev = nil_id;
    bool has, has_dev;
    int64_t deleted, del_hlc;
    fs_store_status rc;
    int need = c0 + FS_STORE_NFIXED + (fcols ? 0 : (int)e->nfields);

    for (size_t j = 0; fcols && j < e->nfields; j++) {
        if (fcols[j] < 0)
            return fs_store__fail(err, FS_STORE_EINVAL, "%s: no column for %s",
                                  e->name, e->fields[j].name);
        if (fcols[j] + 1 > need)
            need = fcols[j] + 1;
    }
    if (fss_column_count(st) < need)
        return fs_store__fail(err, FS_STORE_EINVAL,
                              "statement has too few columns for %s", e->name);
    if (!column_id(st, c0 + FS_STORE_COL_ID, &has, &id) || !has)
        return fs_store__fail(err, FS_STORE_ECORRUPT, "%s row: id is not 16 bytes",
                              e->name);
    rc = row_reset(row, e, &id, err);
    if (rc != FS_STORE_OK)
        return rc;
    if (!column_int(st, c0 + FS_STORE_COL_SEQ, &tmp.seq) ||
        !column_id(st, c0 + FS_STORE_COL_ROOT, &tmp.has_root, &tmp.root) ||
        !column_int(st, c0 + FS_STORE_COL_DELETED, &deleted) ||
        !column_int(st, c0 + FS_STORE_COL_DEL_HLC, &del_hlc) ||
        !column_id(st, c0 + FS_STORE_COL_DEL_DEV, &has_dev, &del_dev))
        return fs_store__fail(err, FS_STORE_ECORRUPT,
                              "%s row: bookkeeping column of the wrong type", e->name);
    row->deleted = deleted != 0;
    row->del_hlc = hlc_from_sql(del_hlc);
    row->del_device = del_dev;

    switch (fss_column_type(st, c0 + FS_STORE_COL_META)) {
    case FSS_SQL_NULL:
        break;
    case FSS_SQL_BLOB:
        rc = meta_decode(e, fss_column_blob(st, c0 + FS_STORE_COL_META),
                         (size_t)fss_column_bytes(st, c0 + FS_STORE_COL_META),
                         row, err);
        if (rc != FS_STORE_OK)
            return rc;
        break;
    default:
        return fs_store__fail(err, FS_STORE_ECORRUPT, "%s row: meta is not a blob",
                              e->name);
    }

    for (size_t j = 0; j < e->nfields; j++) {
        const fs_field *f = &e->fields[j];
        int col = fcols ? fcols[j] : c0 + FS_STORE_NFIXED + (int)j;
        int t = fss_column_type(st, col);
        fs_value *v = &row->cells[j].v;
        bool ok = true;

        if (t == FSS_SQL_NULL)
            continue;
        switch (fs_type_kind(f->type)) {
        case FS_VAL_INT:
            ok = t == FSS_SQL_INTEGER;
            if (ok)
                *v = fs_value_int(fss_column_int64(st, col));
            break;
        case FS_VAL_REAL:
            /* REAL affinity reads back as float; an integer written by
             * back-office SQL is still a number. */
            ok = t == FSS_SQL_FLOAT || t == FSS_SQL_INTEGER;
            if (ok)
                *v = fs_value_real(fss_column_double(st, col));
            break;
        case FS_VAL_TEXT:
            ok = t == FSS_SQL_TEXT;
            if (ok) {
                const char *p = (const char *)fss_column_text(st, col);
                size_t n = (size_t)fss_column_bytes(st, col);
                fs_status cs;

                if (!p)
                    return fs_store__fail(err, FS_STORE_ENOMEM, "out of memory");
                cs = fs_value_text(v, p, n, err);
                if (cs != FS_OK)
                    return conflict_fail(cs, err);
            }
            break;
        case FS_VAL_ID: {
            fs_id ref;
            ok = column_id(st, col, &has, &ref);
            if (ok)
                *v = fs_value_idv(&ref);
            break;
        }
        case FS_VAL_NULL:
            ok = false;
            break;
        }
        if (!ok)
            return fs_store__fail(err, FS_STORE_ECORRUPT,
                                  "%s row: column %s has the wrong type", e->name,
                                  f->name);
    }
    if (info)
        *info = tmp;
    return FS_STORE_OK;
}

fs_store_status fs_store_decode(fs_store *s, const fs_entity *e,
                                fss_stmt *stmt, int first_col, fs_row *row,
                                fs_store_rowinfo *info, fs_error *err)
{
    const fs_store_ent *ent;

    if (!s || !e || !stmt || !row || first_col < 0)
        return fs_store__fail(err, FS_STORE_EINVAL, "fs_store_decode: NULL argument");
    ent = fs_store__ent(s, e);
    if (!ent)
        return fs_store__fail(err, FS_STORE_EUNKNOWN_ENTITY,
                              "entity is not in the schema");
    return fs_store__decode(ent, stmt, first_col, NULL, row, info, err);
}

fs_store_status fs_store_decode_at(fs_store *s, const fs_entity *e,
                                   fss_stmt *stmt, int first_col,
                                   const int *field_cols, fs_row *row,
                                   fs_store_rowinfo *info, fs_error *err)
{
    const fs_store_ent *ent;

    if (!s || !e || !stmt || !row || first_col < 0 || !field_cols)
        return fs_store__fail(err, FS_STORE_EINVAL,
                              "fs_store_decode_at: NULL argument");
    ent = fs_store__ent(s, e);
    if (!ent)
        return fs_store__fail(err, FS_STORE_EUNKNOWN_ENTITY,
                              "entity is not in the schema");
    return fs_store__decode(ent, stmt, first_col, field_cols, row, info, err);
}

fs_store_status fs_store_load(fs_store *s, const fs_entity *e, const fs_id *id,
                              fs_row *row, fs_store_rowinfo *info, bool *found,
                              fs_error *err)
{
    fs_store_ent *ent;
    fss_stmt *st = NULL;
    fs_store_status rc;
    int r;

    if (found)
        *found = false;
    if (!s || !e || !id || !row || !found)
        return fs_store__fail(err, FS_STORE_EINVAL, "fs_store_load: NULL argument");
    ent = fs_store__ent(s, e);
    if (!ent)
        return fs_store__fail(err, FS_STORE_EUNKNOWN_ENTITY,
                              "entity is not in the schema");
    rc = fs_store__stmt(s, ent, FS_STORE_ST_LOAD, &st, err);
    if (rc != FS_STORE_OK)
        return rc;
    if (fss_bind_blob(st, 1, id->b, 16, FSS_SQL_STATIC) != FSS_SQL_OK) {
        rc = fs_store__sqlfail(s, err, ent->table);
        goto done;
    }
    r = fss_step(st);
    if (r == FSS_SQL_ROW) {
        rc = fs_store__decode(ent, st, 0, NULL, row, info, err);
        if (rc == FS_STORE_OK)
            *found = true;
    } else if (r == FSS_SQL_DONE) {
        rc = row_reset(row, e, id, err);
        if (info)
            memset(info, 0, sizeof *info);
    } else {
        rc = fs_store__sqlfail(s, err, ent->table);
    }
done:
    fss_reset(st);
    return rc;
}

/* A value of the wrong kind would be stored but could never be loaded
 * again; refused where the mistake is made. */
static fs_store_status check_kinds(const fs_row *row, fs_error *err)
{
    const fs_entity *e = row->entity;

    for (size_t j = 0; j < e->nfields; j++) {
        fs_val_kind k = row->cells[j].v.kind;
        if (k != FS_VAL_NULL && k != fs_type_kind(e->fields[j].type))
            return fs_store__fail(err, FS_STORE_EINVAL,
                                  "%s.%s: value kind does not match the field type",
                                  e->name, e->fields[j].name);
    }
    return FS_STORE_OK;
}

/* Binds one row's columns from parameter `first` on (1-based). The meta
 * blob is encoded into s->meta: bound STATIC for one row (`copy_meta`
 * false), copied when several rows share the statement. */
static int bind_row(fs_store *s, fss_stmt *st, int first, const fs_row *row,
                    int64_t seq, const fs_id *root, bool copy_meta)
{
    const fs_entity *e = row->entity;
    size_t mlen = meta_encode(s, row);
    int b = FSS_SQL_OK;

    b |= fss_bind_blob(st, first + FS_STORE_COL_ID, row->id.b, 16, FSS_SQL_STATIC);
    b |= fss_bind_int64(st, first + FS_STORE_COL_SEQ, seq);
    if (root)
        b |= fss_bind_blob(st, first + FS_STORE_COL_ROOT, root->b, 16, FSS_SQL_STATIC);
    else
        b |= fss_bind_null(st, first + FS_STORE_COL_ROOT);
    b |= fss_bind_int(st, first + FS_STORE_COL_DELETED, row->deleted ? 1 : 0);
    b |= fss_bind_int64(st, first + FS_STORE_COL_DEL_HLC, hlc_to_sql(row->del_hlc));
    if (id_nil(&row->del_device))
        b |= fss_bind_null(st, first + FS_STORE_COL_DEL_DEV);
    else
        b |= fss_bind_blob(st, first + FS_STORE_COL_DEL_DEV, row->del_device.b, 16,
                           FSS_SQL_STATIC);
    b |= fss_bind_blob(st, first + FS_STORE_COL_META, s->meta, (int)mlen,
                       copy_meta ? FSS_SQL_TRANSIENT : FSS_SQL_STATIC);
    for (size_t j = 0; j < e->nfields; j++) {
        const fs_value *v = &row->cells[j].v;
        int p = first + FS_STORE_NFIXED + (int)j;

        switch (v->kind) {
        case FS_VAL_NULL:
            b |= fss_bind_null(st, p);
            break;
        case FS_VAL_INT:
            b |= fss_bind_int64(st, p, v->u.i);
            break;
        case FS_VAL_REAL:
            b |= fss_bind_double(st, p, v->u.r);
            break;
        case FS_VAL_TEXT:
            b |= fss_bind_text(st, p, v->u.text.p ? v->u.text.p : "",
                               (int)v->u.text.n, FSS_SQL_STATIC);
            break;
        case FS_VAL_ID:
            b |= fss_bind_blob(st, p, v->u.id.b, 16, FSS_SQL_STATIC);
            break;
        }
    }
    return b;
}

fs_store_status fs_store_save(fs_store *s, const fs_row *row, int64_t seq,
                              const fs_id *root, fs_error *err)
{
    fs_store_ent *ent;
    fss_stmt *st = NULL;
    fs_store_status rc;

    if (!s || !row || !row->entity || !row->cells)
        return fs_store__fail(err, FS_STORE_EINVAL, "fs_store_save: NULL argument");
    ent = fs_store__ent(s, row->entity);
    if (!ent)
        return fs_store__fail(err, FS_STORE_EUNKNOWN_ENTITY,
                              "entity is not in the schema");
    if ((rc = check_kinds(row, err)) != FS_STORE_OK)
        return rc;
    rc = fs_store__stmt(s, ent, FS_STORE_ST_SAVE, &st, err);
    if (rc != FS_STORE_OK)
        return rc;
    if (bind_row(s, st, 1, row, seq, root, false) != FSS_SQL_OK ||
        fss_step(st) != FSS_SQL_DONE)
        rc = fs_store__sqlfail(s, err, ent->table);
    fss_reset(st);
    return rc;
}

fs_store_status fs_store_save_many(fs_store *s, const fs_row *const *rows,
                                   const int64_t *seqs, const fs_id *const *roots,
                                   size_t n, fs_error *err)
{
    const fs_entity *e;
    fs_store_ent *ent;
    char *sql = NULL;
    fss_stmt *st = NULL;
    fs_store_status rc = FS_STORE_OK;
    int ncols, b = FSS_SQL_OK;

    if (!s || !rows || !seqs || !roots || n == 0 || !rows[0] || !rows[0]->entity)
        return fs_store__fail(err, FS_STORE_EINVAL, "fs_store_save_many: bad argument");
    e = rows[0]->entity;
    ent = fs_store__ent(s, e);
    if (!ent)
        return fs_store__fail(err, FS_STORE_EUNKNOWN_ENTITY,
                              "entity is not in the schema");
    ncols = fs_store_ncolumns(e);
    for (size_t i = 0; i < n; i++) {
        if (!rows[i] || rows[i]->entity != e || !rows[i]->cells)
            return fs_store__fail(err, FS_STORE_EINVAL,
                                  "fs_store_save_many: rows of one entity only");
        for (size_t k = 0; k < i; k++)
            if (fs_id_cmp(&rows[k]->id, &rows[i]->id) == 0)
                return fs_store__fail(err, FS_STORE_EINVAL,
                                      "fs_store_save_many: a row twice");
        if ((rc = check_kinds(rows[i], err)) != FS_STORE_OK)
            return rc;
    }
    if ((size_t)ncols * n > FS_STORE_MAX_PARAMS)
        return fs_store__fail(err, FS_STORE_EINVAL,
                              "fs_store_save_many: more than %d parameters",
                              FS_STORE_MAX_PARAMS);
    sql = fs_store__save_sql(s, ent, n);
    if (!sql)
        return fs_store__fail(err, FS_STORE_ENOMEM, "out of memory building SQL");
    if (fss_prepare(s->db, sql, -1, &st, NULL) != FSS_SQL_OK) {
        rc = fs_store__sqlfail(s, err, ent->table);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        b |= bind_row(s, st, 1 + (int)i * ncols, rows[i], seqs[i], roots[i], true);
    if (b != FSS_SQL_OK || fss_step(st) != FSS_SQL_DONE)
        rc = fs_store__sqlfail(s, err, ent->table);
done:
    fss_finalize(st);
    free(sql);
    return rc;
}

fs_store_status fs_store_root(fs_store *s, const fs_row *row, fs_id *root,
                              bool *has_root, fs_error *err)
{
    const fs_store_ent *ent, *pent;
    const fs_value *pv;
    fss_stmt *st = NULL;
    fs_store_status rc = FS_STORE_OK;
    int r;

    if (has_root)
        *has_root = false;
    if (!s || !row || !row->entity || !row->cells || !root || !has_root)
        return fs_store__fail(err, FS_STORE_EINVAL, "fs_store_root: NULL argument");
    ent = fs_store__ent(s, row->entity);
    if (!ent)
        return fs_store__fail(err, FS_STORE_EUNKNOWN_ENTITY,
                              "entity is not in the schema");
    if (ent->parent < 0) {
        /* The top of a chain: a synced top-level row (customer) is its own
         * root; top-level reference data (product) belongs to no customer. */
        if (!(ent->e->flags & FS_ENTITY_READONLY)) {
            *root = row->id;
            *has_root = true;
        }
        return FS_STORE_OK;
    }
    pv = &row->cells[ent->e->parent].v;
    if (pv->kind == FS_VAL_NULL)
        return FS_STORE_OK;
    if (pv->kind != FS_VAL_ID)
        return fs_store__fail(err, FS_STORE_EINVAL, "%s: parent field is not an id",
                              ent->e->name);
    pent = &s->ents[ent->parent];
    if (pent->parent < 0) {
        /* The parent is the top: no lookup needed, the id is the root. */
        if (!(pent->e->flags & FS_ENTITY_READONLY)) {
            *root = pv->u.id;
            *has_root = true;
        }
        return FS_STORE_OK;
    }
    /* Deeper chains: the stored parent already knows its root (a parent
     * reference is write-once, so it never goes stale). */
    rc = fs_store__stmt(s, (fs_store_ent *)pent, FS_STORE_ST_ROOT, &st, err);
    if (rc != FS_STORE_OK)
        return rc;
    if (fss_bind_blob(st, 1, pv->u.id.b, 16, FSS_SQL_STATIC) != FSS_SQL_OK) {
        rc = fs_store__sqlfail(s, err, pent->table);
        goto done;
    }
    r = fss_step(st);
    if (r == FSS_SQL_ROW) {
        if (!column_id(st, 0, has_root, root))
            rc = fs_store__fail(err, FS_STORE_ECORRUPT, "%s row: root is not 16 bytes",
                                pent->e->name);
    } else if (r == FSS_SQL_DONE) {
        char idtext[FS_ID_STRLEN + 1];
        fs_id_format(&pv->u.id, idtext);
        rc = fs_store__fail(err, FS_STORE_ENOPARENT, "%s row: parent %s %s is not stored",
                            ent->e->name, pent->e->name, idtext);
    } else {
        rc = fs_store__sqlfail(s, err, pent->table);
    }
done:
    fss_reset(st);
    return rc;
}

fs_store_status fs_store_delete(fs_store *s, const fs_entity *e,
                                const fs_id *id, bool *removed, fs_error *err)
{
    fs_store_ent *ent;
    fss_stmt *st = NULL;
    fs_store_status rc;

    if (removed)
        *removed = false;
    if (!s || !e || !id)
        return fs_store__fail(err, FS_STORE_EINVAL, "fs_store_delete: NULL argument");
    ent = fs_store__ent(s, e);
    if (!ent)
        return fs_store__fail(err, FS_STORE_EUNKNOWN_ENTITY,
                              "entity is not in the schema");
    rc = fs_store__stmt(s, ent, FS_STORE_ST_DELETE, &st, err);
    if (rc != FS_STORE_OK)
        return rc;
    if (fss_bind_blob(st, 1, id->b, 16, FSS_SQL_STATIC) != FSS_SQL_OK ||
        fss_step(st) != FSS_SQL_DONE)
        rc = fs_store__sqlfail(s, err, ent->table);
    else if (removed)
        *removed = fss_changes(s->db) > 0;
    fss_reset(st);
    return rc;
}

fs_store_status fs_store_delete_root(fs_store *s, const fs_id *root,
                                     int64_t *count, fs_error *err)
{
    fs_store_status rc = FS_STORE_OK;
    int64_t total = 0;

    if (count)
        *count = 0;
    if (!s || !root)
        return fs_store__fail(err, FS_STORE_EINVAL,
                              "fs_store_delete_root: NULL argument");
    for (size_t i = 0; i < s->nent && rc == FS_STORE_OK; i++) {
        fs_store_ent *ent = &s->ents[i];
        fss_stmt *st = NULL;

        rc = fs_store__stmt(s, ent, FS_STORE_ST_DELETE_ROOT, &st, err);
        if (rc != FS_STORE_OK)
            break;
        if (fss_bind_blob(st, 1, root->b, 16, FSS_SQL_STATIC) != FSS_SQL_OK ||
            fss_step(st) != FSS_SQL_DONE)
            rc = fs_store__sqlfail(s, err, ent->table);
        else
            total += fss_changes64(s->db);
        fss_reset(st);
    }
    if (count)
        *count = total;
    return rc;
}

/* Only rows below the second level can lack a root: the others take their
 * parent's id (or their own) without a lookup. */
static bool can_lack_root(const fs_store *s, const fs_store_ent *ent)
{
    return ent->parent >= 0 && s->ents[ent->parent].parent >= 0;
}

fs_store_status fs_store_fix_roots(fs_store *s, int64_t *count, fs_error *err)
{
    fs_store_status rc = FS_STORE_OK;
    int64_t total = 0;

    if (count)
        *count = 0;
    if (!s)
        return fs_store__fail(err, FS_STORE_EINVAL, "fs_store_fix_roots: NULL argument");
    /* Schema order puts parents first, so a chain of any depth is fixed in
     * one pass. */
    for (size_t i = 0; i < s->nent && rc == FS_STORE_OK; i++) {
        fs_store_ent *ent = &s->ents[i];
        fss_stmt *st = NULL;

        if (!can_lack_root(s, ent))
            continue;
        rc = fs_store__stmt(s, ent, FS_STORE_ST_FIX_ROOTS, &st, err);
        if (rc != FS_STORE_OK)
            break;
        if (fss_step(st) != FSS_SQL_DONE)
            rc = fs_store__sqlfail(s, err, ent->table);
        else
            total += fss_changes64(s->db);
        fss_reset(st);
    }
    if (count)
        *count = total;
    return rc;
}

/* The ids of ent's rows without a root, malloc'd into *ids. */
static fs_store_status orphan_ids(fs_store *s, const fs_store_ent *ent, fs_id **ids,
                                  size_t *n, fs_error *err)
{
    fs_store_status rc = FS_STORE_OK;
    fss_stmt *st = NULL;
    size_t cap = 0;
    char sql[160]; /* table names are checked identifiers (fs_store_open) */
    int r = FSS_SQL_DONE;

    *ids = NULL;
    *n = 0;
    snprintf(sql, sizeof sql, "SELECT id FROM \"%s\" WHERE root IS NULL", ent->table);
    if (fss_prepare(s->db, sql, -1, &st, NULL) != FSS_SQL_OK)
        rc = fs_store__sqlfail(s, err, ent->table);
    while (rc == FS_STORE_OK && (r = fss_step(st)) == FSS_SQL_ROW) {
        if (fss_column_bytes(st, 0) != 16)
            continue;
        if (*n == cap) {
            fs_id *p = realloc(*ids, (cap = cap ? cap * 2 : 16) * sizeof *p);
            if (!p) {
                rc = fs_store__fail(err, FS_STORE_ENOMEM, "out of memory");
                break;
            }
            *ids = p;
        }
        memcpy((*ids)[(*n)++].b, fss_column_blob(st, 0), 16);
    }
    if (rc == FS_STORE_OK && r != FSS_SQL_DONE)
        rc = fs_store__sqlfail(s, err, ent->table);
    fss_finalize(st);
    return rc;
}

fs_store_status fs_store_drop_orphans(fs_store *s, fs_store_keep_fn keep,
                                      void *payload, int64_t *count, fs_error *err)
{
    fs_store_status rc = FS_STORE_OK;
    int64_t total = 0;

    if (count)
        *count = 0;
    if (!s)
        return fs_store__fail(err, FS_STORE_EINVAL, "fs_store_drop_orphans: NULL argument");
    for (size_t i = 0; i < s->nent && rc == FS_STORE_OK; i++) {
        fs_id *ids = NULL;
        size_t n = 0;

        if (!can_lack_root(s, &s->ents[i]))
            continue;
        /* Collected before deleting, so no statement is stepping the table
         * while rows leave it. Orphans are rare. */
        rc = orphan_ids(s, &s->ents[i], &ids, &n, err);
        for (size_t k = 0; k < n && rc == FS_STORE_OK; k++) {
            bool removed = false;
            if (keep && keep(s->ents[i].e, &ids[k], payload))
                continue;
            rc = fs_store_delete(s, s->ents[i].e, &ids[k], &removed, err);
            total += removed;
        }
        free(ids);
    }
    if (count)
        *count = total;
    return rc;
}

fs_store_status fs_store_since(fs_store *s, const fs_entity *e,
                               int64_t after_seq, int64_t limit,
                               fs_store_row_fn fn, void *payload,
                               int64_t *count, fs_error *err)
{
    fs_store_ent *ent;
    fss_stmt *st = NULL;
    fs_row row = {0};
    fs_store_rowinfo info;
    fs_store_status rc;
    int64_t n = 0;
    int r;

    if (count)
        *count = 0;
    if (!s || !e || !fn || limit < 0)
        return fs_store__fail(err, FS_STORE_EINVAL, "fs_store_since: bad argument");
    ent = fs_store__ent(s, e);
    if (!ent)
        return fs_store__fail(err, FS_STORE_EUNKNOWN_ENTITY,
                              "entity is not in the schema");
    rc = fs_store__stmt(s, ent, FS_STORE_ST_SINCE, &st, err);
    if (rc != FS_STORE_OK)
        return rc;
    if (fss_bind_int64(st, 1, after_seq) != FSS_SQL_OK ||
        fss_bind_int64(st, 2, limit ? limit : INT64_MAX) != FSS_SQL_OK) {
        rc = fs_store__sqlfail(s, err, ent->table);
        goto done;
    }
    while ((r = fss_step(st)) == FSS_SQL_ROW) {
        rc = fs_store__decode(ent, st, 0, NULL, &row, &info, err);
        if (rc != FS_STORE_OK)
            goto done;
        n++;
        if (!fn(&row, &info, payload))
            break;
    }
    if (r != FSS_SQL_ROW && r != FSS_SQL_DONE)
        rc = fs_store__sqlfail(s, err, ent->table);
done:
    fss_reset(st);
    fs_row_free(&row);
    if (count)
        *count = n;
    return rc;
}
