/*
 * mkcorpus_sync.c - writes the seed corpus of fuzz_sync: real SyncRequests
 * and EnrollRequests built with the codec, about the fixed rows and the
 * placeholder device of fuzz_fixture.h, so the fuzzer starts from requests
 * the handler accepts and mutates its way into merge, scope, paging, e-sign,
 * freeze, tombstone, replay and refusal paths. Each file is a selector byte
 * (see fuzz_sync.c) and the encoded body. Run once; the output is committed.
 * Usage: fuzz-mkcorpus-sync DIR
 */
#include "fs_proto.h"
#include "fuzz_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Selector bits of fuzz_sync.c. */
#define SEL_DEFLATE 1u
#define SEL_GZIP 2u
#define SEL_BR 3u
#define SEL_ENROLL 4u
#define SEL_RAW 8u
#define SEL_NO_AUTH 0x20u
#define SEL_REVOKED 0x30u
#define SEL_HOSTILE_HEADER 0x40u
#define SEL_HOSTILE_VALUE 0x80u
/* Hostile header picks (the byte after the selector). */
enum { H_V1_PATH, H_CTYPE, H_CENC, H_PATH };
/* Hostile value picks: indexes of fuzz_sync.c's hostile_fields. */
enum { V_CURRENCY, V_VISIT_STATUS, V_NAME, V_PHONE, V_OUT_OF_SCOPE, V_UNKNOWN_FIELD,
       V_UNKNOWN_ENTITY, V_QUOTE_STATUS };

static const char *out_dir;
static int failures;
static fs_id dev;

static void write_seed(const char *name, unsigned sel, const fs_proto_buf *b)
{
    char path[1024];
    unsigned char s = (unsigned char)sel;
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(&s, 1, 1, f) != 1 || fwrite(b->data, 1, b->len, f) != b->len) {
        fprintf(stderr, "mkcorpus-sync: cannot write %s\n", path);
        failures++;
    }
    if (f)
        fclose(f);
}

/* A hostile seed (issue 12): the selector, then [pick, length, chunk] for
 * a header and/or a value (see fuzz_sync.c), then the body if any. */
static void write_hostile(const char *name, unsigned sel, int hpick, const char *hdr,
                          size_t hlen, int vpick, const char *val, size_t vlen,
                          const fs_proto_buf *body)
{
    fs_proto_buf b = {0};
    uint8_t buf[1200];
    size_t n = 0;

    if (hpick >= 0) {
        buf[n++] = (uint8_t)hpick;
        buf[n++] = (uint8_t)hlen;
        memcpy(buf + n, hdr, hlen);
        n += hlen;
    }
    if (vpick >= 0) {
        buf[n++] = (uint8_t)vpick;
        buf[n++] = (uint8_t)vlen;
        memcpy(buf + n, val, vlen);
        n += vlen;
    }
    if (body && n + body->len <= sizeof buf) {
        memcpy(buf + n, body->data, body->len);
        n += body->len;
    }
    b.data = buf;
    b.len = n;
    write_seed(name, sel, &b);
}

/* The seed's stamps: seconds after the fixture epoch. */
static fs_hlc at(unsigned s)
{
    return fs_hlc_make(FZ_EPOCH_MS + (uint64_t)s * 1000, 0);
}

static fs_id row_id(unsigned char tag)
{
    fs_id id;
    fz_id(tag, &id);
    return id;
}

static void sync_seed(const char *name, unsigned sel, fs_sync_request *rq)
{
    fs_proto_buf b = {0};
    fs_error err = {0};
    fs_proto_encoding enc = FS_PROTO_IDENTITY;

    if (!rq->version)
        rq->version = FS_PROTO_VERSION;
    if (fs_id_is_nil(&rq->device_id))
        rq->device_id = dev;
    /* Raw seeds carry their own framing; the others are framed by the
     * harness, so the file holds plain protobuf. */
    if (sel & SEL_RAW)
        enc = (fs_proto_encoding)(sel & 3u);
    if (fs_proto_sync_request_encode(rq, enc, NULL, &b, &err) != FS_PROTO_OK) {
        fprintf(stderr, "mkcorpus-sync: %s: %s\n", name, err.text);
        failures++;
    } else {
        write_seed(name, sel, &b);
    }
    fs_proto_buf_free(&b);
}

