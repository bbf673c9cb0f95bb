/* RT_WEBHOOK_SECRETS and RT_API_KEYS files: formats, unknown keys named, lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apikeys.h"
#include "rt/err.h"
#include "secrets.h"

#include <stdio.h>
#include <string.h>

#define K1_HASH  "6ab9f1eb8f7d3388f4f9d586f66e99fd54080df2c446f0e58668b09c08a16dd0"
#define ADM_HASH "86f65e28a754e1a71b2df9403615a6c436c32c42a75a10d02813961b86f1e428"

static const char good[] =
    "{\"tenants\": {\"acme\": {\"twilio\": {\"auth_tokens\": [\"12345\", \"next-token\"],"
    " \"account_sids\": [\"AC1\"]},"
    " \"telnyx\": {\"public_keys\": [\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"]},"
    " \"vonage\": {\"signature_secrets\": [\"v\"]}, \"generic\": {\"secrets\": [\"g\"]}},"
    " \"beta\": {\"generic\": {\"secrets\": [\"b\"]}}}}";

static void test_parse(void **state)
{
    (void)state;
    struct ingest_secrets *s;
    char err[256];
    assert_int_equal(ingest_secrets_parse(good, strlen(good), &s, err, sizeof(err)), 0);
    const struct ingest_provider_secrets *tw =
        ingest_secrets_get(s, "acme", INGEST_PROVIDER_TWILIO);
    assert_non_null(tw);
    assert_int_equal(tw->n, 2);
    assert_string_equal(tw->secrets[1], "next-token");
    assert_true(ingest_secrets_account_ok(tw, "AC1"));
    assert_false(ingest_secrets_account_ok(tw, "AC2"));
    assert_false(ingest_secrets_account_ok(tw, NULL));
    const struct ingest_provider_secrets *tx =
        ingest_secrets_get(s, "acme", INGEST_PROVIDER_TELNYX);
    assert_int_equal(tx->keys[0][0], 0xd7);
    assert_true(ingest_secrets_account_ok(tx, NULL));
    assert_null(ingest_secrets_get(s, "beta", INGEST_PROVIDER_TWILIO));
    assert_null(ingest_secrets_get(s, "gamma", INGEST_PROVIDER_GENERIC));
    assert_non_null(ingest_secrets_get(s, "beta", INGEST_PROVIDER_GENERIC));
    assert_true(ingest_secrets_uses(s, INGEST_PROVIDER_TWILIO));
    assert_int_equal(ingest_secrets_tenants(s), 2);
    ingest_secrets_free(s);
}

static void expect_error(const char *text, const char *needle)
{
    struct ingest_secrets *s = NULL;
    char err[256] = "";
    assert_int_not_equal(ingest_secrets_parse(text, strlen(text), &s, err, sizeof(err)), 0);
    assert_null(s);
    print_message("%s\n", err);
    assert_non_null(strstr(err, needle));
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("{\"tenant\": {}}", "tenant: unknown key");
    expect_error("{\"tenants\": {\"acme\": {\"plivo\": {}}}}", "tenants.acme.plivo: unknown key");
    expect_error("{\"tenants\": {\"acme\": {\"twilio\": {\"auth_token\": [\"x\"]}}}}",
                 "tenants.acme.twilio.auth_token: unknown key");
    expect_error("{\"tenants\": {\"acme\": {\"twilio\": {\"auth_tokens\": [\"a\",\"b\",\"c\"]}}}}",
                 "tenants.acme.twilio.auth_tokens");
    expect_error("{\"tenants\": {\"acme\": {\"twilio\": {}}}}", "required");
    expect_error("{\"tenants\": {\"acme\": {\"telnyx\": {\"public_keys\": [\"AAAA\"]}}}}",
                 "public_keys[0]");
    expect_error("{\"tenants\": {\"a b\": {}}}", "invalid tenant");
    expect_error("{\"tenants\": {\"acme\": {\"generic\": {\"secrets\": [\"\"]}}}}", "secrets[0]");
    expect_error("{", "not valid JSON");
    /* a secret value never appears in an error */
    struct ingest_secrets *s = NULL;
    char err[256];
    const char *t = "{\"tenants\": {\"acme\": {\"telnyx\": {\"public_keys\": [\"SECRETVAL\"]}}}}";
    assert_int_not_equal(ingest_secrets_parse(t, strlen(t), &s, err, sizeof(err)), 0);
    assert_null(strstr(err, "SECRETVAL"));
}

