# Third-party packages, all from the system (Debian packages + the CUDA toolkit).
# Logging and hashing are used header-only so the binaries run on machines that have the
# CUDA driver but not Debian's libspdlog/libfmt/libxxhash.
find_package(Threads REQUIRED)
find_package(CUDAToolkit REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)

# spdlog's own header-only target links the shared libfmt; pair it with fmt's header-only
# target instead.
get_target_property(_spdlog_includes spdlog::spdlog_header_only INTERFACE_INCLUDE_DIRECTORIES)
add_library(flashcore_spdlog INTERFACE)
target_include_directories(flashcore_spdlog SYSTEM INTERFACE ${_spdlog_includes})
target_compile_definitions(flashcore_spdlog INTERFACE SPDLOG_FMT_EXTERNAL SPDLOG_HEADER_ONLY)
target_link_libraries(flashcore_spdlog INTERFACE fmt::fmt-header-only Threads::Threads)

find_path(FLASHCORE_XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
add_library(flashcore_xxhash INTERFACE)
target_include_directories(flashcore_xxhash SYSTEM INTERFACE ${FLASHCORE_XXHASH_INCLUDE_DIR})

# hiredis (Debian's libhiredis-dev) for the Redis cache tier: headers only, the library is
# opened at run time. Without the headers the tier is left out (FLASHCORE_REMOTE_CACHE then
# says so).
find_path(FLASHCORE_HIREDIS_INCLUDE_DIR hiredis/hiredis.h)
add_library(flashcore_hiredis INTERFACE)
if(FLASHCORE_HIREDIS_INCLUDE_DIR)
  target_include_directories(flashcore_hiredis SYSTEM INTERFACE ${FLASHCORE_HIREDIS_INCLUDE_DIR})
  target_compile_definitions(flashcore_hiredis INTERFACE FLASHCORE_HAVE_HIREDIS=1)
else()
  message(STATUS "hiredis headers not found (libhiredis-dev): the Redis cache tier is left out")
endif()
