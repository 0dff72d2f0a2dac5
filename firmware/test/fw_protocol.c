/* The protocol suite on the target: the CRC vectors, every golden trace that needs no host key
 * (tests/protocol/golden_vectors.h) and every data-storage refusal case
 * (tests/protocol/refusal_vectors.h), each on a freshly created device, plus the bus-view cases of
 * the host refusal test (bad CRC, addressing NACKs) done on the core's I2C entry points. */
#include <string.h>

#include "fw_test.h"
#include "golden_vectors.h"
#include "refusal_vectors.h"
#include "test_util.h"

#define SUITE "protocol"

static uint8_t buf[1024], exp_[1024], got[1024];

static bool fresh(fw_dev_t *d, const char *name)
{
    return fw_check(fw_dev_create(d, 1) == VSAFE_OK, SUITE, name, "device does not start");
}

static void crc_vectors(void)
{
    bool ok = vsafe_crc16((const uint8_t *)GV_CRC_CHECK_INPUT, 9) == GV_CRC_CHECK_VALUE;
    for (size_t i = 0; i < GV_CRC_VECTORS; i++) {
        size_t n = tu_hex(gv_crc_vectors[i].in, buf, sizeof buf);
        ok = ok && vsafe_crc16(buf, n) == gv_crc_vectors[i].crc;
    }
    tu_hex("05 00 01 00 00 00 04", buf, sizeof buf);
    ok = ok && vsafe_crc16_continue(vsafe_crc16(buf, 1), buf + 1, 6) == 0x31B3;
    (void)fw_check(ok, SUITE, "crc_vectors", "a CRC-16 vector differs");
}

/* Replays one trace; one check per trace, failing on the first step that differs. */
static void replay(fw_dev_t *d, const gv_trace_t *t)
{
    if (!fresh(d, t->name)) {
        return;
    }
    vsafe_se_core_t *c = &d->core;
    const char *why = NULL;
    for (size_t i = 0; i < t->count && why == NULL; i++) {
        const gv_step_t *s = &t->steps[i];
        if (s->cmd != NULL) {
            size_t n = tu_hex(s->cmd, buf, sizeof buf);
            if (vsafe_se_core_i2c_write(c, GV_I2C_ADDR, buf, n) != 0) {
                why = "write not acknowledged";
                break;
            }
        }
        if (s->read5 != NULL) {
            tu_hex(s->read5, exp_, sizeof exp_);
            if (vsafe_se_core_i2c_read(c, GV_I2C_ADDR, got, 5) != 0 || memcmp(got, exp_, 5) != 0) {
                why = "5-byte read differs";
                break;
            }
        }
        if (s->full != NULL) {
            size_t e = tu_hex(s->full, exp_, sizeof exp_);
            if (s->read5 != NULL && ((size_t)got[1] << 8 | got[2]) + 3u != e) {
                why = "LEN differs";
            } else if (e > sizeof got || vsafe_se_core_i2c_read(c, GV_I2C_ADDR, got, e) != 0 ||
                       memcmp(got, exp_, e) != 0) {
                why = "full read differs";
            }
        }
    }
    (void)fw_check(why == NULL, SUITE, t->name, why);
}

static void refusal_case(fw_dev_t *d, const rv_case_t *rc)
{
    if (!fresh(d, rc->name)) {
        return;
    }
    const char *why = NULL;
    for (size_t i = 0; i < rc->count && why == NULL; i++) {
        const rv_step_t *s = &rc->steps[i];
        uint8_t status = 0xFF;
        size_t len = 0;
        size_t n = tu_hex(s->frame, buf, sizeof buf);
        if (!fw_exchange(d, buf, n, &status, got, sizeof got, &len)) {
            why = "no valid response";
        } else if (status != s->status) {
            why = "status differs";
        } else if (s->payload != NULL &&
                   (len != tu_hex(s->payload, exp_, sizeof exp_) || memcmp(got, exp_, len) != 0)) {
            why = "payload differs";
        } else if (s->len >= 0 && len != (size_t)s->len) {
            why = "payload length differs";
        } else if (s->zone >= 0 && rv_zone_ac(got, len, (uint8_t)s->zone) != s->ac) {
            why = "zone access condition differs";
        }
    }
    (void)fw_check(why == NULL, SUITE, rc->name, why);
}

static void crc_mismatch(fw_dev_t *d)
{
    if (!fresh(d, "crc_mismatch")) {
        return;
    }
    static const uint8_t cmd[] = {0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x31, 0xB4};
    uint8_t rsp[5];
    bool ok = vsafe_se_core_i2c_write(&d->core, GV_I2C_ADDR, cmd, sizeof cmd) == 0 &&
              vsafe_se_core_i2c_read(&d->core, GV_I2C_ADDR, rsp, 5) == 0 &&
              rsp[0] == VSAFE_SE_ST_COMMUNICATION_ERROR && rsp[2] == 2;
    (void)fw_check(ok, SUITE, "crc_mismatch", "a bad CRC is not answered COMMUNICATION_ERROR");
}

static void i2c_nacks(fw_dev_t *d)
{
    if (!fresh(d, "i2c_nacks")) {
        return;
    }
    vsafe_se_core_t *c = &d->core;
    static const uint8_t cmd[] = {0x14, 0x11, 0xFC, 0xBE};
    uint8_t b[8];
    /* Nothing to read before the first command; other addresses are not acknowledged. */
    bool ok = vsafe_se_core_i2c_read(c, GV_I2C_ADDR, b, 5) == VSAFE_I2C_NACK &&
              vsafe_se_core_i2c_write(c, 0x21, cmd, sizeof cmd) == VSAFE_I2C_NACK &&
              vsafe_se_core_i2c_read(c, GV_I2C_ADDR, b, 5) == VSAFE_I2C_NACK &&
              vsafe_se_core_i2c_write(c, GV_I2C_ADDR, cmd, sizeof cmd) == 0 &&
              vsafe_se_core_i2c_read(c, 0x21, b, 5) == VSAFE_I2C_NACK &&
              vsafe_se_core_i2c_read(c, GV_I2C_ADDR, b, 5) == 0;
    (void)fw_check(ok, SUITE, "i2c_nacks", "addressing or empty-read NACK differs");
}

void fw_suite_protocol(fw_dev_t *d)
{
    crc_vectors();
    for (size_t i = 0; i < GV_TRACES; i++) {
        replay(d, &gv_traces[i]);
    }
    for (size_t i = 0; i < RV_CASES; i++) {
        refusal_case(d, &rv_cases[i]);
    }
    crc_mismatch(d);
    i2c_nacks(d);
    fw_note(SUITE, "golden traces replayed ", (uint32_t)GV_TRACES);
    fw_note(SUITE, "refusal cases run ", (uint32_t)RV_CASES);
}
