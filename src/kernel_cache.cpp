#include "flashcore/kernel_cache.hpp"

#include <chrono>

#include "flashcore/error.hpp"
#include "logging.hpp"

namespace flashcore {

const char* to_string(CacheSource source) {
    switch (source) {
        case CacheSource::memory: return "memory";
        case CacheSource::disk: return "disk";
        case CacheSource::compiled: return "compiled";
    }
    return "unknown";
}

KernelCache::KernelCache(const Config& config, const TemplateRegistry& templates, Toolkit toolkit)
    : templates_(templates),
      toolkit_(std::move(toolkit)),
      disk_(config.cache_dir, config.cache_max_bytes),
      jit_(config.jit),
      lock_timeout_(config.lock_timeout) {}

namespace {

KeyComponents make_components(const Variant& variant, const CompileOptions& options, const Target& target,
                              const Source& source, const Toolkit& toolkit) {
    KeyComponents c;
    c.template_id = variant.template_id();
    c.content_digest = content_digest(source, toolkit);
    c.variant = variant.to_string();
    c.options = options.canonical();
    c.arch = target.to_string();
    c.nvrtc_version = toolkit.nvrtc_version();
    return c;
}

}  // namespace

KeyComponents KernelCache::key_components(const Variant& variant, const CompileOptions& options,
                                          const Target& target) const {
    return make_components(variant, options, target, render(variant, templates_), toolkit_);
}

CacheLookup KernelCache::get(const Variant& variant, const CompileOptions& options, const Target& target) {
    auto start = std::chrono::steady_clock::now();
    CacheLookup result;
    const std::string request = variant.to_string() + "|" + options.canonical() + "|" + target.to_string();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = by_request_.find(request);
        if (it != by_request_.end()) result.entry = it->second;
    }
    if (result.entry) {
        result.source = CacheSource::memory;
        ++stats_.memory_hits;
        result.lookup_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        detail::log().info("lookup variant={} arch={} key={} source=memory", variant.to_string(), target.to_string(),
                            result.entry->key);
        enforce_promoted_warnings(result.entry->compiled, options, variant.to_string(), target.to_string());
        return result;
    }

    Source source = render(variant, templates_);
    KeyComponents components = make_components(variant, options, target, source, toolkit_);
    const std::string key = components.key();

    std::promise<std::shared_ptr<const CacheEntry>> promise;
    Slot slot;
    bool owner = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = memory_.find(key);
        if (it != memory_.end()) slot = it->second;
        else {
            slot = promise.get_future().share();
            memory_.emplace(key, slot);
            owner = true;
        }
    }
    if (!owner) {
        result.entry = slot.get();  // waits only if this very key is being compiled; rethrows its error
        result.source = CacheSource::memory;
        ++stats_.memory_hits;
    } else {
        try {
            result.entry = load_or_compile(variant, options, target, components, source, result.source);
            promise.set_value(result.entry);
        } catch (...) {
            promise.set_exception(std::current_exception());
            std::lock_guard<std::mutex> lock(mutex_);
            memory_.erase(key);  // let a later call retry (e.g. after the template is fixed)
            throw;
        }
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        by_request_.emplace(request, result.entry);
    }
    result.lookup_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    detail::log().info("lookup variant={} arch={} key={} source={} ms={:.2f}", variant.to_string(), target.to_string(), key,
                       to_string(result.source), result.lookup_ms);
    enforce_promoted_warnings(result.entry->compiled, options, variant.to_string(), target.to_string());
    return result;
}

std::shared_ptr<const CacheEntry> KernelCache::load_or_compile(const Variant& variant, const CompileOptions& options,
                                                               const Target& target, const KeyComponents& components,
                                                               const Source& source, CacheSource& source_out) {
    const std::string key = components.key();
    const bool read_disk = jit_ != JitMode::always;
    if (read_disk) {
        if (auto entry = disk_.load(key)) {
            ++stats_.disk_hits;
            source_out = CacheSource::disk;
            return std::make_shared<const CacheEntry>(std::move(*entry));
        }
    }
    ++stats_.misses;
    std::string why = jit_ == JitMode::always ? "FLASHCORE_JIT=always" : disk_.explain_miss(components);
    if (why.empty()) why = "no cached entry of template " + variant.template_id() + " matches";
    detail::log().info("miss variant={} arch={} key={}: {}", variant.to_string(), target.to_string(), key, why);
    if (jit_ == JitMode::forbid) {
        ErrorInfo info;
        info.stage = Stage::cache;
        info.code = ErrorCode::jit_forbidden;
        info.message = "kernel not in the cache (key " + key + ", " + why +
                       ") and compiling is forbidden by FLASHCORE_JIT=forbid; build it first with `flashcore build` "
                       "into " + disk_.dir() + " or unset FLASHCORE_JIT";
        info.variant = variant.to_string();
        info.arch = target.to_string();
        throw Error(std::move(info));
    }

    // One process compiles; the others wait on the lock and then find the entry on disk.
    DiskCache::KeyLock lock = disk_.lock(key, lock_timeout_);
    if (read_disk && lock.held()) {
        if (auto entry = disk_.load(key)) {
            ++stats_.disk_hits;
            source_out = CacheSource::disk;
            return std::make_shared<const CacheEntry>(std::move(*entry));
        }
    }
    auto entry = std::make_shared<CacheEntry>();
    entry->key = key;
    entry->components = components;
    entry->compiled = compile(source, options, target, toolkit_, variant.to_string());
    entry->created_unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    ++stats_.compiles;
    source_out = CacheSource::compiled;
    disk_.store(*entry);
    return entry;
}

}  // namespace flashcore
