/* Unit suite: configuration keys, validation messages, env fallbacks, plugin info. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ck_run.h"
#include "config.h"
#include "coord.h"
#include "hexrun.h"

static hexrun_config *cfg;

static void setup(void)
{
    unsetenv("HEX_API_TOKEN");
    unsetenv("HEX_API_BASE_URL");
    ck_assert_int_eq(hexrun_config_new(&cfg), HEXRUN_OK);
}

static void teardown(void)
{
    hexrun_config_free(cfg);
}

static char *get(const char *key)
{
    char *v = NULL;
    ck_assert_int_eq(hexrun_config_get(cfg, key, &v), HEXRUN_OK);
    return v;
}

static void assert_value(const char *key, const char *want)
{
    char *v = get(key);
    ck_assert_str_eq(v, want);
    hexrun_free(v);
}

START_TEST(defaults_match_hex_limits)
{
    assert_value("timeout_ms", "30000");
    assert_value("max_retries", "5");
    assert_value("run_budget_per_min", "20");
    assert_value("run_budget_per_hour", "60");
    assert_value("api_budget_per_min", "30");
    assert_value("api_budget_per_hour", "1800");
    assert_value("log_level", "warn");
    assert_value("cancel_on_free", "false");
    assert_value("base_url", "");
}
END_TEST

/* The table is the one list: its defaults are what a new configuration holds, and its
 * ranges are what hexrun_config_set enforces. */
START_TEST(the_key_table_gives_defaults_and_ranges)
{
    char text[32];
    for (size_t i = 0; hexrun__config_key_at(i); i++) {
        const hexrun__config_key *k = hexrun__config_key_at(i);
        if (strcmp(hexrun__config_type_name(k), "int") != 0)
            continue;
        snprintf(text, sizeof text, "%lld", (long long)k->def);
        assert_value(k->name, text);
        snprintf(text, sizeof text, "%lld", (long long)k->min - 1);
        ck_assert_int_eq(hexrun_config_set(cfg, k->name, text), HEXRUN_E_CONFIG);
        snprintf(text, sizeof text, "%lld", (long long)k->max + 1);
        ck_assert_int_eq(hexrun_config_set(cfg, k->name, text), HEXRUN_E_CONFIG);
        snprintf(text, sizeof text, "%lld", (long long)k->max);
        ck_assert_int_eq(hexrun_config_set(cfg, k->name, text), HEXRUN_OK);
        snprintf(text, sizeof text, "%lld", (long long)k->min);
        ck_assert_int_eq(hexrun_config_set(cfg, k->name, text), HEXRUN_OK);
        assert_value(k->name, text);
    }
}
END_TEST

