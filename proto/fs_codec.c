/*
 * fs_codec.c - conversion between the domain types of fs_conflict.h and the
 * protobuf messages of sync.proto, for every message of the protocol.
 *
 * Encoding builds the protobuf-c structs in a scratch arena that borrows
 * ids from the caller's domain structs, packs them, runs the same limit scan
 * a receiver will run (so a body we produce is never one the peer refuses),
 * and frames the bytes. Decoding unframes, checks the version, scans, lets
 * protobuf-c unpack (now bounded), converts to domain structs and validates
 * every value with the conflict library. Compactness tricks live only here
 * (docs/PROTOCOL.md section 4): the rows of a pull page and the changes of a
 * push batch travel column-major (one Table: per-row arrays, then one Column
 * per entity field, texts concatenated per column), so deflate sees runs of
 * like values; ids split into a delta-coded time half and a random half;
 * stamps are millisecond deltas chained row base -> cell -> next cell of
 * the row; integers are absolute, delta-coded down the column or relative
 * to the cell's stamp, whichever the encoder measures smaller; GPS-like
 * reals travel as exact e7 integers; ID values as indexes into one sorted
 * table; and pulled cells name their writer through a device table.
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

_Static_assert(FIELDSYNC__V1__REASON__CLAIM == (int)FS_REASON_CLAIM &&
                   FIELDSYNC__V1__REASON__REDIRECTED == (int)FS_REASON_REDIRECTED &&
                   FIELDSYNC__V1__EXIT_REASON__RECLAIMED == (int)FS_EXIT_RECLAIMED &&
                   FIELDSYNC__V1__EXIT_REASON__MERGED_INTO == (int)FS_EXIT_MERGED,
               "issue 17's wire values follow the domain enums");

/* Known values: the numbering has gaps reserved for other work (issue 16's
 * 11..20 and 4..13), which this codec reads as unknown. */
static bool reason_known(unsigned r)
{
    return r <= (unsigned)FS_REASON_INVALID ||
           (r >= (unsigned)FS_REASON_CLAIM && r <= (unsigned)FS_REASON_REDIRECTED);
}

static bool exit_known(unsigned r)
{
    return r <= (unsigned)FS_EXIT_REVOKED ||
           (r >= (unsigned)FS_EXIT_RECLAIMED && r <= (unsigned)FS_EXIT_MERGED);
}
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

/* Rebuilds a stamp from a reference, a signed ms delta and a counter delta;
 * false when the result leaves the 48-bit ms range or the counter its 16
 * bits (only a broken or hostile encoder sends that). */
