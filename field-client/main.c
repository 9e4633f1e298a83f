/*
 * main.c - the field-client command line: a thin user of libfieldclient.
 *
 * Only argument parsing, output formatting (text or --json), help and the
 * sync progress display live here; every rule about data is in the library,
 * which a handheld app links the same way. Errors are one line on stderr
 * ("field-client: ...") and a non-zero exit status: 2 for usage errors, 3
 * when the device was wiped, 1 for everything else; `sync` exits 4 when it
 * completed but the server rejected changes in it (docs/CLI.md).
 */
#include "fieldclient.h"
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

#define MAX_ARGS 64
/* Exit statuses (docs/CLI.md): 0 ok, 1 error, 2 usage, 3 wiped, and for
 * `sync` 4 = completed, but the server rejected changes in this sync, 5 =
 * offline. */
#define EXIT_USAGE 2
#define EXIT_WIPED 3
#define EXIT_REJECTED 4
/* `sync` only: the server could not be reached; nothing is lost, the
 * changes stay saved on the device for the next sync. */
#define EXIT_OFFLINE 5

/* The executable's configuration, in one struct (no globals). */
typedef struct cli {
    const char *db;
    bool json;
    bool help;
    bool version;
    const char *pos[MAX_ARGS];   /* positional arguments after the command */
    size_t npos;
    const char *optk[MAX_ARGS];  /* --key value / --flag (value "") */
    const char *optv[MAX_ARGS];
    size_t nopt;
    fc_client *c;
    char dbbuf[4096];
    char keybuf[MAX_ARGS][64];   /* option names given as --key=value */
} cli;

/* ------------------------------------------------------------------------ */
/* Output helpers                                                            */
/* ------------------------------------------------------------------------ */

static void json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(o, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", o);
        else if (ch == '\t')
            fputs("\\t", o);
        else if (ch == '\r')
            fputs("\\r", o);
        else if (ch < 0x20)
            fprintf(o, "\\u%04x", ch);
        else
            fputc(ch, o);
    }
    fputc('"', o);
}

static void json_value(FILE *o, const fs_field *f, const fs_value *v)
{
    char buf[FS_ID_STRLEN + 1];

    switch (v->kind) {
    case FS_VAL_NULL:
        fputs("null", o);
        break;
    case FS_VAL_INT:
        if (f->type == FS_TYPE_BOOL)
            fputs(v->u.i ? "true" : "false", o);
        else
            fprintf(o, "%lld", (long long)v->u.i);
        break;
    case FS_VAL_REAL: {
        char r[FS_REAL_STRLEN + 1];
        fs_real_format(v->u.r, r);
        fprintf(o, isfinite(v->u.r) ? "%s" : "\"%s\"", r); /* as `export` */
        break;
    }
    case FS_VAL_TEXT:
        json_str(o, v->u.text.p);
        break;
    case FS_VAL_ID:
        fs_id_format(&v->u.id, buf);
        json_str(o, buf);
        break;
    }
}

static void json_row_owned(FILE *o, const fs_row *r, int mine, const char *sid);

static void json_row(FILE *o, const fs_row *r)
{
    json_row_owned(o, r, -1, NULL);
}

/* mine: -1 = not shown; else the row's "mine" member (fc_row_mine). sid:
 * the row's short id in a list (NULL: not shown). A time field is its UTC
 * RFC 3339 string, with the Unix ms in "<field>_ms" (docs/CLI.md). */
static void json_row_owned(FILE *o, const fs_row *r, int mine, const char *sid)
{
    char id[FS_ID_STRLEN + 1];

    fs_id_format(&r->id, id);
    fprintf(o, "{\"entity\":");
    json_str(o, r->entity->name);
    fprintf(o, ",\"id\":");
    json_str(o, id);
    if (sid) {
        fprintf(o, ",\"short_id\":");
        json_str(o, sid);
    }
    for (size_t i = 0; i < r->entity->nfields; i++) {
        const fs_field *f = &r->entity->fields[i];
        const fs_value *v = &r->cells[i].v;
        fputc(',', o);
        json_str(o, f->name);
        fputc(':', o);
        if (f->type == FS_TYPE_TIME && v->kind == FS_VAL_INT) {
            char t[64];
            fc_time_format(v->u.i, true, t, sizeof t);
            json_str(o, t);
            fprintf(o, ",\"%s_ms\":%lld", f->name, (long long)v->u.i);
        } else {
            json_value(o, f, v);
        }
    }
    if (mine >= 0)
        fprintf(o, ",\"mine\":%s", mine ? "true" : "false");
    fputc('}', o);
}

/* A field as people read it: money in its currency ("EUR 1,256.29", the
 * documented default; currency is the row's own or, for a quote line, its
 * quote's), discounts (basis points) as percentages ("2.5%"), times in the
 * rep's zone (fc_value_format); everything else as fc_value_format. */
static void field_text(const fs_row *r, size_t slot, const char *currency, char *buf,
                       size_t cap)
{
    const fs_field *f = &r->entity->fields[slot];
    const fs_value *v = &r->cells[slot].v;
    int cs = fs_entity_field_index(r->entity, "currency");

    if (cs >= 0 && r->cells[cs].v.kind == FS_VAL_TEXT)
        currency = r->cells[cs].v.u.text.p;
    if (v->kind == FS_VAL_INT && f->type == FS_TYPE_MONEY && currency &&
        fs_currency_exponent(currency) >= 0)
        fs_money_format(v->u.i, currency, FS_MONEY_CODE, buf, cap);
    else if (v->kind == FS_VAL_INT && strcmp(f->name, "discount") == 0)
        fs_percent_format(v->u.i, buf, cap);
    else
        fc_value_format(f, v, buf, cap);
}

static void text_row(FILE *o, const fs_row *r, const char *currency)
{
    char id[FS_ID_STRLEN + 1], buf[8192];

    fs_id_format(&r->id, id);
    fprintf(o, "%s %s\n", r->entity->name, id);
    for (size_t i = 0; i < r->entity->nfields; i++) {
        if (r->cells[i].v.kind == FS_VAL_NULL)
            continue;
        field_text(r, i, currency, buf, sizeof buf);
        fprintf(o, "  %-18s %s\n", r->entity->fields[i].name, buf);
    }
}

