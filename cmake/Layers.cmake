# The library's layers — core, selection, tools — each compile against a view of the headers
# they may include: <build>/layers/<layer>/ holds links to that layer's public and private
# headers only; a layer's include path lists its own view and those of the layers below. A
# core file that includes a selection or tools header does not compile (tests also run
# cmake/CheckLayers.cmake, which says which line does it).
#
#   public headers                      private headers      included as
#   include/flashcore/*.hpp (core)      src/core/*.hpp       "flashcore/x.hpp", "core/x.hpp"
#   include/flashcore/selection/        src/selection/       "flashcore/selection/x.hpp", "selection/x.hpp"
#   include/flashcore/tools/            src/tools/           "flashcore/tools/x.hpp", "tools/x.hpp"

set(FLASHCORE_LAYER_VIEWS "${CMAKE_CURRENT_BINARY_DIR}/layers")

# A relative symbolic link, so a build folder moved together with the sources still works.
function(flashcore_link target link)
  get_filename_component(dir "${link}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")
  file(RELATIVE_PATH relative "${dir}" "${target}")
  file(CREATE_LINK "${relative}" "${link}" SYMBOLIC)
endfunction()

# Rebuilt at every configure so a removed header leaves no link behind.
file(REMOVE_RECURSE "${FLASHCORE_LAYER_VIEWS}")
# Core's public headers are the files directly in include/flashcore/ (not its subfolders).
file(GLOB FLASHCORE_CORE_HEADERS CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/include/flashcore/*.hpp")
foreach(header IN LISTS FLASHCORE_CORE_HEADERS)
  get_filename_component(name "${header}" NAME)
  flashcore_link("${header}" "${FLASHCORE_LAYER_VIEWS}/core/flashcore/${name}")
endforeach()
foreach(layer core selection tools)
  flashcore_link("${CMAKE_CURRENT_SOURCE_DIR}/src/${layer}" "${FLASHCORE_LAYER_VIEWS}/${layer}/${layer}")
endforeach()
foreach(layer selection tools)
  flashcore_link("${CMAKE_CURRENT_SOURCE_DIR}/include/flashcore/${layer}"
                 "${FLASHCORE_LAYER_VIEWS}/${layer}/flashcore/${layer}")
endforeach()

# flashcore_layer(<name> VIEWS <layers this one may include, itself included> SOURCES <files>)
# An object library of the shared library, compiled against those views only.
function(flashcore_layer name)
  cmake_parse_arguments(ARG "" "" "VIEWS;SOURCES" ${ARGN})
  add_library(flashcore_${name} OBJECT ${ARG_SOURCES})
  foreach(view IN LISTS ARG_VIEWS)
    target_include_directories(flashcore_${name} PRIVATE "${FLASHCORE_LAYER_VIEWS}/${view}")
  endforeach()
  target_include_directories(flashcore_${name} PRIVATE "${CMAKE_CURRENT_BINARY_DIR}/generated/include")
  target_include_directories(flashcore_${name} SYSTEM PRIVATE ${CUDAToolkit_INCLUDE_DIRS})
  target_link_libraries(flashcore_${name} PRIVATE flashcore_spdlog nlohmann_json::nlohmann_json flashcore_xxhash
                                                  flashcore_hiredis Threads::Threads)
  target_compile_options(flashcore_${name} PRIVATE -Wall -Wextra -Wno-missing-field-initializers)
  set_target_properties(flashcore_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
