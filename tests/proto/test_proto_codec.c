/*
 * test_proto_codec.c - round trips and compatibility for libfsproto.
 *
 * Every message type goes encode -> compress -> decompress -> decode under
 * each framing and must come back equal. The compatibility cases build
 * messages the way a newer peer would (unknown fields, enum values, entity
 * and field tags) with the generated protobuf-c structs and check that the
 * codec decodes them and reports what it skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fs_proto.h"
#include "proto_fixtures.h"
#include "sync.pb-c.h"

static const fs_proto_encoding encodings[] = {FS_PROTO_IDENTITY, FS_PROTO_DEFLATE,
                                              FS_PROTO_GZIP};
#define NENC (sizeof encodings / sizeof encodings[0])

/* ------------------------------------------------------------------------ */
/* Round trips (item 6)                                                      */
/* ------------------------------------------------------------------------ */

static void test_roundtrip_bytes(void **state)
{
    uint8_t in[5000];
    uint64_t s = 1;
    (void)state;
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i % 7 == 0 ? fx_rand(&s) : 'x');
    for (size_t e = 0; e < NENC; e++) {
        fs_proto_buf z, back;
        fs_error err;
        assert_int_equal(fs_proto_compress(encodings[e], in, sizeof in, NULL, &z, &err),
                         FS_PROTO_OK);
        if (encodings[e] != FS_PROTO_IDENTITY)
            assert_true(z.len < sizeof in);
        assert_int_equal(fs_proto_decompress(encodings[e], z.data, z.len, NULL, &back, &err),
                         FS_PROTO_OK);
        assert_int_equal(back.len, sizeof in);
        assert_memory_equal(back.data, in, sizeof in);
        fs_proto_buf_free(&z);
        fs_proto_buf_free(&back);
    }
}

/* fs_proto_limits.deflate_level picks zlib's level: 1 is larger than 9 on
 * text, 0 and anything outside 1-9 are zlib's default (6); every level
 * inflates back to the same bytes. */
static void test_deflate_level(void **state)
{
    static const char *const words[] = {"visit ", "Springfield ", "quote ",
                                         "contact ", "order 1042 ", "GmbH ",
                                         "follow-up ", "2026-12-05 "};
    static const int levels[] = {0, 1, 6, 9, 42};
    char in[40000];
    size_t len[5] = {0}, n = 0;
    uint64_t s = 7;
    (void)state;
    while (n + 16 < sizeof in) {
        const char *w = words[fx_rand(&s) % 8];
        memcpy(in + n, w, strlen(w));
        n += strlen(w);
    }
    for (size_t e = 1; e < NENC; e++) {
        for (size_t l = 0; l < 5; l++) {
            fs_proto_limits lim = fs_proto_limits_default();
            fs_proto_buf z, back;
            fs_error err;
            lim.deflate_level = levels[l];
            assert_int_equal(fs_proto_compress(encodings[e], (uint8_t *)in, n, &lim,
                                               &z, &err), FS_PROTO_OK);
            assert_int_equal(fs_proto_decompress(encodings[e], z.data, z.len, NULL,
                                                 &back, &err), FS_PROTO_OK);
            assert_int_equal(back.len, n);
            assert_memory_equal(back.data, in, n);
            len[l] = z.len;
            fs_proto_buf_free(&z);
            fs_proto_buf_free(&back);
        }
        assert_true(len[1] > len[3]);   /* 1 > 9 */
        assert_int_equal(len[0], len[2]); /* default = 6 */
        assert_int_equal(len[4], len[2]); /* out of range = default */
    }
}

/* The deflate window follows the body's size (fs_frame.c deflate_params):
 * a small request announces a small window in its zlib header (CINFO, the
 * high nibble of the first byte: window = 2^(CINFO+8)), a large body the
 * full 32 KiB; every size inflates back, with both wrappers. */
static void test_deflate_window_by_size(void **state)
{
    static const size_t sizes[] = {0, 1, 100, 511, 512, 513, 4096, 20000, 32768, 200000};
    static const int cinfo[] = {1, 1, 1, 1, 1, 2, 4, 7, 7, 7};
    uint8_t *in = malloc(200000);
    uint64_t s = 3;
    (void)state;
    assert_non_null(in);
    for (size_t i = 0; i < 200000; i++)
        in[i] = (uint8_t)("abcdefgh"[fx_rand(&s) % 8]);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (size_t e = 1; e < NENC; e++) {
            fs_proto_buf z, back;
            fs_error err;
            assert_int_equal(fs_proto_compress(encodings[e], in, sizes[k], NULL, &z,
                                               &err), FS_PROTO_OK);
            if (encodings[e] == FS_PROTO_DEFLATE)
                assert_int_equal(z.data[0] >> 4, cinfo[k]);
            assert_int_equal(fs_proto_decompress(encodings[e], z.data, z.len, NULL,
                                                 &back, &err), FS_PROTO_OK);
            assert_int_equal(back.len, sizes[k]);
            if (sizes[k])
                assert_memory_equal(back.data, in, sizes[k]);
            fs_proto_buf_free(&z);
            fs_proto_buf_free(&back);
        }
    }
    free(in);
}

static void test_roundtrip_enroll(void **state)
{
    (void)state;
    for (size_t e = 0; e < NENC; e++) {
        fs_enroll_request rq, rq2;
        fs_enroll_response rs, rs2;
        fs_proto_buf b;
        fs_error err;

        memset(&rq, 0, sizeof rq);
        rq.version = FS_PROTO_VERSION;
        strcpy(rq.code, "K7Q-93XZ-PLM4");
        strcpy(rq.device_name, "Lena's ThinkPad ✓");
        assert_int_equal(fs_proto_enroll_request_encode(&rq, encodings[e], NULL, &b, &err),
                         FS_PROTO_OK);
        assert_int_equal(fs_proto_enroll_request_decode(b.data, b.len, encodings[e], NULL,
                                                        &rq2, NULL, &err),
                         FS_PROTO_OK);
        assert_memory_equal(&rq, &rq2, sizeof rq);
        fs_proto_buf_free(&b);

        memset(&rs, 0, sizeof rs);
        rs.version = FS_PROTO_VERSION;
        fx_id(&rs.device_id, FX_MS, 1);
        fx_id(&rs.rep_id, FX_MS, 2);
        strcpy(rs.token, "fs1.Zm9vYmFyYmF6cXV4cXV1eA");
        rs.server_time = fs_hlc_make(FX_MS, 9);
        assert_int_equal(fs_proto_enroll_response_encode(&rs, encodings[e], NULL, &b, &err),
                         FS_PROTO_OK);
        assert_int_equal(fs_proto_enroll_response_decode(b.data, b.len, encodings[e], NULL,
                                                         &rs2, NULL, &err),
                         FS_PROTO_OK);
        assert_memory_equal(&rs, &rs2, sizeof rs);
        fs_proto_buf_free(&b);
    }
}