/* One line per row in lists: id plus the fields that identify it (the
 * caller adds whose row it is and ends the line). */
static void text_line(FILE *o, const fs_row *r, const char *sid, const char *currency)
{
    static const char *const keys[] = {"name", "status", "esign_status", "title",
                                       "kind", "due_at", "planned_at", "currency",
                                       "sku", "description", "qty", "unit_price",
                                       "price", "amount", "discount", "done", "email",
                                       "address", NULL};
    char buf[256];

    fprintf(o, "%s", sid);
    for (size_t k = 0; keys[k]; k++) {
        int s = fs_entity_field_index(r->entity, keys[k]);
        if (s < 0 || r->cells[s].v.kind == FS_VAL_NULL)
            continue;
        field_text(r, (size_t)s, currency, buf, sizeof buf);
        fprintf(o, "  %s=%s", keys[k], buf);
    }
}

/* The machine code of a failure in --json output (docs/CLI.md): stable
 * names, one per fc_status, plus "usage", "offline" and "not_confirmed". */
static const char *error_code(fc_status st)
{
    static const char *const codes[] = {
        "ok", "invalid", "no_memory", "database", "not_found", "value", "transition",
        "frozen", "not_enrolled", "already_enrolled", "network", "http", "protocol",
        "wiped", "server_owned", "busy", "denied", "ambiguous", "offline"};
    return (unsigned)st < sizeof codes / sizeof codes[0] ? codes[st] : "error";
}

/* Every failure ends here: one line on stderr and, with --json, the one
 * failure shape {"ok":false,"error":{"code":...,"message":...}} on stdout. */
static int fail_code(cli *a, const char *code, const char *msg, int status)
{
    fprintf(stderr, "field-client: %s\n", msg);
    if (a->json) {
        printf("{\"ok\":false,\"error\":{\"code\":");
        json_str(stdout, code);
        printf(",\"message\":");
        json_str(stdout, msg);
        printf("}}\n");
    }
    return status;
}

static int fail(cli *a, fc_status st, const fs_error *err)
{
    const char *msg = err && err->text[0] ? err->text : fc_strerror(st);

    return fail_code(a, error_code(st), msg, st == FC_EWIPED ? EXIT_WIPED : 1);
}

static int usage_error(cli *a, const char *fmt, const char *arg)
{
    char msg[600];
    int k = snprintf(msg, sizeof msg, fmt, arg ? arg : "");

    if (k >= 0 && (size_t)k < sizeof msg)
        snprintf(msg + k, sizeof msg - (size_t)k, " (see field-client --help)");
    return fail_code(a, "usage", msg, EXIT_USAGE);
}

static int ok_id(cli *a, const char *what, const fs_id *id)
{
    char s[FS_ID_STRLEN + 1];

    fs_id_format(id, s);
    if (a->json)
        printf("{\"ok\":true,\"id\":\"%s\"}\n", s);
    else
        printf("%s %s\n", what, s);
    return 0;
}

static int ok_msg(cli *a, const char *msg)
{
    if (a->json) {
        printf("{\"ok\":true,\"message\":");
        json_str(stdout, msg);
        printf("}\n");
    } else {
        printf("%s\n", msg);
    }
    return 0;
}

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
        *rc = usage_error(a, "missing %s id", what);
        return false;
    }
    snprintf(entity, sizeof entity, "%s", what);
    for (char *p = entity; *p; p++)
        if (*p == ' ')
            *p = '_';
    st = fc_resolve(a->c, strcmp(entity, "row") == 0 ? NULL : entity, a->pos[i], out, &err);
    if (st) {
        *rc = fail(a, st, &err);
        return false;
    }
    return true;
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
        fail_code(a, "usage", msg, EXIT_USAGE);
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
            return usage_error(a, "expected field=value, got '%s'", a->pos[i]);
        klen = (size_t)(eq - a->pos[i]);
        if (klen >= 64)
            return usage_error(a, "field name too long in '%s'", a->pos[i]);
        memcpy(bufs[*n], a->pos[i], klen);
        bufs[*n][klen] = '\0';
        kv[*n].field = bufs[*n];
        kv[*n].value = eq + 1;
        (*n)++;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Listing                                                                   */
/* ------------------------------------------------------------------------ */

static const char *row_text_field(const fs_row *r, const char *field)
{
    int s = fs_entity_field_index(r->entity, field);
    return s >= 0 && r->cells[s].v.kind == FS_VAL_TEXT ? r->cells[s].v.u.text.p : NULL;
}

typedef struct list_ctx {
    cli *a;
    size_t n;
    const char *currency; /* quote lines: their quote's currency */
    fc_short_ids *sids;   /* the listed entity's short ids */
    fs_id cust;           /* the customer whose name is in cust_name */
    char cust_name[128];
    char rep[FS_ID_STRLEN + 1]; /* this device's rep, "" before enrollment */
} list_ctx;

/* Before fc_list: the device's rep, read outside the listing's statement
 * (fc_info_get runs its own read transaction). */
static void list_ctx_init(list_ctx *lc, cli *a, const char *entity)
{
    fc_info in;
    fs_error err = {0};

    memset(lc, 0, sizeof *lc);
    lc->a = a;
    if (fc_info_get(a->c, &in, &err) == FC_OK && in.enrolled)
        fs_id_format(&in.rep_id, lc->rep);
    /* Without them (an error) rows show the last 8 digits of their id. */
    if (fc_short_ids_load(a->c, entity, &lc->sids, &err) != FC_OK)
        lc->sids = NULL;
}

static void list_ctx_done(list_ctx *lc)
{
    fc_short_ids_free(lc->sids);
    lc->sids = NULL;
}

/* The name of the customer a row belongs to (lists say whose it is),
 * remembered for the next row, which is often the same customer's. */
static const char *customer_name(list_ctx *lc, const fs_row *r)
{
    int s = fs_entity_field_index(r->entity, "customer_id");
    fs_row c = {0};
    fs_error err = {0};

    if (s < 0 || r->cells[s].v.kind != FS_VAL_ID)
        return NULL;
    if (lc->cust_name[0] && fs_id_cmp(&lc->cust, &r->cells[s].v.u.id) == 0)
        return lc->cust_name;
    lc->cust = r->cells[s].v.u.id;
    lc->cust_name[0] = '\0';
    if (fc_get(lc->a->c, "customer", &lc->cust, &c, &err) == FC_OK &&
        row_text_field(&c, "name"))
        snprintf(lc->cust_name, sizeof lc->cust_name, "%s", row_text_field(&c, "name"));
    fs_row_free(&c);
    return lc->cust_name[0] ? lc->cust_name : NULL;
}

