/* vsafe_profile_json_line: JSON path -> line, on valid JSON, with strings that contain the
 * characters the scanner must not mistake for structure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hooks.h"

static const char doc[] =
    "{\n"                                               /* 1 */
    "  \"name\": \"a \\\"quoted\\\" [name], {x}\",\n"   /* 2 */
    "  \"zones\": [\n"                                  /* 3 */
    "    {\"index\": 0, \"length\": 10},\n"             /* 4 */
    "    {\n"                                           /* 5 */
    "      \"index\": 1,\n"                             /* 6 */
    "      \"read_ac\": \"never\"\n"                    /* 7 */
    "    },\n"                                          /* 8 */
    "    {\"nested\": [[1, 2], {\"a\": \"]\"}],\n"      /* 9 */
    "     \"read_ac\": \"host\"}\n"                     /* 10 */
    "  ],\n"                                            /* 11 */
    "  \"command_table\": {\"commands\": [\n"           /* 12 */
    "    {\"code\": 5},\n"                              /* 13 */
    "    {\"code\": 6,\n"                               /* 14 */
    "     \"ac\": \"host\"}]}\n"                        /* 15 */
    "}\n";

static unsigned line(const char *path) { return vsafe_profile_json_line(doc, strlen(doc), path); }

static void test_root_and_keys(void **state)
{
    (void)state;
    assert_int_equal(line(""), 1);
    assert_int_equal(line("name"), 2);
    assert_int_equal(line("zones"), 3);
    assert_int_equal(line("command_table"), 12);
}

static void test_array_elements(void **state)
{
    (void)state;
    assert_int_equal(line("zones[0]"), 4);
    assert_int_equal(line("zones[0].length"), 4);
    assert_int_equal(line("zones[1]"), 5);
    assert_int_equal(line("zones[1].read_ac"), 7);
    assert_int_equal(line("zones[2].read_ac"), 10);
    assert_int_equal(line("command_table.commands[1].ac"), 15);
    assert_int_equal(line("command_table.commands[0].code"), 13);
}

static void test_missing_parts_fall_back_to_deepest(void **state)
{
    (void)state;
    assert_int_equal(line("zones[1].length"), 5);   /* zone exists, key does not */
    assert_int_equal(line("zones[7]"), 3);          /* past the end of the array */
    assert_int_equal(line("nothing"), 1);
    assert_int_equal(line("name.sub"), 2);          /* a string has no members */
    assert_int_equal(line("zones.index"), 3);       /* an array has no keys */
}

static void test_bad_input(void **state)
{
    (void)state;
    assert_int_equal(vsafe_profile_json_line("", 0, "x"), 0);
    assert_int_equal(vsafe_profile_json_line("  \n ", 4, "x"), 0);
    assert_int_equal(vsafe_profile_json_line(NULL, 0, "x"), 0);
    /* Truncated text: never reads past the end, gives the deepest line found. */
    const char *t = "{\n \"zones\": [\n {\"index\": \"unterminated";
    assert_int_equal(vsafe_profile_json_line(t, strlen(t), "zones[0].index"), 3);
    assert_int_equal(vsafe_profile_json_line(t, strlen(t), "zones[0].length"), 3);
    assert_int_equal(vsafe_profile_json_line(t, strlen(t), "zones[1]"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_and_keys),
        cmocka_unit_test(test_array_elements),
        cmocka_unit_test(test_missing_parts_fall_back_to_deepest),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
