/* Trace decoding of the key-service frames: the specification's example frames decode to their
 * fields (curve and hash names, slots, lengths), and no secret ever reaches the text: keys being
 * written, passwords, input key material, payloads to wrap, unwrapped payloads, ECDH shared
 * secrets and derived keys, whether the frame went in plaintext or its plaintext came from the
 * session's decryption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "fake_device.h"

static char text[8192];

static void decode_cmd(const char *frame_hex)
{
    static uint8_t f[FAKE_FRAME];
    size_t n = hex(frame_hex, f);
    vsafe_host_trace_t ev = {.dir = VSAFE_HOST_TRACE_COMMAND, .frame = f, .len = n};
    assert_int_equal(vsafe_host_trace_decode(&ev, text, sizeof text), 0);
}

/* A response (payload given, LEN and CRC added) to the command frame cmd_hex (its last two bytes
 * stand for the CRC). */
static void decode_rsp(const char *cmd_hex, const char *payload_hex)
{
    static uint8_t c[FAKE_FRAME];
    size_t cn = hex(cmd_hex, c);
    fake_t f;
    memset(&f, 0, sizeof f);
    fake_answer_hex(&f, 0, payload_hex);
    vsafe_host_trace_t ev = {.dir = VSAFE_HOST_TRACE_RESPONSE, .frame = f.rsp[0], .len = f.rsp_len[0], .command = c,
                             .command_len = cn};
    assert_int_equal(vsafe_host_trace_decode(&ev, text, sizeof text), 0);
}

static void test_trace_spec_frames(void **state)
{
    (void)state;
    decode_cmd("11 13 01 00 FF 00 00 00 08 2A 86 48 CE 3D 03 01 07 A1 D8");
    assert_non_null(strstr(text, "Generate key (0x11)"));
    assert_non_null(strstr(text, "slot=0x01 usage_limit=255 curve=NIST P-256"));
    assert_non_null(strstr(text, "CRC=A1D8 ok"));
    decode_cmd("11 13 01 00 FF 00 00 00 09 2B 24 03 03 02 08 01 01 0D CF 9E");
    assert_non_null(strstr(text, "curve=Brainpool P-512r1"));
    assert_non_null(strstr(text, "CRC=CF9E ok"));
    decode_cmd("11 13 01 00 FF 00 00 00 03 2B 65 70 C6 91");
    assert_non_null(strstr(text, "curve=Ed25519"));
    decode_cmd("11 07 00 00 AF C1");
    assert_non_null(strstr(text, "local envelope key slot=0 key=AES-128"));
    assert_non_null(strstr(text, "CRC=AFC1 ok"));
    decode_cmd("1F 00 00 09 60 86 48 01 65 03 04 02 01 AA BB 00 00");
    assert_non_null(strstr(text, "Start hash (0x1F 0x00)"));
    assert_non_null(strstr(text, "hash=SHA-256 data=aabb (2 bytes)"));
    decode_cmd("1F 0B 00 05 2B 81 04 00 23 00 00");
    assert_non_null(strstr(text, "Generate ECDHE key"));
    assert_non_null(strstr(text, "curve=NIST P-521"));
    decode_cmd("1F 05 5E 25 9A D9 7D E1 E0 C8 00 07 00 00 00 01 00 03 02 00 00");
    assert_non_null(strstr(text, "Confirm symmetric keys"));
    assert_non_null(strstr(text, "mac=5e259ad97de1e0c8"));
    assert_non_null(strstr(text, "[slot=0 key_type=AES-128 mode=CMAC usage=0x03 lock=unlocked min_mac_len=2]"));
    decode_cmd("10 4B 01 03 FF FF 00 00");
    assert_non_null(strstr(text, "symmetric key provisioning control"));
    decode_cmd("14 4C 02 00 00");
    assert_non_null(strstr(text, "generic public key slot) slot=2"));
    decode_cmd("1F 19 07 00 00");
    assert_non_null(strstr(text, "Erase symmetric key slot"));
    assert_non_null(strstr(text, "slot=7"));
    decode_cmd("09 03 01 04 00 01 02 03 00 00");
    assert_non_null(strstr(text, "Generate MAC"));
    assert_non_null(strstr(text, "slot=1 mac_len=4 message=00010203 (4 bytes)"));
    decode_cmd("1F 10 02 04 02 00 09 60 86 48 01 65 03 04 02 01 02 05 00 00");
    assert_non_null(strstr(text, "Derive keys"));
    assert_non_null(strstr(text, "input=slot 4 extract hash=SHA-256 salt=slot 5"));

    decode_rsp("17 00 00 00", "01");
    assert_non_null(strstr(text, "valid=yes"));
    decode_rsp("0A 02 00 00", "00");
    assert_non_null(strstr(text, "verified=no"));
    decode_rsp("1F 02 00 00", "00 04 01 02 03 04");
    assert_non_null(strstr(text, "digest=01020304 (4 bytes)"));
    decode_rsp("14 14 00 00", "01 00 FF FF 00 01 80 04 00 08 2A 86 48 CE 3D 03 01 07");
    assert_non_null(strstr(text, "slots=1 global_usage_limit=65535"));
    assert_non_null(strstr(text, "slot 0x00: present mode=8004 curve=NIST P-256"));
    decode_rsp("1A 00 00", "00 03");
    assert_non_null(strstr(text, "verified=no remaining_tries=3"));
    decode_rsp("14 4B 00 00 00", "08 FF FF");
    assert_non_null(strstr(text, "control=0x08 wrapped_auth_slot=0xFF ecdhe_auth_slot=0xFF"));
}

