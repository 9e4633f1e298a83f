/*
 * fc_db.c - the local replica database: open/migrate, meta, clock, search.
 *
 * One SQLite file (WAL, mode 0600, it holds the device token) holds two
 * fs_store table sets over the same connection - "base_" for the last state
 * the server confirmed and "" for what the rep sees - plus the client's own
 * tables: fc_meta (device id, token, cursor, HLC, batch id...), fc_outbox
 * (pending / in-flight / rejected changes, see fc_outbox.c), fc_notice (scope
 * exits and conflicts shown by `status`) and an FTS5 index of customers.
 * The handle's lifecycle (open, close, wipe) and the small helpers every
 * other file uses (errors, transactions, meta values, the persisted HLC)
 * live here.
 */
#include "fc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *fc_strerror(fc_status st)
{
    switch (st) {
    case FC_OK: return "ok";
    case FC_EINVAL: return "invalid argument";
    case FC_ENOMEM: return "out of memory";
    case FC_EDB: return "local database error";
    case FC_ENOTFOUND: return "not found";
    case FC_EVALUE: return "invalid value";
    case FC_ETRANSITION: return "status change not allowed";
    case FC_EFROZEN: return "quote is no longer a draft (read-only; revise it)";
    case FC_ENOTENROLLED: return "device not enrolled";
    case FC_EENROLLED: return "device already enrolled";
    case FC_ENETWORK: return "network error";
    case FC_EHTTP: return "server refused the request";
    case FC_EPROTOCOL: return "server answer not understood";
    case FC_EWIPED: return "device revoked; replica wiped";
    case FC_ESERVEROWNED: return "field is server-owned";
    case FC_EBUSY: return "replica busy";
    case FC_EDENIED: return "not allowed on this device";
    case FC_EAMBIGUOUS: return "ambiguous reference";
    case FC_EOFFLINE: return "offline (no connection to the server)";
    }
    return "unknown client status";
}

fc_status fc__fail(fs_error *err, fc_status st, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fs_error_vset(err, (int)st, fmt, ap);
    va_end(ap);
    return st;
}

fc_status fc__sqlfail(fc_client *c, fs_error *err, const char *what)
{
    int rc = sqlite3_errcode(c->db);

    if (rc == SQLITE_NOMEM)
        return fc__fail(err, FC_ENOMEM, "%s: out of memory", what);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return fc__fail(err, FC_EBUSY, "%s: the replica is locked by another "
                        "process (%s)", what, sqlite3_errmsg(c->db));
    return fc__fail(err, FC_EDB, "%s: %s", what, sqlite3_errmsg(c->db));
}

fc_status fc__from_store(fs_store_status st, const fs_error *serr, fs_error *err)
{
    fc_status out;

    switch (st) {
    case FS_STORE_OK: return FC_OK;
    case FS_STORE_ENOMEM: out = FC_ENOMEM; break;
    case FS_STORE_EINVAL: out = FC_EINVAL; break;
    default: out = FC_EDB; break;
    }
    return fc__fail(err, out, "%s", serr && serr->text[0] ? serr->text
                                                          : fs_store_strerror(st));
}

fc_status fc__from_fs(fs_status st, const fs_error *ferr, fs_error *err)
{
    fc_status out;

    switch (st) {
    case FS_OK: return FC_OK;
    case FS_ENOMEM: out = FC_ENOMEM; break;
    case FS_ETRANSITION: out = FC_ETRANSITION; break;
    case FS_EINVAL: case FS_EUNKNOWN_ENTITY: case FS_EUNKNOWN_FIELD:
    case FS_EBADID: case FS_EDUPLICATE: out = FC_EINVAL; break;
    default: out = FC_EVALUE; break;
    }
    return fc__fail(err, out, "%s", ferr && ferr->text[0] ? ferr->text
                                                          : fs_strerror(st));
}

fc_status fc__exec(fc_client *c, const char *sql, fs_error *err)
{
    if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fc__sqlfail(c, err, "sql");
    return FC_OK;
}

/* IMMEDIATE: take the write lock up front, so a concurrent writer (a sync in
 * another process) makes us wait on the busy timeout instead of failing with
 * SQLITE_BUSY halfway through a transaction that already read. */
fc_status fc__begin(fc_client *c, fs_error *err)
{
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "this device was revoked and its "
                        "replica deleted; enroll again with a new code");
    if (c->in_each)
        return FC_OK; /* one step of fc_each_id's transaction */
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fc__sqlfail(c, err, "begin transaction");
    return FC_OK;
}

fc_status fc__commit(fc_client *c, fs_error *err)
{
    if (c->in_each)
        return FC_OK; /* fc_each_id commits every step at once */
    if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        fc_status st = fc__sqlfail(c, err, "commit");
        fc__rollback(c);
        return st;
    }
    return FC_OK;
}

