#include "flashcore/tools/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace flashcore {

namespace {

constexpr std::size_t kWidth = 140;

std::string duration_text(double seconds) {
    char buf[32];
    long s = static_cast<long>(seconds + 0.5);
    if (s < 60) std::snprintf(buf, sizeof buf, "%lds", s);
    else if (s < 3600) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, s % 3600 / 60);
    return buf;
}

}  // namespace

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string what, std::size_t total)
    : what_(std::move(what)),
      total_(total),
      enabled_(stderr_is_terminal() && total != 1),  // one item: the result itself says it
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { done(); }

void Progress::draw(const std::string& label) {
    if (!enabled_) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    // Appends only: GCC 12 warns (-Wrestrict, a false positive) on "literal" + std::string here.
    std::string line = "[";
    line += std::to_string(count_);
    if (total_) line.append("/").append(std::to_string(total_));
    line.append(" ").append(duration_text(elapsed));
    if (total_ && count_ > skipped_ && count_ < total_)
        line.append(", ETA ").append(duration_text(elapsed / static_cast<double>(count_ - skipped_) *
                                                   static_cast<double>(total_ - count_)));
    line.append("] ").append(what_);
    if (!label.empty()) line.append(" ").append(label);
    if (line.size() > kWidth) line = line.substr(0, kWidth - 3) + "...";
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
    drawn_ = true;
}

void Progress::start(const std::string& label) {
    std::lock_guard<std::mutex> lock(mutex_);
    draw(label);
}

void Progress::step(const std::string& label) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++count_;
    draw(label);
}

void Progress::skip(std::size_t items) {
    std::lock_guard<std::mutex> lock(mutex_);
    count_ += items;
    skipped_ += items;
}

void Progress::note(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!enabled_) return;
    std::fprintf(stderr, "\r\033[K%s\n", line.c_str());
    std::fflush(stderr);
    drawn_ = false;
}

void Progress::done() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (enabled_ && drawn_) {
        std::fprintf(stderr, "\r\033[K");
        std::fflush(stderr);
    }
    drawn_ = false;
}

}  // namespace flashcore
