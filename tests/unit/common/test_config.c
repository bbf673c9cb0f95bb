#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "rt/config.h"
#include "rt/err.h"
#include "rt/log.h"

struct tcfg {
    struct rt_common_cfg common;
    char *listen;
    char *secret;
    long long heartbeat_ms;
    bool tls;
    int mode;
};

#define C struct tcfg
static const struct rt_cfg_def defs[] = {
    RT_CFG_COMMON_DEFS(C, common),
    {.env = "RT_EDGE_LISTEN",
     .type = RT_CFG_STR,
     .offset = offsetof(C, listen),
     .def = "127.0.0.1:8080",
     .check = rt_cfg_check_listen,
     .help = "where"},
    {.env = "RT_JWT_SECRET",
     .type = RT_CFG_STR,
     .offset = offsetof(C, secret),
     .secret = true,
     .help = "secret"},
    {.env = "RT_EDGE_HEARTBEAT_MS",
     .type = RT_CFG_INT,
     .offset = offsetof(C, heartbeat_ms),
     .def = "30000",
     .min = 1000,
     .max = 600000,
     .help = "ping interval"},
    {.env = "RT_EDGE_TLS",
     .type = RT_CFG_BOOL,
     .offset = offsetof(C, tls),
     .def = "false",
     .help = "tls"},
    {.env = "RT_EDGE_MODE",
     .type = RT_CFG_ENUM,
     .offset = offsetof(C, mode),
     .def = "fast",
     .choices = "fast|safe",
     .help = "mode"},
};
#define N (sizeof(defs) / sizeof(defs[0]))

/* Captures stderr so tests can assert on what the operator would read. */
static char captured[16384];

static int load(struct tcfg *c, int argc, char **argv, char **env)
{
    char path[] = "/tmp/rt-test-config-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    fflush(stderr);
    dup2(fd, 2);
    rt_log_set_fd(2);
    memset(c, 0, sizeof(*c));
    int rc = rt_config_load(defs, N, c, "rt-test", argc, argv, env);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, captured, sizeof(captured) - 1);
    captured[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return rc;
}

static void test_defaults(void **state)
{
    struct tcfg c;
    char *argv[] = {"rt-test", NULL};
    char *env[] = {NULL};
    (void)state;
    assert_int_equal(load(&c, 1, argv, env), 0);
    assert_string_equal(c.common.redis_url, "redis://127.0.0.1:6379/0");
    assert_int_equal(c.common.log_level, RT_LOG_INFO);
    assert_int_equal(c.common.log_format, RT_LOG_FORMAT_JSON);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    assert_null(c.secret);
    assert_int_equal(c.heartbeat_ms, 30000);
    assert_false(c.tls);
    assert_int_equal(c.mode, 0);
    rt_config_free(defs, N, &c);
}

static void test_env_then_flags_win(void **state)
{
    struct tcfg c;
    char *argv[] = {"rt-test",    "--edge-heartbeat-ms", "5000",
                    "--edge-tls", "--edge-mode=safe",    NULL};
    char *env[] = {"RT_EDGE_HEARTBEAT_MS=2000", "RT_EDGE_LISTEN=0.0.0.0:9000", "RT_LOG_LEVEL=debug",
                   "RT_REDIS_URL=redis://:pw@10.0.0.1:7000/2", NULL};
    (void)state;
    assert_int_equal(load(&c, 5, argv, env), 0);
    assert_int_equal(c.heartbeat_ms, 5000);
    assert_string_equal(c.listen, "0.0.0.0:9000");
    assert_true(c.tls);
    assert_int_equal(c.mode, 1);
    assert_int_equal(c.common.log_level, RT_LOG_DEBUG);
    assert_string_equal(c.common.redis_url, "redis://:pw@10.0.0.1:7000/2");
    rt_config_free(defs, N, &c);
}

static void test_bad_values_name_the_variable(void **state)
{
    struct tcfg c;
    char *argv[] = {"rt-test", NULL};
    char *env[] = {"RT_EDGE_HEARTBEAT_MS=fast", "RT_EDGE_LISTEN=nope", "RT_LOG_LEVEL=loud",
                   "RT_REDIS_URL=http://x",     "RT_EDGE_TLS=maybe",   NULL};
    (void)state;
    assert_int_equal(load(&c, 1, argv, env), RT_ECONFIG);
    /* every invalid setting is reported, not only the first */
    assert_non_null(strstr(captured, "RT_EDGE_HEARTBEAT_MS"));
    assert_non_null(strstr(captured, "an integer from 1000 to 600000"));
    assert_non_null(strstr(captured, "RT_EDGE_LISTEN"));
    assert_non_null(strstr(captured, "host:port"));
    assert_non_null(strstr(captured, "RT_LOG_LEVEL"));
    assert_non_null(strstr(captured, "one of debug|info|warn|error"));
    assert_non_null(strstr(captured, "RT_REDIS_URL"));
    assert_non_null(strstr(captured, "RT_EDGE_TLS"));
    rt_config_free(defs, N, &c);
}

static void test_range_and_flag_errors(void **state)
{
    struct tcfg c;
    char *env[] = {NULL};
    char *a1[] = {"rt-test", "--edge-heartbeat-ms=999", NULL};
    char *a2[] = {"rt-test", "--no-such-flag=1", NULL};
    char *a3[] = {"rt-test", "--edge-listen", NULL};
    char *a4[] = {"rt-test", "--edge-heartbeat-ms=99999999999999999999", NULL};
    (void)state;
    assert_int_equal(load(&c, 2, a1, env), RT_ECONFIG);
    assert_non_null(strstr(captured, "--edge-heartbeat-ms"));
    rt_config_free(defs, N, &c);
    assert_int_equal(load(&c, 2, a2, env), RT_ECONFIG);
    assert_non_null(strstr(captured, "--no-such-flag"));
    rt_config_free(defs, N, &c);
    assert_int_equal(load(&c, 2, a3, env), RT_ECONFIG);
    assert_non_null(strstr(captured, "RT_EDGE_LISTEN"));
    rt_config_free(defs, N, &c);
    assert_int_equal(load(&c, 2, a4, env), RT_ECONFIG);
    rt_config_free(defs, N, &c);
}