START_TEST(every_documented_key_is_accepted)
{
    static const struct {
        const char *k, *v;
    } ok[] = {{"base_url", "http://127.0.0.1:8080/"},
              {"token", "hxtok_x"},
              {"token_file", "/tmp/t"},
              {"timeout_ms", "1000"},
              {"connect_timeout_ms", "500"},
              {"max_retries", "0"},
              {"retry_base_ms", "10"},
              {"retry_max_ms", "100"},
              {"poll_min_ms", "5"},
              {"poll_max_ms", "50"},
              {"ca_file", "/etc/ssl/ca.pem"},
              {"insecure_skip_verify", "yes"},
              {"proxy", ""},
              {"user_agent", "me/1"},
              {"log_level", "DEBUG"},
              {"max_response_bytes", "2048"},
              {"run_budget_per_min", "0"},
              {"run_budget_per_hour", "100"},
              {"api_budget_per_min", "5"},
              {"api_budget_per_hour", "9"},
              {"cancel_on_free", "on"},
              {"budget_path", "/tmp/b"},
              {"journal_path", "/tmp/j"},
              {"allow_cleartext", "false"},
              {"coord_url", "postgresql://hexrun@db:5432/airflow"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        ck_assert_msg(hexrun_config_set(cfg, ok[i].k, ok[i].v) == HEXRUN_OK, "%s: %s", ok[i].k,
                      hexrun_last_error());
    for (size_t i = 0; hexrun__config_key_at(i); i++) {
        char *v = get(hexrun__config_key_at(i)->name);
        hexrun_free(v);
    }
    assert_value("base_url", "http://127.0.0.1:8080");
    assert_value("insecure_skip_verify", "true");
    assert_value("log_level", "debug");
    assert_value("journal_path", "/tmp/j");
}
END_TEST

START_TEST(coord_url_reads_back_without_its_password)
{
    ck_assert_int_eq(
        hexrun_config_set(cfg, "coord_url", "postgres://u:s3cret@db/x?sslmode=require"), HEXRUN_OK);
    char *v = get("coord_url");
    ck_assert_str_eq(v, "postgres://u:<redacted>@db/x?sslmode=require");
    hexrun_free(v);
    ck_assert_int_eq(hexrun_config_set(cfg, "coord_url", "postgresql:///hexrun?host=/run/pg"),
                     HEXRUN_OK);
    assert_value("coord_url", "postgresql:///hexrun?host=/run/pg");
}
END_TEST

/* The store names a token by its SHA-256 (coord.h): FIPS 180-4's vectors, and lengths
 * around the padding's block edge. */
START_TEST(token_hash_is_sha256)
{
    char out[65];
    hexrun__coord_token_hash("abc", out);
    ck_assert_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hexrun__coord_token_hash("", out);
    ck_assert_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hexrun__coord_token_hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", out);
    ck_assert_str_eq(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char a64[65];
    memset(a64, 'a', 64);
    a64[64] = '\0';
    hexrun__coord_token_hash(a64, out);
    ck_assert_str_eq(out, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}
END_TEST

START_TEST(unknown_key_names_the_key)
{
    ck_assert_int_eq(hexrun_config_set(cfg, "timeout", "5"), HEXRUN_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "unknown config key 'timeout'"));
    char *v = NULL;
    ck_assert_int_eq(hexrun_config_get(cfg, "nope", &v), HEXRUN_E_CONFIG);
    ck_assert_ptr_null(v);
}
END_TEST

START_TEST(bad_values_name_key_and_range_and_leave_config_unchanged)
{
    static const struct {
        const char *k, *v, *needle;
    } bad[] = {{"timeout_ms", "abc", "from 1 to 3600000"},
               {"timeout_ms", "0", "'timeout_ms'"},
               {"timeout_ms", "10 ", "integer"},
               {"max_retries", "-1", "from 0 to 100"},
               {"max_retries", "99999999999999999999", "max_retries"},
               {"insecure_skip_verify", "maybe", "true, false"},
               {"log_level", "loud", "error, warn, info, debug"},
               {"base_url", "ftp://x", "http:// or https://"},
               {"base_url", "https://", "base_url"},
               {"base_url", "https://h/?q", "no query"},
               {"token", "", "'token'"},
               {"token", "a b", "without spaces"},
               {"user_agent", "a\r\nX: y", "control characters"},
               {"base_url", "https://h\x01st/x", "control characters"},
               {"max_response_bytes", "10", "from 1024"},
               {"coord_url", "mysql://db/x", "expected a PostgreSQL URL"},
               {"coord_url", "postgresql://db/x y", "without spaces"},
               {"coord_url", "postgresql://db/\x01", "control characters"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(hexrun_config_set(cfg, bad[i].k, bad[i].v), HEXRUN_E_CONFIG);
        ck_assert_msg(strstr(hexrun_last_error(), bad[i].needle) != NULL, "%s=%s: %s", bad[i].k,
                      bad[i].v, hexrun_last_error());
    }
    assert_value("timeout_ms", "30000");
    assert_value("max_retries", "5");
    assert_value("base_url", "");
}
END_TEST

/* Found by fuzzing: "https://h//" read back as "https://h/", which set again changed. */
START_TEST(base_url_read_back_sets_unchanged)
{
    ck_assert_int_eq(hexrun_config_set(cfg, "base_url", "https://h.example//"), HEXRUN_OK);
    assert_value("base_url", "https://h.example");
    ck_assert_int_eq(hexrun_config_set(cfg, "base_url", "https://h.example"), HEXRUN_OK);
    assert_value("base_url", "https://h.example");
}
END_TEST

START_TEST(token_is_never_echoed)
{
    ck_assert_int_eq(hexrun_config_set(cfg, "token", "secret value"), HEXRUN_E_CONFIG);
    ck_assert_ptr_null(strstr(hexrun_last_error(), "secret"));
    ck_assert_int_eq(hexrun_config_set(cfg, "token", "hxtok_secret"), HEXRUN_OK);
    assert_value("token", "<redacted>");
}
END_TEST

START_TEST(null_arguments_are_rejected)
{
    ck_assert_int_eq(hexrun_config_set(NULL, "token", "x"), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_config_set(cfg, NULL, "x"), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_config_set(cfg, "token", NULL), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_config_new(NULL), HEXRUN_E_INVALID_ARG);
    ck_assert_int_eq(hexrun_config_set_log(NULL, NULL, NULL), HEXRUN_E_INVALID_ARG);
    hexrun_config_free(NULL);
}
END_TEST

static char err[512]; /* the last resolve's message */

static int resolve(hexrun_config **copy)
{
    err[0] = '\0';
    *copy = hexrun__config_copy(cfg);
    ck_assert_ptr_nonnull(*copy);
    return hexrun__config_resolve(*copy, err, sizeof err);
}

START_TEST(missing_token_fails_and_env_fallbacks_apply)
{
    hexrun_config *c;
    ck_assert_int_eq(resolve(&c), HEXRUN_E_CONFIG);
    hexrun_config_free(c);
    setenv("HEX_API_TOKEN", "hxtok_env", 1);
    setenv("HEX_API_BASE_URL", "http://127.0.0.1:9/", 1);
    ck_assert_int_eq(resolve(&c), HEXRUN_OK);
    ck_assert_str_eq(c->token, "hxtok_env");
    ck_assert_str_eq(c->base_url, "http://127.0.0.1:9");
    hexrun_config_free(c);
    /* Keys win over the environment. */
    hexrun_config_set(cfg, "token", "hxtok_key");
    hexrun_config_set(cfg, "base_url", "https://eu.hex.tech");
    ck_assert_int_eq(resolve(&c), HEXRUN_OK);
    ck_assert_str_eq(c->token, "hxtok_key");
    ck_assert_str_eq(c->base_url, "https://eu.hex.tech");
    hexrun_config_free(c);
}
END_TEST

START_TEST(default_base_url_is_hex)
{
    hexrun_config *c;
    hexrun_config_set(cfg, "token", "t");
    ck_assert_int_eq(resolve(&c), HEXRUN_OK);
    ck_assert_str_eq(c->base_url, "https://app.hex.tech");
    hexrun_config_free(c);
}
END_TEST

START_TEST(token_file_is_read_and_trimmed)
{
    char path[] = "/tmp/hexrun-tokenXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "hxtok_file\n", 11), 11);
    close(fd);
    hexrun_config *c;
    hexrun_config_set(cfg, "token_file", path);
    ck_assert_int_eq(resolve(&c), HEXRUN_OK);
    ck_assert_str_eq(c->token, "hxtok_file");
    hexrun_config_free(c);
    unlink(path);
    ck_assert_int_eq(resolve(&c), HEXRUN_E_IO);
    hexrun_config_free(c);
}
END_TEST

START_TEST(cross_key_checks)
{
    hexrun_config *c;
    hexrun_config_set(cfg, "token", "t");
    hexrun_config_set(cfg, "poll_min_ms", "5000");
    hexrun_config_set(cfg, "poll_max_ms", "100");
    ck_assert_int_eq(resolve(&c), HEXRUN_E_CONFIG);
    hexrun_config_free(c);
    ck_assert_int_eq(hexrun_init(cfg, &(hexrun_client *){NULL}), HEXRUN_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "poll_min_ms"));
}
END_TEST

START_TEST(init_without_token_names_the_fix)
{
    hexrun_client *client = NULL;
    ck_assert_int_eq(hexrun_init(cfg, &client), HEXRUN_E_CONFIG);
    ck_assert_ptr_null(client);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "HEX_API_TOKEN"));
    hexrun_config_set(cfg, "token", "t");
    hexrun_config_set(cfg, "base_url", "http://127.0.0.1:1");
    ck_assert_int_eq(hexrun_init(cfg, &client), HEXRUN_OK);
    ck_assert_int_eq(hexrun_shutdown(client, 0), HEXRUN_OK);
}
END_TEST

START_TEST(plugin_info_lists_every_key)
{
    char *info = NULL;
    ck_assert_int_eq(hexrun_plugin_info(&info), HEXRUN_OK);
    ck_assert_ptr_nonnull(strstr(info, "\"name\":\"hexrun\""));
    ck_assert_ptr_nonnull(strstr(info, "\"major\":1"));
    for (size_t i = 0; hexrun__config_key_at(i); i++) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", hexrun__config_key_at(i)->name);
        ck_assert_ptr_nonnull(strstr(info, quoted));
    }
    hexrun_free(info);
}
END_TEST

