/*
 * sim.h - the seeded multi-device simulation (tests/sim): shared types.
 *
 * One run = one seed: the harness starts the real `sync-server` binary as a
 * child process (127.0.0.1, a free port, a temporary store), enrolls N
 * devices that each own a real libfieldclient replica, and then lets a seeded
 * scheduler pick, step by step, a device that does random offline work or
 * syncs. Every sync request goes over HTTP through the harness's transport
 * (sim_net.c), which injects faults and decodes every request and answer to
 * watch what the server sent. After the run every device syncs until nothing
 * is left and the checks of DESIGN.md section 8 run (sim_check.c).
 *
 * Files: sim_main.c (options, seed loop, replay line), sim_server.c (server
 * process, admin HTTP API, HTTP client), sim_net.c (fault transport and
 * online observations), sim_work.c (the model, random work, client kills),
 * sim_check.c (quiescence and final checks), sim_util.c (rng, map, report),
 * sim_multi.c (several server processes), sim_owner.c (--merges, issue 17).
 */
#ifndef SIM_H
#define SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fieldclient.h"
#include "fs_proto.h"

#define SIM_MAX_DEVICES 32
#define SIM_MAX_REPS 16
#define SIM_NTERR 3
#define SIM_MAX_CUSTOMERS 4096
#define SIM_MAX_SERVERS 4  /* --servers: sync-server processes on one store */
#define SIM_ADMIN_TOKEN "sim-admin-token"

/* ------------------------------------------------------------------------ */
/* Random numbers: splitmix64, one independent stream per purpose so that a */
/* retry more or less in one device does not reshuffle every later choice.  */
/* ------------------------------------------------------------------------ */

typedef struct sim_rng {
    uint64_t s;
} sim_rng;

void sim_rng_seed(sim_rng *r, uint64_t seed, uint64_t stream);
uint64_t sim_rand(sim_rng *r);
uint32_t sim_below(sim_rng *r, uint32_t n); /* uniform in [0, n), n > 0 */
bool sim_chance(sim_rng *r, unsigned per_mille);

/* ------------------------------------------------------------------------ */
/* A small open-addressing map from a fixed-size key to a size_t value.     */
/* ------------------------------------------------------------------------ */

typedef struct sim_key {
    uint8_t b[40]; /* zero-padded: (device, row id, stamp) and friends */
} sim_key;

typedef struct sim_map {
    sim_key *keys;
    size_t *vals;
    bool *used;
    size_t n, cap;
} sim_map;

sim_key sim_key_make(int dev, const fs_id *id, uint64_t extra);
/* Pointer to the value of k, or NULL. */
size_t *sim_map_get(sim_map *m, const sim_key *k);
/* Pointer to the value of k, inserting it with value `init` if absent.
 * Aborts on allocation failure (a test harness has nowhere to go). */
size_t *sim_map_put(sim_map *m, const sim_key *k, size_t init, bool *inserted);
void sim_map_free(sim_map *m);

/* Growable array helper: ensures room for one more element. */
void *sim_grow(void *p, size_t *cap, size_t n, size_t elem);

/* ------------------------------------------------------------------------ */
/* Violations and fault counters: in a MAP_SHARED page, so that a forked    */
/* client (the kill-during-apply child) reports into the same place.        */
/* ------------------------------------------------------------------------ */

enum sim_fault {
    SIM_F_DROP,        /* request never sent */
    SIM_F_LOST,        /* sent and answered, the answer thrown away */
    SIM_F_DUP_SEQ,     /* sent twice, one after the other */
    SIM_F_DUP_PAR,     /* sent twice at the same time from two threads */
    SIM_F_DELAY,       /* held back before sending */
    SIM_F_SERVER_KILL, /* server SIGKILLed while the request is in flight */
    SIM_F_CLIENT_KILL, /* client SIGKILLed while applying an answer */
    SIM_F_REASSIGN,    /* customer moved between reps mid-run */
    SIM_F_TERRITORY,   /* rep joins or leaves a territory mid-run */
    SIM_F_ADMIN_DELETE,/* customer tombstoned by the back office mid-run */
    SIM_F_REVOKE,      /* device revoked mid-run */
    SIM_F_QUOTE_DECIDE,/* the back office accepts or rejects a sent quote */
    SIM_F_QUOTE_EXPIRE,/* the server's expiry run expired a quote */
    SIM_F_CUT_PAGE,    /* --cut-pages: the sync is cut after a page that
                          has more to come (every later request fails) */
    SIM_F_PROC_DOWN,   /* --servers N > 1: one process SIGKILLed between
                          requests and left down for a few requests */
    SIM_F_PAIR,        /* two devices synced at the same moment (--pairs) */
    SIM_F_MERGE,       /* the back office merged a duplicate customer (issue 17) */
    SIM_F_REDIRECT,    /* a device write to a merged customer (or a new row
                          under one) was redirected to the survivor */
    /* The public pool and offboarding (issue 17, --merges, sim_owner.c): */
    SIM_F_RECLAIM,     /* a customer the reclaim run put back in the pool */
    SIM_F_CLAIM_WON,   /* a device's claim of a pool customer stood */
    SIM_F_CLAIM_RACE,  /* two devices claimed one pool customer: the first
                          to arrive won, the second was refused and recorded */
    SIM_F_OFFBOARD,    /* a rep offboarded while its devices held pending work */
    SIM_F_DRAIN,       /* ... with --drain: its devices' outboxes were judged */
    SIM_F_COUNT
};

