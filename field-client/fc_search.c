/*
 * fc_search.c - what a customer search means, as SQL over two indexes.
 *
 * Two FTS5 indexes hold every live customer's searchable text under one
 * rowid (fc_search_map.rid; kept by fc__fts_refresh_dirty in fc_db.c):
 *
 * - fc_search, unicode61 words with diacritics removed: "cafe" finds
 *   "Café", "mull" finds "Müller" (word prefixes, case- and
 *   accent-insensitive). Words are what a rep types for Latin, Cyrillic or
 *   Greek names.
 * - fc_sub, tokenized by fc_ngram (below): runs of CJK characters and
 *   digits cut into overlapping pairs. Chinese, Japanese and Korean are
 *   written without spaces, so "陆家嘴" inside "上海浦东陆家嘴金融中心" is
 *   no word of its own; and digits are searched inside longer runs ("1000"
 *   in an address, "5550000" in a phone). fc_sub also holds each
 *   customer's and contact's phone numbers as bare digits, so
 *   "1615550000" and "+44 161 555" find "+44 161 555 0000".
 *
 * Why pairs and not SQLite's trigram tokenizer: a two-character query
 * ("张伟", the most common length of a Chinese personal name) cannot use
 * trigrams and fell back to scanning every customer's text (57-95 ms at
 * 25,000 customers in bench/search); with pairs it is one index lookup.
 *
 * A query is split at white space into terms; every term must match
 * (AND). A term with a CJK character, or made of digits and phone
 * punctuation, is a substring term (an fc_sub phrase: the pairs in a row;
 * one character is a prefix of a pair); any other is a word prefix. A
 * query of only digits and phone punctuation is one number. Rank: the sum
 * of the two indexes' bm25 scores with the name weighted above the address
 * and both above contacts, ties in index order.
 */
#include "fc_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes one UTF-8 character at p (n bytes left; fs_utf8_seq judges it):
 * returns its length, 1 for a byte that starts no valid character, and the
 * code point in *cp (U+FFFD for such a byte). */
static size_t utf8_next(const unsigned char *p, size_t n, unsigned *cp)
{
    size_t len = fs_utf8_seq(p, n);

    if (!len) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = len == 1 ? p[0] : p[0] & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++)
        *cp = (*cp << 6) | (p[i] & 0x3F);
    return len;
}

/* Scripts written without spaces between words: CJK ideographs (with
 * extension A and the compatibility block), kana, Hangul. */
static bool is_cjk(unsigned cp)
{
    return (cp >= 0x3040 && cp <= 0x30FF) ||   /* hiragana, katakana */
           (cp >= 0x3400 && cp <= 0x4DBF) ||   /* CJK extension A */
           (cp >= 0x4E00 && cp <= 0x9FFF) ||   /* CJK unified ideographs */
           (cp >= 0xAC00 && cp <= 0xD7AF) ||   /* Hangul syllables */
           (cp >= 0xF900 && cp <= 0xFAFF) ||   /* CJK compatibility */
           (cp >= 0x20000 && cp <= 0x2FA1F);   /* CJK extensions B.. */
}

/* A term is searched as a substring when it holds a CJK character, or
 * when it is a number or a phone number (digits with + - ( ) . /). For a
 * number, *digits gets its digits alone (the form fc_sub's phones keep). */
static bool substring_term(const char *t, size_t n, char *digits, size_t cap)
{
    size_t i = 0, k = 0;
    unsigned cp;
    bool cjk = false, numeric = true;

    while (i < n) {
        size_t l = utf8_next((const unsigned char *)t + i, n - i, &cp);
        if (is_cjk(cp))
            cjk = true;
        if (cp >= '0' && cp <= '9') {
            if (k + 1 < cap)
                digits[k++] = (char)cp;
        } else if (!strchr("+-().,/", (int)cp) || cp == 0)
            numeric = false;
        i += l;
    }
    digits[k] = '\0';
    if (cjk)
        digits[0] = '\0';
    return cjk || (numeric && k > 0);
}

/* Appends n bytes to b, NUL-terminated; remembers a failed allocation. */
static void sb_add(fc_sbuf *b, const char *t, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, t, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Appends `"text"` (FTS5 string, quotes doubled) to b. */
static void fts_string(fc_sbuf *b, const char *t, size_t n)
{
    sb_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++)
        sb_add(b, t[i] == '"' ? "\"\"" : t + i, 1 + (t[i] == '"'));
    sb_add(b, "\"", 1);
}