static void test_roundtrip_sync_request(void **state)
{
    (void)state;
    for (size_t e = 0; e < NENC; e++) {
        for (size_t n = 0; n <= 12; n += 4) {
            fs_sync_request req, back;
            fs_proto_buf b;
            fs_proto_report rep;
            fs_error err;
            fx_request(&req, n, 200);
            if (fs_proto_sync_request_encode(&req, encodings[e], NULL, &b, &err) != FS_PROTO_OK)
                fail_msg("encode: %s", err.text);
            if (fs_proto_sync_request_decode(b.data, b.len, encodings[e], NULL, &back, &rep,
                                             &err) != FS_PROTO_OK)
                fail_msg("decode: %s", err.text);
            assert_int_equal(back.nerrors, 0);
            assert_true(fx_request_eq(&req, &back));
            assert_int_equal(rep.body_bytes, b.len);
            assert_int_equal(rep.unknown_fields, 0);
            fs_proto_buf_free(&b);
            fs_proto_sync_request_free(&back);
            fs_proto_sync_request_free(&req);
        }
    }
}

/* Stamps far apart (and 0-delta / wrap-around cases) still round-trip,
 * because every delta is taken mod 2^64. */
static void test_roundtrip_extreme_stamps(void **state)
{
    fs_sync_request req, back;
    fs_proto_buf b;
    fs_error err;
    (void)state;
    fx_request(&req, 3, 10);
    req.changes[0].fields[0].hlc = 1;
    req.changes[0].fields[1].hlc = UINT64_MAX;
    req.changes[0].fields[7].base_hlc = UINT64_MAX - 1;
    req.changes[1].fields[2].hlc = 1;
    req.changes[1].fields[7].base_hlc = 0;
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_GZIP, NULL, &b, &err),
                     FS_PROTO_OK);
    assert_int_equal(fs_proto_sync_request_decode(b.data, b.len, FS_PROTO_GZIP, NULL, &back,
                                                  NULL, &err),
                     FS_PROTO_OK);
    assert_true(fx_request_eq(&req, &back));
    fs_proto_buf_free(&b);
    fs_proto_sync_request_free(&back);
    fs_proto_sync_request_free(&req);
}

static void test_roundtrip_sync_response(void **state)
{
    (void)state;
    for (size_t e = 0; e < NENC; e++) {
        static const size_t shapes[][2] = {{0, 0}, {1, 1}, {25, 3}, {200, 40}};
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            fs_sync_response resp, back;
            fs_proto_buf b;
            fs_error err;
            fx_response(&resp, shapes[k][0], shapes[k][1]);
            if (fs_proto_sync_response_encode(&resp, encodings[e], NULL, &b, &err) !=
                FS_PROTO_OK)
                fail_msg("encode: %s", err.text);
            if (fs_proto_sync_response_decode(b.data, b.len, encodings[e], NULL, &back, NULL,
                                              &err) != FS_PROTO_OK)
                fail_msg("decode: %s", err.text);
            assert_true(fx_response_eq(&resp, &back));
            fs_proto_buf_free(&b);
            fs_proto_sync_response_free(&back);
            fs_proto_sync_response_free(&resp);
        }
    }
}

/* The open-conflict list is held to max_rows both ways, and an encoder is
 * told when it lists conflicts without saying the list is complete. */
static void test_conflict_list_limits(void **state)
{
    fs_sync_response resp, back;
    fs_proto_limits lim = fs_proto_limits_default();
    fs_proto_buf b;
    fs_error err;

    (void)state;
    fx_response(&resp, 1, 1);
    assert_int_equal(resp.nconflicts, 2);
    resp.nexits = 1; /* only the conflicts exceed the limit */
    lim.max_rows = 1;
    assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_IDENTITY, &lim, &b, &err),
                     FS_PROTO_EROWS_LIMIT);
    assert_non_null(strstr(err.text, "conflicts"));
    assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_IDENTITY, NULL, &b, &err),
                     FS_PROTO_OK);
    assert_int_equal(fs_proto_sync_response_decode(b.data, b.len, FS_PROTO_IDENTITY, &lim,
                                                   &back, NULL, &err),
                     FS_PROTO_EROWS_LIMIT);
    fs_proto_buf_free(&b);
    resp.conflicts_listed = false;
    assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_IDENTITY, NULL, &b, &err),
                     FS_PROTO_EINVAL);
    fs_proto_sync_response_free(&resp);
}

static void test_roundtrip_error_body(void **state)
{
    (void)state;
    for (size_t e = 0; e < NENC; e++) {
        fs_error_body eb, back;
        fs_proto_buf b;
        fs_error err;
        memset(&eb, 0, sizeof eb);
        eb.code = FS_PROTO_ERR_REVOKED;
        strcpy(eb.message, "device 0190e7c2 was revoked by j.smith; wipe and re-enroll");
        eb.wipe = true;
        assert_int_equal(fs_proto_error_body_encode(&eb, encodings[e], NULL, &b, &err),
                         FS_PROTO_OK);
        assert_int_equal(fs_proto_error_body_decode(b.data, b.len, encodings[e], NULL, &back,
                                                    NULL, &err),
                         FS_PROTO_OK);
        assert_memory_equal(&eb, &back, sizeof eb);
        fs_proto_buf_free(&b);
    }
}

/* A decode failure turned into an error body names the limit. */
static void test_error_body_from_failure(void **state)
{
    fs_sync_request req, back;
    fs_proto_buf b;
    fs_error err;
    fs_error_body eb;
    fs_proto_limits lim = fs_proto_limits_default();
    fs_proto_status st;
    (void)state;
    fx_request(&req, 4, 10);
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_DEFLATE, NULL, &b, &err),
                     FS_PROTO_OK);
    lim.max_changes = 3;
    st = fs_proto_sync_request_decode(b.data, b.len, FS_PROTO_DEFLATE, &lim, &back, NULL, &err);
    assert_int_equal(st, FS_PROTO_ECHANGES_LIMIT);
    fs_proto_error_body_from(st, &err, &eb);
    assert_int_equal(eb.code, FS_PROTO_ERR_TOO_LARGE);
    assert_non_null(strstr(eb.message, "max_changes = 3"));
    assert_int_equal(fs_proto_http_status(st), 400);
    assert_int_equal(fs_proto_http_status(FS_PROTO_EINFLATED_LIMIT), 413);
    assert_int_equal(fs_proto_http_status(FS_PROTO_EENCODING), 415);
    fs_proto_buf_free(&b);
    fs_proto_sync_request_free(&req);
}

