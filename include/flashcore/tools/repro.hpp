// Scripts that rerun one probe by hand (bisect's repro folder).
#pragma once

#include <string>

#include "flashcore/tools/probe.hpp"

namespace flashcore {

// Quotes a word for a POSIX shell ('...' with embedded quotes escaped); plain words stay bare.
std::string shell_quote(const std::string& word);

// A `#!/bin/sh` script that reruns one probe: the environment of `request`, then
// `[wrapper] executable probe --request-json - "$@"` with the request document on stdin (a
// here-document, so the script is self-contained). $FLASHCORE_PROBE_WRAPPER goes in front.
std::string repro_script(const std::string& executable, const ProbeRequest& request, const std::string& comment = {});

}  // namespace flashcore
