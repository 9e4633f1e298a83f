/*
 * fake_server.c - the scripted in-memory server behind library tests (see
 * fake_server.h). It is deliberately simple: rows live in a small array,
 * every write bumps one sequence counter, and a page is the rows with seq
 * above the cursor in seq order.
 */
#include "fake_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void fake_init(fake_server *s)
{
    memset(s, 0, sizeof *s);
    memset(s->device.b, 0xEE, 16);
    /* Back-office writes are "now" (the client stamps with the real clock). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->clock = fs_hlc_make((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u, 0);
}

void fake_free(fake_server *s)
{
    for (size_t i = 0; i < s->nrows; i++)
        fs_row_free(&s->rows[i]);
    s->nrows = 0;
}

static size_t slot_for(fake_server *s, const fs_entity *e, const fs_id *id)
{
    for (size_t i = 0; i < s->nrows; i++)
        if (s->rows[i].entity == e && fs_id_cmp(&s->rows[i].id, id) == 0)
            return i;
    fs_row_init(&s->rows[s->nrows], e, id, NULL);
    return s->nrows++;
}

fs_row *fake_find(fake_server *s, const fs_entity *e, const fs_id *id)
{
    for (size_t i = 0; i < s->nrows; i++)
        if (s->rows[i].entity == e && fs_id_cmp(&s->rows[i].id, id) == 0)
            return &s->rows[i];
    return NULL;
}

static void server_write(fake_server *s, const char *entity, const fs_id *id,
                         const char *field, const fs_value *v)
{
    const fs_entity *e = fs_schema_entity(entity);
    size_t at = slot_for(s, e, id);
    fs_change ch = {0};
    fs_merge_ctx ctx = {.origin = FS_ORIGIN_SERVER};
    fs_merge_result res;
    fs_conflict_list cl = {0};
    fs_hlc h;

    struct timespec ts;
    uint64_t wall;
    clock_gettime(CLOCK_REALTIME, &ts);
    wall = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    fs_hlc_tick(&s->clock, s->old_clock ? fs_hlc_ms(s->clock) + 1 : wall, &h, NULL);
    fs_change_init(&ch, e, id, &s->device, NULL);
    fs_change_set_named(&ch, field, v, h, NULL);
    fs_merge(&ctx, &s->rows[at], &ch, &res, &cl, NULL);
    s->seqs[at] = ++s->seq;
    fs_change_free(&ch);
    fs_conflict_list_free(&cl);
}

void fake_set_text(fake_server *s, const char *entity, const fs_id *id,
                   const char *field, const char *text)
{
    fs_value v = {0};
    fs_value_text(&v, text, strlen(text), NULL);
    server_write(s, entity, id, field, &v);
    fs_value_clear(&v);
}

void fake_set_int(fake_server *s, const char *entity, const fs_id *id,
                  const char *field, int64_t i)
{
    fs_value v = fs_value_int(i);
    server_write(s, entity, id, field, &v);
}

void fake_set_id(fake_server *s, const char *entity, const fs_id *id,
                 const char *field, const fs_id *ref)
{
    fs_value v = fs_value_idv(ref);
    server_write(s, entity, id, field, &v);
}

static fc_status answer(fake_server *s, const fs_sync_request *rq,
                        fs_proto_buf *out)
{
    fs_sync_response rs;
    fs_sync_result results[64];
    fs_pulled_row page[FAKE_MAX_ROWS];
    size_t np = 0;
    uint32_t limit = rq->page_size ? rq->page_size : s->page_size ? s->page_size : 100;
    uint64_t next = rq->cursor;
    fs_proto_status pst;

    memset(&rs, 0, sizeof rs);
    memset(results, 0, sizeof results);
    if (s->have_last && fs_id_cmp(&s->last_batch, &rq->batch_id) == 0) {
        /* Exactly once: a retried batch gets its recorded results. */
        memcpy(results, s->last_results, sizeof results);
    } else {
        for (size_t i = 0; i < rq->nchanges && i < 64; i++) {
            const fs_change *ch = &rq->changes[i];
            fs_merge_ctx ctx = {.origin = FS_ORIGIN_DEVICE};
            fs_merge_result mr;
            fs_conflict_list cl = {0};
            results[i].index = (uint32_t)i;
            if (s->reject_set && fs_id_cmp(&ch->row, &s->reject_row) == 0) {
                results[i].outcome = FS_REJECTED;
                results[i].reason = FS_REASON_FROZEN;
                strcpy(results[i].detail, "quote is accepted; edit refused");
                continue;
            }
            size_t at = slot_for(s, ch->entity, &ch->row);
            fs_merge(&ctx, &s->rows[at], ch, &mr, &cl, NULL);
            fs_conflict_list_free(&cl);
            results[i].outcome = mr.outcome;
            results[i].reason = mr.reason;
            memcpy(results[i].detail, mr.detail, sizeof results[i].detail);
            if (mr.outcome != FS_REJECTED)
                s->seqs[at] = ++s->seq;
        }
        s->last_batch = rq->batch_id;
        memcpy(s->last_results, results, sizeof results);
        s->have_last = true;
    }
    /* Page: rows with seq > cursor, ascending. */
    for (;;) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < s->nrows; i++)
            if (s->seqs[i] > next && (best == SIZE_MAX || s->seqs[i] < s->seqs[best]) &&
                !(s->hidden_set && fs_id_cmp(&s->rows[i].id, &s->hidden_row) == 0))
                best = i;
        if (best == SIZE_MAX || np == limit)
            break;
        page[np].row = s->rows[best];
        page[np].seq = s->seqs[best];
        next = s->seqs[best];
        np++;
    }
    /* Like the real server: a page that completes the pull has considered
     * everything up to the current seq (rows that left included). */
    if (np < limit)
        next = s->seq > next ? s->seq : next;
    rs.version = FS_PROTO_VERSION;
    rs.results = results;
    rs.nresults = rq->nchanges;
    rs.rows = page;
    rs.nrows = np;
    rs.exits = s->exits;
    rs.nexits = s->nexits;
    rs.server_time = s->clock;
    rs.next_cursor = next;
    rs.has_more = next < s->seq;
    s->last_more = rs.has_more;
    s->last_next = next;
    if (rq->count_pending) {
        rs.has_pending = true;
        for (size_t i = 0; i < s->nrows; i++)
            rs.pending += s->seqs[i] > rq->cursor;
        s->counted++;
    }
    if (!rs.has_more && s->list_conflicts) {
        rs.conflicts_listed = true;
        rs.conflicts = s->conflicts;
        rs.nconflicts = s->nconflicts;
        rs.open_conflicts = s->open_conflicts;
    }
    pst = fs_proto_sync_response_encode(&rs, FS_PROTO_DEFLATE, NULL, out, NULL);
    s->nexits = 0;
    return pst == FS_PROTO_OK ? FC_OK : FC_EPROTOCOL;
}

