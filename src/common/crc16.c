/* CRC-16/X-25 (poly 0x1021 reflected, init 0xFFFF, xorout 0xFFFF), table driven:
 * every command and response pays for it, so it is on the hot path. */
#include "vsafe/se_wire.h"

static const uint16_t crc16_table[256] = {
#define R1(c) (((c) & 1u) ? (((c) >> 1) ^ 0x8408u) : ((c) >> 1))
#define R8(c) R1(R1(R1(R1(R1(R1(R1(R1(c))))))))
#define T4(n) R8((n) + 0u), R8((n) + 1u), R8((n) + 2u), R8((n) + 3u)
#define T16(n) T4((n) + 0u), T4((n) + 4u), T4((n) + 8u), T4((n) + 12u)
#define T64(n) T16((n) + 0u), T16((n) + 16u), T16((n) + 32u), T16((n) + 48u)
    T64(0u), T64(64u), T64(128u), T64(192u)
#undef T64
#undef T16
#undef T4
#undef R8
#undef R1
};

static uint16_t crc16_run(uint16_t reg, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        reg = (uint16_t)((reg >> 8) ^ crc16_table[(reg ^ data[i]) & 0xFFu]);
    }
    return reg;
}

uint16_t vsafe_crc16(const uint8_t *data, size_t len)
{
    return (uint16_t)(crc16_run(0xFFFFu, data, len) ^ 0xFFFFu);
}

uint16_t vsafe_crc16_continue(uint16_t crc_final, const uint8_t *data, size_t len)
{
    return (uint16_t)(crc16_run((uint16_t)(crc_final ^ 0xFFFFu), data, len) ^ 0xFFFFu);
}
