# LibTorch: Debian's libtorch-dev (CPU, 1.13) is found with no prefix; a CUDA LibTorch (for example
# the one inside a PyTorch install: python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
# is used when given through CMAKE_PREFIX_PATH.
find_package(Torch REQUIRED)
message(STATUS "LibTorch ${Torch_VERSION} (${TORCH_LIBRARIES})")

# A PyTorch wheel's torch_cpu lists protobuf::libprotobuf in its link interface although
# libtorch_cpu.so carries protobuf inside it; where TorchConfig left that target undefined, an empty
# stand-in keeps CMake's generate step from failing (we use no protobuf ourselves).
if(NOT TARGET protobuf::libprotobuf)
  add_library(protobuf::libprotobuf INTERFACE IMPORTED)
endif()

# TorchConfig puts its flags in TORCH_CXX_FLAGS; keep them on our targets only.
separate_arguments(S2V_TORCH_CXX_FLAGS UNIX_COMMAND "${TORCH_CXX_FLAGS}")

# One precompiled header for every translation unit that includes LibTorch. Targets reuse it with
# s2v_use_torch(target), so <torch/torch.h> is parsed once per build.
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/s2v_torch_pch.cpp CONTENT "// precompiled header host\n")
add_library(s2v_torch_pch OBJECT ${CMAKE_BINARY_DIR}/s2v_torch_pch.cpp)
target_link_libraries(s2v_torch_pch PUBLIC ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json)
target_compile_options(s2v_torch_pch PUBLIC ${S2V_TORCH_CXX_FLAGS})
set_target_properties(s2v_torch_pch PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_precompile_headers(s2v_torch_pch PUBLIC <torch/torch.h> <vector> <string> <map>)

# The precompiled header is built with -fPIC; GCC refuses a PCH whose -fpic/-fpie setting differs,
# so executables that reuse it are compiled with -fPIC too (instead of CMake's -fPIE).
function(s2v_use_torch target)
  target_link_libraries(${target} PUBLIC ${TORCH_LIBRARIES})
  target_compile_options(${target} PUBLIC ${S2V_TORCH_CXX_FLAGS})
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  else()
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endif()
  target_precompile_headers(${target} REUSE_FROM s2v_torch_pch)
endfunction()
