# CUDA backend (src/kernels/cuda -> tsft_cuda). TSFT_CUDA defaults to ON when a working nvcc is found.
# One architecture only (sm_90 SASS + compute_90 PTX for forward compatibility) keeps nvcc time small.
# Dependents see TSFT_HAVE_CUDA. Included from the top-level CMakeLists.txt after the module targets.
if(NOT DEFINED TSFT_CUDA)
  # The toolkit's usual place, also when it is not on PATH (CI shells).
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(_tsft_cuda_default ON)
  else()
    set(_tsft_cuda_default OFF)
  endif()
endif()
option(TSFT_CUDA "Build the CUDA backend (src/kernels/cuda, tests/cuda)" ${_tsft_cuda_default})
if(NOT TSFT_CUDA)
  message(STATUS "tsft: CUDA backend off (TSFT_CUDA=OFF or no nvcc found)")
  return()
endif()

if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "90-real;90-virtual")
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
set(CMAKE_CUDA_STANDARD 17)  # CMake 3.25 knows no CUDA20 flags for nvcc
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
if(CCACHE_PROGRAM)
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
message(STATUS "tsft: CUDA backend on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, archs ${CMAKE_CUDA_ARCHITECTURES})")

file(GLOB _tsft_cuda_src CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/kernels/cuda/*.cu
  ${CMAKE_SOURCE_DIR}/src/kernels/cuda/*.cpp)
list(REMOVE_ITEM _tsft_cuda_src ${CMAKE_SOURCE_DIR}/src/kernels/cuda/module.cpp)
add_library(tsft_cuda STATIC ${_tsft_cuda_src})
# Linked into the shared module below: position-independent, like the static libraries it uses.
set_target_properties(tsft_cuda tsft_kernels tsft_core PROPERTIES POSITION_INDEPENDENT_CODE ON)
# The directory-wide options (-Wall, -march=native, sanitizers) are g++ flags nvcc rejects: replace
# the inherited list with per-language options.
set_property(TARGET tsft_cuda PROPERTY COMPILE_OPTIONS "")
target_compile_options(tsft_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -Wno-sign-compare>
  $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall,-Wno-unused-parameter,-Wno-sign-compare>)
# Static runtime: the binaries then need only the driver and cuBLAS at run time.
target_link_libraries(tsft_cuda PUBLIC tsft_kernels tsft_core CUDA::cudart_static CUDA::cublasLt CUDA::cublas)
target_compile_definitions(tsft_cuda PUBLIC TSFT_HAVE_CUDA=1)
# The CUDA module: dlopen'ed by the engine factory (src/model/engine_module.cpp) only when a command
# asks for --device cuda or `tsft info --devices`, so tsft itself never links the CUDA libraries (CPU
# commands start without loading cuBLAS, and the same binary runs where CUDA is absent). It lands
# next to the tsft binary. tests/cuda keep linking tsft_cuda directly.
add_library(tsft_cuda_module MODULE ${CMAKE_SOURCE_DIR}/src/kernels/cuda/module.cpp)
set_property(TARGET tsft_cuda_module PROPERTY COMPILE_OPTIONS "")
target_compile_options(tsft_cuda_module PRIVATE -Wall -Wextra -Wno-unused-parameter)
target_link_libraries(tsft_cuda_module PRIVATE tsft_cuda)
set_target_properties(tsft_cuda_module PROPERTIES PREFIX "lib" LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
if(TARGET tsft)
  add_dependencies(tsft tsft_cuda_module)
endif()
