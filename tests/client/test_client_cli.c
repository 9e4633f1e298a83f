/*
 * test_client_cli.c - drives the real field-client binary (offline): help,
 * --json on every command, the workflows, bad input (one line on stderr,
 * non-zero exit, outbox and replica unchanged), export, status, --db and
 * FIELDSYNC_DB, and sync without enrollment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct run_result {
    int status;
    char out[65536];
    char err[4096];
} run_result;

typedef struct fixture {
    char dir[128];
    char db[192];
    run_result r;
} fixture;

static void slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (f) {
        n = fread(buf, 1, cap - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
}

/* Runs the binary with `args` (a shell fragment written by the test). */
static int run(fixture *f, const char *fmt, ...)
{
    char args[2048], cmd[4096], o[256], e[256];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(o, sizeof o, "%s/out", f->dir);
    snprintf(e, sizeof e, "%s/err", f->dir);
    snprintf(cmd, sizeof cmd, "FIELDSYNC_DB='%s' timeout 30 '%s' %s >'%s' 2>'%s' </dev/null",
             f->db, FIELD_CLIENT_BIN, args, o, e);
    st = system(cmd);
    f->r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    slurp(o, f->r.out, sizeof f->r.out);
    slurp(e, f->r.err, sizeof f->r.err);
    return f->r.status;
}

/* The "id" of a {"ok":true,"id":"..."} answer. */
static void json_id(const fixture *f, char out[37])
{
    const char *p = strstr(f->r.out, "\"id\":\"");
    assert_non_null(p);
    memcpy(out, p + 6, 36);
    out[36] = '\0';
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/fc-cli-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/replica.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void test_help(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "--help"), 0);
    assert_non_null(strstr(f->r.out, "usage: field-client"));
    assert_non_null(strstr(f->r.out, "visit checkin"));
    assert_int_equal(run(f, "visit --help"), 0);
    assert_non_null(strstr(f->r.out, "--accuracy"));
    assert_int_equal(run(f, "help quote"), 0);
    assert_non_null(strstr(f->r.out, "basis points"));
    assert_int_equal(run(f, "frobnicate"), 2);
    assert_int_equal(count_lines(f->r.err), 1);
    assert_int_equal(run(f, ""), 2);
    assert_int_equal(run(f, "customer list --bogus"), 2);
}

static void test_workflow_json(void **state)
{
    fixture *f = *state;
    char cust[37], visit[37], quote[37], line[37], task[37];

    assert_int_equal(run(f, "--json customer add 'name=Acme Tools' 'address=1 Main St' tags=vip"), 0);
    json_id(f, cust);
    assert_int_equal(run(f, "--json contact add %s 'name=Gretchen Weiss' email=g@acme.example", cust), 0);
    assert_int_equal(run(f, "--json customer search gretch"), 0);
    assert_non_null(strstr(f->r.out, cust));
    assert_int_equal(run(f, "--json customer search nomatch"), 0);
    assert_string_equal(f->r.out, "{\"ok\":true,\"rows\":[]}\n");
    assert_int_equal(run(f, "--json visit plan %s --at 2026-01-02T09:00Z", cust), 0);
    json_id(f, visit);
    assert_int_equal(run(f, "--json visit checkin %s --lat 48.85 --lon 2.35 --accuracy 8", visit), 0);
    assert_int_equal(run(f, "--json visit note %s 'met the buyer'", visit), 0);
    assert_int_equal(run(f, "--json visit checkout %s --outcome positive", visit), 0);
    assert_int_equal(run(f, "--json visit show %s", visit), 0);
    assert_non_null(strstr(f->r.out, "\"status\":\"completed\""));
    assert_non_null(strstr(f->r.out, "\"notes\":\"met the buyer\""));
    assert_int_equal(run(f, "--json quote new %s EUR", cust), 0);
    json_id(f, quote);
    assert_int_equal(run(f, "--json quote line-add %s --qty 3 --price 19.99 --discount 10%% --sku A", quote), 0);
    json_id(f, line);
    assert_int_equal(run(f, "--json quote discount %s 5%%", quote), 0);
    assert_int_equal(run(f, "--json quote show %s", quote), 0);
    assert_non_null(strstr(f->r.out, "\"totals\":{\"subtotal\":5397,\"discount\":270,\"total\":5127"));
    assert_int_equal(run(f, "--json quote line-edit %s qty=1", line), 0);
    assert_int_equal(run(f, "--json quote send %s", quote), 0);
    assert_int_equal(run(f, "--json task add %s 'call back' --kind call --due 2000-01-01", cust), 0);
    json_id(f, task);
    assert_int_equal(run(f, "--json task list --overdue"), 0);
    assert_non_null(strstr(f->r.out, task));
    assert_int_equal(run(f, "--json task done %s", task), 0);
    assert_int_equal(run(f, "--json task list --overdue"), 0);
    assert_null(strstr(f->r.out, task));
    assert_int_equal(run(f, "--json customer show %s", cust), 0);
    assert_non_null(strstr(f->r.out, "\"contacts\":[{"));
    assert_int_equal(run(f, "--json status"), 0);
    assert_non_null(strstr(f->r.out, "\"enrolled\":false"));
    assert_non_null(strstr(f->r.out, "\"pending\":13"));
    /* Plain text works too. */
    assert_int_equal(run(f, "customer list"), 0);
    assert_non_null(strstr(f->r.out, "Acme Tools"));
}

