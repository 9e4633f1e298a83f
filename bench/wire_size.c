/*
 * wire_size.c - bytes on the wire per visit row: fieldsync protobuf vs
 * CouchDB-style JSON, both compressed, measured in the same run.
 *
 * Builds N typical visit rows (9 fields: customer_id, rep_id, planned_at,
 * checkin_at, checkin_lat, checkin_lon, status, outcome, ~200-byte notes;
 * every field with its HLC and writer) for one rep's scope, then encodes
 * them
 *   - as a SyncResponse page of pulled rows (the bootstrap / pull path) and
 *     as a SyncRequest batch of changes (the push path), with the real codec
 *     under gzip and deflate, and
 *   - as the same rows in the shape of a CouchDB _bulk_docs body
 *     ({"docs":[{...}]}), carrying the same information (per-field HLC and
 *     writer in a "_meta" object, the server sequence as "seq"; no "_rev"
 *     hash, which would only make JSON larger), gzip-compressed at zlib's
 *     default level like ours.
 * Not a test: it prints a table on stderr and, on stdout, BENCH lines
 * (bench/bench_report.h) for bench/run.sh: cases pull-N and push-N, metric
 * bytes_per_row (gzip), baseline = the JSON's gzip bytes per row, target
 * protobuf <= 0.5 x JSON; the -nonotes cases (the same rows without notes,
 * no target) show what the encoding itself saves. The figures are deterministic (fixed
 * seed), so repetitions only confirm them. Every run also decodes both bodies
 * and checks that each row and change comes back identical.
 *
 * Usage: wire_size [--quick] [rows ...]   (default: 1000 50000; --quick: 1000)
 * WS_DUMP=file writes the uncompressed SyncResponse of the first run, for
 * protoc --decode=fieldsync.v1.SyncResponse.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "bench_report.h"
#include "fs_proto.h"

#define T0_MS UINT64_C(1730419200000) /* 2024-11-01 */
#define DAY_MS UINT64_C(86400000)

static const char *const words[] = {
    "customer", "asked", "about", "the", "new", "price", "list", "for", "next",
    "quarter", "and", "wants", "a", "demo", "of", "premium", "line", "met",
    "with", "purchasing", "manager", "who", "is", "happy", "delivery", "times",
    "but", "concerned", "about", "invoice", "errors", "last", "month", "shelf",
    "space", "in", "store", "was", "reduced", "competitor", "offered", "discount",
    "of", "ten", "percent", "on", "bulk", "orders", "follow", "up", "call",
    "needed", "before", "friday", "samples", "left", "at", "reception", "owner",
    "will", "decide", "after", "budget", "review", "promised", "to", "send",
    "quote", "by", "email", "stock", "levels", "are", "low", "reorder", "soon",
    "warehouse", "visit", "planned", "contract", "renewal", "due", "in", "march",
    "interested", "in", "training", "for", "staff", "complained", "about",
    "packaging", "damage", "credit", "note", "requested", "signed", "order",
    "form", "window", "display", "looks", "good", "new", "branch", "opening",
    "spring", "payment", "terms", "sixty", "days", "agreed", "trial", "period",
};
#define NWORDS (sizeof words / sizeof words[0])

static const char *const outcomes[] = {
    "order placed", "quote requested", "no decision", "follow-up booked",
    "samples delivered", "complaint logged", "contract signed", "not available",
};
static const char *const statuses[] = {"completed", "completed", "completed",
                                       "abandoned", "in_progress"};

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void die(const char *what, const fs_error *err)
{
    fprintf(stderr, "wire_size: %s: %s\n", what, err ? err->text : "");
    exit(1);
}

/* ------------------------------------------------------------------------ */
/* Sample rows                                                               */
/* ------------------------------------------------------------------------ */

typedef struct sample {
    fs_pulled_row *rows;
    size_t n;
    fs_id devices[3]; /* the rep's laptop and phone, and the server */
} sample;

