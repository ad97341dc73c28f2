# Compiler launcher (ccache) and warning flags shared by every target of ours.
find_program(S2V_CCACHE ccache)
if(S2V_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  # Precompiled headers need these sloppiness flags for ccache to hit.
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${S2V_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${CMAKE_CXX_COMPILER_LAUNCHER})
endif()

add_library(s2v_warnings INTERFACE)
target_compile_options(s2v_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers>)

# Executables export no symbols. Debian's libtorch_cpu pulls in OpenCV's highgui and with it Qt 5;
# an executable that exported its out-of-line copies of Qt 6 inline functions (QByteArray::append,
# ...) would have Qt 5's start-up code bind to them and crash before main(). A version script
# that makes every executable symbol local keeps each Qt to itself.
file(WRITE ${PROJECT_BINARY_DIR}/s2v_exe_symbols.map "{ local: *; };\n")
add_link_options("$<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:LINKER:--version-script=${PROJECT_BINARY_DIR}/s2v_exe_symbols.map>")