/* ---- Secrets ---- */

static const char SECRET_HEX[] = "DE AD BE EF 13 37 C0 DE DE AD BE EF 13 37 C0 DE";

static void assert_no_secret(void)
{
    assert_null(strstr(text, "DE AD BE EF"));
    assert_null(strstr(text, "deadbeef"));
    assert_null(strstr(text, "13 37 C0 DE"));
    assert_null(strstr(text, "1337c0de"));
}

static void test_trace_masks_secrets(void **state)
{
    (void)state;
    char buf[512];
    /* Write symmetric key plaintext: the record shows, the key does not */
    snprintf(buf, sizeof buf, "1F 17 00 03 00 01 00 03 02 %s 00 00", SECRET_HEX);
    decode_cmd(buf);
    assert_non_null(strstr(text, "[slot=3 key_type=AES-128 mode=CMAC usage=0x03 lock=unlocked min_mac_len=2]"));
    assert_non_null(strstr(text, "key=<16 bytes, secret>"));
    assert_no_secret();
    /* Verify password */
    snprintf(buf, sizeof buf, "1A %s 00 00", SECRET_HEX);
    decode_cmd(buf);
    assert_non_null(strstr(text, "password=<16 bytes, secret>"));
    assert_no_secret();
    /* Wrap local envelope: the payload is secret */
    snprintf(buf, sizeof buf, "0E 00 %s 00 00", SECRET_HEX);
    decode_cmd(buf);
    assert_non_null(strstr(text, "payload=<16 bytes, secret>"));
    assert_no_secret();
    /* Derive keys with the IKM in the command */
    snprintf(buf, sizeof buf, "1F 10 00 04 00 10 %s 01 00 09 60 86 48 01 65 03 04 02 01 00 00 00 03 01 00 10 00 00",
             SECRET_HEX);
    decode_cmd(buf);
    assert_non_null(strstr(text, "ikm=<16 bytes, secret>"));
    assert_non_null(strstr(text, "output 1: to host, 16 bytes"));
    assert_no_secret();
    /* Responses: shared secret, unwrapped payload, derived keys */
    snprintf(buf, sizeof buf, "00 10 %s", SECRET_HEX);
    decode_rsp("18 FF 00 20 00 00", buf);
    assert_non_null(strstr(text, "shared_secret=<18 bytes, secret>"));
    assert_no_secret();
    decode_rsp("0F 00 00 00", SECRET_HEX);
    assert_non_null(strstr(text, "payload=<16 bytes, secret>"));
    assert_no_secret();
    decode_rsp("1F 10 00 00 00", SECRET_HEX);
    assert_non_null(strstr(text, "output=<16 bytes, secret>"));
    assert_no_secret();

    /* An encrypted command whose plaintext the session handed to the trace */
    uint8_t wire[2 + 32 + 4 + 2], plain[64];
    memset(wire, 0x77, sizeof wire);
    wire[0] = 0xFF;
    wire[1] = 0x17;
    size_t pn = hex("00 03 00 01 00 03 02", plain);
    pn += hex(SECRET_HEX, plain + pn);
    vsafe_host_trace_t ev = {.dir = VSAFE_HOST_TRACE_COMMAND, .frame = wire, .len = sizeof wire,
                             .protected_frame = 1, .plain = plain, .plain_len = pn};
    assert_int_equal(vsafe_host_trace_decode(&ev, text, sizeof text), 0);
    assert_non_null(strstr(text, "key=<16 bytes, secret>"));
    assert_no_secret();
}

