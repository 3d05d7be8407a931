# Installs the build tree to a scratch prefix, configures examples/ with
# find_package(flashcore CONFIG) against it, builds and runs the example.
file(REMOVE_RECURSE "${WORK_DIR}")
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples" -B "${WORK_DIR}/build" -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
    -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build" -j 2)
set(ENV{FLASHCORE_CACHE_DIR} "${WORK_DIR}/cache")
run("${WORK_DIR}/build/embed_attention")

# The exported target names the toolkit through CUDA::toolkit, not this machine's folder.
file(READ "${WORK_DIR}/prefix/lib/cmake/flashcore/flashcoreTargets.cmake" targets)
foreach(dir IN LISTS CUDA_INCLUDE_DIRS)
  string(FIND "${targets}" "${dir}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "flashcoreTargets.cmake hard-codes the toolkit folder ${dir}")
  endif()
endforeach()
string(FIND "${targets}" "CUDA::toolkit" at)
if(at EQUAL -1)
  message(FATAL_ERROR "flashcoreTargets.cmake does not link CUDA::toolkit")
endif()

# The version header and the licence are installed.
file(READ "${WORK_DIR}/prefix/include/flashcore/version.hpp" version_header)
string(FIND "${version_header}" "#define FLASHCORE_VERSION_STRING \"${VERSION}\"" at)
if(at EQUAL -1)
  message(FATAL_ERROR "version.hpp does not define FLASHCORE_VERSION_STRING \"${VERSION}\"")
endif()
if(NOT EXISTS "${WORK_DIR}/prefix/share/doc/flashcore/LICENSE")
  message(FATAL_ERROR "LICENSE is not installed")
endif()

# pkg-config: the same example, built by hand from `pkg-config --cflags --libs flashcore`.
set(ENV{PKG_CONFIG_PATH} "${WORK_DIR}/prefix/lib/pkgconfig")
execute_process(COMMAND pkg-config --modversion flashcore OUTPUT_VARIABLE pc_version RESULT_VARIABLE rc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0 OR NOT pc_version STREQUAL VERSION)
  message(FATAL_ERROR "pkg-config --modversion flashcore: '${pc_version}' (rc ${rc}), expected ${VERSION}")
endif()
execute_process(COMMAND pkg-config --cflags --libs flashcore OUTPUT_VARIABLE pc_flags RESULT_VARIABLE rc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags --libs flashcore failed")
endif()
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
run(${CXX} -std=c++20 "${SOURCE_DIR}/examples/embed_attention.cpp" -o "${WORK_DIR}/embed_attention_pc" ${pc_flags}
    "-Wl,-rpath,${WORK_DIR}/prefix/lib")
run("${WORK_DIR}/embed_attention_pc")
