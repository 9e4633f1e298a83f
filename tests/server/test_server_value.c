/*
 * test_server_value.c - customer value and churn at the server
 * (sync-server/fss_value.c feeding conflict/fs_score.c): analyze writes
 * grade, core, rfm, risk and risk_reason as server-owned customer fields
 * that reach the rep's device; a second run over an unchanged store changes
 * no row and hands out no sequence number; grade movements are reported; a
 * device's write to a computed field is refused and recorded; a churn rule
 * gives the owner rep one generated follow-up task, never two (also when two
 * runs race), closed when the cause goes away; analyze's batched, sorted
 * grading agrees with fs_score_grade's in memory. Every test runs with the
 * default batch, and those whose runs span customers again with one
 * customer per batch.
 */
#include "server_testkit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY INT64_C(86400000)

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Imports one purchase of customer cust. */
static void buy(tk_server *t, const fs_id *cust, int64_t amount, const char *cur,
                int64_t at)
{
    char id[FS_ID_STRLEN + 1], json[300];
    fs_id_format(cust, id);
    snprintf(json, sizeof json,
             "[{\"customer_id\":\"%s\",\"amount\":%lld,\"currency\":\"%s\","
             "\"purchased_at\":%lld}]",
             id, (long long)amount, cur, (long long)at);
    tk_import(t, "purchase", json);
}

/* Pulls from cursor; returns the number of rows and the next cursor. */
static size_t pull_from(tk_server *t, tk_device *d, uint64_t cursor, uint64_t *next,
                        fs_sync_response *r)
{
    fs_error_body eb;
    assert_int_equal(tk_sync(t, d, NULL, NULL, 0, cursor, 5000, FS_PROTO_DEFLATE, r, &eb),
                     200);
    *next = r->next_cursor;
    return r->nrows;
}

static const char *field_of(const fs_sync_response *r, const fs_id *id, const char *f)
{
    const fs_pulled_row *pr = tk_find_row(r, id);
    return pr ? tk_row_text(&pr->row, f) : NULL;
}

static void export_of(tk_server *t, const fs_id *rep, fss_buf *out)
{
    memset(out, 0, sizeof *out);
    assert_int_equal(fss_admin_export(t->s, rep, out, NULL), FSS_OK);
}

/* analyze's batch size for this group of tests (0 = the default), so each
 * test runs with every customer in one batch and with one per batch. */
static unsigned batch_size;

static void cfg_batch(fss_config *cfg)
{
    if (batch_size)
        cfg->analyze_batch = batch_size;
}

static int group_default(void **state)
{
    (void)state;
    batch_size = 0;
    return 0;
}

static int group_one(void **state)
{
    (void)state;
    batch_size = 1;
    return 0;
}

/* Four owned customers in the four quadrants of unit x count: the device
 * receives B, C, D, E; a rerun re-sequences nothing; a new purchase moves
 * one grade and the report says so. */
