/* The linked library's version (include/vsafe/version.h, generated from CMakeLists.txt). */
#include <vsafe/version.h>

const char *vsafe_version(void)
{
    return VSAFE_VERSION_STRING;
}
