// Fixture of the layer check (tests/CMakeLists.txt): a core file that includes a tools header.
// Never compiled.
#include "flashcore/tools/probe.hpp"
