/*
 * test_conflict_golden.c - the merge rules of docs/ARCHITECTURE.md as a table.
 *
 * Each case is data: the stored row, change A, optionally change B (merged
 * after A), the merge context, the expected result of each merge, the
 * expected row and the expected conflict records. One runner executes every
 * case as its own cmocka test, so a failure names the case. The runner also
 * checks, for every case, what must hold whatever the rule: a failed merge
 * changes nothing and records nothing; every record names the entity, row and
 * writer; re-delivering the changes leaves the row as it is; and merging B
 * before A ends in the same row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conflict/fs_testkit.h"

/* ---- Case description ---------------------------------------------------- */

typedef struct gres {
    fs_status st;
    fs_outcome out;
    fs_reason reason;
} gres;

typedef struct gconf {
    const char *field; /* "-" = tombstone; NULL ends the list */
    fs_rule rule;
    fs_conflict_status status;
    int yours_won;
    const char *theirs; /* value specs, NULL = not checked */
    const char *yours;
} gconf;

typedef struct gcase {
    const char *name;
    const char *entity;
    fs_origin origin;
    int frozen;
    int decision; /* fs_merge_ctx.decision: a back-office resolution */
    uint64_t now;
    uint64_t max_ahead;
    tk_rowspec base;
    tk_chspec a, b;
    gres ra, rb;
    int same_as_base; /* expected row = base row */
    /* The outcome depends on which change the server merged first (a rule
     * that reads the stored state, e.g. a send locking the quote): the
     * "B before A ends in the same row" check does not apply. Replicas
     * still converge, since they take the server's row. */
    int server_order;
    tk_rowspec want;
    gconf conf[TK_MAXCONF];
} gcase;

#define H(ms, c) TK_HLC(ms, c)
#define CELL(f, v, h, d) {f, v, h, d, NULL, 0}
#define W(f, v, h) {f, v, h, 0, NULL, 0}
#define WB(f, v, h, b, bh) {f, v, h, 0, b, bh}
#define TOMB(del, h, d) {1, del, h, d}
#define RES(st, o, r) {st, o, r}
#define APPLIED RES(FS_OK, FS_APPLIED, FS_REASON_NONE)
#define MERGED(r) RES(FS_OK, FS_MERGED, FS_REASON_##r)
#define REJECTED(r) RES(FS_OK, FS_REJECTED, FS_REASON_##r)
#define FAILS(st) RES(st, FS_APPLIED, FS_REASON_NONE)
#define CF(f, rule, st, won) {f, FS_RULE_##rule, FS_CONFLICT_##st, won, NULL, NULL}
#define CFV(f, rule, st, won, th, yo) {f, FS_RULE_##rule, FS_CONFLICT_##st, won, th, yo}

