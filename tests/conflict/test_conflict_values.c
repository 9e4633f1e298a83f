/*
 * test_conflict_values.c - status strings and errors, the schema as data,
 * the e-sign lattice helpers, currencies, values, rows, changes, and bad
 * input to every public function: each returns a status with a readable
 * message and never crashes; a failed fs_merge changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conflict/fs_testkit.h"

/* The call returns want and fills *errp with want and a message. */
#define assert_err(expr, want, errp)                                  \
    do {                                                              \
        memset((errp), 0, sizeof *(errp));                            \
        assert_int_equal((expr), (want));                             \
        assert_int_equal((errp)->code, (want));                       \
        assert_true(strlen((errp)->text) > 0);                        \
    } while (0)

static void test_strerror_and_error(void **state)
{
    (void)state;
    fs_error err;
    char longtext[600];

    for (int st = FS_OK; st <= FS_EDUPLICATE; st++) {
        const char *s = fs_strerror((fs_status)st);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        for (int o = FS_OK; o < st; o++)
            assert_string_not_equal(s, fs_strerror((fs_status)o));
    }
    assert_non_null(fs_strerror((fs_status)999));
    assert_int_equal(fs_error_set(NULL, FS_ERANGE, "x %d", 1), FS_ERANGE);
    assert_int_equal(fs_error_set(&err, FS_EBADID, "bad %s", "id"), FS_EBADID);
    assert_int_equal(err.code, FS_EBADID);
    assert_string_equal(err.text, "bad id");
    /* Long messages are truncated and terminated. */
    memset(longtext, 'm', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    fs_error_set(&err, FS_EINVAL, "%s", longtext);
    assert_int_equal(strlen(err.text), FS_ERROR_TEXT - 1);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(fs_reason_name(FS_REASON_STALE), "stale");
    assert_string_equal(fs_reason_name(FS_REASON_SERVER_OWNED), "server_owned");
    for (int r = FS_REASON_NONE; r <= FS_REASON_INVALID; r++)
        assert_true(strlen(fs_reason_name((fs_reason)r)) > 0);
    for (int r = FS_RULE_LWW; r <= FS_RULE_READONLY; r++) {
        assert_true(strlen(fs_rule_name((fs_rule)r)) > 0);
        for (int o = FS_RULE_LWW; o < r; o++)
            assert_string_not_equal(fs_rule_name((fs_rule)r), fs_rule_name((fs_rule)o));
    }
    assert_non_null(fs_rule_name((fs_rule)999));
    assert_non_null(fs_reason_name((fs_reason)999));
}

static void test_schema(void **state)
{
    (void)state;
    size_t n = 0;
    const fs_entity *const *all = fs_schema_entities(&n);
    static const char *const expected[] = {"customer", "contact", "visit", "quote",
                                           "quote_line", "contract", "task", "product",
                                           "purchase", "ticket"};

    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) {
        const fs_entity *e = all[i];
        assert_string_equal(e->name, expected[i]);
        assert_ptr_equal(fs_schema_entity(e->name), e);
        assert_ptr_equal(fs_schema_entity_by_tag(e->tag), e);
        assert_true(e->nfields > 0);
        for (size_t f = 0; f < e->nfields; f++) {
            /* Names and tags are unique within the entity. */
            assert_int_equal(fs_entity_field_index(e, e->fields[f].name), (int)f);
            assert_int_equal(fs_entity_field_index_by_tag(e, e->fields[f].tag), (int)f);
            if (e->fields[f].type == FS_TYPE_ENUM)
                assert_non_null(e->fields[f].enum_values);
        }
        if (e->parent >= 0) {
            assert_true(e->fields[e->parent].flags & FS_FIELD_PARENT);
            assert_non_null(fs_schema_entity(e->parent_entity));
        }
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(all[j]->tag, e->tag);
    }
    assert_true(fs_schema_entity("product")->flags & FS_ENTITY_READONLY);
    assert_true(fs_schema_entity("purchase")->flags & FS_ENTITY_READONLY);
    assert_false(fs_schema_entity("customer")->flags & FS_ENTITY_READONLY);
    /* The declared policies the merge rules rely on. */
    {
        const fs_entity *c = fs_schema_entity("customer"), *k = fs_schema_entity("contract"),
                        *v = fs_schema_entity("visit");
        assert_int_equal(c->fields[fs_entity_field_index(c, "territory")].policy, FS_POLICY_SERVER);
        assert_int_equal(c->fields[fs_entity_field_index(c, "owner_rep")].policy, FS_POLICY_SERVER);
        assert_int_equal(v->fields[fs_entity_field_index(v, "verification")].policy, FS_POLICY_SERVER);
        assert_int_equal(k->fields[fs_entity_field_index(k, "esign_status")].policy, FS_POLICY_ESIGN);
        assert_int_equal(k->fields[fs_entity_field_index(k, "customer_id")].policy, FS_POLICY_ONCE);
        assert_int_equal(c->fields[fs_entity_field_index(c, "name")].policy, FS_POLICY_LWW);
    }
    /* Unknown names and tags, NULL arguments. */
    assert_null(fs_schema_entity("customers"));
    assert_null(fs_schema_entity(""));
    assert_null(fs_schema_entity(NULL));
    assert_null(fs_schema_entity_by_tag(0));
    assert_null(fs_schema_entity_by_tag(9999));
    assert_int_equal(fs_entity_field_index(all[0], "no_such_field"), -1);
    assert_int_equal(fs_entity_field_index(all[0], NULL), -1);
    assert_int_equal(fs_entity_field_index(NULL, "name"), -1);
    assert_int_equal(fs_entity_field_index_by_tag(all[0], 9999), -1);
    assert_int_equal(fs_entity_field_index_by_tag(NULL, 1), -1);
    assert_non_null(fs_schema_entities(NULL));
}

