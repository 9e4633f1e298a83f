/*
 * sim_server.c - the real `sync-server` binary as a child process, and the
 * harness's HTTP client (libcurl) for the admin API and the fault transport.
 *
 * The server is started with --port 0 the first time; the port it prints is
 * reused on every restart after a SIGKILL, so enrolled devices keep their
 * server URL (as they would behind a fixed address). Every wait is bounded.
 */
#include "sim.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_us(unsigned us)
{
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Reads the server's stdout file and returns the port it listens on, 0 if
 * it has not said yet. */
static uint16_t listening_port(const char *path)
{
    char buf[2048];
    FILE *f = fopen(path, "r");
    size_t n = 0;
    const char *p;

    if (!f)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strstr(buf, "listening on http://127.0.0.1:");
    if (!p || !strchr(p, '\n'))
        return 0;
    return (uint16_t)strtoul(p + strlen("listening on http://127.0.0.1:"), NULL, 10);
}

int sim_server_start(sim_server *s)
{
    char out[400], port[16];
    pid_t pid;

    if (s->index)
        snprintf(out, sizeof out, "%s/server%u-%u.out", s->dir, s->index, ++s->starts);
    else
        snprintf(out, sizeof out, "%s/server-%u.out", s->dir, ++s->starts);
    snprintf(port, sizeof port, "%u", (unsigned)s->port);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        /* A high auth-fail limit: the revoked device's retries must not turn
         * into 429s that would hide the 401 + wipe under test. */
        execl(s->bin, s->bin, s->store ? "--store" : "--db", s->store ? s->store : s->db,
              "--listen", "127.0.0.1", "--port", port,
              "--admin-token", SIM_ADMIN_TOKEN, "--threads", "4",
              "--auth-fail-limit", "1000000", "--drain-timeout", "5",
              "--pull-plan", s->pull_plan,
              /* The pool (issue 17): reclaim only when the harness asks
               * (a restart must not move customers behind the model's
               * back), then every owned customer without an open quote;
               * a quota the harness's claims never reach. */
              "--reclaim-every", "0", "--pool-reclaim-days", "0",
              "--pool-quota", "1000", "serve",
              (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    /* At most 20 s (ASan builds start slowly on a busy machine). */
    for (int i = 0; i < 2000; i++) {
        uint16_t p = listening_port(out);
        int st;
        if (p) {
            s->port = p;
            snprintf(s->base, sizeof s->base, "http://127.0.0.1:%u", (unsigned)p);
            return 0;
        }
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            fprintf(stderr, "sim: sync-server exited during start (see %s)\n", out);
            return -1;
        }
        sleep_us(10000);
    }
    fprintf(stderr, "sim: sync-server did not start within 20 s\n");
    sim_server_kill(s);
    return -1;
}

void sim_server_kill(sim_server *s)
{
    int st;

    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
        ;
    s->pid = 0;
}

void sim_server_stop(sim_server *s)
{
    int st;

    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 1000; i++) { /* at most 10 s */
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        sleep_us(10000);
    }
    sim_server_kill(s);
}

/* ------------------------------------------------------------------------ */
/* HTTP client                                                               */
/* ------------------------------------------------------------------------ */

void sim_http_free(sim_http *h)
{
    free(h->body);
    memset(h, 0, sizeof *h);
}

typedef struct recv_state {
    uint8_t *p;
    size_t n, cap;
    char enc[32];
    bool has_next;
    uint64_t next_cursor;
} recv_state;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    recv_state *r = ud;
    size_t n = size * nmemb;

    if (r->n + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        uint8_t *np;
        while (cap < r->n + n + 1)
            cap *= 2;
        if (!(np = realloc(r->p, cap)))
            return 0;
        r->p = np;
        r->cap = cap;
    }
    memcpy(r->p + r->n, data, n);
    r->n += n;
    r->p[r->n] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *ud)
{
    recv_state *r = ud;
    size_t n = size * nitems;
    static const char name[] = "content-encoding:";

    if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t len = n - (sizeof name - 1);
        while (len && *v == ' ') {
            v++;
            len--;
        }
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        if (len >= sizeof r->enc)
            len = sizeof r->enc - 1;
        memcpy(r->enc, v, len);
        r->enc[len] = '\0';
    } else if (n > 22 && strncasecmp(data, "fieldsync-next-cursor:", 22) == 0) {
        r->has_next = true;
        r->next_cursor = strtoull(data + 22, NULL, 10);
    }
    return n;
}

/* The server kill: once the whole request body is on the wire, wait the
 * chosen delay (so the kill lands anywhere from "before the handler ran" to
 * "after it committed") and SIGKILL the server. */
static int on_progress(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult,
                       curl_off_t uln)
{
    sim_killer *k = ud;

    (void)dlt;
    (void)dln;
    if (k && k->armed && !k->done && ult > 0 && uln >= ult) {
        k->done = true;
        sleep_us(k->delay_us);
        sim_observe_lock(); /* another device's request may restart it */
        sim_server_kill(k->srv);
        sim_observe_unlock();
    }
    return 0;
}

int sim_http_do(const char *method, const char *url, const char *const *headers,
                const void *body, size_t len, sim_http *out, sim_killer *k,
                char *errbuf, size_t errcap)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    recv_state rs;
    CURLcode cc;
    int rc = -1;

    memset(out, 0, sizeof *out);
    memset(&rs, 0, sizeof rs);
    if (!h) {
        snprintf(errbuf, errcap, "curl_easy_init failed");
        return -1;
    }
    for (size_t i = 0; headers && headers[i]; i++)
        hdrs = curl_slist_append(hdrs, headers[i]);
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &rs);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &rs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    /* A fresh connection per request: a kill or a lost answer must not leave
     * a half-dead pooled connection to the next request. */
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    if (k) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, k);
    }
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        snprintf(errbuf, errcap, "%s: %s", url, curl_easy_strerror(cc));
        free(rs.p);
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
        out->body = rs.p;
        out->len = rs.n;
        snprintf(out->enc, sizeof out->enc, "%s", rs.enc);
        out->has_next = rs.has_next;
        out->next_cursor = rs.next_cursor;
        rc = 0;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rc;
}

long sim_admin(sim_server *s, const char *method, const char *path,
               const char *json, sim_http *out)
{
    char url[512], err[300];
    const char *hdrs[] = {"Authorization: Bearer " SIM_ADMIN_TOKEN,
                          "Content-Type: application/json", NULL};

    /* With several processes the back office's calls rotate over the live
     * ones: a revocation, a move or a delete made through one process must
     * hold in all the others. */
    for (unsigned i = 0; s->nring > 1 && i < s->nring; i++) {
        sim_server *p = s->ring[s->rr++ % s->nring];
        if (p->pid > 0) {
            s = p;
            break;
        }
    }
    snprintf(url, sizeof url, "%s/admin/v1/%s", s->base, path);
    if (sim_http_do(method, url, hdrs, json, json ? strlen(json) : 0, out, NULL, err,
                    sizeof err) != 0) {
        fprintf(stderr, "sim: admin %s %s: %s\n", method, path, err);
        return 0;
    }
    return out->status;
}
