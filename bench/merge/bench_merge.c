/*
 * bench_merge.c - server merge throughput (issue #7 item 2): changed rows
 * pushed through the real sync handler, beside raw SQLite upserts of the
 * same rows into the same schema, both measured in this one process launch.
 *
 * Setup (not timed): a central store in a temporary directory, opened with
 * fss_server_open and the default configuration (WAL, synchronous=NORMAL);
 * one rep in one territory; C customers imported through the admin import
 * (fss_admin_import, JSON), each with 3 contacts, 90 visits (checked in) and
 * 6 tasks created by an enrolled device through POST /v1/sync, so the store
 * holds 100 x C rows written by the server's own code (C = 1,000: 100k rows;
 * --quick: 100, 10k rows). The server is then restarted on the populated
 * store (its open analyzes it; PostgreSQL's cached plans start afresh).
 *
 * Each case then pushes n changed rows (existing rows, in a scattered order:
 * row k*7919 mod N) in batches of 1,000 through fss_handle("POST /v1/sync")
 * on an encoded, deflated SyncRequest. A visit change is a checkout
 * (checkout_at/lat/lon, status with its base, outcome, ~200 bytes of notes),
 * a task change marks it done, a contact change edits phone and email, a
 * customer change phone and tags. The timer covers fss_handle alone: route,
 * auth (token hash), inflate + decode, batch digest and exactly-once lookup,
 * per change load + scope check + fs_merge + server stamps + save with a new
 * seq, storing the batch results, the pull query, commit and encoding +
 * deflating the response. The device asks for a page of one row, so the
 * pull half of the round stays small (pulls are measured by bench_sync);
 * between batches it pulls the rest untimed, so it is caught up like a real
 * client. Every change must come back APPLIED.
 *
 * Baseline (same launch, right after each case): the rows as the server
 * stored them (every column, read back after the case: the same values, the
 * same meta blob bytes, seq and root) are upserted into a second database
 * file with the same tables (created by fs_store_open, so the DDL and
 * indexes are the store's own), holding a copy of the same 100k rows, with
 * the same journal_mode=WAL and synchronous=NORMAL: one prepared
 * INSERT ... ON CONFLICT(id) DO UPDATE per entity, 1,000 rows per
 * BEGIN IMMEDIATE transaction, in the same order. The baseline writes the
 * store's encoding (one meta blob with every cell's stamp) because that is
 * the information a merging store must keep; raw rows without stamps would
 * compare the server against a store that cannot merge.
 *
 * PostgreSQL (--store CONNINFO, an empty database): after the SQLite cases,
 * the same launch repeats them with the server's store on PostgreSQL (same
 * rows, same pushes) and reports them as pg_<case>, with the SQLite
 * server's rate of the same case as the baseline (target >= 0.5x).
 *
 * Output: BENCH merge <case> rows_per_s (see bench_report.h). Usage:
 * bench_merge [--quick] [--store CONNINFO]; BENCH_KEEP=1 keeps the temporary directory (both
 * databases) for a look with the sqlite3 shell.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_report.h"
#include "fs_proto.h"
#include "fs_server.h"
#include "fs_store.h"
#include "fss_repo.h"

#define BATCH 1000
#define CONTACTS_PER 3
#define VISITS_PER 90
#define TASKS_PER 6
#define ROWS_PER (1 + CONTACTS_PER + VISITS_PER + TASKS_PER)
#define STRIDE 7919 /* prime, coprime with every store size used here */
#define MAX_ROUNDS 1000

/* ---------------------------------------------------------------------- */
/* Small helpers                                                           */
/* ---------------------------------------------------------------------- */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "bench_merge: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        die("out of memory");
    return p;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 64; tries++) {
        va_list ap;
        int k;
        if (b->cap - b->len < 2 || !b->p) {
            b->cap = b->cap * 2 + 256;
            b->p = realloc(b->p, b->cap);
            if (!b->p)
                die("out of memory");
        }
        va_start(ap, fmt);
        k = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (k < 0)
            die("vsnprintf");
        if ((size_t)k < b->cap - b->len) {
            b->len += (size_t)k;
            return;
        }
        b->cap = b->cap * 2 + (size_t)k + 1;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            die("out of memory");
    }
    die("sb_printf: no progress");
}

static const char *const words[] = {
    "customer", "asked", "about", "the", "new", "price", "list", "for", "next",
    "quarter", "and", "wants", "a", "demo", "of", "premium", "line", "met",
    "with", "purchasing", "manager", "who", "is", "happy", "delivery", "times",
    "but", "concerned", "invoice", "errors", "last", "month", "shelf", "space",
    "in", "store", "was", "reduced", "competitor", "offered", "discount", "ten",
    "percent", "on", "bulk", "orders", "follow", "up", "call", "needed",
    "before", "friday", "samples", "left", "at", "reception", "owner", "will",
    "decide", "after", "budget", "review", "promised", "to", "send", "quote",
};
#define NWORDS (sizeof words / sizeof words[0])

