/*
 * fs_fold.h - text folded for accent- and case-insensitive substring
 * search (issue 15, the console's customer search). Pure: no I/O, no
 * allocation. The server folds each customer's searchable text when it
 * saves the row and folds the query the same way, then matches a plain
 * substring; one function for both sides is what makes "muller" find
 * "Müller". Table-tested in tests/conflict/test_conflict_fold.c.
 */
#ifndef FS_FOLD_H
#define FS_FOLD_H

#include <stddef.h>

/* Bytes fs_fold may write for n bytes of input, with the NUL: folding
 * never lengthens a valid character; an invalid byte becomes U+FFFD. */
#define FS_FOLD_CAP(n) (3 * (size_t)(n) + 1)

/* Folds src[0..n) into dst (cap > 0 bytes) as a NUL-terminated valid UTF-8
 * string and returns its length (without the NUL):
 *  - lower case: ASCII, Latin-1 Supplement, Latin Extended-A, Greek,
 *    Cyrillic (and Ё/ё to е);
 *  - diacritics removed: é->e, ü->u, ñ->n, ç->c, å->a, ő->o, ş->s, ș->s,
 *    ǚ->u (pinyin tones), ά->α, and combining marks U+0300..U+036F dropped
 *    (so decomposed "e\u0301" folds as "é" does);
 *  - letters spelled out: ß and ẞ->ss, æ->ae, œ->oe, ĳ->ij, þ->th; ø->o,
 *    ł->l, đ->d, ð->d, ı->i;
 *  - fullwidth ASCII (U+FF01..U+FF5E: Ａ, ０, ＠) to ASCII, then lowered;
 *  - C0 controls and DEL to a space (so a folded text never holds a
 *    newline: fields joined by "\n" cannot be matched across);
 *  - every other character (CJK, kana, hangul, symbols) kept as it is;
 *  - each byte that does not start a valid sequence (fs_utf8_seq) becomes
 *    U+FFFD.
 * When dst is too small the text is cut before the first folded character
 * that would not fit whole; FS_FOLD_CAP(n) always fits. src may be NULL
 * when n is 0. */
size_t fs_fold(char *dst, size_t cap, const void *src, size_t n);

#endif /* FS_FOLD_H */