static bool get_stamp(fs_hlc ref, int64_t d, int64_t dcount, fs_hlc *out)
{
    int64_t ms, count;
    if (__builtin_add_overflow((int64_t)fs_hlc_count(ref), dcount, &count) || count < 0 ||
        count > FS_HLC_COUNT_MAX ||
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
    fs_utf8_clean(dst, cap, src, src ? strlen(src) : 0);
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

/* Human-readable text the caller built (a result detail, a conflict record)
 * as the wire needs it: valid UTF-8 without NUL, cut at a character
 * boundary within cap. The encoder repairs such text instead of refusing the
 * message, because an answer the server built must always be producible.
 * s is NUL-terminated within cap (checked by the caller); NULL when out of
 * memory. */
static const char *wire_text(arena *a, const char *s, size_t cap)
{
    size_t n = strlen(s);
    char *t;

    if (fs_utf8_valid(s, n))
        return s;
    t = arena_calloc(a, cap, 1);
    if (t)
        fs_utf8_clean(t, cap, s, n);
    return t;
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
 * checks the protocol version (sync messages), scans and unpacks the body
 * into dc->msg. On failure dc->msg is NULL and
 * there is nothing to free; on success release it with decode_end. */
static fs_proto_status decode_begin(decoding *dc, const ProtobufCMessageDescriptor *d,
                                    bool sync, const uint8_t *body, size_t n,
                                    fs_proto_encoding enc,
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
    if (sync) {
        st = fs_proto__check_version(d, data, len, err);
        if (st != FS_PROTO_OK)
            goto done;
    }
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
/* Names                                                                     */
/* ------------------------------------------------------------------------ */

const char *fs_exit_reason_name(fs_exit_reason r)
{
    switch (r) {
    case FS_EXIT_UNKNOWN: return "unknown";
    case FS_EXIT_REASSIGNED: return "reassigned";
    case FS_EXIT_DELETED: return "deleted";
    case FS_EXIT_REVOKED: return "revoked";
    case FS_EXIT_RECLAIMED: return "reclaimed";
    case FS_EXIT_MERGED: return "merged";
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

    st = decode_begin(&dc, &fieldsync__v1__enroll_request__descriptor, false, body, n, enc, limits,
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

    st = decode_begin(&dc, &fieldsync__v1__enroll_response__descriptor, false, body, n, enc, limits,
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
/* Tables: the rows of a pull page, the changes of a push batch              */
/* ------------------------------------------------------------------------ */

/* Text handed to the peer must not contain NUL: the receiver refuses it. */
static bool value_packable(const fs_value *v)
{
    return v->kind != FS_VAL_TEXT ||
           (v->u.text.p && strlen(v->u.text.p) == v->u.text.n);
}

static bool field_is_text(const fs_field *f)
{
    return f->type == FS_TYPE_TEXT || f->type == FS_TYPE_ENUM || f->type == FS_TYPE_CURRENCY;
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* The first 48 bits of an id: a UUIDv7's creation milliseconds. */
static uint64_t id_ms(const fs_id *id)
{
    return be64(id->b) >> 16;
}

/* Bytes of v as a protobuf varint (zigzag for signed): the encoder's cost
 * measure when it picks a representation. */
static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t svarint_len(int64_t v)
{
    return varint_len(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Cost of a stream for deflate, roughly: the bytes of every value that
 * differs from the one before (a repeat is nearly free). */
typedef struct cost {
    size_t bytes;
    int64_t prev;
    bool any;
} cost;

static void cost_add(cost *c, int64_t v)
{
    if (!c->any || v != c->prev)
        c->bytes += svarint_len(v);
    c->prev = v;
    c->any = true;
}

/* One written field of a table row, as the encoder sees it. */
typedef struct tcell {
    uint16_t slot;
    const fs_value *v;
    fs_hlc hlc;
    uint32_t dev;            /* pull: 0 = the row's writer, else index + 1 */
    const fs_value *base;    /* push: the value the writer saw, or NULL */
    fs_hlc base_hlc;
} tcell;

/* One row (pull) or change (push) of a table, as the encoder sees it. */
typedef struct trow {
    const fs_entity *e;
    const fs_id *id;
    fs_hlc base;             /* the smallest stamp of the row */
    uint64_t seq;            /* pull */
    uint32_t dev;            /* pull: the row's writer (devices index) */
    uint32_t tomb;           /* 0 none, 1 restore, 2 delete */
    fs_hlc tomb_hlc;
    uint32_t tomb_dev;       /* pull: 0 = the row's writer, else index + 1 */
    tcell *cells;            /* in column order: binary fields, then text */
    size_t ncells;
} trow;

/* A value kind with an entry in Column.ints. */
static bool kind_in_ints(uint32_t k)
{
    return k == FIELDSYNC__V1__VALUE_KIND__INT || k == FIELDSYNC__V1__VALUE_KIND__INT_DELTA ||
           k == FIELDSYNC__V1__VALUE_KIND__TIME || k == FIELDSYNC__V1__VALUE_KIND__E7 ||
           k == FIELDSYNC__V1__VALUE_KIND__ID;
}

#define KIND_MAX FIELDSYNC__V1__VALUE_KIND__ID

/* Sorted, distinct ID values of a table (Table.values). */
typedef struct id_set {
    fs_id *ids;
    size_t n;
} id_set;

static int id_cmp_qsort(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(fs_id));
}

static uint32_t id_set_index(const id_set *s, const fs_id *id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(s->ids[mid].b, id->b, 16);
        if (c == 0)
            return (uint32_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0; /* not reached: every ID value was added */
}

/* Fills an Ids message with n ids (hi delta-coded, lo raw). */
static bool ids_put(arena *ar, Fieldsync__V1__Ids *m, const fs_id *const *ids,
                    const fs_id *flat, size_t n)
{
    uint64_t prev = 0;
    fieldsync__v1__ids__init(m);
    m->hi = arena_calloc(ar, n, sizeof *m->hi);
    m->lo = arena_calloc(ar, n, sizeof *m->lo);
    if (n && (!m->hi || !m->lo))
        return false;
    m->n_hi = m->n_lo = n;
    for (size_t i = 0; i < n; i++) {
        const fs_id *id = ids ? ids[i] : &flat[i];
        uint64_t hi = be64(id->b);
        m->hi[i] = u64_to_s64(hi - prev);
        m->lo[i] = be64(id->b + 8);
        prev = hi;
    }
    return true;
}

/* Decodes an Ids message into out[n] (n already checked against it). */
static void ids_get(const Fieldsync__V1__Ids *m, fs_id *out, size_t n)
{
    uint64_t hi = 0;
    for (size_t i = 0; i < n; i++) {
        hi += s64_to_u64(m->hi[i]);
        put_be64(out[i].b, hi);
        put_be64(out[i].b + 8, m->lo[i]);
    }
}

/* Per entity of an encoded table: which of its fields have a column, and
 * each column's bit in Table.mask. */
typedef struct tent {
    const fs_entity *e;
    int8_t *colpos;          /* per slot: the column's bit, or -1 */
    unsigned ncols;
} tent;

/* Sets the value of one Column entry (cells: kind; bases: base kind - 1)
 * and appends what it needs to ints / reals / texts. `mode` is the
 * column's integer representation. */
typedef struct colbuf {
    Fieldsync__V1__Column *c;
    size_t nints, nreals, ntexts, tpos;
    int64_t prev;            /* the column's previous integer (INT_DELTA) */
} colbuf;

static uint32_t put_value(colbuf *cb, const fs_field *f, const fs_value *v, uint64_t cell_ms,
                          uint32_t mode, bool base, const id_set *idv)
{
    Fieldsync__V1__Column *c = cb->c;
    int64_t q;
    switch (v->kind) {
    case FS_VAL_NULL:
        return FIELDSYNC__V1__VALUE_KIND__NULL_VALUE;
    case FS_VAL_INT:
        if (base) {
            c->ints[cb->nints++] = v->u.i;
            return FIELDSYNC__V1__VALUE_KIND__INT;
        }
        if (mode == FIELDSYNC__V1__VALUE_KIND__TIME && f->type == FS_TYPE_TIME &&
            v->u.i >= 0 && (uint64_t)v->u.i <= FS_HLC_MS_MAX) {
            c->ints[cb->nints++] = v->u.i - (int64_t)cell_ms;
        } else if (mode == FIELDSYNC__V1__VALUE_KIND__INT_DELTA) {
            c->ints[cb->nints++] = u64_to_s64(s64_to_u64(v->u.i) - s64_to_u64(cb->prev));
        } else {
            mode = FIELDSYNC__V1__VALUE_KIND__INT;
            c->ints[cb->nints++] = v->u.i;
        }
        cb->prev = v->u.i;
        return mode;
    case FS_VAL_REAL:
        if (real_as_e7(v->u.r, &q)) {
            c->ints[cb->nints++] = q;
            return FIELDSYNC__V1__VALUE_KIND__E7;
        }
        c->reals[cb->nreals++] = v->u.r;
        return FIELDSYNC__V1__VALUE_KIND__REAL;
    case FS_VAL_TEXT:
        c->text_len[cb->ntexts++] = v->u.text.n;
        if (v->u.text.n) /* the column's text bytes may be NULL when all are empty */
            memcpy(c->text.data + cb->tpos, v->u.text.p, v->u.text.n);
        cb->tpos += v->u.text.n;
        return FIELDSYNC__V1__VALUE_KIND__TEXT;
    case FS_VAL_ID:
        c->ints[cb->nints++] = (int64_t)id_set_index(idv, &v->u.id);
        return FIELDSYNC__V1__VALUE_KIND__ID;
    }
    return FIELDSYNC__V1__VALUE_KIND__NULL_VALUE;
}

/* Drops an array whose entries are all 0 (the wire's "none = all 0"). */
#define DROP_IF_ZERO(n, a)                                                    \
    do {                                                                      \
        size_t z_ = 0;                                                        \
        while (z_ < (n) && (a)[z_] == 0)                                      \
            z_++;                                                             \
        if (z_ == (n))                                                        \
            (n) = 0;                                                          \
    } while (0)

/*
 * Lays rows[0..n) out as a Table (borrowing nothing from them: ids and
 * texts are copied into the arena). pull: rows of a SyncResponse (seq,
 * devices), else changes of a SyncRequest (bases).
 */
static fs_proto_status table_encode(arena *ar, const trow *rows, size_t n, bool pull,
                                    const fs_proto_limits *lim,
                                    Fieldsync__V1__Table *t, fs_error *err)
{
    size_t nent_max = 0, nent = 0, ncol = 0, ncells = 0;
    tent *ents;
    Fieldsync__V1__Column **cols;
    size_t *col_ent, *col_slot;
    size_t *cur = NULL;
    fs_hlc *chain = NULL;
    id_set idv = {NULL, 0};
    cost c_prev = {0, 0, false}, c_row = {0, 0, false};
    uint64_t prev_ms = 0, prev_seq = 0;
    fs_proto_status st = FS_PROTO_OK;

    (void)fs_schema_entities(&nent_max); /* entities in one table: at most all */
    fieldsync__v1__table__init(t);
    ents = arena_calloc(ar, nent_max ? nent_max : 1, sizeof *ents);
    if (!ents)
        goto nomem;

    /* Entities and their columns; the ID values. */
    for (size_t i = 0; i < n; i++) {
        const trow *r = &rows[i];
        size_t k;
        for (k = 0; k < nent && ents[k].e != r->e; k++)
            ;
        if (k == nent) {
            if (nent == nent_max)
                return fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu]: unknown entity", i);
            ents[k].e = r->e;
            ents[k].colpos = arena_calloc(ar, r->e->nfields, sizeof *ents[k].colpos);
            if (!ents[k].colpos)
                goto nomem;
            nent++;
        }
        for (size_t j = 0; j < r->ncells; j++) {
            ents[k].colpos[r->cells[j].slot] = 1; /* used; positions below */
            if (r->cells[j].v->kind == FS_VAL_ID)
                idv.n++;
            if (r->cells[j].base && r->cells[j].base->kind == FS_VAL_ID)
                idv.n++;
        }
        ncells += r->ncells;
        if (r->ncells > lim->max_fields)
            return fs_proto__fail(err, FS_PROTO_EFIELDS_LIMIT,
                                  "rows[%zu] has %zu fields; limit max_fields = %zu", i,
                                  r->ncells, lim->max_fields);
    }
    if (ncells > lim->max_cells)
        return fs_proto__fail(err, FS_PROTO_ECELLS_LIMIT,
                              "the table has %zu field values; limit max_cells = %zu", ncells,
                              lim->max_cells);
    if (idv.n) {
        size_t k = 0;
        idv.ids = arena_calloc(ar, idv.n, sizeof *idv.ids);
        if (!idv.ids)
            goto nomem;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < rows[i].ncells; j++) {
                if (rows[i].cells[j].v->kind == FS_VAL_ID)
                    idv.ids[k++] = rows[i].cells[j].v->u.id;
                if (rows[i].cells[j].base && rows[i].cells[j].base->kind == FS_VAL_ID)
                    idv.ids[k++] = rows[i].cells[j].base->u.id;
            }
        qsort(idv.ids, idv.n, sizeof *idv.ids, id_cmp_qsort);
        k = 0;
        for (size_t i = 0; i < idv.n; i++)
            if (k == 0 || memcmp(idv.ids[k - 1].b, idv.ids[i].b, 16) != 0)
                idv.ids[k++] = idv.ids[i];
        idv.n = k;
        t->values = arena_calloc(ar, 1, sizeof *t->values);
        if (!t->values || !ids_put(ar, t->values, NULL, idv.ids, idv.n))
            goto nomem;
    }

    /* Column order: every entity's binary fields, then the text fields
     * (texts last, so deflate codes them with their own statistics). */
    for (size_t k = 0; k < nent; k++)
        for (size_t s = 0; s < ents[k].e->nfields; s++)
            if (ents[k].colpos[s])
                ncol++;
    cols = arena_calloc(ar, ncol ? ncol : 1, sizeof *cols);
    col_ent = arena_calloc(ar, ncol ? ncol : 1, sizeof *col_ent);
    col_slot = arena_calloc(ar, ncol ? ncol : 1, sizeof *col_slot);
    if (!cols || !col_ent || !col_slot)
        goto nomem;
    ncol = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < nent; k++)
            for (size_t s = 0; s < ents[k].e->nfields; s++) {
                if (!ents[k].colpos[s] || field_is_text(&ents[k].e->fields[s]) != (pass == 1))
                    continue;
                if (ents[k].ncols == 64 || ents[k].ncols == lim->max_fields)
                    return fs_proto__fail(err, FS_PROTO_EFIELDS_LIMIT,
                                          "%s has more than %zu fields written in one "
                                          "table; limit max_fields = %zu", ents[k].e->name,
                                          lim->max_fields < 64 ? lim->max_fields : (size_t)64,
                                          lim->max_fields);
                col_ent[ncol] = k;
                col_slot[ncol] = s;
                ncol++;
                ents[k].ncols++;
            }
    for (size_t k = 0; k < nent; k++) {
        int8_t pos = 0;
        for (size_t s = 0; s < ents[k].e->nfields; s++)
            ents[k].colpos[s] = ents[k].colpos[s] ? INT8_MAX : -1; /* used / not */
        for (int pass = 0; pass < 2; pass++)
            for (size_t s = 0; s < ents[k].e->nfields; s++)
                if (ents[k].colpos[s] == INT8_MAX &&
                    field_is_text(&ents[k].e->fields[s]) == (pass == 1))
                    ents[k].colpos[s] = pos++;
    }

    /* Per-row arrays. */
    t->n_entity = n;
    t->entity = arena_calloc(ar, n, sizeof *t->entity);
    t->ids = arena_calloc(ar, 1, sizeof *t->ids);
    t->hlc_ms = arena_calloc(ar, n, sizeof *t->hlc_ms);
    t->hlc_count = arena_calloc(ar, n, sizeof *t->hlc_count);
    t->mask = arena_calloc(ar, n, sizeof *t->mask);
    t->tomb = arena_calloc(ar, n, sizeof *t->tomb);
    t->tomb_ms = arena_calloc(ar, n, sizeof *t->tomb_ms);
    t->tomb_count = arena_calloc(ar, n, sizeof *t->tomb_count);
    if (!t->ids || (n && (!t->entity || !t->hlc_ms || !t->hlc_count || !t->mask ||
                          !t->tomb || !t->tomb_ms || !t->tomb_count)))
        goto nomem;
    {
        const fs_id **ids = arena_calloc(ar, n, sizeof *ids);
        if (n && !ids)
            goto nomem;
        for (size_t i = 0; i < n; i++)
            ids[i] = rows[i].id;
        if (!ids_put(ar, t->ids, ids, NULL, n))
            goto nomem;
    }
    if (pull) {
        t->seq_delta = arena_calloc(ar, n, sizeof *t->seq_delta);
        t->device = arena_calloc(ar, n, sizeof *t->device);
        t->tomb_device = arena_calloc(ar, n, sizeof *t->tomb_device);
        if (n && (!t->seq_delta || !t->device || !t->tomb_device))
            goto nomem;
    }
    /* The reference of the base stamps: the previous row's, or the row id's
     * time (rows are usually written about when they were made). */
    for (size_t i = 0; i < n; i++) {
        uint64_t ms = fs_hlc_ms(rows[i].base);
        cost_add(&c_prev, (int64_t)ms - (int64_t)prev_ms);
        cost_add(&c_row, (int64_t)ms - (int64_t)id_ms(rows[i].id));
        prev_ms = ms;
    }
    t->stamp_ref = c_row.bytes < c_prev.bytes ? FIELDSYNC__V1__STAMP_REF__ROW_ID
                                              : FIELDSYNC__V1__STAMP_REF__PREVIOUS;
    t->has_stamp_ref = t->stamp_ref != FIELDSYNC__V1__STAMP_REF__PREVIOUS;
    prev_ms = 0;
    t->n_tomb_ms = 0;
    for (size_t i = 0; i < n; i++) {
        const trow *r = &rows[i];
        uint64_t ms = fs_hlc_ms(r->base);
        uint64_t ref = t->has_stamp_ref ? id_ms(r->id) : prev_ms;
        const tent *te = NULL;
        for (size_t k = 0; k < nent; k++)
            if (ents[k].e == r->e)
                te = &ents[k];
        t->entity[i] = r->e->tag;
        t->hlc_ms[i] = (int64_t)ms - (int64_t)ref;
        t->hlc_count[i] = fs_hlc_count(r->base);
        prev_ms = ms;
        for (size_t j = 0; j < r->ncells; j++)
            t->mask[i] |= UINT64_C(1) << te->colpos[r->cells[j].slot];
        t->tomb[i] = r->tomb;
        if (r->tomb) {
            t->tomb_ms[t->n_tomb_ms] =
                (int64_t)fs_hlc_ms(r->tomb_hlc) - (int64_t)fs_hlc_ms(r->base);
            t->tomb_count[t->n_tomb_ms] =
                (int32_t)fs_hlc_count(r->tomb_hlc) - (int32_t)fs_hlc_count(r->base);
            if (pull)
                t->tomb_device[t->n_tomb_ms] = r->tomb_dev;
            t->n_tomb_ms++;
        }
        if (pull) {
            t->seq_delta[i] = u64_to_s64(r->seq - prev_seq);
            prev_seq = r->seq;
            t->device[i] = r->dev;
        }
    }
    t->n_hlc_ms = t->n_hlc_count = t->n_mask = t->n_tomb = n;
    t->n_tomb_count = t->n_tomb_ms; /* rows with a tombstone write */
    if (pull)
        t->n_tomb_device = t->n_tomb_ms;
    DROP_IF_ZERO(t->n_hlc_ms, t->hlc_ms);
    DROP_IF_ZERO(t->n_hlc_count, t->hlc_count);
    DROP_IF_ZERO(t->n_mask, t->mask);
    DROP_IF_ZERO(t->n_tomb, t->tomb);
    DROP_IF_ZERO(t->n_tomb_ms, t->tomb_ms);
    DROP_IF_ZERO(t->n_tomb_count, t->tomb_count);
    if (pull) {
        t->n_seq_delta = t->n_device = n;
        DROP_IF_ZERO(t->n_seq_delta, t->seq_delta);
        DROP_IF_ZERO(t->n_device, t->device);
        DROP_IF_ZERO(t->n_tomb_device, t->tomb_device);
    }

    /* Columns. cur[i] walks row i's cells, chain[i] is the stamp its next
     * cell is relative to. */
    cur = calloc(n ? n : 1, sizeof *cur);
    chain = calloc(n ? n : 1, sizeof *chain);
    if (!cur || !chain)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        chain[i] = rows[i].base;
    t->n_columns = ncol;
    t->columns = cols;
    for (size_t ci = 0; ci < ncol; ci++) {
        const tent *te = &ents[col_ent[ci]];
        const fs_field *f = &te->e->fields[col_slot[ci]];
        Fieldsync__V1__Column *c = arena_calloc(ar, 1, sizeof *c);
        size_t nc = 0, nb = 0, ntext = 0, tbytes = 0;
        cost m_int = {0, 0, false}, m_delta = {0, 0, false}, m_time = {0, 0, false};
        int64_t prev = 0;
        uint32_t mode;
        colbuf cb;
        if (!c)
            goto nomem;
        fieldsync__v1__column__init(c);
        cols[ci] = c;
        c->has_entity = true;
        c->entity = te->e->tag;
        c->has_tag = true;
        c->tag = f->tag;
        /* Sizes, and the integer representation that costs least. */
        for (size_t i = 0; i < n; i++) {
            const tcell *x;
            if (rows[i].e != te->e || cur[i] >= rows[i].ncells ||
                rows[i].cells[cur[i]].slot != col_slot[ci])
                continue;
            x = &rows[i].cells[cur[i]];
            nc++;
            if (x->base)
                nb++;
            if (x->v->kind == FS_VAL_TEXT) {
                ntext++;
                tbytes += x->v->u.text.n;
            }
            if (x->base && x->base->kind == FS_VAL_TEXT) {
                ntext++;
                tbytes += x->base->u.text.n;
            }
            if (x->v->kind == FS_VAL_INT) {
                cost_add(&m_int, x->v->u.i);
                cost_add(&m_delta, u64_to_s64(s64_to_u64(x->v->u.i) - s64_to_u64(prev)));
                if (f->type == FS_TYPE_TIME && x->v->u.i >= 0 &&
                    (uint64_t)x->v->u.i <= FS_HLC_MS_MAX)
                    cost_add(&m_time, x->v->u.i - (int64_t)fs_hlc_ms(x->hlc));
                else
                    m_time.bytes += svarint_len(x->v->u.i);
                prev = x->v->u.i;
            }
        }
        mode = FIELDSYNC__V1__VALUE_KIND__INT;
        if (m_delta.bytes < m_int.bytes)
            mode = FIELDSYNC__V1__VALUE_KIND__INT_DELTA;
        if (f->type == FS_TYPE_TIME &&
            m_time.bytes < (mode == FIELDSYNC__V1__VALUE_KIND__INT ? m_int.bytes
                                                                   : m_delta.bytes))
            mode = FIELDSYNC__V1__VALUE_KIND__TIME;

        c->kind = arena_calloc(ar, nc, sizeof *c->kind);
        c->ints = arena_calloc(ar, nc + nb, sizeof *c->ints);
        c->reals = arena_calloc(ar, nc + nb, sizeof *c->reals);
        c->hlc_ms = arena_calloc(ar, nc, sizeof *c->hlc_ms);
        c->hlc_count = arena_calloc(ar, nc, sizeof *c->hlc_count);
        c->text_len = arena_calloc(ar, ntext, sizeof *c->text_len);
        c->text.data = arena_calloc(ar, tbytes, 1);
        if (nc && (!c->kind || !c->ints || !c->reals || !c->hlc_ms || !c->hlc_count))
            goto nomem;
        if ((ntext && !c->text_len) || !c->text.data)
            goto nomem;
        if (pull) {
            c->device = arena_calloc(ar, nc, sizeof *c->device);
            if (nc && !c->device)
                goto nomem;
        } else if (nb) {
            c->base_kind = arena_calloc(ar, nc, sizeof *c->base_kind);
            c->base_ms = arena_calloc(ar, nb, sizeof *c->base_ms);
            c->base_count = arena_calloc(ar, nb, sizeof *c->base_count);
            if (!c->base_kind || !c->base_ms || !c->base_count)
                goto nomem;
        }
        memset(&cb, 0, sizeof cb);
        cb.c = c;
        /* Cells, then bases (ints / reals / texts in that order). */
        for (int pass = 0; pass < 2; pass++) {
            size_t k = 0, kb = 0;
            for (size_t i = 0; i < n; i++) {
                const tcell *x;
                if (rows[i].e != te->e || cur[i] >= rows[i].ncells ||
                    rows[i].cells[cur[i]].slot != col_slot[ci])
                    continue;
                x = &rows[i].cells[cur[i]];
                if (pass == 0) {
                    c->kind[k] = put_value(&cb, f, x->v, fs_hlc_ms(x->hlc), mode, false, &idv);
                    c->hlc_ms[k] = (int64_t)fs_hlc_ms(x->hlc) - (int64_t)fs_hlc_ms(chain[i]);
                    c->hlc_count[k] = (int32_t)fs_hlc_count(x->hlc) -
                                      (int32_t)fs_hlc_count(chain[i]);
                    if (pull)
                        c->device[k] = x->dev;
                } else {
                    if (x->base) {
                        c->base_kind[k] = 1 + put_value(&cb, f, x->base, 0, 0, true, &idv);
                        c->base_ms[kb] = (int64_t)fs_hlc_ms(x->base_hlc) -
                                         (int64_t)fs_hlc_ms(x->hlc);
                        c->base_count[kb] = (int32_t)fs_hlc_count(x->base_hlc) -
                                            (int32_t)fs_hlc_count(x->hlc);
                        kb++;
                    }
                    chain[i] = x->hlc;
                    cur[i]++;
                }
                k++;
            }
        }
        c->n_kind = c->n_hlc_ms = c->n_hlc_count = nc;
        c->n_ints = cb.nints;
        c->n_reals = cb.nreals;
        c->n_text_len = cb.ntexts;
        c->has_text = tbytes > 0;
        c->text.len = tbytes;
        if (pull)
            c->n_device = nc;
        if (nb) {
            c->n_base_kind = nc;
            c->n_base_ms = c->n_base_count = nb;
        }
        DROP_IF_ZERO(c->n_kind, c->kind);
        DROP_IF_ZERO(c->n_hlc_ms, c->hlc_ms);
        DROP_IF_ZERO(c->n_hlc_count, c->hlc_count);
        DROP_IF_ZERO(c->n_device, c->device);
        DROP_IF_ZERO(c->n_base_ms, c->base_ms);
        DROP_IF_ZERO(c->n_base_count, c->base_count);
    }
    goto done;

nomem:
    st = fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory building a table");
done:
    free(cur);
    free(chain);
    return st;
}

/* ---- decoding ---- */

/* A column of a received table, after the structural checks. */
typedef struct dcol {
    const Fieldsync__V1__Column *m;
    const fs_entity *e;      /* NULL: unknown entity */
    int slot;                /* -1: unknown field */
    size_t first, ncells;    /* its cells' row indexes: rowix[first..] */
} dcol;

/* Columns grouped by entity tag, in table order within a group. */
typedef struct dgroup {
    uint32_t entity;
    size_t cols[64];
    unsigned ncols;
} dgroup;

typedef struct dtable {
    size_t n;                /* rows */
    fs_id *ids;
    fs_hlc *base;
    const fs_entity **ents;  /* per row, NULL = unknown */
    dcol *cols;
    size_t ncols;
    size_t *rowix;           /* per cell: its row, column by column */
    fs_id *values;
    size_t nvalues;
    size_t ntomb;
} dtable;

static void dtable_free(dtable *d)
{
    free(d->ids);
    free(d->base);
    free(d->ents);
    free(d->cols);
    free(d->rowix);
    free(d->values);
    memset(d, 0, sizeof *d);
}

static int col_order(const void *a, const void *b)
{
    const dcol *x = *(const dcol *const *)a, *y = *(const dcol *const *)b;
    if (x->m->entity != y->m->entity)
        return x->m->entity < y->m->entity ? -1 : 1;
    return x < y ? -1 : x > y;
}

static const dgroup *find_group(const dgroup *g, size_t ng, uint32_t entity)
{
    size_t lo = 0, hi = ng;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g[mid].entity == entity)
            return &g[mid];
        if (g[mid].entity < entity)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* "Exactly one entry per item, or none (= all 0)." */
static fs_proto_status want_len(size_t got, size_t want, const char *what, fs_error *err)
{
    if (got != 0 && got != want)
        return fs_proto__fail(err, FS_PROTO_EVALUE, "%s has %zu entries; expected %zu or 0",
                              what, got, want);
    return FS_PROTO_OK;
}

#define ARR(m, f, i) ((m)->n_##f ? (m)->f[i] : 0)

/*
 * The structural pass over a received table: array lengths, masks against
 * the columns, limits (cells per row, cells in the message, text lengths),
 * row ids and base stamps. Everything the value pass indexes is checked
 * here, so that pass cannot misalign. max_items: max_rows / max_changes.
 */
static fs_proto_status table_check(const Fieldsync__V1__Table *t, bool pull,
                                   const fs_proto_limits *lim, const char *what,
                                   dtable *d, fs_error *err)
{
    size_t n = t ? t->n_entity : 0, total = 0;
    dgroup *groups = NULL;
    size_t ngroups = 0;
    dcol **order = NULL;
    size_t *fill = NULL;
    fs_proto_status st = FS_PROTO_OK;
    uint64_t prev_ms = 0;

    memset(d, 0, sizeof *d);
    d->n = n;
    if (!t || n == 0) {
        if (t && (t->n_columns || t->ids || t->n_hlc_ms || t->n_mask))
            return fs_proto__fail(err, FS_PROTO_EVALUE, "%s: a table without rows has data",
                                  what);
        return FS_PROTO_OK;
    }
    if (!t->ids || t->ids->n_hi != n || t->ids->n_lo != n)
        return fs_proto__fail(err, FS_PROTO_EVALUE, "%s: %zu rows but %zu ids", what, n,
                              t->ids ? t->ids->n_hi : (size_t)0);
    if ((st = want_len(t->n_hlc_ms, n, "Table.hlc_ms", err)) ||
        (st = want_len(t->n_hlc_count, n, "Table.hlc_count", err)) ||
        (st = want_len(t->n_mask, n, "Table.mask", err)) ||
        (st = want_len(t->n_tomb, n, "Table.tomb", err)))
        return st;
    if (pull) {
        if ((st = want_len(t->n_seq_delta, n, "Table.seq_delta", err)) ||
            (st = want_len(t->n_device, n, "Table.device", err)))
            return st;
    } else if (t->n_seq_delta || t->n_device || t->n_tomb_device) {
        return fs_proto__fail(err, FS_PROTO_EVALUE, "%s: pushed changes carry pull fields",
                              what);
    }
    for (size_t i = 0; i < t->n_tomb; i++) {
        if (t->tomb[i] > 2)
            return fs_proto__fail(err, FS_PROTO_EVALUE, "%s[%zu]: tomb %u is unknown", what,
                                  i, (unsigned)t->tomb[i]);
        if (t->tomb[i])
            d->ntomb++;
    }
    if ((st = want_len(t->n_tomb_ms, d->ntomb, "Table.tomb_ms", err)) ||
        (st = want_len(t->n_tomb_count, d->ntomb, "Table.tomb_count", err)) ||
        (st = want_len(t->n_tomb_device, d->ntomb, "Table.tomb_device", err)))
        return st;
    if (t->values && t->values->n_hi != t->values->n_lo)
        return fs_proto__fail(err, FS_PROTO_EVALUE, "Table.values: %zu hi but %zu lo",
                              t->values->n_hi, t->values->n_lo);
    if ((unsigned)t->stamp_ref > (unsigned)FIELDSYNC__V1__STAMP_REF__ROW_ID)
        return fs_proto__fail(err, FS_PROTO_EVALUE, "Table.stamp_ref %d is unknown",
                              (int)t->stamp_ref);

    d->ids = calloc(n, sizeof *d->ids);
    d->base = calloc(n, sizeof *d->base);
    d->ents = calloc(n, sizeof *d->ents);
    d->cols = calloc(t->n_columns ? t->n_columns : 1, sizeof *d->cols);
    order = calloc(t->n_columns ? t->n_columns : 1, sizeof *order);
    groups = calloc(t->n_columns ? t->n_columns : 1, sizeof *groups);
    if (!d->ids || !d->base || !d->ents || !d->cols || !order || !groups)
        goto nomem;
    ids_get(t->ids, d->ids, n);
    if (t->values) {
        d->nvalues = t->values->n_hi;
        d->values = calloc(d->nvalues ? d->nvalues : 1, sizeof *d->values);
        if (!d->values)
            goto nomem;
        ids_get(t->values, d->values, d->nvalues);
    }
    /* Base stamps form a chain (stamp_ref PREVIOUS): a broken link breaks
     * every later row, so it fails the message. */
    for (size_t i = 0; i < n; i++) {
        uint64_t ref = t->stamp_ref == FIELDSYNC__V1__STAMP_REF__ROW_ID ? id_ms(&d->ids[i])
                                                                        : prev_ms;
        uint32_t count = ARR(t, hlc_count, i);
        if (count > FS_HLC_COUNT_MAX ||
            !get_stamp(fs_hlc_make(ref, 0), ARR(t, hlc_ms, i), count, &d->base[i]))
            st = fs_proto__fail(err, FS_PROTO_EVALUE, "%s[%zu]: base stamp out of range", what,
                                i);
        if (st != FS_PROTO_OK)
            goto done;
        prev_ms = fs_hlc_ms(d->base[i]);
        d->ents[i] = fs_schema_entity_by_tag(t->entity[i]);
    }

    /* Columns, grouped by entity (a row's mask bit k = the k-th column of
     * its entity). */
    d->ncols = t->n_columns;
    for (size_t c = 0; c < t->n_columns; c++) {
        dcol *dc = &d->cols[c];
        dc->m = t->columns[c];
        dc->e = dc->m->has_entity ? fs_schema_entity_by_tag(dc->m->entity) : NULL;
        dc->slot = dc->e ? fs_entity_field_index_by_tag(dc->e, dc->m->tag) : -1;
        if (!dc->m->has_entity || !dc->m->has_tag) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE, "%s: columns[%zu] has no entity or tag",
                                what, c);
            goto done;
        }
        order[c] = dc;
    }
    qsort(order, t->n_columns, sizeof *order, col_order);
    for (size_t c = 0; c < t->n_columns; c++) {
        dgroup *g;
        if (ngroups == 0 || groups[ngroups - 1].entity != order[c]->m->entity) {
            groups[ngroups].entity = order[c]->m->entity;
            groups[ngroups].ncols = 0;
            ngroups++;
        }
        g = &groups[ngroups - 1];
        if (g->ncols == 64) {
            st = fs_proto__fail(err, FS_PROTO_EFIELDS_LIMIT,
                                "%s: entity %u has more than 64 columns (Table.mask)", what,
                                (unsigned)g->entity);
            goto done;
        }
        for (unsigned k = 0; k < g->ncols; k++)
            if (d->cols[g->cols[k]].m->tag == order[c]->m->tag) {
                st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                    "%s: two columns for field %u of entity %u", what,
                                    (unsigned)order[c]->m->tag, (unsigned)g->entity);
                goto done;
            }
        g->cols[g->ncols++] = (size_t)(order[c] - d->cols);
    }
    /* A row has at most one cell per column of its entity, so this also
     * holds every row to max_fields. */
    for (size_t k = 0; k < ngroups; k++)
        if (groups[k].ncols > lim->max_fields) {
            st = fs_proto__fail(err, FS_PROTO_EFIELDS_LIMIT,
                                "%s: entity %u has %u columns; limit max_fields = %zu", what,
                                (unsigned)groups[k].entity, groups[k].ncols, lim->max_fields);
            goto done;
        }
    /* Cells per column, from the masks. */
    for (size_t i = 0; i < n; i++) {
        uint64_t mask = ARR(t, mask, i);
        const dgroup *g = find_group(groups, ngroups, t->entity[i]);
        size_t ncells = (size_t)__builtin_popcountll(mask);
        unsigned have = g ? g->ncols : 0;
        if (have < 64 && (mask >> have) != 0) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                "%s[%zu] has a cell in a column its entity %u does not have",
                                what, i, (unsigned)t->entity[i]);
            goto done;
        }
        total += ncells;
        if (total > lim->max_cells) {
            st = fs_proto__fail(err, FS_PROTO_ECELLS_LIMIT,
                                "%s has more than %zu field values; limit max_cells = %zu",
                                what, lim->max_cells, lim->max_cells);
            goto done;
        }
        for (unsigned k = 0; k < have; k++)
            if (mask >> k & 1)
                d->cols[g->cols[k]].ncells++;
    }
    d->rowix = calloc(total ? total : 1, sizeof *d->rowix);
    fill = calloc(t->n_columns ? t->n_columns : 1, sizeof *fill);
    if (!d->rowix || !fill)
        goto nomem;
    {
        size_t off = 0;
        for (size_t c = 0; c < t->n_columns; c++) {
            d->cols[c].first = off;
            off += d->cols[c].ncells;
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t mask = ARR(t, mask, i);
        const dgroup *g = mask ? find_group(groups, ngroups, t->entity[i]) : NULL;
        for (unsigned k = 0; g && k < g->ncols; k++)
            if (mask >> k & 1) {
                size_t c = g->cols[k];
                d->rowix[d->cols[c].first + fill[c]++] = i;
            }
    }
    /* Every column's arrays against its cells. */
    for (size_t c = 0; c < t->n_columns; c++) {
        const Fieldsync__V1__Column *m = d->cols[c].m;
        size_t nc = d->cols[c].ncells, nints = 0, nreals = 0, ntexts = 0, nb = 0;
        size_t tbytes = 0;
        if ((st = want_len(m->n_kind, nc, "Column.kind", err)) ||
            (st = want_len(m->n_hlc_ms, nc, "Column.hlc_ms", err)) ||
            (st = want_len(m->n_hlc_count, nc, "Column.hlc_count", err)) ||
            (st = want_len(m->n_device, nc, "Column.device", err)) ||
            (st = want_len(m->n_base_kind, nc, "Column.base_kind", err)))
            goto done;
        if (pull ? m->n_base_kind != 0 : m->n_device != 0) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE, "%s: columns[%zu] carries %s", what, c,
                                pull ? "bases in a pull" : "devices in a push");
            goto done;
        }
        for (int pass = 0; pass < 2; pass++)
            for (size_t k = 0; k < nc; k++) {
                uint32_t kind;
                if (pass == 0) {
                    kind = ARR(m, kind, k);
                } else {
                    kind = ARR(m, base_kind, k);
                    if (kind == 0)
                        continue;
                    nb++;
                    kind--;
                    if (kind == FIELDSYNC__V1__VALUE_KIND__INT_DELTA ||
                        kind == FIELDSYNC__V1__VALUE_KIND__TIME)
                        kind = KIND_MAX + 1; /* not allowed for a base */
                }
                if (kind > KIND_MAX) {
                    st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                        "%s: columns[%zu] has value kind %u, unknown here",
                                        what, c, (unsigned)kind);
                    goto done;
                }
                if (kind_in_ints(kind))
                    nints++;
                else if (kind == FIELDSYNC__V1__VALUE_KIND__REAL)
                    nreals++;
                else if (kind == FIELDSYNC__V1__VALUE_KIND__TEXT)
                    ntexts++;
            }
        if ((st = want_len(m->n_base_ms, nb, "Column.base_ms", err)) ||
            (st = want_len(m->n_base_count, nb, "Column.base_count", err)))
            goto done;
        if (m->n_ints != nints || m->n_reals != nreals || m->n_text_len != ntexts) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                "%s: columns[%zu] has %zu/%zu/%zu ints/reals/texts; its "
                                "cells use %zu/%zu/%zu", what, c, m->n_ints, m->n_reals,
                                m->n_text_len, nints, nreals, ntexts);
            goto done;
        }
        for (size_t k = 0; k < ntexts; k++) {
            if (m->text_len[k] > lim->max_string) {
                st = fs_proto__fail(err, FS_PROTO_ESTRING_LIMIT,
                                    "%s: a text of columns[%zu] is %u bytes; limit "
                                    "max_string = %zu", what, c, (unsigned)m->text_len[k],
                                    lim->max_string);
                goto done;
            }
            tbytes += m->text_len[k];
        }
        if (tbytes != (m->has_text ? m->text.len : 0)) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                "%s: columns[%zu] text is %zu bytes; its lengths add up to %zu",
                                what, c, m->has_text ? m->text.len : (size_t)0, tbytes);
            goto done;
        }
    }
    goto done;

