/*
 * fs_quote.c - the quote lifecycle, declared as data.
 *
 * This file is the only place that knows a quote's states and what they
 * allow: which transitions exist and who may make them (the table below),
 * which state is still editable, the order the merge joins concurrent status
 * writes in, and when the server expires a quote. The client checks a rep's
 * command with it, the server locks rows and expires quotes with it, and
 * fs_merge joins status writes with its ranks, so no other module needs to
 * name a state.
 */
#include "fs_conflict_int.h"

#include <inttypes.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

const char *const fs_quote_status_values[] = {
    "draft", "sent", "accepted", "rejected", "expired", NULL};

/* Who may make a transition. */
#define BY_DEVICE 0x1u
#define BY_SERVER 0x2u

/* Every allowed move; anything not listed is refused. A final state has no
 * way out: a sent quote is changed by revising it into a new draft. */
static const struct {
    fs_quote_state from, to;
    unsigned who;
} transitions[] = {
    {FS_QUOTE_DRAFT, FS_QUOTE_SENT, BY_DEVICE | BY_SERVER},
    {FS_QUOTE_SENT, FS_QUOTE_ACCEPTED, BY_DEVICE | BY_SERVER},
    {FS_QUOTE_SENT, FS_QUOTE_REJECTED, BY_DEVICE | BY_SERVER},
    {FS_QUOTE_SENT, FS_QUOTE_EXPIRED, BY_SERVER},
};

/* Join order for concurrent status writes (fs_merge, FS_POLICY_LIFECYCLE).
 * Among the final states the customer's yes ranks highest: an accept made
 * offline before the quote expired or was rejected elsewhere stands, and the
 * clash is left open for a person to review. */
static const int rank[] = {
    [FS_QUOTE_DRAFT] = 0, [FS_QUOTE_SENT] = 1, [FS_QUOTE_EXPIRED] = 2,
    [FS_QUOTE_REJECTED] = 3, [FS_QUOTE_ACCEPTED] = 4,
};
_Static_assert(N(rank) == FS_QUOTE_EXPIRED + 1, "every state has a rank");
_Static_assert(N(fs_quote_status_values) == FS_QUOTE_EXPIRED + 2,
               "every state has a name");

fs_quote_state fs_quote_state_parse(const char *s, size_t len)
{
    if (!s)
        return FS_QUOTE_INVALID;
    for (int i = 0; fs_quote_status_values[i]; i++)
        if (strlen(fs_quote_status_values[i]) == len &&
            memcmp(fs_quote_status_values[i], s, len) == 0)
            return (fs_quote_state)i;
    return FS_QUOTE_INVALID;
}

const char *fs_quote_state_name(fs_quote_state s)
{
    return s >= FS_QUOTE_DRAFT && s <= FS_QUOTE_EXPIRED ? fs_quote_status_values[s]
                                                       : "invalid";
}

bool fs_quote_state_is_final(fs_quote_state s)
{
    return s == FS_QUOTE_ACCEPTED || s == FS_QUOTE_REJECTED || s == FS_QUOTE_EXPIRED;
}

int fs_quote_state_rank(fs_quote_state s)
{
    return s >= FS_QUOTE_DRAFT && s <= FS_QUOTE_EXPIRED ? rank[s] : -1;
}

bool fs_quote_state_editable(fs_quote_state s)
{
    return s == FS_QUOTE_DRAFT;
}

bool fs_quote_state_contractable(fs_quote_state s)
{
    return s == FS_QUOTE_SENT || s == FS_QUOTE_ACCEPTED;
}

/* Rank of a stored or incoming status value; unset or unknown is -1. */
int fs__lifecycle_rank(const fs_value *v)
{
    fs_quote_state s;

    if (v->kind != FS_VAL_TEXT)
        return -1;
    s = fs_quote_state_parse(v->u.text.p, v->u.text.n);
    return fs_quote_state_rank(s);
}

bool fs__lifecycle_rank_final(int r)
{
    for (size_t i = 0; i < N(rank); i++)
        if (rank[i] == r)
            return fs_quote_state_is_final((fs_quote_state)i);
    return false;
}

/* Slot of the entity's lifecycle field, or -1. */
static int lifecycle_slot(const fs_entity *e)
{
    for (size_t i = 0; e && i < e->nfields; i++)
        if (e->fields[i].policy == FS_POLICY_LIFECYCLE)
            return (int)i;
    return -1;
}

bool fs_entity_has_lifecycle(const fs_entity *e)
{
    return lifecycle_slot(e) >= 0;
}

