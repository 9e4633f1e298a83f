/*
 * fss_names.c - GET customer-names?ids=ID,ID,... (issue #15): the names of
 * up to FSS_NAMES_MAX customers the page shows by id (the value report's
 * matrix), so the console shows names, never bare ids. The repository
 * applies the asker's territories: a customer outside them is left out,
 * exactly like one that does not exist.
 */
#include "fss_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct names_out {
    fss_buf *out;
    bool any;
} names_out;

static void name_row(const fs_id *id, const char *name, void *arg)
{
    names_out *x = arg;
    char idt[FS_ID_STRLEN + 1];

    fs_id_format(id, idt);
    fss_buf_puts(x->out, x->any ? ",{\"id\":" : "{\"id\":");
    x->any = true;
    fss_json_cstr(x->out, idt);
    fss_buf_puts(x->out, ",\"name\":");
    fss_json_cstr(x->out, name);
    fss_buf_puts(x->out, "}");
}

fss_status fss__admin_customer_names(fss_server *s, const char *ids_text,
                                     const char *const *terr, fss_buf *out,
                                     fs_error *err)
{
    fs_id ids[FSS_NAMES_MAX];
    size_t n = 0;
    names_out x = {.out = out};
    fss_conn *c;
    fss_status st;

    for (const char *p = ids_text ? ids_text : ""; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (n == FSS_NAMES_MAX)
            return fss__fail(err, FSS_EINVAL, "at most %d ids", FSS_NAMES_MAX);
        if (fs_id_parse(p, len, &ids[n], NULL) != FS_OK)
            return fss__fail(err, FSS_EINVAL, "id \"%.*s\" is not a UUID",
                             (int)(len > 40 ? 40 : len), p);
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (!(c = fss__conn_get(s, 10000)))
        return fss__fail(err, FSS_EDB, "no database connection free");
    fss_buf_puts(out, "[");
    st = fss__repo_customer_names(c, ids, n, terr, name_row, &x, err);
    fss__conn_put(s, c);
    fss_buf_puts(out, "]\n");
    if (st == FSS_OK && out->oom)
        st = fss__fail(err, FSS_ENOMEM, "customer names");
    return st;
}
