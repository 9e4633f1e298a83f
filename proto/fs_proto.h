/*
 * fs_proto.h - the fieldsync wire codec (public API of libfsproto).
 *
 * Converts the domain types of fs_conflict.h to and from the protobuf
 * messages of proto/sync.proto, frames bodies with the HTTP content codings
 * identity / deflate / gzip, and bounds every untrusted input before memory
 * is spent on it. docs/PROTOCOL.md describes the messages and the rules.
 *
 * Shape of the API: for each message there is a domain struct, an
 * fs_proto_<msg>_encode() (domain -> framed body bytes), an
 * fs_proto_<msg>_decode() (framed body bytes -> domain) and an
 * fs_proto_<msg>_free(). Decoding is all-or-nothing for structural problems
 * (limits, framing, protobuf, malformed ids): on failure *out is left zeroed
 * and owns nothing.
 *
 * Ownership: everything a decode function writes into *out is new and owned
 * by *out; release it with the matching *_free(), which accepts a zeroed or
 * already-freed struct. Encode functions only borrow their input. Byte
 * buffers come back in an fs_proto_buf that remembers its allocator; release
 * them with fs_proto_buf_free().
 *
 * Errors: every fallible function returns fs_proto_status (FS_PROTO_OK = 0)
 * and, if err is non-NULL, fills it with the same code and a message that
 * names the limit or the field and the offending value.
 * No globals: limits and the allocator travel in fs_proto_limits.
 */
#ifndef FS_PROTO_H
#define FS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs_conflict.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The protocol version this codec speaks (SyncRequest.protocol_version).
 * 2: rows and changes travel column-major (sync.proto Table); a sync message
 * of any other version is refused with FS_PROTO_EVERSION. */
#define FS_PROTO_VERSION 2u

/* ------------------------------------------------------------------------ */
/* Status                                                                    */
/* ------------------------------------------------------------------------ */

/* Result codes of this library. Appended, never renumbered. */
typedef enum fs_proto_status {
    FS_PROTO_OK = 0,
    FS_PROTO_EINVAL,          /* a required argument is NULL or inconsistent */
    FS_PROTO_ENOMEM,          /* allocation failed */
    FS_PROTO_EBODY_LIMIT,     /* body on the wire larger than max_body */
    FS_PROTO_EINFLATED_LIMIT, /* decompressed body larger than max_inflated */
    FS_PROTO_ECHANGES_LIMIT,  /* more changes (or results) than max_changes */
    FS_PROTO_EROWS_LIMIT,     /* more pulled rows (or exits) than max_rows */
    FS_PROTO_EFIELDS_LIMIT,   /* more fields in one row/change than max_fields */
    FS_PROTO_ESTRING_LIMIT,   /* a string/bytes value longer than max_string */
    FS_PROTO_EDEVICES_LIMIT,  /* device table longer than max_devices */
    FS_PROTO_EENCODING,       /* unsupported Content-Encoding */
    FS_PROTO_EFRAMING,        /* corrupt, truncated or trailing compressed data */
    FS_PROTO_EPROTOBUF,       /* not a valid protobuf message of the expected type */
    FS_PROTO_EVALUE,          /* well-formed protobuf, invalid domain value
                                 (id not 16 bytes, unknown enum, bad type...) */
    FS_PROTO_ECELLS_LIMIT,    /* more field values in one message than max_cells */
    FS_PROTO_EVERSION         /* a sync message of another protocol_version */
} fs_proto_status;

/* Static, never NULL: "ok", "body too large", ... */
const char *fs_proto_strerror(fs_proto_status st);

/* The HTTP status a server answers for a decode failure: 413 for the body
 * and inflated limits, 415 for FS_PROTO_EENCODING, 500 for FS_PROTO_ENOMEM,
 * 400 for everything else (200 for FS_PROTO_OK). FS_PROTO_EVERSION maps to
 * FS_PROTO_ERR_UNSUPPORTED_VERSION in fs_proto_status_error_code(). */
int fs_proto_http_status(fs_proto_status st);

/* ------------------------------------------------------------------------ */
/* Limits and allocator                                                      */
/* ------------------------------------------------------------------------ */

