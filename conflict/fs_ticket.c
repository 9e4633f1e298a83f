/*
 * fs_ticket.c - the service ticket's status rule, declared as data.
 *
 * CRM.md section 4: a ticket is open, in_progress, resolved or closed, and
 * may be reopened. This file is the only place that names those states and
 * says who may move a ticket between them: a rep's device opens a ticket,
 * closes it and reopens it; working it (in_progress) and resolving it are
 * the back office's. The client checks a rep's command with it before
 * anything is queued, and the server checks every device change and every
 * back-office write with it, so the rule exists once.
 *
 * The status field itself merges last-writer-wins (reopening means it is
 * not a lattice): the rule judges a write against the stored status, the
 * way the quote lock reads the stored quote.
 */
#include "fs_conflict_int.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

const char *const fs_ticket_status_values[] = {
    "open", "in_progress", "resolved", "closed", NULL};
_Static_assert(N(fs_ticket_status_values) == FS_TICKET_CLOSED + 2,
               "every state has a name");

#define BY_DEVICE 0x1u
#define BY_SERVER 0x2u

/* Every allowed move; anything not listed is refused. FS_TICKET_NONE is
 * "no ticket yet": a ticket is created open. */
static const struct {
    fs_ticket_state from, to;
    unsigned who;
} transitions[] = {
    {FS_TICKET_NONE, FS_TICKET_OPEN, BY_DEVICE | BY_SERVER},
    {FS_TICKET_OPEN, FS_TICKET_IN_PROGRESS, BY_SERVER},
    {FS_TICKET_IN_PROGRESS, FS_TICKET_OPEN, BY_SERVER},
    {FS_TICKET_OPEN, FS_TICKET_RESOLVED, BY_SERVER},
    {FS_TICKET_IN_PROGRESS, FS_TICKET_RESOLVED, BY_SERVER},
    /* The rep closes: the customer withdrew it, or confirmed the fix. */
    {FS_TICKET_OPEN, FS_TICKET_CLOSED, BY_DEVICE | BY_SERVER},
    {FS_TICKET_IN_PROGRESS, FS_TICKET_CLOSED, BY_DEVICE | BY_SERVER},
    {FS_TICKET_RESOLVED, FS_TICKET_CLOSED, BY_DEVICE | BY_SERVER},
    /* Reopening: the fix did not hold. */
    {FS_TICKET_RESOLVED, FS_TICKET_OPEN, BY_DEVICE | BY_SERVER},
    {FS_TICKET_CLOSED, FS_TICKET_OPEN, BY_DEVICE | BY_SERVER},
};

fs_ticket_state fs_ticket_state_parse(const char *s, size_t len)
{
    if (!s)
        return FS_TICKET_INVALID;
    for (int i = 0; fs_ticket_status_values[i]; i++)
        if (strlen(fs_ticket_status_values[i]) == len &&
            memcmp(fs_ticket_status_values[i], s, len) == 0)
            return (fs_ticket_state)i;
    return FS_TICKET_INVALID;
}

const char *fs_ticket_state_name(fs_ticket_state s)
{
    if (s == FS_TICKET_NONE)
        return "new";
    return s >= FS_TICKET_OPEN && s <= FS_TICKET_CLOSED ? fs_ticket_status_values[s]
                                                       : "invalid";
}

fs_status fs_ticket_check_transition(fs_ticket_state from, fs_ticket_state to,
                                     bool by_server, fs_error *err)
{
    unsigned who = by_server ? BY_SERVER : BY_DEVICE;

    if (from < FS_TICKET_NONE || from > FS_TICKET_CLOSED || to < FS_TICKET_OPEN ||
        to > FS_TICKET_CLOSED)
        return fs_error_set(err, FS_ERANGE, "unknown ticket status");
    if (from == to)
        return FS_OK; /* rewriting the same status moves nothing */
    for (size_t i = 0; i < N(transitions); i++) {
        if (transitions[i].from != from || transitions[i].to != to)
            continue;
        if (transitions[i].who & who)
            return FS_OK;
        return fs_error_set(err, FS_ETRANSITION,
                            "a ticket moves from %s to %s only at the back office; "
                            "a device cannot", fs_ticket_state_name(from),
                            fs_ticket_state_name(to));
    }
    if (from == FS_TICKET_NONE)
        return fs_error_set(err, FS_ETRANSITION, "a new ticket starts open, not %s",
                            fs_ticket_state_name(to));
    return fs_error_set(err, FS_ETRANSITION, "a ticket cannot move from %s to %s",
                        fs_ticket_state_name(from), fs_ticket_state_name(to));
}

/* The stored status of a ticket row: FS_TICKET_NONE when the row does not
 * exist yet, open when it exists without one (a new ticket reads as open),
 * FS_TICKET_INVALID for a foreign value. */
fs_ticket_state fs_ticket_row_state(const fs_row *row)
{
    int slot = row ? fs_entity_field_index(row->entity, "status") : -1;
    const fs_value *v;

    if (slot < 0 || !row->cells || !fs_row_exists(row))
        return FS_TICKET_NONE;
    v = &row->cells[slot].v;
    if (v->kind != FS_VAL_TEXT)
        return FS_TICKET_OPEN;
    return fs_ticket_state_parse(v->u.text.p, v->u.text.n);
}

fs_status fs_ticket_check_write(const fs_row *stored, const fs_value *to,
                                bool by_server, fs_error *err)
{
    fs_ticket_state from = fs_ticket_row_state(stored), t;

    if (!to || to->kind == FS_VAL_NULL) {
        if (from == FS_TICKET_NONE)
            return FS_OK; /* a new ticket without a status reads as open */
        return fs_error_set(err, FS_ETRANSITION, "a ticket's status cannot be cleared");
    }
    if (to->kind != FS_VAL_TEXT)
        return fs_error_set(err, FS_ERANGE, "unknown ticket status");
    t = fs_ticket_state_parse(to->u.text.p, to->u.text.n);
    if (from == FS_TICKET_INVALID)
        from = FS_TICKET_OPEN; /* cannot happen for a validated store */
    return fs_ticket_check_transition(from, t, by_server, err);
}

fs_status fs_ticket_check_rate(const fs_row *stored, fs_error *err)
{
    int slot = stored ? fs_entity_field_index(stored->entity, "rating") : -1;

    if (slot < 0 || !stored->cells || !fs_row_exists(stored))
        return FS_OK;
    if (stored->cells[slot].v.kind == FS_VAL_INT)
        return fs_error_set(err, FS_ETRANSITION, "the ticket was already rated %lld; "
                            "one score per ticket",
                            (long long)stored->cells[slot].v.u.i);
    return FS_OK;
}
