#!/usr/bin/env python3
"""The README's "Tests" section names the tests the sanitizer build does not define: every test that
a CMakeLists.txt under tests/ adds only `if(NOT VSAFE_SANITIZE ...)` must be named there, and every
test named there must be one of them, so the description of `make test-asan` stays true as tests
are added. Usage: check_readme_tests.py SOURCE_DIR"""
import os
import re
import sys

src = sys.argv[1]
guarded = set()
for root, _, files in os.walk(os.path.join(src, "tests")):
    if "CMakeLists.txt" not in files:
        continue
    depth, inside = 0, False
    for line in open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8"):
        s = line.strip()
        if re.match(r"if\s*\(", s):
            depth += 1
            if re.match(r"if\s*\(\s*NOT\s+VSAFE_SANITIZE\b", s) and not inside:
                inside, inside_depth = True, depth
        elif re.match(r"endif\s*\(", s):
            if inside and depth == inside_depth:
                inside = False
            depth -= 1
        elif inside:
            m = re.match(r"(?:add_test\s*\(\s*NAME\s+|vsafe_test\s*\(\s*)([A-Za-z0-9_]+)", s)
            if m:
                guarded.add(m.group(1))

readme = open(os.path.join(src, "README.md"), encoding="utf-8").read()
m = re.search(r"the\s+tests\s+the\s+sanitizer\s+build\s+does\s+not\s+define:(.*?);", readme, re.S)
if not m:
    sys.exit("README.md: no 'the tests the sanitizer build does not define: ...;' in its Tests section")
named = set(re.findall(r"`([A-Za-z0-9_]+)`", m.group(1)))
ok = True
for t in sorted(guarded - named):
    print(f"README.md does not name {t}, which the sanitizer build does not define")
    ok = False
for t in sorted(named - guarded):
    print(f"README.md names {t} as left out of the sanitizer build, but the sanitizer build defines it")
    ok = False
print(f"check_readme_tests: {len(guarded)} tests not in the sanitizer build, all named" if ok else "FAIL")
sys.exit(0 if ok else 1)
