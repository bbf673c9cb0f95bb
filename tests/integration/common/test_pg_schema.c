/* The demo schema loads into PostgreSQL with wal_level=logical and the publication rt-ingest
 * streams exists and covers the six demo tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_test.h"

static PGconn *conn;

static PGresult *q(const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(conn));
    return r;
}

static void test_wal_level_logical(void **state)
{
    (void)state;
    PGresult *r = q("SHOW wal_level");
    assert_string_equal(PQgetvalue(r, 0, 0), "logical");
    PQclear(r);
}

static void test_publication_covers_demo_tables(void **state)
{
    (void)state;
    PGresult *r = q("SELECT tablename FROM pg_publication_tables WHERE pubname = 'rt_pub' "
                    "ORDER BY tablename");
    const char *want[] = {"agents", "appointments", "calls", "conversation_history",
                          "tasks",  "workflows"};
    assert_int_equal(PQntuples(r), 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(PQgetvalue(r, i, 0), want[i]);
    PQclear(r);
}

static void test_tables_have_tenant_and_timestamps(void **state)
{
    (void)state;
    PGresult *r = q("SELECT table_name, count(*) FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND column_name IN "
                    "('id', 'organization_id', 'created_at', 'updated_at') "
                    "GROUP BY table_name ORDER BY table_name");
    assert_int_equal(PQntuples(r), 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(PQgetvalue(r, i, 1), "4");
    PQclear(r);
    r = q("SELECT relreplident FROM pg_class WHERE relname = 'calls'");
    assert_string_equal(PQgetvalue(r, 0, 0), "f"); /* REPLICA IDENTITY FULL */
    PQclear(r);
    /* a realistic insert works with the defaults */
    PQclear(q("INSERT INTO calls (organization_id, direction, from_number, to_number, provider, "
              "provider_call_id) VALUES ('acme', 'inbound', '+14155550100', '+14155550199', "
              "'twilio', 'CA123')"));
    r = q("SELECT status, end_time IS NULL FROM calls WHERE provider_call_id = 'CA123'");
    assert_string_equal(PQgetvalue(r, 0, 0), "initiated");
    assert_string_equal(PQgetvalue(r, 0, 1), "t");
    PQclear(r);
    /* a row without a tenant is refused by the schema itself */
    r = PQexec(conn, "INSERT INTO tasks (title) VALUES ('x')");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
}

int main(void)
{
    char conninfo[512];
    assert_true(rt_test_pg_conninfo(conninfo, sizeof(conninfo)));
    conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "connect: %s\n", PQerrorMessage(conn));
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_level_logical),
        cmocka_unit_test(test_publication_covers_demo_tables),
        cmocka_unit_test(test_tables_have_tenant_and_timestamps),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    PQfinish(conn);
    return rc;
}
