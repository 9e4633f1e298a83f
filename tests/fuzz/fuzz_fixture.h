/*
 * fuzz_fixture.h - the fixed world shared by the store-backed fuzz targets
 * (fuzz_sync, fuzz_import) and the generator of their seed corpus.
 *
 * The seeds are written once, offline, and committed, yet they must talk
 * about rows and a device of a store that each fuzzing process builds
 * afresh. Rows are easy: the harness imports its customers under the fixed
 * ids below. The device id, the rep id and the enrollment code are made by
 * the server at random, so the seeds carry placeholders instead, which the
 * harness swaps for the real values before it sends the input (the fuzzer
 * mutates the placeholder like any other bytes; a mutated one is simply an
 * unknown device, rep or code).
 */
#ifndef FUZZ_FIXTURE_H
#define FUZZ_FIXTURE_H

#include "fs_conflict.h"

#include <string.h>

/* 2026-06-01T00:00:00Z: every stamp in the seeds lies before any run, so
 * the server's clock guard (stamps too far ahead) never refuses a seed. */
#define FZ_EPOCH_MS UINT64_C(1780272000000)

/* Fixed rows and the placeholder device, by a one-byte tag. */
enum {
    FZ_DEVICE = 0xD1,      /* placeholder of the enrolled device's id */
    FZ_CUST_NORTH = 0x11,  /* customer in territory north (the rep's) */
    FZ_CUST_OWNED = 0x12,  /* customer owned by the rep, no territory */
    FZ_CUST_SOUTH = 0x13,  /* customer in south: outside the rep's scope */
    FZ_PRODUCT = 0x14      /* a product (reference data) */
};

static inline void fz_id(unsigned char tag, fs_id *out)
{
    uint8_t rnd[10];

    memset(rnd, tag, sizeof rnd);
    fs_id_from_parts(FZ_EPOCH_MS - 86400000, rnd, out);
}

/* Placeholder enrollment code (12 characters of the code alphabet). */
#define FZ_CODE_PLACEHOLDER "FZZZ-ZZZZ-ZZZZ"
/* Placeholder of the rep's UUID in import seeds (owner_rep columns). */
#define FZ_REP_PLACEHOLDER "ffffffff-ffff-7fff-bfff-ffffffff0e09"

#endif /* FUZZ_FIXTURE_H */
