/*
 * test_client_json.c - one JSON shape for every field-client command
 * (docs/CLI.md, "JSON output"): walks the command list that
 * `field-client --help` prints from main.c's help table and, for each
 * command, checks a success ({"ok":true,...}, one line of valid JSON, lists
 * under "rows", single rows under "row") and failures ({"ok":false,"error":
 * {"code":...,"message":...}} on stdout, one line on stderr): a usage error
 * (an unknown option) and, where the command can fail otherwise, that
 * failure. A command added to the help table without an entry here fails
 * the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct fixture {
    char dir[128];
    char db[192];
    int status;
    char out[65536];
    char err[4096];
    /* Rows made by the setup, by placeholder letter. */
    char ids[26][40];
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

/* Replaces %X (X an upper-case letter) by the setup's row X. */
static void expand(const fixture *f, const char *in, char *out, size_t cap)
{
    size_t k = 0;

    for (; *in && k + 1 < cap; in++) {
        if (in[0] == '%' && isupper((unsigned char)in[1])) {
            const char *id = f->ids[in[1] - 'A'];
            size_t n = strlen(id);
            if (!n)
                fail_msg("placeholder %%%c used before it was set", in[1]);
            if (k + n + 1 >= cap)
                break;
            memcpy(out + k, id, n);
            k += n;
            in++;
        } else {
            out[k++] = *in;
        }
    }
    out[k] = '\0';
}

static int run(fixture *f, const char *fmt)
{
    char args[2048], cmd[4096], o[256], e[256];
    int st;

    expand(f, fmt, args, sizeof args);
    snprintf(o, sizeof o, "%s/out", f->dir);
    snprintf(e, sizeof e, "%s/err", f->dir);
    snprintf(cmd, sizeof cmd, "FIELDSYNC_DB='%s' timeout 30 '%s' %s >'%s' 2>'%s' </dev/null",
             f->db, FIELD_CLIENT_BIN, args, o, e);
    st = system(cmd);
    f->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    slurp(o, f->out, sizeof f->out);
    slurp(e, f->err, sizeof f->err);
    return f->status;
}

/* Runs a --json command that must succeed and keeps its "id" as row X. */
static void make(fixture *f, char x, const char *args)
{
    char full[1024];
    const char *p;

    snprintf(full, sizeof full, "--json %s", args);
    if (run(f, full) != 0)
        fail_msg("setup '%s' failed: %s", args, f->err);
    p = strstr(f->out, "\"id\":\"");
    assert_non_null(p);
    memcpy(f->ids[x - 'A'], p + 6, 36);
    f->ids[x - 'A'][36] = '\0';
}

/* ------------------------------------------------------------------------ */
/* A small JSON validator: the whole text is one value (and a newline).      */
/* ------------------------------------------------------------------------ */

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

static const char *value(const char *p, int depth);

static const char *string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p && *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)p[i]))
                        return NULL;
                p += 4;
            } else if (!strchr("\"\\/bfnrt", *p) || !*p) {
                return NULL;
            }
        }
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *number(const char *p)
{
    const char *s = p;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return NULL;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return p > s ? p : NULL;
}

