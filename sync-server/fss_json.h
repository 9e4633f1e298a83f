/*
 * fss_json.h - the server's small strict JSON reader (fss_json.c).
 *
 * Ownership: fsj_parse fills a caller-owned fsj whose strings and children
 * it owns; release with fsj_free. Lookups return borrowed pointers.
 */
#ifndef FSS_JSON_H
#define FSS_JSON_H

#include "fss_int.h"

typedef enum fsj_kind {
    FSJ_NULL, FSJ_BOOL, FSJ_NUM, FSJ_STR, FSJ_ARR, FSJ_OBJ
} fsj_kind;

typedef struct fsj {
    fsj_kind kind;
    bool b;
    double num;
    bool is_int;     /* an integer literal that fits int64 (in i) */
    int64_t i;
    char *str;       /* FSJ_STR: NUL-terminated, len bytes (may hold no NUL) */
    size_t len;
    struct fsj *items; /* FSJ_ARR / FSJ_OBJ values */
    char **keys;       /* FSJ_OBJ keys */
    size_t n;
} fsj;

fss_status fsj_parse(const char *p, size_t n, fsj *out, fs_error *err);
void fsj_free(fsj *v);
const fsj *fsj_get(const fsj *obj, const char *key);
const char *fsj_str(const fsj *obj, const char *key);
/* JSON value / CSV text to a checked value of field f (new; clear it). */
fss_status fsj_to_value(const fsj *j, const fs_field *f, fs_value *out,
                        fs_error *err);
fss_status fsj_text_to_value(const char *s, const fs_field *f, fs_value *out,
                             fs_error *err);

#endif /* FSS_JSON_H */
