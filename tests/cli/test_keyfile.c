/* The key-file parser and the durable staged write (src/host/keyfile.c), issue 8 finding 3:
 * the parser accepted "-1-1..." and "+f+f..." as hex and trailing text; the writer overwrote an
 * existing file keeping its mode and followed a planted symlink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hooks.h"
#include "vsafe/host.h"

#define MAC "00112233445566778899aabbccddeeff"
#define CIPHER "0123456789abcdef0123456789ABCDEF"
#define MAC32 MAC "ffeeddccbbaa99887766554433221100"
#define CIPHER32 CIPHER "fedcba9876543210fedcba9876543210"

static int parse(const char *text, vsafe_keyfile_t *k)
{
    return vsafe_keyfile_parse(text, strlen(text), k);
}

static void assert_rejected(const char *text, unsigned line)
{
    vsafe_keyfile_t k;
    memset(&k, 0xA5, sizeof k);
    assert_int_equal(parse(text, &k), VSAFE_ERR_PARSE);
    assert_int_equal(k.error_line, line);
    static const uint8_t zero[32];
    assert_memory_equal(k.mac, zero, 32); /* nothing of a rejected file is left */
    assert_memory_equal(k.cipher, zero, 32);
}

static void test_accepts_the_grammar(void **state)
{
    (void)state;
    vsafe_keyfile_t k;
    assert_int_equal(parse("# c\n\ntype aes128\nmac " MAC "\ncipher " CIPHER "\n", &k), VSAFE_OK);
    assert_int_equal(k.type, VSAFE_HOST_KEY_AES128);
    assert_int_equal(k.key_len, 16);
    assert_int_equal(k.mac[0], 0x00);
    assert_int_equal(k.mac[15], 0xff);
    assert_int_equal(k.cipher[15], 0xef); /* upper-case digits are hex too */
    /* any order, CRLF, no final newline */
    assert_int_equal(parse("cipher " CIPHER32 "\r\nmac " MAC32 "\r\ntype aes256", &k), VSAFE_OK);
    assert_int_equal(k.type, VSAFE_HOST_KEY_AES256);
    assert_int_equal(k.key_len, 32);
    assert_int_equal(k.mac[31], 0x00);
}

static void test_regress_finding3_parser_rejects_signs_and_junk(void **state)
{
    (void)state;
    assert_rejected("type aes128\nmac -1-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1\ncipher " CIPHER "\n", 2);
    assert_rejected("type aes128\nmac " MAC "\ncipher +f+f+f+f+f+f+f+f+f+f+f+f+f+f+f+f\n", 3);
    assert_rejected("type aes128\nmac " MAC "\ncipher " CIPHER " junk\n", 3);
    assert_rejected("type aes128\nmac " MAC "\ncipher " CIPHER "\ntrailing\n", 4);
    assert_rejected("type aes128\nmac 0x" MAC "\ncipher " CIPHER "\n", 2);
    assert_rejected("type aes128\nmac 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff\ncipher " CIPHER "\n", 2);
    assert_rejected("type aes128 \nmac " MAC "\ncipher " CIPHER "\n", 1);
    assert_rejected(" type aes128\nmac " MAC "\ncipher " CIPHER "\n", 1);
    assert_rejected("type  aes128\nmac " MAC "\ncipher " CIPHER "\n", 1);
    assert_rejected("type AES128\nmac " MAC "\ncipher " CIPHER "\n", 1);
    assert_rejected("key aes128\n", 1);
    assert_rejected(" \n", 1);
}

static void test_regress_finding3_parser_rejects_lengths_and_duplicates(void **state)
{
    (void)state;
    assert_rejected("type aes128\nmac " MAC "00\ncipher " CIPHER "\n", 2);          /* 17 bytes */
    assert_rejected("type aes128\nmac 00112233445566778899aabbccddee\ncipher " CIPHER "\n", 2); /* 15 */
    assert_rejected("type aes256\nmac " MAC "\ncipher " CIPHER "\n", 0);           /* type says 32 */
    assert_rejected("type aes128\nmac " MAC32 "\ncipher " CIPHER32 "\n", 0);       /* type says 16 */
    /* which key, and what the type said, for the message (the key bytes are gone) */
    vsafe_keyfile_t k;
    memset(&k, 0, sizeof k);
    assert_int_equal(parse("type aes256\nmac " MAC32 "\ncipher " CIPHER "\n", &k), VSAFE_ERR_PARSE);
    assert_int_equal(k.error_key_len, 16);
    assert_int_equal(k.type, VSAFE_HOST_KEY_AES256);
    assert_int_equal(parse("type aes128\nmac " MAC32 "\ncipher " CIPHER32 "\n", &k), VSAFE_ERR_PARSE);
    assert_int_equal(k.error_key_len, 32);
    assert_int_equal(k.type, VSAFE_HOST_KEY_AES128);
    assert_int_equal(parse("type aes128\nmac " MAC "00\ncipher " CIPHER "\n", &k), VSAFE_ERR_PARSE);
    assert_int_equal(k.error_key_len, 0); /* a line at fault: no length to report */
    assert_rejected("type aes128\nmac " MAC "\nmac " MAC "\ncipher " CIPHER "\n", 3);
    assert_rejected("type aes128\ntype aes128\nmac " MAC "\ncipher " CIPHER "\n", 2);
    assert_rejected("type aes128\nmac " MAC "\ncipher " CIPHER "\ncipher " CIPHER "\n", 4);
    assert_rejected("type aes128\nmac " MAC "\n", 0);
    assert_rejected("mac " MAC "\ncipher " CIPHER "\n", 0);
    assert_rejected("", 0);
    const char nul[] = "type aes128\nmac " MAC "\ncipher " CIPHER "\n\0";
    assert_int_equal(vsafe_keyfile_parse(nul, sizeof nul, &k), VSAFE_ERR_PARSE);
    static char big[VSAFE_KEYFILE_TEXT_MAX + 2];
    memset(big, '#', sizeof big - 1);
    assert_int_equal(vsafe_keyfile_parse(big, sizeof big - 1, &k), VSAFE_ERR_PARSE);
    assert_int_equal(vsafe_keyfile_parse(NULL, 0, &k), VSAFE_ERR_PARSE);
    assert_int_equal(vsafe_keyfile_parse(NULL, 1, &k), VSAFE_ERR_ARGUMENT);
}