/* Finding 1 of issue 13, as a rep types it: after `quote send` (and a
 * contract from it) `quote line-add` is refused and the total stays; the
 * quote is changed through `quote revise`, and accept / reject work. */
static void test_quote_lifecycle_cli(void **state)
{
    fixture *f = *state;
    char cust[37], quote[37], rev[37];

    assert_int_equal(run(f, "--json customer add name=Acme"), 0);
    json_id(f, cust);
    assert_int_equal(run(f, "--json quote new %s EUR", cust), 0);
    json_id(f, quote);
    assert_int_equal(run(f, "--json quote line-add %s --qty 2 --price 1000", quote), 0);
    assert_int_equal(run(f, "--json quote send %s", quote), 0);
    assert_int_equal(run(f, "--json contract new %s", quote), 0);
    assert_int_equal(run(f, "quote line-add %s --qty 100 --price 100000", quote), 1);
    assert_null(strstr(f->r.out, "line added"));
    assert_non_null(strstr(f->r.err, "revise"));
    assert_int_equal(run(f, "quote discount %s 500", quote), 1);
    assert_int_equal(run(f, "--json quote show %s", quote), 0);
    assert_non_null(strstr(f->r.out, "\"total\":2000"));
    assert_int_equal(run(f, "--json quote revise %s", quote), 0);
    json_id(f, rev);
    assert_int_equal(run(f, "--json quote line-add %s --qty 1 --price 500", rev), 0);
    assert_int_equal(run(f, "--json quote show %s", rev), 0);
    assert_non_null(strstr(f->r.out, "\"total\":2500"));
    assert_non_null(strstr(f->r.out, quote)); /* supersedes */
    assert_int_equal(run(f, "quote accept %s", rev), 1); /* a draft */
    assert_int_equal(run(f, "quote send %s", rev), 0);
    assert_int_equal(run(f, "quote reject %s", rev), 0);
    assert_non_null(strstr(f->r.out, "quote rejected"));
    assert_int_equal(run(f, "quote accept %s", quote), 0);
    assert_int_equal(run(f, "quote reject %s", quote), 1);
    assert_non_null(strstr(f->r.err, "final"));
}

