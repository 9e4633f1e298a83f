/*
 * fs_codec.c - conversion between the domain types of fs_conflict.h and the
 * protobuf messages of sync.proto, for every message of the protocol.
 *
 * Encoding builds the protobuf-c structs in a scratch arena that borrows
 * every string and id from the caller's domain structs, packs them, runs the
 * same limit scan a receiver will run (so a body we produce is never one the
 * peer refuses), and frames the bytes. Decoding unframes, scans, lets
 * protobuf-c unpack (now bounded), converts to domain structs and validates
 * every value with the conflict library. Compactness tricks live only here
 * (docs/PROTOCOL.md section 4): stamps travel as millisecond deltas chained
 * message -> row/change -> cell, with counters only where they differ; TIME
 * values relative to their stamp; GPS-like reals as exact e7 integers; cell
 * tags implicit when consecutive; text values in one list at the end of the
 * message; and pulled cells name their writer through a device table.
 */
#include "fs_proto_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync.pb-c.h"

/* The wire enums share their numbering with the domain enums. */
_Static_assert(FIELDSYNC__V1__OUTCOME__REJECTED == (int)FS_REJECTED,
               "Outcome numbering follows fs_outcome");
_Static_assert(FIELDSYNC__V1__REASON__INVALID == (int)FS_REASON_INVALID,
               "Reason numbering follows fs_reason");
_Static_assert(FIELDSYNC__V1__REASON__DELETED_ROW == (int)FS_REASON_DELETED,
               "Reason numbering follows fs_reason");
_Static_assert(FIELDSYNC__V1__EXIT_REASON__PURGED == (int)FS_EXIT_DELETED &&
                   FIELDSYNC__V1__EXIT_REASON__REVOKED == (int)FS_EXIT_REVOKED,
               "ExitReason numbering follows fs_exit_reason");
_Static_assert(FIELDSYNC__V1__ERROR_CODE__ERR_INTERNAL == (int)FS_PROTO_ERR_INTERNAL,
               "ErrorCode numbering follows fs_proto_error_code");

#define MAX_REASON FS_REASON_INVALID
#define MAX_EXIT FS_EXIT_REVOKED
#define MAX_ERROR_CODE FS_PROTO_ERR_INTERNAL

/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */

/* Two's-complement reinterpretation without implementation-defined casts:
 * HLC deltas are computed mod 2^64 and sent as sint64 where they may be
 * negative. */
static int64_t u64_to_s64(uint64_t x)
{
    return x <= (uint64_t)INT64_MAX ? (int64_t)x : -(int64_t)(~x) - 1;
}

static uint64_t s64_to_u64(int64_t x)
{
    return (uint64_t)x; /* conversion to unsigned is defined: mod 2^64 */
}

/* A stamp on the wire: a signed ms delta from a reference stamp, and the
 * counter only when it differs from the reference's (counters are nearly
 * always 0, or equal within one edit). Both ms values are 48-bit, so the
 * delta always fits. */
static void put_stamp(fs_hlc h, fs_hlc ref, protobuf_c_boolean *has_ms, int64_t *ms,
                      protobuf_c_boolean *has_count, uint32_t *count)
{
    *ms = (int64_t)fs_hlc_ms(h) - (int64_t)fs_hlc_ms(ref);
    *has_ms = *ms != 0;
    *count = fs_hlc_count(h);
    *has_count = *count != fs_hlc_count(ref);
}

/* Rebuilds a stamp; false when the result leaves the 48-bit ms range or the
 * counter its 16 bits (only a broken or hostile encoder sends that). */
static bool get_stamp(fs_hlc ref, int64_t d, protobuf_c_boolean has_count, uint32_t count,
                      fs_hlc *out)
{
    int64_t ms;
    if (!has_count)
        count = fs_hlc_count(ref);
    if (count > FS_HLC_COUNT_MAX ||
        __builtin_add_overflow((int64_t)fs_hlc_ms(ref), d, &ms) || ms < 0 ||
        (uint64_t)ms > FS_HLC_MS_MAX)
        return false;
    *out = fs_hlc_make((uint64_t)ms, (uint16_t)count);
    return true;
}

/* REAL values with at most 7 decimals (GPS fixes, metres) travel as an
 * integer count of 1e-7 when that gives back exactly the same double. */
static bool real_as_e7(double x, int64_t *q)
{
    double y;
    if (!(fabs(x) < 9e11)) /* keeps x * 1e7 inside int64; false for NaN */
        return false;
    *q = llround(x * 1e7);
    y = (double)*q / 1e7;
    return memcmp(&x, &y, sizeof x) == 0;
}

static ProtobufCBinaryData id_bytes(const fs_id *id)
{
    ProtobufCBinaryData b;
    b.len = sizeof id->b;
    /* protobuf-c's pack only reads through this pointer. */
    b.data = (uint8_t *)(uintptr_t)id->b;
    return b;
}

/* Copies text into a fixed buffer, cutting at a UTF-8 character boundary
 * when it does not fit (human-readable text only). */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Decodes a 16-byte id field. Absent: nil id, or an error when required. */
static fs_proto_status get_id(protobuf_c_boolean has, const ProtobufCBinaryData *b,
                              bool required, const char *what, fs_id *out,
                              fs_error *err)
{
    memset(out, 0, sizeof *out);
    if (!has) {
        if (required)
            return fs_proto__fail(err, FS_PROTO_EVALUE, "%s is missing", what);
        return FS_PROTO_OK;
    }
    if (b->len != sizeof out->b)
        return fs_proto__fail(err, FS_PROTO_EVALUE,
                              "%s is %zu bytes; ids are 16 bytes", what, b->len);
    memcpy(out->b, b->data, sizeof out->b);
    if (required && fs_id_is_nil(out))
        return fs_proto__fail(err, FS_PROTO_EVALUE, "%s is the nil id", what);
    return FS_PROTO_OK;
}

/* Scratch memory for building messages to pack: one free for everything. */
#define ARENA_CHUNK ((size_t)64 * 1024)
#define ARENA_ALIGN ((size_t)16)

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
} arena_chunk;

typedef struct arena {
    arena_chunk *head;
} arena;

#define ARENA_HDR ((sizeof(arena_chunk) + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1))