static void test_encoding_parse(void **state)
{
    static const struct {
        const char *s;
        fs_proto_status st;
        fs_proto_encoding enc;
    } cases[] = {
        {"", FS_PROTO_OK, FS_PROTO_IDENTITY},
        {"identity", FS_PROTO_OK, FS_PROTO_IDENTITY},
        {"deflate", FS_PROTO_OK, FS_PROTO_DEFLATE},
        {" GZip\t", FS_PROTO_OK, FS_PROTO_GZIP},
        {"x-gzip", FS_PROTO_OK, FS_PROTO_GZIP},
        {"br", FS_PROTO_EENCODING, FS_PROTO_IDENTITY},
        {"gzip, deflate", FS_PROTO_EENCODING, FS_PROTO_IDENTITY},
        {"gzipp", FS_PROTO_EENCODING, FS_PROTO_IDENTITY},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fs_proto_encoding enc = FS_PROTO_IDENTITY;
        fs_error err;
        assert_int_equal(fs_proto_encoding_parse(cases[i].s, strlen(cases[i].s), &enc, &err),
                         cases[i].st);
        if (cases[i].st == FS_PROTO_OK)
            assert_int_equal(enc, cases[i].enc);
        else
            assert_int_equal(err.code, FS_PROTO_EENCODING);
    }
    assert_string_equal(fs_proto_encoding_name(FS_PROTO_GZIP), "gzip");
    assert_string_equal(fs_proto_encoding_name(FS_PROTO_DEFLATE), "deflate");
    {
        fs_proto_encoding enc = FS_PROTO_GZIP;
        assert_int_equal(fs_proto_encoding_parse(NULL, 0, &enc, NULL), FS_PROTO_OK);
        assert_int_equal(enc, FS_PROTO_IDENTITY);
    }
}

/* ------------------------------------------------------------------------ */
/* Compatibility (item 8)                                                    */
/* ------------------------------------------------------------------------ */

/* A varint unknown field as a newer peer's protobuf-c would pack it. */
static ProtobufCMessageUnknownField *unknown_varint(uint32_t num, uint8_t value)
{
    ProtobufCMessageUnknownField *u = calloc(1, sizeof *u);
    assert_non_null(u);
    u->tag = num;
    u->wire_type = PROTOBUF_C_WIRE_TYPE_VARINT;
    u->len = 1;
    u->data = malloc(1);
    assert_non_null(u->data);
    u->data[0] = value & 0x7F;
    return u;
}

static void drop_unknown(ProtobufCMessage *m)
{
    for (size_t i = 0; i < m->n_unknown_fields; i++)
        free(m->unknown_fields[i].data);
    free(m->unknown_fields);
    m->unknown_fields = NULL;
    m->n_unknown_fields = 0;
}

static void add_unknown(ProtobufCMessage *m, uint32_t num)
{
    ProtobufCMessageUnknownField *u = unknown_varint(num, 5);
    m->unknown_fields = realloc(m->unknown_fields,
                                (m->n_unknown_fields + 1) * sizeof *m->unknown_fields);
    assert_non_null(m->unknown_fields);
    m->unknown_fields[m->n_unknown_fields++] = *u;
    free(u);
}

/* The column of ent.field in a table (fails the test if there is none). */
static Fieldsync__V1__Column *column(const Fieldsync__V1__Table *t, const char *ent,
                                     const char *field)
{
    const fs_entity *e = fs_schema_entity(ent);
    int slot = fs_entity_field_index(e, field);
    assert_true(slot >= 0);
    for (size_t c = 0; c < t->n_columns; c++)
        if (t->columns[c]->entity == e->tag && t->columns[c]->tag == e->fields[slot].tag)
            return t->columns[c];
    fail_msg("the table has no column %s.%s", ent, field);
    return NULL;
}

/* Where table row `row`'s cell sits in column c. */
static size_t cell_index(const Fieldsync__V1__Table *t, const Fieldsync__V1__Column *c,
                         size_t row)
{
    unsigned bit = 0;
    size_t k = 0;
    for (size_t j = 0; j < t->n_columns && t->columns[j] != c; j++)
        if (t->columns[j]->entity == c->entity)
            bit++;
    assert_true(t->n_mask > row && (t->mask[row] >> bit & 1));
    for (size_t i = 0; i < row; i++)
        if (t->entity[i] == c->entity && (t->mask[i] >> bit & 1))
            k++;
    return k;
}

/* Packs a message into a malloc'd identity body. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *n)
{
    uint8_t *p;
    *n = protobuf_c_message_get_packed_size(m);
    p = malloc(*n ? *n : 1);
    assert_non_null(p);
    protobuf_c_message_pack(m, p);
    return p;
}

/* A newer client adds fields to SyncRequest, Table and Column: the server
 * decodes the batch unchanged and reports three skipped fields. */
static void test_compat_unknown_fields_request(void **state)
{
    fs_sync_request req, back;
    fs_proto_buf b;
    fs_error err;
    fs_proto_report rep;
    Fieldsync__V1__SyncRequest *m;
    uint8_t *body;
    size_t n;
    (void)state;

    fx_request(&req, 2, 30);
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_IDENTITY, NULL, &b, &err),
                     FS_PROTO_OK);
    m = fieldsync__v1__sync_request__unpack(NULL, b.len, b.data);
    assert_non_null(m);
    add_unknown(&m->base, 50);
    add_unknown(&m->batch->base, 60);
    add_unknown(&m->batch->columns[0]->base, 61);
    body = pack(&m->base, &n);
    drop_unknown(&m->base);
    drop_unknown(&m->batch->base);
    drop_unknown(&m->batch->columns[0]->base);
    fieldsync__v1__sync_request__free_unpacked(m, NULL);

    assert_int_equal(fs_proto_sync_request_decode(body, n, FS_PROTO_IDENTITY, NULL, &back,
                                                  &rep, &err),
                     FS_PROTO_OK);
    assert_true(fx_request_eq(&req, &back));
    assert_int_equal(rep.unknown_fields, 3);
    assert_true(rep.first_unknown_field == 50 || rep.first_unknown_field == 60 ||
                rep.first_unknown_field == 61);
    assert_int_equal(rep.unknown_entities, 0);
    free(body);
    fs_proto_buf_free(&b);
    fs_proto_sync_request_free(&back);
    fs_proto_sync_request_free(&req);
}

/* The write of `field` in a change, or NULL. */
static const fs_field_change *write_of(const fs_change *c, const char *field)
{
    int slot = c->entity ? fs_entity_field_index(c->entity, field) : -1;

    for (size_t i = 0; slot >= 0 && i < c->nfields; i++)
        if (c->fields[i].slot == slot)
            return &c->fields[i];
    return NULL;
}

/* A newer client pushes a change of an entity (tag 99) and a field (tag
 * 200) this server does not know: those changes are marked invalid, the
 * others decode, nothing is dropped silently. In a table a field is a
 * column: every change writing the unknown field is marked. */