static void test_bad_input(void **state)
{
    fixture *f = *state;
    char cust[37], visit[37], quote[37], before[65536];
    static const char *const bad[] = {
        "customer edit 0190e7c2-1a2b-7c3d-8e4f-0123456789ab name=X", /* unknown id */
        "contact add 0190e7c2-1a2b-7c3d-8e4f-0123456789ab name=X",
        "customer show not-an-id",
        "customer edit %C territory=north",                          /* server-owned */
        "customer edit %C lat=91",
        "visit checkin %V --lat abc --lon 1 --accuracy 5",           /* malformed GPS */
        "visit checkin %V --lat 10 --lon 200 --accuracy 5",
        "visit checkin %V --lat 10 --lon 20 --accuracy -1",
        "visit checkout %V",                                         /* not checked in */
        "quote new %C XYZ",                                          /* currency */
        "quote line-add %Q --qty -1 --price 100",                    /* negative qty */
        "quote line-add %Q --qty 1 --price -100",
        "quote discount %Q 200%",
        "visit plan %C --at someday",
        "visit abandon %V %V",                                       /* one id only */
        "quote send %Q %Q",
        "customer search Acme Tools",
        NULL};

    assert_int_equal(run(f, "--json customer add name=Acme"), 0);
    json_id(f, cust);
    assert_int_equal(run(f, "--json visit plan %s", cust), 0);
    json_id(f, visit);
    assert_int_equal(run(f, "--json quote new %s USD", cust), 0);
    json_id(f, quote);
    assert_int_equal(run(f, "export"), 0);
    memcpy(before, f->r.out, sizeof before);
    for (size_t i = 0; bad[i]; i++) {
        char args[512], *p;
        snprintf(args, sizeof args, "%s", bad[i]);
        while ((p = strstr(args, "%C")) || (p = strstr(args, "%V")) || (p = strstr(args, "%Q"))) {
            char rest[512];
            const char *id = p[1] == 'C' ? cust : p[1] == 'V' ? visit : quote;
            snprintf(rest, sizeof rest, "%s", p + 2);
            snprintf(p, sizeof args - (size_t)(p - args), "%s%s", id, rest);
        }
        assert_int_not_equal(run(f, "%s", args), 0);
        if (count_lines(f->r.err) != 1 || strncmp(f->r.err, "field-client: ", 14) != 0)
            fail_msg("'%s': expected one error line, got '%s'", args, f->r.err);
    }
    /* An over-long name. */
    {
        char longv[400];
        memset(longv, 'x', sizeof longv - 1);
        longv[sizeof longv - 1] = '\0';
        assert_int_equal(run(f, "customer edit %s name=%s", cust, longv), 1);
        assert_non_null(strstr(f->r.err, "name"));
    }
    /* A quote line of an unknown quote, with --json: error object on stdout. */
    assert_int_equal(run(f, "--json quote line-add 0190e7c2-1a2b-7c3d-8e4f-0123456789ab --qty 1 --price 1"), 1);
    assert_non_null(strstr(f->r.out, "\"ok\":false"));
    assert_int_equal(run(f, "export"), 0);
    assert_string_equal(before, f->r.out);
    assert_int_equal(run(f, "--json status"), 0);
    assert_non_null(strstr(f->r.out, "\"pending\":3"));
}

static void test_esign_refused(void **state)
{
    fixture *f = *state;
    /* No contract exists offline (they come from the server): unknown id. */
    assert_int_equal(run(f, "contract esign 0190e7c2-1a2b-7c3d-8e4f-0123456789ab signed"), 1);
    assert_non_null(strstr(f->r.err, "no contract"));
    assert_int_equal(run(f, "contract esign 0190e7c2-1a2b-7c3d-8e4f-0123456789ab bogus"), 1);
    assert_non_null(strstr(f->r.err, "unknown e-sign status"));
}

static void test_export_and_db_flag(void **state)
{
    fixture *f = *state;
    char other[256];

    assert_int_equal(run(f, "customer add name=Zed"), 0);
    assert_int_equal(run(f, "export"), 0);
    assert_non_null(strstr(f->r.out, "{\"customer\":["));
    assert_non_null(strstr(f->r.out, "\"name\":\"Zed\""));
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    assert_int_equal(run(f, "--db '%s' export", other), 0);
    assert_null(strstr(f->r.out, "Zed"));
    assert_int_equal(run(f, "--db '%s' --json status", other), 0);
    assert_non_null(strstr(f->r.out, "\"pending\":0"));
    /* The replica holds the token: owner-only. */
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test \"$(stat -c %%a '%s')\" = 600", f->db);
    assert_int_equal(system(cmd), 0);
}

static void test_sync_not_enrolled(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "sync"), 1);
    assert_non_null(strstr(f->r.err, "not enrolled"));
    assert_int_equal(run(f, "enroll ftp://x CODE"), 1);
    assert_non_null(strstr(f->r.err, "http://"));
    /* A server that is not there: a clear network error, nothing changes. */
    assert_int_equal(run(f, "enroll http://127.0.0.1:9 CODE"), 1);
    assert_non_null(strstr(f->r.err, "127.0.0.1"));
    assert_int_equal(run(f, "--json status"), 0);
    assert_non_null(strstr(f->r.out, "\"enrolled\":false"));
}