/* Zeroed memory for `count` objects of `size` bytes, or NULL. */
static void *arena_calloc(arena *a, size_t count, size_t size)
{
    size_t n;
    uint8_t *p;
    if (size && count > SIZE_MAX / size)
        return NULL;
    n = count * size;
    if (n > SIZE_MAX - ARENA_ALIGN - ARENA_HDR)
        return NULL;
    n = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    if (n == 0)
        n = ARENA_ALIGN;
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        arena_chunk *c = malloc(ARENA_HDR + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    p = (uint8_t *)a->head + ARENA_HDR + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

static void arena_free(arena *a)
{
    while (a->head) {
        arena_chunk *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/* Packs m, checks it against the limits exactly as a receiver will, and
 * frames it into *out. */
static fs_proto_status pack_and_frame(const ProtobufCMessage *m, fs_proto_encoding enc,
                                      const fs_proto_limits *lim, fs_proto_buf *out,
                                      fs_error *err)
{
    uint8_t *packed = NULL;
    size_t n = protobuf_c_message_get_packed_size(m);
    fs_proto_status st;

    if (n > lim->max_inflated) {
        st = fs_proto__fail(err, FS_PROTO_EINFLATED_LIMIT,
                            "encoded %s is %zu bytes; limit max_inflated = %zu",
                            m->descriptor->short_name, n, lim->max_inflated);
        goto done;
    }
    packed = fs_proto__alloc(lim->alloc, n);
    if (!packed) {
        st = fs_proto__fail(err, FS_PROTO_ENOMEM, "cannot allocate %zu bytes to pack %s",
                            n, m->descriptor->short_name);
        goto done;
    }
    protobuf_c_message_pack(m, packed);
    st = fs_proto__scan(m->descriptor, packed, n, lim, NULL, err);
    if (st != FS_PROTO_OK)
        goto done;
    st = fs_proto_compress(enc, packed, n, lim, out, err);

done:
    fs_proto__free(lim->alloc, packed);
    return st;
}

/* The state every decode function shares: the limits in force, the report
 * (the caller's or a local one) and the unpacked message. */
typedef struct decoding {
    fs_proto_limits lim;
    fs_proto_report local;
    fs_proto_report *rep;
    ProtobufCAllocator pa, *pap;
    ProtobufCMessage *msg; /* new after decode_begin; decode_end frees it */
} decoding;

/* The common start of every decode: resets the report, checks and zeroes
 * *out (out_size bytes; fn names the caller in the error), then unframes,
 * scans and unpacks the body into dc->msg. On failure dc->msg is NULL and
 * there is nothing to free; on success release it with decode_end. */
static fs_proto_status decode_begin(decoding *dc, const ProtobufCMessageDescriptor *d,
                                    const uint8_t *body, size_t n, fs_proto_encoding enc,
                                    const fs_proto_limits *limits, fs_proto_report *report,
                                    void *out, size_t out_size, const char *fn,
                                    fs_error *err)
{
    fs_proto_buf owned;
    const uint8_t *data = NULL;
    size_t len = 0;
    fs_proto_status st;

    dc->msg = NULL;
    dc->pap = NULL;
    dc->rep = report ? report : &dc->local;
    memset(dc->rep, 0, sizeof *dc->rep);
    if (!out)
        return fs_proto__fail(err, FS_PROTO_EINVAL, "%s: out is NULL", fn);
    memset(out, 0, out_size);
    fs_proto__limits(limits, &dc->lim);
    dc->pap = fs_proto__pbc_allocator(dc->lim.alloc, &dc->pa);
    dc->rep->body_bytes = n;
    st = fs_proto__unframe(enc, body, n, &dc->lim, &owned, &data, &len, err);
    if (st != FS_PROTO_OK)
        goto done;
    dc->rep->inflated_bytes = len;
    st = fs_proto__scan(d, data, len, &dc->lim, dc->rep, err);
    if (st != FS_PROTO_OK)
        goto done;
    dc->msg = protobuf_c_message_unpack(d, dc->pap, len, data);
    if (!dc->msg)
        st = fs_proto__fail(err, FS_PROTO_EPROTOBUF,
                            "body is not a valid %s message (%zu bytes)",
                            d->short_name, len);

done:
    fs_proto_buf_free(&owned);
    return st;
}

static void decode_end(decoding *dc)
{
    if (dc->msg)
        protobuf_c_message_free_unpacked(dc->msg, dc->pap);
    dc->msg = NULL;
}

/* ------------------------------------------------------------------------ */
/* Values                                                                    */
/* ------------------------------------------------------------------------ */

/* Text values of a sync message's cells, collected on encode into the
 * message's `texts` (borrowed pointers), and read back in order on decode. */
typedef struct text_sink {
    char **items;
    size_t n, cap;
} text_sink;

typedef struct text_src {
    char *const *items;
    size_t n, pos;
} text_src;

/* Number of cells that take their text from the texts list. */
static size_t count_text_next(Fieldsync__V1__Cell *const *cells, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (cells[i]->value_case == FIELDSYNC__V1__CELL__VALUE_TEXT_NEXT)
            k++;
    return k;
}

/* Puts v into a Cell's inlined oneof (borrowing text and id bytes). TIME
 * values are sent relative to the cell's stamp (cell_ms), REAL values as e7
 * integers when exact. */
static void cell_put_value(Fieldsync__V1__Cell *c, const fs_field *f, const fs_value *v,
                           uint64_t cell_ms, text_sink *ts)
{
    int64_t q;
    switch (v->kind) {
    case FS_VAL_NULL:
        c->value_case = FIELDSYNC__V1__CELL__VALUE__NOT_SET;
        break;
    case FS_VAL_INT:
        if (f->type == FS_TYPE_TIME && v->u.i >= 0 && (uint64_t)v->u.i <= FS_HLC_MS_MAX) {
            c->value_case = FIELDSYNC__V1__CELL__VALUE_TIME_VALUE;
            c->time_value = v->u.i - (int64_t)cell_ms;
        } else {
            c->value_case = FIELDSYNC__V1__CELL__VALUE_INT_VALUE;
            c->int_value = v->u.i;
        }
        break;
    case FS_VAL_REAL:
        if (real_as_e7(v->u.r, &q)) {
            c->value_case = FIELDSYNC__V1__CELL__VALUE_E7_VALUE;
            c->e7_value = q;
        } else {
            c->value_case = FIELDSYNC__V1__CELL__VALUE_REAL_VALUE;
            c->real_value = v->u.r;
        }
        break;
    case FS_VAL_TEXT:
        if (ts && ts->n < ts->cap) {
            c->value_case = FIELDSYNC__V1__CELL__VALUE_TEXT_NEXT;
            c->text_next = true;
            ts->items[ts->n++] = v->u.text.p;
        } else {
            c->value_case = FIELDSYNC__V1__CELL__VALUE_TEXT_VALUE;
            c->text_value = v->u.text.p;
        }
        break;
    case FS_VAL_ID:
        c->value_case = FIELDSYNC__V1__CELL__VALUE_ID_VALUE;
        c->id_value = id_bytes(&v->u.id);
        break;
    }
}

static void value_put(Fieldsync__V1__Value *m, const fs_value *v)
{
    switch (v->kind) {
    case FS_VAL_NULL:
        m->kind_case = FIELDSYNC__V1__VALUE__KIND__NOT_SET;
        break;
    case FS_VAL_INT:
        m->kind_case = FIELDSYNC__V1__VALUE__KIND_INT_VALUE;
        m->int_value = v->u.i;
        break;
    case FS_VAL_REAL:
        m->kind_case = FIELDSYNC__V1__VALUE__KIND_REAL_VALUE;
        m->real_value = v->u.r;
        break;
    case FS_VAL_TEXT:
        m->kind_case = FIELDSYNC__V1__VALUE__KIND_TEXT_VALUE;
        m->text_value = v->u.text.p;
        break;
    case FS_VAL_ID:
        m->kind_case = FIELDSYNC__V1__VALUE__KIND_ID_VALUE;
        m->id_value = id_bytes(&v->u.id);
        break;
    }
}

/* Text handed to protobuf-c must not contain NUL: it measures with strlen. */
static bool value_packable(const fs_value *v)
{
    return v->kind != FS_VAL_TEXT ||
           (v->u.text.p && strlen(v->u.text.p) == v->u.text.n);
}

/* A non-owning fs_value view of a Cell's value; text points into the
 * unpacked message. cell_ms is the cell's stamp, the reference of
 * time_value. FS_EBADID for an id that is not 16 bytes, FS_ERANGE for a
 * time_value that overflows. */
static fs_status cell_view(const Fieldsync__V1__Cell *c, uint64_t cell_ms, text_src *ts,
                           fs_value *out, fs_error *err)
{
    int64_t t;
    memset(out, 0, sizeof *out);
    switch (c->value_case) {
    case FIELDSYNC__V1__CELL__VALUE_INT_VALUE:
        *out = fs_value_int(c->int_value);
        break;
    case FIELDSYNC__V1__CELL__VALUE_TIME_VALUE:
        if (__builtin_add_overflow(c->time_value, (int64_t)cell_ms, &t))
            return fs_error_set(err, FS_ERANGE, "time value overflows");
        *out = fs_value_int(t);
        break;
    case FIELDSYNC__V1__CELL__VALUE_REAL_VALUE:
        *out = fs_value_real(c->real_value);
        break;
    case FIELDSYNC__V1__CELL__VALUE_E7_VALUE:
        *out = fs_value_real((double)c->e7_value / 1e7);
        break;
    case FIELDSYNC__V1__CELL__VALUE_TEXT_VALUE:
        out->kind = FS_VAL_TEXT;
        out->u.text.p = c->text_value;
        out->u.text.n = (uint32_t)strlen(c->text_value);
        break;
    case FIELDSYNC__V1__CELL__VALUE_TEXT_NEXT:
        /* Callers size ts from the same cells, so this cannot run dry. */
        if (!ts || ts->pos >= ts->n)
            return fs_error_set(err, FS_EINVAL, "texts list exhausted");
        out->kind = FS_VAL_TEXT;
        out->u.text.p = ts->items[ts->pos++];
        out->u.text.n = (uint32_t)strlen(out->u.text.p);
        break;
    case FIELDSYNC__V1__CELL__VALUE_ID_VALUE:
        if (c->id_value.len != 16)
            return fs_error_set(err, FS_EBADID, "id value is %zu bytes; ids are 16",
                                c->id_value.len);
        out->kind = FS_VAL_ID;
        memcpy(out->u.id.b, c->id_value.data, 16);
        break;
    default:
        out->kind = FS_VAL_NULL;
        break;
    }
    return FS_OK;
}

static fs_status value_view(const Fieldsync__V1__Value *m, fs_value *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    switch (m->kind_case) {
    case FIELDSYNC__V1__VALUE__KIND_INT_VALUE:
        *out = fs_value_int(m->int_value);
        break;
    case FIELDSYNC__V1__VALUE__KIND_REAL_VALUE:
        *out = fs_value_real(m->real_value);
        break;
    case FIELDSYNC__V1__VALUE__KIND_TEXT_VALUE:
        out->kind = FS_VAL_TEXT;
        out->u.text.p = m->text_value;
        out->u.text.n = (uint32_t)strlen(m->text_value);
        break;
    case FIELDSYNC__V1__VALUE__KIND_ID_VALUE:
        if (m->id_value.len != 16)
            return fs_error_set(err, FS_EBADID, "base id value is %zu bytes; ids are 16",
                                m->id_value.len);
        out->kind = FS_VAL_ID;
        memcpy(out->u.id.b, m->id_value.data, 16);
        break;
    default:
        out->kind = FS_VAL_NULL;
        break;
    }
    return FS_OK;
}

/* ------------------------------------------------------------------------ */
/* Names                                                                     */
/* ------------------------------------------------------------------------ */

const char *fs_exit_reason_name(fs_exit_reason r)
{
    switch (r) {
    case FS_EXIT_UNKNOWN: return "unknown";
    case FS_EXIT_REASSIGNED: return "reassigned";
    case FS_EXIT_DELETED: return "deleted";
    case FS_EXIT_REVOKED: return "revoked";
    }
    return "unknown";
}

/* ------------------------------------------------------------------------ */
/* Enroll                                                                    */
/* ------------------------------------------------------------------------ */

fs_proto_status fs_proto_enroll_request_encode(const fs_enroll_request *in,
        fs_proto_encoding enc, const fs_proto_limits *limits, fs_proto_buf *out,
        fs_error *err)
{
    Fieldsync__V1__EnrollRequest m = FIELDSYNC__V1__ENROLL_REQUEST__INIT;
    fs_proto_limits lim;

    if (!in || !out)
        return fs_proto__fail(err, FS_PROTO_EINVAL, "enroll_request_encode: NULL argument");
    memset(out, 0, sizeof *out);
    if (!memchr(in->code, '\0', sizeof in->code) ||
        !memchr(in->device_name, '\0', sizeof in->device_name))
        return fs_proto__fail(err, FS_PROTO_EINVAL,
                              "enroll request text is not NUL-terminated");
    if (!in->code[0])
        return fs_proto__fail(err, FS_PROTO_EVALUE, "EnrollRequest.code is empty");
    fs_proto__limits(limits, &lim);
    m.has_protocol_version = true;
    m.protocol_version = in->version ? in->version : FS_PROTO_VERSION;
    m.code = (char *)(uintptr_t)in->code;
    if (in->device_name[0])
        m.device_name = (char *)(uintptr_t)in->device_name;
    return pack_and_frame(&m.base, enc, &lim, out, err);
}

fs_proto_status fs_proto_enroll_request_decode(const uint8_t *body, size_t n,
        fs_proto_encoding enc, const fs_proto_limits *limits,
        fs_enroll_request *out, fs_proto_report *report, fs_error *err)
{
    decoding dc;
    const Fieldsync__V1__EnrollRequest *m;
    fs_proto_status st;

    st = decode_begin(&dc, &fieldsync__v1__enroll_request__descriptor, body, n, enc, limits,
                      report, out, sizeof *out, "enroll_request_decode", err);
    if (st != FS_PROTO_OK)
        return st;
    m = (const Fieldsync__V1__EnrollRequest *)dc.msg;

    if (!m->code || !m->code[0]) {
        st = fs_proto__fail(err, FS_PROTO_EVALUE, "EnrollRequest.code is missing");
        goto done;
    }
    if (strlen(m->code) > FS_PROTO_CODE_MAX) {
        st = fs_proto__fail(err, FS_PROTO_ESTRING_LIMIT,
                            "EnrollRequest.code is %zu bytes; limit FS_PROTO_CODE_MAX = %d",
                            strlen(m->code), FS_PROTO_CODE_MAX);
        goto done;
    }
    if (m->device_name && strlen(m->device_name) > FS_PROTO_NAME_MAX) {
        st = fs_proto__fail(err, FS_PROTO_ESTRING_LIMIT,
                            "EnrollRequest.device_name is %zu bytes; limit "
                            "FS_PROTO_NAME_MAX = %d",
                            strlen(m->device_name), FS_PROTO_NAME_MAX);
        goto done;
    }
    out->version = m->protocol_version;
    copy_text(out->code, sizeof out->code, m->code);
    copy_text(out->device_name, sizeof out->device_name, m->device_name);

done:
    decode_end(&dc);
    if (st != FS_PROTO_OK)
        memset(out, 0, sizeof *out);
    return st;
}

fs_proto_status fs_proto_enroll_response_encode(const fs_enroll_response *in,
        fs_proto_encoding enc, const fs_proto_limits *limits, fs_proto_buf *out,
        fs_error *err)
{
    Fieldsync__V1__EnrollResponse m = FIELDSYNC__V1__ENROLL_RESPONSE__INIT;
    fs_proto_limits lim;

    if (!in || !out)
        return fs_proto__fail(err, FS_PROTO_EINVAL, "enroll_response_encode: NULL argument");
    memset(out, 0, sizeof *out);
    if (!memchr(in->token, '\0', sizeof in->token))
        return fs_proto__fail(err, FS_PROTO_EINVAL, "token is not NUL-terminated");
    if (!in->token[0])
        return fs_proto__fail(err, FS_PROTO_EVALUE, "EnrollResponse.token is empty");
    if (fs_id_is_nil(&in->device_id))
        return fs_proto__fail(err, FS_PROTO_EVALUE, "EnrollResponse.device_id is the nil id");
    fs_proto__limits(limits, &lim);
    m.has_protocol_version = true;
    m.protocol_version = in->version ? in->version : FS_PROTO_VERSION;
    m.has_device_id = true;
    m.device_id = id_bytes(&in->device_id);
    m.token = (char *)(uintptr_t)in->token;
    if (!fs_id_is_nil(&in->rep_id)) {
        m.has_rep_id = true;
        m.rep_id = id_bytes(&in->rep_id);
    }
    m.has_server_time = in->server_time != 0;
    m.server_time = in->server_time;
    return pack_and_frame(&m.base, enc, &lim, out, err);
}

fs_proto_status fs_proto_enroll_response_decode(const uint8_t *body, size_t n,
        fs_proto_encoding enc, const fs_proto_limits *limits,
        fs_enroll_response *out, fs_proto_report *report, fs_error *err)
{
    decoding dc;
    const Fieldsync__V1__EnrollResponse *m;
    fs_proto_status st;

    st = decode_begin(&dc, &fieldsync__v1__enroll_response__descriptor, body, n, enc, limits,
                      report, out, sizeof *out, "enroll_response_decode", err);
    if (st != FS_PROTO_OK)
        return st;
    m = (const Fieldsync__V1__EnrollResponse *)dc.msg;

    st = get_id(m->has_device_id, &m->device_id, true, "EnrollResponse.device_id",
                &out->device_id, err);
    if (st != FS_PROTO_OK)
        goto done;
    st = get_id(m->has_rep_id, &m->rep_id, false, "EnrollResponse.rep_id",
                &out->rep_id, err);
    if (st != FS_PROTO_OK)
        goto done;
    if (!m->token || !m->token[0]) {
        st = fs_proto__fail(err, FS_PROTO_EVALUE, "EnrollResponse.token is missing");
        goto done;
    }
    if (strlen(m->token) > FS_PROTO_TOKEN_MAX) {
        st = fs_proto__fail(err, FS_PROTO_ESTRING_LIMIT,
                            "EnrollResponse.token is %zu bytes; limit "
                            "FS_PROTO_TOKEN_MAX = %d",
                            strlen(m->token), FS_PROTO_TOKEN_MAX);
        goto done;
    }
    out->version = m->protocol_version;
    copy_text(out->token, sizeof out->token, m->token);
    out->server_time = m->server_time;

done:
    decode_end(&dc);
    if (st != FS_PROTO_OK)
        memset(out, 0, sizeof *out);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Sync request                                                              */
/* ------------------------------------------------------------------------ */

/* The smallest stamp a change carries: its HLC base on the wire. */
static fs_hlc change_min_hlc(const fs_change *c)
{
    fs_hlc m = UINT64_MAX;
    for (size_t i = 0; i < c->nfields; i++)
        if (c->fields[i].hlc < m)
            m = c->fields[i].hlc;
    if (c->has_tomb && c->tomb_hlc < m)
        m = c->tomb_hlc;
    return m == UINT64_MAX ? 0 : m;
}

fs_proto_status fs_proto_sync_request_encode(const fs_sync_request *in,
        fs_proto_encoding enc, const fs_proto_limits *limits, fs_proto_buf *out,
        fs_error *err)
{
    Fieldsync__V1__SyncRequest m = FIELDSYNC__V1__SYNC_REQUEST__INIT;
    fs_proto_limits lim;
    arena ar = {NULL};
    fs_proto_status st = FS_PROTO_OK;
    fs_hlc prev;
    fs_error cerr;
    text_sink ts = {NULL, 0, 0};
    uint32_t prev_tag;

    if (!in || !out || (in->nchanges && !in->changes))
        return fs_proto__fail(err, FS_PROTO_EINVAL, "sync_request_encode: NULL argument");
    memset(out, 0, sizeof *out);
    fs_proto__limits(limits, &lim);
    if (in->nchanges > lim.max_changes)
        return fs_proto__fail(err, FS_PROTO_ECHANGES_LIMIT,
                              "SyncRequest.changes has %zu entries; limit "
                              "max_changes = %zu",
                              in->nchanges, lim.max_changes);
    if (fs_id_is_nil(&in->device_id))
        return fs_proto__fail(err, FS_PROTO_EVALUE, "SyncRequest.device_id is the nil id");
    if (in->nchanges && fs_id_is_nil(&in->batch_id))
        return fs_proto__fail(err, FS_PROTO_EVALUE,
                              "SyncRequest.batch_id is the nil id but the batch "
                              "has %zu changes", in->nchanges);

    m.has_protocol_version = true;
    m.protocol_version = in->version ? in->version : FS_PROTO_VERSION;
    m.has_device_id = true;
    m.device_id = id_bytes(&in->device_id);
    if (!fs_id_is_nil(&in->batch_id)) {
        m.has_batch_id = true;
        m.batch_id = id_bytes(&in->batch_id);
    }
    m.has_cursor = in->cursor != 0;
    m.cursor = in->cursor;
    m.has_page_size = in->page_size != 0;
    m.page_size = in->page_size;
    m.has_client_time = in->client_time != 0;
    m.client_time = in->client_time;
    m.has_count_pending = in->count_pending;
    m.count_pending = in->count_pending;

    for (size_t i = 0; i < in->nchanges; i++) {
        const fs_change *c = &in->changes[i];
        if (fs_change_check(c, &cerr) != FS_OK) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE, "changes[%zu]: %s", i, cerr.text);
            goto done;
        }
        if (fs_id_cmp(&c->device, &in->device_id) != 0) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                "changes[%zu]: written by another device than "
                                "SyncRequest.device_id", i);
            goto done;
        }
    }
    {
        size_t total = 0;
        for (size_t i = 0; i < in->nchanges; i++)
            total += in->changes[i].nfields;
        ts.cap = total;
        ts.items = arena_calloc(&ar, total, sizeof *ts.items);
        if (total && !ts.items)
            goto nomem;
    }
    /* The first change's base is the reference; each later change is sent
     * relative to the one before (batches are roughly in time order). */
    prev = fs_hlc_make(in->nchanges ? fs_hlc_ms(change_min_hlc(&in->changes[0])) : 0, 0);
    m.base_ms = fs_hlc_ms(prev);
    m.has_base_ms = m.base_ms != 0;

    m.n_changes = in->nchanges;
    m.changes = arena_calloc(&ar, in->nchanges, sizeof *m.changes);
    if (in->nchanges && !m.changes)
        goto nomem;
    for (size_t i = 0; i < in->nchanges; i++) {
        const fs_change *c = &in->changes[i];
        Fieldsync__V1__Change *pc = arena_calloc(&ar, 1, sizeof *pc);
        fs_hlc cb = change_min_hlc(c);
        if (!pc)
            goto nomem;
        fieldsync__v1__change__init(pc);
        m.changes[i] = pc;
        pc->has_entity = true;
        pc->entity = c->entity->tag;
        pc->has_row = true;
        pc->row = id_bytes(&c->row);
        put_stamp(cb, prev, &pc->has_hlc_ms, &pc->hlc_ms, &pc->has_hlc_count,
                  &pc->hlc_count);
        prev = cb;
        pc->n_fields = c->nfields;
        pc->fields = arena_calloc(&ar, c->nfields, sizeof *pc->fields);
        if (c->nfields && !pc->fields)
            goto nomem;
        prev_tag = 0;
        for (size_t k = 0; k < c->nfields; k++) {
            const fs_field_change *fc = &c->fields[k];
            Fieldsync__V1__Cell *cell = arena_calloc(&ar, 1, sizeof *cell);
            if (!cell)
                goto nomem;
            fieldsync__v1__cell__init(cell);
            pc->fields[k] = cell;
            cell->tag = c->entity->fields[fc->slot].tag;
            cell->has_tag = cell->tag != prev_tag + 1;
            prev_tag = cell->tag;
            if (!value_packable(&fc->v) || (fc->has_base && !value_packable(&fc->base))) {
                st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                    "changes[%zu].%s: text contains a NUL byte", i,
                                    c->entity->fields[fc->slot].name);
                goto done;
            }
            cell_put_value(cell, &c->entity->fields[fc->slot], &fc->v, fs_hlc_ms(fc->hlc),
                           &ts);
            put_stamp(fc->hlc, cb, &cell->has_hlc_ms, &cell->hlc_ms,
                      &cell->has_hlc_count, &cell->hlc_count);
            if (fc->has_base) {
                Fieldsync__V1__Value *bv = arena_calloc(&ar, 1, sizeof *bv);
                if (!bv)
                    goto nomem;
                fieldsync__v1__value__init(bv);
                value_put(bv, &fc->base);
                cell->base_value = bv;
                put_stamp(fc->base_hlc, fc->hlc, &cell->has_base_ms,
                          &cell->base_ms, &cell->has_base_count, &cell->base_count);
            }
        }
        if (c->has_tomb) {
            pc->has_deleted = true;
            pc->deleted = c->deleted;
            put_stamp(c->tomb_hlc, cb, &pc->has_tomb_ms, &pc->tomb_ms,
                      &pc->has_tomb_count, &pc->tomb_count);
            pc->has_tomb_ms = true; /* presence = a tombstone write */
        }
    }
    m.n_texts = ts.n;
    m.texts = ts.items;
    st = pack_and_frame(&m.base, enc, &lim, out, err);
    goto done;

nomem:
    st = fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory building SyncRequest");
done:
    arena_free(&ar);
    return st;
}