static void test_secret_from_file_and_hidden(void **state)
{
    struct tcfg c;
    char path[] = "/tmp/rt-test-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(write(fd, "from-file\n", 10) == 10);
    close(fd);
    char envline[128];
    snprintf(envline, sizeof(envline), "RT_JWT_SECRET_FILE=%s", path);
    char *env[] = {envline, NULL};
    char *argv[] = {"rt-test", NULL};
    (void)state;
    assert_int_equal(load(&c, 1, argv, env), 0);
    assert_string_equal(c.secret, "from-file");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rt_config_print(defs, N, &c, f);
    fclose(f);
    assert_non_null(strstr(buf, "RT_JWT_SECRET=***"));
    assert_null(strstr(buf, "from-file"));
    free(buf);
    rt_config_free(defs, N, &c);
    unlink(path);

    /* an unreadable secret file is an error naming the variable */
    char *env2[] = {"RT_JWT_SECRET_FILE=/nonexistent/secret", NULL};
    assert_int_equal(load(&c, 1, argv, env2), RT_ECONFIG);
    assert_non_null(strstr(captured, "RT_JWT_SECRET"));
    rt_config_free(defs, N, &c);
}

static void test_help_lists_every_setting_with_default(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    (void)state;
    rt_config_print_help(defs, N, "rt-test", f);
    fclose(f);
    for (size_t i = 0; i < N; i++) {
        char flag[64];
        assert_non_null(strstr(buf, defs[i].env));
        rt_config_flag_name(defs[i].env, flag, sizeof(flag));
        assert_non_null(strstr(buf, flag));
    }
    assert_non_null(strstr(buf, "default: 30000"));
    assert_non_null(strstr(buf, "default: redis://127.0.0.1:6379/0"));
    free(buf);

    struct tcfg c;
    char *argv[] = {"rt-test", "--help", NULL};
    char *env[] = {NULL};
    int saved = dup(1);
    int devnull = open("/dev/null", O_WRONLY);
    fflush(stdout);
    dup2(devnull, 1);
    int rc = load(&c, 2, argv, env);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(devnull);
    assert_int_equal(rc, RT_CFG_EXIT_OK);
    rt_config_free(defs, N, &c);
}

static void test_flag_names_and_listen_parse(void **state)
{
    char flag[64], host[64];
    int port;
    (void)state;
    rt_config_flag_name("RT_EDGE_LISTEN", flag, sizeof(flag));
    assert_string_equal(flag, "--edge-listen");
    rt_config_flag_name("RT_JWT_TENANT_CLAIM", flag, sizeof(flag));
    assert_string_equal(flag, "--jwt-tenant-claim");
    assert_int_equal(rt_listen_parse("127.0.0.1:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 0);
    assert_int_equal(rt_listen_parse("[::1]:8080", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 8080);
    assert_int_equal(rt_listen_parse("host:65536", host, sizeof(host), &port), RT_EINVAL);
    assert_int_equal(rt_listen_parse(":80", host, sizeof(host), &port), RT_EINVAL);
    assert_int_equal(rt_listen_parse("host:", host, sizeof(host), &port), RT_EINVAL);
    assert_int_equal(rt_listen_parse("host:8x", host, sizeof(host), &port), RT_EINVAL);
}

static void test_unknown_settings_warned_by_family(void **state)
{
    struct tcfg c;
    char *argv[] = {"rt-test", NULL};
    char *env[] = {"RT_EDGE_LISTN=0.0.0.0:1",      /* a typo in this process's family */
                   "RT_JWT_SECRET_FILE=/dev/null", /* the file form of a secret: known */
                   "RT_JWT_ISSUR=x",               /* a typo in a shared family */
                   "RT_PG_SLOT=other_process",     /* another process's setting */
                   "RT_TEST_STATE=/tmp",           /* not a setting family of ours */
                   "RT_EDGE_MODE=safe",
                   NULL};
    (void)state;
    assert_int_equal(load(&c, 1, argv, env), 0);
    assert_non_null(strstr(captured, "\"config.unknown\""));
    assert_non_null(strstr(captured, "RT_EDGE_LISTN"));
    assert_non_null(strstr(captured, "\"did_you_mean\":\"RT_EDGE_LISTEN\""));
    assert_non_null(strstr(captured, "RT_JWT_ISSUR"));
    assert_null(strstr(captured, "RT_JWT_SECRET_FILE"));
    assert_null(strstr(captured, "RT_PG_SLOT"));
    assert_null(strstr(captured, "RT_TEST_STATE"));
    assert_null(strstr(captured, "0.0.0.0:1")); /* names only, never values */
    assert_int_equal(c.mode, 1);
    rt_config_free(defs, N, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_env_then_flags_win),
        cmocka_unit_test(test_bad_values_name_the_variable),
        cmocka_unit_test(test_range_and_flag_errors),
        cmocka_unit_test(test_secret_from_file_and_hidden),
        cmocka_unit_test(test_help_lists_every_setting_with_default),
        cmocka_unit_test(test_flag_names_and_listen_parse),
        cmocka_unit_test(test_unknown_settings_warned_by_family),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
