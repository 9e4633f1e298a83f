/*
 * fs_testkit.h - shared helpers for the conflict/ tests.
 *
 * The golden merge table and the property tests describe rows and changes as
 * compact data (field name, value spec string, HLC, device) instead of code.
 * These helpers turn such specs into fs_row / fs_change objects and print
 * rows and conflict records readably when a case fails.
 *
 * Value specs: "N" null, "I:<int64>", "R:<double>", "T:<text>",
 * "X:<n>" (text of n 'x' bytes, for length limits), "U:<n>" (the test id
 * number n, see tk_row_id; "U:0" is the nil id).
 */
#ifndef FS_TESTKIT_H
#define FS_TESTKIT_H

#include "fs_conflict.h"

#include <stddef.h>
#include <stdint.h>

/* An HLC as a constant expression (fs_hlc_make is not one). */
#define TK_HLC(ms, c) ((((uint64_t)(ms)) << 16) | (uint64_t)(c))

/* Test devices. Their ids sort A < B < C < S (memcmp order). */
enum { TK_DEV_NONE = 0, DEV_A = 1, DEV_B = 2, DEV_C = 3, DEV_S = 9 };

#define TK_MAXF 6
#define TK_MAXCONF 6

/* One field: in a row spec the stored cell, in a change spec a write (dev is
 * ignored there: a change has one writer). `base` (optional) is the value
 * spec the writer saw, with base_hlc. A field name "#<n>" means raw slot n
 * and a leading '!' means "bypass fs_change_set" (to build invalid changes). */
typedef struct tk_fw {
    const char *field;
    const char *val;
    uint64_t hlc;
    int dev;
    const char *base;
    uint64_t base_hlc;
} tk_fw;

/* The tombstone register (row) or a tombstone write (change). */
typedef struct tk_tomb {
    int set;
    int deleted;
    uint64_t hlc;
    int dev;
} tk_tomb;

typedef struct tk_rowspec {
    tk_fw f[TK_MAXF];
    tk_tomb tomb;
} tk_rowspec;

typedef struct tk_chspec {
    int dev; /* TK_DEV_NONE: no change */
    tk_fw f[TK_MAXF];
    tk_tomb tomb;
} tk_chspec;

/* Device id n (DEV_A ...) and row/reference id n, both valid UUIDv7. */
void tk_dev(int n, fs_id *out);
void tk_row_id(int n, fs_id *out);

/* Parses a value spec. Returns 0, or -1 for a malformed spec. */
int tk_value_parse(const char *spec, fs_value *out);

/* Builds `row` (initialised here) for entity e and id tk_row_id(1).
 * Returns 0, or -1 with a message in msg. */
int tk_row_build(const fs_entity *e, const tk_rowspec *s, fs_row *row,
                 char *msg, size_t cap);
/* Builds change `c` (initialised here) for entity e, row tk_row_id(1). */
int tk_change_build(const fs_entity *e, const tk_chspec *s, fs_change *c,
                    char *msg, size_t cap);

/* Readable renderings for failure messages; return buf. */
const char *tk_value_str(const fs_value *v, char *buf, size_t cap);
const char *tk_row_str(const fs_row *r, char *buf, size_t cap);
const char *tk_conflict_str(const fs_conflict *c, char *buf, size_t cap);
/* Name of a device id built by tk_dev ("A", "B", ...), or "?". */
const char *tk_dev_name(const fs_id *id);

#endif /* FS_TESTKIT_H */
