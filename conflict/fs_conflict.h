/*
 * fs_conflict.h - the fieldsync domain model and merge engine (public API).
 *
 * Pure C11: no I/O, no SQLite, no HTTP. The server and every field client
 * link this library and decide every merge with the same code, so a replica
 * and the central store can only disagree if they were fed different changes.
 *
 * Contents: status codes and the caller-supplied error struct; 128-bit
 * time-ordered ids (UUIDv7); the hybrid logical clock; the schema declared as
 * data (entities, fields, types, per-field merge policy); values, rows and
 * changes; the merge function and its conflict records; quote totals.
 *
 * Ownership: every fs_value of kind FS_VAL_TEXT owns its bytes (heap). Rows,
 * changes and conflict lists own their values and are released with their
 * *_free() function, which accepts a zeroed or already-freed object.
 * Schema pointers (const fs_entity *, const fs_field *) are static and
 * borrowed forever.
 */
#ifndef FS_CONFLICT_H
#define FS_CONFLICT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Status and errors                                                         */
/* ------------------------------------------------------------------------ */

/* Result codes of this library. Appended, never renumbered. */
typedef enum fs_status {
    FS_OK = 0,
    FS_EINVAL,          /* a required argument is NULL or inconsistent */
    FS_ENOMEM,          /* allocation failed */
    FS_EUNKNOWN_ENTITY, /* no entity of that name or tag */
    FS_EUNKNOWN_FIELD,  /* no field of that name or tag in the entity */
    FS_ETYPE,           /* value kind does not match the field's type */
    FS_ETOOLONG,        /* text longer than the field's limit */
    FS_EBADID,          /* malformed 128-bit id */
    FS_ERANGE,          /* number out of range, unknown enum value or currency */
    FS_EOVERFLOW,       /* arithmetic or clock overflow */
    FS_ERANDOM,         /* the OS random source failed */
    FS_ETRANSITION,     /* an e-sign status change the lattice forbids */
    FS_EDUPLICATE       /* the same field appears twice in one change */
} fs_status;

/* Static, never NULL. */
const char *fs_strerror(fs_status st);

/*
 * Caller-supplied error detail (jansson style): a failure allocates nothing.
 * Every function taking `fs_error *err` accepts NULL. `code` is the status of
 * whichever library filled it in (this one, or another fieldsync component).
 */
#define FS_ERROR_TEXT 256
typedef struct fs_error {
    int code;
    char text[FS_ERROR_TEXT];
} fs_error;

/* Fills err (if non-NULL) with code and a printf-formatted message; returns
 * code, so callers can write `return fs_error_set(err, FS_EINVAL, "...")`. */