/* Runs the binary on a pseudo-terminal (script(1)) with `answer` typed. */
static int run_tty(fixture *f, const char *answer, const char *args)
{
    char cmd[4096], o[256];
    int st;

    snprintf(o, sizeof o, "%s/out", f->dir);
    snprintf(cmd, sizeof cmd, "printf '%s\\n' | FIELDSYNC_DB='%s' timeout 30 script -qec "
             "\"'%s' %s\" /dev/null >'%s' 2>&1", answer, f->db, FIELD_CLIENT_BIN, args, o);
    st = system(cmd);
    slurp(o, f->r.out, sizeof f->r.out);
    f->r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    return f->r.status;
}

/* Issue 13: customers are the back office's to delete; a rep's own deletes
 * ask first on a terminal (--yes skips), are refused without a terminal and
 * without --yes, act on every id or none, say what was deleted, and can be
 * taken back until synced. Lists say whose rows they are. */
static void test_delete_confirm_restore(void **state)
{
    fixture *f = *state;
    char cust[37], t1[37], t2[37], before[65536];
    const char *unknown = "0190e7c2-1a2b-7c3d-8e4f-0123456789ab";

    assert_int_equal(run(f, "--json customer add name=Acme"), 0);
    json_id(f, cust);
    assert_int_equal(run(f, "--json task add %s 'call back'", cust), 0);
    json_id(f, t1);
    assert_int_equal(run(f, "--json task add %s 'send deck'", cust), 0);
    json_id(f, t2);
    assert_int_equal(run(f, "export"), 0);
    memcpy(before, f->r.out, sizeof before);

    /* Refused: a customer; no terminal and no --yes; one unknown id. */
    assert_int_equal(run(f, "customer delete %s --yes", cust), 1);
    assert_non_null(strstr(f->r.err, "back office"));
    assert_null(strstr(f->r.out, "customer updated"));
    assert_int_equal(run(f, "task delete %s", t1), 2);
    assert_non_null(strstr(f->r.err, "--yes"));
    assert_int_equal(run(f, "task delete %s %s --yes", t1, unknown), 1);
    assert_non_null(strstr(f->r.err, "nothing was changed"));
    assert_int_equal(run(f, "task done %s %s", t1, unknown), 1);
    assert_int_equal(run(f, "export"), 0);
    assert_string_equal(before, f->r.out);

    /* On a terminal: "n" keeps it, "y" deletes it. */
    {
        char args[200];
        snprintf(args, sizeof args, "task delete %s", t1);
        assert_int_equal(run_tty(f, "n", args), 1);
        assert_non_null(strstr(f->r.out, "nothing was deleted"));
        assert_int_equal(run(f, "task list"), 0);
        assert_non_null(strstr(f->r.out, t1 + 28)); /* short id */
        assert_int_equal(run_tty(f, "y", args), 0);
        assert_non_null(strstr(f->r.out, "task deleted"));
        assert_int_equal(run(f, "task list"), 0);
        assert_null(strstr(f->r.out, t1 + 28));
        assert_int_equal(run(f, "restore %s", t1), 0);
    }

    /* --yes, several ids: all deleted, each named. */
    assert_int_equal(run(f, "task delete %s %s --yes", t1, t2), 0);
    assert_non_null(strstr(f->r.out, "task deleted"));
    assert_non_null(strstr(f->r.out, "(call back)"));
    assert_non_null(strstr(f->r.out, "(send deck)"));
    assert_int_equal(run(f, "task list"), 0);
    assert_non_null(strstr(f->r.out, "(no task)"));
    /* Restore while unsynced: the rows are back, the outbox as before. */
    assert_int_equal(run(f, "restore %s %s", t1, t2), 0);
    assert_int_equal(run(f, "export"), 0);
    assert_string_equal(before, f->r.out);
    assert_int_equal(run(f, "restore %s", t1), 1);
    assert_non_null(strstr(f->r.err, "no unsynced delete"));

    /* task edit, done of several, reopen. */
    assert_int_equal(run(f, "task edit %s 'title=call Monday'", t1), 0);
    assert_int_equal(run(f, "task done %s %s", t1, t2), 0);
    assert_int_equal(run(f, "task reopen %s", t2), 0);
    assert_int_equal(run(f, "task list"), 0);
    assert_non_null(strstr(f->r.out, t2 + 28));
    assert_null(strstr(f->r.out, t1 + 28));
    assert_int_equal(run(f, "task reopen %s %s", t1, t2), 1); /* t2 is open */
    assert_int_equal(run(f, "task list --all --mine"), 0);
    assert_non_null(strstr(f->r.out, "title=call Monday"));
    assert_non_null(strstr(f->r.out, "rep=you"));
    assert_int_equal(run(f, "--json visit plan %s", cust), 0);
    assert_int_equal(run(f, "--json visit list --mine"), 0);
    assert_non_null(strstr(f->r.out, "\"mine\":true"));
    assert_int_equal(run(f, "customer list --mine"), 2); /* customers have no rep */
}

