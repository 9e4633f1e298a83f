/*
 * test_conflict_totals.c - quote totals: one function, int64 minor units,
 * half-up rounding per line and once on the subtotal, range and overflow
 * errors, and the row form that skips tombstoned and foreign lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "conflict/fs_testkit.h"

typedef struct tcase {
    const char *name;
    fs_quote_line_amount lines[4];
    size_t n;
    int64_t quote_bp;
    fs_status st;
    int64_t subtotal, discount, total;
} tcase;

static const tcase tcases[] = {
    {"empty quote", {{0, 0, 0}}, 0, 0, FS_OK, 0, 0, 0},
    {"empty quote with discount", {{0, 0, 0}}, 0, 5000, FS_OK, 0, 0, 0},
    {"one line, no discount", {{3, 199, 0}}, 1, 0, FS_OK, 597, 0, 597},
    {"line discount exact", {{2, 1000, 2500}}, 1, 0, FS_OK, 1500, 0, 1500},
    {"line discount half rounds up", {{1, 5, 1000}}, 1, 0, FS_OK, 4, 0, 4},
    {"line discount 0.3 rounds down", {{1, 3, 1000}}, 1, 0, FS_OK, 3, 0, 3},
    {"line discount 0.7 rounds up", {{1, 7, 1000}}, 1, 0, FS_OK, 6, 0, 6},
    {"line discount 12.5% of 4 = 0.5 up", {{1, 4, 1250}}, 1, 0, FS_OK, 3, 0, 3},
    /* Rounding is per line: two lines of 5 at 10% lose 1 each, not 1 in all. */
    {"rounding is per line", {{1, 5, 1000}, {1, 5, 1000}}, 2, 0, FS_OK, 8, 0, 8},
    {"quote discount half up", {{1, 5, 0}}, 1, 1000, FS_OK, 5, 1, 4},
    {"quote discount 0.49 down", {{1, 49, 0}}, 1, 100, FS_OK, 49, 0, 49},
    {"line and quote discounts", {{10, 999, 1500}, {1, 12345, 0}}, 2, 250, FS_OK, /* 1498.5 -> 1499 */
     8491 + 12345, 521, 8491 + 12345 - 521},
    {"100% line discount", {{7, 700, 10000}}, 1, 0, FS_OK, 0, 0, 0},
    {"100% quote discount", {{7, 700, 0}}, 1, 10000, FS_OK, 4900, 4900, 0},
    {"zero quantity line", {{0, 999999, 500}}, 1, 0, FS_OK, 0, 0, 0},
    /* Large but representable amounts must not fail on an intermediate. */
    {"1e18 with a third off", {{1000000000, 1000000000, 3333}}, 1, 0, FS_OK,
     666700000000000000, 0, 666700000000000000},
    {"INT64_MAX price, half off", {{1, INT64_MAX, 5000}}, 1, 0, FS_OK,
     INT64_MAX / 2, 0, INT64_MAX / 2},
    {"large subtotal, quote discount", {{1, INT64_MAX - 1, 0}}, 1, 10000, FS_OK,
     INT64_MAX - 1, INT64_MAX - 1, 0},
    {"negative quantity", {{-1, 100, 0}}, 1, 0, FS_ERANGE, 0, 0, 0},
    {"negative price", {{1, -100, 0}}, 1, 0, FS_ERANGE, 0, 0, 0},
    {"line discount above 100%", {{1, 100, 10001}}, 1, 0, FS_ERANGE, 0, 0, 0},
    {"negative line discount", {{1, 100, -1}}, 1, 0, FS_ERANGE, 0, 0, 0},
    {"quote discount above 100%", {{1, 100, 0}}, 1, 10001, FS_ERANGE, 0, 0, 0},
    {"negative quote discount", {{1, 100, 0}}, 1, -5, FS_ERANGE, 0, 0, 0},
    {"qty x price overflows", {{INT64_MAX / 2 + 1, 2, 0}}, 1, 0, FS_EOVERFLOW, 0, 0, 0},
    {"subtotal overflows", {{1, INT64_MAX, 0}, {1, 1, 0}}, 2, 0, FS_EOVERFLOW, 0, 0, 0},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof tcases / sizeof tcases[0]; i++) {
        const tcase *t = &tcases[i];
        fs_quote_totals out;
        fs_error err = {0};
        fs_status st;

        memset(&out, 0x5A, sizeof out);
        st = fs_quote_totals_compute(t->lines, t->n, t->quote_bp, &out, &err);
        if (st != t->st)
            fail_msg("%s: status %s (%s), want %s", t->name, fs_strerror(st), err.text,
                     fs_strerror(t->st));
        if (st != FS_OK) {
            if (err.code != (int)st || err.text[0] == '\0')
                fail_msg("%s: error without a message", t->name);
            continue;
        }
        if (out.subtotal != t->subtotal || out.discount != t->discount ||
            out.total != t->total || out.lines != t->n)
            fail_msg("%s: got %lld/%lld/%lld (%zu lines), want %lld/%lld/%lld", t->name,
                     (long long)out.subtotal, (long long)out.discount, (long long)out.total,
                     out.lines, (long long)t->subtotal, (long long)t->discount,
                     (long long)t->total);
    }
}

static void test_null_args(void **state)
{
    (void)state;
    fs_quote_line_amount l = {1, 1, 0};
    fs_quote_totals out;
    fs_error err = {0};

    assert_int_equal(fs_quote_totals_compute(NULL, 1, 0, &out, &err), FS_EINVAL);
    assert_true(strlen(err.text) > 0);
    assert_int_equal(fs_quote_totals_compute(&l, 1, 0, NULL, NULL), FS_EINVAL);
    assert_int_equal(fs_quote_totals_compute(NULL, 0, 0, &out, NULL), FS_OK);
    assert_int_equal(out.total, 0);
    assert_int_equal(fs_quote_totals_rows(NULL, NULL, 0, &out, &err), FS_EINVAL);
}

