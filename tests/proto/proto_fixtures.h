/*
 * proto_fixtures.h - sample domain messages, deep comparisons and a
 * counting allocator for the libfsproto tests.
 */
#ifndef PROTO_FIXTURES_H
#define PROTO_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs_proto.h"

/* Fixed epoch for all fixture stamps (2024-11-01T00:00:00Z). */
#define FX_MS UINT64_C(1730419200000)

/* A deterministic id: the given time, random part filled from seed. */
void fx_id(fs_id *id, uint64_t ms, uint32_t seed);

/* Deterministic xorshift PRNG for garbage and sample text. */
uint64_t fx_rand(uint64_t *state);

/* A visit change by dev: 8 fields (customer_id, rep_id, planned_at,
 * checkin_at, lat, lon, status, notes of notes_len bytes), a base on notes,
 * stamps near hlc. Asserts on failure. */
void fx_visit_change(fs_change *c, const fs_id *dev, uint32_t seed, fs_hlc hlc,
                     size_t notes_len);

/* A request of n visit changes plus, when n >= 2, one tombstone-only change
 * in place of the last. changes are malloc'd (fs_proto_sync_request_free
 * releases them). */
void fx_request(fs_sync_request *req, size_t n, size_t notes_len);

/* A response with nrows pulled rows (visits, a customer, a deleted row)
 * written by ndevs devices, 3 results and 2 exits. All malloc'd
 * (fs_proto_sync_response_free releases it). */
void fx_response(fs_sync_response *resp, size_t nrows, size_t ndevs);

bool fx_change_eq(const fs_change *a, const fs_change *b);
bool fx_request_eq(const fs_sync_request *a, const fs_sync_request *b);
bool fx_response_eq(const fs_sync_response *a, const fs_sync_response *b);

/* Counting allocator: every byte handed out through fs_proto_allocator. */
typedef struct fx_counter {
    size_t cur, peak, total, calls;
    size_t largest; /* largest single allocation */
} fx_counter;

/* An allocator that records into *c. */
fs_proto_allocator fx_counting_allocator(fx_counter *c);

#endif