/*
 * Where transient codec memory comes from: the inflate buffer, zlib's state,
 * the unpacked protobuf message and every fs_proto_buf. Domain objects
 * (fs_change, fs_row, text values) are always plain malloc, because the
 * conflict library owns their lifecycle. Tests install a counting allocator
 * here to prove a zip bomb is refused without allocating its inflated size.
 */
typedef struct fs_proto_allocator {
    void *(*alloc)(void *payload, size_t size); /* NULL on failure */
    void (*free)(void *payload, void *ptr);     /* accepts NULL ptr */
    void *payload;
} fs_proto_allocator;

/*
 * Hard limits, checked before the memory they guard is allocated: the body
 * size before inflating, the inflated size while inflating (in bounded
 * steps), counts and string lengths by a scan of the protobuf wire bytes
 * before protobuf-c unpacks anything. Encoders enforce the same limits, so a
 * peer never builds a body the other side will refuse.
 */
typedef struct fs_proto_limits {
    size_t max_body;      /* bytes on the wire (after Content-Encoding) */
    size_t max_inflated;  /* bytes of protobuf after decompression */
    size_t max_changes;   /* changes in one SyncRequest, results in a response */
    size_t max_rows;      /* pulled rows, scope exits, conflicts in one SyncResponse */
    size_t max_fields;    /* field values in one change or pulled row */
    size_t max_string;    /* bytes in any one string or bytes value */
    size_t max_devices;   /* entries in a SyncResponse device table */
    size_t max_cells;     /* field values in one message, all rows/changes
                             together (and entries of its texts list):
                             bounds the memory protobuf-c needs, whatever
                             the count limits multiply to */
    const fs_proto_allocator *alloc; /* borrowed; NULL = malloc/free */
    int deflate_level;    /* encoders only: the zlib level, 1-9; 0 (the
                             default) = zlib's own default (6) */
} fs_proto_limits;

/* Defaults: max_body 8 MiB, max_inflated 32 MiB, max_changes 5,000,
 * max_rows 50,000, max_fields 64, max_string 64 KiB, max_devices 50,000,
 * max_cells 500,000, alloc NULL, deflate_level 0. Every API taking
 * `const fs_proto_limits *` accepts NULL for these defaults. */
fs_proto_limits fs_proto_limits_default(void);

/* ------------------------------------------------------------------------ */
/* Buffers and framing                                                       */
/* ------------------------------------------------------------------------ */

/* Owned bytes. `alloc` is the allocator that made `data` (NULL = malloc). */
typedef struct fs_proto_buf {
    uint8_t *data;
    size_t len, cap;
    const fs_proto_allocator *alloc;
} fs_proto_buf;

/* Frees data and zeroes the struct; accepts NULL or a zeroed buf. */
void fs_proto_buf_free(fs_proto_buf *buf);

/* HTTP content codings (RFC 9110 8.4.1). deflate is the zlib format
 * (RFC 1950), gzip is RFC 1952. identity is for debugging and tests. */
typedef enum fs_proto_encoding {
    FS_PROTO_IDENTITY,
    FS_PROTO_DEFLATE,
    FS_PROTO_GZIP
} fs_proto_encoding;

/* "identity", "deflate", "gzip": the Content-Encoding header value to send. */
const char *fs_proto_encoding_name(fs_proto_encoding enc);

/* Parses a Content-Encoding header value of len bytes (NUL not required).
 * NULL or empty or "identity" -> identity; "deflate"; "gzip" or "x-gzip";
 * case-insensitive, surrounding blanks ignored. Anything else (including a
 * list such as "gzip, br") is FS_PROTO_EENCODING. */
fs_proto_status fs_proto_encoding_parse(const char *value, size_t len,
                                        fs_proto_encoding *out, fs_error *err);

/* Compresses n bytes with enc into *out (new). Fails with
 * FS_PROTO_EBODY_LIMIT if the result exceeds lim->max_body. */
fs_proto_status fs_proto_compress(fs_proto_encoding enc, const uint8_t *in,
                                  size_t n, const fs_proto_limits *lim,
                                  fs_proto_buf *out, fs_error *err);

/* Decompresses a body into *out (new). Checks n against max_body first, then
 * measures the inflated size in a fixed 64 KiB window, stopping with
 * FS_PROTO_EINFLATED_LIMIT as soon as it passes max_inflated, and only then
 * allocates the measured size and inflates into it. A declared size is never
 * trusted. Corrupt, truncated or trailing data: FS_PROTO_EFRAMING. */
