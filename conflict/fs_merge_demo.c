/*
 * fs_merge_demo.c - a short, readable tour of the merge engine deciding real
 * conflicts between two reps' devices and the back office. Glue only: every
 * decision printed here is made by fs_merge().
 */
#include "fs_conflict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fs_id REP_ANNA, REP_BEN, BACKOFFICE;
static const uint64_t T0 = 1767261600000ULL; /* 2026-01-01 10:00 UTC */

static fs_hlc at(int minutes) { return fs_hlc_make(T0 + (uint64_t)minutes * 60000, 0); }

static const char *who(const fs_id *d)
{
    if (fs_id_cmp(d, &REP_ANNA) == 0) return "Anna's laptop";
    if (fs_id_cmp(d, &REP_BEN) == 0) return "Ben's handheld";
    if (fs_id_cmp(d, &BACKOFFICE) == 0) return "back office";
    return "nobody";
}

static void show_value(const fs_value *v)
{
    char id[FS_ID_STRLEN + 1];
    switch (v->kind) {
    case FS_VAL_NULL: printf("(unset)"); break;
    case FS_VAL_INT: printf("%lld", (long long)v->u.i); break;
    case FS_VAL_REAL: printf("%g", v->u.r); break;
    case FS_VAL_TEXT: printf("\"%s\"", v->u.text.p); break;
    case FS_VAL_ID: fs_id_format(&v->u.id, id); printf("%.8s", id); break;
    }
}

static void show_row(const fs_row *r)
{
    printf("    %s%s\n", r->entity->name, r->deleted ? " [deleted]" : "");
    for (size_t i = 0; i < r->entity->nfields; i++) {
        if (!r->cells[i].hlc)
            continue;
        printf("      %-14s = ", r->entity->fields[i].name);
        show_value(&r->cells[i].v);
        printf("   (%s, minute %lld)\n", who(&r->cells[i].device),
               (long long)((fs_hlc_ms(r->cells[i].hlc) - T0) / 60000));
    }
}

static void show_conflicts(const fs_conflict_list *l, size_t from)
{
    for (size_t i = from; i < l->n; i++) {
        const fs_conflict *k = &l->items[i];
        const char *field = k->field < 0 ? "(row)" : k->entity->fields[k->field].name;
        printf("    conflict: %s.%s rule=%s status=%s\n      stored (%s): ", k->entity->name,
               field, fs_rule_name(k->rule), k->status == FS_CONFLICT_OPEN ? "OPEN" : "auto",
               k->theirs_hlc ? who(&k->theirs_device) : "empty");
        show_value(&k->theirs);
        printf("\n      incoming (%s): ", who(&k->yours_device));
        show_value(&k->yours);
        printf("\n      -> %s stands\n", k->yours_won ? "incoming" : "stored");
    }
}

/* Merges one change built from (field, text-or-int) pairs and prints it. */
static void apply(fs_row *row, const fs_merge_ctx *ctx, const fs_id *dev, fs_hlc h,
                  fs_conflict_list *l, const char *what, const char *field, const char *text,
                  long long num)
{
    fs_change c;
    fs_value v = {0};
    fs_merge_result res;
    fs_error err = {0};
    size_t before = l->n;

    fs_change_init(&c, row->entity, &row->id, dev, NULL);
    if (field) {
        if (text)
            fs_value_text(&v, text, strlen(text), NULL);
        else
            v = fs_value_int(num);
        if (fs_change_set_named(&c, field, &v, h, &err) != FS_OK) {
            printf("  %s: %s\n    refused: %s\n", who(dev), what, err.text);
            goto done;
        }
    } else {
        fs_change_tombstone(&c, true, h);
    }
    if (fs_merge(ctx, row, &c, &res, l, &err) != FS_OK) {
        printf("  %s: %s\n    error: %s\n", who(dev), what, err.text);
        goto done;
    }
    printf("  %s: %s\n    -> %s%s%s\n", who(dev), what,
           res.outcome == FS_APPLIED ? "applied" : res.outcome == FS_MERGED ? "merged" : "rejected",
           res.detail[0] ? ": " : "", res.detail);
    show_conflicts(l, before);
done:
    fs_value_clear(&v);
    fs_change_free(&c);
}

