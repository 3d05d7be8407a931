# Fails when a file includes a header of a layer above its own (run by CTest:
# "layers: no include runs up a layer").
#   cmake -DROOT=<source tree> -P cmake/CheckLayers.cmake
# Order, bottom up: core (include/flashcore/*.hpp, src/core), selection, tools, cli. A layer may
# include its own headers and those below it.
if(NOT ROOT)
  message(FATAL_ERROR "pass -DROOT=<source tree>")
endif()

# For each layer: its files and the include prefixes it must not use.
set(core_files_globs "${ROOT}/include/flashcore/*.hpp" "${ROOT}/src/core/*.hpp" "${ROOT}/src/core/*.cpp")
set(core_forbidden "flashcore/selection/" "flashcore/tools/" "selection/" "tools/" "cli/")
set(selection_files_globs "${ROOT}/include/flashcore/selection/*.hpp" "${ROOT}/src/selection/*.hpp"
                          "${ROOT}/src/selection/*.cpp")
set(selection_forbidden "flashcore/tools/" "tools/" "cli/")
set(tools_files_globs "${ROOT}/include/flashcore/tools/*.hpp" "${ROOT}/src/tools/*.hpp" "${ROOT}/src/tools/*.cpp")
set(tools_forbidden "cli/")

set(violations "")
foreach(layer core selection tools)
  file(GLOB files ${${layer}_files_globs})
  foreach(file IN LISTS files)
    file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"].*$" "\\1" included "${line}")
      foreach(prefix IN LISTS ${layer}_forbidden)
        string(FIND "${included}" "${prefix}" at)
        if(at EQUAL 0)
          file(RELATIVE_PATH shown "${ROOT}" "${file}")
          string(APPEND violations "  ${shown} (${layer}) includes \"${included}\"\n")
        endif()
      endforeach()
    endforeach()
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "includes that run up a layer (docs/architecture.md says what each layer may include):\n${violations}")
endif()
message(STATUS "layers: every include stays in its layer or below")
