/*
 * cmd_ticket.c - the `sync-server` subcommands for service tickets (CRM.md
 * section 4): the back office works a ticket (status, assignee,
 * resolution) and lists the tickets waiting, oldest first. Argument
 * handling and output only; the rule is conflict/fs_ticket.c's and the work
 * libfsserver's.
 */
#include "cmd_ticket.h"

#include <stdio.h>
#include <string.h>

const char cmd_ticket_usage[] =
    "  ticket-update TICKET [--status S] [--assignee NAME] [--resolution TEXT]\n"
    "                                 the back office works a ticket (S: open,\n"
    "                                 in_progress, resolved, closed); it syncs out\n"
    "  tickets [--territory CODE] [--all]  tickets waiting (open, in_progress),\n"
    "                                 oldest first, with their age; --all every one (JSON)\n"
    "  satisfaction [--territory CODE]  survey scores by rep, territory and month (JSON)\n";

const char cmd_ticket_options[] =
    "  --survey-delay DURATION  a resolved ticket's satisfaction task is due this\n"
    "                         long after resolving (0 = at once, up to 90d) [2d]\n";

/* A JSON string: quotes, backslashes and control bytes escaped (the text
 * comes from the command line and from the server's messages). */
static void json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(o, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(o, "\\u%04x", ch);
        else
            fputc(ch, o);
    }
    fputc('"', o);
}

int cmd_ticket_option(fss_config *cfg, cmd_ticket_args *t, const char *name,
                      const char *val)
{
    if (strcmp(name, "survey-delay") == 0) {
        uint64_t secs = 0;
        fs_error err = {0};
        if (!val || fs_duration_parse(val, &secs, &err) != FS_OK || secs > 90u * 86400u) {
            fprintf(stderr, "sync-server: --survey-delay: \"%s\" %s\n", val ? val : "",
                    err.text[0] ? err.text : "is not a duration up to 90d");
            return -1;
        }
        cfg->survey_delay_s = secs;
        return 1;
    }
    if (strcmp(name, "all") == 0) {
        t->all = true;
        return 0;
    }
    if (strcmp(name, "assignee") != 0 && strcmp(name, "resolution") != 0)
        return -2;
    if (!val) {
        fprintf(stderr, "sync-server: --%s needs a value\n", name);
        return -1;
    }
    if (strcmp(name, "assignee") == 0)
        t->assignee = val;
    else
        t->resolution = val;
    return 1;
}

int cmd_ticket_update(fss_server *s, const char *ref, const char *status,
                      const cmd_ticket_args *t, bool json)
{
    fs_id id;
    fs_error err = {0};
    fss_status st;
    char line[512];

    if (fs_id_parse(ref, strlen(ref), &id, NULL) != FS_OK) {
        fprintf(stderr, "sync-server: ticket-update: TICKET must be a ticket id, not "
                        "'%.60s'\n", ref);
        return 2;
    }
    st = fss_admin_ticket_update(s, &id, status, t->assignee, t->resolution, &err);
    if (st != FSS_OK) {
        fprintf(stderr, "sync-server: ticket-update: %s\n", err.text);
        if (json) {
            printf("{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":",
                   st == FSS_ENOTFOUND ? "not_found" : "invalid");
            json_str(stdout, err.text);
            printf("}}\n");
        }
        return st == FSS_EINVAL || st == FSS_ENOTFOUND ? 2 : 1;
    }
    snprintf(line, sizeof line, "ticket %s updated%s%s%s%s%s%s", ref,
             status ? ": status " : "", status ? status : "",
             t->assignee ? ", assignee " : "", t->assignee ? t->assignee : "",
             t->resolution ? ", resolution " : "", t->resolution ? t->resolution : "");
    if (!json) {
        printf("%s\n", line);
        return 0;
    }
    printf("{\"ok\":true,\"command\":\"ticket-update\",\"ticket\":");
    json_str(stdout, ref);
    printf(",\"message\":");
    json_str(stdout, line);
    printf("}\n");
    return 0;
}

int cmd_ticket_list(fss_server *s, const char *territory, const cmd_ticket_args *t,
                    int64_t now_ms)
{
    fss_buf out = {0};
    fs_error err = {0};
    const char *one[1] = {territory};
    fss_status st = fss_report_tickets(s, territory ? one : NULL, 1, !t->all, now_ms, &out,
                                       &err);

    if (st != FSS_OK) {
        fss_buf_free(&out);
        fprintf(stderr, "sync-server: tickets: %s\n", err.text);
        return 1;
    }
    fwrite(out.data, 1, out.len, stdout);
    fss_buf_free(&out);
    return 0;
}

int cmd_ticket_satisfaction(fss_server *s, const char *territory)
{
    fss_buf out = {0};
    fs_error err = {0};
    const char *one[1] = {territory};
    fss_status st = fss_report_satisfaction(s, territory ? one : NULL, 1, &out, &err);

    if (st != FSS_OK) {
        fss_buf_free(&out);
        fprintf(stderr, "sync-server: satisfaction: %s\n", err.text);
        return 1;
    }
    fwrite(out.data, 1, out.len, stdout);
    fss_buf_free(&out);
    return 0;
}
