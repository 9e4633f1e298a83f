/*
 * main.c - the `sync-server` executable: option and config-file parsing,
 * subcommands, signal handling. Everything else is libfsserver: `serve`
 * runs the HTTP server, and every operator subcommand calls the same
 * fss_admin_* function the admin API calls.
 */
#include "fs_server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The only global: set by the signal handler, read by the serve loop. */
static volatile sig_atomic_t got_signal;

typedef struct app {
    fss_config cfg;
    bool demo;
    const char *config_file;
    char *admin_token_buf;   /* owned: read from a file or generated */
    char *tls_cert, *tls_key; /* owned PEM text */
    const char *tls_cert_path, *tls_key_path, *log_path;
    const char *status, *by, *format, *owner, *territory;
    const char *from, *to, *rep; /* activity filters */
    bool json;                   /* check --json */
    uint32_t limit, ttl;
    bool remove;
    FILE *log;
    /* Positional arguments after the subcommand. */
    const char *cmd;
    const char *args[4];
    int nargs;
    /* Owned copies of config-file values (kept until exit). */
    char *file_vals[64];
    int nfile_vals;
} app;

static const char usage[] =
    "usage: sync-server [options] <command> [args]\n"
    "\n"
    "commands:\n"
    "  serve [--demo]                 run the HTTP server (SIGTERM/SIGINT: drain and exit 0)\n"
    "  migrate                        create/upgrade the store and exit\n"
    "  rep-add NAME [EMAIL]           add a rep; prints its id\n"
    "  reps                           list reps (JSON)\n"
    "  territory-add CODE [NAME]      add or rename a territory\n"
    "  territories                    list territories (JSON)\n"
    "  rep-territory REP CODE [--remove]  add/remove a rep's territory\n"
    "  assign CUSTOMER [--owner REP|''] [--territory CODE|'']  reassign a customer\n"
    "  customer-delete CUSTOMER       tombstone a customer (devices get a scope exit)\n"
    "  enroll-code REP [--ttl SECONDS]  issue a single-use enrollment code\n"
    "  devices                        list devices (JSON)\n"
    "  revoke DEVICE                  revoke a device (its next sync gets 401 + wipe)\n"
    "  conflicts [--status open|auto|resolved] [--limit N]  list conflicts (JSON)\n"
    "  resolve ID theirs|yours|value|restore|accept [JSON-VALUE] [--by NAME]  resolve a conflict\n"
    "  import customers|products FILE [--format csv|json]  all-or-nothing import\n"
    "  activity [--from DATE] [--to DATE] [--rep REP] [--territory CODE]\n"
    "                                 completed/abandoned visits per performing rep per\n"
    "                                 business day (--business-tz), dates YYYY-MM-DD (JSON)\n"
    "  pipeline                       quotes and contracts per status per currency (JSON)\n"
    "  check [--json]                 list every stored row that breaks today's schema\n"
    "                                 rules; exit 3 if there is one\n"
    "  export REP                     canonical JSON export of one rep's scope\n"
    "  quote-status QUOTE accepted|rejected  the back office accepts or rejects a sent quote\n"
    "  expire-quotes                  expire every sent quote past its valid_until\n"
    "                                 (serve does this every minute; a rerun changes nothing)\n"
    "\n"
    "options (also accepted as `name = value` lines in --config FILE; flags win):\n"
    "  --config FILE          read options from FILE ('#' starts a comment)\n"
    "  --db PATH              SQLite store, created on first start [fieldsync.db]\n"
    "  --listen ADDR          IPv4/IPv6 address to bind [127.0.0.1]\n"
    "  --port N               TCP port, 0 = any free port [8080]\n"
    "  --threads N            HTTP worker threads [4]\n"
    "  --page-size N          rows per pull when the device asks 0 [500]\n"
    "  --max-page-size N      cap on the page size a device may ask [5000]\n"
    "  --pull-plan P          auto, seq or scope: how pulls find the scope's rows\n"
    "                         (docs/ARCHITECTURE.md; force one to diagnose) [auto]\n"
    "  --max-body BYTES       request body limit on the wire [8388608]\n"
    "  --max-inflated BYTES   request body limit after inflating [33554432]\n"
    "  --max-ahead-ms MS      device stamps further ahead are clamped [300000]\n"
    "  --geofence-m METRES    check-in radius for visit verification [200]\n"
    "  --time-check-ms MS     capture time vs HLC tolerance [600000]\n"
    "  --enroll-ttl SECONDS   default enrollment code lifetime [604800]\n"
    "  --admin-token TOKEN    enables /admin/v1/ (env FIELDSYNC_ADMIN_TOKEN)\n"
    "  --admin-token-file F   read the admin token from a file\n"
    "  --tls-cert FILE        PEM certificate: serve HTTPS (needs --tls-key)\n"
    "  --tls-key FILE         PEM private key\n"
    "  --no-wal               rollback journal instead of WAL\n"
    "  --log FILE|-           JSON-lines request log ('-' = stderr)\n"
    "  --auth-fail-limit N    bad tokens per address per minute before 429 [10]\n"
    "  --drain-timeout S      graceful stop waits at most S seconds [30]\n"
    "  --business-tz TZ       time zone reports count days in, a TZ database name\n"
    "                         such as Europe/London [UTC]\n"
    "  --demo                 (serve) load demo data, print URL, admin token, codes\n"
    "  --help                 this text\n";