static void test_esign_helpers(void **state)
{
    (void)state;
    static const char *const names[] = {"draft", "sent", "delivered", "signed",
                                        "voided", "declined", "completed"};
    fs_error err;

    for (int i = 0; i <= FS_ESIGN_COMPLETED; i++) {
        assert_int_equal(fs_esign_parse(names[i], strlen(names[i])), i);
        assert_string_equal(fs_esign_name((fs_esign)i), names[i]);
        assert_int_equal(fs_esign_is_terminal((fs_esign)i), i >= FS_ESIGN_VOIDED);
    }
    assert_int_equal(fs_esign_parse("Sent", 4), FS_ESIGN_INVALID);
    assert_int_equal(fs_esign_parse("sent", 3), FS_ESIGN_INVALID);
    assert_int_equal(fs_esign_parse("sentx", 5), FS_ESIGN_INVALID);
    assert_int_equal(fs_esign_parse(NULL, 0), FS_ESIGN_INVALID);
    assert_non_null(fs_esign_name(FS_ESIGN_INVALID));
    assert_false(fs_esign_is_terminal(FS_ESIGN_INVALID));
    /* The join is the max of the documented total order, so completed beats
     * voided and declined, declined beats voided. */
    for (int a = 0; a <= FS_ESIGN_COMPLETED; a++)
        for (int b = 0; b <= FS_ESIGN_COMPLETED; b++) {
            assert_int_equal(fs_esign_join((fs_esign)a, (fs_esign)b), a > b ? a : b);
            assert_int_equal(fs_esign_join((fs_esign)a, (fs_esign)b),
                             fs_esign_join((fs_esign)b, (fs_esign)a));
        }
    assert_int_equal(fs_esign_join(FS_ESIGN_VOIDED, FS_ESIGN_COMPLETED), FS_ESIGN_COMPLETED);
    assert_int_equal(fs_esign_join(FS_ESIGN_DECLINED, FS_ESIGN_VOIDED), FS_ESIGN_DECLINED);
    /* A rep's own transitions go strictly up from a non-terminal state. */
    for (int a = 0; a <= FS_ESIGN_COMPLETED; a++)
        for (int b = 0; b <= FS_ESIGN_COMPLETED; b++) {
            fs_status want = (!fs_esign_is_terminal((fs_esign)a) && b > a) ? FS_OK
                                                                           : FS_ETRANSITION;
            memset(&err, 0, sizeof err);
            assert_int_equal(fs_esign_check_transition((fs_esign)a, (fs_esign)b, &err), want);
            if (want != FS_OK)
                assert_true(strlen(err.text) > 0);
        }
    memset(&err, 0, sizeof err);
    assert_int_equal(fs_esign_check_transition(FS_ESIGN_VOIDED, FS_ESIGN_SENT, &err),
                     FS_ETRANSITION);
    assert_non_null(strstr(err.text, "voided"));
    assert_int_not_equal(fs_esign_check_transition(FS_ESIGN_INVALID, FS_ESIGN_SENT, &err), FS_OK);
    assert_int_not_equal(fs_esign_check_transition(FS_ESIGN_SENT, (fs_esign)42, NULL), FS_OK);
}

static void test_currency(void **state)
{
    (void)state;
    assert_true(fs_currency_valid("EUR", 3));
    assert_true(fs_currency_valid("USD", 3));
    assert_true(fs_currency_valid("JPY", 3));
    assert_true(fs_currency_valid("AED", 3));
    assert_true(fs_currency_valid("ZWL", 3));
    assert_true(fs_currency_valid("EURO", 3)); /* only len bytes count */
    assert_false(fs_currency_valid("eur", 3));
    assert_false(fs_currency_valid("EU", 2));
    assert_false(fs_currency_valid("EURO", 4));
    assert_false(fs_currency_valid("ABC", 3));
    assert_false(fs_currency_valid("", 0));
    assert_false(fs_currency_valid(NULL, 3));
}

