/*
 * cmd_owner.c - `sync-server offboard REP --to REP2|pool [--drain]`,
 * `reactivate REP` and `offboards`: the CLI face of fss_owner.c. The
 * operator names reps as everywhere else (id, short id, name, email); the
 * confirmation says what moved in one line (or one JSON object).
 */
#include "cmd_owner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char cmd_owner_options[] =
    "  --pool-reclaim-days N  no follow-up this long: back to the pool [60]\n"
    "  --pool-warn-days N     the owner is warned this long before [7]\n"
    "  --pool-bar-days N      the former owner may not re-claim for N days [30]\n"
    "  --pool-quota N         claims a rep may win per 24 hours, 0 = no limit [5]\n"
    "  --reclaim-every DURATION  serve runs the reclaim this often, 0 = never\n"
    "                         (run `reclaim --now` yourself) [1h]\n";

/* The public pool's policy (CRM.md section 5) and the reclaim schedule. */
int cmd_owner_option(fss_config *cfg, const char *name, const char *val)
{
    unsigned *days = strcmp(name, "pool-reclaim-days") == 0 ? &cfg->pool_reclaim_days
                     : strcmp(name, "pool-warn-days") == 0  ? &cfg->pool_warn_days
                     : strcmp(name, "pool-bar-days") == 0   ? &cfg->pool_bar_days
                     : strcmp(name, "pool-quota") == 0      ? &cfg->pool_daily_quota
                                                            : NULL;
    unsigned long long u;
    char *end;

    if (days) {
        if (!val || !*val || *val == '-' ||
            (u = strtoull(val, &end, 10), *end) || u > 3660) {
            fprintf(stderr, "sync-server: --%s: \"%s\" is not a number "
                    "(0 to 3660)\n", name, val ? val : "");
            return -1;
        }
        *days = (unsigned)u;
        return 1;
    }
    if (strcmp(name, "reclaim-every") == 0) {
        uint64_t secs = 0;
        fs_error err = {0};
        if (!val || fs_duration_parse(val, &secs, &err) != FS_OK || secs > 366u * 86400u) {
            fprintf(stderr, "sync-server: --%s: \"%s\" %s\n", name, val ? val : "",
                    err.text[0] ? err.text : "is not a duration up to 366d");
            return -1;
        }
        cfg->reclaim_every_s = secs;
        return 1;
    }
    return -2;
}

static int offboard(const cmd_ctx *x)
{
    char rid[FS_ID_STRLEN + 1], tid[FS_ID_STRLEN + 1], label[300],
        tlabel[300] = "the public pool", line[1024];
    char n_c[24], n_t[24], n_d[24], n_k[24];
    fss_offboard_result r;
    fs_error err = {0};
    fs_id rep, to;
    bool pool;
    fss_status st;
    int rc;

    if (!x->to)
        return x->usage_error("offboard REP --to REP2|pool [--drain]",
                              "say where the customers go: --to REP2 or --to pool");
    pool = strcmp(x->to, "pool") == 0;
    if ((rc = x->find_ref(x->s, FSS_REF_REP, x->args[0], "offboard", rid, label,
                          sizeof label)))
        return rc;
    if (!pool && (rc = x->find_ref(x->s, FSS_REF_REP, x->to, "offboard --to", tid,
                                   tlabel, sizeof tlabel)))
        return rc;
    fs_id_parse(rid, FS_ID_STRLEN, &rep, NULL);
    if (!pool)
        fs_id_parse(tid, FS_ID_STRLEN, &to, NULL);
    st = fss_admin_offboard(x->s, &rep, pool ? NULL : &to, x->drain,
                            x->by ? x->by : "cli", &r, &err);
    if (st != FSS_OK)
        return x->fail("offboard", &err, st);
    snprintf(n_c, sizeof n_c, "%lld", (long long)r.customers);
    snprintf(n_t, sizeof n_t, "%lld", (long long)r.territories);
    snprintf(n_d, sizeof n_d, "%lld", (long long)r.devices);
    snprintf(n_k, sizeof n_k, "%lld", (long long)r.codes);
    snprintf(line, sizeof line,
             "%s offboarded: %lld customer(s) moved to %s, %lld territory "
             "membership(s) removed, %lld device(s) revoked%s, %lld unused "
             "enrollment code(s) voided; changes drained: 0 so far%s",
             label, (long long)r.customers, tlabel, (long long)r.territories,
             (long long)r.devices,
             r.drain ? " (each may push its outbox once, then is wiped)" : "",
             (long long)r.codes,
             r.drain ? " (see `sync-server offboards`)" : " (no --drain)");
    x->confirm(x->cmd, line,
               (const char *const[]){"rep", rid, "to", pool ? "pool" : tid,
                                     "customers_moved", n_c,
                                     "territories_removed", n_t,
                                     "devices_revoked", n_d, "codes_voided", n_k,
                                     NULL});
    return 0;
}

static int reactivate(const cmd_ctx *x)
{
    char rid[FS_ID_STRLEN + 1], label[300], line[600];
    fs_error err = {0};
    fs_id rep;
    fss_status st;
    int rc;

    if ((rc = x->find_ref(x->s, FSS_REF_REP, x->args[0], "reactivate", rid, label,
                          sizeof label)))
        return rc;
    fs_id_parse(rid, FS_ID_STRLEN, &rep, NULL);
    if ((st = fss_admin_rep_reactivate(x->s, &rep, &err)) != FSS_OK)
        return x->fail("reactivate", &err, st);
    snprintf(line, sizeof line,
             "%s is active again: it may be issued enrollment codes; its old "
             "devices stay revoked, customers and territories are assigned anew",
             label);
    x->confirm(x->cmd, line, (const char *const[]){"rep", rid, NULL});
    return 0;
}

