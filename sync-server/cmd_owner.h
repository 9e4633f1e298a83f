/*
 * cmd_owner.h - the ownership lifecycle's `sync-server` subcommands
 * (offboard, reactivate, offboards), kept out of main.c. main.c hands them
 * its parsed arguments and its output helpers, so every subcommand names
 * rows, confirms and fails the same way.
 */
#ifndef CMD_OWNER_H
#define CMD_OWNER_H

#include <stdbool.h>
#include <stdint.h>

#include "fs_server.h"

typedef struct cmd_ctx {
    fss_server *s;
    const char *cmd;
    const char *const *args;
    int nargs;
    const char *to;      /* --to REP|pool */
    bool drain;          /* --drain */
    const char *by;      /* --by NAME */
    bool json;
    bool dry_run, now;   /* reclaim --dry-run / --now */
    uint32_t limit;      /* claims --limit */
    int (*find_ref)(fss_server *s, fss_ref_kind kind, const char *ref,
                    const char *what, char id[FS_ID_STRLEN + 1], char *label,
                    size_t label_cap);
    void (*confirm)(const char *cmd, const char *line, const char *const *kv);
    int (*fail)(const char *what, const fs_error *err, fss_status st);
    int (*usage_error)(const char *usage_line, const char *why);
    int (*print_buf)(fss_buf *b);
} cmd_ctx;

/* The public pool's options (--pool-reclaim-days, --pool-warn-days,
 * --pool-bar-days, --pool-quota, --reclaim-every): 1 when val was taken,
 * -1 on a bad value (said on stderr), -2 when name is none of them. */
int cmd_owner_option(fss_config *cfg, const char *name, const char *val);
extern const char cmd_owner_options[]; /* their --help lines */

/* Runs x->cmd if it is one of these subcommands (*handled true) and returns
 * the exit status. */
int cmd_owner(const cmd_ctx *x, bool *handled);

#endif /* CMD_OWNER_H */
