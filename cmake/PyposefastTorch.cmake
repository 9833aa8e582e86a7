# Locate the installed torch and decide whether CUDA kernels are compiled.
#
# Outputs:
#   pyposefast_torch              INTERFACE target: torch include dirs, libraries, ABI flag
#   PYPOSEFAST_WITH_CUDA          ON/OFF
#   PYPOSEFAST_CXX_STANDARD       17, or 20 for torch >= 2.14 (its ATen requires C++20)
#   TORCH_VERSION_STRING, TORCH_CUDA_VERSION_STRING, PYPOSEFAST_CUDA_ARCHS_BUILT
#
# We deliberately do not call find_package(Torch): its Caffe2Config fails outright for a CUDA build of
# torch on a machine without a full toolkit (even for a CPU-only extension), it needs libnvrtc and the
# cuBLAS/cuSPARSE headers, and it overrides CMAKE_CUDA_ARCHITECTURES. Our kernels need only c10, ATen
# and the dispatcher headers, so we link the few libraries by path, as torch.utils.cpp_extension does.

execute_process(
  COMMAND "${Python_EXECUTABLE}" -c
    "import os, re, torch; print(os.path.dirname(torch.__file__)); print(torch.__version__); print(torch.version.cuda or ''); print(int(torch._C._GLIBCXX_USE_CXX11_ABI)); m = re.search(r'(/[^ \\n]*libstdc[+][+][.]so[.0-9]*)', open('/proc/self/maps').read()) if os.path.exists('/proc/self/maps') else None; print(m.group(1) if m else '')"
  OUTPUT_VARIABLE _torch_info
  RESULT_VARIABLE _torch_rc
  ERROR_VARIABLE _torch_err
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _torch_rc EQUAL 0)
  message(FATAL_ERROR
    "pyposefast needs torch installed in the build environment (${Python_EXECUTABLE}):\n${_torch_err}\n"
    "Install torch first, then build with: pip install --no-build-isolation .")
endif()
string(REPLACE "\n" ";" _torch_info "${_torch_info}")
list(GET _torch_info 0 TORCH_DIR)
list(GET _torch_info 1 TORCH_VERSION_STRING)
list(GET _torch_info 2 TORCH_CUDA_VERSION_STRING)
list(GET _torch_info 3 TORCH_CXX11_ABI)
set(TORCH_LIBSTDCXX "")
list(LENGTH _torch_info _n)
if(_n GREATER 4)
  list(GET _torch_info 4 TORCH_LIBSTDCXX)  # the libstdc++ torch runs with, read from /proc/self/maps
endif()
message(STATUS "pyposefast: torch ${TORCH_VERSION_STRING} at ${TORCH_DIR} (CUDA: '${TORCH_CUDA_VERSION_STRING}', CXX11 ABI ${TORCH_CXX11_ABI})")

string(REGEX MATCH "^([0-9]+)\\.([0-9]+)" _ "${TORCH_VERSION_STRING}")
if(CMAKE_MATCH_1 GREATER 2 OR (CMAKE_MATCH_1 EQUAL 2 AND CMAKE_MATCH_2 GREATER_EQUAL 14))
  set(PYPOSEFAST_CXX_STANDARD 20)
else()
  set(PYPOSEFAST_CXX_STANDARD 17)
endif()

# --- CUDA: decided by the toolkit ------------------------------------------------------------
string(TOUPPER "${PYPOSEFAST_CUDA}" _cuda_mode)
set(PYPOSEFAST_WITH_CUDA OFF)
if(NOT _cuda_mode STREQUAL "OFF")
  if(TORCH_CUDA_VERSION_STRING STREQUAL "")
    if(_cuda_mode STREQUAL "ON")
      message(FATAL_ERROR "PYPOSEFAST_CUDA=ON but the installed torch ${TORCH_VERSION_STRING} is not a CUDA build")
    endif()
    message(STATUS "pyposefast: torch is a CPU build -> CPU-only kernels")
  else()
    # Prefer the real toolkit compiler over wrappers on PATH (CMake then finds the right root).
    if(NOT DEFINED ENV{CUDACXX} AND NOT CMAKE_CUDA_COMPILER)
      foreach(_root "$ENV{CUDA_HOME}" "$ENV{CUDA_PATH}" "/usr/local/cuda")
        if(_root AND EXISTS "${_root}/bin/nvcc")
          set(ENV{CUDACXX} "${_root}/bin/nvcc")
          break()
        endif()
      endforeach()
    endif()
    include(CheckLanguage)
    check_language(CUDA)
    if(CMAKE_CUDA_COMPILER)
      set(PYPOSEFAST_WITH_CUDA ON)
    elseif(_cuda_mode STREQUAL "ON")
      message(FATAL_ERROR "PYPOSEFAST_CUDA=ON but no CUDA compiler (nvcc) was found; set CUDACXX or CUDA_HOME")
    else()
      message(STATUS "pyposefast: torch is a CUDA build but nvcc was not found -> CPU-only kernels")
    endif()
  endif()
endif()

add_library(pyposefast_torch INTERFACE)
target_include_directories(pyposefast_torch SYSTEM INTERFACE
  "${TORCH_DIR}/include"
  "${TORCH_DIR}/include/torch/csrc/api/include")
target_compile_definitions(pyposefast_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=${TORCH_CXX11_ABI})
foreach(_lib c10 torch_cpu torch)
  find_library(_path_${_lib} NAMES ${_lib} PATHS "${TORCH_DIR}/lib" NO_DEFAULT_PATH REQUIRED)
  target_link_libraries(pyposefast_torch INTERFACE "${_path_${_lib}}")
endforeach()

set(PYPOSEFAST_CUDA_ARCHS_BUILT "")
set(PYPOSEFAST_WITH_CUDA_PY False)
if(PYPOSEFAST_WITH_CUDA)
  set(PYPOSEFAST_WITH_CUDA_PY True)
  set(CMAKE_CUDA_ARCHITECTURES "${PYPOSEFAST_CUDA_ARCHITECTURES}")
  set(CMAKE_CUDA_STANDARD ${PYPOSEFAST_CXX_STANDARD})
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  set(PYPOSEFAST_CUDA_ARCHS_BUILT "${CMAKE_CUDA_ARCHITECTURES}")
  message(STATUS "pyposefast: CUDA kernels ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES})")
  find_library(_path_c10_cuda NAMES c10_cuda PATHS "${TORCH_DIR}/lib" NO_DEFAULT_PATH REQUIRED)
  target_link_libraries(pyposefast_torch INTERFACE "${_path_c10_cuda}" CUDA::cudart)
  # The same definitions torch.utils.cpp_extension uses for extension CUDA code.
  target_compile_definitions(pyposefast_torch INTERFACE
    $<$<COMPILE_LANGUAGE:CUDA>:__CUDA_NO_HALF_OPERATORS__ __CUDA_NO_HALF_CONVERSIONS__
                               __CUDA_NO_BFLOAT16_CONVERSIONS__ __CUDA_NO_HALF2_OPERATORS__>)
endif()