typedef struct sim_shared {
    unsigned nviol;
    char viol[8][320];
    unsigned long faults[SIM_F_COUNT];
} sim_shared;

extern sim_shared *sim_sh; /* set up once by sim_main.c */
void sim_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *sim_fault_name(int f);

/* ------------------------------------------------------------------------ */
/* The server process and HTTP                                               */
/* ------------------------------------------------------------------------ */

typedef struct sim_http {
    long status;
    uint8_t *body; /* malloc'd, NUL-terminated (len excludes it) */
    size_t len;
    char enc[32];
    bool has_next;         /* Fieldsync-Next-Cursor (the pipelined pull) */
    uint64_t next_cursor;
} sim_http;
void sim_http_free(sim_http *h);

typedef struct sim_server {
    const char *bin;
    const char *pull_plan;   /* --pull-plan */
    char dir[256];
    char db[300];
    pid_t pid;
    uint16_t port;
    char base[64];   /* http://127.0.0.1:PORT */
    unsigned starts;
    /* Several processes (sim_multi.c): this one's number (0 = the first,
     * whose address the devices enrolled with), the store they share when
     * it is not the SQLite file db (--store, passed through to the server
     * as is), the request count at which a downed process comes back, and
     * on process 0 the ring of all processes the admin calls rotate over. */
    unsigned index;
    const char *store;
    char store_buf[512];   /* --store with {seed} replaced */
    unsigned long up_at;
    unsigned long routed;  /* requests the harness sent to this process */
    struct sim_server *const *ring;
    unsigned nring, rr;
} sim_server;

/* Starts (or restarts, on the same port) the server; 0 on success. */
int sim_server_start(sim_server *s);
/* SIGKILL and reap. */
void sim_server_kill(sim_server *s);
/* SIGTERM, bounded wait, SIGKILL fallback, reap. */
void sim_server_stop(sim_server *s);

/* Called from libcurl's progress callback once the request body is out:
 * the server kill of a SIM_F_SERVER_KILL request. */
typedef struct sim_killer {
    sim_server *srv;
    unsigned delay_us; /* after the upload finished */
    bool armed, done;
} sim_killer;

/* One HTTP request; headers NULL-terminated. Returns 0 when an answer came,
 * -1 on a network failure (errbuf says why). */
int sim_http_do(const char *method, const char *url, const char *const *headers,
                const void *body, size_t len, sim_http *out, sim_killer *k,
                char *errbuf, size_t errcap);
/* Admin API call with the admin token; JSON body or NULL. Returns the HTTP
 * status (0 on a network failure). */
long sim_admin(sim_server *s, const char *method, const char *path,
               const char *json, sim_http *out);

/* ------------------------------------------------------------------------ */
/* Model                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct sim sim;

typedef struct sim_customer {
    fs_id id;
    int owner;      /* rep index, -1 = none */
    int territory;  /* territory index, -1 = none */
    bool deleted;   /* known tombstoned at the server (monotonic: no restores) */
    bool at_server; /* imported, or a device's create was answered */
    /* Issue 17: merged into cust[survivor] by the back office (then also
     * deleted: a tombstone that redirects); survived = it took a duplicate
     * in (the sim never merges such a customer away, so no redirect has to
     * be followed through a chain). */
    bool merged, survived;
    int survivor;
    /* Issue 17: put back in the pool by a reclaim run (former = the owner
     * it had then; the server bars that rep from claiming it back). */
    bool pooled;
    int former;
    /* s->pair when an answer changed this customer's scope (deleted, owner)
     * while two devices synced at once: the other device's answer may have
     * been computed before that change (check_pulled, sim_net.c). */
    unsigned long scope_pair;
} sim_customer;

typedef struct sim_rep {
    fs_id id;
    char uuid[FS_ID_STRLEN + 1];
    unsigned terr;  /* bit i = member of territory i */
    bool off;       /* offboarded (issue 17): deactivated, no territories */
    int heir;       /* ... its customers went to reps[heir] (-1: the pool) */
    unsigned claims_won; /* claims of this rep that stood (the daily quota) */
} sim_rep;