START_TEST(cleartext_to_another_host_is_refused_unless_allowed)
{
    hexrun_config *c;
    hexrun_config_set(cfg, "token", "t");
    /* Loopback stays easy: exact names and addresses only. */
    const char *loopback[] = {"http://127.0.0.1:8080", "http://127.8.9.10", "http://[::1]:9",
                              "http://LOCALHOST:1", "https://example.com"};
    for (size_t i = 0; i < sizeof loopback / sizeof *loopback; i++) {
        ck_assert_int_eq(hexrun_config_set(cfg, "base_url", loopback[i]), HEXRUN_OK);
        ck_assert_msg(resolve(&c) == HEXRUN_OK, "%s: %s", loopback[i], err);
        hexrun_config_free(c);
    }
    const char *remote[] = {"http://app.hex.tech", "http://127.evil.example:80",
                            "http://127.0.0.1.nip.io", "http://10.0.0.1", "http://[::2]"};
    for (size_t i = 0; i < sizeof remote / sizeof *remote; i++) {
        ck_assert_int_eq(hexrun_config_set(cfg, "base_url", remote[i]), HEXRUN_OK);
        ck_assert_int_eq(resolve(&c), HEXRUN_E_CONFIG);
        hexrun_config_free(c);
        ck_assert_msg(strstr(err, "base_url") && strstr(err, "allow_cleartext=true"), "%s", err);
    }
    ck_assert_int_eq(hexrun_config_set(cfg, "allow_cleartext", "true"), HEXRUN_OK);
    ck_assert_int_eq(resolve(&c), HEXRUN_OK);
    ck_assert_int_eq(hexrun__config_cleartext_remote(c), 1);
    hexrun_config_free(c);
}
END_TEST