/* ---- change builders (abort on misuse: the generator is ours) ---- */

static void ch_init(fs_change *c, const char *entity, unsigned char row)
{
    fs_id id = row_id(row);
    if (fs_change_init(c, fs_schema_entity(entity), &id, &dev, NULL) != FS_OK)
        abort();
}

static void set_v(fs_change *c, const char *field, fs_value *v, fs_hlc h)
{
    fs_error err = {0};
    if (fs_change_set_named(c, field, v, h, &err) != FS_OK) {
        fprintf(stderr, "mkcorpus-sync: %s: %s\n", field, err.text);
        abort();
    }
    fs_value_clear(v);
}

static void set_text(fs_change *c, const char *field, const char *s, fs_hlc h)
{
    fs_value v = {0};
    if (fs_value_text(&v, s, strlen(s), NULL) != FS_OK)
        abort();
    set_v(c, field, &v, h);
}

static void set_int(fs_change *c, const char *field, int64_t i, fs_hlc h)
{
    fs_value v = fs_value_int(i);
    set_v(c, field, &v, h);
}

static void set_real(fs_change *c, const char *field, double r, fs_hlc h)
{
    fs_value v = fs_value_real(r);
    set_v(c, field, &v, h);
}

static void set_ref(fs_change *c, const char *field, unsigned char tag, fs_hlc h)
{
    fs_id id = row_id(tag);
    fs_value v = fs_value_idv(&id);
    set_v(c, field, &v, h);
}

/* The last field set also carries the value the writer saw (a base). */
static void with_base_text(fs_change *c, const char *field, const char *s, fs_hlc h)
{
    fs_value v = {0};
    int slot = fs_entity_field_index(c->entity, field);
    if (fs_value_text(&v, s, strlen(s), NULL) != FS_OK ||
        fs_change_set_base(c, slot, &v, h, NULL) != FS_OK)
        abort();
    fs_value_clear(&v);
}

static void push(const char *name, unsigned sel, unsigned char batch, fs_change *ch,
                 size_t n, uint64_t cursor)
{
    fs_sync_request rq = {.batch_id = row_id(batch), .cursor = cursor, .page_size = 20,
                          .client_time = at(3600), .changes = ch, .nchanges = n};

    sync_seed(name, sel, &rq);
    for (size_t i = 0; i < n; i++)
        fs_change_free(&ch[i]);
}

/* Rows the seeds create, by tag. */
enum {
    NEW_CUST = 0x21, NEW_CUST2, VISIT1, VISIT2, QUOTE1, LINE1, LINE2, QUOTE2, LINE3,
    CONTRACT1, CONTACT1, TASK1, UNKNOWN_PARENT, VISIT3, BATCH_BASE = 0x60
};

static void pulls(void)
{
    fs_sync_request boot = {.batch_id = row_id(BATCH_BASE), .client_time = at(10)};
    fs_sync_request page = {.batch_id = row_id(BATCH_BASE), .cursor = 1, .page_size = 2,
                            .client_time = at(20)};
    fs_sync_request ahead = {.batch_id = row_id(BATCH_BASE), .cursor = UINT64_C(1) << 40};
    fs_sync_request old = {.version = 99, .batch_id = row_id(BATCH_BASE)};
    fs_sync_request other = {.device_id = row_id(FZ_CUST_NORTH),
                             .batch_id = row_id(BATCH_BASE)};

    sync_seed("bootstrap", 0, &boot);
    sync_seed("bootstrap-deflate", SEL_DEFLATE, &boot);
    sync_seed("bootstrap-gzip", SEL_GZIP, &boot);
    sync_seed("bootstrap-raw-deflate", SEL_RAW | SEL_DEFLATE, &boot);
    sync_seed("bootstrap-raw-gzip", SEL_RAW | SEL_GZIP, &boot);
    sync_seed("bootstrap-unknown-encoding", SEL_BR, &boot);
    sync_seed("bootstrap-no-auth", SEL_NO_AUTH, &boot);
    sync_seed("bootstrap-revoked", SEL_REVOKED, &boot);
    sync_seed("pull-page-of-2", 0, &page);
    sync_seed("pull-cursor-ahead", 0, &ahead);
    sync_seed("pull-version-99", 0, &old);
    sync_seed("pull-other-device", 0, &other);
}

