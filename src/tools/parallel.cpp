#include "flashcore/tools/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace flashcore {

unsigned hardware_threads(unsigned cap) { return std::max(1u, std::min(cap, std::thread::hardware_concurrency())); }

void parallel_for(std::size_t count, const std::function<void(std::size_t)>& body, unsigned threads) {
    if (threads == 0) threads = hardware_threads(~0u);
    threads = static_cast<unsigned>(std::min<std::size_t>(threads, count));
    std::atomic<std::size_t> next{0};
    std::mutex mutex;
    std::exception_ptr first;
    auto worker = [&] {
        for (std::size_t i = next++; i < count; i = next++) {
            try {
                body(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex);
                if (!first) first = std::current_exception();
            }
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (first) std::rethrow_exception(first);
}

}  // namespace flashcore