/* The value of a "key":<number> in the output (-1 if absent). */
static long long json_num(const fixture *f, const char *key)
{
    char k[64];
    const char *p;

    snprintf(k, sizeof k, "\"%s\":", key);
    p = strstr(f->r.out, k);
    return p ? strtoll(p + strlen(k), NULL, 10) : -1;
}

/* Issue 14, item 1: amounts typed in the currency's units (0, 2 and 3
 * decimals), codes in any case, percentages; shown as people read them;
 * stored (and --json) as minor units and basis points. Too many decimals
 * are refused and change nothing. */
static void test_money_round_trip(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *cur, *typed, *shown;
        long long minor;
    } cases[] = {
        {"jpy", "1256", "JPY 1,256", 1256},
        {"JPY", "1256.", NULL, -1},
        {"JPY", "1.5", NULL, -1},
        {"eur", "1256.29", "EUR 1,256.29", 125629},
        {"Eur", "39", "EUR 39.00", 3900},
        {"EUR", "39.5", "EUR 39.50", 3950},
        {"EUR", "39.001", NULL, -1},
        {"bhd", "1.5", "BHD 1.500", 1500},
        {"BHD", "1234.567", "BHD 1,234.567", 1234567},
        {"BHD", "1.2345", NULL, -1},
    };
    char cust[37], quote[37], line[37], before[65536];

    assert_int_equal(run(f, "--json customer add name=Acme"), 0);
    json_id(f, cust);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(run(f, "--json quote new %s %s", cust, cases[i].cur), 0);
        json_id(f, quote);
        if (!cases[i].shown) {
            assert_int_equal(run(f, "export"), 0);
            memcpy(before, f->r.out, sizeof before);
            assert_int_equal(run(f, "quote line-add %s --qty 1 --price %s", quote,
                                 cases[i].typed), 1);
            assert_non_null(strstr(f->r.err, cases[i].typed));
            assert_int_equal(run(f, "export"), 0);
            assert_string_equal(before, f->r.out);
            continue;
        }
        assert_int_equal(run(f, "--json quote line-add %s --qty 1 --price %s --discount 2.5%%"
                             " --desc 'Soil sensor'", quote, cases[i].typed), 0);
        assert_int_equal(run(f, "--json quote show %s", quote), 0);
        if (json_num(f, "unit_price") != cases[i].minor)
            fail_msg("%s %s: stored %lld, want %lld", cases[i].cur, cases[i].typed,
                     json_num(f, "unit_price"), cases[i].minor);
        assert_int_equal(json_num(f, "discount"), 0); /* the quote's */
        assert_non_null(strstr(f->r.out, "\"discount\":250"));  /* the line's */
        assert_int_equal(run(f, "quote show %s", quote), 0);
        if (!strstr(f->r.out, cases[i].shown))
            fail_msg("%s %s: '%s' not in %s", cases[i].cur, cases[i].typed, cases[i].shown,
                     f->r.out);
        assert_non_null(strstr(f->r.out, "description=Soil sensor"));
        assert_non_null(strstr(f->r.out, "discount=2.5%"));
        assert_non_null(strstr(f->r.out, "totals: subtotal "));
    }
    /* line-edit and the quote discount take the same units. */
    assert_int_equal(run(f, "--json quote new %s EUR", cust), 0);
    json_id(f, quote);
    assert_int_equal(run(f, "--json quote line-add %s --qty 2 --price 10", quote), 0);
    json_id(f, line);
    assert_int_equal(run(f, "quote line-edit %s unit_price=12.34 discount=10%%", line), 0);
    assert_int_equal(run(f, "quote discount %s 0.5", quote), 0);
    assert_int_equal(run(f, "--json quote show %s", quote), 0);
    assert_int_equal(json_num(f, "unit_price"), 1234);
    assert_non_null(strstr(f->r.out, "\"discount\":50,"));
    assert_non_null(strstr(f->r.out, "\"discount\":1000}"));
    /* 2 x 12.34 = 24.68, -10% = 22.21 (half up), -0.5% = 22.10 */
    assert_int_equal(json_num(f, "total"), 2210);
    assert_int_equal(run(f, "quote show %s", quote), 0);
    assert_non_null(strstr(f->r.out, "total EUR 22.10"));
    assert_int_equal(run(f, "quote discount %s 101%%", quote), 1);
    assert_int_equal(run(f, "quote new %s EURO", cust), 1);
}

