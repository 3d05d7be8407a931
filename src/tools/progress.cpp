#include "flashcore/tools/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ostream>

namespace flashcore {

namespace {

constexpr std::size_t kDefaultWidth = 140;
// Work that ends within this time shows no line at all (a run of cache hits does not flicker).
constexpr double kQuietSeconds = 0.3;
constexpr auto kRedraw = std::chrono::milliseconds(500);

std::string duration_text(double seconds) {
    char buf[32];
    long s = static_cast<long>(seconds + 0.5);
    if (s < 60) std::snprintf(buf, sizeof buf, "%lds", s);
    else if (s < 3600) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, s % 3600 / 60);
    return buf;
}

std::string rate_text(double items_per_second) {
    char buf[32];
    if (items_per_second >= 1) std::snprintf(buf, sizeof buf, "%.1f/s", items_per_second);
    else std::snprintf(buf, sizeof buf, "%.1fs each", 1.0 / items_per_second);
    return buf;
}

// The terminal's width, so the line never wraps (a wrapped line cannot be redrawn in place).
std::size_t line_width() {
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) return ws.ws_col - 1;
    return kDefaultWidth;
}

}  // namespace

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(std::string what, std::size_t total) : Progress(std::move(what), total, stderr_is_terminal()) {}

Progress::Progress(std::string what, std::size_t total, bool live)
    : what_(std::move(what)), total_(total), enabled_(live), start_(std::chrono::steady_clock::now()) {
    if (enabled_) ticker_ = std::thread([this] { tick(); });
}

Progress::~Progress() { done(); }

std::string Progress::line(double elapsed, std::size_t width) const {
    const std::size_t timed = count_ - std::min(skipped_, count_);
    std::string head = "[";
    head += std::to_string(count_);
    if (total_) head.append("/").append(std::to_string(total_));
    head.append(" ").append(duration_text(elapsed));
    if (timed > 0 && elapsed > 0) {
        head.append(", ").append(rate_text(static_cast<double>(timed) / elapsed));
        if (total_ && count_ < total_)
            head.append(", ETA ").append(
                duration_text(elapsed / static_cast<double>(timed) * static_cast<double>(total_ - count_)));
    }
    head.append("] ").append(what_);
    std::string label = running_.empty() ? last_label_ : running_.back();
    std::string tail;
    if (running_.size() > 1) tail = " (+" + std::to_string(running_.size() - 1) + " running)";
    // The label (a long variant string) gives way first, so count, ETA and "+N running" stay.
    if (!label.empty()) {
        const std::size_t room = width > head.size() + tail.size() + 1 ? width - head.size() - tail.size() - 1 : 0;
        if (label.size() > room) label = room > 3 ? label.substr(0, room - 3) + "..." : std::string();
        if (!label.empty()) head.append(" ").append(label);
    }
    head += tail;
    if (head.size() > width) head = head.substr(0, width);
    return head;
}

void Progress::draw() {
    if (!enabled_ || stopping_) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (elapsed < kQuietSeconds) return;
    std::fprintf(stderr, "\r\033[K%s", line(elapsed, line_width()).c_str());
    std::fflush(stderr);
    drawn_ = true;
}

void Progress::clear() {
    if (!drawn_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
}

void Progress::tick() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, kRedraw);
        draw();
    }
}

void Progress::start(const std::string& label) {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.push_back(label);
    draw();
}

void Progress::step(const std::string& label) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++count_;
    auto it = std::find(running_.begin(), running_.end(), label);
    if (it == running_.end() && !running_.empty()) it = running_.begin();
    if (it != running_.end()) running_.erase(it);
    last_label_ = label;
    draw();
}

void Progress::skip(std::size_t items) {
    std::lock_guard<std::mutex> lock(mutex_);
    count_ += items;
    skipped_ += items;
}

void Progress::note(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!enabled_) return;
    clear();
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
    draw();
}

void Progress::write(std::ostream& out, const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    clear();
    out << text;
    out.flush();
    draw();
}

void Progress::done() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        clear();
        stopping_ = true;
    }
    wake_.notify_all();
    if (ticker_.joinable()) ticker_.join();
}

}  // namespace flashcore
