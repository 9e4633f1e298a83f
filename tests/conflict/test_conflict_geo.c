/*
 * test_conflict_geo.c - check-in distance and geofence verdict (fs_geo.c)
 * as tables: known distances (a degree of latitude, city pairs, across
 * the antimeridian, antipodes), symmetry, and the verdict at, inside and
 * beyond the radius and with a position missing.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fs_geo.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_distance(void **state)
{
    static const struct { double lat1, lon1, lat2, lon2, m; } cases[] = {
        {0, 0, 0, 0, 0},
        {0, 0, 1, 0, 111194.927},                      /* one degree of latitude */
        {48.8566, 2.3522, 51.5074, -0.1278, 343556.060}, /* Paris - London */
        {52.52, 13.405, 52.5209, 13.4062, 128.869},      /* a street apart */
        {39.9042, 116.4074, 31.2304, 121.4737, 1067310.171}, /* Beijing - Shanghai */
        {0, 179.9995, 0, -179.9995, 111.195},            /* across the antimeridian */
        {0, 0, 0, 180, 20015086.796},                    /* antipodes: half the equator */
        {-33.8688, 151.2093, 40.7128, -74.006, 15988755.507}, /* Sydney - New York */
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        double d = fs_geo_distance_m(cases[i].lat1, cases[i].lon1, cases[i].lat2,
                                     cases[i].lon2);
        double back = fs_geo_distance_m(cases[i].lat2, cases[i].lon2, cases[i].lat1,
                                        cases[i].lon1);
        if (isnan(d) || fabs(d - cases[i].m) > 0.01)
            fail_msg("case %zu: %.3f m, want %.3f", i, d, cases[i].m);
        if (fabs(d - back) > 1e-6)
            fail_msg("case %zu: not symmetric (%.6f vs %.6f)", i, d, back);
    }
}

static void test_verdict(void **state)
{
    static const struct { bool both; double d, fence; const char *want; } cases[] = {
        {true, 0, 200, "verified"},
        {true, 199.9, 200, "verified"},
        {true, 200, 200, "verified"}, /* the boundary is inside */
        {true, 200.01, 200, "outside_geofence"},
        {true, 343556, 200, "outside_geofence"},
        {false, 0, 200, "unverified"}, /* a position missing */
        {true, NAN, 200, "unverified"},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        const char *got = fs_geo_verdict(cases[i].both, cases[i].d, cases[i].fence);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: %s, want %s", i, got, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_verdict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
