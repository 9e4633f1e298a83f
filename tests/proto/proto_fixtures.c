/*
 * proto_fixtures.c - builders for sample requests and responses, deep
 * equality of decoded messages, and the counting allocator the limit tests
 * use to prove how much a decode allocated.
 */
#include "proto_fixtures.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void fx_id(fs_id *id, uint64_t ms, uint32_t seed)
{
    uint8_t rnd[10];
    uint64_t s = seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
    for (int i = 0; i < 10; i++)
        rnd[i] = (uint8_t)(fx_rand(&s) >> 24);
    fs_id_from_parts(ms, rnd, id);
}

uint64_t fx_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 88172645463325252ULL;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

static void set_text(fs_change *c, const char *field, const char *s, size_t n, fs_hlc hlc)
{
    fs_value v;
    fs_error err;
    assert_int_equal(fs_value_text(&v, s, n, &err), FS_OK);
    assert_int_equal(fs_change_set_named(c, field, &v, hlc, &err), FS_OK);
    fs_value_clear(&v);
}

static void set_val(fs_change *c, const char *field, fs_value v, fs_hlc hlc)
{
    fs_error err;
    int rc = fs_change_set_named(c, field, &v, hlc, &err);
    if (rc != FS_OK)
        fail_msg("set %s: %s", field, err.text);
}

void fx_visit_change(fs_change *c, const fs_id *dev, uint32_t seed, fs_hlc hlc,
                     size_t notes_len)
{
    const fs_entity *visit = fs_schema_entity("visit");
    fs_id row, cust;
    fs_error err;
    char *notes = malloc(notes_len + 1);
    uint64_t st = seed + 7;
    fs_value base;
    int slot;

    assert_non_null(visit);
    assert_non_null(notes);
    for (size_t i = 0; i < notes_len; i++)
        notes[i] = (char)('a' + fx_rand(&st) % 26);
    notes[notes_len] = '\0';
    if (notes_len > 2)
        memcpy(notes, "é", 2); /* some UTF-8 */

    fx_id(&row, FX_MS + seed, seed);
    fx_id(&cust, FX_MS - 1000, seed % 5 + 100);
    assert_int_equal(fs_change_init(c, visit, &row, dev, &err), FS_OK);
    set_val(c, "customer_id", fs_value_idv(&cust), hlc);
    set_text(c, "rep_id", "rep-7", 5, hlc);
    set_val(c, "planned_at", fs_value_int((int64_t)FX_MS + 3600000), hlc);
    set_val(c, "checkin_at", fs_value_int((int64_t)FX_MS + 3700000 + seed), hlc + 1);
    set_val(c, "checkin_lat", fs_value_real(48.8566 + seed * 1e-4), hlc + 1);
    set_val(c, "checkin_lon", fs_value_real(-2.3522 - seed * 1e-4), hlc + 1);
    set_text(c, "status", "completed", 9, hlc + 70000);
    set_text(c, "notes", notes, notes_len, hlc + 2);
    free(notes);

    slot = fs_entity_field_index(visit, "notes");
    assert_int_equal(fs_value_text(&base, "old", 3, &err), FS_OK);
    assert_int_equal(fs_change_set_base(c, slot, &base, hlc - 5000, &err), FS_OK);
    fs_value_clear(&base);
    assert_int_equal(fs_change_check(c, &err), FS_OK);
}

