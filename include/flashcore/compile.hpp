// Stage 2: source -> cubin through NVRTC. A failed compile is an Error carrying the full log;
// a successful one keeps its log, warnings, lowered kernel name and ptxas resource report.
#pragma once

#include <string>
#include <vector>

#include "flashcore/render.hpp"
#include "flashcore/toolkit.hpp"

namespace flashcore {

// An exact compile target: sm_89, sm_90, sm_90a.
struct Target {
    int sm = 0;                  // 10 * major + minor
    bool arch_specific = false;  // the "a" suffix (wgmma, setmaxnreg...)

    std::string to_string() const;
    // Accepts "sm_90a", "90a", "9.0", "compute_90"; throws Error(bad_input) otherwise.
    static Target parse(const std::string& text);
    bool operator==(const Target& o) const { return sm == o.sm && arch_specific == o.arch_specific; }
};

// The target a template is compiled for on a device/arch request: templates whose schema asks
// for the "a" suffix get it on sm_90 and newer.
Target target_for(const TemplateSchema& schema, Target requested);

// A warning that is an error unless explicitly allowed.
struct PromotedWarning {
    std::string id;       // short name for --allow-warning
    std::string pattern;  // substring of the compiler's message
    std::string why;
};
const std::vector<PromotedWarning>& default_promoted_warnings();

struct CompileOptions {
    bool line_info = true;   // -lineinfo (ignored with debug, which implies it)
    bool debug = false;      // -G
    bool fast_math = false;  // --use_fast_math
    int max_registers = 0;   // -maxrregcount, 0 = compiler's choice
    std::vector<std::string> defines;  // NAME or NAME=VALUE, in order
    std::vector<std::string> extra;    // other NVRTC flags, passed through in order

    // Promotion policy: applied to every result, cached or fresh; not part of the cache key.
    std::vector<std::string> allowed_warnings;  // ids from default_promoted_warnings() to let pass
    std::vector<std::string> promoted_patterns;  // further substrings to promote

    // One string per distinct meaning: equivalent spellings give the same text.
    std::string canonical() const;
    // NVRTC argv (target and include folders included).
    std::vector<std::string> nvrtc_arguments(const Target& target, const Toolkit& toolkit) const;

    // Folds NVRTC-style flags ("-G", "--device-debug", "-lineinfo", "--generate-line-info",
    // "-DX=1", "--define-macro=X=1", "-maxrregcount=64", "--use_fast_math"...) into the struct.
    // Throws Error(bad_input) for flags that would break the pipeline (-arch, -o, -I).
    void add_flag(const std::string& flag);
};

struct ResourceUsage {
    int registers = -1;
    int spill_store_bytes = 0;
    int spill_load_bytes = 0;
    int static_shared_bytes = 0;
    int stack_bytes = 0;
    int barriers = 0;
    bool parsed = false;  // false when ptxas printed nothing we recognised
};

struct Compiled {
    std::string cubin;                  // raw bytes
    std::string log;                    // full NVRTC log
    std::vector<std::string> warnings;  // one line each, deduplicated
    std::string lowered_name;           // mangled kernel name to look up in the module
    ResourceUsage resources;
    double compile_ms = 0;
};

// Compiles `source`. Throws Error(compile, compile_failed) with the log on failure.
Compiled compile(const Source& source, const CompileOptions& options, const Target& target, const Toolkit& toolkit,
                 const std::string& variant_text);

// Throws Error(compile, warning_promoted) when `compiled` has a warning the options promote.
void enforce_promoted_warnings(const Compiled& compiled, const CompileOptions& options, const std::string& variant_text,
                               const std::string& arch);

// Parses ptxas -v lines for `function` (exposed for tests).
ResourceUsage parse_resource_usage(const std::string& log, const std::string& function);
std::vector<std::string> extract_warnings(const std::string& log);

}  // namespace flashcore