nomem:
    st = fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory decoding %s", what);
done:
    free(order);
    free(groups);
    free(fill);
    if (st != FS_PROTO_OK)
        dtable_free(d);
    return st;
}

/* Reads the columns' values in order. The checks of table_check make every
 * index below safe. */
typedef struct dreader {
    size_t ints, reals, texts, tpos;
    int64_t prev;
} dreader;

/* One value of kind `kind` (a cell's or a base's). cell_ms: the cell's
 * stamp (TIME). Text is copied (owned by *out: fs_value_clear it). */
static fs_status read_value(const Fieldsync__V1__Column *m, dreader *r, uint32_t kind,
                            uint64_t cell_ms, const dtable *d, fs_value *out, fs_error *err)
{
    int64_t x;
    memset(out, 0, sizeof *out);
    switch (kind) {
    case FIELDSYNC__V1__VALUE_KIND__INT:
    case FIELDSYNC__V1__VALUE_KIND__INT_DELTA:
    case FIELDSYNC__V1__VALUE_KIND__TIME:
        x = m->ints[r->ints++];
        if (kind == FIELDSYNC__V1__VALUE_KIND__INT_DELTA)
            x = u64_to_s64(s64_to_u64(r->prev) + s64_to_u64(x));
        else if (kind == FIELDSYNC__V1__VALUE_KIND__TIME &&
                 __builtin_add_overflow(x, (int64_t)cell_ms, &x))
            return fs_error_set(err, FS_ERANGE, "time value overflows");
        r->prev = x;
        *out = fs_value_int(x);
        return FS_OK;
    case FIELDSYNC__V1__VALUE_KIND__E7:
        *out = fs_value_real((double)m->ints[r->ints++] / 1e7);
        return FS_OK;
    case FIELDSYNC__V1__VALUE_KIND__REAL:
        *out = fs_value_real(m->reals[r->reals++]);
        return FS_OK;
    case FIELDSYNC__V1__VALUE_KIND__TEXT: {
        uint32_t len = m->text_len[r->texts++];
        /* An empty text may come with no text bytes at all (data NULL):
         * NULL + 0 is undefined, so empty texts point at "". */
        const uint8_t *p = len ? m->text.data + r->tpos : (const uint8_t *)"";
        r->tpos += len;
        if (!fs_proto__utf8_valid(p, len))
            return fs_error_set(err, FS_EINVAL, "text is not valid UTF-8 (or contains NUL)");
        return fs_value_text(out, (const char *)p, len, err);
    }
    case FIELDSYNC__V1__VALUE_KIND__ID:
        x = m->ints[r->ints++];
        if (x < 0 || (uint64_t)x >= d->nvalues)
            return fs_error_set(err, FS_EBADID, "ID value %lld is not in the table's %zu",
                                (long long)x, d->nvalues);
        out->kind = FS_VAL_ID;
        out->u.id = d->values[x];
        return FS_OK;
    default:
        out->kind = FS_VAL_NULL;
        return FS_OK;
    }
}


