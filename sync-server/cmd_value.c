/*
 * cmd_value.c - the `sync-server` CLI for customer value and churn: the
 * `analyze` subcommand and its report, the schedule inside `serve`, and the
 * options (flags or config lines) that set the rules' parameters
 * (fs_score_params, documented in sync-server(8) and docs/ARCHITECTURE.md).
 * Argument parsing and output only; the work is fss_analyze.
 */
#include "cmd_value.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char cmd_value_usage[] =
    "  analyze [--json]               recompute grades, core, RFM and churn risk; open\n"
    "                                 and close generated follow-up tasks; report\n"
    "                                 movements and the Pareto share (serve: nightly)\n"
    "  customer-lost CUSTOMER REASON  mark a customer lost with a reason ('' = won back)\n"
    "  at-risk [--territory CODE]     customers at risk with their reasons (JSON)\n"
    "  lost [--territory CODE]        lost customers grouped by reason (JSON)\n"
    "  value-report [--territory CODE]  the A-E matrix (unit x count per customer)\n"
    "                                 and the Pareto curve, per currency (JSON)\n"
    "  movements [--territory CODE]   the last analyze run's grade movements (JSON)\n";

const char cmd_value_options[] =
    "  --analyze-every DURATION  serve runs analyze this often, 0 = never [1d]\n"
    "  --value-window-days N  purchases counted for grades, core, RFM [365]\n"
    "  --value-count-threshold N  purchases that count as high, 0 = median [0]\n"
    "  --value-unit-threshold CUR:AMOUNT  fixed high unit price for one currency\n"
    "                         (e.g. EUR:250.00; repeatable) [median]\n"
    "  --value-core-share PCT revenue share of the core customers [80]\n"
    "  --value-rfm-bins N     RFM scores 1..N (2..9) [5]\n"
    "  --churn-quiet-days N   no contact for N days: grades C/D/E and core [30]\n"
    "  --churn-quiet-days-other N  the same for everyone else [90]\n"
    "  --churn-complaints N   complaints within --churn-complaint-days [2]\n"
    "  --churn-complaint-days N  [90]\n"
    "  --churn-overdue-pct N  purchase overdue past N% of the usual interval [150]\n";

static int bad(const char *name, const char *val, const char *why)
{
    fprintf(stderr, "sync-server: --%s: \"%s\" %s\n", name, val ? val : "", why);
    return -1;
}

static int num(const char *name, const char *val, long lo, long hi, long *out)
{
    char *end;
    if (!val || !*val)
        return bad(name, val, "needs a number");
    errno = 0;
    *out = strtol(val, &end, 10);
    if (errno || *end || *out < lo || *out > hi) {
        char why[80];
        snprintf(why, sizeof why, "is not a number in %ld..%ld", lo, hi);
        return bad(name, val, why);
    }
    return 1;
}

int cmd_value_option(fss_config *cfg, const char *name, const char *val)
{
    size_t nints;
    const fs_score_int_param *ints = fs_score_int_params(&nints);
    long n;

    for (size_t i = 0; i < nints; i++) {
        if (strcmp(name, ints[i].option) != 0)
            continue;
        if (num(name, val, ints[i].lo, ints[i].hi, &n) < 0)
            return -1;
        int v = (int)n;
        memcpy((char *)&cfg->score + ints[i].off, &v, sizeof v);
        return 1;
    }
    if (strcmp(name, "value-count-threshold") == 0) {
        if (num(name, val, 0, 1000000, &n) < 0)
            return -1;
        cfg->score.count_threshold = n;
        return 1;
    }
    if (strcmp(name, "value-unit-threshold") == 0) {
        fs_score_params *p = &cfg->score;
        fs_error err = {0};
        char cur[4];
        const char *colon = val ? strchr(val, ':') : NULL;
        int64_t minor = 0;
        if (!colon || colon - val != 3)
            return bad(name, val, "is not CUR:AMOUNT (e.g. EUR:250.00)");
        memcpy(cur, val, 3);
        cur[3] = '\0';
        if (!fs_currency_normalise(cur, cur))
            return bad(name, val, "names no ISO 4217 currency");
        if (fs_money_parse(colon + 1, cur, &minor, &err) != FS_OK || minor < 0)
            return bad(name, val, err.text[0] ? err.text : "is not an amount");
        size_t i = 0;
        while (i < p->n_unit_fixed && strcmp(p->unit_fixed[i].currency, cur) != 0)
            i++;
        if (i == FS_SCORE_MAX_FIXED)
            return bad(name, val, "is one currency too many (at most 8)");
        memcpy(p->unit_fixed[i].currency, cur, 4);
        p->unit_fixed[i].minor = minor;
        if (i == p->n_unit_fixed)
            p->n_unit_fixed++;
        return 1;
    }
    if (strcmp(name, "analyze-every") == 0) {
        uint64_t secs = 0;
        fs_error err = {0};
        if (!val || fs_duration_parse(val, &secs, &err) != FS_OK || secs > 366u * 86400u)
            return bad(name, val, err.text[0] ? err.text : "is not a duration up to 366d");
        if (secs && secs < 60)
            return bad(name, val, "is shorter than a minute (use 0 for never)");
        cfg->analyze_every_s = secs;
        return 1;
    }
    return -2;
}