static void make_id(fs_id *id, uint64_t ms, uint64_t *s)
{
    uint8_t r[10];
    for (int i = 0; i < 10; i++)
        r[i] = (uint8_t)(rnd(s) >> 32);
    fs_id_from_parts(ms, r, id);
}

static void put(fs_row *row, const char *field, const fs_value *v, fs_hlc hlc,
                const fs_id *dev)
{
    int slot = fs_entity_field_index(row->entity, field);
    fs_error err;
    if (slot < 0 || fs_value_copy(&row->cells[slot].v, v, &err) != FS_OK ||
        fs_field_check(&row->entity->fields[slot], v, &err) != FS_OK)
        die(field, &err);
    row->cells[slot].hlc = hlc;
    row->cells[slot].device = *dev;
}

static void put_text(fs_row *row, const char *field, const char *s, fs_hlc hlc,
                     const fs_id *dev)
{
    fs_value v;
    fs_error err;
    if (fs_value_text(&v, s, strlen(s), &err) != FS_OK)
        die("text", &err);
    put(row, field, &v, hlc, dev);
    fs_value_clear(&v);
}

/* GPS-like: 7 decimals, as a device reports it. */
static double gps(double base, uint64_t *s)
{
    double jitter = (double)(rnd(s) % 2001) / 1e6 - 0.001;
    long long q = (long long)((base + jitter) * 1e7 + (base > 0 ? 0.5 : -0.5));
    return (double)q / 1e7;
}

static void make_sample(sample *sm, size_t n, bool with_notes)
{
    const fs_entity *visit = fs_schema_entity("visit");
    enum { NCUST = 300 };
    fs_id cust[NCUST];
    double clat[NCUST], clon[NCUST];
    uint64_t s = 0x2545F4914F6CDD1DULL;
    fs_error err;

    sm->n = n;
    sm->rows = calloc(n, sizeof *sm->rows);
    if (!sm->rows)
        die("calloc", NULL);
    for (int d = 0; d < 3; d++)
        make_id(&sm->devices[d], T0_MS - 200 * DAY_MS, &s);
    for (int c = 0; c < NCUST; c++) {
        make_id(&cust[c], T0_MS - 400 * DAY_MS + (uint64_t)c * 1000, &s);
        clat[c] = 45.0 + (double)(rnd(&s) % 50000) / 10000.0;
        clon[c] = 1.0 + (double)(rnd(&s) % 50000) / 10000.0;
    }
    for (size_t i = 0; i < n; i++) {
        fs_row *row = &sm->rows[i].row;
        /* Visits spread over 90 days, in creation order. */
        uint64_t planned = T0_MS + (uint64_t)((double)i / (double)n * 90.0 * (double)DAY_MS);
        uint64_t checkin = planned + rnd(&s) % (45 * 60000);
        fs_hlc h = fs_hlc_make(checkin + rnd(&s) % 5000, (uint16_t)(rnd(&s) % 3));
        fs_hlc later = h + fs_hlc_make(20 * 60000 + rnd(&s) % (40 * 60000), 0);
        const fs_id *dev = &sm->devices[rnd(&s) % 2];
        int c = (int)(rnd(&s) % NCUST);
        char notes[300];
        size_t len = 0;
        fs_id id;
        fs_value v;

        make_id(&id, checkin, &s);
        if (fs_row_init(row, visit, &id, &err) != FS_OK)
            die("row", &err);
        sm->rows[i].seq = 100000 + i;

        v = fs_value_idv(&cust[c]);
        put(row, "customer_id", &v, h, dev);
        put_text(row, "rep_id", "rep-0042", h, dev);
        v = fs_value_int((int64_t)planned);
        put(row, "planned_at", &v, h, dev);
        v = fs_value_int((int64_t)checkin);
        put(row, "checkin_at", &v, h, dev);
        v = fs_value_real(gps(clat[c], &s));
        put(row, "checkin_lat", &v, h, dev);
        v = fs_value_real(gps(clon[c], &s));
        put(row, "checkin_lon", &v, h, dev);
        /* The status is set at checkout, sometimes from the other device. */
        put_text(row, "status", statuses[rnd(&s) % 5], later,
                 rnd(&s) % 10 ? dev : &sm->devices[(dev == &sm->devices[0]) ? 1 : 0]);
        put_text(row, "outcome", outcomes[rnd(&s) % 8], later, dev);
        while (len < 190) {
            const char *w = words[rnd(&s) % NWORDS];
            size_t wl = strlen(w);
            if (len + wl + 2 >= sizeof notes)
                break;
            if (len)
                notes[len++] = ' ';
            memcpy(notes + len, w, wl);
            len += wl;
        }
        notes[len++] = '.';
        notes[len] = '\0';
        if (with_notes)
            put_text(row, "notes", notes, later + 7, dev);
    }
}

