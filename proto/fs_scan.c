/*
 * fs_scan.c - a non-allocating pass over protobuf wire bytes.
 *
 * protobuf-c allocates as it unpacks: an array for every repeated field and
 * a struct for every sub-message, sized by what the input says. To keep
 * "bounded before use" true for counts and lengths, not just for the body
 * size, every untrusted message is first walked here, guided by the
 * generated descriptors: each repeated field that matters has its count
 * (for packed arrays: its element count) checked against the matching
 * limit, every string/bytes length against max_string (and strings for
 * UTF-8; a column's concatenated texts are checked slice by slice by the
 * codec), the column arrays summed over the message against max_cells, and
 * unknown fields (from a newer peer) are counted. The walk touches only
 * the input and the stack, and recursion depth is capped.
 */
#include "fs_proto_int.h"

#include <string.h>

#include "sync.pb-c.h"

/* Deepest legitimate nesting is SyncResponse > Table > Column. */
#define SCAN_MAX_DEPTH 8
/* More fields than any message of sync.proto has; checked at run time. */
#define SCAN_MAX_MSG_FIELDS 32

typedef enum limit_kind {
    LIMIT_NONE,
    LIMIT_CHANGES,
    LIMIT_ROWS,
    LIMIT_FIELDS,
    LIMIT_DEVICES,
    LIMIT_CELLS
} limit_kind;

/*
 * Which repeated field is held to which limit. Packed arrays count their
 * elements, not their occurrences. `root` restricts a rule to one top-level
 * message (NULL = any): a Table's per-row arrays are changes in a
 * SyncRequest and rows in a SyncResponse. `total` rules add up over every
 * instance of the message in the body (all the columns of a table) instead
 * of counting per instance.
 */
typedef struct count_rule {
    const ProtobufCMessageDescriptor *root;
    const ProtobufCMessageDescriptor *msg;
    uint32_t field;
    limit_kind kind;
    bool total;
} count_rule;

#define REQ (&fieldsync__v1__sync_request__descriptor)
#define RESP (&fieldsync__v1__sync_response__descriptor)
#define TABLE (&fieldsync__v1__table__descriptor)
#define COLUMN (&fieldsync__v1__column__descriptor)
#define IDS (&fieldsync__v1__ids__descriptor)

static const count_rule count_rules[] = {
    {NULL, RESP, 2, LIMIT_CHANGES, false},  /* results */
    {NULL, RESP, 3, LIMIT_DEVICES, false},  /* devices */
    {NULL, RESP, 6, LIMIT_ROWS, false},     /* exits */
    {NULL, RESP, 12, LIMIT_ROWS, false},    /* conflicts */
    /* Table per-row arrays (one Table per message). */
    {REQ, TABLE, 1, LIMIT_CHANGES, false},  {RESP, TABLE, 1, LIMIT_ROWS, false},
    {REQ, TABLE, 4, LIMIT_CHANGES, false},  {RESP, TABLE, 4, LIMIT_ROWS, false},
    {REQ, TABLE, 5, LIMIT_CHANGES, false},  {RESP, TABLE, 5, LIMIT_ROWS, false},
    {REQ, TABLE, 6, LIMIT_CHANGES, false},  {RESP, TABLE, 6, LIMIT_ROWS, false},
    {REQ, TABLE, 7, LIMIT_CHANGES, false},  {RESP, TABLE, 7, LIMIT_ROWS, false},
    {REQ, TABLE, 8, LIMIT_CHANGES, false},  {RESP, TABLE, 8, LIMIT_ROWS, false},
    {REQ, TABLE, 9, LIMIT_CHANGES, false},  {RESP, TABLE, 9, LIMIT_ROWS, false},
    {REQ, TABLE, 10, LIMIT_CHANGES, false}, {RESP, TABLE, 10, LIMIT_ROWS, false},
    {REQ, TABLE, 11, LIMIT_CHANGES, false}, {RESP, TABLE, 11, LIMIT_ROWS, false},
    {REQ, TABLE, 12, LIMIT_CHANGES, false}, {RESP, TABLE, 12, LIMIT_ROWS, false},
    /* Ids (row ids and the ID value table) and columns: the whole body. */
    {NULL, IDS, 1, LIMIT_CELLS, true},
    {NULL, IDS, 2, LIMIT_CELLS, true},
    {NULL, TABLE, 14, LIMIT_CELLS, true},   /* columns */
    {NULL, COLUMN, 3, LIMIT_CELLS, true},   {NULL, COLUMN, 4, LIMIT_CELLS, true},
    {NULL, COLUMN, 5, LIMIT_CELLS, true},   {NULL, COLUMN, 6, LIMIT_CELLS, true},
    {NULL, COLUMN, 7, LIMIT_CELLS, true},   {NULL, COLUMN, 8, LIMIT_CELLS, true},
    {NULL, COLUMN, 9, LIMIT_CELLS, true},   {NULL, COLUMN, 10, LIMIT_CELLS, true},
    {NULL, COLUMN, 11, LIMIT_CELLS, true},  {NULL, COLUMN, 12, LIMIT_CELLS, true},
};
#define NRULES (sizeof count_rules / sizeof count_rules[0])

