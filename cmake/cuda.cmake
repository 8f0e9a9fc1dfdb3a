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
add_library(tsft_cuda STATIC ${_tsft_cuda_src})
# The directory-wide options (-Wall, -march=native, sanitizers) are g++ flags nvcc rejects: replace
# the inherited list with per-language options.
set_property(TARGET tsft_cuda PROPERTY COMPILE_OPTIONS "")
target_compile_options(tsft_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -Wno-sign-compare>
  $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall,-Wno-unused-parameter,-Wno-sign-compare>)
# Static runtime: the binaries then need only the driver and cuBLAS at run time.
target_link_libraries(tsft_cuda PUBLIC tsft_kernels tsft_core CUDA::cudart_static CUDA::cublasLt CUDA::cublas)
target_compile_definitions(tsft_cuda PUBLIC TSFT_HAVE_CUDA=1)
set(TSFT_LIBS ${TSFT_LIBS} tsft_cuda)
if(TARGET tsft)
  target_link_libraries(tsft PRIVATE tsft_cuda)
endif()