/* ------------------------------------------------------------------------ */
/* Sync request                                                              */
/* ------------------------------------------------------------------------ */

/* The smallest stamp a change carries: its base on the wire. */
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

/* Column order within a row: binary fields by slot, then text fields. */
static int tcell_order(const fs_entity *e, const tcell *a, const tcell *b)
{
    bool ta = field_is_text(&e->fields[a->slot]), tb = field_is_text(&e->fields[b->slot]);
    if (ta != tb)
        return ta ? 1 : -1;
    return a->slot < b->slot ? -1 : a->slot > b->slot;
}

static void tcells_sort(const fs_entity *e, tcell *c, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        tcell x = c[i];
        size_t j = i;
        while (j > 0 && tcell_order(e, &c[j - 1], &x) > 0) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
}

/* The checks every text value gets before it is laid into a column. */
static fs_proto_status text_ok(const fs_value *v, const fs_proto_limits *lim,
                               const char *what, size_t i, const char *field, fs_error *err)
{
    if (!value_packable(v))
        return fs_proto__fail(err, FS_PROTO_EVALUE, "%s[%zu].%s: text contains a NUL byte",
                              what, i, field);
    if (v->kind == FS_VAL_TEXT && v->u.text.n > lim->max_string)
        return fs_proto__fail(err, FS_PROTO_ESTRING_LIMIT,
                              "%s[%zu].%s is %u bytes; limit max_string = %zu", what, i, field,
                              (unsigned)v->u.text.n, lim->max_string);
    return FS_PROTO_OK;
}

