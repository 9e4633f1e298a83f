/*
 * cmd_ticket.h - the `sync-server` CLI's service ticket parts
 * (cmd_ticket.c): `ticket-update` (the back office works a ticket) and
 * `tickets` (the list by age), and their options. main.c calls these; the
 * work is libfsserver's fss_admin_ticket_update / fss_report_tickets.
 */
#ifndef CMD_TICKET_H
#define CMD_TICKET_H

#include <stdbool.h>
#include <stdint.h>

#include "fs_server.h"

/* Help lines for --help. */
extern const char cmd_ticket_usage[];

/* The ticket commands' own options (--assignee, --resolution, --all). */
typedef struct cmd_ticket_args {
    const char *assignee, *resolution;
    bool all;
} cmd_ticket_args;

/* Help lines for the server option (--survey-delay). */
extern const char cmd_ticket_options[];

/* One option if it is a ticket option (a command's, or the server's
 * --survey-delay into cfg): -2 when the name is not one of them, 0 for a
 * flag, 1 when the value was used, -1 on a missing or bad value (message
 * printed). */
int cmd_ticket_option(fss_config *cfg, cmd_ticket_args *t, const char *name,
                      const char *val);

/* `ticket-update TICKET [--status S] [--assignee NAME] [--resolution TEXT]`:
 * exit code (2 for a usage error or a refused move, 1 otherwise). */
int cmd_ticket_update(fss_server *s, const char *ref, const char *status,
                      const cmd_ticket_args *t, bool json);

/* `tickets [--territory CODE] [--all]`: the JSON list on stdout. */
int cmd_ticket_list(fss_server *s, const char *territory, const cmd_ticket_args *t,
                    int64_t now_ms);

/* `satisfaction [--territory CODE]`: the JSON report on stdout. */
int cmd_ticket_satisfaction(fss_server *s, const char *territory);

#endif /* CMD_TICKET_H */
