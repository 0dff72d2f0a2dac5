/* Maps a JSON path ("zones[3].read_ac") to the line where it appears in the profile text, so
 * that field errors found after parsing can name their line (jansson gives positions for syntax
 * errors only).
 *
 * Invariants:
 *  - The text has already been accepted by the JSON parser; this scanner only has to be right on
 *    valid JSON, but it never reads past text_len on any input.
 *  - Newlines are counted everywhere the scanner advances, so `line` always matches position i.
 *  - Keys are compared byte for byte as written (escapes not decoded): profile keys are plain
 *    ASCII names, and a key that does not match simply leaves the deepest found line. */
#include <stdbool.h>
#include <string.h>

#include "profile/profile_file.h"

typedef struct {
    const char *s;
    size_t n;
    size_t i;
    unsigned line;
} scan_t;

static void advance(scan_t *sc)
{
    if (sc->i < sc->n) {
        if (sc->s[sc->i] == '\n') {
            sc->line++;
        }
        sc->i++;
    }
}

static char peek(const scan_t *sc) { return sc->i < sc->n ? sc->s[sc->i] : '\0'; }

static void skip_ws(scan_t *sc)
{
    while (sc->i < sc->n && strchr(" \t\r\n", sc->s[sc->i]) != NULL && sc->s[sc->i] != '\0') {
        advance(sc);
    }
}

/* At an opening quote: moves past the closing one. */
static void skip_string(scan_t *sc)
{
    advance(sc);
    while (sc->i < sc->n && sc->s[sc->i] != '"') {
        if (sc->s[sc->i] == '\\') {
            advance(sc);
        }
        advance(sc);
    }
    advance(sc);
}

static void skip_value(scan_t *sc)
{
    skip_ws(sc);
    char c = peek(sc);
    if (c == '"') {
        skip_string(sc);
    } else if (c == '{' || c == '[') {
        unsigned depth = 0;
        do {
            c = peek(sc);
            if (c == '"') {
                skip_string(sc);
                continue;
            }
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                depth--;
            }
            advance(sc);
        } while (depth > 0 && sc->i < sc->n);
    } else {
        while (sc->i < sc->n && strchr(",]} \t\r\n", sc->s[sc->i]) == NULL) {
            advance(sc);
        }
    }
}

unsigned vsafe_profile_json_line(const char *text, size_t text_len, const char *path)
{
    if (text == NULL || path == NULL) {
        return 0;
    }
    scan_t sc = { .s = text, .n = text_len, .i = 0, .line = 1 };
    skip_ws(&sc);
    if (sc.i >= sc.n) {
        return 0;
    }
    unsigned found = sc.line;
    for (;;) {
        skip_ws(&sc);
        if (*path == '\0') {
            return found;
        }
        if (*path == '[') {
            unsigned long want = 0;
            for (path++; *path >= '0' && *path <= '9'; path++) {
                want = want * 10u + (unsigned long)(*path - '0');
            }
            if (*path == ']') {
                path++;
            }
            if (peek(&sc) != '[') {
                return found;
            }
            advance(&sc);
            for (unsigned long k = 0;; k++) {
                skip_ws(&sc);
                if (peek(&sc) == ']' || sc.i >= sc.n) {
                    return found;
                }
                if (k == want) {
                    found = sc.line;
                    break;
                }
                skip_value(&sc);
                skip_ws(&sc);
                if (peek(&sc) != ',') {
                    return found;
                }
                advance(&sc);
            }
            continue;
        }
        if (*path == '.') {
            path++;
        }
        size_t comp_len = strcspn(path, ".[");
        if (peek(&sc) != '{') {
            return found;
        }
        advance(&sc);
        for (;;) {
            skip_ws(&sc);
            if (peek(&sc) != '"') {
                return found;
            }
            unsigned key_line = sc.line;
            size_t key_start = sc.i + 1;
            skip_string(&sc);
            size_t key_len = sc.i >= key_start + 1 ? sc.i - key_start - 1 : 0;
            bool match = key_len == comp_len && memcmp(text + key_start, path, comp_len) == 0;
            skip_ws(&sc);
            if (peek(&sc) != ':') {
                return found;
            }
            advance(&sc);
            if (match) {
                found = key_line;
                path += comp_len;
                break;
            }
            skip_value(&sc);
            skip_ws(&sc);
            if (peek(&sc) != ',') {
                return found;
            }
            advance(&sc);
        }
    }
}
