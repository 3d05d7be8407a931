// The one progress printer of long work (build, tune, bisect, compare): a live line on stderr
// — "[3/40 12s, ETA 2m05s] building attention_mma:..." — redrawn in place, and only when
// stderr is a terminal (piped output stays clean). Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace flashcore {

class Progress {
public:
    // `total`: items expected (0: unknown, no ETA); an upper bound is fine ("at most 64"). With
    // one item there is nothing to show.
    Progress(std::string what, std::size_t total);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    bool live() const { return enabled_; }
    // Shows `label` as the item now running (the count does not move).
    void start(const std::string& label);
    // One more item finished; shows `label`.
    void step(const std::string& label);
    // Counts `items` as already done (e.g. reused results): they do not enter the ETA.
    void skip(std::size_t items);
    // A line that stays, printed above the live line.
    void note(const std::string& line);
    // Clears the live line (also done by the destructor).
    void done();

private:
    void draw(const std::string& label);  // with mutex_ held

    std::string what_;
    std::size_t total_;
    std::size_t count_ = 0;
    std::size_t skipped_ = 0;
    bool enabled_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point start_;
    std::mutex mutex_;
};

// True when stderr is a terminal.
bool stderr_is_terminal();

}  // namespace flashcore