static void test_values(void **state)
{
    (void)state;
    fs_value a = {0}, b = {0}, c = {0};
    fs_error err;
    fs_id id;

    assert_int_equal(fs_type_kind(FS_TYPE_TEXT), FS_VAL_TEXT);
    assert_int_equal(fs_type_kind(FS_TYPE_ENUM), FS_VAL_TEXT);
    assert_int_equal(fs_type_kind(FS_TYPE_CURRENCY), FS_VAL_TEXT);
    assert_int_equal(fs_type_kind(FS_TYPE_INT), FS_VAL_INT);
    assert_int_equal(fs_type_kind(FS_TYPE_BOOL), FS_VAL_INT);
    assert_int_equal(fs_type_kind(FS_TYPE_TIME), FS_VAL_INT);
    assert_int_equal(fs_type_kind(FS_TYPE_MONEY), FS_VAL_INT);
    assert_int_equal(fs_type_kind(FS_TYPE_REAL), FS_VAL_REAL);
    assert_int_equal(fs_type_kind(FS_TYPE_ID), FS_VAL_ID);

    /* Text copies exactly n bytes and terminates them. */
    assert_int_equal(fs_value_text(&a, "hello world", 5, NULL), FS_OK);
    assert_int_equal(a.kind, FS_VAL_TEXT);
    assert_int_equal(a.u.text.n, 5);
    assert_string_equal(a.u.text.p, "hello");
    assert_int_equal(fs_value_text(&b, "", 0, NULL), FS_OK);
    assert_int_equal(b.u.text.n, 0);
    assert_string_equal(b.u.text.p, "");
    assert_int_equal(fs_value_copy(&c, &a, NULL), FS_OK);
    assert_ptr_not_equal(c.u.text.p, a.u.text.p);
    assert_true(fs_value_eq(&a, &c));
    /* Copy over an existing text value releases the old one (ASan checks). */
    assert_int_equal(fs_value_copy(&c, &b, NULL), FS_OK);
    assert_true(fs_value_eq(&b, &c));
    assert_err(fs_value_text(NULL, "x", 1, &err), FS_EINVAL, &err);
    assert_err(fs_value_text(&a, NULL, 3, &err), FS_EINVAL, &err);
    assert_string_equal(a.u.text.p, "hello"); /* untouched on failure */
    assert_err(fs_value_copy(NULL, &a, &err), FS_EINVAL, &err);
    assert_err(fs_value_copy(&a, NULL, &err), FS_EINVAL, &err);

    /* Order: kind first, then value. */
    {
        fs_value n0 = {0}, i1 = fs_value_int(1), i2 = fs_value_int(2), rneg = fs_value_real(-0.0),
                 rpos = fs_value_real(0.0), rbig = fs_value_real(1e300), ab = {0};
        assert_true(fs_value_cmp(&n0, &i1) < 0);
        assert_true(fs_value_cmp(&i1, &i2) < 0);
        assert_true(fs_value_cmp(&i2, &i1) > 0);
        assert_true(fs_value_cmp(&i2, &rneg) < 0); /* int kind before real */
        /* -0.0 and 0.0 are one value (SQLite stores both as 0.0), also when
         * a -0.0 bypasses fs_value_real and is built by hand. */
        assert_true(fs_value_eq(&rneg, &rpos));
        rneg.u.r = -0.0;
        assert_int_equal(fs_value_cmp(&rneg, &rpos), 0);
        {
            fs_value rm1 = fs_value_real(-1.0);
            assert_true(fs_value_cmp(&rm1, &rpos) < 0); /* negatives still order below */
        }
        assert_true(fs_value_cmp(&rpos, &rbig) < 0);
        assert_int_equal(fs_value_text(&ab, "hellp", 5, NULL), FS_OK);
        assert_true(fs_value_cmp(&a, &ab) < 0);
        assert_true(fs_value_cmp(&b, &a) < 0); /* "" < "hello" */
        assert_int_equal(fs_value_cmp(&a, &a), 0);
        fs_value_clear(&ab);
        assert_int_equal(fs_value_text(&ab, "hell", 4, NULL), FS_OK);
        assert_true(fs_value_cmp(&ab, &a) < 0); /* prefix first */
        fs_value_clear(&ab);
        tk_row_id(1, &id);
        ab = fs_value_idv(&id);
        assert_true(fs_value_cmp(&a, &ab) < 0); /* text kind before id */
        {
            /* Ids compare by their bytes, not by identity. */
            fs_id id2;
            fs_value same, other;
            tk_row_id(1, &id2);
            same = fs_value_idv(&id2);
            tk_row_id(2, &id2);
            other = fs_value_idv(&id2);
            assert_true(fs_value_eq(&ab, &same));
            assert_false(fs_value_eq(&ab, &other));
        }
    }
    fs_value_clear(&a);
    assert_int_equal(a.kind, FS_VAL_NULL);
    fs_value_clear(&a); /* twice is fine */
    fs_value_clear(NULL);
    fs_value_clear(&b);
    fs_value_clear(&c);
}

