/* vsafe's STSELib platform layer: the bus, CRC, delay, power and random functions STSELib's
 * platform abstraction asks for (stse_platform_*), implemented over a vsafe device, so that
 * firmware built on STSELib runs on a host against the virtual STSAFE-A120.
 *
 * Which device: the one given to vsafe_stse_use_device, else a served one when VSAFE_CONNECT is
 * set, else one the layer opens itself on first use; from the environment:
 *   VSAFE_CONNECT=ADDR       a device served by `vsafe serve`: a Unix socket path or HOST:PORT
 *   VSAFE_STSE_DEVICE=NAME   which device of a server of several (vsafe serve --root)
 *   VSAFE_STSE_STATE=FILE    the device's state file (created from the profile when absent; the
 *                            file `vsafe --device DIR` uses is DIR/se.nvm); unset = volatile
 *   VSAFE_STSE_PROFILE=NAME  profile of a new device (default spl05)
 *   VSAFE_STSE_PCAP=FILE     every I2C transaction of the layer, as a pcap capture
 *   VSAFE_STSE_DELAY=0       skip the delays STSELib asks for (default: they are slept)
 * contrib/stselib/README.md shows how to build a firmware's host build with it. */
#ifndef VSAFE_STSE_H
#define VSAFE_STSE_H

#include "vsafe/se.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Makes the layer use se (not owned; it must outlive every STSELib call), or with NULL go back
 * to opening its own device from the environment. */
void vsafe_stse_use_device(vsafe_se_t *se);
/* The in-process device in use, opened from the environment if none is yet; NULL over a served
 * device (VSAFE_CONNECT), or when it cannot be opened (the reason is printed on stderr once, and
 * every bus call then fails). */
vsafe_se_t *vsafe_stse_device(void);
/* Closes what the layer opened itself (device, capture). Safe to call at any time; the next bus
 * call opens a device again. */
void vsafe_stse_shutdown(void);

#ifdef __cplusplus
}
#endif
#endif
