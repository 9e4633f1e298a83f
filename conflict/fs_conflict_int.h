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

#endif /* FS_CONFLICT_INT_H */
