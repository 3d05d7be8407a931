// The families `auto` chooses from. One line per family; its heuristic has a file of its own.
#include "flashcore/selection/families.hpp"

namespace flashcore {

const std::vector<AutoFamily>& auto_families() {
    static const std::vector<AutoFamily> kFamilies = {
        // Hopper's wgmma family first where its heuristic takes the problem (prefill on sm_90);
        // the portable family takes the rest.
        {"attention_wgmma", 20, attention_wgmma_heuristic},
        {"attention_mma", 10, attention_mma_heuristic},
    };
    return kFamilies;
}

}  // namespace flashcore