static void test_format_round_trip(void **state)
{
    (void)state;
    vsafe_keyfile_t k, back;
    memset(&k, 0, sizeof k);
    k.type = VSAFE_HOST_KEY_AES256;
    k.key_len = 32;
    for (int i = 0; i < 32; i++) {
        k.mac[i] = (uint8_t)(i * 7 + 1);
        k.cipher[i] = (uint8_t)(255 - i);
    }
    char text[256];
    size_t n = 0;
    assert_int_equal(vsafe_keyfile_format(&k, text, sizeof text, &n), VSAFE_OK);
    assert_int_equal(strlen(text), n);
    assert_int_equal(vsafe_keyfile_parse(text, n, &back), VSAFE_OK);
    assert_int_equal(back.type, k.type);
    assert_memory_equal(back.mac, k.mac, 32);
    assert_memory_equal(back.cipher, k.cipher, 32);
    assert_int_equal(vsafe_keyfile_format(&k, text, 100, &n), VSAFE_ERR_BUFFER_TOO_SMALL);
}

static char dir[64];

static void path_in(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static vsafe_keyfile_t sample(uint8_t fill)
{
    vsafe_keyfile_t k;
    memset(&k, 0, sizeof k);
    k.type = VSAFE_HOST_KEY_AES128;
    k.key_len = 16;
    memset(k.mac, fill, 16);
    memset(k.cipher, fill ^ 0xFF, 16);
    return k;
}

static int write_keys(const char *path, uint8_t fill, int replace)
{
    vsafe_keyfile_t k = sample(fill);
    vsafe_keyfile_staged_t st;
    int rc = vsafe_keyfile_stage(path, &k, replace, &st);
    return rc == VSAFE_OK ? vsafe_keyfile_commit(&st, replace) : rc;
}

static void test_regress_finding3_write_no_overwrite_mode_symlink(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/vsafe-keyfile-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char p[128], target[128];
    /* an existing 0644 file: refused without replace, kept as it was */
    path_in(p, sizeof p, "k");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("old\n", f);
    fclose(f);
    chmod(p, 0644);
    assert_int_equal(write_keys(p, 1, 0), VSAFE_ERR_EXISTS);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_size, 4);
    assert_int_equal(sb.st_mode & 0777, 0644);
    /* replaced with replace: 0600, whatever the umask */
    mode_t old = umask(0);
    assert_int_equal(write_keys(p, 2, 1), VSAFE_OK);
    umask(old);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    vsafe_keyfile_t back;
    assert_int_equal(vsafe_keyfile_load(p, &back), VSAFE_OK);
    assert_int_equal(back.mac[0], 2);
    /* a planted symlink: never followed */
    path_in(p, sizeof p, "link");
    path_in(target, sizeof target, "target");
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(write_keys(p, 3, 0), VSAFE_ERR_EXISTS);
    assert_int_not_equal(access(target, F_OK), 0);
    assert_int_equal(write_keys(p, 3, 1), VSAFE_OK);
    assert_int_not_equal(access(target, F_OK), 0);
    assert_int_equal(lstat(p, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    /* no directory: nothing written */
    assert_int_equal(write_keys("/nonexistent-vsafe-dir/k", 4, 0), VSAFE_ERR_NOT_FOUND);
    assert_int_equal(vsafe_keyfile_check_target("/nonexistent-vsafe-dir/k", 0), VSAFE_ERR_NOT_FOUND);
    /* abort leaves nothing; no temporary file is left after commits either */
    vsafe_keyfile_t k = sample(5);
    vsafe_keyfile_staged_t st;
    path_in(p, sizeof p, "aborted");
    assert_int_equal(vsafe_keyfile_stage(p, &k, 0, &st), VSAFE_OK);
    vsafe_keyfile_abort(&st);
    assert_int_not_equal(access(p, F_OK), 0);
    path_in(p, sizeof p, "k");
    assert_int_equal(vsafe_keyfile_remove(p), VSAFE_OK);
    path_in(p, sizeof p, "link");
    assert_int_equal(vsafe_keyfile_remove(p), VSAFE_OK);
    assert_int_equal(rmdir(dir), 0); /* empty: no temporary file was left behind */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_the_grammar),
        cmocka_unit_test(test_regress_finding3_parser_rejects_signs_and_junk),
        cmocka_unit_test(test_regress_finding3_parser_rejects_lengths_and_duplicates),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_regress_finding3_write_no_overwrite_mode_symlink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