fs_proto_status fs_proto_sync_request_encode(const fs_sync_request *in,
        fs_proto_encoding enc, const fs_proto_limits *limits, fs_proto_buf *out,
        fs_error *err)
{
    Fieldsync__V1__SyncRequest m = FIELDSYNC__V1__SYNC_REQUEST__INIT;
    Fieldsync__V1__Table table;
    fs_proto_limits lim;
    arena ar = {NULL};
    fs_proto_status st = FS_PROTO_OK;
    fs_error cerr;
    trow *rows = NULL;

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
    m.has_outbox_pending = in->has_outbox_pending;
    m.outbox_pending = in->outbox_pending;
    m.has_rejected_held = in->has_rejected_held;
    m.rejected_held = in->rejected_held;

    rows = arena_calloc(&ar, in->nchanges, sizeof *rows);
    if (in->nchanges && !rows)
        goto nomem;
    for (size_t i = 0; i < in->nchanges; i++) {
        const fs_change *c = &in->changes[i];
        trow *r = &rows[i];
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
        if (fs_schema_entity_by_tag(c->entity->tag) != c->entity) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE, "changes[%zu] has no known entity", i);
            goto done;
        }
        r->e = c->entity;
        r->id = &c->row;
        r->base = change_min_hlc(c);
        if (c->has_tomb) {
            r->tomb = c->deleted ? 2 : 1;
            r->tomb_hlc = c->tomb_hlc;
        }
        r->ncells = c->nfields;
        r->cells = arena_calloc(&ar, c->nfields, sizeof *r->cells);
        if (c->nfields && !r->cells)
            goto nomem;
        for (size_t k = 0; k < c->nfields; k++) {
            const fs_field_change *fc = &c->fields[k];
            const char *name = c->entity->fields[fc->slot].name;
            if ((st = text_ok(&fc->v, &lim, "changes", i, name, err)) != FS_PROTO_OK ||
                (fc->has_base &&
                 (st = text_ok(&fc->base, &lim, "changes", i, name, err)) != FS_PROTO_OK))
                goto done;
            r->cells[k].slot = fc->slot;
            r->cells[k].v = &fc->v;
            r->cells[k].hlc = fc->hlc;
            if (fc->has_base) {
                r->cells[k].base = &fc->base;
                r->cells[k].base_hlc = fc->base_hlc;
            }
        }
        tcells_sort(c->entity, r->cells, r->ncells);
    }
    if (in->nchanges) {
        st = table_encode(&ar, rows, in->nchanges, false, &lim, &table, err);
        if (st != FS_PROTO_OK)
            goto done;
        m.batch = &table;
    }
    st = pack_and_frame(&m.base, enc, &lim, out, err);
    goto done;

