/*
 * fs_schema.c - the synced data model, declared as data.
 *
 * One array of fields per entity. Everything else (merge policy, validation,
 * wire tags, SQLite columns, export) is driven from these tables, so adding a
 * field is one line here. Tags are stable numbers used on the wire and in the
 * stores: append new fields with new tags, never reuse or renumber a tag.
 */
#include "fs_conflict.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Column shorthands so that each field stays on one line. */
#define TEXT(n) FS_TYPE_TEXT, FS_POLICY_LWW, (n), NULL
#define STEXT(n) FS_TYPE_TEXT, FS_POLICY_SERVER, (n), NULL
#define INT FS_TYPE_INT, FS_POLICY_LWW, 0, NULL
#define REAL FS_TYPE_REAL, FS_POLICY_LWW, 0, NULL
#define BOOL FS_TYPE_BOOL, FS_POLICY_LWW, 0, NULL
#define SBOOL FS_TYPE_BOOL, FS_POLICY_SERVER, 0, NULL
#define TIME FS_TYPE_TIME, FS_POLICY_LWW, 0, NULL
#define STIME FS_TYPE_TIME, FS_POLICY_SERVER, 0, NULL
#define MONEY FS_TYPE_MONEY, FS_POLICY_LWW, 0, NULL
#define CURRENCY FS_TYPE_CURRENCY, FS_POLICY_LWW, 3, NULL
#define PARENT FS_TYPE_ID, FS_POLICY_ONCE, 0, NULL
#define ENUM(v) FS_TYPE_ENUM, FS_POLICY_LWW, 32, (v)
#define SENUM(v) FS_TYPE_ENUM, FS_POLICY_SERVER, 32, (v)
#define ESIGN FS_TYPE_ENUM, FS_POLICY_ESIGN, 32, esign_values
/* The quote lifecycle: states and rules live in fs_quote.c. */
#define LIFECYCLE FS_TYPE_ENUM, FS_POLICY_LIFECYCLE, 32, fs_quote_status_values
#define REF FS_TYPE_ID, FS_POLICY_ONCE, 0, NULL /* write-once, not the parent */

#define REQ FS_FIELD_REQUIRED
#define SRCH FS_FIELD_SEARCH
#define PAR (FS_FIELD_PARENT | FS_FIELD_REQUIRED)
#define RNG FS_FIELD_RANGE
#define LCK FS_FIELD_LOCKED
#define WIN FS_FIELD_WINDOW

static const char *const visit_status[] = {
    "planned", "in_progress", "completed", "abandoned", NULL};
static const char *const verification_values[] = {
    "verified", "outside_geofence", "unverified", NULL};
static const char *const time_check_values[] = {"ok", "suspect", NULL};
static const char *const esign_values[] = {
    "draft", "sent", "delivered", "signed", "voided", "declined", "completed", NULL};
/* Customer value and churn (fs_score.c computes them; sync-server analyze
 * writes them; devices read them). */
static const char *const grade_values[] = {"A", "B", "C", "D", "E", NULL};
static const char *const risk_values[] = {"none", "watch", "at_risk", NULL};
/* Why the server generated a task: a churn rule (fs_churn_rule_name), or
 * the satisfaction survey after a ticket was resolved (fss_ticket.c). */
static const char *const generated_values[] = {"quiet", "complaint", "overdue",
                                               "satisfaction", NULL};
/* Service tickets (CRM.md section 4); the status rule is fs_ticket.c. */
static const char *const ticket_kinds[] = {
    "complaint", "repair", "question", "request", NULL};
static const char *const ticket_priorities[] = {"low", "normal", "high", "urgent", NULL};
static const char *const task_kinds[] = {
    "follow_up", "call", "email", "meeting", "demo", "other", NULL};

/* name, tag, type, policy, max_len, enum, flags, lo, hi */
static const fs_field customer_fields[] = {
    {"name", 1, TEXT(200), REQ | SRCH, 0, 0},
    {"address", 2, TEXT(500), SRCH, 0, 0},
    {"lat", 3, REAL, RNG, -90, 90},
    {"lon", 4, REAL, RNG, -180, 180},
    {"phone", 5, TEXT(40), 0, 0, 0},
    {"tags", 6, TEXT(500), SRCH, 0, 0},
    {"segment", 7, TEXT(64), 0, 0, 0},
    {"territory", 8, STEXT(64), 0, 0, 0},
    {"owner_rep", 9, STEXT(64), 0, 0, 0},
    {"tax_id", 10, TEXT(64), 0, 0, 0}, /* issue 17: duplicate detection */
    {"grade", 11, SENUM(grade_values), 0, 0, 0},  /* A-E (analyze) */
    {"core", 12, SBOOL, 0, 0, 0},                 /* in the 80% set (analyze) */
    {"rfm", 13, STEXT(3), 0, 0, 0},               /* "545" (analyze) */
    {"risk", 14, SENUM(risk_values), 0, 0, 0},    /* churn level (analyze) */
    {"risk_reason", 15, STEXT(256), 0, 0, 0},     /* the rules' words (analyze) */
    /* issue 17: a rep's claim on a pool customer, written by the device
     * (its rep's id), judged by the server (fs_pool.h). */
    {"claimed_by", 16, TEXT(64), 0, 0, 0},
    {"lost_reason", 20, STEXT(200), 0, 0, 0},     /* why it left (back office) */
    {"lost_at", 21, STIME, 0, 0, 0},              /* when it was marked lost */
};

