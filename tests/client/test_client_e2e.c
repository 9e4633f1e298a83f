/*
 * test_client_e2e.c - the real field-client binary against a real
 * sync-server started by the test (127.0.0.1, ephemeral port): enroll, offline
 * writes, sync, export compared byte for byte with the server's per-rep
 * export, status, and revoke -> wipe. Built only when the sync-server target
 * exists (tests/client/CMakeLists.txt). Every wait is bounded in time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct fixture {
    char dir[128];
    char sdb[192], cdb[192], url[128];
    pid_t server;
    char out[65536], err[4096];
    int status;
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

static int sh(fixture *f, const char *bin, const char *fmt, ...)
{
    char args[2048], cmd[4096], o[256], e[256];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(o, sizeof o, "%s/out", f->dir);
    snprintf(e, sizeof e, "%s/err", f->dir);
    snprintf(cmd, sizeof cmd, "timeout 60 '%s' %s >'%s' 2>'%s' </dev/null", bin, args, o, e);
    st = system(cmd);
    f->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    slurp(o, f->out, sizeof f->out);
    slurp(e, f->err, sizeof f->err);
    return f->status;
}

#define CLIENT(f, ...) sh(f, FIELD_CLIENT_BIN, __VA_ARGS__)
#define SERVER(f, ...) sh(f, SYNC_SERVER_BIN, __VA_ARGS__)

/* First UUID-looking token in s. */
static bool find_uuid(const char *s, char out[37])
{
    for (; *s; s++) {
        size_t i;
        for (i = 0; i < 36 && s[i]; i++) {
            bool dash = i == 8 || i == 13 || i == 18 || i == 23;
            char ch = s[i];
            if (dash ? ch != '-' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
                break;
        }
        if (i == 36) {
            memcpy(out, s, 36);
            out[36] = '\0';
            return true;
        }
    }
    return false;
}

/* The enrollment code: a JSON "code" member, else the last token printed. */
static void find_code(const char *s, char *out, size_t cap)
{
    const char *p = strstr(s, "\"code\":\"");
    size_t n = 0;

    if (p) {
        p += 8;
        while (p[n] && p[n] != '"' && n + 1 < cap)
            n++;
        memcpy(out, p, n);
        out[n] = '\0';
        return;
    }
    p = s + strlen(s);
    while (p > s && (p[-1] == '\n' || p[-1] == ' '))
        p--;
    const char *end = p;
    while (p > s && p[-1] != ' ' && p[-1] != '\n' && p[-1] != '\t')
        p--;
    n = (size_t)(end - p) < cap - 1 ? (size_t)(end - p) : cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char log[256];
    struct timespec ts = {0, 50 * 1000000L};

    snprintf(f->dir, sizeof f->dir, "/tmp/fc-e2e-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->sdb, sizeof f->sdb, "%s/server.db", f->dir);
    snprintf(f->cdb, sizeof f->cdb, "%s/client.db", f->dir);
    snprintf(log, sizeof log, "%s/server.out", f->dir);
    assert_int_equal(SERVER(f, "--db '%s' migrate", f->sdb), 0);
    f->server = fork();
    assert_true(f->server >= 0);
    if (f->server == 0) {
        FILE *o = freopen(log, "w", stdout);
        (void)o;
        /* Pages of 3 rows: every sync here spans several pages, so the
         * client's pipelined pull (the next page requested while one is
         * applied, over the real libcurl transport) is what the export
         * comparisons check. */
        execl(SYNC_SERVER_BIN, SYNC_SERVER_BIN, "--db", f->sdb, "--listen", "127.0.0.1",
              "--port", "0", "--page-size", "3", "serve", (char *)NULL);
        _exit(127);
    }
    /* Wait (at most 10 s) for "listening on http://127.0.0.1:PORT". */
    for (int i = 0; i < 200 && !f->url[0]; i++) {
        char buf[4096];
        const char *p;
        nanosleep(&ts, NULL);
        slurp(log, buf, sizeof buf);
        p = strstr(buf, "listening on ");
        if (p && strchr(p, '\n')) {
            size_t n = 0;
            p += 13;
            while (p[n] && p[n] != '\n' && p[n] != ' ' && n < sizeof f->url - 1)
                n++;
            memcpy(f->url, p, n);
        }
    }
    assert_true(f->url[0] != '\0');
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[300];
    int st;

    if (f->server > 0) {
        kill(f->server, SIGTERM);
        for (int i = 0; i < 100; i++) {
            struct timespec ts = {0, 50 * 1000000L};
            if (waitpid(f->server, &st, WNOHANG) == f->server) {
                f->server = 0;
                break;
            }
            nanosleep(&ts, NULL);
        }
        if (f->server > 0) {
            kill(f->server, SIGKILL);
            waitpid(f->server, &st, 0);
        }
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void test_enroll_sync_export_revoke(void **state)
{
    fixture *f = *state;
    char rep[37], code[128], dev[37], cust[37], sexp[256], cexp[256];

    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Ann Field'", f->sdb), 0);
    assert_true(find_uuid(f->out, rep));
    assert_int_equal(SERVER(f, "--db '%s' enroll-code %s", f->sdb, rep), 0);
    find_code(f->out, code, sizeof code);
    assert_true(code[0] != '\0');

    assert_int_equal(CLIENT(f, "--db '%s' enroll %s %s", f->cdb, f->url, code), 0);
    assert_int_equal(CLIENT(f, "--db '%s' enroll %s %s", f->cdb, f->url, code), 1);
    assert_int_equal(CLIENT(f, "--db '%s' --json customer add name=E2E 'address=1 Test Rd'",
                            f->cdb), 0);
    assert_true(find_uuid(f->out, cust));
    assert_int_equal(CLIENT(f, "--db '%s' --json visit plan %s", f->cdb, cust), 0);
    assert_int_equal(CLIENT(f, "--db '%s' --json quote new %s EUR", f->cdb, cust), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' --json status", f->cdb), 0);
    assert_non_null(strstr(f->out, "\"pending\":0"));
    assert_non_null(strstr(f->out, "\"rejected\":0"));
    /* Converged: the replica's export equals the server's export for the rep. */
    snprintf(cexp, sizeof cexp, "%s/client.json", f->dir);
    snprintf(sexp, sizeof sexp, "%s/server.json", f->dir);
    assert_int_equal(CLIENT(f, "--db '%s' export", f->cdb), 0);
    {
        FILE *o = fopen(cexp, "w");
        fputs(f->out, o);
        fclose(o);
    }
    assert_int_equal(SERVER(f, "--db '%s' export %s", f->sdb, rep), 0);
    {
        FILE *o = fopen(sexp, "w");
        fputs(f->out, o);
        fclose(o);
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", cexp, sexp);
    if (system(cmd) != 0)
        fail_msg("client and server exports differ (%s vs %s)", cexp, sexp);

    /* Revoke: the next sync wipes the replica and says so. */
    assert_int_equal(SERVER(f, "--db '%s' devices", f->sdb), 0);
    assert_true(find_uuid(strstr(f->out, "\"id\"") ? strstr(f->out, "\"id\"") : f->out, dev));
    assert_int_equal(SERVER(f, "--db '%s' revoke %s", f->sdb, dev), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 3);
    assert_non_null(strstr(f->err, "revoked"));
    assert_int_not_equal(access(f->cdb, F_OK), 0);
}

/* Enrolls the replica at db for rep (a fresh code each time). */
static void enroll_db(fixture *f, const char *rep, const char *db)
{
    char code[128];

    assert_int_equal(SERVER(f, "--db '%s' enroll-code %s", f->sdb, rep), 0);
    find_code(f->out, code, sizeof code);
    assert_true(code[0] != '\0');
    assert_int_equal(CLIENT(f, "--db '%s' enroll %s %s", db, f->url, code), 0);
}

/* A counter of the server's GET /metrics (over a connection of its own). */
static unsigned long long server_metric(fixture *f, const char *name)
{
    const char *port = strrchr(f->url, ':');
    struct sockaddr_in a = {.sin_family = AF_INET};
    static const char rq[] = "GET /metrics HTTP/1.0\r\n\r\n";
    char buf[65536], *p;
    size_t n = 0;
    ssize_t got;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0 && port != NULL);
    a.sin_port = htons((uint16_t)atoi(port + 1));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (const struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, rq, sizeof rq - 1), (ssize_t)(sizeof rq - 1));
    while (n < sizeof buf - 1 && (got = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)got;
    close(fd);
    buf[n] = '\0';
    /* The sample line, not its # HELP line. */
    for (p = buf; (p = strstr(p, name)) != NULL; p++)
        if (p > buf && p[-1] == '\n')
            return strtoull(p + strlen(name), NULL, 10);
    fail_msg("/metrics has no %s", name);
    return 0;
}

/* A sync keeps its connection: a bootstrap of several pages (pages of 3
 * rows, the second ones asked for ahead from a second thread) comes over
 * one or two connections, not one per page. The /metrics reads themselves
 * are one connection each. */
static void test_sync_keeps_connection(void **state)
{
    fixture *f = *state;
    static const char conns[] = "fieldsync_http_connections_total ";
    static const char syncs[] = "fieldsync_requests_total{route=\"sync\",code=\"2xx\"} ";
    char rep[37], db2[256];
    unsigned long long c0, r0, c1, r1;

    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Kim Keepalive'", f->sdb), 0);
    assert_true(find_uuid(f->out, rep));
    enroll_db(f, rep, f->cdb);
    for (int i = 0; i < 12; i++)
        assert_int_equal(CLIENT(f, "--db '%s' customer add 'name=Kept %d'", f->cdb, i), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    snprintf(db2, sizeof db2, "%s/second.db", f->dir);
    enroll_db(f, rep, db2);

    c0 = server_metric(f, conns);
    r0 = server_metric(f, syncs);
    assert_int_equal(CLIENT(f, "--db '%s' sync", db2), 0);
    c1 = server_metric(f, conns);
    r1 = server_metric(f, syncs);
    assert_true(r1 - r0 >= 4);
    /* Two reads after c0 (one of them before r0) plus the sync's own. */
    if (c1 - c0 > 2 + 2)
        fail_msg("%llu connections for %llu sync requests", c1 - c0 - 2, r1 - r0);
    assert_int_equal(CLIENT(f, "--db '%s' --json status", db2), 0);
    assert_non_null(strstr(f->out, "\"pending\":0"));
}

/* One device completes a contract's signature while another voids it: the
 * server keeps one terminal status and opens a conflict for the back office.
 * `status` on both devices lists it; once resolved, the next sync clears it. */
static void test_status_lists_open_conflicts(void **state)
{
    fixture *f = *state;
    char rep[37], cust[37], quote[37], contract[37], db2[300];
    const char *p;
    long id;

    snprintf(db2, sizeof db2, "%s/client2.db", f->dir);
    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Ann Field'", f->sdb), 0);
    assert_true(find_uuid(f->out, rep));
    enroll_db(f, rep, f->cdb);
    enroll_db(f, rep, db2);
    assert_int_equal(CLIENT(f, "--db '%s' --json customer add name=Orchard", f->cdb), 0);
    assert_true(find_uuid(f->out, cust));
    assert_int_equal(CLIENT(f, "--db '%s' --json quote new %s EUR", f->cdb, cust), 0);
    assert_true(find_uuid(f->out, quote));
    assert_int_equal(CLIENT(f, "--db '%s' quote line-add %s --sku A --desc Set --qty 1 "
                            "--price 1000", f->cdb, quote), 0);
    assert_int_equal(CLIENT(f, "--db '%s' quote send %s", f->cdb, quote), 0);
    assert_int_equal(CLIENT(f, "--db '%s' --json contract new %s", f->cdb, quote), 0);
    assert_true(find_uuid(f->out, contract));
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", db2), 0);

    assert_int_equal(CLIENT(f, "--db '%s' contract esign %s sent", f->cdb, contract), 0);
    assert_int_equal(CLIENT(f, "--db '%s' contract esign %s completed", f->cdb, contract), 0);
    assert_int_equal(CLIENT(f, "--db '%s' contract esign %s voided", db2, contract), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", db2), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);

    for (int i = 0; i < 2; i++) {
        const char *db = i ? db2 : f->cdb;
        assert_int_equal(CLIENT(f, "--db '%s' --json status", db), 0);
        assert_non_null(strstr(f->out, "\"open_conflicts\":1,"));
        assert_non_null(strstr(f->out, "\"rule\":\"esign_terminal\""));
        assert_non_null(strstr(f->out, contract));
        assert_int_equal(CLIENT(f, "--db '%s' status", db), 0);
        assert_non_null(strstr(f->out, "open conflicts (1, awaiting the back office)"));
        assert_non_null(strstr(f->out, "contract Orchard, esign_status:"));
    }

    /* The device whose void lost has a notice naming the customer, in
     * words (issue 14: no "lattice"), and what to do. */
    assert_int_equal(CLIENT(f, "--db '%s' status", db2), 0);
    assert_non_null(strstr(f->out, "contract Orchard: esign_status stays completed"));
    assert_null(strstr(f->out, "lattice"));
    assert_non_null(strstr(f->out, "dismiss --notice '#"));

    assert_int_equal(SERVER(f, "--db '%s' conflicts --status open", f->sdb), 0);
    p = strstr(f->out, "\"id\":");
    assert_non_null(p);
    id = strtol(p + 5, NULL, 10);
    assert_int_equal(SERVER(f, "--db '%s' resolve %ld theirs", f->sdb, id), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", db2), 0);
    assert_int_equal(CLIENT(f, "--db '%s' --json status", db2), 0);
    assert_non_null(strstr(f->out, "\"open_conflicts\":0,\"conflicts\":[]"));
}

/* Issue 17, end to end: Ann leaves with work queued offline. `offboard
 * --drain` from the CLI says what it moved; her next sync pushes every
 * queued change (judged at the server), then wipes the replica and says
 * the changes were sent first; Bob owns what she created. */
static void test_offboard_drain(void **state)
{
    fixture *f = *state;
    char ann[37], bob[37], cust[37];

    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Ann Field'", f->sdb), 0);
    assert_true(find_uuid(f->out, ann));
    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Bob Road'", f->sdb), 0);
    assert_true(find_uuid(f->out, bob));
    enroll_db(f, ann, f->cdb);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' --json customer add name=Drained "
                            "'address=2 Exit Rd'", f->cdb), 0);
    assert_true(find_uuid(f->out, cust));
    assert_int_equal(CLIENT(f, "--db '%s' --json visit plan %s", f->cdb, cust), 0);

    assert_int_equal(SERVER(f, "--db '%s' offboard 'Ann Field' --drain", f->sdb),
                     2); /* where the customers go must be said */
    assert_non_null(strstr(f->err, "--to"));
    assert_int_equal(SERVER(f, "--db '%s' offboard 'Ann Field' --to 'Bob Road' "
                            "--drain", f->sdb), 0);
    assert_non_null(strstr(f->out, "1 device(s) revoked"));
    assert_int_equal(SERVER(f, "--db '%s' enroll-code 'Ann Field'", f->sdb), 2);
    assert_non_null(strstr(f->err, "deactivated"));

    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 3);
    assert_non_null(strstr(f->err, "offboarded"));
    assert_non_null(strstr(f->err, "sent and judged"));
    assert_int_not_equal(access(f->cdb, F_OK), 0);
    assert_int_equal(SERVER(f, "--db '%s' offboards", f->sdb), 0);
    assert_non_null(strstr(f->out, "\"changes_drained\":2"));
    assert_int_equal(SERVER(f, "--db '%s' export %s", f->sdb, bob), 0);
    assert_non_null(strstr(f->out, cust));
}

/* Issue 17, end to end: two reps of a territory claim the same pool
 * customer offline; Ann's claim arrives first and she owns it; Bob's sync
 * exits 4 and his status says in words who claimed it. */
static void test_claim_race(void **state)
{
    fixture *f = *state;
    char ann[37], bob[37], cust[37], db2[300], csv[300];
    FILE *o;

    snprintf(db2, sizeof db2, "%s/client2.db", f->dir);
    snprintf(csv, sizeof csv, "%s/pool.csv", f->dir);
    assert_int_equal(SERVER(f, "--db '%s' territory-add south", f->sdb), 0);
    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Ann Field'", f->sdb), 0);
    assert_true(find_uuid(f->out, ann));
    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Bob Road'", f->sdb), 0);
    assert_true(find_uuid(f->out, bob));
    assert_int_equal(SERVER(f, "--db '%s' rep-territory %s south", f->sdb, ann), 0);
    assert_int_equal(SERVER(f, "--db '%s' rep-territory %s south", f->sdb, bob), 0);
    o = fopen(csv, "w");
    assert_non_null(o);
    fputs("name,territory\nPool Mill,south\n", o);
    fclose(o);
    assert_int_equal(SERVER(f, "--db '%s' import customers '%s'", f->sdb, csv), 0);
    enroll_db(f, ann, f->cdb);
    enroll_db(f, bob, db2);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", db2), 0);
    assert_int_equal(SERVER(f, "--db '%s' pool", f->sdb), 0);
    assert_non_null(strstr(f->out, "Pool Mill"));
    assert_int_equal(CLIENT(f, "--db '%s' customer claim 'Pool Mill'", f->cdb), 0);
    assert_non_null(strstr(f->out, "claim queued"));
    assert_int_equal(CLIENT(f, "--db '%s' customer claim 'Pool Mill'", db2), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", db2), 4);
    assert_int_equal(CLIENT(f, "--db '%s' status", db2), 0);
    assert_non_null(strstr(f->out, "already claimed by Ann Field"));
    assert_int_equal(CLIENT(f, "--db '%s' --json customer show 'Pool Mill'", f->cdb), 0);
    assert_non_null(strstr(f->out, ann));
    assert_true(find_uuid(strstr(f->out, "\"id\""), cust));
    assert_int_equal(SERVER(f, "--db '%s' claims", f->sdb), 0);
    assert_non_null(strstr(f->out, "\"outcome\":\"taken\""));
    /* Ann owns it now: claiming again is refused on the device. */
    assert_int_equal(CLIENT(f, "--db '%s' customer claim %s", f->cdb, cust), 1);
    assert_non_null(strstr(f->err, "own this customer already"));
}

/* Issue 17, end to end: a rep creates the same customer twice; the office
 * lists the pair and merges it while the rep adds a contact to the
 * duplicate offline. The sync applies the contact to the survivor, and
 * `status` says both things in words: the duplicate was merged, the change
 * was applied there. */
static void test_merge_redirect(void **state)
{
    fixture *f = *state;
    char ann[37], keep[37], dup[37];

    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Ann Field'", f->sdb), 0);
    assert_true(find_uuid(f->out, ann));
    enroll_db(f, ann, f->cdb);
    assert_int_equal(CLIENT(f, "--db '%s' --json customer add 'name=Mill Works Ltd' "
                            "phone=0161-555-0100", f->cdb), 0);
    assert_true(find_uuid(f->out, keep));
    assert_int_equal(CLIENT(f, "--db '%s' --json customer add 'name=MILL WORKS "
                            "Limited' 'phone=+44 161 555 0100'", f->cdb), 0);
    assert_true(find_uuid(f->out, dup));
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(SERVER(f, "--db '%s' duplicates", f->sdb), 0);
    assert_non_null(strstr(f->out, "\"reasons\":[\"name\",\"phone\"]"));
    assert_int_equal(CLIENT(f, "--db '%s' contact add %s name=Late", f->cdb, dup), 0);
    assert_int_equal(SERVER(f, "--db '%s' merge %s %s", f->sdb, keep, dup), 0);
    assert_non_null(strstr(f->out, "merged 1 duplicate(s)"));
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' status", f->cdb), 0);
    assert_non_null(strstr(f->out, "merged into another customer (a duplicate)"));
    assert_non_null(strstr(f->out, "this change was applied there"));
    assert_int_equal(CLIENT(f, "--db '%s' contact list %s", f->cdb, keep), 0);
    assert_non_null(strstr(f->out, "Late"));
}

/* Issue 13, end to end: Bob checks in at a visit Ann planned in their shared
 * territory. After sync the visit is Bob's on both devices (rep=you for Bob,
 * planned_by=you for Ann), `visit list --mine` tells them apart, and a
 * rep's customer delete is refused before it is queued. */
static void test_shared_territory_attribution(void **state)
{
    fixture *f = *state;
    char ann[37], bob[37], cust[37], visit[37], db2[300], csv[300];
    FILE *o;

    snprintf(db2, sizeof db2, "%s/client2.db", f->dir);
    snprintf(csv, sizeof csv, "%s/customers.csv", f->dir);
    assert_int_equal(SERVER(f, "--db '%s' territory-add north", f->sdb), 0);
    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Ann Field'", f->sdb), 0);
    assert_true(find_uuid(f->out, ann));
    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Bob Road'", f->sdb), 0);
    assert_true(find_uuid(f->out, bob));
    assert_int_equal(SERVER(f, "--db '%s' rep-territory %s north", f->sdb, ann), 0);
    assert_int_equal(SERVER(f, "--db '%s' rep-territory %s north", f->sdb, bob), 0);
    o = fopen(csv, "w");
    assert_non_null(o);
    fputs("name,territory,lat,lon\nShared Mill,north,53.48,-2.24\n", o);
    fclose(o);
    assert_int_equal(SERVER(f, "--db '%s' import customers '%s'", f->sdb, csv), 0);
    enroll_db(f, ann, f->cdb);
    enroll_db(f, bob, db2);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' --json customer list", f->cdb), 0);
    assert_true(find_uuid(f->out, cust));
    assert_int_equal(CLIENT(f, "--db '%s' --json visit plan %s", f->cdb, cust), 0);
    assert_true(find_uuid(f->out, visit));
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", db2), 0);

    /* Bob's device sees Ann's plan as hers. */
    assert_int_equal(CLIENT(f, "--db '%s' visit list", db2), 0);
    assert_non_null(strstr(f->out, visit + 28));
    assert_non_null(strstr(f->out, ann));
    assert_int_equal(CLIENT(f, "--db '%s' visit list --mine", db2), 0);
    assert_null(strstr(f->out, visit + 28));

    assert_int_equal(CLIENT(f, "--db '%s' visit checkin %s --lat 53.48 --lon -2.24 "
                            "--accuracy 10", db2, visit), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", db2), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' visit list --mine", db2), 0);
    assert_non_null(strstr(f->out, visit + 28));
    assert_non_null(strstr(f->out, "rep=you"));
    assert_non_null(strstr(f->out, ann)); /* planned_by */
    assert_int_equal(CLIENT(f, "--db '%s' visit list", f->cdb), 0);
    assert_non_null(strstr(f->out, bob));
    assert_non_null(strstr(f->out, "planned_by=you"));
    assert_int_equal(CLIENT(f, "--db '%s' visit list --mine", f->cdb), 0);
    assert_null(strstr(f->out, visit + 28));

    /* A rep cannot delete the shared customer; nothing is queued. */
    assert_int_equal(CLIENT(f, "--db '%s' customer delete %s", db2, cust), 1);
    assert_non_null(strstr(f->err, "back office"));
    assert_int_equal(CLIENT(f, "--db '%s' --json status", db2), 0);
    assert_non_null(strstr(f->out, "\"pending\":0"));
}

/* Issue 12, finding 6 (client side): a change the server rejects (here for
 * scope: the customer was reassigned while the rep edited it offline)
 * keeps its refused values in `status` and `status --json`, and `sync`
 * exits 4 (documented), not 0. */
static void test_rejected_values_and_exit_status(void **state)
{
    fixture *f = *state;
    char rep[37], rep2[37], cust[37];

    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Ann Field'", f->sdb), 0);
    assert_true(find_uuid(f->out, rep));
    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Bob Other'", f->sdb), 0);
    assert_true(find_uuid(f->out, rep2));
    enroll_db(f, rep, f->cdb);
    assert_int_equal(CLIENT(f, "--db '%s' --json customer add name=Moving", f->cdb), 0);
    assert_true(find_uuid(f->out, cust));
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(SERVER(f, "--db '%s' assign %s --owner %s", f->sdb, cust, rep2), 0);
    assert_int_equal(CLIENT(f, "--db '%s' customer edit %s phone=+1-555-0199", f->cdb,
                            cust), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 4);
    assert_non_null(strstr(f->out, "1 rejected"));
    assert_int_equal(CLIENT(f, "--db '%s' status", f->cdb), 0);
    assert_non_null(strstr(f->out, "rejected:     1 change(s)"));
    assert_non_null(strstr(f->out, "phone = +1-555-0199"));
    assert_int_equal(CLIENT(f, "--db '%s' --json status", f->cdb), 0);
    assert_non_null(strstr(f->out, "\"state\":\"rejected\""));
    assert_non_null(strstr(f->out, "{\"field\":\"phone\",\"value\":\"+1-555-0199\"}"));
    /* Nothing new rejected: the next sync exits 0 again. */
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
}

/* Issue 14, items 4 and 7 end to end: the catalog from the back office is
 * listed, searched and shown on the device; line-add --sku takes the
 * product's name and price, a SKU priced in another currency is refused
 * saying so; with the server gone, sync says in one line that the device is
 * offline and how many changes are saved, exits 5, and status shows them as
 * waiting to send. */
static void test_catalog_and_offline(void **state)
{
    fixture *f = *state;
    char rep[37], cust[37], quote[37], usdq[37], csv[300];
    FILE *o;
    int st;

    snprintf(csv, sizeof csv, "%s/products.csv", f->dir);
    o = fopen(csv, "w");
    assert_non_null(o);
    fputs("sku,name,price,currency\nSEN-010,Soil moisture sensor,3900,EUR\n"
          "IRR-220,Drip irrigation set,45900,EUR\n", o);
    fclose(o);
    assert_int_equal(SERVER(f, "--db '%s' import products '%s'", f->sdb, csv), 0);
    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Ann Field'", f->sdb), 0);
    assert_true(find_uuid(f->out, rep));
    enroll_db(f, rep, f->cdb);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);

    assert_int_equal(CLIENT(f, "--db '%s' product list", f->cdb), 0);
    assert_non_null(strstr(f->out, "SEN-010"));
    assert_non_null(strstr(f->out, "price=EUR 39.00"));
    assert_int_equal(CLIENT(f, "--db '%s' product search moisture", f->cdb), 0);
    assert_non_null(strstr(f->out, "SEN-010"));
    assert_null(strstr(f->out, "IRR-220"));
    assert_int_equal(CLIENT(f, "--db '%s' --json product show SEN-010", f->cdb), 0);
    assert_non_null(strstr(f->out, "\"price\":3900"));

    assert_int_equal(CLIENT(f, "--db '%s' --json customer add name=Orchard", f->cdb), 0);
    assert_true(find_uuid(f->out, cust));
    assert_int_equal(CLIENT(f, "--db '%s' --json quote new Orchard eur", f->cdb), 0);
    assert_true(find_uuid(f->out, quote));
    assert_int_equal(CLIENT(f, "--db '%s' quote line-add %s --qty 10 --sku SEN-010 "
                            "--discount 5%%", f->cdb, quote), 0);
    assert_int_equal(CLIENT(f, "--db '%s' quote show %s", f->cdb, quote), 0);
    assert_non_null(strstr(f->out, "description=Soil moisture sensor"));
    assert_non_null(strstr(f->out, "unit_price=EUR 39.00"));
    assert_non_null(strstr(f->out, "discount=5%"));
    assert_non_null(strstr(f->out, "total EUR 370.50"));
    assert_int_equal(CLIENT(f, "--db '%s' --json quote new %s USD", f->cdb, cust), 0);
    assert_true(find_uuid(f->out, usdq));
    assert_int_equal(CLIENT(f, "--db '%s' quote line-add %s --qty 1 --sku SEN-010 "
                            "--price 40", f->cdb, usdq), 1);
    assert_non_null(strstr(f->err, "priced in EUR in the catalog but this quote is in USD"));
    assert_int_equal(CLIENT(f, "--db '%s' --json quote show %s", f->cdb, usdq), 0);
    assert_non_null(strstr(f->out, "\"lines\":[]"));

    /* The server goes away: offline is a state, not an error. */
    kill(f->server, SIGTERM);
    waitpid(f->server, &st, 0);
    f->server = 0;
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 5);
    assert_non_null(strstr(f->err, "offline"));
    assert_non_null(strstr(f->err, "4 change(s) saved on this device"));
    {   /* ... in one line, the retries before it included */
        size_t lines = 0;
        for (const char *p = f->err; *p; p++)
            lines += *p == '\n';
        if (lines != 1)
            fail_msg("offline sync printed %zu lines:\n%s", lines, f->err);
    }
    assert_int_equal(CLIENT(f, "--db '%s' status", f->cdb), 0);
    assert_non_null(strstr(f->out, "waiting:      4 change(s) waiting to send"));
    assert_null(strstr(f->out, "answer not yet received"));
    assert_int_equal(CLIENT(f, "--db '%s' --json sync", f->cdb), 5);
    assert_non_null(strstr(f->out, "{\"ok\":false,\"error\":{\"code\":\"offline\","));
}

/* Customer value reaches the rep's device (issue 16): the server's analyze
 * grades two owned customers from imported purchases; after a sync the
 * device lists them by --grade and --risk, shows the reason, and lists the
 * generated follow-up task marked as such; a bad grade is refused. */
static void test_value_reaches_device(void **state)
{
    fixture *f = *state;
    char ann[37], csv[300], json[300];
    long long now = (long long)time(NULL) * 1000, day = 86400000LL;
    FILE *o;

    snprintf(csv, sizeof csv, "%s/customers.csv", f->dir);
    snprintf(json, sizeof json, "%s/purchases.json", f->dir);
    assert_int_equal(SERVER(f, "--db '%s' territory-add north", f->sdb), 0);
    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Ann Field'", f->sdb), 0);
    assert_true(find_uuid(f->out, ann));
    o = fopen(csv, "w");
    assert_non_null(o);
    fprintf(o, "id,name,territory,owner_rep\n"
               "019a0000-0000-7000-8000-000000000001,Big Mill,north,%s\n"
               "019a0000-0000-7000-8000-000000000002,Small Shop,north,%s\n", ann, ann);
    fclose(o);
    assert_int_equal(SERVER(f, "--db '%s' import customers '%s'", f->sdb, csv), 0);
    o = fopen(json, "w");
    assert_non_null(o);
    fputs("[", o);
    for (int d = 70; d <= 130; d += 30)
        fprintf(o, "{\"customer_id\":\"019a0000-0000-7000-8000-000000000001\","
                   "\"amount\":50000,\"currency\":\"EUR\",\"purchased_at\":%lld},",
                now - d * day);
    fprintf(o, "{\"customer_id\":\"019a0000-0000-7000-8000-000000000002\","
               "\"amount\":1000,\"currency\":\"EUR\",\"purchased_at\":%lld}]", now - 10 * day);
    fclose(o);
    assert_int_equal(SERVER(f, "--db '%s' import purchases '%s'", f->sdb, json), 0);
    assert_int_equal(SERVER(f, "--db '%s' analyze", f->sdb), 0);
    assert_non_null(strstr(f->out, "50.0% of buying customers (1 of 2)"));
    assert_int_equal(SERVER(f, "--db '%s' analyze --json", f->sdb), 0);
    assert_non_null(strstr(f->out, "\"changed\":0"));

    enroll_db(f, ann, f->cdb);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' customer list --grade E", f->cdb), 0);
    assert_non_null(strstr(f->out, "Big Mill"));
    assert_non_null(strstr(f->out, "grade=E"));
    assert_null(strstr(f->out, "Small Shop"));
    assert_int_equal(CLIENT(f, "--db '%s' customer list --risk watch", f->cdb), 0);
    assert_non_null(strstr(f->out, "Big Mill"));
    assert_null(strstr(f->out, "Small Shop"));
    /* both filters at once: a watched E is not an at-risk E */
    assert_int_equal(CLIENT(f, "--db '%s' customer list --risk watch --grade E", f->cdb), 0);
    assert_non_null(strstr(f->out, "Big Mill"));
    assert_int_equal(CLIENT(f, "--db '%s' customer list --risk at_risk --grade E", f->cdb), 0);
    assert_null(strstr(f->out, "Big Mill"));
    assert_int_equal(CLIENT(f, "--db '%s' customer show 'Big Mill'", f->cdb), 0);
    assert_non_null(strstr(f->out, "  grade              E\n"));
    assert_non_null(strstr(f->out, "  core               "));
    assert_non_null(strstr(f->out, "  risk               watch\n"));
    assert_non_null(strstr(f->out, "  risk_reason        no purchase since"));
    assert_int_equal(CLIENT(f, "--db '%s' task list", f->cdb), 0);
    assert_non_null(strstr(f->out, "generated=overdue"));
    assert_non_null(strstr(f->out, "Follow up: no purchase since"));
    assert_int_not_equal(CLIENT(f, "--db '%s' customer list --grade Z", f->cdb), 0);
    assert_non_null(strstr(f->err, "--grade"));
}

/* A ticket's round trip through the real binaries: opened offline on the
 * rep's device, synced, worked and resolved by the back office
 * (`sync-server ticket-update`), and the rep's device shows the status,
 * assignee and resolution after the next sync; the rep closes it. */
static void test_ticket_round_trip(void **state)
{
    fixture *f = *state;
    char ann[37], tk[37], csv[300];
    FILE *o;

    snprintf(csv, sizeof csv, "%s/customers.csv", f->dir);
    assert_int_equal(SERVER(f, "--db '%s' territory-add north", f->sdb), 0);
    assert_int_equal(SERVER(f, "--db '%s' rep-add 'Ann Field'", f->sdb), 0);
    assert_true(find_uuid(f->out, ann));
    o = fopen(csv, "w");
    assert_non_null(o);
    fprintf(o, "id,name,territory,owner_rep\n"
               "019a0000-0000-7000-8000-000000000001,Big Mill,north,%s\n", ann);
    fclose(o);
    assert_int_equal(SERVER(f, "--db '%s' import customers '%s'", f->sdb, csv), 0);
    enroll_db(f, ann, f->cdb);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);

    /* Offline: nothing reaches the server until the sync. */
    assert_int_equal(CLIENT(f, "--db '%s' --json ticket open 'Big Mill' --kind complaint "
                               "--subject 'late delivery' --priority high", f->cdb), 0);
    assert_true(find_uuid(f->out, tk));
    assert_int_equal(SERVER(f, "--db '%s' tickets", f->sdb), 0);
    assert_null(strstr(f->out, tk));
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(SERVER(f, "--db '%s' tickets --territory north", f->sdb), 0);
    assert_non_null(strstr(f->out, tk));
    assert_non_null(strstr(f->out, "\"opened_by\":\""));

    /* The back office works it; a move it may not make is refused. */
    assert_int_equal(SERVER(f, "--db '%s' ticket-update %s --status in_progress "
                               "--assignee Dana", f->sdb, tk), 0);
    assert_int_equal(SERVER(f, "--db '%s' ticket-update %s --status resolved "
                               "--resolution 'replaced the pump'", f->sdb, tk), 0);
    assert_int_equal(SERVER(f, "--db '%s' ticket-update %s --status in_progress", f->sdb,
                            tk), 2);
    assert_non_null(strstr(f->err, "cannot move from resolved to in_progress"));
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' --json ticket show %s", f->cdb, tk), 0);
    assert_non_null(strstr(f->out, "\"status\":\"resolved\""));
    assert_non_null(strstr(f->out, "\"assignee\":\"Dana\""));
    assert_non_null(strstr(f->out, "replaced the pump"));

    /* The owner rep got the satisfaction task; a rating is taken once. */
    assert_int_equal(CLIENT(f, "--db '%s' task list", f->cdb), 0);
    assert_non_null(strstr(f->out, "generated=satisfaction"));
    assert_non_null(strstr(f->out, "Satisfaction survey: late delivery"));
    assert_int_equal(CLIENT(f, "--db '%s' ticket rate %s 7", f->cdb, tk), 1);
    assert_int_equal(CLIENT(f, "--db '%s' ticket rate %s 4 --note 'quick fix'", f->cdb,
                            tk), 0);
    assert_int_equal(CLIENT(f, "--db '%s' ticket rate %s 5", f->cdb, tk), 1);
    assert_non_null(strstr(f->err, "one score per ticket"));

    /* The rep closes it; it leaves the list of waiting tickets. */
    assert_int_equal(CLIENT(f, "--db '%s' ticket close %s", f->cdb, tk), 0);
    assert_int_equal(CLIENT(f, "--db '%s' sync", f->cdb), 0);
    assert_int_equal(CLIENT(f, "--db '%s' ticket list", f->cdb), 0);
    assert_non_null(strstr(f->out, "(no ticket)"));
    assert_int_equal(SERVER(f, "--db '%s' tickets --all", f->sdb), 0);
    assert_non_null(strstr(f->out, "\"status\":\"closed\""));
    assert_int_equal(SERVER(f, "--db '%s' satisfaction --territory north", f->sdb), 0);
    assert_non_null(strstr(f->out, "\"surveys\":1,\"sum\":4,\"average\":\"4.00\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enroll_sync_export_revoke, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_lists_open_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_territory_attribution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_values_and_exit_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog_and_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_reaches_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offboard_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_redirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ticket_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_keeps_connection, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