nomem:
    st = fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory building SyncRequest");
done:
    arena_free(&ar);
    return st;
}

/* Per-change decode failures of a request, first one per change. */
typedef struct change_errs {
    fs_status *code;         /* FS_OK = fine so far */
    fs_error *text;
} change_errs;

static void change_fail(change_errs *ce, size_t i, fs_status code, const fs_error *e)
{
    if (ce->code[i] != FS_OK)
        return;
    ce->code[i] = code;
    ce->text[i] = *e;
}

/* Keeps a write of a refused change for its audit record: appended without
 * fs_change_set's checks (the value may be the reason for the refusal);
 * v is moved. A second write of the same slot is not kept. Only FS_ENOMEM
 * fails. The value was read under the limits, so this allocates at most a
 * slot per column of the already bounded table. */
static fs_status keep_write(fs_change *c, int slot, fs_value *v, fs_hlc hlc)
{
    fs_field_change *fc;

    for (size_t i = 0; i < c->nfields; i++)
        if (c->fields[i].slot == slot)
            return FS_OK;
    if (c->nfields == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        fs_field_change *p = realloc(c->fields, cap * sizeof *p);
        if (!p)
            return FS_ENOMEM;
        c->fields = p;
        c->cap = cap;
    }
    fc = &c->fields[c->nfields++];
    memset(fc, 0, sizeof *fc);
    fc->slot = (uint16_t)slot;
    fc->v = *v;
    fc->hlc = hlc;
    memset(v, 0, sizeof *v);
    return FS_OK;
}

/* Sorts a decoded change's writes by slot (they arrive column by column). */
static void fields_sort(fs_change *c)
{
    for (size_t i = 1; i < c->nfields; i++) {
        fs_field_change x = c->fields[i];
        size_t j = i;
        while (j > 0 && c->fields[j - 1].slot > x.slot) {
            c->fields[j] = c->fields[j - 1];
            j--;
        }
        c->fields[j] = x;
    }
}

/* The values of a request's table into req->changes (already initialised
 * for the changes of known entities). Only structural faults fail the
 * message; a bad value marks its change. */
