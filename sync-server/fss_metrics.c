/*
 * fss_metrics.c - counters behind GET /metrics, in the Prometheus text
 * exposition format (version 0.0.4): requests by route and status class,
 * request latency histograms, rows pushed and pulled, scope exits, replayed
 * batches, conflicts by rule, rejected writes by reason, refusals by error
 * code. One mutex guards them: updates are a few additions per request.
 */
#include "fss_int.h"

#include <string.h>

static const double lat_bounds_ms[FSS_LAT_BUCKETS] = {
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};
static const char *const route_names[FSS_ROUTE_COUNT] = {
    "sync", "enroll", "healthz", "metrics", "admin", "other"};

void fss__metrics_init(fss_metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void fss__metrics_destroy(fss_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

void fss__metrics_request(fss_metrics *m, int route, int status, double ms)
{
    int cls = status / 100, b;

    if (route < 0 || route >= FSS_ROUTE_COUNT)
        route = FSS_ROUTE_OTHER;
    if (cls < 1 || cls > 5)
        cls = 5;
    pthread_mutex_lock(&m->mu);
    m->requests[route][cls]++;
    for (b = 0; b < FSS_LAT_BUCKETS; b++)
        if (ms <= lat_bounds_ms[b])
            break;
    m->lat_bucket[route][b]++;
    m->lat_sum[route] += ms;
    pthread_mutex_unlock(&m->mu);
}

void fss__metrics_add(fss_metrics *m, uint64_t pushed, uint64_t pulled,
                      uint64_t exits)
{
    pthread_mutex_lock(&m->mu);
    m->rows_pushed += pushed;
    m->rows_pulled += pulled;
    m->exits_sent += exits;
    pthread_mutex_unlock(&m->mu);
}

void fss__metrics_conflicts(fss_metrics *m, const fs_conflict_list *l)
{
    size_t i;

    pthread_mutex_lock(&m->mu);
    for (i = 0; i < l->n; i++)
        if ((unsigned)l->items[i].rule <= FS_RULE_LAST)
            m->conflicts[l->items[i].rule]++;
    pthread_mutex_unlock(&m->mu);
}

void fss__metrics_reject(fss_metrics *m, fs_reason r)
{
    pthread_mutex_lock(&m->mu);
    if ((unsigned)r <= FS_REASON_INVALID)
        m->rejects[r]++;
    if (r == FS_REASON_SCOPE)
        m->conflicts[FS_RULE_SCOPE]++;
    else if (r == FS_REASON_INVALID)
        m->conflicts[FS_RULE_INVALID]++;
    pthread_mutex_unlock(&m->mu);
}

void fss__metrics_refusal(fss_metrics *m, fs_proto_error_code c)
{
    pthread_mutex_lock(&m->mu);
    if ((unsigned)c <= FS_PROTO_ERR_INTERNAL)
        m->refusals[c]++;
    pthread_mutex_unlock(&m->mu);
}

void fss__metrics_replay(fss_metrics *m)
{
    pthread_mutex_lock(&m->mu);
    m->batches_replayed++;
    pthread_mutex_unlock(&m->mu);
}

/* A push found the counter moved under its first reads: `kept` when
 * they stood (fss__repo_reads_fresh), else they were made again. */
void fss__metrics_push_reread(fss_metrics *m, bool kept)
{
    pthread_mutex_lock(&m->mu);
    if (kept)
        m->push_reads_kept++;
    else
        m->push_rereads++;
    pthread_mutex_unlock(&m->mu);
}

void fss__metrics_connection(fss_metrics *m)
{
    pthread_mutex_lock(&m->mu);
    m->connections++;
    pthread_mutex_unlock(&m->mu);
}

void fss__metrics_pull(fss_metrics *m, fss_pull_plan plan)
{
    pthread_mutex_lock(&m->mu);
    if ((unsigned)plan < 3)
        m->pulls[plan]++;
    pthread_mutex_unlock(&m->mu);
}

void fss_metrics_render(fss_server *s, fss_buf *out)
{
    fss_metrics snap;
    int r, c, b;
    uint64_t cum;

    pthread_mutex_lock(&s->metrics.mu);
    memcpy(&snap, &s->metrics, sizeof snap);
    pthread_mutex_unlock(&s->metrics.mu);

    fss_buf_puts(out, "# HELP fieldsync_requests_total HTTP requests by route "
                      "and status class.\n# TYPE fieldsync_requests_total counter\n");
    for (r = 0; r < FSS_ROUTE_COUNT; r++)
        for (c = 1; c <= 5; c++)
            fss_buf_printf(out, "fieldsync_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
                           route_names[r], c,
                           (unsigned long long)snap.requests[r][c]);
    fss_buf_puts(out, "# HELP fieldsync_request_duration_seconds Request "
                      "latency.\n# TYPE fieldsync_request_duration_seconds histogram\n");
    for (r = 0; r < FSS_ROUTE_COUNT; r++) {
        cum = 0;
        for (b = 0; b < FSS_LAT_BUCKETS; b++) {
            cum += snap.lat_bucket[r][b];
            fss_buf_printf(out, "fieldsync_request_duration_seconds_bucket"
                                "{route=\"%s\",le=\"%g\"} %llu\n",
                           route_names[r], lat_bounds_ms[b] / 1000.0,
                           (unsigned long long)cum);
        }
        cum += snap.lat_bucket[r][FSS_LAT_BUCKETS];
        fss_buf_printf(out, "fieldsync_request_duration_seconds_bucket"
                            "{route=\"%s\",le=\"+Inf\"} %llu\n",
                       route_names[r], (unsigned long long)cum);
        fss_buf_printf(out, "fieldsync_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                       route_names[r], snap.lat_sum[r] / 1000.0);
        fss_buf_printf(out, "fieldsync_request_duration_seconds_count{route=\"%s\"} %llu\n",
                       route_names[r], (unsigned long long)cum);
    }
    fss_buf_printf(out, "# TYPE fieldsync_rows_pushed_total counter\n"
                        "fieldsync_rows_pushed_total %llu\n"
                        "# TYPE fieldsync_rows_pulled_total counter\n"
                        "fieldsync_rows_pulled_total %llu\n"
                        "# TYPE fieldsync_scope_exits_total counter\n"
                        "fieldsync_scope_exits_total %llu\n"
                        "# TYPE fieldsync_batches_replayed_total counter\n"
                        "fieldsync_batches_replayed_total %llu\n"
                        "# HELP fieldsync_push_rereads_total Pushes that read "
                        "their rows again under the sequence counter's lock "
                        "(PostgreSQL: a writer committed after their first "
                        "reads and was no push, or changed what they read).\n"
                        "# TYPE fieldsync_push_rereads_total counter\n"
                        "fieldsync_push_rereads_total %llu\n"
                        "# HELP fieldsync_push_reads_kept_total Pushes whose "
                        "first reads stood although a writer committed after "
                        "them (PostgreSQL: only other pushes, on other rows).\n"
                        "# TYPE fieldsync_push_reads_kept_total counter\n"
                        "fieldsync_push_reads_kept_total %llu\n",
                   (unsigned long long)snap.rows_pushed,
                   (unsigned long long)snap.rows_pulled,
                   (unsigned long long)snap.exits_sent,
                   (unsigned long long)snap.batches_replayed,
                   (unsigned long long)snap.push_rereads,
                   (unsigned long long)snap.push_reads_kept);
    fss_buf_printf(out, "# HELP fieldsync_write_lock_seconds_total Time this "
                        "process's transactions held the store's write lock (the "
                        "sequence counter's row lock on PostgreSQL), the one "
                        "point every writer of every process passes in turn; "
                        "its rate summed over the processes is the share of "
                        "time the lock is busy.\n"
                        "# TYPE fieldsync_write_lock_seconds_total counter\n"
                        "fieldsync_write_lock_seconds_total %.6f\n",
                   (double)atomic_load(&s->write_lock_ns) / 1e9);
    fss_buf_printf(out, "# HELP fieldsync_http_connections_total Connections "
                        "accepted; against fieldsync_requests_total it shows "
                        "how many requests came over a kept connection.\n"
                        "# TYPE fieldsync_http_connections_total counter\n"
                        "fieldsync_http_connections_total %llu\n",
                   (unsigned long long)snap.connections);
    fss_buf_printf(out, "# HELP fieldsync_pulls_total Pull queries by plan "
                        "(docs/ARCHITECTURE.md, a sync round).\n"
                        "# TYPE fieldsync_pulls_total counter\n"
                        "fieldsync_pulls_total{plan=\"seq\"} %llu\n"
                        "fieldsync_pulls_total{plan=\"scope\"} %llu\n",
                   (unsigned long long)snap.pulls[FSS_PULL_SEQ],
                   (unsigned long long)snap.pulls[FSS_PULL_SCOPE]);
    fss_buf_puts(out, "# HELP fieldsync_conflicts_total Conflict records by rule.\n"
                      "# TYPE fieldsync_conflicts_total counter\n");
    for (r = 0; r <= FS_RULE_LAST; r++)
        fss_buf_printf(out, "fieldsync_conflicts_total{rule=\"%s\"} %llu\n",
                       fs_rule_name((fs_rule)r),
                       (unsigned long long)snap.conflicts[r]);
    fss_buf_puts(out, "# HELP fieldsync_rejects_total Changes not applied as "
                      "sent, by reason.\n# TYPE fieldsync_rejects_total counter\n");
    for (r = 1; r <= FS_REASON_INVALID; r++)
        fss_buf_printf(out, "fieldsync_rejects_total{reason=\"%s\"} %llu\n",
                       fs_reason_name((fs_reason)r),
                       (unsigned long long)snap.rejects[r]);
    fss_buf_puts(out, "# HELP fieldsync_refusals_total Refused requests by "
                      "error code.\n# TYPE fieldsync_refusals_total counter\n");
    for (r = 0; r <= FS_PROTO_ERR_INTERNAL; r++)
        fss_buf_printf(out, "fieldsync_refusals_total{code=\"%s\"} %llu\n",
                       fs_proto_error_code_name((fs_proto_error_code)r),
                       (unsigned long long)snap.refusals[r]);
}
