// The one progress printer of long work (build, tune, bisect, compare): a live line on stderr
// — "[3/40 12s, 0.25/s, ETA 1m52s] building attention_mma:..." — redrawn in place every half
// second (so it moves during a long first compile too), and only when stderr is a terminal
// (piped output stays clean). Results printed through write() appear above the line instead of
// colliding with it. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <iosfwd>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flashcore {

class Progress {
public:
    // `total`: items expected (0: unknown, no ETA); an upper bound is fine ("at most 64").
    // `live`: draw the line (default: when stderr is a terminal).
    Progress(std::string what, std::size_t total);
    Progress(std::string what, std::size_t total, bool live);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    bool live() const { return enabled_; }
    // `label` (a variant...) started; shown as the item running (the count does not move).
    void start(const std::string& label);
    // One more item finished: ends the running item `label` (else the oldest running one).
    void step(const std::string& label);
    // Counts `items` as already done (e.g. reused results): they do not enter the rate or ETA.
    void skip(std::size_t items);
    // A line that stays, printed above the live line (only when live).
    void note(const std::string& line);
    // Writes `text` to `out` (stdout results, stderr messages) above the live line and flushes.
    void write(std::ostream& out, const std::string& text);
    // Clears the live line and stops redrawing (also done by the destructor).
    void done();

    // The line as drawn after `elapsed_s` seconds on a terminal `width` columns wide (the
    // variant label is shortened first). Public for tests; no terminal needed.
    std::string line(double elapsed_s, std::size_t width = 1000) const;

private:
    void draw();   // with mutex_ held
    void clear();  // with mutex_ held
    void tick();   // the redraw thread

    std::string what_;
    std::size_t total_;
    std::size_t count_ = 0;
    std::size_t skipped_ = 0;
    std::vector<std::string> running_;
    std::string last_label_;
    bool enabled_;
    bool drawn_ = false;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point start_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::thread ticker_;
};

// True when stderr is a terminal.
bool stderr_is_terminal();

}  // namespace flashcore
