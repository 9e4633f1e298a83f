/*
 * cli_status.c - `field-client status` and `field-client sync`: the state
 * of the outbox in the rep's words (waiting to send, sent without an answer
 * yet, confirmed, rejected with the refused values), notices and open
 * conflicts naming the customer, the sync's progress (never past its
 * total) and its outcome, offline included (exit 5).
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Status                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct status_ctx {
    cli *a;
    size_t n;
    bool rejected_only;
} status_ctx;

/* The writes of an outbox change: "field = value" lines (text) or a
 * "values" array (JSON). For a rejected change these are the refused
 * values, which exist nowhere else on the device. */
static void change_values(const cli *a, const fs_change *ch)
{
    char buf[512];

    if (a->json)
        printf(",\"values\":[");
    for (size_t i = 0; ch && i < ch->nfields; i++) {
        const fs_field *f = &ch->entity->fields[ch->fields[i].slot];
        if (a->json) {
            printf("%s{\"field\":", i ? "," : "");
            cli_json_str(stdout, f->name);
            printf(",\"value\":");
            cli_json_value(stdout, f, &ch->fields[i].v);
            printf("}");
        } else {
            fc_value_format(f, &ch->fields[i].v, buf, sizeof buf);
            printf("      %s = %s\n", f->name, buf);
        }
    }
    if (a->json)
        printf("]");
    if (ch && ch->has_tomb) {
        if (a->json)
            printf(",\"deleted\":%s", ch->deleted ? "true" : "false");
        else
            printf("      (%s)\n", ch->deleted ? "delete" : "restore");
    }
}

static bool change_cb(const fc_change_info *ch, void *p)
{
    status_ctx *sc = p;
    char id[FS_ID_STRLEN + 1];
    /* fc_change_state order; "awaiting": confirmed by the server (merged),
     * still shown until the server's version of the row arrives. */
    static const char *const states[] = {"pending", "in_flight", "rejected", "awaiting"};
    /* The same states in the rep's words (text output). */
    static const char *const words[] = {"waiting", "sent", "rejected", "confirmed"};
    const char *state = (unsigned)ch->state < 4 ? states[ch->state] : "unknown";
    const char *word = (unsigned)ch->state < 4 ? words[ch->state] : "unknown";

    fs_id_format(&ch->row, id);
    if (sc->a->json) {
        if (sc->n)
            fputc(',', stdout);
        printf("{\"outbox_id\":%lld,\"state\":\"%s\",\"entity\":\"%s\",\"row\":\"%s\","
               "\"summary\":", (long long)ch->id, state, ch->entity->name, id);
        cli_json_str(stdout, ch->summary);
        printf(",\"reason\":");
        cli_json_str(stdout, ch->reason);
        printf(",\"detail\":");
        cli_json_str(stdout, ch->detail);
        change_values(sc->a, ch->change);
        printf("}");
    } else {
        /* The row as the rep knows it: its name (or title...), else its id. */
        char label[120];
        cli_row_label(sc->a, ch->entity->name, &ch->row, label, sizeof label);
        if (ch->state == FC_CHANGE_REJECTED) {
            printf("  rejected #%lld %s %s: %s (%s); refused:\n", (long long)ch->id,
                   ch->summary, label[0] ? label : id,
                   ch->detail[0] ? ch->detail : ch->reason, ch->reason);
            change_values(sc->a, ch->change);
        } else {
            printf("  %-9s #%lld %s %s\n", word, (long long)ch->id, ch->summary,
                   label[0] ? label : id);
        }
    }
    sc->n++;
    return true;
}

static bool notice_cb(const fc_notice *n, void *p)
{
    status_ctx *sc = p;
    char id[FS_ID_STRLEN + 1];

    fs_id_format(&n->row, id);
    if (sc->a->json) {
        if (sc->n)
            fputc(',', stdout);
        printf("{\"notice_id\":%lld,\"kind\":\"%s\",\"entity\":\"%s\",\"row\":\"%s\","
               "\"label\":", (long long)n->id, n->kind, n->entity, id);
        cli_json_str(stdout, n->label);
        printf(",\"reason\":");
        cli_json_str(stdout, n->reason);
        printf(",\"detail\":");
        cli_json_str(stdout, n->detail);
        cli_json_time(stdout, "at", n->at_ms, false);
        printf("}");
    } else if (strcmp(n->kind, "conflict") == 0 &&
               strcmp(n->reason, "redirected") == 0) {
        /* A write to a customer the office merged into another: it was
         * applied there, nothing to redo. */
        printf("  #%lld %s %s: %s (dismiss --notice '#%lld' once seen)\n",
               (long long)n->id, n->entity, n->label[0] ? n->label : id, n->detail,
               (long long)n->id);
    } else if (strcmp(n->kind, "conflict") == 0) {
        /* Which row (by name), what happened, what to do: a value that a
         * newer write replaced can be typed again; a status that is
         * already further along cannot go back. */
        bool stale = strcmp(n->reason, "stale") == 0;
        printf("  #%lld %s %s: %s; your edit was not kept (%sdismiss --notice '#%lld'"
               "%s)\n", (long long)n->id, n->entity, n->label[0] ? n->label : id,
               n->detail[0] ? n->detail : n->reason,
               stale ? "edit it again if it still matters, then " : "", (long long)n->id,
               stale ? "" : " once seen");
    } else {
        printf("  #%lld %s (dismiss --notice '#%lld' once seen)\n", (long long)n->id,
               n->detail[0] ? n->detail : id, (long long)n->id);
    }
    sc->n++;
    return true;
}

