// `flashcore cache stats|ls|verify|prune|clear|export|import`: inspect, maintain and ship the disk cache.
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <iostream>
#include <map>

#include "cli/commands.hpp"
#include "core/cache_counters.hpp"
#include "core/json_codec.hpp"
#include "core/number_parse.hpp"
#include "core/remote_cache.hpp"
#include "flashcore/cache_bundle.hpp"
#include "flashcore/config.hpp"

namespace flashcore::cli {

namespace {

// The JSON line of `cache export` and `cache import`.
std::string bundle_json(const std::string& file, const BundleReport& r) {
    return nlohmann::json{{"file", file}, {"entries", r.entries}, {"toolkits", r.toolkits}, {"skipped", r.skipped},
                          {"bytes", r.bytes}}
        .dump();
}

std::string format_time(std::int64_t unix_ms) {
    if (unix_ms <= 0) return "-";
    std::time_t t = unix_ms / 1000;
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
    return buf;
}

}  // namespace

void register_cache(CLI::App& app, Context& context) {
    auto* cache = app.add_subcommand("cache", "inspect and maintain the kernel cache");
    cache->require_subcommand(1);
    auto json_out = std::make_shared<bool>(false);
    auto max_bytes = std::make_shared<std::string>();
    auto older_days = std::make_shared<std::string>();

    auto* stats = cache->add_subcommand("stats", "entries, bytes and the cap");
    auto* ls = cache->add_subcommand("ls", "list entries");
    auto* verify = cache->add_subcommand("verify", "check every entry; quarantine damaged ones (exit 1 if any)");
    auto* prune = cache->add_subcommand("prune", "evict least-recently-used entries down to a size");
    auto* clear = cache->add_subcommand("clear", "remove every entry");
    auto* export_ = cache->add_subcommand("export", "write every valid entry to one checksummed bundle file");
    auto* import_ = cache->add_subcommand("import", "verify a bundle file and store its entries in the cache");
    auto bundle_path = std::make_shared<std::string>();
    export_->add_option("FILE", *bundle_path, "bundle to write")->required();
    import_->add_option("FILE", *bundle_path, "bundle to read")->required();
    for (auto* sub : {stats, ls, verify, prune, clear, export_, import_}) sub->add_flag("--json", *json_out, "JSON output");
    prune->add_option("--max-bytes", *max_bytes, "target size, e.g. 200M (default: the cap)");
    prune->add_option("--older-than-days", *older_days, "also remove entries unused for this many days (0 to 36500)");

    stats->callback([&context, json_out] {
        context.exit_code = guarded(context, [&] {
            DiskCache& disk = context.runtime().cache().disk();
            auto entries = disk.list();
            DiskUsage usage = disk.usage();
            std::map<std::string, int> per_template;
            for (const auto& e : entries) ++per_template[e.template_id];
            nlohmann::json j = {{"dir", disk.dir()},
                                {"root", disk.root()},
                                {"enabled", disk.enabled()},
                                {"writable", disk.writable()},
                                {"entries", usage.entries},
                                {"bytes", usage.entry_bytes},
                                {"quarantined", usage.quarantined},
                                {"quarantine_bytes", usage.quarantine_bytes},
                                {"debris", usage.debris},
                                {"debris_bytes", usage.debris_bytes},
                                {"total_bytes", usage.total_bytes()},
                                {"max_bytes", disk.max_bytes()},
                                {"templates", per_template}};
            if (!disk.writable()) j["disabled_reason"] = disk.disabled_reason();
            // Counters of the processes that used this folder (summed as each one exits).
            j["counters"] = detail::read_counters(disk);
            KernelCache& tiers = context.runtime().cache();
            nlohmann::json prebuilt = nlohmann::json::array();
            for (const auto& tier : tiers.prebuilt()) {
                DiskUsage u = tier->usage();
                prebuilt.push_back({{"dir", tier->dir()}, {"enabled", tier->enabled()}, {"entries", u.entries},
                                    {"bytes", u.entry_bytes}});
            }
            j["prebuilt"] = prebuilt;
            j["remote"] = tiers.remote() ? nlohmann::json(tiers.remote()->url()) : nlohmann::json(nullptr);
            if (*json_out) {
                std::cout << j.dump() << "\n";
                return kOk;
            }
            std::cout << "cache " << disk.root()
                      << (!disk.enabled() ? " (DISABLED: " + disk.disabled_reason() + ")"
                          : !disk.writable() ? " (READ-ONLY: " + disk.disabled_reason() + ")" : "")
                      << "\n  " << usage.entries << " entries, " << format_kb(usage.entry_bytes) << "; "
                      << format_kb(usage.total_bytes()) << " of " << format_kb(disk.max_bytes()) << " cap with "
                      << usage.quarantined << " quarantined (" << format_kb(usage.quarantine_bytes) << ") and "
                      << usage.debris << " debris (" << format_kb(usage.debris_bytes) << ")\n";
            for (const auto& [id, n] : per_template) std::cout << "  " << id << ": " << n << "\n";
            for (const auto& p : j["prebuilt"])
                std::cout << "  prebuilt " << p["dir"].get<std::string>() << ": " << p["entries"] << " entries\n";
            if (tiers.remote()) std::cout << "  remote " << tiers.remote()->url() << "\n";
            const nlohmann::json& c = j["counters"];
            std::cout << "  counters: " << c["memory_hits"] << " memory, " << c["disk_hits"] << " disk, "
                      << c["prebuilt_hits"] << " prebuilt, " << c["remote_hits"] << " remote hits; " << c["misses"]
                      << " misses, " << c["compiles"] << " compiles (" << c["compile_ms"].get<double>() / 1000
                      << " s)\n";
            return kOk;
        });
    });
    ls->callback([&context, json_out] {
        context.exit_code = guarded(context, [&] {
            for (const auto& e : context.runtime().cache().disk().list()) {
                if (*json_out)
                    std::cout << nlohmann::json{{"key", e.key},     {"template", e.template_id}, {"variant", e.variant},
                                                {"arch", e.arch},   {"bytes", e.bytes},          {"last_use_unix_ms", e.last_use_unix_ms},
                                                {"path", e.path}}
                                     .dump()
                              << "\n";
                else
                    std::cout << e.key << "  " << e.arch << "  " << format_kb(e.bytes) << "  " << format_time(e.last_use_unix_ms)
                              << "  " << e.variant << "\n";
            }
            return kOk;
        });
    });
    verify->callback([&context, json_out] {
        context.exit_code = guarded(context, [&] {
            DiskCache& disk = context.runtime().cache().disk();
            VerifyReport r = disk.verify();
            if (*json_out)
                std::cout << nlohmann::json{{"checked", r.checked}, {"damaged", r.damaged}, {"quarantined", r.quarantined}}.dump()
                          << "\n";
            else {
                std::cout << r.checked << " entries checked, " << r.damaged.size() << " damaged, " << r.quarantined.size()
                          << " quarantined" << (disk.writable() ? "" : " (read-only cache: damaged entries left in place)")
                          << "\n";
                for (const auto& k : r.damaged) std::cout << "  " << k << "\n";
            }
            return r.damaged.empty() ? kOk : kWorkFailed;
        });
    });
    prune->callback([&context, json_out, max_bytes, older_days, prune] {
        context.exit_code = guarded(context, [&] {
            DiskCache& disk = context.runtime().cache().disk();
            std::uint64_t cap = prune->count("--max-bytes") ? parse_byte_size(*max_bytes, "--max-bytes") : disk.max_bytes();
            std::optional<std::chrono::milliseconds> age;
            if (prune->count("--older-than-days"))
                age = detail::parse_duration(*older_days, "--older-than-days", "d", std::chrono::hours(24 * 36500));
            PruneReport r = disk.prune(cap, age);
            if (*json_out)
                std::cout << nlohmann::json{{"removed", r.removed},         {"bytes_freed", r.bytes_freed},
                                            {"bytes_left", r.bytes_left},   {"debris_removed", r.debris_removed},
                                            {"failed", r.failed}}
                                 .dump()
                          << "\n";
            else
                std::cout << "removed " << r.removed << " entries and " << r.debris_removed << " debris ("
                          << format_kb(r.bytes_freed) << "), " << format_kb(r.bytes_left) << " left\n";
            if (r.failed) {
                std::cerr << "flashcore: error: could not remove " << r.failed << " item(s) of the cache: " << r.failure << "\n";
                return kWorkFailed;
            }
            return kOk;
        });
    });
    export_->callback([&context, json_out, bundle_path] {
        context.exit_code = guarded(context, [&] {
            BundleReport r = export_bundle(context.runtime().cache().disk(), *bundle_path);
            if (*json_out)
                std::cout << bundle_json(*bundle_path, r) << "\n";
            else
                std::cout << "exported " << r.entries << " entries and " << r.toolkits << " toolkit records to "
                          << *bundle_path << " (" << format_kb(r.bytes) << ")"
                          << (r.skipped ? ", " + std::to_string(r.skipped) + " damaged entries left out" : "") << "\n";
            return kOk;
        });
    });
    import_->callback([&context, json_out, bundle_path] {
        context.exit_code = guarded(context, [&] {
            BundleReport r = import_bundle(context.runtime().cache().disk(), *bundle_path);
            if (*json_out)
                std::cout << bundle_json(*bundle_path, r) << "\n";
            else
                std::cout << "imported " << r.entries << " entries and " << r.toolkits << " toolkit records from "
                          << *bundle_path << (r.skipped ? ", refused " + std::to_string(r.skipped) : "") << "\n";
            if (r.skipped) {
                std::cerr << "flashcore: error: " << r.skipped << " bundle entries failed verification and were not imported\n";
                return kWorkFailed;
            }
            return kOk;
        });
    });
    clear->callback([&context, json_out] {
        context.exit_code = guarded(context, [&] {
            ClearReport r = context.runtime().cache().disk().clear();
            if (*json_out)
                std::cout << nlohmann::json{{"removed", r.removed},
                                            {"debris_removed", r.debris_removed},
                                            {"locks_kept", r.locks_kept},
                                            {"failed", r.failed}}
                                 .dump()
                          << "\n";
            else
                std::cout << "removed " << r.removed << " entries"
                          << (r.locks_kept ? " (" + std::to_string(r.locks_kept) + " locks held by running processes kept)" : "")
                          << "\n";
            if (r.failed) {
                std::cerr << "flashcore: error: could not remove " << r.failed << " item(s) of the cache: " << r.failure << "\n";
                return kWorkFailed;
            }
            return kOk;
        });
    });
}

}  // namespace flashcore::cli