static const char *value(const char *p, int depth)
{
    p = ws(p);
    if (depth > 32)
        return NULL;
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool obj = *p == '{';
        p = ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (obj) {
                if (!(p = string(ws(p))))
                    return NULL;
                p = ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            if (!(p = value(p, depth + 1)))
                return NULL;
            p = ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (*p == '"')
        return string(p);
    if (!strncmp(p, "true", 4))
        return p + 4;
    if (!strncmp(p, "false", 5))
        return p + 5;
    if (!strncmp(p, "null", 4))
        return p + 4;
    return number(p);
}

static bool one_json_line(const char *s)
{
    const char *end = value(s, 0);
    return end && strcmp(end, "\n") == 0;
}

/* The test's own check can fail: the shapes the old CLI printed are
 * refused. */
static void test_validator(void **state)
{
    (void)state;
    assert_true(one_json_line("{\"ok\":true,\"rows\":[{\"a\":1.5e3,\"b\":null}]}\n"));
    assert_false(one_json_line("{\"ok\":true,\"rows\":[}\n"));
    assert_false(one_json_line("{\"ok\":true}\n{\"ok\":true}\n"));
    assert_false(one_json_line("{\"ok\":true,\"a\":\"x\ny\"}\n"));
}

/* ------------------------------------------------------------------------ */
/* The command list                                                          */
/* ------------------------------------------------------------------------ */

/* Per command ("cmd" or "cmd sub"), in the order run: a successful
 * invocation and the start its output must have (NULL: no success offline,
 * the reason in `why`), and a failure other than a usage error with the
 * error code it must carry (NULL: none beyond usage). */
static const struct cmd_case {
    const char *name;
    const char *ok;
    const char *ok_prefix;
    const char *bad;
    const char *bad_code;
    const char *why;
} cases[] = {
    {"customer list", "customer list", "{\"ok\":true,\"rows\":[", NULL, NULL, NULL},
    {"customer search", "customer search acme", "{\"ok\":true,\"rows\":[{", NULL, NULL, NULL},
    {"customer show", "customer show %C", "{\"ok\":true,\"row\":{", "customer show nosuchname",
     "not_found", NULL},
    {"customer add", "customer add name=Zeta", "{\"ok\":true,\"id\":\"", "customer add name=",
     "value", NULL},
    {"customer edit", "customer edit %C phone=123", "{\"ok\":true,\"id\":\"",
     "customer edit %C territory=x", "server_owned", NULL},
    {"customer delete", NULL, NULL, "customer delete %C", "server_owned",
     "only the back office deletes customers"},
    {"customer claim", NULL, NULL, "customer claim %C", "not_enrolled",
     "a claim names the device's rep: needs enrollment (test_server_owner, e2e)"},
    {"contact add", "contact add %C name=Bob", "{\"ok\":true,\"id\":\"",
     "contact add 00000000-0000-7000-8000-000000000000 name=X", "not_found", NULL},
    {"contact edit", "contact edit %K title=Buyer", "{\"ok\":true,\"id\":\"",
     "contact edit %K bogus=1", NULL, NULL},
    {"contact list", "contact list %C", "{\"ok\":true,\"rows\":[{", NULL, NULL, NULL},
    {"contact show", "contact show %K", "{\"ok\":true,\"row\":{", "contact show ffffffff",
     "not_found", NULL},
    {"contact delete", "contact delete %J --yes", "{\"ok\":true,\"id\":\"", NULL, NULL, NULL},
    {"visit plan", "visit plan %C --at tomorrow", "{\"ok\":true,\"id\":\"", NULL, NULL, NULL},
    {"visit checkin", "visit checkin %V --lat 1 --lon 2 --accuracy 5", "{\"ok\":true,\"id\":\"",
     "visit checkin %V --lat 100 --lon 2 --accuracy 5", NULL, NULL},
    {"visit note", "visit note %V hello", "{\"ok\":true,\"id\":\"", NULL, NULL, NULL},
    {"visit checkout", "visit checkout %V", "{\"ok\":true,\"id\":\"", "visit checkout %W",
     "transition", NULL},
    {"visit abandon", "visit abandon %W", "{\"ok\":true,\"id\":\"", NULL, NULL, NULL},
    {"visit list", "visit list", "{\"ok\":true,\"rows\":[{", NULL, NULL, NULL},
    {"visit show", "visit show %V", "{\"ok\":true,\"row\":{", NULL, NULL, NULL},
    {"quote new", "quote new %C eur", "{\"ok\":true,\"id\":\"", "quote new %C XYZ", "value", NULL},
    {"quote line-add", "quote line-add %Q --qty 1 --price 10", "{\"ok\":true,\"id\":\"",
     "quote line-add %Q --qty 1 --price 10.001", "value", NULL},
    {"quote line-edit", "quote line-edit %L qty=2 unit_price=12.50", "{\"ok\":true,\"id\":\"",
     "quote line-edit %L discount=150%", "value", NULL},
    {"quote line-remove", "quote line-remove %M --yes", "{\"ok\":true,\"id\":\"", NULL, NULL,
     NULL},
    {"quote discount", "quote discount %Q 5%", "{\"ok\":true,\"id\":\"",
     "quote discount %S 5%", "frozen", NULL},
    {"quote send", "quote send %Q", "{\"ok\":true,\"id\":\"", "quote send %R", "transition",
     NULL},
    {"quote accept", "quote accept %S", "{\"ok\":true,\"id\":\"", NULL, NULL, NULL},
    {"quote reject", "quote reject %U", "{\"ok\":true,\"id\":\"", "quote reject %S",
     "transition", NULL},
    {"quote revise", "quote revise %S", "{\"ok\":true,\"id\":\"", NULL, NULL, NULL},
    {"quote show", "quote show %S", "{\"ok\":true,\"row\":{", NULL, NULL, NULL},
    {"quote list", "quote list %C", "{\"ok\":true,\"rows\":[{", NULL, NULL, NULL},
    {"contract new", "contract new %S", "{\"ok\":true,\"id\":\"", "contract new %R",
     "transition", NULL},
    {"contract show", "contract show %X", "{\"ok\":true,\"row\":{", NULL, NULL, NULL},
    {"contract list", "contract list", "{\"ok\":true,\"rows\":[{", NULL, NULL, NULL},
    {"contract esign", "contract esign %X sent", "{\"ok\":true,\"message\":\"",
     "contract esign %X bogus", "value", NULL},
    {"task add", "task add %C 'call back' --due today", "{\"ok\":true,\"id\":\"", NULL, NULL,
     NULL},
    {"task edit", "task edit %T title=later", "{\"ok\":true,\"id\":\"", NULL, NULL, NULL},
    {"task done", "task done %T", "{\"ok\":true,\"id\":\"", NULL, NULL, NULL},
    {"task reopen", "task reopen %T", "{\"ok\":true,\"id\":\"", "task reopen %T", "transition",
     NULL},
    {"task delete", "task delete %D --yes", "{\"ok\":true,\"id\":\"", NULL, NULL, NULL},
    {"task show", "task show %T", "{\"ok\":true,\"row\":{", NULL, NULL, NULL},
    {"task list", "task list --due today", "{\"ok\":true,\"rows\":[{", NULL, NULL, NULL},
    {"ticket open", "ticket open %C --kind complaint --subject late --priority high",
     "{\"ok\":true,\"id\":\"", "ticket open %C --kind gripe --subject x", "value", NULL},
    {"ticket list", "ticket list %C", "{\"ok\":true,\"rows\":[{", NULL, NULL, NULL},
    {"ticket show", "ticket show %I", "{\"ok\":true,\"row\":{", "ticket show ffffffff",
     "not_found", NULL},
    {"ticket note", "ticket note %I 'called back'", "{\"ok\":true,\"id\":\"", NULL, NULL,
     NULL},
    {"ticket close", "ticket close %I", "{\"ok\":true,\"id\":\"", "ticket close %I",
     "transition", NULL},
    {"ticket reopen", "ticket reopen %I", "{\"ok\":true,\"id\":\"", "ticket reopen %O",
     "transition", NULL},
    {"ticket rate", NULL, NULL, "ticket rate %O 5", "transition",
     "a ticket is rated once resolved, by the back office (test_client_e2e)"},
    {"product list", "product list", "{\"ok\":true,\"rows\":[", NULL, NULL, NULL},
    {"product search", "product search sensor", "{\"ok\":true,\"rows\":[", NULL, NULL, NULL},
    {"product show", NULL, NULL, "product show SEN-010", "not_found",
     "the catalog comes from the server (test_client_e2e)"},
    {"restore", "restore %D", "{\"ok\":true,\"id\":\"", "restore %T", "not_found", NULL},
    {"enroll", NULL, NULL, "enroll ftp://x CODE", "invalid",
     "needs a server (test_client_e2e)"},
    {"sync", NULL, NULL, "sync", "not_enrolled", "needs a server (test_client_e2e)"},
    {"status", "status", "{\"ok\":true,\"enrolled\":false,", NULL, NULL, NULL},
    {"dismiss", NULL, NULL, "dismiss '#9'", "not_found",
     "nothing is rejected without a server (test_client_e2e)"},
    {"export", NULL, NULL, NULL, NULL,
     "its output is the replica's canonical JSON itself (docs/CLI.md)"},
};

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/fc-json-XXXXXX");
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

static const struct cmd_case *find_case(const char *name)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(cases[i].name, name) == 0)
            return &cases[i];
    return NULL;
}

