/*
 * fs_geo.h - where a check-in was against where the customer is: the
 * great-circle distance and the geofence verdict a visit's check-in gets
 * (docs/ARCHITECTURE.md, "Visit verification"). Pure functions, no I/O:
 * the server stamps `verification` on a synced check-in with them
 * (fss_sync.c) and returns the same distance to the console (distance_m in
 * GET visits and GET customers/{id}), so the rule and the number shown
 * never differ. Table-tested in tests/conflict/test_conflict_geo.c.
 */
#ifndef FS_GEO_H
#define FS_GEO_H

#include <stdbool.h>

/* The sphere the haversine uses, metres (the mean Earth radius). */
#define FS_GEO_EARTH_R_M 6371000.0

/* Metres between two points given in degrees (haversine on a sphere of
 * FS_GEO_EARTH_R_M; within 0.5% of the ellipsoid, far below a phone's
 * GPS error). Symmetric; 0 for the same point. */
double fs_geo_distance_m(double lat1, double lon1, double lat2, double lon2);

/* The verification a check-in gets: "verified" when it lies within
 * geofence_m of the customer (the boundary counts as inside),
 * "outside_geofence" when farther, "unverified" when either position is
 * unknown (has_both false). Strings are the schema's verification values. */
const char *fs_geo_verdict(bool has_both, double distance_m, double geofence_m);

#endif