static void test_compat_unknown_tags_request(void **state)
{
    fs_sync_request req, back;
    fs_proto_buf b;
    fs_error err;
    fs_proto_report rep;
    Fieldsync__V1__SyncRequest *m;
    Fieldsync__V1__Column *acc;
    uint8_t *body;
    size_t n;
    uint32_t saved_entity, saved_tag;
    fs_value v = fs_value_real(4.5);
    (void)state;

    fx_request(&req, 4, 30); /* 3 visits, then a customer tombstone */
    assert_int_equal(fs_change_set_named(&req.changes[2], "checkin_accuracy", &v,
                                         fs_hlc_make(FX_MS, 9), &err), FS_OK);
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_IDENTITY, NULL, &b, &err),
                     FS_PROTO_OK);
    m = fieldsync__v1__sync_request__unpack(NULL, b.len, b.data);
    assert_non_null(m);
    acc = column(m->batch, "visit", "checkin_accuracy");
    saved_entity = m->batch->entity[3];
    saved_tag = acc->tag;
    m->batch->entity[3] = 99;
    acc->tag = 200;
    body = pack(&m->base, &n);
    m->batch->entity[3] = saved_entity;
    acc->tag = saved_tag;
    fieldsync__v1__sync_request__free_unpacked(m, NULL);

    assert_int_equal(fs_proto_sync_request_decode(body, n, FS_PROTO_IDENTITY, NULL, &back,
                                                  &rep, &err),
                     FS_PROTO_OK);
    assert_int_equal(back.nchanges, 4);
    assert_int_equal(back.nerrors, 2);
    assert_int_equal(back.errors[0].index, 2);
    assert_int_equal(back.errors[0].code, FS_EUNKNOWN_FIELD);
    assert_non_null(strstr(back.errors[0].text, "200"));
    assert_int_equal(back.errors[1].index, 3);
    assert_int_equal(back.errors[1].code, FS_EUNKNOWN_ENTITY);
    assert_non_null(strstr(back.errors[1].text, "99"));
    /* Issue 12 finding 7: each error names what could be read, for the
     * audit: the entity and row, and every write but the unknown field's;
     * an unknown entity still names its row, device and tombstone write. */
    assert_ptr_equal(back.errors[0].change.entity, req.changes[2].entity);
    assert_memory_equal(back.errors[0].change.row.b, req.changes[2].row.b, 16);
    assert_memory_equal(back.errors[0].change.device.b, req.device_id.b, 16);
    assert_int_equal(back.errors[0].change.nfields, req.changes[2].nfields - 1);
    assert_null(write_of(&back.errors[0].change, "checkin_accuracy"));
    assert_non_null(write_of(&back.errors[0].change, "status"));
    assert_null(back.errors[1].change.entity);
    assert_memory_equal(back.errors[1].change.row.b, req.changes[3].row.b, 16);
    assert_memory_equal(back.errors[1].change.device.b, req.device_id.b, 16);
    assert_true(back.errors[1].change.has_tomb);
    assert_int_equal(back.errors[1].change.deleted, req.changes[3].deleted);
    assert_int_equal(back.errors[1].change.tomb_hlc, req.changes[3].tomb_hlc);
    assert_null(back.changes[2].entity);
    assert_null(back.changes[3].entity);
    assert_true(fx_change_eq(&req.changes[0], &back.changes[0]));
    assert_true(fx_change_eq(&req.changes[1], &back.changes[1]));
    assert_int_equal(rep.unknown_entities, 1);
    assert_int_equal(rep.unknown_tags, 1);
    free(body);
    fs_proto_buf_free(&b);
    fs_proto_sync_request_free(&back);
    fs_proto_sync_request_free(&req);
}

/* A change whose value breaks the schema (enum, type) is marked invalid with
 * the conflict library's own message; so is one naming an ID value the
 * table does not have. */
static void test_invalid_change_values(void **state)
{
    fs_sync_request req, back;
    fs_proto_buf b;
    fs_error err;
    Fieldsync__V1__SyncRequest *m;
    Fieldsync__V1__Column *status, *planned, *cust;
    uint8_t *body;
    size_t n, k;
    int64_t saved_ints[8];
    double real = 1.5;
    (void)state;

    fx_request(&req, 4, 30);
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_IDENTITY, NULL, &b, &err),
                     FS_PROTO_OK);
    m = fieldsync__v1__sync_request__unpack(NULL, b.len, b.data);
    assert_non_null(m);
    /* Change 0: status (an enum) "completed" becomes "xompleted". */
    status = column(m->batch, "visit", "status");
    assert_int_equal(status->n_text_len, 3);
    assert_memory_equal(status->text.data, "completed", 9);
    status->text.data[0] = 'x';
    /* Change 1: planned_at (a time) gets a real. */
    planned = column(m->batch, "visit", "planned_at");
    k = cell_index(m->batch, planned, 1);
    assert_int_equal(planned->n_ints, 3);
    memcpy(saved_ints, planned->ints, 3 * sizeof *saved_ints);
    planned->kind[k] = FIELDSYNC__V1__VALUE_KIND__REAL;
    planned->ints[1] = planned->ints[2];
    planned->n_ints = 2;
    planned->n_reals = 1;
    planned->reals = &real;
    /* Change 2: customer_id names ID value 7 of a table of 3. */
    cust = column(m->batch, "visit", "customer_id");
    k = cell_index(m->batch, cust, 2);
    assert_int_equal(m->batch->values->n_hi, 3);
    saved_ints[3] = cust->ints[k];
    cust->ints[k] = 7;
    body = pack(&m->base, &n);
    cust->ints[k] = saved_ints[3];
    planned->n_ints = 3;
    memcpy(planned->ints, saved_ints, 3 * sizeof *saved_ints);
    planned->n_reals = 0;
    planned->reals = NULL;
    fieldsync__v1__sync_request__free_unpacked(m, NULL);

    assert_int_equal(fs_proto_sync_request_decode(body, n, FS_PROTO_IDENTITY, NULL, &back,
                                                  NULL, &err),
                     FS_PROTO_OK);
    assert_int_equal(back.nerrors, 3);
    assert_int_equal(back.errors[0].code, FS_ERANGE);
    assert_non_null(strstr(back.errors[0].text, "xompleted"));
    assert_int_equal(back.errors[1].code, FS_ETYPE);
    assert_int_equal(back.errors[2].index, 2);
    assert_int_equal(back.errors[2].code, FS_EBADID);
    /* Issue 12 finding 7: the refused value itself is kept for the audit
     * (with its stamp), beside every other write of the change; a value
     * that cannot be read (an ID not in the table) is not. */
    {
        const fs_change *e0 = &back.errors[0].change, *e1 = &back.errors[1].change;
        const fs_field_change *w = write_of(e0, "status");
        assert_ptr_equal(e0->entity, req.changes[0].entity);
        assert_memory_equal(e0->row.b, req.changes[0].row.b, 16);
        assert_int_equal(e0->nfields, req.changes[0].nfields);
        assert_non_null(w);
        assert_int_equal(w->v.kind, FS_VAL_TEXT);
        assert_int_equal(w->v.u.text.n, 9);
        assert_memory_equal(w->v.u.text.p, "xompleted", 9);
        assert_int_equal(w->hlc, write_of(&req.changes[0], "status")->hlc);
        w = write_of(e1, "planned_at");
        assert_non_null(w);
        assert_int_equal(w->v.kind, FS_VAL_REAL);
        assert_true(w->v.u.r == 1.5);
        assert_int_equal(e1->nfields, req.changes[1].nfields);
        assert_int_equal(back.errors[2].change.nfields, req.changes[2].nfields - 1);
        assert_null(write_of(&back.errors[2].change, "customer_id"));
    }
    assert_true(fx_change_eq(&req.changes[3], &back.changes[3]));
    free(body);
    fs_proto_buf_free(&b);
    fs_proto_sync_request_free(&back);
    fs_proto_sync_request_free(&req);
}