/* bytes fields bounded by max_inflated and by their own length arrays
 * rather than by max_string: a column's concatenated texts. */
static bool is_blob(const ProtobufCMessageDescriptor *d, uint32_t field)
{
    return d == COLUMN && field == 15;
}

typedef struct scan_state {
    const ProtobufCMessageDescriptor *root;
    const fs_proto_limits *lim;
    fs_proto_report *rep;
    fs_error *err;
    size_t totals[NRULES];
} scan_state;

static const count_rule *find_rule(const scan_state *s, const ProtobufCMessageDescriptor *d,
                                   uint32_t field)
{
    for (size_t i = 0; i < NRULES; i++)
        if (count_rules[i].msg == d && count_rules[i].field == field &&
            (!count_rules[i].root || count_rules[i].root == s->root))
            return &count_rules[i];
    return NULL;
}

static fs_proto_status check_count(scan_state *s, const ProtobufCMessageDescriptor *d,
                                   const ProtobufCFieldDescriptor *f, size_t count)
{
    const count_rule *r = find_rule(s, d, f->id);
    size_t max;
    const char *name;
    fs_proto_status st;

    if (!r)
        return FS_PROTO_OK;
    if (r->total) {
        size_t *t = &s->totals[r - count_rules];
        *t = count > SIZE_MAX - *t ? SIZE_MAX : *t + count;
        count = *t;
    }
    switch (r->kind) {
    case LIMIT_CHANGES:
        max = s->lim->max_changes, name = "max_changes", st = FS_PROTO_ECHANGES_LIMIT;
        break;
    case LIMIT_ROWS:
        max = s->lim->max_rows, name = "max_rows", st = FS_PROTO_EROWS_LIMIT;
        break;
    case LIMIT_FIELDS:
        max = s->lim->max_fields, name = "max_fields", st = FS_PROTO_EFIELDS_LIMIT;
        break;
    case LIMIT_DEVICES:
        max = s->lim->max_devices, name = "max_devices", st = FS_PROTO_EDEVICES_LIMIT;
        break;
    case LIMIT_CELLS:
        max = s->lim->max_cells, name = "max_cells", st = FS_PROTO_ECELLS_LIMIT;
        break;
    default:
        return FS_PROTO_OK;
    }
    if (count > max)
        return fs_proto__fail(s->err, st, "%s.%s has %zu entries%s; limit %s = %zu",
                              d->short_name, f->name, count,
                              r->total ? " in the message" : "", name, max);
    return FS_PROTO_OK;
}

/* Reads a base-128 varint of at most 10 bytes. False if truncated or too
 * long. */
static bool read_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        uint8_t b;
        if (*pos >= n)
            return false;
        b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            /* The tenth byte may only carry the top bit of a uint64. */
            if (i == 9 && b > 1)
                return false;
            *out = v;
            return true;
        }
    }
    return false;
}

/* Strict UTF-8 (fs_utf8_valid, the one definition in conflict/). NUL is
 * refused too: protobuf-c hands strings over NUL-terminated, so an embedded
 * NUL would silently cut the value short. */