static void on_signal(int sig)
{
    got_signal = sig;
}

static char *read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;

    if (!f)
        return NULL;
    for (;;) {
        size_t r;
        if (n + 4096 + 1 > cap) {
            char *p;
            cap = cap ? cap * 2 : 8192;
            if (cap > max + 1)
                cap = max + 1;
            if (n + 1 >= cap) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;

    errno = 0;
    if (!s || !*s || *s == '-')
        return false;
    *out = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0';
}

/* Applies one option; returns 1 if it consumed val, 0 if it is a flag, -1 on
 * error. */
static int set_option(app *a, const char *name, const char *val)
{
    uint64_t u = 0;
    char *end;

#define NEED_VAL                                                        \
    do {                                                                \
        if (!val) {                                                     \
            fprintf(stderr, "sync-server: --%s needs a value\n", name); \
            return -1;                                                  \
        }                                                               \
    } while (0)
#define NUM(field, maxv)                                                        \
    do {                                                                        \
        NEED_VAL;                                                               \
        if (!parse_u64(val, &u) || u > (maxv)) {                                \
            fprintf(stderr, "sync-server: --%s: bad number \"%s\"\n", name, val); \
            return -1;                                                          \
        }                                                                       \
        a->cfg.field = (__typeof__(a->cfg.field))u;                             \
        return 1;                                                               \
    } while (0)

    if (strcmp(name, "demo") == 0) { a->demo = true; return 0; }
    if (strcmp(name, "no-wal") == 0) { a->cfg.wal = false; return 0; }
    if (strcmp(name, "remove") == 0) { a->remove = true; return 0; }
    if (strcmp(name, "db") == 0) { NEED_VAL; a->cfg.db_path = val; return 1; }
    if (strcmp(name, "listen") == 0) { NEED_VAL; a->cfg.bind_addr = val; return 1; }
    if (strcmp(name, "port") == 0) NUM(port, 65535);
    if (strcmp(name, "threads") == 0) NUM(threads, 256);
    if (strcmp(name, "page-size") == 0) NUM(page_size, 50000);
    if (strcmp(name, "max-page-size") == 0) NUM(max_page_size, 50000);
    if (strcmp(name, "pull-plan") == 0) {
        static const char *const plans[] = {"auto", "seq", "scope"};
        NEED_VAL;
        for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++)
            if (strcmp(val, plans[i]) == 0) {
                a->cfg.pull_plan = (fss_pull_plan)i;
                return 1;
            }
        fprintf(stderr, "sync-server: --pull-plan: \"%s\" is not auto, seq or scope\n", val);
        return -1;
    }
    if (strcmp(name, "max-body") == 0) NUM(max_body, (uint64_t)1 << 30);
    if (strcmp(name, "max-inflated") == 0) NUM(max_inflated, (uint64_t)1 << 31);
    if (strcmp(name, "max-ahead-ms") == 0) NUM(max_ahead_ms, UINT64_C(1) << 40);
    if (strcmp(name, "time-check-ms") == 0) NUM(time_check_ms, UINT64_C(1) << 40);
    if (strcmp(name, "enroll-ttl") == 0) NUM(enroll_ttl_s, 90u * 86400u);
    if (strcmp(name, "auth-fail-limit") == 0) NUM(auth_fail_limit, 1000000);
    if (strcmp(name, "drain-timeout") == 0) NUM(drain_timeout_s, 3600);
    if (strcmp(name, "geofence-m") == 0) {
        NEED_VAL;
        a->cfg.geofence_m = strtod(val, &end);
        if (*end || a->cfg.geofence_m <= 0) {
            fprintf(stderr, "sync-server: --geofence-m: bad number \"%s\"\n", val);
            return -1;
        }
        return 1;
    }
    if (strcmp(name, "admin-token") == 0) { NEED_VAL; a->cfg.admin_token = val; return 1; }
    if (strcmp(name, "admin-token-file") == 0) {
        size_t n = 0;
        NEED_VAL;
        free(a->admin_token_buf);
        a->admin_token_buf = read_file(val, 4096, &n);
        if (!a->admin_token_buf) {
            fprintf(stderr, "sync-server: cannot read %s: %s\n", val, strerror(errno));
            return -1;
        }
        while (n && (a->admin_token_buf[n - 1] == '\n' || a->admin_token_buf[n - 1] == '\r'))
            a->admin_token_buf[--n] = '\0';
        a->cfg.admin_token = a->admin_token_buf;
        return 1;
    }
    if (strcmp(name, "tls-cert") == 0) { NEED_VAL; a->tls_cert_path = val; return 1; }
    if (strcmp(name, "tls-key") == 0) { NEED_VAL; a->tls_key_path = val; return 1; }
    if (strcmp(name, "log") == 0) { NEED_VAL; a->log_path = val; return 1; }
    if (strcmp(name, "config") == 0) { NEED_VAL; a->config_file = val; return 1; }
    if (strcmp(name, "status") == 0) { NEED_VAL; a->status = val; return 1; }
    if (strcmp(name, "by") == 0) { NEED_VAL; a->by = val; return 1; }
    if (strcmp(name, "format") == 0) { NEED_VAL; a->format = val; return 1; }
    if (strcmp(name, "owner") == 0) { NEED_VAL; a->owner = val; return 1; }
    if (strcmp(name, "territory") == 0) { NEED_VAL; a->territory = val; return 1; }
    if (strcmp(name, "business-tz") == 0) { NEED_VAL; a->cfg.business_tz = val; return 1; }
    if (strcmp(name, "from") == 0) { NEED_VAL; a->from = val; return 1; }
    if (strcmp(name, "to") == 0) { NEED_VAL; a->to = val; return 1; }
    if (strcmp(name, "rep") == 0) { NEED_VAL; a->rep = val; return 1; }
    if (strcmp(name, "json") == 0) { a->json = true; return 0; }
    if (strcmp(name, "limit") == 0) {
        NEED_VAL;
        if (!parse_u64(val, &u) || u > 100000) return -1;
        a->limit = (uint32_t)u;
        return 1;
    }
    if (strcmp(name, "ttl") == 0) {
        NEED_VAL;
        if (!parse_u64(val, &u) || u == 0 || u > 90u * 86400u) return -1;
        a->ttl = (uint32_t)u;
        return 1;
    }
    fprintf(stderr, "sync-server: unknown option --%s (see --help)\n", name);
    return -1;
#undef NUM
#undef NEED_VAL
}