/* A newer server sends rows of an unknown entity (with their columns), a
 * column of an unknown field, unknown reason and exit-reason values and an
 * unknown field: the client keeps everything it understands and reports
 * the rest. */
static void test_compat_newer_server_response(void **state)
{
    fs_sync_response resp, back;
    fs_proto_buf b;
    fs_error err;
    fs_proto_report rep;
    Fieldsync__V1__SyncResponse *m;
    uint8_t *body;
    size_t n;
    (void)state;

    fx_response(&resp, 5, 2); /* row 3 is the only customer */
    assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_IDENTITY, NULL, &b, &err),
                     FS_PROTO_OK);
    m = fieldsync__v1__sync_response__unpack(NULL, b.len, b.data);
    assert_non_null(m);
    m->page->entity[3] = 99;                 /* row 3 is skipped ... */
    for (size_t c = 0; c < m->page->n_columns; c++)
        if (m->page->columns[c]->entity == fs_schema_entity("customer")->tag)
            m->page->columns[c]->entity = 99; /* ... with its columns */
    column(m->page, "visit", "rep_id")->tag = 250; /* visits lose rep_id */
    m->results[1]->reason = (Fieldsync__V1__Reason)77;
    m->exits[0]->reason = (Fieldsync__V1__ExitReason)9;
    add_unknown(&m->base, 42);
    body = pack(&m->base, &n);
    drop_unknown(&m->base);
    fieldsync__v1__sync_response__free_unpacked(m, NULL);

    if (fs_proto_sync_response_decode(body, n, FS_PROTO_IDENTITY, NULL, &back, &rep, &err) !=
        FS_PROTO_OK)
        fail_msg("decode: %s", err.text);
    assert_int_equal(rep.unknown_fields, 1);
    assert_int_equal(rep.first_unknown_field, 42);
    assert_int_equal(rep.unknown_entities, 1);
    assert_int_equal(rep.unknown_tags, 4);
    assert_int_equal(rep.unknown_enums, 2);
    assert_int_equal(back.nrows, 4);
    assert_int_equal(back.rows[3].seq, resp.rows[4].seq);
    assert_int_equal(back.results[1].reason, FS_REASON_NONE);
    assert_string_equal(back.results[1].detail, resp.results[1].detail);
    assert_int_equal(back.exits[0].reason, FS_EXIT_UNKNOWN);
    assert_int_equal(back.exits[1].reason, FS_EXIT_REVOKED);
    for (size_t i = 0; i < 4; i++) {
        /* Every visit lost only its rep_id cell. */
        size_t from = i < 3 ? i : 4;
        int slot = fs_entity_field_index(back.rows[i].row.entity, "rep_id");
        assert_int_equal(back.rows[i].row.cells[slot].v.kind, FS_VAL_NULL);
        assert_int_equal(back.rows[i].row.cells[slot].hlc, 0);
        assert_int_equal(fs_value_text(&back.rows[i].row.cells[slot].v, "rep-7", 5, &err),
                         FS_OK);
        back.rows[i].row.cells[slot].hlc = resp.rows[from].row.cells[slot].hlc;
        back.rows[i].row.cells[slot].device = resp.rows[from].row.cells[slot].device;
        assert_true(fs_row_eq(&resp.rows[from].row, &back.rows[i].row));
    }
    free(body);
    fs_proto_buf_free(&b);
    fs_proto_sync_response_free(&back);
    fs_proto_sync_response_free(&resp);
}

/* An outcome value the client does not know is refused: the client cannot
 * tell whether the change may leave its outbox. */
static void test_compat_unknown_outcome_refused(void **state)
{
    fs_sync_response resp, back;
    fs_proto_buf b;
    fs_error err;
    Fieldsync__V1__SyncResponse *m;
    uint8_t *body;
    size_t n;
    (void)state;

    fx_response(&resp, 1, 1);
    assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_IDENTITY, NULL, &b, &err),
                     FS_PROTO_OK);
    m = fieldsync__v1__sync_response__unpack(NULL, b.len, b.data);
    assert_non_null(m);
    m->results[0]->has_outcome = true;
    m->results[0]->outcome = (Fieldsync__V1__Outcome)5;
    body = pack(&m->base, &n);
    fieldsync__v1__sync_response__free_unpacked(m, NULL);
    assert_int_equal(fs_proto_sync_response_decode(body, n, FS_PROTO_IDENTITY, NULL, &back,
                                                   NULL, &err),
                     FS_PROTO_EVALUE);
    assert_non_null(strstr(err.text, "outcome 5"));
    assert_int_equal(back.nrows, 0);
    free(body);
    fs_proto_buf_free(&b);
    fs_proto_sync_response_free(&resp);
}

/* A peer of this version that predates later additions (fields absent)
 * decodes with the documented defaults; a peer of another version is
 * refused (test_proto_limits: test_version_refused). */
static void test_compat_older_peer(void **state)
{
    Fieldsync__V1__SyncResponse m = FIELDSYNC__V1__SYNC_RESPONSE__INIT;
    fs_sync_response back;
    fs_error err;
    uint8_t *body;
    size_t n;
    (void)state;
    m.has_protocol_version = true;
    m.protocol_version = FS_PROTO_VERSION;
    m.has_next_cursor = true;
    m.next_cursor = 5;
    body = pack(&m.base, &n);
    assert_int_equal(fs_proto_sync_response_decode(body, n, FS_PROTO_IDENTITY, NULL, &back,
                                                   NULL, &err),
                     FS_PROTO_OK);
    assert_int_equal(back.version, FS_PROTO_VERSION);
    assert_int_equal(back.next_cursor, 5);
    assert_false(back.has_more);
    assert_false(back.wipe);
    assert_false(back.conflicts_listed);
    assert_int_equal(back.nrows, 0);
    free(body);
    fs_proto_sync_response_free(&back);
    m.protocol_version = 1;
    body = pack(&m.base, &n);
    assert_int_equal(fs_proto_sync_response_decode(body, n, FS_PROTO_IDENTITY, NULL, &back,
                                                   NULL, &err),
                     FS_PROTO_EVERSION);
    free(body);
}

/* The outbox report (SyncRequest 12, 13): each field on the wire only when
 * reported, a reported 0 stays "reported 0", and a request from an older
 * client (neither field) decodes as "not reported". */