static bool utf8_valid(const uint8_t *p, size_t n)
{
    return !memchr(p, '\0', n) && fs_utf8_valid(p, n);
}

/* The wire type a field of this protobuf type must arrive with. */
static int expected_wire_type(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL:
    case PROTOBUF_C_TYPE_ENUM: return 0;
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return 1;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT: return 5;
    default: return 2;
    }
}

/* Number of elements in a packed array of type t (len bytes at p); false
 * if the bytes cannot be such an array (truncated varint, odd length). */
static bool packed_count(ProtobufCType t, const uint8_t *p, size_t len, size_t *out)
{
    size_t pos = 0, k = 0;
    uint64_t v;
    switch (expected_wire_type(t)) {
    case 0:
        while (pos < len) {
            if (!read_varint(p, len, &pos, &v))
                return false;
            k++;
        }
        *out = k;
        return true;
    case 1:
        *out = len / 8;
        return len % 8 == 0;
    case 5:
        *out = len / 4;
        return len % 4 == 0;
    default:
        return false;
    }
}

static fs_proto_status scan_message(scan_state *s, const ProtobufCMessageDescriptor *d,
                                    const uint8_t *p, size_t n, unsigned depth)
{
    size_t counts[SCAN_MAX_MSG_FIELDS];
    size_t pos = 0, unknown = 0;
    fs_proto_status st;

    if (d->n_fields > SCAN_MAX_MSG_FIELDS)
        return fs_proto__fail(s->err, FS_PROTO_EINVAL,
                              "scan: %s has too many fields", d->short_name);
    memset(counts, 0, sizeof counts);

    while (pos < n) {
        uint64_t key, v;
        uint32_t num;
        int wt;
        size_t start, len = 0;
        const ProtobufCFieldDescriptor *f;

        if (!read_varint(p, n, &pos, &key) || key > UINT32_MAX)
            return fs_proto__fail(s->err, FS_PROTO_EPROTOBUF,
                                  "%s: bad field key at byte %zu", d->short_name, pos);
        num = (uint32_t)(key >> 3);
        wt = (int)(key & 7);
        if (num == 0)
            return fs_proto__fail(s->err, FS_PROTO_EPROTOBUF,
                                  "%s: field number 0 at byte %zu", d->short_name, pos);
        switch (wt) {
        case 0:
            if (!read_varint(p, n, &pos, &v))
                return fs_proto__fail(s->err, FS_PROTO_EPROTOBUF,
                                      "%s: truncated varint in field %u",
                                      d->short_name, num);
            break;
        case 1:
        case 5:
            len = wt == 1 ? 8 : 4;
            if (n - pos < len)
                return fs_proto__fail(s->err, FS_PROTO_EPROTOBUF,
                                      "%s: truncated field %u", d->short_name, num);
            pos += len;
            break;
        case 2:
            if (!read_varint(p, n, &pos, &v) || v > n - pos)
                return fs_proto__fail(s->err, FS_PROTO_EPROTOBUF,
                                      "%s: field %u runs past the end of the message",
                                      d->short_name, num);
            len = (size_t)v;
            pos += len;
            break;
        default:
            /* Groups (3, 4) were never used by this protocol; 6 and 7 do
             * not exist. */
            return fs_proto__fail(s->err, FS_PROTO_EPROTOBUF,
                                  "%s: field %u has unsupported wire type %d",
                                  d->short_name, num, wt);
        }
        start = pos - len;

        f = protobuf_c_message_descriptor_get_field(d, num);
        if (!f) {
            /* A newer peer's field: protobuf-c keeps a copy, the codec
             * ignores it. The copies are bounded per message like fields. */
            unknown++;
            if (s->rep) {
                if (s->rep->unknown_fields == 0)
                    s->rep->first_unknown_field = num;
                s->rep->unknown_fields++;
            }
            if (unknown > s->lim->max_fields)
                return fs_proto__fail(s->err, FS_PROTO_EFIELDS_LIMIT,
                                      "%s carries %zu unknown fields; limit "
                                      "max_fields = %zu",
                                      d->short_name, unknown, s->lim->max_fields);
            continue;
        }

        if (wt != expected_wire_type(f->type) &&
            !(wt == 2 && f->label == PROTOBUF_C_LABEL_REPEATED))
            return fs_proto__fail(s->err, FS_PROTO_EPROTOBUF,
                                  "%s.%s arrived with wire type %d",
                                  d->short_name, f->name, wt);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t k = 1;
            if (wt == 2 && expected_wire_type(f->type) != 2 &&
                !packed_count(f->type, p + start, len, &k))
                return fs_proto__fail(s->err, FS_PROTO_EPROTOBUF,
                                      "%s.%s is not a valid packed array",
                                      d->short_name, f->name);
            counts[f - d->fields] += k;
        }
        if (wt != 2)
            continue;

        if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES) {
            if (len > s->lim->max_string && !is_blob(d, f->id))
                return fs_proto__fail(s->err, FS_PROTO_ESTRING_LIMIT,
                                      "%s.%s is %zu bytes; limit max_string = %zu",
                                      d->short_name, f->name, len,
                                      s->lim->max_string);
            if (f->type == PROTOBUF_C_TYPE_STRING && !utf8_valid(p + start, len))
                return fs_proto__fail(s->err, FS_PROTO_EPROTOBUF,
                                      "%s.%s is not valid UTF-8 "
                                      "(or contains a NUL byte)",
                                      d->short_name, f->name);
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (depth + 1 > SCAN_MAX_DEPTH)
                return fs_proto__fail(s->err, FS_PROTO_EPROTOBUF,
                                      "%s: messages nested too deeply",
                                      d->short_name);
            st = scan_message(s, f->descriptor, p + start, len, depth + 1);
            if (st != FS_PROTO_OK)
                return st;
        }
    }

    for (unsigned i = 0; i < d->n_fields; i++) {
        if (counts[i] == 0)
            continue;
        st = check_count(s, d, &d->fields[i], counts[i]);
        if (st != FS_PROTO_OK)
            return st;
    }
    return FS_PROTO_OK;
}

