# rt_unit_test(<dir> <module> SOURCES <files...> LIBS <targets...>)
#   builds test_<module> from tests/unit/<dir>/test_<module>.c (plus SOURCES), registers
#   ctest "unit.<dir>.<module>" with LABELS unit and a TIMEOUT.
function(rt_unit_test dir module)
  cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  set(target test_${dir}_${module})
  add_executable(${target} test_${module}.c ${A_SOURCES})
  target_link_libraries(${target} PRIVATE ${A_LIBS} PkgConfig::CMOCKA)
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/tests/lib)
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 60)
  endif()
  add_test(NAME unit.${dir}.${module} COMMAND ${target})
  set_tests_properties(unit.${dir}.${module} PROPERTIES LABELS unit TIMEOUT ${A_TIMEOUT})
endfunction()

# rt_integration_test(<name> COMMAND <cmd...> [FIXTURES redis pg] [LABELS ...] [TIMEOUT s])
#   registers ctest "<name>"; the test sees RT_TEST_STATE (fixture state), RT_TEST_BIN (build
#   dir) and RT_TEST_SRC (source dir) in its environment.
function(rt_integration_test name)
  cmake_parse_arguments(A "" "TIMEOUT" "COMMAND;FIXTURES;LABELS" ${ARGN})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${A_COMMAND})
  set_tests_properties(${name} PROPERTIES
    LABELS "integration;${A_LABELS}" TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "RT_TEST_STATE=${CMAKE_BINARY_DIR}/test-state;RT_TEST_BIN=${CMAKE_BINARY_DIR};RT_TEST_SRC=${CMAKE_SOURCE_DIR}")
  if(A_FIXTURES)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "${A_FIXTURES}")
  endif()
endfunction()
