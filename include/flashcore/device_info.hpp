// Facts about one GPU that decide whether a variant can run there: filled by Device from the
// driver, by `flashcore devices --json` in a child process, or by hand (tests, compile-only
// reports). A plain value; it holds no driver resources.
#pragma once

#include <cstddef>
#include <string>

namespace flashcore {

struct DeviceInfo {
    int ordinal = 0;
    std::string name;
    int sm = 0;                      // 10 * major + minor
    int num_sms = 0;                 // 0: unknown
    int max_threads_per_block = 0;
    int smem_per_block = 0;          // default limit, bytes
    int smem_per_block_optin = 0;    // opt-in maximum, bytes; 0: unknown
    int l2_bytes = 0;
    std::size_t total_memory = 0;
    int driver_version = 0;          // e.g. 13000; 0: unknown
};

}  // namespace flashcore
