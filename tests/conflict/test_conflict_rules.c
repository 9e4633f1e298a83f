/*
 * test_conflict_rules.c - the row rules (fs_rules.c) as a table: a stored
 * row, a device change merged into it, and what fs_row_check says about the
 * MERGED row (the time window, check-out not before check-in, coordinate
 * pairs, required fields on create); the whole-row audit `sync-server check`
 * runs (fs_row_violations with no change); and UTF-8 in fs_field_check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "conflict/fs_testkit.h"

/* 2025-12-05 00:00 UTC, the "now" every case is judged at. */
#define NOW_MS INT64_C(1764892800000)
#define H(ms) TK_HLC(ms, 0)
/* A device change by A (no tombstone write). */
#define CH(...) {DEV_A, {__VA_ARGS__}, {0, 0, 0, 0}}

typedef struct rule_case {
    const char *name;
    const char *entity;
    tk_rowspec stored;  /* no fields: the change creates the row */
    tk_chspec change;
    fs_status want;
    const char *want_text; /* substring of the message, or NULL */
} rule_case;

static const rule_case cases[] = {
    /* The time window. */
    {"plan at epoch 1 (1970) is refused", "visit", {.f = {{0}}},
     CH({"customer_id", "U:7", H(10), 0, NULL, 0}, {"planned_at", "I:1", H(10), 0, NULL, 0}),
     FS_ERANGE, "visit.planned_at: 1970-01-01 00:00 UTC is before 2000-01-01"},
    {"plan on 2000-01-01 is fine", "visit", {.f = {{0}}},
     CH({"customer_id", "U:7", H(10), 0, NULL, 0},
              {"planned_at", "I:946684800000", H(10), 0, NULL, 0}),
     FS_OK, NULL},
    {"plan a second before 2000 is refused", "visit", {.f = {{0}}},
     CH({"customer_id", "U:7", H(10), 0, NULL, 0},
              {"planned_at", "I:946684799999", H(10), 0, NULL, 0}),
     FS_ERANGE, "planned_at"},
    {"plan in two years is fine", "visit", {.f = {{0}}},
     CH({"customer_id", "U:7", H(10), 0, NULL, 0},
              {"planned_at", "I:1828051200000", H(10), 0, NULL, 0}), /* now + 731 d */
     FS_OK, NULL},
    {"plan past two years ahead is refused", "visit", {.f = {{0}}},
     CH({"customer_id", "U:7", H(10), 0, NULL, 0},
              {"planned_at", "I:1828051200001", H(10), 0, NULL, 0}),
     FS_ERANGE, "visit.planned_at: 2027-12-06 00:00 UTC is more than two years ahead"},
    {"check-in in 1999 is refused", "visit",
     {.f = {{"customer_id", "U:7", H(5), DEV_A, NULL, 0}}},
     CH({"checkin_at", "I:915148800000", H(10), 0, NULL, 0}),
     FS_ERANGE, "checkin_at"},
    {"other times are not event times (due_at in 1990)", "task",
     {.f = {{"customer_id", "U:7", H(5), DEV_A, NULL, 0}}},
     CH({"due_at", "I:631152000000", H(10), 0, NULL, 0}), FS_OK, NULL},

    /* Check-out not before check-in, judged on the merged row. */
    {"checkout alone, before the stored check-in", "visit",
     {.f = {{"customer_id", "U:7", H(5), DEV_A, NULL, 0},
            {"checkin_at", "I:1764900000000", H(5), DEV_A, NULL, 0}}},
     CH({"checkout_at", "I:1764899999999", H(10), 0, NULL, 0}),
     FS_ERANGE, "visit.checkout_at: 2025-12-05 01:59 UTC is before checkin_at"},
    {"checkout equal to check-in is fine", "visit",
     {.f = {{"customer_id", "U:7", H(5), DEV_A, NULL, 0},
            {"checkin_at", "I:1764900000000", H(5), DEV_A, NULL, 0}}},
     CH({"checkout_at", "I:1764900000000", H(10), 0, NULL, 0}), FS_OK, NULL},
    {"check-in and check-out in one change, reversed", "visit",
     {.f = {{"customer_id", "U:7", H(5), DEV_A, NULL, 0}}},
     CH({"checkin_at", "I:1764900000000", H(10), 0, NULL, 0},
              {"checkout_at", "I:1764800000000", H(10), 0, NULL, 0}),
     FS_ERANGE, "checkout_at"},
    {"a check-in moved past the stored check-out", "visit",
     {.f = {{"customer_id", "U:7", H(5), DEV_A, NULL, 0},
            {"checkin_at", "I:1764800000000", H(5), DEV_A, NULL, 0},
            {"checkout_at", "I:1764810000000", H(5), DEV_A, NULL, 0}}},
     CH({"checkin_at", "I:1764820000000", H(10), 0, NULL, 0}),
     FS_ERANGE, "checkout_at"},
    {"a losing checkout leaves the merged row valid", "visit",
     {.f = {{"customer_id", "U:7", H(5), DEV_A, NULL, 0},
            {"checkin_at", "I:1764800000000", H(5), DEV_A, NULL, 0},
            {"checkout_at", "I:1764810000000", H(50), DEV_B, NULL, 0}}},
     CH({"checkout_at", "I:1764700000000", H(10), 0, NULL, 0}), FS_OK, NULL},

    /* Coordinates come in pairs. */
    {"customer lat without lon", "customer", {.f = {{0}}},
     CH({"name", "T:Acme", H(10), 0, NULL, 0}, {"lat", "R:48.1", H(10), 0, NULL, 0}),
     FS_ERANGE, "customer.lon: coordinates need both lat and lon"},
    {"customer lat and lon", "customer", {.f = {{0}}},
     CH({"name", "T:Acme", H(10), 0, NULL, 0}, {"lat", "R:48.1", H(10), 0, NULL, 0},
              {"lon", "R:2.3", H(10), 0, NULL, 0}), FS_OK, NULL},
    {"clearing lon alone leaves lat", "customer",
     {.f = {{"name", "T:Acme", H(5), DEV_A, NULL, 0}, {"lat", "R:48.1", H(5), DEV_A, NULL, 0},
            {"lon", "R:2.3", H(5), DEV_A, NULL, 0}}},
     CH({"lon", "N", H(10), 0, NULL, 0}), FS_ERANGE, "customer.lon"},
    {"clearing both is fine", "customer",
     {.f = {{"name", "T:Acme", H(5), DEV_A, NULL, 0}, {"lat", "R:48.1", H(5), DEV_A, NULL, 0},
            {"lon", "R:2.3", H(5), DEV_A, NULL, 0}}},
     CH({"lat", "N", H(10), 0, NULL, 0}, {"lon", "N", H(10), 0, NULL, 0}), FS_OK, NULL},
    {"check-in lat without lon", "visit",
     {.f = {{"customer_id", "U:7", H(5), DEV_A, NULL, 0}}},
     CH({"checkin_lat", "R:48.1", H(10), 0, NULL, 0}), FS_ERANGE, "checkin_lon"},
    {"an edit elsewhere is not blamed for an old pair", "customer",
     {.f = {{"name", "T:Acme", H(5), DEV_A, NULL, 0}, {"lat", "R:48.1", H(5), DEV_A, NULL, 0}}},
     CH({"phone", "T:123", H(10), 0, NULL, 0}), FS_OK, NULL},

    /* Required fields on create: a customer needs a name. */
    {"device creates a customer without a name", "customer", {.f = {{0}}},
     CH({"phone", "T:123", H(10), 0, NULL, 0}),
     FS_ERANGE, "a new customer needs a name (customer.name is required)"},
    {"device creates a visit without its customer", "visit", {.f = {{0}}},
     CH({"status", "T:planned", H(10), 0, NULL, 0}), FS_ERANGE, "customer_id"},
    {"an update of an existing row needs no name", "customer",
     {.f = {{"phone", "T:1", H(5), DEV_A, NULL, 0}}},
     CH({"phone", "T:123", H(10), 0, NULL, 0}), FS_OK, NULL},
    {"a delete of a never-seen row is not a create", "customer", {.f = {{0}}},
     {DEV_A, {{0}}, {1, 1, H(10), 0}}, FS_OK, NULL},
};

