/*
 * main.c - the field-client command line: a thin user of libfieldclient.
 *
 * Argument parsing, the commands (each a few calls into the library), help
 * and --version live here; output formatting is in cli_out.c and the status
 * and sync commands in cli_status.c. Every rule about data is in the
 * library, which a handheld app links the same way: money (fs_money), time
 * (fc_time), short ids and names (fc_names). Errors are one line on stderr
 * ("field-client: ...") and a non-zero exit status: 2 for usage errors, 3
 * when the device was wiped, 1 for everything else; `sync` exits 4 when it
 * completed but the server rejected changes in it and 5 when offline
 * (docs/CLI.md).
 */
#include "cli.h"
#include "fs_proto.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Argument helpers                                                          */
/* ------------------------------------------------------------------------ */

static const char *opt(const cli *a, const char *key)
{
    for (size_t i = 0; i < a->nopt; i++)
        if (strcmp(a->optk[i], key) == 0)
            return a->optv[i];
    return NULL;
}

/* The row a rep named at pos[i]: a full id, a short id from a list, or for
 * customers a name (fc_resolve). `what` is the entity in words ("quote
 * line"; "row" for any entity). An unknown or ambiguous reference is
 * reported (exit 1, the candidates listed) and nothing is done. */
static bool parse_id_arg(cli *a, size_t i, const char *what, fs_id *out, int *rc)
{
    fs_error err = {0};
    char entity[32];
    fc_status st;

    if (i >= a->npos) {
        *rc = cli_usage(a, "missing %s id", what);
        return false;
    }
    snprintf(entity, sizeof entity, "%s", what);
    for (char *p = entity; *p; p++)
        if (*p == ' ')
            *p = '_';
    st = fc_resolve(a->c, strcmp(entity, "row") == 0 ? NULL : entity, a->pos[i], out, &err);
    if (st) {
        *rc = cli_fail(a, st, &err);
        return false;
    }
    return true;
}

const char *cli_opt(const cli *a, const char *key)
{
    return opt(a, key);
}

bool cli_parse_id(cli *a, size_t i, const char *what, fs_id *out, int *rc)
{
    return parse_id_arg(a, i, what, out, rc);
}

static bool parse_num(const char *s, double *out)
{
    char *end;
    if (!s || !*s)
        return false;
    errno = 0;
    *out = strtod(s, &end);
    return !errno && !*end && isfinite(*out);
}

static bool parse_int(const char *s, int64_t *out)
{
    char *end;
    if (!s || !*s)
        return false;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return !errno && !*end;
}

/* A time option through the library's parser (same formats as fields). */
static int64_t time_opt(cli *a, const char *key, bool *bad)
{
    const char *s = opt(a, key);
    const fs_field *f = &fs_schema_entity("visit")->fields[fs_entity_field_index(
        fs_schema_entity("visit"), "planned_at")];
    fs_value v = {0};
    int64_t t = 0;

    *bad = false;
    if (!s)
        return 0;
    if (fc_value_parse(f, s, &v, NULL) != FC_OK || v.kind != FS_VAL_INT) {
        char msg[300];
        snprintf(msg, sizeof msg, "--%s: '%.60s' is not a time (now, today, tomorrow, "
                 "+3d, YYYY-MM-DD, YYYY-MM-DDTHH:MM in your time zone, or with Z or "
                 "an offset such as +01:00)", key, s);
        cli_fail_code(a, "usage", msg, EXIT_USAGE);
        *bad = true;
    } else {
        t = v.u.i;
    }
    fs_value_clear(&v);
    return t;
}

/* field=value positional arguments from index `from` into kv. */
static int kv_args(cli *a, size_t from, fc_kv *kv, char bufs[][512], size_t *n)
{
    *n = 0;
    for (size_t i = from; i < a->npos; i++) {
        const char *eq = strchr(a->pos[i], '=');
        size_t klen;
        if (!eq || eq == a->pos[i])
            return cli_usage(a, "expected field=value, got '%s'", a->pos[i]);
        klen = (size_t)(eq - a->pos[i]);
        if (klen >= 64)
            return cli_usage(a, "field name too long in '%s'", a->pos[i]);
        memcpy(bufs[*n], a->pos[i], klen);
        bufs[*n][klen] = '\0';
        kv[*n].field = bufs[*n];
        kv[*n].value = eq + 1;
        (*n)++;
    }
    return 0;
}

