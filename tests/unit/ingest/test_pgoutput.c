/* pgoutput v1 decoder, fed hand-built binary messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgoutput.h"
#include "rt/err.h"

#include <string.h>

struct buf {
    uint8_t b[4096];
    size_t n;
};

static void put8(struct buf *b, uint8_t v)
{
    b->b[b->n++] = v;
}

static void putn(struct buf *b, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        put8(b, (uint8_t)(v >> (8 * i)));
}

static void puts0(struct buf *b, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(b->b + b->n, s, n);
    b->n += n;
}

static void put_text(struct buf *b, const char *s)
{
    put8(b, 't');
    putn(b, strlen(s), 4);
    memcpy(b->b + b->n, s, strlen(s));
    b->n += strlen(s);
}

/* Relation 16385 public.calls (id key int4, note text, meta jsonb) */
static void relation_msg(struct buf *b, uint32_t id)
{
    put8(b, 'R');
    putn(b, id, 4);
    puts0(b, "public");
    puts0(b, "calls");
    put8(b, 'f');
    putn(b, 3, 2);
    put8(b, 1);
    puts0(b, "id");
    putn(b, 23, 4);
    putn(b, 0xffffffffu, 4);
    put8(b, 0);
    puts0(b, "note");
    putn(b, 25, 4);
    putn(b, 0xffffffffu, 4);
    put8(b, 0);
    puts0(b, "meta");
    putn(b, 3802, 4);
    putn(b, 0xffffffffu, 4);
}

static struct ingest_pgo *with_relation(void)
{
    struct ingest_pgo *d = ingest_pgo_new();
    struct buf b = {.n = 0};
    struct ingest_pgo_msg m;
    relation_msg(&b, 16385);
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), 0);
    return d;
}

static void test_begin_commit(void **state)
{
    (void)state;
    struct ingest_pgo *d = ingest_pgo_new();
    struct buf b = {.n = 0};
    struct ingest_pgo_msg m;
    put8(&b, 'B');
    putn(&b, 0x16B3748ULL, 8);
    putn(&b, 753000000000123ULL, 8);
    putn(&b, 771, 4);
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), 0);
    assert_int_equal(m.kind, INGEST_PGO_BEGIN);
    assert_int_equal(m.lsn, 0x16B3748ULL);
    assert_int_equal(m.commit_ts, 753000000000123LL);
    assert_int_equal(m.xid, 771);
    /* truncated */
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n - 1, &m), RT_EPROTO);
    /* trailing garbage */
    b.b[b.n] = 0;
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n + 1, &m), RT_EPROTO);

    b.n = 0;
    put8(&b, 'C');
    put8(&b, 0);
    putn(&b, 0x16B3748ULL, 8);
    putn(&b, 0x16B3778ULL, 8);
    putn(&b, 753000000000123ULL, 8);
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), 0);
    assert_int_equal(m.kind, INGEST_PGO_COMMIT);
    assert_int_equal(m.lsn, 0x16B3748ULL);
    assert_int_equal(m.end_lsn, 0x16B3778ULL);
    ingest_pgo_free(d);
}

static void test_relation_and_insert(void **state)
{
    (void)state;
    struct ingest_pgo *d = with_relation();
    const struct ingest_pgo_relation *rel = ingest_pgo_relation(d, 16385);
    assert_non_null(rel);
    assert_string_equal(rel->schema, "public");
    assert_string_equal(rel->table, "calls");
    assert_int_equal(rel->replident, 'f');
    assert_int_equal(rel->ncols, 3);
    assert_true(rel->cols[0].key);
    assert_false(rel->cols[1].key);
    assert_int_equal(rel->cols[2].type_oid, 3802);
    assert_int_equal(rel->cols[2].typmod, -1);

    struct buf b = {.n = 0};
    struct ingest_pgo_msg m;
    put8(&b, 'I');
    putn(&b, 16385, 4);
    put8(&b, 'N');
    putn(&b, 3, 2);
    put_text(&b, "42");
    put8(&b, 'n');
    put_text(&b, "{\"a\": 1}");
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), 0);
    assert_int_equal(m.kind, INGEST_PGO_INSERT);
    assert_ptr_equal(m.rel, rel);
    assert_int_equal(m.old_kind, 0);
    assert_int_equal(m.new_tuple.ncols, 3);
    assert_int_equal(m.new_tuple.vals[0].kind, 't');
    assert_int_equal(m.new_tuple.vals[0].len, 2);
    assert_memory_equal(m.new_tuple.vals[0].data, "42", 2);
    assert_int_equal(m.new_tuple.vals[1].kind, 'n');
    assert_null(m.new_tuple.vals[1].data);
    assert_int_equal(m.new_tuple.vals[2].len, 8);

    /* unknown relation */
    b.b[1] = 9;
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), RT_EPROTO);
    b.b[1] = 0;
    /* a text length past the end */
    b.b[b.n - 9] = 0x7f;
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), RT_EPROTO);
    ingest_pgo_free(d);
}

