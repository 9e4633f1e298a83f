/*
 * fc_sync.c - enroll and the sync rounds.
 *
 * One round = one POST /v1/sync: the in-flight batch of outbox changes goes
 * up, results + a page of scope rows + scope exits come back, and the whole
 * answer is applied in ONE transaction (results, pulled rows - displayed
 * directly, or into base_ and recomputed when the row has queued changes -,
 * exits, cursor, HLC). The batch id is chosen and written to
 * the outbox (entries marked in flight) in its own transaction BEFORE the
 * request leaves, so whatever happens next - crash, timeout, lost answer,
 * garbage - the next attempt resends the very same batch with the same id and
 * the server answers it from its record (exactly once). A change leaves the
 * outbox only in the transaction that applies its result, except a merged
 * one: it stays shown (state awaiting, never resent) until a transaction
 * applies the server's row for it (settle_row, settle_all, settle_gone),
 * so what the device shows never goes back below what it showed.
 *
 * Bootstrap is just rounds from cursor 0 with has_more set; because every
 * page commits its rows and its next_cursor together, an interrupted
 * bootstrap resumes from the last committed page, and memory is bounded by
 * one page.
 */
#include "fc_int.h"
#include "fs_proto.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define FC_MAX_ROUNDS 100000u
/* WAL auto-checkpoint threshold in pages while a sync runs (16 MiB of 4 KiB
 * pages) and otherwise (SQLite's default). */
#define FC_SYNC_WAL_PAGES 4096
/* Pull-only pages applied in one transaction at most (apply_response), and
 * how long (ms) held pages may wait for the next answer before they commit
 * (fc_sync): the write lock is held at most about FC_SYNC_HOLD_PAGES times
 * that plus the pages' apply, well under another writer's busy timeout. */
#define FC_SYNC_HOLD_PAGES 8
#define FC_SYNC_HOLD_WAIT_MS 200
#define FC_WAL_PAGES 1000

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* A readable reason from a non-2xx answer: the ErrorBody message if it
 * decodes, else a short printable prefix of the body. *wipe from ErrorBody. */
static void refusal_text(const fc_http_response *r, char *out, size_t cap,
                         bool *wipe)
{
    fs_error_body eb;
    fs_proto_encoding enc = FS_PROTO_IDENTITY;
    size_t n = 0;

    *wipe = false;
    memset(&eb, 0, sizeof eb);
    fs_proto_encoding_parse(r->content_encoding, strlen(r->content_encoding),
                            &enc, NULL);
    if (r->len && fs_proto_error_body_decode(r->body, r->len, enc, NULL, &eb, NULL,
                                             NULL) == FS_PROTO_OK && eb.message[0]) {
        *wipe = eb.wipe;
        /* The server's message may be longer than the caller's line; cut
         * it rather than the code name, which is the machine-readable part. */
        snprintf(out, cap, "%.160s (%s)", eb.message, fs_proto_error_code_name(eb.code));
        return;
    }
    *wipe = eb.wipe;
    for (size_t i = 0; i < r->len && n + 1 < cap && n < 120; i++) {
        char ch = (char)r->body[i];
        out[n++] = (ch >= 32 && ch < 127) ? ch : ' ';
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, cap, "no reason given");
}

static fc_status build_url(fc_client *c, const char *path, char *url, size_t cap,
                           fs_error *err)
{
    char server[256];
    size_t len = 0;
    bool found = false;
    fc_status rc = fc__meta_get_blob(c, "server", server, sizeof server - 1, &len,
                                     &found, err);
    if (rc)
        return rc;
    if (!found || !c->enrolled)
        return fc__fail(err, FC_ENOTENROLLED, "this device is not enrolled; run "
                        "`field-client enroll <server-url> <code>` first");
    server[len] = '\0';
    snprintf(url, cap, "%s%s", server, path);
    return FC_OK;
}

static fc_status load_token(fc_client *c, char *tok, size_t cap, fs_error *err)
{
    size_t len = 0;
    fc_status rc = fc__meta_get_blob(c, "token", tok, cap - 1, &len, NULL, err);
    tok[rc ? 0 : len] = '\0';
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Enroll                                                                    */
/* ------------------------------------------------------------------------ */

fc_status fc_enroll(fc_client *c, const char *server_url, const char *code,
                    const char *device_name, fs_error *err)
{
    fs_enroll_request rq;
    fs_enroll_response rs;
    fs_proto_buf body = {0};
    fc_http_response resp = {0};
    fs_error perr = {0};
    fs_proto_encoding enc = FS_PROTO_IDENTITY;
    fs_proto_status pst;
    fc_status rc;
    char url[512], server[256];
    size_t ulen;
    bool in_txn = false;

    if (!c || !server_url || !code)
        return fc__fail(err, FC_EINVAL, "enroll: a server URL and a code are required");
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "replica deleted");
    if (c->enrolled)
        return fc__fail(err, FC_EENROLLED, "this replica is already enrolled; use "
                        "a new database (--db) to enroll another device");
    ulen = strlen(server_url);
    while (ulen && server_url[ulen - 1] == '/')
        ulen--;
    if ((strncmp(server_url, "http://", 7) != 0 && strncmp(server_url, "https://", 8) != 0) ||
        ulen >= sizeof server || ulen <= 8)
        return fc__fail(err, FC_EINVAL, "server URL must start with http:// or "
                        "https:// (got '%.80s')", server_url);
    if (!*code || strlen(code) > FS_PROTO_CODE_MAX)
        return fc__fail(err, FC_EINVAL, "enrollment code must be 1..%d characters",
                        FS_PROTO_CODE_MAX);
    memcpy(server, server_url, ulen);
    server[ulen] = '\0';
    memset(&rq, 0, sizeof rq);
    memset(&rs, 0, sizeof rs);
    rq.version = FS_PROTO_VERSION;
    snprintf(rq.code, sizeof rq.code, "%s", code);
    snprintf(rq.device_name, sizeof rq.device_name, "%s",
             device_name && *device_name ? device_name : "field-client");
    pst = fs_proto_enroll_request_encode(&rq, FS_PROTO_DEFLATE, NULL, &body, &perr);
    if (pst) {
        rc = fc__fail(err, FC_EINVAL, "enroll: %s", perr.text);
        goto done;
    }
    snprintf(url, sizeof url, "%s/v1/enroll", server);
    rc = fc__post_retry(c, url, NULL, FS_PROTO_DEFLATE, body.data, body.len, &resp,
                        NULL, NULL, NULL, err);
    if (rc)
        goto done;
    if (resp.status != 200) {
        char why[200];
        bool wipe;
        refusal_text(&resp, why, sizeof why, &wipe);
        rc = fc__fail(err, FC_EHTTP, "enrollment refused by %s (HTTP %ld): %s",
                      server, resp.status, why);
        goto done;
    }
    fs_proto_encoding_parse(resp.content_encoding, strlen(resp.content_encoding),
                            &enc, NULL);
    pst = fs_proto_enroll_response_decode(resp.body, resp.len, enc, NULL, &rs, NULL,
                                          &perr);
    if (pst || fs_id_is_nil(&rs.device_id) || !rs.token[0]) {
        rc = fc__fail(err, FC_EPROTOCOL, "the server's enrollment answer could not "
                      "be understood: %s", pst ? perr.text : "no device id or token");
        goto done;
    }
    rc = fc__begin(c, err);
    if (rc)
        goto done;
    in_txn = true;
    rc = fc__meta_set_blob(c, "device_id", rs.device_id.b, 16, err);
    if (!rc)
        rc = fc__meta_set_blob(c, "rep_id", rs.rep_id.b, 16, err);
    if (!rc)
        rc = fc__meta_set_blob(c, "token", rs.token, strlen(rs.token), err);
    if (!rc)
        rc = fc__meta_set_blob(c, "server", server, strlen(server), err);
    if (!rc)
        rc = fc__meta_set_int(c, "enrolled", 1, err);
    if (!rc)
        rc = fc__hlc_recv(c, rs.server_time, err);
    if (!rc)
        rc = fc__outbox_restamp(c, &rs.device_id, err);
    if (!rc)
        rc = fc__commit(c, err);
    in_txn = false;
    if (!rc) {
        c->device = rs.device_id;
        c->enrolled = true;
    }
done:
    if (in_txn)
        fc__rollback(c);
    fs_proto_buf_free(&body);
    free(resp.body);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The in-flight batch                                                       */
/* ------------------------------------------------------------------------ */

typedef struct batch {
    fs_id id;
    bool fresh;          /* marked in flight by this round (never sent) */
    int64_t *ids;        /* outbox ids, request order */
    fs_change *changes;  /* decoded, same order */
    size_t n;
} batch;

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        fs_change_free(&b->changes[i]);
    free(b->changes);
    free(b->ids);
    memset(b, 0, sizeof *b);
}

/*
 * Reuses the persisted in-flight batch if there is one (a previous attempt
 * may have reached the server), otherwise marks up to max_batch pending
 * changes in flight under a new batch id, and commits that before anything
 * is sent.
 */
