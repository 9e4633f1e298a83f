/*
 * test_conflict_hlc.c - the hybrid logical clock: tick, receive, compare,
 * counter overflow, a wall clock that goes backwards, range exhaustion, and
 * the stamp order with the device id as tie-break.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "conflict/fs_testkit.h"

static void test_layout(void **state)
{
    (void)state;
    fs_hlc h = fs_hlc_make(UINT64_C(1730000000123), 7);

    assert_int_equal(fs_hlc_ms(h), UINT64_C(1730000000123));
    assert_int_equal(fs_hlc_count(h), 7);
    /* Integer order is (ms, count) order. */
    assert_true(fs_hlc_make(10, 0xFFFF) < fs_hlc_make(11, 0));
    assert_true(fs_hlc_make(10, 1) < fs_hlc_make(10, 2));
    assert_int_equal(fs_hlc_ms(fs_hlc_make(FS_HLC_MS_MAX, FS_HLC_COUNT_MAX)), FS_HLC_MS_MAX);
    assert_int_equal(fs_hlc_make(FS_HLC_MS_MAX, FS_HLC_COUNT_MAX), UINT64_MAX);
}

static void test_tick_wall_forward(void **state)
{
    (void)state;
    fs_hlc st = 0, out = 0;

    assert_int_equal(fs_hlc_tick(&st, 1000, &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(1000, 0));
    assert_int_equal(st, out);
    assert_int_equal(fs_hlc_tick(&st, 1005, &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(1005, 0));
    assert_int_equal(st, out);
}

static void test_tick_same_ms_counts(void **state)
{
    (void)state;
    fs_hlc st = 0, out = 0;

    assert_int_equal(fs_hlc_tick(&st, 1000, &out, NULL), FS_OK);
    assert_int_equal(fs_hlc_tick(&st, 1000, &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(1000, 1));
    assert_int_equal(fs_hlc_tick(&st, 1000, &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(1000, 2));
    assert_int_equal(st, fs_hlc_make(1000, 2));
}

static void test_tick_wall_backwards(void **state)
{
    (void)state;
    fs_hlc st = fs_hlc_make(5000, 3), out = 0;

    /* The wall clock jumped back 4 s: keep 5000 ms and bump the counter. */
    assert_int_equal(fs_hlc_tick(&st, 1000, &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(5000, 4));
    assert_int_equal(fs_hlc_tick(&st, 0, &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(5000, 5));
    /* Once the wall catches up, the counter resets. */
    assert_int_equal(fs_hlc_tick(&st, 5001, &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(5001, 0));
}

static void test_tick_counter_overflow_carries(void **state)
{
    (void)state;
    fs_hlc st = fs_hlc_make(1000, FS_HLC_COUNT_MAX - 1), out = 0, prev;

    assert_int_equal(fs_hlc_tick(&st, 1000, &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(1000, FS_HLC_COUNT_MAX));
    prev = out;
    /* A full counter carries into the millisecond. */
    assert_int_equal(fs_hlc_tick(&st, 1000, &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(1001, 0));
    assert_true(out > prev);
    /* Same with a backwards wall clock. */
    st = fs_hlc_make(7000, FS_HLC_COUNT_MAX);
    assert_int_equal(fs_hlc_tick(&st, 10, &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(7001, 0));
}

static void test_tick_65536_in_one_ms(void **state)
{
    (void)state;
    fs_hlc st = 0, out = 0, prev = 0;

    for (unsigned i = 0; i < 65536u + 10u; i++) {
        assert_int_equal(fs_hlc_tick(&st, 42, &out, NULL), FS_OK);
        assert_true(out > prev);
        prev = out;
    }
    /* 65,536 stamps fit in ms 42; the rest ran at most one ms ahead. */
    assert_int_equal(out, fs_hlc_make(43, 9));
}

static void test_tick_exhausted(void **state)
{
    (void)state;
    fs_hlc st = fs_hlc_make(FS_HLC_MS_MAX, FS_HLC_COUNT_MAX - 1), out = 0;
    fs_error err = {0};

    assert_int_equal(fs_hlc_tick(&st, 0, &out, NULL), FS_OK);
    assert_int_equal(out, UINT64_MAX);
    out = 123;
    assert_int_equal(fs_hlc_tick(&st, 0, &out, &err), FS_EOVERFLOW);
    assert_int_equal(err.code, FS_EOVERFLOW);
    assert_true(strlen(err.text) > 0);
    /* Nothing moved. */
    assert_int_equal(st, UINT64_MAX);
    assert_int_equal(out, 123);
    /* The same with err == NULL. */
    assert_int_equal(fs_hlc_tick(&st, 0, &out, NULL), FS_EOVERFLOW);
}

static void test_tick_wall_beyond_range(void **state)
{
    (void)state;
    fs_hlc st = fs_hlc_make(1000, 0), out = 0;
    fs_error err = {0};

    assert_int_equal(fs_hlc_tick(&st, FS_HLC_MS_MAX + 1, &out, &err), FS_EOVERFLOW);
    assert_true(strlen(err.text) > 0);
    assert_int_equal(st, fs_hlc_make(1000, 0));
    assert_int_equal(fs_hlc_tick(&st, FS_HLC_MS_MAX, &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(FS_HLC_MS_MAX, 0));
}

static void test_tick_null_args(void **state)
{
    (void)state;
    fs_hlc st = 5, out = 0;
    fs_error err = {0};

    assert_int_equal(fs_hlc_tick(NULL, 1, &out, &err), FS_EINVAL);
    assert_int_equal(err.code, FS_EINVAL);
    assert_true(strlen(err.text) > 0);
    memset(&err, 0, sizeof err);
    assert_int_equal(fs_hlc_tick(&st, 1, NULL, &err), FS_EINVAL);
    assert_true(strlen(err.text) > 0);
    assert_int_equal(st, 5);
    assert_int_equal(fs_hlc_recv(NULL, 1, 1, &out, NULL), FS_EINVAL);
    assert_int_equal(fs_hlc_recv(&st, 1, 1, NULL, &err), FS_EINVAL);
    assert_int_equal(st, 5);
}

static void test_recv_remote_ahead(void **state)
{
    (void)state;
    fs_hlc st = fs_hlc_make(1000, 3), out = 0;

    assert_int_equal(fs_hlc_recv(&st, 1500, fs_hlc_make(2000, 7), &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(2000, 8));
    assert_int_equal(st, out);
    /* A later local tick orders after the remote stamp even with a slow wall. */
    assert_int_equal(fs_hlc_tick(&st, 1600, &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(2000, 9));
}

static void test_recv_wall_ahead(void **state)
{
    (void)state;
    fs_hlc st = fs_hlc_make(1000, 3), out = 0;

    assert_int_equal(fs_hlc_recv(&st, 3000, fs_hlc_make(2000, 7), &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(3000, 0));
}

static void test_recv_state_ahead(void **state)
{
    (void)state;
    fs_hlc st = fs_hlc_make(2000, 9), out = 0;

    assert_int_equal(fs_hlc_recv(&st, 100, fs_hlc_make(2000, 7), &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(2000, 10));
    assert_int_equal(fs_hlc_recv(&st, 100, fs_hlc_make(1, 0), &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(2000, 11));
    /* Remote equal to state. */
    assert_int_equal(fs_hlc_recv(&st, 100, fs_hlc_make(2000, 11), &out, NULL), FS_OK);
    assert_int_equal(out, fs_hlc_make(2000, 12));
}

static void test_recv_remote_counter_full(void **state)
{
    (void)state;
    fs_hlc st = fs_hlc_make(10, 0), out = 0;

    assert_int_equal(fs_hlc_recv(&st, 10, fs_hlc_make(2000, FS_HLC_COUNT_MAX), &out, NULL),
                     FS_OK);
    assert_int_equal(out, fs_hlc_make(2001, 0));
}

static void test_recv_exhausted(void **state)
{
    (void)state;
    fs_hlc st = fs_hlc_make(10, 0), out = 0;
    fs_error err = {0};

    assert_int_equal(fs_hlc_recv(&st, 10, UINT64_MAX, &out, &err), FS_EOVERFLOW);
    assert_true(strlen(err.text) > 0);
    assert_int_equal(st, fs_hlc_make(10, 0));
}

/* Every stamp a clock hands out is strictly greater than the last one and
 * than every remote stamp it has received, whatever the wall clock does. */
static void test_monotonic_random(void **state)
{
    (void)state;
    uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
    fs_hlc st = 0, out = 0, last = 0, seen = 0;
    uint64_t wall = 100000000;

    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* Wall: mostly forward, sometimes stuck, sometimes backwards. */
        switch (x % 4) {
        case 0: wall += x % 40; break;
        case 1: break;
        case 2: wall -= (x >> 8) % 50; break;
        default: wall += 1; break;
        }
        if ((x >> 20) % 5 == 0) {
            fs_hlc remote = fs_hlc_make(wall + (x >> 24) % 30 - 15, (uint16_t)(x >> 32));
            assert_int_equal(fs_hlc_recv(&st, wall, remote, &out, NULL), FS_OK);
            if (remote > seen)
                seen = remote;
        } else {
            assert_int_equal(fs_hlc_tick(&st, wall, &out, NULL), FS_OK);
        }
        if (out <= last || out <= seen)
            fail_msg("step %d: stamp %llu not after %llu / remote %llu", i,
                     (unsigned long long)out, (unsigned long long)last,
                     (unsigned long long)seen);
        assert_int_equal(st, out);
        last = out;
    }
}

static void test_stamp_cmp(void **state)
{
    (void)state;
    fs_id a, b;

    tk_dev(DEV_A, &a);
    tk_dev(DEV_B, &b);
    assert_true(fs_id_cmp(&a, &b) < 0);
    /* The HLC decides first, whatever the devices. */
    assert_int_equal(fs_stamp_cmp(fs_hlc_make(1, 0), &b, fs_hlc_make(2, 0), &a), -1);
    assert_int_equal(fs_stamp_cmp(fs_hlc_make(2, 0), &a, fs_hlc_make(1, 5), &b), 1);
    assert_int_equal(fs_stamp_cmp(fs_hlc_make(2, 1), &a, fs_hlc_make(2, 2), &b), -1);
    /* Equal HLCs: the device id breaks the tie. */
    assert_int_equal(fs_stamp_cmp(fs_hlc_make(2, 1), &a, fs_hlc_make(2, 1), &b), -1);
    assert_int_equal(fs_stamp_cmp(fs_hlc_make(2, 1), &b, fs_hlc_make(2, 1), &a), 1);
    assert_int_equal(fs_stamp_cmp(fs_hlc_make(2, 1), &a, fs_hlc_make(2, 1), &a), 0);
    /* Large stamps compare as unsigned. */
    assert_int_equal(fs_stamp_cmp(UINT64_MAX, &a, fs_hlc_make(1, 0), &b), 1);
}

static void test_format(void **state)
{
    (void)state;
    char buf[32];
    char small[8];

    fs_hlc_format(fs_hlc_make(UINT64_C(1730000000123), 7), buf, sizeof buf);
    assert_string_equal(buf, "1730000000123.0007");
    fs_hlc_format(0, buf, sizeof buf);
    assert_string_equal(buf, "0.0000");
    fs_hlc_format(UINT64_MAX, buf, 24);
    assert_string_equal(buf, "281474976710655.65535");
    /* A short buffer is truncated and terminated, never overrun. */
    memset(small, 'Z', sizeof small);
    fs_hlc_format(fs_hlc_make(UINT64_C(1730000000123), 7), small, 5);
    assert_string_equal(small, "1730");
    assert_int_equal(small[5], 'Z');
    fs_hlc_format(1, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_tick_wall_forward),
        cmocka_unit_test(test_tick_same_ms_counts),
        cmocka_unit_test(test_tick_wall_backwards),
        cmocka_unit_test(test_tick_counter_overflow_carries),
        cmocka_unit_test(test_tick_65536_in_one_ms),
        cmocka_unit_test(test_tick_exhausted),
        cmocka_unit_test(test_tick_wall_beyond_range),
        cmocka_unit_test(test_tick_null_args),
        cmocka_unit_test(test_recv_remote_ahead),
        cmocka_unit_test(test_recv_wall_ahead),
        cmocka_unit_test(test_recv_state_ahead),
        cmocka_unit_test(test_recv_remote_counter_full),
        cmocka_unit_test(test_recv_exhausted),
        cmocka_unit_test(test_monotonic_random),
        cmocka_unit_test(test_stamp_cmp),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests_name("conflict_hlc", tests, NULL, NULL);
}
