/* Drives vsafe's STSELib platform layer (contrib/stselib) the way STSELib's frame transfer does,
 * with no STSELib code: a command frame handed over in pieces (header, payload fields, CRC) with
 * send_start/continue/stop, its CRC computed through the Crc16 hooks piece by piece; the response
 * read first as its 5-byte start, then whole, and handed out in pieces; NACKs retried after a
 * delay. Commands: Echo, Update, Read, Decrement, a refused Update, and power off/on on a state
 * file (in process) or through the control channel (served: run with VSAFE_CONNECT set, as
 * tests/stselib/served.sh does). The expected CRCs come from a bit-by-bit CRC-16/X-25 written
 * here, not from the layer.
 * Last line: "N passed, M failed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsafe_stse_test_decls.h"
#include "vsafe_stse.h"

static int passed, failed;
#define CHECK(cond, what)                                                                                \
    do {                                                                                                 \
        if (cond) {                                                                                      \
            passed++;                                                                                    \
        } else {                                                                                         \
            failed++;                                                                                    \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what);                               \
        }                                                                                                \
    } while (0)

#define ADDR 0x20
#define SPEED 100
#define RETRIES 5

static uint16_t crc_x25(const uint8_t *p, size_t n, uint16_t crc)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) {
            crc = (crc & 1u) ? (uint16_t)((crc >> 1) ^ 0x8408u) : (uint16_t)(crc >> 1);
        }
    }
    return crc;
}

typedef struct {
    PLAT_UI8 *p;
    PLAT_UI16 n;
} piece_t;

/* Sends header + pieces + CRC as STSELib does. Returns the last platform status. */
static stse_ReturnCode_t send_frame(PLAT_UI8 header, piece_t *pieces, size_t np)
{
    uint16_t want = crc_x25(&header, 1, 0xFFFF);
    PLAT_UI16 total = 1 + 2;
    PLAT_UI16 crc = stse_platform_Crc16_Calculate(&header, 1);
    for (size_t i = 0; i < np; i++) {
        total = (PLAT_UI16)(total + pieces[i].n);
        if (pieces[i].n > 0) {
            crc = stse_platform_Crc16_Accumulate(pieces[i].p, pieces[i].n);
            want = crc_x25(pieces[i].p, pieces[i].n, want);
        }
    }
    want = (uint16_t)(want ^ 0xFFFFu);
    CHECK(crc == want, "command CRC through the hooks equals CRC-16/X-25");
    PLAT_UI8 crc_bytes[2] = {(PLAT_UI8)(crc >> 8), (PLAT_UI8)crc};
    stse_ReturnCode_t ret = STSE_PLATFORM_BUS_ACK_ERROR;
    for (int r = 0; r < RETRIES && ret == STSE_PLATFORM_BUS_ACK_ERROR; r++) {
        ret = stse_platform_i2c_send_start(0, ADDR, SPEED, total);
        if (ret == STSE_OK) {
            ret = stse_platform_i2c_send_continue(0, ADDR, SPEED, &header, 1);
        }
        for (size_t i = 0; i < np && ret == STSE_OK; i++) {
            ret = stse_platform_i2c_send_continue(0, ADDR, SPEED, pieces[i].p, pieces[i].n);
        }
        if (ret == STSE_OK) {
            ret = stse_platform_i2c_send_stop(0, ADDR, SPEED, crc_bytes, 2);
        }
        if (ret != STSE_OK) {
            stse_platform_Delay_ms(1);
        }
    }
    return ret;
}

/* Receives a response as STSELib does; payload into out (cap), *status the status byte.
 * Returns STSE_OK, a platform status, or -1 on a CRC mismatch. */
