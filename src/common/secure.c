/* Wipe and constant-time compare. Why the wipe is written this way: a plain memset of memory that
 * is freed or goes out of scope afterwards is a dead store the optimiser removes (seen at -O2 on
 * the device-close paths, tests/wipe). Every wipe ends in an empty asm statement that takes the
 * pointer and clobbers memory: the compiler must assume the asm reads the zeroed bytes, so it can
 * neither drop the stores nor sink them past it, and the asm is opaque to link-time optimisation
 * too. The wipe sits on every command's path, so it is built for speed as well:
 *  - up to 64 bytes (the device core's per-command wipes: a staged Decrement is ~32 bytes), the
 *    zeros go through volatile 8/4/2/1-byte stores, which the compiler may neither elide nor turn
 *    into a memset call; a memset call costs more than the stores at these sizes (measured ~2.7 ns
 *    against ~1.7 ns per call);
 *  - above that, memset, which is faster for long buffers.
 * Without GNU asm the stores go through a volatile pointer, one byte at a time. */
#include "common/secure.h"

#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
typedef uint64_t vsafe_wipe_u64_t __attribute__((aligned(1), may_alias));
typedef uint32_t vsafe_wipe_u32_t __attribute__((aligned(1), may_alias));
typedef uint16_t vsafe_wipe_u16_t __attribute__((aligned(1), may_alias));

void vsafe_wipe(void *p, size_t n)
{
    if (n > 64u) {
        memset(p, 0, n);
    } else {
        volatile uint8_t *b = (volatile uint8_t *)p;
        for (; n >= 8u; n -= 8u, b += 8) {
            *(volatile vsafe_wipe_u64_t *)b = 0;
        }
        if ((n & 4u) != 0u) {
            *(volatile vsafe_wipe_u32_t *)b = 0;
            b += 4;
        }
        if ((n & 2u) != 0u) {
            *(volatile vsafe_wipe_u16_t *)b = 0;
            b += 2;
        }
        if ((n & 1u) != 0u) {
            *b = 0;
        }
    }
    __asm__ __volatile__("" : : "r"(p) : "memory");
}
#else
void vsafe_wipe(void *p, size_t n)
{
    volatile uint8_t *b = (volatile uint8_t *)p;
    for (; n > 0u; n--, b++) {
        *b = 0;
    }
}
#endif

/* The compare: 8 bytes at a time, XORs ORed into one accumulator, no branch on the data. The empty
 * asm after each step makes the accumulator opaque to the compiler, so it can neither stop early
 * once a difference is seen nor turn the loop into memcmp. (The old form kept the accumulator in a
 * volatile byte: a store and a reload per byte, ~40 ns for a 16-byte key, on the path of every
 * keyed AES and MAC command.) Without GNU asm, volatile reads one byte at a time. */
#if defined(__GNUC__) || defined(__clang__)
bool vsafe_ct_equal(const void *a, const void *b, size_t n)
{
    const uint8_t *x = (const uint8_t *)a;
    const uint8_t *y = (const uint8_t *)b;
    uint64_t d = 0;
    for (; n >= 8u; n -= 8u, x += 8, y += 8) {
        d |= *(const vsafe_wipe_u64_t *)(const void *)x ^ *(const vsafe_wipe_u64_t *)(const void *)y;
        __asm__("" : "+r"(d));
    }
    for (; n > 0u; n--, x++, y++) {
        d |= (uint64_t)(*x ^ *y);
        __asm__("" : "+r"(d));
    }
    return d == 0u;
}
#else
bool vsafe_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = (const volatile uint8_t *)a;
    const volatile uint8_t *y = (const volatile uint8_t *)b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) {
        d = (uint8_t)(d | (x[i] ^ y[i]));
    }
    return d == 0u;
}
#endif
