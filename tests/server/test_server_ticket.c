/*
 * test_server_ticket.c - service tickets at the server (CRM.md section 4):
 * a rep's ticket syncs to the other devices of its customer with opened_by
 * stamped by the server; a device's status moves are judged by
 * conflict/fs_ticket.c against the stored status, and a move that is the
 * back office's (resolving) is rejected with the rule's reason and recorded,
 * nothing stored; closing and reopening from a device pass.
 */
#include "server_testkit.h"

#include <stdlib.h>
#include <string.h>

static void admin(tk_server *t, const char *method, const char *path,
                  const char *body, tk_http *r)
{
    const char *h[] = {"Authorization: Bearer " TK_ADMIN_TOKEN,
                       "Content-Type: application/json", NULL};

    tk_request(t, method, path, h, body, body ? strlen(body) : 0, r);
}

/* POST /admin/v1/tickets/{id} with body; checks the HTTP status and, when
 * says is given, that the answer says it. */
static void work(tk_server *t, const fs_id *tk, const char *body, long want,
                 const char *says)
{
    char path[128], id[FS_ID_STRLEN + 1];
    tk_http r;

    fs_id_format(tk, id);
    snprintf(path, sizeof path, "/admin/v1/tickets/%s", id);
    admin(t, "POST", path, body, &r);
    if (r.status != want || (says && !memmem(r.body, r.len, says, strlen(says))))
        fail_msg("%s: %ld %.*s, want %ld %s", body, r.status, (int)r.len,
                 (const char *)r.body, want, says ? says : "");
    tk_http_free(&r);
}

/* Syncs one change and checks its outcome and reason. */
static void push1(tk_server *t, tk_device *d, fs_change *c, fs_outcome out,
                  fs_reason reason, fs_sync_response *r)
{
    fs_error_body eb;

    assert_int_equal(tk_sync(t, d, NULL, c, 1, 0, 0, FS_PROTO_DEFLATE, r, &eb), 200);
    if (r->results[0].outcome != out || r->results[0].reason != reason)
        fail_msg("outcome %d reason %s (%s), want %d %s", (int)r->results[0].outcome,
                 fs_reason_name(r->results[0].reason), r->results[0].detail, (int)out,
                 fs_reason_name(reason));
    fs_change_free(c);
}

static void open_ticket(tk_server *t, tk_device *d, const fs_id *cust, const fs_id *tk,
                        const char *status, fs_outcome out)
{
    fs_change c;
    fs_sync_response r;

    tk_change(&c, d, "ticket", tk);
    tk_set_id(&c, d, "customer_id", cust);
    tk_set_text(&c, d, "kind", "complaint");
    tk_set_text(&c, d, "subject", "late delivery");
    tk_set_text(&c, d, "status", status);
    push1(t, d, &c, out, out == FS_APPLIED ? FS_REASON_NONE : FS_REASON_INVALID, &r);
    fs_proto_sync_response_free(&r);
}

static void set_status(tk_server *t, tk_device *d, const fs_id *tk, const char *status,
                       fs_outcome out, const char *says)
{
    fs_change c;
    fs_sync_response r;

    tk_change(&c, d, "ticket", tk);
    tk_set_text(&c, d, "status", status);
    push1(t, d, &c, out, out == FS_APPLIED ? FS_REASON_NONE : FS_REASON_INVALID, &r);
    if (says && !strstr(r.results[0].detail, says))
        fail_msg("-> %s: \"%s\" does not say \"%s\"", status, r.results[0].detail, says);
    fs_proto_sync_response_free(&r);
}