void fx_request(fs_sync_request *req, size_t n, size_t notes_len)
{
    memset(req, 0, sizeof *req);
    req->version = FS_PROTO_VERSION;
    fx_id(&req->device_id, FX_MS - 86400000, 42);
    fx_id(&req->batch_id, FX_MS + 5, 43);
    req->cursor = 1234567;
    req->page_size = 500;
    req->client_time = fs_hlc_make(FX_MS + 9000, 3);
    req->count_pending = n % 8 == 0;
    /* Sizes 0, 8, 16... report their outbox (size 0: two zeros, which
     * must stay reported), the others do not (an older client). */
    req->has_outbox_pending = req->has_rejected_held = n % 8 == 0;
    req->outbox_pending = n % 8 == 0 && n ? 70000 + (uint32_t)n : 0;
    req->rejected_held = n % 8 == 0 && n ? 3 : 0;
    req->changes = calloc(n ? n : 1, sizeof *req->changes);
    assert_non_null(req->changes);
    req->nchanges = n;
    for (size_t i = 0; i < n; i++) {
        fs_hlc h = fs_hlc_make(FX_MS + i * 1000, (uint16_t)i);
        if (n >= 2 && i == n - 1) {
            /* A tombstone-only change of a customer. */
            fs_id row;
            fs_error err;
            fx_id(&row, FX_MS - 7, 9000 + (uint32_t)i);
            assert_int_equal(fs_change_init(&req->changes[i], fs_schema_entity("customer"),
                                            &row, &req->device_id, &err),
                             FS_OK);
            fs_change_tombstone(&req->changes[i], true, h);
        } else {
            fx_visit_change(&req->changes[i], &req->device_id, (uint32_t)i, h, notes_len);
        }
    }
}

static void row_put(fs_row *r, const char *field, fs_value v, fs_hlc hlc, const fs_id *dev)
{
    int slot = fs_entity_field_index(r->entity, field);
    fs_error err;
    assert_true(slot >= 0);
    assert_int_equal(fs_value_copy(&r->cells[slot].v, &v, &err), FS_OK);
    r->cells[slot].hlc = hlc;
    r->cells[slot].device = *dev;
}