static const char *const outcomes[] = {
    "order placed", "quote requested", "no decision", "follow-up booked",
    "samples delivered", "complaint logged", "contract signed", "not available",
};

/* ~200 bytes of visit notes, different for every call. */
static void make_notes(char *out, size_t cap, uint64_t *s)
{
    size_t len = 0;

    for (int w = 0; w < 64 && len < 190; w++) {
        const char *word = words[rnd(s) % NWORDS];
        size_t wl = strlen(word);
        if (len + wl + 3 >= cap)
            break;
        if (len)
            out[len++] = ' ';
        memcpy(out + len, word, wl);
        len += wl;
    }
    out[len++] = '.';
    out[len] = '\0';
}

/* ---------------------------------------------------------------------- */
/* The data set                                                            */
/* ---------------------------------------------------------------------- */

typedef struct brow {
    const fs_entity *e;
    fs_id id;
    uint32_t cust;        /* index of the customer row it hangs off */
    uint32_t edits;       /* how many times a case changed it */
    char status[16];      /* visits: the status the device last saw */
    fs_hlc status_hlc;    /* ... and its stamp (the base of the next edit) */
} brow;

typedef struct bench {
    bool quick;
    char dir[256];
    char db[300], rawdb[300];
    fss_config cfg;
    fss_server *s;
    fs_id rep;
    char rep_text[FS_ID_STRLEN + 1];
    /* The device. */
    fs_id dev;
    char auth[FS_PROTO_TOKEN_MAX + 32];
    fs_hlc clock;
    uint64_t cursor;
    uint64_t batches;
    /* Rows in creation order: each customer, then its children. */
    brow *rows;
    size_t nrows, ncust;
    double cust_lat[2000], cust_lon[2000];
    uint64_t seed;
} bench;