void fc__rollback(fc_client *c)
{
    if (c->in_each)
        return; /* a failed step fails fc_each_id, which rolls back all */
    if (c->db && !sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

fc_status fc__prepare(fc_client *c, const char *sql, sqlite3_stmt **st,
                      fs_error *err)
{
    if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return fc__sqlfail(c, err, "prepare");
    }
    return FC_OK;
}

fc_status fc__cached(fc_client *c, sqlite3_stmt **slot, const char *sql,
                     sqlite3_stmt **st, fs_error *err)
{
    *st = NULL;
    if (!*slot) {
        fc_status rc = fc__prepare(c, sql, slot, err);
        if (rc)
            return rc;
    }
    *st = *slot;
    return FC_OK;
}

void fc__release(sqlite3_stmt *st)
{
    if (!st)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void finalize_cached(fc_client *c)
{
    sqlite3_stmt **slots[] = {&c->st_overlay, &c->st_has_overlay, &c->st_base_any};

    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
        sqlite3_finalize(*slots[i]);
        *slots[i] = NULL;
    }
    for (size_t i = 0; i < FC_SQL_COUNT; i++) {
        sqlite3_finalize(c->st_page[i]);
        c->st_page[i] = NULL;
    }
}

uint64_t fc__now_ms(fc_client *c)
{
    struct timespec ts;

    if (c && c->opt.now_ms)
        return c->opt.now_ms(c->opt.now_payload);
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------------ */
/* Meta                                                                      */
/* ------------------------------------------------------------------------ */

fc_status fc__meta_get_int(fc_client *c, const char *key, int64_t *out,
                           bool *found, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;
    int s;

    *out = 0;
    if (found)
        *found = false;
    /* Cached (st_page): a sync reads and writes meta several times a page. */
    rc = fc__cached(c, &c->st_page[FC_SQL_META_GET],
                    "SELECT value FROM fc_meta WHERE key = ?1", &st, err);
    if (rc)
        goto done;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        if (found)
            *found = true;
    } else if (s != SQLITE_DONE) {
        rc = fc__sqlfail(c, err, "read meta");
    }
done:
    fc__release(st);
    return rc;
}

fc_status fc__meta_set_int(fc_client *c, const char *key, int64_t v, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;

    rc = fc__cached(c, &c->st_page[FC_SQL_META_SET],
                    "INSERT OR REPLACE INTO fc_meta(key, value) VALUES(?1, ?2)", &st, err);
    if (rc)
        goto done;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, v);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "write meta");
done:
    fc__release(st);
    return rc;
}

fc_status fc__meta_get_blob(fc_client *c, const char *key, void *out, size_t cap,
                            size_t *len, bool *found, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;
    int s;

    if (found)
        *found = false;
    if (len)
        *len = 0;
    rc = fc__prepare(c, "SELECT value FROM fc_meta WHERE key = ?1", &st, err);
    if (rc)
        goto done;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (n > cap)
            n = cap;
        if (p && n)
            memcpy(out, p, n);
        if (len)
            *len = n;
        if (found)
            *found = true;
    } else if (s != SQLITE_DONE) {
        rc = fc__sqlfail(c, err, "read meta");
    }
done:
    sqlite3_finalize(st);
    return rc;
}

fc_status fc__meta_set_blob(fc_client *c, const char *key, const void *p,
                            size_t n, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;

    rc = fc__prepare(c, "INSERT OR REPLACE INTO fc_meta(key, value) VALUES(?1, ?2)",
                     &st, err);
    if (rc)
        goto done;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, p, (int)n, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "write meta");
done:
    sqlite3_finalize(st);
    return rc;
}

fc_status fc__meta_del(fc_client *c, const char *key, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;

    rc = fc__cached(c, &c->st_page[FC_SQL_META_DEL], "DELETE FROM fc_meta WHERE key = ?1",
                    &st, err);
    if (rc)
        goto done;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "delete meta");
done:
    fc__release(st);
    return rc;
}

/* The HLC lives in fc_meta and is read-modified-written inside the caller's
 * write transaction, so two processes writing the same replica can never
 * hand out the same stamp. */
fc_status fc__hlc_tick(fc_client *c, fs_hlc *out, fs_error *err)
{
    int64_t v;
    fs_hlc state;
    fs_error ferr = {0};
    fs_status fst;
    fc_status rc;

    rc = fc__meta_get_int(c, "hlc", &v, NULL, err);
    if (rc)
        return rc;
    state = (fs_hlc)v;
    fst = fs_hlc_tick(&state, fc__now_ms(c), out, &ferr);
    if (fst)
        return fc__from_fs(fst, &ferr, err);
    return fc__meta_set_int(c, "hlc", (int64_t)state, err);
}

