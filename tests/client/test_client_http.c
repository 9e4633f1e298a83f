/*
 * test_client_http.c - libfieldclient's own libcurl transport (fc_http.c)
 * against a scripted HTTP server on a real socket (127.0.0.1, ephemeral
 * port, one thread): a connection cut anywhere in the answer - inside the
 * header block, or inside a body whose Content-Length says more - must be
 * a network error, retried with backoff and reported as such, never a
 * protocol mismatch (issue 12, finding 5). Enrollment goes through the
 * in-memory fake_server; the replica is then reopened with the default
 * transport.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_server.h"
#include "fieldclient.h"
#include "fs_proto.h"

/* What the server does with each connection, in order; then OK. */
typedef enum act {
    ACT_OK,           /* a complete, valid SyncResponse */
    ACT_CUT_STATUS,   /* status line only, then close */
    ACT_CUT_HEADERS,  /* status line and part of a header, then close */
    ACT_CUT_BLANK,    /* every header but not the blank line, then close */
    ACT_CUT_BODY      /* full headers, half the body, then close */
} act;

typedef struct server {
    int lfd;
    uint16_t port;
    act script[8];
    size_t nscript, served;
    pthread_t th;
} server;

/* Reads one request (headers, then Content-Length bytes); false on EOF. */
static bool read_request(int fd)
{
    char buf[65536];
    size_t n = 0;
    char *end = NULL;
    long clen = 0;

    while (!end) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            return false;
        n += (size_t)r;
        buf[n] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    for (char *p = buf; p && p < end; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL)
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            clen = strtol(p + 15, NULL, 10);
    for (size_t have = n - (size_t)(end + 4 - buf); have < (size_t)clen;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0)
            return false;
        have += (size_t)r;
    }
    return true;
}

static void write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

static void *serve(void *arg)
{
    server *s = arg;
    fs_sync_response rs;
    fs_proto_buf body = {0};
    char head[256];
    int hn;

    memset(&rs, 0, sizeof rs);
    rs.version = FS_PROTO_VERSION;
    rs.next_cursor = 1;
    rs.server_time = fs_hlc_make(1700000000000ull, 0);
    fs_proto_sync_response_encode(&rs, FS_PROTO_IDENTITY, NULL, &body, NULL);
    hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: "
                  "application/x-protobuf\r\nContent-Length: %zu\r\n"
                  "Connection: close\r\n\r\n", body.len);
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        act a;
        if (fd < 0)
            break;
        if (!read_request(fd)) {
            close(fd);
            continue;
        }
        a = s->served < s->nscript ? s->script[s->served] : ACT_OK;
        s->served++;
        switch (a) {
        case ACT_OK:
            write_all(fd, head, (size_t)hn);
            write_all(fd, body.data, body.len);
            break;
        case ACT_CUT_STATUS:
            write_all(fd, "HTTP/1.1 200 OK\r\n", 17);
            break;
        case ACT_CUT_HEADERS:
            write_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: applic", 37);
            break;
        case ACT_CUT_BLANK:
            write_all(fd, head, (size_t)hn - 2);
            break;
        case ACT_CUT_BODY:
            write_all(fd, head, (size_t)hn);
            write_all(fd, body.data, body.len / 2);
            break;
        }
        shutdown(fd, SHUT_RDWR);
        close(fd);
    }
    fs_proto_buf_free(&body);
    return NULL;
}

static void server_start(server *s)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->lfd, 8), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_stop(server *s)
{
    shutdown(s->lfd, SHUT_RDWR);
    close(s->lfd);
    pthread_join(s->th, NULL);
}

typedef struct fixture {
    char path[256];
    server srv;
    fc_client *c;
    unsigned retries_seen;
    char note[160];
} fixture;

static void on_progress(const fc_progress *p, void *payload)
{
    fixture *f = payload;
    if (p->retry) {
        f->retries_seen++;
        snprintf(f->note, sizeof f->note, "%s", p->note);
    }
}

/* Enrolls against the fake (URL of the socket server), then reopens the
 * replica with the real transport and `retries`. */
static void open_enrolled_port(fixture *f, unsigned port, unsigned retries);

static void open_enrolled(fixture *f, unsigned retries)
{
    open_enrolled_port(f, (unsigned)f->srv.port, retries);
}

