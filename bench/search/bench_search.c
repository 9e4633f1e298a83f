/*
 * bench_search.c - customer search latency on a replica of 50,000
 * customers (25,000 with --quick), each with a contact.
 *
 * The replica is written straight into the store's tables (the rows a
 * bootstrap would have pulled: a third Latin names, a third Chinese, and
 * Japanese and Korean ones, addresses with street numbers, phone numbers
 * typed with spaces), then opened with fc_open, which builds both search
 * indexes of every customer (the search_sub backfill of fc_db.c: the time
 * is reported). Each query kind then runs through fc_list as `customer
 * search` does (limit 50) and its median latency is reported against the
 * median of a plain word-prefix search measured in the same launch.
 * Target (issue #14): median under 20 ms for every kind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../bench_report.h"
#include "bench_common.h"
#include "fieldclient.h"
#include "fs_store.h"

static const char *latin_syl[] = {"ka", "lo", "mi", "ber", "gen", "stad", "wen",
                                  "tor", "ri", "an", "sel", "mar", "vik", "ol"};
static const char *latin_suffix[] = {"GmbH", "Ltd", "SARL", "BV", "AG", "Oy"};
static const char *cn_family[] = {"张", "王", "李", "赵", "刘", "陈", "杨", "黄"};
static const char *cn_mid[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊",
                               "军", "洋", "勇", "艳", "杰", "涛", "明", "超"};
static const char *cn_kind[] = {"贸易有限公司", "科技有限公司", "食品有限公司",
                                "建材商行", "五金店"};
static const char *cn_city[] = {"上海市浦东新区", "北京市朝阳区", "广州市天河区",
                                "深圳市南山区", "杭州市西湖区"};
static const char *cn_road[] = {"世纪大道", "建国路", "天河路", "科技园路", "文三路"};
static const char *jp[] = {"株式会社トヨタ販売", "山田商事", "スズキ工業", "東京物産"};
static const char *kr[] = {"삼성전자 대리점", "현대상사", "서울무역", "한빛유통"};

#define PICK(a, r) (a)[bc_rnd(r) % (sizeof(a) / sizeof((a)[0]))]

static uint64_t rnd = 42;
static int64_t seq;

static void set_text(fs_row *row, const char *field, const char *s)
{
    int i = fs_entity_field_index(row->entity, field);

    if (i < 0 || fs_value_text(&row->cells[i].v, s, strlen(s), NULL) != FS_OK)
        bc_die("set %s", field);
    row->cells[i].hlc = (fs_hlc)1 << 20;
}

static void gen_name(char *out, size_t cap, unsigned kind)
{
    switch (kind) {
    case 0:
    case 1:
        snprintf(out, cap, "%s%s%s %s%s %s", PICK(latin_syl, &rnd), PICK(latin_syl, &rnd),
                 PICK(latin_syl, &rnd), PICK(latin_syl, &rnd), PICK(latin_syl, &rnd),
                 PICK(latin_suffix, &rnd));
        out[0] = (char)(out[0] - 'a' + 'A');
        break;
    case 2:
    case 3:
        snprintf(out, cap, "%s%s%s%s", PICK(cn_family, &rnd), PICK(cn_mid, &rnd),
                 PICK(cn_mid, &rnd), PICK(cn_kind, &rnd));
        break;
    case 4:
        snprintf(out, cap, "%s %u", PICK(jp, &rnd), (unsigned)(bc_rnd(&rnd) % 900 + 100));
        break;
    default:
        snprintf(out, cap, "%s %u", PICK(kr, &rnd), (unsigned)(bc_rnd(&rnd) % 900 + 100));
    }
}

/* Writes n customers with one contact each into the replica's tables. */
static void populate(const char *path, size_t n)
{
    sqlite3 *db = NULL;
    fs_store *st = NULL;
    fs_error err = {0};
    char text[300];
    fs_row row;
    fs_id cid, kid;

    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        bc_die("open %s", path);
    if (fs_store_open(db, "", &st, &err) != FS_STORE_OK)
        bc_die("store: %s", err.text);
    for (size_t i = 0; i < n; i++) {
        unsigned kind = (unsigned)(bc_rnd(&rnd) % 6);
        if (fs_id_new(1700000000000LL + (int64_t)i, &cid, NULL) != FS_OK)
            bc_die("id");
        memset(&row, 0, sizeof row);
        if (fs_row_init(&row, fs_schema_entity("customer"), &cid, NULL) != FS_OK)
            bc_die("row");
        gen_name(text, sizeof text, kind);
        set_text(&row, "name", text);
        if (kind == 2 || kind == 3)
            snprintf(text, sizeof text, "%s%s%u号", PICK(cn_city, &rnd), PICK(cn_road, &rnd),
                     (unsigned)(bc_rnd(&rnd) % 2000 + 1));
        else
            snprintf(text, sizeof text, "%u Market Street, Springfield %05u",
                     (unsigned)(bc_rnd(&rnd) % 999), (unsigned)(bc_rnd(&rnd) % 99999));
        set_text(&row, "address", text);
        snprintf(text, sizeof text, "+44 161 %03u %04u", (unsigned)(bc_rnd(&rnd) % 1000),
                 (unsigned)(bc_rnd(&rnd) % 10000));
        set_text(&row, "phone", text);
        set_text(&row, "tags", kind < 2 ? "retail key-account" : "wholesale");
        if (fs_store_save(st, &row, ++seq, &cid, &err) != FS_STORE_OK)
            bc_die("save: %s", err.text);
        fs_row_free(&row);

        if (fs_id_new(1700000000000LL + (int64_t)i, &kid, NULL) != FS_OK)
            bc_die("id");
        memset(&row, 0, sizeof row);
        if (fs_row_init(&row, fs_schema_entity("contact"), &kid, NULL) != FS_OK)
            bc_die("row");
        row.cells[fs_entity_field_index(row.entity, "customer_id")].v = fs_value_idv(&cid);
        gen_name(text, sizeof text, kind < 2 ? 0 : 2);
        set_text(&row, "name", text);
        snprintf(text, sizeof text, "+86 21 %04u %04u", (unsigned)(bc_rnd(&rnd) % 10000),
                 (unsigned)(bc_rnd(&rnd) % 10000));
        set_text(&row, "phone", text);
        if (fs_store_save(st, &row, ++seq, &cid, &err) != FS_STORE_OK)
            bc_die("save: %s", err.text);
        fs_row_free(&row);
    }
    /* The rows are in no index yet: as if made before the substring index,
     * so fc_open builds both (fc_sub needs the tokenizer fc_open adds). */
    if (sqlite3_exec(db, "DELETE FROM fc_meta WHERE key = 'search_sub'; COMMIT",
                     NULL, NULL, NULL) != SQLITE_OK)
        bc_die("commit: %s", sqlite3_errmsg(db));
    fs_store_close(st);
    sqlite3_close(db);
}

