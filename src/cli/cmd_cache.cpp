// `flashcore cache stats|ls|verify|prune|clear`: inspect and maintain the disk cache.
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <iostream>
#include <map>

#include "cli/commands.hpp"
#include "flashcore/config.hpp"

namespace flashcore::cli {

namespace {

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
    auto older_days = std::make_shared<double>(-1);

    auto* stats = cache->add_subcommand("stats", "entries, bytes and the cap");
    auto* ls = cache->add_subcommand("ls", "list entries");
    auto* verify = cache->add_subcommand("verify", "check every entry; quarantine damaged ones (exit 1 if any)");
    auto* prune = cache->add_subcommand("prune", "evict least-recently-used entries down to a size");
    auto* clear = cache->add_subcommand("clear", "remove every entry");
    for (auto* sub : {stats, ls, verify, prune, clear}) sub->add_flag("--json", *json_out, "JSON output");
    prune->add_option("--max-bytes", *max_bytes, "target size, e.g. 200M (default: the cap)");
    prune->add_option("--older-than-days", *older_days, "also remove entries unused for this long");

    stats->callback([&context, json_out] {
        context.exit_code = guarded(context, [&] {
            DiskCache& disk = context.runtime().cache().disk();
            auto entries = disk.list();
            std::uint64_t bytes = 0;
            std::map<std::string, int> per_template;
            for (const auto& e : entries) bytes += e.bytes, ++per_template[e.template_id];
            nlohmann::json j = {{"dir", disk.dir()},         {"root", disk.root()},
                                {"enabled", disk.enabled()}, {"entries", entries.size()},
                                {"bytes", bytes},            {"max_bytes", disk.max_bytes()},
                                {"quarantined", disk.quarantined_count()}, {"templates", per_template}};
            if (!disk.enabled()) j["disabled_reason"] = disk.disabled_reason();
            if (*json_out) {
                std::cout << j.dump() << "\n";
                return kOk;
            }
            std::cout << "cache " << disk.root() << (disk.enabled() ? "" : " (DISABLED: " + disk.disabled_reason() + ")")
                      << "\n  " << entries.size() << " entries, " << format_kb(bytes) << " of " << format_kb(disk.max_bytes())
                      << " cap, " << disk.quarantined_count() << " quarantined\n";
            for (const auto& [id, n] : per_template) std::cout << "  " << id << ": " << n << "\n";
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
            VerifyReport r = context.runtime().cache().disk().verify();
            if (*json_out) std::cout << nlohmann::json{{"checked", r.checked}, {"quarantined", r.quarantined}}.dump() << "\n";
            else {
                std::cout << r.checked << " entries checked, " << r.quarantined.size() << " damaged (quarantined)\n";
                for (const auto& k : r.quarantined) std::cout << "  " << k << "\n";
            }
            return r.quarantined.empty() ? kOk : kWorkFailed;
        });
    });
    prune->callback([&context, json_out, max_bytes, older_days] {
        context.exit_code = guarded(context, [&] {
            DiskCache& disk = context.runtime().cache().disk();
            std::uint64_t cap = max_bytes->empty() ? disk.max_bytes() : parse_byte_size(*max_bytes);
            std::optional<std::chrono::hours> age;
            if (*older_days >= 0) age = std::chrono::hours(static_cast<long>(*older_days * 24));
            PruneReport r = disk.prune(cap, age);
            if (*json_out)
                std::cout << nlohmann::json{{"removed", r.removed}, {"bytes_freed", r.bytes_freed}, {"bytes_left", r.bytes_left}}.dump()
                          << "\n";
            else
                std::cout << "removed " << r.removed << " entries (" << format_kb(r.bytes_freed) << "), " << format_kb(r.bytes_left)
                          << " left\n";
            return kOk;
        });
    });
    clear->callback([&context, json_out] {
        context.exit_code = guarded(context, [&] {
            size_t removed = context.runtime().cache().disk().clear();
            if (*json_out) std::cout << nlohmann::json{{"removed", removed}}.dump() << "\n";
            else std::cout << "removed " << removed << " entries\n";
            return kOk;
        });
    });
}

}  // namespace flashcore::cli