static fs_proto_status decode_changes(const Fieldsync__V1__Table *t, const dtable *d,
                                      fs_sync_request *req, change_errs *ce,
                                      fs_proto_report *rep, fs_error *err)
{
    fs_hlc *chain = calloc(d->n ? d->n : 1, sizeof *chain);
    fs_hlc *cellhlc = NULL;
    size_t maxc = 0, tk = 0;
    fs_proto_status st = FS_PROTO_OK;
    fs_error cerr;

    for (size_t c = 0; c < d->ncols; c++)
        if (d->cols[c].ncells > maxc)
            maxc = d->cols[c].ncells;
    cellhlc = calloc(maxc ? maxc : 1, sizeof *cellhlc);
    if (!chain || !cellhlc) {
        st = fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory decoding SyncRequest");
        goto done;
    }
    for (size_t i = 0; i < d->n; i++)
        chain[i] = d->base[i];
    for (size_t c = 0; c < d->ncols; c++) {
        const dcol *dc = &d->cols[c];
        const Fieldsync__V1__Column *m = dc->m;
        dreader r;
        size_t kb = 0;
        memset(&r, 0, sizeof r);
        if (!dc->e)
            continue; /* rows of an unknown entity are already marked */
        for (size_t k = 0; k < dc->ncells; k++) {
            size_t i = d->rowix[dc->first + k];
            fs_value v;
            fs_status vs;
            bool ok = get_stamp(chain[i], ARR(m, hlc_ms, k), ARR(m, hlc_count, k), &cellhlc[k]);
            bool read_ok;
            vs = read_value(m, &r, ARR(m, kind, k), ok ? fs_hlc_ms(cellhlc[k]) : 0, d, &v,
                            &cerr);
            read_ok = vs == FS_OK;
            if (!ok) {
                fs_error_set(&cerr, FS_ERANGE, "%s: a stamp is out of range", dc->e->name);
                change_fail(ce, i, FS_ERANGE, &cerr);
            } else {
                chain[i] = cellhlc[k];
            }
            if (vs != FS_OK)
                change_fail(ce, i, vs, &cerr);
            if (dc->slot < 0) {
                rep->unknown_tags++;
                fs_error_set(&cerr, FS_EUNKNOWN_FIELD, "%s has no field with tag %u on this "
                             "server", dc->e->name, (unsigned)m->tag);
                change_fail(ce, i, FS_EUNKNOWN_FIELD, &cerr);
            }
            if (ce->code[i] == FS_OK) {
                vs = fs_change_set(&req->changes[i], dc->slot, &v, cellhlc[k], &cerr);
                if (vs != FS_OK)
                    change_fail(ce, i, vs, &cerr);
            }
            /* A refused change keeps what it wrote for the audit: the
             * refused value and every other write that could be read. */
            if (ce->code[i] != FS_OK && vs != FS_ENOMEM && read_ok && ok && dc->slot >= 0)
                vs = keep_write(&req->changes[i], dc->slot, &v, cellhlc[k]);
            fs_value_clear(&v);
            if (vs == FS_ENOMEM) {
                st = fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory decoding SyncRequest");
                goto done;
            }
        }
        for (size_t k = 0; k < m->n_base_kind; k++) {
            size_t i = d->rowix[dc->first + k];
            fs_value bv;
            fs_status vs;
            fs_hlc bh = 0;
            bool ok;
            if (m->base_kind[k] == 0)
                continue;
            ok = get_stamp(cellhlc[k], ARR(m, base_ms, kb), ARR(m, base_count, kb), &bh);
            kb++;
            vs = read_value(m, &r, m->base_kind[k] - 1, 0, d, &bv, &cerr);
            if (vs != FS_OK) {
                change_fail(ce, i, vs, &cerr);
            } else if (!ok) {
                fs_error_set(&cerr, FS_ERANGE, "%s: a base stamp is out of range", dc->e->name);
                change_fail(ce, i, FS_ERANGE, &cerr);
            } else if (ce->code[i] == FS_OK) {
                vs = fs_change_set_base(&req->changes[i], dc->slot, &bv, bh, &cerr);
                if (vs != FS_OK)
                    change_fail(ce, i, vs, &cerr);
            }
            fs_value_clear(&bv);
        }
    }
    for (size_t i = 0; i < d->n; i++) {
        fs_hlc th;
        if (!ARR(t, tomb, i))
            continue;
        if (!get_stamp(d->base[i], ARR(t, tomb_ms, tk), ARR(t, tomb_count, tk), &th)) {
            fs_error_set(&cerr, FS_ERANGE, "tombstone stamp out of range");
            change_fail(ce, i, FS_ERANGE, &cerr);
        } else {
            /* Kept on a refused change too: its audit names the delete. */
            fs_change_tombstone(&req->changes[i], t->tomb[i] == 2, th);
        }
        tk++;
    }
done:
    free(chain);
    free(cellhlc);
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
    dtable d;
    change_errs ce = {NULL, NULL};

    memset(&req, 0, sizeof req);
    memset(&d, 0, sizeof d);
    st = decode_begin(&dc, &fieldsync__v1__sync_request__descriptor, true, body, n, enc,
                      limits, report, out, sizeof *out, "sync_request_decode", err);
    if (st != FS_PROTO_OK)
        return st;
    m = (const Fieldsync__V1__SyncRequest *)dc.msg;

    req.version = m->protocol_version;
    st = get_id(m->has_device_id, &m->device_id, true, "SyncRequest.device_id",
                &req.device_id, err);
    if (st != FS_PROTO_OK)
        goto done;
    st = table_check(m->batch, false, &dc.lim, "SyncRequest.batch", &d, err);
    if (st != FS_PROTO_OK)
        goto done;
    st = get_id(m->has_batch_id, &m->batch_id, d.n > 0, "SyncRequest.batch_id",
                &req.batch_id, err);
    if (st != FS_PROTO_OK)
        goto done;
    req.cursor = m->cursor;
    req.page_size = m->page_size;
    req.client_time = m->client_time;
    req.count_pending = m->count_pending;
    req.has_outbox_pending = m->has_outbox_pending;
    req.outbox_pending = m->outbox_pending;
    req.has_rejected_held = m->has_rejected_held;
    req.rejected_held = m->rejected_held;

    if (d.n) {
        req.changes = calloc(d.n, sizeof *req.changes);
        ce.code = calloc(d.n, sizeof *ce.code);
        ce.text = calloc(d.n, sizeof *ce.text);
        if (!req.changes || !ce.code || !ce.text)
            goto nomem;
        req.nchanges = d.n;
    }
    for (size_t i = 0; i < d.n; i++) {
        fs_error cerr;
        fs_status cs;
        if (!d.ents[i]) {
            /* Still audited under the row and device it named. */
            req.changes[i].row = d.ids[i];
            req.changes[i].device = req.device_id;
            dc.rep->unknown_entities++;
            fs_error_set(&cerr, FS_EUNKNOWN_ENTITY, "entity tag %u is unknown to this server",
                         (unsigned)m->batch->entity[i]);
            change_fail(&ce, i, FS_EUNKNOWN_ENTITY, &cerr);
            continue;
        }
        cs = fs_change_init(&req.changes[i], d.ents[i], &d.ids[i], &req.device_id, &cerr);
        if (cs == FS_ENOMEM)
            goto nomem;
        if (cs != FS_OK)
            change_fail(&ce, i, cs, &cerr);
    }
    if (d.n) {
        st = decode_changes(m->batch, &d, &req, &ce, dc.rep, err);
        if (st != FS_PROTO_OK)
            goto done;
    }
    for (size_t i = 0; i < d.n; i++) {
        fs_error cerr;
        if (ce.code[i] == FS_OK) {
            fields_sort(&req.changes[i]);
            if (fs_change_check(&req.changes[i], &cerr) == FS_OK)
                continue;
            change_fail(&ce, i, FS_EINVAL, &cerr);
            ce.code[i] = FS_EINVAL;
        }
        /* One bad change must not sink the batch: record it, go on. What it
         * named moves to the error, for the audit; changes[i] is left
         * empty (entity NULL). */
        if (!req.errors) {
            req.errors = calloc(d.n, sizeof *req.errors);
            if (!req.errors)
                goto nomem;
        }
        req.errors[req.nerrors].index = i;
        req.errors[req.nerrors].code = (int)ce.code[i];
        /* Long detail is cut; the index prefix always survives. */
        fs_utf8_format(req.errors[req.nerrors].text, sizeof req.errors[0].text,
                       "change %zu: %s", i, ce.text[i].text);
        req.errors[req.nerrors].change = req.changes[i];
        memset(&req.changes[i], 0, sizeof req.changes[i]);
        fields_sort(&req.errors[req.nerrors].change);
        req.nerrors++;
    }
    *out = req;
    memset(&req, 0, sizeof req);
    goto done;

nomem:
    st = fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory decoding SyncRequest");
done:
    free(ce.code);
    free(ce.text);
    dtable_free(&d);
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
    for (size_t i = 0; req->errors && i < req->nerrors; i++)
        fs_change_free(&req->errors[i].change);
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
 * a sent cell or tombstone with stamp 0, so the encoder refuses to produce
 * one (a value or a deletion without a stamp). */
static bool cell_sent(const fs_cell *c)
{
    return c->hlc != 0;
}

static bool tomb_sent(const fs_row *r)
{
    return r->del_hlc != 0;
}

/* The smallest stamp of a row (its base on the wire), 0 if none. */
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

/* rows[idx] as a table row; device indexes from dt. */
static fs_proto_status row_prepare(arena *ar, dev_table *dt, const fs_proto_limits *lim,
                                   const fs_pulled_row *pr, size_t idx, trow *t,
                                   fs_error *err)
{
    const fs_row *r = &pr->row;
    const fs_entity *e = r->entity;
    size_t nsent = 0, k = 0;
    long rowdev = -1;
    fs_error ferr;
    fs_proto_status st;

    if (!e || !r->cells || fs_schema_entity_by_tag(e->tag) != e)
        return fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu] has no known entity", idx);
    if (fs_id_is_nil(&r->id))
        return fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu] has the nil id", idx);
    if (r->deleted && r->del_hlc == 0)
        return fs_proto__fail(err, FS_PROTO_EVALUE,
                              "rows[%zu] (%s) is deleted without a tombstone stamp", idx,
                              e->name);
    for (size_t i = 0; i < e->nfields; i++) {
        if (r->cells[i].hlc == 0 && r->cells[i].v.kind != FS_VAL_NULL)
            return fs_proto__fail(err, FS_PROTO_EVALUE,
                                  "rows[%zu] (%s.%s) has a value without a stamp", idx,
                                  e->name, e->fields[i].name);
        if (cell_sent(&r->cells[i]))
            nsent++;
    }
    t->e = e;
    t->id = &r->id;
    t->seq = pr->seq;
    t->base = row_min_hlc(r);
    /* The row's default writer: the first sent cell's, else the tombstone's. */
    for (size_t i = 0; i < e->nfields && rowdev < 0; i++)
        if (cell_sent(&r->cells[i]))
            rowdev = dev_index(dt, &r->cells[i].device);
    if (rowdev < 0 && nsent == 0 && tomb_sent(r))
        rowdev = dev_index(dt, &r->del_device);
    if (rowdev < 0 && (nsent || tomb_sent(r)))
        goto nomem;
    t->dev = rowdev > 0 ? (uint32_t)rowdev : 0;
    t->cells = arena_calloc(ar, nsent, sizeof *t->cells);
    if (nsent && !t->cells)
        goto nomem;
    for (size_t i = 0; i < e->nfields; i++) {
        const fs_cell *c = &r->cells[i];
        long d;
        if (!cell_sent(c))
            continue;
        if (fs_field_check(&e->fields[i], &c->v, &ferr) != FS_OK)
            return fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu] (%s): %s", idx, e->name,
                                  ferr.text);
        st = text_ok(&c->v, lim, "rows", idx, e->fields[i].name, err);
        if (st != FS_PROTO_OK)
            return st;
        d = dev_index(dt, &c->device);
        if (d < 0)
            goto nomem;
        t->cells[k].slot = (uint16_t)i;
        t->cells[k].v = &c->v;
        t->cells[k].hlc = c->hlc;
        t->cells[k].dev = d == rowdev ? 0 : (uint32_t)d + 1;
        k++;
    }
    t->ncells = k;
    tcells_sort(e, t->cells, t->ncells);
    if (tomb_sent(r)) {
        long d = dev_index(dt, &r->del_device);
        if (d < 0)
            goto nomem;
        t->tomb = r->deleted ? 2 : 1;
        t->tomb_hlc = r->del_hlc;
        t->tomb_dev = d == rowdev ? 0 : (uint32_t)d + 1;
    }
    return FS_PROTO_OK;