/* Converts one wire change into *c. Returns a conflict-library status with
 * cerr filled; on failure *c is freed and zeroed. */
static fs_status decode_change(const Fieldsync__V1__Change *pc, fs_hlc cb,
                               const fs_id *device, text_src *ts, fs_proto_report *rep,
                               fs_change *c, fs_error *cerr)
{
    const fs_entity *e;
    fs_id row;
    fs_status st;
    uint32_t prev_tag = 0;

    memset(c, 0, sizeof *c);
    e = pc->has_entity ? fs_schema_entity_by_tag(pc->entity) : NULL;
    if (!e) {
        rep->unknown_entities++;
        return fs_error_set(cerr, FS_EUNKNOWN_ENTITY,
                            "entity tag %u is unknown to this server",
                            (unsigned)pc->entity);
    }
    if (!pc->has_row || pc->row.len != 16)
        return fs_error_set(cerr, FS_EBADID, "%s change: row id is %zu bytes; ids are 16",
                            e->name, pc->has_row ? pc->row.len : (size_t)0);
    memcpy(row.b, pc->row.data, 16);
    st = fs_change_init(c, e, &row, device, cerr);
    if (st != FS_OK)
        goto done;

    for (size_t k = 0; k < pc->n_fields; k++) {
        const Fieldsync__V1__Cell *cell = pc->fields[k];
        /* An absent tag is the previous cell's tag + 1 (schema order). */
        uint32_t tag = cell->has_tag ? cell->tag : prev_tag + 1;
        int slot = fs_entity_field_index_by_tag(e, tag);
        fs_hlc hlc, base_hlc;
        fs_value v;
        if (slot < 0) {
            rep->unknown_tags++;
            st = fs_error_set(cerr, FS_EUNKNOWN_FIELD,
                              "%s has no field with tag %u on this server", e->name,
                              (unsigned)tag);
            goto done;
        }
        prev_tag = tag;
        if (!get_stamp(cb, cell->hlc_ms, cell->has_hlc_count, cell->hlc_count, &hlc)) {
            st = fs_error_set(cerr, FS_ERANGE, "%s.%s: stamp out of range", e->name,
                              e->fields[slot].name);
            goto done;
        }
        st = cell_view(cell, fs_hlc_ms(hlc), ts, &v, cerr);
        if (st != FS_OK)
            goto done;
        st = fs_change_set(c, slot, &v, hlc, cerr);
        if (st != FS_OK)
            goto done;
        if (cell->base_value) {
            fs_value bv;
            st = value_view(cell->base_value, &bv, cerr);
            if (st != FS_OK)
                goto done;
            if (!get_stamp(hlc, cell->base_ms, cell->has_base_count, cell->base_count,
                           &base_hlc)) {
                st = fs_error_set(cerr, FS_ERANGE, "%s.%s: base stamp out of range",
                                  e->name, e->fields[slot].name);
                goto done;
            }
            st = fs_change_set_base(c, slot, &bv, base_hlc, cerr);
            if (st != FS_OK)
                goto done;
        }
    }
    if (pc->has_tomb_ms) {
        fs_hlc th;
        if (!get_stamp(cb, pc->tomb_ms, pc->has_tomb_count, pc->tomb_count, &th)) {
            st = fs_error_set(cerr, FS_ERANGE, "%s change: tombstone stamp out of range",
                              e->name);
            goto done;
        }
        fs_change_tombstone(c, pc->deleted, th);
    }
    st = fs_change_check(c, cerr);

done:
    if (st != FS_OK) {
        fs_change_free(c);
        memset(c, 0, sizeof *c);
    }
    return st;
}