static fs_id make_id(uint64_t ms, uint64_t *s)
{
    uint8_t r[10];
    fs_id id;

    for (int i = 0; i < 10; i++)
        r[i] = (uint8_t)(rnd(s) >> 32);
    fs_id_from_parts(ms, r, &id);
    return id;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static fs_hlc stamp(bench *b)
{
    fs_hlc out;
    if (fs_hlc_tick(&b->clock, wall_ms(), &out, NULL) != FS_OK)
        die("hlc tick");
    return out;
}

static void build_rows(bench *b)
{
    uint64_t t0 = wall_ms() - UINT64_C(90) * 86400000;
    size_t k = 0;

    b->nrows = b->ncust * ROWS_PER;
    b->rows = xcalloc(b->nrows, sizeof *b->rows);
    for (size_t c = 0; c < b->ncust; c++) {
        size_t ci = k;
        b->rows[k].e = fs_schema_entity("customer");
        b->rows[k].id = make_id(t0 + c * 1000, &b->seed);
        b->rows[k].cust = (uint32_t)ci;
        b->cust_lat[c] = 45.0 + (double)(rnd(&b->seed) % 50000) / 10000.0;
        b->cust_lon[c] = 1.0 + (double)(rnd(&b->seed) % 50000) / 10000.0;
        k++;
        for (int j = 0; j < CONTACTS_PER + VISITS_PER + TASKS_PER; j++, k++) {
            const char *en = j < CONTACTS_PER ? "contact"
                             : j < CONTACTS_PER + VISITS_PER ? "visit" : "task";
            b->rows[k].e = fs_schema_entity(en);
            b->rows[k].id = make_id(t0 + c * 1000 + (uint64_t)j + 1, &b->seed);
            b->rows[k].cust = (uint32_t)ci;
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Changes                                                                 */
/* ---------------------------------------------------------------------- */

static void set_val(bench *b, fs_change *c, const char *field, const fs_value *v)
{
    fs_error err = {0};
    if (fs_change_set_named(c, field, v, stamp(b), &err) != FS_OK)
        die("change %s: %s", field, err.text);
}

static void set_text(bench *b, fs_change *c, const char *field, const char *s)
{
    fs_value v;
    fs_error err = {0};
    if (fs_value_text(&v, s, strlen(s), &err) != FS_OK)
        die("text: %s", err.text);
    set_val(b, c, field, &v);
    fs_value_clear(&v);
}

static void set_int(bench *b, fs_change *c, const char *field, int64_t i)
{
    fs_value v = fs_value_int(i);
    set_val(b, c, field, &v);
}

static void set_real(bench *b, fs_change *c, const char *field, double r)
{
    fs_value v = fs_value_real(r);
    set_val(b, c, field, &v);
}

static double gps(double base, uint64_t *s)
{
    double jitter = (double)(rnd(s) % 2001) / 1e6 - 0.001;
    long long q = (long long)((base + jitter) * 1e7 + 0.5);
    return (double)q / 1e7;
}

static void change_init(bench *b, fs_change *c, const brow *r)
{
    fs_error err = {0};
    if (fs_change_init(c, r->e, &r->id, &b->dev, &err) != FS_OK)
        die("change init: %s", err.text);
}

/* The device creates child row i (contacts, visits, tasks). */
static void make_create(bench *b, fs_change *c, size_t i)
{
    brow *r = &b->rows[i];
    const brow *cu = &b->rows[r->cust];
    size_t cidx = r->cust / ROWS_PER;
    fs_value v = fs_value_idv(&cu->id);
    char txt[120];
    uint64_t now = wall_ms();

    change_init(b, c, r);
    set_val(b, c, "customer_id", &v);
    if (strcmp(r->e->name, "contact") == 0) {
        snprintf(txt, sizeof txt, "Contact %zu", i);
        set_text(b, c, "name", txt);
        set_text(b, c, "title", "Purchasing manager");
        snprintf(txt, sizeof txt, "+33 1 %02u %02u %02u %02u", (unsigned)(i % 100),
                 (unsigned)(i / 100 % 100), (unsigned)(i / 10000 % 100), 42u);
        set_text(b, c, "phone", txt);
        snprintf(txt, sizeof txt, "contact%zu@example.com", i);
        set_text(b, c, "email", txt);
    } else if (strcmp(r->e->name, "visit") == 0) {
        fs_hlc h;
        set_int(b, c, "planned_at", (int64_t)(now - 3600000));
        set_int(b, c, "checkin_at", (int64_t)now);
        set_real(b, c, "checkin_lat", gps(b->cust_lat[cidx], &b->seed));
        set_real(b, c, "checkin_lon", gps(b->cust_lon[cidx], &b->seed));
        set_text(b, c, "status", "in_progress");
        h = c->fields[c->nfields - 1].hlc;
        snprintf(r->status, sizeof r->status, "in_progress");
        r->status_hlc = h;
    } else {
        set_int(b, c, "due_at", (int64_t)(now + 86400000));
        set_text(b, c, "kind", "follow_up");
        set_int(b, c, "done", 0);
        snprintf(txt, sizeof txt, "Call back about order %zu", i);
        set_text(b, c, "title", txt);
    }
}

/* A case changes existing row i (edit number r->edits + 1). */
static void make_edit(bench *b, fs_change *c, size_t i)
{
    brow *r = &b->rows[i];
    size_t cidx = r->cust / ROWS_PER;
    char txt[300];
    uint32_t g = ++r->edits;

    change_init(b, c, r);
    if (strcmp(r->e->name, "visit") == 0) {
        fs_value base;
        fs_error err = {0};
        set_int(b, c, "checkout_at", (int64_t)wall_ms());
        set_real(b, c, "checkout_lat", gps(b->cust_lat[cidx], &b->seed));
        set_real(b, c, "checkout_lon", gps(b->cust_lon[cidx], &b->seed));
        set_text(b, c, "status", "completed");
        if (fs_value_text(&base, r->status, strlen(r->status), &err) != FS_OK ||
            fs_change_set_base(c, fs_entity_field_index(r->e, "status"), &base,
                               r->status_hlc, &err) != FS_OK)
            die("base: %s", err.text);
        fs_value_clear(&base);
        snprintf(r->status, sizeof r->status, "completed");
        r->status_hlc = c->fields[c->nfields - 1].hlc;
        set_text(b, c, "outcome", outcomes[rnd(&b->seed) % 8]);
        make_notes(txt, sizeof txt, &b->seed);
        set_text(b, c, "notes", txt);
    } else if (strcmp(r->e->name, "task") == 0) {
        set_int(b, c, "done", g % 2);
    } else if (strcmp(r->e->name, "contact") == 0) {
        snprintf(txt, sizeof txt, "+33 6 %02u %02u %02u %02u", (unsigned)(i % 100),
                 (unsigned)(i / 100 % 100), (unsigned)(g % 100), 7u);
        set_text(b, c, "phone", txt);
        snprintf(txt, sizeof txt, "c%zu.v%u@example.org", i, (unsigned)g);
        set_text(b, c, "email", txt);
    } else {
        snprintf(txt, sizeof txt, "+33 4 %02u %02u %02u %02u", (unsigned)(i % 100),
                 (unsigned)(i / 100 % 100), (unsigned)(g % 100), 9u);
        set_text(b, c, "phone", txt);
        snprintf(txt, sizeof txt, "retail,visit-%u", (unsigned)g);
        set_text(b, c, "tags", txt);
    }
}

/* ---------------------------------------------------------------------- */
/* Talking to the server in-process                                        */
/* ---------------------------------------------------------------------- */

/* One sync round through fss_handle. Returns the seconds fss_handle took;
 * *out is the decoded answer (free with fs_proto_sync_response_free). */
static double sync_round(bench *b, fs_change *ch, size_t n, uint32_t page,
                         fs_sync_response *out)
{
    fs_sync_request rq;
    fs_proto_buf body = {0};
    fs_error err = {0};
    fss_request req;
    fss_response resp;
    uint8_t rb[10] = {0};
    double t0, t;

    memset(&rq, 0, sizeof rq);
    rq.version = FS_PROTO_VERSION;
    rq.device_id = b->dev;
    for (int i = 0; i < 8; i++)
        rb[2 + i] = (uint8_t)(++b->batches >> (8 * i));
    fs_id_from_parts(wall_ms(), rb, &rq.batch_id);
    rq.cursor = b->cursor;
    rq.page_size = page;
    rq.client_time = stamp(b);
    rq.changes = ch;
    rq.nchanges = n;
    if (fs_proto_sync_request_encode(&rq, FS_PROTO_DEFLATE, NULL, &body, &err) !=
        FS_PROTO_OK)
        die("encode request: %s", err.text);

    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.path = "/v1/sync";
    req.content_type = "application/x-protobuf";
    req.content_encoding = "deflate";
    req.authorization = b->auth;
    req.remote_addr = "127.0.0.1";
    req.body = body.data;
    req.body_len = body.len;
    t0 = bench_now_s();
    fss_handle(b->s, &req, &resp);
    t = bench_now_s() - t0;
    if (resp.status != 200)
        die("sync: HTTP %d: %.*s", resp.status, (int)resp.body_len,
            resp.body ? (const char *)resp.body : "");
    memset(out, 0, sizeof *out);
    if (fs_proto_sync_response_decode(resp.body, resp.body_len, FS_PROTO_DEFLATE,
                                      NULL, out, NULL, &err) != FS_PROTO_OK)
        die("decode response: %s", err.text);
    if (out->nresults != n)
        die("%zu results for %zu changes", out->nresults, n);
    fss_response_free(&resp);
    fs_proto_buf_free(&body);
    (void)fs_hlc_recv(&b->clock, wall_ms(), out->server_time, &(fs_hlc){0}, NULL);
    return t;
}

/* The untimed pull rounds after a push, until the device is caught up.
 * Never inlined, so a profile (perf, callgrind) tells its samples from the
 * timed push round's by this frame. */
static __attribute__((noinline)) void drain(bench *b, fs_sync_response *out)
{
    int round;

    for (round = 0; out->has_more && round < MAX_ROUNDS; round++) {
        fs_proto_sync_response_free(out);
        (void)sync_round(b, NULL, 0, 5000, out);
        b->cursor = out->next_cursor;
    }
    if (out->has_more)
        die("pull did not finish in %d rounds", MAX_ROUNDS);
}

/* Pushes one batch (page of one row), checks every change was applied,
 * then pulls the rest untimed. Returns the seconds of the push round. */
static double push_batch(bench *b, fs_change *ch, size_t n)
{
    fs_sync_response out;
    double t = sync_round(b, ch, n, 1, &out);

    for (size_t i = 0; i < out.nresults; i++)
        if (out.results[i].outcome != FS_APPLIED)
            die("change %zu: %s (%s)", i, fs_reason_name(out.results[i].reason),
                out.results[i].detail);
    b->cursor = out.next_cursor;
    drain(b, &out);
    fs_proto_sync_response_free(&out);
    return t;
}

static void enroll(bench *b)
{
    char code[FSS_CODE_LEN + 1];
    fs_error err = {0};
    fs_enroll_request rq;
    fs_enroll_response rs;
    fs_proto_buf body = {0};
    fss_request req;
    fss_response resp;

    if (fss_admin_enroll_code(b->s, &b->rep, 0, code, &err) != FSS_OK)
        die("enroll code: %s", err.text);
    memset(&rq, 0, sizeof rq);
    rq.version = FS_PROTO_VERSION;
    snprintf(rq.code, sizeof rq.code, "%s", code);
    snprintf(rq.device_name, sizeof rq.device_name, "bench laptop");
    if (fs_proto_enroll_request_encode(&rq, FS_PROTO_IDENTITY, NULL, &body, &err) !=
        FS_PROTO_OK)
        die("enroll encode: %s", err.text);
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.path = "/v1/enroll";
    req.content_type = "application/x-protobuf";
    req.remote_addr = "127.0.0.1";
    req.body = body.data;
    req.body_len = body.len;
    fss_handle(b->s, &req, &resp);
    if (resp.status != 200)
        die("enroll: HTTP %d", resp.status);
    memset(&rs, 0, sizeof rs);
    if (fs_proto_enroll_response_decode(resp.body, resp.body_len, FS_PROTO_IDENTITY,
                                        NULL, &rs, NULL, &err) != FS_PROTO_OK)
        die("enroll decode: %s", err.text);
    b->dev = rs.device_id;
    b->clock = rs.server_time;
    snprintf(b->auth, sizeof b->auth, "Bearer %s", rs.token);
    fss_response_free(&resp);
    fs_proto_buf_free(&body);
}

static void import_customers(bench *b)
{
    sbuf j = {0};
    fss_buf report = {0};
    fs_error err = {0};

    sb_printf(&j, "[");
    for (size_t c = 0; c < b->ncust; c++) {
        char id[FS_ID_STRLEN + 1];
        fs_id_format(&b->rows[c * ROWS_PER].id, id);
        sb_printf(&j,
                  "%s{\"id\":\"%s\",\"name\":\"Customer %zu\",\"address\":\"%zu Rue "
                  "de la Gare, Lyon\",\"lat\":%.6f,\"lon\":%.6f,\"phone\":\"+33 4 00 "
                  "%02zu %02zu\",\"tags\":\"retail\",\"segment\":\"smb\","
                  "\"territory\":\"bench\"}",
                  c ? "," : "", id, c, c + 1, b->cust_lat[c], b->cust_lon[c],
                  c % 100, c / 100 % 100);
    }
    sb_printf(&j, "]");
    if (fss_admin_import(b->s, "customer", "json", j.p, j.len, &report, &err) != FSS_OK)
        die("import: %s %s", err.text, report.data ? report.data : "");
    fss_buf_free(&report);
    free(j.p);
}

/* The store the cases push into: customers imported, children pushed. */
static void populate(bench *b)
{
    fs_change *ch = xcalloc(BATCH, sizeof *ch);
    size_t n = 0;
    double t0 = bench_now_s();

    import_customers(b);
    enroll(b);
    for (size_t i = 0; i < b->nrows; i++) {
        if (b->rows[i].cust == i)
            continue; /* a customer: imported */
        make_create(b, &ch[n++], i);
        if (n == BATCH || i + 1 == b->nrows) {
            (void)push_batch(b, ch, n);
            for (size_t k = 0; k < n; k++)
                fs_change_free(&ch[k]);
            n = 0;
        }
    }
    free(ch);
    fprintf(stderr, "bench_merge: store holds %zu rows (%zu customers), built in %.1f s\n",
            b->nrows, b->ncust, bench_now_s() - t0);
}

/* ---------------------------------------------------------------------- */
/* Raw SQLite baseline                                                     */
/* ---------------------------------------------------------------------- */

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die("%s: %s", sql, msg ? msg : "?");
    sqlite3_free(msg);
}

/* One column value as read from the server's store. */
typedef struct cval {
    int type;
    int n;
    union {
        sqlite3_int64 i;
        double r;
        void *p;
    } u;
} cval;

typedef struct cap_row {
    int ent;    /* index in fs_schema_entities */
    int ncol;
    cval *v;
} cap_row;

typedef struct rawdb {
    sqlite3 *db;      /* the baseline database */
    sqlite3 *srv;     /* read-only connection to the server's store */
    size_t nent;
    const fs_entity *const *ents;
    sqlite3_stmt **upsert; /* per entity */
    sqlite3_stmt **select; /* per entity, on srv */
} rawdb;

static int ent_index(const rawdb *r, const fs_entity *e)
{
    for (size_t i = 0; i < r->nent; i++)
        if (r->ents[i] == e)
            return (int)i;
    die("unknown entity %s", e->name);
}

static void raw_open(bench *b, rawdb *r)
{
    fs_store *st = NULL;
    fs_error err = {0};
    sqlite3_stmt *q = NULL;
    double t0 = bench_now_s();

    memset(r, 0, sizeof *r);
    r->ents = fs_schema_entities(&r->nent);
    r->upsert = xcalloc(r->nent, sizeof *r->upsert);
    r->select = xcalloc(r->nent, sizeof *r->select);
    if (sqlite3_open(b->rawdb, &r->db) != SQLITE_OK)
        die("open %s", b->rawdb);
    sqlite3_busy_timeout(r->db, 10000);
    /* The server store's settings (sync-server/fss_db.c). */
    exec_sql(r->db, "PRAGMA journal_mode=WAL");
    exec_sql(r->db, "PRAGMA synchronous=NORMAL");
    /* The store's own DDL: same tables, columns and indexes. */
    if (fs_store_open(r->db, "", &st, &err) != FS_STORE_OK)
        die("raw store: %s", err.text);
    fs_store_close(st);
    if (sqlite3_prepare_v2(r->db, "ATTACH ?1 AS srv", -1, &q, NULL) != SQLITE_OK)
        die("attach: %s", sqlite3_errmsg(r->db));
    sqlite3_bind_text(q, 1, b->db, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        die("attach: %s", sqlite3_errmsg(r->db));
    sqlite3_finalize(q);
    exec_sql(r->db, "BEGIN");
    for (size_t i = 0; i < r->nent; i++) {
        sbuf sql = {0};
        sb_printf(&sql, "INSERT INTO main.\"%s\" SELECT * FROM srv.\"%s\"",
                  r->ents[i]->name, r->ents[i]->name);
        exec_sql(r->db, sql.p);
        free(sql.p);
    }
    exec_sql(r->db, "COMMIT");
    exec_sql(r->db, "DETACH srv");
    if (sqlite3_open_v2(b->db, &r->srv, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die("open %s read-only", b->db);
    sqlite3_busy_timeout(r->srv, 10000);

    for (size_t i = 0; i < r->nent; i++) {
        const char *t = r->ents[i]->name;
        sbuf cols = {0}, qs = {0}, upd = {0}, sql = {0};
        sqlite3_stmt *ti = NULL;
        int ncol = 0;

        sb_printf(&sql, "PRAGMA table_info(\"%s\")", t);
        if (sqlite3_prepare_v2(r->db, sql.p, -1, &ti, NULL) != SQLITE_OK)
            die("table_info: %s", sqlite3_errmsg(r->db));
        while (sqlite3_step(ti) == SQLITE_ROW) {
            const char *c = (const char *)sqlite3_column_text(ti, 1);
            sb_printf(&cols, "%s\"%s\"", ncol ? "," : "", c);
            sb_printf(&qs, "%s?", ncol ? "," : "");
            if (strcmp(c, "id") != 0)
                sb_printf(&upd, "%s\"%s\"=excluded.\"%s\"", upd.len ? "," : "", c, c);
            ncol++;
        }
        sqlite3_finalize(ti);
        sql.len = 0;
        sb_printf(&sql, "INSERT INTO \"%s\"(%s) VALUES(%s) ON CONFLICT(id) DO UPDATE SET %s",
                  t, cols.p, qs.p, upd.p);
        if (sqlite3_prepare_v3(r->db, sql.p, -1, SQLITE_PREPARE_PERSISTENT, &r->upsert[i],
                               NULL) != SQLITE_OK)
            die("upsert: %s", sqlite3_errmsg(r->db));
        sql.len = 0;
        sb_printf(&sql, "SELECT %s FROM \"%s\" WHERE id = ?1", cols.p, t);
        if (sqlite3_prepare_v2(r->srv, sql.p, -1, &r->select[i], NULL) != SQLITE_OK)
            die("select: %s", sqlite3_errmsg(r->srv));
        free(cols.p);
        free(qs.p);
        free(upd.p);
        free(sql.p);
    }
    fprintf(stderr, "bench_merge: baseline database copied in %.1f s\n",
            bench_now_s() - t0);
}

static void raw_close(rawdb *r)
{
    for (size_t i = 0; i < r->nent; i++) {
        sqlite3_finalize(r->upsert[i]);
        sqlite3_finalize(r->select[i]);
    }
    free(r->upsert);
    free(r->select);
    sqlite3_close(r->srv);
    sqlite3_close(r->db);
}

/* Reads rows idx[0..n) as the server stored them. */
static cap_row *capture(bench *b, rawdb *r, const size_t *idx, size_t n)
{
    cap_row *out = xcalloc(n, sizeof *out);

    exec_sql(r->srv, "BEGIN");
    for (size_t k = 0; k < n; k++) {
        const brow *br = &b->rows[idx[k]];
        int e = ent_index(r, br->e);
        sqlite3_stmt *q = r->select[e];
        int nc = sqlite3_column_count(q);

        sqlite3_bind_blob(q, 1, br->id.b, 16, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_ROW)
            die("row %zu not in the server's store", idx[k]);
        out[k].ent = e;
        out[k].ncol = nc;
        out[k].v = xcalloc((size_t)nc, sizeof *out[k].v);
        for (int c = 0; c < nc; c++) {
            cval *v = &out[k].v[c];
            v->type = sqlite3_column_type(q, c);
            switch (v->type) {
            case SQLITE_INTEGER: v->u.i = sqlite3_column_int64(q, c); break;
            case SQLITE_FLOAT: v->u.r = sqlite3_column_double(q, c); break;
            case SQLITE_TEXT:
            case SQLITE_BLOB: {
                const void *p = v->type == SQLITE_TEXT
                                    ? (const void *)sqlite3_column_text(q, c)
                                    : sqlite3_column_blob(q, c);
                v->n = sqlite3_column_bytes(q, c);
                v->u.p = xcalloc((size_t)v->n + 1, 1);
                if (v->n)
                    memcpy(v->u.p, p, (size_t)v->n);
                break;
            }
            default: break;
            }
        }
        sqlite3_reset(q);
    }
    exec_sql(r->srv, "COMMIT");
    return out;
}

static void capture_free(cap_row *rows, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        for (int c = 0; c < rows[k].ncol; c++)
            if (rows[k].v[c].type == SQLITE_TEXT || rows[k].v[c].type == SQLITE_BLOB)
                free(rows[k].v[c].u.p);
        free(rows[k].v);
    }
    free(rows);
}

/* The timed baseline: upserts, BATCH rows per transaction. */
static double raw_upsert(rawdb *r, const cap_row *rows, size_t n)
{
    double t0 = bench_now_s();

    for (size_t k = 0; k < n; k++) {
        sqlite3_stmt *st = r->upsert[rows[k].ent];
        if (k % BATCH == 0)
            exec_sql(r->db, "BEGIN IMMEDIATE");
        for (int c = 0; c < rows[k].ncol; c++) {
            const cval *v = &rows[k].v[c];
            switch (v->type) {
            case SQLITE_INTEGER: sqlite3_bind_int64(st, c + 1, v->u.i); break;
            case SQLITE_FLOAT: sqlite3_bind_double(st, c + 1, v->u.r); break;
            case SQLITE_TEXT:
                sqlite3_bind_text(st, c + 1, v->u.p, v->n, SQLITE_STATIC);
                break;
            case SQLITE_BLOB:
                sqlite3_bind_blob(st, c + 1, v->u.p, v->n, SQLITE_STATIC);
                break;
            default: sqlite3_bind_null(st, c + 1); break;
            }
        }
        if (sqlite3_step(st) != SQLITE_DONE)
            die("raw upsert: %s", sqlite3_errmsg(r->db));
        sqlite3_reset(st);
        if (k % BATCH == BATCH - 1 || k + 1 == n)
            exec_sql(r->db, "COMMIT");
    }
    return bench_now_s() - t0;
}

/* ---------------------------------------------------------------------- */
/* Cases                                                                   */
/* ---------------------------------------------------------------------- */

/* The PostgreSQL pass's round trips by statement (fss__repo_trace): the
 * profile printed after each case, most frequent first. */
#define MAX_TRIPS 64
static struct {
    char *sql;
    unsigned n;
} trips[MAX_TRIPS];
static size_t ntrips;

static void on_trip(void *arg, const char *what, const char *sql)
{
    (void)arg;
    (void)what;
    for (size_t i = 0; i < ntrips; i++)
        if (strcmp(trips[i].sql, sql) == 0) {
            trips[i].n++;
            return;
        }
    if (ntrips < MAX_TRIPS && (trips[ntrips].sql = strdup(sql)) != NULL)
        trips[ntrips++].n = 1;
}

static int by_trips(const void *a, const void *b)
{
    const unsigned x = *(const unsigned *)((const char *)a + sizeof(char *));
    const unsigned y = *(const unsigned *)((const char *)b + sizeof(char *));
    return x < y ? 1 : x > y ? -1 : 0;
}

static void print_trips(const char *name, size_t n)
{
    unsigned total = 0;

    qsort(trips, ntrips, sizeof trips[0], by_trips);
    for (size_t i = 0; i < ntrips; i++)
        total += trips[i].n;
    fprintf(stderr, "bench_merge: %s: %u round trips (%.2f per row); most frequent:\n",
            name, total, n ? (double)total / (double)n : 0.0);
    for (size_t i = 0; i < ntrips; i++) {
        if (i < 6)
            fprintf(stderr, "  %6u  %.110s\n", trips[i].n, trips[i].sql);
        free(trips[i].sql);
    }
    ntrips = 0;
    bench_result("merge", name, "round_trips_per_row", n ? (double)total / (double)n : 0.0,
                 "count", NAN, NULL);
}

/* One case: n changed rows pushed through the server. With r, the raw
 * SQLite upsert baseline follows; without (the PostgreSQL pass), the
 * baseline is base_rate, the SQLite server's rate of the same case in this
 * launch. Returns the server's rows/s. */
static double run_case(bench *b, rawdb *r, const char *name, size_t n,
                       double base_rate)
{
    size_t *idx = xcalloc(n, sizeof *idx);
    fs_change *ch = xcalloc(BATCH, sizeof *ch);
    double t_srv = 0, t_raw;
    cap_row *rows;

    if (n > b->nrows)
        die("case %s: %zu changes but only %zu rows", name, n, b->nrows);
    for (size_t k = 0; k < n; k++)
        idx[k] = (size_t)(((uint64_t)k * STRIDE + 1) % b->nrows);
    if (!r)
        fss__repo_trace(b->s, on_trip, NULL);
    for (size_t k = 0; k < n; k += BATCH) {
        size_t m = n - k < BATCH ? n - k : BATCH;
        for (size_t j = 0; j < m; j++)
            make_edit(b, &ch[j], idx[k + j]);
        t_srv += push_batch(b, ch, m);
        for (size_t j = 0; j < m; j++)
            fs_change_free(&ch[j]);
    }
    if (!r) {
        fss__repo_trace(b->s, NULL, NULL);
        print_trips(name, n);
        fprintf(stderr, "bench_merge: %s: server on PostgreSQL %.2f s (%.0f rows/s)\n",
                name, t_srv, (double)n / t_srv);
        bench_result("merge", name, "rows_per_s", (double)n / t_srv, "rows/s",
                     base_rate, ">=0.5x");
        goto done;
    }
    rows = capture(b, r, idx, n);
    t_raw = raw_upsert(r, rows, n);
    fprintf(stderr, "bench_merge: %s: server %.2f s (%.0f rows/s), raw upsert %.2f s "
                    "(%.0f rows/s)\n", name, t_srv, (double)n / t_srv, t_raw,
            (double)n / t_raw);
    bench_result("merge", name, "rows_per_s", (double)n / t_srv, "rows/s",
                 (double)n / t_raw, ">=0.5x");
    capture_free(rows, n);
done:
    free(ch);
    free(idx);
    return (double)n / t_srv;
}

static void cleanup(bench *b)
{
    const char *sfx[] = {"", "-wal", "-shm", "-journal"};
    char p[400];

    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        snprintf(p, sizeof p, "%s%s", b->db, sfx[i]);
        (void)unlink(p);
        snprintf(p, sizeof p, "%s%s", b->rawdb, sfx[i]);
        (void)unlink(p);
    }
    if (rmdir(b->dir) != 0)
        fprintf(stderr, "bench_merge: rmdir %s: %s\n", b->dir, strerror(errno));
}

/* Opens the server on the configured store (b->cfg) and writes the
 * rows every case edits. */
static void setup(bench *b)
{
    fs_error err = {0};

    b->cfg.threads = 1;
    if (fss_server_open(&b->cfg, &b->s, &err) != FSS_OK)
        die("open: %s", err.text);
    if (fss_admin_rep_add(b->s, "Bench Rep", "bench@example.com", &b->rep, &err) != FSS_OK ||
        fss_admin_territory_add(b->s, "bench", "Bench", &err) != FSS_OK ||
        fss_admin_rep_territory(b->s, &b->rep, "bench", true, &err) != FSS_OK)
        die("rep: %s", err.text);
    build_rows(b);
    populate(b);
    /* Restart the server on the populated store, as a deployment runs on a
     * store that has rows: its open refreshes the planner's statistics
     * (ANALYZE) and its connections start without cached plans. Without
     * this, PostgreSQL kept the generic plans it made while the tables were
     * empty (the open's ANALYZE saw 0 rows): a sequential scan of `visit`
     * for every batch row load, 15-30 ms each, until autovacuum's next
     * ANALYZE (up to a minute, longer than a launch) - which made the
     * PostgreSQL pass's rate swing between 1,000 and 7,000 rows/s
     * (docs/BENCHMARKS.md, issue 18 (e)). Done for SQLite too, so both
     * backends are measured the same way. */
    fss_server_close(b->s);
    b->s = NULL;
    if (fss_server_open(&b->cfg, &b->s, &err) != FSS_OK)
        die("reopen: %s", err.text);
}

int main(int argc, char **argv)
{
    static bench b;
    rawdb r;
    const char *tmp = getenv("TMPDIR");
    const char *pg = NULL;
    const char *names[2];
    size_t sizes[2];
    double rate[2];

    b.quick = bench_quick(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            pg = argv[++i];
        else if (strcmp(argv[i], "--quick") != 0)
            die("usage: bench_merge [--quick] [--store POSTGRESQL-CONNINFO]");
    }
    names[0] = b.quick ? "1k" : "10k";
    names[1] = b.quick ? "10k" : "100k";
    sizes[0] = b.quick ? 1000 : 10000;
    sizes[1] = b.quick ? 10000 : 100000;
    b.ncust = b.quick ? 100 : 1000;
    b.seed = 0x9E3779B97F4A7C15ULL;
    snprintf(b.dir, sizeof b.dir, "%s/fs-bench-merge-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(b.dir))
        die("mkdtemp %s: %s", b.dir, strerror(errno));
    snprintf(b.db, sizeof b.db, "%s/central.db", b.dir);
    snprintf(b.rawdb, sizeof b.rawdb, "%s/raw.db", b.dir);

    fss_config_default(&b.cfg);
    b.cfg.db_path = b.db;
    setup(&b);
    raw_open(&b, &r);
    for (int c = 0; c < 2; c++)
        rate[c] = run_case(&b, &r, names[c], sizes[c], 0);
    raw_close(&r);
    fss_server_close(b.s);
    free(b.rows);

    if (pg) {
        /* The same workload on PostgreSQL (an empty database), in this
         * launch: the same rows (same seed), the same pushes; the baseline
         * is the SQLite server's rate just measured. */
        bench keep = b;
        char pname[2][16];

        memset(&b, 0, sizeof b);
        b.quick = keep.quick;
        b.ncust = keep.ncust;
        b.seed = keep.seed;
        memcpy(b.dir, keep.dir, sizeof b.dir);
        memcpy(b.db, keep.db, sizeof b.db);
        memcpy(b.rawdb, keep.rawdb, sizeof b.rawdb);
        fss_config_default(&b.cfg);
        b.cfg.store = pg;
        setup(&b);
        for (int c = 0; c < 2; c++) {
            snprintf(pname[c], sizeof pname[c], "pg_%s", names[c]);
            (void)run_case(&b, NULL, pname[c], sizes[c], rate[c]);
        }
        fss_server_close(b.s);
        free(b.rows);
    }
    if (getenv("BENCH_KEEP"))
        fprintf(stderr, "bench_merge: kept %s (BENCH_KEEP)\n", b.dir);
    else
        cleanup(&b);
    return 0;
}