static void customers(void)
{
    fs_change c[3];

    /* Edits of an existing customer, one with the value it replaced. */
    ch_init(&c[0], "customer", FZ_CUST_NORTH);
    set_text(&c[0], "phone", "+49 30 1234567", at(100));
    with_base_text(&c[0], "phone", "+49 30 7654321", at(50));
    set_text(&c[0], "address", "Unter den Linden 1, 10117 Berlin", at(100));
    set_text(&c[0], "tags", "bakery,\"key account\",Brötchen", at(101));
    push("push-customer-edit", 0, BATCH_BASE + 1, c, 1, 0);

    /* The same field written again with an older stamp: a stale write. */
    ch_init(&c[0], "customer", FZ_CUST_NORTH);
    set_text(&c[0], "phone", "+49 30 1111111", at(60));
    ch_init(&c[1], "customer", FZ_CUST_NORTH);
    set_text(&c[1], "phone", "+49 30 0000000", at(40));
    with_base_text(&c[1], "phone", "+49 30 7654321", at(30));
    push("push-customer-stale", SEL_GZIP, BATCH_BASE + 2, c, 2, 0);

    /* A rep creates a customer (the server makes it hers) and another that
     * it deletes again in the same batch (a scope exit). */
    ch_init(&c[0], "customer", NEW_CUST);
    set_text(&c[0], "name", "Café Zürich – Ünïcødé ✓", at(200));
    set_real(&c[0], "lat", 52.5206, at(200));
    set_real(&c[0], "lon", 13.4094, at(200));
    set_text(&c[0], "segment", "retail", at(200));
    ch_init(&c[1], "customer", NEW_CUST2);
    set_text(&c[1], "name", "Temporary", at(201));
    ch_init(&c[2], "customer", NEW_CUST2);
    fs_change_tombstone(&c[2], true, at(202));
    push("push-customer-new-and-deleted", SEL_DEFLATE, BATCH_BASE + 3, c, 3, 0);

    /* Server-owned fields and out-of-scope rows are refused per change. */
    ch_init(&c[0], "customer", FZ_CUST_NORTH);
    set_text(&c[0], "owner_rep", "someone-else", at(300));
    set_text(&c[0], "territory", "south", at(300));
    ch_init(&c[1], "customer", FZ_CUST_SOUTH);
    set_text(&c[1], "phone", "+41 44 000", at(300));
    ch_init(&c[2], "product", FZ_PRODUCT);
    set_int(&c[2], "price", 1, at(300));
    push("push-refused", 0, BATCH_BASE + 4, c, 3, 0);
}

static void visits(void)
{
    fs_change c[3];
    int64_t t = (int64_t)FZ_EPOCH_MS + 400 * 1000;

    /* A check-in at the customer (verified) with notes and an outcome. */
    ch_init(&c[0], "visit", VISIT1);
    set_ref(&c[0], "customer_id", FZ_CUST_NORTH, at(400));
    set_int(&c[0], "planned_at", t - 3600 * 1000, at(400));
    set_int(&c[0], "checkin_at", t, at(400));
    set_real(&c[0], "checkin_lat", 52.5201, at(400));
    set_real(&c[0], "checkin_lon", 13.4051, at(400));
    set_real(&c[0], "checkin_accuracy", 12.5, at(400));
    set_text(&c[0], "status", "completed", at(401));
    set_text(&c[0], "outcome", "order placed", at(401));
    set_text(&c[0], "notes", "Met the buyer; wants a quote for 20 units.\n\"Urgent\"", at(401));
    set_text(&c[0], "next_step", "send quote", at(401));
    push("push-visit-verified", 0, BATCH_BASE + 5, c, 1, 0);

    /* Far from the customer, captured two hours before it was written. */
    ch_init(&c[0], "visit", VISIT2);
    set_ref(&c[0], "customer_id", FZ_CUST_OWNED, at(500));
    set_int(&c[0], "checkin_at", t - 7200 * 1000, at(500));
    set_real(&c[0], "checkin_lat", 0.0, at(500));
    set_real(&c[0], "checkin_lon", 0.0, at(500));
    set_text(&c[0], "status", "in_progress", at(500));
    /* Under a customer the rep cannot see, and under one that does not
     * exist. */
    ch_init(&c[1], "visit", VISIT2 + 0x40);
    set_ref(&c[1], "customer_id", FZ_CUST_SOUTH, at(500));
    ch_init(&c[2], "visit", VISIT2 + 0x41);
    set_ref(&c[2], "customer_id", UNKNOWN_PARENT, at(500));
    push("push-visit-suspect-and-orphans", 0, BATCH_BASE + 6, c, 3, 0);

    /* Plan a visit, delete it, restore it. */
    ch_init(&c[0], "visit", VISIT3);
    set_ref(&c[0], "customer_id", FZ_CUST_NORTH, at(600));
    set_text(&c[0], "status", "planned", at(600));
    ch_init(&c[1], "visit", VISIT3);
    fs_change_tombstone(&c[1], true, at(601));
    ch_init(&c[2], "visit", VISIT3);
    fs_change_tombstone(&c[2], false, at(602));
    push("push-visit-delete-restore", 0, BATCH_BASE + 7, c, 3, 0);
}