void fx_response(fs_sync_response *resp, size_t nrows, size_t ndevs)
{
    fs_id *devs = calloc(ndevs ? ndevs : 1, sizeof *devs);
    fs_error err;

    assert_non_null(devs);
    memset(resp, 0, sizeof *resp);
    for (size_t d = 0; d < ndevs; d++)
        fx_id(&devs[d], FX_MS - 50000000, 500 + (uint32_t)d);
    resp->version = FS_PROTO_VERSION;
    resp->server_time = fs_hlc_make(FX_MS + 99999, 12);
    resp->next_cursor = 777777;
    resp->has_more = true;
    resp->wipe = false;

    resp->nresults = 3;
    resp->results = calloc(3, sizeof *resp->results);
    assert_non_null(resp->results);
    resp->results[0] = (fs_sync_result){0, FS_APPLIED, FS_REASON_NONE, ""};
    resp->results[1] = (fs_sync_result){1, FS_MERGED, FS_REASON_STALE, ""};
    snprintf(resp->results[1].detail, sizeof resp->results[1].detail,
             "field notes lost to a newer write");
    resp->results[2] = (fs_sync_result){2, FS_REJECTED, FS_REASON_SERVER_OWNED, ""};
    snprintf(resp->results[2].detail, sizeof resp->results[2].detail,
             "field territory is server-owned");

    resp->rows = calloc(nrows ? nrows : 1, sizeof *resp->rows);
    assert_non_null(resp->rows);
    resp->nrows = nrows;
    for (size_t i = 0; i < nrows; i++) {
        fs_pulled_row *pr = &resp->rows[i];
        const fs_id *dev = ndevs ? &devs[i % ndevs] : &devs[0];
        fs_hlc h = fs_hlc_make(FX_MS + i * 977, (uint16_t)(i & 0xFF));
        fs_id id;
        fx_id(&id, FX_MS + i, 20000 + (uint32_t)i);
        pr->seq = 1000 + i;
        if (i % 10 == 3) {
            fs_value v;
            assert_int_equal(fs_row_init(&pr->row, fs_schema_entity("customer"), &id, &err), FS_OK);
            assert_int_equal(fs_value_text(&v, "ACME Ltd", 8, &err), FS_OK);
            row_put(&pr->row, "name", v, h, dev);
            fs_value_clear(&v);
            row_put(&pr->row, "lat", fs_value_real(51.5), h + 5, &devs[0]);
            if (i % 20 == 3) {
                pr->row.deleted = true;
                pr->row.del_hlc = h + 100;
                pr->row.del_device = devs[ndevs - 1];
            }
        } else {
            fs_value v;
            fs_id cust;
            fx_id(&cust, FX_MS - 1000, 100 + (uint32_t)(i % 5));
            assert_int_equal(fs_row_init(&pr->row, fs_schema_entity("visit"), &id, &err), FS_OK);
            row_put(&pr->row, "customer_id", fs_value_idv(&cust), h, dev);
            assert_int_equal(fs_value_text(&v, "rep-7", 5, &err), FS_OK);
            row_put(&pr->row, "rep_id", v, h, dev);
            fs_value_clear(&v);
            row_put(&pr->row, "checkin_at", fs_value_int((int64_t)(FX_MS + i)), h + 3, dev);
            row_put(&pr->row, "checkin_lat", fs_value_real(40.0 + i * 1e-5), h + 3, dev);
            assert_int_equal(fs_value_text(&v, "completed", 9, &err), FS_OK);
            row_put(&pr->row, "status", v, h + 9, &devs[ndevs ? (i + 1) % ndevs : 0]);
            fs_value_clear(&v);
            /* A cell written once with NULL (cleared) keeps its stamp. */
            pr->row.cells[fs_entity_field_index(pr->row.entity, "outcome")].hlc = h + 1;
            pr->row.cells[fs_entity_field_index(pr->row.entity, "outcome")].device = *dev;
        }
    }

    resp->nexits = 2;
    resp->exits = calloc(2, sizeof *resp->exits);
    assert_non_null(resp->exits);
    resp->exits[0].entity = fs_schema_entity("customer");
    fx_id(&resp->exits[0].row, FX_MS, 31);
    resp->exits[0].reason = FS_EXIT_REASSIGNED;
    resp->exits[1].entity = fs_schema_entity("visit");
    fx_id(&resp->exits[1].row, FX_MS, 32);
    resp->exits[1].reason = FS_EXIT_REVOKED;

    /* Odd shapes are a last page with the open-conflict list and a count. */
    if (nrows % 2 == 1) {
        resp->has_pending = true;
        resp->pending = 123456789012ull;
        resp->conflicts_listed = true;
        resp->open_conflicts = 250;
        resp->nconflicts = 2;
        resp->conflicts = calloc(2, sizeof *resp->conflicts);
        assert_non_null(resp->conflicts);
        resp->conflicts[0] = (fs_open_conflict){.id = 77, .entity = fs_schema_entity("contract"),
                                                .field = "esign_status", .rule = "esign_terminal",
                                                .detail = "completed and voided clash: é",
                                                .mine_kept = true, .created_ms = FX_MS};
        fx_id(&resp->conflicts[0].row, FX_MS, 41);
        resp->conflicts[1] = (fs_open_conflict){.id = 3, .entity = fs_schema_entity("contact"),
                                                .field = "_deleted", .rule = "delete_wins"};
        fx_id(&resp->conflicts[1].row, FX_MS, 42);
    }
    free(devs);
}

bool fx_change_eq(const fs_change *a, const fs_change *b)
{
    if (a->entity != b->entity || fs_id_cmp(&a->row, &b->row) ||
        fs_id_cmp(&a->device, &b->device) || a->nfields != b->nfields ||
        a->has_tomb != b->has_tomb)
        return false;
    if (a->has_tomb && (a->deleted != b->deleted || a->tomb_hlc != b->tomb_hlc))
        return false;
    for (size_t i = 0; i < a->nfields; i++) {
        const fs_field_change *x = &a->fields[i], *y = &b->fields[i];
        if (x->slot != y->slot || x->hlc != y->hlc || !fs_value_eq(&x->v, &y->v) ||
            x->has_base != y->has_base)
            return false;
        if (x->has_base && (x->base_hlc != y->base_hlc || !fs_value_eq(&x->base, &y->base)))
            return false;
    }
    return true;
}

