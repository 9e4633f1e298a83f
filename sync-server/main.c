/*
 * main.c - the `sync-server` executable: option and config-file parsing,
 * subcommands, signal handling. Everything else is libfsserver: `serve`
 * runs the HTTP server, and every operator subcommand calls the same
 * fss_admin_* function the admin API calls.
 */
#include "cmd_users.h"
#include "fs_proto.h"
#include "cmd_owner.h"
#include "fs_server.h"
#include "cmd_value.h"
#include "cmd_ticket.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FSS_ACTOR_TERR_ARGS 64

/* Set by the signal handler, read by the serve loop. (The other global,
 * json_mode below, is set once from the options before any output.) */
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
    const char *role;            /* user-add */
    const char *territories[FSS_ACTOR_TERR_ARGS + 1]; /* every --territory */
    int nterritories;
    bool enable;                 /* user-disable --enable */
    bool json;                   /* --json: one JSON object on stdout */
    bool json_value;             /* resolve: VALUE is a JSON literal */
    bool token_generated;        /* the admin token was made here (demo) */
    const char *ttl_text;        /* enroll-code --ttl, a duration */
    cmd_ticket_args ticket;      /* ticket-update / tickets options */
    uint32_t limit;
    bool remove;
    bool drain;                  /* offboard --drain */
    bool dry_run, now;           /* reclaim --dry-run / --now */
    FILE *log;
    /* Positional arguments after the subcommand. */
    const char *cmd;
    const char *args[8];
    int nargs;
    /* Owned copies of config-file values (kept until exit). */
    char *file_vals[64];
    int nfile_vals;
} app;

/* What messages call the store: the SQLite path, or "PostgreSQL" (a
 * connection string may carry a password, so it is never echoed). */
static const char *store_name(const app *a)
{
    return a->cfg.store ? "PostgreSQL" : a->cfg.db_path;
}

static const char usage[] =
    "usage: sync-server [options] <command> [args]\n"
    "\n"
    "commands:\n"
    "  serve [--demo]                 run the HTTP server (SIGTERM/SIGINT: drain and exit 0)\n"
    "  migrate                        create/upgrade the store and exit\n"
    "  copy-store --from STORE --to STORE   (SQLite file or PostgreSQL)\n"
    "                                 copy a SQLite store into a new PostgreSQL one,\n"
    "                                 verified rep by rep\n"
    "  rep-add NAME [EMAIL]           add a rep; prints its id\n"
    "  reps                           list reps (JSON)\n"
    "  territory-add CODE [NAME]      add or rename a territory\n"
    "  territories                    list territories (JSON)\n"
    "  rep-territory REP CODE [--remove]  add/remove a rep's territory\n"
    "  assign CUSTOMER [--owner REP|''] [--territory CODE|'']  reassign a customer\n"
    "                                 (at least one of the two)\n"
    "  customer-delete CUSTOMER       tombstone a customer (devices get a scope exit)\n"
    "  enroll-code REP [--ttl DURATION]  issue a single-use enrollment code; prints it\n"
    "                                 (DURATION: 30m, 12h, 1d, 2w or seconds)\n"
    "  devices                        list devices (JSON)\n"
    "  revoke DEVICE                  revoke a device (its next sync gets 401 + wipe)\n"
    "  conflicts [--status open|auto|resolved] [--limit N]  list conflicts (JSON)\n"
    "  resolve ID theirs|yours|value|restore|accept [VALUE] [--by NAME] [--json-value]\n"
    "                                 resolve a conflict; VALUE is plain text, or a\n"
    "                                 JSON literal (42, true, null) with --json-value\n"
    "  import customers|products|purchases FILE [--format csv|json]  all-or-nothing\n"
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
    "  offboard REP --to REP2|pool [--drain]  a rep leaves, in one step: territories\n"
    "                                 removed, codes voided, devices revoked (--drain:\n"
    "                                 each pushes its outbox once first), the rep\n"
    "                                 deactivated, customers to REP2 or the pool\n"
    "  reactivate REP                 an offboarded rep may enroll devices again\n"
    "  offboards                      list offboardings and changes drained (JSON)\n"
    "  reclaim --dry-run|--now        return customers nobody followed up to the public\n"
    "                                 pool, warning owners first (serve runs it hourly)\n"
    "  pool                           list the public pool (JSON)\n"
    "  claims [--limit N]             list claims on pool customers and how they were\n"
    "                                 judged (JSON)\n"
    "  duplicates                     likely duplicate customers with reasons, score (JSON)\n"
    "  merge SURVIVOR DUP...          merge duplicates into SURVIVOR (up to 7 at once)\n"
    "  merges [CUSTOMER]              list merges (of one survivor) (JSON)\n"
    "  user-add NAME --role admin|manager|viewer [--territory CODE ...]\n"
    "                                 add a back-office account (a manager or viewer\n"
    "                                 sees only its territories); password asked twice\n"
    "                                 (no echo), or two lines on standard input\n"
    "  users                          list back-office accounts (JSON)\n"
    "  user-disable NAME [--enable]   disable an account (ends its sessions) or enable it\n"
    "  passwd NAME                    set an account's password (ends its sessions)\n"
    "\n";