static bool conflict_cb(const fc_conflict *k, void *p)
{
    status_ctx *sc = p;
    char id[FS_ID_STRLEN + 1];

    fs_id_format(&k->row, id);
    if (sc->a->json) {
        if (sc->n)
            fputc(',', stdout);
        printf("{\"conflict_id\":%llu,\"entity\":\"%s\",\"row\":\"%s\",\"label\":",
               (unsigned long long)k->id, k->entity, id);
        cli_json_str(stdout, k->label);
        printf(",\"field\":");
        cli_json_str(stdout, k->field);
        printf(",\"rule\":");
        cli_json_str(stdout, k->rule);
        printf(",\"mine_kept\":%s,\"detail\":", k->mine_kept ? "true" : "false");
        cli_json_str(stdout, k->detail);
        cli_json_time(stdout, "created", k->created_ms, false);
        printf("}");
    } else {
        printf("  #%llu %s %s, %s: %s (%s)\n", (unsigned long long)k->id, k->entity,
               k->label[0] ? k->label : id, k->field,
               k->detail[0] ? k->detail : k->rule,
               k->mine_kept ? "your value is kept for now" : "your value was not kept");
    }
    sc->n++;
    return true;
}

int cli_cmd_status(cli *a)
{
    fc_info in;
    fs_error err = {0};
    fc_status st = fc_info_get(a->c, &in, &err);
    char dev[FS_ID_STRLEN + 1], rep[FS_ID_STRLEN + 1], when[64] = "never";
    status_ctx sc = {a, 0, false};

    if (st)
        return cli_fail(a, st, &err);
    fs_id_format(&in.device_id, dev);
    fs_id_format(&in.rep_id, rep);
    if (in.last_sync_ms)
        fc_time_format(in.last_sync_ms, false, when, sizeof when);
    if (a->json) {
        printf("{\"ok\":true,\"enrolled\":%s,\"server\":", in.enrolled ? "true" : "false");
        cli_json_str(stdout, in.server);
        printf(",\"device_id\":\"%s\",\"rep_id\":%s%s%s,\"cursor\":%llu,"
               "\"bootstrapped\":%s", dev,
               in.enrolled ? "\"" : "", in.enrolled ? rep : "null",
               in.enrolled ? "\"" : "", (unsigned long long)in.cursor,
               in.bootstrapped ? "true" : "false");
        cli_json_time(stdout, "last_sync", in.last_sync_ms, true);
        printf(",\"pending\":%zu,\"waiting\":%zu,\"in_flight\":%zu,\"rejected\":%zu,"
               "\"awaiting\":%zu,\"changes\":[", in.pending, in.pending - in.in_flight,
               in.in_flight, in.rejected, in.awaiting);
    } else {
        printf("server:       %s\n", in.enrolled ? in.server : "(not enrolled)");
        printf("device:       %s%s\n", dev, in.enrolled ? "" : " (provisional)");
        if (in.enrolled)
            printf("rep:          %s\n", rep);
        printf("last sync:    %s%s\n", when,
               in.enrolled && !in.bootstrapped ? " (initial download not finished)" : "");
        /* Two different things for a rep: still on the device, or sent
         * but the answer was lost (resent as the same batch). */
        printf("waiting:      %zu change(s) waiting to send\n", in.pending - in.in_flight);
        if (in.in_flight)
            printf("sent:         %zu change(s) sent, answer not yet received\n",
                   in.in_flight);
        printf("rejected:     %zu change(s)\n", in.rejected);
        if (in.awaiting)
            printf("confirmed:    %zu change(s), awaiting the server's row\n",
                   in.awaiting);
        if (in.pending || in.rejected || in.awaiting)
            printf("changes:\n");
    }
    st = fc_outbox_list(a->c, change_cb, &sc, &err);
    if (st)
        return cli_fail(a, st, &err);
    if (a->json)
        printf("],\"notices\":[");
    else if (in.notices)
        printf("notices (scope exits, conflicts):\n");
    sc.n = 0;
    st = fc_notice_list(a->c, notice_cb, &sc, &err);
    if (st)
        return cli_fail(a, st, &err);
    if (a->json)
        printf("],\"open_conflicts\":%zu,\"conflicts\":[", in.open_conflicts);
    else if (in.open_conflicts)
        printf("open conflicts (%zu, awaiting the back office):\n", in.open_conflicts);
    sc.n = 0;
    st = fc_conflict_list(a->c, conflict_cb, &sc, &err);
    if (st)
        return cli_fail(a, st, &err);
    if (a->json)
        printf("]}\n");
    else if (in.open_conflicts > sc.n)
        printf("  ... and %zu older\n", in.open_conflicts - sc.n);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Sync progress                                                             */
/* ------------------------------------------------------------------------ */

typedef struct prog_ctx {
    bool tty;
    bool quiet;
    unsigned spin;
} prog_ctx;

/* Rows and exits pulled so far, never more than the server's count: the
 * count is taken at the second round, and rows written meanwhile (or a row
 * pulled twice after a resumed page) may add to what is pulled. */
static size_t progress_done(const fc_progress *p)
{
    size_t done = p->rows + p->exits;
    return p->total && done > p->total ? p->total : done;
}

static void on_progress(const fc_progress *p, void *payload)
{
    prog_ctx *pc = payload;

    if (pc->quiet)
        return;
    if (p->retry) {
        /* On a terminal the retry shows in place of the bar; elsewhere the
         * outcome's one line says it all ("offline: ..."), so a script or
         * log reading a sync that could not connect gets one line. */
        if (pc->tty)
            fprintf(stderr, "\r\033[Ksync: network problem (%s); retry %u...", p->note,
                    p->retry);
        return;
    }
    if (pc->tty) {
        /* The server counts what this sync pulls at its second round, so
         * the first report of a pull of several pages may have no count
         * yet; an older server has none, and the bar then only shows
         * activity. */
        char bar[21], pct[8] = "";
        size_t done = progress_done(p);
        unsigned fill = p->has_more ? (pc->spin++ % 20) + 1 : 20;
        if (p->total && p->has_more) {
            unsigned percent = (unsigned)(done >= p->total ? 99 : done * 100 / p->total);
            fill = percent / 5;
            snprintf(pct, sizeof pct, " %3u%%", percent);
        } else if (!p->has_more) {
            snprintf(pct, sizeof pct, " 100%%");
        }
        for (unsigned i = 0; i < 20; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[20] = '\0';
        fprintf(stderr, "\r\033[K[%s]%s round %u  pushed %zu  pulled %zu rows", bar, pct,
                p->round, p->pushed, p->total ? progress_done(p) : p->rows);
        if (p->total)
            fprintf(stderr, " of %zu", p->total);
    } else {
        char of[40] = "";
        if (p->total)
            snprintf(of, sizeof of, " (%zu of %zu)", progress_done(p), p->total);
        fprintf(stderr, "sync: round %u pushed %zu (applied %zu, rejected %zu) pulled "
                "%zu rows, %zu exits%s%s\n", p->round, p->pushed, p->applied, p->rejected,
                p->rows, p->exits, of, p->has_more ? ", more to come" : "");
    }
}

int cli_cmd_sync(cli *a)
{
    prog_ctx pc = {isatty(2) != 0, a->json, 0};
    fc_sync_report rep;
    fs_error err = {0};
    fc_status st = fc_sync(a->c, on_progress, &pc, &rep, &err);
    fc_info in;

    if (pc.tty && !pc.quiet)
        fputc('\n', stderr);
    if (fc_info_get(a->c, &in, NULL))
        memset(&in, 0, sizeof in);
    if (st == FC_ENETWORK || st == FC_EOFFLINE) {
        /* No network is the field's normal state, not an error: one line,
         * what is kept, and its own status for scripts. */
        char msg[700];
        char why[200] = "";
        if (st == FC_ENETWORK) /* reached, maybe: say what broke */
            snprintf(why, sizeof why, " (%.180s)", err.text);
        snprintf(msg, sizeof msg, "offline: cannot reach %s%s; %zu change(s) saved on "
                 "this device, to be sent at the next sync",
                 in.server[0] ? in.server : "the server", why, in.pending);
        return cli_fail_code(a, "offline", msg, EXIT_OFFLINE);
    }
    if (st)
        return cli_fail(a, st, &err);
    if (a->json) {
        printf("{\"ok\":true,\"rounds\":%u,\"pushed\":%zu,\"applied\":%zu,\"rejected\":%zu,"
               "\"rows\":%zu,\"exits\":%zu,\"notices\":%zu,\"pending\":%zu}\n",
               rep.totals.round, rep.totals.pushed, rep.totals.applied,
               rep.totals.rejected, rep.totals.rows, rep.totals.exits, rep.notices,
               in.pending);
    } else {
        printf("synced: %zu change(s) pushed (%zu rejected), %zu row(s) pulled, %zu "
               "removed from this device\n", rep.totals.pushed, rep.totals.rejected,
               rep.totals.rows, rep.totals.exits);
        if (rep.totals.rejected || rep.notices)
            printf("see `field-client status` for rejected changes and notices\n");
    }
    /* The sync itself worked, but something the rep wrote did not take
     * effect: scripts must not read that as plain success. */
    return rep.totals.rejected ? EXIT_REJECTED : 0;
}