fc_status fc__hlc_recv(fc_client *c, fs_hlc remote, fs_error *err)
{
    int64_t v;
    fs_hlc state, out;
    fs_error ferr = {0};
    fs_status fst;
    fc_status rc;

    if (remote == 0)
        return FC_OK;
    rc = fc__meta_get_int(c, "hlc", &v, NULL, err);
    if (rc)
        return rc;
    state = (fs_hlc)v;
    fst = fs_hlc_recv(&state, fc__now_ms(c), remote, &out, &ferr);
    if (fst)
        return fc__from_fs(fst, &ferr, err);
    return fc__meta_set_int(c, "hlc", (int64_t)state, err);
}

/* ------------------------------------------------------------------------ */
/* Search index                                                              */
/* ------------------------------------------------------------------------ */

/*
 * fc_search is a plain FTS5 table (its own copy of the text) keyed by an
 * integer rowid that fc_search_map ties to the customer id, so refreshing one
 * customer is two indexed lookups rather than a scan of the index. The
 * contacts column is the customer's live contacts (name, email, phone) joined
 * into one string; contacts hang off the customer, so `root` finds them
 * through the store's (root, seq) index.
 */
fc_status fc__fts_mark(fc_client *c, const fs_id *customer, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc = fc__cached(c, &c->st_page[FC_SQL_DIRTY_ADD],
                              "INSERT OR IGNORE INTO temp.fc_search_dirty(cid) VALUES(?1)",
                              &st, err);

    if (!rc) {
        sqlite3_bind_blob(st, 1, customer->b, 16, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = fc__sqlfail(c, err, "search index");
    }
    fc__release(st);
    return rc;
}

fc_status fc__fts_refresh(fc_client *c, const fs_id *customer, fs_error *err)
{
    fc_status rc = fc__fts_mark(c, customer, err);

    return rc ? rc : fc__fts_refresh_dirty(c, err);
}

/* The dirty customers that are live (they have a text), with their map row. */
#define DIRTY_TEXT                                                              \
    " FROM temp.fc_search_dirty d CROSS JOIN temp.fc_search_text t"             \
    " ON t.cid = d.cid CROSS JOIN customer c ON c.id = d.cid"                   \
    " CROSS JOIN fc_search_map m ON m.cid = d.cid"

/*
 * Rebuilds the entry of every customer in temp.fc_search_dirty and empties
 * the set: the old entry goes, a live customer gets a new one, a gone or
 * deleted one loses its map row. Set-based, one statement per step for the
 * whole set: FTS5 flushes its pending terms to a new index segment at the
 * start of every statement that writes it (the statement savepoint), so a
 * refresh per customer made one tiny segment, and later merges, per
 * customer; a sync page makes two. A local write refreshes its one
 * customer through the same statements (fc__fts_refresh). CROSS JOIN keeps
 * the dirty set as the outer loop (the planner would otherwise scan the
 * customer table).
 *
 * What the indexes keep of a live customer beyond its own row is built
 * once, by the first step, into temp.fc_search_text: its contacts (for
 * fc_sub without phone numbers) and its and its contacts' phone numbers as
 * bare digits, from one walk of its contacts on contact_root (so in seq
 * order, with no sort). The steps that compare and insert read it there;
 * when each built its own, every dirty customer's contacts were walked
 * three times per insert and three more for the comparison: over a third of a
 * first sync's search time (docs/BENCHMARKS.md, session 10).
 */
fc_status fc__fts_refresh_dirty(fc_client *c, fs_error *err)
{
    static const struct {
        int slot;
        const char *sql;
    } steps[] = {
        /* Emptied first, not last, so that nothing a failed refresh left
         * can stand for a customer's text. */
        {FC_SQL_TEXT_CLEAR, "DELETE FROM temp.fc_search_text"},
        {FC_SQL_FTS_TEXT,
         "INSERT INTO temp.fc_search_text(cid, contacts, sub_contacts, phones)"
         " SELECT d.cid, group_concat(CASE WHEN k.id IS NOT NULL THEN"
         "  coalesce(k.name, '') || ' ' || coalesce(k.email, '') || ' ' ||"
         "  coalesce(k.phone, '') END, ' '),"
         " group_concat(CASE WHEN k.id IS NOT NULL THEN"
         "  coalesce(k.name, '') || ' ' || coalesce(k.email, '') END, ' '),"
         " coalesce(fc_digits(c.phone), '') || ' ' ||"
         "  coalesce(group_concat(fc_digits(k.phone), ' '), '')"
         " FROM temp.fc_search_dirty d CROSS JOIN customer c"
         " ON c.id = d.cid AND c.deleted = 0"
         " LEFT JOIN contact k ON k.root = c.id AND k.deleted = 0 GROUP BY d.cid"},
        /* A customer whose entries already hold its text keeps them: most
         * pulled versions of a customer change no searched field (a grade,
         * an owner, the echo of the rep's own edit), and tokenizing the
         * old and new text was most of an incremental sync's client time
         * (docs/BENCHMARKS.md, session 9). The map row is looked up first:
         * a customer new to the replica (all of a first sync) has none. */
        {FC_SQL_FTS_SAME,
         "DELETE FROM temp.fc_search_dirty WHERE cid IN (SELECT t.cid"
         " FROM temp.fc_search_text t CROSS JOIN fc_search_map m ON m.cid = t.cid"
         " CROSS JOIN customer c ON c.id = t.cid"
         " CROSS JOIN fc_search s ON s.rowid = m.rid CROSS JOIN fc_sub u"
         " ON u.rowid = m.rid"
         " WHERE s.name IS c.name AND s.address IS c.address AND s.tags IS c.tags"
         " AND u.name IS c.name AND u.address IS c.address AND u.tags IS c.tags"
         " AND s.contacts IS t.contacts AND u.contacts IS t.sub_contacts"
         " AND u.phones IS t.phones)"},
        {FC_SQL_FTS_DEL,
         "DELETE FROM fc_search WHERE rowid IN (SELECT m.rid"
         " FROM temp.fc_search_dirty d CROSS JOIN fc_search_map m ON m.cid = d.cid)"},
        {FC_SQL_SUB_DEL,
         "DELETE FROM fc_sub WHERE rowid IN (SELECT m.rid"
         " FROM temp.fc_search_dirty d CROSS JOIN fc_search_map m ON m.cid = d.cid)"},
        {FC_SQL_FTS_UNMAP,
         "DELETE FROM fc_search_map WHERE cid IN (SELECT cid FROM temp.fc_search_dirty)"
         " AND NOT EXISTS (SELECT 1 FROM customer c WHERE c.id = fc_search_map.cid"
         "  AND c.deleted = 0)"},
        {FC_SQL_FTS_MAP,
         "INSERT OR IGNORE INTO fc_search_map(cid) SELECT d.cid"
         " FROM temp.fc_search_dirty d CROSS JOIN temp.fc_search_text t ON t.cid = d.cid"},
        {FC_SQL_FTS_INS,
         "INSERT INTO fc_search(rowid, name, address, tags, contacts)"
         " SELECT m.rid, c.name, c.address, c.tags, t.contacts" DIRTY_TEXT},
        {FC_SQL_SUB_INS,
         "INSERT INTO fc_sub(rowid, name, address, tags, contacts, phones)"
         " SELECT m.rid, c.name, c.address, c.tags, t.sub_contacts, t.phones"
         DIRTY_TEXT},
        {FC_SQL_DIRTY_CLEAR, "DELETE FROM temp.fc_search_dirty"},
    };
    fc_status rc = FC_OK;

    for (size_t i = 0; !rc && i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_stmt *st = NULL;
        rc = fc__cached(c, &c->st_page[steps[i].slot], steps[i].sql, &st, err);
        if (!rc && sqlite3_step(st) != SQLITE_DONE)
            rc = fc__sqlfail(c, err, "search index");
        fc__release(st);
    }
    return rc;
}

fc_status fc__notice_add(fc_client *c, const char *kind, const fs_entity *e,
                         const fs_id *row, const char *label,
                         const char *reason, const char *detail, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;

    rc = fc__prepare(c, "INSERT INTO fc_notice(kind, entity, row, label, reason,"
                     " detail, at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st, err);
    if (rc)
        goto done;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, e ? e->name : "", -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, row->b, 16, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, label ? label : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, reason ? reason : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, detail ? detail : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, (int64_t)fc__now_ms(c));
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "record notice");
done:
    sqlite3_finalize(st);
    return rc;
}