static int warnings;
static void count_cleartext(int level, const char *line, void *ud)
{
    (void)ud;
    warnings += level == HEXRUN_LOG_WARN && strstr(line, "event=cleartext") != NULL;
}

START_TEST(allowed_cleartext_is_warned_once)
{
    hexrun_config_set(cfg, "token", "hxtok_secret");
    hexrun_config_set(cfg, "base_url", "http://192.0.2.1:1");
    hexrun_config_set(cfg, "allow_cleartext", "yes");
    hexrun_config_set_log(cfg, count_cleartext, NULL);
    hexrun_client *client = NULL;
    ck_assert_int_eq(hexrun_init(cfg, &client), HEXRUN_OK);
    ck_assert_int_eq(warnings, 1);
    ck_assert_int_eq(hexrun_shutdown(client, HEXRUN_SHUTDOWN_DETACH), HEXRUN_OK);
    ck_assert_int_eq(warnings, 1);
}
END_TEST

START_TEST(userinfo_in_base_url_is_refused)
{
    const char *bad[] = {"https://app.hex.tech\\@127.0.0.1:8080", "https://user@app.hex.tech",
                         "https://u:p@h/x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_int_eq(hexrun_config_set(cfg, "base_url", bad[i]), HEXRUN_E_CONFIG);
        ck_assert_msg(strstr(hexrun_last_error(), "user@"), "%s", hexrun_last_error());
    }
    setenv("HEX_API_BASE_URL", "https://app.hex.tech@127.0.0.1:1", 1);
    hexrun_config_set(cfg, "token", "t");
    hexrun_config *c;
    ck_assert_int_eq(resolve(&c), HEXRUN_E_CONFIG);
    hexrun_config_free(c);
    ck_assert_ptr_nonnull(strstr(err, "HEX_API_BASE_URL"));
}
END_TEST