static void test_rule_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rule_case *k = &cases[i];
        const fs_entity *e = fs_schema_entity(k->entity);
        fs_row row = {0};
        fs_change c = {0};
        fs_conflict_list list = {0};
        fs_merge_result res;
        fs_merge_ctx ctx = {.origin = FS_ORIGIN_DEVICE};
        fs_error err = {0};
        char msg[256], rs[512];
        bool created;
        fs_status st;

        assert_non_null(e);
        if (tk_row_build(e, &k->stored, &row, msg, sizeof msg) != 0 ||
            tk_change_build(e, &k->change, &c, msg, sizeof msg) != 0)
            fail_msg("case '%s': %s", k->name, msg);
        created = !fs_row_exists(&row);
        assert_int_equal(fs_merge(&ctx, &row, &c, &res, &list, &err), FS_OK);
        st = fs_row_check(&row, &c, created, (uint64_t)NOW_MS, &err);
        if (st != k->want || (k->want_text && !strstr(err.text, k->want_text)))
            fail_msg("case '%s': got %s '%s', want %s '%s'\nrow %s", k->name,
                     fs_strerror(st), st ? err.text : "", fs_strerror(k->want),
                     k->want_text ? k->want_text : "", tk_row_str(&row, rs, sizeof rs));
        fs_row_free(&row);
        fs_change_free(&c);
        fs_conflict_list_free(&list);
    }
}