static void row_label(fc_client *c, const char *entity, const fs_id *row,
                      char *out, size_t cap);

fc_status fc_notice_list(fc_client *c, fc_notice_fn fn, void *payload,
                         fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;
    int s;

    if (!c || !fn)
        return fc__fail(err, FC_EINVAL, "fc_notice_list: NULL argument");
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "replica deleted");
    rc = fc__prepare(c, "SELECT id, kind, entity, row, label, reason, detail, at_ms"
                     " FROM fc_notice ORDER BY id", &st, err);
    if (rc)
        goto done;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        fc_notice n;
        memset(&n, 0, sizeof n);
        n.id = sqlite3_column_int64(st, 0);
        snprintf(n.kind, sizeof n.kind, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(n.entity, sizeof n.entity, "%s", (const char *)sqlite3_column_text(st, 2));
        if (sqlite3_column_bytes(st, 3) == 16)
            memcpy(n.row.b, sqlite3_column_blob(st, 3), 16);
        snprintf(n.label, sizeof n.label, "%s", (const char *)sqlite3_column_text(st, 4));
        /* A conflict notice names the row as people know it: its name or
         * its customer's (a rep has to know WHICH customer). */
        if (!n.label[0])
            row_label(c, n.entity, &n.row, n.label, sizeof n.label);
        snprintf(n.reason, sizeof n.reason, "%s", (const char *)sqlite3_column_text(st, 5));
        snprintf(n.detail, sizeof n.detail, "%s", (const char *)sqlite3_column_text(st, 6));
        n.at_ms = sqlite3_column_int64(st, 7);
        if (!fn(&n, payload))
            break;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "list notices");
