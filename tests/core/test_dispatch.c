/* The dispatcher refuses, before any handler runs, a command it does not know (0x04) and a
 * payload outside the command's length bounds (0x02); the device state is unchanged afterwards.
 * The expected answers are the protocol's, written here by hand, not read from the descriptor
 * table. Through the public API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "test_util.h"
#include "vsafe/se.h"

#define CURVE "00 08 2A 86 48 CE 3D 03 01 07"
#define X32 "1111111111111111111111111111111111111111111111111111111111111111"
#define PUB "04 0020 " X32 " 0020 " X32

static int status_of(vsafe_se_t *se, const char *hex, uint8_t *rsp, size_t *rsp_len)
{
    uint8_t cmd[800];
    size_t n = tu_crc(cmd, tu_hex(hex, cmd, sizeof cmd));
    assert_int_equal(vsafe_se_transceive(se, cmd, n, rsp, 800, rsp_len), 0);
    return rsp[0];
}

static void test_bounds_and_unknown_codes(void **state)
{
    (void)state;
    static const struct {
        const char *frame;
        int status;
    } cases[] = {
        {"01 00", 0x02},                            /* Reset: no payload */
        {"02 00", 0x02},                            /* Generate random: OPT LENGTH */
        {"02 00 10 00", 0x02},
        {"04 00 05 0000 000000", 0x02},             /* Decrement: at least 8 */
        {"05 00 05 0000 00", 0x02},                 /* Read: exactly 6 */
        {"05 00 05 0000 0004 00", 0x02},
        {"06 00 01 00", 0x02},                      /* Update: at least 4 */
        {"10", 0x02},                               /* Put attribute: at least the tag */
        {"14", 0x02},                               /* Query: exactly the tag */
        {"14 11 11", 0x02},
        {"1F", 0x02},                               /* extended: the code byte is missing */
        {"1F 06 00", 0x02},                         /* Stop KEK: no payload */
        {"1F 0B 00 08 2A 86 48 CE 3D 03 01", 0x02}, /* Generate ECDHE: exactly the curve */
        {"1F 0B " CURVE " 00", 0x02},
        {"1F 03 " CURVE " " PUB, 0x02},             /* Start KEK: ALG_ID missing */
        {"1F 18 " CURVE " " PUB " 03", 0x02},       /* Establish: key type missing */
        {"03", 0x04},                               /* Start session: not on this device */
        {"07 00 05 0000 00000001", 0x04},           /* Increment */
        {"1D", 0x04},                               /* unassigned code */
        {"1F 1B", 0x04},                            /* unassigned extended code */
        {"1F 0C", 0x04},                            /* reserved extended code */
        {"08 00", 0x04},                            /* Derive LoRa key: reserved on this device */
        {"1F 00", 0x02},                            /* Start hash: identifier and data missing */
        {"1F 19", 0x02},                            /* Erase symmetric key slot: exactly the slot */
        {"1F 19 00 00", 0x02},
    };
    vsafe_se_t *se = NULL;
    vsafe_se_options_t o = {"spl05", NULL};
    uint8_t rsp[800], before[800], after[800];
    size_t n, nb, na;
    assert_int_equal(vsafe_se_open(&se, &o), 0);
    assert_int_equal(status_of(se, "05 00 05 0000 0004", before, &nb), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = status_of(se, cases[i].frame, rsp, &n);
        if (st != cases[i].status) {
            fprintf(stderr, "frame %s: status 0x%02X, expected 0x%02X\n", cases[i].frame, st, cases[i].status);
        }
        assert_int_equal(st, cases[i].status);
        assert_int_equal(n, 5); /* a refusal carries no payload */
    }
    /* Nothing changed: the counter zone and the host key slot read as before. */
    assert_int_equal(status_of(se, "05 00 05 0000 0004", after, &na), 0);
    assert_int_equal(na, nb);
    assert_memory_equal(after, before, nb);
    assert_int_equal(status_of(se, "14 47", rsp, &n), 0);
    assert_int_equal(rsp[3], 0); /* no host key */
    vsafe_se_close(se);
}

/* The same commands with lengths inside their bounds reach their handlers (which then refuse on
 * content, or succeed): the bounds are not too tight. */
