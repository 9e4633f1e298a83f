/*
 * cmd_users.c - the `sync-server` subcommands for back-office accounts:
 * user-add, users, user-disable, passwd (docs/ADMIN-API.md, "Accounts and
 * sessions"). A password is never an argument (it would sit in the shell
 * history and in ps): on a terminal it is prompted twice without echo, as
 * passwd(1) does; otherwise two lines are read from standard input, so a
 * script can pipe it in. Each call goes through the same fss_user_*
 * function the admin API uses, audited with the actor "cli".
 */
#include "cmd_users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* One line of stdin into buf without its newline; echo off on a
 * terminal. false at end of input or when the line is too long. */
static bool read_line(const char *prompt, char *buf, size_t cap)
{
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    bool ok;
    size_t n;

    if (tty) {
        fprintf(stderr, "%s", prompt);
        fflush(stderr);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    ok = fgets(buf, (int)cap, stdin) != NULL;
    if (tty)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    if (!ok)
        return false;
    n = strlen(buf);
    if (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (n == cap - 1)
        return false; /* longer than any password we accept */
    if (n && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return true;
}

/* The new password, typed twice. Returns 0, or the exit code. */
static int read_new_password(char *pw, size_t cap)
{
    char again[FSS_PASSWORD_MAX + 2];
    int rc = 0;

    if (!read_line("New password: ", pw, cap) ||
        !read_line("Retype new password: ", again, sizeof again)) {
        fprintf(stderr, "sync-server: no password read (give it twice on standard "
                        "input, at most %d bytes)\n", FSS_PASSWORD_MAX);
        rc = 2;
    } else if (strcmp(pw, again) != 0) {
        fprintf(stderr, "sync-server: the two passwords differ; nothing changed\n");
        rc = 2;
    }
    memset(again, 0, sizeof again);
    return rc;
}

static void json_str(const char *v)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void say_ok(bool json, const char *cmd, const char *name, const char *line)
{
    if (!json) {
        printf("%s\n", line);
        return;
    }
    printf("{\"ok\":true,\"command\":");
    json_str(cmd);
    printf(",\"user\":");
    json_str(name);
    printf(",\"message\":");
    json_str(line);
    printf("}\n");
}

static int failed(bool json, const char *cmd, const fs_error *err, fss_status st)
{
    const char *msg = err->text[0] ? err->text : fss_strerror(st);

    fprintf(stderr, "sync-server: %s: %s\n", cmd, msg);
    if (json) {
        printf("{\"ok\":false,\"error\":{\"code\":\"%s\",\"message\":",
               st == FSS_ENOTFOUND ? "not_found" : st == FSS_EINVAL ? "invalid"
               : st == FSS_EEXISTS ? "exists" : "internal");
        json_str(msg);
        printf("}}\n");
    }
    return st == FSS_ENOTFOUND || st == FSS_EINVAL || st == FSS_EEXISTS ? 2 : 1;
}

int cmd_users(fss_server *s, const cmd_users_args *a)
{
    char pw[FSS_PASSWORD_MAX + 2], line[256];
    fss_buf out = {0};
    fs_error err = {0};
    fss_status st;
    int rc = 0;

    if (strcmp(a->cmd, "users") == 0) {
        if ((st = fss_users_list(s, &out, &err)) != FSS_OK)
            return failed(a->json, a->cmd, &err, st);
        fwrite(out.data, 1, out.len, stdout);
        fss_buf_free(&out);
        return 0;
    }
    if (strcmp(a->cmd, "user-disable") == 0) {
        if ((st = fss_user_disable(s, a->name, !a->enable, "cli", &err)) != FSS_OK)
            return failed(a->json, a->cmd, &err, st);
        snprintf(line, sizeof line, a->enable ? "user %s enabled"
                                              : "user %s disabled; their sessions ended",
                 a->name);
        say_ok(a->json, a->cmd, a->name, line);
        return 0;
    }
    if ((rc = read_new_password(pw, sizeof pw)) != 0)
        return rc;
    if (strcmp(a->cmd, "user-add") == 0) {
        st = fss_user_add(s, a->name, a->role, a->territories, pw, "cli", &err);
        snprintf(line, sizeof line, "added %s %s", a->role ? a->role : "", a->name);
    } else {
        st = fss_user_password(s, a->name, pw, "cli", &err);
        snprintf(line, sizeof line, "password of %s changed; their sessions ended",
                 a->name);
    }
    memset(pw, 0, sizeof pw);
    if (st != FSS_OK)
        return failed(a->json, a->cmd, &err, st);
    say_ok(a->json, a->cmd, a->name, line);
    return 0;
}

int cmd_demo_admin(fss_server *s, char *pw, size_t cap)
{
    fs_error err = {0};
    fss_status st;
    unsigned char r[12];
    FILE *ur = fopen("/dev/urandom", "rb");

    if (cap < 2 * sizeof r + 1 || !ur || fread(r, 1, sizeof r, ur) != sizeof r) {
        if (ur)
            fclose(ur);
        fprintf(stderr, "sync-server: cannot make a demo password\n");
        return 1;
    }
    fclose(ur);
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(pw + 2 * i, 3, "%02x", r[i]);
    st = fss_user_add(s, "demo-admin", "admin", NULL, pw, "demo", &err);
    if (st == FSS_EEXISTS) /* a second demo on the same store: a new password */
        st = fss_user_password(s, "demo-admin", pw, "demo", &err);
    if (st != FSS_OK) {
        fprintf(stderr, "sync-server: demo admin: %s\n", err.text);
        return 1;
    }
    return 0;
}
