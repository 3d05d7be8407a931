// The one parallel loop of the tools: a few threads take indices in order until none is left.
#pragma once

#include <cstddef>
#include <functional>

namespace flashcore {

// Runs body(i) for every i in [0, count) on `threads` threads (0: one per hardware thread; never
// more than `count`), this thread included. Returns when every call has returned; if calls
// throw, the first exception is rethrown then (the remaining indices are still run).
void parallel_for(std::size_t count, const std::function<void(std::size_t)>& body, unsigned threads = 0);

// The hardware's thread count, at most `cap` (for work that gains nothing from more threads).
unsigned hardware_threads(unsigned cap);

}  // namespace flashcore