int fs_error_set(fs_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with a va_list: each module's own `*_fail(err, status, fmt, ...)`
 * helper is a thin wrapper around it. */
int fs_error_vset(fs_error *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/*
 * UTF-8 (fs_utf8.c): the one definition every component uses. Valid means
 * strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
 * Text the system builds from client bytes (messages, result details,
 * conflict records, log lines) goes through fs_utf8_clean, so it is always
 * valid and never cut inside a character.
 */
/* Length (1..4) of the valid sequence at the start of s[0..n), or 0 when
 * s does not start with one (or n is 0). NUL counts as a valid 1-byte
 * sequence here; callers that store C strings refuse it separately. */
size_t fs_utf8_seq(const void *s, size_t n);
/* True when s[0..n) is valid UTF-8 throughout (NUL allowed, see above). */
bool fs_utf8_valid(const void *s, size_t n);
/* The longest prefix of s[0..n) of at most max bytes that ends at a
 * character boundary: where a message quotes "the first max bytes" of a
 * value, it quotes this many. */
size_t fs_utf8_cut(const void *s, size_t n, size_t max);
/* Copies src[0..n) into dst (cap bytes, cap > 0) as a NUL-terminated valid
 * UTF-8 string: each byte that does not start a valid sequence, and each
 * NUL, becomes U+FFFD; when the text does not fit it is cut before the first
 * character that would not fit whole. src may be NULL when n is 0; dst and
 * src must not overlap. Returns the length written (without the NUL). */
size_t fs_utf8_clean(char *dst, size_t cap, const void *src, size_t n);
/* snprintf into dst (cap > 0 bytes), then fs_utf8_clean: the way to build a
 * message that quotes client bytes (%s of a header, %.*s of a value). */
size_t fs_utf8_vformat(char *dst, size_t cap, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
size_t fs_utf8_format(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------------ */
/* Ids: 128-bit, time-ordered (RFC 9562 UUIDv7)                              */
/* ------------------------------------------------------------------------ */

typedef struct fs_id {
    uint8_t b[16];
} fs_id;

#define FS_ID_STRLEN 36 /* "0190e7c2-1a2b-7c3d-8e4f-0123456789ab" */

/* New UUIDv7 for time now_ms (Unix milliseconds), random bits from
 * getrandom(2). FS_ERANDOM if the OS cannot supply them. */
fs_status fs_id_new(uint64_t now_ms, fs_id *out, fs_error *err);
/* Deterministic UUIDv7 from given random bytes (tests, simulations). */
void fs_id_from_parts(uint64_t ms, const uint8_t rnd[10], fs_id *out);
/* Writes FS_ID_STRLEN lowercase chars plus NUL into out. */
void fs_id_format(const fs_id *id, char out[FS_ID_STRLEN + 1]);
/* Parses the canonical 8-4-4-4-12 hex form (either case) of exactly len
 * bytes; anything else is FS_EBADID. Any UUID version is accepted. */
fs_status fs_id_parse(const char *s, size_t len, fs_id *out, fs_error *err);
/* A short id as a person types it: the id's TAIL (time-ordered ids share
 * their leading digits, so a prefix would not tell them apart), min..32
 * hex digits in either case. Writes them lowercased into out (33 bytes)
 * and returns true, or false (out unspecified) for anything else. */
bool fs_id_tail(const char *s, size_t min, char out[33]);
int fs_id_cmp(const fs_id *a, const fs_id *b); /* memcmp order */
bool fs_id_is_nil(const fs_id *id);
uint64_t fs_id_time_ms(const fs_id *id); /* the v7 timestamp */

/* ------------------------------------------------------------------------ */
/* Hybrid logical clock                                                      */
/* ------------------------------------------------------------------------ */

/*
 * An HLC timestamp packs 48 bits of Unix milliseconds above a 16-bit counter,
 * so plain integer comparison orders timestamps. Ties between equal
 * timestamps are broken by the writer's device id (fs_stamp_cmp). 0 means
 * "never written".
 */
typedef uint64_t fs_hlc;

#define FS_HLC_MS_MAX ((UINT64_C(1) << 48) - 1)
#define FS_HLC_COUNT_MAX UINT16_MAX
static inline fs_hlc fs_hlc_make(uint64_t ms, uint16_t count)
{
    return (ms << 16) | count;
}
static inline uint64_t fs_hlc_ms(fs_hlc h) { return h >> 16; }
static inline uint16_t fs_hlc_count(fs_hlc h) { return (uint16_t)(h & 0xFFFF); }

/*
 * Local event: returns in *out a timestamp greater than *state and than any
 * timestamp previously seen, and stores it in *state. A wall clock that went
 * backwards keeps the last physical part and bumps the counter; a counter at
 * its maximum carries into the physical part (the clock runs at most one
 * millisecond ahead per 65,536 events in one millisecond). FS_EOVERFLOW only
 * when the 48-bit millisecond range is exhausted.
 */
fs_status fs_hlc_tick(fs_hlc *state, uint64_t wall_ms, fs_hlc *out, fs_error *err);
/* Receive: folds a remote timestamp into *state (max of wall, state, remote,
 * then a tick), so later local stamps order after everything seen. */
fs_status fs_hlc_recv(fs_hlc *state, uint64_t wall_ms, fs_hlc remote,
                      fs_hlc *out, fs_error *err);
/* Total order over (hlc, device): <0, 0, >0. */
int fs_stamp_cmp(fs_hlc a, const fs_id *dev_a, fs_hlc b, const fs_id *dev_b);
/* "1730000000123.0007" into out (at least 24 bytes). */
void fs_hlc_format(fs_hlc h, char *out, size_t cap);

/* ------------------------------------------------------------------------ */
/* Schema, declared as data (fs_schema.c)                                    */
/* ------------------------------------------------------------------------ */

typedef enum fs_type {
    FS_TYPE_TEXT,     /* UTF-8 text up to max_len bytes */
    FS_TYPE_INT,      /* int64 */
    FS_TYPE_REAL,     /* double (coordinates, accuracy in metres) */
    FS_TYPE_BOOL,     /* int64 0 or 1 */
    FS_TYPE_TIME,     /* int64 Unix milliseconds */
    FS_TYPE_ID,       /* fs_id reference to another row */
    FS_TYPE_ENUM,     /* text, one of the field's enum_values */
    FS_TYPE_MONEY,    /* int64 minor units (cents) */
    FS_TYPE_CURRENCY  /* text, an ISO 4217 alphabetic code */
} fs_type;

typedef enum fs_policy {
    FS_POLICY_LWW,    /* last writer wins by (hlc, device) */
    FS_POLICY_ONCE,   /* write-once: first writer wins; later different writes rejected */
    FS_POLICY_ESIGN,  /* e-sign join-semilattice, never regresses */
    FS_POLICY_SERVER, /* server-owned: writes from rep devices rejected */
    FS_POLICY_LIFECYCLE /* a record's lifecycle status (fs_quote.c): a
                           join-semilattice like e-sign, with terminal states */
} fs_policy;

/* fs_field.flags */
#define FS_FIELD_REQUIRED 0x01u /* a new row must set it */
#define FS_FIELD_SEARCH   0x02u /* indexed for offline full-text search */
#define FS_FIELD_PARENT   0x04u /* the reference that places the row in scope */
#define FS_FIELD_RANGE    0x08u /* numeric value must lie in [lo, hi] */
#define FS_FIELD_WINDOW   0x10u /* FS_TYPE_TIME: an event time inside the time
                                   window (fs_time_window_check) */
#define FS_FIELD_LOCKED   0x40u /* frozen once the row's lifecycle leaves its
                                   editable state (fs_row_locked) */

typedef struct fs_field {
    const char *name;
    uint16_t tag;           /* stable number, never reused (wire + storage) */
    fs_type type;
    fs_policy policy;
    uint32_t max_len;       /* text types: max bytes */
    const char *const *enum_values; /* FS_TYPE_ENUM: NULL-terminated list */
    unsigned flags;
    double lo, hi;          /* with FS_FIELD_RANGE */
} fs_field;

/* fs_entity.flags */
#define FS_ENTITY_READONLY 0x01u /* reference data: devices never write it */
/* The row's tombstone is server-owned: a device's delete or restore is
 * refused (rule SERVER_OWNED on the tombstone, reason server_owned); the
 * server and the back office delete and restore. */
#define FS_ENTITY_SERVER_DELETE 0x02u

typedef struct fs_entity {
    const char *name;
    uint16_t tag;           /* stable number, never reused */
    const fs_field *fields; /* in declaration order; index = field slot */
    size_t nfields;
    unsigned flags;
    int parent;             /* slot of the FS_FIELD_PARENT field, or -1 */
    const char *parent_entity; /* entity that parent refers to, or NULL */
} fs_entity;

/* Every entity, in declaration order. Static, borrowed. */
const fs_entity *const *fs_schema_entities(size_t *count);
const fs_entity *fs_schema_entity(const char *name);
const fs_entity *fs_schema_entity_by_tag(unsigned tag);
/* Slot of a field in its entity, or -1. */
int fs_entity_field_index(const fs_entity *e, const char *name);
int fs_entity_field_index_by_tag(const fs_entity *e, unsigned tag);

/* E-sign lattice (ranked; see fs_merge.c for the order). */
typedef enum fs_esign {
    FS_ESIGN_DRAFT, FS_ESIGN_SENT, FS_ESIGN_DELIVERED, FS_ESIGN_SIGNED,
    FS_ESIGN_VOIDED, FS_ESIGN_DECLINED, FS_ESIGN_COMPLETED,
    FS_ESIGN_INVALID = -1
} fs_esign;
fs_esign fs_esign_parse(const char *s, size_t len);
const char *fs_esign_name(fs_esign s);
bool fs_esign_is_terminal(fs_esign s);
/* The join: the state both replicas end in, whatever the order. */
fs_esign fs_esign_join(fs_esign a, fs_esign b);
/* A rep's local transition: FS_OK, or FS_ETRANSITION with a readable reason
 * (e.g. "contract is voided (terminal); it cannot become sent"). */
fs_status fs_esign_check_transition(fs_esign from, fs_esign to, fs_error *err);

/*
 * The quote lifecycle (fs_quote.c), the one place that knows its states:
 *
 *   draft (editable) -> sent -> accepted | rejected | expired (final)
 *
 * Once a quote leaves draft its FS_FIELD_LOCKED fields (currency,
 * valid_until, discount) and its lines are frozen for devices; a sent quote
 * is changed by revising it (a new draft whose `supersedes` names it).
 * Merging, the status is a join-semilattice ranked draft < sent < expired <
 * rejected < accepted: it never goes back, and two different final states
 * end in the higher one plus an open conflict record (as e-sign does).
 */
typedef enum fs_quote_state {
    FS_QUOTE_DRAFT, FS_QUOTE_SENT, FS_QUOTE_ACCEPTED, FS_QUOTE_REJECTED,
    FS_QUOTE_EXPIRED,
    FS_QUOTE_INVALID = -1
} fs_quote_state;
/* The status names in enum order, NULL-terminated: the schema's enum. */
extern const char *const fs_quote_status_values[];
fs_quote_state fs_quote_state_parse(const char *s, size_t len);
const char *fs_quote_state_name(fs_quote_state s); /* "invalid" if unknown */
bool fs_quote_state_is_final(fs_quote_state s);
/* Join order of concurrent status writes: draft < sent < expired < rejected
 * < accepted (-1 for an invalid state). A state contains every lower one. */
int fs_quote_state_rank(fs_quote_state s);
/* May a quote in state s (and its lines) still be edited? Only a draft. */
bool fs_quote_state_editable(fs_quote_state s);
/* May a contract be made from a quote in state s? Sent or accepted. */
bool fs_quote_state_contractable(fs_quote_state s);
/* Is from -> to allowed, and for whom? Devices: draft -> sent, sent ->
 * accepted | rejected. The server / back office also: sent -> expired.
 * FS_OK, or FS_ETRANSITION with a readable reason. */
fs_status fs_quote_check_transition(fs_quote_state from, fs_quote_state to,
                                    bool by_server, fs_error *err);

/*
 * The service ticket's status rule (fs_ticket.c, CRM.md section 4), the one
 * place that knows its states and who moves them:
 *
 *   (new) -> open -> in_progress -> resolved -> closed, reopen allowed
 *
 * Devices open, close (from open, in_progress or resolved) and reopen
 * (resolved or closed -> open); in_progress and resolved are the back
 * office's. The field merges last-writer-wins; the rule judges each write
 * against the stored status, on the client before queuing and on the server
 * before merging.
 */
typedef enum fs_ticket_state {
    FS_TICKET_NONE = -2, /* the ticket does not exist yet */
    FS_TICKET_INVALID = -1,
    FS_TICKET_OPEN = 0, FS_TICKET_IN_PROGRESS, FS_TICKET_RESOLVED, FS_TICKET_CLOSED
} fs_ticket_state;
/* The status names in enum order, NULL-terminated: the schema's enum. */
extern const char *const fs_ticket_status_values[];
fs_ticket_state fs_ticket_state_parse(const char *s, size_t len);
const char *fs_ticket_state_name(fs_ticket_state s); /* "new" for NONE */
/* Is from -> to allowed for a device (by_server false) or the server and
 * back office? The same state is always allowed (nothing moves). FS_OK, or
 * FS_ETRANSITION with a readable reason ("a ticket moves from open to
 * resolved only at the back office; a device cannot"). */
fs_status fs_ticket_check_transition(fs_ticket_state from, fs_ticket_state to,
                                     bool by_server, fs_error *err);

/* ------------------------------------------------------------------------ */
/* Money (fs_money.c): ISO 4217 currencies, minor units <-> text             */
/* ------------------------------------------------------------------------ */

/* ISO 4217: true for a known alphabetic code (exactly three upper letters). */
bool fs_currency_valid(const char *s, size_t len);
/* The currency's minor-unit exponent (JPY 0, EUR 2, BHD 3); -1 when code
 * (NUL-terminated) is not a known ISO 4217 code. */
int fs_currency_exponent(const char *code);
/* A code typed in any case ("eur") as stored ("EUR") in out; false (out
 * unspecified) when it is not a known code. */
bool fs_currency_normalise(const char *in, char out[4]);

typedef enum fs_money_style {
    FS_MONEY_CODE,   /* "EUR 1,256.29" */
    FS_MONEY_SYMBOL  /* "\u20ac1,256.29" where a symbol is unambiguous, else as CODE */
} fs_money_style;
/* Writes `minor` minor units of currency as people read them: the
 * currency's decimals, ',' between thousands, '.' before the decimals, a
 * leading '-' for negative amounts; an unknown currency shows the integer.
 * snprintf semantics: returns the length the whole text needs. */
size_t fs_money_format(int64_t minor, const char *currency,
                       fs_money_style style, char *out, size_t cap);
/* Parses an amount typed in the currency's units ("39", "39.5", "39.00";
 * '.' is the only decimal separator, whatever the locale) into minor
 * units. FS_ERANGE (too many decimals, not a number, unknown currency) or
 * FS_EOVERFLOW, with a message naming the text. */
fs_status fs_money_parse(const char *text, const char *currency, int64_t *minor,
                         fs_error *err);
/* Percent <-> basis points: "2.5%" or "2.5" -> 250, at most two decimals,
 * 0 to 100; 250 -> "2.5%", 1000 -> "10%", 1 -> "0.01%". */
fs_status fs_percent_parse(const char *text, int64_t *bp, fs_error *err);
size_t fs_percent_format(int64_t bp, char *out, size_t cap);

/* Durations (fs_duration.c): "30m", "12h", "1d", "2w", "90s", "1h30m", or
 * a bare number of seconds, into *seconds. FS_ERANGE (no number, unknown
 * unit) or FS_EOVERFLOW, with a message naming the text. 0 is a valid
 * duration; the caller decides what range it accepts. */
fs_status fs_duration_parse(const char *text, uint64_t *seconds, fs_error *err);

/* ------------------------------------------------------------------------ */
/* Values                                                                    */
/* ------------------------------------------------------------------------ */

typedef enum fs_val_kind {
    FS_VAL_NULL, FS_VAL_INT, FS_VAL_REAL, FS_VAL_TEXT, FS_VAL_ID
} fs_val_kind;

typedef struct fs_value {
    fs_val_kind kind;
    union {
        int64_t i;
        double r;
        struct { char *p; uint32_t n; } text; /* owned, NUL-terminated */
        fs_id id;
    } u;
} fs_value;

/* The value kind a field type is stored as. */
fs_val_kind fs_type_kind(fs_type t);
/* Constructors. fs_value_text copies n bytes (FS_ENOMEM on failure). */
fs_value fs_value_int(int64_t i);
fs_value fs_value_real(double r);
fs_value fs_value_idv(const fs_id *id);
fs_status fs_value_text(fs_value *out, const char *s, size_t n, fs_error *err);
fs_status fs_value_copy(fs_value *dst, const fs_value *src, fs_error *err);
void fs_value_clear(fs_value *v); /* frees text; leaves FS_VAL_NULL */
/* Total order: kind first, then value (text bytewise, reals by IEEE total
 * order). Used only as the last tie-break. */
int fs_value_cmp(const fs_value *a, const fs_value *b);
bool fs_value_eq(const fs_value *a, const fs_value *b);
/* The shortest of %.15g, %.16g and %.17g that reads back to the same bits
 * ("53.48", not %.17g's "53.480000000000004"), with '.' as the decimal
 * point whatever the locale; "0" for either zero. Non-finite d gives "NaN",
 * "Infinity" or "-Infinity", which are not JSON numbers: JSON writers quote
 * or replace them. Writes at most FS_REAL_STRLEN bytes plus a NUL into buf;
 * returns the length. */
#define FS_REAL_STRLEN 32
size_t fs_real_format(double d, char buf[FS_REAL_STRLEN + 1]);
/* Checks v against the field: kind, text length, enum membership, currency,
 * range, valid UTF-8 without NUL for text. NULL is allowed for every field
 * that is not FS_FIELD_REQUIRED. */
fs_status fs_field_check(const fs_field *f, const fs_value *v, fs_error *err);


/* ------------------------------------------------------------------------ */
/* Rows and changes                                                          */
/* ------------------------------------------------------------------------ */

/* One field of a stored row: the current value and who wrote it when. */
typedef struct fs_cell {
    fs_value v;
    fs_hlc hlc;   /* 0 = never written */
    fs_id device;
} fs_cell;

/* The merged state of one row. */
typedef struct fs_row {
    const fs_entity *entity;
    fs_id id;
    fs_cell *cells;   /* entity->nfields, owned */
    bool deleted;     /* the tombstone register: value ... */
    fs_hlc del_hlc;   /* ... its timestamp (0 = never deleted or restored) */
    fs_id del_device; /* ... and writer */
} fs_row;

fs_status fs_row_init(fs_row *row, const fs_entity *e, const fs_id *id, fs_error *err);
void fs_row_free(fs_row *row);
fs_status fs_row_copy(fs_row *dst, const fs_row *src, fs_error *err);
/* True once any field or the tombstone has been written. */
bool fs_row_exists(const fs_row *row);
/* Field-for-field equality of values, stamps and tombstone. */
bool fs_row_eq(const fs_row *a, const fs_row *b);

/* One field written by a change. */
typedef struct fs_field_change {
    uint16_t slot;    /* index into entity->fields */
    fs_value v;       /* owned */
    fs_hlc hlc;
    /* Optional: the value and stamp the writer saw when it edited, so a
     * conflict record can show base / theirs / yours and so a plain
     * sequential edit is not mistaken for a concurrent one. */
    bool has_base;
    fs_value base;    /* owned */
    fs_hlc base_hlc;
} fs_field_change;

/* A change to one row by one writer: some fields and/or the tombstone. */
typedef struct fs_change {
    const fs_entity *entity;
    fs_id row;
    fs_id device;            /* the writer */
    fs_field_change *fields; /* owned */
    size_t nfields, cap;
    bool has_tomb;           /* the change writes the tombstone register */
    bool deleted;            /* true = delete, false = restore */
    fs_hlc tomb_hlc;
} fs_change;

fs_status fs_change_init(fs_change *c, const fs_entity *e, const fs_id *row,
                         const fs_id *device, fs_error *err);
void fs_change_free(fs_change *c);
/* Adds a field write; v is copied and checked with fs_field_check.
 * FS_EDUPLICATE if the slot is already in the change. */
fs_status fs_change_set(fs_change *c, int slot, const fs_value *v, fs_hlc hlc,
                        fs_error *err);
fs_status fs_change_set_base(fs_change *c, int slot, const fs_value *base,
                             fs_hlc base_hlc, fs_error *err);
fs_status fs_change_set_named(fs_change *c, const char *field, const fs_value *v,
                              fs_hlc hlc, fs_error *err);
void fs_change_tombstone(fs_change *c, bool deleted, fs_hlc hlc);
/* Whole-change validation (entity, slots, values, no duplicates, ids). */
fs_status fs_change_check(const fs_change *c, fs_error *err);

/* ------------------------------------------------------------------------ */
/* Row rules (fs_rules.c): what must hold across the fields of one row       */
/* ------------------------------------------------------------------------ */

/* The time window for event times (FS_FIELD_WINDOW: planned, check-in and
 * check-out): not before 2000-01-01T00:00:00Z, not more than two years
 * (731 days) after "now". The library has no clock: now_ms is passed in,
 * and 0 skips the upper bound. */
#define FS_TIME_MIN_MS INT64_C(946684800000)
#define FS_TIME_MAX_AHEAD_MS (INT64_C(731) * 86400000)

/* FS_OK, or FS_ERANGE naming entity, field and date. Fields without
 * FS_FIELD_WINDOW always pass. */
fs_status fs_time_window_check(const fs_entity *e, const fs_field *f, int64_t ms,
                               uint64_t now_ms, fs_error *err);

/* Called per violation: `field` is the slot blamed (the one to fix), code
 * FS_ERANGE (or fs_field_check's code), reason a readable sentence naming
 * entity and field. Borrowed for the call. Return false to stop. */
typedef bool (*fs_violation_fn)(const fs_row *row, int field, fs_status code,
                                const char *reason, void *payload);

/*
 * Runs the row rules on `row`, the MERGED state a write would leave (or a
 * stored row): FS_FIELD_WINDOW times in the window; visit checkout_at not
 * before checkin_at; lat/lon pairs (customer; visit check-in and check-out)
 * both set or both unset; on a live row that `created` (the write made it)
 * every FS_FIELD_REQUIRED field set. Deleted rows pass the row rules.
 *
 * With change c (borrowed), only rules touching a field c writes are judged
 * (plus the required fields when created), so an unrelated edit is not
 * blamed for an old value. With c == NULL the whole row is audited: every
 * rule, every required field, and every stored value through
 * fs_field_check (`sync-server check`). Returns the number of violations
 * (those reported before fn stopped the walk).
 */
size_t fs_row_violations(const fs_row *row, const fs_change *c, bool created,
                         uint64_t now_ms, fs_violation_fn fn, void *payload);

/* True when every FS_FIELD_REQUIRED field of the row is set: a row that a
 * create made (a customer's name, a child's parent, a quote's currency).
 * A replica uses it to tell a row its queued changes create from the
 * remains of one whose create it no longer holds (refused, or gone with a
 * scope exit), which it must not show. */
bool fs_row_complete(const fs_row *row);
/* The first violation of fs_row_violations as a status and message. */
fs_status fs_row_check(const fs_row *row, const fs_change *c, bool created,
                       uint64_t now_ms, fs_error *err);

/* ------------------------------------------------------------------------ */
/* Merge                                                                     */
/* ------------------------------------------------------------------------ */

typedef enum fs_origin {
    FS_ORIGIN_DEVICE, /* a rep's device: all rules apply */
    FS_ORIGIN_SERVER  /* the server or back office: trusted, may write
                         server-owned fields and frozen rows */
} fs_origin;

/*
 * A deleted row that hides a subtree (docs/ARCHITECTURE.md, "Delete vs
 * update"): its entity and id and its tombstone write.
 */
typedef struct fs_hider {
    const fs_entity *entity;
    fs_id row;
    fs_hlc hlc;   /* the tombstone's stamp ... */
    fs_id device; /* ... and writer */
} fs_hider;

/*
 * THE rule for "had this delete seen this write?", at every depth: the row
 * a delete lands on and every row below it. A write the deleter had seen
 * happened before the delete, so (HLC) its stamp is lower, and it was
 * already part of what the deleter had pulled. Hence the write was NOT seen
 * when its (hlc, device) is higher than the delete's, or - for a write by
 * another device - when the row holding it changed after the deleter's
 * view (`changed_since_view`: the caller knows; the server compares the
 * row's seq with the cursor of the request that carried the delete, and
 * answers false for a back-office delete, which sees the whole store).
 * A write that reaches a row after it was hidden is never seen by the
 * delete (fs_merge records those itself). Returns true when the delete had
 * seen the write (it is superseded; nothing to record).
 */
bool fs_delete_saw(fs_hlc w_hlc, const fs_id *w_dev, fs_hlc d_hlc,
                   const fs_id *d_dev, bool changed_since_view);

typedef struct fs_merge_ctx {
    fs_origin origin;
    /* Clock guard. When now != 0, any stamp of a device change whose
     * physical part is more than max_ahead_ms beyond fs_hlc_ms(now) is
     * clamped to `now` before merging (and recorded, rule CLOCK_BOUND), so a
     * device with a clock in the future competes as if it wrote now. */
    fs_hlc now;
    uint64_t max_ahead_ms;
    /* Set by the caller when the row hangs off a locked row (fs_row_locked
     * of its parent: a line of a quote that is no longer a draft). Device
     * changes are rejected. A locked row's own fields need no flag: the
     * merge reads the lock from the stored row. */
    bool frozen;
    /* Set by the caller when a deleted ancestor hides the row (NULL: none).
     * The change's field writes merge into their cells as usual, hidden, and
     * each one that stands is recorded (delete_wins, open, naming the
     * ancestor), exactly like a write to a deleted row. */
    const fs_hider *hidden_by;
    /* The stored row changed after the writer's view (see fs_delete_saw):
     * a delete in this change then counts other devices' stored writes as
     * not seen. */
    bool row_unseen;
    /* A person's decision on an open record (the back office resolving a
     * terminal clash, FS_ORIGIN_SERVER only): in an e-sign or lifecycle
     * field the chosen state stands even where the lattice ranks the
     * stored one higher (accepted -> rejected), and nothing is recorded:
     * the resolution is the record. A device that later pushes the higher
     * state meets the rules again and opens a new record. */
    bool decision;
} fs_merge_ctx;

typedef enum fs_outcome {
    FS_APPLIED,  /* every write took effect as sent */
    FS_MERGED,   /* accepted and merged, but some (possibly all) writes were
                    decided against it: lost to a newer write, hidden by a
                    delete, clamped, kept lower by the lattice */
    FS_REJECTED  /* refused by a rule (server-owned, reference data, frozen,
                    scope, invalid): nothing took effect */
} fs_outcome;

/* Why a write did not take effect as sent. Appended, never renumbered. */
typedef enum fs_reason {
    FS_REASON_NONE,
    FS_REASON_STALE,        /* lost last-writer-wins to a newer write */
    FS_REASON_SERVER_OWNED, /* field is server-owned */
    FS_REASON_FROZEN,       /* quote no longer a draft: no more device edits
                               (also a status the lifecycle keeps) */
    FS_REASON_DELETED,      /* the row is deleted; the write is hidden */
    FS_REASON_ESIGN,        /* e-sign lattice kept a higher/terminal state */
    FS_REASON_CLOCK,        /* stamp too far in the future, clamped */
    FS_REASON_READONLY,     /* reference data */
    FS_REASON_ONCE,         /* write-once field already set */
    FS_REASON_SCOPE,        /* row outside the writer's scope (server) */
    FS_REASON_INVALID,      /* the change failed validation (server) */
    /* 11..20 are B's (issue 16); the ownership lifecycle's (issue 17)
     * start at 21 (docs/PROTOCOL.md). */
    FS_REASON_CLAIM = 21,   /* a claim on a pool customer did not stand
                               (already claimed, quota, bar, territory) */
    FS_REASON_REDIRECTED    /* (22) the row's customer was merged into
                               another; the write was applied there */
} fs_reason;
const char *fs_reason_name(fs_reason r); /* "stale", "server_owned", ... */

typedef struct fs_merge_result {
    fs_outcome outcome;
    fs_reason reason;   /* the first reason met, FS_REASON_NONE if applied */
    char detail[160];   /* readable, e.g. "field territory is server-owned" */
} fs_merge_result;

/* Which rule decided a conflict. Appended, never renumbered. */
typedef enum fs_rule {
    FS_RULE_LWW, FS_RULE_ONCE, FS_RULE_ESIGN_LATTICE, FS_RULE_ESIGN_TERMINAL,
    FS_RULE_SERVER_OWNED, FS_RULE_FROZEN, FS_RULE_DELETE_WINS,
    FS_RULE_CLOCK_BOUND, FS_RULE_READONLY,
    FS_RULE_SCOPE,   /* server: the row is outside the writer's scope */
    FS_RULE_INVALID, /* server: the change failed validation */
    FS_RULE_LIFECYCLE,         /* a lifecycle status never goes back */
    FS_RULE_LIFECYCLE_TERMINAL, /* two different final states met */
    FS_RULE_CLAIM    /* server: a pool claim judged (fs_pool.h) */
} fs_rule;
#define FS_RULE_LAST FS_RULE_LIFECYCLE_TERMINAL /* for arrays indexed by rule */
const char *fs_rule_name(fs_rule r);

typedef enum fs_conflict_status {
    FS_CONFLICT_AUTO, /* decided by the rule; kept for audit */
    FS_CONFLICT_OPEN  /* needs a human (terminal e-sign or quote clash, frozen
                         edit, delete vs update) */
} fs_conflict_status;

/*
 * A losing or rejected write. "theirs" is what the store held, "yours" the
 * incoming write. `field` is a slot, or -1 for the row's tombstone
 * (FS_CONFLICT_NO_FIELD: see fs_conflict_refused).
 */
typedef struct fs_conflict {
    const fs_entity *entity;
    fs_id row;
    int field;
    bool has_base;
    fs_value base, theirs, yours;  /* owned */
    fs_hlc theirs_hlc, yours_hlc;
    fs_id theirs_device, yours_device;
    fs_rule rule;
    bool yours_won;          /* the incoming write is the one that stands */
    fs_conflict_status status;
    /* delete_wins records of a write hidden by a deleted ANCESTOR (a line of
     * a deleted quote, anything under a deleted customer): the ancestor.
     * NULL when the row's own tombstone decided (or for any other rule). */
    const fs_entity *anc_entity;
    fs_id anc_row;
} fs_conflict;

typedef struct fs_conflict_list {
    fs_conflict *items; /* owned */
    size_t n, cap;
} fs_conflict_list;

/* One readable sentence for a record, derived from its rule, field, winner
 * and values (e.g. "a newer write of phone stands"); written into out,
 * always NUL-terminated. The merge result's detail is the description of the
 * change's first record that went against it. */
void fs_conflict_describe(const fs_conflict *k, char *out, size_t cap);

void fs_conflict_list_free(fs_conflict_list *l);
void fs_conflict_list_clear(fs_conflict_list *l); /* n = 0, keeps capacity */

/* fs_conflict.field of a record that names no write: a refused change of
 * which no field write or tombstone could be read. */
#define FS_CONFLICT_NO_FIELD (-2)
/* Appends the audit records of a change refused before any merge (scope,
 * validation, undecodable): one FS_CONFLICT_AUTO record per field write and
 * one for the tombstone write (field -1, yours 1 = delete, 0 = restore),
 * each with the refused value as `yours`, its stamp and the writer; theirs
 * is null (nothing was stored). A change with no write gets one record with
 * field FS_CONFLICT_NO_FIELD. c->entity may be NULL (an entity unknown to
 * this side); values are copied. FS_ENOMEM on allocation failure. */
fs_status fs_conflict_refused(fs_conflict_list *l, const fs_change *c, fs_rule rule,
                              fs_error *err);

/*
 * Folds change `c` into `row` (in place: in = stored state, out = new state)
 * under ctx, fills *res, and appends a record to `conflicts` for every write
 * that lost or was rejected. `row` must be initialised for c->entity and
 * c->row (a never-written row is a create). The change is validated first:
 * on any error nothing is modified and nothing is appended.
 *
 * The stored state is a join of registers, so for device changes that meet
 * no frozen/server-owned/clock rule, merging any set of changes in any order,
 * with duplicates, yields the same row.
 */
fs_status fs_merge(const fs_merge_ctx *ctx, fs_row *row, const fs_change *c,
                   fs_merge_result *res, fs_conflict_list *conflicts,
                   fs_error *err);

/*
 * A live row that a delete of an ancestor (h) now hides: appends one
 * delete_wins record (status open) per written cell the delete had not seen
 * (fs_delete_saw): entity/row/field = the row's, `yours` = the hidden value
 * with its stamp and writer, theirs_hlc/theirs_device = the tombstone's,
 * anc_* = h. Nothing is appended on error.
 */
fs_status fs_hide_row(const fs_row *row, const fs_hider *h, bool changed_since_view,
                      fs_conflict_list *conflicts, fs_error *err);

/* ------------------------------------------------------------------------ */
/* The quote lifecycle on rows (fs_quote.c)                                  */
/* ------------------------------------------------------------------------ */

/* The stored state of a quote row; an unset status is a draft. */
fs_quote_state fs_quote_row_state(const fs_row *quote);
/* True when a row of an entity with a FS_POLICY_LIFECYCLE field is live and
 * no longer editable: its FS_FIELD_LOCKED fields, its tombstone and its
 * child rows are frozen for devices. False for every other entity. */
bool fs_row_locked(const fs_row *row);
/* Does entity e have a lifecycle (a FS_POLICY_LIFECYCLE field), so that its
 * rows can lock and their children freeze? */
bool fs_entity_has_lifecycle(const fs_entity *e);
/* The server-owned expiry: true for a live sent quote whose valid_until is
 * set and earlier than now_ms. */
bool fs_quote_row_expired(const fs_row *quote, int64_t now_ms);

/* The state of a stored ticket row (borrowed): NONE when it does not exist,
 * open when it has no status yet. */
fs_ticket_state fs_ticket_row_state(const fs_row *row);
/* A write of `to` (borrowed; NULL or a null value = clearing) to the status
 * of `stored` (borrowed; a never-written row for a create). */
fs_status fs_ticket_check_write(const fs_row *stored, const fs_value *to,
                                bool by_server, fs_error *err);
/* One satisfaction score per ticket: FS_ETRANSITION ("the ticket was
 * already rated 4; one score per ticket") when `stored` (borrowed) has a
 * rating. A write of rating, rating_note or rated_at is judged by it. */
fs_status fs_ticket_check_rate(const fs_row *stored, fs_error *err);

/* ------------------------------------------------------------------------ */
/* Quote totals (fs_totals.c): derived, never synced                         */
/* ------------------------------------------------------------------------ */

typedef struct fs_quote_line_amount {
    int64_t qty;          /* >= 0 */
    int64_t unit_price;   /* minor units, >= 0 */
    int64_t discount_bp;  /* basis points, 0..10000 */
} fs_quote_line_amount;

typedef struct fs_quote_totals {
    int64_t subtotal;       /* sum of line nets */
    int64_t discount;       /* quote-level discount amount */
    int64_t total;          /* subtotal - discount */
    size_t lines;           /* lines counted */
} fs_quote_totals;

/*
 * Line net = qty * unit_price - round(qty * unit_price * discount_bp / 10000);
 * quote discount = round(subtotal * quote_discount_bp / 10000); rounding is
 * half away from zero on the exact integer quotient (all values are >= 0, so
 * half up). FS_ERANGE for negative inputs or bp > 10000, FS_EOVERFLOW past
 * int64.
 */
fs_status fs_quote_totals_compute(const fs_quote_line_amount *lines, size_t n,
                                  int64_t quote_discount_bp,
                                  fs_quote_totals *out, fs_error *err);
/* The same from rows: a quote row and its line rows (tombstoned lines and
 * lines of other quotes are skipped; unset numbers count as 0). */
fs_status fs_quote_totals_rows(const fs_row *quote, const fs_row *lines, size_t n,
                               fs_quote_totals *out, fs_error *err);
/* A contract made from a quote carries the quote's total and currency:
 * FS_OK when the contract row's amount and currency equal t->total and the
 * quote row's currency, FS_ERANGE with both values in the message if not. */
fs_status fs_contract_quote_check(const fs_row *contract, const fs_row *quote,
                                  const fs_quote_totals *t, fs_error *err);

#ifdef __cplusplus
}
#endif
#endif /* FS_CONFLICT_H */