done:
    sqlite3_finalize(st);
    return rc;
}

fc_status fc__conflicts_replace(fc_client *c, const fs_open_conflict *k,
                                size_t n, uint32_t open, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc = fc__exec(c, "DELETE FROM fc_conflict", err);

    if (!rc)
        rc = fc__meta_set_int(c, "open_conflicts", open, err);
    if (!rc && n)
        rc = fc__prepare(c, "INSERT OR REPLACE INTO fc_conflict(id, entity, row, field,"
                         " rule, detail, mine_kept, created_ms)"
                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &st, err);
    for (size_t i = 0; !rc && i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, (int64_t)k[i].id);
        sqlite3_bind_text(st, 2, k[i].entity->name, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, k[i].row.b, 16, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, k[i].field, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, k[i].rule, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, k[i].detail, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 7, k[i].mine_kept);
        sqlite3_bind_int64(st, 8, (int64_t)k[i].created_ms);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = fc__sqlfail(c, err, "record open conflicts");
    }
    sqlite3_finalize(st);
    return rc;
}

/* A row's name in the displayed replica (customer, contact), else its
 * parent's (the customer of a contract, visit, quote...), else "". */
static void row_label(fc_client *c, const char *entity, const fs_id *row,
                      char *out, size_t cap)
{
    const fs_entity *e = fs_schema_entity(entity);
    fs_id id = *row;

    out[0] = '\0';
    for (int depth = 0; e && depth < 3 && !out[0]; depth++) {
        int slot = fs_entity_field_index(e, "name");
        fs_row r = {0};
        bool found = false;
        if (fs_store_load(c->disp, e, &id, &r, NULL, &found, NULL) != FS_STORE_OK || !found) {
            fs_row_free(&r);
            return;
        }
        if (slot >= 0 && r.cells[slot].v.kind == FS_VAL_TEXT)
            snprintf(out, cap, "%s", r.cells[slot].v.u.text.p);
        else if (e->parent >= 0 && r.cells[e->parent].v.kind == FS_VAL_ID) {
            id = r.cells[e->parent].v.u.id;
            e = fs_schema_entity(e->parent_entity);
        } else {
            e = NULL;
        }
        fs_row_free(&r);
    }
}

fc_status fc_conflict_list(fc_client *c, fc_conflict_fn fn, void *payload,
                           fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;
    int s;

    if (!c || !fn)
        return fc__fail(err, FC_EINVAL, "fc_conflict_list: NULL argument");
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "replica deleted");
    rc = fc__prepare(c, "SELECT id, entity, row, field, rule, detail, mine_kept,"
                     " created_ms FROM fc_conflict ORDER BY id DESC", &st, err);
    if (rc)
        goto done;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        fc_conflict k;
        memset(&k, 0, sizeof k);
        k.id = (uint64_t)sqlite3_column_int64(st, 0);
        snprintf(k.entity, sizeof k.entity, "%s", (const char *)sqlite3_column_text(st, 1));
        if (sqlite3_column_bytes(st, 2) == 16)
            memcpy(k.row.b, sqlite3_column_blob(st, 2), 16);
        snprintf(k.field, sizeof k.field, "%s", (const char *)sqlite3_column_text(st, 3));
        snprintf(k.rule, sizeof k.rule, "%s", (const char *)sqlite3_column_text(st, 4));
        snprintf(k.detail, sizeof k.detail, "%s", (const char *)sqlite3_column_text(st, 5));
        k.mine_kept = sqlite3_column_int(st, 6) != 0;
        k.created_ms = sqlite3_column_int64(st, 7);
        row_label(c, k.entity, &k.row, k.label, sizeof k.label);
        if (!fn(&k, payload))
            break;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "list conflicts");
done:
    sqlite3_finalize(st);
    return rc;
}

fc_status fc__delete_one(fc_client *c, const char *sql, int64_t id,
                         const char *what, bool *deleted, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;

    *deleted = false;
    rc = fc__begin(c, err);
    if (rc)
        return rc;
    rc = fc__prepare(c, sql, &st, err);
    if (rc)
        goto done;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = fc__sqlfail(c, err, what);
        goto done;
    }
    *deleted = sqlite3_changes(c->db) > 0;
    if (*deleted)
        rc = fc__commit(c, err);
done:
    sqlite3_finalize(st);
    fc__rollback(c);
    return rc;
}