static void quotes(void)
{
    fs_change c[5];

    /* A quote with two lines, then accepted. */
    ch_init(&c[0], "quote", QUOTE1);
    set_ref(&c[0], "customer_id", FZ_CUST_NORTH, at(700));
    set_text(&c[0], "currency", "EUR", at(700));
    set_text(&c[0], "status", "sent", at(700));
    set_int(&c[0], "discount", 500, at(700));
    set_int(&c[0], "valid_until", (int64_t)FZ_EPOCH_MS + 30LL * 86400000, at(700));
    ch_init(&c[1], "quote_line", LINE1);
    set_ref(&c[1], "quote_id", QUOTE1, at(699));
    set_text(&c[1], "sku", "SKU-1", at(699));
    set_text(&c[1], "description", "Widget, blue", at(699));
    set_int(&c[1], "qty", 20, at(699));
    set_int(&c[1], "unit_price", 1999, at(699));
    ch_init(&c[2], "quote_line", LINE2);
    set_ref(&c[2], "quote_id", QUOTE1, at(699));
    set_text(&c[2], "sku", "SKU-2", at(699));
    set_int(&c[2], "qty", 1, at(699));
    set_int(&c[2], "unit_price", 50000, at(699));
    set_int(&c[2], "discount", 1000, at(699));
    ch_init(&c[3], "quote", QUOTE1);
    set_text(&c[3], "status", "accepted", at(710));
    push("push-quote-accepted", 0, BATCH_BASE + 8, c, 4, 0);

    /* A draft quote and line, then the quote is accepted, then the line is
     * edited: the edit meets a frozen quote. */
    ch_init(&c[0], "quote", QUOTE2);
    set_ref(&c[0], "customer_id", FZ_CUST_OWNED, at(800));
    set_text(&c[0], "currency", "CHF", at(800));
    set_text(&c[0], "status", "draft", at(800));
    ch_init(&c[1], "quote_line", LINE3);
    set_ref(&c[1], "quote_id", QUOTE2, at(801));
    set_int(&c[1], "qty", 3, at(801));
    ch_init(&c[2], "quote", QUOTE2);
    set_text(&c[2], "status", "accepted", at(802));
    ch_init(&c[3], "quote_line", LINE3);
    set_int(&c[3], "qty", 4, at(803));
    /* A line under a quote that does not exist. */
    ch_init(&c[4], "quote_line", LINE3 + 0x40);
    set_ref(&c[4], "quote_id", UNKNOWN_PARENT, at(803));
    push("push-quote-frozen-line", 0, BATCH_BASE + 9, c, 5, 0);
}