/* Issue 14, item 2: times typed and shown in the rep's zone (TZ) with its
 * offset, in winter and summer (daylight saving) and in a zone without
 * it; JSON keeps UTC RFC 3339 plus the milliseconds. */
static void test_time_zones(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *tz, *typed, *utc, *shown;
    } cases[] = {
        {"Europe/Berlin", "2026-12-08T09:00", "2026-12-08T08:00:00Z", "2026-12-08 09:00 +01:00"},
        {"Europe/Berlin", "2026-07-08T09:00", "2026-07-08T07:00:00Z", "2026-07-08 09:00 +02:00"},
        {"Europe/Berlin", "2026-12-08T09:00+05:30", "2026-12-08T03:30:00Z",
         "2026-12-08 04:30 +01:00"},
        {"Asia/Tokyo", "2026-07-08T09:00", "2026-07-08T00:00:00Z", "2026-07-08 09:00 +09:00"},
        {"America/New_York", "2026-03-08T12:00", "2026-03-08T16:00:00Z",
         "2026-03-08 12:00 -04:00"},
        {"UTC", "2026-12-08", "2026-12-08T00:00:00Z", "2026-12-08 00:00 +00:00"},
    };
    char cust[37], visit[37];

    assert_int_equal(run(f, "--json customer add name=Acme"), 0);
    json_id(f, cust);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("TZ", cases[i].tz, 1);
        assert_int_equal(run(f, "--json visit plan Acme --at %s", cases[i].typed), 0);
        json_id(f, visit);
        assert_int_equal(run(f, "--json visit show %s", visit), 0);
        char want[80];
        snprintf(want, sizeof want, "\"planned_at\":\"%s\",\"planned_at_ms\":",
                 cases[i].utc);
        if (!strstr(f->r.out, want))
            fail_msg("%s %s: want %s in %s", cases[i].tz, cases[i].typed, want, f->r.out);
        assert_int_equal(run(f, "visit show %s", visit), 0);
        if (!strstr(f->r.out, cases[i].shown))
            fail_msg("%s %s: want '%s' in %s", cases[i].tz, cases[i].typed, cases[i].shown,
                     f->r.out);
    }
    unsetenv("TZ");
}

/* Issue 14, item 2: `task list --due today` lists what is due by the end
 * of the rep's today (that day's tasks included); --overdue is judged by
 * the rep's local day, not UTC's: a task due today is not overdue, even
 * where today began hours before or after UTC's. */
static void test_due_today_local_day(void **state)
{
    fixture *f = *state;
    static const char *const zones[] = {"Pacific/Kiritimati", "Pacific/Pago_Pago",
                                        "Europe/Berlin", NULL};

    assert_int_equal(run(f, "--json customer add name=Acme"), 0);
    for (size_t z = 0; zones[z]; z++) {
        setenv("TZ", zones[z], 1);
        assert_int_equal(run(f, "task add Acme 'due-yesterday-%zu' --due yesterday", z), 0);
        assert_int_equal(run(f, "task add Acme 'due-today-%zu' --due today", z), 0);
        assert_int_equal(run(f, "task add Acme 'due-tomorrow-%zu' --due tomorrow", z), 0);
        assert_int_equal(run(f, "task list --due today"), 0);
        char t[40];
        snprintf(t, sizeof t, "due-today-%zu", z);
        if (!strstr(f->r.out, t))
            fail_msg("%s: --due today misses today's task: %s", zones[z], f->r.out);
        snprintf(t, sizeof t, "due-yesterday-%zu", z);
        assert_non_null(strstr(f->r.out, t));
        snprintf(t, sizeof t, "due-tomorrow-%zu", z);
        assert_null(strstr(f->r.out, t));
        assert_int_equal(run(f, "task list --overdue"), 0);
        snprintf(t, sizeof t, "due-yesterday-%zu", z);
        assert_non_null(strstr(f->r.out, t));
        snprintf(t, sizeof t, "due-today-%zu", z);
        if (strstr(f->r.out, t))
            fail_msg("%s: a task due today is listed as overdue: %s", zones[z], f->r.out);
        assert_int_equal(run(f, "task list --all --mine"), 0);
        assert_non_null(strstr(f->r.out, "customer=Acme"));
    }
    unsetenv("TZ");
}

