/*
 * fuzz_store.h - a small central store for the store-backed fuzz targets:
 * a temporary directory, a server opened without HTTP, one rep in territory
 * north (south exists too), the fixed customers and product of
 * fuzz_fixture.h. Every helper aborts on failure: a fuzz harness that cannot
 * build its world must stop loudly, not fuzz an empty store.
 */
#ifndef FUZZ_STORE_H
#define FUZZ_STORE_H

#include "fs_server.h"

#include <stddef.h>
#include <stdint.h>

typedef struct fz_store {
    char dir[256];
    char db[320];
    fss_server *s;                 /* owned; NULL when closed */
    fs_id rep;
    char rep_text[FS_ID_STRLEN + 1];
} fz_store;

/* Prints "fuzz: what: detail" and aborts (a finding for libFuzzer). */
_Noreturn void fz_die(const char *what, const char *detail);

/* Builds the world described above. */
void fz_store_open(fz_store *z);
/* Closes the server and removes the temporary files. Accepts a closed one. */
void fz_store_close(fz_store *z);

/* Replaces every occurrence of the len bytes `from` in buf by `to`. */
void fz_replace(uint8_t *buf, size_t n, const void *from, const void *to,
                size_t len);

#endif /* FUZZ_STORE_H */