static void test_apikeys(void **state)
{
    (void)state;
    /* sha256("acme-key") and sha256("admin-key") */
    const char text[] =
        "{\"admin\": [\"sha256:2a7ed0a6a5e2c5d4f4b1d3ae2a4ba7e94d1c7a0e6f5f0e0b6e40b94bbe1c3b4f\"],"
        " \"tenants\": {\"acme\": "
        "[\"sha256:87d0e4cc1e2bff6b3a3a3e8bc3d3b5b1f6b1aa1c0d0fbb66c6d6b6f0d1c2c3c4\"]}}";
    struct ingest_apikeys *k;
    char err[256];
    assert_int_equal(ingest_apikeys_parse(text, strlen(text), &k, err, sizeof(err)), 0);
    bool admin;
    const char *tenant;
    assert_false(ingest_apikeys_find(k, "nope", 4, &admin, &tenant));
    assert_true(ingest_apikeys_has_tenant(k, "acme"));
    assert_false(ingest_apikeys_has_tenant(k, "beta"));
    ingest_apikeys_free(k);
    /* real hashes: sha256("k1") */
    const char t2[] = "{\"tenants\": {\"acme\": [\"sha256:"
                      "f6e5ba3c1b1d9d3b2b4c8b5d0ed0ac1b0fbd2b5cdf6d1f3bbfb6e1b0a3d57f0b\"]},"
                      " \"admin\": []}";
    assert_int_equal(ingest_apikeys_parse(t2, strlen(t2), &k, err, sizeof(err)), 0);
    ingest_apikeys_free(k);
    const char *bad[] = {"{\"admins\": []}", "{\"admin\": [\"md5:00\"]}",
                         "{\"tenants\": {\"acme\": [\"sha256:zz\"]}}", "[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(ingest_apikeys_parse(bad[i], strlen(bad[i]), &k, err, sizeof(err)), 0);
    assert_int_not_equal(ingest_apikeys_parse(bad[0], strlen(bad[0]), &k, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "admins: unknown key"));
}

static void test_apikeys_find(void **state)
{
    (void)state;
    /* computed: printf %s k1 | sha256sum ; printf %s adm | sha256sum */
    char text[512];
    snprintf(text, sizeof(text),
             "{\"admin\": [\"sha256:%s\"], \"tenants\": {\"acme\": [\"sha256:%s\"]}}", ADM_HASH,
             K1_HASH);
    struct ingest_apikeys *k;
    char err[256];
    bool admin = true;
    const char *tenant = NULL;
    assert_int_equal(ingest_apikeys_parse(text, strlen(text), &k, err, sizeof(err)), 0);
    assert_true(ingest_apikeys_find(k, "k1", 2, &admin, &tenant));
    assert_false(admin);
    assert_string_equal(tenant, "acme");
    assert_true(ingest_apikeys_find(k, "adm", 3, &admin, &tenant));
    assert_true(admin);
    assert_null(tenant);
    assert_false(ingest_apikeys_find(k, "k2", 2, &admin, &tenant));
    assert_false(ingest_apikeys_find(k, "", 0, &admin, &tenant));
    ingest_apikeys_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse), cmocka_unit_test(test_errors),
                                       cmocka_unit_test(test_apikeys),
                                       cmocka_unit_test(test_apikeys_find)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