static void contracts_and_more(void)
{
    fs_change c[4];

    /* E-sign moves forward; a later "draft" must not regress it. */
    ch_init(&c[0], "contract", CONTRACT1);
    set_ref(&c[0], "customer_id", FZ_CUST_NORTH, at(900));
    set_ref(&c[0], "quote_id", QUOTE1, at(900));
    set_int(&c[0], "amount", 89470, at(900));
    set_text(&c[0], "currency", "EUR", at(900));
    set_text(&c[0], "envelope_id", "env-7f3a", at(900));
    set_text(&c[0], "esign_status", "sent", at(900));
    ch_init(&c[1], "contract", CONTRACT1);
    set_text(&c[1], "esign_status", "signed", at(901));
    set_int(&c[1], "signed_at", (int64_t)FZ_EPOCH_MS + 901000, at(901));
    ch_init(&c[2], "contract", CONTRACT1);
    set_text(&c[2], "esign_status", "draft", at(902));
    push("push-contract-esign", 0, BATCH_BASE + 10, c, 3, 0);

    ch_init(&c[0], "contact", CONTACT1);
    set_ref(&c[0], "customer_id", FZ_CUST_OWNED, at(1000));
    set_text(&c[0], "name", "Jürgen O'Brien", at(1000));
    set_text(&c[0], "email", "j.obrien@example.com", at(1000));
    set_text(&c[0], "title", "Einkauf", at(1000));
    ch_init(&c[1], "task", TASK1);
    set_ref(&c[1], "customer_id", FZ_CUST_OWNED, at(1001));
    set_int(&c[1], "due_at", (int64_t)FZ_EPOCH_MS + 86400000, at(1001));
    set_text(&c[1], "kind", "follow_up", at(1001));
    set_int(&c[1], "done", 1, at(1001));
    set_text(&c[1], "title", "call back", at(1001));
    push("push-contact-task", SEL_GZIP, BATCH_BASE + 11, c, 2, 3);

    /* A stamp ten years ahead: the clock guard refuses it. */
    ch_init(&c[0], "customer", FZ_CUST_OWNED);
    set_text(&c[0], "phone", "+49 89 1", fs_hlc_make(FZ_EPOCH_MS + 315360000000ULL, 0));
    push("push-future-stamp", 0, BATCH_BASE + 12, c, 1, 0);

    /* The batch of push-customer-edit again, unchanged (a retry: stored
     * results) and changed (409). */
    ch_init(&c[0], "customer", FZ_CUST_NORTH);
    set_text(&c[0], "phone", "+49 30 1234567", at(100));
    with_base_text(&c[0], "phone", "+49 30 7654321", at(50));
    set_text(&c[0], "address", "Unter den Linden 1, 10117 Berlin", at(100));
    set_text(&c[0], "tags", "bakery,\"key account\",Brötchen", at(101));
    push("push-retry-same-batch", SEL_DEFLATE, BATCH_BASE + 1, c, 1, 3);
    ch_init(&c[0], "customer", FZ_CUST_NORTH);
    set_text(&c[0], "phone", "+49 30 9999999", at(110));
    push("push-batch-id-reused", 0, BATCH_BASE + 1, c, 1, 0);
}

static void enroll_seed(const char *name, unsigned sel, const char *code,
                        const char *devname)
{
    fs_enroll_request rq = {.version = FS_PROTO_VERSION};
    fs_proto_buf b = {0};

    snprintf(rq.code, sizeof rq.code, "%s", code);
    snprintf(rq.device_name, sizeof rq.device_name, "%s", devname);
    if (fs_proto_enroll_request_encode(&rq, (sel & SEL_RAW) ? (fs_proto_encoding)(sel & 3u)
                                                            : FS_PROTO_IDENTITY,
                                       NULL, &b, NULL) != FS_PROTO_OK) {
        fprintf(stderr, "mkcorpus-sync: %s: encode failed\n", name);
        failures++;
    } else {
        write_seed(name, sel, &b);
    }
    fs_proto_buf_free(&b);
}

/* Issue 12 findings 3 and 4: multibyte values refused at the byte limit of
 * their quote, invalid bytes, and request headers and paths that the
 * refusal message quotes. */