static void free_sample(sample *sm)
{
    for (size_t i = 0; i < sm->n; i++)
        fs_row_free(&sm->rows[i].row);
    free(sm->rows);
}

/* ------------------------------------------------------------------------ */
/* CouchDB-style JSON                                                        */
/* ------------------------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        int k;
        va_start(ap, fmt);
        k = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (k < 0)
            die("vsnprintf", NULL);
        if ((size_t)k < b->cap - b->len) {
            b->len += (size_t)k;
            return;
        }
        b->cap = b->cap * 2 + (size_t)k + 1;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            die("realloc", NULL);
    }
}

/* Shortest decimal that reads back as the same double, like JavaScript. */
static void json_double(sbuf *b, double x)
{
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, x);
        if (strtod(tmp, NULL) == x)
            break;
    }
    sb_printf(b, "%s", tmp);
}

static void json_rows(const sample *sm, sbuf *b)
{
    sb_printf(b, "{\"docs\":[");
    for (size_t i = 0; i < sm->n; i++) {
        const fs_row *row = &sm->rows[i].row;
        const fs_entity *e = row->entity;
        char id[FS_ID_STRLEN + 1];
        bool first = true;

        fs_id_format(&row->id, id);
        sb_printf(b, "%s{\"_id\":\"%s\",\"type\":\"%s\",\"seq\":%llu", i ? "," : "", id,
                  e->name, (unsigned long long)sm->rows[i].seq);
        for (size_t f = 0; f < e->nfields; f++) {
            const fs_cell *c = &row->cells[f];
            if (!c->hlc)
                continue;
            sb_printf(b, ",\"%s\":", e->fields[f].name);
            switch (c->v.kind) {
            case FS_VAL_INT:
                sb_printf(b, "%lld", (long long)c->v.u.i);
                break;
            case FS_VAL_REAL:
                json_double(b, c->v.u.r);
                break;
            case FS_VAL_TEXT:
                /* Sample text needs no escaping. */
                sb_printf(b, "\"%s\"", c->v.u.text.p);
                break;
            case FS_VAL_ID:
                fs_id_format(&c->v.u.id, id);
                sb_printf(b, "\"%s\"", id);
                break;
            default:
                sb_printf(b, "null");
            }
        }
        sb_printf(b, ",\"_meta\":{");
        for (size_t f = 0; f < e->nfields; f++) {
            const fs_cell *c = &row->cells[f];
            char hlc[32];
            if (!c->hlc)
                continue;
            fs_hlc_format(c->hlc, hlc, sizeof hlc);
            fs_id_format(&c->device, id);
            sb_printf(b, "%s\"%s\":[\"%s\",\"%s\"]", first ? "" : ",", e->fields[f].name, hlc,
                      id);
            first = false;
        }
        sb_printf(b, "}}");
    }
    sb_printf(b, "]}");
}

static size_t gzip_size(const void *p, size_t n)
{
    fs_proto_buf z;
    fs_error err;
    fs_proto_limits lim = fs_proto_limits_default();
    size_t len;
    lim.max_body = SIZE_MAX;
    if (fs_proto_compress(FS_PROTO_GZIP, p, n, &lim, &z, &err) != FS_PROTO_OK)
        die("gzip json", &err);
    len = z.len;
    fs_proto_buf_free(&z);
    return len;
}