static int receive_frame(PLAT_UI8 *status, PLAT_UI8 *out, PLAT_UI16 cap, PLAT_UI16 *out_len)
{
    PLAT_UI8 hdr, len_b[2], crc_b[2];
    stse_ReturnCode_t ret = STSE_PLATFORM_BUS_ACK_ERROR;
    for (int r = 0; r < RETRIES && ret == STSE_PLATFORM_BUS_ACK_ERROR; r++) {
        ret = stse_platform_i2c_receive_start(0, ADDR, SPEED, 5);
        if (ret != STSE_OK) {
            stse_platform_Delay_ms(1);
        }
    }
    if (ret != STSE_OK) {
        return ret;
    }
    if ((ret = stse_platform_i2c_receive_continue(0, ADDR, SPEED, &hdr, 1)) != STSE_OK ||
        (ret = stse_platform_i2c_receive_continue(0, ADDR, SPEED, len_b, 2)) != STSE_OK ||
        (ret = stse_platform_i2c_receive_stop(0, ADDR, SPEED, crc_b, 2)) != STSE_OK) {
        return ret;
    }
    PLAT_UI16 len = (PLAT_UI16)(len_b[0] << 8 | len_b[1]);
    PLAT_UI16 payload = (PLAT_UI16)(len - 2);
    *status = hdr;
    *out_len = payload;
    if (payload > 0) {
        if (payload > cap) {
            return STSE_PLATFORM_BUFFER_ERR;
        }
        if ((ret = stse_platform_i2c_receive_start(0, ADDR, SPEED, (PLAT_UI16)(len + 3))) != STSE_OK ||
            (ret = stse_platform_i2c_receive_continue(0, ADDR, SPEED, &hdr, 1)) != STSE_OK ||
            (ret = stse_platform_i2c_receive_continue(0, ADDR, SPEED, len_b, 2)) != STSE_OK ||
            (ret = stse_platform_i2c_receive_continue(0, ADDR, SPEED, out, payload)) != STSE_OK ||
            (ret = stse_platform_i2c_receive_stop(0, ADDR, SPEED, crc_b, 2)) != STSE_OK) {
            return ret;
        }
    }
    PLAT_UI16 crc = stse_platform_Crc16_Calculate(&hdr, 1);
    if (payload > 0) {
        crc = stse_platform_Crc16_Accumulate(out, payload);
    }
    uint16_t want = (uint16_t)(crc_x25(out, payload, crc_x25(&hdr, 1, 0xFFFF)) ^ 0xFFFFu);
    CHECK(crc == want, "response CRC through the hooks equals CRC-16/X-25");
    return crc == (uint16_t)(crc_b[0] << 8 | crc_b[1]) ? STSE_OK : -1;
}

static int command(PLAT_UI8 header, piece_t *pieces, size_t np, PLAT_UI8 *status, PLAT_UI8 *out, PLAT_UI16 cap,
                   PLAT_UI16 *out_len)
{
    int ret = send_frame(header, pieces, np);
    return ret != STSE_OK ? ret : receive_frame(status, out, cap, out_len);
}

static void test_echo(void)
{
    PLAT_UI8 msg[40];
    for (size_t i = 0; i < sizeof msg; i++) {
        msg[i] = (PLAT_UI8)(i * 7 + 1);
    }
    piece_t p[] = {{msg, 10}, {msg + 10, 30}};
    PLAT_UI8 st = 0xFF, out[64];
    PLAT_UI16 n = 0;
    CHECK(command(0x00, p, 2, &st, out, sizeof out, &n) == STSE_OK, "echo exchanged");
    CHECK(st == 0 && n == sizeof msg && memcmp(out, msg, sizeof msg) == 0, "echo returns the bytes sent in pieces");
}

static void update(PLAT_UI8 zone, PLAT_UI16 offset, PLAT_UI8 *data, PLAT_UI16 len, PLAT_UI8 *st)
{
    PLAT_UI8 opt = 0, z = zone, off[2] = {(PLAT_UI8)(offset >> 8), (PLAT_UI8)offset};
    piece_t p[] = {{&opt, 1}, {&z, 1}, {off, 2}, {data, len}};
    PLAT_UI8 out[8];
    PLAT_UI16 n = 0;
    CHECK(command(0x06, p, 4, st, out, sizeof out, &n) == STSE_OK, "update exchanged");
}