static int load_config_file(app *a, const char *path)
{
    size_t len = 0;
    char *text = read_file(path, 1 << 20, &len), *line, *save = NULL;
    int lineno = 0, rc = 0;

    if (!text) {
        fprintf(stderr, "sync-server: cannot read config %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq, *k, *v, *e;
        lineno++;
        if ((e = strchr(line, '#')))
            *e = '\0';
        k = line;
        while (*k == ' ' || *k == '\t') k++;
        if (!*k || *k == '\r')
            continue;
        eq = strchr(k, '=');
        v = eq ? eq + 1 : NULL;
        if (eq) {
            e = eq;
            while (e > k && (e[-1] == ' ' || e[-1] == '\t')) e--;
            *e = '\0';
            while (*v == ' ' || *v == '\t') v++;
            e = v + strlen(v);
            while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
            *e = '\0';
        } else {
            e = k + strlen(k);
            while (e > k && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
            *e = '\0';
        }
        if (v) {
            if (a->nfile_vals == 64 || !(v = strdup(v))) {
                rc = -1;
                break;
            }
            a->file_vals[a->nfile_vals++] = v;
        }
        if (set_option(a, k, v) < 0) {
            fprintf(stderr, "sync-server: %s:%d: bad line\n", path, lineno);
            rc = -1;
            break;
        }
    }
    free(text);
    return rc;
}

static int parse_args(app *a, int argc, char **argv)
{
    int i, r;

    /* The config file first, so flags override it. */
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            a->config_file = argv[i + 1];
    if (a->config_file) {
        const char *cf = a->config_file;
        if (load_config_file(a, cf) < 0)
            return -1;
    }
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strncmp(arg, "--", 2) == 0) {
            char name[64];
            const char *eq = strchr(arg, '=');
            const char *val;
            size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
            if (n >= sizeof name) {
                fprintf(stderr, "sync-server: bad option %s\n", arg);
                return -1;
            }
            memcpy(name, arg + 2, n);
            name[n] = '\0';
            val = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
            r = set_option(a, name, val);
            if (r < 0)
                return -1;
            if (r == 1 && !eq)
                i++;
            continue;
        }
        if (!a->cmd)
            a->cmd = arg;
        else if (a->nargs < 4)
            a->args[a->nargs++] = arg;
        else {
            fprintf(stderr, "sync-server: too many arguments\n");
            return -1;
        }
    }
    if (!a->cfg.admin_token && getenv("FIELDSYNC_ADMIN_TOKEN"))
        a->cfg.admin_token = getenv("FIELDSYNC_ADMIN_TOKEN");
    return 0;
}