static const fs_field contact_fields[] = {
    {"customer_id", 1, PARENT, PAR, 0, 0},
    {"name", 2, TEXT(200), REQ | SRCH, 0, 0},
    {"title", 3, TEXT(200), 0, 0, 0},
    {"phone", 4, TEXT(40), 0, 0, 0},
    {"email", 5, TEXT(254), SRCH, 0, 0},
    {"created_by", 6, STEXT(64), 0, 0, 0}, /* the creating device's rep (server) */
};

static const fs_field visit_fields[] = {
    {"customer_id", 1, PARENT, PAR, 0, 0},
    {"rep_id", 2, STEXT(64), 0, 0, 0}, /* set by the server from the device */
    {"planned_at", 3, TIME, WIN, 0, 0},
    {"checkin_at", 4, TIME, WIN, 0, 0},
    {"checkin_lat", 5, REAL, RNG, -90, 90},
    {"checkin_lon", 6, REAL, RNG, -180, 180},
    {"checkin_accuracy", 7, REAL, RNG, 0, 1e6},
    {"checkout_at", 8, TIME, WIN, 0, 0},
    {"checkout_lat", 9, REAL, RNG, -90, 90},
    {"checkout_lon", 10, REAL, RNG, -180, 180},
    {"status", 11, ENUM(visit_status), 0, 0, 0},
    {"outcome", 12, TEXT(200), 0, 0, 0},
    {"notes", 13, TEXT(8000), 0, 0, 0},
    {"next_step", 14, TEXT(500), 0, 0, 0},
    {"verification", 15, SENUM(verification_values), 0, 0, 0},
    {"time_check", 16, SENUM(time_check_values), 0, 0, 0},
    {"planned_by", 17, STEXT(64), 0, 0, 0}, /* the creating device's rep (server) */
};

static const fs_field quote_fields[] = {
    {"customer_id", 1, PARENT, PAR, 0, 0},
    {"rep_id", 2, STEXT(64), 0, 0, 0}, /* set by the server from the device */
    {"currency", 3, CURRENCY, REQ | LCK, 0, 0},
    {"status", 4, LIFECYCLE, 0, 0, 0},
    {"valid_until", 5, TIME, LCK, 0, 0},
    {"discount", 6, INT, RNG | LCK, 0, 10000}, /* basis points */
    {"supersedes", 7, REF, 0, 0, 0}, /* the quote this revision replaces */
};

static const fs_field quote_line_fields[] = {
    {"quote_id", 1, PARENT, PAR, 0, 0},
    {"sku", 2, TEXT(64), 0, 0, 0},
    {"description", 3, TEXT(500), 0, 0, 0},
    {"qty", 4, INT, RNG, 0, 1e9},
    {"unit_price", 5, MONEY, RNG, 0, 1e15},
    {"discount", 6, INT, RNG, 0, 10000}, /* basis points */
};

static const fs_field contract_fields[] = {
    {"customer_id", 1, PARENT, PAR, 0, 0},
    {"quote_id", 2, FS_TYPE_ID, FS_POLICY_LWW, 0, NULL, 0, 0, 0},
    {"amount", 3, MONEY, RNG, 0, 1e15},
    {"currency", 4, CURRENCY, 0, 0, 0},
    {"envelope_id", 5, TEXT(100), 0, 0, 0},
    {"esign_status", 6, ESIGN, 0, 0, 0},
    {"status_changed_at", 7, TIME, 0, 0, 0},
    {"signed_at", 8, TIME, 0, 0, 0},
};

static const fs_field task_fields[] = {
    {"customer_id", 1, PARENT, PAR, 0, 0},
    {"rep_id", 2, STEXT(64), 0, 0, 0}, /* set by the server from the device */
    {"due_at", 3, TIME, 0, 0, 0},
    {"kind", 4, ENUM(task_kinds), 0, 0, 0},
    {"done", 5, BOOL, 0, 0, 0},
    {"title", 6, TEXT(200), 0, 0, 0},
    {"generated", 7, SENUM(generated_values), 0, 0, 0}, /* the rule that raised it */
};

