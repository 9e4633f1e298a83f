/*
 * fs_totals.c - quote totals, derived from the lines.
 *
 * Totals are never synced as editable values: client and server both call
 * this one function, in int64 minor units, so they cannot disagree on a cent.
 * Rounding is half up (all inputs are non-negative), done per line and once on
 * the subtotal, and every multiplication is overflow-checked.
 */
#include "fs_conflict.h"

#include <inttypes.h>

/* round(x * bp / 10000), half up, for x >= 0 and 0 <= bp <= 10000. */
static fs_status apply_bp(int64_t x, int64_t bp, int64_t *out, fs_error *err)
{
    /* x * bp can overflow although the result (<= x) cannot: split x so
     * that only the remainder is multiplied out, exactly. */
    int64_t q = x / 10000, r = x % 10000;

    if (x < 0 || bp < 0 || bp > 10000)
        return fs_error_set(err, FS_ERANGE, "discount of %" PRId64 " bp on %" PRId64
                            " is out of range", bp, x);
    *out = q * bp + (r * bp + 5000) / 10000;
    return FS_OK;
}

/* Adds line i (1-based in messages) to the running totals. */
static fs_status add_line(fs_quote_totals *t, const fs_quote_line_amount *l, size_t i,
                          fs_error *err)
{
    int64_t gross, disc = 0;
    fs_status st;

    if (l->qty < 0 || l->unit_price < 0)
        return fs_error_set(err, FS_ERANGE, "line %zu: quantity and price must not be negative", i);
    if (l->discount_bp < 0 || l->discount_bp > 10000)
        return fs_error_set(err, FS_ERANGE, "line %zu: discount %" PRId64
                            " bp is outside 0..10000", i, l->discount_bp);
    if (__builtin_mul_overflow(l->qty, l->unit_price, &gross))
        return fs_error_set(err, FS_EOVERFLOW, "line %zu: qty x price overflows", i);
    st = apply_bp(gross, l->discount_bp, &disc, err);
    if (st != FS_OK)
        return st;
    if (__builtin_add_overflow(t->subtotal, gross - disc, &t->subtotal))
        return fs_error_set(err, FS_EOVERFLOW, "subtotal overflows at line %zu", i);
    t->lines++;
    return FS_OK;
}

static fs_status check_quote_bp(int64_t bp, fs_error *err)
{
    if (bp < 0 || bp > 10000)
        return fs_error_set(err, FS_ERANGE, "quote discount %" PRId64
                            " bp is outside 0..10000", bp);
    return FS_OK;
}

/* Applies the quote-level discount to the subtotal and publishes *t. */
static fs_status finish(fs_quote_totals *t, int64_t quote_discount_bp, fs_quote_totals *out,
                        fs_error *err)
{
    fs_status st = check_quote_bp(quote_discount_bp, err);

    if (st == FS_OK)
        st = apply_bp(t->subtotal, quote_discount_bp, &t->discount, err);
    if (st != FS_OK)
        return st;
    t->total = t->subtotal - t->discount;
    *out = *t;
    return FS_OK;
}

fs_status fs_quote_totals_compute(const fs_quote_line_amount *lines, size_t n,
                                  int64_t quote_discount_bp, fs_quote_totals *out,
                                  fs_error *err)
{
    fs_quote_totals t = {0};
    fs_status st;

    if (!out || (n && !lines))
        return fs_error_set(err, FS_EINVAL, "fs_quote_totals_compute: NULL argument");
    st = check_quote_bp(quote_discount_bp, err);
    for (size_t i = 0; st == FS_OK && i < n; i++)
        st = add_line(&t, &lines[i], i + 1, err);
    return st == FS_OK ? finish(&t, quote_discount_bp, out, err) : st;
}

/* An integer cell by slot; unset or null counts as 0. */
static int64_t cell_int(const fs_row *r, int slot)
{
    return slot >= 0 && r->cells[slot].v.kind == FS_VAL_INT ? r->cells[slot].v.u.i : 0;
}

fs_status fs_quote_totals_rows(const fs_row *quote, const fs_row *lines, size_t n,
                               fs_quote_totals *out, fs_error *err)
{
    const fs_entity *qe = fs_schema_entity("quote"), *le = fs_schema_entity("quote_line");
    fs_quote_totals t = {0};
    fs_status st = FS_OK;
    int parent, qty, price, disc;

    if (!quote || !out || (n && !lines))
        return fs_error_set(err, FS_EINVAL, "fs_quote_totals_rows: NULL argument");
    if (quote->entity != qe)
        return fs_error_set(err, FS_EINVAL, "fs_quote_totals_rows: not a quote row");
    /* Slots once, not per line. */
    parent = fs_entity_field_index(le, "quote_id");
    qty = fs_entity_field_index(le, "qty");
    price = fs_entity_field_index(le, "unit_price");
    disc = fs_entity_field_index(le, "discount");
    for (size_t i = 0; st == FS_OK && i < n; i++) {
        const fs_row *l = &lines[i];
        fs_quote_line_amount a;
        if (l->entity != le)
            return fs_error_set(err, FS_EINVAL, "line %zu is not a quote_line row", i + 1);
        if (l->deleted || l->cells[parent].v.kind != FS_VAL_ID ||
            fs_id_cmp(&l->cells[parent].v.u.id, &quote->id) != 0)
            continue;
        a.qty = cell_int(l, qty);
        a.unit_price = cell_int(l, price);
        a.discount_bp = cell_int(l, disc);
        st = add_line(&t, &a, i + 1, err);
    }
    if (st != FS_OK)
        return st;
    return finish(&t, cell_int(quote, fs_entity_field_index(qe, "discount")), out, err);
}