fs_proto_status fs_proto__scan(const ProtobufCMessageDescriptor *d,
                               const uint8_t *p, size_t n,
                               const fs_proto_limits *lim,
                               fs_proto_report *rep, fs_error *err)
{
    scan_state s;

    memset(&s, 0, sizeof s);
    s.root = d;
    s.lim = lim;
    s.rep = rep;
    s.err = err;
    return scan_message(&s, d, p, n, 0);
}

fs_proto_status fs_proto__check_version(const ProtobufCMessageDescriptor *d,
                                        const uint8_t *p, size_t n, fs_error *err)
{
    size_t pos = 0;
    uint64_t key, v, version = 0;

    /* A top-level walk for field 1; anything malformed is left to the
     * scan, which reports it properly. The last occurrence wins, as in
     * protobuf. */
    while (pos < n) {
        if (!read_varint(p, n, &pos, &key))
            return FS_PROTO_OK;
        switch (key & 7) {
        case 0:
            if (!read_varint(p, n, &pos, &v))
                return FS_PROTO_OK;
            if (key >> 3 == 1)
                version = v;
            break;
        case 1:
            if (n - pos < 8)
                return FS_PROTO_OK;
            pos += 8;
            break;
        case 5:
            if (n - pos < 4)
                return FS_PROTO_OK;
            pos += 4;
            break;
        case 2:
            if (!read_varint(p, n, &pos, &v) || v > n - pos)
                return FS_PROTO_OK;
            pos += (size_t)v;
            break;
        default:
            return FS_PROTO_OK;
        }
    }
    if (version != FS_PROTO_VERSION)
        return fs_proto__fail(err, FS_PROTO_EVERSION,
                              "%s.protocol_version %llu is not supported (this codec "
                              "speaks %u)", d->short_name, (unsigned long long)version,
                              FS_PROTO_VERSION);
    return FS_PROTO_OK;
}

bool fs_proto__utf8_valid(const uint8_t *p, size_t n)
{
    return utf8_valid(p, n);
}