static fc_status batch_prepare(fc_client *c, batch *b, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc;
    size_t len = 0;
    bool found = false;
    int64_t inflight = 0;
    uint32_t max = c->opt.max_batch ? c->opt.max_batch : 500;
    fs_error ferr = {0};
    size_t cap = 0;
    bool marked = false;
    int s;

    memset(b, 0, sizeof *b);
    rc = fc__begin(c, err);
    if (rc)
        return rc;
    rc = fc__meta_get_blob(c, "batch_id", b->id.b, 16, &len, &found, err);
    if (rc)
        goto done;
    rc = fc__prepare(c, "SELECT count(*) FROM fc_outbox WHERE state = 1", &st, err);
    if (rc)
        goto done;
    if (sqlite3_step(st) == SQLITE_ROW)
        inflight = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (!found || len != 16 || inflight == 0) {
        if (fs_id_new(fc__now_ms(c), &b->id, &ferr)) {
            rc = fc__from_fs(FS_ERANDOM, &ferr, err);
            goto done;
        }
        rc = fc__prepare(c, "UPDATE fc_outbox SET state = 1, batch = ?1 WHERE id IN"
                         " (SELECT id FROM fc_outbox WHERE state = 0 ORDER BY id"
                         "  LIMIT ?2)", &st, err);
        if (rc)
            goto done;
        sqlite3_bind_blob(st, 1, b->id.b, 16, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, max);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = fc__sqlfail(c, err, "mark batch");
            goto done;
        }
        marked = sqlite3_changes(c->db) > 0;
        sqlite3_finalize(st);
        st = NULL;
        /* Nothing to send (every bootstrap page after the first): the id
         * of an empty batch is never recorded by the server, so there is
         * nothing to persist and this transaction writes nothing (no
         * commit to sync per pull round). */
        if (!marked) {
            rc = fc__commit(c, err);
            goto done;
        }
        rc = fc__meta_set_blob(c, "batch_id", b->id.b, 16, err);
        if (rc)
            goto done;
        b->fresh = true;
    }
    rc = fc__prepare(c, "SELECT id, change FROM fc_outbox WHERE state = 1 ORDER BY id",
                     &st, err);
    if (rc)
        goto done;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (b->n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            int64_t *ni = realloc(b->ids, ncap * sizeof *ni);
            fs_change *nc;
            if (!ni) {
                rc = fc__fail(err, FC_ENOMEM, "out of memory");
                goto done;
            }
            b->ids = ni;
            nc = realloc(b->changes, ncap * sizeof *nc);
            if (!nc) {
                rc = fc__fail(err, FC_ENOMEM, "out of memory");
                goto done;
            }
            b->changes = nc;
            cap = ncap;
        }
        b->ids[b->n] = sqlite3_column_int64(st, 0);
        rc = fc__change_decode(sqlite3_column_blob(st, 1),
                               (size_t)sqlite3_column_bytes(st, 1), &b->changes[b->n], err);
        if (rc)
            goto done;
        b->n++;
    }
    if (s != SQLITE_DONE) {
        rc = fc__sqlfail(c, err, "read batch");
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = fc__commit(c, err);
done:
    sqlite3_finalize(st);
    if (rc) {
        fc__rollback(c);
        batch_free(b);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Applying one answer                                                       */
/* ------------------------------------------------------------------------ */

/* Records (e, id) in temp.fc_touched through `ins`, prepared once per answer
 * by apply_response. */
static fc_status touch(fc_client *c, sqlite3_stmt *ins, const fs_entity *e,
                       const fs_id *id, fs_error *err)
{
    fc_status rc = FC_OK;

    sqlite3_bind_int(ins, 1, e->tag);
    sqlite3_bind_blob(ins, 2, id->b, 16, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "touch");
    sqlite3_reset(ins);
    return rc;
}

/* An applied change stands at the server exactly as sent, so it is folded
 * into base_ at once: the rep's edit stays visible even when the pulled page
 * that carries the row's new server version comes in a later round. */
static fc_status fold_into_base(fc_client *c, const fs_change *ch, fs_error *err)
{
    fs_row row = {0};
    fs_store_rowinfo info;
    fs_conflict_list confl = {0};
    fs_merge_ctx ctx = {.origin = FS_ORIGIN_DEVICE};
    fs_merge_result res;
    fs_error ferr = {0};
    fs_store_status sst;
    fs_status fst;
    fc_status rc;
    bool found;

    sst = fs_store_load(c->base, ch->entity, &ch->row, &row, &info, &found, &ferr);
    if (!sst && !found) {
        /* In neither table set: a scope exit removed the row (its customer
         * left, was merged away) while this change was queued. The server
         * has it now; folding it would bring back a row made of this change
         * alone, which the server never sends again (issue 17, found by
         * tests/sim with merges). */
        bool shown = false;
        fs_row_free(&row);
        memset(&row, 0, sizeof row);
        sst = fs_store_load(c->disp, ch->entity, &ch->row, &row, &info, &shown, &ferr);
        if (!sst && !shown) {
            rc = FC_OK;
            goto done;
        }
        /* Shown but not confirmed: a row the rep created, whose create the
         * server has (this change could not have applied without it) but
         * whose confirmed copy has not come yet. Fold onto the row as shown,
         * never onto nothing: a base row made of this change alone showed a
         * quote with a discount and no currency until the server's copy
         * came (tests/sim --merges, seed 52). Later queued edits in the
         * shown row stay queued; the server's copy, newer than the cursor
         * since this change applied, replaces the base when it is pulled. */
        if (!sst && !fs_row_complete(&row)) {
            rc = FC_OK;
            goto done;
        }
    }
    if (sst) {
        rc = fc__from_store(sst, &ferr, err);
        goto done;
    }
    fst = fs_merge(&ctx, &row, ch, &res, &confl, &ferr);
    if (fst) {
        rc = fc__from_fs(fst, &ferr, err);
        goto done;
    }
    rc = fc__save_base(c, &row, info.seq, err);
done:
    fs_conflict_list_free(&confl);
    fs_row_free(&row);
    return rc;
}

/* Steps `st` (prepared once per answer) with ?1 = a and, when given, ?2 =
 * the 16-byte blob and ?3 / ?4 = texts; then resets it for the next row. */
static fc_status exec_id(fc_client *c, sqlite3_stmt *st, int64_t a, const void *blob,
                         const char *t1, const char *t2, fs_error *err)
{
    fc_status rc = FC_OK;

    sqlite3_bind_int64(st, 1, a);
    if (blob)
        sqlite3_bind_blob(st, 2, blob, 16, SQLITE_STATIC);
    if (t1)
        sqlite3_bind_text(st, 3, t1, -1, SQLITE_STATIC);
    if (t2)
        sqlite3_bind_text(st, 4, t2, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "update outbox");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* A duplicate's exit: the server moved its rows to the survivor, each with
 * a fresh seq, but a row further down (a quote's line) may have been pulled
 * while its parent here still named the duplicate, and the parent's new
 * version may come pages later. Such rows lose their root instead of going
 * with the duplicate: the parent's arrival gives them the survivor's
 * (fs_store_fix_roots), and a complete pull drops those whose parent never
 * comes (drop_orphans); one whose parent came earlier in this answer gets
 * its root again right after the exits. Found by tests/sim --merges. */
static fc_status unroot_below_merged(fc_client *c, const fs_id *dup, fs_error *err)
{
    const fs_entity *const *ents;
    size_t ne = 0;
    fc_status rc = FC_OK;

    ents = fs_schema_entities(&ne);
    for (size_t i = 0; i < ne && !rc; i++) {
        const fs_entity *e = ents[i], *pe;
        if (e->parent < 0 || !e->parent_entity ||
            !(pe = fs_schema_entity(e->parent_entity)) || pe->parent < 0)
            continue;
        for (int set = 0; set < 2 && !rc; set++) {
            char sql[200];
            sqlite3_stmt *st = NULL;
            snprintf(sql, sizeof sql, "UPDATE \"%s\" SET root = NULL WHERE root = ?1",
                     fs_store_table(set ? c->base : c->disp, e));
            rc = fc__prepare(c, sql, &st, err);
            if (rc)
                break;
            sqlite3_bind_blob(st, 1, dup->b, 16, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE)
                rc = fc__sqlfail(c, err, "unroot");
            sqlite3_finalize(st);
        }
    }
    return rc;
}

static fc_status apply_exit(fc_client *c, const fs_scope_exit *x, size_t *notices,
                            fs_error *err)
{
    fs_row row = {0};
    fs_error serr = {0};
    fs_store_status sst;
    fc_status rc;
    bool found = false;
    char label[128] = "";
    int name_slot = fs_entity_field_index(x->entity, "name");
    bool is_customer = strcmp(x->entity->name, "customer") == 0;
    fs_id parent;
    bool has_parent = false;

    sst = fs_store_load(c->disp, x->entity, &x->row, &row, NULL, &found, &serr);
    if (sst) {
        rc = fc__from_store(sst, &serr, err);
        goto done;
    }
    /* Customers and contacts are named in the notice. */
    if (found && (is_customer || strcmp(x->entity->name, "contact") == 0) &&
        name_slot >= 0 && row.cells[name_slot].v.kind == FS_VAL_TEXT)
        snprintf(label, sizeof label, "%s", row.cells[name_slot].v.u.text.p);
    if (found && x->entity->parent >= 0 &&
        row.cells[x->entity->parent].v.kind == FS_VAL_ID) {
        parent = row.cells[x->entity->parent].v.u.id;
        has_parent = true;
    }
    /* The row from both table sets; for a customer, first everything
     * hanging off it. */
    if (is_customer && x->reason == FS_EXIT_MERGED &&
        (rc = unroot_below_merged(c, &x->row, err)) != FC_OK)
        goto done;
    if (is_customer) {
        sst = fs_store_delete_root(c->disp, &x->row, NULL, &serr);
        if (!sst)
            sst = fs_store_delete_root(c->base, &x->row, NULL, &serr);
    }
    if (!sst)
        sst = fs_store_delete(c->disp, x->entity, &x->row, NULL, &serr);
    if (!sst)
        sst = fs_store_delete(c->base, x->entity, &x->row, NULL, &serr);
    if (sst) {
        rc = fc__from_store(sst, &serr, err);
        goto done;
    }
    if (is_customer)
        rc = fc__fts_refresh(c, &x->row, err);
    else if (strcmp(x->entity->name, "contact") == 0 && has_parent)
        rc = fc__fts_refresh(c, &parent, err);
    else
        rc = FC_OK;
    if (rc)
        goto done;
    /* Only rows the rep could see are worth telling about. */
    if (found && !row.deleted) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s %.60s was removed from this device: %s",
                 x->entity->name, label[0] ? label : "(unnamed)",
                 x->reason == FS_EXIT_REASSIGNED ? "it was reassigned to another rep"
                 : x->reason == FS_EXIT_DELETED ? "it was deleted at the office"
                 : x->reason == FS_EXIT_REVOKED ? "your access to it was revoked"
                 : x->reason == FS_EXIT_RECLAIMED
                     ? "it was reclaimed to the public pool (no follow-up in time)"
                 : x->reason == FS_EXIT_MERGED
                     ? "it was merged into another customer (a duplicate); its "
                       "rows and your changes to it moved there"
                     : "it left your scope");
        rc = fc__notice_add(c, "exit", x->entity, &x->row, label,
                            fs_exit_reason_name(x->reason), detail, err);
        if (!rc)
            (*notices)++;
    }
done:
    fs_row_free(&row);
    return rc;
}

/* fs_store_keep_fn: an orphan the outbox still has changes for waits for
 * the server's verdict and goes at a later complete pull. Only changes
 * still to be judged count (pending, in flight): a rejected one is out of
 * the overlay and kept for `status` only, so it must not keep a row the
 * server will never send again on the device forever (tests/sim
 * --page-size 2 --cut-pages --pull-plan seq, seed 40, found one). */
static bool has_queued_change(const fs_entity *e, const fs_id *id, void *payload)
{
    fc_client *c = payload;
    sqlite3_stmt *st = NULL;
    bool queued = true; /* on a failed lookup, keep the row */

    if (fc__prepare(c, "SELECT 1 FROM fc_outbox WHERE entity = ?1 AND row = ?2"
                    " AND state IN (0, 1)", &st, NULL) == FC_OK) {
        sqlite3_bind_int(st, 1, e->tag);
        sqlite3_bind_blob(st, 2, id->b, 16, SQLITE_STATIC);
        queued = sqlite3_step(st) != SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return queued;
}

/* Rows left without a root (their parent never arrived), from both table
 * sets. */
static fc_status drop_orphans(fc_client *c, fs_error *err)
{
    fs_error serr = {0};
    fs_store_status sst = fs_store_drop_orphans(c->base, has_queued_change, c, NULL, &serr);

    if (!sst)
        sst = fs_store_drop_orphans(c->disp, has_queued_change, c, NULL, &serr);
    return sst ? fc__from_store(sst, &serr, err) : FC_OK;
}

/* *direct = the pulled `row` can take the direct path (save_direct): the
 * outbox holds no pending or in-flight change to it (`any`: it holds some
 * at all) and no result of this answer touched it (`touched`, NULL when
 * there were no results: such a row is recomputed in step 3, from base_). */
static fc_status direct_ok(fc_client *c, bool any, sqlite3_stmt *touched,
                           const fs_row *row, bool *direct, fs_error *err)
{
    fc_status rc = FC_OK;
    bool overlay = false;
    int s;

    *direct = false;
    if (any) {
        rc = fc__has_overlay(c, row->entity, &row->id, &overlay, err);
        if (rc || overlay)
            return rc;
    }
    if (touched) {
        sqlite3_bind_int(touched, 1, row->entity->tag);
        sqlite3_bind_blob(touched, 2, row->id.b, 16, SQLITE_STATIC);
        s = sqlite3_step(touched);
        sqlite3_reset(touched);
        if (s == SQLITE_ROW)
            return FC_OK;
        if (s != SQLITE_DONE)
            return fc__sqlfail(c, err, "touched rows");
    }
    *direct = true;
    return FC_OK;
}

/* Bit k of *used: entity k of the schema has rows in its base_ table (or
 * no such table, so none can be ruled out). One statement, made from the
 * schema on first use and kept in the handle, asked once per page: in a
 * bootstrap base_ is empty, and save_direct then skips a delete per row
 * that would find nothing. */
static fc_status base_tables_used(fc_client *c, uint64_t *used, fs_error *err)
{
    size_t ne, n = 0;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    sqlite3_stmt *st = NULL;
    char sql[2048] = "";
    fc_status rc;

    *used = ~(uint64_t)0;
    if (ne > 64)
        return FC_OK;
    if (!c->st_base_any) {
        n = (size_t)snprintf(sql, sizeof sql, "SELECT 0");
        for (size_t k = 0; k < ne && n < sizeof sql; k++) {
            const char *t = fs_store_table(c->base, ents[k]);
            if (t)
                n += (size_t)snprintf(sql + n, sizeof sql - n,
                                      ", EXISTS(SELECT 1 FROM \"%s\")", t);
            else
                n += (size_t)snprintf(sql + n, sizeof sql - n, ", 1");
        }
        if (n >= sizeof sql)
            return FC_OK;
    }
    rc = fc__cached(c, &c->st_base_any, sql, &st, err);
    if (rc)
        return rc;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = fc__sqlfail(c, err, "base tables");
    } else {
        *used = 0;
        for (size_t k = 0; k < ne; k++)
            if (sqlite3_column_int(st, (int)k + 1))
                *used |= (uint64_t)1 << k;
    }
    fc__release(st);
    return rc;
}

/*
 * A pulled row with no outbox change (direct_ok): displayed = base + an
 * empty overlay = the row as pulled, so it is saved into the displayed
 * table only (or removed from it, when it does not exist), as
 * fc__recompute_row would, without reading either table back; a base_ copy
 * left from an earlier overlay is now stale and is deleted (base_ is sparse:
 * fc_outbox.c; `base_used` false: the entity's base_ table is empty, so
 * there is none). *done = false (nothing written) for the one case that needs
 * the displayed row's previous state: a contact without its customer
 * reference (its search entry is found through the old row); the caller
 * takes the base_ + recompute path instead.
 */
static fc_status save_direct(fc_client *c, const fs_row *row, int64_t seq,
                             bool base_used, bool *done, fs_error *err)
{
    const fs_entity *e = row->entity;
    bool is_customer = strcmp(e->name, "customer") == 0;
    bool is_contact = strcmp(e->name, "contact") == 0;
    fs_error serr = {0};
    fs_store_status sst;
    fs_id root, cust;
    bool has_root = false, has_cust = false;

    *done = false;
    if (is_contact) {
        int p = e->parent;
        if (p < 0 || row->cells[p].v.kind != FS_VAL_ID)
            return FC_OK;
        cust = row->cells[p].v.u.id;
        has_cust = true;
    } else if (is_customer) {
        cust = row->id;
        has_cust = true;
    }
    sst = base_used ? fs_store_delete(c->base, e, &row->id, NULL, &serr) : FS_STORE_OK;
    if (sst)
        return fc__from_store(sst, &serr, err);
    if (fs_row_exists(row)) {
        sst = fs_store_root(c->disp, row, &root, &has_root, &serr);
        if (sst == FS_STORE_ENOPARENT)
            has_root = false; /* fixed by fs_store_fix_roots later */
        else if (sst)
            return fc__from_store(sst, &serr, err);
        sst = fs_store_save(c->disp, row, seq, has_root ? &root : NULL, &serr);
    } else {
        sst = fs_store_delete(c->disp, e, &row->id, NULL, &serr);
    }
    if (sst)
        return fc__from_store(sst, &serr, err);
    *done = true;
    return has_cust ? fc__fts_mark(c, &cust, err) : FC_OK;
}

/* The page statement `slot`, cached in the handle (release it with
 * fc__release); the search-refresh slots belong to fc_db.c. */
static fc_status page_sql(fc_client *c, int slot, sqlite3_stmt **st, fs_error *err)
{
    static const char *const sql[FC_SQL_COUNT] = {
        [FC_SQL_TOUCH_ADD] = "INSERT OR IGNORE INTO temp.fc_touched(ent, id) VALUES(?1, ?2)",
        [FC_SQL_TOUCH_HAS] = "SELECT 1 FROM temp.fc_touched WHERE ent = ?1 AND id = ?2",
        [FC_SQL_TOUCH_ALL] = "SELECT ent, id FROM temp.fc_touched ORDER BY ent, id",
        [FC_SQL_TOUCH_CLEAR] = "DELETE FROM temp.fc_touched",
        [FC_SQL_REJECT] = "UPDATE fc_outbox SET state = 2, batch = NULL,"
                          " reason = ?3, detail = ?4 WHERE id = ?1",
        [FC_SQL_DROP] = "DELETE FROM fc_outbox WHERE id = ?1",
        [FC_SQL_FIXED] = "DELETE FROM fc_outbox WHERE state = 2 AND id < ?1 AND row = ?2",
        [FC_SQL_ANY_QUEUED] = "SELECT EXISTS(SELECT 1 FROM fc_outbox WHERE state IN (0, 1, 3))",
        [FC_SQL_COUNT_QUEUED] = "SELECT count(*) FROM fc_outbox WHERE state IN (0, 1)",
        /* Two counts on the state index (outbox_report). */
        [FC_SQL_OUTBOX_REPORT] = "SELECT (SELECT count(*) FROM fc_outbox WHERE state = 0),"
                                 " (SELECT count(*) FROM fc_outbox WHERE state = 2)",
        /* Awaiting (state 3, fc_change_state): answered "merged", kept in
         * the overlay until the server's row is here, never resent. */
        [FC_SQL_AWAIT] = "UPDATE fc_outbox SET state = 3, batch = NULL WHERE id = ?1",
        [FC_SQL_SETTLE_ROW] = "DELETE FROM fc_outbox WHERE state = 3 AND entity = ?1"
                              " AND row = ?2",
        [FC_SQL_SETTLE_TOUCH] = "INSERT OR IGNORE INTO temp.fc_touched(ent, id)"
                                " SELECT entity, row FROM fc_outbox WHERE state = 3",
        [FC_SQL_SETTLE_ALL] = "DELETE FROM fc_outbox WHERE state = 3",
    };

    return fc__cached(c, &c->st_page[slot], sql[slot], st, err);
}

/* A pulled version of `row` settles its awaiting changes (they leave the
 * overlay); the row is recomputed because it is in base_ now (direct_ok
 * saw an overlay) or saved directly. */
static fc_status settle_row(fc_client *c, sqlite3_stmt *settle, const fs_row *row,
                            fs_error *err)
{
    fc_status rc = FC_OK;

    sqlite3_bind_int(settle, 1, row->entity->tag);
    sqlite3_bind_blob(settle, 2, row->id.b, 16, SQLITE_STATIC);
    if (sqlite3_step(settle) != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "settle outbox");
    sqlite3_reset(settle);
    return rc;
}

/* Every awaiting change leaves the overlay; its row is recomputed (step 3). */
static fc_status settle_all(fc_client *c, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc = page_sql(c, FC_SQL_SETTLE_TOUCH, &st, err);

    if (!rc && sqlite3_step(st) != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "settle outbox");
    fc__release(st);
    st = NULL;
    if (!rc)
        rc = page_sql(c, FC_SQL_SETTLE_ALL, &st, err);
    if (!rc && sqlite3_step(st) != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "settle outbox");
    fc__release(st);
    return rc;
}

/* After scope exits: an awaiting change whose row is in neither table set
 * was removed with its row (or its customer's subtree); it must not bring
 * the row back at a later recompute. The ids are collected first and
 * deleted after the scan (awaiting entries are few). */
static fc_status settle_gone(fc_client *c, fs_error *err)
{
    sqlite3_stmt *st = NULL, *del = NULL;
    fs_row row = {0};
    fs_error serr = {0};
    int64_t *gone = NULL;
    size_t ngone = 0, cap = 0;
    fc_status rc;
    int s;

    rc = fc__prepare(c, "SELECT id, entity, row FROM fc_outbox WHERE state = 3", &st,
                     err);
    if (rc)
        goto done;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const fs_entity *e = fs_schema_entity_by_tag((unsigned)sqlite3_column_int(st, 1));
        fs_store_status sst;
        bool found = false;
        fs_id id;

        if (!e || sqlite3_column_bytes(st, 2) != 16)
            continue;
        memcpy(id.b, sqlite3_column_blob(st, 2), 16);
        sst = fs_store_load(c->disp, e, &id, &row, NULL, &found, &serr);
        fs_row_free(&row);
        if (!sst && !found) {
            sst = fs_store_load(c->base, e, &id, &row, NULL, &found, &serr);
            fs_row_free(&row);
        }
        if (sst) {
            rc = fc__from_store(sst, &serr, err);
            goto done;
        }
        if (found)
            continue;
        if (ngone == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            int64_t *ng = realloc(gone, ncap * sizeof *ng);
            if (!ng) {
                rc = fc__fail(err, FC_ENOMEM, "out of memory");
                goto done;
            }
            gone = ng;
            cap = ncap;
        }
        gone[ngone++] = sqlite3_column_int64(st, 0);
    }
    if (s != SQLITE_DONE) {
        rc = fc__sqlfail(c, err, "settle outbox");
        goto done;
    }
    rc = page_sql(c, FC_SQL_DROP, &del, err);
    for (size_t i = 0; !rc && i < ngone; i++)
        rc = exec_id(c, del, gone[i], NULL, NULL, NULL, err);
done:
    sqlite3_finalize(st);
    fc__release(del);
    free(gone);
    return rc;
}

/*
 * Applies one answer inside the transaction apply_response opened. `hold`:
 * more pages follow in this transaction, so the search refresh waits for
 * the page that commits (the set of customers to refresh, like everything
 * else the page wrote, is in the transaction).
 */
static fc_status apply_page(fc_client *c, const batch *b,
                            const fs_sync_response *r, bool hold, fc_progress *prog,
                            size_t *notices, fs_error *err)
{
    sqlite3_stmt *st = NULL, *ins = NULL, *rej = NULL, *del = NULL, *fixed = NULL;
    sqlite3_stmt *tch = NULL, *await = NULL, *settle = NULL;
    fc_status rc;
    bool overlay = false;
    uint64_t base_used = 0;
    size_t ne;
    const fs_entity *const *ents = fs_schema_entities(&ne);
    int s;

    /* Each statement is cached in the handle (st_page), not prepared per
     * result, row or page. The search set holds the customers of the held
     * pages before this one (apply_response) or nothing: every refresh
     * empties it, and a failed page's marks roll back with it. */
    rc = page_sql(c, FC_SQL_TOUCH_CLEAR, &st, err);
    if (!rc && sqlite3_step(st) != SQLITE_DONE)
        rc = fc__sqlfail(c, err, "touched rows");
    fc__release(st);
    st = NULL;
    if (!rc)
        rc = page_sql(c, FC_SQL_TOUCH_ADD, &ins, err);
    if (!rc)
        rc = page_sql(c, FC_SQL_REJECT, &rej, err);
    if (!rc)
        rc = page_sql(c, FC_SQL_DROP, &del, err);
    if (!rc)
        rc = page_sql(c, FC_SQL_FIXED, &fixed, err);
    if (!rc)
        rc = page_sql(c, FC_SQL_AWAIT, &await, err);
    if (rc)
        goto done;
    /* 1. Results, in request order. */
    for (size_t i = 0; i < r->nresults; i++) {
        const fs_sync_result *res = &r->results[i];
        const fs_change *ch = &b->changes[res->index];
        int64_t oid = b->ids[res->index];

        if (res->outcome == FS_REJECTED) {
            rc = exec_id(c, rej, oid, NULL, fs_reason_name(res->reason),
                         res->detail, err);
            prog->rejected++;
        } else {
            /* Applied: it stands at the server exactly as sent, so it joins
             * base_. Merged: the server's row differs from base_ + this
             * change in ways only that row tells (writes lost or refused,
             * a clamped stamp), so the change stays shown, awaiting the
             * row (step 2 or the end of a complete pull settles it). */
            if (res->outcome == FS_APPLIED) {
                rc = fold_into_base(c, ch, err);
                if (!rc)
                    rc = exec_id(c, del, oid, NULL, NULL, NULL, err);
            } else {
                rc = exec_id(c, await, oid, NULL, NULL, NULL, err);
            }
            /* A later accepted change to the same row is the rep's fix for
             * an earlier rejection: the rejection has been dealt with. */
            if (!rc)
                rc = exec_id(c, fixed, oid, ch->row.b, NULL, NULL, err);
            if (!rc && res->outcome == FS_MERGED && res->reason != FS_REASON_NONE) {
                char detail[160];
                snprintf(detail, sizeof detail, "%s", res->detail);
                rc = fc__notice_add(c, "conflict", ch->entity, &ch->row, "",
                                    fs_reason_name(res->reason), detail, err);
                if (!rc)
                    (*notices)++;
            }
            prog->applied++;
        }
        if (!rc)
            rc = touch(c, ins, ch->entity, &ch->row, err);
        if (rc)
            goto done;
    }
    /* 2. Pulled rows, parents first (schema order) so that each row's root
     *    can be computed from its already-saved parent. A row with nothing
     *    in the outbox goes straight to the displayed table (save_direct);
     *    the others into base_, to be recomputed with their overlay in 3. */
    rc = page_sql(c, FC_SQL_ANY_QUEUED, &st, err);
    if (rc)
        goto done;
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = fc__sqlfail(c, err, "read outbox");
        goto done;
    }
    overlay = sqlite3_column_int(st, 0) != 0;
    fc__release(st);
    st = NULL;
    if (r->nresults)
        rc = page_sql(c, FC_SQL_TOUCH_HAS, &tch, err);
    if (!rc && overlay)
        rc = page_sql(c, FC_SQL_SETTLE_ROW, &settle, err);
    if (!rc)
        rc = base_tables_used(c, &base_used, err);
    if (rc)
        goto done;
    for (size_t k = 0; k < ne; k++) {
        for (size_t i = 0; i < r->nrows; i++) {
            const fs_pulled_row *pr = &r->rows[i];
            bool direct = false;
            if (pr->row.entity != ents[k])
                continue;
            /* Every answer applied after a merged answer was read by the
             * server after that push committed (pushes are never sent
             * ahead: see prefetch), so this version of the row already
             * holds whatever the merge made of the awaiting change. */
            if (settle)
                rc = settle_row(c, settle, &pr->row, err);
            if (!rc)
                rc = direct_ok(c, overlay, tch, &pr->row, &direct, err);
            if (!rc && direct)
                rc = save_direct(c, &pr->row, (int64_t)pr->seq,
                                 k >= 64 || (base_used >> k & 1), &direct, err);
            if (!rc && !direct) {
                if (k < 64)
                    base_used |= (uint64_t)1 << k;
                rc = fc__save_base(c, &pr->row, (int64_t)pr->seq, err);
                if (!rc)
                    rc = touch(c, ins, pr->row.entity, &pr->row.id, err);
            }

            if (rc)
                goto done;
        }
    }
    /* A complete pull has brought every row version newer than the cursor
     * the sync started from, so each awaiting change's row has been
     * considered: one that was not sent either left the scope or was not
     * changed by the merge (no new version), and base_ already holds it. */
    if (!r->has_more) {
        rc = settle_all(c, err);
        if (rc)
            goto done;
    }
    /* 3. Displayed rows = base + what is still pending. */
    rc = page_sql(c, FC_SQL_TOUCH_ALL, &st, err);
    if (rc)
        goto done;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const fs_entity *e = fs_schema_entity_by_tag((unsigned)sqlite3_column_int(st, 0));
        fs_id id, cust;
        bool search = false;
        memcpy(id.b, sqlite3_column_blob(st, 1), 16);
        rc = fc__recompute_row(c, e, &id, &cust, &search, err);
        if (!rc && search)
            rc = fc__fts_mark(c, &cust, err);
        if (rc)
            goto done;
    }
    if (s != SQLITE_DONE) {
        rc = fc__sqlfail(c, err, "recompute");
        goto done;
    }
    fc__release(st);
    st = NULL;
    /* A row pulled before its parent (an earlier page when the parent
     * changed later) was saved without a root; its parent may be here
     * now. Done before the exits, which remove subtrees by root. */
    {
        fs_error serr = {0};
        fs_store_status sst = fs_store_fix_roots(c->base, NULL, &serr);
        if (!sst)
            sst = fs_store_fix_roots(c->disp, NULL, &serr);
        if (sst) {
            rc = fc__from_store(sst, &serr, err);
            goto done;
        }
    }
    /* Search entries: once per customer whose row or contacts changed (a
     * customer and its contacts usually arrive on the same page), after the
     * roots are fixed so that contacts are found by their customer. */
    if (!hold) {
        rc = fc__fts_refresh_dirty(c, err);
        if (rc)
            goto done;
    }
    /* 4. Scope exits, after the recompute so nothing re-creates them. */
    for (size_t i = 0; i < r->nexits; i++) {
        if (!r->exits[i].entity)
            continue;
        rc = apply_exit(c, &r->exits[i], notices, err);
        if (rc)
            goto done;
    }
    if (r->nexits) {
        rc = settle_gone(c, err);
        if (rc)
            goto done;
        /* Rows a duplicate's exit left without a root whose parent is
         * here, moved to the survivor (unroot_below_merged). */
        fs_error serr = {0};
        fs_store_status sst = fs_store_fix_roots(c->base, NULL, &serr);
        if (!sst)
            sst = fs_store_fix_roots(c->disp, NULL, &serr);
        if (sst) {
            rc = fc__from_store(sst, &serr, err);
            goto done;
        }
    }
    /* After a complete pull, a row still without a root is one whose parent
     * the server never sent: the parent is outside the scope (the customer
     * left before the parent's newer version could arrive). Without this
     * the row would stay forever. */
    if (!r->has_more) {
        rc = drop_orphans(c, err);
        if (rc)
            goto done;
    }
    /* 5. The server's open conflicts concerning the rep (last page only). */
    if (r->conflicts_listed) {
        rc = fc__conflicts_replace(c, r->conflicts, r->nconflicts, r->open_conflicts,
                                   err);
        if (rc)
            goto done;
    }
    /* 6. Cursor, clock, bookkeeping: committed with the page they describe. */
    rc = fc__meta_set_int(c, "cursor", (int64_t)r->next_cursor, err);
    if (!rc)
        rc = fc__hlc_recv(c, r->server_time, err);
    if (!rc)
        rc = fc__meta_set_int(c, "last_sync_ms", (int64_t)fc__now_ms(c), err);
    if (!rc)
        rc = fc__meta_del(c, "batch_id", err);
    if (!rc && !r->has_more)
        rc = fc__meta_set_int(c, "bootstrapped", 1, err);
    if (rc)
        goto done;
    prog->rows += r->nrows;
    prog->exits += r->nexits;