fs_proto_status fs_proto_sync_request_decode(const uint8_t *body, size_t n,
        fs_proto_encoding enc, const fs_proto_limits *limits,
        fs_sync_request *out, fs_proto_report *report, fs_error *err)
{
    decoding dc;
    const Fieldsync__V1__SyncRequest *m;
    fs_sync_request req;
    fs_proto_status st;
    fs_hlc prev;
    size_t text_pos = 0;
    text_src ts;

    memset(&req, 0, sizeof req);
    st = decode_begin(&dc, &fieldsync__v1__sync_request__descriptor, body, n, enc, limits,
                      report, out, sizeof *out, "sync_request_decode", err);
    if (st != FS_PROTO_OK)
        return st;
    m = (const Fieldsync__V1__SyncRequest *)dc.msg;

    req.version = m->protocol_version;
    st = get_id(m->has_device_id, &m->device_id, true, "SyncRequest.device_id",
                &req.device_id, err);
    if (st != FS_PROTO_OK)
        goto done;
    st = get_id(m->has_batch_id, &m->batch_id, m->n_changes > 0, "SyncRequest.batch_id",
                &req.batch_id, err);
    if (st != FS_PROTO_OK)
        goto done;
    req.cursor = m->cursor;
    req.page_size = m->page_size;
    req.client_time = m->client_time;
    req.count_pending = m->count_pending;

    if (m->n_changes) {
        req.changes = calloc(m->n_changes, sizeof *req.changes);
        if (!req.changes)
            goto nomem;
        req.nchanges = m->n_changes;
    }
    /* The base stamps form a chain from base_ms; a broken link breaks every
     * later change, so it fails the message rather than one change. */
    if (m->n_changes && m->base_ms > FS_HLC_MS_MAX) {
        st = fs_proto__fail(err, FS_PROTO_EVALUE,
                            "SyncRequest.changes[0]: base stamp out of range");
        goto done;
    }
    prev = fs_hlc_make(m->base_ms & FS_HLC_MS_MAX, 0);
    for (size_t i = 0; i < m->n_changes; i++) {
        const Fieldsync__V1__Change *pc = m->changes[i];
        fs_error cerr;
        fs_status cs;
        fs_hlc cb;
        if (!get_stamp(prev, pc->hlc_ms, pc->has_hlc_count, pc->hlc_count, &cb)) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                "SyncRequest.changes[%zu]: base stamp out of range", i);
            goto done;
        }
        prev = cb;
        /* This change's slice of texts; consumed whether or not it decodes,
         * so later changes stay aligned. */
        ts.n = count_text_next(pc->fields, pc->n_fields);
        ts.pos = 0;
        if (ts.n > m->n_texts - text_pos) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                "SyncRequest.texts has %zu entries; the changes use more",
                                m->n_texts);
            goto done;
        }
        /* NULL + 0 is undefined when the message has no texts. */
        ts.items = ts.n ? m->texts + text_pos : NULL;
        text_pos += ts.n;
        memset(&cerr, 0, sizeof cerr);
        cs = decode_change(pc, cb, &req.device_id, &ts, dc.rep, &req.changes[i], &cerr);
        if (cs == FS_OK)
            continue;
        if (cs == FS_ENOMEM)
            goto nomem;
        /* One bad change must not sink the batch: record it, go on. */
        if (!req.errors) {
            req.errors = calloc(m->n_changes, sizeof *req.errors);
            if (!req.errors)
                goto nomem;
        }
        req.errors[req.nerrors].index = i;
        req.errors[req.nerrors].code = (int)cs;
        /* Long detail is cut; the index prefix always survives. */
        if (snprintf(req.errors[req.nerrors].text, sizeof req.errors[0].text,
                     "change %zu: %s", i, cerr.text) < 0)
            req.errors[req.nerrors].text[0] = '\0';
        req.nerrors++;
    }
    if (text_pos != m->n_texts) {
        st = fs_proto__fail(err, FS_PROTO_EVALUE,
                            "SyncRequest.texts has %zu entries; the changes use %zu",
                            m->n_texts, text_pos);
        goto done;
    }
    *out = req;
    memset(&req, 0, sizeof req);
    goto done;

