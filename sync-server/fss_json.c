/*
 * fss_json.c - a small strict JSON reader for admin request bodies and JSON
 * imports, and the conversion of JSON literals to field values.
 *
 * Strict RFC 8259: no comments, no trailing commas, no leading zeros, no
 * control characters in strings, \u escapes decoded to UTF-8 (surrogate
 * pairs joined, lone surrogates refused). Bounded: nesting depth is capped
 * and the caller bounds the input length, so memory is O(input). Errors name
 * the byte offset.
 */
#include "fss_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FSJ_MAX_DEPTH 32

typedef struct parser {
    const char *p, *end, *start;
    fs_error *err;
    int depth;
} parser;

static fss_status perr(parser *ps, const char *what)
{
    return fss__fail(ps->err, FSS_EINVAL, "JSON: %s at byte %zu", what,
                     (size_t)(ps->p - ps->start));
}

static void ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
                               *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

void fsj_free(fsj *v)
{
    size_t i;

    if (!v)
        return;
    free(v->str);
    for (i = 0; i < v->n; i++) {
        fsj_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool read_u4(parser *ps, unsigned *out)
{
    int i, h;

    if (ps->end - ps->p < 4)
        return false;
    *out = 0;
    for (i = 0; i < 4; i++) {
        if ((h = hexval(ps->p[i])) < 0)
            return false;
        *out = *out * 16 + (unsigned)h;
    }
    ps->p += 4;
    return true;
}

static fss_status parse_string(parser *ps, char **out, size_t *len)
{
    fss_buf b = {0};
    fss_status st = FSS_OK;

    ps->p++; /* opening quote */
    for (;;) {
        unsigned char c;
        if (ps->p >= ps->end) {
            st = perr(ps, "unterminated string");
            goto done;
        }
        c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            break;
        }
        if (c < 0x20) {
            st = perr(ps, "control character in string");
            goto done;
        }
        if (c != '\\') {
            fss_buf_add(&b, ps->p, 1);
            ps->p++;
            continue;
        }
        ps->p++;
        if (ps->p >= ps->end) {
            st = perr(ps, "bad escape");
            goto done;
        }
        c = (unsigned char)*ps->p++;
        switch (c) {
        case '"': fss_buf_add(&b, "\"", 1); break;
        case '\\': fss_buf_add(&b, "\\", 1); break;
        case '/': fss_buf_add(&b, "/", 1); break;
        case 'b': fss_buf_add(&b, "\b", 1); break;
        case 'f': fss_buf_add(&b, "\f", 1); break;
        case 'n': fss_buf_add(&b, "\n", 1); break;
        case 'r': fss_buf_add(&b, "\r", 1); break;
        case 't': fss_buf_add(&b, "\t", 1); break;
        case 'u': {
            unsigned cp, lo;
            char u[4];
            size_t n;
            if (!read_u4(ps, &cp)) {
                st = perr(ps, "bad \\u escape");
                goto done;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    st = perr(ps, "lone surrogate");
                    goto done;
                }
                ps->p += 2;
                if (!read_u4(ps, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    st = perr(ps, "bad surrogate pair");
                    goto done;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                st = perr(ps, "lone surrogate");
                goto done;
            }
            if (cp == 0) {
                st = perr(ps, "NUL in string");
                goto done;
            }
            if (cp < 0x80) {
                u[0] = (char)cp;
                n = 1;
            } else if (cp < 0x800) {
                u[0] = (char)(0xC0 | (cp >> 6));
                u[1] = (char)(0x80 | (cp & 0x3F));
                n = 2;
            } else if (cp < 0x10000) {
                u[0] = (char)(0xE0 | (cp >> 12));
                u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                u[2] = (char)(0x80 | (cp & 0x3F));
                n = 3;
            } else {
                u[0] = (char)(0xF0 | (cp >> 18));
                u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                u[3] = (char)(0x80 | (cp & 0x3F));
                n = 4;
            }
            fss_buf_add(&b, u, n);
            break;
        }
        default:
            st = perr(ps, "bad escape");
            goto done;
        }
    }
    fss_buf_add(&b, "", 0); /* ensure a NUL-terminated allocation */
    if (b.oom) {
        st = fss__fail(ps->err, FSS_ENOMEM, "JSON string");
        goto done;
    }
    *len = b.len;
    *out = b.data;
    memset(&b, 0, sizeof b);
done:
    fss_buf_free(&b);
    return st;
}

static fss_status parse_value(parser *ps, fsj *out);

static fss_status parse_number(parser *ps, fsj *out)
{
    const char *s = ps->p;
    char tmp[64];
    size_t n;
    bool is_int = true;
    char *endp;

    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p >= ps->end)
        return perr(ps, "bad number");
    if (*ps->p == '0') {
        ps->p++;
    } else if (*ps->p >= '1' && *ps->p <= '9') {
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    } else {
        return perr(ps, "bad number");
    }
    if (ps->p < ps->end && *ps->p == '.') {
        is_int = false;
        ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return perr(ps, "bad number");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        is_int = false;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return perr(ps, "bad number");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    n = (size_t)(ps->p - s);
    if (n >= sizeof tmp)
        return perr(ps, "number too long");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    out->kind = FSJ_NUM;
    errno = 0;
    out->num = strtod(tmp, &endp);
    out->is_int = false;
    if (is_int) {
        errno = 0;
        out->i = strtoll(tmp, &endp, 10);
        out->is_int = errno == 0;
    }
    return FSS_OK;
}

static fss_status grow(parser *ps, fsj *v, size_t *cap, bool keys)
{
    size_t nc;
    void *p;

    if (v->n < *cap)
        return FSS_OK;
    nc = *cap ? *cap * 2 : 4;
    p = realloc(v->items, nc * sizeof *v->items);
    if (!p)
        return fss__fail(ps->err, FSS_ENOMEM, "JSON");
    v->items = p;
    if (keys) {
        p = realloc(v->keys, nc * sizeof *v->keys);
        if (!p)
            return fss__fail(ps->err, FSS_ENOMEM, "JSON");
        v->keys = p;
    }
    *cap = nc;
    return FSS_OK;
}

static fss_status parse_container(parser *ps, fsj *out, bool obj)
{
    size_t cap = 0;
    fss_status st;
    char close = obj ? '}' : ']';

    if (++ps->depth > FSJ_MAX_DEPTH)
        return perr(ps, "nesting too deep");
    out->kind = obj ? FSJ_OBJ : FSJ_ARR;
    ps->p++;
    ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return FSS_OK;
    }
    for (;;) {
        if ((st = grow(ps, out, &cap, obj)) != FSS_OK)
            return st;
        memset(&out->items[out->n], 0, sizeof out->items[out->n]);
        if (obj) {
            size_t kl;
            ws(ps);
            if (ps->p >= ps->end || *ps->p != '"')
                return perr(ps, "expected a key");
            out->keys[out->n] = NULL;
            out->n++; /* so fsj_free releases a partial entry */
            if ((st = parse_string(ps, &out->keys[out->n - 1], &kl)) != FSS_OK)
                return st;
            ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return perr(ps, "expected ':'");
            ps->p++;
            if ((st = parse_value(ps, &out->items[out->n - 1])) != FSS_OK)
                return st;
        } else {
            out->n++;
            if ((st = parse_value(ps, &out->items[out->n - 1])) != FSS_OK)
                return st;
        }
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            break;
        }
        return perr(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    ps->depth--;
    return FSS_OK;
}

static bool lit(parser *ps, const char *w)
{
    size_t n = strlen(w);

    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
        return false;
    ps->p += n;
    return true;
}

static fss_status parse_value(parser *ps, fsj *out)
{
    ws(ps);
    if (ps->p >= ps->end)
        return perr(ps, "unexpected end");
    switch (*ps->p) {
    case '{': return parse_container(ps, out, true);
    case '[': return parse_container(ps, out, false);
    case '"': out->kind = FSJ_STR; return parse_string(ps, &out->str, &out->len);
    case 't':
        if (!lit(ps, "true")) return perr(ps, "bad literal");
        out->kind = FSJ_BOOL; out->b = true; return FSS_OK;
    case 'f':
        if (!lit(ps, "false")) return perr(ps, "bad literal");
        out->kind = FSJ_BOOL; out->b = false; return FSS_OK;
    case 'n':
        if (!lit(ps, "null")) return perr(ps, "bad literal");
        out->kind = FSJ_NULL; return FSS_OK;
    default: return parse_number(ps, out);
    }
}

fss_status fsj_parse(const char *p, size_t n, fsj *out, fs_error *err)
{
    parser ps = {p, p + n, p, err, 0};
    fss_status st;

    memset(out, 0, sizeof *out);
    st = parse_value(&ps, out);
    if (st == FSS_OK) {
        ws(&ps);
        if (ps.p != ps.end)
            st = perr(&ps, "trailing data");
    }
    if (st != FSS_OK)
        fsj_free(out);
    return st;
}

const fsj *fsj_get(const fsj *obj, const char *key)
{
    size_t i;

    if (!obj || obj->kind != FSJ_OBJ)
        return NULL;
    for (i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

const char *fsj_str(const fsj *obj, const char *key)
{
    const fsj *v = fsj_get(obj, key);

    return v && v->kind == FSJ_STR ? v->str : NULL;
}

/* Converts text (CSV cell) or a JSON value to a value of field f, then checks
 * it with fs_field_check. */
fss_status fsj_to_value(const fsj *j, const fs_field *f, fs_value *out,
                        fs_error *err)
{
    fs_value v = {0};
    fs_error ferr = {0};

    memset(out, 0, sizeof *out);
    if (j->kind == FSJ_NULL)
        goto check;
    switch (fs_type_kind(f->type)) {
    case FS_VAL_INT:
        if (j->kind == FSJ_BOOL && f->type == FS_TYPE_BOOL)
            v = fs_value_int(j->b);
        else if (j->kind == FSJ_NUM && j->is_int)
            v = fs_value_int(j->i);
        else if (j->kind == FSJ_STR)
            return fsj_text_to_value(j->str, f, out, err);
        else
            return fss__fail(err, FSS_EINVAL, "%s: expected an integer", f->name);
        break;
    case FS_VAL_REAL:
        if (j->kind == FSJ_NUM)
            v = fs_value_real(j->num);
        else if (j->kind == FSJ_STR)
            return fsj_text_to_value(j->str, f, out, err);
        else
            return fss__fail(err, FSS_EINVAL, "%s: expected a number", f->name);
        break;
    case FS_VAL_TEXT:
        if (j->kind != FSJ_STR)
            return fss__fail(err, FSS_EINVAL, "%s: expected a string", f->name);
        if (fs_value_text(&v, j->str, j->len, &ferr) != FS_OK)
            return fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
        break;
    case FS_VAL_ID:
        if (j->kind != FSJ_STR)
            return fss__fail(err, FSS_EINVAL, "%s: expected an id string", f->name);
        return fsj_text_to_value(j->str, f, out, err);
    case FS_VAL_NULL: break;
    }
check:
    if (fs_field_check(f, &v, &ferr) != FS_OK) {
        fs_value_clear(&v);
        return fss__fail(err, FSS_EINVAL, "%s: %s", f->name, ferr.text);
    }
    *out = v;
    return FSS_OK;
}

fss_status fsj_text_to_value(const char *s, const fs_field *f, fs_value *out,
                             fs_error *err)
{
    fs_value v = {0};
    fs_error ferr = {0};
    char *endp;
    size_t n = strlen(s);

    memset(out, 0, sizeof *out);
    if (n == 0)
        goto check; /* empty cell = NULL */
    switch (fs_type_kind(f->type)) {
    case FS_VAL_INT:
        if (f->type == FS_TYPE_BOOL && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
            v = fs_value_int(s[0] == 't');
            break;
        }
        errno = 0;
        v = fs_value_int(strtoll(s, &endp, 10));
        if (errno || *endp)
            return fss__fail(err, FSS_EINVAL, "%s: \"%.40s\" is not an integer",
                             f->name, s);
        break;
    case FS_VAL_REAL:
        errno = 0;
        v = fs_value_real(strtod(s, &endp));
        if (errno || *endp || !isfinite(v.u.r))
            return fss__fail(err, FSS_EINVAL, "%s: \"%.40s\" is not a number",
                             f->name, s);
        break;
    case FS_VAL_TEXT:
        if (fs_value_text(&v, s, n, &ferr) != FS_OK)
            return fss__fail(err, FSS_ENOMEM, "%s", ferr.text);
        break;
    case FS_VAL_ID: {
        fs_id id;
        if (fs_id_parse(s, n, &id, &ferr) != FS_OK)
            return fss__fail(err, FSS_EINVAL, "%s: \"%.40s\" is not an id",
                             f->name, s);
        v = fs_value_idv(&id);
        break;
    }
    case FS_VAL_NULL: break;
    }
check:
    if (fs_field_check(f, &v, &ferr) != FS_OK) {
        fs_value_clear(&v);
        return fss__fail(err, FSS_EINVAL, "%s: %s", f->name, ferr.text);
    }
    *out = v;
    return FSS_OK;
}