/* fs_field_check against one field of one entity. */
static fs_status check(const char *entity, const char *field, const char *spec)
{
    const fs_entity *e = fs_schema_entity(entity);
    int slot = fs_entity_field_index(e, field);
    fs_value v;
    fs_error err = {0};
    fs_status st;

    assert_true(slot >= 0);
    assert_int_equal(tk_value_parse(spec, &v), 0);
    st = fs_field_check(&e->fields[slot], &v, &err);
    if (st != FS_OK) {
        assert_int_equal(err.code, st);
        assert_true(strlen(err.text) > 0);
    }
    fs_value_clear(&v);
    return st;
}

static void test_field_check(void **state)
{
    (void)state;
    fs_value v;
    fs_error err;

    assert_int_equal(check("customer", "name", "T:Acme"), FS_OK);
    assert_int_equal(check("customer", "name", "X:200"), FS_OK);
    assert_int_equal(check("customer", "name", "X:201"), FS_ETOOLONG);
    assert_int_equal(check("customer", "phone", "X:40"), FS_OK);
    assert_int_equal(check("customer", "phone", "X:41"), FS_ETOOLONG);
    assert_int_equal(check("customer", "name", "I:1"), FS_ETYPE);
    assert_int_equal(check("customer", "name", "N"), FS_ERANGE); /* required */
    assert_int_equal(check("customer", "phone", "N"), FS_OK);
    assert_int_equal(check("customer", "lat", "R:90"), FS_OK);
    assert_int_equal(check("customer", "lat", "R:-90"), FS_OK);
    assert_int_equal(check("customer", "lat", "R:90.0001"), FS_ERANGE);
    assert_int_equal(check("customer", "lon", "R:-180.5"), FS_ERANGE);
    assert_int_equal(check("customer", "lat", "I:45"), FS_ETYPE);
    assert_int_equal(check("visit", "status", "T:planned"), FS_OK);
    assert_int_equal(check("visit", "status", "T:Planned"), FS_ERANGE);
    assert_int_equal(check("visit", "status", "T:plan"), FS_ERANGE);
    assert_int_equal(check("contract", "esign_status", "T:completed"), FS_OK);
    assert_int_equal(check("contract", "esign_status", "T:archived"), FS_ERANGE);
    assert_int_equal(check("quote", "currency", "T:EUR"), FS_OK);
    assert_int_equal(check("quote", "currency", "T:eur"), FS_ERANGE);
    assert_int_equal(check("quote", "currency", "T:EURO"), FS_ERANGE);
    assert_int_equal(check("quote", "currency", "T:XYZ"), FS_ERANGE);
    assert_int_equal(check("quote", "discount", "I:10000"), FS_OK);
    assert_int_equal(check("quote", "discount", "I:10001"), FS_ERANGE);
    assert_int_equal(check("quote", "discount", "I:-1"), FS_ERANGE);
    assert_int_equal(check("quote_line", "qty", "I:-3"), FS_ERANGE);
    assert_int_equal(check("task", "done", "I:1"), FS_OK);
    assert_int_equal(check("task", "done", "I:2"), FS_ERANGE);
    assert_int_equal(check("task", "due_at", "I:-1"), FS_ERANGE);
    assert_int_equal(check("contact", "customer_id", "U:4"), FS_OK);
    assert_int_equal(check("contact", "customer_id", "U:0"), FS_EBADID);
    assert_int_equal(check("contact", "customer_id", "T:4"), FS_ETYPE);
    /* Non-finite reals and embedded NUL bytes. */
    {
        const fs_entity *e = fs_schema_entity("customer");
        v = fs_value_real(NAN);
        assert_err(fs_field_check(&e->fields[fs_entity_field_index(e, "lat")], &v, &err),
                   FS_ERANGE, &err);
        assert_int_equal(fs_value_text(&v, "a\0b", 3, NULL), FS_OK);
        assert_int_not_equal(fs_field_check(&e->fields[0], &v, NULL), FS_OK);
        fs_value_clear(&v);
        assert_err(fs_field_check(NULL, &v, &err), FS_EINVAL, &err);
        assert_err(fs_field_check(&e->fields[0], NULL, &err), FS_EINVAL, &err);
    }
}