nomem:
    st = fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory decoding SyncRequest");
done:
    fs_proto_sync_request_free(&req);
    decode_end(&dc);
    return st;
}

void fs_proto_sync_request_free(fs_sync_request *req)
{
    if (!req)
        return;
    for (size_t i = 0; req->changes && i < req->nchanges; i++)
        fs_change_free(&req->changes[i]);
    free(req->changes);
    free(req->errors);
    memset(req, 0, sizeof *req);
}

/* ------------------------------------------------------------------------ */
/* Sync response                                                             */
/* ------------------------------------------------------------------------ */

/* Device table for a response: open addressing over the ids seen so far, so
 * a 50,000-row page with a few writers costs one probe per cell. */
typedef struct dev_table {
    fs_id *ids;
    size_t n, cap;
    uint32_t *slots; /* index + 1; 0 = empty */
    size_t nslots;   /* power of two */
} dev_table;

static size_t dev_hash(const fs_id *id, size_t mask)
{
    uint64_t h;
    /* The tail of a UUIDv7 is random; mix anyway for other id sources. */
    memcpy(&h, id->b + 8, sizeof h);
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return (size_t)h & mask;
}

static bool dev_rehash(dev_table *t, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = dev_hash(&t->ids[i], nslots - 1);
        while (slots[h])
            h = (h + 1) & (nslots - 1);
        slots[h] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return true;
}

/* Index of id in the table, adding it if new; -1 on allocation failure. */
static long dev_index(dev_table *t, const fs_id *id)
{
    size_t h;
    if (t->nslots == 0 && !dev_rehash(t, 64))
        return -1;
    h = dev_hash(id, t->nslots - 1);
    while (t->slots[h]) {
        uint32_t i = t->slots[h] - 1;
        if (memcmp(t->ids[i].b, id->b, 16) == 0)
            return (long)i;
        h = (h + 1) & (t->nslots - 1);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        fs_id *ids = realloc(t->ids, cap * sizeof *ids);
        if (!ids)
            return -1;
        t->ids = ids;
        t->cap = cap;
    }
    t->ids[t->n] = *id;
    t->slots[h] = (uint32_t)(t->n + 1);
    t->n++;
    if (t->n * 2 > t->nslots && !dev_rehash(t, t->nslots * 2))
        return -1;
    return (long)(t->n - 1);
}

