/*
 * cli_out.c - field-client's output: rows as JSON (storage units, times as
 * UTC RFC 3339 plus milliseconds) and as text for people (money in its
 * currency through fs_money, discounts as percentages, times in the rep's
 * zone), and the one success and failure shapes of every command
 * (docs/CLI.md, "JSON output").
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Output helpers                                                            */
/* ------------------------------------------------------------------------ */

void cli_json_str(FILE *o, const char *s)
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

void cli_json_time(FILE *o, const char *key, int64_t ms, bool zero_is_null)
{
    char t[64];

    fprintf(o, ",\"%s\":", key);
    if (ms == 0 && zero_is_null) {
        fprintf(o, "null");
    } else {
        fc_time_format(ms, true, t, sizeof t);
        cli_json_str(o, t);
    }
    fprintf(o, ",\"%s_ms\":%lld", key, (long long)ms);
}

void cli_json_value(FILE *o, const fs_field *f, const fs_value *v)
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
        cli_json_str(o, v->u.text.p);
        break;
    case FS_VAL_ID:
        fs_id_format(&v->u.id, buf);
        cli_json_str(o, buf);
        break;
    }
}

void cli_json_row(FILE *o, const fs_row *r)
{
    cli_json_row_owned(o, r, -1, NULL);
}

/* mine: -1 = not shown; else the row's "mine" member (fc_row_mine). sid:
 * the row's short id in a list (NULL: not shown). A time field is its UTC
 * RFC 3339 string, with the Unix ms in "<field>_ms" (docs/CLI.md). */
void cli_json_row_owned(FILE *o, const fs_row *r, int mine, const char *sid)
{
    char id[FS_ID_STRLEN + 1];

    fs_id_format(&r->id, id);
    fprintf(o, "{\"entity\":");
    cli_json_str(o, r->entity->name);
    fprintf(o, ",\"id\":");
    cli_json_str(o, id);
    if (sid) {
        fprintf(o, ",\"short_id\":");
        cli_json_str(o, sid);
    }
    for (size_t i = 0; i < r->entity->nfields; i++) {
        const fs_field *f = &r->entity->fields[i];
        const fs_value *v = &r->cells[i].v;
        fputc(',', o);
        cli_json_str(o, f->name);
        fputc(':', o);
        if (f->type == FS_TYPE_TIME && v->kind == FS_VAL_INT) {
            char t[64];
            fc_time_format(v->u.i, true, t, sizeof t);
            cli_json_str(o, t);
            fprintf(o, ",\"%s_ms\":%lld", f->name, (long long)v->u.i);
        } else if (f->type == FS_TYPE_TIME) {
            fprintf(o, "null,\"%s_ms\":null", f->name); /* the key is always there */
        } else {
            cli_json_value(o, f, v);
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

void cli_text_row(FILE *o, const fs_row *r, const char *currency)
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
void cli_text_line(FILE *o, const fs_row *r, const char *sid, const char *currency)
{
    static const char *const keys[] = {"name", "status", "esign_status", "title",
                                       "kind", "due_at", "planned_at", "currency",
                                       "sku", "description", "qty", "unit_price",
                                       "price", "amount", "discount", "done", "email",
                                       "address", "grade", "risk", "generated",
                                       "priority", "subject", NULL};
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
int cli_fail_code(cli *a, const char *code, const char *msg, int status)
{
    fprintf(stderr, "field-client: %s\n", msg);
    if (a->json) {
        printf("{\"ok\":false,\"error\":{\"code\":");
        cli_json_str(stdout, code);
        printf(",\"message\":");
        cli_json_str(stdout, msg);
        printf("}}\n");
    }
    return status;
}

int cli_fail(cli *a, fc_status st, const fs_error *err)
{
    const char *msg = err && err->text[0] ? err->text : fc_strerror(st);

    return cli_fail_code(a, error_code(st), msg, st == FC_EWIPED ? EXIT_WIPED : 1);
}

int cli_usage(cli *a, const char *fmt, const char *arg)
{
    char msg[600];
    int k = snprintf(msg, sizeof msg, fmt, arg ? arg : "");

    if (k >= 0 && (size_t)k < sizeof msg)
        snprintf(msg + k, sizeof msg - (size_t)k, " (see field-client --help)");
    return cli_fail_code(a, "usage", msg, EXIT_USAGE);
}

int cli_ok_id(cli *a, const char *what, const fs_id *id)
{
    char s[FS_ID_STRLEN + 1];

    fs_id_format(id, s);
    if (a->json)
        printf("{\"ok\":true,\"id\":\"%s\"}\n", s);
    else
        printf("%s %s\n", what, s);
    return 0;
}

int cli_ok_msg(cli *a, const char *msg)
{
    if (a->json) {
        printf("{\"ok\":true,\"message\":");
        cli_json_str(stdout, msg);
        printf("}\n");
    } else {
        printf("%s\n", msg);
    }
    return 0;
}

const char *cli_row_text(const fs_row *r, const char *field)
{
    int s = fs_entity_field_index(r->entity, field);
    return s >= 0 && r->cells[s].v.kind == FS_VAL_TEXT ? r->cells[s].v.u.text.p : NULL;
}