typedef struct sim_dev {
    sim *sim;
    int index, rep;
    char path[300];
    fc_client *c;      /* NULL while closed (crash child running) */
    fc_options opt;
    int64_t skew_ms;   /* clock skew of this device */
    fs_id id;          /* enrolled device id */
    bool revoked;      /* revoked at the server */
    bool drain;        /* ... by an offboarding with --drain: its whole outbox
                          is pushed and judged before it is wiped */
    bool wiped;        /* the client deleted its replica (after revoke) */
    sim_rng ops, faults;
    bool faults_on;
    bool in_child;     /* this process is the crash child for this device */
    bool cut;          /* this fc_sync was cut (SIM_F_CUT_PAGE) */
    pthread_t sync_thread; /* the thread running this device's fc_sync */
    /* A crash child may have sent the in-flight batch before the parent saw
     * it: until the parent sees an answer, new changes count as sent then. */
    bool crash_pending;
    unsigned long crash_tick;
} sim_dev;

/* A change seen in a sync request (deduplicated by device, row and stamp). */
#define SIM_MAX_FIELDS 20
typedef struct sim_sent {
    int dev;
    const fs_entity *e;
    fs_id row;
    fs_hlc key;                 /* highest stamp in the change: its identity */
    fs_id batch;
    unsigned nbatches;          /* distinct batch ids it travelled in */
    size_t nf;
    uint16_t slot[SIM_MAX_FIELDS];
    fs_hlc hlc[SIM_MAX_FIELDS];
    int8_t esign[SIM_MAX_FIELDS]; /* e-sign rank written, -1 = not e-sign */
    int8_t life[SIM_MAX_FIELDS];  /* quote state written, -1 = not a lifecycle field */
    bool has_tomb, deleted;
    fs_hlc tomb_hlc;
    bool answered;
    fs_outcome outcome;
    fs_reason reason;
    unsigned long sent_at;      /* sim.tick when first on the wire (or earlier) */
} sim_sent;

struct sim {
    uint64_t seed;
    unsigned ndev, nrep, steps;
    bool verbose;
    bool cut_pages;       /* --cut-pages: inject SIM_F_CUT_PAGE */
    bool merges;          /* --merges: the back office merges duplicates
                             mid-run (sim_owner.c, issue 17) */
    uint32_t page_size;   /* --page-size: the devices' page size */
    unsigned pairs;       /* --pairs: per mille of syncs that run at the same
                             moment as another device's (SIM_F_PAIR) */
    sim_server srv;
    sim_rep reps[SIM_MAX_REPS];
    sim_dev dev[SIM_MAX_DEVICES];
    sim_customer cust[SIM_MAX_CUSTOMERS];
    size_t ncust;
    sim_map cust_ix;      /* customer id -> index in cust */
    sim_map roots;        /* row id -> index in cust (its root customer) */
    sim_map writes;       /* (dev, row) -> successful local writes */
    sim_map sent_ix;      /* (dev, row, key) -> index in sent */
    sim_sent *sent;
    size_t nsent, capsent;
    sim_map sent_per_row; /* (dev, row) -> distinct changes sent */
    sim_map batches;      /* (dev, batch id) -> digest of its results */
    sim_map esign_dev;    /* (dev, contract) -> highest rank shown + 1 */
    sim_map esign_srv;    /* (-1, contract) -> highest rank the server sent + 1 */
    sim_rng sched;
    /* SIM_F_PAIR: its own stream (so --pairs 0 leaves every other draw as
     * it was), the number of pairs so far, and whether one is running. */
    sim_rng pair_rng;
    unsigned long pair;
    bool pair_active;
    unsigned long ops_ok, ops_refused, syncs, syncs_failed, rows_pulled;
    unsigned long checkins_other; /* visits done by a rep who did not plan them */
    /* Order of events the harness saw: every sync request and every delete
     * known to stand at the server takes the next tick. deleted_at maps a
     * row to the tick at which its delete was known to stand (the first). */
    unsigned long tick;
    sim_map deleted_at;
    unsigned server_kill_at;  /* request number that gets the server kill */
    /* --servers N: s->srv is process 0, more[] the others, all[] all of
     * them; route picks the process of each request and the downed one. */
    unsigned nservers;
    sim_server more[SIM_MAX_SERVERS - 1];
    sim_server *all[SIM_MAX_SERVERS];
    sim_rng route;
    unsigned requests;        /* sync requests so far (all devices) */
    unsigned requests_ahead;  /* of them sent from a client's second thread */
    unsigned requests_plain;  /* of them sent uncompressed (a fast link) */
    /* sim_servers_push_reads at quiescence, before the processes stop */
    unsigned long push_kept, push_reread;
    bool in_quiesce;
    /* Ownership lifecycle events (sim_owner.c, issue 17): a stream of their
     * own, so the draws of every other stream stay what they were. */
    sim_rng owner;
    unsigned long offboard_tick; /* s->tick when a rep was offboarded */
    int offboarded;              /* that rep, -1 before */
};