static int export_write(const char *buf, size_t n, void *payload)
{
    return fwrite(buf, 1, n, (FILE *)payload) == n ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* Help                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct cmd_help {
    const char *name;
    const char *usage;
    const char *text;
} cmd_help;

static const cmd_help helps[] = {
    {"customer", "customer list [--search TEXT] [--limit N] [--grade A-E] [--risk R]\n"
     "  customer search TEXT\n  customer show ID\n"
     "  customer add name=NAME [address=.. phone=.. tags=.. segment=.. lat=.. lon=..]\n"
     "  customer edit ID field=value...\n  customer delete ID\n  customer claim ID",
     "Customers in your scope. Wherever a command takes an ID it also takes the\n"
     "short id a list shows (the last digits of the id) and, for customers, the\n"
     "name or a unique part of it; a reference matching several rows lists them\n"
     "and changes nothing. search is offline full-text over name, address,\n"
     "tags and contacts (prefix match). territory and owner_rep are set by the\n"
     "back office and cannot be edited here; nor can grade, core, rfm, risk and\n"
     "risk_reason, which the server computes (--grade E, --risk at_risk filter). A customer is shared by everyone who\n"
     "works with it: only the back office deletes one (customer delete refuses).\n"
     "claim takes a customer of the public pool (no owner) in your territory:\n"
     "it is queued like any change and judged at sync, where the first claim to\n"
     "arrive wins; a claim that does not stand shows in status with the reason\n"
     "(already claimed by someone, daily quota, the bar on the former owner)."},
    {"contact", "contact add CUSTOMER_ID name=NAME [title=.. phone=.. email=..]\n"
     "  contact edit ID field=value...\n  contact list CUSTOMER_ID\n  contact show ID\n"
     "  contact delete ID... [--yes]",
     "Contacts of a customer. You may delete contacts you created (created_by);\n"
     "a delete asks first on a terminal (--yes skips the question) and can be\n"
     "taken back with `restore ID` until it is synced."},
    {"visit", "visit plan CUSTOMER_ID [--at TIME]\n"
     "  visit checkin VISIT_ID --lat DEG --lon DEG --accuracy METRES [--at TIME]\n"
     "  visit note VISIT_ID TEXT [--replace] [--next-step TEXT]\n"
     "  visit checkout VISIT_ID [--lat DEG --lon DEG] [--at TIME] [--outcome TEXT]\n"
     "  visit abandon VISIT_ID [--outcome TEXT]\n  visit list [CUSTOMER_ID] [--mine]\n"
     "  visit show ID",
     "Visits: planned -> in_progress (checkin) -> completed (checkout), or\n"
     "abandoned. TIME is now, today, tomorrow, +3d, +2h, YYYY-MM-DD, or\n"
     "YYYY-MM-DDTHH:MM in your time zone (TZ), or with Z or an offset (+01:00).\n"
     "Times are shown in your time zone with its offset.\n"
     "The rep who checks in is the visit's rep (rep_id, set by the server);\n"
     "planned_by keeps who planned it. Lists show the customer, rep=you or the rep's id (rep\n"
     "names are not on the device); --mine lists only your visits."},
    {"quote", "quote new CUSTOMER_ID CURRENCY\n"
     "  quote line-add QUOTE_ID --qty N --price AMOUNT [--sku S] [--desc D] [--discount PCT]\n"
     "  quote line-add QUOTE_ID --qty N --sku CATALOG_SKU\n"
     "  quote line-edit LINE_ID field=value...\n  quote line-remove LINE_ID... [--yes]\n"
     "  quote discount QUOTE_ID PCT\n  quote send QUOTE_ID\n"
     "  quote accept QUOTE_ID\n  quote reject QUOTE_ID\n  quote revise QUOTE_ID\n"
     "  quote show QUOTE_ID\n  quote list [CUSTOMER_ID] [--mine]",
     "Quotes in an ISO 4217 currency (any case: eur). AMOUNT is in the currency's\n"
     "units: 39, 39.5, 39.00 (always '.' for decimals); PCT a percentage: 2.5%\n"
     "or 2.5. Amounts are shown as EUR 1,256.29, discounts as 2.5%; --json keeps\n"
     "integer minor units and basis points (100 = 1%). line-edit takes\n"
     "unit_price=AMOUNT and discount=PCT the same way. Totals are computed by the\n"
     "shared fs_quote_totals function.\n"
     "Lifecycle: draft (editable) -> sent -> accepted | rejected | expired.\n"
     "A sent quote is locked: its lines, discount, currency and valid_until no\n"
     "longer change. revise makes a new draft with copies of its lines that\n"
     "records which quote it supersedes. accept / reject apply to a sent quote\n"
     "(not one past its valid_until); the server expires sent quotes past\n"
     "valid_until, and the back office may accept or reject them too."},
    {"contract", "contract new QUOTE_ID [--envelope ID]\n  contract show ID\n"
     "  contract list [CUSTOMER_ID]\n  contract esign ID STATUS",
     "E-sign status moves only upward: draft < sent < delivered < signed, then\n"
     "voided / declined / completed, which are final."},
    {"task", "task add CUSTOMER_ID TITLE [--kind KIND] [--due TIME]\n"
     "  task edit ID field=value...\n  task done ID...\n  task reopen ID...\n"
     "  task delete ID... [--yes]\n  task show ID\n"
     "  task list [--due TIME] [--overdue] [--all] [--mine]",
     "Tasks. KIND: follow_up, call, email, meeting, demo, other. list shows open\n"
     "tasks; --due today (or a date) those due by the end of that day in your\n"
     "time zone, --due with a time those due before it; --overdue those due\n"
     "before your today began; --all includes done ones; --mine\n"
     "only yours. You may delete your own tasks; a delete asks first on a\n"
     "terminal (--yes skips it). Commands taking several ids change all of them\n"
     "or, if one cannot be changed, none."},
    {"ticket", "ticket open CUSTOMER --kind KIND --subject TEXT [--priority P] [--desc TEXT]\n"
     "  ticket list [CUSTOMER] [--all]\n  ticket show TICKET\n  ticket note TICKET TEXT\n"
     "  ticket close TICKET\n  ticket reopen TICKET\n"
     "  ticket rate TICKET SCORE [--note TEXT]",
     "Service tickets. KIND: complaint, repair, question, request; P: low, normal\n"
     "(default), high, urgent. A ticket is open, in_progress, resolved or closed:\n"
     "you open, close and reopen (a resolved or closed ticket) on the device;\n"
     "the back office works it (in_progress), assigns it and resolves it, and\n"
     "you see its status, assignee and resolution after a sync. note appends a\n"
     "line to its notes. list shows tickets not closed; --all includes closed.\n"
     "When the back office resolves a ticket the server gives the customer's\n"
     "owner rep a satisfaction task (generated=satisfaction); rate records the\n"
     "customer's score 1-5 and a note, once per ticket (a second is refused).\n"
     "Open complaints count in the churn warning (customer show: risk)."},
    {"product", "product list [--search TEXT]\n  product search TEXT\n"
     "  product show SKU|ID",
     "The product catalog, synced from the back office (read-only here). search\n"
     "matches part of the SKU or name, in any case. `quote line-add --sku SKU`\n"
     "takes the product's name and price when --desc / --price are not given,\n"
     "and refuses a SKU the catalog prices in another currency than the quote's."},
    {"restore", "restore ID...",
     "Takes back deletes not synced yet: the queued delete leaves the outbox\n"
     "and the row is shown again. A delete already synced is restored by the\n"
     "back office."},
    {"enroll", "enroll SERVER_URL CODE [--name DEVICE_NAME]",
     "Trades a one-time enrollment code from the back office for this device's\n"
     "identity and token (stored in the replica, file mode 0600)."},
    {"sync", "sync",
     "Pushes pending changes and pulls changes in your scope, repeating until\n"
     "nothing is left. Network errors (a connection cut anywhere in an answer\n"
     "included) are retried with backoff; an interrupted first download resumes\n"
     "where it stopped. Exits 4 when the sync completed but the server rejected\n"
     "some of its changes (listed by `status`), 5 when the server cannot be\n"
     "reached (offline: your changes stay saved for the next sync), 1 on an error."},
    {"status", "status",
     "Pending changes, rejected changes with reasons and the values refused,\n"
     "changes confirmed by the server but awaiting its version of the row,\n"
     "notices (customers removed from this device and why, conflicts), the back\n"
     "office's open conflicts that involve your edits (as of the last sync), last\n"
     "sync time and server."},
    {"dismiss", "dismiss OUTBOX_ID\n  dismiss --notice NOTICE_ID",
     "Removes a rejected change (or a notice) from status once you have seen it.\n"
     "The id may be written as status prints it: dismiss '#9'."},
    {"export", "export",
     "Prints the replica as canonical JSON (the format of the server's per-rep\n"
     "export), for comparing with cmp."},
    {NULL, NULL, NULL}};

static void print_help(FILE *o)
{
    fprintf(o,
        "usage: field-client [--db PATH] [--json] COMMAND [ARGS]\n\n"
        "Offline-first field client for fieldsync.\n\n"
        "options:\n"
        "  --db PATH   replica database (default $FIELDSYNC_DB, else\n"
        "              $XDG_DATA_HOME/fieldsync/replica.db or ~/.local/share/...)\n"
        "  --json      machine-readable output (every command)\n"
        "  --help      this help; `field-client COMMAND --help` for one command\n\n"
        "commands:\n");
    for (size_t i = 0; helps[i].name; i++)
        fprintf(o, "  %s\n", helps[i].usage);
    fprintf(o, "\nExit status: 0 ok, 1 error, 2 usage error, 3 device wiped, 4 sync\n"
               "completed but the server rejected changes (see `status`), 5 sync found\n"
               "no network (the changes stay saved for the next sync).\n");
}

/* The project's version (CMake's project(VERSION)) and the sync protocol
 * version this client speaks (FS_PROTO_VERSION). */
static int print_version(cli *a)
{
    if (a->json)
        printf("{\"ok\":true,\"version\":\"%s\",\"protocol\":%u}\n", FIELDSYNC_VERSION,
               (unsigned)FS_PROTO_VERSION);
    else
        printf("field-client (fieldsync) %s, sync protocol %u\n", FIELDSYNC_VERSION,
               (unsigned)FS_PROTO_VERSION);
    return 0;
}

static int command_help(cli *a, const char *cmd)
{
    for (size_t i = 0; helps[i].name; i++)
        if (strcmp(helps[i].name, cmd) == 0) {
            printf("usage: field-client [--db PATH] [--json] %s\n\n%s\n", helps[i].usage,
                   helps[i].text);
            return 0;
        }
    return cli_usage(a, "unknown command '%s'", cmd);
}

/* `ENTITY list [CUSTOMER_ID] [--mine]`: every live row, or a customer's;
 * --mine only the rep's own. */
static int list_for_customer(cli *a, const char *entity)
{
    fc_query q = {0};
    fs_id id;
    int rc = 0;

    q.mine = opt(a, "mine") != NULL;
    if (a->npos > 1) {
        if (!parse_id_arg(a, 1, "customer", &id, &rc))
            return rc;
        q.parent = &id;
    }
    return cli_list_rows(a, entity, &q);
}

/* ------------------------------------------------------------------------ */
/* Commands that take ids: every id or none                                  */
/* ------------------------------------------------------------------------ */

/* The ids in pos[from..], duplicates dropped; any malformed id refuses the
 * whole command before anything is done. Returns 0 or an exit status. */
static int ids_args(cli *a, size_t from, const char *what, fs_id *ids, size_t *n)
{
    int rc = 0;

    *n = 0;
    if (from >= a->npos)
        return cli_usage(a, "missing %s id", what);
    for (size_t i = from; i < a->npos; i++) {
        fs_id id;
        bool dup = false;
        if (!parse_id_arg(a, i, what, &id, &rc))
            return rc;
        for (size_t k = 0; k < *n; k++)
            dup = dup || fs_id_cmp(&ids[k], &id) == 0;
        if (!dup)
            ids[(*n)++] = id;
    }
    return 0;
}

/* A short label for a row in messages: its name, title, sku or description. */
void cli_row_label(cli *a, const char *entity, const fs_id *id, char *out, size_t cap)
{
    static const char *const keys[] = {"name", "title", "sku", "description", NULL};
    fs_row r = {0};
    fs_error err = {0};

    out[0] = '\0';
    if (entity && fc_get(a->c, entity, id, &r, &err) == FC_OK)
        for (size_t k = 0; keys[k] && !out[0]; k++)
            if (cli_row_text(&r, keys[k]))
                snprintf(out, cap, "%s", cli_row_text(&r, keys[k]));
    fs_row_free(&r);
}

/* A delete asks first on a terminal; --yes skips the question. Without a
 * terminal and without --yes it is a usage error: a script must say so. */
static int confirm_delete(cli *a, const char *entity, const fs_id *ids, size_t n)
{
    char line[16], id[FS_ID_STRLEN + 1], label[120];

    if (opt(a, "yes"))
        return 0;
    if (!isatty(STDIN_FILENO))
        return cli_usage(a, "%s delete asks for confirmation on a terminal; add "
                           "--yes to delete without asking (nothing was deleted)", entity);
    for (size_t i = 0; i < n; i++) {
        fs_id_format(&ids[i], id);
        cli_row_label(a, entity, &ids[i], label, sizeof label);
        fprintf(stderr, "delete %s %s%s%s%s\n", entity, id, label[0] ? " (" : "", label,
                label[0] ? ")" : "");
    }
    fprintf(stderr, "delete %s %s? [y/N] ", n == 1 ? "this" : "these", entity);
    fflush(stderr);
    if (!fgets(line, sizeof line, stdin) || (strcmp(line, "y\n") != 0 &&
                                             strcmp(line, "yes\n") != 0)) {
        return cli_fail_code(a, "not_confirmed", "nothing was deleted", 1);
    }
    return 0;
}

static fc_status delete_fn(fc_client *c, const fs_id *id, void *arg, fs_error *err)
{
    return fc_row_delete(c, (const char *)arg, id, err);
}

static fc_status done_fn(fc_client *c, const fs_id *id, void *arg, fs_error *err)
{
    (void)arg;
    return fc_task_done(c, id, err);
}

static fc_status reopen_fn(fc_client *c, const fs_id *id, void *arg, fs_error *err)
{
    (void)arg;
    return fc_task_reopen(c, id, err);
}

static fc_status restore_fn(fc_client *c, const fs_id *id, void *arg, fs_error *err)
{
    (void)arg;
    return fc_restore(c, id, err);
}

/* Commands that act on one row (or a fixed list of arguments): anything
 * after those is refused rather than silently ignored, so `visit abandon A
 * B` never abandons only A. Subcommands not listed take field=value pairs
 * or several ids (run_ids) and check their own arguments. */
static int check_arity(cli *a, const char *cmd, const char *sub)
{
    static const struct {
        const char *cmd, *sub;
        size_t max; /* positionals after the subcommand (or the command) */
    } arity[] = {
        {"customer", "list", 0}, {"customer", "search", 1}, {"customer", "show", 1},
        {"customer", "claim", 1},
        {"contact", "list", 1}, {"contact", "show", 1},
        {"visit", "list", 1}, {"visit", "show", 1}, {"visit", "plan", 1},
        {"visit", "checkin", 1}, {"visit", "checkout", 1}, {"visit", "abandon", 1},
        {"visit", "note", 2},
        {"quote", "list", 1}, {"quote", "new", 2}, {"quote", "line-add", 1},
        {"quote", "discount", 2}, {"quote", "send", 1}, {"quote", "show", 1},
        {"contract", "list", 1}, {"contract", "new", 1}, {"contract", "show", 1},
        {"contract", "esign", 2},
        {"task", "list", 0}, {"task", "add", 2}, {"task", "show", 1},
        {"ticket", "list", 1}, {"ticket", "open", 1}, {"ticket", "show", 1},
        {"ticket", "note", 2}, {"ticket", "close", 1}, {"ticket", "reopen", 1},
        {"ticket", "rate", 2},
        {"product", "list", 0}, {"product", "search", 1}, {"product", "show", 1},
        {"enroll", NULL, 2}, {"dismiss", NULL, 1}, {"sync", NULL, 0},
        {"status", NULL, 0}, {"export", NULL, 0},
    };
    size_t given = sub ? a->npos - 1 : a->npos;

    for (size_t i = 0; i < sizeof arity / sizeof arity[0]; i++) {
        if (strcmp(arity[i].cmd, cmd) != 0 || (arity[i].sub == NULL) != (sub == NULL) ||
            (sub && strcmp(arity[i].sub, sub) != 0))
            continue;
        if (given > arity[i].max)
            return cli_usage(a, "too many arguments (from '%s'); nothing was done",
                               a->pos[a->npos - given + arity[i].max]);
        return 0;
    }
    return 0;
}

/* Runs fn on every id in pos[from..] in one transaction (fc_each_id) and
 * says, per id, what was done ("task deleted ID (label)"). A delete asks
 * first (confirm_delete). On any failure nothing is changed. */
static int run_ids(cli *a, size_t from, const char *entity, const char *what,
                   const char *done_msg, fc_id_fn fn, void *arg, bool is_delete)
{
    fs_id ids[MAX_ARGS];
    char labels[MAX_ARGS][120], id[FS_ID_STRLEN + 1];
    size_t n = 0, failed = 0;
    fs_error err = {0};
    fc_status st;
    int rc = ids_args(a, from, what, ids, &n);

    if (rc)
        return rc;
    if (is_delete && (rc = confirm_delete(a, entity, ids, n)) != 0)
        return rc;
    /* Labels before the change: a deleted row is no longer displayed. */
    for (size_t i = 0; i < n; i++)
        cli_row_label(a, entity, &ids[i], labels[i], sizeof labels[i]);
    st = fc_each_id(a->c, ids, n, fn, arg, &failed, &err);
    if (st) {
        fs_error e2 = {0};
        if (n > 1) {
            snprintf(e2.text, sizeof e2.text, "%.*s (nothing was changed)",
                     (int)(sizeof e2.text - 24), err.text[0] ? err.text : fc_strerror(st));
            return cli_fail(a, st, &e2);
        }
        return cli_fail(a, st, &err);
    }
    /* A single id answers as every one-row command does ("id"), too. */
    if (a->json && n == 1) {
        fs_id_format(&ids[0], id);
        printf("{\"ok\":true,\"id\":\"%s\",\"ids\":[", id);
    } else if (a->json) {
        printf("{\"ok\":true,\"ids\":[");
    }
    for (size_t i = 0; i < n; i++) {
        fs_id_format(&ids[i], id);
        if (a->json)
            printf("%s\"%s\"", i ? "," : "", id);
        else
            printf("%s %s%s%s%s\n", done_msg, id, labels[i][0] ? " (" : "", labels[i],
                   labels[i][0] ? ")" : "");
    }
    if (a->json)
        printf("],\"message\":\"%s\"}\n", done_msg);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

static int cmd_customer(cli *a, const char *sub)
{
    fc_kv kv[MAX_ARGS];
    char names[MAX_ARGS][512];
    size_t n = 0;
    fs_id id;
    fs_error err = {0};
    fc_status st;
    int rc = 0;
    fc_query q = {0};
    int64_t lim = 0;

    if (strcmp(sub, "list") == 0 || strcmp(sub, "search") == 0) {
        q.search = strcmp(sub, "search") == 0 ? (a->npos > 1 ? a->pos[1] : NULL)
                                              : opt(a, "search");
        if (strcmp(sub, "search") == 0 && !q.search)
            return cli_usage(a, "customer search needs TEXT%s", NULL);
        if (opt(a, "mine"))
            return cli_usage(a, "--mine works on visit, task and quote lists%s", NULL);
        if (opt(a, "limit")) {
            if (!parse_int(opt(a, "limit"), &lim) || lim < 0 || lim > 1000000)
                return cli_usage(a, "--limit takes a count, not '%s'", opt(a, "limit"));
            q.limit = (uint32_t)lim;
        }
        q.grade = opt(a, "grade");
        q.risk = opt(a, "risk");
        return cli_list_rows(a, "customer", &q);
    }
    if (strcmp(sub, "show") == 0)
        return parse_id_arg(a, 1, "customer", &id, &rc) ? cli_show_customer(a, &id) : rc;
    if (strcmp(sub, "add") == 0) {
        if ((rc = kv_args(a, 1, kv, names, &n)) != 0)
            return rc;
        st = fc_customer_add(a->c, kv, n, &id, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "customer added", &id);
    }
    if (strcmp(sub, "delete") == 0) {
        /* The library refuses it (customers are deleted by the back office);
         * no question is asked for a delete that cannot happen. */
        return run_ids(a, 1, "customer", "customer", "customer deleted", delete_fn,
                       (void *)"customer", false);
    }
    if (strcmp(sub, "edit") == 0) {
        if (!parse_id_arg(a, 1, "customer", &id, &rc))
            return rc;
        if ((rc = kv_args(a, 2, kv, names, &n)) != 0)
            return rc;
        st = fc_customer_edit(a->c, &id, kv, n, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "customer updated", &id);
    }
    if (strcmp(sub, "claim") == 0) {
        if (!parse_id_arg(a, 1, "customer", &id, &rc))
            return rc;
        st = fc_customer_claim(a->c, &id, &err);
        return st ? cli_fail(a, st, &err)
                  : cli_ok_id(a, "claim queued; the server judges it at the next "
                                 "sync (the first claim to arrive wins)", &id);
    }
    return cli_usage(a, "unknown customer command '%s'", sub);
}

static int cmd_contact(cli *a, const char *sub)
{
    fc_kv kv[MAX_ARGS];
    char names[MAX_ARGS][512];
    size_t n = 0;
    fs_id id, nid;
    fs_error err = {0};
    fc_status st;
    int rc = 0;
    fc_query q = {0};

    if (strcmp(sub, "list") == 0) {
        if (!parse_id_arg(a, 1, "customer", &id, &rc))
            return rc;
        q.parent = &id;
        return cli_list_rows(a, "contact", &q);
    }
    if (strcmp(sub, "show") == 0)
        return parse_id_arg(a, 1, "contact", &id, &rc) ? cli_show_row(a, "contact", &id) : rc;
    if (strcmp(sub, "delete") == 0)
        return run_ids(a, 1, "contact", "contact", "contact deleted", delete_fn,
                       (void *)"contact", true);
    if (strcmp(sub, "add") == 0 || strcmp(sub, "edit") == 0) {
        bool add = strcmp(sub, "add") == 0;
        if (!parse_id_arg(a, 1, add ? "customer" : "contact", &id, &rc))
            return rc;
        if ((rc = kv_args(a, 2, kv, names, &n)) != 0)
            return rc;
        st = add ? fc_contact_add(a->c, &id, kv, n, &nid, &err)
                 : fc_contact_edit(a->c, &id, kv, n, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, add ? "contact added" : "contact updated",
                                              add ? &nid : &id);
    }
    return cli_usage(a, "unknown contact command '%s'", sub);
}

static int cmd_visit(cli *a, const char *sub)
{
    fs_id id, nid;
    fs_error err = {0};
    fc_status st;
    int rc = 0;
    bool bad = false;
    double lat = NAN, lon = NAN, acc = NAN;
    int64_t at;

    if (strcmp(sub, "list") == 0)
        return list_for_customer(a, "visit");
    if (!parse_id_arg(a, 1, strcmp(sub, "plan") == 0 ? "customer" : "visit", &id, &rc))
        return rc;
    if (strcmp(sub, "show") == 0)
        return cli_show_row(a, "visit", &id);
    at = time_opt(a, "at", &bad);
    if (bad)
        return 2;
    if (strcmp(sub, "plan") == 0) {
        st = fc_visit_plan(a->c, &id, at, &nid, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "visit planned", &nid);
    }
    if (strcmp(sub, "checkin") == 0 || strcmp(sub, "checkout") == 0) {
        const char *sl = opt(a, "lat"), *so = opt(a, "lon"), *sa = opt(a, "accuracy");
        bool in = strcmp(sub, "checkin") == 0;
        if ((in && (!sl || !so || !sa)) || (!in && (!sl != !so)))
            return cli_usage(a, "%s", in ? "checkin needs --lat, --lon and --accuracy"
                                           : "checkout takes both --lat and --lon or neither");
        if ((sl && !parse_num(sl, &lat)) || (so && !parse_num(so, &lon)) ||
            (sa && !parse_num(sa, &acc))) {
            fs_error e2 = {0};
            snprintf(e2.text, sizeof e2.text, "malformed GPS: --lat/--lon/--accuracy "
                     "take decimal numbers (got '%s', '%s', '%s')", sl ? sl : "",
                     so ? so : "", sa ? sa : "");
            return cli_fail(a, FC_EINVAL, &e2);
        }
        st = in ? fc_visit_checkin(a->c, &id, lat, lon, acc, at, &err)
                : fc_visit_checkout(a->c, &id, lat, lon, at, opt(a, "outcome"), &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, in ? "checked in" : "checked out", &id);
    }
    if (strcmp(sub, "note") == 0) {
        const char *text = a->npos > 2 ? a->pos[2] : NULL;
        if (!text && !opt(a, "next-step"))
            return cli_usage(a, "visit note needs TEXT%s", NULL);
        st = fc_visit_note(a->c, &id, text, !opt(a, "replace"), opt(a, "next-step"), &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "note saved", &id);
    }
    if (strcmp(sub, "abandon") == 0) {
        st = fc_visit_abandon(a->c, &id, opt(a, "outcome"), &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "visit abandoned", &id);
    }
    return cli_usage(a, "unknown visit command '%s'", sub);
}

/* The currency of a quote (or, for a line, of its quote): amounts are typed
 * in its units. "" when the row is not found (the write then reports it). */
static void quote_currency(cli *a, const char *entity, const fs_id *id, char cur[4])
{
    fs_row r = {0};
    fs_error err = {0};

    cur[0] = '\0';
    if (strcmp(entity, "quote_line") == 0 && fc_get(a->c, entity, id, &r, &err) == FC_OK) {
        int s = fs_entity_field_index(r.entity, "quote_id");
        fs_id qid;
        if (s < 0 || r.cells[s].v.kind != FS_VAL_ID) {
            fs_row_free(&r);
            return;
        }
        qid = r.cells[s].v.u.id;
        fs_row_free(&r);
        quote_currency(a, "quote", &qid, cur);
        return;
    }
    if (strcmp(entity, "quote") == 0 && fc_get(a->c, entity, id, &r, &err) == FC_OK &&
        cli_row_text(&r, "currency"))
        snprintf(cur, 4, "%s", cli_row_text(&r, "currency"));
    fs_row_free(&r);
}

/* An amount typed in the currency's units ("39", "39.5", "39.00") into
 * minor units; a failure is reported (exit 1) and false returned. */
static bool money_arg(cli *a, const char *what, const char *text, const char *cur,
                      int64_t *minor, int *rc)
{
    fs_error e = {0};
    char msg[400];

    if (fs_money_parse(text, cur, minor, &e) == FS_OK)
        return true;
    snprintf(msg, sizeof msg, "%s: %s", what, e.text[0] ? e.text : "not an amount");
    *rc = cli_fail_code(a, "value", msg, 1);
    return false;
}

/* A discount typed as a percentage ("2.5%" or "2.5") into basis points. */
static bool percent_arg(cli *a, const char *what, const char *text, int64_t *bp, int *rc)
{
    fs_error e = {0};
    char msg[400];

    if (fs_percent_parse(text, bp, &e) == FS_OK)
        return true;
    snprintf(msg, sizeof msg, "%s: %s", what, e.text[0] ? e.text : "not a percentage");
    *rc = cli_fail_code(a, "value", msg, 1);
    return false;
}

static int cmd_quote(cli *a, const char *sub)
{
    fc_kv kv[MAX_ARGS];
    char names[MAX_ARGS][512];
    size_t n = 0;
    fs_id id, nid;
    fs_error err = {0};
    fc_status st;
    int rc = 0;
    int64_t qty = 0, price = 0, disc = 0;
    char cur[4] = "", conv[MAX_ARGS][24];

    if (strcmp(sub, "list") == 0)
        return list_for_customer(a, "quote");
    if (strcmp(sub, "line-remove") == 0)
        return run_ids(a, 1, "quote_line", "quote line", "line removed", delete_fn,
                       (void *)"quote_line", true);
    if (!parse_id_arg(a, 1, strcmp(sub, "new") == 0 ? "customer"
                            : strncmp(sub, "line-", 5) == 0 && strcmp(sub, "line-add") != 0
                                ? "quote line" : "quote", &id, &rc))
        return rc;
    if (strcmp(sub, "show") == 0)
        return cli_show_quote(a, &id);
    if (strcmp(sub, "new") == 0) {
        if (a->npos < 3)
            return cli_usage(a, "quote new needs CUSTOMER_ID CURRENCY%s", NULL);
        st = fc_quote_new(a->c, &id, a->pos[2], &nid, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "quote created", &nid);
    }
    if (strcmp(sub, "line-add") == 0) {
        if (!parse_int(opt(a, "qty"), &qty))
            return cli_usage(a, "line-add needs --qty N (a whole number)%s", NULL);
        if ((!opt(a, "price") || !*opt(a, "price")) && (!opt(a, "sku") || !*opt(a, "sku")))
            return cli_usage(a, "line-add needs --price AMOUNT (in the quote's "
                               "currency, e.g. 39.50) or a catalog --sku%s", NULL);
        quote_currency(a, "quote", &id, cur);
        if (!cur[0])
            return cli_show_quote(a, &id); /* reports the missing quote */
        price = FC_CATALOG_PRICE; /* the catalog's, for a --sku without --price */
        if (opt(a, "price") && *opt(a, "price") &&
            !money_arg(a, "--price", opt(a, "price"), cur, &price, &rc))
            return rc;
        if (opt(a, "discount") && !percent_arg(a, "--discount", opt(a, "discount"), &disc,
                                               &rc))
            return rc;
        st = fc_quote_line_add(a->c, &id, opt(a, "sku"), opt(a, "desc"), qty, price, disc,
                               &nid, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "line added", &nid);
    }
    if (strcmp(sub, "line-edit") == 0) {
        if ((rc = kv_args(a, 2, kv, names, &n)) != 0)
            return rc;
        /* unit_price and discount as typed by people: amounts in the
         * quote's currency, percentages; handed on as the stored units. */
        quote_currency(a, "quote_line", &id, cur);
        for (size_t i = 0; i < n && cur[0]; i++) {
            int64_t v;
            bool price_f = strcmp(kv[i].field, "unit_price") == 0;
            if ((!price_f && strcmp(kv[i].field, "discount") != 0) || !*kv[i].value)
                continue;
            if (price_f ? !money_arg(a, "unit_price", kv[i].value, cur, &v, &rc)
                        : !percent_arg(a, "discount", kv[i].value, &v, &rc))
                return rc;
            snprintf(conv[i], sizeof conv[i], "%lld", (long long)v);
            kv[i].value = conv[i];
        }
        st = fc_quote_line_edit(a->c, &id, kv, n, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "line updated", &id);
    }
    if (strcmp(sub, "discount") == 0) {
        if (a->npos < 3)
            return cli_usage(a, "quote discount needs QUOTE_ID PERCENT (e.g. 2.5%%)%s",
                               NULL);
        if (!percent_arg(a, "discount", a->pos[2], &disc, &rc))
            return rc;
        st = fc_quote_discount(a->c, &id, disc, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "discount set", &id);
    }
    if (strcmp(sub, "send") == 0) {
        st = fc_quote_send(a->c, &id, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "quote sent", &id);
    }
    if (strcmp(sub, "accept") == 0 || strcmp(sub, "reject") == 0) {
        bool acc = strcmp(sub, "accept") == 0;
        st = fc_quote_set_status(a->c, &id, fs_quote_state_name(acc ? FS_QUOTE_ACCEPTED
                                                                    : FS_QUOTE_REJECTED),
                                 &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, acc ? "quote accepted" : "quote rejected", &id);
    }
    if (strcmp(sub, "revise") == 0) {
        st = fc_quote_revise(a->c, &id, &nid, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "quote revised; new draft", &nid);
    }
    return cli_usage(a, "unknown quote command '%s'", sub);
}

static int cmd_contract(cli *a, const char *sub)
{
    fs_id id;
    fs_error err = {0};
    fc_status st;
    int rc = 0;
    char msg[128];

    if (strcmp(sub, "list") == 0)
        return list_for_customer(a, "contract");
    if (!parse_id_arg(a, 1, strcmp(sub, "new") == 0 ? "quote" : "contract", &id, &rc))
        return rc;
    if (strcmp(sub, "new") == 0) {
        fs_id nid;
        st = fc_contract_new(a->c, &id, opt(a, "envelope"), &nid, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "contract created", &nid);
    }
    if (strcmp(sub, "show") == 0)
        return cli_show_row(a, "contract", &id);
    if (strcmp(sub, "esign") == 0) {
        if (a->npos < 3)
            return cli_usage(a, "contract esign needs ID STATUS%s", NULL);
        st = fc_contract_esign(a->c, &id, a->pos[2], &err);
        if (st)
            return cli_fail(a, st, &err);
        snprintf(msg, sizeof msg, "e-sign status is now %.32s", a->pos[2]);
        return cli_ok_msg(a, msg);
    }
    return cli_usage(a, "unknown contract command '%s'", sub);
}

typedef struct product_ctx {
    list_ctx lc;
    const char *text;     /* search: part of the SKU or name, any case */
} product_ctx;

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; hay && *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return !*needle;
}

static bool product_cb(const fs_row *r, void *p)
{
    product_ctx *pc = p;

    if (pc->text && !contains_nocase(cli_row_text(r, "sku"), pc->text) &&
        !contains_nocase(cli_row_text(r, "name"), pc->text))
        return true;
    return cli_print_row(r, &pc->lc);
}

/* The catalog (products synced from the back office; read-only here). */
static int cmd_product(cli *a, const char *sub)
{
    product_ctx pc;
    fs_error err = {0};
    fc_status st;
    fs_id id;
    int rc = 0;

    if (strcmp(sub, "show") == 0)
        return parse_id_arg(a, 1, "product", &id, &rc) ? cli_show_row(a, "product", &id) : rc;
    if (strcmp(sub, "list") != 0 && strcmp(sub, "search") != 0)
        return cli_usage(a, "unknown product command '%s'", sub);
    if (strcmp(sub, "search") == 0 && a->npos < 2)
        return cli_usage(a, "product search needs TEXT%s", NULL);
    cli_list_init(&pc.lc, a, "product");
    pc.text = strcmp(sub, "search") == 0 ? a->pos[1] : opt(a, "search");
    if (a->json)
        printf("{\"ok\":true,\"rows\":[");
    st = fc_list(a->c, "product", NULL, product_cb, &pc, NULL, &err);
    cli_list_done(&pc.lc);
    if (a->json)
        printf("]}\n");
    if (st)
        return cli_fail(a, st, &err);
    if (!a->json && pc.lc.n == 0)
        printf("(no product)\n");
    return 0;
}

static int cmd_task(cli *a, const char *sub)
{
    fs_id id, nid;
    fs_error err = {0};
    fc_status st;
    int rc = 0;
    bool bad = false;
    fc_query q = {0};
    int64_t due;

    if (strcmp(sub, "list") == 0) {
        int64_t now = (int64_t)time(NULL) * 1000, start = 0, end = 0;
        bool day = false;
        due = time_opt(a, "due", &bad);
        if (bad)
            return 2;
        /* A day (`--due today`, `--due 2026-12-05`) means everything due by
         * the end of that day in the rep's zone, that day's tasks included;
         * overdue means due before the rep's today began. */
        if (opt(a, "due") && fc_time_parse(opt(a, "due"), now, &due, &day, NULL) == FC_OK &&
            day && fc_day_bounds(due, &start, &end, NULL) == FC_OK)
            due = end;
        if (opt(a, "overdue")) {
            if (fc_day_bounds(now, &start, &end, &err) != FC_OK)
                return cli_fail(a, FC_EINVAL, &err);
            due = start;
        }
        q.open_only = !opt(a, "all");
        q.due_before_ms = due;
        q.mine = opt(a, "mine") != NULL;
        return cli_list_rows(a, "task", &q);
    }
    if (strcmp(sub, "done") == 0)
        return run_ids(a, 1, "task", "task", "task done", done_fn, NULL, false);
    if (strcmp(sub, "reopen") == 0)
        return run_ids(a, 1, "task", "task", "task reopened", reopen_fn, NULL, false);
    if (strcmp(sub, "delete") == 0)
        return run_ids(a, 1, "task", "task", "task deleted", delete_fn, (void *)"task",
                       true);
    if (!parse_id_arg(a, 1, strcmp(sub, "add") == 0 ? "customer" : "task", &id, &rc))
        return rc;
    if (strcmp(sub, "add") == 0) {
        due = time_opt(a, "due", &bad);
        if (bad)
            return 2;
        if (a->npos < 3)
            return cli_usage(a, "task add needs CUSTOMER_ID TITLE%s", NULL);
        st = fc_task_add(a->c, &id, a->pos[2], opt(a, "kind"), due, &nid, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "task added", &nid);
    }
    if (strcmp(sub, "edit") == 0) {
        fc_kv kv[MAX_ARGS];
        char names[MAX_ARGS][512];
        size_t n = 0;
        if ((rc = kv_args(a, 2, kv, names, &n)) != 0)
            return rc;
        st = fc_row_edit(a->c, "task", &id, kv, n, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "task updated", &id);
    }
    if (strcmp(sub, "show") == 0)
        return cli_show_row(a, "task", &id);
    return cli_usage(a, "unknown task command '%s'", sub);
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

/* Options that take a value; everything else starting with -- is a flag. */
static bool takes_value(const char *k)
{
    static const char *const v[] = {"db", "search", "limit", "at", "lat", "lon",
                                    "accuracy", "next-step", "outcome", "qty", "price",
                                    "sku", "desc", "discount", "kind", "due", "name",
                                    "notice", "envelope", "grade", "risk", "subject",
                                    "priority", "note", NULL};
    for (size_t i = 0; v[i]; i++)
        if (strcmp(v[i], k) == 0)
            return true;
    return false;
}

static const char *default_db(cli *a)
{
    const char *env = getenv("FIELDSYNC_DB"), *xdg = getenv("XDG_DATA_HOME"),
               *home = getenv("HOME");

    if (env && *env)
        return env;
    if (xdg && *xdg)
        snprintf(a->dbbuf, sizeof a->dbbuf, "%s/fieldsync", xdg);
    else if (home && *home)
        snprintf(a->dbbuf, sizeof a->dbbuf, "%s/.local/share/fieldsync", home);
    else
        return "fieldsync-replica.db";
    /* Best effort: the open below reports a clear error if this failed. */
    if (!xdg || !*xdg) {
        char parent[4096];
        snprintf(parent, sizeof parent, "%s/.local", home);
        mkdir(parent, 0700);
        snprintf(parent, sizeof parent, "%s/.local/share", home);
        mkdir(parent, 0700);
    }
    mkdir(a->dbbuf, 0700);
    strncat(a->dbbuf, "/replica.db", sizeof a->dbbuf - strlen(a->dbbuf) - 1);
    return a->dbbuf;
}

int main(int argc, char **argv)
{
    cli a;
    const char *cmd = NULL, *sub = NULL;
    fs_error err = {0};
    fc_status st;
    int rc = 0;

    memset(&a, 0, sizeof a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--") == 0) {
            for (i++; i < argc && a.npos < MAX_ARGS; i++)
                a.pos[a.npos++] = argv[i];
            break;
        }
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            a.help = true;
        } else if (strcmp(s, "--version") == 0 || strcmp(s, "-V") == 0) {
            a.version = true;
        } else if (strcmp(s, "--json") == 0) {
            a.json = true;
        } else if (strncmp(s, "--", 2) == 0 && s[2]) {
            const char *k = s + 2, *eq = strchr(k, '=');
            const char *v = "";
            if (a.nopt == MAX_ARGS)
                return cli_usage(&a, "too many options%s", NULL);
            if (eq) {
                size_t kl = (size_t)(eq - k) < 63 ? (size_t)(eq - k) : 63;
                memcpy(a.keybuf[a.nopt], k, kl);
                a.keybuf[a.nopt][kl] = '\0';
                k = a.keybuf[a.nopt];
                v = eq + 1;
            } else if (takes_value(k)) {
                if (i + 1 >= argc)
                    return cli_usage(&a, "option --%s needs a value", k);
                v = argv[++i];
            }
            if (strcmp(k, "db") == 0) {
                a.db = v;
                continue;
            }
            a.optk[a.nopt] = k;
            a.optv[a.nopt++] = v;
        } else if (!cmd) {
            cmd = s;
        } else if (a.npos < MAX_ARGS) {
            a.pos[a.npos++] = s;
        } else {
            return cli_usage(&a, "too many arguments%s", NULL);
        }
    }
    if (a.version)
        return print_version(&a);
    if (!cmd) {
        if (a.help) {
            print_help(stdout);
            return 0;
        }
        if (a.json)
            return cli_usage(&a, "a command is needed%s", NULL);
        print_help(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "help") == 0) {
        if (a.npos)
            return command_help(&a, a.pos[0]);
        print_help(stdout);
        return 0;
    }
    if (a.help)
        return command_help(&a, cmd);
    for (size_t i = 0; i < a.nopt; i++) {
        if (takes_value(a.optk[i]) || !strcmp(a.optk[i], "replace") ||
            !strcmp(a.optk[i], "overdue") || !strcmp(a.optk[i], "all") ||
            !strcmp(a.optk[i], "mine") || !strcmp(a.optk[i], "yes"))
            continue;
        return cli_usage(&a, "unknown option --%s", a.optk[i]);
    }
    {
        bool known = false;
        for (size_t i = 0; helps[i].name; i++)
            known = known || strcmp(helps[i].name, cmd) == 0;
        if (!known)
            return cli_usage(&a, "unknown command '%s'", cmd);
    }
    if (!a.db)
        a.db = default_db(&a);
    st = fc_open(a.db, NULL, &a.c, &err);
    if (st)
        return cli_fail(&a, st, &err);

    /* Commands with a subcommand take it from the first positional. */
    if (!strcmp(cmd, "customer") || !strcmp(cmd, "contact") || !strcmp(cmd, "visit") ||
        !strcmp(cmd, "quote") || !strcmp(cmd, "contract") || !strcmp(cmd, "task") ||
        !strcmp(cmd, "product") || !strcmp(cmd, "ticket")) {
        if (a.npos == 0) {
            rc = cli_usage(&a, "%s needs a subcommand", cmd);
            goto done;
        }
        sub = a.pos[0];
    }
    if ((rc = check_arity(&a, cmd, sub)) != 0)
        goto done;
    if (!strcmp(cmd, "customer"))
        rc = cmd_customer(&a, sub);
    else if (!strcmp(cmd, "contact"))
        rc = cmd_contact(&a, sub);
    else if (!strcmp(cmd, "visit"))
        rc = cmd_visit(&a, sub);
    else if (!strcmp(cmd, "quote"))
        rc = cmd_quote(&a, sub);
    else if (!strcmp(cmd, "contract"))
        rc = cmd_contract(&a, sub);
    else if (!strcmp(cmd, "task"))
        rc = cmd_task(&a, sub);
    else if (!strcmp(cmd, "product"))
        rc = cmd_product(&a, sub);
    else if (!strcmp(cmd, "ticket"))
        rc = cli_cmd_ticket(&a, sub);
    else if (!strcmp(cmd, "status"))
        rc = cli_cmd_status(&a);
    else if (!strcmp(cmd, "sync"))
        rc = cli_cmd_sync(&a);
    else if (!strcmp(cmd, "export")) {
        st = fc_export(a.c, export_write, stdout, &err);
        rc = st ? cli_fail(&a, st, &err) : 0;
    } else if (!strcmp(cmd, "enroll")) {
        if (a.npos < 2) {
            rc = cli_usage(&a, "enroll needs SERVER_URL CODE%s", NULL);
            goto done;
        }
        st = fc_enroll(a.c, a.pos[0], a.pos[1], opt(&a, "name"), &err);
        rc = st ? cli_fail(&a, st, &err) : cli_ok_msg(&a, "enrolled; run `field-client sync`");
    } else if (!strcmp(cmd, "restore")) {
        rc = run_ids(&a, 0, NULL, "row", "restored", restore_fn, NULL, false);
    } else if (!strcmp(cmd, "dismiss")) {
        int64_t id;
        const char *s = opt(&a, "notice") ? opt(&a, "notice") : a.npos ? a.pos[0] : NULL;
        if (s && s[0] == '#') /* as `status` prints it */
            s++;
        if (!parse_int(s, &id)) {
            rc = cli_usage(&a, "dismiss needs a numeric id from `status`%s", NULL);
            goto done;
        }
        st = opt(&a, "notice") ? fc_notice_dismiss(a.c, id, &err)
                               : fc_rejected_dismiss(a.c, id, &err);
        rc = st ? cli_fail(&a, st, &err) : cli_ok_msg(&a, "dismissed");
    }
done:
    fc_close(a.c);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "field-client: cannot write output: %s\n", strerror(errno));
        rc = 1;
    }
    return rc;
}