done:
    fc__release(st);
    fc__release(ins);
    fc__release(rej);
    fc__release(del);
    fc__release(fixed);
    fc__release(tch);
    fc__release(await);
    fc__release(settle);
    return rc;
}

static fc_status exec_sql(fc_client *c, const char *sql, const char *what, fs_error *err)
{
    return sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK
               ? FC_OK
               : fc__sqlfail(c, err, what);
}

/* Ends the transaction of held pull-only pages (apply_response), if one is
 * open: `keep` refreshes their customers' search entries and commits them
 * (each page carries its cursor, so they are a consistent state), else
 * they are rolled back. Either way the connection is back at
 * synchronous=FULL. */
static fc_status group_end(fc_client *c, bool keep, fs_error *err)
{
    fc_status rc = FC_OK;

    if (!c->held_pages)
        return FC_OK;
    c->held_pages = 0;
    if (keep)
        rc = fc__fts_refresh_dirty(c, err);
    if (keep && !rc)
        rc = fc__commit(c, err);
    else
        fc__rollback(c);
    if (exec_sql(c, "PRAGMA synchronous=FULL", "restore synchronous=FULL", err) && !rc)
        rc = FC_EDB;
    return rc;
}

/*
 * Applies one answer (apply_page) in a transaction. An answer that only
 * pulls - no change was sent, so no result, and no scope exit - commits
 * with synchronous=NORMAL: its WAL frames are written but not synced. A
 * power loss can then only lose a suffix of such pull-only commits: WAL
 * recovery keeps a prefix of the commits, and every FULL commit (batch
 * marking, results, local edits from any process) syncs every frame
 * before it. What such a commit holds is re-derivable: pulled rows with
 * the cursor that covers them (lost together, so the next sync pulls them
 * again; rows are states, applying twice is harmless), displayed rows
 * recomputed from the durable outbox, search entries, the clock folded
 * from the server's time (no stamp issued from it is durable before the
 * commit itself is), awaiting changes settled by the page (lost together
 * with the rows that settled them, they are shown again and settle again
 * when those rows are pulled again; they are never resent) and bookkeeping
 * (last sync, bootstrapped). Nothing
 * there is a user's write or decides exactly-once: outbox removal and the
 * batch id are only ever committed with synchronous=FULL.
 *
 * Pull-only pages are also held: while the next page's request is already
 * in flight (`next_sent`: nothing is queued to push, see prefetch), up to
 * FC_SYNC_HOLD_PAGES of them are applied in one transaction and committed
 * together with their search refresh. A commit
 * writes every page it dirtied to the WAL, and the pages of a bootstrap
 * land on random leaves of the id and root indexes: consecutive pages
 * share many of them (and one search refresh makes one FTS5 segment
 * instead of one per page), so this cuts the client's CPU by a fifth or
 * more (docs/BENCHMARKS.md, branch first3). The rule above is unchanged:
 * a kill or power loss loses at most the held pages, with the cursor that
 * covers them. A page that fails to apply rolls the held pages back with
 * it (no savepoint per page: SQLite would journal every page a savepoint
 * re-dirties, which cost more than the hold saved); an error outside the
 * apply (transport, decoding) commits them (fc_sync). Another process's
 * write waits (busy timeout) for at most the held pages' apply.
 */