fc_status fc_notice_dismiss(fc_client *c, int64_t id, fs_error *err)
{
    bool deleted;
    fc_status rc;

    if (!c)
        return fc__fail(err, FC_EINVAL, "fc_notice_dismiss: NULL argument");
    rc = fc__delete_one(c, "DELETE FROM fc_notice WHERE id = ?1", id,
                        "dismiss notice", &deleted, err);
    if (!rc && !deleted)
        rc = fc__fail(err, FC_ENOTFOUND, "no notice with id %lld", (long long)id);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Open / close                                                              */
/* ------------------------------------------------------------------------ */

static const char client_ddl[] =
    "CREATE TABLE IF NOT EXISTS fc_meta(key TEXT PRIMARY KEY NOT NULL, value);"
    /* AUTOINCREMENT: outbox ids are the order changes are replayed in, so an
     * id is never reused even after the newest entry is removed. */
    "CREATE TABLE IF NOT EXISTS fc_outbox("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " entity INTEGER NOT NULL,"
    " row BLOB NOT NULL,"
    " change BLOB NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0," /* fc_change_state */
    " batch BLOB,"
    " summary TEXT NOT NULL DEFAULT '',"
    " reason TEXT NOT NULL DEFAULT '',"
    " detail TEXT NOT NULL DEFAULT '',"
    " created_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS fc_outbox_row ON fc_outbox(entity, row, id);"
    "CREATE INDEX IF NOT EXISTS fc_outbox_state ON fc_outbox(state, id);"
    "CREATE TABLE IF NOT EXISTS fc_notice("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
    " entity TEXT NOT NULL, row BLOB, label TEXT NOT NULL DEFAULT '',"
    " reason TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '',"
    " at_ms INTEGER NOT NULL DEFAULT 0);"
    /* The server's list of open conflicts concerning the rep, replaced
     * whole by each complete sync (server ids, so no AUTOINCREMENT). */
    "CREATE TABLE IF NOT EXISTS fc_conflict("
    " id INTEGER PRIMARY KEY, entity TEXT NOT NULL, row BLOB NOT NULL,"
    " field TEXT NOT NULL, rule TEXT NOT NULL, detail TEXT NOT NULL,"
    " mine_kept INTEGER NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS fc_search USING fts5("
    " name, address, tags, contacts, tokenize = 'unicode61 remove_diacritics 2');"
    /* Substrings (CJK text, digits inside numbers), fc_search.c. */
    "CREATE VIRTUAL TABLE IF NOT EXISTS fc_sub USING fts5("
    " name, address, tags, contacts, phones, tokenize = 'fc_ngram');"
    "CREATE TABLE IF NOT EXISTS fc_search_map("
    " rid INTEGER PRIMARY KEY, cid BLOB UNIQUE NOT NULL);";

/* Replicas made before fc_sub existed have an empty one: index every live
 * customer once (meta "search_sub" records that it was done). */
static fc_status search_backfill(fc_client *c, fs_error *err)
{
    int64_t done = 0;
    fc_status rc = fc__meta_get_int(c, "search_sub", &done, NULL, err);

    if (rc || done)
        return rc;
    rc = fc__exec(c, "INSERT OR IGNORE INTO temp.fc_search_dirty(cid)"
                  " SELECT id FROM customer WHERE deleted = 0", err);
    if (!rc)
        rc = fc__fts_refresh_dirty(c, err);
    if (!rc)
        rc = fc__meta_set_int(c, "search_sub", 1, err);
    return rc;
}

static fc_status init_schema(fc_client *c, fs_error *err)
{
    fc_status rc;
    fs_error serr = {0};
    fs_store_status sst;
    int64_t fmt = 0;
    bool found = false;
    size_t len = 0;

    rc = fc__begin(c, err);
    if (rc)
        return rc;
    rc = fc__exec(c, client_ddl, err);
    if (rc)
        goto done;
    rc = fc__meta_get_int(c, "format", &fmt, &found, err);
    if (rc)
        goto done;
    if (found && fmt > FC_DB_FORMAT) {
        rc = fc__fail(err, FC_EDB, "the replica was written by a newer "
                      "field-client (format %lld)", (long long)fmt);
        goto done;
    }
    if (!found) {
        rc = fc__meta_set_int(c, "format", FC_DB_FORMAT, err);
        if (rc)
            goto done;
    }
    sst = fs_store_open(c->db, "", &c->disp, &serr);
    if (sst) {
        rc = fc__from_store(sst, &serr, err);
        goto done;
    }
    sst = fs_store_open(c->db, "base_", &c->base, &serr);
    if (sst) {
        rc = fc__from_store(sst, &serr, err);
        goto done;
    }
    rc = fc__meta_get_blob(c, "device_id", c->device.b, 16, &len, &found, err);
    if (rc)
        goto done;
    if (!found || len != 16) {
        /* A provisional device id lets the rep work before enrolling; enroll
         * re-stamps the outbox with the id the server assigns. */
        fs_error ferr = {0};
        fs_status fst = fs_id_new(fc__now_ms(c), &c->device, &ferr);
        if (fst) {
            rc = fc__from_fs(fst, &ferr, err);
            goto done;
        }
        rc = fc__meta_set_blob(c, "device_id", c->device.b, 16, err);
        if (rc)
            goto done;
    }
    {
        int64_t en = 0;
        rc = fc__meta_get_int(c, "enrolled", &en, NULL, err);
        if (rc)
            goto done;
        c->enrolled = en != 0;
    }
    rc = search_backfill(c, err);
    if (rc)
        goto done;
    rc = fc__commit(c, err);
done:
    if (rc)
        fc__rollback(c);
    return rc;
}

fc_status fc_open(const char *db_path, const fc_options *opt, fc_client **out,
                  fs_error *err)
{
    fc_client *c = NULL;
    fc_status rc = FC_OK;
    int fd;

    if (!db_path || !*db_path || !out)
        return fc__fail(err, FC_EINVAL, "fc_open: a database path is required");
    *out = NULL;
    c = calloc(1, sizeof *c);
    if (!c)
        return fc__fail(err, FC_ENOMEM, "out of memory");
    if (opt)
        c->opt = *opt;
    c->path = strdup(db_path);
    if (!c->opt.post)
        c->conns = fc__conns_new();
    if (!c->path || (!c->opt.post && !c->conns)) {
        rc = fc__fail(err, FC_ENOMEM, "out of memory");
        goto done;
    }
    /* Create the file ourselves so it is 0600 from its first byte: it holds
     * the device token. SQLite gives -wal/-shm the main file's mode. */
    fd = open(db_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = fc__fail(err, FC_EDB, "cannot open %s: %s", db_path, strerror(errno));
        goto done;
    }
    close(fd);
    if (sqlite3_open_v2(db_path, &c->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        rc = fc__fail(err, FC_EDB, "cannot open %s: %s", db_path,
                      c->db ? sqlite3_errmsg(c->db) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout(c->db, 10000);
    sqlite3_extended_result_codes(c->db, 0);
    if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(c->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(c->db, "PRAGMA foreign_keys=OFF", NULL, NULL, NULL) != SQLITE_OK ||
        /* A sync lets the WAL grow (fc_sync.c); once checkpointed it is cut
         * back to this size when it is next reused. */
        sqlite3_exec(c->db, "PRAGMA journal_size_limit=" FC_WAL_LIMIT, NULL, NULL,
                     NULL) != SQLITE_OK ||
        /* Per-connection scratch sets: rows a sync page touched, customers
         * whose search entry needs a refresh and their text
         * (fc__fts_refresh_dirty). */
        sqlite3_exec(c->db, "CREATE TEMP TABLE fc_touched(ent INTEGER NOT NULL,"
                     " id BLOB NOT NULL, PRIMARY KEY(ent, id));"
                     "CREATE TEMP TABLE fc_search_dirty(cid BLOB PRIMARY KEY);"
                     "CREATE TEMP TABLE fc_search_text(cid BLOB PRIMARY KEY,"
                     " contacts TEXT, sub_contacts TEXT, phones TEXT)",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = fc__fail(err, FC_EDB, "%s is not a usable SQLite database: %s",
                      db_path, sqlite3_errmsg(c->db));
        goto done;
    }
    if (fc__search_register(c->db) != SQLITE_OK) {
        rc = fc__fail(err, FC_EDB, "cannot register the search tokenizer: %s", sqlite3_errmsg(c->db));
        goto done;
    }
    rc = init_schema(c, err);
    if (rc)
        goto done;
    *out = c;
    c = NULL;
done:
    fc_close(c);
    return rc;
}

void fc_close(fc_client *c)
{
    if (!c)
        return;
    finalize_cached(c);
    fs_store_close(c->disp);
    fs_store_close(c->base);
    if (c->db)
        sqlite3_close_v2(c->db);
    fc__conns_free(c->conns);
    free(c->path);
    free(c);
}

/* ------------------------------------------------------------------------ */
/* Wipe                                                                      */
/* ------------------------------------------------------------------------ */

static fc_status clear_store(fc_client *c, fs_store *s, fs_error *err)
{
    size_t n;
    const fs_entity *const *ents = fs_schema_entities(&n);
    char sql[128];

    for (size_t i = 0; i < n; i++) {
        const char *t = fs_store_table(s, ents[i]);
        if (!t)
            continue;
        /* Table names come from the static schema and a fixed prefix. */
        snprintf(sql, sizeof sql, "DELETE FROM \"%s\"", t);
        if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return fc__sqlfail(c, err, "wipe");
    }
    return FC_OK;
}

/*
 * Deleting the file alone is not enough: if unlink failed (read-only dir,
 * another process holding it open) the data would survive. So the rows go
 * first, in one committed transaction, then the files.
 */
fc_status fc__wipe(fc_client *c, fs_error *err)
{
    fc_status rc;
    char path[4096 + 8];

    if (!sqlite3_get_autocommit(c->db))
        fc__rollback(c);
    rc = fc__begin(c, err);
    if (rc)
        return rc;
    rc = clear_store(c, c->disp, err);
    if (!rc)
        rc = clear_store(c, c->base, err);
    if (!rc)
        rc = fc__exec(c, "DELETE FROM fc_outbox; DELETE FROM fc_notice;"
                      "DELETE FROM fc_conflict;"
                      "DELETE FROM fc_search; DELETE FROM fc_sub;"
                      "DELETE FROM fc_search_map;"
                      "DELETE FROM fc_meta;", err);
    if (!rc)
        rc = fc__commit(c, err);
    if (rc) {
        fc__rollback(c);
        return rc;
    }
    finalize_cached(c);
    fs_store_close(c->disp);
    fs_store_close(c->base);
    c->disp = c->base = NULL;
    sqlite3_close_v2(c->db);
    c->db = NULL;
    c->wiped = true;
    unlink(c->path);
    snprintf(path, sizeof path, "%s-wal", c->path);
    unlink(path);
    snprintf(path, sizeof path, "%s-shm", c->path);
    unlink(path);
    snprintf(path, sizeof path, "%s-journal", c->path);
    unlink(path);
    return FC_OK;
}

/* ------------------------------------------------------------------------ */
/* Info and export                                                           */
/* ------------------------------------------------------------------------ */

static fc_status count_state(fc_client *c, int state, size_t *out, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;

    *out = 0;
    rc = fc__prepare(c, "SELECT count(*) FROM fc_outbox WHERE state = ?1", &st, err);
    if (rc)
        goto done;
    sqlite3_bind_int(st, 1, state);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = fc__sqlfail(c, err, "count outbox");
        goto done;
    }
    *out = (size_t)sqlite3_column_int64(st, 0);
done:
    sqlite3_finalize(st);
    return rc;
}

fc_status fc_info_get(fc_client *c, fc_info *out, fs_error *err)
{
    fc_status rc;
    int64_t v = 0;
    size_t len = 0, n = 0;
    sqlite3_stmt *st = NULL;

    if (!c || !out)
        return fc__fail(err, FC_EINVAL, "fc_info_get: NULL argument");
    memset(out, 0, sizeof *out);
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "replica deleted");
    /* A read transaction so the counts agree with each other. */
    if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return fc__sqlfail(c, err, "begin");
    out->device_id = c->device;
    rc = fc__meta_get_int(c, "enrolled", &v, NULL, err);
    if (rc)
        goto done;
    out->enrolled = v != 0;
    rc = fc__meta_get_blob(c, "server", out->server, sizeof out->server - 1,
                           &len, NULL, err);
    if (rc)
        goto done;
    out->server[len] = '\0';
    rc = fc__meta_get_blob(c, "rep_id", out->rep_id.b, 16, NULL, NULL, err);
    if (rc)
        goto done;
    rc = fc__meta_get_int(c, "cursor", &v, NULL, err);
    if (rc)
        goto done;
    out->cursor = (uint64_t)v;
    rc = fc__meta_get_int(c, "bootstrapped", &v, NULL, err);
    if (rc)
        goto done;
    out->bootstrapped = v != 0;
    rc = fc__meta_get_int(c, "last_sync_ms", &out->last_sync_ms, NULL, err);
    if (rc)
        goto done;
    rc = count_state(c, FC_CHANGE_PENDING, &n, err);
    if (rc)
        goto done;
    rc = count_state(c, FC_CHANGE_IN_FLIGHT, &out->in_flight, err);
    if (rc)
        goto done;
    out->pending = n + out->in_flight;
    rc = count_state(c, FC_CHANGE_REJECTED, &out->rejected, err);
    if (!rc)
        rc = count_state(c, FC_CHANGE_AWAITING, &out->awaiting, err);
    if (rc)
        goto done;
    rc = fc__prepare(c, "SELECT count(*) FROM fc_notice", &st, err);
    if (rc)
        goto done;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = fc__sqlfail(c, err, "count notices");
        goto done;
    }
    out->notices = (size_t)sqlite3_column_int64(st, 0);
    rc = fc__meta_get_int(c, "open_conflicts", &v, NULL, err);
    if (rc)
        goto done;
    out->open_conflicts = (size_t)v;
done:
    sqlite3_finalize(st);
    fc__rollback(c);
    return rc;
}

fc_status fc_export(fc_client *c, fc_write_fn write, void *payload, fs_error *err)
{
    fs_error serr = {0};
    fs_store_status sst;
    fc_status rc;

    if (!c || !write)
        return fc__fail(err, FC_EINVAL, "fc_export: NULL argument");
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "replica deleted");
    /* One read transaction: the export is a consistent snapshot even while
     * a sync commits pages in another process. */
    if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return fc__sqlfail(c, err, "begin");
    sst = fs_store_export(c->disp, NULL, NULL, write, payload, &serr);
    rc = fc__from_store(sst, &serr, err);
    fc__rollback(c);
    return rc;
}