static void test_update_old_and_toast(void **state)
{
    (void)state;
    struct ingest_pgo *d = with_relation();
    struct buf b = {.n = 0};
    struct ingest_pgo_msg m;
    put8(&b, 'U');
    putn(&b, 16385, 4);
    put8(&b, 'O');
    putn(&b, 3, 2);
    put_text(&b, "42");
    put_text(&b, "old");
    put8(&b, 'u');
    put8(&b, 'N');
    putn(&b, 3, 2);
    put_text(&b, "42");
    put_text(&b, "new");
    put8(&b, 'u');
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), 0);
    assert_int_equal(m.kind, INGEST_PGO_UPDATE);
    assert_int_equal(m.old_kind, 'O');
    assert_memory_equal(m.old_tuple.vals[1].data, "old", 3);
    assert_memory_equal(m.new_tuple.vals[1].data, "new", 3);
    assert_int_equal(m.old_tuple.vals[2].kind, 'u');
    assert_int_equal(m.new_tuple.vals[2].kind, 'u');
    /* old and new use separate scratch arrays */
    assert_ptr_not_equal(m.old_tuple.vals, m.new_tuple.vals);

    /* update without old tuple */
    b.n = 0;
    put8(&b, 'U');
    putn(&b, 16385, 4);
    put8(&b, 'N');
    putn(&b, 3, 2);
    put_text(&b, "1");
    put8(&b, 'n');
    put8(&b, 'n');
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), 0);
    assert_int_equal(m.old_kind, 0);

    /* a column count that disagrees with the relation */
    b.n = 0;
    put8(&b, 'U');
    putn(&b, 16385, 4);
    put8(&b, 'N');
    putn(&b, 2, 2);
    put8(&b, 'n');
    put8(&b, 'n');
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), RT_EPROTO);

    /* an unknown value kind */
    b.n = 0;
    put8(&b, 'U');
    putn(&b, 16385, 4);
    put8(&b, 'N');
    putn(&b, 3, 2);
    put8(&b, 'n');
    put8(&b, 'x');
    put8(&b, 'n');
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), RT_EPROTO);
    ingest_pgo_free(d);
}

static void test_delete_key(void **state)
{
    (void)state;
    struct ingest_pgo *d = with_relation();
    struct buf b = {.n = 0};
    struct ingest_pgo_msg m;
    put8(&b, 'D');
    putn(&b, 16385, 4);
    put8(&b, 'K');
    putn(&b, 3, 2);
    put_text(&b, "7");
    put8(&b, 'n');
    put8(&b, 'n');
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), 0);
    assert_int_equal(m.kind, INGEST_PGO_DELETE);
    assert_int_equal(m.old_kind, 'K');
    assert_memory_equal(m.old_tuple.vals[0].data, "7", 1);

    /* a delete must carry an old tuple */
    b.b[5] = 'N';
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), RT_EPROTO);
    ingest_pgo_free(d);
}

static void test_truncate_type_origin_message(void **state)
{
    (void)state;
    struct ingest_pgo *d = ingest_pgo_new();
    struct buf b = {.n = 0};
    struct ingest_pgo_msg m;
    put8(&b, 'T');
    putn(&b, 2, 4);
    put8(&b, 3);
    putn(&b, 16385, 4);
    putn(&b, 16390, 4);
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), 0);
    assert_int_equal(m.kind, INGEST_PGO_TRUNCATE);
    assert_int_equal(m.nrelids, 2);
    assert_int_equal(m.relids[1], 16390);
    assert_int_equal(m.flags, 3);
    /* count larger than the message */
    b.b[4] = 9;
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), RT_EPROTO);

    b.n = 0;
    put8(&b, 'Y');
    putn(&b, 90001, 4);
    puts0(&b, "public");
    puts0(&b, "mood");
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), 0);
    assert_int_equal(m.kind, INGEST_PGO_TYPE);
    assert_int_equal(m.type_oid, 90001);
    assert_string_equal(m.name2, "mood");
    /* missing NUL */
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n - 1, &m), RT_EPROTO);

    b.n = 0;
    put8(&b, 'O');
    putn(&b, 5, 8);
    puts0(&b, "origin1");
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), 0);
    assert_int_equal(m.kind, INGEST_PGO_ORIGIN);
    assert_string_equal(m.name1, "origin1");

    b.n = 0;
    put8(&b, 'M');
    put8(&b, 1);
    putn(&b, 5, 8);
    puts0(&b, "pfx");
    putn(&b, 3, 4);
    memcpy(b.b + b.n, "abc", 3);
    b.n += 3;
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), 0);
    assert_int_equal(m.kind, INGEST_PGO_MESSAGE);
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n - 1, &m), RT_EPROTO);

    uint8_t unknown[] = {'Z', 0};
    assert_int_equal(ingest_pgo_decode(d, unknown, sizeof(unknown), &m), RT_EPROTO);
    assert_int_equal(ingest_pgo_decode(d, unknown, 0, &m), RT_EPROTO);
    ingest_pgo_free(d);
}

static void test_relation_replaced_and_reset(void **state)
{
    (void)state;
    struct ingest_pgo *d = with_relation();
    struct buf b = {.n = 0};
    struct ingest_pgo_msg m;
    /* the same id again with one column (ALTER TABLE): replaces the cached one */
    put8(&b, 'R');
    putn(&b, 16385, 4);
    puts0(&b, "public");
    puts0(&b, "calls");
    put8(&b, 'd');
    putn(&b, 1, 2);
    put8(&b, 1);
    puts0(&b, "id");
    putn(&b, 20, 4);
    putn(&b, 0xffffffffu, 4);
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n, &m), 0);
    const struct ingest_pgo_relation *rel = ingest_pgo_relation(d, 16385);
    assert_int_equal(rel->ncols, 1);
    assert_int_equal(rel->cols[0].type_oid, 20);
    /* truncated relation message leaves the cache as it was */
    assert_int_equal(ingest_pgo_decode(d, b.b, b.n - 3, &m), RT_EPROTO);
    assert_int_equal(ingest_pgo_relation(d, 16385)->ncols, 1);
    ingest_pgo_reset(d);
    assert_null(ingest_pgo_relation(d, 16385));
    ingest_pgo_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_begin_commit),
        cmocka_unit_test(test_relation_and_insert),
        cmocka_unit_test(test_update_old_and_toast),
        cmocka_unit_test(test_delete_key),
        cmocka_unit_test(test_truncate_type_origin_message),
        cmocka_unit_test(test_relation_replaced_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