static int reclaim(const cmd_ctx *x)
{
    fss_reclaim_result r;
    fss_buf report = {0};
    fs_error err = {0};
    char line[300], n_r[24], n_w[24];
    fss_status st;
    struct timespec ts;

    if (x->dry_run == x->now)
        return x->usage_error("reclaim --dry-run|--now",
                              "say --dry-run (show what would happen) or --now");
    clock_gettime(CLOCK_REALTIME, &ts);
    st = fss_pool_reclaim(x->s, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                          x->dry_run, &r, &report, &err);
    if (st != FSS_OK) {
        fss_buf_free(&report);
        return x->fail("reclaim", &err, st);
    }
    /* What moves, one JSON line per customer, on stderr for people and
     * inside the confirmation for scripts. */
    if (!x->json && report.data)
        fprintf(stderr, "%s", report.data);
    snprintf(line, sizeof line,
             "%s%lld customer(s) %s to the public pool, %lld owner(s) %s "
             "(%lld owned customer(s) checked)",
             x->dry_run ? "dry run: " : "", (long long)r.reclaimed,
             x->dry_run ? "would go back" : "went back", (long long)r.warned,
             x->dry_run ? "would be warned" : "warned", (long long)r.checked);
    snprintf(n_r, sizeof n_r, "%lld", (long long)r.reclaimed);
    snprintf(n_w, sizeof n_w, "%lld", (long long)r.warned);
    x->confirm(x->cmd, line, (const char *const[]){"reclaimed", n_r, "warned", n_w,
                                                   NULL});
    fss_buf_free(&report);
    return 0;
}

static int merge(const cmd_ctx *x)
{
    char sid[FS_ID_STRLEN + 1], slabel[300], did[FS_ID_STRLEN + 1], dlabel[300],
        line[1024], n_c[24], n_f[24];
    fs_id survivor, dups[8];
    fss_merge_result r;
    fs_error err = {0};
    size_t nd = 0;
    fss_status st;
    int rc, i;

    if ((rc = x->find_ref(x->s, FSS_REF_CUSTOMER, x->args[0], "merge", sid, slabel,
                          sizeof slabel)))
        return rc;
    fs_id_parse(sid, FS_ID_STRLEN, &survivor, NULL);
    for (i = 1; i < x->nargs; i++) {
        if ((rc = x->find_ref(x->s, FSS_REF_CUSTOMER, x->args[i], "merge", did,
                              dlabel, sizeof dlabel)))
            return rc;
        fs_id_parse(did, FS_ID_STRLEN, &dups[nd++], NULL);
    }
    st = fss_admin_merge(x->s, &survivor, dups, nd, x->by ? x->by : "cli", &r, &err);
    if (st != FSS_OK)
        return x->fail("merge", &err, st);
    snprintf(line, sizeof line,
             "merged %lld duplicate(s) into %s (%s): %lld row(s) moved under it, "
             "%lld empty field(s) filled; later writes to the duplicates go to it",
             (long long)r.duplicates, slabel, sid, (long long)r.children,
             (long long)r.fields);
    snprintf(n_c, sizeof n_c, "%lld", (long long)r.children);
    snprintf(n_f, sizeof n_f, "%lld", (long long)r.fields);
    x->confirm(x->cmd, line, (const char *const[]){"survivor", sid, "children_moved",
                                                   n_c, "fields_filled", n_f, NULL});
    return 0;
}

int cmd_owner(const cmd_ctx *x, bool *handled)
{
    fss_buf out = {0};
    fs_error err = {0};
    fss_status st;

    *handled = true;
    if (strcmp(x->cmd, "offboard") == 0)
        return offboard(x);
    if (strcmp(x->cmd, "reactivate") == 0)
        return reactivate(x);
    if (strcmp(x->cmd, "reclaim") == 0)
        return reclaim(x);
    if (strcmp(x->cmd, "merge") == 0)
        return merge(x);
    if (strcmp(x->cmd, "duplicates") == 0 || strcmp(x->cmd, "merges") == 0) {
        fs_id one;
        char sid[FS_ID_STRLEN + 1];
        int rc;
        if (strcmp(x->cmd, "duplicates") == 0)
            st = fss_admin_duplicates(x->s, NULL, &out, &err);
        else {
            if (x->nargs &&
                (rc = x->find_ref(x->s, FSS_REF_CUSTOMER, x->args[0], "merges", sid,
                                  NULL, 0)))
                return rc;
            if (x->nargs)
                fs_id_parse(sid, FS_ID_STRLEN, &one, NULL);
            st = fss_admin_merges_list(x->s, x->nargs ? &one : NULL, &out, &err);
        }
        if (st != FSS_OK) {
            fss_buf_free(&out);
            return x->fail(x->cmd, &err, st);
        }
        return x->print_buf(&out);
    }
    if (strcmp(x->cmd, "pool") == 0 || strcmp(x->cmd, "claims") == 0) {
        st = strcmp(x->cmd, "pool") == 0
                 ? fss_admin_pool_list(x->s, NULL, &out, &err)
                 : fss_admin_claims_list(x->s, NULL, x->limit, &out, &err);
        if (st != FSS_OK) {
            fss_buf_free(&out);
            return x->fail(x->cmd, &err, st);
        }
        return x->print_buf(&out);
    }
    if (strcmp(x->cmd, "offboards") == 0) {
        if ((st = fss_admin_offboards_list(x->s, NULL, &out, &err)) != FSS_OK) {
            fss_buf_free(&out);
            return x->fail("offboards", &err, st);
        }
        return x->print_buf(&out);
    }
    *handled = false;
    return 0;
}