fs_quote_state fs_quote_row_state(const fs_row *quote)
{
    int slot = quote ? lifecycle_slot(quote->entity) : -1;
    const fs_value *v;

    if (slot < 0 || !quote->cells)
        return FS_QUOTE_INVALID;
    v = &quote->cells[slot].v;
    if (v->kind != FS_VAL_TEXT)
        return FS_QUOTE_DRAFT;
    return fs_quote_state_parse(v->u.text.p, v->u.text.n);
}

bool fs_row_locked(const fs_row *row)
{
    if (!row || lifecycle_slot(row->entity) < 0 || !fs_row_exists(row) || row->deleted)
        return false;
    return !fs_quote_state_editable(fs_quote_row_state(row));
}

fs_status fs_quote_check_transition(fs_quote_state from, fs_quote_state to,
                                    bool by_server, fs_error *err)
{
    unsigned who = by_server ? BY_SERVER : BY_DEVICE;

    if (from < FS_QUOTE_DRAFT || from > FS_QUOTE_EXPIRED || to < FS_QUOTE_DRAFT ||
        to > FS_QUOTE_EXPIRED)
        return fs_error_set(err, FS_ERANGE, "unknown quote status");
    if (from == to)
        return fs_error_set(err, FS_ETRANSITION, "the quote is already %s",
                            fs_quote_status_values[to]);
    for (size_t i = 0; i < N(transitions); i++) {
        if (transitions[i].from != from || transitions[i].to != to)
            continue;
        if (transitions[i].who & who)
            return FS_OK;
        return fs_error_set(err, FS_ETRANSITION, "a %s quote becomes %s only at the "
                            "server", fs_quote_status_values[from],
                            fs_quote_status_values[to]);
    }
    if (fs_quote_state_is_final(from))
        return fs_error_set(err, FS_ETRANSITION, "the quote is %s, which is final; it "
                            "cannot become %s", fs_quote_status_values[from],
                            fs_quote_status_values[to]);
    if (from == FS_QUOTE_SENT && to == FS_QUOTE_DRAFT)
        return fs_error_set(err, FS_ETRANSITION, "a sent quote cannot go back to "
                            "draft; revise it into a new draft");
    return fs_error_set(err, FS_ETRANSITION, "a %s quote cannot become %s (send it "
                        "first)", fs_quote_status_values[from],
                        fs_quote_status_values[to]);
}

bool fs_quote_row_expired(const fs_row *quote, int64_t now_ms)
{
    int vu = quote ? fs_entity_field_index(quote->entity, "valid_until") : -1;

    if (vu < 0 || !fs_row_exists(quote) || quote->deleted ||
        fs_quote_row_state(quote) != FS_QUOTE_SENT)
        return false;
    return quote->cells[vu].v.kind == FS_VAL_INT && quote->cells[vu].v.u.i < now_ms;
}

fs_status fs_contract_quote_check(const fs_row *contract, const fs_row *quote,
                                  const fs_quote_totals *t, fs_error *err)
{
    int am, cc, qc;
    const fs_value *amount, *cur, *qcur;

    if (!contract || !quote || !t || !contract->cells || !quote->cells)
        return fs_error_set(err, FS_EINVAL, "fs_contract_quote_check: NULL argument");
    am = fs_entity_field_index(contract->entity, "amount");
    cc = fs_entity_field_index(contract->entity, "currency");
    qc = fs_entity_field_index(quote->entity, "currency");
    if (am < 0 || cc < 0 || qc < 0)
        return fs_error_set(err, FS_EINVAL, "fs_contract_quote_check: not a contract "
                            "and a quote");
    amount = &contract->cells[am].v;
    cur = &contract->cells[cc].v;
    qcur = &quote->cells[qc].v;
    if (amount->kind != FS_VAL_INT || amount->u.i != t->total)
        return fs_error_set(err, FS_ERANGE, "contract amount %" PRId64 " does not match "
                            "its quote's total %" PRId64,
                            amount->kind == FS_VAL_INT ? amount->u.i : INT64_C(0), t->total);
    if (!fs_value_eq(cur, qcur))
        return fs_error_set(err, FS_ERANGE, "contract currency %s does not match its "
                            "quote's currency %s",
                            cur->kind == FS_VAL_TEXT ? cur->u.text.p : "(none)",
                            qcur->kind == FS_VAL_TEXT ? qcur->u.text.p : "(none)");
    return FS_OK;
}
