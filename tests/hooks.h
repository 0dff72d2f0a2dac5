/* The test-hook header: the only way a test sees inside the library.
 *
 * Tests drive the library through its public headers (include/vsafe/) wherever they can. Where a
 * test must look inside (inspect or snapshot a device core, read the state image through the
 * store, build a device on a simulated NVM, parse a profile without a device), it includes this
 * header and nothing under src/. The internal headers stay internal: they are not installed, and
 * nothing here makes them public. When a test needs a new look inside, add it here (an internal
 * header, or a small function declared test-only and defined in the library), so that what the
 * tests depend on is visible in one place and changes to internals show up as changes to this
 * file. scripts/check-test-hooks.sh (CTest tests_use_hooks) refuses any other include of src/
 * from tests/.
 *
 * What each part gives the tests:
 *   se/core.h, se/layout.h     the device core (process a frame, the state image and its offsets);
 *   se/core_hooks.h            test-only views of the core (command-table lookup, working memory)
 *                              core.h also brings se/profile.h (compiled profile) and
 *                              store/store.h (the journaled store: open, commit, read back)
 *   store/store_int.h          the store's CRC-32C, single-bit locator and record format, for
 *                              the tests that check them against first principles
 *   mcu/mcu_core.h             the MCU model's core and its persistent record
 *   profile/profile_file.h     the profile-file loader (JSON text -> compiled profile)
 *   common/bytes.h             byte-order helpers, to read the formats a test checks
 *   host/keyfile.h             the host key-file parser, writer and durable staged write
 *   common/secure.h            the one wipe and the one constant-time compare, to test them
 *   server/proto.h             the socket protocol's request parser (vsafe serve), for its fuzz
 *                              target
 *   device/identity.h          the identity CA and the leaf certificates it issues, to check their
 *                              signatures over many certificates without a device each
 *   port/posix/crypto_openssl.h, port/posix/nvm_file.h
 *                              the OpenSSL crypto port and the file-backed NVM, to assemble a
 *                              device by hand in a test */
#ifndef VSAFE_TESTS_HOOKS_H
#define VSAFE_TESTS_HOOKS_H

#include "common/bytes.h" /* byte order of the formats tests check (ADAC is little-endian) */
#include "common/secure.h"
#include "device/identity.h"
#include "host/keyfile.h"
#include "mcu/mcu_core.h"
#include "port/posix/crypto_openssl.h"
#include "port/posix/nvm_file.h"
#include "profile/profile_file.h"
#include "se/core.h"
#include "se/core_hooks.h"
#include "se/layout.h"
#include "se/profile.h"
#include "server/proto.h"
#include "store/store.h"
#include "store/store_int.h"

#endif