/* Every frame of a provisioning run through the host library, as the CLI's --trace prints it. */
static char run_text[65536];
static size_t run_len;

static void collect(void *ctx, const vsafe_host_trace_t *ev)
{
    (void)ctx;
    char one[8192];
    assert_int_equal(vsafe_host_trace_decode(ev, one, sizeof one), 0);
    size_t n = strlen(one);
    assert_true(run_len + n + 1 < sizeof run_text);
    memcpy(run_text + run_len, one, n + 1);
    run_len += n;
}

static void test_trace_run_never_shows_keys(void **state)
{
    (void)state;
    fake_t f;
    vsafe_host_t *h = fake_open(&f);
    vsafe_host_set_trace(h, collect, NULL);
    run_len = 0;
    run_text[0] = '\0';
    uint8_t secret[16], out[64];
    assert_int_equal(hex(SECRET_HEX, secret), 16);
    size_t n = 0;
    vsafe_host_symkey_info_t info = {.slot = 2, .key_type = VSAFE_HOST_SYM_AES128, .mode = VSAFE_HOST_SYM_CMAC,
                                     .usage = 0x03, .min_mac_len = 4};
    fake_answer_hex(&f, 0, "");
    assert_int_equal(vsafe_host_symkey_write_plain(h, VSAFE_HOST_PROT_TABLE, &info, secret, 16), 0);
    char rsp[128];
    snprintf(rsp, sizeof rsp, "00 20 %s %s", SECRET_HEX, SECRET_HEX);
    fake_answer_hex(&f, 0, rsp);
    uint8_t peer[32] = {9};
    assert_int_equal(vsafe_host_establish_key(h, VSAFE_HOST_PROT_TABLE, 1, VSAFE_CURVE_X25519, peer, 32, out,
                                              sizeof out, &n), 0);
    fake_answer_hex(&f, 0, SECRET_HEX);
    uint8_t env[24] = {0};
    assert_int_equal(vsafe_host_unwrap(h, VSAFE_HOST_PROT_TABLE, 0, env, 24, out, sizeof out), 0);
    fake_answer(&f, 0, env, 24);
    assert_int_equal(vsafe_host_wrap(h, VSAFE_HOST_PROT_TABLE, 0, secret, 16, env, sizeof env), 0);
    fake_answer_hex(&f, 0, "01 02");
    int ok = 0;
    assert_int_equal(vsafe_host_verify_password(h, VSAFE_HOST_PROT_TABLE, secret, &ok, NULL), 0);
    vsafe_host_derive_out_t o = {.dest = VSAFE_HOST_DERIVE_TO_HOST, .key_len = 16};
    vsafe_host_derive_t d = {.ikm = secret, .ikm_len = 16, .extract = 1, .expand = 1, .out = &o, .out_count = 1};
    fake_answer_hex(&f, 0, SECRET_HEX);
    assert_int_equal(vsafe_host_derive(h, VSAFE_HOST_PROT_TABLE, &d, NULL, out, sizeof out, &n, NULL), 0);
    assert_int_equal(f.ncmd, 6);
    assert_non_null(strstr(run_text, "Write symmetric key plaintext"));
    assert_non_null(strstr(run_text, "Establish key"));
    assert_non_null(strstr(run_text, "Derive keys"));
    assert_null(strstr(run_text, "DE AD BE EF"));
    assert_null(strstr(run_text, "deadbeef"));
    assert_null(strstr(run_text, "13 37 C0 DE"));
    assert_null(strstr(run_text, "1337c0de"));
    vsafe_host_close(h);
}