/* Issue 14, item 3: lists show short ids and customer names; commands take
 * a short id, the full id or a customer's name; an ambiguous reference
 * lists the candidates and changes nothing. */
static void test_short_ids_and_names_cli(void **state)
{
    fixture *f = *state;
    char a[37], b[37], task[37], before[65536];

    assert_int_equal(run(f, "--json customer add 'name=Acme Tools'"), 0);
    json_id(f, a);
    assert_int_equal(run(f, "--json customer add 'name=Acme Farm'"), 0);
    json_id(f, b);
    assert_int_equal(run(f, "customer list"), 0);
    assert_non_null(strstr(f->r.out, a + 28));     /* the last 8 hex digits */
    assert_null(strstr(f->r.out, a));              /* not the whole id */
    assert_int_equal(run(f, "--json customer list"), 0);
    assert_non_null(strstr(f->r.out, "\"short_id\":\""));
    /* By short id, by full id, by name (any case), by a unique part. */
    assert_int_equal(run(f, "customer show %s", a + 28), 0);
    assert_non_null(strstr(f->r.out, "Acme Tools"));
    assert_int_equal(run(f, "customer show %s", b), 0);
    assert_non_null(strstr(f->r.out, "Acme Farm"));
    assert_int_equal(run(f, "customer show 'acme tools'"), 0);
    assert_non_null(strstr(f->r.out, "Acme Tools"));
    assert_int_equal(run(f, "--json task add farm 'call back'"), 0);
    json_id(f, task);
    assert_int_equal(run(f, "task list"), 0);
    assert_non_null(strstr(f->r.out, "customer=Acme Farm"));
    assert_int_equal(run(f, "task done %s", task + 28), 0);
    /* Ambiguous: the candidates, exit 1, nothing changed. */
    assert_int_equal(run(f, "export"), 0);
    memcpy(before, f->r.out, sizeof before);
    assert_int_equal(run(f, "customer edit acme phone=123"), 1);
    assert_non_null(strstr(f->r.err, "matches 2 customers"));
    assert_non_null(strstr(f->r.err, a + 28));
    assert_non_null(strstr(f->r.err, "Acme Farm"));
    assert_int_equal(run(f, "--json task add acme 'x'"), 1);
    assert_non_null(strstr(f->r.out, "\"code\":\"ambiguous\""));
    assert_int_equal(run(f, "customer show nobody"), 1);
    assert_non_null(strstr(f->r.err, "no customer 'nobody'"));
    assert_int_equal(run(f, "export"), 0);
    assert_string_equal(before, f->r.out);
}

/* Issue 14, item 4: `dismiss '#9'` takes the id as status prints it (here
 * there is no such rejected change: not found, not a usage error); the
 * status says what waits to be sent; --version names both versions. */
static void test_dismiss_hash_status_version(void **state)
{
    fixture *f = *state;

    assert_int_equal(run(f, "dismiss '#9'"), 1);
    assert_non_null(strstr(f->r.err, "no rejected change with id 9"));
    assert_int_equal(run(f, "dismiss --notice '#9'"), 1);
    assert_int_equal(run(f, "dismiss '#x'"), 2);
    assert_int_equal(run(f, "customer add name=Acme"), 0);
    assert_int_equal(run(f, "status"), 0);
    assert_non_null(strstr(f->r.out, "waiting:      1 change(s) waiting to send"));
    assert_non_null(strstr(f->r.out, "waiting   #1 customer add Acme"));
    assert_int_equal(run(f, "--json status"), 0);
    assert_non_null(strstr(f->r.out, "\"last_sync\":null,\"last_sync_ms\":0,"));
    assert_non_null(strstr(f->r.out, "\"waiting\":1,\"in_flight\":0,"));
    assert_int_equal(run(f, "--version"), 0);
    assert_non_null(strstr(f->r.out, "field-client (fieldsync) "));
    assert_non_null(strstr(f->r.out, ", sync protocol "));
    assert_int_equal(run(f, "--json --version"), 0);
    assert_non_null(strstr(f->r.out, "{\"ok\":true,\"version\":\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workflow_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quote_lifecycle_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_esign_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_and_db_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_not_enrolled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_confirm_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_money_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_zones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due_today_local_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_ids_and_names_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dismiss_hash_status_version, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
