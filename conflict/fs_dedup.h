/*
 * fs_dedup.h - likely duplicate customers (CRM.md section 5, issue 17) as
 * pure functions: the normalised keys two customers are compared by, and
 * the score and reasons of a pair. No I/O; table-tested with Latin and
 * Chinese names (tests/conflict/test_conflict_dedup.c).
 */
#ifndef FS_DEDUP_H
#define FS_DEDUP_H

#include <stdbool.h>
#include <stddef.h>

#define FS_DEDUP_KEY 256

/* The last 9 digits of a phone (every non-digit dropped), so "+44 161 555
 * 0100" and "0161-555-0100" agree; "" when it has fewer than 9 digits. */
void fs_dedup_phone(const char *in, char out[FS_DEDUP_KEY]);
/* A name case-folded (ASCII and Latin-1 letters), punctuation and spaces
 * dropped, and legal-form suffixes removed: trailing words such as Ltd,
 * Limited, LLC, Inc, Corp, Co, GmbH, AG, KG, SA, SARL, SRL, SpA, BV, NV,
 * PLC, Oy, AB, AS, and trailing 有限公司, 股份有限公司, 有限责任公司, 公司,
 * 株式会社, 集团. "" when nothing is left. */
void fs_dedup_name(const char *in, char out[FS_DEDUP_KEY]);
/* A tax id: letters upper-cased, everything but letters and digits
 * dropped. */
void fs_dedup_tax(const char *in, char out[FS_DEDUP_KEY]);

typedef struct fs_dedup_keys {
    char name[FS_DEDUP_KEY], phone[FS_DEDUP_KEY], tax[FS_DEDUP_KEY];
} fs_dedup_keys;
/* The keys of one customer (NULL fields: no key). */
void fs_dedup_keys_of(const char *name, const char *phone, const char *tax_id,
                      fs_dedup_keys *out);

#define FS_DEDUP_TAX 1u
#define FS_DEDUP_NAME 2u
#define FS_DEDUP_PHONE 4u
/* The score (0..100) of a pair and the reasons that matched (FS_DEDUP_*):
 * an equal tax id is 100; two different tax ids are never duplicates (0);
 * otherwise an equal name 60, an equal phone 50, both 100. A pair is a
 * likely duplicate at 50 or more. */
int fs_dedup_score(const fs_dedup_keys *a, const fs_dedup_keys *b,
                   unsigned *reasons);

#endif /* FS_DEDUP_H */
