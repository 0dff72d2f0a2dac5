/* The one wipe and the one constant-time compare of vsafe (architecture boundary 7).
 *
 * vsafe_wipe writes zeros and then passes the buffer to an empty asm statement that claims to read
 * memory, so the compiler can neither drop the stores as dead (memset before free, or before a
 * variable goes out of scope) nor move them past the barrier (secure.c says why it is built so).
 * Freestanding: usable from the device core. */
#ifndef VSAFE_COMMON_SECURE_H
#define VSAFE_COMMON_SECURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sets n bytes at p to zero; never removed by the optimiser. p may be NULL when n is 0.
 * Cheap enough for every command's working buffers (word stores or memset, then a barrier). */
void vsafe_wipe(void *p, size_t n);

/* true when a[0..n) == b[0..n); the time taken depends on n only. */
bool vsafe_ct_equal(const void *a, const void *b, size_t n);

#endif
