/*
 * mkcorpus.c - writes the seed corpus for fuzz_decode from real encodings
 * (one file per message type and framing), so the fuzzer starts from bodies
 * that reach deep into the decoder. Run once; the output is committed.
 * Usage: mkcorpus DIR
 */
#include "fs_proto.h"

#include <stdio.h>
#include <string.h>

static int write_seed(const char *dir, const char *name, unsigned selector,
                      const fs_proto_buf *b)
{
    char path[1024];
    FILE *f;
    unsigned char sel = (unsigned char)selector;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite(&sel, 1, 1, f);
    fwrite(b->data, 1, b->len, f);
    return fclose(f);
}

static void id_of(unsigned char x, fs_id *id)
{
    uint8_t rnd[10];
    memset(rnd, x, sizeof rnd);
    fs_id_from_parts(1767261600000ULL + x, rnd, id);
}

int main(int argc, char **argv)
{
    static const char *const encname[] = {"identity", "deflate", "gzip"};
    fs_id dev, row, cust;
    fs_change ch[2];
    fs_value v = {0};
    fs_hlc h = fs_hlc_make(1767261600000ULL, 1);
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: mkcorpus DIR\n");
        return 2;
    }
    id_of(1, &dev);
    id_of(2, &row);
    id_of(3, &cust);

    fs_change_init(&ch[0], fs_schema_entity("customer"), &cust, &dev, NULL);
    fs_value_text(&v, "Acme GmbH", 9, NULL);
    fs_change_set_named(&ch[0], "name", &v, h, NULL);
    fs_value_clear(&v);
    v = fs_value_real(52.52);
    fs_change_set_named(&ch[0], "lat", &v, h, NULL);
    fs_change_init(&ch[1], fs_schema_entity("visit"), &row, &dev, NULL);
    v = fs_value_idv(&cust);
    fs_change_set_named(&ch[1], "customer_id", &v, h, NULL);
    fs_value_text(&v, "Met the buyer; wants a quote for 20 units.", 42, NULL);
    fs_change_set_named(&ch[1], "notes", &v, h + 1, NULL);
    fs_value_clear(&v);
    fs_value_text(&v, "Met the buyer.", 14, NULL);
    fs_change_set_base(&ch[1], fs_entity_field_index(fs_schema_entity("visit"), "notes"), &v,
                       h - 1000, NULL);
    fs_value_clear(&v);
    v = fs_value_int(1767261600000LL - 60000);
    fs_change_set_named(&ch[1], "checkin_at", &v, h, NULL);
    fs_change_tombstone(&ch[1], false, h + 2);

    for (unsigned e = 0; e < 3; e++) {
        char name[64];
        fs_proto_buf b = {0};
        fs_sync_request req = {.version = FS_PROTO_VERSION, .device_id = dev, .batch_id = row,
                               .cursor = 42, .page_size = 100, .client_time = h,
                               .has_outbox_pending = true, .outbox_pending = 3,
                               .has_rejected_held = true, .rejected_held = 1,
                               .changes = ch, .nchanges = 2};
        fs_sync_result res[2] = {{0, FS_APPLIED, FS_REASON_NONE, ""},
                                 {1, FS_MERGED, FS_REASON_STALE, "a newer write of notes stands"}};
        fs_pulled_row pr[2] = {{.seq = 7}, {.seq = 9}};
        fs_id other;
        fs_scope_exit ex = {fs_schema_entity("customer"), cust, FS_EXIT_REASSIGNED};
        fs_sync_response resp = {.version = FS_PROTO_VERSION, .results = res, .nresults = 2,
                                 .rows = pr, .nrows = 2, .exits = &ex, .nexits = 1,
                                 .server_time = h + 5, .next_cursor = 7, .has_more = true};
        fs_enroll_request er = {.version = FS_PROTO_VERSION};
        fs_enroll_response eresp = {.version = FS_PROTO_VERSION, .device_id = dev,
                                    .rep_id = cust, .server_time = h};
        fs_error_body eb = {.code = FS_PROTO_ERR_REVOKED, .wipe = true};

        fs_row_init(&pr[0].row, fs_schema_entity("customer"), &cust, NULL);
        fs_value_text(&pr[0].row.cells[0].v, "Acme GmbH", 9, NULL);
        pr[0].row.cells[0].hlc = h;
        pr[0].row.cells[0].device = dev;
        /* A deleted visit written by two devices: ID, TIME, e7 REAL, TEXT. */
        id_of(4, &other);
        fs_row_init(&pr[1].row, fs_schema_entity("visit"), &row, NULL);
        {
            fs_row *r = &pr[1].row;
            const fs_entity *ve = r->entity;
            int s_cust = fs_entity_field_index(ve, "customer_id");
            int s_plan = fs_entity_field_index(ve, "planned_at");
            int s_lat = fs_entity_field_index(ve, "checkin_lat");
            int s_notes = fs_entity_field_index(ve, "notes");
            r->cells[s_cust].v = fs_value_idv(&cust);
            r->cells[s_plan].v = fs_value_int(1767261600000LL + 3600000);
            r->cells[s_lat].v = fs_value_real(52.5200066);
            fs_value_text(&r->cells[s_notes].v, "Samples left at reception.", 26, NULL);
            r->cells[s_cust].hlc = r->cells[s_plan].hlc = r->cells[s_lat].hlc = h;
            r->cells[s_notes].hlc = h + 70000;
            r->cells[s_cust].device = r->cells[s_plan].device = r->cells[s_lat].device = dev;
            r->cells[s_notes].device = other;
            r->deleted = true;
            r->del_hlc = h + 80000;
            r->del_device = other;
        }
        strcpy(er.code, "ABCD-EFGH-JKLM");
        strcpy(er.device_name, "anna-laptop");
        strcpy(eresp.token, "0123456789abcdef0123456789abcdef");
        strcpy(eb.message, "device revoked; delete the replica");

        if (fs_proto_sync_request_encode(&req, (fs_proto_encoding)e, NULL, &b, NULL) == FS_PROTO_OK) {
            snprintf(name, sizeof name, "sync-request-%s", encname[e]);
            rc |= write_seed(argv[1], name, 0 | e << 3, &b);
        } else {
            rc = 1;
        }
        fs_proto_buf_free(&b);
        if (fs_proto_sync_response_encode(&resp, (fs_proto_encoding)e, NULL, &b, NULL) == FS_PROTO_OK) {
            snprintf(name, sizeof name, "sync-response-%s", encname[e]);
            rc |= write_seed(argv[1], name, 2 | e << 3, &b);
        } else {
            rc = 1;
        }
        fs_proto_buf_free(&b);
        if (fs_proto_enroll_request_encode(&er, (fs_proto_encoding)e, NULL, &b, NULL) == FS_PROTO_OK) {
            snprintf(name, sizeof name, "enroll-request-%s", encname[e]);
            rc |= write_seed(argv[1], name, 4 | e << 3, &b);
        } else {
            rc = 1;
        }
        fs_proto_buf_free(&b);
        if (fs_proto_enroll_response_encode(&eresp, (fs_proto_encoding)e, NULL, &b, NULL) == FS_PROTO_OK) {
            snprintf(name, sizeof name, "enroll-response-%s", encname[e]);
            rc |= write_seed(argv[1], name, 5 | e << 3, &b);
        } else {
            rc = 1;
        }
        fs_proto_buf_free(&b);
        if (fs_proto_error_body_encode(&eb, (fs_proto_encoding)e, NULL, &b, NULL) == FS_PROTO_OK) {
            snprintf(name, sizeof name, "error-body-%s", encname[e]);
            rc |= write_seed(argv[1], name, 6 | e << 3, &b);
        } else {
            rc = 1;
        }
        fs_proto_buf_free(&b);
        fs_row_free(&pr[0].row);
        fs_row_free(&pr[1].row);
    }
    fs_change_free(&ch[0]);
    fs_change_free(&ch[1]);
    if (rc)
        fprintf(stderr, "mkcorpus: some seeds could not be encoded\n");
    return rc != 0;
}