/* A service ticket, opened by a rep on the device and worked by the back
 * office. status merges last-writer-wins (reopening is allowed, so it is no
 * lattice); who may make which move is fs_ticket.c, checked by the client
 * and the server against the stored status. */
static const fs_field ticket_fields[] = {
    {"customer_id", 1, PARENT, PAR, 0, 0},
    {"kind", 2, ENUM(ticket_kinds), REQ, 0, 0},
    {"priority", 3, ENUM(ticket_priorities), 0, 0, 0},
    {"subject", 4, TEXT(200), REQ, 0, 0},
    {"description", 5, TEXT(4000), 0, 0, 0},
    {"status", 6, ENUM(fs_ticket_status_values), 0, 0, 0},
    {"opened_by", 7, STEXT(64), 0, 0, 0},   /* the opening device's rep (server) */
    {"opened_at", 8, TIME, WIN, 0, 0},      /* when the rep opened it */
    {"assignee", 9, STEXT(64), 0, 0, 0},    /* a back-office user (back office) */
    {"resolution", 10, STEXT(2000), 0, 0, 0}, /* what was done (back office) */
    {"resolved_at", 11, STIME, 0, 0, 0},    /* when it was last resolved (server) */
    {"notes", 12, TEXT(8000), 0, 0, 0},     /* the rep's notes, appended */
    /* The satisfaction survey, one per ticket: the first score to reach
     * the server stands and a later one is refused (fs_ticket_check_rate). */
    {"rating", 13, INT, RNG, 1, 5},
    {"rating_note", 14, TEXT(1000), 0, 0, 0},
    {"rated_at", 15, TIME, 0, 0, 0},
    {"survey_task", 16, FS_TYPE_ID, FS_POLICY_SERVER, 0, NULL, 0, 0, 0}, /* generated task */
};

static const fs_field product_fields[] = {
    {"sku", 1, TEXT(64), REQ, 0, 0},
    {"name", 2, TEXT(200), 0, 0, 0},
    {"price", 3, MONEY, RNG, 0, 1e15},
    {"currency", 4, CURRENCY, 0, 0, 0},
};

static const fs_field purchase_fields[] = {
    {"customer_id", 1, PARENT, PAR, 0, 0},
    {"sku", 2, TEXT(64), 0, 0, 0},
    {"qty", 3, INT, RNG, 0, 1e9},
    {"amount", 4, MONEY, RNG, 0, 1e15},
    {"currency", 5, CURRENCY, 0, 0, 0},
    {"purchased_at", 6, TIME, 0, 0, 0},
};

#define ENTITY(name, tag, flags, parent, parent_entity) \
    {#name, tag, name##_fields, N(name##_fields), flags, parent, parent_entity}

static const fs_entity entities[] = {
    /* Customers are shared by a territory: only the back office deletes or
     * restores one (docs/ARCHITECTURE.md, "Who may delete"). */
    ENTITY(customer, 1, FS_ENTITY_SERVER_DELETE, -1, NULL),
    ENTITY(contact, 2, 0, 0, "customer"),
    ENTITY(visit, 3, 0, 0, "customer"),
    ENTITY(quote, 4, 0, 0, "customer"),
    ENTITY(quote_line, 5, 0, 0, "quote"),
    ENTITY(contract, 6, 0, 0, "customer"),
    ENTITY(task, 7, 0, 0, "customer"),
    ENTITY(product, 8, FS_ENTITY_READONLY, -1, NULL),
    ENTITY(purchase, 9, FS_ENTITY_READONLY, 0, "customer"),
    ENTITY(ticket, 10, 0, 0, "customer"),
};

static const fs_entity *const entity_list[] = {
    &entities[0], &entities[1], &entities[2], &entities[3], &entities[4],
    &entities[5], &entities[6], &entities[7], &entities[8], &entities[9],
};
_Static_assert(N(entity_list) == N(entities), "entity_list must list every entity");

const fs_entity *const *fs_schema_entities(size_t *count)
{
    if (count)
        *count = N(entity_list);
    return entity_list;
}

const fs_entity *fs_schema_entity(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < N(entities); i++)
        if (strcmp(entities[i].name, name) == 0)
            return &entities[i];
    return NULL;
}

const fs_entity *fs_schema_entity_by_tag(unsigned tag)
{
    for (size_t i = 0; i < N(entities); i++)
        if (entities[i].tag == tag)
            return &entities[i];
    return NULL;
}

int fs_entity_field_index(const fs_entity *e, const char *name)
{
    if (!e || !name)
        return -1;
    for (size_t i = 0; i < e->nfields; i++)
        if (strcmp(e->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

int fs_entity_field_index_by_tag(const fs_entity *e, unsigned tag)
{
    if (!e)
        return -1;
    for (size_t i = 0; i < e->nfields; i++)
        if (e->fields[i].tag == tag)
            return (int)i;
    return -1;
}