static void hostile(void)
{
    fs_sync_request boot = {.version = FS_PROTO_VERSION, .device_id = dev,
                            .batch_id = row_id(BATCH_BASE), .client_time = at(10)};
    fs_proto_buf body = {0};
    char status[64] = "a", ascii[256], multi[256], phone[64];

    for (int i = 0; i < 20; i++)
        strcat(status, "\xC3\xA9");
    memset(ascii, 'x', 255);
    strcpy(multi, "x"); /* so the message's 64-byte quote ends inside an é */
    for (int i = 0; i < 127; i++)
        strcat(multi, "\xC3\xA9");
    memset(phone, '5', 39); /* the 40-byte limit falls inside the é */
    memcpy(phone + 39, "\xC3\xA9", 3);
    if (fs_proto_sync_request_encode(&boot, FS_PROTO_IDENTITY, NULL, &body, NULL) !=
        FS_PROTO_OK)
        abort();
#define V(name, pick, lit) \
    write_hostile(name, SEL_HOSTILE_VALUE, -1, NULL, 0, pick, lit, strlen(lit), NULL)
    V("hostile-value-currency-multibyte", V_CURRENCY, "abcdefg\xC3\xA9");
    V("hostile-value-currency-4byte", V_CURRENCY, "abcdefg\xF0\x9F\x98\x80");
    V("hostile-value-visit-status-multibyte", V_VISIT_STATUS, status);
    V("hostile-value-quote-status-3byte", V_QUOTE_STATUS, "accepte\xE2\x82\xAC");
    V("hostile-value-name-emoji", V_NAME, "Caf\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x82\xAC");
    V("hostile-value-name-invalid-utf8", V_NAME, "ab\xFF\xFE");
    V("hostile-value-name-surrogate", V_NAME, "\xED\xA0\x80");
    V("hostile-value-phone-too-long", V_PHONE, phone);
    V("hostile-value-out-of-scope", V_OUT_OF_SCOPE, "\xC3\xA9t\xC3\xA9");
    V("hostile-value-unknown-field", V_UNKNOWN_FIELD, "\xC3\xA9");
    V("hostile-value-unknown-entity", V_UNKNOWN_ENTITY, "\xC3\xA9");
#undef V
    write_hostile("hostile-value-currency-deflate", SEL_HOSTILE_VALUE | SEL_DEFLATE, -1, NULL,
                  0, V_CURRENCY, "abcdefg\xC3\xA9", 9, NULL);
#define H(name, pick, lit, len) \
    write_hostile(name, SEL_HOSTILE_HEADER, pick, lit, len, -1, NULL, 0, &body)
    H("hostile-ctype-invalid-utf8", H_CTYPE, "application/\xFF\xFE", 14);
    H("hostile-ctype-protobuf-params", H_CTYPE, "application/x-protobuf; v=\xC3\xA9", 30);
    H("hostile-cenc-255-ascii", H_CENC, ascii, 255);
    H("hostile-cenc-255-multibyte", H_CENC, multi, 255);
    H("hostile-cenc-invalid", H_CENC, "\xFF\xFF", 2);
    H("hostile-path-v1-ff", H_V1_PATH, "\xFF", 1);
    H("hostile-path-v1-cut-2byte", H_V1_PATH, "sync\xC3", 5);
    H("hostile-path-admin-ff", H_PATH, "admin/v1/\xFF", 10);
    H("hostile-path-other-ff", H_PATH, "\xFF\xC3", 2);
#undef H
    write_hostile("hostile-cenc-and-value", SEL_HOSTILE_HEADER | SEL_HOSTILE_VALUE, H_CENC,
                  "\xC3\xA9", 2, V_VISIT_STATUS, status, strlen(status), NULL);
    fs_proto_buf_free(&body);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz-mkcorpus-sync DIR\n");
        return 2;
    }
    out_dir = argv[1];
    fz_id(FZ_DEVICE, &dev);
    pulls();
    customers();
    visits();
    quotes();
    contracts_and_more();
    hostile();
    enroll_seed("enroll", SEL_ENROLL, FZ_CODE_PLACEHOLDER, "Anna's tablet ✓");
    enroll_seed("enroll-gzip", SEL_ENROLL | SEL_GZIP, FZ_CODE_PLACEHOLDER, "phone");
    enroll_seed("enroll-raw-deflate-unknown-code", SEL_ENROLL | SEL_RAW | SEL_DEFLATE,
                "fzzz zzzz zzzz", "lowercase code");
    enroll_seed("enroll-unknown-code", SEL_ENROLL, "ABCD-EFGH-JKMN", "guess");
    enroll_seed("enroll-malformed-code", SEL_ENROLL, "ABC", "short");
    if (failures)
        fprintf(stderr, "mkcorpus-sync: %d seeds failed\n", failures);
    return failures != 0;
}
