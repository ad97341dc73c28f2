# Small helpers so that each module folder owns a short CMakeLists.txt.

# s2v_add_library(name [TORCH] SOURCES ... [PUBLIC_LIBS ...] [PRIVATE_LIBS ...])
# Include root is the repository root: headers are included as "models/wan/dit_s2v.h".
function(s2v_add_library name)
  cmake_parse_arguments(A "TORCH" "" "SOURCES;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
  target_link_libraries(${name} PUBLIC ${A_PUBLIC_LIBS} PRIVATE ${A_PRIVATE_LIBS} s2v_warnings)
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  if(A_TORCH)
    s2v_use_torch(${name})
  endif()
endfunction()

# s2v_add_test(name [TORCH] SOURCES ... LIBS ... [TIMEOUT s] [LABELS ...])
# Every test is a Qt Test executable run by ctest from the build directory. Tests find
# ../shared/testdata through S2V_SHARED_DIR (default: the folder beside the repository).
set(S2V_SHARED_DIR "${PROJECT_SOURCE_DIR}/../shared" CACHE PATH "The shared/ folder with testdata")
# ctest labels: every suite is `fast` or `slow`; others say what a suite is: `parity` (checked
# against the official code's vectors; `parity-variant` for the 1-thread/AVX2 re-runs), `gui`
# (drives real widgets offscreen), `fuzz`, `packaging`. `gpu` is kept for suites that need CUDA:
# none is in ctest yet (the GPU check is scripts/device-check.sh, run on a lent machine).
# `./scripts/test.sh -L fast` is the edit-compile-test loop. A suite is slow when it took more than
# 15 s in the clean-clone run of 2026-12-04 (README "Measured"); one that grows past that goes here.
set(S2V_SLOW_TESTS engine_only_dry_run test_cli test_resume test_curation_metrics media_fuzz_smoke
    test_model_loading test_media_video_reader test_light_asd test_pipeline_parity test_job_workers
    test_job_dock test_generate_workspace test_package_deb
    test_curate_workspace)  # since #18: scores a whole sample clip live until its first row (15-23 s)
function(s2v_speed_label name out)
  if(name IN_LIST S2V_SLOW_TESTS)
    set(${out} slow PARENT_SCOPE)
  else()
    set(${out} fast PARENT_SCOPE)
  endif()
endfunction()

function(s2v_add_test name)
  cmake_parse_arguments(A "TORCH" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  set_target_properties(${name} PROPERTIES AUTOMOC ON)
  target_link_libraries(${name} PRIVATE ${A_LIBS} Qt6::Core Qt6::Test s2v_warnings)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    S2V_SHARED_DIR="${S2V_SHARED_DIR}" S2V_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    S2V_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(A_TORCH)
    s2v_use_torch(${name})
  endif()
  add_test(NAME ${name} COMMAND ${name})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 600)
  endif()
  s2v_speed_label(${name} speed)
  list(REMOVE_ITEM A_LABELS fast slow)
  set_tests_properties(${name} PROPERTIES TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "QT_QPA_PLATFORM=offscreen;S2V_BINARY_DIR=${PROJECT_BINARY_DIR}"
    LABELS "${A_LABELS};${speed}")
endfunction()

# s2v_add_subdirectories(): add every direct sub-folder that has a CMakeLists.txt, in name order.
# Module owners add a folder without touching the parent list.
function(s2v_add_subdirectories)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}
       ${CMAKE_CURRENT_SOURCE_DIR}/*/CMakeLists.txt)
  list(SORT children)
  foreach(child ${children})
    get_filename_component(dir ${child} DIRECTORY)
    add_subdirectory(${dir})
  endforeach()
endfunction()

# s2v_assert_no_torch(target): fails the configure step when the target links LibTorch, directly
# or through any library it links (the GUI must not: its jobs run in `s2v worker` processes).
# Deferred to the end of the configure step, when every target it names is defined.
function(s2v_assert_no_torch target)
  # (a deferred call's arguments are evaluated when it runs: the name is spelled out here)
  cmake_language(EVAL CODE
    "cmake_language(DEFER DIRECTORY [[${PROJECT_SOURCE_DIR}]] CALL _s2v_assert_no_torch_now [[${target}]])")
endfunction()
function(_s2v_assert_no_torch_now target)
  set(seen "")
  set(todo ${target})
  set(torch_libs ${TORCH_LIBRARIES} torch torch_library torch_cpu c10 s2v_torch_pch)
  while(todo)
    list(POP_FRONT todo t)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" t "${t}")
    if(t IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${t})
    if(t IN_LIST torch_libs OR t MATCHES "lib(torch|c10)[^/]*\\.so")
      message(FATAL_ERROR "${target} links LibTorch (through ${t}); the GUI runs torch code in s2v worker processes")
    endif()
    if(TARGET ${t})
      get_target_property(aliased ${t} ALIASED_TARGET)
      if(aliased)
        list(APPEND todo ${aliased})
      endif()
      foreach(prop LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
        get_target_property(libs ${t} ${prop})
        if(libs)
          list(APPEND todo ${libs})
        endif()
      endforeach()
    endif()
  endwhile()
endfunction()