static void test_outbox_report(void **state)
{
    static const struct {
        bool has_p, has_r;
        uint32_t p, r;
    } cases[] = {
        {false, false, 0, 0}, {true, true, 0, 0},       {true, false, 7, 0},
        {false, true, 0, 2},  {true, true, UINT32_MAX, 1},
    };
    Fieldsync__V1__SyncRequest m = FIELDSYNC__V1__SYNC_REQUEST__INIT;
    fs_sync_request back;
    fs_error err;
    uint8_t *body;
    size_t n;
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fs_sync_request req;
        fs_proto_buf b;
        Fieldsync__V1__SyncRequest *raw;
        fx_request(&req, 1, 10);
        req.has_outbox_pending = cases[i].has_p;
        req.outbox_pending = cases[i].p;
        req.has_rejected_held = cases[i].has_r;
        req.rejected_held = cases[i].r;
        assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_IDENTITY, NULL, &b, &err),
                         FS_PROTO_OK);
        raw = fieldsync__v1__sync_request__unpack(NULL, b.len, b.data);
        assert_non_null(raw);
        assert_int_equal(raw->has_outbox_pending, cases[i].has_p);
        assert_int_equal(raw->has_rejected_held, cases[i].has_r);
        fieldsync__v1__sync_request__free_unpacked(raw, NULL);
        assert_int_equal(fs_proto_sync_request_decode(b.data, b.len, FS_PROTO_IDENTITY, NULL,
                                                      &back, NULL, &err),
                         FS_PROTO_OK);
        assert_int_equal(back.has_outbox_pending, cases[i].has_p);
        assert_int_equal(back.outbox_pending, cases[i].p);
        assert_int_equal(back.has_rejected_held, cases[i].has_r);
        assert_int_equal(back.rejected_held, cases[i].r);
        fs_proto_buf_free(&b);
        fs_proto_sync_request_free(&back);
        fs_proto_sync_request_free(&req);
    }
    /* An older client's request, built without the fields. */
    m.has_protocol_version = true;
    m.protocol_version = FS_PROTO_VERSION;
    m.has_device_id = true;
    m.device_id.len = 16;
    m.device_id.data = (uint8_t *)"0123456789abcdef";
    body = pack(&m.base, &n);
    assert_int_equal(fs_proto_sync_request_decode(body, n, FS_PROTO_IDENTITY, NULL, &back,
                                                  NULL, &err),
                     FS_PROTO_OK);
    assert_false(back.has_outbox_pending);
    assert_false(back.has_rejected_held);
    free(body);
    fs_proto_sync_request_free(&back);
}

/* Encoders refuse what a receiver would refuse. */
static void test_encode_validation(void **state)
{
    fs_sync_request req;
    fs_proto_buf b;
    fs_error err;
    fs_id other;
    (void)state;
    fx_request(&req, 2, 10);
    other = req.changes[0].device;
    fx_id(&req.changes[0].device, FX_MS, 999);
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_GZIP, NULL, &b, &err),
                     FS_PROTO_EVALUE);
    assert_non_null(strstr(err.text, "changes[0]"));
    assert_null(b.data);
    req.changes[0].device = other;
    memset(&req.batch_id, 0, sizeof req.batch_id);
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_GZIP, NULL, &b, &err),
                     FS_PROTO_EVALUE);
    fs_proto_sync_request_free(&req);

    /* A pulled value or deletion without a stamp: the decoder would refuse
     * it (stamp 0 = never written), so the encoder does. */
    {
        fs_sync_response resp;
        fx_response(&resp, 4, 1);
        resp.rows[0].row.cells[1].hlc = 0; /* rep_id keeps its value */
        assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_GZIP, NULL, &b, &err),
                         FS_PROTO_EVALUE);
        assert_non_null(strstr(err.text, "without a stamp"));
        resp.rows[0].row.cells[1].hlc = 5;
        resp.rows[3].row.del_hlc = 0;      /* row 3 is a deleted customer */
        assert_true(resp.rows[3].row.deleted);
        assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_GZIP, NULL, &b, &err),
                         FS_PROTO_EVALUE);
        fs_proto_sync_response_free(&resp);
    }

    /* An enroll response without a token: the decoder refuses it, so the
     * encoder does. */
    {
        fs_enroll_response rs;
        memset(&rs, 0, sizeof rs);
        fx_id(&rs.device_id, FX_MS, 1);
        assert_int_equal(fs_proto_enroll_response_encode(&rs, FS_PROTO_GZIP, NULL, &b, &err),
                         FS_PROTO_EVALUE);
        assert_non_null(strstr(err.text, "token"));
        assert_null(b.data);
    }
}

/* REAL values round-trip bit for bit whether or not they take the e7
 * shortcut (the conflict library treats -0.0 as 0.0, so compare bits). */
static void test_reals_exact(void **state)
{
    static const double vals[] = {1.0 / 3.0, 0.0,  999999.9999999, 1e-300,
                                  12.5,      0.1,  0.30000000000000004, 4.9e-324};
    (void)state;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        fs_sync_request req, back;
        fs_proto_buf b;
        fs_error err;
        fs_value v = fs_value_real(vals[i]);
        fs_value neg = fs_value_real(-0.0);
        int acc = fs_entity_field_index(fs_schema_entity("visit"), "checkin_accuracy");
        int lon = fs_entity_field_index(fs_schema_entity("visit"), "checkout_lon");
        fx_request(&req, 1, 10);
        assert_int_equal(fs_change_set(&req.changes[0], acc, &v, fs_hlc_make(FX_MS, 1), &err),
                         FS_OK);
        assert_int_equal(fs_change_set(&req.changes[0], lon, &neg, fs_hlc_make(FX_MS, 1), &err),
                         FS_OK);
        assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_DEFLATE, NULL, &b, &err),
                         FS_PROTO_OK);
        assert_int_equal(fs_proto_sync_request_decode(b.data, b.len, FS_PROTO_DEFLATE, NULL,
                                                      &back, NULL, &err),
                         FS_PROTO_OK);
        assert_int_equal(back.changes[0].nfields, req.changes[0].nfields);
        for (size_t k = 0; k < back.changes[0].nfields; k++) {
            /* Decoded writes come in slot order, the encoder's in the order
             * they were set. */
            const fs_field_change *y = &back.changes[0].fields[k], *x = NULL;
            for (size_t j = 0; j < req.changes[0].nfields; j++)
                if (req.changes[0].fields[j].slot == y->slot)
                    x = &req.changes[0].fields[j];
            assert_non_null(x);
            assert_int_equal(x->v.kind, y->v.kind);
            if (x->v.kind == FS_VAL_REAL)
                assert_memory_equal(&x->v.u.r, &y->v.u.r, sizeof(double));
        }
        fs_proto_buf_free(&b);
        fs_proto_sync_request_free(&back);
        fs_proto_sync_request_free(&req);
    }
}