fs_proto_status fs_proto_decompress(fs_proto_encoding enc, const uint8_t *in,
                                    size_t n, const fs_proto_limits *lim,
                                    fs_proto_buf *out, fs_error *err);

/* ------------------------------------------------------------------------ */
/* Decode report                                                             */
/* ------------------------------------------------------------------------ */

/*
 * What a decode did besides producing the domain struct, mainly with things
 * a newer peer sent that this version does not know. Policy (PROTOCOL.md,
 * "Compatibility"): unknown protobuf fields are skipped; unknown enum values
 * map to a documented fallback; pulled rows / exits of an unknown entity and
 * cells of an unknown field tag are skipped; a pushed change with an unknown
 * entity or field is not skipped silently but marked invalid (see
 * fs_sync_request.errors). Every such event is counted here.
 */
typedef struct fs_proto_report {
    size_t body_bytes;        /* bytes on the wire */
    size_t inflated_bytes;    /* protobuf bytes after decompression */
    size_t unknown_fields;    /* protobuf fields skipped (any message) */
    uint32_t first_unknown_field; /* field number of the first one, 0 if none */
    size_t unknown_entities;  /* rows/exits/changes with an unknown entity tag */
    size_t unknown_tags;      /* cells/field writes with an unknown field tag */
    size_t unknown_enums;     /* enum values mapped to their fallback */
} fs_proto_report;

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

/* POST /v1/enroll request. Text is fixed-size so the struct owns no heap. */
#define FS_PROTO_CODE_MAX 64   /* enrollment code bytes */
#define FS_PROTO_NAME_MAX 128  /* device name bytes */
#define FS_PROTO_TOKEN_MAX 128 /* device token bytes */
typedef struct fs_enroll_request {
    uint32_t version;                    /* FS_PROTO_VERSION */
    char code[FS_PROTO_CODE_MAX + 1];    /* NUL-terminated */
    char device_name[FS_PROTO_NAME_MAX + 1];
} fs_enroll_request;

typedef struct fs_enroll_response {
    uint32_t version;
    fs_id device_id;
    fs_id rep_id;
    char token[FS_PROTO_TOKEN_MAX + 1]; /* secret; the client sends it as
                                           "Authorization: Bearer <token>" */
    fs_hlc server_time;
} fs_enroll_response;

/*
 * POST /v1/sync request: push the outbox batch, ask for changes after
 * `cursor`. Every change's `device` must equal device_id (encode checks;
 * decode sets it).
 */
typedef struct fs_sync_request {
    uint32_t version;      /* FS_PROTO_VERSION of the sender */
    fs_id device_id;
    fs_id batch_id;        /* idempotency key: a retry carries the same id */
    uint64_t cursor;       /* last server seq the device has; 0 = bootstrap */
    uint32_t page_size;    /* max rows wanted back; 0 = server default */
    fs_hlc client_time;    /* the device's HLC when it built the request */
    bool count_pending;    /* ask for fs_sync_response.pending (a count
                              query: first round of a sync only) */
    /* The sender's outbox (docs/PROTOCOL.md "Outbox report"): changes still
     * queued beyond this batch, and rejected changes it still holds. A has_
     * flag false = not reported (an older client), distinct from 0. */
    bool has_outbox_pending, has_rejected_held;
    uint32_t outbox_pending, rejected_held;
    fs_change *changes;    /* owned on decode; borrowed on encode */
    size_t nchanges;
    /* Decode only: changes that failed validation (unknown entity or field
     * tag, wrong type, too long, bad enum...). changes[index] is then zeroed
     * (entity == NULL); the server answers it REJECTED / FS_REASON_INVALID
     * with `text`, and the rest of the batch proceeds. Owned. */
    struct fs_proto_change_error *errors;
    size_t nerrors;
} fs_sync_request;

typedef struct fs_proto_change_error {
    size_t index;          /* into changes[] */
    int code;              /* fs_status of the conflict library */
    char text[160];        /* valid UTF-8 */
    /* What the change named, as far as it could be read, so the refusal is
     * audited under it: entity (NULL when its tag is unknown here), row and
     * device always; every field write that could be read, the refused value
     * included (not checked: that is why it was refused), and the tombstone
     * write. Owned; a text that is not valid UTF-8 is never read, so every
     * value here is valid UTF-8. */
    fs_change change;
} fs_proto_change_error;

