/*
 * server_testkit.c - see server_testkit.h. The server runs in-process (the
 * test owns its handle, so admin operations are direct calls) but every
 * device interaction goes over real HTTP on 127.0.0.1 through libcurl.
 */
#include "server_testkit.h"

#include "fss_sql.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

bool tk_pg(void)
{
    const char *v = getenv("FS_TEST_STORE");
    return v && strcmp(v, "pg") == 0;
}

/* Before main: a PostgreSQL variant without a cluster passes, loudly. */
__attribute__((constructor)) static void tk_pg_gate(void)
{
    if (tk_pg() && !getenv("FS_TEST_PG")) {
        printf("SKIPPED: PostgreSQL (FS_TEST_PG unset)\n");
        fflush(stdout);
        _exit(0);
    }
}

/* Runs one statement on the FS_TEST_PG cluster's own database. */
static void pg_admin(const char *sql)
{
    fss_sql *db = NULL;

    if (fss_sql_open_pg(getenv("FS_TEST_PG"), &db) != FSS_SQL_OK)
        fail_msg("FS_TEST_PG: %s", fss_errmsg(db));
    if (fss_exec(db, sql, NULL, NULL, NULL) != FSS_SQL_OK)
        fail_msg("%s: %s", sql, fss_errmsg(db));
    fss_sql_close(db);
}

void tk_pg_create(char *name, size_t name_cap, char *out, size_t cap)
{
    static unsigned counter;
    char sql[128];
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(name, name_cap, "fss_test_%ld_%u_%ld", (long)getpid(), counter++,
             (long)(now.tv_nsec / 1000));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    pg_admin(sql);
    /* a later keyword wins in a libpq connection string */
    snprintf(out, cap, "%s dbname=%s", getenv("FS_TEST_PG"), name);
}

void tk_pg_drop(const char *name)
{
    char sql[128];

    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    pg_admin(sql);
}

struct fss_sql *tk_sql(tk_server *t)
{
    fss_sql *db = NULL;
    int rc = t->cfg.store ? fss_sql_open_pg(t->cfg.store, &db)
                         : fss_sql_open_sqlite(t->db, &db, FSS_SQL_OPEN_READWRITE);

    if (rc != FSS_SQL_OK)
        fail_msg("open the store: %s", fss_errmsg(db));
    return db;
}

void tk_start(tk_server *t, void (*cfg_edit)(fss_config *cfg))
{
    fs_error err = {0};
    char tmpl[] = "/tmp/fss-test-XXXXXX";

    memset(t, 0, sizeof *t);
    assert_non_null(mkdtemp(tmpl));
    snprintf(t->dir, sizeof t->dir, "%s", tmpl);
    snprintf(t->db, sizeof t->db, "%s/central.db", t->dir);
    fss_config_default(&t->cfg);
    t->cfg.db_path = t->db;
    if (tk_pg()) {
        tk_pg_create(t->pg_db, sizeof t->pg_db, t->store, sizeof t->store);
        t->cfg.store = t->store;
    }
    t->cfg.bind_addr = "127.0.0.1";
    t->cfg.port = 0;
    t->cfg.threads = 4;
    t->cfg.admin_token = TK_ADMIN_TOKEN;
    t->cfg.drain_timeout_s = 5;
    if (getenv("FS_TEST_LOG"))
        t->cfg.log = stderr;
    if (cfg_edit)
        cfg_edit(&t->cfg);
    if (fss_server_open(&t->cfg, &t->s, &err) != FSS_OK)
        fail_msg("open: %s", err.text);
    if (fss_server_start(t->s, &err) != FSS_OK)
        fail_msg("start: %s", err.text);
    assert_true(fss_server_port(t->s) > 0);
    snprintf(t->base, sizeof t->base, "http://127.0.0.1:%u",
             (unsigned)fss_server_port(t->s));
}

void tk_stop(tk_server *t)
{
    char path[400];

    fss_server_close(t->s);
    t->s = NULL;
    if (t->pg_db[0])
        tk_pg_drop(t->pg_db);
    t->pg_db[0] = '\0';
    snprintf(path, sizeof path, "%s/central.db", t->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/central.db-wal", t->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/central.db-shm", t->dir);
    unlink(path);
    rmdir(t->dir);
}

void tk_http_free(tk_http *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    tk_http *r = ud;
    uint8_t *nb = realloc(r->body, r->len + sz * n + 1);

    if (!nb)
        return 0;
    r->body = nb;
    memcpy(r->body + r->len, p, sz * n);
    r->len += sz * n;
    r->body[r->len] = 0;
    return sz * n;
}