/* Stamps, times, texts and table structure from a hostile encoder are
 * refused, never wrapped into a plausible value or read out of bounds. */
static void test_hostile_tables(void **state)
{
    fs_sync_response resp, back;
    fs_sync_request req, rback;
    fs_proto_buf b;
    fs_error err;
    uint8_t *body;
    size_t n;
    (void)state;

    fx_response(&resp, 3, 2);
    assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_IDENTITY, NULL, &b, &err),
                     FS_PROTO_OK);
    for (int k = 0; k < 15; k++) {
        Fieldsync__V1__SyncResponse *m = fieldsync__v1__sync_response__unpack(NULL, b.len, b.data);
        Fieldsync__V1__Table *t;
        Fieldsync__V1__Column *c, *saved = NULL;
        uint32_t kind_saved = 0;
        int64_t zero_ms[3] = {-(int64_t)FX_MS, 0, 0}, *ms_saved = NULL;
        size_t n_ms_saved = 0;
        assert_non_null(m);
        t = m->page;
        assert_int_equal(t->n_hlc_ms, 3);
        assert_int_equal(t->n_hlc_count, 3);
        assert_int_equal(t->n_device, 3);
        switch (k) {
        case 0: /* row base far beyond 48-bit ms */
            t->hlc_ms[1] = INT64_MAX;
            break;
        case 1: /* counter above 16 bits */
            t->hlc_count[0] = 70000;
            break;
        case 2: /* a TIME value that overflows int64 */
            c = column(t, "visit", "checkin_at");
            kind_saved = c->kind[0];
            c->kind[0] = FIELDSYNC__V1__VALUE_KIND__TIME;
            c->ints[0] = INT64_MAX;
            break;
        case 3: /* text lengths that do not add up */
            column(t, "visit", "status")->text_len[0]++;
            break;
        case 4: /* an ID value the table does not have */
            column(t, "visit", "customer_id")->ints[0] = 999;
            break;
        case 5: /* a value kind this version does not know */
            column(t, "visit", "checkin_lat")->kind[0] = 42;
            break;
        case 6: /* a cell in a column that does not exist */
            t->mask[0] |= UINT64_C(1) << 40;
            break;
        case 7: /* a writer past the device table */
            t->device[0] = 99;
            break;
        case 8: /* a tombstone state that does not exist */
            t->n_tomb = 3;
            t->tomb = calloc(3, sizeof *t->tomb);
            assert_non_null(t->tomb);
            t->tomb[2] = 3;
            break;
        case 9: /* a text slice that is not UTF-8 */
            column(t, "visit", "status")->text.data[0] = 0xFF;
            break;
        case 10: /* the same field twice */
            saved = t->columns[1];
            t->columns[1] = t->columns[0];
            break;
        case 11: /* a stamp reference this version does not know */
            t->has_stamp_ref = true;
            t->stamp_ref = (Fieldsync__V1__StampRef)7;
            break;
        case 12: /* a per-row array one short */
            t->n_hlc_ms--;
            break;
        case 13: /* ids for fewer rows than the table has */
            t->ids->n_lo--;
            break;
        case 14: /* a cell stamp of 0, "never written" (was found by
                  * fuzz_decode in v1: it defeated the duplicate check) */
            c = column(t, "visit", "customer_id");
            assert_int_equal(t->hlc_count[0], 0);
            assert_int_equal(cell_index(t, c, 0), 0);
            ms_saved = c->hlc_ms;
            n_ms_saved = c->n_hlc_ms;
            c->hlc_ms = zero_ms;
            c->n_hlc_ms = 3;
            break;
        }
        body = pack(&m->base, &n);
        if (k == 2)
            column(t, "visit", "checkin_at")->kind[0] = kind_saved;
        if (k == 8) {
            free(t->tomb);
            t->tomb = NULL;
            t->n_tomb = 0;
        }
        if (k == 10)
            t->columns[1] = saved;
        if (k == 12)
            t->n_hlc_ms++;
        if (k == 13)
            t->ids->n_lo++;
        if (k == 14) {
            c = column(t, "visit", "customer_id");
            c->hlc_ms = ms_saved;
            c->n_hlc_ms = n_ms_saved;
        }
        fieldsync__v1__sync_response__free_unpacked(m, NULL);
        if (fs_proto_sync_response_decode(body, n, FS_PROTO_IDENTITY, NULL, &back, NULL,
                                          &err) != FS_PROTO_EVALUE)
            fail_msg("case %d: not refused with EVALUE (%s)", k, err.text);
        assert_int_equal(back.nrows, 0);
        free(body);
    }
    fs_proto_buf_free(&b);
    fs_proto_sync_response_free(&resp);

    /* Inside a pushed change a bad stamp rejects that change only. */
    fx_request(&req, 3, 10);
    assert_int_equal(fs_proto_sync_request_encode(&req, FS_PROTO_IDENTITY, NULL, &b, &err),
                     FS_PROTO_OK);
    {
        Fieldsync__V1__SyncRequest *m = fieldsync__v1__sync_request__unpack(NULL, b.len, b.data);
        Fieldsync__V1__Column *c;
        int64_t ms[2] = {0, -INT64_MAX}, *saved_ms;
        size_t saved_n;
        assert_non_null(m);
        c = column(m->batch, "visit", "customer_id");
        assert_int_equal(cell_index(m->batch, c, 1), 1);
        saved_ms = c->hlc_ms;
        saved_n = c->n_hlc_ms;
        c->hlc_ms = ms;
        c->n_hlc_ms = 2;
        body = pack(&m->base, &n);
        c->hlc_ms = saved_ms;
        c->n_hlc_ms = saved_n;
        fieldsync__v1__sync_request__free_unpacked(m, NULL);
    }
    assert_int_equal(fs_proto_sync_request_decode(body, n, FS_PROTO_IDENTITY, NULL, &rback, NULL,
                                                  &err),
                     FS_PROTO_OK);
    assert_int_equal(rback.nerrors, 1);
    assert_int_equal(rback.errors[0].index, 1);
    assert_int_equal(rback.errors[0].code, FS_ERANGE);
    assert_true(fx_change_eq(&req.changes[0], &rback.changes[0]));
    assert_true(fx_change_eq(&req.changes[2], &rback.changes[2]));
    free(body);
    fs_proto_buf_free(&b);
    fs_proto_sync_request_free(&rback);
    fs_proto_sync_request_free(&req);
}

/* The encoder picks each integer column's representation (absolute, delta
 * down the column, relative to the cell's stamp) and the base stamps'
 * reference; every choice must decode to the same values. Columns built so
 * that each choice wins once. */