static void dev_free(dev_table *t)
{
    free(t->ids);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* A cell is sent when it was written (stamp 0 = never). The decoder refuses
 * a sent cell or tombstone with stamp 0, so encode_row refuses to produce
 * one (a value or a deletion without a stamp). */
static bool cell_sent(const fs_cell *c)
{
    return c->hlc != 0;
}

static bool tomb_sent(const fs_row *r)
{
    return r->del_hlc != 0;
}

/* The smallest stamp of a row (its HLC base on the wire), 0 if none. */
static fs_hlc row_min_hlc(const fs_row *r)
{
    fs_hlc m = UINT64_MAX;
    for (size_t i = 0; i < r->entity->nfields; i++)
        if (cell_sent(&r->cells[i]) && r->cells[i].hlc < m)
            m = r->cells[i].hlc;
    if (tomb_sent(r) && r->del_hlc < m)
        m = r->del_hlc;
    return m == UINT64_MAX ? 0 : m;
}

/* Encodes rows[idx]. *prev and *prev_seq carry the delta chain from the
 * previous row and are advanced. */
static fs_proto_status encode_row(arena *ar, dev_table *dt, text_sink *ts,
                                  const fs_pulled_row *pr, size_t idx, fs_hlc *prev,
                                  uint64_t *prev_seq, Fieldsync__V1__Row **outp,
                                  fs_error *err)
{
    const fs_row *r = &pr->row;
    const fs_entity *e = r->entity;
    Fieldsync__V1__Row *pm;
    fs_hlc rb;
    size_t nsent = 0, k = 0;
    long rowdev = -1;
    fs_error ferr;
    uint32_t prev_tag = 0;

    if (!e || !r->cells || fs_schema_entity_by_tag(e->tag) != e)
        return fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu] has no known entity", idx);
    if (fs_id_is_nil(&r->id))
        return fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu] has the nil id", idx);
    if (r->deleted && r->del_hlc == 0)
        return fs_proto__fail(err, FS_PROTO_EVALUE,
                              "rows[%zu] (%s) is deleted without a tombstone stamp", idx,
                              e->name);
    for (size_t i = 0; i < e->nfields; i++)
        if (r->cells[i].hlc == 0 && r->cells[i].v.kind != FS_VAL_NULL)
            return fs_proto__fail(err, FS_PROTO_EVALUE,
                                  "rows[%zu] (%s.%s) has a value without a stamp", idx,
                                  e->name, e->fields[i].name);
    pm = arena_calloc(ar, 1, sizeof *pm);
    if (!pm)
        goto nomem;
    fieldsync__v1__row__init(pm);
    rb = row_min_hlc(r);
    pm->has_entity = true;
    pm->entity = e->tag;
    pm->has_id = true;
    pm->id = id_bytes(&r->id);
    pm->seq_delta = u64_to_s64(pr->seq - *prev_seq);
    pm->has_seq_delta = pm->seq_delta != 0;
    *prev_seq = pr->seq;
    put_stamp(rb, *prev, &pm->has_hlc_ms, &pm->hlc_ms, &pm->has_hlc_count, &pm->hlc_count);
    *prev = rb;

    for (size_t i = 0; i < e->nfields; i++)
        if (cell_sent(&r->cells[i]))
            nsent++;
    /* The row's default writer: the first sent cell's, else the tombstone's. */
    for (size_t i = 0; i < e->nfields && rowdev < 0; i++)
        if (cell_sent(&r->cells[i]))
            rowdev = dev_index(dt, &r->cells[i].device);
    if (rowdev < 0 && nsent == 0 && tomb_sent(r))
        rowdev = dev_index(dt, &r->del_device);
    if (rowdev < 0 && (nsent || tomb_sent(r)))
        goto nomem;
    pm->has_device = rowdev > 0;
    pm->device = rowdev > 0 ? (uint32_t)rowdev : 0;

    pm->n_cells = nsent;
    pm->cells = arena_calloc(ar, nsent, sizeof *pm->cells);
    if (nsent && !pm->cells)
        goto nomem;
    for (size_t i = 0; i < e->nfields; i++) {
        const fs_cell *c = &r->cells[i];
        Fieldsync__V1__Cell *cm;
        long d;
        if (!cell_sent(c))
            continue;
        if (fs_field_check(&e->fields[i], &c->v, &ferr) != FS_OK)
            return fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu] (%s): %s", idx,
                                  e->name, ferr.text);
        if (!value_packable(&c->v))
            return fs_proto__fail(err, FS_PROTO_EVALUE,
                                  "rows[%zu] (%s.%s): text contains a NUL byte", idx,
                                  e->name, e->fields[i].name);
        cm = arena_calloc(ar, 1, sizeof *cm);
        if (!cm)
            goto nomem;
        fieldsync__v1__cell__init(cm);
        pm->cells[k++] = cm;
        cm->tag = e->fields[i].tag;
        cm->has_tag = cm->tag != prev_tag + 1;
        prev_tag = cm->tag;
        cell_put_value(cm, &e->fields[i], &c->v, fs_hlc_ms(c->hlc), ts);
        put_stamp(c->hlc, rb, &cm->has_hlc_ms, &cm->hlc_ms, &cm->has_hlc_count,
                  &cm->hlc_count);
        d = dev_index(dt, &c->device);
        if (d < 0)
            goto nomem;
        if (d != rowdev) {
            cm->has_device = true;
            cm->device = (uint32_t)d;
        }
    }
    if (tomb_sent(r)) {
        long d = dev_index(dt, &r->del_device);
        if (d < 0)
            goto nomem;
        pm->has_deleted = r->deleted;
        pm->deleted = r->deleted;
        put_stamp(r->del_hlc, rb, &pm->has_del_ms, &pm->del_ms, &pm->has_del_count,
                  &pm->del_count);
        pm->has_del_ms = true; /* presence = the tombstone was written */
        if (d != rowdev) {
            pm->has_del_device = true;
            pm->del_device = (uint32_t)d;
        }
    }
    *outp = pm;
    return FS_PROTO_OK;

nomem:
    return fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory encoding rows[%zu]", idx);
}

/* The strings are borrowed from *k: they live until the message is packed. */
static fs_proto_status encode_conflict(arena *ar, const fs_open_conflict *k, size_t i,
                                       Fieldsync__V1__OpenConflict **out, fs_error *err)
{
    Fieldsync__V1__OpenConflict *km = arena_calloc(ar, 1, sizeof *km);

    if (!km)
        return fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory building SyncResponse");
    if (!k->entity || !memchr(k->field, '\0', sizeof k->field) ||
        !memchr(k->rule, '\0', sizeof k->rule) || !memchr(k->detail, '\0', sizeof k->detail))
        return fs_proto__fail(err, FS_PROTO_EVALUE, "conflicts[%zu]: needs an entity and "
                              "NUL-terminated strings", i);
    fieldsync__v1__open_conflict__init(km);
    km->has_id = true;
    km->id = k->id;
    km->has_entity = true;
    km->entity = k->entity->tag;
    km->has_row = true;
    km->row = id_bytes(&k->row);
    km->field = (char *)(uintptr_t)k->field;
    km->rule = (char *)(uintptr_t)k->rule;
    if (k->detail[0])
        km->detail = (char *)(uintptr_t)k->detail;
    km->has_mine_kept = k->mine_kept;
    km->mine_kept = k->mine_kept;
    km->has_created_ms = k->created_ms != 0;
    km->created_ms = k->created_ms;
    *out = km;
    return FS_PROTO_OK;
}

fs_proto_status fs_proto_sync_response_encode(const fs_sync_response *in,
        fs_proto_encoding enc, const fs_proto_limits *limits, fs_proto_buf *out,
        fs_error *err)
{
    Fieldsync__V1__SyncResponse m = FIELDSYNC__V1__SYNC_RESPONSE__INIT;
    fs_proto_limits lim;
    arena ar = {NULL};
    dev_table dt;
    fs_proto_status st = FS_PROTO_OK;
    fs_hlc prev = 0;
    uint64_t prev_seq = 0;
    text_sink ts = {NULL, 0, 0};

    memset(&dt, 0, sizeof dt);
    if (!in || !out || (in->nresults && !in->results) || (in->nrows && !in->rows) ||
        (in->nexits && !in->exits))
        return fs_proto__fail(err, FS_PROTO_EINVAL, "sync_response_encode: NULL argument");
    memset(out, 0, sizeof *out);
    fs_proto__limits(limits, &lim);
    if (in->nresults > lim.max_changes)
        return fs_proto__fail(err, FS_PROTO_ECHANGES_LIMIT,
                              "SyncResponse.results has %zu entries; limit "
                              "max_changes = %zu", in->nresults, lim.max_changes);
    if (in->nrows > lim.max_rows)
        return fs_proto__fail(err, FS_PROTO_EROWS_LIMIT,
                              "SyncResponse.rows has %zu entries; limit max_rows = %zu",
                              in->nrows, lim.max_rows);
    if (in->nexits > lim.max_rows)
        return fs_proto__fail(err, FS_PROTO_EROWS_LIMIT,
                              "SyncResponse.exits has %zu entries; limit max_rows = %zu",
                              in->nexits, lim.max_rows);
    if ((in->nconflicts && !in->conflicts) || (in->nconflicts && !in->conflicts_listed))
        return fs_proto__fail(err, FS_PROTO_EINVAL, "sync_response_encode: conflicts "
                              "without conflicts_listed");
    if (in->nconflicts > lim.max_rows)
        return fs_proto__fail(err, FS_PROTO_EROWS_LIMIT,
                              "SyncResponse.conflicts has %zu entries; limit max_rows = %zu",
                              in->nconflicts, lim.max_rows);

    m.has_protocol_version = true;
    m.protocol_version = in->version ? in->version : FS_PROTO_VERSION;
    m.has_server_time = in->server_time != 0;
    m.server_time = in->server_time;
    m.has_next_cursor = in->next_cursor != 0;
    m.next_cursor = in->next_cursor;
    m.has_has_more = in->has_more;
    m.has_more = in->has_more;
    m.has_wipe = in->wipe;
    m.wipe = in->wipe;
    m.has_pending = in->has_pending;
    m.pending = in->pending;
    m.has_open_conflicts = in->conflicts_listed;
    m.open_conflicts = in->open_conflicts;

    m.n_results = in->nresults;
    m.results = arena_calloc(&ar, in->nresults, sizeof *m.results);
    if (in->nresults && !m.results)
        goto nomem;
    for (size_t i = 0; i < in->nresults; i++) {
        const fs_sync_result *r = &in->results[i];
        Fieldsync__V1__ChangeResult *rm = arena_calloc(&ar, 1, sizeof *rm);
        if (!rm)
            goto nomem;
        if ((unsigned)r->outcome > (unsigned)FS_REJECTED ||
            (unsigned)r->reason > (unsigned)MAX_REASON) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                "results[%zu]: outcome %d / reason %d out of range", i,
                                (int)r->outcome, (int)r->reason);
            goto done;
        }
        if (!memchr(r->detail, '\0', sizeof r->detail)) {
            st = fs_proto__fail(err, FS_PROTO_EINVAL,
                                "results[%zu].detail is not NUL-terminated", i);
            goto done;
        }
        fieldsync__v1__change_result__init(rm);
        m.results[i] = rm;
        rm->has_index = r->index != 0;
        rm->index = r->index;
        rm->has_outcome = r->outcome != FS_APPLIED;
        rm->outcome = (Fieldsync__V1__Outcome)r->outcome;
        rm->has_reason = r->reason != FS_REASON_NONE;
        rm->reason = (Fieldsync__V1__Reason)r->reason;
        if (r->detail[0])
            rm->detail = (char *)(uintptr_t)r->detail;
    }

    /* The first row's base is the reference; later rows are sent relative
     * to the row before (pages come in seq order, roughly time order). */
    if (in->nrows && in->rows[0].row.entity && in->rows[0].row.cells)
        prev = fs_hlc_make(fs_hlc_ms(row_min_hlc(&in->rows[0].row)), 0);
    m.base_ms = fs_hlc_ms(prev);
    m.has_base_ms = m.base_ms != 0;
    {
        size_t total = 0;
        for (size_t i = 0; i < in->nrows; i++)
            if (in->rows[i].row.entity)
                total += in->rows[i].row.entity->nfields;
        ts.cap = total;
        ts.items = arena_calloc(&ar, total, sizeof *ts.items);
        if (total && !ts.items)
            goto nomem;
    }
    m.n_rows = in->nrows;
    m.rows = arena_calloc(&ar, in->nrows, sizeof *m.rows);
    if (in->nrows && !m.rows)
        goto nomem;
    for (size_t i = 0; i < in->nrows; i++) {
        st = encode_row(&ar, &dt, &ts, &in->rows[i], i, &prev, &prev_seq, &m.rows[i], err);
        if (st != FS_PROTO_OK)
            goto done;
    }
    m.n_texts = ts.n;
    m.texts = ts.items;
    m.n_devices = dt.n;
    m.devices = arena_calloc(&ar, dt.n, sizeof *m.devices);
    if (dt.n && !m.devices)
        goto nomem;
    for (size_t i = 0; i < dt.n; i++)
        m.devices[i] = id_bytes(&dt.ids[i]);

    m.n_exits = in->nexits;
    m.exits = arena_calloc(&ar, in->nexits, sizeof *m.exits);
    if (in->nexits && !m.exits)
        goto nomem;
    for (size_t i = 0; i < in->nexits; i++) {
        const fs_scope_exit *x = &in->exits[i];
        Fieldsync__V1__ScopeExit *xm = arena_calloc(&ar, 1, sizeof *xm);
        if (!xm)
            goto nomem;
        if (!x->entity || fs_id_is_nil(&x->row) || (unsigned)x->reason > MAX_EXIT) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                "exits[%zu]: needs an entity, a row id and a reason", i);
            goto done;
        }
        fieldsync__v1__scope_exit__init(xm);
        m.exits[i] = xm;
        xm->has_entity = true;
        xm->entity = x->entity->tag;
        xm->has_row = true;
        xm->row = id_bytes(&x->row);
        xm->has_reason = true;
        xm->reason = (Fieldsync__V1__ExitReason)x->reason;
    }

    m.n_conflicts = in->nconflicts;
    m.conflicts = arena_calloc(&ar, in->nconflicts, sizeof *m.conflicts);
    if (in->nconflicts && !m.conflicts)
        goto nomem;
    for (size_t i = 0; i < in->nconflicts; i++) {
        st = encode_conflict(&ar, &in->conflicts[i], i, &m.conflicts[i], err);
        if (st != FS_PROTO_OK)
            goto done;
    }

    st = pack_and_frame(&m.base, enc, &lim, out, err);
    goto done;