bool fx_request_eq(const fs_sync_request *a, const fs_sync_request *b)
{
    if (a->version != b->version || fs_id_cmp(&a->device_id, &b->device_id) ||
        fs_id_cmp(&a->batch_id, &b->batch_id) || a->cursor != b->cursor ||
        a->page_size != b->page_size || a->client_time != b->client_time ||
        a->count_pending != b->count_pending || a->nchanges != b->nchanges ||
        a->has_outbox_pending != b->has_outbox_pending ||
        a->outbox_pending != b->outbox_pending ||
        a->has_rejected_held != b->has_rejected_held ||
        a->rejected_held != b->rejected_held)
        return false;
    for (size_t i = 0; i < a->nchanges; i++)
        if (!fx_change_eq(&a->changes[i], &b->changes[i]))
            return false;
    return true;
}

bool fx_response_eq(const fs_sync_response *a, const fs_sync_response *b)
{
    if (a->version != b->version || a->server_time != b->server_time ||
        a->next_cursor != b->next_cursor || a->has_more != b->has_more ||
        a->wipe != b->wipe || a->nresults != b->nresults || a->nrows != b->nrows ||
        a->nexits != b->nexits || a->has_pending != b->has_pending ||
        a->pending != b->pending || a->conflicts_listed != b->conflicts_listed ||
        a->open_conflicts != b->open_conflicts || a->nconflicts != b->nconflicts)
        return false;
    for (size_t i = 0; i < a->nconflicts; i++) {
        const fs_open_conflict *x = &a->conflicts[i], *y = &b->conflicts[i];
        if (x->id != y->id || x->entity != y->entity || fs_id_cmp(&x->row, &y->row) ||
            strcmp(x->field, y->field) || strcmp(x->rule, y->rule) ||
            strcmp(x->detail, y->detail) || x->mine_kept != y->mine_kept ||
            x->created_ms != y->created_ms)
            return false;
    }
    for (size_t i = 0; i < a->nresults; i++) {
        const fs_sync_result *x = &a->results[i], *y = &b->results[i];
        if (x->index != y->index || x->outcome != y->outcome || x->reason != y->reason ||
            strcmp(x->detail, y->detail) != 0)
            return false;
    }
    for (size_t i = 0; i < a->nrows; i++)
        if (a->rows[i].seq != b->rows[i].seq || !fs_row_eq(&a->rows[i].row, &b->rows[i].row))
            return false;
    for (size_t i = 0; i < a->nexits; i++)
        if (a->exits[i].entity != b->exits[i].entity ||
            fs_id_cmp(&a->exits[i].row, &b->exits[i].row) ||
            a->exits[i].reason != b->exits[i].reason)
            return false;
    return true;
}

/* Each block carries its size in a 16-byte header so free can count. */
static void *count_alloc(void *payload, size_t n)
{
    fx_counter *c = payload;
    unsigned char *p = malloc(16 + n);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    c->cur += n;
    c->total += n;
    c->calls++;
    if (c->cur > c->peak)
        c->peak = c->cur;
    if (n > c->largest)
        c->largest = n;
    return p + 16;
}

static void count_free(void *payload, void *ptr)
{
    fx_counter *c = payload;
    unsigned char *p;
    size_t n;
    if (!ptr)
        return;
    p = (unsigned char *)ptr - 16;
    memcpy(&n, p, sizeof n);
    c->cur -= n;
    free(p);
}

fs_proto_allocator fx_counting_allocator(fx_counter *c)
{
    fs_proto_allocator a;
    a.alloc = count_alloc;
    a.free = count_free;
    a.payload = c;
    return a;
}