/* Finding: the hex dump masked the keys of a plaintext host-key write (1F 07) only when the frame
 * carried no C-MAC, so a MACed but unencrypted write (command AC HOST, no encryption flag) showed
 * both host keys in the clear. */
static void regress_trace_maced_host_key_write(void **state)
{
    (void)state;
    char buf[512];
    snprintf(buf, sizeof buf, "FF 07 00 00 00 00 %s %s 01 02 03 04 00 00", SECRET_HEX, SECRET_HEX);
    decode_cmd(buf);
    assert_non_null(strstr(text, "Write host key V2 plaintext"));
    assert_non_null(strstr(text, "C-MAC=01020304"));
    assert_no_secret();
}

/* Finding (issue 9, CLI work): the trace showed AES plaintext in the clear: the data of Encrypt
 * (0x1B) and of the chunked encryptions (1F 11..13) in the hex dump and the decoding, and the
 * decrypted output of Decrypt (0x1C) and of the chunked decryptions (1F 14..16) in the response,
 * on a FREE unencrypted table (the SPL05 factory state, where they travel in plaintext). */
static void regress_trace_aes_plaintext(void **state)
{
    (void)state;
    char buf[512];
    snprintf(buf, sizeof buf, "1B 02 03 %s 00 00", SECRET_HEX); /* ECB encrypt */
    decode_cmd(buf);
    assert_non_null(strstr(text, "Encrypt"));
    assert_non_null(strstr(text, "slot=3 data=<16 bytes, secret>"));
    assert_no_secret();
    /* GCM encrypt: IV_LEN IV AAD_LEN AAD MSG_LEN PLAINTEXT */
    snprintf(buf, sizeof buf, "1B 02 03 00 01 AA 00 00 00 10 %s 00 00", SECRET_HEX);
    decode_cmd(buf);
    assert_no_secret();
    snprintf(buf, sizeof buf, "1F 11 03 00 01 AA 00 00 00 10 %s 00 00", SECRET_HEX);
    decode_cmd(buf);
    assert_no_secret();
    snprintf(buf, sizeof buf, "1F 12 00 01 AA 00 10 %s 00 00", SECRET_HEX);
    decode_cmd(buf);
    assert_non_null(strstr(text, "aad=aa (1 bytes)"));
    assert_non_null(strstr(text, "plaintext=<16 bytes, secret>"));
    assert_no_secret();
    snprintf(buf, sizeof buf, "1F 13 00 00 00 10 %s 00 00", SECRET_HEX);
    decode_cmd(buf);
    assert_no_secret();
    /* Responses: ECB plaintext, AEAD VERIFIED || plaintext, chunked decryption output */
    decode_rsp("1C 02 03 00 00", SECRET_HEX);
    assert_non_null(strstr(text, "plaintext=<16 bytes, secret>"));
    assert_no_secret();
    snprintf(buf, sizeof buf, "01 %s", SECRET_HEX);
    decode_rsp("1C 02 03 00 00", buf);
    assert_no_secret();
    for (unsigned ext = 0x14; ext <= 0x16; ext++) {
        char cmd[32];
        snprintf(cmd, sizeof cmd, "1F %02X 00 00 00 00", ext);
        decode_rsp(cmd, buf);
        assert_no_secret();
    }
    /* The ciphertext an encryption returns is not secret, and still shown */
    decode_rsp("1B 02 03 00 00", "01 02 03 04");
    assert_non_null(strstr(text, "01 02 03 04"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_spec_frames),
        cmocka_unit_test(test_trace_masks_secrets),
        cmocka_unit_test(regress_trace_aes_plaintext),
        cmocka_unit_test(test_trace_run_never_shows_keys),
        cmocka_unit_test(regress_trace_maced_host_key_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