int cmd_value_analyze(fss_server *s, bool json, int64_t now_ms)
{
    fss_analyze_result r;
    fss_buf out = {0};
    fs_error err = {0};
    fss_status st = fss_analyze(s, now_ms, &r, &err);

    if (st != FSS_OK) {
        fprintf(stderr, "sync-server: analyze: %s\n", err.text);
        if (json)
            printf("{\"ok\":false,\"error\":{\"code\":\"%s\"}}\n", fss_strerror(st));
        return st == FSS_EINVAL ? 2 : 1;
    }
    if (json)
        fss_analyze_json(s, &r, &out);
    else
        fss_analyze_text(s, &r, &out);
    if (out.oom) {
        fss_buf_free(&out);
        fprintf(stderr, "sync-server: analyze: out of memory writing the report\n");
        return 1;
    }
    fwrite(out.data, 1, out.len, stdout);
    fss_buf_free(&out);
    return 0;
}

int cmd_value_report(fss_server *s, const char *which, const char *territory)
{
    fss_buf out = {0};
    fs_error err = {0};
    const char *one[1] = {territory};
    const char *const *terr = territory ? one : NULL;
    fss_status st = strcmp(which, "lost") == 0 ? fss_report_lost(s, terr, 1, &out, &err)
                    : strcmp(which, "movements") == 0
                        ? fss_report_movements(s, terr, 1, &out, &err)
                    : strcmp(which, "value-report") == 0
                        ? fss_report_value(s, terr, 1, (int64_t)time(NULL) * 1000, &out, &err)
                        : fss_report_at_risk(s, terr, 1, &out, &err);

    if (st != FSS_OK) {
        fss_buf_free(&out);
        fprintf(stderr, "sync-server: %s: %s\n", which, err.text);
        return st == FSS_EINVAL ? 2 : 1;
    }
    fwrite(out.data, 1, out.len, stdout);
    fss_buf_free(&out);
    return 0;
}

void cmd_value_tick(fss_server *s, const fss_config *cfg, uint64_t now_ms,
                    uint64_t *last_ms)
{
    fss_analyze_result r;
    fs_error err = {0};

    if (!cfg->analyze_every_s)
        return;
    if (!*last_ms) {
        *last_ms = now_ms;
        return;
    }
    if (now_ms - *last_ms < cfg->analyze_every_s * 1000u)
        return;
    *last_ms = now_ms;
    if (fss_analyze(s, (int64_t)now_ms, &r, &err) != FSS_OK)
        fprintf(stderr, "sync-server: analyze: %s\n", err.text);
    else
        fprintf(stderr,
                "sync-server: analyze: %" PRId64 " customers, %" PRId64 " changed, %" PRId64
                " at risk, %" PRId64 " task(s) opened, %" PRId64 " closed\n",
                r.customers, r.changed, r.risk[FS_RISK_AT_RISK], r.tasks_opened,
                r.tasks_closed);
}
