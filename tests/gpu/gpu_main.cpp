// Main of the GPU test binary: without a usable GPU every test exits with 77, which CTest
// reports as "Skipped" (SKIP_RETURN_CODE), never as passed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstring>
#include <iostream>

#include "flashcore/driver.hpp"

int main(int argc, char** argv) {
    bool listing = false;
    for (int i = 1; i < argc; ++i) listing |= std::strncmp(argv[i], "--list", 6) == 0;
    if (!listing) {
        std::string why = flashcore::gpu_unavailable_reason();
        if (!why.empty()) {
            std::cout << "SKIPPED: no usable GPU (" << why << ")\n";
            return 77;
        }
    }
    return Catch::Session().run(argc, argv);
}
