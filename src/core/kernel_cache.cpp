#include "flashcore/kernel_cache.hpp"

#include "core/enum_names.hpp"
#include "flashcore/render.hpp"

namespace flashcore {

namespace {
const detail::EnumName<CacheSource> kSources[] = {
    {CacheSource::memory, "memory"}, {CacheSource::disk, "disk"}, {CacheSource::compiled, "compiled"}};
}  // namespace

const char* to_string(CacheSource source) { return detail::name_of(source, kSources, "unknown"); }

KernelCache::KernelCache(const Config& config, const TemplateRegistry& templates, Toolkit toolkit)
    : templates_(templates),
      toolkit_(std::move(toolkit)),
      disk_(config.cache_dir, config.cache_max_bytes),
      jit_(config.jit),
      lock_timeout_(config.lock_timeout) {}

KeyComponents KernelCache::key_components(const Variant& variant, const CompileOptions& options,
                                          const Target& target) const {
    return flashcore::key_components(variant, options, target, render(variant, templates_), toolkit_);
}

std::string KernelCache::request_key(const Variant& variant, const CompileOptions& options, const Target& target) {
    return variant.to_string() + "|" + options.canonical() + "|" + target.to_string();
}

std::shared_ptr<const CacheEntry> KernelCache::find_request(const std::string& request) {
    std::shared_ptr<const CacheEntry> found;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = by_request_.find(request);
        if (it != by_request_.end()) found = it->second;
    }
    if (found) ++stats_.memory_hits;
    return found;
}

void KernelCache::remember_request(const std::string& request, std::shared_ptr<const CacheEntry> entry) {
    std::lock_guard<std::mutex> lock(mutex_);
    by_request_.emplace(request, std::move(entry));
}

std::shared_ptr<const CacheEntry> KernelCache::single_flight(const std::string& key, const Fill& fill,
                                                             CacheSource& source) {
    std::promise<std::shared_ptr<const CacheEntry>> promise;
    Slot slot;
    bool owner = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = by_key_.find(key);
        if (it != by_key_.end()) {
            slot = it->second;
        } else {
            slot = promise.get_future().share();
            by_key_.emplace(key, slot);
            owner = true;
        }
    }
    if (!owner) {
        source = CacheSource::memory;
        ++stats_.memory_hits;
        return slot.get();  // waits only if this very key is being filled; rethrows its error
    }
    try {
        std::shared_ptr<const CacheEntry> entry = fill(source);
        promise.set_value(entry);
        return entry;
    } catch (...) {
        promise.set_exception(std::current_exception());
        std::lock_guard<std::mutex> lock(mutex_);
        by_key_.erase(key);
        throw;
    }
}

std::optional<CacheEntry> KernelCache::find_on_disk(const std::string& key) {
    if (jit_ == JitMode::always) return std::nullopt;
    auto entry = disk_.load(key);
    if (entry) ++stats_.disk_hits;
    return entry;
}

std::string KernelCache::explain_miss(const KeyComponents& wanted) {
    ++stats_.misses;
    if (jit_ == JitMode::always) return "FLASHCORE_JIT=always";
    std::string why = disk_.explain_miss(wanted);
    return why.empty() ? "no cached entry of template " + wanted.template_id + " matches" : why;
}

void KernelCache::store_compiled(const CacheEntry& entry) {
    ++stats_.compiles;
    disk_.store(entry);
}

}  // namespace flashcore