static void test_rows(void **state)
{
    (void)state;
    const fs_entity *e = fs_schema_entity("customer");
    fs_row a = {0}, b = {0}, z = {0};
    fs_id id, dev;
    fs_error err;
    static const tk_rowspec spec = {.f = {{"name", "T:Acme", TK_HLC(10, 0), DEV_A, NULL, 0},
                                          {"lat", "R:1.5", TK_HLC(11, 0), DEV_B, NULL, 0}}};
    char msg[128];

    tk_row_id(1, &id);
    tk_dev(DEV_C, &dev);
    assert_int_equal(fs_row_init(&a, e, &id, NULL), FS_OK);
    assert_false(fs_row_exists(&a));
    fs_row_free(&a);
    assert_int_equal(tk_row_build(e, &spec, &a, msg, sizeof msg), 0);
    assert_true(fs_row_exists(&a));
    assert_int_equal(fs_row_copy(&b, &a, NULL), FS_OK);
    assert_true(fs_row_eq(&a, &b));
    /* Each component of a register makes rows differ. */
    b.cells[0].hlc++;
    assert_false(fs_row_eq(&a, &b));
    b.cells[0].hlc--;
    b.cells[0].device = dev;
    assert_false(fs_row_eq(&a, &b));
    assert_int_equal(fs_row_copy(&b, &a, NULL), FS_OK); /* copy over a row */
    fs_value_clear(&b.cells[1].v);
    b.cells[1].v = fs_value_real(1.25);
    assert_false(fs_row_eq(&a, &b));
    assert_int_equal(fs_row_copy(&b, &a, NULL), FS_OK);
    b.deleted = true;
    assert_false(fs_row_eq(&a, &b));
    b.deleted = false;
    b.del_hlc = 5;
    assert_false(fs_row_eq(&a, &b));
    assert_true(fs_row_exists(&b));
    b.del_hlc = 0;
    b.del_device = dev;
    assert_false(fs_row_eq(&a, &b));
    b.del_device = a.del_device;
    assert_true(fs_row_eq(&a, &b));
    b.id.b[15] ^= 1;
    assert_false(fs_row_eq(&a, &b));

    assert_err(fs_row_init(NULL, e, &id, &err), FS_EINVAL, &err);
    assert_err(fs_row_init(&z, NULL, &id, &err), FS_EINVAL, &err);
    assert_err(fs_row_init(&z, e, NULL, &err), FS_EINVAL, &err);
    assert_err(fs_row_copy(NULL, &a, &err), FS_EINVAL, &err);
    assert_err(fs_row_copy(&z, NULL, &err), FS_EINVAL, &err);
    assert_false(fs_row_exists(NULL));
    assert_false(fs_row_exists(&z));
    fs_row_free(&a);
    fs_row_free(&a); /* already freed */
    fs_row_free(&b);
    fs_row_free(&z); /* zeroed */
    fs_row_free(NULL);
}

static void test_changes(void **state)
{
    (void)state;
    const fs_entity *e = fs_schema_entity("customer");
    fs_change c = {0};
    fs_id id, dev;
    fs_value v = {0}, w = fs_value_int(3);
    fs_error err;
    int name = fs_entity_field_index(e, "name");

    tk_row_id(1, &id);
    tk_dev(DEV_A, &dev);
    assert_err(fs_change_init(NULL, e, &id, &dev, &err), FS_EINVAL, &err);
    assert_err(fs_change_init(&c, NULL, &id, &dev, &err), FS_EINVAL, &err);
    assert_err(fs_change_init(&c, e, NULL, &dev, &err), FS_EINVAL, &err);
    assert_err(fs_change_init(&c, e, &id, NULL, &err), FS_EINVAL, &err);
    assert_int_equal(fs_change_init(&c, e, &id, &dev, NULL), FS_OK);
    /* An empty change is not a change. */
    assert_err(fs_change_check(&c, &err), FS_EINVAL, &err);
    assert_int_equal(fs_value_text(&v, "Acme", 4, NULL), FS_OK);
    assert_int_equal(fs_change_set(&c, name, &v, TK_HLC(5, 0), NULL), FS_OK);
    assert_err(fs_change_set(&c, name, &v, TK_HLC(6, 0), &err), FS_EDUPLICATE, &err);
    assert_err(fs_change_set_named(&c, "name", &v, TK_HLC(6, 0), &err), FS_EDUPLICATE, &err);
    assert_err(fs_change_set(&c, -1, &v, TK_HLC(6, 0), &err), FS_EUNKNOWN_FIELD, &err);
    assert_err(fs_change_set(&c, (int)e->nfields, &v, TK_HLC(6, 0), &err), FS_EUNKNOWN_FIELD, &err);
    assert_err(fs_change_set_named(&c, "nmae", &v, TK_HLC(6, 0), &err), FS_EUNKNOWN_FIELD, &err);
    assert_err(fs_change_set_named(&c, "phone", &w, TK_HLC(6, 0), &err), FS_ETYPE, &err);
    assert_err(fs_change_set_named(&c, "phone", &v, 0, &err), FS_EINVAL, &err);
    assert_err(fs_change_set_named(&c, NULL, &v, 1, &err), FS_EINVAL, &err);
    assert_err(fs_change_set(&c, name, NULL, 1, &err), FS_EINVAL, &err);
    assert_err(fs_change_set(NULL, name, &v, 1, &err), FS_EINVAL, &err);
    /* Failed sets left the change as it was. */
    assert_int_equal(c.nfields, 1);
    assert_int_equal(fs_change_check(&c, NULL), FS_OK);
    /* Base: only for a written slot. */
    assert_int_equal(fs_change_set_base(&c, name, &v, TK_HLC(4, 0), NULL), FS_OK);
    assert_true(c.fields[0].has_base);
    assert_err(fs_change_set_base(&c, fs_entity_field_index(e, "phone"), &v, 1, &err),
               FS_EUNKNOWN_FIELD, &err);
    assert_err(fs_change_set_base(&c, name, NULL, 1, &err), FS_EINVAL, &err);
    assert_err(fs_change_set_base(NULL, name, &v, 1, &err), FS_EINVAL, &err);
    /* Many fields grow the array. */
    for (size_t s = 0; s < e->nfields; s++) {
        fs_value t = {0};
        if ((int)s == name || e->fields[s].type != FS_TYPE_TEXT)
            continue;
        assert_int_equal(fs_value_text(&t, "x", 1, NULL), FS_OK);
        assert_int_equal(fs_change_set(&c, (int)s, &t, TK_HLC(7, 0), NULL), FS_OK);
        fs_value_clear(&t);
    }
    fs_change_tombstone(&c, true, TK_HLC(8, 0));
    assert_true(c.has_tomb && c.deleted);
    assert_int_equal(fs_change_check(&c, NULL), FS_OK);
    fs_change_tombstone(NULL, true, 1);
    /* Whole-change checks catch what bypassed fs_change_set. */
    c.tomb_hlc = 0;
    assert_err(fs_change_check(&c, &err), FS_EINVAL, &err);
    c.tomb_hlc = TK_HLC(8, 0);
    memset(&c.row, 0, sizeof c.row);
    assert_err(fs_change_check(&c, &err), FS_EBADID, &err);
    c.row = id;
    assert_err(fs_change_check(NULL, &err), FS_EINVAL, &err);
    {
        fs_entity fake = *e; /* a look-alike that is not in the schema */
        const fs_entity *real = c.entity;
        c.entity = &fake;
        assert_err(fs_change_check(&c, &err), FS_EUNKNOWN_ENTITY, &err);
        c.entity = real;
    }
    fs_value_clear(&v);
    fs_change_free(&c);
    fs_change_free(&c); /* already freed */
    fs_change_free(NULL);
}