/* Whose row: "you", or the rep id the row names (rep names live at the
 * server, not on the device), or "-" when none is recorded. */
static const char *rep_label(const list_ctx *lc, const char *rep, bool mine)
{
    if (mine)
        return "you";
    if (rep && lc->rep[0] && strcmp(rep, lc->rep) == 0)
        return "you";
    return rep ? rep : "-";
}

/* Rows that have a rep (visits, quotes, tasks) or a creator (contacts) say
 * whose they are: `rep=you` / `rep=ID`, and a visit planned by someone else
 * also `planned_by=...`. */
static void text_owner(list_ctx *lc, const fs_row *r)
{
    fs_error err = {0};
    bool mine = false;
    const char *f = fs_entity_field_index(r->entity, "rep_id") >= 0 ? "rep_id"
                    : fs_entity_field_index(r->entity, "created_by") >= 0 ? "created_by"
                                                                          : NULL;
    const char *planned = row_text_field(r, "planned_by");

    if (!f)
        return;
    if (fc_row_mine(lc->a->c, r, &mine, &err) != FC_OK)
        mine = false;
    printf("  %s=%s", strcmp(f, "rep_id") == 0 ? "rep" : f,
           rep_label(lc, row_text_field(r, f), mine));
    if (planned && (!row_text_field(r, f) || strcmp(planned, row_text_field(r, f)) != 0))
        printf("  planned_by=%s", rep_label(lc, planned, false));
}

static bool print_row_cb(const fs_row *r, void *p)
{
    list_ctx *lc = p;
    bool owned = fs_entity_field_index(r->entity, "rep_id") >= 0 ||
                 fs_entity_field_index(r->entity, "created_by") >= 0;
    bool mine = false;
    fs_error err = {0};
    char sid[33];

    fc_short_ids_format(lc->sids, &r->id, sid);
    if (lc->a->json) {
        if (lc->n)
            fputc(',', stdout);
        if (owned && fc_row_mine(lc->a->c, r, &mine, &err) != FC_OK)
            mine = false;
        json_row_owned(stdout, r, owned ? mine : -1, sid);
    } else {
        const char *cust = customer_name(lc, r);
        text_line(stdout, r, sid, lc->currency);
        if (cust)
            printf("  customer=%s", cust);
        if (owned)
            text_owner(lc, r);
        fputc('\n', stdout);
    }
    lc->n++;
    return true;
}

static int list_rows(cli *a, const char *entity, const fc_query *q)
{
    list_ctx lc;
    fs_error err = {0};
    fc_status st;

    list_ctx_init(&lc, a, entity);
    if (a->json)
        printf("{\"ok\":true,\"rows\":[");
    st = fc_list(a->c, entity, q, print_row_cb, &lc, NULL, &err);
    list_ctx_done(&lc);
    if (a->json)
        printf("]}\n");
    if (st)
        return fail(a, st, &err);
    if (!a->json && lc.n == 0)
        printf("(no %s)\n", entity);
    return 0;
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
    return list_rows(a, entity, &q);
}

static int show_row(cli *a, const char *entity, const fs_id *id)
{
    fs_row r = {0};
    fs_error err = {0};
    fc_status st = fc_get(a->c, entity, id, &r, &err);
    int rc = 0;

    if (st) {
        rc = fail(a, st, &err);
    } else if (a->json) {
        printf("{\"ok\":true,\"row\":");
        json_row(stdout, &r);
        printf("}\n");
    } else {
        text_row(stdout, &r, NULL);
    }
    fs_row_free(&r);
    return rc;
}

/* customer show: the customer and what hangs off it. */
static int show_customer(cli *a, const fs_id *id)
{
    static const char *const kids[] = {"contact", "visit", "quote", "contract",
                                       "task", NULL};
    fs_row r = {0};
    fs_error err = {0};
    fc_status st = fc_get(a->c, "customer", id, &r, &err);
    fc_query q = {0};

    if (st) {
        fs_row_free(&r);
        return fail(a, st, &err);
    }
    q.parent = id;
    if (a->json) {
        printf("{\"ok\":true,\"row\":");
        json_row(stdout, &r);
    } else {
        text_row(stdout, &r, NULL);
    }
    fs_row_free(&r);
    for (size_t k = 0; kids[k]; k++) {
        list_ctx lc;
        list_ctx_init(&lc, a, kids[k]);
        if (a->json)
            printf(",\"%ss\":[", kids[k]);
        else
            printf("%ss:\n", kids[k]);
        st = fc_list(a->c, kids[k], &q, print_row_cb, &lc, NULL, &err);
        list_ctx_done(&lc);
        if (a->json)
            printf("]");
        if (st)
            return fail(a, st, &err);
    }
    if (a->json)
        printf("}\n");
    return 0;
}

static int show_quote(cli *a, const fs_id *id)
{
    fs_row r = {0};
    fs_error err = {0};
    fs_quote_totals t;
    fc_query q = {0};
    list_ctx lc;
    char cur[4] = "", sub[64], dis[64], tot[64];
    fc_status st = fc_get(a->c, "quote", id, &r, &err);

    list_ctx_init(&lc, a, "quote_line");
    if (!st)
        st = fc_quote_totals(a->c, id, &t, &err);
    if (st) {
        fs_row_free(&r);
        list_ctx_done(&lc);
        return fail(a, st, &err);
    }
    if (row_text_field(&r, "currency"))
        snprintf(cur, sizeof cur, "%s", row_text_field(&r, "currency"));
    lc.currency = cur;
    q.parent = id;
    if (a->json) {
        printf("{\"ok\":true,\"row\":");
        json_row(stdout, &r);
        printf(",\"totals\":{\"subtotal\":%lld,\"discount\":%lld,\"total\":%lld,"
               "\"lines\":%zu},\"lines\":[", (long long)t.subtotal,
               (long long)t.discount, (long long)t.total, t.lines);
    } else {
        text_row(stdout, &r, NULL);
        printf("lines:\n");
    }
    fs_row_free(&r);
    st = fc_list(a->c, "quote_line", &q, print_row_cb, &lc, NULL, &err);
    list_ctx_done(&lc);
    if (a->json) {
        printf("]}\n");
    } else {
        fs_money_format(t.subtotal, cur, FS_MONEY_CODE, sub, sizeof sub);
        fs_money_format(t.discount, cur, FS_MONEY_CODE, dis, sizeof dis);
        fs_money_format(t.total, cur, FS_MONEY_CODE, tot, sizeof tot);
        printf("totals: subtotal %s  discount %s  total %s\n", sub, dis, tot);
    }
    return st ? fail(a, st, &err) : 0;
}

