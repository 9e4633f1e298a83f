/*
 * fs_hlc.c - the hybrid logical clock.
 *
 * Every synced field carries an HLC stamp: physical milliseconds when clocks
 * behave, logical counting when they do not (a wall clock that goes backwards,
 * many events in one millisecond, a stamp received from a peer that is ahead).
 * The stamp is one uint64 so stores and the wire can compare it as an integer.
 */
#include "fs_conflict.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Smallest stamp strictly greater than `floor` whose physical part is at least
 * `wall_ms`. A full counter carries into the millisecond, i.e. the clock runs
 * ahead of the wall by at most one millisecond per 65,536 events. */
static fs_status next_after(fs_hlc floor, uint64_t wall_ms, fs_hlc *out,
                            fs_error *err)
{
    uint64_t ms = fs_hlc_ms(floor);

    if (wall_ms > ms) {
        if (wall_ms > FS_HLC_MS_MAX)
            return fs_error_set(err, FS_EOVERFLOW,
                                "wall clock %" PRIu64 " ms exceeds the 48-bit HLC range",
                                wall_ms);
        *out = fs_hlc_make(wall_ms, 0);
        return FS_OK;
    }
    if (fs_hlc_count(floor) < FS_HLC_COUNT_MAX) {
        *out = floor + 1;
        return FS_OK;
    }
    if (ms >= FS_HLC_MS_MAX)
        return fs_error_set(err, FS_EOVERFLOW, "HLC exhausted its 48-bit range");
    *out = fs_hlc_make(ms + 1, 0);
    return FS_OK;
}

fs_status fs_hlc_tick(fs_hlc *state, uint64_t wall_ms, fs_hlc *out, fs_error *err)
{
    fs_hlc next = 0;
    fs_status st;

    if (!state || !out)
        return fs_error_set(err, FS_EINVAL, "fs_hlc_tick: NULL argument");
    st = next_after(*state, wall_ms, &next, err);
    if (st != FS_OK)
        return st;
    *state = *out = next;
    return FS_OK;
}

fs_status fs_hlc_recv(fs_hlc *state, uint64_t wall_ms, fs_hlc remote,
                      fs_hlc *out, fs_error *err)
{
    fs_hlc floor, next = 0;
    fs_status st;

    if (!state || !out)
        return fs_error_set(err, FS_EINVAL, "fs_hlc_recv: NULL argument");
    floor = remote > *state ? remote : *state;
    st = next_after(floor, wall_ms, &next, err);
    if (st != FS_OK)
        return st;
    *state = *out = next;
    return FS_OK;
}

int fs_stamp_cmp(fs_hlc a, const fs_id *dev_a, fs_hlc b, const fs_id *dev_b)
{
    if (a != b)
        return a < b ? -1 : 1;
    if (!dev_a || !dev_b)
        return (dev_a != NULL) - (dev_b != NULL);
    int c = memcmp(dev_a->b, dev_b->b, sizeof dev_a->b);
    return (c > 0) - (c < 0);
}

void fs_hlc_format(fs_hlc h, char *out, size_t cap)
{
    if (out && cap)
        snprintf(out, cap, "%" PRIu64 ".%04u", fs_hlc_ms(h), (unsigned)fs_hlc_count(h));
}