/* Bad arguments to fs_merge: an error, the row untouched, no record. */
static void test_merge_bad_input(void **state)
{
    (void)state;
    const fs_entity *cust = fs_schema_entity("customer"), *cont = fs_schema_entity("contact");
    static const tk_rowspec base = {.f = {{"name", "T:Acme", TK_HLC(10, 0), DEV_A, NULL, 0}}};
    static const tk_chspec good = {.dev = DEV_B,
                                   .f = {{"name", "T:New", TK_HLC(20, 0), 0, NULL, 0}}};
    fs_row row = {0}, before = {0}, other = {0};
    fs_change c = {0};
    fs_merge_ctx ctx = {0};
    fs_merge_result res;
    fs_conflict_list list = {0};
    fs_error err;
    char msg[128];
    fs_id id2;

    assert_int_equal(tk_row_build(cust, &base, &row, msg, sizeof msg), 0);
    assert_int_equal(fs_row_copy(&before, &row, NULL), FS_OK);
    assert_int_equal(tk_change_build(cust, &good, &c, msg, sizeof msg), 0);

    assert_err(fs_merge(NULL, &row, &c, &res, &list, &err), FS_EINVAL, &err);
    assert_err(fs_merge(&ctx, NULL, &c, &res, &list, &err), FS_EINVAL, &err);
    assert_err(fs_merge(&ctx, &row, NULL, &res, &list, &err), FS_EINVAL, &err);
    assert_err(fs_merge(&ctx, &row, &c, NULL, &list, &err), FS_EINVAL, &err);
    assert_err(fs_merge(&ctx, &row, &c, &res, NULL, &err), FS_EINVAL, &err);
    /* A row of another entity, or another id. */
    tk_row_id(1, &id2);
    assert_int_equal(fs_row_init(&other, cont, &id2, NULL), FS_OK);
    assert_err(fs_merge(&ctx, &other, &c, &res, &list, &err), FS_EINVAL, &err);
    fs_row_free(&other);
    tk_row_id(2, &id2);
    assert_int_equal(fs_row_init(&other, cust, &id2, NULL), FS_OK);
    assert_err(fs_merge(&ctx, &other, &c, &res, &list, &err), FS_EINVAL, &err);
    assert_false(fs_row_exists(&other));
    fs_row_free(&other);
    /* An uninitialised (zeroed) row. */
    assert_int_not_equal(fs_merge(&ctx, &other, &c, &res, &list, NULL), FS_OK);
    assert_true(fs_row_eq(&row, &before));
    assert_int_equal(list.n, 0);

    /* The same change merges fine; err may be NULL. */
    assert_int_equal(fs_merge(&ctx, &row, &c, &res, &list, NULL), FS_OK);
    assert_int_equal(res.outcome, FS_APPLIED);
    assert_false(fs_row_eq(&row, &before));

    fs_change_free(&c);
    fs_row_free(&row);
    fs_row_free(&before);
    fs_conflict_list_free(&list);
    fs_conflict_list_free(&list); /* twice */
    fs_conflict_list_free(NULL);
    fs_conflict_list_clear(NULL);
}

