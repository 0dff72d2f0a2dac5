/* libFuzzer target on the frame entry point: arbitrary byte strings are cut into a sequence of
 * I2C transactions to one device. Input format: repeated [flags][len][len bytes]; flags bit0:
 * replace the last two bytes with the right CRC (so the fuzzer gets past the CRC check), bit1:
 * read back with a length taken from the next byte, bit2: wrong address. Every response must be a
 * well-formed frame with a valid CRC and a LEN that matches. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vsafe/se.h"
#include "vsafe/se_wire.h"

static void check_response(vsafe_se_t *se)
{
    uint8_t rsp[VSAFE_SE_RSP_WIRE_MAX + 8];
    if (vsafe_se_i2c_read(se, 0x20, rsp, 5) != 0) {
        return;
    }
    size_t len = ((size_t)rsp[1] << 8 | rsp[2]) + 3u;
    if (len < 5u || len > VSAFE_SE_RSP_WIRE_MAX) {
        abort();
    }
    if (vsafe_se_i2c_read(se, 0x20, rsp, len) != 0) {
        abort();
    }
    uint16_t crc = vsafe_crc16_continue(vsafe_crc16(rsp, 1), rsp + 3, len - 5u);
    if (rsp[len - 2] != (uint8_t)(crc >> 8) || rsp[len - 1] != (uint8_t)crc || (rsp[0] & 0xE0u) != 0) {
        abort();
    }
    if (rsp[0] != 0 && len != 5u) {
        abort(); /* error responses carry no payload */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vsafe_se_t *se = NULL;
    vsafe_se_open_ext_t ext;
    memset(&ext, 0, sizeof ext);
    ext.rng_seed = 1;
    ext.no_identity = 1; /* a key generation and a signature per input would dominate */
    if (vsafe_se_open_ex(&se, NULL, &ext) != 0) {
        abort();
    }
    uint8_t frame[VSAFE_SE_FRAME_MAX + 64];
    size_t i = 0;
    while (i + 2u <= size) {
        uint8_t flags = data[i];
        size_t n = data[i + 1];
        if (flags & 0x08u) {
            n = n * 4u; /* reach long frames */
        }
        i += 2u;
        if (n > size - i) {
            n = size - i;
        }
        if (n > sizeof frame) {
            n = sizeof frame;
        }
        memcpy(frame, data + i, n);
        i += n;
        if ((flags & 1u) && n >= 3u) {
            uint16_t crc = vsafe_crc16(frame, n - 2u);
            frame[n - 2] = (uint8_t)(crc >> 8);
            frame[n - 1] = (uint8_t)crc;
        }
        int rc = vsafe_se_i2c_write(se, (flags & 4u) ? 0x21 : 0x20, frame, n);
        if ((flags & 4u) && rc != VSAFE_I2C_NACK) {
            abort();
        }
        if (rc == 0) {
            check_response(se);
        }
        if ((flags & 2u) && i < size) {
            uint8_t buf[1024];
            (void)vsafe_se_i2c_read(se, 0x20, buf, data[i++] * 4u);
        }
    }
    vsafe_se_close(se);
    return 0;
}
