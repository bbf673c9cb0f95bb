#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt/err.h"
#include "static_files.h"

static char dir[64];

static void put(const char *name, const char *content)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/rt-static-XXXXXX");
    assert_non_null(mkdtemp(dir));
    put("index.html", "<!doctype html><title>board</title>");
    put("app.js", "export const x = 1;");
    put(".secret", "no");
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    mkdir(sub, 0755);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_serves_files_with_types(void **state)
{
    struct edge_static_file f;
    (void)state;
    assert_int_equal(edge_static_read(dir, "/dashboard/", &f), 0);
    assert_string_equal(f.ctype, "text/html; charset=utf-8");
    assert_int_equal(f.len, strlen("<!doctype html><title>board</title>"));
    free(f.body);
    assert_int_equal(edge_static_read(dir, "/dashboard", &f), 0);
    free(f.body);
    assert_int_equal(edge_static_read(dir, "/dashboard/app.js", &f), 0);
    assert_string_equal(f.ctype, "text/javascript; charset=utf-8");
    assert_memory_equal(f.body, "export const x = 1;", f.len);
    free(f.body);
}

static void test_refuses_everything_else(void **state)
{
    struct edge_static_file f;
    (void)state;
    const char *bad[] = {"/dashboard/../README.md",
                         "/dashboard/..",
                         "/dashboard/.secret",
                         "/dashboard/sub",
                         "/dashboard/sub/x",
                         "/dashboard/missing.js",
                         "/dashboardx",
                         "/dashboard/%2e%2e",
                         "/dashboard//etc/passwd",
                         "/etc/passwd",
                         "/dashboard/a b.js",
                         "/dashboard/\xc3\xa9.js"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (edge_static_read(dir, bad[i], &f) != RT_ENOENT)
            fail_msg("served %s", bad[i]);
        assert_null(f.body);
    }
    assert_int_equal(edge_static_read(NULL, "/dashboard/", &f), RT_ENOENT);
    assert_true(edge_static_path("/dashboard/x"));
    assert_false(edge_static_path("/dashboardx"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serves_files_with_types),
        cmocka_unit_test(test_refuses_everything_else),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
