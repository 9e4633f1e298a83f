/*
 * fs_geo.c - check-in distance and geofence verdict (fs_geo.h). The one
 * place the rule lives: the server's stamp on a synced check-in and the
 * distance the console shows both come from here.
 */
#include "fs_geo.h"

#include <math.h>

double fs_geo_distance_m(double lat1, double lon1, double lat2, double lon2)
{
    const double d2r = M_PI / 180.0;
    double dlat = (lat2 - lat1) * d2r, dlon = (lon2 - lon1) * d2r;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * d2r) * cos(lat2 * d2r) * sin(dlon / 2) * sin(dlon / 2);

    /* Rounding can push a past 1 for antipodal points; atan2 of a negative
     * sqrt argument would be NaN. */
    if (a > 1.0)
        a = 1.0;
    return 2 * FS_GEO_EARTH_R_M * atan2(sqrt(a), sqrt(1 - a));
}

const char *fs_geo_verdict(bool has_both, double distance_m, double geofence_m)
{
    if (!has_both || isnan(distance_m))
        return "unverified";
    return distance_m <= geofence_m ? "verified" : "outside_geofence";
}
