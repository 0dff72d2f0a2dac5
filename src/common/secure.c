/* Wipe and constant-time compare. Why the wipe is written this way: a plain memset of memory that
 * is freed or goes out of scope afterwards is a dead store the optimiser removes (seen at -O2 on
 * the device-close paths). The volatile stores cannot be elided, and the asm barrier, which takes
 * the pointer and clobbers memory, keeps them from being sunk or merged away by link-time
 * optimisation. */
#include "common/secure.h"

void vsafe_wipe(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;
    for (size_t i = 0; i < n; i++) {
        v[i] = 0;
    }
#if defined(__GNUC__) || defined(__clang__)
    __asm__ __volatile__("" : : "r"(p) : "memory");
#endif
}

bool vsafe_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = (const volatile uint8_t *)a;
    const volatile uint8_t *y = (const volatile uint8_t *)b;
    volatile uint8_t d = 0;
    for (size_t i = 0; i < n; i++) {
        d = (uint8_t)(d | (x[i] ^ y[i]));
    }
    return d == 0u;
}