/* The stored status as another device of the territory pulls it. */
static void pulled(tk_server *t, tk_device *d, const fs_id *tk, const char *field,
                   const char *want)
{
    fs_sync_response r;
    fs_error_body eb;
    const fs_pulled_row *p;
    const char *v;

    assert_int_equal(tk_sync(t, d, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    p = tk_find_row(&r, tk);
    assert_non_null(p);
    v = tk_row_text(&p->row, field);
    if (want && (!v || strcmp(v, want) != 0))
        fail_msg("%s: got %s, want %s", field, v ? v : "(null)", want);
    if (!want && !v)
        fail_msg("%s is not set", field);
    fs_proto_sync_response_free(&r);
}

static void test_device_transitions(void **state)
{
    tk_server t;
    tk_device a, b;
    fs_id alice, bob, cust, tk = tk_new_id(), bad = tk_new_id();
    fss_buf out = {0};

    (void)state;
    tk_start(&t, NULL);
    alice = tk_rep(&t, "Alice", "north");
    bob = tk_rep(&t, "Bob", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(&t, &alice, &a);
    tk_enroll(&t, &bob, &b);

    /* A new ticket starts open. */
    open_ticket(&t, &a, &cust, &bad, "resolved", FS_REJECTED);
    open_ticket(&t, &a, &cust, &tk, "open", FS_APPLIED);
    pulled(&t, &b, &tk, "status", "open");
    pulled(&t, &b, &tk, "opened_by", NULL); /* stamped by the server */

    /* Working and resolving are the back office's. */
    set_status(&t, &a, &tk, "in_progress", FS_REJECTED, "only at the back office");
    set_status(&t, &b, &tk, "resolved", FS_REJECTED,
               "a ticket moves from open to resolved only at the back office");
    pulled(&t, &b, &tk, "status", "open");

    /* A rep closes it, and reopens it. */
    b.clock = a.clock;
    set_status(&t, &b, &tk, "closed", FS_APPLIED, NULL);
    pulled(&t, &a, &tk, "status", "closed");
    a.clock = b.clock; /* a has seen b's close (clients fold the server's clock) */
    set_status(&t, &a, &tk, "open", FS_APPLIED, NULL);
    pulled(&t, &b, &tk, "status", "open");

    /* Every refusal is recorded with its reason, one record per written
     * field (the refused create wrote four). */
    assert_int_equal(fss_admin_conflicts_list(t.s, NULL, 0, &out, NULL), FSS_OK);
    assert_int_equal(tk_count(out.data, "only at the back office"), 2);
    assert_int_equal(tk_count(out.data, "a new ticket starts open"), 4);
    fss_buf_free(&out);
    tk_stop(&t);
}

/* The round trip at the server: a rep opens a ticket, the back office
 * assigns and resolves it through the admin API, the rep's device pulls the
 * status, assignee and resolution; the list by age respects territories. */
static void test_back_office(void **state)
{
    tk_server t;
    tk_device a;
    fs_id alice, cust, south, tk = tk_new_id(), t2 = tk_new_id(), nosuch = tk_new_id();
    fs_sync_response r;
    fs_error_body eb;
    const fs_pulled_row *p;
    tk_http h;
    fss_buf out = {0};
    int ra;

    (void)state;
    tk_start(&t, NULL);
    alice = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", NULL, 50, 0);
    (void)tk_rep(&t, "Sam", "south");
    south = tk_customer(&t, "Southwind", "south", &alice, 40, 0);
    tk_enroll(&t, &alice, &a);
    open_ticket(&t, &a, &cust, &tk, "open", FS_APPLIED);
    open_ticket(&t, &a, &south, &t2, "open", FS_APPLIED);

    work(&t, &tk, "{\"status\":\"in_progress\",\"assignee\":\"Dana\"}", 200, NULL);
    pulled(&t, &a, &tk, "status", "in_progress");
    pulled(&t, &a, &tk, "assignee", "Dana");
    /* The rep still cannot resolve it. */
    set_status(&t, &a, &tk, "resolved", FS_REJECTED, "only at the back office");
    work(&t, &tk, "{\"status\":\"resolved\",\"resolution\":\"replaced the pump\"}",
         200, NULL);
    assert_int_equal(tk_sync(&t, &a, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    p = tk_find_row(&r, &tk);
    assert_non_null(p);
    assert_string_equal(tk_row_text(&p->row, "status"), "resolved");
    assert_string_equal(tk_row_text(&p->row, "resolution"), "replaced the pump");
    ra = fs_entity_field_index(p->row.entity, "resolved_at");
    assert_int_equal(p->row.cells[ra].v.kind, FS_VAL_INT);
    /* The device folds the server's stamp, as the client does on a pull. */
    a.clock = p->row.cells[fs_entity_field_index(p->row.entity, "status")].hlc;
    fs_proto_sync_response_free(&r);

    /* The rep closes it; the back office cannot resolve a closed ticket
     * (it reopens it first), nor name an unknown status or ticket. */
    set_status(&t, &a, &tk, "closed", FS_APPLIED, NULL);
    work(&t, &tk, "{\"status\":\"resolved\"}", 400,
         "a ticket cannot move from closed to resolved");
    work(&t, &tk, "{\"status\":\"done\"}", 400, "status must be");
    work(&t, &tk, "{}", 400, "give a status");
    work(&t, &nosuch, "{\"status\":\"open\"}", 404, NULL);
    work(&t, &tk, "{\"status\":\"open\"}", 200, NULL); /* reopened */

    /* The list: waiting tickets, restricted to a territory. */
    admin(&t, "GET", "/admin/v1/tickets?territory=north", NULL, &h);
    assert_int_equal(h.status, 200);
    assert_non_null(memmem(h.body, h.len, "Greenfield", 10));
    assert_null(memmem(h.body, h.len, "Southwind", 9));
    assert_non_null(memmem(h.body, h.len, "\"age_days\":0", 12));
    tk_http_free(&h);
    admin(&t, "GET", "/admin/v1/tickets?territory=east", NULL, &h);
    assert_int_equal(h.status, 200);
    assert_int_equal(h.len, 3); /* "[]\n" */
    tk_http_free(&h);
    work(&t, &t2, "{\"status\":\"resolved\"}", 200, NULL);
    assert_int_equal(fss_report_tickets(t.s, NULL, 0, true, 0, &out, NULL), FSS_OK);
    assert_int_equal(tk_count(out.data, "\"id\":"), 1);   /* t2 is no longer waiting */
    fss_buf_free(&out);
    assert_int_equal(fss_report_tickets(t.s, NULL, 0, false, 0, &out, NULL), FSS_OK);
    assert_int_equal(tk_count(out.data, "\"id\":"), 2);
    fss_buf_free(&out);
    tk_stop(&t);
}

static void survey_delay_1d(fss_config *cfg)
{
    cfg->survey_delay_s = 86400;
}

static void rate(tk_server *t, tk_device *d, const fs_id *tk, int64_t score,
                 fs_outcome out, fs_reason reason)
{
    fs_change c;
    fs_sync_response r;

    tk_change(&c, d, "ticket", tk);
    tk_set_int(&c, d, "rating", score);
    tk_set_text(&c, d, "rating_note", score > 3 ? "happy" : "meh");
    tk_set_int(&c, d, "rated_at", 1796500000000LL); /* 2026-12 */
    push1(t, d, &c, out, reason, &r);
    fs_proto_sync_response_free(&r);
}

/* Resolving gives the owner rep one satisfaction task, due the configured
 * delay later, and only once per ticket; the first score to arrive stands
 * (a later one from another device is refused and recorded); the report
 * groups scores by
 * rep, territory and month. */
static void test_survey_and_rating(void **state)
{
    tk_server t;
    tk_device a, a2;
    fs_id alice, cust, tk = tk_new_id(), tk2 = tk_new_id();
    fs_sync_response r;
    fs_error_body eb;
    const fs_pulled_row *p;
    fss_buf out = {0};
    char rep[FS_ID_STRLEN + 1];
    size_t tasks = 0;
    int64_t resolved = 0, due = 0;

    (void)state;
    tk_start(&t, survey_delay_1d);
    alice = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", &alice, 50, 0);
    tk_enroll(&t, &alice, &a);
    tk_enroll(&t, &alice, &a2);
    fs_id_format(&alice, rep);
    open_ticket(&t, &a, &cust, &tk, "open", FS_APPLIED);
    open_ticket(&t, &a, &cust, &tk2, "open", FS_APPLIED);
    work(&t, &tk, "{\"status\":\"resolved\"}", 200, NULL);
    work(&t, &tk, "{\"status\":\"open\"}", 200, NULL);
    work(&t, &tk, "{\"status\":\"resolved\"}", 200, NULL); /* no second survey */

    assert_int_equal(tk_sync(&t, &a, NULL, NULL, 0, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    for (size_t i = 0; i < r.nrows; i++) {
        const fs_row *row = &r.rows[i].row;
        const char *g;
        if (strcmp(row->entity->name, "task") != 0)
            continue;
        g = tk_row_text(row, "generated");
        assert_non_null(g);
        assert_string_equal(g, "satisfaction");
        assert_string_equal(tk_row_text(row, "rep_id"), rep);
        due = row->cells[fs_entity_field_index(row->entity, "due_at")].v.u.i;
        tasks++;
    }
    p = tk_find_row(&r, &tk);
    assert_non_null(p);
    resolved = p->row.cells[fs_entity_field_index(p->row.entity, "resolved_at")].v.u.i;
    a.clock = a2.clock = p->row.cells[fs_entity_field_index(p->row.entity, "status")].hlc;
    fs_proto_sync_response_free(&r);
    assert_int_equal(tasks, 1);
    /* Due a day after the first resolve (the re-resolve is later still). */
    assert_true(due > 0 && resolved > 0);
    assert_true(due - 86400000LL <= resolved && due - 86400000LL > resolved - 60000);

    rate(&t, &a, &tk, 4, FS_APPLIED, FS_REASON_NONE);
    a2.clock = a.clock + 10;
    /* The first score to arrive stands; a later one, whatever its stamp or
     * value, is refused and recorded. */
    rate(&t, &a2, &tk, 1, FS_REJECTED, FS_REASON_INVALID);
    a2.clock = a.clock - 1000;
    rate(&t, &a2, &tk, 4, FS_REJECTED, FS_REASON_INVALID);
    pulled(&t, &a2, &tk, "rating_note", "happy");
    assert_int_equal(fss_admin_conflicts_list(t.s, NULL, 0, &out, NULL), FSS_OK);
    assert_int_equal(tk_count(out.data, "\"field\":\"rating\""), 2);
    assert_true(tk_count(out.data, "one score per ticket") >= 2);
    fss_buf_free(&out);

    work(&t, &tk2, "{\"status\":\"resolved\"}", 200, NULL);
    a.clock += 100;
    rate(&t, &a, &tk2, 5, FS_APPLIED, FS_REASON_NONE);
    assert_int_equal(fss_report_satisfaction(t.s, NULL, 0, &out, NULL), FSS_OK);
    assert_non_null(strstr(out.data, "\"surveys\":2,\"sum\":9,\"average\":\"4.50\""));
    assert_non_null(strstr(out.data, "{\"territory\":\"north\",\"surveys\":2"));
    assert_non_null(strstr(out.data, "{\"month\":\"2026-12\",\"surveys\":2"));
    fss_buf_free(&out);
    {
        const char *south[1] = {"south"};
        assert_int_equal(fss_report_satisfaction(t.s, south, 1, &out, NULL), FSS_OK);
        assert_string_equal(out.data, "{\"by_rep\":[],\n\"by_territory\":[],\n\"by_month\":[]}\n");
        fss_buf_free(&out);
    }
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_transitions),
        cmocka_unit_test(test_back_office),
        cmocka_unit_test(test_survey_and_rating),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