/* The server's verdict on changes[index] of the request. */
typedef struct fs_sync_result {
    uint32_t index;
    fs_outcome outcome;
    fs_reason reason;      /* unknown on decode -> FS_REASON_NONE (counted) */
    char detail[160];      /* readable; longer text is truncated on decode */
} fs_sync_result;

/* A row changed in the device's scope since the cursor: full current state
 * of every written field (cells with hlc == 0 are not sent). */
typedef struct fs_pulled_row {
    fs_row row;            /* owned */
    uint64_t seq;          /* server sequence number of this version */
} fs_pulled_row;

typedef enum fs_exit_reason {
    FS_EXIT_UNKNOWN = 0,   /* a reason newer than this codec; still remove */
    FS_EXIT_REASSIGNED,    /* customer moved to another rep / territory */
    FS_EXIT_DELETED,       /* row purged at the server */
    FS_EXIT_REVOKED,       /* the rep lost access (e.g. left the territory) */
    /* 4..13 are issue 16's; the ownership lifecycle's (issue 17) from 14. */
    FS_EXIT_RECLAIMED = 14,/* reclaimed to the public pool (no follow-up) */
    FS_EXIT_MERGED         /* (15) merged into another customer (duplicate) */
} fs_exit_reason;
const char *fs_exit_reason_name(fs_exit_reason r);

/* A row leaving the device's scope; the device removes it (and, for a
 * customer, everything hanging off it) after pushing pending changes. */
typedef struct fs_scope_exit {
    const fs_entity *entity;
    fs_id row;
    fs_exit_reason reason;
} fs_scope_exit;

/* An open (unresolved) conflict one of the requesting rep's devices took
 * part in; status display only. Strings are truncated on decode. */
#define FS_PROTO_MAX_CONFLICTS 100 /* the server lists at most this many */
typedef struct fs_open_conflict {
    uint64_t id;            /* the server's conflict id */
    const fs_entity *entity;
    fs_id row;
    char field[32];         /* field name, "_deleted" = tombstone, "" = row */
    char rule[32];          /* fs_rule_name */
    char detail[160];
    bool mine_kept;         /* the kept value is the rep's own write */
    uint64_t created_ms;
} fs_open_conflict;

typedef struct fs_sync_response {
    uint32_t version;
    fs_sync_result *results; /* one per request change, owned on decode */
    size_t nresults;
    fs_pulled_row *rows;     /* ascending seq, owned on decode */
    size_t nrows;
    fs_scope_exit *exits;    /* owned on decode */
    size_t nexits;
    fs_hlc server_time;      /* the client folds it into its HLC */
    uint64_t next_cursor;    /* send as cursor next round */
    bool has_more;           /* repeat the round (with an empty batch if
                                nothing is pending) until false */
    bool wipe;               /* delete the replica and re-enroll */
    bool has_pending;        /* answers fs_sync_request.count_pending */
    uint64_t pending;        /* rows + exits after the request's cursor */
    bool conflicts_listed;   /* last page: open_conflicts/conflicts are the
                                complete current state (replace, don't add) */
    uint32_t open_conflicts; /* how many are open (may exceed nconflicts) */
    fs_open_conflict *conflicts; /* newest first, owned on decode */
    size_t nconflicts;
} fs_sync_response;

/* Machine-readable refusal codes (ErrorBody.code). Appended, never
 * renumbered; a code unknown to the receiver is treated as ..._UNSPECIFIED. */
typedef enum fs_proto_error_code {
    FS_PROTO_ERR_UNSPECIFIED = 0,
    FS_PROTO_ERR_BAD_REQUEST,          /* malformed body or value (400) */
    FS_PROTO_ERR_TOO_LARGE,            /* a size or count limit (413/400) */
    FS_PROTO_ERR_UNSUPPORTED_ENCODING, /* Content-Encoding (415) */
    FS_PROTO_ERR_UNSUPPORTED_VERSION,  /* protocol_version (400) */
    FS_PROTO_ERR_UNAUTHORIZED,         /* missing/bad token (401) */
    FS_PROTO_ERR_REVOKED,              /* device revoked (401, wipe = true) */
    FS_PROTO_ERR_ENROLL_CODE,          /* code unknown, used or expired (403) */
    FS_PROTO_ERR_BATCH_CONFLICT,       /* batch id reused with other content (409) */
    FS_PROTO_ERR_BAD_CURSOR,           /* cursor ahead of the server (400) */
    FS_PROTO_ERR_BUSY,                 /* try again later (503) */
    FS_PROTO_ERR_INTERNAL              /* server fault (500) */
} fs_proto_error_code;
const char *fs_proto_error_code_name(fs_proto_error_code c);
/* The refusal code matching a decode failure (limits -> TOO_LARGE, ...). */
fs_proto_error_code fs_proto_status_error_code(fs_proto_status st);