static void read_zone(PLAT_UI8 zone, PLAT_UI16 offset, PLAT_UI16 len, PLAT_UI8 *out, PLAT_UI8 *st)
{
    PLAT_UI8 opt = 0, z = zone, off[2] = {(PLAT_UI8)(offset >> 8), (PLAT_UI8)offset},
             l[2] = {(PLAT_UI8)(len >> 8), (PLAT_UI8)len};
    piece_t p[] = {{&opt, 1}, {&z, 1}, {off, 2}, {l, 2}};
    PLAT_UI16 n = 0;
    CHECK(command(0x05, p, 4, st, out, 700, &n) == STSE_OK, "read exchanged");
    CHECK(*st != 0 || n == len, "read returns the length asked for");
}

static void test_update_read_decrement(void)
{
    PLAT_UI8 data[300], back[700], st = 0xFF;
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (PLAT_UI8)(0xA5 ^ i);
    }
    update(2, 17, data, sizeof data, &st);
    CHECK(st == 0, "update of zone 2 accepted");
    read_zone(2, 17, sizeof data, back, &st);
    CHECK(st == 0 && memcmp(back, data, sizeof data) == 0, "read zone 2 returns what was written");

    update(0, 0, data, 4, &st);
    CHECK(st == 0x11, "update of zone 0 (update AC never) refused: ACCESS_CONDITION_NOT_SATISFIED");

    /* Decrement: OPT, ZONE, OFFSET, AMOUNT (4 bytes), then associated data; the response is the
     * new counter (4 bytes). Two decrements by 3 and 4 must differ by 4. */
    PLAT_UI8 opt = 0, z = 5, off[2] = {0, 0}, amt[4] = {0, 0, 0, 3}, assoc[2] = {0xBE, 0xEF};
    piece_t p[] = {{&opt, 1}, {&z, 1}, {off, 2}, {amt, 4}, {assoc, 2}};
    PLAT_UI8 out[16];
    PLAT_UI16 n = 0;
    CHECK(command(0x04, p, 5, &st, out, sizeof out, &n) == STSE_OK && st == 0 && n == 4, "decrement by 3");
    uint32_t c1 = (uint32_t)out[0] << 24 | (uint32_t)out[1] << 16 | (uint32_t)out[2] << 8 | out[3];
    amt[3] = 4;
    CHECK(command(0x04, p, 5, &st, out, sizeof out, &n) == STSE_OK && st == 0 && n == 4, "decrement by 4");
    uint32_t c2 = (uint32_t)out[0] << 24 | (uint32_t)out[1] << 16 | (uint32_t)out[2] << 8 | out[3];
    CHECK(c1 - c2 == 4, "the counter went down by the amount");
}

