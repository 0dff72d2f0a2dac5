/* Reset and fault entry for the AN505 (Cortex-M33, Secure state after reset; QEMU boots from the
 * vector table at 0x10000000). The reset handler copies .data, zeroes .bss, paints the unused
 * stack so the test can report its high-water mark, runs main and exits through semihosting with
 * main's result. A fault prints its name and the stacked PC and exits with status 255. */
#include <stdint.h>
#include <string.h>

#include "semihost.h"

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern uint32_t __stack_bottom, __stack_top;

int main(void);
void vsafe_fw_reset_handler(void);

#define STACK_PAINT 0xA5A5A5A5u
const uint32_t vsafe_fw_stack_paint = STACK_PAINT;

static uint32_t stack_seen; /* deepest use recorded before a region was repainted */

void vsafe_fw_stack_seen(const uint32_t *p)
{
    uint32_t d = (uint32_t)((const uint8_t *)&__stack_top - (const uint8_t *)p);
    if (p >= &__stack_bottom && p <= &__stack_top && d > stack_seen) {
        stack_seen = d;
    }
}

/* Bytes of the stack region that were ever written (the paint is gone), or recorded as used. */
uint32_t vsafe_fw_stack_high_water(void)
{
    const uint32_t *p = &__stack_bottom;
    while (p < &__stack_top && *p == STACK_PAINT) {
        p++;
    }
    uint32_t d = (uint32_t)((const uint8_t *)&__stack_top - (const uint8_t *)p);
    return d > stack_seen ? d : stack_seen;
}

static const char *const fault_names[] = {"HardFault", "MemManage", "BusFault", "UsageFault", "SecureFault",
                                          "unexpected exception"};

/* Reached from the handlers below with the exception number's name index and the stacked frame
 * (on MSP: the firmware never switches to PSP); frame[6] is the stacked PC. */
__attribute__((used, noreturn)) void vsafe_fw_fault(uint32_t which, const uint32_t *frame)
{
    vsafe_fw_puts("\nFAULT: ");
    vsafe_fw_puts(fault_names[which < 6u ? which : 5u]);
    vsafe_fw_puts(" at pc 0x");
    vsafe_fw_put_hex(frame[6], 8);
    vsafe_fw_puts("\n0 passed, 1 failed\n");
    vsafe_fw_exit(255);
}

/* Naked so that MSP still points at the stacked frame when it is read. */
#define FAULT_HANDLER(fn, index) \
    __attribute__((naked)) static void fn(void) { __asm__ volatile("movs r0, #" #index "\n mrs r1, msp\n b vsafe_fw_fault"); }

FAULT_HANDLER(hardfault_handler, 0)
FAULT_HANDLER(memmanage_handler, 1)
FAULT_HANDLER(busfault_handler, 2)
FAULT_HANDLER(usagefault_handler, 3)
FAULT_HANDLER(securefault_handler, 4)
FAULT_HANDLER(default_handler, 5)

void vsafe_fw_reset_handler(void)
{
    memcpy(&__data_start, &__data_load, (size_t)((uint8_t *)&__data_end - (uint8_t *)&__data_start));
    memset(&__bss_start, 0, (size_t)((uint8_t *)&__bss_end - (uint8_t *)&__bss_start));
    /* Paint from the bottom of the stack up to a margin below the current frame. */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = &__stack_bottom; p < sp - 64; p++) {
        *p = STACK_PAINT;
    }
    vsafe_fw_exit((uint32_t)main());
}

typedef void (*vector_t)(void);

/* Armv8-M mainline: 16 system vectors. No interrupt is enabled by the firmware. */
__attribute__((section(".vectors"), used)) static const vector_t vectors[16] = {
    (vector_t)(uintptr_t)&__stack_top,
    vsafe_fw_reset_handler,
    default_handler,      /* NMI */
    hardfault_handler,
    memmanage_handler,
    busfault_handler,
    usagefault_handler,
    securefault_handler,
    0, 0, 0,
    default_handler,      /* SVCall */
    default_handler,      /* DebugMonitor */
    0,
    default_handler,      /* PendSV */
    default_handler,      /* SysTick */
};