static void test_grades_reach_device(void **state)
{
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fss_analyze_result a;
    fs_id rep, c[4];
    int64_t now = now_ms();
    uint64_t cursor, next;

    (void)state;
    tk_start(&t, cfg_batch);
    rep = tk_rep(&t, "Alice", "north");
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "Cust %d", i);
        c[i] = tk_customer(&t, name, "north", &rep, 50, 0);
    }
    buy(&t, &c[0], 100, "EUR", now - 1 * DAY);
    buy(&t, &c[1], 300, "EUR", now - 1 * DAY);
    for (int k = 1; k <= 3; k++) {
        buy(&t, &c[2], 100, "EUR", now - k * DAY);
        buy(&t, &c[3], 300, "EUR", now - k * DAY);
    }
    tk_enroll(&t, &rep, &d);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    cursor = d.cursor;

    assert_int_equal(fss_analyze(t.s, now, &a, NULL), FSS_OK);
    assert_int_equal(a.customers, 4);
    assert_int_equal(a.buyers, 4);
    assert_int_equal(a.changed, 4);
    assert_int_equal(a.moves[0][4], 1); /* new -> E */
    assert_int_equal(a.ncur, 1);
    assert_int_equal(a.cur[0].unit_threshold, 300);
    assert_true(pull_from(&t, &d, cursor, &next, &r) >= 4);
    static const char *const want[] = {"B", "C", "D", "E"};
    for (int i = 0; i < 4; i++)
        assert_string_equal(field_of(&r, &c[i], "grade"), want[i]);
    assert_string_equal(field_of(&r, &c[3], "rfm"), "555");
    assert_string_equal(field_of(&r, &c[0], "risk"), "none");
    fs_proto_sync_response_free(&r);
    cursor = next;

    /* Idempotent: nothing changed, nothing re-sequenced, nothing pulled. */
    assert_int_equal(fss_analyze(t.s, now, &a, NULL), FSS_OK);
    assert_int_equal(a.changed, 0);
    assert_int_equal(a.tasks_opened, 0);
    assert_int_equal(a.moves[5][4], 1); /* E stays E: not a movement */
    assert_int_equal(pull_from(&t, &d, cursor, &next, &r), 0);
    assert_int_equal(next, cursor);
    fs_proto_sync_response_free(&r);

    /* Customer 0 buys twice more at a high price: B -> E (count 3, unit
     * 300 >= the new median). */
    buy(&t, &c[0], 400, "EUR", now - 2 * DAY);
    buy(&t, &c[0], 400, "EUR", now - 3 * DAY);
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    cursor = d.cursor;
    assert_int_equal(fss_analyze(t.s, now, &a, NULL), FSS_OK);
    assert_int_equal(a.moves[2][4], 1); /* B -> E */
    assert_true(pull_from(&t, &d, cursor, &next, &r) >= 1);
    assert_string_equal(field_of(&r, &c[0], "grade"), "E");
    fs_proto_sync_response_free(&r);

    fss_buf rep_text = {0};
    fss_analyze_text(t.s, &a, &rep_text);
    assert_non_null(strstr(rep_text.data, "B->E 1"));
    assert_non_null(strstr(rep_text.data, "of revenue"));
    fss_buf_free(&rep_text);
    tk_stop(&t);
}

/* A device writing a computed field is refused with reason server_owned,
 * and the refusal is recorded for the back office. */