/* ------------------------------------------------------------------------ */
/* Status                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct status_ctx {
    cli *a;
    size_t n;
    bool rejected_only;
} status_ctx;

/* The writes of an outbox change: "field = value" lines (text) or a
 * "values" array (JSON). For a rejected change these are the refused
 * values, which exist nowhere else on the device. */
static void change_values(const cli *a, const fs_change *ch)
{
    char buf[512];

    if (a->json)
        printf(",\"values\":[");
    for (size_t i = 0; ch && i < ch->nfields; i++) {
        const fs_field *f = &ch->entity->fields[ch->fields[i].slot];
        if (a->json) {
            printf("%s{\"field\":", i ? "," : "");
            json_str(stdout, f->name);
            printf(",\"value\":");
            json_value(stdout, f, &ch->fields[i].v);
            printf("}");
        } else {
            fc_value_format(f, &ch->fields[i].v, buf, sizeof buf);
            printf("      %s = %s\n", f->name, buf);
        }
    }
    if (a->json)
        printf("]");
    if (ch && ch->has_tomb) {
        if (a->json)
            printf(",\"deleted\":%s", ch->deleted ? "true" : "false");
        else
            printf("      (%s)\n", ch->deleted ? "delete" : "restore");
    }
}

static void row_label(cli *a, const char *entity, const fs_id *id, char *out, size_t cap);

static bool change_cb(const fc_change_info *ch, void *p)
{
    status_ctx *sc = p;
    char id[FS_ID_STRLEN + 1];
    /* fc_change_state order; "awaiting": confirmed by the server (merged),
     * still shown until the server's version of the row arrives. */
    static const char *const states[] = {"pending", "in_flight", "rejected", "awaiting"};
    /* The same states in the rep's words (text output). */
    static const char *const words[] = {"waiting", "sent", "rejected", "confirmed"};
    const char *state = (unsigned)ch->state < 4 ? states[ch->state] : "unknown";
    const char *word = (unsigned)ch->state < 4 ? words[ch->state] : "unknown";

    fs_id_format(&ch->row, id);
    if (sc->a->json) {
        if (sc->n)
            fputc(',', stdout);
        printf("{\"outbox_id\":%lld,\"state\":\"%s\",\"entity\":\"%s\",\"row\":\"%s\","
               "\"summary\":", (long long)ch->id, state, ch->entity->name, id);
        json_str(stdout, ch->summary);
        printf(",\"reason\":");
        json_str(stdout, ch->reason);
        printf(",\"detail\":");
        json_str(stdout, ch->detail);
        change_values(sc->a, ch->change);
        printf("}");
    } else {
        /* The row as the rep knows it: its name (or title...), else its id. */
        char label[120];
        row_label(sc->a, ch->entity->name, &ch->row, label, sizeof label);
        if (ch->state == FC_CHANGE_REJECTED) {
            printf("  rejected #%lld %s %s: %s (%s); refused:\n", (long long)ch->id,
                   ch->summary, label[0] ? label : id,
                   ch->detail[0] ? ch->detail : ch->reason, ch->reason);
            change_values(sc->a, ch->change);
        } else {
            printf("  %-9s #%lld %s %s\n", word, (long long)ch->id, ch->summary,
                   label[0] ? label : id);
        }
    }
    sc->n++;
    return true;
}

static bool notice_cb(const fc_notice *n, void *p)
{
    status_ctx *sc = p;
    char id[FS_ID_STRLEN + 1];

    fs_id_format(&n->row, id);
    if (sc->a->json) {
        if (sc->n)
            fputc(',', stdout);
        printf("{\"notice_id\":%lld,\"kind\":\"%s\",\"entity\":\"%s\",\"row\":\"%s\","
               "\"label\":", (long long)n->id, n->kind, n->entity, id);
        json_str(stdout, n->label);
        printf(",\"reason\":");
        json_str(stdout, n->reason);
        printf(",\"detail\":");
        json_str(stdout, n->detail);
        printf(",\"at_ms\":%lld}", (long long)n->at_ms);
    } else if (strcmp(n->kind, "conflict") == 0) {
        /* Which row (by name), what happened, what to do. */
        printf("  #%lld %s %s: %s; your edit was not kept (edit it again if it still "
               "matters, then dismiss --notice '#%lld')\n", (long long)n->id, n->entity,
               n->label[0] ? n->label : id, n->detail[0] ? n->detail : n->reason,
               (long long)n->id);
    } else {
        printf("  #%lld %s (dismiss --notice '#%lld' once seen)\n", (long long)n->id,
               n->detail[0] ? n->detail : id, (long long)n->id);
    }
    sc->n++;
    return true;
}

static bool conflict_cb(const fc_conflict *k, void *p)
{
    status_ctx *sc = p;
    char id[FS_ID_STRLEN + 1];

    fs_id_format(&k->row, id);
    if (sc->a->json) {
        if (sc->n)
            fputc(',', stdout);
        printf("{\"conflict_id\":%llu,\"entity\":\"%s\",\"row\":\"%s\",\"label\":",
               (unsigned long long)k->id, k->entity, id);
        json_str(stdout, k->label);
        printf(",\"field\":");
        json_str(stdout, k->field);
        printf(",\"rule\":");
        json_str(stdout, k->rule);
        printf(",\"mine_kept\":%s,\"detail\":", k->mine_kept ? "true" : "false");
        json_str(stdout, k->detail);
        printf(",\"created_ms\":%lld}", (long long)k->created_ms);
    } else {
        printf("  #%llu %s %s, %s: %s (%s)\n", (unsigned long long)k->id, k->entity,
               k->label[0] ? k->label : id, k->field,
               k->detail[0] ? k->detail : k->rule,
               k->mine_kept ? "your value is kept for now" : "your value was not kept");
    }
    sc->n++;
    return true;
}