void fc__search_free(fc_search_plan *p)
{
    free(p->words.p);
    free(p->subs.p);
    memset(p, 0, sizeof *p);
}

static fc_status plan_done(fc_search_plan *p, fs_error *err)
{
    if (p->words.oom || p->subs.oom) {
        fc__search_free(p);
        return fc__fail(err, FC_ENOMEM, "out of memory");
    }
    p->any = p->words.len || p->subs.len;
    return FC_OK;
}

/* Adds a substring term (n bytes at t): a phrase of fc_ngram pairs; a
 * single character matches the pairs it starts ("张"*). */
static void plan_term(fc_search_plan *p, const char *t, size_t n)
{
    unsigned cp;

    if (p->subs.len)
        sb_add(&p->subs, " AND ", 5);
    fts_string(&p->subs, t, n);
    if (utf8_next((const unsigned char *)t, n, &cp) == n)
        sb_add(&p->subs, "*", 1);
}

fc_status fc__search_plan_make(const char *q, fc_search_plan *p, fs_error *err)
{
    const char *s = q;
    char digits[128];

    memset(p, 0, sizeof *p);
    /* A phone number typed with spaces ("+44 161 555") is one number. */
    if (strspn(q, "0123456789+-()./, \t") == strlen(q) && strpbrk(q, "0123456789")) {
        size_t k = 0;
        for (; *s && k + 1 < sizeof digits; s++)
            if (*s >= '0' && *s <= '9')
                digits[k++] = *s;
        digits[k] = '\0';
        plan_term(p, digits, k);
        return plan_done(p, err);
    }
    while (*s) {
        const char *t;
        size_t n;

        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        if (!*s)
            break;
        t = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            s++;
        n = (size_t)(s - t);
        if (!substring_term(t, n, digits, sizeof digits)) {
            /* A word prefix: "caf"* */
            if (p->words.len)
                sb_add(&p->words, " ", 1);
            fts_string(&p->words, t, n);
            sb_add(&p->words, "*", 1);
            continue;
        }
        if (digits[0]) { /* a number: its digits alone */
            t = digits;
            n = strlen(digits);
        }
        plan_term(p, t, n);
    }
    return plan_done(p, err);
}

/*
 * The FROM clause of a search over `table` (the customer table) and the
 * ORDER BY expression. The matches drive: one index's matches, the other's
 * joined by rowid, then the map and the customer row by primary key (CROSS
 * JOIN keeps that order; the planner would otherwise scan the customer
 * table and probe the matches per row). Parameters: ?1 the word query, ?4
 * the substring query (fc__search_bind).
 */
int fc__search_sql(const fc_search_plan *p, const char *table, uint32_t limit,
                   char *out, size_t cap, const char **order)
{
    static const char words[] =
        "(SELECT rowid AS rid, bm25(fc_search, 20.0, 2.0, 1.0, 1.0) AS r"
        " FROM fc_search WHERE fc_search MATCH ?1) w";
    static const char subs[] =
        "(SELECT rowid AS rid, bm25(fc_sub, 20.0, 2.0, 1.0, 1.0, 1.0) AS r"
        " FROM fc_sub WHERE fc_sub MATCH ?4) t";
    int k;

    char top[96];

    if (p->words.len && p->subs.len) {
        k = snprintf(out, cap, " FROM %s CROSS JOIN %s ON t.rid = w.rid", words, subs);
    } else if (limit) {
        /* One index decides alone: it ranks and cuts before the joins (it
         * holds live customers only, so nothing after it filters rows out),
         * instead of joining every match to the customer table first. */
        snprintf(top, sizeof top, " ORDER BY r, rowid LIMIT %u", limit);
        k = snprintf(out, cap, " FROM %.*s%s) %c", (int)strlen(p->words.len ? words : subs) - 3,
                     p->words.len ? words : subs, top, p->words.len ? 'w' : 't');
    } else {
        k = snprintf(out, cap, " FROM %s", p->words.len ? words : subs);
    }
    k += snprintf(out + k, cap - (size_t)k,
                  " CROSS JOIN fc_search_map m ON m.rid = %s.rid"
                  " CROSS JOIN \"%s\" ON \"%s\".id = m.cid",
                  p->words.len ? "w" : "t", table, table);
    /* Ties by index rowid (reading each match's name to break ties cost
     * more than the ranking): the same order the index's own cut uses, so
     * a limit never changes which rows come first. */
    *order = p->words.len && p->subs.len ? "w.r + t.r" : p->words.len ? "w.r" : "t.r";
    return k;
}

