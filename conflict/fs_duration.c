/*
 * fs_duration.c - lengths of time as people type them: "30m", "12h", "1d",
 * "2w", "90s", combinations such as "1h30m", and a bare number of seconds
 * (what scripts wrote before units existed). A pure function with no I/O,
 * in conflict/ so the server's back-office CLI and the field client read
 * durations the same way.
 */
#include "fs_conflict.h"

#include <stdint.h>

fs_status fs_duration_parse(const char *text, uint64_t *seconds, fs_error *err)
{
    uint64_t total = 0;
    const char *p = text;

    if (!text || !*text)
        return (fs_status)fs_error_set(err, FS_ERANGE,
                                       "empty duration (try 30m, 12h, 1d or 2w)");
    while (*p) {
        uint64_t n = 0, unit;
        const char *digits = p;
        while (*p >= '0' && *p <= '9') {
            if (n > (UINT64_MAX - 9) / 10)
                return (fs_status)fs_error_set(err, FS_EOVERFLOW,
                                               "duration \"%s\" is too long", text);
            n = n * 10 + (uint64_t)(*p++ - '0');
        }
        if (p == digits)
            return (fs_status)fs_error_set(
                err, FS_ERANGE, "\"%s\" is not a duration (try 30m, 12h, 1d or 2w)", text);
        switch (*p) {
        case '\0': unit = 1; break; /* bare seconds, only as the whole text */
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        case 'w': unit = 7 * 86400; break;
        default:
            return (fs_status)fs_error_set(
                err, FS_ERANGE, "\"%s\": unknown unit '%c' (use s, m, h, d or w)",
                text, *p);
        }
        if (*p == '\0' && digits != text)
            return (fs_status)fs_error_set(
                err, FS_ERANGE, "\"%s\": a number without a unit after another "
                                "(write 1h30m)", text);
        if (*p)
            p++;
        if (n > (UINT64_MAX - total) / unit)
            return (fs_status)fs_error_set(err, FS_EOVERFLOW,
                                           "duration \"%s\" is too long", text);
        total += n * unit;
    }
    *seconds = total;
    return FS_OK;
}