/* Reference: exact rational arithmetic on small numbers. */
static int64_t ref_round_bp(int64_t x, int64_t bp)
{
    int64_t num = x * bp;            /* small inputs: no overflow */
    int64_t q = num / 10000, r = num % 10000;
    return r * 2 >= 10000 ? q + 1 : q;
}

static void test_random_against_reference(void **state)
{
    (void)state;
    uint64_t x = UINT64_C(0x243F6A8885A308D3);

    for (int iter = 0; iter < 5000; iter++) {
        fs_quote_line_amount lines[6];
        size_t n;
        int64_t qbp, sub = 0, disc;
        fs_quote_totals out;

        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        n = x % 7 > 5 ? 5 : x % 7;
        qbp = (int64_t)((x >> 8) % 10001);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            lines[i].qty = (int64_t)(x % 1000);
            lines[i].unit_price = (int64_t)((x >> 10) % 1000000);
            lines[i].discount_bp = (int64_t)((x >> 40) % 10001);
            int64_t gross = lines[i].qty * lines[i].unit_price;
            sub += gross - ref_round_bp(gross, lines[i].discount_bp);
        }
        disc = ref_round_bp(sub, qbp);
        assert_int_equal(fs_quote_totals_compute(lines, n, qbp, &out, NULL), FS_OK);
        if (out.subtotal != sub || out.discount != disc || out.total != sub - disc)
            fail_msg("iteration %d: got %lld/%lld, want %lld/%lld", iter,
                     (long long)out.subtotal, (long long)out.discount, (long long)sub,
                     (long long)disc);
    }
}

static void set_int(fs_row *r, const char *field, int64_t v)
{
    int slot = fs_entity_field_index(r->entity, field);
    assert_true(slot >= 0);
    r->cells[slot].v = fs_value_int(v);
    r->cells[slot].hlc = TK_HLC(100, 0);
}

static void set_parent(fs_row *r, const fs_id *id)
{
    int slot = fs_entity_field_index(r->entity, "quote_id");
    assert_true(slot >= 0);
    r->cells[slot].v = fs_value_idv(id);
    r->cells[slot].hlc = TK_HLC(100, 0);
}

static void test_rows(void **state)
{
    (void)state;
    const fs_entity *qe = fs_schema_entity("quote"), *le = fs_schema_entity("quote_line");
    fs_row quote = {0}, lines[5];
    fs_id qid, other, lid;
    fs_quote_totals out, direct;
    fs_quote_line_amount amounts[2] = {{3, 1999, 1000}, {1, 0, 0}};
    fs_error err = {0};

    assert_non_null(qe);
    assert_non_null(le);
    tk_row_id(1, &qid);
    tk_row_id(2, &other);
    assert_int_equal(fs_row_init(&quote, qe, &qid, NULL), FS_OK);
    set_int(&quote, "discount", 250);
    for (int i = 0; i < 5; i++) {
        tk_row_id(10 + i, &lid);
        assert_int_equal(fs_row_init(&lines[i], le, &lid, NULL), FS_OK);
    }
    /* 0: a normal line; 1: a line with no numbers set (counts as 0);
     * 2: tombstoned; 3: belongs to another quote; 4: no quote_id at all. */
    set_parent(&lines[0], &qid);
    set_int(&lines[0], "qty", 3);
    set_int(&lines[0], "unit_price", 1999);
    set_int(&lines[0], "discount", 1000);
    set_parent(&lines[1], &qid);
    set_parent(&lines[2], &qid);
    set_int(&lines[2], "qty", 100);
    set_int(&lines[2], "unit_price", 100);
    lines[2].deleted = true;
    lines[2].del_hlc = TK_HLC(200, 0);
    set_parent(&lines[3], &other);
    set_int(&lines[3], "qty", 5);
    set_int(&lines[3], "unit_price", 5);
    set_int(&lines[4], "qty", 9);
    set_int(&lines[4], "unit_price", 9);

    assert_int_equal(fs_quote_totals_rows(&quote, lines, 5, &out, &err), FS_OK);
    assert_int_equal(fs_quote_totals_compute(amounts, 2, 250, &direct, NULL), FS_OK);
    /* 3 x 1999 = 5997, 10% = 599.7 -> 600, net 5397; 2.5% of 5397 = 134.925 -> 135. */
    assert_int_equal(out.subtotal, 5397);
    assert_int_equal(out.discount, 135);
    assert_int_equal(out.total, 5262);
    assert_int_equal(out.lines, 2);
    assert_int_equal(out.subtotal, direct.subtotal);
    assert_int_equal(out.total, direct.total);

    /* Wrong entities are errors. */
    assert_int_equal(fs_quote_totals_rows(&lines[0], lines, 1, &out, &err), FS_EINVAL);
    assert_true(strlen(err.text) > 0);
    assert_int_equal(fs_quote_totals_rows(&quote, &quote, 1, &out, NULL), FS_EINVAL);
    /* No lines. */
    assert_int_equal(fs_quote_totals_rows(&quote, NULL, 0, &out, NULL), FS_OK);
    assert_int_equal(out.total, 0);
    assert_int_equal(out.lines, 0);

    fs_row_free(&quote);
    for (int i = 0; i < 5; i++)
        fs_row_free(&lines[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_null_args),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_rows),
    };
    return cmocka_run_group_tests_name("conflict_totals", tests, NULL, NULL);
}
