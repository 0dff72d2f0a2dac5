/* Wipe and constant-time compare. Why the wipe is written this way: a plain memset of memory that
 * is freed or goes out of scope afterwards is a dead store the optimiser removes (seen at -O2 on
 * the device-close paths, tests/wipe). Here the memset is followed by an empty asm statement that
 * takes the pointer and clobbers memory: the compiler must assume the asm reads the zeroed bytes,
 * so it can neither drop the stores nor sink them past it, and the asm is opaque to link-time
 * optimisation too. memset rather than a volatile byte loop because the wipe sits on every
 * command's path (the loop cost 3-7% of an encrypted end-to-end Decrement). Without GNU asm the
 * stores go through a volatile pointer instead. */
#include "common/secure.h"

#include <string.h>

void vsafe_wipe(void *p, size_t n)
{
    if (n == 0) {
        return;
    }
#if defined(__GNUC__) || defined(__clang__)
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
#else
    volatile uint8_t *v = (volatile uint8_t *)p;
    for (size_t i = 0; i < n; i++) {
        v[i] = 0;
    }
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