static void test_roundtrip_representations(void **state)
{
    (void)state;
    for (int shape = 0; shape < 3; shape++) {
        fs_sync_response resp, back;
        fs_proto_buf b;
        fs_error err;
        Fieldsync__V1__SyncResponse *m;
        Fieldsync__V1__Column *c;
        fx_response(&resp, 30, 2);
        for (size_t i = 0; i < resp.nrows; i++) {
            fs_row *r = &resp.rows[i].row;
            int slot = fs_entity_field_index(r->entity, "checkin_at");
            fs_hlc h;
            if (shape == 2) /* ids made when the rows were first written */
                fx_id(&r->id, FX_MS + i * 977 - 3, 70000 + (uint32_t)i);
            if (slot < 0)
                continue;
            h = r->cells[slot].hlc;
            if (shape == 0) /* steps of a day: delta down the column */
                r->cells[slot].v = fs_value_int((int64_t)(FX_MS + i * 86400000));
            else if (shape == 1) /* just before the stamp: relative to it */
                r->cells[slot].v =
                    fs_value_int((int64_t)fs_hlc_ms(h) - (int64_t)((i * i * 37 + i * 11) % 61));
            else /* runs of one value: absolute */
                r->cells[slot].v = fs_value_int((int64_t)((i / 3) % 7 * 9));
        }
        assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_IDENTITY, NULL, &b, &err),
                         FS_PROTO_OK);
        m = fieldsync__v1__sync_response__unpack(NULL, b.len, b.data);
        assert_non_null(m);
        c = column(m->page, "visit", "checkin_at");
        assert_int_equal(c->kind[0], shape == 0   ? FIELDSYNC__V1__VALUE_KIND__INT_DELTA
                                     : shape == 1 ? FIELDSYNC__V1__VALUE_KIND__TIME
                                                  : FIELDSYNC__V1__VALUE_KIND__INT);
        /* Base stamps: relative to the previous row's (evenly spaced in the
         * fixture), or to the row id's time when that is closer. */
        assert_int_equal(m->page->stamp_ref, shape == 2 ? FIELDSYNC__V1__STAMP_REF__ROW_ID
                                                        : FIELDSYNC__V1__STAMP_REF__PREVIOUS);
        fieldsync__v1__sync_response__free_unpacked(m, NULL);
        assert_int_equal(fs_proto_sync_response_decode(b.data, b.len, FS_PROTO_IDENTITY, NULL,
                                                       &back, NULL, &err),
                         FS_PROTO_OK);
        assert_true(fx_response_eq(&resp, &back));
        fs_proto_buf_free(&b);
        fs_proto_sync_response_free(&back);
        fs_proto_sync_response_free(&resp);
    }
}

/* Issue 12 finding 3: text the caller built (a result detail, a conflict's
 * fields, an ErrorBody message) is repaired by the encoder, never a reason
 * to refuse the answer: a detail cut inside a character or holding invalid
 * bytes encodes, and decodes as valid UTF-8 with U+FFFD. */
static void test_encoder_repairs_built_text(void **state)
{
    fs_sync_response resp, back;
    fs_sync_result r[2];
    fs_open_conflict k;
    fs_error_body eb, ebb;
    fs_proto_buf b = {0};
    fs_error err = {0};
    (void)state;

    memset(&resp, 0, sizeof resp);
    memset(r, 0, sizeof r);
    memset(&k, 0, sizeof k);
    resp.version = FS_PROTO_VERSION;
    r[0].index = 0;
    r[0].outcome = FS_REJECTED;
    r[0].reason = FS_REASON_INVALID;
    strcpy(r[0].detail, "field currency: 'abcdefg\xC3' is not an ISO 4217 currency code");
    r[1].index = 1;
    r[1].outcome = FS_REJECTED;
    r[1].reason = FS_REASON_INVALID;
    strcpy(r[1].detail, "\xFF\xED\xA0\x80");
    resp.results = r;
    resp.nresults = 2;
    k.id = 1;
    k.entity = fs_schema_entity("quote");
    k.row.b[0] = 1;
    strcpy(k.field, "currency\xC3");
    strcpy(k.rule, "invalid");
    strcpy(k.detail, "'abcdefg\xC3'");
    resp.conflicts = &k;
    resp.nconflicts = 1;
    resp.conflicts_listed = true;
    resp.open_conflicts = 1;
    assert_int_equal(fs_proto_sync_response_encode(&resp, FS_PROTO_IDENTITY, NULL, &b, &err),
                     FS_PROTO_OK);
    assert_int_equal(fs_proto_sync_response_decode(b.data, b.len, FS_PROTO_IDENTITY, NULL,
                                                   &back, NULL, &err), FS_PROTO_OK);
    assert_string_equal(back.results[0].detail,
                        "field currency: 'abcdefg\xEF\xBF\xBD' is not an ISO 4217 currency code");
    assert_string_equal(back.results[1].detail, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_string_equal(back.conflicts[0].field, "currency\xEF\xBF\xBD");
    assert_string_equal(back.conflicts[0].detail, "'abcdefg\xEF\xBF\xBD'");
    fs_proto_sync_response_free(&back);
    fs_proto_buf_free(&b);

    memset(&eb, 0, sizeof eb);
    eb.code = FS_PROTO_ERR_BAD_REQUEST;
    strcpy(eb.message, "no such endpoint /v1/\xFF");
    assert_int_equal(fs_proto_error_body_encode(&eb, FS_PROTO_IDENTITY, NULL, &b, &err),
                     FS_PROTO_OK);
    assert_int_equal(fs_proto_error_body_decode(b.data, b.len, FS_PROTO_IDENTITY, NULL, &ebb,
                                                NULL, &err), FS_PROTO_OK);
    assert_string_equal(ebb.message, "no such endpoint /v1/\xEF\xBF\xBD");
    fs_proto_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoder_repairs_built_text),
        cmocka_unit_test(test_roundtrip_bytes),
        cmocka_unit_test(test_deflate_level),
        cmocka_unit_test(test_deflate_window_by_size),
        cmocka_unit_test(test_roundtrip_enroll),
        cmocka_unit_test(test_roundtrip_sync_request),
        cmocka_unit_test(test_roundtrip_extreme_stamps),
        cmocka_unit_test(test_roundtrip_sync_response),
        cmocka_unit_test(test_conflict_list_limits),
        cmocka_unit_test(test_roundtrip_error_body),
        cmocka_unit_test(test_error_body_from_failure),
        cmocka_unit_test(test_encoding_parse),
        cmocka_unit_test(test_compat_unknown_fields_request),
        cmocka_unit_test(test_compat_unknown_tags_request),
        cmocka_unit_test(test_invalid_change_values),
        cmocka_unit_test(test_compat_newer_server_response),
        cmocka_unit_test(test_compat_unknown_outcome_refused),
        cmocka_unit_test(test_compat_older_peer),
        cmocka_unit_test(test_outbox_report),
        cmocka_unit_test(test_encode_validation),
        cmocka_unit_test(test_reals_exact),
        cmocka_unit_test(test_hostile_tables),
        cmocka_unit_test(test_roundtrip_representations),
    };
    return cmocka_run_group_tests_name("proto_codec", tests, NULL, NULL);
}