nomem:
    st = fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory building SyncResponse");
done:
    dev_free(&dt);
    arena_free(&ar);
    return st;
}

/* Resolves a device-table index. */
static fs_proto_status dev_lookup(const fs_id *devs, size_t ndevs, uint32_t i,
                                  size_t row, fs_id *out, fs_error *err)
{
    if (i >= ndevs)
        return fs_proto__fail(err, FS_PROTO_EVALUE,
                              "rows[%zu] refers to device %u; the table has %zu",
                              row, (unsigned)i, ndevs);
    *out = devs[i];
    return FS_PROTO_OK;
}

/* Converts one wire row. *skipped is set (and *pr untouched) for an entity
 * this version does not know. *prev and *prev_seq carry the delta chain
 * and advance even for a skipped row, as the encoder's did. */
static fs_proto_status decode_row(const Fieldsync__V1__Row *rm, size_t idx,
                                  fs_hlc *prev, uint64_t *prev_seq, text_src *ts,
                                  const fs_id *devs, size_t ndevs,
                                  fs_proto_report *rep, fs_pulled_row *pr,
                                  bool *skipped, fs_error *err)
{
    const fs_entity *e = fs_schema_entity_by_tag(rm->entity);
    fs_hlc rb;
    fs_id id;
    fs_error cerr;
    fs_proto_status st;
    uint32_t rowdev = rm->has_device ? rm->device : 0;
    uint32_t prev_tag = 0;

    *skipped = false;
    if (!get_stamp(*prev, rm->hlc_ms, rm->has_hlc_count, rm->hlc_count, &rb))
        return fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu]: base stamp out of range",
                              idx);
    *prev = rb;
    *prev_seq += s64_to_u64(rm->seq_delta);
    if (!rm->has_entity || !e) {
        rep->unknown_entities++;
        *skipped = true;
        return FS_PROTO_OK;
    }
    st = get_id(rm->has_id, &rm->id, true, "Row.id", &id, err);
    if (st != FS_PROTO_OK)
        return st;
    if (fs_row_init(&pr->row, e, &id, &cerr) != FS_OK)
        return fs_proto__fail(err, FS_PROTO_ENOMEM, "%s", cerr.text);
    pr->seq = *prev_seq;

    for (size_t k = 0; k < rm->n_cells; k++) {
        const Fieldsync__V1__Cell *c = rm->cells[k];
        uint32_t tag = c->has_tag ? c->tag : prev_tag + 1;
        int slot = fs_entity_field_index_by_tag(e, tag);
        fs_cell *cell;
        fs_value v;
        prev_tag = tag;
        if (slot < 0) {
            rep->unknown_tags++;
            if (c->value_case == FIELDSYNC__V1__CELL__VALUE_TEXT_NEXT)
                ts->pos++; /* its text is skipped with it */
            continue;
        }
        cell = &pr->row.cells[slot];
        if (cell->hlc != 0 || cell->v.kind != FS_VAL_NULL) {
            return fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu] (%s) carries field %s twice",
                                  idx, e->name, e->fields[slot].name);
        }
        if (!get_stamp(rb, c->hlc_ms, c->has_hlc_count, c->hlc_count, &cell->hlc))
            return fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu] (%s.%s): stamp out of range",
                                  idx, e->name, e->fields[slot].name);
        /* Stamp 0 means "never written": such cells are never sent, and
         * accepting one would also defeat the duplicate check above
         * (found by fuzz_decode). */
        if (cell->hlc == 0)
            return fs_proto__fail(err, FS_PROTO_EVALUE,
                                  "rows[%zu] (%s.%s): a sent cell needs a non-zero stamp",
                                  idx, e->name, e->fields[slot].name);
        if (cell_view(c, fs_hlc_ms(cell->hlc), ts, &v, &cerr) != FS_OK ||
            fs_field_check(&e->fields[slot], &v, &cerr) != FS_OK) {
            cell->hlc = 0;
            return fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu] (%s): %s", idx, e->name,
                                  cerr.text);
        }
        if (fs_value_copy(&cell->v, &v, &cerr) != FS_OK)
            return fs_proto__fail(err, FS_PROTO_ENOMEM, "%s", cerr.text);
        st = dev_lookup(devs, ndevs, c->has_device ? c->device : rowdev, idx,
                        &cell->device, err);
        if (st != FS_PROTO_OK)
            return st;
    }
    if (rm->has_del_ms) {
        pr->row.deleted = rm->deleted;
        if (!get_stamp(rb, rm->del_ms, rm->has_del_count, rm->del_count, &pr->row.del_hlc) ||
            pr->row.del_hlc == 0)
            return fs_proto__fail(err, FS_PROTO_EVALUE,
                                  "rows[%zu] (%s): tombstone stamp out of range", idx, e->name);
        st = dev_lookup(devs, ndevs, rm->has_del_device ? rm->del_device : rowdev, idx,
                        &pr->row.del_device, err);
        if (st != FS_PROTO_OK)
            return st;
    } else if (rm->deleted) {
        return fs_proto__fail(err, FS_PROTO_EVALUE,
                              "rows[%zu] (%s) is deleted without a tombstone stamp", idx,
                              e->name);
    }
    return FS_PROTO_OK;
}