/* The failure shape, exactly: one line, code and message, nothing else;
 * and one line on stderr. */
static void check_failure(const fixture *f, const char *args, const char *code)
{
    char want[64];

    if (f->status == 0)
        fail_msg("'%s' succeeded; expected a failure", args);
    static const char head[] = "{\"ok\":false,\"error\":{\"code\":\"";

    if (!one_json_line(f->out) || strncmp(f->out, head, sizeof head - 1) != 0 ||
        !strstr(f->out, "\",\"message\":\"") || strcmp(f->out + strlen(f->out) - 3, "}}\n"))
        fail_msg("'%s': not the failure shape: %s", args, f->out);
    if (code) {
        snprintf(want, sizeof want, "{\"code\":\"%s\",", code);
        if (!strstr(f->out, want))
            fail_msg("'%s': expected code %s: %s", args, code, f->out);
    }
    if (strncmp(f->err, "field-client: ", 14) != 0 || strchr(f->err, '\n') !=
                                                          f->err + strlen(f->err) - 1)
        fail_msg("'%s': expected one line on stderr, got '%s'", args, f->err);
}

static void test_every_command(void **state)
{
    fixture *f = *state;
    char names[128][80], line[512];
    size_t n = 0;
    bool in_cmds = false;
    const char *p;

    /* The command list, as the help table prints it. */
    assert_int_equal(run(f, "--help"), 0);
    p = f->out;
    while (*p) {
        size_t len = strcspn(p, "\n");
        char w1[32] = "", w2[32] = "";
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        p += len + (p[len] == '\n');
        if (strcmp(line, "commands:") == 0) {
            in_cmds = true;
            continue;
        }
        if (!in_cmds)
            continue;
        if (!line[0])
            break;
        if (sscanf(line, " %31s %31s", w1, w2) < 1)
            continue;
        /* Commands with subcommands have a lower-case word second. */
        if (!islower((unsigned char)w2[0]))
            w2[0] = '\0';
        snprintf(names[n], sizeof names[n], "%s%s%s", w1, w2[0] ? " " : "", w2);
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup = dup || strcmp(names[i], names[n]) == 0;
        if (!dup)
            n++;
        assert_true(n < 128);
    }
    assert_true(n >= 40);
    for (size_t i = 0; i < n; i++)
        if (!find_case(names[i]))
            fail_msg("command '%s' (from --help) has no JSON shape case here", names[i]);

    /* Rows to act on: customers C (and "Acme ..." for search), contacts K
     * and J, visits V (to check in) and W (to abandon), quotes Q (a draft
     * with lines L and M), S (sent, accepted, revised), U (sent, rejected),
     * R (a draft without lines), contract X made below, task T, task D
     * (deleted, then restored). */
    make(f, 'C', "customer add 'name=Acme Tools'");
    make(f, 'K', "contact add %C name=Ann");
    make(f, 'J', "contact add %C name=Jo");
    make(f, 'V', "visit plan %C");
    make(f, 'W', "visit plan %C");
    make(f, 'Q', "quote new %C EUR");
    make(f, 'L', "quote line-add %Q --qty 1 --price 1");
    make(f, 'M', "quote line-add %Q --qty 1 --price 1");
    make(f, 'S', "quote new %C EUR");
    make(f, 'A', "quote line-add %S --qty 1 --price 5");
    make(f, 'S', "quote send %S");
    make(f, 'U', "quote new %C USD");
    make(f, 'A', "quote line-add %U --qty 1 --price 5");
    make(f, 'U', "quote send %U");
    make(f, 'R', "quote new %C EUR");
    make(f, 'T', "task add %C first");
    make(f, 'D', "task add %C second");
    make(f, 'I', "ticket open %C --kind repair --subject broken");
    make(f, 'O', "ticket open %C --kind question --subject how");

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct cmd_case *k = &cases[i];
        char args[1024];

        if (k->ok) {
            snprintf(args, sizeof args, "--json %s", k->ok);
            if (run(f, args) != 0)
                fail_msg("'%s' failed (%d): %s", k->ok, f->status, f->err);
            if (!one_json_line(f->out) || strncmp(f->out, k->ok_prefix, strlen(k->ok_prefix)))
                fail_msg("'%s': expected one JSON line starting %s, got %s", k->ok,
                         k->ok_prefix, f->out);
            if (strcmp(k->name, "contract new") == 0)
                make(f, 'X', "contract list");
        }
        /* A usage error: an unknown option, whatever the command. */
        snprintf(args, sizeof args, "--json %s --no-such-option",
                 k->ok ? k->ok : k->bad ? k->bad : k->name);
        assert_int_equal(run(f, args), 2);
        check_failure(f, args, "usage");
        if (k->bad) {
            snprintf(args, sizeof args, "--json %s", k->bad);
            run(f, args);
            check_failure(f, args, k->bad_code);
        }
    }
    /* export: canonical JSON either way. */
    assert_int_equal(run(f, "--json export"), 0);
    assert_true(f->out[0] == '{');
    /* Usage errors before any command. */
    assert_int_equal(run(f, "--json"), 2);
    check_failure(f, "--json", "usage");
    assert_int_equal(run(f, "--json frobnicate"), 2);
    check_failure(f, "--json frobnicate", "usage");
    assert_int_equal(run(f, "--json quote"), 2);
    check_failure(f, "--json quote", "usage");
    assert_int_equal(run(f, "--json customer show"), 2);
    check_failure(f, "--json customer show", "usage");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validator),
        cmocka_unit_test_setup_teardown(test_every_command, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