/* sim_multi.c: several server processes on one store */
/* Starts process 0 (s->srv, configured by the caller) and the others on
 * the same store; 0 on success. */
int sim_servers_start(sim *s);
/* SIGTERM every process (bounded), as sim_server_stop. */
void sim_servers_stop(sim *s);
/* What the live processes' GET /metrics count, since each one's last
 * start, of pushes that found the sequence counter moved under their first
 * reads (PostgreSQL): kept those reads, or read again under the lock. */
void sim_servers_push_reads(sim *s, unsigned long *kept, unsigned long *reread);
/* Restarts every process that is down (before quiescence). */
void sim_servers_up(sim *s);
/* Before a request of d: brings back processes whose down time is over,
 * maybe takes one down (SIM_F_PROC_DOWN), and picks the process that gets
 * the request (any when faults are on: a down one refuses the connection;
 * a live one otherwise). Rewrites url (which names process 0) into out. */
sim_server *sim_route(sim_dev *d, const char *url, char *out, size_t cap);
/* The path of a SQLite copy of the server store for the final checks: the
 * file itself, or with --store a copy made by `sync-server copy-store`;
 * false (said loudly) when no copy can be made. */
bool sim_store_for_checks(sim *s, char *path, size_t cap);
/* The second copy of a duplicated request: to any process (drawn apart from
 * the first copy's); url names process 0 as in sim_route. */
void sim_route_copy(sim_dev *d, const char *url, char *out, size_t cap);

/* sim_net.c */
/* sim_post may run on the client's second thread (devices with the
 * pipelined pull on) and for two devices at once (SIM_F_PAIR): the
 * observations it makes and those made between pages (sim_observe_replica)
 * take this lock. */
void sim_observe_lock(void);
void sim_observe_unlock(void);
fc_status sim_post(const char *url, const char *content_type,
                   const char *content_encoding, const char *token,
                   const uint8_t *body, size_t len, fc_http_response *resp,
                   fs_error *err, void *payload);
/* A delete of row stands at the server from now on (nobody restores). */
void sim_note_deleted(sim *s, const fs_id *row);
/* An answer just changed cust[ci]'s scope in the model (under the lock). */
void sim_scope_changed(sim *s, int ci);
/* Checks one contract's e-sign rank against the device's high-water mark. */
void sim_esign_seen(sim *s, int dev, const fs_id *contract, const char *status,
                    const char *where);
/* --cut-pages: before a sync request, true (and *err set) when d's sync was
 * cut; after an answer is handed over, maybe cuts the rest of the sync. */
bool sim_cut_blocks(sim_dev *d, fs_error *err);
void sim_cut_after(sim_dev *d, const sim_http *answer);

/* sim_work.c */
int sim_setup(sim *s);
void sim_step(sim *s, unsigned step);
void sim_device_close(sim_dev *d);
int sim_device_open(sim_dev *d);
/* One fc_sync of d (its transport injects faults when d->faults_on);
 * returns its status. */
fc_status sim_sync(sim_dev *d, fs_error *err);
void sim_observe_replica(sim_dev *d, const char *where);
/* In the crash child: the next row write of the apply kills the process. */
void sim_crash_arm(void);
int sim_customer_index(sim *s, const fs_id *id);
/* A customer the model learns of (owner, territory: indexes or -1). */
int sim_add_customer(sim *s, const fs_id *id, int owner, int territory);
/* One random offline operation of d, and the bookkeeping of a write made
 * outside it (what every successful fc_* write must be counted as). */
void sim_random_op(sim_dev *d);
void sim_note_write(sim_dev *d, const fs_id *row);
bool sim_in_scope(sim *s, int rep, const fs_id *customer);

/* sim_owner.c: issue 17's back-office events mid-run */
void sim_owner_init(sim *s);
void sim_owner_step(sim *s, unsigned step);
/* The customer a merged one now lives in (itself if not merged). */
int sim_customer_final(sim *s, int ci);
/* What a judged change of d tells the model: a claim that stood makes its
 * rep the owner; a customer an offboarded rep's device created went to the
 * heir. Called once per change, at its first answer. */
void sim_owner_result(sim_dev *d, const sim_sent *e);
/* After quiescence, the server still up: the offboarding's record. */
void sim_owner_check(sim *s);

/* sim_check.c */
void sim_quiesce_and_check(sim *s);

#endif /* SIM_H */
