/*
 * cli_ticket.c - the field-client `ticket` commands (CRM.md section 4): a
 * rep opens a service ticket at a customer offline, adds notes, closes or
 * reopens it, sees the status the back office set after a sync, and
 * records the customer's satisfaction score once it is resolved. Each
 * subcommand is a call into libfieldclient (fc_ticket_*); which status moves
 * a device may make is fs_ticket.c's, checked by the library.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int set_status(cli *a, const fs_id *id, const char *status, const char *done)
{
    fs_error err = {0};
    fc_status st = fc_ticket_set_status(a->c, id, status, &err);

    return st ? cli_fail(a, st, &err) : cli_ok_id(a, done, id);
}

int cli_cmd_ticket(cli *a, const char *sub)
{
    fs_id id, nid;
    fs_error err = {0};
    fc_status st;
    int rc = 0;
    fc_query q = {0};

    if (strcmp(sub, "list") == 0) {
        /* Open tickets (everything not closed) unless --all. */
        q.open_only = !cli_opt(a, "all");
        if (a->npos > 1) {
            if (!cli_parse_id(a, 1, "customer", &id, &rc))
                return rc;
            q.parent = &id;
        }
        return cli_list_rows(a, "ticket", &q);
    }
    if (strcmp(sub, "open") == 0) {
        const char *kind = cli_opt(a, "kind"), *subject = cli_opt(a, "subject");
        if (!kind || !subject)
            return cli_usage(a, "ticket open needs CUSTOMER --kind KIND --subject TEXT%s",
                             "");
        if (!cli_parse_id(a, 1, "customer", &id, &rc))
            return rc;
        st = fc_ticket_open(a->c, &id, kind, subject, cli_opt(a, "priority"),
                            cli_opt(a, "desc"), &nid, &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "ticket opened", &nid);
    }
    if (!cli_parse_id(a, 1, "ticket", &id, &rc))
        return rc;
    if (strcmp(sub, "show") == 0)
        return cli_show_row(a, "ticket", &id);
    if (strcmp(sub, "note") == 0) {
        if (a->npos < 3)
            return cli_usage(a, "ticket note needs TICKET TEXT%s", "");
        st = fc_ticket_note(a->c, &id, a->pos[2], &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "ticket noted", &id);
    }
    if (strcmp(sub, "rate") == 0) {
        char *end = NULL;
        long long score;
        if (a->npos < 3)
            return cli_usage(a, "ticket rate needs TICKET SCORE (1-5)%s", "");
        errno = 0;
        score = strtoll(a->pos[2], &end, 10);
        if (errno || !*a->pos[2] || *end)
            return cli_usage(a, "SCORE must be a whole number 1-5, not '%s'", a->pos[2]);
        st = fc_ticket_rate(a->c, &id, score, cli_opt(a, "note"), &err);
        return st ? cli_fail(a, st, &err) : cli_ok_id(a, "ticket rated", &id);
    }
    if (strcmp(sub, "close") == 0)
        return set_status(a, &id, fs_ticket_state_name(FS_TICKET_CLOSED), "ticket closed");
    if (strcmp(sub, "reopen") == 0)
        return set_status(a, &id, fs_ticket_state_name(FS_TICKET_OPEN), "ticket reopened");
    return cli_usage(a, "unknown ticket command '%s'", sub);
}
