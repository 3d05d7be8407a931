#include "flashcore/cache_bundle.hpp"

#include <unistd.h>

#include <algorithm>

#include "core/disk_cache_layout.hpp"
#include "core/entry_codec.hpp"
#include "core/fs_util.hpp"
#include "core/logging.hpp"
#include "core/text.hpp"
#include "flashcore/error.hpp"
#include "flashcore/hash.hpp"

namespace flashcore {

namespace {

const std::string kMagic = "FLASHCORE-CACHE-BUNDLE 1\n";

// "<tag> " + "<a bytes> <b bytes>\n" + a + b, the entry record's shape for every item.
std::string item(const std::string& tag, const std::string& first, const std::string& second) {
    return tag + " " + std::to_string(first.size()) + " " + std::to_string(second.size()) + "\n" + first + second;
}

bool is_toolkit_name(const std::string& name) {
    return name.size() > 5 && name.size() < 64 && name.substr(name.size() - 5) == ".json" &&
           std::all_of(name.begin(), name.end() - 5, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

[[noreturn]] void not_a_bundle(const std::string& path, const std::string& why) {
    fail(Stage::cache, ErrorCode::bad_input,
         "'" + path + "' is not a whole FlashCore cache bundle (" + why + "); nothing was imported. Export it again "
         "with `flashcore cache export`");
}

}  // namespace

BundleReport export_bundle(const DiskCache& disk, const std::string& path) {
    BundleReport report;
    std::string bytes = kMagic;
    for (const auto& summary : disk.list()) {
        auto manifest = detail::read_file(summary.path + "/" + detail::kEntryFile);
        auto cubin = detail::read_file(summary.path + "/" + detail::kCubinFile);
        detail::DecodedEntry decoded = manifest ? detail::decode_entry(*manifest, cubin, summary.key)
                                                : detail::DecodedEntry{std::nullopt, "entry.json missing"};
        if (!decoded.entry) {
            detail::log().warn("cache entry {} is damaged ({}); left out of the bundle", summary.key, decoded.damage);
            ++report.skipped;
            continue;
        }
        bytes += item("entry", *manifest, *cubin);
        ++report.entries;
    }
    for (const auto& [name, content] : disk.side_files("toolkits")) {
        if (!is_toolkit_name(name)) continue;
        bytes += item("toolkit", name, content);
        ++report.toolkits;
    }
    bytes += "end " + std::to_string(report.entries + report.toolkits) + " " + hex64(xxh3_64(bytes)) + "\n";
    const std::string temp = path + ".tmp." + std::to_string(::getpid());
    ::unlink(temp.c_str());
    std::string why = detail::write_file_synced(temp, bytes);
    if (why.empty() && ::rename(temp.c_str(), path.c_str()) != 0) why = "cannot rename " + temp + " to " + path;
    if (!why.empty()) {
        ::unlink(temp.c_str());
        fail(Stage::io, ErrorCode::cache_io, "cannot write the cache bundle: " + why);
    }
    report.bytes = bytes.size();
    return report;
}

BundleReport import_bundle(DiskCache& disk, const std::string& path) {
    auto bytes = detail::read_file(path);
    if (!bytes) fail(Stage::cache, ErrorCode::bad_input, "cannot read the cache bundle '" + path + "'");
    if (bytes->rfind(kMagic, 0) != 0) not_a_bundle(path, "it does not start with the bundle header");
    // The trailer: "end <items> <xxh3-64 of everything before it>\n".
    if (bytes->size() < kMagic.size() + 8 || bytes->back() != '\n') not_a_bundle(path, "it is truncated");
    size_t trailer = bytes->rfind("\nend ", bytes->size() - 2);
    if (trailer == std::string::npos) not_a_bundle(path, "it is truncated (no end line)");
    ++trailer;
    std::vector<std::string> end = detail::split(bytes->substr(trailer, bytes->size() - trailer - 1), ' ');
    if (end.size() != 3 || end[2] != hex64(xxh3_64(bytes->substr(0, trailer))))
        not_a_bundle(path, "its checksum does not match its contents");
    if (!disk.writable())
        fail(Stage::cache, ErrorCode::cache_io,
             "cannot import into " + disk.root() + ": it is not writable (" + disk.disabled_reason() + ")");

    BundleReport report;
    report.bytes = bytes->size();
    size_t pos = kMagic.size(), items = 0;
    while (pos < trailer) {
        size_t space = bytes->find(' ', pos);
        if (space == std::string::npos || space > trailer) not_a_bundle(path, "an item has no tag");
        const std::string tag = bytes->substr(pos, space - pos);
        pos = space + 1;
        auto record = detail::decode_record(*bytes, pos);
        if (!record || pos > trailer) not_a_bundle(path, "an item is cut short");
        ++items;
        if (tag == "entry") {
            std::optional<std::string> key = detail::manifest_components(record->manifest)
                                                 ? std::optional<std::string>(detail::manifest_components(record->manifest)->key())
                                                 : std::nullopt;
            detail::DecodedEntry decoded =
                key ? detail::decode_entry(record->manifest, record->cubin, *key) : detail::DecodedEntry{std::nullopt, "unreadable manifest"};
            if (!decoded.entry || !disk.store(*decoded.entry)) {
                detail::log().warn("bundle entry {} refused ({})", key.value_or("?"),
                                   decoded.entry ? "cannot store it" : decoded.damage);
                ++report.skipped;
                continue;
            }
            ++report.entries;
        } else if (tag == "toolkit") {
            if (!is_toolkit_name(record->manifest)) not_a_bundle(path, "a toolkit record has a bad name");
            if (disk.store_side_file("toolkits/" + record->manifest, record->cubin)) ++report.toolkits;
        } else {
            not_a_bundle(path, "unknown item '" + detail::printable(tag, 20) + "'");
        }
    }
    if (std::to_string(items) != end[1]) not_a_bundle(path, "its item count does not match");
    return report;
}

}  // namespace flashcore
