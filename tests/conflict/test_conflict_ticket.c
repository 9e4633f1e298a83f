/*
 * test_conflict_ticket.c - the ticket status rule (fs_ticket.c) as tables:
 * every move from every state for a device and for the back office, the
 * reasons a refusal gives, and the rule judged against a stored row (a new
 * ticket, one without a status, clearing the status).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fs_conflict.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum { NO = 0, DEV = 1, SRV = 2, BOTH = 3 };

/* who may make each move: rows are from (new, open, in_progress, resolved,
 * closed), columns to (open, in_progress, resolved, closed). The same state
 * is always allowed (nothing moves). */
static const int allowed[5][4] = {
    /* new */         {BOTH, NO, NO, NO},
    /* open */        {BOTH, SRV, SRV, BOTH},
    /* in_progress */ {SRV, BOTH, SRV, BOTH},
    /* resolved */    {BOTH, NO, BOTH, BOTH},
    /* closed */      {BOTH, NO, NO, BOTH},
};

static void test_transition_table(void **state)
{
    (void)state;
    for (int f = 0; f < 5; f++)
        for (int t = 0; t < 4; t++)
            for (int who = 0; who < 2; who++) {
                fs_ticket_state from = f == 0 ? FS_TICKET_NONE : (fs_ticket_state)(f - 1);
                fs_error err = {0};
                fs_status st = fs_ticket_check_transition(from, (fs_ticket_state)t,
                                                          who == 1, &err);
                bool want = (allowed[f][t] & (who ? SRV : DEV)) != 0;
                if ((st == FS_OK) != want)
                    fail_msg("%s -> %s by %s: got %s (%s)", fs_ticket_state_name(from),
                             fs_ticket_state_name((fs_ticket_state)t),
                             who ? "server" : "device", st == FS_OK ? "ok" : "refused",
                             err.text);
                if (!want && (st != FS_ETRANSITION || !err.text[0]))
                    fail_msg("%s -> %s: a refusal is FS_ETRANSITION with a reason",
                             fs_ticket_state_name(from),
                             fs_ticket_state_name((fs_ticket_state)t));
            }
}

static void test_reasons(void **state)
{
    static const struct {
        fs_ticket_state from, to;
        bool by_server;
        const char *says;
    } cases[] = {
        {FS_TICKET_OPEN, FS_TICKET_RESOLVED, false,
         "a ticket moves from open to resolved only at the back office; a device cannot"},
        {FS_TICKET_OPEN, FS_TICKET_IN_PROGRESS, false, "only at the back office"},
        {FS_TICKET_NONE, FS_TICKET_CLOSED, true, "a new ticket starts open, not closed"},
        {FS_TICKET_CLOSED, FS_TICKET_RESOLVED, true,
         "a ticket cannot move from closed to resolved"},
    };
    (void)state;
    for (size_t i = 0; i < N(cases); i++) {
        fs_error err = {0};
        assert_int_equal(fs_ticket_check_transition(cases[i].from, cases[i].to,
                                                    cases[i].by_server, &err),
                         FS_ETRANSITION);
        if (!strstr(err.text, cases[i].says))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err.text, cases[i].says);
    }
    assert_int_equal(fs_ticket_check_transition(FS_TICKET_OPEN, FS_TICKET_INVALID, true,
                                                NULL), FS_ERANGE);
}

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; fs_ticket_status_values[i]; i++) {
        const char *s = fs_ticket_status_values[i];
        assert_int_equal(fs_ticket_state_parse(s, strlen(s)), i);
        assert_string_equal(fs_ticket_state_name((fs_ticket_state)i), s);
    }
    assert_int_equal(fs_ticket_state_parse("reopened", 8), FS_TICKET_INVALID);
    assert_int_equal(fs_ticket_state_parse(NULL, 0), FS_TICKET_INVALID);
}

/* The rule against a stored row, as the client and the server call it. */
static void test_check_write(void **state)
{
    static const struct {
        const char *stored; /* NULL: no row; "" a row without a status */
        const char *to;     /* NULL: clear */
        bool by_server;
        fs_status want;
    } cases[] = {
        {NULL, "open", false, FS_OK},
        {NULL, NULL, false, FS_OK},                  /* a new ticket reads open */
        {NULL, "resolved", true, FS_ETRANSITION},
        {"", "closed", false, FS_OK},                /* open -> closed */
        {"", "resolved", false, FS_ETRANSITION},
        {"open", "resolved", false, FS_ETRANSITION},
        {"open", "resolved", true, FS_OK},
        {"resolved", "open", false, FS_OK},          /* reopen */
        {"closed", "open", false, FS_OK},            /* reopen */
        {"closed", "in_progress", true, FS_ETRANSITION},
        {"open", NULL, true, FS_ETRANSITION},        /* never cleared */
        {"open", "open", false, FS_OK},
    };
    const fs_entity *e = fs_schema_entity("ticket");
    int slot = fs_entity_field_index(e, "status"), subj = fs_entity_field_index(e, "subject");
    fs_id id = {{1}};
    (void)state;
    assert_non_null(e);
    assert_true(slot >= 0 && subj >= 0);
    for (size_t i = 0; i < N(cases); i++) {
        fs_row row = {0};
        fs_value to = {0};
        fs_error err = {0};
        fs_status st;
        assert_int_equal(fs_row_init(&row, e, &id, NULL), FS_OK);
        if (cases[i].stored) {
            assert_int_equal(fs_value_text(&row.cells[subj].v, "x", 1, NULL), FS_OK);
            row.cells[subj].hlc = 1;
            if (cases[i].stored[0]) {
                assert_int_equal(fs_value_text(&row.cells[slot].v, cases[i].stored,
                                               strlen(cases[i].stored), NULL), FS_OK);
                row.cells[slot].hlc = 1;
            }
        }
        if (cases[i].to)
            assert_int_equal(fs_value_text(&to, cases[i].to, strlen(cases[i].to), NULL),
                             FS_OK);
        st = fs_ticket_check_write(&row, cases[i].to ? &to : NULL, cases[i].by_server, &err);
        if (st != cases[i].want)
            fail_msg("case %zu (%s -> %s): got %d (%s)", i,
                     cases[i].stored ? cases[i].stored : "none",
                     cases[i].to ? cases[i].to : "null", (int)st, err.text);
        fs_value_clear(&to);
        fs_row_free(&row);
    }
}

/* One score per ticket: a stored rating refuses another. */
static void test_check_rate(void **state)
{
    const fs_entity *e = fs_schema_entity("ticket");
    int rating = fs_entity_field_index(e, "rating"), subj = fs_entity_field_index(e, "subject");
    fs_id id = {{2}};
    fs_row row = {0};
    fs_error err = {0};
    (void)state;
    assert_int_equal(fs_row_init(&row, e, &id, NULL), FS_OK);
    assert_int_equal(fs_ticket_check_rate(&row, NULL), FS_OK); /* no ticket yet */
    assert_int_equal(fs_value_text(&row.cells[subj].v, "x", 1, NULL), FS_OK);
    row.cells[subj].hlc = 1;
    assert_int_equal(fs_ticket_check_rate(&row, NULL), FS_OK);
    row.cells[rating].v = fs_value_int(4);
    row.cells[rating].hlc = 2;
    assert_int_equal(fs_ticket_check_rate(&row, &err), FS_ETRANSITION);
    assert_string_equal(err.text, "the ticket was already rated 4; one score per ticket");
    fs_row_free(&row);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transition_table),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_check_write),
        cmocka_unit_test(test_check_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