static int fail(const char *what, const fs_error *err, fss_status st)
{
    fprintf(stderr, "sync-server: %s: %s\n", what,
            err->text[0] ? err->text : fss_strerror(st));
    return st == FSS_ENOTFOUND || st == FSS_EINVAL || st == FSS_EIMPORT ? 2 : 1;
}

static bool need_id(const char *s, fs_id *id, const char *what)
{
    if (!s || fs_id_parse(s, strlen(s), id, NULL) != FS_OK) {
        fprintf(stderr, "sync-server: %s must be a UUID\n", what);
        return false;
    }
    return true;
}

static int print_buf(fss_buf *b)
{
    if (b->data)
        fwrite(b->data, 1, b->len, stdout);
    fss_buf_free(b);
    return 0;
}

#define EXPIRE_EVERY_MS 60000u

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int serve(app *a, fss_server *s)
{
    uint64_t last_expiry = 0;
    fs_error err = {0};
    fss_buf summary = {0}, text = {0};
    fss_status st;
    struct sigaction sa;
    char url[128];
    const char *host = a->cfg.bind_addr;
    bool tls = a->cfg.tls_cert_pem != NULL;

    if (a->demo && (st = fss_demo_load(s, &summary, &text, &err)) != FSS_OK) {
        fss_buf_free(&summary);
        fss_buf_free(&text);
        return fail("demo data", &err, st);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((st = fss_server_start(s, &err)) != FSS_OK) {
        fss_buf_free(&summary);
        fss_buf_free(&text);
        return fail("start", &err, st);
    }
    snprintf(url, sizeof url, "%s://%s%s%s:%u", tls ? "https" : "http",
             strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
             (unsigned)fss_server_port(s));
    printf("fieldsync sync server listening on %s\n", url);
    printf("  store: %s (SQLite%s)\n", a->cfg.db_path, a->cfg.wal ? ", WAL" : "");
    if (a->cfg.admin_token)
        printf("  admin API: %s/admin/v1/  (Authorization: Bearer %s)\n", url,
               a->cfg.admin_token);
    printf("  health: %s/healthz  metrics: %s/metrics\n", url, url);
    if (a->demo) {
        printf("  demo data loaded; enrollment codes (single use, valid %u days):\n",
               a->cfg.enroll_ttl_s / 86400);
        printf("    %-14s %-8s %s\n", "rep", "terr.", "code");
        printf("%s", text.data ? text.data : "");
        printf("  enroll a field client with one of the codes against %s\n", url);
        printf("  demo json: %s", summary.data ? summary.data : "{}\n");
        printf("  try: curl -H 'Authorization: Bearer %s' %s/admin/v1/reps\n",
               a->cfg.admin_token, url);
    }
    printf("  stop with Ctrl-C or SIGTERM\n");
    fflush(stdout);
    fss_buf_free(&summary);
    fss_buf_free(&text);
    while (!got_signal) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        uint64_t now = wall_ms();
        nanosleep(&ts, NULL);
        /* The server-owned quote expiry (fss_quotes_expire), once a minute;
         * a failure is logged and retried at the next tick. */
        if (now - last_expiry >= EXPIRE_EVERY_MS) {
            int64_t n = 0;
            fs_error xerr = {0};
            last_expiry = now;
            if (fss_quotes_expire(s, (int64_t)now, &n, &xerr) != FSS_OK)
                fprintf(stderr, "sync-server: expire quotes: %s\n", xerr.text);
        }
    }
    fprintf(stderr, "sync-server: signal %d, draining\n", (int)got_signal);
    fss_server_stop(s);
    return 0;
}