fs_proto_status fs_proto_sync_response_decode(const uint8_t *body, size_t n,
        fs_proto_encoding enc, const fs_proto_limits *limits,
        fs_sync_response *out, fs_proto_report *report, fs_error *err)
{
    decoding dc;
    const Fieldsync__V1__SyncResponse *m;
    fs_sync_response resp;
    fs_id *devs = NULL;
    fs_proto_status st;
    fs_hlc prev;
    uint64_t prev_seq = 0;
    size_t text_pos = 0;

    memset(&resp, 0, sizeof resp);
    st = decode_begin(&dc, &fieldsync__v1__sync_response__descriptor, body, n, enc, limits,
                      report, out, sizeof *out, "sync_response_decode", err);
    if (st != FS_PROTO_OK)
        return st;
    m = (const Fieldsync__V1__SyncResponse *)dc.msg;

    resp.version = m->protocol_version;
    resp.server_time = m->server_time;
    resp.next_cursor = m->next_cursor;
    resp.has_more = m->has_more;
    resp.wipe = m->wipe;
    resp.has_pending = m->has_pending;
    resp.pending = m->pending;
    resp.conflicts_listed = m->has_open_conflicts;
    resp.open_conflicts = m->open_conflicts;

    if (m->n_results) {
        resp.results = calloc(m->n_results, sizeof *resp.results);
        if (!resp.results)
            goto nomem;
        resp.nresults = m->n_results;
    }
    for (size_t i = 0; i < m->n_results; i++) {
        const Fieldsync__V1__ChangeResult *rm = m->results[i];
        fs_sync_result *r = &resp.results[i];
        /* An outcome we do not know could mean "keep" or "drop" the change
         * from the outbox; guessing either way risks loss, so refuse. */
        if ((unsigned)rm->outcome > (unsigned)FS_REJECTED) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                "results[%zu].outcome %d is unknown to this client", i,
                                (int)rm->outcome);
            goto done;
        }
        r->index = rm->index;
        r->outcome = (fs_outcome)rm->outcome;
        if ((unsigned)rm->reason > (unsigned)MAX_REASON) {
            dc.rep->unknown_enums++;
            r->reason = FS_REASON_NONE;
        } else {
            r->reason = (fs_reason)rm->reason;
        }
        copy_text(r->detail, sizeof r->detail, rm->detail);
    }

    if (m->n_devices) {
        devs = calloc(m->n_devices, sizeof *devs);
        if (!devs)
            goto nomem;
    }
    for (size_t i = 0; i < m->n_devices; i++) {
        if (m->devices[i].len != 16) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                "SyncResponse.devices[%zu] is %zu bytes; ids are 16", i,
                                m->devices[i].len);
            goto done;
        }
        memcpy(devs[i].b, m->devices[i].data, 16);
    }

    if (m->n_rows) {
        resp.rows = calloc(m->n_rows, sizeof *resp.rows);
        if (!resp.rows)
            goto nomem;
    }
    if (m->base_ms > FS_HLC_MS_MAX) {
        st = fs_proto__fail(err, FS_PROTO_EVALUE, "SyncResponse.base_ms %llu is out of range",
                            (unsigned long long)m->base_ms);
        goto done;
    }
    prev = fs_hlc_make(m->base_ms, 0);
    for (size_t i = 0; i < m->n_rows; i++) {
        const Fieldsync__V1__Row *rm = m->rows[i];
        text_src ts;
        bool skipped;
        /* This row's slice of texts, consumed even when the row is
         * skipped, so later rows stay aligned. */
        ts.n = count_text_next(rm->cells, rm->n_cells);
        ts.pos = 0;
        if (ts.n > m->n_texts - text_pos) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                "SyncResponse.texts has %zu entries; the rows use more",
                                m->n_texts);
            goto done;
        }
        /* A message without texts has m->texts == NULL; offsetting NULL,
         * even by zero, is undefined (found by fuzz_decode). */
        ts.items = ts.n ? m->texts + text_pos : NULL;
        text_pos += ts.n;
        st = decode_row(rm, i, &prev, &prev_seq, &ts, devs, m->n_devices, dc.rep,
                        &resp.rows[resp.nrows], &skipped, err);
        if (!skipped)
            resp.nrows++; /* counted even on failure so it is freed */
        if (st != FS_PROTO_OK)
            goto done;
    }

    if (text_pos != m->n_texts) {
        st = fs_proto__fail(err, FS_PROTO_EVALUE,
                            "SyncResponse.texts has %zu entries; the rows use %zu",
                            m->n_texts, text_pos);
        goto done;
    }

    if (m->n_exits) {
        resp.exits = calloc(m->n_exits, sizeof *resp.exits);
        if (!resp.exits)
            goto nomem;
    }
    for (size_t i = 0; i < m->n_exits; i++) {
        const Fieldsync__V1__ScopeExit *xm = m->exits[i];
        fs_scope_exit *x = &resp.exits[resp.nexits];
        const fs_entity *e = xm->has_entity ? fs_schema_entity_by_tag(xm->entity) : NULL;
        if (!e) {
            dc.rep->unknown_entities++;
            continue;
        }
        st = get_id(xm->has_row, &xm->row, true, "ScopeExit.row", &x->row, err);
        if (st != FS_PROTO_OK)
            goto done;
        x->entity = e;
        if ((unsigned)xm->reason > (unsigned)MAX_EXIT) {
            dc.rep->unknown_enums++;
            x->reason = FS_EXIT_UNKNOWN;
        } else {
            x->reason = (fs_exit_reason)xm->reason;
        }
        resp.nexits++;
    }

    if (m->n_conflicts) {
        resp.conflicts = calloc(m->n_conflicts, sizeof *resp.conflicts);
        if (!resp.conflicts)
            goto nomem;
    }
    for (size_t i = 0; i < m->n_conflicts; i++) {
        const Fieldsync__V1__OpenConflict *km = m->conflicts[i];
        fs_open_conflict *k = &resp.conflicts[resp.nconflicts];
        const fs_entity *e = km->has_entity ? fs_schema_entity_by_tag(km->entity) : NULL;
        if (!e) {
            dc.rep->unknown_entities++;
            continue;
        }
        st = get_id(km->has_row, &km->row, true, "OpenConflict.row", &k->row, err);
        if (st != FS_PROTO_OK)
            goto done;
        k->id = km->id;
        k->entity = e;
        copy_text(k->field, sizeof k->field, km->field);
        copy_text(k->rule, sizeof k->rule, km->rule);
        copy_text(k->detail, sizeof k->detail, km->detail);
        k->mine_kept = km->mine_kept;
        k->created_ms = km->created_ms;
        resp.nconflicts++;
    }
    *out = resp;
    memset(&resp, 0, sizeof resp);
    goto done;

nomem:
    st = fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory decoding SyncResponse");
done:
    free(devs);
    fs_proto_sync_response_free(&resp);
    decode_end(&dc);
    return st;
}

void fs_proto_sync_response_free(fs_sync_response *resp)
{
    if (!resp)
        return;
    for (size_t i = 0; resp->rows && i < resp->nrows; i++)
        fs_row_free(&resp->rows[i].row);
    free(resp->rows);
    free(resp->results);
    free(resp->exits);
    free(resp->conflicts);
    memset(resp, 0, sizeof *resp);
}

/* ------------------------------------------------------------------------ */
/* Error body                                                                */
/* ------------------------------------------------------------------------ */

fs_proto_status fs_proto_error_body_encode(const fs_error_body *in,
        fs_proto_encoding enc, const fs_proto_limits *limits, fs_proto_buf *out,
        fs_error *err)
{
    Fieldsync__V1__ErrorBody m = FIELDSYNC__V1__ERROR_BODY__INIT;
    fs_proto_limits lim;

    if (!in || !out)
        return fs_proto__fail(err, FS_PROTO_EINVAL, "error_body_encode: NULL argument");
    memset(out, 0, sizeof *out);
    if (!memchr(in->message, '\0', sizeof in->message))
        return fs_proto__fail(err, FS_PROTO_EINVAL, "error message is not NUL-terminated");
    if ((unsigned)in->code > (unsigned)MAX_ERROR_CODE)
        return fs_proto__fail(err, FS_PROTO_EVALUE, "error code %d is out of range",
                              (int)in->code);
    fs_proto__limits(limits, &lim);
    m.has_code = true;
    m.code = (Fieldsync__V1__ErrorCode)in->code;
    m.message = (char *)(uintptr_t)in->message;
    m.has_wipe = in->wipe;
    m.wipe = in->wipe;
    return pack_and_frame(&m.base, enc, &lim, out, err);
}

fs_proto_status fs_proto_error_body_decode(const uint8_t *body, size_t n,
        fs_proto_encoding enc, const fs_proto_limits *limits, fs_error_body *out,
        fs_proto_report *report, fs_error *err)
{
    decoding dc;
    const Fieldsync__V1__ErrorBody *m;
    fs_proto_status st;

    st = decode_begin(&dc, &fieldsync__v1__error_body__descriptor, body, n, enc, limits,
                      report, out, sizeof *out, "error_body_decode", err);
    if (st != FS_PROTO_OK)
        return st;
    m = (const Fieldsync__V1__ErrorBody *)dc.msg;
    if ((unsigned)m->code > (unsigned)MAX_ERROR_CODE) {
        dc.rep->unknown_enums++;
        out->code = FS_PROTO_ERR_UNSPECIFIED;
    } else {
        out->code = (fs_proto_error_code)m->code;
    }
    copy_text(out->message, sizeof out->message, m->message);
    out->wipe = m->wipe;
    decode_end(&dc);
    return st;
}

void fs_proto_error_body_from(fs_proto_status st, const fs_error *err,
                              fs_error_body *body)
{
    if (!body)
        return;
    memset(body, 0, sizeof *body);
    body->code = fs_proto_status_error_code(st);
    copy_text(body->message, sizeof body->message,
              err && err->text[0] ? err->text : fs_proto_strerror(st));
}