static fc_status apply_response(fc_client *c, const batch *b,
                                const fs_sync_response *r, bool next_sent,
                                fc_progress *prog, size_t *notices, fs_error *err)
{
    bool relaxed = b->n == 0 && r->nresults == 0 && r->nexits == 0;
    bool joined, hold;
    fs_error e2 = {0};
    fc_status rc = FC_OK;

    /* A page with results or exits commits on its own, with FULL. */
    if (!relaxed) {
        rc = group_end(c, true, err);
        if (rc)
            return rc;
    }
    joined = c->held_pages > 0;
    hold = relaxed && r->has_more && next_sent &&
           c->held_pages + 1 < FC_SYNC_HOLD_PAGES;
    if (!joined && relaxed)
        rc = exec_sql(c, "PRAGMA synchronous=NORMAL", "pull page durability", err);
    if (!joined && !rc)
        rc = fc__begin(c, err);
    if (!rc)
        rc = apply_page(c, b, r, hold, prog, notices, err);
    if (!rc && hold) {
        c->held_pages++;
        return FC_OK;
    }
    c->held_pages = 0;
    if (!rc)
        rc = fc__commit(c, err);
    else
        fc__rollback(c);
    /* Back to FULL for everything else on this connection. */
    if ((relaxed || joined) &&
        exec_sql(c, "PRAGMA synchronous=FULL", "restore synchronous=FULL", &e2) && !rc) {
        if (err)
            *err = e2;
        rc = FC_EDB;
    }
    return rc;
}