int main(void)
{
    const fs_merge_ctx device = {.origin = FS_ORIGIN_DEVICE, .now = at(24 * 60),
                                 .max_ahead_ms = 5 * 60 * 1000};
    const fs_merge_ctx office = {.origin = FS_ORIGIN_SERVER};
    fs_conflict_list l = {0};
    fs_row cust, contract, line;
    fs_id id;
    fs_quote_line_amount lines[] = {{3, 129900, 0}, {10, 4550, 1250}, {1, 99999, 333}};
    fs_quote_totals t;

    memset(REP_ANNA.b, 0xA1, 16);
    memset(REP_BEN.b, 0xB2, 16);
    memset(BACKOFFICE.b, 0x01, 16);

    printf("fieldsync merge engine demo: two reps offline, one back office\n\n");

    printf("1. Anna and Ben edit the same customer offline\n");
    fs_id_new(T0, &id, NULL);
    fs_row_init(&cust, fs_schema_entity("customer"), &id, NULL);
    apply(&cust, &office, &BACKOFFICE, at(0), &l, "creates customer Acme", "name", "Acme GmbH", 0);
    apply(&cust, &device, &REP_ANNA, at(10), &l, "fixes the address", "address", "Hauptstr. 5, Berlin", 0);
    apply(&cust, &device, &REP_BEN, at(12), &l, "adds a phone number", "phone", "+49 30 1234", 0);
    apply(&cust, &device, &REP_ANNA, at(15), &l, "changes the phone (later)", "phone", "+49 30 9999", 0);
    apply(&cust, &device, &REP_BEN, at(11), &l, "syncs an older phone edit last", "phone", "+49 30 0000", 0);
    apply(&cust, &device, &REP_BEN, at(20), &l, "tries to move Acme to his territory", "territory", "north", 0);
    apply(&cust, &device, &REP_ANNA, at(21), &l, "types a 300-character name", "name",
          "Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH "
          "Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH "
          "Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH "
          "Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH Acme GmbH", 0);
    apply(&cust, &device, &REP_BEN, at(3 * 24 * 60), &l,
          "(clock three days ahead) renames the segment", "segment", "enterprise", 0);
    printf("  merged customer:\n");
    show_row(&cust);

    printf("\n2. A contract's e-signature status never goes back\n");
    fs_id_new(T0, &id, NULL);
    fs_row_init(&contract, fs_schema_entity("contract"), &id, NULL);
    apply(&contract, &device, &REP_ANNA, at(30), &l, "sends the envelope", "esign_status", "sent", 0);
    apply(&contract, &office, &BACKOFFICE, at(40), &l, "records: signed", "esign_status", "signed", 0);
    apply(&contract, &device, &REP_BEN, at(50), &l, "(offline, stale) marks it delivered",
          "esign_status", "delivered", 0);
    apply(&contract, &office, &BACKOFFICE, at(60), &l, "voids the envelope", "esign_status", "voided", 0);
    apply(&contract, &device, &REP_ANNA, at(55), &l, "(concurrently) records completed",
          "esign_status", "completed", 0);
    printf("  merged contract:\n");
    show_row(&contract);

    printf("\n3. An accepted quote is frozen\n");
    fs_id_new(T0, &id, NULL);
    fs_row_init(&line, fs_schema_entity("quote_line"), &id, NULL);
    {
        fs_merge_ctx frozen = device;
        frozen.frozen = true;
        apply(&line, &frozen, &REP_BEN, at(70), &l, "adds a line to the accepted quote", "qty", NULL, 5);
    }

    printf("\n4. Delete vs concurrent update\n");
    apply(&cust, &office, &BACKOFFICE, at(80), &l, "deletes Acme (duplicate record)", NULL, NULL, 0);
    apply(&cust, &device, &REP_ANNA, at(85), &l, "(offline) updates Acme's tags", "tags", "vip", 0);

    printf("\n5. Quote totals, derived the same way on every device\n");
    if (fs_quote_totals_compute(lines, 3, 500, &t, NULL) == FS_OK)
        printf("  3 x 1299.00, 10 x 45.50 at 12.5%% off, 1 x 999.99 at 3.33%% off, 5%% off the quote\n"
               "  subtotal %lld.%02lld  discount %lld.%02lld  total %lld.%02lld (minor units, half up)\n",
               (long long)t.subtotal / 100, (long long)t.subtotal % 100,
               (long long)t.discount / 100, (long long)t.discount % 100,
               (long long)t.total / 100, (long long)t.total % 100);

    fs_row_free(&cust);
    fs_row_free(&contract);
    fs_row_free(&line);
    fs_conflict_list_free(&l);
    return 0;
}