static void header_val(const char *line, size_t n, const char *name, char *out,
                       size_t cap)
{
    size_t kl = strlen(name), vl;

    if (n <= kl + 1 || strncasecmp(line, name, kl) != 0 || line[kl] != ':')
        return;
    line += kl + 1;
    n -= kl + 1;
    while (n && *line == ' ') {
        line++;
        n--;
    }
    while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
        n--;
    vl = n < cap - 1 ? n : cap - 1;
    memcpy(out, line, vl);
    out[vl] = 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    tk_http *r = ud;

    header_val(p, sz * n, "Content-Type", r->content_type, sizeof r->content_type);
    header_val(p, sz * n, "Content-Encoding", r->content_encoding,
               sizeof r->content_encoding);
    header_val(p, sz * n, "Retry-After", r->retry_after, sizeof r->retry_after);
    header_val(p, sz * n, "Set-Cookie", r->set_cookie, sizeof r->set_cookie);
    header_val(p, sz * n, "Cache-Control", r->cache_control, sizeof r->cache_control);
    header_val(p, sz * n, "Fieldsync-Next-Cursor", r->next_cursor, sizeof r->next_cursor);
    return sz * n;
}

void tk_request(tk_server *t, const char *method, const char *path,
                const char *const *headers, const void *body, size_t len,
                tk_http *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    char url[512];
    CURLcode rc;

    memset(out, 0, sizeof *out);
    assert_non_null(c);
    snprintf(url, sizeof url, "%s%s", t->base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    /* Plain bytes: the tests check the server's own Content-Encoding. */
    curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    hl = curl_slist_append(hl, "Expect:");
    for (; headers && *headers; headers++)
        hl = curl_slist_append(hl, *headers);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (body || strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("curl %s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

void tk_error_body(const tk_http *r, fs_error_body *eb)
{
    fs_error err = {0};

    fs_proto_encoding enc = FS_PROTO_IDENTITY;

    memset(eb, 0, sizeof *eb);
    /* Error bodies are framed like the request (Content-Encoding says how). */
    if (r->content_encoding[0])
        assert_int_equal(fs_proto_encoding_parse(r->content_encoding,
                                                 strlen(r->content_encoding), &enc,
                                                 NULL), FS_PROTO_OK);
    if (fs_proto_error_body_decode(r->body, r->len, enc, NULL, eb,
                                   NULL, &err) != FS_PROTO_OK)
        fail_msg("error body (HTTP %ld) does not decode: %s", r->status, err.text);
    assert_true(eb->message[0] != 0);
}

fs_id tk_new_id(void)
{
    fs_id id;
    static uint64_t bump;

    /* Distinct, time-ordered ids even within one millisecond. */
    assert_int_equal(fs_id_new((uint64_t)time(NULL) * 1000 + (bump++ % 1000), &id, NULL), FS_OK);
    return id;
}

fs_id tk_rep(tk_server *t, const char *name, const char *territory)
{
    fs_error err = {0};
    fs_id id;

    if (fss_admin_rep_add(t->s, name, NULL, &id, &err) != FSS_OK)
        fail_msg("rep_add: %s", err.text);
    if (territory) {
        if (fss_admin_territory_add(t->s, territory, NULL, &err) != FSS_OK)
            fail_msg("territory_add: %s", err.text);
        if (fss_admin_rep_territory(t->s, &id, territory, true, &err) != FSS_OK)
            fail_msg("rep_territory: %s", err.text);
    }
    return id;
}

long tk_enroll_code(tk_server *t, const char *code, tk_device *d,
                    fs_error_body *eb)
{
    fs_enroll_request rq;
    fs_enroll_response rs;
    fs_proto_buf b = {0};
    fs_error err = {0};
    tk_http r;
    const char *h[] = {"Content-Type: application/x-protobuf", NULL};
    long status;

    memset(&rq, 0, sizeof rq);
    rq.version = FS_PROTO_VERSION;
    snprintf(rq.code, sizeof rq.code, "%s", code);
    snprintf(rq.device_name, sizeof rq.device_name, "test laptop");
    assert_int_equal(fs_proto_enroll_request_encode(&rq, FS_PROTO_IDENTITY, NULL, &b,
                                                    &err), FS_PROTO_OK);
    tk_request(t, "POST", "/v1/enroll", h, b.data, b.len, &r);
    fs_proto_buf_free(&b);
    status = r.status;
    if (status == 200) {
        memset(&rs, 0, sizeof rs);
        if (fs_proto_enroll_response_decode(r.body, r.len, FS_PROTO_IDENTITY, NULL,
                                            &rs, NULL, &err) != FS_PROTO_OK)
            fail_msg("enroll response: %s", err.text);
        memset(d, 0, sizeof *d);
        d->id = rs.device_id;
        d->rep = rs.rep_id;
        snprintf(d->token, sizeof d->token, "%s", rs.token);
        assert_true(rs.server_time > 0);
        d->clock = rs.server_time;
    } else if (eb) {
        tk_error_body(&r, eb);
    }
    tk_http_free(&r);
    return status;
}

void tk_enroll(tk_server *t, const fs_id *rep, tk_device *d)
{
    char code[FSS_CODE_LEN + 1];
    fs_error err = {0};
    fs_error_body eb;

    if (fss_admin_enroll_code(t->s, rep, 0, code, &err) != FSS_OK)
        fail_msg("enroll code: %s", err.text);
    assert_int_equal(tk_enroll_code(t, code, d, &eb), 200);
    assert_int_equal(fs_id_cmp(&d->rep, rep), 0);
}

long tk_sync(tk_server *t, const tk_device *d, const fs_id *batch,
             fs_change *changes, size_t n, uint64_t cursor, uint32_t page,
             fs_proto_encoding enc, fs_sync_response *resp, fs_error_body *eb)
{
    fs_sync_request rq;
    fs_proto_buf b = {0};
    fs_error err = {0};
    fs_proto_encoding renc = FS_PROTO_IDENTITY;
    tk_http r;
    char auth[200], ce[64];
    const char *h[4];
    long status;

    memset(&rq, 0, sizeof rq);
    rq.version = FS_PROTO_VERSION;
    rq.device_id = d->id;
    rq.batch_id = batch ? *batch : tk_new_id();
    rq.cursor = cursor;
    rq.page_size = page;
    rq.client_time = d->clock;
    rq.count_pending = d->count_pending;
    rq.has_outbox_pending = rq.has_rejected_held = d->report;
    rq.outbox_pending = d->outbox_pending;
    rq.rejected_held = d->rejected_held;
    rq.changes = changes;
    rq.nchanges = n;
    if (fs_proto_sync_request_encode(&rq, enc, NULL, &b, &err) != FS_PROTO_OK)
        fail_msg("encode: %s", err.text);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", d->token);
    snprintf(ce, sizeof ce, "Content-Encoding: %s", fs_proto_encoding_name(enc));
    h[0] = "Content-Type: application/x-protobuf";
    h[1] = auth;
    h[2] = ce;
    h[3] = NULL;
    tk_request(t, "POST", "/v1/sync", h, b.data, b.len, &r);
    fs_proto_buf_free(&b);
    status = r.status;
    if (status == 200) {
        if (r.content_encoding[0])
            assert_int_equal(fs_proto_encoding_parse(r.content_encoding,
                                                     strlen(r.content_encoding),
                                                     &renc, NULL), FS_PROTO_OK);
        memset(resp, 0, sizeof *resp);
        if (fs_proto_sync_response_decode(r.body, r.len, renc, NULL, resp, NULL,
                                          &err) != FS_PROTO_OK)
            fail_msg("sync response: %s", err.text);
        assert_int_equal(resp->nresults, n);
        assert_true(resp->server_time > 0);
        /* Every pull page with more to come names its next cursor in a
         * header too (for the client's pipelined pull), and nothing else
         * does: a drain's has_more asks for the outbox, not a page. */
        if (r.next_cursor[0]) {
            char want[32];
            snprintf(want, sizeof want, "%llu", (unsigned long long)resp->next_cursor);
            assert_true(resp->has_more);
            assert_string_equal(r.next_cursor, want);
        } else if (n == 0) {
            assert_false(resp->has_more);
        }
    } else if (eb) {
        tk_error_body(&r, eb);
    }
    tk_http_free(&r);
    return status;
}

size_t tk_pull_all(tk_server *t, tk_device *d, const fs_id *watch,
                   size_t *seen, size_t *exits_seen, fs_exit_reason *last_exit)
{
    size_t total = 0, i, round;
    fs_sync_response resp;
    fs_error_body eb;

    if (seen)
        *seen = 0;
    if (exits_seen)
        *exits_seen = 0;
    for (round = 0; round < 1000; round++) {
        assert_int_equal(tk_sync(t, d, NULL, NULL, 0, d->cursor, 0,
                                 FS_PROTO_DEFLATE, &resp, &eb), 200);
        total += resp.nrows;
        for (i = 0; watch && i < resp.nrows; i++)
            if (fs_id_cmp(&resp.rows[i].row.id, watch) == 0 && seen)
                (*seen)++;
        for (i = 0; watch && i < resp.nexits; i++)
            if (fs_id_cmp(&resp.exits[i].row, watch) == 0) {
                if (exits_seen)
                    (*exits_seen)++;
                if (last_exit)
                    *last_exit = resp.exits[i].reason;
            }
        assert_true(resp.next_cursor >= d->cursor);
        d->cursor = resp.next_cursor;
        d->clock = resp.server_time;
        if (!resp.has_more) {
            fs_proto_sync_response_free(&resp);
            return total;
        }
        fs_proto_sync_response_free(&resp);
    }
    fail_msg("pull did not finish in 1000 rounds");
    return total;
}

/* The device's next stamp: its clock ticked from the wall clock in ms
 * (whole seconds made a stamp "60 s older" newer than the other device's
 * when a second began between the two: test_lww_conflict_recorded and
 * test_conflict_resolution_syncs_out failed now and then). */
static fs_hlc next_stamp(tk_device *d)
{
    struct timespec ts;
    fs_hlc out;

    clock_gettime(CLOCK_REALTIME, &ts);
    assert_int_equal(fs_hlc_tick(&d->clock,
                                 (uint64_t)((int64_t)ts.tv_sec * 1000 +
                                            ts.tv_nsec / 1000000 + d->skew_ms),
                                 &out, NULL),
                     FS_OK);
    return out;
}

void tk_change(fs_change *c, tk_device *d, const char *entity, const fs_id *row)
{
    assert_int_equal(fs_change_init(c, fs_schema_entity(entity), row, &d->id, NULL),
                     FS_OK);
}

void tk_set_text(fs_change *c, tk_device *d, const char *field, const char *v)
{
    fs_value val = {0};

    assert_int_equal(fs_value_text(&val, v, strlen(v), NULL), FS_OK);
    assert_int_equal(fs_change_set_named(c, field, &val, next_stamp(d), NULL), FS_OK);
    fs_value_clear(&val);
}

void tk_set_int(fs_change *c, tk_device *d, const char *field, int64_t v)
{
    fs_value val = fs_value_int(v);
    assert_int_equal(fs_change_set_named(c, field, &val, next_stamp(d), NULL), FS_OK);
}

void tk_set_real(fs_change *c, tk_device *d, const char *field, double v)
{
    fs_value val = fs_value_real(v);
    assert_int_equal(fs_change_set_named(c, field, &val, next_stamp(d), NULL), FS_OK);
}

void tk_set_id(fs_change *c, tk_device *d, const char *field, const fs_id *v)
{
    fs_value val = fs_value_idv(v);
    assert_int_equal(fs_change_set_named(c, field, &val, next_stamp(d), NULL), FS_OK);
}

void tk_import(tk_server *t, const char *entity, const char *json)
{
    fss_buf rep = {0};
    fs_error err = {0};

    if (fss_admin_import(t->s, entity, "json", json, strlen(json), &rep, &err) != FSS_OK)
        fail_msg("import: %s %s", err.text, rep.data ? rep.data : "");
    fss_buf_free(&rep);
}

fs_id tk_customer(tk_server *t, const char *name, const char *territory,
                  const fs_id *owner, double lat, double lon)
{
    char json[600], idt[FS_ID_STRLEN + 1], own[FS_ID_STRLEN + 1] = "";
    fs_id id = tk_new_id();

    fs_id_format(&id, idt);
    if (owner)
        fs_id_format(owner, own);
    snprintf(json, sizeof json,
             "[{\"id\":\"%s\",\"name\":\"%s\",\"lat\":%.6f,\"lon\":%.6f%s%s%s%s%s%s}]",
             idt, name, lat, lon, territory ? ",\"territory\":\"" : "",
             territory ? territory : "", territory ? "\"" : "",
             owner ? ",\"owner_rep\":\"" : "", owner ? own : "", owner ? "\"" : "");
    tk_import(t, "customer", json);
    return id;
}

const fs_pulled_row *tk_find_row(const fs_sync_response *r, const fs_id *id)
{
    size_t i;

    for (i = 0; i < r->nrows; i++)
        if (fs_id_cmp(&r->rows[i].row.id, id) == 0)
            return &r->rows[i];
    return NULL;
}

const char *tk_row_text(const fs_row *row, const char *field)
{
    int i = fs_entity_field_index(row->entity, field);

    if (i < 0 || row->cells[i].v.kind != FS_VAL_TEXT)
        return NULL;
    return row->cells[i].v.u.text.p;
}

size_t tk_count(const char *hay, const char *needle)
{
    size_t n = 0, nl = strlen(needle);

    while (hay && (hay = strstr(hay, needle))) {
        n++;
        hay += nl;
    }
    return n;
}

void tk_stale_phone_writes(tk_server *t, tk_device *a, tk_device *b,
                           fs_id *cust, fs_change *ca, fs_change *cb)
{
    fs_id rep;

    tk_start(t, NULL);
    rep = tk_rep(t, "Alice", "north");
    *cust = tk_customer(t, "Greenfield", "north", NULL, 50, 0);
    tk_enroll(t, &rep, a);
    tk_enroll(t, &rep, b);
    tk_change(ca, a, "customer", cust);
    tk_set_text(ca, a, "phone", "new");
    /* b wrote earlier (an older stamp) while offline. */
    b->clock -= UINT64_C(60000) << 16;
    b->skew_ms = -60000;
    tk_change(cb, b, "customer", cust);
    tk_set_text(cb, b, "phone", "old");
}