/* Split in two: ISO C caps a string literal's length. */
static const char usage_more[] =
    "REP is a rep's id, short id (last 8+ hex digits), name or email; CUSTOMER an\n"
    "id, short id or name; DEVICE and QUOTE an id or short id. A reference that\n"
    "matches several rows lists them and changes nothing. Every command that\n"
    "changes something confirms it in one line (--json: one JSON object).\n"
    "\n"
    "options (also accepted as `name = value` lines in --config FILE; flags win):\n"
    "  --config FILE          read options from FILE ('#' starts a comment)\n"
    "  --db PATH              SQLite store, created on first start [fieldsync.db]\n"
    "  --store CONNINFO       PostgreSQL store instead: a libpq connection string\n"
    "                         or postgresql:// URI (PG* environment honoured)\n"
    "  --listen ADDR          IPv4/IPv6 address to bind [127.0.0.1]\n"
    "  --port N               TCP port, 0 = any free port [8080]\n"
    "  --threads N            HTTP worker threads [4]\n"
    "  --page-size N          rows per pull when the device asks 0 [500]\n"
    "  --max-page-size N      cap on the page size a device may ask [5000]\n"
    "  --deflate-level N      zlib level (1-9) of compressed sync answers [1]\n"
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
    "  --session-ttl SECONDS  a console login lasts this long [28800]\n"
    "  --login-fail-limit N   failed logins per account per 15 minutes before 429 [5]\n"
    "  --drain-timeout S      graceful stop waits at most S seconds [30]\n"
    "  --business-tz TZ       time zone reports count days in, a TZ database name\n"
    "                         such as Europe/London [UTC]\n"
    "  --map-tiles URL        the console's visit map tiles, http(s)://HOST/...{z}/{x}/{y}...\n"
    "                         [none: points on a plain background]\n"
    "  --demo                 (serve) load demo data, print URL, admin token, codes\n"
    "  --json                 machine-readable confirmation (and check output)\n"
    "  --version              print the version and protocol version\n"
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
    if (strcmp(name, "drain") == 0) { a->drain = true; return 0; }
    if (strcmp(name, "dry-run") == 0) { a->dry_run = true; return 0; }
    if (strcmp(name, "now") == 0) { a->now = true; return 0; }
    if (strcmp(name, "db") == 0) { NEED_VAL; a->cfg.db_path = val; return 1; }
    if (strcmp(name, "store") == 0) { NEED_VAL; a->cfg.store = val; return 1; }
    if (strcmp(name, "listen") == 0) { NEED_VAL; a->cfg.bind_addr = val; return 1; }
    if (strcmp(name, "port") == 0) NUM(port, 65535);
    if (strcmp(name, "threads") == 0) NUM(threads, 256);
    if (strcmp(name, "page-size") == 0) NUM(page_size, 50000);
    if (strcmp(name, "max-page-size") == 0) NUM(max_page_size, 50000);
    if (strcmp(name, "deflate-level") == 0) {
        NEED_VAL;
        if (!parse_u64(val, &u) || u < 1 || u > 9) {
            fprintf(stderr, "sync-server: --deflate-level: \"%s\" is not 1-9\n", val);
            return -1;
        }
        a->cfg.deflate_level = (unsigned)u;
        return 1;
    }
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
    if (strcmp(name, "session-ttl") == 0) NUM(session_ttl_s, 30u * 86400u);
    if (strcmp(name, "login-fail-limit") == 0) NUM(login_fail_limit, 1000000);
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
    if (strcmp(name, "role") == 0) { NEED_VAL; a->role = val; return 1; }
    if (strcmp(name, "enable") == 0) { a->enable = true; return 0; }
    if (strcmp(name, "territory") == 0) {
        NEED_VAL;
        /* assign and activity take one (the last); user-add every one. */
        a->territory = val;
        if (a->nterritories == FSS_ACTOR_TERR_ARGS) {
            fprintf(stderr, "sync-server: at most %d --territory\n", FSS_ACTOR_TERR_ARGS);
            return -1;
        }
        a->territories[a->nterritories++] = val;
        return 1;
    }
    if (strcmp(name, "business-tz") == 0) { NEED_VAL; a->cfg.business_tz = val; return 1; }
    if (strcmp(name, "map-tiles") == 0) { NEED_VAL; a->cfg.map_tiles = val; return 1; }
    if (strcmp(name, "from") == 0) { NEED_VAL; a->from = val; return 1; }
    if (strcmp(name, "to") == 0) { NEED_VAL; a->to = val; return 1; }
    if (strcmp(name, "rep") == 0) { NEED_VAL; a->rep = val; return 1; }
    if (strcmp(name, "json") == 0) { a->json = true; return 0; }
    if (strcmp(name, "json-value") == 0) { a->json_value = true; return 0; }
    if (strcmp(name, "limit") == 0) {
        NEED_VAL;
        if (!parse_u64(val, &u) || u > 100000) {
            fprintf(stderr, "sync-server: --limit: bad number \"%s\"\n", val);
            return -1;
        }
        a->limit = (uint32_t)u;
        return 1;
    }
    if (strcmp(name, "ttl") == 0) { NEED_VAL; a->ttl_text = val; return 1; }
    {
        int vr = cmd_value_option(&a->cfg, name, val); /* value and churn */
        if (vr != -2)
            return vr;
        vr = cmd_ticket_option(&a->cfg, &a->ticket, name, val); /* tickets */
        if (vr != -2)
            return vr;
        vr = cmd_owner_option(&a->cfg, name, val); /* the public pool */
        if (vr != -2)
            return vr;
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
            fputs(cmd_value_usage, stdout);
            fputs(cmd_ticket_usage, stdout);
            fputs(usage_more, stdout);
            fputs(cmd_value_options, stdout);
            fputs(cmd_ticket_options, stdout);
            fputs(cmd_owner_options, stdout);
            exit(0);
        }
        if (strcmp(arg, "--version") == 0) {
            printf("sync-server (fieldsync) %s, sync protocol %u\n", FS_VERSION,
                   (unsigned)FS_PROTO_VERSION);
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
        else if (a->nargs < 8)
            a->args[a->nargs++] = arg;
        else {
            fprintf(stderr, "sync-server: %s: too many arguments (see --help)\n", a->cmd);
            return -1;
        }
    }
    if (!a->cfg.admin_token && getenv("FIELDSYNC_ADMIN_TOKEN"))
        a->cfg.admin_token = getenv("FIELDSYNC_ADMIN_TOKEN");
    return 0;
}