static void open_enrolled_port(fixture *f, unsigned port, unsigned retries)
{
    fake_server fake;
    fc_options opt;
    fs_error err = {0};
    char url[64];

    fake_init(&fake);
    memset(&opt, 0, sizeof opt);
    opt.post = fake_post;
    opt.post_payload = &fake;
    assert_int_equal(fc_open(f->path, &opt, &f->c, &err), FC_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    assert_int_equal(fc_enroll(f->c, url, "CODE", "test", &err), FC_OK);
    fc_close(f->c);
    fake_free(&fake);
    memset(&opt, 0, sizeof opt);
    opt.retries = retries;
    opt.backoff_ms = 1;
    opt.backoff_max_ms = 2;
    opt.timeout_ms = 10000;
    assert_int_equal(fc_open(f->path, &opt, &f->c, &err), FC_OK);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    snprintf(f->path, sizeof f->path, "/tmp/fc-http-%d-%p.db", (int)getpid(), (void *)f);
    unlink(f->path);
    server_start(&f->srv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    static const char *const sfx[] = {"", "-wal", "-shm", ".sync-lock"};
    char p[300];

    fc_close(f->c);
    server_stop(&f->srv);
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    free(f);
    return 0;
}

/* Each cut, alone, without retries: a network error, not a protocol one. */
static void test_cut_is_network_error(void **state)
{
    fixture *f = *state;
    static const act cuts[] = {ACT_CUT_STATUS, ACT_CUT_HEADERS, ACT_CUT_BLANK,
                               ACT_CUT_BODY};

    open_enrolled(f, FC_NO_RETRY);
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        fs_error err = {0};
        f->srv.script[0] = cuts[i];
        f->srv.nscript = 1;
        f->srv.served = 0;
        fc_status st = fc_sync(f->c, NULL, NULL, NULL, &err);
        if (st != FC_ENETWORK)
            fail_msg("cut %zu: %s (%s)", i, fc_strerror(st), err.text);
        assert_null(strstr(err.text, "protocol_version"));
        assert_null(strstr(err.text, "deflate"));
    }
    /* And a complete answer goes through. */
    {
        fs_error err = {0};
        f->srv.nscript = 0;
        assert_int_equal(fc_sync(f->c, NULL, NULL, NULL, &err), FC_OK);
    }
}

/* With retries, cuts in a row are retried with backoff and the sync ends
 * well; the rep is told about each retry. */
static void test_cut_is_retried(void **state)
{
    fixture *f = *state;
    fs_error err = {0};

    open_enrolled(f, 4);
    f->srv.script[0] = ACT_CUT_HEADERS;
    f->srv.script[1] = ACT_CUT_STATUS;
    f->srv.script[2] = ACT_CUT_BLANK;
    f->srv.nscript = 3;
    assert_int_equal(fc_sync(f->c, on_progress, f, NULL, &err), FC_OK);
    assert_int_equal(f->retries_seen, 3);
    assert_int_equal(f->srv.served, 4);
    assert_true(f->note[0] != '\0');
}

/* Issue 14, item 4: with no server to connect to, the sync is FC_EOFFLINE
 * (not a generic network error) and the changes it tried to send are still
 * "waiting to send", not "sent, answer not yet received": nothing left the
 * device. A later sync with the server back sends them. */
static void test_offline_changes_stay_waiting(void **state)
{
    fixture *f = *state;
    fs_error err = {0};
    fc_info in;
    fc_kv kv = {"name", "Offline Farm"};
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned port;

    /* A port on which nothing listens: bound, then closed. */
    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    port = ntohs(a.sin_port);
    close(fd);

    open_enrolled_port(f, port, 2);
    assert_int_equal(fc_customer_add(f->c, &kv, 1, NULL, &err), FC_OK);
    assert_int_equal(fc_sync(f->c, on_progress, f, NULL, &err), FC_EOFFLINE);
    assert_int_equal(f->retries_seen, 2);
    assert_int_equal(fc_info_get(f->c, &in, &err), FC_OK);
    assert_int_equal(in.pending, 1);
    assert_int_equal(in.in_flight, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cut_is_network_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_changes_stay_waiting, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