static void test_bus_limits(void)
{
    PLAT_UI8 b[8] = {0};
    CHECK(stse_platform_i2c_send_start(0, ADDR, SPEED, 2000) == STSE_PLATFORM_BUFFER_ERR,
          "a frame longer than the buffer is refused at send_start");
    CHECK(stse_platform_i2c_send_start(0, ADDR, SPEED, 4) == STSE_OK, "send_start of 4 bytes");
    CHECK(stse_platform_i2c_send_continue(0, ADDR, SPEED, b, 3) == STSE_OK, "3 bytes gathered");
    CHECK(stse_platform_i2c_send_stop(0, ADDR, SPEED, b, 2) == STSE_PLATFORM_BUFFER_ERR,
          "more bytes than announced are refused, nothing written");
    CHECK(stse_platform_i2c_send_start(0, ADDR, SPEED, 4) == STSE_OK &&
              stse_platform_i2c_send_stop(0, ADDR, SPEED, b, 3) == STSE_PLATFORM_BUFFER_ERR,
          "fewer bytes than announced are refused, nothing written");
    CHECK(stse_platform_i2c_send_start(0, 0x21, SPEED, 3) == STSE_OK &&
              stse_platform_i2c_send_stop(0, 0x21, SPEED, b, 3) == STSE_PLATFORM_BUS_ACK_ERROR,
          "a write to an address nobody answers is a bus ACK error");
    CHECK(stse_platform_i2c_receive_start(0, 0x21, SPEED, 5) == STSE_PLATFORM_BUS_ACK_ERROR,
          "a read from an address nobody answers is a bus ACK error");
    PLAT_UI8 st = 0, out[8];
    PLAT_UI16 n = 0;
    piece_t p[] = {{b, 1}};
    CHECK(command(0x00, p, 1, &st, out, sizeof out, &n) == STSE_OK && st == 0, "an echo after the refusals");
    CHECK(stse_platform_i2c_receive_start(0, ADDR, SPEED, 5) == STSE_OK, "read 5 bytes");
    CHECK(stse_platform_i2c_receive_continue(0, ADDR, SPEED, out, 4) == STSE_OK, "4 handed out");
    CHECK(stse_platform_i2c_receive_stop(0, ADDR, SPEED, out, 2) == STSE_PLATFORM_BUFFER_ERR,
          "never more bytes handed out than were read");
}

/* In process: power off/on of a device opened from a state file. Served (VSAFE_CONNECT): the
 * protocol's POWER requests. Either way the NVM must survive. */
static void test_power_cycle_keeps_nvm(const char *dir)
{
    char state[512];
    snprintf(state, sizeof state, "%s/se.nvm", dir);
    int served = getenv("VSAFE_CONNECT") != NULL;
    if (!served) {
        vsafe_stse_shutdown();
        setenv("VSAFE_STSE_STATE", state, 1);
    }
    PLAT_UI8 st = 0xFF, data[5] = {'k', 'e', 'p', 't', '!'}, back[8];
    CHECK(stse_platform_power_on(0, ADDR) == STSE_OK, "power on");
    update(3, 0, data, 5, &st);
    CHECK(st == 0, "update before the power cycle");
    CHECK(stse_platform_power_off(0, ADDR) == STSE_OK, "power off");
    PLAT_UI8 b[1] = {0};
    piece_t p[] = {{b, 1}};
    PLAT_UI16 n = 0;
    if (served) {
        CHECK(command(0x00, p, 1, &st, back, sizeof back, &n) == STSE_PLATFORM_BUS_ACK_ERROR,
              "a powered-off served device acknowledges nothing");
    }
    CHECK(stse_platform_power_on(0, ADDR) == STSE_OK, "power on again");
    read_zone(3, 0, 5, back, &st);
    CHECK(st == 0 && memcmp(back, data, 5) == 0, "the NVM survives power off/on");
    if (!served) {
        vsafe_stse_shutdown();
        unsetenv("VSAFE_STSE_STATE");
        unlink(state);
    }
}

int main(void)
{
    char dir[] = "/tmp/vsafe_stse_XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    setenv("VSAFE_STSE_DELAY", "0", 1);
    CHECK(stse_platform_generate_random_init() == STSE_OK && stse_platform_delay_init() == STSE_OK &&
              stse_platform_power_init() == STSE_OK && stse_platform_crc16_init() == STSE_OK &&
              stse_platform_crypto_init() == STSE_OK,
          "stse_init's platform initialisations");
    CHECK(stse_platform_i2c_init(0) == STSE_OK && stse_platform_i2c_wake(0, ADDR, SPEED) == STSE_OK,
          "bus init opens a device");
    CHECK(stse_platform_generate_random() != stse_platform_generate_random() ||
              stse_platform_generate_random() != stse_platform_generate_random(),
          "random numbers vary");
    test_echo();
    test_update_read_decrement();
    test_bus_limits();
    test_power_cycle_keeps_nvm(dir);
    rmdir(dir);
    vsafe_stse_shutdown();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