/* With --json a failure is also one JSON object on stdout, so a script
 * reading stdout always gets an answer; the message stays on stderr. */
static bool json_mode;

static void json_str(FILE *f, const char *v)
{
    if (!v) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static int fail(const char *what, const fs_error *err, fss_status st)
{
    const char *msg = err->text[0] ? err->text : fss_strerror(st);
    int rc = st == FSS_ENOTFOUND || st == FSS_EINVAL || st == FSS_EIMPORT ? 2 : 1;

    fprintf(stderr, "sync-server: %s: %s\n", what, msg);
    if (json_mode) {
        printf("{\"ok\":false,\"error\":{\"code\":");
        json_str(stdout, st == FSS_ENOTFOUND ? "not_found" : st == FSS_EINVAL ? "invalid"
                         : st == FSS_EEXISTS ? "exists" : st == FSS_EIMPORT ? "import"
                         : "internal");
        printf(",\"message\":");
        json_str(stdout, msg);
        printf("}}\n");
    }
    return rc;
}

/* One subcommand's shape: how many positional arguments it takes, and the
 * usage line printed when it gets fewer or more. */
typedef struct command {
    const char *name;
    int min_args, max_args;
    const char *usage;
} command;

static const command commands[] = {
    {"serve", 0, 0, "serve [--demo]"},
    {"migrate", 0, 0, "migrate"},
    {"rep-add", 1, 2, "rep-add NAME [EMAIL]"},
    {"reps", 0, 0, "reps"},
    {"territory-add", 1, 2, "territory-add CODE [NAME]"},
    {"territories", 0, 0, "territories"},
    {"rep-territory", 2, 2, "rep-territory REP CODE [--remove]"},
    {"assign", 1, 1, "assign CUSTOMER [--owner REP|''] [--territory CODE|'']"},
    {"customer-delete", 1, 1, "customer-delete CUSTOMER"},
    {"enroll-code", 1, 1, "enroll-code REP [--ttl DURATION]"},
    {"devices", 0, 0, "devices"},
    {"revoke", 1, 1, "revoke DEVICE"},
    {"conflicts", 0, 0, "conflicts [--status open|auto|resolved] [--limit N]"},
    {"resolve", 2, 3, "resolve ID theirs|yours|value|restore|accept [VALUE] [--by NAME] "
                      "[--json-value]"},
    {"import", 2, 2, "import customers|products|purchases FILE [--format csv|json]"},
    {"activity", 0, 0, "activity [--from DATE] [--to DATE] [--rep REP] [--territory CODE]"},
    {"pipeline", 0, 0, "pipeline"},
    {"check", 0, 0, "check [--json]"},
    {"copy-store", 0, 0, "copy-store --from STORE --to STORE"},
    {"export", 1, 1, "export REP"},
    {"quote-status", 2, 2, "quote-status QUOTE accepted|rejected"},
    {"expire-quotes", 0, 0, "expire-quotes"},
    {"analyze", 0, 0, "analyze [--json]"},
    {"customer-lost", 2, 2, "customer-lost CUSTOMER REASON  (REASON '' = won back)"},
    {"at-risk", 0, 0, "at-risk [--territory CODE]"},
    {"lost", 0, 0, "lost [--territory CODE]"},
    {"value-report", 0, 0, "value-report [--territory CODE]"},
    {"movements", 0, 0, "movements [--territory CODE]"},
    {"offboard", 1, 1, "offboard REP --to REP2|pool [--drain]"},
    {"reactivate", 1, 1, "reactivate REP"},
    {"offboards", 0, 0, "offboards"},
    {"reclaim", 0, 0, "reclaim --dry-run|--now"},
    {"pool", 0, 0, "pool"},
    {"claims", 0, 0, "claims [--limit N]"},
    {"duplicates", 0, 0, "duplicates"},
    {"merge", 2, 8, "merge SURVIVOR DUP... [--by NAME]"},
    {"merges", 0, 1, "merges [CUSTOMER]"},
    {"user-add", 1, 1, "user-add NAME --role admin|manager|viewer [--territory CODE ...]"},
    {"users", 0, 0, "users"},
    {"user-disable", 1, 1, "user-disable NAME [--enable]"},
    {"passwd", 1, 1, "passwd NAME"},
    {"ticket-update", 1, 1, "ticket-update TICKET [--status S] [--assignee NAME] "
                            "[--resolution TEXT]"},
    {"tickets", 0, 0, "tickets [--territory CODE] [--all]"},
    {"satisfaction", 0, 0, "satisfaction [--territory CODE]"},
};

static const char *usage_of(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].usage;
    return name;
}

static int usage_error(const char *usage_line, const char *why)
{
    fs_error err = {0};
    snprintf(err.text, sizeof err.text, "%s; usage: sync-server %s", why, usage_line);
    fprintf(stderr, "sync-server: %s\nusage: sync-server %s\n", why, usage_line);
    if (json_mode) {
        printf("{\"ok\":false,\"error\":{\"code\":\"usage\",\"message\":");
        json_str(stdout, err.text);
        printf("}}\n");
    }
    return 2;
}