/* Conflict lists keep growing across merges; clear keeps capacity. */
/* Each record gets its own sentence, and the change's detail is that of its
 * first record that went against it (not one text copied onto all). */
static void test_conflict_describe(void **state)
{
    const fs_entity *e = fs_schema_entity("contract");
    fs_merge_ctx ctx = {.origin = FS_ORIGIN_DEVICE};
    fs_conflict_list l = {0};
    fs_merge_result res;
    fs_change a, b;
    fs_row row;
    fs_id id, da, db;
    fs_value v = {0};
    char d0[160], d1[160];
    int es = fs_entity_field_index(e, "esign_status");
    int sc = fs_entity_field_index(e, "status_changed_at");
    (void)state;

    memset(id.b, 0x11, 16);
    memset(da.b, 0xA1, 16);
    memset(db.b, 0xB2, 16);
    assert_int_equal(fs_row_init(&row, e, &id, NULL), FS_OK);
    /* A: completed at t=20. B (concurrent, older stamps, saw status_changed_at
     * unset): voided at t=10 and status_changed_at at t=30 (newer). */
    fs_change_init(&a, e, &id, &da, NULL);
    assert_int_equal(fs_value_text(&v, "completed", 9, NULL), FS_OK);
    assert_int_equal(fs_change_set(&a, es, &v, fs_hlc_make(20, 0), NULL), FS_OK);
    fs_value_clear(&v);
    v = fs_value_int(1000);
    assert_int_equal(fs_change_set(&a, sc, &v, fs_hlc_make(20, 0), NULL), FS_OK);
    assert_int_equal(fs_merge(&ctx, &row, &a, &res, &l, NULL), FS_OK);
    assert_int_equal(l.n, 0);

    fs_change_init(&b, e, &id, &db, NULL);
    assert_int_equal(fs_value_text(&v, "voided", 6, NULL), FS_OK);
    assert_int_equal(fs_change_set(&b, es, &v, fs_hlc_make(10, 0), NULL), FS_OK);
    fs_value_clear(&v);
    v = fs_value_int(2000);
    assert_int_equal(fs_change_set(&b, sc, &v, fs_hlc_make(30, 0), NULL), FS_OK);
    assert_int_equal(fs_change_set_base(&b, sc, &(fs_value){0}, 0, NULL), FS_OK);
    assert_int_equal(fs_merge(&ctx, &row, &b, &res, &l, NULL), FS_OK);
    assert_int_equal(l.n, 2);
    fs_conflict_describe(&l.items[0], d0, sizeof d0);
    fs_conflict_describe(&l.items[1], d1, sizeof d1);
    /* The terminal clash that B lost, and the concurrent write B overwrote. */
    assert_non_null(strstr(d0, "esign_status stays completed"));
    assert_non_null(strstr(d1, "status_changed_at"));
    assert_null(strstr(d1, "esign"));
    assert_string_equal(res.detail, d0);
    assert_int_equal(res.reason, FS_REASON_ESIGN);
    /* Bad arguments never crash and always terminate the text. */
    fs_conflict_describe(NULL, d0, sizeof d0);
    assert_true(strlen(d0) > 0);
    fs_conflict_describe(&l.items[0], d0, 1);
    assert_int_equal(d0[0], '\0');
    fs_change_free(&a);
    fs_change_free(&b);
    fs_row_free(&row);
    fs_conflict_list_free(&l);
}

static void test_conflict_list(void **state)
{
    (void)state;
    const fs_entity *e = fs_schema_entity("customer");
    static const tk_rowspec base = {.f = {{"name", "T:Zed", TK_HLC(1000, 0), DEV_C, NULL, 0}}};
    fs_row row = {0};
    fs_conflict_list list = {0};
    fs_merge_ctx ctx = {0};
    char msg[128];
    size_t cap;

    assert_int_equal(tk_row_build(e, &base, &row, msg, sizeof msg), 0);
    for (int i = 0; i < 40; i++) {
        tk_chspec s = {.dev = DEV_A};
        fs_change c;
        fs_merge_result res;
        char val[32];
        snprintf(val, sizeof val, "T:v%d", i);
        s.f[0] = (tk_fw){"name", val, TK_HLC(10 + (uint64_t)i, 0), 0, NULL, 0};
        assert_int_equal(tk_change_build(e, &s, &c, msg, sizeof msg), 0);
        assert_int_equal(fs_merge(&ctx, &row, &c, &res, &list, NULL), FS_OK);
        assert_int_equal(res.outcome, FS_MERGED);
        assert_int_equal(res.reason, FS_REASON_STALE);
        fs_change_free(&c);
    }
    assert_int_equal(list.n, 40);
    for (size_t i = 0; i < list.n; i++) {
        char want[32];
        snprintf(want, sizeof want, "v%zu", i);
        assert_string_equal(list.items[i].yours.u.text.p, want);
        assert_string_equal(list.items[i].theirs.u.text.p, "Zed");
    }
    cap = list.cap;
    fs_conflict_list_clear(&list);
    assert_int_equal(list.n, 0);
    assert_int_equal(list.cap, cap);
    fs_conflict_list_free(&list);
    assert_null(list.items);
    fs_row_free(&row);
}