static void test_device_write_refused(void **state)
{
    static const struct { const char *field, *text; int64_t i; } cases[] = {
        {"grade", "E", 0}, {"core", NULL, 1}, {"rfm", "555", 0},
        {"risk", "none", 0}, {"risk_reason", "fine", 0},
    };
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fs_error_body eb;
    fs_id rep, cust;
    fss_buf out = {0};

    (void)state;
    tk_start(&t, cfg_batch);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", &rep, 50, 0);
    tk_enroll(&t, &rep, &d);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fs_change c;
        tk_change(&c, &d, "customer", &cust);
        if (cases[i].text)
            tk_set_text(&c, &d, cases[i].field, cases[i].text);
        else
            tk_set_int(&c, &d, cases[i].field, cases[i].i);
        assert_int_equal(tk_sync(&t, &d, NULL, &c, 1, 0, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
        if (r.results[0].outcome != FS_REJECTED ||
            r.results[0].reason != FS_REASON_SERVER_OWNED)
            fail_msg("%s: outcome %d reason %s", cases[i].field, (int)r.results[0].outcome,
                     fs_reason_name(r.results[0].reason));
        assert_null(field_of(&r, &cust, cases[i].field));
        fs_proto_sync_response_free(&r);
        fs_change_free(&c);
    }
    assert_int_equal(fss_admin_conflicts_list(t.s, NULL, 100, &out, NULL), FSS_OK);
    assert_int_equal(tk_count(out.data, "server_owned"), 5);
    assert_non_null(strstr(out.data, "\"risk_reason\""));
    fss_buf_free(&out);
    tk_stop(&t);
}

typedef struct race {
    tk_server *t;
    int64_t now;
    fss_analyze_result a;
    fss_status st;
} race;

static void *race_run(void *arg)
{
    race *x = arg;
    x->st = fss_analyze(x->t->s, x->now, &x->a, NULL);
    return NULL;
}

/* A quiet customer: one generated task for the owner, also when two runs
 * race; a rerun adds none; a completed visit closes it; a customer with no
 * owner gets none and is counted. */
static void test_generated_tasks(void **state)
{
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fs_error_body eb;
    fs_id rep, cust, pool, visit = tk_new_id();
    fss_analyze_result a;
    fss_buf ex;
    int64_t now = now_ms(), later = now + 100 * DAY;
    pthread_t th[2];
    race x[2];

    (void)state;
    tk_start(&t, cfg_batch);
    rep = tk_rep(&t, "Alice", "north");
    cust = tk_customer(&t, "Greenfield", "north", &rep, 50, 0);
    tk_rep(&t, "Bob", "south");
    pool = tk_customer(&t, "Nobody's", "south", NULL, 50, 0);
    tk_enroll(&t, &rep, &d);

    /* Today nobody is quiet yet: no task. */
    assert_int_equal(fss_analyze(t.s, now, &a, NULL), FSS_OK);
    assert_int_equal(a.tasks_opened, 0);
    assert_int_equal(a.risk[FS_RISK_NONE], 2);

    /* 100 days on, both are quiet (grade A: 90 days). Two runs race. */
    for (int i = 0; i < 2; i++) {
        x[i] = (race){.t = &t, .now = later};
        assert_int_equal(pthread_create(&th[i], NULL, race_run, &x[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(x[i].st, FSS_OK);
    }
    assert_int_equal(x[0].a.tasks_opened + x[1].a.tasks_opened, 1);
    assert_int_equal(x[0].a.no_owner + x[1].a.no_owner, 2); /* each run counts it */
    export_of(&t, &rep, &ex);
    assert_int_equal(tk_count(ex.data, "\"generated\":\"quiet\""), 1);
    assert_non_null(strstr(ex.data, "\"risk\":\"watch\""));
    assert_non_null(strstr(ex.data, "no visit or follow-up ever (customer since "));
    fss_buf_free(&ex);

    /* The rep's device gets the task, marked generated, for the rep. */
    tk_pull_all(&t, &d, NULL, NULL, NULL, NULL);
    assert_int_equal(fss_analyze(t.s, later, &a, NULL), FSS_OK);
    assert_int_equal(a.tasks_opened, 0);
    assert_int_equal(a.changed, 0);

    /* A completed visit (5 days before "later") ends the cause: the task
     * is closed by the server. */
    fs_change c;
    tk_change(&c, &d, "visit", &visit);
    tk_set_id(&c, &d, "customer_id", &cust);
    tk_set_int(&c, &d, "checkin_at", later - 5 * DAY);
    tk_set_text(&c, &d, "status", "completed");
    assert_int_equal(tk_sync(&t, &d, NULL, &c, 1, d.cursor, 0, FS_PROTO_DEFLATE, &r, &eb), 200);
    assert_int_equal(r.results[0].outcome, FS_APPLIED);
    fs_proto_sync_response_free(&r);
    fs_change_free(&c);
    assert_int_equal(fss_analyze(t.s, later, &a, NULL), FSS_OK);
    assert_int_equal(a.tasks_closed, 1);
    assert_int_equal(a.tasks_opened, 0);
    export_of(&t, &rep, &ex);
    assert_int_equal(tk_count(ex.data, "\"generated\":\"quiet\""), 1);
    assert_non_null(strstr(ex.data, "\"done\":1"));
    assert_null(strstr(ex.data, "\"risk\":\"watch\""));
    fss_buf_free(&ex);
    (void)pool;
    tk_stop(&t);
}

/* A lost customer: no risk, its generated task closed, listed by reason;
 * both reports honour a territory restriction; won back clears it. */
static void test_lost_and_reports(void **state)
{
    tk_server t;
    fs_id rep, north, south;
    fss_analyze_result a;
    fss_buf out = {0};
    fs_error err = {0};
    int64_t later = now_ms() + 100 * DAY;
    const char *const only_north[] = {"north"}, *const only_south[] = {"south"};

    (void)state;
    tk_start(&t, cfg_batch);
    rep = tk_rep(&t, "Alice", "north");
    tk_rep(&t, "Bob", "south");
    north = tk_customer(&t, "Greenfield", "north", &rep, 50, 0);
    south = tk_customer(&t, "Southmill", "south", NULL, 50, 0);
    assert_int_equal(fss_analyze(t.s, later, &a, NULL), FSS_OK);
    assert_int_equal(a.tasks_opened, 1);
    assert_int_equal(a.risk[FS_RISK_WATCH], 2);

    assert_int_equal(fss_report_at_risk(t.s, NULL, 0, &out, NULL), FSS_OK);
    assert_int_equal(tk_count(out.data, "\"risk\":\"watch\""), 2);
    fss_buf_free(&out);
    memset(&out, 0, sizeof out);
    assert_int_equal(fss_report_at_risk(t.s, only_south, 1, &out, NULL), FSS_OK);
    assert_non_null(strstr(out.data, "Southmill"));
    assert_null(strstr(out.data, "Greenfield"));
    fss_buf_free(&out);

    assert_int_equal(fss_admin_customer_lost(t.s, &north, "price", NULL), FSS_OK);
    assert_int_equal(fss_admin_customer_lost(t.s, &south, "moved away", NULL), FSS_OK);
    assert_int_equal(fss_admin_customer_lost(t.s, &south, NULL, &err), FSS_EINVAL);
    assert_int_equal(fss_analyze(t.s, later, &a, NULL), FSS_OK);
    assert_int_equal(a.tasks_closed, 1);
    assert_int_equal(a.lost, 2);
    assert_int_equal(a.risk[FS_RISK_NONE], 2);
    memset(&out, 0, sizeof out);
    assert_int_equal(fss_report_lost(t.s, NULL, 0, &out, NULL), FSS_OK);
    assert_non_null(strstr(out.data, "{\"reason\":\"moved away\",\"customers\":1"));
    assert_non_null(strstr(out.data, "{\"reason\":\"price\",\"customers\":1"));
    fss_buf_free(&out);
    memset(&out, 0, sizeof out);
    assert_int_equal(fss_report_lost(t.s, only_north, 1, &out, NULL), FSS_OK);
    assert_null(strstr(out.data, "moved away"));
    assert_non_null(strstr(out.data, "Greenfield"));
    fss_buf_free(&out);

    /* Won back: off the report, and the rules apply again. */
    assert_int_equal(fss_admin_customer_lost(t.s, &north, "", NULL), FSS_OK);
    memset(&out, 0, sizeof out);
    assert_int_equal(fss_report_lost(t.s, only_north, 1, &out, NULL), FSS_OK);
    assert_string_equal(out.data, "[]\n");
    fss_buf_free(&out);
    assert_int_equal(fss_analyze(t.s, later, &a, NULL), FSS_OK);
    assert_int_equal(a.tasks_opened, 1);
    tk_stop(&t);
}

/* The A-E matrix and the Pareto curve: grades and thresholds from the
 * whole store, customers shown only for the territories asked. */
static void test_value_report(void **state)
{
    tk_server t;
    fs_id rep, c[3];
    fss_buf out = {0};
    int64_t now = now_ms();
    const char *const only_south[] = {"south"};

    (void)state;
    tk_start(&t, cfg_batch);
    rep = tk_rep(&t, "Alice", "north");
    tk_rep(&t, "Bob", "south");
    c[0] = tk_customer(&t, "Big", "north", &rep, 50, 0);
    c[1] = tk_customer(&t, "Small", "south", NULL, 50, 0);
    c[2] = tk_customer(&t, "Prospect", "south", NULL, 50, 0);
    buy(&t, &c[0], 900, "EUR", now - DAY);
    buy(&t, &c[1], 100, "EUR", now - DAY);
    assert_int_equal(fss_report_value(t.s, NULL, 0, now, &out, NULL), FSS_OK);
    assert_non_null(strstr(out.data, "\"prospects\":1"));
    assert_non_null(strstr(out.data, "\"unit\":900,\"count\":1,\"revenue\":900,"
                                     "\"grade\":\"E\",\"core\":true"));
    assert_non_null(strstr(out.data, "\"grade\":\"D\",\"core\":false"));
    /* Top half of two customers (one) brings 90% of the revenue. */
    assert_non_null(strstr(out.data, "[50,90.0]"));
    assert_non_null(strstr(out.data, "[100,100.0]"));
    fss_buf_free(&out);
    memset(&out, 0, sizeof out);
    assert_int_equal(fss_report_value(t.s, only_south, 1, now, &out, NULL), FSS_OK);
    assert_null(strstr(out.data, "\"unit\":900"));
    assert_non_null(strstr(out.data, "\"unit\":100,\"count\":1,\"revenue\":100,"
                                     "\"grade\":\"D\""));
    assert_non_null(strstr(out.data, "\"unit_threshold\":900")); /* the store's median */
    fss_buf_free(&out);
    tk_stop(&t);
}

static void bad_bins(fss_config *cfg)
{
    cfg->score.rfm_bins = 1;
}

/* Bad parameters are refused, naming the parameter, and nothing is
 * written. */
static void test_bad_params(void **state)
{
    tk_server t;
    fs_error err = {0};
    fss_buf ex;
    fs_id rep;

    (void)state;
    tk_start(&t, bad_bins);
    rep = tk_rep(&t, "Alice", "north");
    tk_customer(&t, "Greenfield", "north", &rep, 50, 0);
    assert_int_equal(fss_analyze(t.s, now_ms(), NULL, &err), FSS_EINVAL);
    assert_non_null(strstr(err.text, "rfm_bins"));
    export_of(&t, &rep, &ex);
    assert_null(strstr(ex.data, "\"grade\":\""));
    fss_buf_free(&ex);
    tk_stop(&t);
}


static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(fs_id));
}

static int64_t row_int(const fs_row *row, const char *field)
{
    int i = fs_entity_field_index(row->entity, field);
    assert_true(i >= 0);
    return row->cells[i].v.kind == FS_VAL_INT ? row->cells[i].v.u.i : -1;
}

/* analyze grades in batches from a sorted work table; fs_score_grade holds
 * every line in memory. Both must agree on every customer, with ties at
 * the medians, the quintile cuts and the Pareto cut, two currencies, a
 * prospect; in the one-customer batches too (batch edges everywhere). */
static void test_batches_match_grade(void **state)
{
    enum { NC = 40 };
    tk_server t;
    tk_device d;
    fs_sync_response r;
    fss_analyze_result a;
    fs_id rep, c[NC], sorted[NC];
    fs_score_line lines[NC];
    size_t nlines = 0;
    int64_t now = now_ms();
    uint64_t next;

    (void)state;
    tk_start(&t, cfg_batch);
    rep = tk_rep(&t, "Alice", "north");
    for (int i = 0; i < NC; i++) {
        char name[16];
        snprintf(name, sizeof name, "Cust %d", i);
        c[i] = tk_customer(&t, name, "north", &rep, 50, 0);
        sorted[i] = c[i];
    }
    /* fs_score_grade breaks Pareto ties by the customer index: the store's
     * order is by id. */
    qsort(sorted, NC, sizeof sorted[0], cmp_id);
    for (int k = 0; k < NC; k++) {
        int i = 0;
        while (memcmp(&c[i], &sorted[k], sizeof c[i]) != 0)
            i++;
        if (i == 7)
            continue; /* a prospect */
        const char *cur = i % 5 == 0 ? "USD" : "EUR";
        fs_score_purchase pu[4];
        int n = 1 + (i * 7) % 4;
        for (int j = 0; j < n; j++) {
            pu[j].amount = 100 * (1 + (i % 3)); /* few distinct: ties */
            pu[j].at_ms = now - (int64_t)(1 + (i + j) % 3) * DAY;
            memcpy(pu[j].currency, cur, 4);
            buy(&t, &c[i], pu[j].amount, cur, pu[j].at_ms);
        }
        nlines += fs_score_summarize(pu, (size_t)n, now, &t.cfg.score, (uint32_t)k,
                                     lines + nlines, 1);
    }
    assert_int_equal(fs_score_grade(lines, nlines, &t.cfg.score, NULL, 0, NULL, NULL), FS_OK);

    assert_int_equal(fss_analyze(t.s, now, &a, NULL), FSS_OK);
    assert_int_equal(a.customers, NC);
    assert_int_equal(a.buyers, NC - 1);
    assert_int_equal(a.changed, NC);
    assert_int_equal(a.ncur, 2);
    tk_enroll(&t, &rep, &d);
    pull_from(&t, &d, 0, &next, &r);
    for (size_t l = 0; l < nlines; l++) {
        const fs_pulled_row *pr = tk_find_row(&r, &sorted[lines[l].customer]);
        char rfm[4] = {(char)('0' + lines[l].r % 10), (char)('0' + lines[l].f % 10),
                       (char)('0' + lines[l].m % 10), '\0'};
        assert_non_null(pr);
        const char *g = tk_row_text(&pr->row, "grade"), *got_rfm = tk_row_text(&pr->row, "rfm");
        if (!g || g[0] != lines[l].grade || !got_rfm || strcmp(got_rfm, rfm) != 0 ||
            row_int(&pr->row, "core") != (lines[l].core ? 1 : 0))
            fail_msg("line %zu (%s): grade %s rfm %s core %lld, want %c %s %d", l,
                     lines[l].currency, g ? g : "-", got_rfm ? got_rfm : "-",
                     (long long)row_int(&pr->row, "core"), lines[l].grade, rfm,
                     lines[l].core);
    }
    {
        int i7 = 7;
        assert_string_equal(field_of(&r, &c[i7], "grade"), "A");
    }
    fs_proto_sync_response_free(&r);

    /* and a rerun, batch by batch, changes nothing */
    assert_int_equal(fss_analyze(t.s, now, &a, NULL), FSS_OK);
    assert_int_equal(a.changed, 0);
    assert_int_equal(a.customers, NC);
    tk_stop(&t);
}

/* The last run's grade movements per territory: a manager's report sums
 * those of their territories only; a rerun replaces them. */
static void test_movements_by_territory(void **state)
{
    tk_server t;
    fs_id rep, n1;
    fss_analyze_result a;
    fss_buf out = {0};
    int64_t now = now_ms();
    const char *const only_north[] = {"north"}, *const only_south[] = {"south"};

    (void)state;
    tk_start(&t, cfg_batch);
    rep = tk_rep(&t, "Alice", "north");
    tk_rep(&t, "Bob", "south");
    n1 = tk_customer(&t, "North one", "north", &rep, 50, 0);
    tk_customer(&t, "North two", "north", &rep, 50, 0);
    tk_customer(&t, "South one", "south", NULL, 50, 0);
    assert_int_equal(fss_report_movements(t.s, NULL, 0, &out, NULL), FSS_OK);
    assert_string_equal(out.data, "{\"run_at\":null,\"movements\":[],\"territories\":[]}\n");
    fss_buf_free(&out);

    assert_int_equal(fss_analyze(t.s, now, &a, NULL), FSS_OK);
    memset(&out, 0, sizeof out);
    assert_int_equal(fss_report_movements(t.s, NULL, 0, &out, NULL), FSS_OK);
    assert_non_null(strstr(out.data, "\"movements\":[{\"from\":null,\"to\":\"A\",\"customers\":3}]"));
    fss_buf_free(&out);
    memset(&out, 0, sizeof out);
    assert_int_equal(fss_report_movements(t.s, only_south, 1, &out, NULL), FSS_OK);
    assert_non_null(strstr(out.data, "\"movements\":[{\"from\":null,\"to\":\"A\",\"customers\":1}]"));
    assert_non_null(strstr(out.data, "{\"territory\":\"south\",\"from\":null,\"to\":\"A\","
                                     "\"customers\":1}"));
    assert_null(strstr(out.data, "north"));
    fss_buf_free(&out);
    memset(&out, 0, sizeof out);
    assert_int_equal(fss_report_movements(t.s, only_north, 0, &out, NULL), FSS_OK);
    assert_non_null(strstr(out.data, "\"movements\":[]")); /* no territory: nothing */
    fss_buf_free(&out);

    /* North one buys: A -> E in north; south's A stays A, not a movement. */
    buy(&t, &n1, 500, "EUR", now - DAY);
    assert_int_equal(fss_analyze(t.s, now, &a, NULL), FSS_OK);
    memset(&out, 0, sizeof out);
    assert_int_equal(fss_report_movements(t.s, only_north, 1, &out, NULL), FSS_OK);
    assert_non_null(strstr(out.data, "\"movements\":[{\"from\":\"A\",\"to\":\"E\",\"customers\":1}]"));
    fss_buf_free(&out);
    memset(&out, 0, sizeof out);
    assert_int_equal(fss_report_movements(t.s, only_south, 1, &out, NULL), FSS_OK);
    assert_non_null(strstr(out.data, "\"movements\":[]"));
    assert_null(strstr(out.data, "\"run_at\":null"));
    fss_buf_free(&out);
    tk_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grades_reach_device),
        cmocka_unit_test(test_device_write_refused),
        cmocka_unit_test(test_generated_tasks),
        cmocka_unit_test(test_lost_and_reports),
        cmocka_unit_test(test_value_report),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_batches_match_grade),
        cmocka_unit_test(test_movements_by_territory),
    };
    /* the ones whose analyze runs span customers, again with one customer
     * per batch (batch edges everywhere) */
    const struct CMUnitTest batched[] = {
        cmocka_unit_test(test_grades_reach_device),
        cmocka_unit_test(test_generated_tasks),
        cmocka_unit_test(test_lost_and_reports),
        cmocka_unit_test(test_batches_match_grade),
        cmocka_unit_test(test_movements_by_territory),
    };
    int failed = cmocka_run_group_tests_name("analyze_batch_default", tests, group_default, NULL);
    return failed + cmocka_run_group_tests_name("analyze_batch_1", batched, group_one, NULL);
}
