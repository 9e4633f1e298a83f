/*
 * fs_proto_int.h - private declarations shared by the files of libfsproto.
 *
 * Not installed and not included outside proto/. Internal non-static names
 * carry the fs_proto__ prefix (double underscore) so they never collide with
 * the public fs_proto_ API.
 */
#ifndef FS_PROTO_INT_H
#define FS_PROTO_INT_H

#include "fs_proto.h"

#include <protobuf-c/protobuf-c.h>

/* Copies *in, or the defaults when in is NULL, into *out. */
void fs_proto__limits(const fs_proto_limits *in, fs_proto_limits *out);

/* Allocation through the configured allocator (NULL = malloc/free). A size
 * of 0 still returns a unique pointer. */
void *fs_proto__alloc(const fs_proto_allocator *a, size_t n);
void fs_proto__free(const fs_proto_allocator *a, void *p);

/* The same allocator in the shape protobuf-c wants; NULL when a is NULL so
 * that protobuf-c uses its own default. `storage` must outlive its use. */
ProtobufCAllocator *fs_proto__pbc_allocator(const fs_proto_allocator *a,
                                            ProtobufCAllocator *storage);

/* fs_error_set for this library's status type. */
fs_proto_status fs_proto__fail(fs_error *err, fs_proto_status st,
                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Removes the Content-Encoding of a body. For identity no copy is made:
 * *data points into `in`. Otherwise *data points into *owned (new), which the
 * caller releases with fs_proto_buf_free. Enforces max_body and max_inflated.
 */
fs_proto_status fs_proto__unframe(fs_proto_encoding enc, const uint8_t *in,
                                  size_t n, const fs_proto_limits *lim,
                                  fs_proto_buf *owned, const uint8_t **data,
                                  size_t *len, fs_error *err);

/*
 * Walks the protobuf wire bytes of a message of type d without allocating:
 * checks wire types, string lengths (max_string) and UTF-8, repeated counts
 * and packed element counts (max_changes, max_rows, max_devices; column
 * arrays and ids summed over the message against max_cells) and the number
 * of unknown fields per message (max_fields), and counts unknown fields into *rep (may be NULL). Only when
 * this passes does protobuf-c get to unpack, so its allocations are bounded.
 */
fs_proto_status fs_proto__scan(const ProtobufCMessageDescriptor *d,
                               const uint8_t *p, size_t n,
                               const fs_proto_limits *lim,
                               fs_proto_report *rep, fs_error *err);

/*
 * For SyncRequest / SyncResponse bodies, before the scan: refuses a message
 * whose protocol_version (absent = 0) is not FS_PROTO_VERSION with
 * FS_PROTO_EVERSION. A peer of another version lays rows and changes out
 * differently; its fields would otherwise be skipped as unknown, silently.
 */
fs_proto_status fs_proto__check_version(const ProtobufCMessageDescriptor *d,
                                        const uint8_t *p, size_t n, fs_error *err);

/* Strict UTF-8 without NUL (what the scan demands of strings). */
bool fs_proto__utf8_valid(const uint8_t *p, size_t n);

#endif /* FS_PROTO_INT_H */
