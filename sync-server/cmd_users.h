/*
 * cmd_users.h - the account subcommands of `sync-server` (cmd_users.c).
 */
#ifndef CMD_USERS_H
#define CMD_USERS_H

#include <stdbool.h>

#include "fs_server.h"

typedef struct cmd_users_args {
    const char *cmd;                 /* user-add, users, user-disable, passwd */
    const char *name;                /* the user (not for `users`) */
    const char *role;                /* user-add */
    const char *const *territories;  /* user-add: NULL-terminated */
    bool enable;                     /* user-disable --enable */
    bool json;
} cmd_users_args;

/* `serve --demo`: makes (or resets) the admin account "demo-admin" with a
 * new random password written to pw (cap >= 33). Returns 0, or 1 with the
 * reason on stderr. */
int cmd_demo_admin(fss_server *s, char *pw, size_t cap);

/* Runs one account subcommand; returns the exit code. */
int cmd_users(fss_server *s, const cmd_users_args *a);

#endif /* CMD_USERS_H */