/* `check`: every violation on stdout, a count on stderr; exit 0 when the
 * store is clean, 3 when a row breaks a rule (1/2: the check itself failed). */
static int check(app *a, fss_server *s)
{
    fss_buf out = {0};
    fs_error err = {0};
    size_t bad = 0;
    fss_status st = fss_admin_check(s, a->json, &out, &bad, &err);

    if (st != FSS_OK) {
        fss_buf_free(&out);
        return fail("check", &err, st);
    }
    print_buf(&out);
    fprintf(stderr, "sync-server: check: %zu violation%s in %s\n", bad,
            bad == 1 ? "" : "s", a->cfg.db_path);
    return bad ? 3 : 0;
}

int main(int argc, char **argv)
{
    app a;
    fss_server *s = NULL;
    fs_error err = {0};
    fss_buf out = {0};
    fss_status st;
    fs_id id;
    int rc = 0, i;

    memset(&a, 0, sizeof a);
    fss_config_default(&a.cfg);
    if (parse_args(&a, argc, argv) < 0) {
        rc = 2;
        goto done;
    }
    if (!a.cmd) {
        fputs(usage, stderr);
        rc = 2;
        goto done;
    }
    if (strcmp(a.cmd, "serve") == 0) {
        if (a.tls_cert_path || a.tls_key_path) {
            if (!a.tls_cert_path || !a.tls_key_path) {
                fprintf(stderr, "sync-server: --tls-cert and --tls-key go together\n");
                rc = 2;
                goto done;
            }
            a.tls_cert = read_file(a.tls_cert_path, 1 << 20, NULL);
            a.tls_key = read_file(a.tls_key_path, 1 << 20, NULL);
            if (!a.tls_cert || !a.tls_key) {
                fprintf(stderr, "sync-server: cannot read TLS certificate/key\n");
                rc = 1;
                goto done;
            }
            a.cfg.tls_cert_pem = a.tls_cert;
            a.cfg.tls_key_pem = a.tls_key;
        }
        if (a.demo && !a.cfg.admin_token) {
            /* A demo needs the admin API; make a throwaway token. */
            unsigned char r[16];
            FILE *ur = fopen("/dev/urandom", "rb");
            a.admin_token_buf = malloc(40);
            if (!ur || !a.admin_token_buf || fread(r, 1, sizeof r, ur) != sizeof r) {
                if (ur) fclose(ur);
                fprintf(stderr, "sync-server: cannot make an admin token\n");
                rc = 1;
                goto done;
            }
            fclose(ur);
            strcpy(a.admin_token_buf, "demo-");
            for (i = 0; i < 16; i++)
                sprintf(a.admin_token_buf + 5 + 2 * i, "%02x", r[i]);
            a.cfg.admin_token = a.admin_token_buf;
        }
    }
    if (a.log_path) {
        a.log = strcmp(a.log_path, "-") == 0 ? stderr : fopen(a.log_path, "a");
        if (!a.log) {
            fprintf(stderr, "sync-server: cannot open log %s\n", a.log_path);
            rc = 1;
            goto done;
        }
        a.cfg.log = a.log;
    }
    if ((st = fss_server_open(&a.cfg, &s, &err)) != FSS_OK) {
        rc = fail("open store", &err, st);
        goto done;
    }
    if (strcmp(a.cmd, "serve") == 0) {
        rc = serve(&a, s);
    } else if (strcmp(a.cmd, "migrate") == 0) {
        printf("store %s is up to date\n", a.cfg.db_path);
    } else if (strcmp(a.cmd, "rep-add") == 0 && a.nargs >= 1) {
        if ((st = fss_admin_rep_add(s, a.args[0], a.nargs > 1 ? a.args[1] : NULL, &id,
                                    &err)) != FSS_OK)
            rc = fail("rep-add", &err, st);
        else {
            char t[FS_ID_STRLEN + 1];
            fs_id_format(&id, t);
            printf("%s\n", t);
        }
    } else if (strcmp(a.cmd, "reps") == 0) {
        rc = (st = fss_admin_reps_list(s, &out, &err)) ? fail("reps", &err, st) : print_buf(&out);
    } else if (strcmp(a.cmd, "territory-add") == 0 && a.nargs >= 1) {
        if ((st = fss_admin_territory_add(s, a.args[0], a.nargs > 1 ? a.args[1] : NULL,
                                          &err)) != FSS_OK)
            rc = fail("territory-add", &err, st);
    } else if (strcmp(a.cmd, "territories") == 0) {
        rc = (st = fss_admin_territories_list(s, &out, &err)) ? fail("territories", &err, st)
                                                              : print_buf(&out);
    } else if (strcmp(a.cmd, "rep-territory") == 0 && a.nargs >= 2) {
        if (!need_id(a.args[0], &id, "REP"))
            rc = 2;
        else if ((st = fss_admin_rep_territory(s, &id, a.args[1], !a.remove, &err)) != FSS_OK)
            rc = fail("rep-territory", &err, st);
    } else if (strcmp(a.cmd, "assign") == 0 && a.nargs >= 1) {
        if (!need_id(a.args[0], &id, "CUSTOMER"))
            rc = 2;
        else if ((st = fss_admin_customer_assign(s, &id, a.owner, a.territory, &err)) != FSS_OK)
            rc = fail("assign", &err, st);
    } else if (strcmp(a.cmd, "customer-delete") == 0 && a.nargs >= 1) {
        if (!need_id(a.args[0], &id, "CUSTOMER"))
            rc = 2;
        else if ((st = fss_admin_customer_delete(s, &id, &err)) != FSS_OK)
            rc = fail("customer-delete", &err, st);
    } else if (strcmp(a.cmd, "enroll-code") == 0 && a.nargs >= 1) {
        char code[FSS_CODE_LEN + 1];
        if (!need_id(a.args[0], &id, "REP"))
            rc = 2;
        else if ((st = fss_admin_enroll_code(s, &id, a.ttl, code, &err)) != FSS_OK)
            rc = fail("enroll-code", &err, st);
        else
            printf("%s\n", code);
    } else if (strcmp(a.cmd, "devices") == 0) {
        rc = (st = fss_admin_devices_list(s, &out, &err)) ? fail("devices", &err, st)
                                                          : print_buf(&out);
    } else if (strcmp(a.cmd, "revoke") == 0 && a.nargs >= 1) {
        if (!need_id(a.args[0], &id, "DEVICE"))
            rc = 2;
        else if ((st = fss_admin_device_revoke(s, &id, &err)) != FSS_OK)
            rc = fail("revoke", &err, st);
    } else if (strcmp(a.cmd, "conflicts") == 0) {
        rc = (st = fss_admin_conflicts_list(s, a.status, a.limit, &out, &err))
                 ? fail("conflicts", &err, st) : print_buf(&out);
    } else if (strcmp(a.cmd, "resolve") == 0 && a.nargs >= 2) {
        uint64_t cid = 0;
        if (!parse_u64(a.args[0], &cid) || cid == 0 || cid > INT64_MAX) {
            fprintf(stderr, "sync-server: conflict id must be a positive integer\n");
            rc = 2;
        } else if ((st = fss_admin_conflict_resolve(s, (int64_t)cid, a.args[1],
                                                    a.nargs > 2 ? a.args[2] : NULL,
                                                    a.by ? a.by : "cli", &err)) != FSS_OK)
            rc = fail("resolve", &err, st);
    } else if (strcmp(a.cmd, "import") == 0 && a.nargs >= 2) {
        const char *ent = strcmp(a.args[0], "customers") == 0  ? "customer"
                          : strcmp(a.args[0], "products") == 0 ? "product" : a.args[0];
        const char *fmt = a.format;
        size_t len = 0;
        char *data = read_file(a.args[1], a.cfg.max_body, &len);
        if (!fmt) {
            size_t n = strlen(a.args[1]);
            fmt = n > 5 && strcmp(a.args[1] + n - 5, ".json") == 0 ? "json" : "csv";
        }
        if (!data) {
            fprintf(stderr, "sync-server: cannot read %s: %s\n", a.args[1], strerror(errno));
            rc = 1;
        } else {
            st = fss_admin_import(s, ent, fmt, data, len, &out, &err);
            if (st == FSS_OK || st == FSS_EIMPORT)
                print_buf(&out);
            if (st != FSS_OK)
                rc = fail("import", &err, st);
        }
        free(data);
    } else if (strcmp(a.cmd, "activity") == 0) {
        fss_activity_query q = {a.from, a.to, a.rep, a.territory};
        rc = (st = fss_admin_activity(s, &q, &out, &err)) ? fail("activity", &err, st)
                                                          : print_buf(&out);
    } else if (strcmp(a.cmd, "check") == 0) {
        rc = check(&a, s);
    } else if (strcmp(a.cmd, "pipeline") == 0) {
        rc = (st = fss_admin_pipeline(s, &out, &err)) ? fail("pipeline", &err, st)
                                                      : print_buf(&out);
    } else if (strcmp(a.cmd, "quote-status") == 0 && a.nargs >= 2) {
        if (!need_id(a.args[0], &id, "QUOTE"))
            rc = 2;
        else if ((st = fss_admin_quote_status(s, &id, a.args[1], &err)) != FSS_OK)
            rc = fail("quote-status", &err, st);
    } else if (strcmp(a.cmd, "expire-quotes") == 0) {
        int64_t n = 0;
        if ((st = fss_quotes_expire(s, (int64_t)wall_ms(), &n, &err)) != FSS_OK)
            rc = fail("expire-quotes", &err, st);
        else
            printf("%lld quote(s) expired\n", (long long)n);
    } else if (strcmp(a.cmd, "export") == 0 && a.nargs >= 1) {
        if (!need_id(a.args[0], &id, "REP"))
            rc = 2;
        else
            rc = (st = fss_admin_export(s, &id, &out, &err)) ? fail("export", &err, st)
                                                             : print_buf(&out);
    } else {
        fprintf(stderr, "sync-server: unknown command or missing arguments: %s "
                        "(see --help)\n", a.cmd);
        rc = 2;
    }
done:
    fss_buf_free(&out);
    fss_server_close(s);
    if (a.log && a.log != stderr)
        fclose(a.log);
    free(a.admin_token_buf);
    free(a.tls_cert);
    free(a.tls_key);
    for (i = 0; i < a.nfile_vals; i++)
        free(a.file_vals[i]);
    return rc;
}