static bool count_row(const fs_row *r, void *p)
{
    (void)r;
    (*(size_t *)p)++;
    return true;
}

/* Median ms of `reps` searches for q (a warm-up first); *hits = rows. */
static double time_query(fc_client *c, const char *q, int reps, size_t *hits)
{
    double t[64];
    fc_query fq = {0};
    fs_error err = {0};

    fq.search = q;
    fq.limit = 50;
    for (int i = -1; i < reps; i++) {
        size_t n = 0;
        double t0 = bc_now_ms();
        if (fc_list(c, "customer", &fq, count_row, &n, NULL, &err) != FC_OK)
            bc_die("search '%s': %s", q, err.text);
        if (i >= 0)
            t[i] = bc_now_ms() - t0;
        *hits = n;
    }
    return bc_percentile(t, (size_t)reps, 50);
}

int main(int argc, char **argv)
{
    static const struct { const char *kind, *q; } queries[] = {
        {"latin_word_prefix", "kalo"},   /* also the baseline */
        {"latin_two_words", "mar gmbh"},
        {"cjk_2_chars", "张伟"},
        {"cjk_3_chars", "建国路"},
        {"cjk_company", "有限公司"},
        {"japanese", "トヨタ"},
        {"korean_2_chars", "삼성"},
        {"digits_in_address", "1000号"},
        {"phone_digits", "1615550"},
        {"phone_typed", "+44 161 555"},
        {"two_digits", "42"},
    };
    bool quick = bench_quick(argc, argv);
    size_t n = quick ? 25000 : 50000, hits = 0;
    int reps = quick ? 5 : 21;
    char path[512], cs[32];
    bc_tmp tmp;
    fc_client *c = NULL;
    fs_error err = {0};
    double t0, base;

    bc_tmp_make(&tmp, "search");
    bc_tmp_path(&tmp, "replica.db", path, sizeof path);
    if (fc_open(path, NULL, &c, &err) != FC_OK)
        bc_die("fc_open: %s", err.text);
    fc_close(c);
    populate(path, n);
    t0 = bc_now_ms();
    if (fc_open(path, NULL, &c, &err) != FC_OK)
        bc_die("fc_open: %s", err.text);
    snprintf(cs, sizeof cs, "%zuk", n / 1000);
    bc_result("search", cs, "index_build_ms", bc_now_ms() - t0, "ms", 0, NULL);

    base = time_query(c, queries[0].q, reps, &hits);
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        double ms = time_query(c, queries[i].q, reps, &hits);
        char name[96];
        snprintf(name, sizeof name, "%s_%s", cs, queries[i].kind);
        fprintf(stderr, "search %-28s %-14s %7.2f ms  %zu hits\n", name, queries[i].q,
                ms, hits);
        if (!hits)
            bc_die("query '%s' found nothing: the bench's data is wrong", queries[i].q);
        bc_result("search", name, "median_ms", ms, "ms", base, "<20");
    }
    fc_close(c);
    bc_tmp_remove(&tmp);
    return 0;
}
