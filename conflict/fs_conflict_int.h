/*
 * fs_conflict_int.h - declarations shared inside libfsconflict only.
 */
#ifndef FS_CONFLICT_INT_H
#define FS_CONFLICT_INT_H

#include "fs_conflict.h"

/* fs_quote.c: the lifecycle lattice fs_merge joins FS_POLICY_LIFECYCLE
 * fields with. Rank of a value (-1 = unset or unknown), and whether a rank
 * is a final state. */
int fs__lifecycle_rank(const fs_value *v);
bool fs__lifecycle_rank_final(int rank);

/* fs_rules.c: "2026-12-05 10:30 UTC" for Unix milliseconds (fs_score.c
 * keeps the first 10 bytes, the date). */
void fs__format_utc(int64_t ms, char *out, size_t cap);

#endif /* FS_CONFLICT_INT_H */