/* ------------------------------------------------------------------------ */
/* Measure                                                                   */
/* ------------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The pulled rows as the changes a device would push (same fields). */
static fs_change *as_changes(const sample *sm)
{
    fs_change *ch = calloc(sm->n, sizeof *ch);
    fs_error err;
    if (!ch)
        die("calloc", NULL);
    for (size_t i = 0; i < sm->n; i++) {
        const fs_row *row = &sm->rows[i].row;
        if (fs_change_init(&ch[i], row->entity, &row->id, &sm->devices[0], &err) != FS_OK)
            die("change", &err);
        for (size_t f = 0; f < row->entity->nfields; f++)
            if (row->cells[f].hlc &&
                fs_change_set(&ch[i], (int)f, &row->cells[f].v, row->cells[f].hlc, &err) != FS_OK)
                die("change set", &err);
    }
    return ch;
}

static void measure(size_t n, bool with_notes)
{
    sample sm;
    fs_sync_response resp;
    fs_sync_request req;
    fs_proto_limits lim = fs_proto_limits_default();
    fs_proto_buf raw, gz, df, rq;
    fs_error err;
    sbuf json = {NULL, 0, 0};
    size_t json_gz;
    double t0, t_enc, t_dec;
    fs_sync_response back;
    char name[64];

    make_sample(&sm, n, with_notes);
    lim.max_rows = n > lim.max_rows ? n : lim.max_rows;
    lim.max_changes = n > lim.max_changes ? n : lim.max_changes;
    lim.max_cells = n * 16;
    lim.max_inflated = SIZE_MAX / 2;
    lim.max_body = SIZE_MAX / 2;

    memset(&resp, 0, sizeof resp);
    resp.version = FS_PROTO_VERSION;
    resp.rows = sm.rows;
    resp.nrows = n;
    resp.server_time = fs_hlc_make(T0_MS + 91 * DAY_MS, 0);
    resp.next_cursor = 100000 + n;

    if (fs_proto_sync_response_encode(&resp, FS_PROTO_IDENTITY, &lim, &raw, &err))
        die("encode identity", &err);
    if (getenv("WS_DUMP")) {
        /* The uncompressed body, for protoc --decode / --decode_raw. */
        FILE *f = fopen(getenv("WS_DUMP"), "wb");
        if (!f || fwrite(raw.data, 1, raw.len, f) != raw.len || fclose(f) != 0)
            die("WS_DUMP", NULL);
    }
    t0 = now_s();
    if (fs_proto_sync_response_encode(&resp, FS_PROTO_GZIP, &lim, &gz, &err))
        die("encode gzip", &err);
    t_enc = now_s() - t0;
    if (fs_proto_sync_response_encode(&resp, FS_PROTO_DEFLATE, &lim, &df, &err))
        die("encode deflate", &err);
    t0 = now_s();
    if (fs_proto_sync_response_decode(gz.data, gz.len, FS_PROTO_GZIP, &lim, &back, NULL, &err))
        die("decode gzip", &err);
    t_dec = now_s() - t0;
    /* Lossless, at scale: every row back as it went. */
    if (back.nrows != n)
        die("decode gzip: row count", NULL);
    for (size_t i = 0; i < n; i++)
        if (back.rows[i].seq != sm.rows[i].seq || !fs_row_eq(&back.rows[i].row, &sm.rows[i].row))
            die("decode gzip: a row came back different", NULL);
    fs_proto_sync_response_free(&back);

    memset(&req, 0, sizeof req);
    req.version = FS_PROTO_VERSION;
    req.device_id = sm.devices[0];
    req.batch_id = sm.rows[0].row.id;
    req.changes = as_changes(&sm);
    req.nchanges = n;
    if (fs_proto_sync_request_encode(&req, FS_PROTO_GZIP, &lim, &rq, &err))
        die("encode request", &err);
    {
        fs_sync_request rback;
        if (fs_proto_sync_request_decode(rq.data, rq.len, FS_PROTO_GZIP, &lim, &rback, NULL,
                                         &err))
            die("decode request", &err);
        if (rback.nchanges != n || rback.nerrors)
            die("decode request: change count", NULL);
        for (size_t i = 0; i < n; i++) {
            const fs_change *a = &req.changes[i], *b = &rback.changes[i];
            if (a->nfields != b->nfields || fs_id_cmp(&a->row, &b->row))
                die("decode request: a change came back different", NULL);
            for (size_t k = 0; k < a->nfields; k++)
                if (a->fields[k].slot != b->fields[k].slot ||
                    a->fields[k].hlc != b->fields[k].hlc ||
                    !fs_value_eq(&a->fields[k].v, &b->fields[k].v))
                    die("decode request: a field came back different", NULL);
        }
        fs_proto_sync_request_free(&rback);
    }

    json_rows(&sm, &json);
    json_gz = gzip_size(json.p, json.len);
    if (with_notes) {
        sbuf t = {NULL, 0, 0};
        int slot = fs_entity_field_index(sm.rows[0].row.entity, "notes");
        for (size_t i = 0; i < n; i++)
            sb_printf(&t, "%s", sm.rows[i].row.cells[slot].v.u.text.p);
        fprintf(stderr, "%7s        notes alone (concatenated, gzip): %.1f B/row, the part both "
               "formats pay alike\n", "", (double)gzip_size(t.p, t.len) / (double)n);
        free(t.p);
    }

    fprintf(stderr, "%7zu rows%s | pull: raw %6.1f  gzip %6.1f  deflate %6.1f B/row | "
           "push gzip %6.1f B/row | JSON raw %7.1f  gzip %6.1f B/row | "
           "gzip ratio %.2f (push %.2f) | enc %.0f ms dec %.0f ms\n",
           n, with_notes ? "" : " (no notes)", (double)raw.len / (double)n, (double)gz.len / (double)n,
           (double)df.len / (double)n, (double)rq.len / (double)n,
           (double)json.len / (double)n, (double)json_gz / (double)n,
           (double)gz.len / (double)json_gz, (double)rq.len / (double)json_gz,
           t_enc * 1e3, t_dec * 1e3);
    fprintf(stderr, "%7s        totals: pull gzip %zu B, push gzip %zu B, JSON gzip %zu B "
           "(JSON raw %zu B)\n", "", gz.len, rq.len, json_gz, json.len);
    snprintf(name, sizeof name, "pull-%zu%s", n, with_notes ? "" : "-nonotes");
    bench_result("wire", name, "bytes_per_row", (double)gz.len / (double)n, "B/row",
                 (double)json_gz / (double)n, with_notes ? "<=0.5x" : NULL);
    snprintf(name, sizeof name, "push-%zu%s", n, with_notes ? "" : "-nonotes");
    bench_result("wire", name, "bytes_per_row", (double)rq.len / (double)n, "B/row",
                 (double)json_gz / (double)n, with_notes ? "<=0.5x" : NULL);

    for (size_t i = 0; i < n; i++)
        fs_change_free(&req.changes[i]);
    free(req.changes);
    free(json.p);
    fs_proto_buf_free(&raw);
    fs_proto_buf_free(&gz);
    fs_proto_buf_free(&df);
    fs_proto_buf_free(&rq);
    free_sample(&sm);
}

int main(int argc, char **argv)
{
    bool quick = bench_quick(argc, argv);
    int sized = 0;

    fprintf(stderr, "fieldsync wire size: visit rows (9 fields, ~200-byte notes, per-field "
                    "HLC + writer)\n");
    fprintf(stderr, "JSON = CouchDB _bulk_docs shape with the same data, gzip level 6 "
                    "(zlib default, as ours)\n");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            continue;
        measure((size_t)strtoull(argv[i], NULL, 10), true);
        sized++;
    }
    if (!sized) {
        measure(1000, true);
        if (!quick)
            measure(50000, true);
    }
    /* The same rows without notes: what the encoding itself saves. */
    fprintf(stderr, "without notes (the fields the encoding can compact):\n");
    measure(1000, false);
    if (!quick)
        measure(50000, false);
    return 0;
}