/* Results must answer exactly the changes sent, each once. */
static fc_status check_results(const batch *b, const fs_sync_response *r,
                               fs_error *err)
{
    bool *seen;
    fc_status rc = FC_OK;

    if (r->nresults != b->n)
        return fc__fail(err, FC_EPROTOCOL, "the server answered %zu results for "
                        "%zu changes; nothing was applied", r->nresults, b->n);
    if (b->n == 0)
        return FC_OK;
    seen = calloc(b->n, 1);
    if (!seen)
        return fc__fail(err, FC_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->nresults; i++) {
        uint32_t ix = r->results[i].index;
        if (ix >= b->n || seen[ix]) {
            rc = fc__fail(err, FC_EPROTOCOL, "the server's results do not match "
                          "the changes sent; nothing was applied");
            break;
        }
        seen[ix] = true;
    }
    free(seen);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Sync                                                                      */
/* ------------------------------------------------------------------------ */

/* drained: the wipe ends an offboarding's drain (a 200 answer with wipe,
 * docs/PROTOCOL.md "Offboarding"): the outbox was pushed and judged before
 * it, so the message says so instead of counting the changes as lost. */
static fc_status do_wipe(fc_client *c, bool drained, fs_error *err)
{
    fc_info info;
    fc_status rc;
    size_t pending = 0, rejected = 0;

    if (fc_info_get(c, &info, NULL) == FC_OK) {
        pending = info.pending;
        rejected = info.rejected;
    }
    rc = fc__wipe(c, err);
    if (rc)
        return rc;
    if (drained && pending == 0)
        return fc__fail(err, FC_EWIPED,
                        "your account was offboarded: every queued change was "
                        "sent and judged by the server first (%zu refused, kept "
                        "on record at the server for the back office); the "
                        "local replica has been deleted", rejected);
    return fc__fail(err, FC_EWIPED, "this device was revoked by the back office: "
                    "the local replica and its outbox (%zu unsent changes) have "
                    "been deleted", pending + rejected);
}

static fc_status count_pending(fc_client *c, int64_t *n, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc = page_sql(c, FC_SQL_COUNT_QUEUED, &st, err);

    *n = 0;
    if (rc)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = fc__sqlfail(c, err, "count outbox");
    fc__release(st);
    return rc;
}

/*
 * Fills the request's outbox report (docs/PROTOCOL.md "Outbox report"):
 * what is still queued beyond this request's batch - every in-flight
 * change is in the batch (batch_prepare sends them all), so that is the
 * pending ones - and the rejected changes the rep has not fixed or
 * dismissed. The server keeps the last request's numbers, so every
 * request carries them, including the last round of a sync.
 */
static fc_status outbox_report(fc_client *c, fs_sync_request *rq, fs_error *err)
{
    sqlite3_stmt *st = NULL;
    fc_status rc = page_sql(c, FC_SQL_OUTBOX_REPORT, &st, err);

    if (rc)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t p = sqlite3_column_int64(st, 0), r = sqlite3_column_int64(st, 1);
        rq->has_outbox_pending = rq->has_rejected_held = true;
        rq->outbox_pending = p > UINT32_MAX ? UINT32_MAX : (uint32_t)p;
        rq->rejected_held = r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
    } else
        rc = fc__sqlfail(c, err, "count the outbox");
    fc__release(st);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Syncing the WAL in the background                                         */
/* ------------------------------------------------------------------------ */

/*
 * Pull-only pages commit without syncing the WAL (apply_response), so the
 * frames they wrote are flushed later, by the checkpoint that needs them
 * durable - during a page's apply or at the end of the sync, on the
 * caller's thread. While a sync runs, a second thread flushes the WAL
 * file (fdatasync on its own descriptor) after each such commit instead,
 * concurrently with the next page: the checkpoints then find it clean.
 * This changes no durability rule (SQLite still syncs where it would);
 * it only moves the writeback off the critical path.
 */
typedef struct wal_flusher {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;
    unsigned kicks, seen;
    bool stop, running;
} wal_flusher;

static void *wal_flusher_main(void *arg)
{
    wal_flusher *w = arg;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && w->kicks == w->seen)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop)
            break;
        w->seen = w->kicks;
        pthread_mutex_unlock(&w->mu);
        fdatasync(w->fd);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Starts the flusher for c's WAL file; on any failure there is none. */
