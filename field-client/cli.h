/*
 * cli.h - what the field-client executable's files share: the parsed
 * command line (struct cli), the exit statuses, and the output helpers
 * (cli_out.c: JSON and text rows, the one success and failure shapes) and
 * the status and sync commands (cli_status.c). Executable-only: nothing
 * here is part of libfieldclient.
 */
#ifndef FIELD_CLIENT_CLI_H
#define FIELD_CLIENT_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "fieldclient.h"

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

/* cli_out.c: output. Every failure goes through cli_fail_code: one line on
 * stderr and, with --json, {"ok":false,"error":{"code":...,"message":...}}
 * on stdout; it returns the exit status given. */
int cli_fail_code(cli *a, const char *code, const char *msg, int status);
/* A library failure: its machine code, err's sentence; exit 1 (3 wiped). */
int cli_fail(cli *a, fc_status st, const fs_error *err);
/* A usage error (exit 2): fmt with one %s for arg. */
int cli_usage(cli *a, const char *fmt, const char *arg);
/* {"ok":true,"id":...} or "what ID". */
int cli_ok_id(cli *a, const char *what, const fs_id *id);
int cli_ok_msg(cli *a, const char *msg);

void cli_json_str(FILE *o, const char *s);
/* ,"key":"<UTC RFC 3339>","key_ms":ms (null and 0 when ms is 0 and
 * zero_is_null): every time in JSON, as docs/CLI.md says. */
void cli_json_time(FILE *o, const char *key, int64_t ms, bool zero_is_null);
void cli_json_value(FILE *o, const fs_field *f, const fs_value *v);
void cli_json_row(FILE *o, const fs_row *r);
/* mine: -1 = not shown, else the "mine" member; sid: the short id (lists)
 * or NULL. Time fields as UTC RFC 3339 plus "<field>_ms". */
void cli_json_row_owned(FILE *o, const fs_row *r, int mine, const char *sid);
/* A row, one field a line; currency for money fields of a row without its
 * own (a quote line: its quote's), may be NULL. */
void cli_text_row(FILE *o, const fs_row *r, const char *currency);
/* One list line: the short id and the fields that identify the row. */
void cli_text_line(FILE *o, const fs_row *r, const char *sid, const char *currency);
/* A text field of a row, NULL when absent or not text. */
const char *cli_row_text(const fs_row *r, const char *field);

/* main.c: a short label for a row in messages (name, title, SKU...). */
void cli_row_label(cli *a, const char *entity, const fs_id *id, char *out, size_t cap);

/* cli_list.c: lists and rows. A listing loads the entity's short ids
 * first (cli_list_init, outside any fc_list callback) and frees them
 * (cli_list_done); cli_print_row is the fc_list callback. */
typedef struct list_ctx {
    cli *a;
    size_t n;
    const char *currency; /* quote lines: their quote's currency */
    fc_short_ids *sids;   /* the listed entity's short ids */
    fs_id cust;           /* the customer whose name is in cust_name */
    char cust_name[128];
    char rep[FS_ID_STRLEN + 1]; /* this device's rep, "" before enrollment */
} list_ctx;
void cli_list_init(list_ctx *lc, cli *a, const char *entity);
void cli_list_done(list_ctx *lc);
bool cli_print_row(const fs_row *r, void *p);
int cli_list_rows(cli *a, const char *entity, const fc_query *q);
int cli_show_row(cli *a, const char *entity, const fs_id *id);
int cli_show_customer(cli *a, const fs_id *id);
int cli_show_quote(cli *a, const fs_id *id);

/* main.c: an option's value ("" for a flag) or NULL; the row a rep named
 * at pos[i] (full id, short id, customer name), reporting a failure into
 * *rc (fc_resolve). */
const char *cli_opt(const cli *a, const char *key);
bool cli_parse_id(cli *a, size_t i, const char *what, fs_id *out, int *rc);
/* cli_ticket.c: `ticket open|list|show|note|close|reopen`. */
int cli_cmd_ticket(cli *a, const char *sub);
/* cli_status.c */
int cli_cmd_status(cli *a);
int cli_cmd_sync(cli *a);

#endif /* FIELD_CLIENT_CLI_H */