void fc__search_bind(const fc_search_plan *p, sqlite3_stmt *st)
{
    if (p->words.len)
        sqlite3_bind_text(st, 1, p->words.p, (int)p->words.len, SQLITE_STATIC);
    if (p->subs.len)
        sqlite3_bind_text(st, 4, p->subs.p, (int)p->subs.len, SQLITE_STATIC);
}

/*
 * fc_ngram, the FTS5 tokenizer of fc_sub. A run is a maximal sequence of
 * CJK characters and ASCII digits (script changes inside it do not cut it:
 * "大道1000号楼" is one run); everything else separates runs and is not
 * indexed (fc_search has the words). A document's run of n characters
 * gives its n-1 overlapping pairs and then its last character alone, so
 * every character starts a token and a one-character prefix query finds
 * it wherever it stands. A query's run gives only its pairs (a run of one
 * character: that character), so a phrase of them matches the run
 * anywhere inside a longer one.
 */
static int ngram_create(void *ctx, const char **argv, int argc, Fts5Tokenizer **out)
{
    static int dummy;

    (void)ctx;
    (void)argv;
    (void)argc;
    *out = (Fts5Tokenizer *)&dummy; /* stateless */
    return SQLITE_OK;
}

static void ngram_delete(Fts5Tokenizer *t)
{
    (void)t;
}

static bool in_run(unsigned cp)
{
    return (cp >= '0' && cp <= '9') || is_cjk(cp);
}

static int ngram_tokenize(Fts5Tokenizer *tok, void *ctx, int flags, const char *text,
                          int n, int (*emit)(void *, int, const char *, int, int, int))
{
    const unsigned char *p = (const unsigned char *)text;
    size_t len = n > 0 ? (size_t)n : 0, i = 0;
    bool document = (flags & FTS5_TOKENIZE_QUERY) == 0;
    unsigned cp;
    int rc = SQLITE_OK;

    (void)tok;
    while (i < len && rc == SQLITE_OK) {
        size_t l = utf8_next(p + i, len - i, &cp), start, prev_len = 0, runlen = 0;
        if (!in_run(cp)) {
            i += l;
            continue;
        }
        /* Walk the run, emitting the pair that ends at each character. */
        start = i;
        for (; i < len && rc == SQLITE_OK; ) {
            l = utf8_next(p + i, len - i, &cp);
            if (!in_run(cp))
                break;
            if (runlen)
                rc = emit(ctx, 0, (const char *)p + start, (int)(prev_len + l),
                          (int)start, (int)(i + l));
            start = runlen ? i : start;
            prev_len = l;
            runlen++;
            i += l;
        }
        /* The last character alone: always in a document, and as the whole
         * token of a one-character query. */
        if (rc == SQLITE_OK && (document || runlen == 1))
            rc = emit(ctx, 0, (const char *)p + start, (int)prev_len, (int)start,
                      (int)(start + prev_len));
    }
    return rc;
}

/* SQL function fc_digits(text): the digits of text, or NULL when it has
 * none. fc_sub keeps phone numbers in this form. */
static void digits_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const unsigned char *t = sqlite3_value_text(argv[0]);
    int n = sqlite3_value_bytes(argv[0]), k = 0;
    char *out;

    (void)argc;
    if (!t || n <= 0) {
        sqlite3_result_null(ctx);
        return;
    }
    if (!(out = sqlite3_malloc(n + 1))) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    for (int i = 0; i < n; i++)
        if (t[i] >= '0' && t[i] <= '9')
            out[k++] = (char)t[i];
    if (!k) {
        sqlite3_free(out);
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_text(ctx, out, k, sqlite3_free);
}

/* The connection's FTS5 API (NULL if FTS5 is missing), as SQLite documents
 * it: a pointer passed out through a bound parameter of `SELECT fts5(?1)`. */
static fts5_api *fts5_of(sqlite3 *db)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return api;
}

int fc__search_register(sqlite3 *db)
{
    static fts5_tokenizer ngram = {ngram_create, ngram_delete, ngram_tokenize};
    fts5_api *api = fts5_of(db);
    int rc;

    if (!api)
        return SQLITE_ERROR;
    rc = api->xCreateTokenizer(api, "fc_ngram", NULL, &ngram, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "fc_digits", 1,
                                     SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                     NULL, digits_fn, NULL, NULL);
    return rc;
}