static void set_body(fc_http_response *resp, const void *p, size_t n)
{
    resp->body = malloc(n ? n : 1);
    memcpy(resp->body, p, n);
    resp->len = n;
}

fc_status fake_post(const char *url, const char *content_type,
                    const char *content_encoding, const char *token,
                    const uint8_t *body, size_t len, fc_http_response *resp,
                    fs_error *err, void *payload)
{
    fake_server *s = payload;
    fake_fault f = s->fault_at < s->nfaults ? s->faults[s->fault_at++] : FAKE_OK;
    fs_sync_request rq;
    fs_proto_encoding enc;
    fs_proto_buf out = {0};
    fc_status rc = FC_OK;

    memset(&rq, 0, sizeof rq);
    if (f == FAKE_NETWORK) {
        if (err)
            snprintf(err->text, sizeof err->text, "connection refused (scripted)");
        return FC_ENETWORK;
    }
    if (strstr(url, "/v1/enroll")) {
        fs_enroll_response er;
        memset(&er, 0, sizeof er);
        er.version = FS_PROTO_VERSION;
        memset(er.device_id.b, 0xD1, 16);
        memset(er.rep_id.b, 0xA1, 16);
        strcpy(er.token, "test-token");
        er.server_time = s->clock;
        fs_proto_enroll_response_encode(&er, FS_PROTO_IDENTITY, NULL, &out, NULL);
        resp->status = 200;
        set_body(resp, out.data, out.len);
        fs_proto_buf_free(&out);
        return FC_OK;
    }
    if (s->during) {
        void (*d)(void *) = s->during;
        s->during = NULL;
        d(s->during_arg);
    }
    fs_proto_encoding_parse(content_encoding, strlen(content_encoding), &enc, NULL);
    if (fs_proto_sync_request_decode(body, len, enc, NULL, &rq, NULL, NULL)) {
        resp->status = 400;
        return FC_OK;
    }
    if (s->nreq < FAKE_MAX_REQ) {
        s->req_cursor[s->nreq] = rq.cursor;
        s->req_batch[s->nreq] = rq.batch_id;
        s->req_changes[s->nreq] = rq.nchanges;
        s->req_enc[s->nreq] = enc;
        s->req_count[s->nreq] = rq.count_pending;
        s->req_outbox_pending[s->nreq] = rq.has_outbox_pending ? (int64_t)rq.outbox_pending : -1;
        s->req_rejected_held[s->nreq] = rq.has_rejected_held ? (int64_t)rq.rejected_held : -1;
        s->nreq++;
    }
    if (f == FAKE_REVOKED_401) {
        fs_error_body eb;
        memset(&eb, 0, sizeof eb);
        eb.code = FS_PROTO_ERR_REVOKED;
        eb.wipe = true;
        strcpy(eb.message, "device revoked");
        fs_proto_error_body_encode(&eb, FS_PROTO_IDENTITY, NULL, &out, NULL);
        resp->status = 401;
        set_body(resp, out.data, out.len);
        goto done;
    }
    if (f == FAKE_WIPE) {
        fs_sync_response w;
        memset(&w, 0, sizeof w);
        w.version = FS_PROTO_VERSION;
        w.wipe = true;
        w.nresults = 0;
        /* Results are required to match; a wipe answer carries them too. */
        fs_sync_result r[64];
        memset(r, 0, sizeof r);
        for (size_t i = 0; i < rq.nchanges && i < 64; i++)
            r[i].index = (uint32_t)i;
        w.results = r;
        w.nresults = rq.nchanges;
        fs_proto_sync_response_encode(&w, FS_PROTO_IDENTITY, NULL, &out, NULL);
        resp->status = 200;
        set_body(resp, out.data, out.len);
        goto done;
    }
    rc = answer(s, &rq, &out);
    if (rc)
        goto done;
    resp->status = 200;
    snprintf(resp->content_encoding, sizeof resp->content_encoding, "deflate");
    resp->link_bytes_per_s = s->link_rate;
    if (s->next_header && s->last_more) {
        resp->has_next = true;
        resp->next_cursor = s->last_next + s->next_header_skew;
    }
    if (f == FAKE_LOST) {
        if (err)
            snprintf(err->text, sizeof err->text, "connection reset (scripted)");
        rc = FC_ENETWORK;
        resp->status = 0;
    } else if (f == FAKE_GARBAGE) {
        static const uint8_t junk[] = "\x78\x9c<html>502 bad gateway</html>";
        set_body(resp, junk, sizeof junk - 1);
    } else if (f == FAKE_TRUNCATED) {
        set_body(resp, out.data, out.len / 2);
    } else {
        set_body(resp, out.data, out.len);
    }
done:
    fs_proto_buf_free(&out);
    fs_proto_sync_request_free(&rq);
    return rc;
}