nomem:
    return fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory encoding rows[%zu]", idx);
}

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
    km->field = (char *)(uintptr_t)wire_text(ar, k->field, sizeof k->field);
    km->rule = (char *)(uintptr_t)wire_text(ar, k->rule, sizeof k->rule);
    if (k->detail[0])
        km->detail = (char *)(uintptr_t)wire_text(ar, k->detail, sizeof k->detail);
    if (!km->field || !km->rule || (k->detail[0] && !km->detail))
        return fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory building SyncResponse");
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
    Fieldsync__V1__Table table;
    trow *rows = NULL;

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
            !reason_known((unsigned)r->reason)) {
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
        if (r->detail[0] &&
            !(rm->detail = (char *)(uintptr_t)wire_text(&ar, r->detail, sizeof r->detail)))
            goto nomem;
    }

    rows = arena_calloc(&ar, in->nrows, sizeof *rows);
    if (in->nrows && !rows)
        goto nomem;
    for (size_t i = 0; i < in->nrows; i++) {
        st = row_prepare(&ar, &dt, &lim, &in->rows[i], i, &rows[i], err);
        if (st != FS_PROTO_OK)
            goto done;
    }
    if (in->nrows) {
        st = table_encode(&ar, rows, in->nrows, true, &lim, &table, err);
        if (st != FS_PROTO_OK)
            goto done;
        m.page = &table;
    }
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
        if (!x->entity || fs_id_is_nil(&x->row) || !exit_known((unsigned)x->reason)) {
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

/* The values of a response's table into resp->rows; out[i] is the slot of
 * table row i (NULL: an unknown entity, skipped). Any fault fails the
 * message: a pull page is all or nothing. */
static fs_proto_status decode_rows(const Fieldsync__V1__Table *t, const dtable *d,
                                   fs_pulled_row **out, const fs_id *devs, size_t ndevs,
                                   fs_proto_report *rep, fs_error *err)
{
    fs_hlc *chain = calloc(d->n ? d->n : 1, sizeof *chain);
    fs_proto_status st = FS_PROTO_OK;
    fs_error cerr;
    size_t tk = 0;

    if (!chain)
        return fs_proto__fail(err, FS_PROTO_ENOMEM, "out of memory decoding SyncResponse");
    for (size_t i = 0; i < d->n; i++)
        chain[i] = d->base[i];
    for (size_t c = 0; c < d->ncols && st == FS_PROTO_OK; c++) {
        const dcol *dc = &d->cols[c];
        const Fieldsync__V1__Column *m = dc->m;
        dreader r;
        memset(&r, 0, sizeof r);
        if (!dc->e)
            continue; /* rows of an unknown entity are skipped whole */
        if (dc->slot < 0)
            rep->unknown_tags += dc->ncells;
        for (size_t k = 0; k < dc->ncells; k++) {
            size_t i = d->rowix[dc->first + k];
            const fs_entity *e = dc->e;
            fs_hlc h;
            fs_cell *cell;
            fs_value v;
            uint32_t dev;
            if (!get_stamp(chain[i], ARR(m, hlc_ms, k), ARR(m, hlc_count, k), &h) || h == 0) {
                /* Stamp 0 means "never written": such cells are never sent. */
                st = fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu] (%s): a stamp is out of "
                                    "range or 0", i, e->name);
                break;
            }
            chain[i] = h;
            if (dc->slot < 0)
                continue; /* a field this version does not know */
            if (read_value(m, &r, ARR(m, kind, k), fs_hlc_ms(h), d, &v, &cerr) != FS_OK ||
                fs_field_check(&e->fields[dc->slot], &v, &cerr) != FS_OK) {
                fs_value_clear(&v);
                st = fs_proto__fail(err, cerr.code == FS_ENOMEM ? FS_PROTO_ENOMEM
                                                                 : FS_PROTO_EVALUE,
                                    "rows[%zu] (%s): %s", i, e->name, cerr.text);
                break;
            }
            cell = &out[i]->row.cells[dc->slot];
            cell->v = v;
            cell->hlc = h;
            dev = ARR(m, device, k) ? m->device[k] - 1 : ARR(t, device, i);
            if (dev >= ndevs) {
                st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                    "rows[%zu] refers to device %u; the table has %zu", i,
                                    (unsigned)dev, ndevs);
                break;
            }
            cell->device = devs[dev];
        }
    }
    for (size_t i = 0; i < d->n && st == FS_PROTO_OK; i++) {
        fs_hlc th;
        uint32_t dev;
        if (!ARR(t, tomb, i))
            continue;
        if (!get_stamp(d->base[i], ARR(t, tomb_ms, tk), ARR(t, tomb_count, tk), &th) ||
            th == 0) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu]: tombstone stamp out of range",
                                i);
            break;
        }
        dev = ARR(t, tomb_device, tk) ? t->tomb_device[tk] - 1 : ARR(t, device, i);
        tk++;
        if (!out[i])
            continue;
        if (dev >= ndevs) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE,
                                "rows[%zu] refers to device %u; the table has %zu", i,
                                (unsigned)dev, ndevs);
            break;
        }
        out[i]->row.deleted = t->tomb[i] == 2;
        out[i]->row.del_hlc = th;
        out[i]->row.del_device = devs[dev];
    }
    free(chain);
    return st;
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
    uint64_t seq = 0;
    dtable d;
    fs_pulled_row **slots = NULL;

    memset(&resp, 0, sizeof resp);
    memset(&d, 0, sizeof d);
    st = decode_begin(&dc, &fieldsync__v1__sync_response__descriptor, true, body, n, enc,
                      limits, report, out, sizeof *out, "sync_response_decode", err);
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
        if (!reason_known((unsigned)rm->reason)) {
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

    st = table_check(m->page, true, &dc.lim, "SyncResponse.page", &d, err);
    if (st != FS_PROTO_OK)
        goto done;
    if (d.n) {
        resp.rows = calloc(d.n, sizeof *resp.rows);
        slots = calloc(d.n, sizeof *slots);
        if (!resp.rows || !slots)
            goto nomem;
    }
    for (size_t i = 0; i < d.n; i++) {
        fs_error cerr;
        seq += s64_to_u64(ARR(m->page, seq_delta, i));
        if (!d.ents[i]) {
            dc.rep->unknown_entities++;
            continue;
        }
        slots[i] = &resp.rows[resp.nrows];
        if (fs_row_init(&slots[i]->row, d.ents[i], &d.ids[i], &cerr) != FS_OK) {
            st = fs_proto__fail(err, FS_PROTO_ENOMEM, "%s", cerr.text);
            goto done;
        }
        if (fs_id_is_nil(&d.ids[i])) {
            st = fs_proto__fail(err, FS_PROTO_EVALUE, "rows[%zu]: Row id is the nil id", i);
            resp.nrows++;
            goto done;
        }
        slots[i]->seq = seq;
        resp.nrows++;
    }
    if (d.n) {
        st = decode_rows(m->page, &d, slots, devs, m->n_devices, dc.rep, err);
        if (st != FS_PROTO_OK)
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
        if (!exit_known((unsigned)xm->reason)) {
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
    free(slots);
    dtable_free(&d);
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
    char message[sizeof in->message];

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
    /* The message often quotes request bytes: repaired, never refused. */
    fs_utf8_clean(message, sizeof message, in->message, strlen(in->message));
    m.message = message;
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

    st = decode_begin(&dc, &fieldsync__v1__error_body__descriptor, false, body, n, enc, limits,
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