typedef struct seen {
    int n;
    char fields[8][32];
} seen;

static bool collect(const fs_row *row, int field, fs_status code, const char *reason,
                    void *payload)
{
    seen *s = payload;

    assert_int_not_equal(code, FS_OK);
    assert_true(strlen(reason) > 0);
    if (s->n < 8)
        snprintf(s->fields[s->n], sizeof s->fields[0], "%s",
                 field >= 0 ? row->entity->fields[field].name : "-");
    s->n++;
    return true;
}

/* The audit (no change) reports every broken rule of a stored row, one per
 * violation, including values an older version let in. */
static void test_audit(void **state)
{
    (void)state;
    const fs_entity *e = fs_schema_entity("customer");
    const fs_entity *ve = fs_schema_entity("visit");
    static const tk_rowspec bad_cust = {.f = {{"lat", "R:48.1", H(5), DEV_A, NULL, 0},
                                              {"address", "T:Caf\xe9", H(5), DEV_A, NULL, 0}}};
    static const tk_rowspec bad_visit = {
        .f = {{"customer_id", "U:7", H(5), DEV_A, NULL, 0},
              {"planned_at", "I:1", H(5), DEV_A, NULL, 0},
              {"checkin_at", "I:1764900000000", H(5), DEV_A, NULL, 0},
              {"checkout_at", "I:1764800000000", H(5), DEV_A, NULL, 0}}};
    static const tk_rowspec good = {.f = {{"name", "T:Caf\xc3\xa9", H(5), DEV_A, NULL, 0}}};
    fs_row row = {0};
    seen s = {0};
    char msg[128];

    assert_int_equal(tk_row_build(e, &bad_cust, &row, msg, sizeof msg), 0);
    assert_int_equal(fs_row_violations(&row, NULL, false, (uint64_t)NOW_MS, collect, &s), 3);
    assert_string_equal(s.fields[0], "address"); /* not UTF-8 */
    assert_string_equal(s.fields[1], "name");    /* required */
    assert_string_equal(s.fields[2], "lon");     /* pair */
    /* Deleted rows keep only the value checks. */
    row.deleted = true;
    memset(&s, 0, sizeof s);
    assert_int_equal(fs_row_violations(&row, NULL, false, (uint64_t)NOW_MS, collect, &s), 1);
    fs_row_free(&row);

    memset(&s, 0, sizeof s);
    assert_int_equal(tk_row_build(ve, &bad_visit, &row, msg, sizeof msg), 0);
    assert_int_equal(fs_row_violations(&row, NULL, false, (uint64_t)NOW_MS, collect, &s), 2);
    assert_string_equal(s.fields[0], "planned_at");
    assert_string_equal(s.fields[1], "checkout_at");
    fs_row_free(&row);

    memset(&s, 0, sizeof s);
    assert_int_equal(tk_row_build(e, &good, &row, msg, sizeof msg), 0);
    assert_int_equal(fs_row_violations(&row, NULL, false, (uint64_t)NOW_MS, collect, &s), 0);
    assert_int_equal(fs_row_check(&row, NULL, false, (uint64_t)NOW_MS, NULL), FS_OK);
    fs_row_free(&row);
}

/* UTF-8 is a field rule: a Latin-1 byte is refused wherever a value is
 * checked (import, admin, device), with the field named. */
static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
        bool ok;
    } t[] = {
        {"Caf\xc3\xa9", 5, true},        {"Caf\xe9", 4, false},
        {"\xe2\x82\xac", 3, true},       {"\xf0\x9f\x98\x80", 4, true},
        {"\xc0\xaf", 2, false},          /* overlong '/' */
        {"\xed\xa0\x80", 3, false},      /* surrogate */
        {"\xf4\x90\x80\x80", 4, false},  /* past U+10FFFF */
        {"\xe2\x82", 2, false},          /* truncated */
        {"\x80", 1, false},              {"", 0, true},
    };
    const fs_entity *e = fs_schema_entity("customer");
    fs_error err = {0};

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        fs_value v = {0};
        assert_int_equal(fs_utf8_valid(t[i].s, t[i].n), t[i].ok);
        assert_int_equal(fs_value_text(&v, t[i].s, t[i].n, NULL), FS_OK);
        assert_int_equal(fs_field_check(&e->fields[0], &v, &err) == FS_OK, t[i].ok);
        if (!t[i].ok)
            assert_non_null(strstr(err.text, "field name is not valid UTF-8"));
        fs_value_clear(&v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_audit),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
