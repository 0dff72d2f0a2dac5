# vsafe_test(NAME SOURCES... [LABELS l...] [ARGS a...] [TIMEOUT s])
# A cmocka (or plain C) test linked against the whole library. A test sees inside the library only
# through tests/hooks.h (checked by the tests_use_hooks test); src/ stays on the include path only
# because the internal headers hooks.h includes name each other relative to src/.
function(vsafe_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "LABELS;ARGS" ${ARGN})
  add_executable(${name} ${T_UNPARSED_ARGUMENTS})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests ${CMAKE_SOURCE_DIR}/tests/common ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(${name} PRIVATE vsafe_static PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "VSAFE_SOURCE_DIR=${CMAKE_SOURCE_DIR};VSAFE_BINARY_DIR=${CMAKE_BINARY_DIR};VSAFE_CA_DIR=${CMAKE_BINARY_DIR}/test-ca")
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