/* Resolves a person's reference to a row (fss_admin_find); on ambiguity
 * the candidates go to stderr and nothing is done. */
static int find_ref(fss_server *s, fss_ref_kind kind, const char *ref, const char *what,
                    char id[FS_ID_STRLEN + 1], char *label, size_t label_cap)
{
    fss_buf cand = {0};
    fs_error err = {0};
    fss_status st = fss_admin_find(s, kind, ref, id, label, label_cap, &cand, &err);
    int rc = 0;

    if (st != FSS_OK) {
        rc = fail(what, &err, st);
        if (cand.data)
            fprintf(stderr, "%s", cand.data);
    }
    fss_buf_free(&cand);
    return rc;
}

static int parse_ref_id(const char *text, fs_id *id)
{
    return fs_id_parse(text, strlen(text), id, NULL) == FS_OK ? 0 : 1;
}

/* Booleans for confirm(): these two objects (by address, not by text, so
 * a territory named "true" stays a string) are written as JSON literals. */
static const char json_true[] = "true", json_false[] = "false";

/* The confirmation of a change: one line for people, or with --json one
 * object {"ok":true,"command":..., then the given key/value pairs: strings,
 * or json_true / json_false}. */
static void confirm(const char *cmd, const char *line, const char *const *kv)
{
    if (!json_mode) {
        printf("%s\n", line);
        return;
    }
    printf("{\"ok\":true,\"command\":");
    json_str(stdout, cmd);
    for (; kv && kv[0]; kv += 2) {
        printf(",");
        json_str(stdout, kv[0]);
        printf(":");
        if (kv[1] == json_true || kv[1] == json_false)
            printf("%s", kv[1]);
        else
            json_str(stdout, kv[1]);
    }
    printf(",\"message\":");
    json_str(stdout, line);
    printf("}\n");
}

static int print_buf(fss_buf *b)
{
    if (b->data)
        fwrite(b->data, 1, b->len, stdout);
    fss_buf_free(b);
    return 0;
}