START_TEST(over_long_values_are_refused_with_the_limit)
{
    size_t n = 1 << 20; /* 1 MiB: once a retried "Out of memory (curl 27)" */
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    ck_assert_int_eq(hexrun_config_set(cfg, "token", big), HEXRUN_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "at most 4096 bytes"));
    ck_assert_ptr_null(strstr(hexrun_last_error(), "aaaa"));
    ck_assert_int_eq(hexrun_config_set(cfg, "user_agent", big), HEXRUN_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "longer than 4096 bytes"));
    memcpy(big, "https://", 8);
    ck_assert_int_eq(hexrun_config_set(cfg, "base_url", big), HEXRUN_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "at most 4096 bytes"));
    memset(big, 'a', n);
    setenv("HEX_API_TOKEN", big, 1);
    hexrun_config *c;
    ck_assert_int_eq(resolve(&c), HEXRUN_E_CONFIG);
    hexrun_config_free(c);
    ck_assert_ptr_nonnull(strstr(err, "longer than 4096 bytes"));
    free(big);
}
END_TEST

START_TEST(a_fifo_token_file_is_refused_without_blocking)
{
    char dir[] = "/tmp/hexrun-fifo-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/token", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    hexrun_config_set(cfg, "token_file", fifo);
    hexrun_config *c;
    alarm(10); /* blocked in open() for ever without O_NONBLOCK */
    ck_assert_int_eq(resolve(&c), HEXRUN_E_CONFIG);
    alarm(0);
    hexrun_config_free(c);
    ck_assert_msg(strstr(err, "token_file") && strstr(err, "not a regular file"), "%s", err);
    unlink(fifo);
    rmdir(dir);
}
END_TEST

START_TEST(a_wrong_ca_file_fails_init)
{
    hexrun_config_set(cfg, "token", "t");
    hexrun_config_set(cfg, "base_url", "https://127.0.0.1:1");
    hexrun_config_set(cfg, "ca_file", "/nonexistent/ca.pem");
    hexrun_client *client = NULL;
    ck_assert_int_eq(hexrun_init(cfg, &client), HEXRUN_E_IO);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "ca_file"));
    char path[] = "/tmp/hexrun-caXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_eq(write(fd, "not a certificate\n", 18), 18);
    close(fd);
    hexrun_config_set(cfg, "ca_file", path);
    ck_assert_int_eq(hexrun_init(cfg, &client), HEXRUN_E_CONFIG);
    ck_assert_msg(strstr(hexrun_last_error(), "no PEM certificate"), "%s", hexrun_last_error());
    hexrun_config_set(cfg, "ca_file", "/tmp");
    ck_assert_int_eq(hexrun_init(cfg, &client), HEXRUN_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(hexrun_last_error(), "not a regular file"));
    fd = open(path, O_WRONLY | O_TRUNC);
    const char pem[] = "# bundle\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    ck_assert_int_eq(write(fd, pem, sizeof pem - 1), (ssize_t)(sizeof pem - 1));
    close(fd);
    hexrun_config_set(cfg, "ca_file", path);
    ck_assert_int_eq(hexrun_init(cfg, &client), HEXRUN_OK);
    hexrun_shutdown(client, HEXRUN_SHUTDOWN_DETACH);
    unlink(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults_match_hex_limits);
    tcase_add_test(tc, the_key_table_gives_defaults_and_ranges);
    tcase_add_test(tc, every_documented_key_is_accepted);
    tcase_add_test(tc, unknown_key_names_the_key);
    tcase_add_test(tc, coord_url_reads_back_without_its_password);
    tcase_add_test(tc, token_hash_is_sha256);
    tcase_add_test(tc, bad_values_name_key_and_range_and_leave_config_unchanged);
    tcase_add_test(tc, base_url_read_back_sets_unchanged);
    tcase_add_test(tc, token_is_never_echoed);
    tcase_add_test(tc, null_arguments_are_rejected);
    tcase_add_test(tc, missing_token_fails_and_env_fallbacks_apply);
    tcase_add_test(tc, default_base_url_is_hex);
    tcase_add_test(tc, token_file_is_read_and_trimmed);
    tcase_add_test(tc, cross_key_checks);
    tcase_add_test(tc, init_without_token_names_the_fix);
    tcase_add_test(tc, plugin_info_lists_every_key);
    tcase_add_test(tc, cleartext_to_another_host_is_refused_unless_allowed);
    tcase_add_test(tc, allowed_cleartext_is_warned_once);
    tcase_add_test(tc, userinfo_in_base_url_is_refused);
    tcase_add_test(tc, over_long_values_are_refused_with_the_limit);
    tcase_add_test(tc, a_fifo_token_file_is_refused_without_blocking);
    tcase_add_test(tc, a_wrong_ca_file_fails_init);
    suite_add_tcase(s, tc);
    return ck_run(s);
}
