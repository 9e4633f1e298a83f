/*
 * fake_server.h - an in-memory sync server for libfieldclient unit tests.
 *
 * Plugs into fc_options.post: decodes each SyncRequest with fs_proto, merges
 * the changes into its own rows with fs_merge (origin DEVICE, like the real
 * server), answers exactly-once per batch id, pages rows by sequence number,
 * and encodes the SyncResponse with fs_proto. Tests script faults on top:
 * network errors, garbage, truncated bodies, rejections, exits, wipe.
 */
#ifndef FAKE_SERVER_H
#define FAKE_SERVER_H

#include "fieldclient.h"
#include "fs_proto.h"

#define FAKE_MAX_ROWS 256
#define FAKE_MAX_REQ 64

typedef enum fake_fault {
    FAKE_OK,
    FAKE_NETWORK,     /* transport error, nothing reaches the "server" */
    FAKE_LOST,        /* server applies, then the answer is lost */
    FAKE_GARBAGE,     /* 200 with random bytes */
    FAKE_TRUNCATED,   /* 200 with the real answer cut in half */
    FAKE_WIPE,        /* 200 with wipe = true */
    FAKE_REVOKED_401  /* 401 ErrorBody code REVOKED, wipe = true */
} fake_fault;

typedef struct fake_server {
    fs_id device;                 /* the server's own writer id */
    fs_hlc clock;
    bool old_clock;               /* stamp back-office writes from `clock`
                                     instead of the wall clock */
    fs_row rows[FAKE_MAX_ROWS];
    uint64_t seqs[FAKE_MAX_ROWS];
    size_t nrows;
    uint64_t seq;
    /* Scripted faults, one per call, then FAKE_OK. */
    fake_fault faults[16];
    size_t nfaults, fault_at;
    /* Changes to this row are rejected (FS_REASON_FROZEN). */
    bool reject_set;
    fs_id reject_row;
    /* This row is outside the device's scope: never sent (its changes are
     * still judged and applied). */
    bool hidden_set;
    fs_id hidden_row;
    /* Exits sent with the next answer. */
    fs_scope_exit exits[8];
    size_t nexits;
    /* Every request seen (cursor, batch id, number of changes). */
    uint64_t req_cursor[FAKE_MAX_REQ];
    fs_id req_batch[FAKE_MAX_REQ];
    size_t req_changes[FAKE_MAX_REQ];
    /* ... and its outbox report (SyncRequest 12, 13); -1 = not reported. */
    int64_t req_outbox_pending[FAKE_MAX_REQ], req_rejected_held[FAKE_MAX_REQ];
    /* ... and its Content-Encoding, and whether it asked for a count. */
    fs_proto_encoding req_enc[FAKE_MAX_REQ];
    bool req_count[FAKE_MAX_REQ];
    size_t nreq;
    /* Reported with every sync answer as its link speed (bytes/s; 0 = not
     * measured), for the client's choice of encoding. */
    double link_rate;
    /* Batch id -> remembered results (last batch only is enough here). */
    fs_id last_batch;
    fs_sync_result last_results[64];
    size_t last_nresults;
    bool have_last;
    uint32_t page_size;           /* 0 = 100 */
    /* When list_conflicts: every last page lists these as the rep's open
     * conflicts (open_conflicts = how many exist). */
    bool list_conflicts;
    fs_open_conflict conflicts[4];
    size_t nconflicts;
    uint32_t open_conflicts;
    /* Requests that asked for a pending count. */
    size_t counted;
    /* Header Fieldsync-Next-Cursor on answers with more to come: the
     * body's next cursor plus next_header_skew (0 = the truth), sent when
     * next_header is set. */
    bool next_header;
    uint64_t next_header_skew;
    bool last_more;               /* of the last answer built */
    uint64_t last_next;
    /* Called inside post, before answering (simulates the rep editing
     * while a sync is in flight). */
    void (*during)(void *arg);
    void *during_arg;
} fake_server;

void fake_init(fake_server *s);
void fake_free(fake_server *s);
fc_status fake_post(const char *url, const char *content_type,
                    const char *content_encoding, const char *token,
                    const uint8_t *body, size_t len, fc_http_response *resp,
                    fs_error *err, void *payload);
/* Server-side write (back office): sets a text/int field, new seq. */
fs_row *fake_find(fake_server *s, const fs_entity *e, const fs_id *id);
void fake_set_text(fake_server *s, const char *entity, const fs_id *id,
                   const char *field, const char *text);
void fake_set_int(fake_server *s, const char *entity, const fs_id *id,
                  const char *field, int64_t v);
void fake_set_id(fake_server *s, const char *entity, const fs_id *id,
                 const char *field, const fs_id *v);

#endif