/* "1 day", "12 hours", "90 seconds": a ttl said back to the operator. */
static void say_duration(uint64_t s, char *out, size_t cap)
{
    static const struct { uint64_t secs; const char *unit; } units[] = {
        {7 * 86400, "week"}, {86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (s % units[i].secs == 0 && s >= units[i].secs) {
            uint64_t n = s / units[i].secs;
            snprintf(out, cap, "%llu %s%s", (unsigned long long)n, units[i].unit,
                     n == 1 ? "" : "s");
            return;
        }
    snprintf(out, cap, "%llu seconds", (unsigned long long)s);
}

#define EXPIRE_EVERY_MS 60000u
#define FINISH_EVERY_MS 600000u /* unfinished offboardings looked for */

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void finish_offboards(fss_server *s)
{
    int64_t moved = 0;
    fs_error err = {0};

    if (fss_offboards_finish(s, &moved, &err) != FSS_OK)
        fprintf(stderr, "sync-server: finishing an offboarding: %s\n", err.text);
    else if (moved)
        fprintf(stderr, "sync-server: finished an offboarding cut short: %lld "
                "customer(s) moved\n", (long long)moved);
}

static int serve(app *a, fss_server *s)
{
    uint64_t last_expiry = 0, last_analyze = 0, last_reclaim = 0, last_finish = 0;
    fs_error err = {0};
    fss_buf summary = {0}, text = {0};
    fss_status st;
    struct sigaction sa;
    char url[128];
    const char *host = a->cfg.bind_addr;
    bool tls = a->cfg.tls_cert_pem != NULL;
    char demo_pw[40] = "";

    if (a->demo && (st = fss_demo_load(s, &summary, &text, &err)) != FSS_OK) {
        fss_buf_free(&summary);
        fss_buf_free(&text);
        return fail("demo data", &err, st);
    }
    if (a->demo && cmd_demo_admin(s, demo_pw, sizeof demo_pw) != 0) {
        fss_buf_free(&summary);
        fss_buf_free(&text);
        return 1;
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
    if (a->cfg.store)
        printf("  store: PostgreSQL (--store)\n");
    else
        printf("  store: %s (SQLite%s)\n", a->cfg.db_path, a->cfg.wal ? ", WAL" : "");
    /* A token the operator supplied (flag, file, environment, config) is
     * theirs already and never echoed: stdout often ends up in a journal. */
    if (a->cfg.admin_token && a->token_generated)
        printf("  admin API: %s/admin/v1/  (Authorization: Bearer %s)\n", url,
               a->cfg.admin_token);
    else if (a->cfg.admin_token)
        printf("  admin API: %s/admin/v1/  (Authorization: Bearer <the configured token>)\n",
               url);
    printf("  health: %s/healthz  metrics: %s/metrics\n", url, url);
    printf("  console: %s/  (%s)\n", url,
           a->demo ? "log in as demo-admin, below" : "a back-office login; see user-add");
    if (a->demo) {
        printf("  demo data loaded; enrollment codes (single use, valid %u days):\n",
               a->cfg.enroll_ttl_s / 86400);
        printf("    %-14s %-8s %s\n", "rep", "terr.", "code");
        printf("%s", text.data ? text.data : "");
        printf("  enroll a field client with one of the codes against %s\n", url);
        printf("  demo json: %s", summary.data ? summary.data : "{}\n");
        printf("  try: curl -H 'Authorization: Bearer %s' %s/admin/v1/reps\n",
               a->token_generated ? a->cfg.admin_token : "$TOKEN", url);
        printf("  back-office login (made for this demo): demo-admin / %s\n"
               "    curl -c jar -H 'Content-Type: application/json' -d '{\"name\":"
               "\"demo-admin\",\"password\":\"%s\"}' %s/admin/v1/login\n",
               demo_pw, demo_pw, url);
    }
    printf("  stop with Ctrl-C or SIGTERM\n");
    fflush(stdout);
    fss_buf_free(&summary);
    fss_buf_free(&text);
    while (!got_signal) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        uint64_t now = wall_ms();
        /* An offboarding cut short by a crash is finished at start, then
         * looked for every ten minutes (one query when there is none). */
        if (!last_finish || now - last_finish >= FINISH_EVERY_MS) {
            last_finish = now;
            finish_offboards(s);
        }
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
        cmd_value_tick(s, &a->cfg, now, &last_analyze); /* nightly analyze */
        /* The public pool's reclaim (fss_pool_reclaim), hourly from start
         * (--reclaim-every): its rules count days, an hour late is on time. */
        if (a->cfg.reclaim_every_s &&
            (!last_reclaim || now - last_reclaim >= a->cfg.reclaim_every_s * 1000u)) {
            fss_reclaim_result rr;
            fs_error xerr = {0};
            last_reclaim = now;
            if (fss_pool_reclaim(s, (int64_t)now, false, &rr, NULL, &xerr) != FSS_OK)
                fprintf(stderr, "sync-server: reclaim: %s\n", xerr.text);
            else if (rr.reclaimed || rr.warned)
                fprintf(stderr, "sync-server: reclaim: %lld customer(s) back to "
                        "the pool, %lld owner(s) warned\n", (long long)rr.reclaimed,
                        (long long)rr.warned);
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
            bad == 1 ? "" : "s", store_name(a));
    return bad ? 3 : 0;
}

/* copy-store: the store --from into the empty store --to, verified rep by
 * rep (fss_copy_store). Either may be a SQLite file or a PostgreSQL
 * connection string: a team moves to PostgreSQL, and a PostgreSQL store
 * can be copied back into a file (the simulation reads one). */
static void store_target(fss_config *c, const char *target)
{
    if (fss_store_is_postgres(target)) {
        c->store = target;
        c->db_path = NULL;
    } else {
        c->store = NULL;
        c->db_path = target;
    }
}

static int copy_store(app *a)
{
    fss_config from = a->cfg, to = a->cfg;
    fss_server *src = NULL, *dst = NULL;
    fss_copy_report r;
    fs_error err = {0};
    fss_status st;
    char line[512];
    int rc = 0;

    if (!a->from || !a->to) {
        fprintf(stderr, "sync-server: copy-store needs --from STORE and --to STORE"
                        " (a SQLite file or a PostgreSQL connection string)\n");
        return 2;
    }
    store_target(&from, a->from);
    store_target(&to, a->to);
    from.threads = to.threads = 1;
    if ((st = fss_server_open(&from, &src, &err)) != FSS_OK) {
        rc = fail("open --from", &err, st);
        goto done;
    }
    if ((st = fss_server_open(&to, &dst, &err)) != FSS_OK) {
        rc = fail("open --to", &err, st);
        goto done;
    }
    if ((st = fss_copy_store(src, dst, &r, &err)) != FSS_OK) {
        rc = fail("copy-store", &err, st);
        goto done;
    }
    snprintf(line, sizeof line,
             "copied %lld rows in %lld tables from %s to %s; verified:"
             " the exports of all %lld reps are identical (%lld bytes)",
             (long long)r.rows, (long long)r.tables, a->from,
             fss_store_is_postgres(a->to) ? "PostgreSQL" : a->to,
             (long long)r.reps_verified, (long long)r.export_bytes);
    confirm(a->cmd, line, (const char *const[]){"from", a->from, NULL});
done:
    fss_server_close(dst);
    fss_server_close(src);
    return rc;
}

/* One write subcommand: resolve the references, do it, confirm it. */
static int run_command(app *a, fss_server *s, uint64_t ttl_s)
{
    fs_error err = {0};
    fss_buf out = {0};
    fss_status st;
    fs_id id;
    char idt[FS_ID_STRLEN + 1], label[300], line[1024];
    int rc = 0;

    if (strcmp(a->cmd, "migrate") == 0) {
        snprintf(line, sizeof line, "store %s is up to date", store_name(a));
        confirm(a->cmd, line, (const char *const[]){a->cfg.store ? "store" : "db",
                                                    store_name(a), NULL});
    } else if (strcmp(a->cmd, "rep-add") == 0) {
        const char *email = a->nargs > 1 ? a->args[1] : NULL;
        if ((st = fss_admin_rep_add(s, a->args[0], email, &id, &err)) != FSS_OK)
            return fail("rep-add", &err, st);
        fs_id_format(&id, idt);
        /* The id alone on stdout (scripts: REP=$(sync-server rep-add ...));
         * the sentence for people on stderr. */
        if (json_mode) {
            snprintf(line, sizeof line, "added rep %s%s%s%s (%s)", a->args[0],
                     email ? " <" : "", email ? email : "", email ? ">" : "", idt);
            confirm(a->cmd, line, (const char *const[]){"id", idt, "name", a->args[0],
                                                        "email", email, NULL});
        } else {
            printf("%s\n", idt);
            fprintf(stderr, "sync-server: added rep %s%s%s%s\n", a->args[0],
                    email ? " <" : "", email ? email : "", email ? ">" : "");
        }
    } else if (strcmp(a->cmd, "territory-add") == 0) {
        const char *name = a->nargs > 1 ? a->args[1] : NULL;
        if ((st = fss_admin_territory_add(s, a->args[0], name, &err)) != FSS_OK)
            return fail("territory-add", &err, st);
        snprintf(line, sizeof line, "territory %s%s%s%s saved", a->args[0],
                 name ? " (" : "", name ? name : "", name ? ")" : "");
        confirm(a->cmd, line, (const char *const[]){"territory", a->args[0], NULL});
    } else if (strcmp(a->cmd, "rep-territory") == 0) {
        if ((rc = find_ref(s, FSS_REF_REP, a->args[0], "rep-territory", idt, label,
                           sizeof label)))
            return rc;
        parse_ref_id(idt, &id);
        if ((st = fss_admin_rep_territory(s, &id, a->args[1], !a->remove, &err)) != FSS_OK)
            return fail("rep-territory", &err, st);
        snprintf(line, sizeof line, "%s %s territory %s", label,
                 a->remove ? "no longer covers" : "now covers", a->args[1]);
        confirm(a->cmd, line, (const char *const[]){"rep", idt, "territory", a->args[1],
                                                    "member", a->remove ? json_false : json_true,
                                                    NULL});
    } else if (strcmp(a->cmd, "assign") == 0) {
        char owner[FS_ID_STRLEN + 1] = "", olabel[300] = "";
        if ((rc = find_ref(s, FSS_REF_CUSTOMER, a->args[0], "assign", idt, label,
                           sizeof label)))
            return rc;
        if (a->owner && a->owner[0] &&
            (rc = find_ref(s, FSS_REF_REP, a->owner, "assign --owner", owner, olabel,
                           sizeof olabel)))
            return rc;
        parse_ref_id(idt, &id);
        if ((st = fss_admin_customer_assign(s, &id, a->owner ? owner : NULL, a->territory,
                                            &err)) != FSS_OK)
            return fail("assign", &err, st);
        snprintf(line, sizeof line, "customer %s:%s%s%s%s%s", label,
                 a->owner ? " owner " : "", a->owner ? (owner[0] ? olabel : "(none)") : "",
                 a->owner && a->territory ? "," : "",
                 a->territory ? " territory " : "",
                 a->territory ? (a->territory[0] ? a->territory : "(none)") : "");
        confirm(a->cmd, line, (const char *const[]){"customer", idt,
                                                    "owner", a->owner ? owner : NULL,
                                                    "territory", a->territory, NULL});
    } else if (strcmp(a->cmd, "customer-delete") == 0) {
        if ((rc = find_ref(s, FSS_REF_CUSTOMER, a->args[0], "customer-delete", idt, label,
                           sizeof label)))
            return rc;
        parse_ref_id(idt, &id);
        if ((st = fss_admin_customer_delete(s, &id, &err)) != FSS_OK)
            return fail("customer-delete", &err, st);
        snprintf(line, sizeof line, "customer %s (%s) deleted", label, idt);
        confirm(a->cmd, line, (const char *const[]){"customer", idt, NULL});
    } else if (strcmp(a->cmd, "enroll-code") == 0) {
        char code[FSS_CODE_LEN + 1], human[64];
        if ((rc = find_ref(s, FSS_REF_REP, a->args[0], "enroll-code", idt, label,
                           sizeof label)))
            return rc;
        parse_ref_id(idt, &id);
        if ((st = fss_admin_enroll_code(s, &id, (uint32_t)ttl_s, code, &err)) != FSS_OK)
            return fail("enroll-code", &err, st);
        say_duration(ttl_s ? ttl_s : a->cfg.enroll_ttl_s, human, sizeof human);
        snprintf(line, sizeof line, "enrollment code for %s, single use, valid %s",
                 label, human);
        /* Like rep-add: the code alone on stdout, the sentence on stderr. */
        if (json_mode) {
            confirm(a->cmd, line, (const char *const[]){"code", code, "rep", idt,
                                                        "valid", human, NULL});
        } else {
            printf("%s\n", code);
            fprintf(stderr, "sync-server: %s\n", line);
        }
    } else if (strcmp(a->cmd, "revoke") == 0) {
        if ((rc = find_ref(s, FSS_REF_DEVICE, a->args[0], "revoke", idt, label,
                           sizeof label)))
            return rc;
        parse_ref_id(idt, &id);
        if ((st = fss_admin_device_revoke(s, &id, &err)) != FSS_OK)
            return fail("revoke", &err, st);
        snprintf(line, sizeof line, "device %s %s revoked; its next sync wipes it", idt,
                 label);
        confirm(a->cmd, line, (const char *const[]){"device", idt, NULL});
    } else if (strcmp(a->cmd, "resolve") == 0) {
        uint64_t cid = 0;
        const char *value = a->nargs > 2 ? a->args[2] : NULL;
        char *quoted = NULL;
        if (!parse_u64(a->args[0], &cid) || cid == 0 || cid > INT64_MAX)
            return usage_error(usage_of("resolve"),
                               "conflict ID must be a positive integer (see `conflicts`)");
        if (value && !a->json_value) {
            /* Plain text is a JSON string literal; --json-value takes the
             * literal as typed (numbers, booleans, null). */
            FILE *m;
            size_t n = 0;
            if (!(m = open_memstream(&quoted, &n))) {
                fprintf(stderr, "sync-server: out of memory\n");
                return 1;
            }
            json_str(m, value);
            fclose(m);
            value = quoted;
        }
        st = fss_admin_conflict_resolve(s, (int64_t)cid, a->args[1], value,
                                        a->by ? a->by : "cli", &err);
        if (st != FSS_OK) {
            rc = fail("resolve", &err, st);
            if (st == FSS_EINVAL && quoted)
                fprintf(stderr, "sync-server: (VALUE was sent as text; a number, "
                                "true/false or null needs --json-value)\n");
            free(quoted);
            return rc;
        }
        snprintf(line, sizeof line, "conflict %llu resolved: %s%s%s (by %s)",
                 (unsigned long long)cid, a->args[1], value ? " " : "", value ? value : "",
                 a->by ? a->by : "cli");
        snprintf(idt, sizeof idt, "%llu", (unsigned long long)cid);
        confirm(a->cmd, line, (const char *const[]){"conflict", idt, "choice", a->args[1],
                                                    "value", value, NULL});
        free(quoted);
    } else if (strcmp(a->cmd, "quote-status") == 0) {
        if ((rc = find_ref(s, FSS_REF_QUOTE, a->args[0], "quote-status", idt, label,
                           sizeof label)))
            return rc;
        parse_ref_id(idt, &id);
        if ((st = fss_admin_quote_status(s, &id, a->args[1], &err)) != FSS_OK)
            return fail("quote-status", &err, st);
        snprintf(line, sizeof line, "%s (%s) is now %s", label, idt, a->args[1]);
        confirm(a->cmd, line, (const char *const[]){"quote", idt, "status", a->args[1],
                                                    NULL});
    } else if (strcmp(a->cmd, "customer-lost") == 0) {
        if ((rc = find_ref(s, FSS_REF_CUSTOMER, a->args[0], "customer-lost", idt, label,
                           sizeof label)))
            return rc;
        parse_ref_id(idt, &id);
        if ((st = fss_admin_customer_lost(s, &id, a->args[1], &err)) != FSS_OK)
            return fail("customer-lost", &err, st);
        if (a->args[1][0])
            snprintf(line, sizeof line, "%s (%s) marked lost: %s", label, idt, a->args[1]);
        else
            snprintf(line, sizeof line, "%s (%s) is no longer lost", label, idt);
        confirm(a->cmd, line, (const char *const[]){"customer", idt, "reason", a->args[1],
                                                    NULL});
    } else if (strcmp(a->cmd, "at-risk") == 0 || strcmp(a->cmd, "lost") == 0 ||
               strcmp(a->cmd, "value-report") == 0 || strcmp(a->cmd, "movements") == 0) {
        rc = cmd_value_report(s, a->cmd, a->territory);
    } else if (strcmp(a->cmd, "ticket-update") == 0) {
        rc = cmd_ticket_update(s, a->args[0], a->status, &a->ticket, a->json);
    } else if (strcmp(a->cmd, "satisfaction") == 0) {
        rc = cmd_ticket_satisfaction(s, a->territory);
    } else if (strcmp(a->cmd, "tickets") == 0) {
        rc = cmd_ticket_list(s, a->territory, &a->ticket, (int64_t)wall_ms());
    } else if (strcmp(a->cmd, "analyze") == 0) {
        rc = cmd_value_analyze(s, a->json, (int64_t)wall_ms());
    } else if (strcmp(a->cmd, "expire-quotes") == 0) {
        int64_t n = 0;
        char cnt[32];
        if ((st = fss_quotes_expire(s, (int64_t)wall_ms(), &n, &err)) != FSS_OK)
            return fail("expire-quotes", &err, st);
        snprintf(line, sizeof line, "%lld quote(s) expired", (long long)n);
        snprintf(cnt, sizeof cnt, "%lld", (long long)n);
        confirm(a->cmd, line, (const char *const[]){"expired", cnt, NULL});
    } else if (strcmp(a->cmd, "export") == 0) {
        if ((rc = find_ref(s, FSS_REF_REP, a->args[0], "export", idt, NULL, 0)))
            return rc;
        parse_ref_id(idt, &id);
        rc = (st = fss_admin_export(s, &id, &out, &err)) ? fail("export", &err, st)
                                                         : print_buf(&out);
    } else if (strcmp(a->cmd, "import") == 0) {
        const char *ent = strcmp(a->args[0], "customers") == 0  ? "customer"
                          : strcmp(a->args[0], "products") == 0 ? "product"
                          : strcmp(a->args[0], "purchases") == 0 ? "purchase" : a->args[0];
        const char *fmt = a->format;
        size_t len = 0;
        char *data = read_file(a->args[1], a->cfg.max_body, &len);
        if (!fmt) {
            size_t n = strlen(a->args[1]);
            fmt = n > 5 && strcmp(a->args[1] + n - 5, ".json") == 0 ? "json" : "csv";
        }
        if (!data) {
            fprintf(stderr, "sync-server: cannot read %s: %s\n", a->args[1], strerror(errno));
            return 1;
        }
        st = fss_admin_import(s, ent, fmt, data, len, &out, &err);
        if (st == FSS_OK || st == FSS_EIMPORT)
            print_buf(&out);
        if (st != FSS_OK)
            rc = fail("import", &err, st);
        free(data);
    } else if (strcmp(a->cmd, "activity") == 0) {
        fss_activity_query q = {a->from, a->to, a->rep, a->territory};
        if (a->rep) {
            if ((rc = find_ref(s, FSS_REF_REP, a->rep, "activity --rep", idt, NULL, 0)))
                return rc;
            q.rep = idt;
        }
        rc = (st = fss_admin_activity(s, &q, &out, &err)) ? fail("activity", &err, st)
                                                          : print_buf(&out);
    } else if (strcmp(a->cmd, "reps") == 0) {
        rc = (st = fss_admin_reps_list(s, &out, &err)) ? fail("reps", &err, st) : print_buf(&out);
    } else if (strcmp(a->cmd, "territories") == 0) {
        rc = (st = fss_admin_territories_list(s, &out, &err)) ? fail("territories", &err, st)
                                                              : print_buf(&out);
    } else if (strcmp(a->cmd, "devices") == 0) {
        rc = (st = fss_admin_devices_list(s, &out, &err)) ? fail("devices", &err, st)
                                                          : print_buf(&out);
    } else if (strcmp(a->cmd, "conflicts") == 0) {
        rc = (st = fss_admin_conflicts_list(s, a->status, a->limit, &out, &err))
                 ? fail("conflicts", &err, st) : print_buf(&out);
    } else if (strcmp(a->cmd, "pipeline") == 0) {
        rc = (st = fss_admin_pipeline(s, &out, &err)) ? fail("pipeline", &err, st)
                                                      : print_buf(&out);
    } else if (strcmp(a->cmd, "check") == 0) {
        rc = check(a, s);
    } else {
        /* The ownership lifecycle's subcommands (cmd_owner.c). */
        bool handled = false;
        cmd_ctx x = {s, a->cmd, a->args, a->nargs, a->to, a->drain, a->by,
                     a->json, a->dry_run, a->now, a->limit,
                     find_ref, confirm, fail, usage_error, print_buf};
        rc = cmd_owner(&x, &handled);
    }
    fss_buf_free(&out);
    return rc;
}

int main(int argc, char **argv)
{
    app a;
    fss_server *s = NULL;
    fs_error err = {0};
    fss_status st;
    const command *cmd = NULL;
    uint64_t ttl_s = 0;
    int rc = 0, i;

    /* glibc gave each worker thread's arena back to the kernel whenever a
     * response's deflate state (~256 KiB) was freed: an madvise, and a TLB
     * shootdown interrupting the other cores, per request - 18% of the
     * server's CPU on PostgreSQL at saturation (docs/BENCHMARKS.md, issue
     * 18 (e)). Keep up to 32 MiB free per arena instead.
     * And one arena for all threads: with one per worker thread, each
     * thread's first requests faulted in a heap of its own (~400 fresh
     * pages for a 500-row page: rows, their encoding, the deflate state),
     * so a just-started server answered the first request on each of its
     * threads 2-3x slower than the next ones - most of a bootstrap's first
     * pages. Shared, the memory one request frees is the next one's,
     * whichever thread serves it: a 10k-row bootstrap faulted 770 pages
     * instead of 1,950-2,570 and its requests took 82 ms of CPU instead
     * of 97-127 (docs/BENCHMARKS.md, session 9). */
#ifdef __GLIBC__
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    mallopt(M_ARENA_MAX, 1);
#endif
    memset(&a, 0, sizeof a);
    fss_config_default(&a.cfg);
    if (parse_args(&a, argc, argv) < 0) {
        rc = 2;
        goto done;
    }
    json_mode = a.json;
    if (!a.cmd) {
        fputs(usage, stderr);
        fputs(cmd_value_usage, stderr);
        fputs(cmd_ticket_usage, stderr);
        fputs(usage_more, stderr);
        fputs(cmd_value_options, stderr);
        fputs(cmd_ticket_options, stderr);
        fputs(cmd_owner_options, stderr);
        rc = 2;
        goto done;
    }
    for (i = 0; i < (int)(sizeof commands / sizeof commands[0]); i++)
        if (strcmp(commands[i].name, a.cmd) == 0)
            cmd = &commands[i];
    if (!cmd) {
        rc = usage_error("[options] <command> [args] (see --help)", "unknown command");
        fprintf(stderr, "sync-server: no command \"%s\"\n", a.cmd);
        goto done;
    }
    /* Arguments are checked before the store is opened: a wrong call
     * changes nothing, says how to call, and exits 2. */
    if (a.nargs < cmd->min_args) {
        rc = usage_error(cmd->usage, "missing arguments");
        goto done;
    }
    if (a.nargs > cmd->max_args) {
        char why[160];
        snprintf(why, sizeof why, "unexpected argument \"%s\"", a.args[cmd->max_args]);
        rc = usage_error(cmd->usage, why);
        goto done;
    }
    if (strcmp(a.cmd, "assign") == 0 && !a.owner && !a.territory) {
        rc = usage_error(cmd->usage, "nothing to change: give --owner and/or --territory");
        goto done;
    }
    if (a.ttl_text) {
        fs_error derr = {0};
        if (fs_duration_parse(a.ttl_text, &ttl_s, &derr) != FS_OK ||
            ttl_s == 0 || ttl_s > 90u * 86400u) {
            fprintf(stderr, "sync-server: --ttl: %s\n",
                    derr.text[0] ? derr.text : "must be between 1 second and 90 days");
            rc = usage_error(cmd->usage, "bad --ttl");
            goto done;
        }
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
            a.token_generated = true;
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
    if (strcmp(a.cmd, "copy-store") == 0) {
        rc = copy_store(&a);
        goto done;
    }
    if ((st = fss_server_open(&a.cfg, &s, &err)) != FSS_OK) {
        rc = fail("open store", &err, st);
        goto done;
    }
    if (strcmp(a.cmd, "serve") == 0) {
        rc = serve(&a, s);
    } else if (strcmp(a.cmd, "user-add") == 0 || strcmp(a.cmd, "users") == 0 ||
               strcmp(a.cmd, "user-disable") == 0 || strcmp(a.cmd, "passwd") == 0) {
        cmd_users_args ua = {a.cmd, a.nargs ? a.args[0] : NULL, a.role, a.territories,
                             a.enable, a.json};
        rc = cmd_users(s, &ua);
    } else
        rc = run_command(&a, s, ttl_s);
done:
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