static int cmd_status(cli *a)
{
    fc_info in;
    fs_error err = {0};
    fc_status st = fc_info_get(a->c, &in, &err);
    char dev[FS_ID_STRLEN + 1], rep[FS_ID_STRLEN + 1], when[64] = "never";
    status_ctx sc = {a, 0, false};

    if (st)
        return fail(a, st, &err);
    fs_id_format(&in.device_id, dev);
    fs_id_format(&in.rep_id, rep);
    if (in.last_sync_ms)
        fc_time_format(in.last_sync_ms, false, when, sizeof when);
    if (a->json) {
        printf("{\"ok\":true,\"enrolled\":%s,\"server\":", in.enrolled ? "true" : "false");
        json_str(stdout, in.server);
        printf(",\"device_id\":\"%s\",\"rep_id\":%s%s%s,\"cursor\":%llu,"
               "\"bootstrapped\":%s,\"last_sync_ms\":%lld,\"pending\":%zu,"
               "\"in_flight\":%zu,\"rejected\":%zu,\"awaiting\":%zu,\"changes\":[", dev,
               in.enrolled ? "\"" : "", in.enrolled ? rep : "null",
               in.enrolled ? "\"" : "", (unsigned long long)in.cursor,
               in.bootstrapped ? "true" : "false", (long long)in.last_sync_ms,
               in.pending, in.in_flight, in.rejected, in.awaiting);
    } else {
        printf("server:       %s\n", in.enrolled ? in.server : "(not enrolled)");
        printf("device:       %s%s\n", dev, in.enrolled ? "" : " (provisional)");
        if (in.enrolled)
            printf("rep:          %s\n", rep);
        printf("last sync:    %s%s\n", when,
               in.enrolled && !in.bootstrapped ? " (initial download not finished)" : "");
        /* Two different things for a rep: still on the device, or sent
         * but the answer was lost (resent as the same batch). */
        printf("waiting:      %zu change(s) waiting to send\n", in.pending - in.in_flight);
        if (in.in_flight)
            printf("sent:         %zu change(s) sent, answer not yet received\n",
                   in.in_flight);
        printf("rejected:     %zu change(s)\n", in.rejected);
        if (in.awaiting)
            printf("confirmed:    %zu change(s), awaiting the server's row\n",
                   in.awaiting);
        if (in.pending || in.rejected || in.awaiting)
            printf("changes:\n");
    }
    st = fc_outbox_list(a->c, change_cb, &sc, &err);
    if (st)
        return fail(a, st, &err);
    if (a->json)
        printf("],\"notices\":[");
    else if (in.notices)
        printf("notices (scope exits, conflicts):\n");
    sc.n = 0;
    st = fc_notice_list(a->c, notice_cb, &sc, &err);
    if (st)
        return fail(a, st, &err);
    if (a->json)
        printf("],\"open_conflicts\":%zu,\"conflicts\":[", in.open_conflicts);
    else if (in.open_conflicts)
        printf("open conflicts (%zu, awaiting the back office):\n", in.open_conflicts);
    sc.n = 0;
    st = fc_conflict_list(a->c, conflict_cb, &sc, &err);
    if (st)
        return fail(a, st, &err);
    if (a->json)
        printf("]}\n");
    else if (in.open_conflicts > sc.n)
        printf("  ... and %zu older\n", in.open_conflicts - sc.n);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Sync progress                                                             */
/* ------------------------------------------------------------------------ */

typedef struct prog_ctx {
    bool tty;
    bool quiet;
    unsigned spin;
} prog_ctx;

/* Rows and exits pulled so far, never more than the server's count: the
 * count is taken at the first round, and rows written meanwhile (or a row
 * pulled twice after a resumed page) may add to what is pulled. */
static size_t progress_done(const fc_progress *p)
{
    size_t done = p->rows + p->exits;
    return p->total && done > p->total ? p->total : done;
}

static void on_progress(const fc_progress *p, void *payload)
{
    prog_ctx *pc = payload;

    if (pc->quiet)
        return;
    if (p->retry) {
        fprintf(stderr, "%ssync: network problem (%s); retry %u...%s", pc->tty ? "\r\033[K" : "",
                p->note, p->retry, pc->tty ? "" : "\n");
        return;
    }
    if (pc->tty) {
        /* The server counts what this sync pulls at the first round; an
         * older server does not, and the bar then only shows activity. */
        char bar[21], pct[8] = "";
        size_t done = progress_done(p);
        unsigned fill = p->has_more ? (pc->spin++ % 20) + 1 : 20;
        if (p->total && p->has_more) {
            unsigned percent = (unsigned)(done >= p->total ? 99 : done * 100 / p->total);
            fill = percent / 5;
            snprintf(pct, sizeof pct, " %3u%%", percent);
        } else if (!p->has_more) {
            snprintf(pct, sizeof pct, " 100%%");
        }
        for (unsigned i = 0; i < 20; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[20] = '\0';
        fprintf(stderr, "\r\033[K[%s]%s round %u  pushed %zu  pulled %zu rows", bar, pct,
                p->round, p->pushed, p->total ? progress_done(p) : p->rows);
        if (p->total)
            fprintf(stderr, " of %zu", p->total);
    } else {
        char of[40] = "";
        if (p->total)
            snprintf(of, sizeof of, " (%zu of %zu)", progress_done(p), p->total);
        fprintf(stderr, "sync: round %u pushed %zu (applied %zu, rejected %zu) pulled "
                "%zu rows, %zu exits%s%s\n", p->round, p->pushed, p->applied, p->rejected,
                p->rows, p->exits, of, p->has_more ? ", more to come" : "");
    }
}

static int cmd_sync(cli *a)
{
    prog_ctx pc = {isatty(2) != 0, a->json, 0};
    fc_sync_report rep;
    fs_error err = {0};
    fc_status st = fc_sync(a->c, on_progress, &pc, &rep, &err);
    fc_info in;

    if (pc.tty && !pc.quiet)
        fputc('\n', stderr);
    if (fc_info_get(a->c, &in, NULL))
        memset(&in, 0, sizeof in);
    if (st == FC_ENETWORK || st == FC_EOFFLINE) {
        /* No network is the field's normal state, not an error: one line,
         * what is kept, and its own status for scripts. */
        char msg[700];
        char why[200] = "";
        if (st == FC_ENETWORK) /* reached, maybe: say what broke */
            snprintf(why, sizeof why, " (%.180s)", err.text);
        snprintf(msg, sizeof msg, "offline: cannot reach %s%s; %zu change(s) saved on "
                 "this device, to be sent at the next sync",
                 in.server[0] ? in.server : "the server", why, in.pending);
        return fail_code(a, "offline", msg, EXIT_OFFLINE);
    }
    if (st)
        return fail(a, st, &err);
    if (a->json) {
        printf("{\"ok\":true,\"rounds\":%u,\"pushed\":%zu,\"applied\":%zu,\"rejected\":%zu,"
               "\"rows\":%zu,\"exits\":%zu,\"notices\":%zu,\"pending\":%zu}\n",
               rep.totals.round, rep.totals.pushed, rep.totals.applied,
               rep.totals.rejected, rep.totals.rows, rep.totals.exits, rep.notices,
               in.pending);
    } else {
        printf("synced: %zu change(s) pushed (%zu rejected), %zu row(s) pulled, %zu "
               "removed from this device\n", rep.totals.pushed, rep.totals.rejected,
               rep.totals.rows, rep.totals.exits);
        if (rep.totals.rejected || rep.notices)
            printf("see `field-client status` for rejected changes and notices\n");
    }
    /* The sync itself worked, but something the rep wrote did not take
     * effect: scripts must not read that as plain success. */
    return rep.totals.rejected ? EXIT_REJECTED : 0;
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
    {"customer", "customer list [--search TEXT] [--limit N]\n"
     "  customer search TEXT\n  customer show ID\n"
     "  customer add name=NAME [address=.. phone=.. tags=.. segment=.. lat=.. lon=..]\n"
     "  customer edit ID field=value...\n  customer delete ID",
     "Customers in your scope. Wherever a command takes an ID it also takes the\n"
     "short id a list shows (the last digits of the id) and, for customers, the\n"
     "name or a unique part of it; a reference matching several rows lists them\n"
     "and changes nothing. search is offline full-text over name, address,\n"
     "tags and contacts (prefix match). territory and owner_rep are set by the\n"
     "back office and cannot be edited here. A customer is shared by everyone who\n"
     "works with it: only the back office deletes one (customer delete refuses)."},
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
    return usage_error(a, "unknown command '%s'", cmd);
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
        return usage_error(a, "missing %s id", what);
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
static void row_label(cli *a, const char *entity, const fs_id *id, char *out, size_t cap)
{
    static const char *const keys[] = {"name", "title", "sku", "description", NULL};
    fs_row r = {0};
    fs_error err = {0};

    out[0] = '\0';
    if (entity && fc_get(a->c, entity, id, &r, &err) == FC_OK)
        for (size_t k = 0; keys[k] && !out[0]; k++)
            if (row_text_field(&r, keys[k]))
                snprintf(out, cap, "%s", row_text_field(&r, keys[k]));
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
        return usage_error(a, "%s delete asks for confirmation on a terminal; add "
                           "--yes to delete without asking (nothing was deleted)", entity);
    for (size_t i = 0; i < n; i++) {
        fs_id_format(&ids[i], id);
        row_label(a, entity, &ids[i], label, sizeof label);
        fprintf(stderr, "delete %s %s%s%s%s\n", entity, id, label[0] ? " (" : "", label,
                label[0] ? ")" : "");
    }
    fprintf(stderr, "delete %s %s? [y/N] ", n == 1 ? "this" : "these", entity);
    fflush(stderr);
    if (!fgets(line, sizeof line, stdin) || (strcmp(line, "y\n") != 0 &&
                                             strcmp(line, "yes\n") != 0)) {
        return fail_code(a, "not_confirmed", "nothing was deleted", 1);
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
        {"contact", "list", 1}, {"contact", "show", 1},
        {"visit", "list", 1}, {"visit", "show", 1}, {"visit", "plan", 1},
        {"visit", "checkin", 1}, {"visit", "checkout", 1}, {"visit", "abandon", 1},
        {"visit", "note", 2},
        {"quote", "list", 1}, {"quote", "new", 2}, {"quote", "line-add", 1},
        {"quote", "discount", 2}, {"quote", "send", 1}, {"quote", "show", 1},
        {"contract", "list", 1}, {"contract", "new", 1}, {"contract", "show", 1},
        {"contract", "esign", 2},
        {"task", "list", 0}, {"task", "add", 2}, {"task", "show", 1},
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
            return usage_error(a, "too many arguments (from '%s'); nothing was done",
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
        row_label(a, entity, &ids[i], labels[i], sizeof labels[i]);
    st = fc_each_id(a->c, ids, n, fn, arg, &failed, &err);
    if (st) {
        fs_error e2 = {0};
        if (n > 1) {
            snprintf(e2.text, sizeof e2.text, "%.*s (nothing was changed)",
                     (int)(sizeof e2.text - 24), err.text[0] ? err.text : fc_strerror(st));
            return fail(a, st, &e2);
        }
        return fail(a, st, &err);
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
            return usage_error(a, "customer search needs TEXT%s", NULL);
        if (opt(a, "mine"))
            return usage_error(a, "--mine works on visit, task and quote lists%s", NULL);
        if (opt(a, "limit")) {
            if (!parse_int(opt(a, "limit"), &lim) || lim < 0 || lim > 1000000)
                return usage_error(a, "--limit takes a count, not '%s'", opt(a, "limit"));
            q.limit = (uint32_t)lim;
        }
        return list_rows(a, "customer", &q);
    }
    if (strcmp(sub, "show") == 0)
        return parse_id_arg(a, 1, "customer", &id, &rc) ? show_customer(a, &id) : rc;
    if (strcmp(sub, "add") == 0) {
        if ((rc = kv_args(a, 1, kv, names, &n)) != 0)
            return rc;
        st = fc_customer_add(a->c, kv, n, &id, &err);
        return st ? fail(a, st, &err) : ok_id(a, "customer added", &id);
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
        return st ? fail(a, st, &err) : ok_id(a, "customer updated", &id);
    }
    return usage_error(a, "unknown customer command '%s'", sub);
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
        return list_rows(a, "contact", &q);
    }
    if (strcmp(sub, "show") == 0)
        return parse_id_arg(a, 1, "contact", &id, &rc) ? show_row(a, "contact", &id) : rc;
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
        return st ? fail(a, st, &err) : ok_id(a, add ? "contact added" : "contact updated",
                                              add ? &nid : &id);
    }
    return usage_error(a, "unknown contact command '%s'", sub);
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
        return show_row(a, "visit", &id);
    at = time_opt(a, "at", &bad);
    if (bad)
        return 2;
    if (strcmp(sub, "plan") == 0) {
        st = fc_visit_plan(a->c, &id, at, &nid, &err);
        return st ? fail(a, st, &err) : ok_id(a, "visit planned", &nid);
    }
    if (strcmp(sub, "checkin") == 0 || strcmp(sub, "checkout") == 0) {
        const char *sl = opt(a, "lat"), *so = opt(a, "lon"), *sa = opt(a, "accuracy");
        bool in = strcmp(sub, "checkin") == 0;
        if ((in && (!sl || !so || !sa)) || (!in && (!sl != !so)))
            return usage_error(a, "%s", in ? "checkin needs --lat, --lon and --accuracy"
                                           : "checkout takes both --lat and --lon or neither");
        if ((sl && !parse_num(sl, &lat)) || (so && !parse_num(so, &lon)) ||
            (sa && !parse_num(sa, &acc))) {
            fs_error e2 = {0};
            snprintf(e2.text, sizeof e2.text, "malformed GPS: --lat/--lon/--accuracy "
                     "take decimal numbers (got '%s', '%s', '%s')", sl ? sl : "",
                     so ? so : "", sa ? sa : "");
            return fail(a, FC_EINVAL, &e2);
        }
        st = in ? fc_visit_checkin(a->c, &id, lat, lon, acc, at, &err)
                : fc_visit_checkout(a->c, &id, lat, lon, at, opt(a, "outcome"), &err);
        return st ? fail(a, st, &err) : ok_id(a, in ? "checked in" : "checked out", &id);
    }
    if (strcmp(sub, "note") == 0) {
        const char *text = a->npos > 2 ? a->pos[2] : NULL;
        if (!text && !opt(a, "next-step"))
            return usage_error(a, "visit note needs TEXT%s", NULL);
        st = fc_visit_note(a->c, &id, text, !opt(a, "replace"), opt(a, "next-step"), &err);
        return st ? fail(a, st, &err) : ok_id(a, "note saved", &id);
    }
    if (strcmp(sub, "abandon") == 0) {
        st = fc_visit_abandon(a->c, &id, opt(a, "outcome"), &err);
        return st ? fail(a, st, &err) : ok_id(a, "visit abandoned", &id);
    }
    return usage_error(a, "unknown visit command '%s'", sub);
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
        row_text_field(&r, "currency"))
        snprintf(cur, 4, "%s", row_text_field(&r, "currency"));
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
    *rc = fail_code(a, "value", msg, 1);
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
    *rc = fail_code(a, "value", msg, 1);
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
        return show_quote(a, &id);
    if (strcmp(sub, "new") == 0) {
        if (a->npos < 3)
            return usage_error(a, "quote new needs CUSTOMER_ID CURRENCY%s", NULL);
        st = fc_quote_new(a->c, &id, a->pos[2], &nid, &err);
        return st ? fail(a, st, &err) : ok_id(a, "quote created", &nid);
    }
    if (strcmp(sub, "line-add") == 0) {
        if (!parse_int(opt(a, "qty"), &qty))
            return usage_error(a, "line-add needs --qty N (a whole number)%s", NULL);
        if ((!opt(a, "price") || !*opt(a, "price")) && (!opt(a, "sku") || !*opt(a, "sku")))
            return usage_error(a, "line-add needs --price AMOUNT (in the quote's "
                               "currency, e.g. 39.50) or a catalog --sku%s", NULL);
        quote_currency(a, "quote", &id, cur);
        if (!cur[0])
            return show_quote(a, &id); /* reports the missing quote */
        price = FC_CATALOG_PRICE; /* the catalog's, for a --sku without --price */
        if (opt(a, "price") && *opt(a, "price") &&
            !money_arg(a, "--price", opt(a, "price"), cur, &price, &rc))
            return rc;
        if (opt(a, "discount") && !percent_arg(a, "--discount", opt(a, "discount"), &disc,
                                               &rc))
            return rc;
        st = fc_quote_line_add(a->c, &id, opt(a, "sku"), opt(a, "desc"), qty, price, disc,
                               &nid, &err);
        return st ? fail(a, st, &err) : ok_id(a, "line added", &nid);
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
        return st ? fail(a, st, &err) : ok_id(a, "line updated", &id);
    }
    if (strcmp(sub, "discount") == 0) {
        if (a->npos < 3)
            return usage_error(a, "quote discount needs QUOTE_ID PERCENT (e.g. 2.5%%)%s",
                               NULL);
        if (!percent_arg(a, "discount", a->pos[2], &disc, &rc))
            return rc;
        st = fc_quote_discount(a->c, &id, disc, &err);
        return st ? fail(a, st, &err) : ok_id(a, "discount set", &id);
    }
    if (strcmp(sub, "send") == 0) {
        st = fc_quote_send(a->c, &id, &err);
        return st ? fail(a, st, &err) : ok_id(a, "quote sent", &id);
    }
    if (strcmp(sub, "accept") == 0 || strcmp(sub, "reject") == 0) {
        bool acc = strcmp(sub, "accept") == 0;
        st = fc_quote_set_status(a->c, &id, fs_quote_state_name(acc ? FS_QUOTE_ACCEPTED
                                                                    : FS_QUOTE_REJECTED),
                                 &err);
        return st ? fail(a, st, &err) : ok_id(a, acc ? "quote accepted" : "quote rejected", &id);
    }
    if (strcmp(sub, "revise") == 0) {
        st = fc_quote_revise(a->c, &id, &nid, &err);
        return st ? fail(a, st, &err) : ok_id(a, "quote revised; new draft", &nid);
    }
    return usage_error(a, "unknown quote command '%s'", sub);
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
        return st ? fail(a, st, &err) : ok_id(a, "contract created", &nid);
    }
    if (strcmp(sub, "show") == 0)
        return show_row(a, "contract", &id);
    if (strcmp(sub, "esign") == 0) {
        if (a->npos < 3)
            return usage_error(a, "contract esign needs ID STATUS%s", NULL);
        st = fc_contract_esign(a->c, &id, a->pos[2], &err);
        if (st)
            return fail(a, st, &err);
        snprintf(msg, sizeof msg, "e-sign status is now %.32s", a->pos[2]);
        return ok_msg(a, msg);
    }
    return usage_error(a, "unknown contract command '%s'", sub);
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

    if (pc->text && !contains_nocase(row_text_field(r, "sku"), pc->text) &&
        !contains_nocase(row_text_field(r, "name"), pc->text))
        return true;
    return print_row_cb(r, &pc->lc);
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
        return parse_id_arg(a, 1, "product", &id, &rc) ? show_row(a, "product", &id) : rc;
    if (strcmp(sub, "list") != 0 && strcmp(sub, "search") != 0)
        return usage_error(a, "unknown product command '%s'", sub);
    if (strcmp(sub, "search") == 0 && a->npos < 2)
        return usage_error(a, "product search needs TEXT%s", NULL);
    list_ctx_init(&pc.lc, a, "product");
    pc.text = strcmp(sub, "search") == 0 ? a->pos[1] : opt(a, "search");
    if (a->json)
        printf("{\"ok\":true,\"rows\":[");
    st = fc_list(a->c, "product", NULL, product_cb, &pc, NULL, &err);
    list_ctx_done(&pc.lc);
    if (a->json)
        printf("]}\n");
    if (st)
        return fail(a, st, &err);
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
                return fail(a, FC_EINVAL, &err);
            due = start;
        }
        q.open_only = !opt(a, "all");
        q.due_before_ms = due;
        q.mine = opt(a, "mine") != NULL;
        return list_rows(a, "task", &q);
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
            return usage_error(a, "task add needs CUSTOMER_ID TITLE%s", NULL);
        st = fc_task_add(a->c, &id, a->pos[2], opt(a, "kind"), due, &nid, &err);
        return st ? fail(a, st, &err) : ok_id(a, "task added", &nid);
    }
    if (strcmp(sub, "edit") == 0) {
        fc_kv kv[MAX_ARGS];
        char names[MAX_ARGS][512];
        size_t n = 0;
        if ((rc = kv_args(a, 2, kv, names, &n)) != 0)
            return rc;
        st = fc_row_edit(a->c, "task", &id, kv, n, &err);
        return st ? fail(a, st, &err) : ok_id(a, "task updated", &id);
    }
    if (strcmp(sub, "show") == 0)
        return show_row(a, "task", &id);
    return usage_error(a, "unknown task command '%s'", sub);
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
                                    "notice", "envelope", NULL};
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
                return usage_error(&a, "too many options%s", NULL);
            if (eq) {
                size_t kl = (size_t)(eq - k) < 63 ? (size_t)(eq - k) : 63;
                memcpy(a.keybuf[a.nopt], k, kl);
                a.keybuf[a.nopt][kl] = '\0';
                k = a.keybuf[a.nopt];
                v = eq + 1;
            } else if (takes_value(k)) {
                if (i + 1 >= argc)
                    return usage_error(&a, "option --%s needs a value", k);
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
            return usage_error(&a, "too many arguments%s", NULL);
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
            return usage_error(&a, "a command is needed%s", NULL);
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
        return usage_error(&a, "unknown option --%s", a.optk[i]);
    }
    {
        bool known = false;
        for (size_t i = 0; helps[i].name; i++)
            known = known || strcmp(helps[i].name, cmd) == 0;
        if (!known)
            return usage_error(&a, "unknown command '%s'", cmd);
    }
    if (!a.db)
        a.db = default_db(&a);
    st = fc_open(a.db, NULL, &a.c, &err);
    if (st)
        return fail(&a, st, &err);

    /* Commands with a subcommand take it from the first positional. */
    if (!strcmp(cmd, "customer") || !strcmp(cmd, "contact") || !strcmp(cmd, "visit") ||
        !strcmp(cmd, "quote") || !strcmp(cmd, "contract") || !strcmp(cmd, "task") ||
        !strcmp(cmd, "product")) {
        if (a.npos == 0) {
            rc = usage_error(&a, "%s needs a subcommand", cmd);
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
    else if (!strcmp(cmd, "status"))
        rc = cmd_status(&a);
    else if (!strcmp(cmd, "sync"))
        rc = cmd_sync(&a);
    else if (!strcmp(cmd, "export")) {
        st = fc_export(a.c, export_write, stdout, &err);
        rc = st ? fail(&a, st, &err) : 0;
    } else if (!strcmp(cmd, "enroll")) {
        if (a.npos < 2) {
            rc = usage_error(&a, "enroll needs SERVER_URL CODE%s", NULL);
            goto done;
        }
        st = fc_enroll(a.c, a.pos[0], a.pos[1], opt(&a, "name"), &err);
        rc = st ? fail(&a, st, &err) : ok_msg(&a, "enrolled; run `field-client sync`");
    } else if (!strcmp(cmd, "restore")) {
        rc = run_ids(&a, 0, NULL, "row", "restored", restore_fn, NULL, false);
    } else if (!strcmp(cmd, "dismiss")) {
        int64_t id;
        const char *s = opt(&a, "notice") ? opt(&a, "notice") : a.npos ? a.pos[0] : NULL;
        if (s && s[0] == '#') /* as `status` prints it */
            s++;
        if (!parse_int(s, &id)) {
            rc = usage_error(&a, "dismiss needs a numeric id from `status`%s", NULL);
            goto done;
        }
        st = opt(&a, "notice") ? fc_notice_dismiss(a.c, id, &err)
                               : fc_rejected_dismiss(a.c, id, &err);
        rc = st ? fail(&a, st, &err) : ok_msg(&a, "dismissed");
    }
done:
    fc_close(a.c);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "field-client: cannot write output: %s\n", strerror(errno));
        rc = 1;
    }
    return rc;
}
