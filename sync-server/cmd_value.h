/*
 * cmd_value.h - the `sync-server` CLI's customer value and churn parts
 * (cmd_value.c): the analyze subcommand, its schedule inside serve, and the
 * options that set the rules' parameters. main.c calls these; the work is
 * libfsserver's fss_analyze.
 */
#ifndef CMD_VALUE_H
#define CMD_VALUE_H

#include <stdbool.h>
#include <stdint.h>

#include "fs_server.h"

/* Option help lines for --help. */
extern const char cmd_value_usage[];
extern const char cmd_value_options[];

/* One option (flag or config line) if it is a value/churn option: returns
 * -2 when the name is not one of them, -1 on a bad value (message printed),
 * 1 when the value was used. */
int cmd_value_option(fss_config *cfg, const char *name, const char *val);

/* `sync-server analyze [--json]`: exit code. */
int cmd_value_analyze(fss_server *s, bool json, int64_t now_ms);

/* `at-risk` / `lost` / `value-report` [--territory CODE]: the JSON report on stdout. */
int cmd_value_report(fss_server *s, const char *which, const char *territory);

/* serve's schedule: runs analyze when cfg.analyze_every_s has passed since
 * *last_ms (0 = never ran: it waits one period from the start, so a
 * restart loop does not re-run it). Failures are logged and retried at the
 * next period. */
void cmd_value_tick(fss_server *s, const fss_config *cfg, uint64_t now_ms,
                    uint64_t *last_ms);

#endif /* CMD_VALUE_H */