static const gcase cases[] = {
    /* ---- Last writer wins ------------------------------------------------ */
    {.name = "lww_create_new_row", .entity = "customer",
     .a = {.dev = DEV_A, .f = {W("name", "T:Acme", H(100, 0)), W("lat", "R:48.1", H(100, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A),
                    CELL("lat", "R:48.1", H(100, 0), DEV_A)}}},
    {.name = "lww_newer_wins", .entity = "customer",
     .base = {.f = {CELL("name", "T:Old", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("name", "T:New", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:New", H(200, 0), DEV_B)}}},
    {.name = "lww_older_loses_stale", .entity = "customer",
     .base = {.f = {CELL("name", "T:New", H(200, 0), DEV_B)}},
     .a = {.dev = DEV_A, .f = {W("name", "T:Old", H(100, 0))}},
     .ra = MERGED(STALE), .same_as_base = 1,
     .conf = {CFV("name", LWW, AUTO, 0, "T:New", "T:Old")}},
    {.name = "lww_counter_orders_within_ms", .entity = "customer",
     .base = {.f = {CELL("name", "T:First", H(100, 1), DEV_C)}},
     .a = {.dev = DEV_A, .f = {W("name", "T:Second", H(100, 2))}},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:Second", H(100, 2), DEV_A)}}},
    {.name = "lww_equal_hlc_higher_device_wins", .entity = "customer",
     .base = {.f = {CELL("name", "T:FromA", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("name", "T:FromB", H(100, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:FromB", H(100, 0), DEV_B)}}},
    {.name = "lww_equal_hlc_lower_device_loses", .entity = "customer",
     .base = {.f = {CELL("name", "T:FromB", H(100, 0), DEV_B)}},
     .a = {.dev = DEV_A, .f = {W("name", "T:FromA", H(100, 0))}},
     .ra = MERGED(STALE), .same_as_base = 1,
     .conf = {CFV("name", LWW, AUTO, 0, "T:FromB", "T:FromA")}},
    {.name = "lww_same_device_same_hlc_higher_value_wins", .entity = "customer",
     .base = {.f = {CELL("name", "T:Apple", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("name", "T:Banana", H(100, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:Banana", H(100, 0), DEV_A)}}},
    {.name = "lww_same_device_same_hlc_lower_value_loses", .entity = "customer",
     .base = {.f = {CELL("name", "T:Banana", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("name", "T:Apple", H(100, 0))}},
     .ra = MERGED(STALE), .same_as_base = 1,
     .conf = {CFV("name", LWW, AUTO, 0, "T:Banana", "T:Apple")}},
    {.name = "lww_older_same_value_no_record", .entity = "customer",
     .base = {.f = {CELL("phone", "T:555", H(200, 0), DEV_B)}},
     .a = {.dev = DEV_A, .f = {W("phone", "T:555", H(100, 0))}},
     .ra = APPLIED, .same_as_base = 1},
    {.name = "lww_duplicate_delivery_idempotent", .entity = "customer",
     .base = {.f = {CELL("name", "T:Old", H(100, 0), DEV_B)}},
     .a = {.dev = DEV_A, .f = {W("name", "T:New", H(200, 0)), W("segment", "T:retail", H(200, 0))}},
     .b = {.dev = DEV_A, .f = {W("name", "T:New", H(200, 0)), W("segment", "T:retail", H(200, 0))}},
     .ra = APPLIED, .rb = APPLIED,
     .want = {.f = {CELL("name", "T:New", H(200, 0), DEV_A),
                    CELL("segment", "T:retail", H(200, 0), DEV_A)}}},
    {.name = "lww_different_fields_both_kept", .entity = "customer",
     .base = {.f = {CELL("name", "T:Acme", H(50, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("phone", "T:111", H(100, 0))}},
     .b = {.dev = DEV_B, .f = {W("address", "T:Main St 1", H(90, 0))}},
     .ra = APPLIED, .rb = APPLIED,
     .want = {.f = {CELL("name", "T:Acme", H(50, 0), DEV_A),
                    CELL("phone", "T:111", H(100, 0), DEV_A),
                    CELL("address", "T:Main St 1", H(90, 0), DEV_B)}}},
    {.name = "lww_two_devices_same_field_late_older_loses", .entity = "customer",
     .a = {.dev = DEV_B, .f = {W("segment", "T:gold", H(300, 0))}},
     .b = {.dev = DEV_A, .f = {W("segment", "T:silver", H(250, 4))}},
     .ra = APPLIED, .rb = MERGED(STALE),
     .want = {.f = {CELL("segment", "T:gold", H(300, 0), DEV_B)}},
     .conf = {CFV("segment", LWW, AUTO, 0, "T:gold", "T:silver")}},
    {.name = "lww_base_sequential_edit_no_record", .entity = "customer",
     .base = {.f = {CELL("name", "T:Old", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {WB("name", "T:New", H(200, 0), "T:Old", H(100, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:New", H(200, 0), DEV_B)}}},
    {.name = "lww_base_concurrent_overwrite_recorded", .entity = "customer",
     .base = {.f = {CELL("name", "T:Theirs", H(150, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {WB("name", "T:Mine", H(200, 0), "T:Orig", H(100, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:Mine", H(200, 0), DEV_B)}},
     .conf = {CFV("name", LWW, AUTO, 1, "T:Theirs", "T:Mine")}},
    {.name = "lww_base_concurrent_same_value_no_record", .entity = "customer",
     .base = {.f = {CELL("name", "T:Same", H(150, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {WB("name", "T:Same", H(200, 0), "T:Orig", H(100, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:Same", H(200, 0), DEV_B)}}},
    {.name = "lww_base_stale_writer_loses_with_base", .entity = "customer",
     .base = {.f = {CELL("name", "T:Theirs", H(300, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {WB("name", "T:Mine", H(200, 0), "T:Orig", H(100, 0))}},
     .ra = MERGED(STALE), .same_as_base = 1,
     .conf = {CFV("name", LWW, AUTO, 0, "T:Theirs", "T:Mine")}},
    {.name = "lww_null_write_clears_field", .entity = "customer",
     .base = {.f = {CELL("phone", "T:555", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("phone", "N", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("phone", "N", H(200, 0), DEV_B)}}},
    {.name = "lww_partial_stale_in_multi_field_change", .entity = "customer",
     .base = {.f = {CELL("name", "T:Newest", H(300, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("name", "T:Mine", H(200, 0)), W("phone", "T:777", H(200, 0))}},
     .ra = MERGED(STALE),
     .want = {.f = {CELL("name", "T:Newest", H(300, 0), DEV_A),
                    CELL("phone", "T:777", H(200, 0), DEV_B)}},
     .conf = {CFV("name", LWW, AUTO, 0, "T:Newest", "T:Mine")}},
    {.name = "lww_id_reference_field", .entity = "contract",
     .base = {.f = {CELL("quote_id", "U:7", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("quote_id", "U:8", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("quote_id", "U:8", H(200, 0), DEV_B)}}},

    /* ---- Write-once parent references ------------------------------------ */
    {.name = "once_first_write_sets", .entity = "contact",
     .a = {.dev = DEV_A, .f = {W("customer_id", "U:5", H(100, 0)), W("name", "T:Ann", H(100, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("customer_id", "U:5", H(100, 0), DEV_A),
                    CELL("name", "T:Ann", H(100, 0), DEV_A)}}},
    {.name = "once_later_different_value_rejected", .entity = "contact",
     .base = {.f = {CELL("customer_id", "U:5", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("customer_id", "U:6", H(200, 0))}},
     .ra = MERGED(ONCE), .same_as_base = 1,
     .conf = {CFV("customer_id", ONCE, AUTO, 0, "U:5", "U:6")}},
    {.name = "once_earlier_write_arriving_late_stands", .entity = "contact",
     .base = {.f = {CELL("customer_id", "U:6", H(200, 0), DEV_B)}},
     .a = {.dev = DEV_A, .f = {W("customer_id", "U:5", H(100, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("customer_id", "U:5", H(100, 0), DEV_A)}},
     .conf = {CFV("customer_id", ONCE, AUTO, 1, "U:6", "U:5")}},
    {.name = "once_same_value_rewrite_no_record", .entity = "quote_line",
     .base = {.f = {CELL("quote_id", "U:3", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("quote_id", "U:3", H(200, 0)), W("qty", "I:2", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("quote_id", "U:3", H(100, 0), DEV_A),
                    CELL("qty", "I:2", H(200, 0), DEV_B)}}},
    {.name = "once_mixed_with_lww_field", .entity = "contact",
     .base = {.f = {CELL("customer_id", "U:5", H(100, 0), DEV_A),
                    CELL("title", "T:CTO", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("customer_id", "U:9", H(200, 0)), W("title", "T:CEO", H(200, 0))}},
     .ra = MERGED(ONCE),
     .want = {.f = {CELL("customer_id", "U:5", H(100, 0), DEV_A),
                    CELL("title", "T:CEO", H(200, 0), DEV_B)}},
     .conf = {CF("customer_id", ONCE, AUTO, 0)}},

    /* ---- E-sign lattice -------------------------------------------------- */
    {.name = "esign_advances_even_with_older_stamp", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:sent", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("esign_status", "T:signed", H(50, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("esign_status", "T:signed", H(50, 0), DEV_B)}}},
    {.name = "esign_stale_regress_kept_higher", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:signed", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("esign_status", "T:sent", H(200, 0))}},
     .ra = MERGED(ESIGN), .same_as_base = 1,
     .conf = {CFV("esign_status", ESIGN_LATTICE, AUTO, 0, "T:signed", "T:sent")}},
    {.name = "esign_same_state_newer_stamp_taken", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:sent", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("esign_status", "T:sent", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("esign_status", "T:sent", H(200, 0), DEV_B)}}},
    {.name = "esign_same_state_older_stamp_no_record", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:delivered", H(200, 0), DEV_B)}},
     .a = {.dev = DEV_A, .f = {W("esign_status", "T:delivered", H(100, 0))}},
     .ra = APPLIED, .same_as_base = 1},
    {.name = "esign_terminal_completed_beats_voided_incoming", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:voided", H(300, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("esign_status", "T:completed", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("esign_status", "T:completed", H(200, 0), DEV_B)}},
     .conf = {CFV("esign_status", ESIGN_TERMINAL, OPEN, 1, "T:voided", "T:completed")}},
    {.name = "esign_terminal_voided_loses_to_completed", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:completed", H(200, 0), DEV_B)}},
     .a = {.dev = DEV_A, .f = {W("esign_status", "T:voided", H(300, 0))}},
     .ra = MERGED(ESIGN), .same_as_base = 1,
     .conf = {CFV("esign_status", ESIGN_TERMINAL, OPEN, 0, "T:completed", "T:voided")}},
    {.name = "esign_terminal_declined_beats_voided_incoming", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:voided", H(300, 0), DEV_C)}},
     .a = {.dev = DEV_A, .f = {W("esign_status", "T:declined", H(100, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("esign_status", "T:declined", H(100, 0), DEV_A)}},
     .conf = {CFV("esign_status", ESIGN_TERMINAL, OPEN, 1, "T:voided", "T:declined")}},
    {.name = "esign_terminal_voided_loses_to_declined", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:declined", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_C, .f = {W("esign_status", "T:voided", H(300, 0))}},
     .ra = MERGED(ESIGN), .same_as_base = 1,
     .conf = {CFV("esign_status", ESIGN_TERMINAL, OPEN, 0, "T:declined", "T:voided")}},
    {.name = "esign_terminal_completed_beats_declined_incoming", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:declined", H(500, 0), DEV_B)}},
     .a = {.dev = DEV_A, .f = {W("esign_status", "T:completed", H(400, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("esign_status", "T:completed", H(400, 0), DEV_A)}},
     .conf = {CFV("esign_status", ESIGN_TERMINAL, OPEN, 1, "T:declined", "T:completed")}},
    {.name = "esign_terminal_declined_loses_to_completed", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:completed", H(400, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("esign_status", "T:declined", H(500, 0))}},
     .ra = MERGED(ESIGN), .same_as_base = 1,
     .conf = {CFV("esign_status", ESIGN_TERMINAL, OPEN, 0, "T:completed", "T:declined")}},
    {.name = "esign_terminal_pair_from_two_devices", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:signed", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("esign_status", "T:completed", H(200, 0))}},
     .b = {.dev = DEV_B, .f = {W("esign_status", "T:voided", H(210, 0))}},
     .ra = APPLIED, .rb = MERGED(ESIGN),
     .want = {.f = {CELL("esign_status", "T:completed", H(200, 0), DEV_A)}},
     .conf = {CFV("esign_status", ESIGN_TERMINAL, OPEN, 0, "T:completed", "T:voided")}},
    {.name = "esign_terminal_blocks_non_terminal", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:voided", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("esign_status", "T:signed", H(300, 0))}},
     .ra = MERGED(ESIGN), .same_as_base = 1,
     .conf = {CFV("esign_status", ESIGN_LATTICE, AUTO, 0, "T:voided", "T:signed")}},
    {.name = "esign_same_terminal_twice_no_record", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:completed", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("esign_status", "T:completed", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("esign_status", "T:completed", H(200, 0), DEV_B)}}},
    {.name = "esign_with_lww_fields_in_one_change", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:signed", H(100, 0), DEV_A),
                    CELL("envelope_id", "T:env-1", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("esign_status", "T:delivered", H(200, 0)),
                               W("envelope_id", "T:env-2", H(200, 0))}},
     .ra = MERGED(ESIGN),
     .want = {.f = {CELL("esign_status", "T:signed", H(100, 0), DEV_A),
                    CELL("envelope_id", "T:env-2", H(200, 0), DEV_B)}},
     .conf = {CF("esign_status", ESIGN_LATTICE, AUTO, 0)}},

    /* ---- Server-owned fields --------------------------------------------- */
    {.name = "server_owned_alone_rejected", .entity = "customer",
     .base = {.f = {CELL("territory", "T:north", H(100, 0), DEV_S)}},
     .a = {.dev = DEV_A, .f = {W("territory", "T:south", H(200, 0))}},
     .ra = REJECTED(SERVER_OWNED), .same_as_base = 1,
     .conf = {CFV("territory", SERVER_OWNED, AUTO, 0, "T:north", "T:south")}},
    {.name = "server_owned_mixed_with_normal_field", .entity = "customer",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("name", "T:Acme Ltd", H(200, 0)), W("owner_rep", "T:bob", H(200, 0))}},
     .ra = MERGED(SERVER_OWNED),
     .want = {.f = {CELL("name", "T:Acme Ltd", H(200, 0), DEV_B)}},
     .conf = {CFV("owner_rep", SERVER_OWNED, AUTO, 0, "N", "T:bob")}},
    {.name = "server_owned_written_by_server", .entity = "customer", .origin = FS_ORIGIN_SERVER,
     .base = {.f = {CELL("territory", "T:north", H(100, 0), DEV_S)}},
     .a = {.dev = DEV_S, .f = {W("territory", "T:south", H(200, 0)), W("owner_rep", "T:ann", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("territory", "T:south", H(200, 0), DEV_S),
                    CELL("owner_rep", "T:ann", H(200, 0), DEV_S)}}},
    {.name = "server_owned_visit_verification", .entity = "visit",
     .a = {.dev = DEV_A, .f = {W("customer_id", "U:5", H(100, 0)),
                               W("checkin_lat", "R:48.2", H(100, 0)),
                               W("verification", "T:verified", H(100, 0))}},
     .ra = MERGED(SERVER_OWNED),
     .want = {.f = {CELL("customer_id", "U:5", H(100, 0), DEV_A),
                    CELL("checkin_lat", "R:48.2", H(100, 0), DEV_A)}},
     .conf = {CF("verification", SERVER_OWNED, AUTO, 0)}},
    {.name = "server_owned_two_fields_two_records", .entity = "customer",
     .a = {.dev = DEV_C, .f = {W("territory", "T:x", H(100, 0)), W("owner_rep", "T:y", H(100, 0))}},
     .ra = REJECTED(SERVER_OWNED), .same_as_base = 1,
     .conf = {CF("territory", SERVER_OWNED, AUTO, 0), CF("owner_rep", SERVER_OWNED, AUTO, 0)}},

    /* ---- Server-owned tombstones: customers are deleted by the back office */
    {.name = "customer_delete_from_device_rejected", .entity = "customer",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_S)}},
     .a = {.dev = DEV_A, .tomb = TOMB(1, H(200, 0), DEV_A)},
     .ra = REJECTED(SERVER_OWNED), .same_as_base = 1,
     .conf = {CFV("-", SERVER_OWNED, AUTO, 0, "I:0", "I:1")}},
    {.name = "customer_restore_from_device_rejected", .entity = "customer",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_S)}, .tomb = TOMB(1, H(200, 0), DEV_S)},
     .a = {.dev = DEV_B, .tomb = TOMB(0, H(300, 0), DEV_B)},
     .ra = REJECTED(SERVER_OWNED), .same_as_base = 1,
     .conf = {CFV("-", SERVER_OWNED, AUTO, 0, "I:1", "I:0")}},
    {.name = "customer_delete_with_edit_keeps_edit", .entity = "customer",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_S)}},
     .a = {.dev = DEV_A, .f = {W("phone", "T:7", H(200, 0))}, .tomb = TOMB(1, H(200, 0), DEV_A)},
     .ra = MERGED(SERVER_OWNED),
     .want = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_S), CELL("phone", "T:7", H(200, 0), DEV_A)}},
     .conf = {CF("-", SERVER_OWNED, AUTO, 0)}},
    {.name = "customer_delete_from_server_applied", .entity = "customer", .origin = FS_ORIGIN_SERVER,
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_S, .tomb = TOMB(1, H(200, 0), DEV_S)},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}, .tomb = TOMB(1, H(200, 0), DEV_S)}},
    {.name = "contact_delete_from_device_applied", .entity = "contact",
     .base = {.f = {CELL("name", "T:Jo", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .tomb = TOMB(1, H(200, 0), DEV_A)},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:Jo", H(100, 0), DEV_A)}, .tomb = TOMB(1, H(200, 0), DEV_A)}},

    /* ---- Frozen (accepted) quotes ---------------------------------------- */
    {.name = "frozen_quote_edit_rejected", .entity = "quote", .frozen = 1,
     .base = {.f = {CELL("status", "T:accepted", H(100, 0), DEV_S),
                    CELL("discount", "I:500", H(90, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("discount", "I:1500", H(200, 0))}},
     .ra = REJECTED(FROZEN), .same_as_base = 1,
     .conf = {CFV("discount", FROZEN, OPEN, 0, "I:500", "I:1500")}},
    {.name = "frozen_quote_line_added_rejected", .entity = "quote_line", .frozen = 1,
     .a = {.dev = DEV_B, .f = {W("quote_id", "U:3", H(200, 0)), W("sku", "T:SKU-1", H(200, 0)),
                               W("qty", "I:4", H(200, 0))}},
     .ra = REJECTED(FROZEN), .same_as_base = 1,
     .conf = {CF("quote_id", FROZEN, OPEN, 0), CF("sku", FROZEN, OPEN, 0),
              CF("qty", FROZEN, OPEN, 0)}},
    {.name = "frozen_quote_delete_rejected", .entity = "quote", .frozen = 1,
     .base = {.f = {CELL("status", "T:accepted", H(100, 0), DEV_S)}},
     .a = {.dev = DEV_A, .tomb = TOMB(1, H(200, 0), DEV_A)},
     .ra = REJECTED(FROZEN), .same_as_base = 1,
     .conf = {CF("-", FROZEN, OPEN, 0)}},
    {.name = "frozen_even_older_stamp_rejected", .entity = "quote_line", .frozen = 1,
     .base = {.f = {CELL("qty", "I:4", H(300, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("qty", "I:5", H(100, 0))}},
     .ra = REJECTED(FROZEN), .same_as_base = 1,
     .conf = {CFV("qty", FROZEN, OPEN, 0, "I:4", "I:5")}},
    {.name = "frozen_server_may_write", .entity = "quote", .frozen = 1, .origin = FS_ORIGIN_SERVER,
     .base = {.f = {CELL("status", "T:accepted", H(100, 0), DEV_S)}},
     .a = {.dev = DEV_S, .f = {W("discount", "I:100", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("status", "T:accepted", H(100, 0), DEV_S),
                    CELL("discount", "I:100", H(200, 0), DEV_S)}}},

    /* ---- The quote lifecycle (fs_quote.c) -------------------------------- */
    {.name = "quote_send_draft_applied", .entity = "quote",
     .base = {.f = {CELL("status", "T:draft", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("status", "T:sent", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("status", "T:sent", H(200, 0), DEV_A)}}},
    {.name = "quote_draft_edits_applied", .entity = "quote",
     .base = {.f = {CELL("status", "T:draft", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("discount", "I:250", H(200, 0)),
                               W("valid_until", "I:99000", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("status", "T:draft", H(100, 0), DEV_A),
                    CELL("discount", "I:250", H(200, 0), DEV_B),
                    CELL("valid_until", "I:99000", H(200, 0), DEV_B)}}},
    {.name = "quote_last_edit_and_send_in_one_change", .entity = "quote",
     .base = {.f = {CELL("status", "T:draft", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("discount", "I:300", H(200, 0)), W("status", "T:sent", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("status", "T:sent", H(200, 0), DEV_A),
                    CELL("discount", "I:300", H(200, 0), DEV_A)}}},
    {.name = "quote_sent_locked_fields_rejected", .entity = "quote",
     .base = {.f = {CELL("status", "T:sent", H(100, 0), DEV_A),
                    CELL("currency", "T:EUR", H(90, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("currency", "T:GBP", H(200, 0)), W("valid_until", "I:5000", H(200, 0)),
                               W("discount", "I:100", H(200, 0))}},
     .ra = REJECTED(FROZEN), .same_as_base = 1,
     .conf = {CFV("currency", FROZEN, OPEN, 0, "T:EUR", "T:GBP"),
              CFV("valid_until", FROZEN, OPEN, 0, "N", "I:5000"),
              CFV("discount", FROZEN, OPEN, 0, "N", "I:100")}},
    {.name = "quote_sent_delete_rejected", .entity = "quote",
     .base = {.f = {CELL("status", "T:sent", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .tomb = TOMB(1, H(200, 0), DEV_A)},
     .ra = REJECTED(FROZEN), .same_as_base = 1,
     .conf = {CF("-", FROZEN, OPEN, 0)}},
    {.name = "quote_edit_races_send_rejected", .entity = "quote", .server_order = 1,
     .base = {.f = {CELL("status", "T:draft", H(100, 0), DEV_A),
                    CELL("discount", "I:0", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("status", "T:sent", H(200, 0))}},
     .b = {.dev = DEV_A, .f = {WB("discount", "I:500", H(150, 0), "I:0", H(100, 0))}},
     .ra = APPLIED, .rb = REJECTED(FROZEN),
     .want = {.f = {CELL("status", "T:sent", H(200, 0), DEV_B),
                    CELL("discount", "I:0", H(100, 0), DEV_A)}},
     .conf = {CFV("discount", FROZEN, OPEN, 0, "I:0", "I:500")}},
    {.name = "quote_line_races_send_rejected", .entity = "quote_line", .frozen = 1,
     .a = {.dev = DEV_A, .f = {W("quote_id", "U:3", H(150, 0)), W("qty", "I:100", H(150, 0)),
                               W("unit_price", "I:100000", H(150, 0))}},
     .ra = REJECTED(FROZEN), .same_as_base = 1,
     .conf = {CF("quote_id", FROZEN, OPEN, 0), CF("qty", FROZEN, OPEN, 0),
              CF("unit_price", FROZEN, OPEN, 0)}},
    {.name = "quote_status_never_goes_back", .entity = "quote",
     .base = {.f = {CELL("status", "T:sent", H(200, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("status", "T:draft", H(300, 0))}},
     .ra = MERGED(FROZEN), .same_as_base = 1,
     .conf = {CFV("status", LIFECYCLE, AUTO, 0, "T:sent", "T:draft")}},
    {.name = "quote_accept_vs_reject_accept_wins", .entity = "quote",
     .base = {.f = {CELL("status", "T:sent", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("status", "T:accepted", H(200, 0))}},
     .b = {.dev = DEV_B, .f = {W("status", "T:rejected", H(210, 0))}},
     .ra = APPLIED, .rb = MERGED(FROZEN),
     .want = {.f = {CELL("status", "T:accepted", H(200, 0), DEV_A)}},
     .conf = {CFV("status", LIFECYCLE_TERMINAL, OPEN, 0, "T:accepted", "T:rejected")}},
    {.name = "quote_reject_then_offline_accept_wins", .entity = "quote",
     .base = {.f = {CELL("status", "T:sent", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("status", "T:rejected", H(300, 0))}},
     .b = {.dev = DEV_A, .f = {W("status", "T:accepted", H(200, 0))}},
     .ra = APPLIED, .rb = APPLIED,
     .want = {.f = {CELL("status", "T:accepted", H(200, 0), DEV_A)}},
     .conf = {CFV("status", LIFECYCLE_TERMINAL, OPEN, 1, "T:rejected", "T:accepted")}},
    {.name = "quote_expiry_vs_offline_accept", .entity = "quote",
     .base = {.f = {CELL("status", "T:expired", H(300, 0), DEV_S)}},
     .a = {.dev = DEV_A, .f = {W("status", "T:accepted", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("status", "T:accepted", H(200, 0), DEV_A)}},
     .conf = {CFV("status", LIFECYCLE_TERMINAL, OPEN, 1, "T:expired", "T:accepted")}},
    /* Resolving a lifecycle_terminal / esign_terminal record towards the
     * lower state: the person's decision moves the row (and records
     * nothing new); without the flag the lattice keeps the higher state. */
    {.name = "decision_moves_accepted_to_rejected", .entity = "quote", .origin = FS_ORIGIN_SERVER,
     .decision = 1,
     .base = {.f = {CELL("status", "T:accepted", H(200, 0), DEV_A)}},
     .a = {.dev = DEV_S, .f = {W("status", "T:rejected", H(300, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("status", "T:rejected", H(300, 0), DEV_S)}}},
    {.name = "server_write_without_decision_keeps_accepted", .entity = "quote",
     .origin = FS_ORIGIN_SERVER,
     .base = {.f = {CELL("status", "T:accepted", H(200, 0), DEV_A)}},
     .a = {.dev = DEV_S, .f = {W("status", "T:rejected", H(300, 0))}},
     .ra = MERGED(FROZEN), .same_as_base = 1,
     .conf = {CFV("status", LIFECYCLE_TERMINAL, OPEN, 0, "T:accepted", "T:rejected")}},
    {.name = "decision_from_a_device_is_ignored", .entity = "quote", .decision = 1,
     .base = {.f = {CELL("status", "T:accepted", H(200, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("status", "T:rejected", H(300, 0))}},
     .ra = MERGED(FROZEN), .same_as_base = 1,
     .conf = {CFV("status", LIFECYCLE_TERMINAL, OPEN, 0, "T:accepted", "T:rejected")}},
    {.name = "decision_moves_completed_to_voided", .entity = "contract", .origin = FS_ORIGIN_SERVER,
     .decision = 1,
     .base = {.f = {CELL("esign_status", "T:completed", H(200, 0), DEV_A)}},
     .a = {.dev = DEV_S, .f = {W("esign_status", "T:voided", H(300, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("esign_status", "T:voided", H(300, 0), DEV_S)}}},
    {.name = "quote_server_expires_sent", .entity = "quote", .origin = FS_ORIGIN_SERVER,
     .base = {.f = {CELL("status", "T:sent", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_S, .f = {W("status", "T:expired", H(200, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("status", "T:expired", H(200, 0), DEV_S)}}},
    {.name = "quote_revision_is_an_editable_draft", .entity = "quote",
     .a = {.dev = DEV_A, .f = {W("customer_id", "U:5", H(200, 0)), W("currency", "T:EUR", H(200, 0)),
                               W("status", "T:draft", H(200, 0)), W("supersedes", "U:3", H(200, 0))}},
     .b = {.dev = DEV_A, .f = {W("discount", "I:700", H(210, 0))}},
     .ra = APPLIED, .rb = APPLIED,
     .want = {.f = {CELL("customer_id", "U:5", H(200, 0), DEV_A),
                    CELL("currency", "T:EUR", H(200, 0), DEV_A),
                    CELL("status", "T:draft", H(200, 0), DEV_A),
                    CELL("supersedes", "U:3", H(200, 0), DEV_A),
                    CELL("discount", "I:700", H(210, 0), DEV_A)}}},
    {.name = "quote_supersedes_is_write_once", .entity = "quote",
     .base = {.f = {CELL("status", "T:draft", H(100, 0), DEV_A),
                    CELL("supersedes", "U:3", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("supersedes", "U:4", H(200, 0))}},
     .ra = MERGED(ONCE), .same_as_base = 1,
     .conf = {CFV("supersedes", ONCE, AUTO, 0, "U:3", "U:4")}},

    /* ---- Read-only reference data ---------------------------------------- */
    {.name = "readonly_product_from_device_rejected", .entity = "product",
     .base = {.f = {CELL("name", "T:Widget", H(100, 0), DEV_S)}},
     .a = {.dev = DEV_A, .f = {W("name", "T:Gadget", H(200, 0)), W("price", "I:999", H(200, 0))}},
     .ra = REJECTED(READONLY), .same_as_base = 1,
     .conf = {CFV("name", READONLY, AUTO, 0, "T:Widget", "T:Gadget"),
              CFV("price", READONLY, AUTO, 0, "N", "I:999")}},
    {.name = "readonly_purchase_delete_from_device_rejected", .entity = "purchase",
     .base = {.f = {CELL("sku", "T:S1", H(100, 0), DEV_S)}},
     .a = {.dev = DEV_B, .tomb = TOMB(1, H(200, 0), DEV_B)},
     .ra = REJECTED(READONLY), .same_as_base = 1,
     .conf = {CF("-", READONLY, AUTO, 0)}},
    {.name = "readonly_product_from_server_applied", .entity = "product", .origin = FS_ORIGIN_SERVER,
     .a = {.dev = DEV_S, .f = {W("sku", "T:S1", H(100, 0)), W("price", "I:1299", H(100, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("sku", "T:S1", H(100, 0), DEV_S), CELL("price", "I:1299", H(100, 0), DEV_S)}}},

    /* ---- Clock guard ----------------------------------------------------- */
    {.name = "clock_far_future_clamped_to_now", .entity = "customer",
     .now = H(1000, 0), .max_ahead = 500,
     .base = {.f = {CELL("name", "T:Old", H(900, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("name", "T:Future", H(9000, 0))}},
     .ra = MERGED(CLOCK),
     .want = {.f = {CELL("name", "T:Future", H(1000, 0), DEV_B)}},
     .conf = {CFV("name", CLOCK_BOUND, AUTO, 1, NULL, "T:Future")}},
    {.name = "clock_clamped_write_then_loses", .entity = "customer",
     .now = H(1000, 0), .max_ahead = 500,
     .base = {.f = {CELL("name", "T:Current", H(1000, 0), DEV_C)}},
     .a = {.dev = DEV_B, .f = {W("name", "T:Future", H(9000, 0))}},
     .ra = MERGED(CLOCK), .same_as_base = 1,
     .conf = {CF("name", CLOCK_BOUND, AUTO, 0), CFV("name", LWW, AUTO, 0, "T:Current", "T:Future")}},
    {.name = "clock_exactly_at_bound_not_clamped", .entity = "customer",
     .now = H(1000, 0), .max_ahead = 500,
     .a = {.dev = DEV_A, .f = {W("phone", "T:1", H(1500, 9))}},
     .ra = APPLIED,
     .want = {.f = {CELL("phone", "T:1", H(1500, 9), DEV_A)}}},
    {.name = "clock_one_ms_past_bound_clamped", .entity = "customer",
     .now = H(1000, 3), .max_ahead = 500,
     .a = {.dev = DEV_A, .f = {W("phone", "T:1", H(1501, 0))}},
     .ra = MERGED(CLOCK),
     .want = {.f = {CELL("phone", "T:1", H(1000, 3), DEV_A)}},
     .conf = {CF("phone", CLOCK_BOUND, AUTO, 1)}},
    {.name = "clock_guard_off_without_now", .entity = "customer",
     .now = 0, .max_ahead = 500,
     .a = {.dev = DEV_A, .f = {W("phone", "T:1", H(900000, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("phone", "T:1", H(900000, 0), DEV_A)}}},
    {.name = "clock_server_origin_not_clamped", .entity = "customer", .origin = FS_ORIGIN_SERVER,
     .now = H(1000, 0), .max_ahead = 500,
     .a = {.dev = DEV_S, .f = {W("phone", "T:1", H(9000, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("phone", "T:1", H(9000, 0), DEV_S)}}},
    {.name = "clock_huge_window_does_not_wrap", .entity = "customer",
     .now = H(1000, 0), .max_ahead = UINT64_MAX,
     .a = {.dev = DEV_A, .f = {W("phone", "T:1", H(9000, 0))}},
     .ra = APPLIED,
     .want = {.f = {CELL("phone", "T:1", H(9000, 0), DEV_A)}}},
    {.name = "clock_far_future_tombstone_clamped", .entity = "contact",
     .now = H(1000, 0), .max_ahead = 10,
     .base = {.f = {CELL("name", "T:Acme", H(500, 0), DEV_A)}},
     .a = {.dev = DEV_B, .tomb = TOMB(1, H(5000, 0), DEV_B)},
     .ra = MERGED(CLOCK),
     .want = {.f = {CELL("name", "T:Acme", H(500, 0), DEV_A)}, .tomb = TOMB(1, H(1000, 0), DEV_B)},
     .conf = {CF("-", CLOCK_BOUND, AUTO, 1)}},
    {.name = "clock_clamped_restore_then_loses", .entity = "contact",
     .now = H(1000, 0), .max_ahead = 500,
     .base = {.f = {CELL("name", "T:Acme", H(500, 0), DEV_A)}, .tomb = TOMB(1, H(1000, 0), DEV_C)},
     .a = {.dev = DEV_B, .tomb = TOMB(0, H(9000, 0), DEV_B)},
     .ra = MERGED(CLOCK), .same_as_base = 1,
     .conf = {CF("-", CLOCK_BOUND, AUTO, 0), CFV("-", DELETE_WINS, OPEN, 0, "I:1", "I:0")}},
    {.name = "clock_clamped_future_writer_cannot_win_later", .entity = "customer",
     .now = H(1000, 0), .max_ahead = 500,
     .a = {.dev = DEV_C, .f = {W("segment", "T:future", H(99999, 0))}},
     .b = {.dev = DEV_A, .f = {W("segment", "T:honest", H(1000, 1))}},
     .ra = MERGED(CLOCK), .rb = APPLIED,
     .want = {.f = {CELL("segment", "T:honest", H(1000, 1), DEV_A)}},
     .conf = {CF("segment", CLOCK_BOUND, AUTO, 1)}},

    /* ---- Delete vs update ------------------------------------------------ */
    {.name = "delete_live_row", .entity = "contact",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .tomb = TOMB(1, H(200, 0), DEV_B)},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}, .tomb = TOMB(1, H(200, 0), DEV_B)}},
    {.name = "delete_hides_newer_stored_write", .entity = "contact",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A), CELL("phone", "T:9", H(300, 0), DEV_A)}},
     .a = {.dev = DEV_B, .tomb = TOMB(1, H(200, 0), DEV_B)},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A), CELL("phone", "T:9", H(300, 0), DEV_A)},
              .tomb = TOMB(1, H(200, 0), DEV_B)},
     .conf = {CFV("phone", DELETE_WINS, OPEN, 1, "T:9", NULL)}},
    {.name = "delete_does_not_record_newer_server_stamp", .entity = "task",
     .base = {.f = {CELL("title", "T:call", H(100, 0), DEV_A), CELL("rep_id", "T:r1", H(300, 0), DEV_S)}},
     .a = {.dev = DEV_A, .tomb = TOMB(1, H(200, 0), DEV_A)},
     .ra = APPLIED,
     .want = {.f = {CELL("title", "T:call", H(100, 0), DEV_A), CELL("rep_id", "T:r1", H(300, 0), DEV_S)},
              .tomb = TOMB(1, H(200, 0), DEV_A)}},
    {.name = "update_on_deleted_row_hidden_and_recorded", .entity = "contact",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}, .tomb = TOMB(1, H(200, 0), DEV_B)},
     .a = {.dev = DEV_A, .f = {W("name", "T:Acme 2", H(300, 0))}},
     .ra = MERGED(DELETED),
     .want = {.f = {CELL("name", "T:Acme 2", H(300, 0), DEV_A)}, .tomb = TOMB(1, H(200, 0), DEV_B)},
     .conf = {CFV("name", DELETE_WINS, OPEN, 0, NULL, "T:Acme 2")}},
    /* Seed 2 of the simulation (issue 12): a write landing in a hidden row
     * that ties with the newer stored write of the same value is hidden too
     * (the row would show it), so it is recorded and answered MERGED, not
     * APPLIED with no record naming it. */
    {.name = "update_on_deleted_row_tying_newer_same_value_recorded", .entity = "customer",
     .base = {.f = {CELL("phone", "T:9", H(300, 0), DEV_B)}, .tomb = TOMB(1, H(200, 0), DEV_C)},
     .a = {.dev = DEV_A, .f = {W("phone", "T:9", H(250, 0))}},
     .ra = MERGED(DELETED), .same_as_base = 1,
     .conf = {CFV("phone", DELETE_WINS, OPEN, 0, NULL, "T:9")}},
    {.name = "concurrent_delete_and_update", .entity = "contact",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .tomb = TOMB(1, H(200, 0), DEV_A)},
     .b = {.dev = DEV_B, .f = {W("phone", "T:42", H(250, 0))}},
     .ra = APPLIED, .rb = MERGED(DELETED),
     .want = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A), CELL("phone", "T:42", H(250, 0), DEV_B)},
              .tomb = TOMB(1, H(200, 0), DEV_A)},
     .conf = {CF("phone", DELETE_WINS, OPEN, 0)}},
    {.name = "restore_after_delete", .entity = "contact",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}, .tomb = TOMB(1, H(200, 0), DEV_B)},
     .a = {.dev = DEV_A, .tomb = TOMB(0, H(300, 0), DEV_A)},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}, .tomb = TOMB(0, H(300, 0), DEV_A)}},
    {.name = "tombstone_then_recreate_with_values", .entity = "contact",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}, .tomb = TOMB(1, H(200, 0), DEV_A)},
     .a = {.dev = DEV_B, .f = {W("name", "T:Acme Reborn", H(300, 0))}, .tomb = TOMB(0, H(300, 0), DEV_B)},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:Acme Reborn", H(300, 0), DEV_B)}, .tomb = TOMB(0, H(300, 0), DEV_B)}},
    {.name = "stale_restore_loses_to_delete", .entity = "contact",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}, .tomb = TOMB(1, H(300, 0), DEV_B)},
     .a = {.dev = DEV_A, .tomb = TOMB(0, H(200, 0), DEV_A)},
     .ra = MERGED(DELETED), .same_as_base = 1,
     .conf = {CFV("-", DELETE_WINS, OPEN, 0, "I:1", "I:0")}},
    {.name = "stale_delete_loses_to_restore", .entity = "contact",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}, .tomb = TOMB(0, H(300, 0), DEV_B)},
     .a = {.dev = DEV_A, .tomb = TOMB(1, H(200, 0), DEV_A)},
     .ra = MERGED(STALE), .same_as_base = 1,
     .conf = {CFV("-", LWW, AUTO, 0, "I:0", "I:1")}},
    {.name = "delete_beats_restore_at_equal_stamp", .entity = "contact",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}, .tomb = TOMB(0, H(200, 0), DEV_A)},
     .a = {.dev = DEV_A, .tomb = TOMB(1, H(200, 0), DEV_A)},
     .ra = APPLIED,
     .want = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}, .tomb = TOMB(1, H(200, 0), DEV_A)}},
    {.name = "duplicate_delete_idempotent", .entity = "task",
     .base = {.f = {CELL("title", "T:call", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .tomb = TOMB(1, H(200, 0), DEV_B)},
     .b = {.dev = DEV_B, .tomb = TOMB(1, H(200, 0), DEV_B)},
     .ra = APPLIED, .rb = APPLIED,
     .want = {.f = {CELL("title", "T:call", H(100, 0), DEV_A)}, .tomb = TOMB(1, H(200, 0), DEV_B)}},

    /* ---- Validation: errors, nothing changes, nothing recorded ----------- */
    {.name = "invalid_unknown_field_slot", .entity = "customer",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("#99", "T:x", H(200, 0))}},
     .ra = FAILS(FS_EUNKNOWN_FIELD), .same_as_base = 1},
    {.name = "invalid_wrong_type", .entity = "customer",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("!name", "I:5", H(200, 0))}},
     .ra = FAILS(FS_ETYPE), .same_as_base = 1},
    {.name = "invalid_oversize_text", .entity = "customer",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("!name", "X:201", H(200, 0))}},
     .ra = FAILS(FS_ETOOLONG), .same_as_base = 1},
    {.name = "invalid_unknown_esign_state", .entity = "contract",
     .base = {.f = {CELL("esign_status", "T:sent", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_A, .f = {W("!esign_status", "T:lost", H(200, 0))}},
     .ra = FAILS(FS_ERANGE), .same_as_base = 1},
    {.name = "invalid_field_blocks_valid_ones", .entity = "customer",
     .base = {.f = {CELL("name", "T:Acme", H(100, 0), DEV_A)}},
     .a = {.dev = DEV_B, .f = {W("phone", "T:1", H(200, 0)), W("!lat", "R:91.5", H(200, 0))}},
     .ra = FAILS(FS_ERANGE), .same_as_base = 1},
    {.name = "invalid_duplicate_slot", .entity = "customer",
     .a = {.dev = DEV_B, .f = {W("!name", "T:a", H(200, 0)), W("!name", "T:b", H(200, 0))}},
     .ra = FAILS(FS_EDUPLICATE), .same_as_base = 1},
    {.name = "invalid_zero_hlc", .entity = "customer",
     .a = {.dev = DEV_B, .f = {W("!name", "T:a", 0)}},
     .ra = FAILS(FS_EINVAL), .same_as_base = 1},
    {.name = "invalid_bad_currency_on_frozen_quote_still_error", .entity = "quote", .frozen = 1,
     .a = {.dev = DEV_B, .f = {W("!currency", "T:EURO", H(200, 0))}},
     .ra = FAILS(FS_ERANGE), .same_as_base = 1},
    {.name = "invalid_nil_parent_reference", .entity = "contact",
     .a = {.dev = DEV_B, .f = {W("!customer_id", "U:0", H(200, 0))}},
     .ra = FAILS(FS_EBADID), .same_as_base = 1},
};

#define NCASES (sizeof cases / sizeof cases[0])

/* ---- Runner --------------------------------------------------------------- */

static const char *spec_field_name(const gconf *g)
{
    return g->field;
}

static bool conf_matches(const fs_entity *e, const gconf *g, const fs_conflict *k)
{
    fs_value v;
    bool ok;

    if (strcmp(g->field, "-") == 0) {
        if (k->field != -1)
            return false;
    } else if (k->field != fs_entity_field_index(e, g->field)) {
        return false;
    }
    if (k->rule != g->rule || k->status != g->status || (int)k->yours_won != g->yours_won)
        return false;
    if (g->theirs) {
        if (tk_value_parse(g->theirs, &v) != 0)
            return false;
        ok = fs_value_eq(&v, &k->theirs);
        fs_value_clear(&v);
        if (!ok)
            return false;
    }
    if (g->yours) {
        if (tk_value_parse(g->yours, &v) != 0)
            return false;
        ok = fs_value_eq(&v, &k->yours);
        fs_value_clear(&v);
        if (!ok)
            return false;
    }
    return true;
}

/* Merges one change spec; checks its status/result and the invariants of a
 * failed merge. Returns 0 if the merge succeeded. */
static int merge_one(const gcase *gc, const fs_entity *e, const fs_merge_ctx *ctx,
                     fs_row *row, const tk_chspec *spec, const gres *want,
                     fs_conflict_list *list, const char *which)
{
    fs_change c;
    fs_merge_result res;
    fs_error err = {0};
    fs_row before = {0};
    char msg[256], rb[1024], ra[1024];
    size_t n0 = list->n;
    fs_status st;
    fs_id dev;

    if (tk_change_build(e, spec, &c, msg, sizeof msg) != 0) {
        fs_change_free(&c);
        fail_msg("%s: change %s spec: %s", gc->name, which, msg);
    }
    assert_int_equal(fs_row_copy(&before, row, NULL), FS_OK);
    memset(&res, 0x7f, sizeof res);
    st = fs_merge(ctx, row, &c, &res, list, &err);
    fs_change_free(&c);
    if (st != want->st) {
        fs_row_free(&before);
        fail_msg("%s: change %s: status %s (%s), want %s", gc->name, which, fs_strerror(st),
                 err.text, fs_strerror(want->st));
    }
    if (st != FS_OK) {
        bool same = fs_row_eq(&before, row);
        if (!same)
            fail_msg("%s: failed merge of %s changed the row: %s -> %s", gc->name, which,
                     tk_row_str(&before, rb, sizeof rb), tk_row_str(row, ra, sizeof ra));
        fs_row_free(&before);
        if (list->n != n0)
            fail_msg("%s: failed merge of %s appended %zu records", gc->name, which,
                     list->n - n0);
        if (err.code != (int)st || err.text[0] == '\0')
            fail_msg("%s: failed merge of %s: error struct not filled (%d '%s')", gc->name,
                     which, err.code, err.text);
        return -1;
    }
    fs_row_free(&before);
    if (res.outcome != want->out || res.reason != want->reason)
        fail_msg("%s: change %s: outcome %d reason %s (%s), want outcome %d reason %s",
                 gc->name, which, (int)res.outcome, fs_reason_name(res.reason), res.detail,
                 (int)want->out, fs_reason_name(want->reason));
    if (res.outcome != FS_APPLIED && res.detail[0] == '\0')
        fail_msg("%s: change %s: %s without a readable detail", gc->name, which,
                 fs_reason_name(res.reason));
    /* Every record of this merge names the entity, the row and the writer. */
    tk_dev(spec->dev, &dev);
    for (size_t i = n0; i < list->n; i++) {
        const fs_conflict *k = &list->items[i];
        if (k->entity != e || fs_id_cmp(&k->row, &row->id) != 0 ||
            fs_id_cmp(&k->yours_device, &dev) != 0)
            fail_msg("%s: change %s: record %zu does not name entity/row/writer: %s",
                     gc->name, which, i, tk_conflict_str(k, msg, sizeof msg));
    }
    return 0;
}

static void build_ctx(const gcase *gc, fs_merge_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->origin = gc->origin;
    ctx->frozen = gc->frozen != 0;
    ctx->decision = gc->decision != 0;
    ctx->now = gc->now;
    ctx->max_ahead_ms = gc->max_ahead;
}

/* Merges A then B (or B then A) into a fresh base row. Returns how many of
 * the changes merged without error. */
static int run_changes(const gcase *gc, const fs_entity *e, fs_row *row,
                       fs_conflict_list *list, bool reverse)
{
    fs_merge_ctx ctx;
    char msg[256];
    int ok = 0;

    build_ctx(gc, &ctx);
    if (tk_row_build(e, &gc->base, row, msg, sizeof msg) != 0)
        fail_msg("%s: base row spec: %s", gc->name, msg);
    if (!reverse) {
        ok += merge_one(gc, e, &ctx, row, &gc->a, &gc->ra, list, "A") == 0;
        if (gc->b.dev)
            ok += merge_one(gc, e, &ctx, row, &gc->b, &gc->rb, list, "B") == 0;
    } else {
        fs_conflict_list scratch = {0};
        /* Outcomes and records depend on order; only the row must not. */
        for (int k = 0; k < 2; k++) {
            const tk_chspec *s = k == 0 ? &gc->b : &gc->a;
            fs_change c;
            fs_merge_result res;
            fs_error err = {0};
            if (tk_change_build(e, s, &c, msg, sizeof msg) != 0)
                fail_msg("%s: %s", gc->name, msg);
            if (fs_merge(&ctx, row, &c, &res, &scratch, &err) == FS_OK)
                ok++;
            fs_change_free(&c);
        }
        fs_conflict_list_free(&scratch);
    }
    return ok;
}

static void run_case(void **state)
{
    const gcase *gc = *state;
    const fs_entity *e = fs_schema_entity(gc->entity);
    fs_row row = {0}, want = {0};
    fs_conflict_list list = {0};
    char msg[256], a[1024], b[1024];
    bool used[64] = {false};
    size_t nconf = 0;
    int merged;

    if (!e)
        fail_msg("%s: no entity %s", gc->name, gc->entity);
    merged = run_changes(gc, e, &row, &list, false);

    if (tk_row_build(e, gc->same_as_base ? &gc->base : &gc->want, &want, msg, sizeof msg) != 0)
        fail_msg("%s: expected row spec: %s", gc->name, msg);
    if (!fs_row_eq(&row, &want))
        fail_msg("%s: row\n   got  %s\n   want %s", gc->name, tk_row_str(&row, a, sizeof a),
                 tk_row_str(&want, b, sizeof b));

    /* Conflict records: the same multiset as expected. */
    while (nconf < TK_MAXCONF && gc->conf[nconf].field)
        nconf++;
    if (list.n != nconf) {
        for (size_t i = 0; i < list.n; i++)
            print_message("   record %zu: %s\n", i, tk_conflict_str(&list.items[i], a, sizeof a));
        fail_msg("%s: %zu conflict records, want %zu", gc->name, list.n, nconf);
    }
    for (size_t j = 0; j < nconf; j++) {
        bool found = false;
        for (size_t i = 0; i < list.n && !found; i++) {
            if (!used[i] && conf_matches(e, &gc->conf[j], &list.items[i])) {
                used[i] = true;
                found = true;
            }
        }
        if (!found) {
            for (size_t i = 0; i < list.n; i++)
                print_message("   record %zu: %s\n", i,
                              tk_conflict_str(&list.items[i], a, sizeof a));
            fail_msg("%s: no record matches expected #%zu (%s %s status=%d won=%d)", gc->name,
                     j, spec_field_name(&gc->conf[j]), fs_rule_name(gc->conf[j].rule),
                     (int)gc->conf[j].status, gc->conf[j].yours_won);
        }
    }

    /* Re-delivering every change leaves the row as it is. */
    if (merged > 0) {
        fs_merge_ctx ctx;
        fs_row again = {0};
        assert_int_equal(fs_row_copy(&again, &row, NULL), FS_OK);
        build_ctx(gc, &ctx);
        for (int k = 0; k < 2; k++) {
            const tk_chspec *s = k == 0 ? &gc->a : &gc->b;
            fs_change c;
            fs_merge_result res;
            if (!s->dev)
                continue;
            if (tk_change_build(e, s, &c, msg, sizeof msg) != 0)
                fail_msg("%s: %s", gc->name, msg);
            (void)fs_merge(&ctx, &again, &c, &res, &list, NULL);
            fs_change_free(&c);
        }
        if (!fs_row_eq(&row, &again))
            fail_msg("%s: re-delivery changed the row\n   was  %s\n   now  %s", gc->name,
                     tk_row_str(&row, a, sizeof a), tk_row_str(&again, b, sizeof b));
        fs_row_free(&again);
    }

    /* B before A ends in the same row. */
    if (gc->b.dev && !gc->server_order) {
        fs_row rev = {0};
        fs_conflict_list l2 = {0};
        run_changes(gc, e, &rev, &l2, true);
        if (!fs_row_eq(&row, &rev))
            fail_msg("%s: order matters\n   A,B  %s\n   B,A  %s", gc->name,
                     tk_row_str(&row, a, sizeof a), tk_row_str(&rev, b, sizeof b));
        fs_row_free(&rev);
        fs_conflict_list_free(&l2);
    }

    fs_row_free(&want);
    fs_row_free(&row);
    fs_conflict_list_free(&list);
}

int main(void)
{
    struct CMUnitTest *tests = calloc(NCASES, sizeof *tests);
    int rc;

    if (!tests)
        return 1;
    for (size_t i = 0; i < NCASES; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case;
        tests[i].initial_state = (void *)&cases[i];
    }
    rc = _cmocka_run_group_tests("conflict_golden", tests, NCASES, NULL, NULL);
    free(tests);
    return rc;
}
