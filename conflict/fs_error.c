/*
 * fs_error.c - status strings and the caller-supplied error struct.
 *
 * Errors never allocate: the message is formatted into the fixed buffer of an
 * fs_error the caller owns (or dropped when the caller passed NULL). Messages
 * quote client bytes (a refused value, a field name), and they travel on to
 * result details, conflict records and ErrorBody texts, so the text is made
 * valid UTF-8 here, once, and cut only at a character boundary.
 */
#include "fs_conflict.h"

#include <stdarg.h>

const char *fs_strerror(fs_status st)
{
    switch (st) {
    case FS_OK: return "ok";
    case FS_EINVAL: return "invalid argument";
    case FS_ENOMEM: return "out of memory";
    case FS_EUNKNOWN_ENTITY: return "unknown entity";
    case FS_EUNKNOWN_FIELD: return "unknown field";
    case FS_ETYPE: return "wrong value type";
    case FS_ETOOLONG: return "text too long";
    case FS_EBADID: return "malformed id";
    case FS_ERANGE: return "value out of range";
    case FS_EOVERFLOW: return "overflow";
    case FS_ERANDOM: return "random source failed";
    case FS_ETRANSITION: return "transition not allowed";
    case FS_EDUPLICATE: return "field written twice in one change";
    }
    return "unknown status";
}

int fs_error_vset(fs_error *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        fs_utf8_vformat(err->text, sizeof err->text, fmt, ap);
    }
    return code;
}

int fs_error_set(fs_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fs_error_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}