/* fs_real_format: the shortest text that reads back to the same bits. */
static void test_real_format(void **state)
{
    static const struct {
        double d;
        const char *want;
    } cases[] = {
        {53.48, "53.48"},
        {-2.2446, "-2.2446"},
        {0.1, "0.1"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1.0 / 3.0, "0.3333333333333333"},
        {100, "100"},
        {1e300, "1e+300"},
        {5e-324, "4.94065645841247e-324"}, /* 15 digits read back */
        {0.0, "0"},
        {-0.0, "0"},
        {NAN, "NaN"},
        {INFINITY, "Infinity"},
        {-INFINITY, "-Infinity"},
    };
    char b[FS_REAL_STRLEN + 1];
    uint64_t x = 0x9e3779b97f4a7c15u;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = fs_real_format(cases[i].d, b);
        assert_string_equal(b, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
    /* Random finite bit patterns all read back exactly. */
    for (int i = 0; i < 20000; i++) {
        double d, back;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(&d, &x, sizeof d);
        if (!isfinite(d) || d == 0)
            continue;
        assert_true(fs_real_format(d, b) <= FS_REAL_STRLEN);
        back = strtod(b, NULL);
        assert_memory_equal(&back, &d, sizeof d);
    }
}

/* fs_conflict_refused: the audit of a change refused before any merge keeps
 * each write with the refused value as "yours", its stamp and the writer;
 * the tombstone write as field -1 (1 = delete); a change with nothing
 * readable as one record without a field (issue 12 findings 6 and 7). */
static void test_conflict_refused(void **state)
{
    const fs_entity *e = fs_schema_entity("customer");
    fs_change c;
    fs_conflict_list l = {0};
    fs_id id, dev;
    fs_value v = {0};
    fs_error err;
    static const struct {
        bool phone, tomb, entity;
        size_t n;
    } cases[] = {
        {true, false, true, 1},
        {true, true, true, 2},
        {false, true, true, 1},
        {false, false, true, 1},
        {false, false, false, 1}, /* an entity unknown to this side */
    };

    (void)state;
    tk_row_id(1, &id);
    tk_dev(1, &dev);
    assert_int_equal(fs_value_text(&v, "555", 3, NULL), FS_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(fs_change_init(&c, e, &id, &dev, NULL), FS_OK);
        if (cases[i].phone)
            assert_int_equal(fs_change_set_named(&c, "phone", &v, 7, NULL), FS_OK);
        if (cases[i].tomb)
            fs_change_tombstone(&c, true, 9);
        if (!cases[i].entity)
            c.entity = NULL;
        fs_conflict_list_clear(&l);
        assert_int_equal(fs_conflict_refused(&l, &c, FS_RULE_SCOPE, &err), FS_OK);
        assert_int_equal(l.n, cases[i].n);
        for (size_t k = 0; k < l.n; k++) {
            const fs_conflict *r = &l.items[k];
            assert_ptr_equal(r->entity, c.entity);
            assert_memory_equal(r->row.b, id.b, 16);
            assert_memory_equal(r->yours_device.b, dev.b, 16);
            assert_int_equal(r->rule, FS_RULE_SCOPE);
            assert_int_equal(r->status, FS_CONFLICT_AUTO);
            assert_false(r->yours_won);
            assert_int_equal(r->theirs.kind, FS_VAL_NULL);
        }
        if (cases[i].phone) {
            assert_int_equal(l.items[0].field, fs_entity_field_index(e, "phone"));
            assert_true(fs_value_eq(&l.items[0].yours, &v));
            assert_int_equal(l.items[0].yours_hlc, 7);
        }
        if (cases[i].tomb) {
            const fs_conflict *r = &l.items[l.n - 1];
            assert_int_equal(r->field, -1);
            assert_int_equal(r->yours.kind, FS_VAL_INT);
            assert_int_equal(r->yours.u.i, 1);
            assert_int_equal(r->yours_hlc, 9);
        }
        if (!cases[i].phone && !cases[i].tomb) {
            assert_int_equal(l.items[0].field, FS_CONFLICT_NO_FIELD);
            assert_int_equal(l.items[0].yours.kind, FS_VAL_NULL);
        }
        c.entity = e;
        fs_change_free(&c);
    }
    assert_err(fs_conflict_refused(NULL, &c, FS_RULE_SCOPE, &err), FS_EINVAL, &err);
    fs_value_clear(&v);
    fs_conflict_list_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_and_error),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_esign_helpers),
        cmocka_unit_test(test_currency),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_real_format),
        cmocka_unit_test(test_field_check),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_changes),
        cmocka_unit_test(test_merge_bad_input),
        cmocka_unit_test(test_conflict_list),
        cmocka_unit_test(test_conflict_describe),
        cmocka_unit_test(test_conflict_refused),
    };
    return cmocka_run_group_tests_name("conflict_values", tests, NULL, NULL);
}
