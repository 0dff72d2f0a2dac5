/* Personalization profile files (docs/PROFILE.md): a built-in name or a JSON file compiled into a
 * vsafe_profile_t (src/se/profile.h). Outside the device core: this module allocates and reads
 * files. Every error message names the file, the line and the field:
 *     myprofile.json:14: zones[3].read_ac: expected "always", "host" or "never" (or 0..7), got "sometimes"
 */
#ifndef VSAFE_PROFILE_FILE_H
#define VSAFE_PROFILE_FILE_H

#include <stddef.h>

#include "se/profile.h"
#include "vsafe/status.h"

/* Loads a profile: name_or_path is a built-in name (case-insensitive: "spl05", "default"), the
 * path of a JSON profile file, or the bare name of an installed one (vsafe_profile_find). A built-in name wins over a file of the same name; write "./spl05"
 * for the file. On success *out is a heap copy the caller releases with vsafe_profile_free (also
 * for built-ins). On failure *out is NULL and err (if err_cap > 0) holds a one-line message.
 * Returns VSAFE_OK, VSAFE_ERR_ARGUMENT, VSAFE_ERR_NO_MEMORY, VSAFE_ERR_IO (file unreadable),
 * VSAFE_ERR_PROFILE_UNKNOWN (not a built-in name and no such file), VSAFE_ERR_PROFILE_SYNTAX
 * (not JSON, or a duplicated key), VSAFE_ERR_PROFILE_FIELD (unknown, missing or mistyped field),
 * VSAFE_ERR_BAD_PROFILE (well-formed but cannot describe a real device). */
/* Finds the installed or user profile NAME (a bare name, no '/'): NAME.json in each directory of
 * $VSAFE_PROFILE_PATH (':'-separated), then in share/vsafe/profiles of the running program's
 * installation (BIN/../share/vsafe/profiles), then of the configured install prefix. Writes the
 * path to out. VSAFE_OK, VSAFE_ERR_NOT_FOUND, VSAFE_ERR_ARGUMENT. */
VSAFE_MUST_CHECK int vsafe_profile_find(const char *name, char *out, size_t cap);

VSAFE_MUST_CHECK int vsafe_profile_load(const char *name_or_path, vsafe_profile_t **out, char *err,
                                        size_t err_cap);

/* Compiles a profile from JSON text held in memory. file names the text in messages. Same
 * statuses as vsafe_profile_load (no VSAFE_ERR_IO / VSAFE_ERR_PROFILE_UNKNOWN). */
VSAFE_MUST_CHECK int vsafe_profile_parse(const char *file, const char *text, size_t text_len,
                                         vsafe_profile_t **out, char *err, size_t err_cap);

/* Deep heap copy of a profile (zone contents included). VSAFE_OK, VSAFE_ERR_ARGUMENT,
 * VSAFE_ERR_NO_MEMORY. */
VSAFE_MUST_CHECK int vsafe_profile_copy(const vsafe_profile_t *src, vsafe_profile_t **out);

/* Releases a profile from vsafe_profile_load/parse/copy and its zone contents. NULL is a no-op. */
void vsafe_profile_free(vsafe_profile_t *p);

/* vsafe_profile_validate with the offending field's JSON path ("zones[3].length") and the bare
 * message ("length 0: ...") returned separately, so the loader can locate the line.
 * VSAFE_OK or VSAFE_ERR_BAD_PROFILE. */
VSAFE_MUST_CHECK int vsafe_profile_check(const vsafe_profile_t *p, char *field, size_t field_cap,
                                         char *msg, size_t msg_cap);

/* The 1-based line where the value at a JSON path (e.g. "zones[3].read_ac",
 * "command_table.commands[0]") starts in text, which must be valid JSON. For an object member
 * the line of its key is given. When the path cannot be followed to its end, the line of the
 * deepest part that exists; 1 for the empty path. 0 if text is empty or not JSON at the root. */
unsigned vsafe_profile_json_line(const char *text, size_t text_len, const char *path);

#endif