/* The body of every non-2xx answer. */
typedef struct fs_error_body {
    fs_proto_error_code code;
    char message[FS_ERROR_TEXT]; /* human-readable, names limit and value */
    bool wipe;                   /* the device must delete its replica */
} fs_error_body;

/* ------------------------------------------------------------------------ */
/* Encode / decode / free                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Encode: validates the domain struct (limits, ids, every change with
 * fs_change_check), packs it and frames it with enc into *out (new).
 * Decode: bounds and unframes `body` (n bytes, Content-Encoding enc), scans
 * the protobuf against lim, unpacks, converts, validates; *out (zeroed by
 * the call) is new on FS_PROTO_OK and empty on failure. `report` may be NULL.
 * lim may be NULL (defaults).
 */
fs_proto_status fs_proto_enroll_request_encode(const fs_enroll_request *in,
        fs_proto_encoding enc, const fs_proto_limits *lim, fs_proto_buf *out,
        fs_error *err);
fs_proto_status fs_proto_enroll_request_decode(const uint8_t *body, size_t n,
        fs_proto_encoding enc, const fs_proto_limits *lim,
        fs_enroll_request *out, fs_proto_report *report, fs_error *err);

fs_proto_status fs_proto_enroll_response_encode(const fs_enroll_response *in,
        fs_proto_encoding enc, const fs_proto_limits *lim, fs_proto_buf *out,
        fs_error *err);
fs_proto_status fs_proto_enroll_response_decode(const uint8_t *body, size_t n,
        fs_proto_encoding enc, const fs_proto_limits *lim,
        fs_enroll_response *out, fs_proto_report *report, fs_error *err);

fs_proto_status fs_proto_sync_request_encode(const fs_sync_request *in,
        fs_proto_encoding enc, const fs_proto_limits *lim, fs_proto_buf *out,
        fs_error *err);
fs_proto_status fs_proto_sync_request_decode(const uint8_t *body, size_t n,
        fs_proto_encoding enc, const fs_proto_limits *lim,
        fs_sync_request *out, fs_proto_report *report, fs_error *err);
/* Frees changes and errors (decoded requests only: an encoder's borrowed
 * changes are the caller's). Zeroes the struct. */
void fs_proto_sync_request_free(fs_sync_request *req);

fs_proto_status fs_proto_sync_response_encode(const fs_sync_response *in,
        fs_proto_encoding enc, const fs_proto_limits *lim, fs_proto_buf *out,
        fs_error *err);
fs_proto_status fs_proto_sync_response_decode(const uint8_t *body, size_t n,
        fs_proto_encoding enc, const fs_proto_limits *lim,
        fs_sync_response *out, fs_proto_report *report, fs_error *err);
/* Frees results, rows (fs_row_free each) and exits. Zeroes the struct. */
void fs_proto_sync_response_free(fs_sync_response *resp);

fs_proto_status fs_proto_error_body_encode(const fs_error_body *in,
        fs_proto_encoding enc, const fs_proto_limits *lim, fs_proto_buf *out,
        fs_error *err);
fs_proto_status fs_proto_error_body_decode(const uint8_t *body, size_t n,
        fs_proto_encoding enc, const fs_proto_limits *lim, fs_error_body *out,
        fs_proto_report *report, fs_error *err);

/* Convenience for servers: fills *body from a failed decode's status and
 * fs_error (code via fs_proto_status_error_code, message = err->text). */
void fs_proto_error_body_from(fs_proto_status st, const fs_error *err,
                              fs_error_body *body);

#ifdef __cplusplus
}
#endif
#endif /* FS_PROTO_H */