static void test_lengths_inside_bounds_reach_handlers(void **state)
{
    (void)state;
    static const struct {
        const char *frame;
        int status;
    } cases[] = {
        {"00", 0x00},                          /* Echo of nothing */
        {"01", 0x00},                          /* Reset */
        {"02 00 00", 0x03},                    /* Random of 0 bytes: value out of range */
        {"04 00 05 0000 00000000", 0x03},      /* Decrement by 0 */
        {"05 00 63 0000 0001", 0x10},          /* Read of a zone that does not exist */
        {"06 00 05 0000", 0x12},               /* Update of a counter zone */
        {"10 33", 0x03},                       /* Put of an unknown tag */
        {"14 33", 0x03},                       /* Query of an unknown tag */
        {"1F 06", 0x00},                       /* Stop KEK */
        {"1F 0B 00 08 2A 86 48 CE 3D 03 01 08", 0x03}, /* another curve */
        {"1F 03 " CURVE " " PUB " 01", 0x17},  /* Start KEK without Generate ECDHE */
        {"1F 03 " CURVE " " PUB " 01 00", 0x17}, /* authenticated variant: reaches the handler (no ECDHE yet) */
        {"1F 18 " CURVE " " PUB " 03 00", 0x11}, /* Establish: SPL05 allows no anonymous key writes */
    };
    vsafe_se_t *se = NULL;
    vsafe_se_options_t o = {"spl05", NULL};
    uint8_t rsp[800];
    size_t n;
    assert_int_equal(vsafe_se_open(&se, &o), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = status_of(se, cases[i].frame, rsp, &n);
        if (st != cases[i].status) {
            fprintf(stderr, "frame %s: status 0x%02X, expected 0x%02X\n", cases[i].frame, st, cases[i].status);
        }
        assert_int_equal(st, cases[i].status);
    }
    vsafe_se_close(se);
}

/* The command authorization table (Query 0x24) lists exactly the commands the device executes:
 * every (code, extended code) is sent with no payload, and the device answers 0x04 exactly for
 * those neither in the table nor among the four that the table never lists (Reset 0x01, Delete
 * 0x0C, Put attribute 0x10, Query 0x14: always free). Read from the device, not from the
 * profile source. */
static void test_table_lists_what_executes(void **state)
{
    (void)state;
    vsafe_se_t *se = NULL;
    vsafe_se_options_t o = {"spl05", NULL};
    assert_int_equal(vsafe_se_open(&se, &o), 0);
    uint8_t rsp[800];
    size_t rl = 0;
    assert_int_equal(status_of(se, "14 24", rsp, &rl), 0x00);
    bool listed[64] = {false};
    size_t n = rl - 5, i = 2; /* STATUS LEN(2) CHANGE_RIGHTS COUNT, then records, CRC */
    unsigned count = rsp[4];
    const uint8_t *p = rsp + 3;
    for (unsigned k = 0; k < count; k++) {
        assert_true(i + 3 <= n);
        unsigned key = p[i] == 0x1F ? 32u + p[i + 1] : p[i];
        assert_true(key < 64u);
        assert_false(listed[key]);
        listed[key] = true;
        i += p[i] == 0x1F ? 4u : 3u;
    }
    assert_int_equal(i, n);
    listed[0x01] = listed[0x0C] = listed[0x10] = listed[0x14] = true;
    unsigned executed = 0;
    for (unsigned key = 0; key < 64; key++) {
        if (key == 0x1F) {
            continue; /* the extended prefix itself */
        }
        char frame[8];
        snprintf(frame, sizeof frame, key < 32 ? "%02X" : "1F %02X", key < 32 ? key : key - 32u);
        int st = status_of(se, frame, rsp, &rl);
        if ((st != 0x04) != listed[key]) {
            print_error("command key %u: status %02x, listed %d\n", key, st, listed[key]);
        }
        assert_int_equal(st != 0x04, listed[key]);
        executed += st != 0x04 ? 1u : 0u;
    }
    print_message("%u commands executed, %u of them in the table\n", executed, count);
    vsafe_se_close(se);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds_and_unknown_codes),
        cmocka_unit_test(test_lengths_inside_bounds_reach_handlers),
        cmocka_unit_test(test_table_lists_what_executes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
