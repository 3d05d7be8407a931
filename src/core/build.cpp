// The compile-only half of the pipeline: render -> key -> cache tiers (memory, disk) -> NVRTC
// on a miss -> store. Loading and launching follow in runtime.cpp.
#include <chrono>

#include "core/logging.hpp"
#include "core/nvtx.hpp"
#include "flashcore/error.hpp"
#include "flashcore/render.hpp"
#include "flashcore/runtime.hpp"

namespace flashcore {

namespace {

std::int64_t now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A template's compute-capability range, checked against an exact compile target.
void check_target(const Variant& variant, const Target& exact) {
    const TemplateSchema& schema = variant.schema();
    if (exact.sm < schema.min_sm)
        fail(Stage::validate, ErrorCode::bad_input,
             "template '" + variant.template_id() + "' needs sm_" + std::to_string(schema.min_sm) + " or newer, not " +
                 exact.to_string(),
             variant.to_string(), exact.to_string());
    if (schema.max_sm && exact.sm > schema.max_sm)
        fail(Stage::validate, ErrorCode::bad_input,
             "template '" + variant.template_id() + "' runs on sm_" + std::to_string(schema.max_sm) +
                 " at most (arch-specific code is not forward compatible), not " + exact.to_string(),
             variant.to_string(), exact.to_string());
}

// The disk tiers, then the remote one, else NVRTC — once across the processes of a host (the
// key's disk lock) and across a fleet (the remote tier's lock) — storing what it compiles.
std::shared_ptr<const CacheEntry> find_or_compile(KernelCache& cache, const Variant& variant,
                                                  const CompileOptions& options, const Target& target,
                                                  const KeyComponents& components, const Source& source,
                                                  CacheSource& from) {
    const std::string key = components.key();
    auto found = [&](CacheEntry&& entry, CacheSource where) {
        from = where;
        return std::make_shared<const CacheEntry>(std::move(entry));
    };
    if (auto entry = cache.find_on_disk(key)) return found(std::move(*entry), CacheSource::disk);
    if (auto entry = cache.find_remote(components)) return found(std::move(*entry), CacheSource::remote);
    const std::string why = cache.explain_miss(components);
    detail::log().info("miss variant={} arch={} key={}: {}", variant.to_string(), target.to_string(), key, why);
    if (cache.jit_mode() == JitMode::forbid) {
        ErrorInfo info;
        info.stage = Stage::cache;
        info.code = ErrorCode::jit_forbidden;
        info.message = "kernel not in the cache (key " + key + ", " + why +
                       ") and compiling is forbidden by FLASHCORE_JIT=forbid; build it first with `flashcore build` "
                       "into " + cache.disk().dir() + " or unset FLASHCORE_JIT";
        info.variant = variant.to_string();
        info.arch = target.to_string();
        throw Error(std::move(info));
    }
    DiskCache::KeyLock lock;
    std::shared_ptr<KernelCache::FleetLock> fleet_lock;
    if (cache.toolkit().compiler_available()) {
        // One process compiles; the others wait on the lock and then find the entry on disk.
        lock = cache.lock(key);
        if (lock.held())
            if (auto entry = cache.find_on_disk(key)) return found(std::move(*entry), CacheSource::disk);
        if (auto entry = cache.fleet_single_flight(components, fleet_lock))
            return found(std::move(*entry), CacheSource::remote);
    }
    auto entry = std::make_shared<CacheEntry>();
    entry->key = key;
    entry->components = components;
    {
        detail::NvtxRange range("flashcore compile", variant.to_string());
        entry->compiled = compile(source, options, target, cache.toolkit(), variant.to_string());
    }
    entry->created_unix_ms = now_unix_ms();
    from = CacheSource::compiled;
    cache.store_compiled(*entry, source.system_headers);
    return entry;
}

// The key components of a rendered variant: for this host's toolkit, or — when it cannot
// compile — for the first recorded toolkit whose key a tier holds.
KeyComponents components_for(KernelCache& cache, const Variant& variant, const CompileOptions& options,
                             const Target& exact, const Source& source) {
    std::vector<const Toolkit*> toolkits = cache.key_toolkits();
    for (const Toolkit* toolkit : toolkits) {
        KeyComponents c = key_components(variant, options, exact, source, *toolkit);
        if (toolkits.size() == 1 || cache.has_entry(c.key())) return c;
    }
    return key_components(variant, options, exact, source, *toolkits.front());
}

}  // namespace

CacheLookup Runtime::build(const Variant& variant, const Target& target, const CompileOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    auto elapsed_ms = [&] {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    };
    const Target exact = target_for(variant.schema(), target);
    check_target(variant, exact);
    CacheLookup result;
    const std::string request = KernelCache::request_key(variant, options, exact);
    if ((result.entry = cache_->find_request(request))) {
        result.source = CacheSource::memory;
        result.lookup_ms = elapsed_ms();
        detail::log().info("lookup variant={} arch={} key={} source=memory", variant.to_string(), exact.to_string(),
                           result.entry->key);
    } else {
        const Source source = render(variant, templates_);
        const KeyComponents components = components_for(*cache_, variant, options, exact, source);
        result.entry = cache_->single_flight(
            components.key(),
            [&](CacheSource& from) { return find_or_compile(*cache_, variant, options, exact, components, source, from); },
            result.source);
        cache_->remember_request(request, result.entry);
        result.lookup_ms = elapsed_ms();
        detail::log().info("lookup variant={} arch={} key={} source={} ms={:.2f}", variant.to_string(),
                           exact.to_string(), result.entry->key, to_string(result.source), result.lookup_ms);
    }
    // The promotion policy applies to every result, cached or fresh (it is not part of the key).
    enforce_promoted_warnings(result.entry->compiled, options, variant.to_string(), exact.to_string());
    return result;
}

}  // namespace flashcore