static void wal_flusher_start(wal_flusher *w, const fc_client *c)
{
    char path[4200];

    memset(w, 0, sizeof *w);
    w->fd = -1;
    snprintf(path, sizeof path, "%s-wal", c->path);
    w->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (w->fd < 0)
        return;
    if (pthread_mutex_init(&w->mu, NULL) != 0)
        goto fail_fd;
    if (pthread_cond_init(&w->cv, NULL) != 0)
        goto fail_mu;
    if (pthread_create(&w->th, NULL, wal_flusher_main, w) != 0)
        goto fail_cv;
    w->running = true;
    return;
fail_cv:
    pthread_cond_destroy(&w->cv);
fail_mu:
    pthread_mutex_destroy(&w->mu);
fail_fd:
    close(w->fd);
    w->fd = -1;
}

static void wal_flusher_kick(wal_flusher *w)
{
    if (!w || !w->running)
        return;
    pthread_mutex_lock(&w->mu);
    w->kicks++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void wal_flusher_stop(wal_flusher *w)
{
    if (!w->running)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    close(w->fd);
    w->running = false;
}

/* ------------------------------------------------------------------------ */
/* Pipelined pull requests                                                   */
/* ------------------------------------------------------------------------ */

/*
 * While a pulled page is being applied, the requests for the next pages are
 * already in flight from a second thread, so the server's query, encoding
 * and the transfer overlap with the apply. Only a request that carries no
 * change is sent ahead (a bootstrap, a long pull): nothing is pushed, so
 * nothing about the outbox or the batch id depends on it, and if the page
 * being applied fails, the answers are simply dropped (the cursor they
 * started from was never committed; the next sync asks again from the
 * committed one).
 *
 * The second thread keeps up to FC_PIPE_DEPTH requests ahead of the page
 * being applied: an answer whose header names the next cursor
 * (Fieldsync-Next-Cursor, docs/PROTOCOL.md) is followed at once by the
 * request from that cursor, without waiting for this thread to decode it.
 * So the server works on page N+2 while this thread applies page N and
 * commits held pages, instead of sitting idle until page N+1 is decoded
 * (with one request ahead the client waited for answers a quarter of a
 * 50k-row bootstrap: docs/BENCHMARKS.md, session 9). The body stays what decides:
 * an answer is followed only if its decoded next_cursor is the one the
 * thread went on from; otherwise what was sent ahead is dropped and the
 * pull goes on from the body's cursor. The thread only encodes the empty
 * requests (a template made here, with the cursor and a new batch id) and
 * runs the transport (fc__post_retry, without progress calls) and takes
 * off an answer's Content-Encoding (inflate_answer): inflating is a tenth
 * of a 10k-row bootstrap's client time (docs/BENCHMARKS.md, session 10)
 * and needs nothing of the replica. Decoding and every database access
 * stay on the caller's thread. Answers wait as protobuf bytes (about
 * 110 KiB a page of 500 rows), not decoded (about 500 KiB).
 */
#define FC_PIPE_DEPTH 2

typedef struct pipe_slot {
    fs_proto_buf body;         /* the request as sent */
    fs_proto_encoding enc;     /* its encoding (fc__sync_encoding) */
    fs_id batch_id;            /* its (empty) batch's id */
    uint64_t cursor;           /* the cursor it asked from */
    fc_http_response resp;
    fs_error err;
    fc_status rc;
    bool answered;
    bool inflated;             /* resp.body was inflated here (inflate_answer) */
} pipe_slot;

typedef struct prefetch {
    fc_client *c;
    const char *url, *token;   /* borrowed from fc_sync */
    fs_sync_request rq;        /* the template: no changes; count_pending
                                  in the first request only */
    uint64_t id_ms;            /* the time of the batch ids made ahead */
    pipe_slot slot[FC_PIPE_DEPTH];
    unsigned head, n;          /* requests sent and not yet taken, oldest first */
    bool more;                 /* the thread will send one more, from `next` */
    uint64_t next;
    bool stop;                 /* prefetch_drop: send nothing more */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    bool running;              /* the thread exists (joined by prefetch_end) */
} prefetch;

/* Encodes the template's request from `cursor` into slot s. */
static bool slot_request(prefetch *p, pipe_slot *s, uint64_t cursor)
{
    bool ok;

    memset(s, 0, sizeof *s);
    if (fs_id_new(p->id_ms, &s->batch_id, NULL) != FS_OK)
        return false;
    p->rq.batch_id = s->batch_id;
    p->rq.cursor = cursor;
    s->cursor = cursor;
    s->enc = fc__sync_encoding(p->c);
    ok = fs_proto_sync_request_encode(&p->rq, s->enc, NULL, &s->body, NULL) ==
         FS_PROTO_OK;
    p->rq.count_pending = false;
    return ok;
}

/* Replaces a 200 answer's compressed body by its protobuf bytes, checked
 * against the decoder's own limits; true when it did. An answer it cannot
 * inflate stays as it came, for the decoder to refuse with its reason. */
static bool inflate_answer(fc_http_response *resp)
{
    fs_proto_encoding enc;
    fs_proto_buf out = {0};

    if (resp->status != 200 ||
        fs_proto_encoding_parse(resp->content_encoding, strlen(resp->content_encoding),
                                &enc, NULL) != FS_PROTO_OK ||
        enc == FS_PROTO_IDENTITY ||
        fs_proto_decompress(enc, resp->body, resp->len, NULL, &out, NULL) != FS_PROTO_OK)
        return false;
    free(resp->body);
    resp->body = out.data; /* no allocator given: malloc'd */
    resp->len = out.len;
    resp->content_encoding[0] = '\0';
    return true;
}

static void slot_free(pipe_slot *s)
{
    fs_proto_buf_free(&s->body);
    free(s->resp.body);
    memset(s, 0, sizeof *s);
}

/* Sends the newest slot's request; when its answer names a next cursor,
 * reserves a slot for the request from there (waiting for room) and goes
 * on. The decision to go on is taken when the answer is stored, under the
 * lock, so the caller never sees "nothing pending" while one is coming. */
static void *prefetch_main(void *arg)
{
    prefetch *p = arg;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        pipe_slot *s = &p->slot[(p->head + p->n - 1) % FC_PIPE_DEPTH];
        fc_http_response resp = {0};
        fs_error err = {0};
        fc_status rc;
        bool inflated = false;

        pthread_mutex_unlock(&p->mu);
        rc = fc__post_retry(p->c, p->url, p->token, s->enc, s->body.data, s->body.len,
                            &resp, NULL, NULL, NULL, &err);
        if (rc == FC_OK)
            inflated = inflate_answer(&resp);
        pthread_mutex_lock(&p->mu);
        s->resp = resp;
        s->err = err;
        s->rc = rc;
        s->answered = true;
        s->inflated = inflated;
        p->more = !p->stop && rc == FC_OK && resp.status == 200 && resp.has_next &&
                  resp.next_cursor > s->cursor;
        p->next = resp.next_cursor;
        pthread_cond_broadcast(&p->cv);
        while (p->more && !p->stop && p->n == FC_PIPE_DEPTH)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->more && !p->stop &&
            slot_request(p, &p->slot[(p->head + p->n) % FC_PIPE_DEPTH], p->next)) {
            p->n++;
            p->more = false;
            continue;
        }
        p->more = false;
        pthread_cond_broadcast(&p->cv);
        break;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Is an answer coming that the caller has not taken yet? */
static bool prefetch_pending(prefetch *p)
{
    bool pending;

    if (!p->running)
        return false;
    pthread_mutex_lock(&p->mu);
    pending = p->n > 0 || p->more;
    pthread_mutex_unlock(&p->mu);
    return pending;
}

/* The cursor the next pending answer was asked from (prefetch_pending). */
static uint64_t prefetch_cursor(prefetch *p)
{
    uint64_t cursor;

    pthread_mutex_lock(&p->mu);
    cursor = p->n > 0 ? p->slot[p->head].cursor : p->next;
    pthread_mutex_unlock(&p->mu);
    return cursor;
}

/* Has the next pending answer come within ms? */
static bool answered_within(prefetch *p, unsigned ms)
{
    struct timespec until;
    bool in;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    while (!(in = p->n > 0 && p->slot[p->head].answered) && (p->n > 0 || p->more))
        if (pthread_cond_timedwait(&p->cv, &p->mu, &until) != 0)
            break;
    in = p->n > 0 && p->slot[p->head].answered;
    pthread_mutex_unlock(&p->mu);
    return in;
}

static bool pipeline_on(const fc_client *c)
{
    if (c->opt.pipeline == FC_PIPELINE_AUTO)
        return c->opt.post == NULL;
    return c->opt.pipeline == FC_PIPELINE_ON;
}

/* Waits for the thread to end and frees what it left. */
static void prefetch_end(prefetch *p)
{
    if (!p->running)
        return;
    pthread_join(p->th, NULL);
    for (unsigned i = 0; i < FC_PIPE_DEPTH; i++)
        slot_free(&p->slot[i]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    p->running = false;
}

/* Starts sending the requests for the pages after `cursor` (no changes)
 * from a second thread. Failing to start is not an error: the round then
 * runs serially. */
static void prefetch_start(prefetch *p, fc_client *c, const char *url,
                           const char *token, uint64_t cursor, bool count)
{
    int64_t hlc = 0;

    prefetch_end(p); /* a thread that ended by itself (out of memory) */
    memset(p, 0, sizeof *p);
    p->c = c;
    p->url = url;
    p->token = token;
    p->id_ms = fc__now_ms(c);
    if (fc__meta_get_int(c, "hlc", &hlc, NULL, NULL) != FC_OK ||
        outbox_report(c, &p->rq, NULL) != FC_OK)
        return;
    p->rq.version = FS_PROTO_VERSION;
    p->rq.device_id = c->device;
    p->rq.page_size = c->opt.page_size;
    p->rq.client_time = (fs_hlc)hlc;
    p->rq.count_pending = count; /* the first request only (slot_request) */
    if (!slot_request(p, &p->slot[0], cursor))
        goto fail;
    p->n = 1;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        goto fail;
    }
    if (pthread_create(&p->th, NULL, prefetch_main, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        goto fail;
    }
    p->running = true;
    return;
fail:
    slot_free(&p->slot[0]);
    p->n = 0;
}

/* Takes the next pending answer (prefetch_pending), waiting for it: it
 * goes to *resp (owned by the caller then), its batch id to *batch_id and
 * whether its body was inflated here to *inflated. */
static fc_status prefetch_finish(prefetch *p, fc_http_response *resp,
                                 fs_id *batch_id, bool *inflated, fs_error *err)
{
    pipe_slot *s;
    fc_status rc;
    bool pending;

    pthread_mutex_lock(&p->mu);
    while (p->n > 0 ? !p->slot[p->head].answered : p->more)
        pthread_cond_wait(&p->cv, &p->mu);
    if (p->n == 0) { /* cannot happen after prefetch_pending */
        pthread_mutex_unlock(&p->mu);
        prefetch_end(p);
        return fc__fail(err, FC_EINVAL, "internal error: no page was asked for");
    }
    s = &p->slot[p->head];
    *resp = s->resp;
    *batch_id = s->batch_id;
    *inflated = s->inflated;
    rc = s->rc;
    if (rc && err)
        *err = s->err;
    s->resp.body = NULL;
    slot_free(s);
    p->head = (p->head + 1) % FC_PIPE_DEPTH;
    p->n--;
    pending = p->n > 0 || p->more;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (!pending)
        prefetch_end(p);
    return rc;
}

/* Drops what was sent ahead (a round failed, a change is to be pushed, the
 * body disagreed with the header): waits for the request in flight, frees
 * the answers. */
static void prefetch_drop(prefetch *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    prefetch_end(p);
}

/*
 * The progress total (count_pending) is asked for once per sync, by the
 * request after the first answer that says more is to come: the server
 * counts while this device applies that answer, where on the first
 * request the count was most of what a bootstrap waited for before its
 * first page (docs/BENCHMARKS.md, session 12). The request sent ahead
 * asks it the same way (prefetch_start). A sync whose answers end before
 * (one page, an incremental sync) costs the server no count: its total is
 * what it pulled (one_round).
 */
static bool count_wanted(const fc_progress *prog)
{
    return prog->has_more && !prog->total;
}

/* One round: this round's request was sent ahead when pf->running (an
 * empty batch), else it is prepared and sent here. When the answer says
 * more is to come and nothing is queued, the next request is sent ahead
 * (pf) before this answer is applied. */
static fc_status one_round(fc_client *c, const char *url, const char *token,
                           prefetch *pf, wal_flusher *wf, fc_progress *prog,
                           fc_progress_fn progress,
                           void *payload, bool *has_more, size_t *notices,
                           fs_error *err)
{
    batch b;
    fs_sync_request rq;
    fs_sync_response rs;
    fs_proto_buf body = {0};
    fc_http_response resp = {0};
    fs_proto_encoding enc = FS_PROTO_IDENTITY;
    fs_proto_limits lim = fs_proto_limits_default();
    fs_error perr = {0};
    fs_proto_status pst;
    fc_status rc;
    int64_t cursor = 0, hlc = 0;
    bool inflated = false;

    memset(&b, 0, sizeof b);
    memset(&rq, 0, sizeof rq);
    memset(&rs, 0, sizeof rs);
    if (prefetch_pending(pf)) {
        rc = prefetch_finish(pf, &resp, &b.id, &inflated, err);
        if (rc)
            goto done;
        goto answered;
    }
    rc = batch_prepare(c, &b, err);
    if (rc)
        goto done;
    rc = fc__meta_get_int(c, "cursor", &cursor, NULL, err);
    if (!rc)
        rc = fc__meta_get_int(c, "hlc", &hlc, NULL, err);
    if (!rc)
        rc = outbox_report(c, &rq, err);
    if (rc)
        goto done;
    rq.version = FS_PROTO_VERSION;
    rq.device_id = c->device;
    rq.batch_id = b.id;
    rq.cursor = (uint64_t)cursor;
    rq.page_size = c->opt.page_size;
    rq.client_time = (fs_hlc)hlc;
    rq.count_pending = count_wanted(prog);
    rq.changes = b.changes;
    rq.nchanges = b.n;
    prog->bootstrap = prog->bootstrap || cursor == 0;
    enc = fc__sync_encoding(c);
    pst = fs_proto_sync_request_encode(&rq, enc, NULL, &body, &perr);
    if (pst) {
        rc = fc__fail(err, FC_EINVAL, "cannot encode the outbox batch: %s", perr.text);
        goto done;
    }
    rc = fc__post_retry(c, url, token, enc, body.data, body.len, &resp, prog, progress,
                        payload, err);
    /* Offline: this batch never left the device, so its changes are still
     * waiting to send, not "sent, answer not yet received"; the next sync
     * sends them under a new batch id (the server never saw this one). A
     * batch from an earlier round or sync may have arrived: it stays in
     * flight and is resent as it is. */
    if (rc == FC_EOFFLINE && b.fresh) {
        fs_error e2 = {0};
        if (fc__exec(c, "UPDATE fc_outbox SET state = 0 WHERE state = 1", &e2) != FC_OK)
            rc = fc__fail(err, e2.code ? (fc_status)e2.code : FC_EDB, "%s", e2.text);
    }
    if (rc)
        goto done;
answered:
    if (resp.status != 200) {
        char why[200];
        bool wipe = false;
        refusal_text(&resp, why, sizeof why, &wipe);
        if (wipe || (resp.status == 401 && strstr(why, "revoked"))) {
            group_end(c, false, NULL); /* the replica goes */
            rc = do_wipe(c, false, err);
            goto done;
        }
        rc = fc__fail(err, FC_EHTTP, "the server refused the sync (HTTP %ld): %s; "
                      "the outbox is intact", resp.status, why);
        goto done;
    }
    /* A body inflated by the prefetch thread was held to max_inflated
     * there; max_body is for what came over the wire. */
    if (inflated)
        lim.max_body = lim.max_inflated;
    if (fs_proto_encoding_parse(resp.content_encoding, strlen(resp.content_encoding),
                                &enc, &perr) == FS_PROTO_OK)
        pst = fs_proto_sync_response_decode(resp.body, resp.len, enc, &lim, &rs,
                                            NULL, &perr);
    else
        pst = FS_PROTO_EENCODING;
    if (pst) {
        rc = fc__fail(err, FC_EPROTOCOL, "the server's answer could not be decoded "
                      "(%.80s); it was not applied and its %zu sent changes stay "
                      "queued", perr.text[0] ? perr.text : fs_proto_strerror(pst), b.n);
        goto done;
    }
    /* Decoded: its bytes are not needed while the page is applied (the
     * client's peak memory is during an apply). */
    free(resp.body);
    resp.body = NULL;
    resp.len = 0;
    if (rs.wipe) {
        group_end(c, false, NULL);
        rc = do_wipe(c, true, err);
        goto done;
    }
    rc = check_results(&b, &rs, err);
    if (rc)
        goto done;
    prog->pushed += b.n;
    if (rs.has_pending)
        prog->total = prog->rows + prog->exits + (size_t)rs.pending;
    else if (!rs.has_more && !prog->total)
        prog->total = prog->rows + prog->exits + rs.nrows + rs.nexits;
    /* The pages after this one: already asked for when the thread went on
     * from this answer's header to the same cursor, else asked for now. A
     * change queued meanwhile (another process) stops the pages sent
     * ahead: the next round pushes it. */
    if (rs.has_more && b.n == 0 && pipeline_on(c)) {
        int64_t queued = 0;
        rc = count_pending(c, &queued, err);
        if (rc)
            goto done;
        if (queued > 0 ||
            (prefetch_pending(pf) && prefetch_cursor(pf) != rs.next_cursor))
            prefetch_drop(pf);
        if (queued == 0 && !prefetch_pending(pf))
            prefetch_start(pf, c, url, token, rs.next_cursor, prog->total == 0);
    } else {
        prefetch_drop(pf);
    }
    rc = apply_response(c, &b, &rs, prefetch_pending(pf), prog, notices, err);
    if (rc)
        goto done;
    wal_flusher_kick(wf);
    *has_more = rs.has_more;
    prog->has_more = rs.has_more;
done:
    fs_proto_sync_response_free(&rs);
    fs_proto_buf_free(&body);
    free(resp.body);
    batch_free(&b);
    return rc;
}

/* Appends to an error's text (cut at its size). */
static void appendf(fs_error *err, const char *fmt, ...)
{
    size_t n = strlen(err->text);
    va_list ap;

    if (n + 1 >= sizeof err->text)
        return;
    va_start(ap, fmt);
    vsnprintf(err->text + n, sizeof err->text - n, fmt, ap);
    va_end(ap);
}

fc_status fc_sync(fc_client *c, fc_progress_fn progress, void *payload,
                  fc_sync_report *report, fs_error *err)
{
    fc_progress prog, applied, held;
    fc_status rc;
    char url[600], token[FS_PROTO_TOKEN_MAX + 1], lockpath[4200];
    size_t notices = 0;
    int lockfd = -1;
    bool wal_grown = false;
    prefetch pf;
    wal_flusher wf;

    memset(&prog, 0, sizeof prog);
    memset(&applied, 0, sizeof applied);
    memset(&held, 0, sizeof held);
    memset(&pf, 0, sizeof pf);
    memset(&wf, 0, sizeof wf);
    if (report)
        memset(report, 0, sizeof *report);
    if (!c)
        return fc__fail(err, FC_EINVAL, "fc_sync: NULL client");
    if (c->wiped)
        return fc__fail(err, FC_EWIPED, "replica deleted");
    rc = build_url(c, "/v1/sync", url, sizeof url, err);
    if (!rc)
        rc = load_token(c, token, sizeof token, err);
    if (rc)
        return rc;
    /* One sync at a time per replica: two would race on the in-flight batch.
     * flock is released by the kernel if the process dies. */
    snprintf(lockpath, sizeof lockpath, "%s.sync-lock", c->path);
    lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
        rc = fc__fail(err, FC_EBUSY, "another sync is already running on this replica");
        goto done;
    }
    /* A bootstrap commits a page after another: with SQLite's default a
     * checkpoint (two fsyncs and a copy of every page written) ran after
     * almost every page. The WAL may grow to FC_SYNC_WAL_PAGES while this
     * sync runs, and is not cut back (an ftruncate and a re-extension of
     * the file) each time it restarts; the defaults come back, with one
     * checkpoint, at the end. */
    sqlite3_wal_autocheckpoint(c->db, FC_SYNC_WAL_PAGES);
    sqlite3_exec(c->db, "PRAGMA journal_size_limit=-1", NULL, NULL, NULL);
    wal_grown = true;
    wal_flusher_start(&wf, c);
    for (unsigned round = 1; round <= FC_MAX_ROUNDS; round++) {
        bool more = false;
        int64_t pending = 0;

        prog.round = round;
        /* Held pages keep the replica's write lock: across a short wait
         * for the next answer only, never a long one, where a slow or
         * stalled link would keep a rep's edit (another process) waiting
         * past the busy timeout. */
        if (c->held_pages && prefetch_pending(&pf) &&
            !answered_within(&pf, FC_SYNC_HOLD_WAIT_MS)) {
            rc = group_end(c, true, err);
            if (rc)
                goto done;
            applied = held;
            if (progress)
                progress(&held, payload);
        }
        rc = one_round(c, url, token, &pf, &wf, &prog, progress, payload, &more,
                       &notices, err);
        if (rc)
            goto done;
        /* The server counted at the second round; rows written since then
         * arrive in this sync too: the total grows with them, so a count
         * never exceeds its total ("5 of 4"). */
        if (prog.total && prog.rows + prog.exits > prog.total)
            prog.total = prog.rows + prog.exits;
        /* What the error message calls applied is what is committed. */
        if (c->held_pages)
            held = prog;
        else
            applied = prog;
        rc = count_pending(c, &pending, err);
        if (rc)
            goto done;
        /* Reported per committed state: held pages are not one yet. */
        if (progress && !c->held_pages)
            progress(&prog, payload);
        if (!more && pending == 0)
            break;
    }
done:
    /* Held pages of a sync that stopped early (only an error leaves any)
     * commit, as they would have page by page. */
    if (c->held_pages) {
        fs_error e2 = {0};
        if (group_end(c, true, &e2) == FC_OK)
            applied = held;
    }
    /* An error names what failed in its round; what the rounds before it
     * in this sync committed stays applied, and the rep is told so. */
    if (rc && rc != FC_EWIPED && rc != FC_EBUSY && err && !applied.round)
        appendf(err, "; nothing was applied in this sync");
    else if (rc && rc != FC_EWIPED && rc != FC_EBUSY && err)
        appendf(err, "; %u earlier round(s) were applied: %zu change(s) answered "
                "(%zu rejected), %zu row(s) pulled, %zu removed",
                applied.round, applied.applied + applied.rejected, applied.rejected,
                applied.rows, applied.exits);
    prefetch_drop(&pf);
    wal_flusher_stop(&wf);
    if (wal_grown && !c->wiped) {
        sqlite3_wal_autocheckpoint(c->db, FC_WAL_PAGES);
        sqlite3_exec(c->db, "PRAGMA journal_size_limit=" FC_WAL_LIMIT, NULL, NULL, NULL);
        sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    }
    if (report) {
        report->totals = prog;
        report->notices = notices;
    }
    if (lockfd >= 0) {
        if (c->wiped)
            unlink(lockpath);
        close(lockfd);
    }
    return rc;
}
