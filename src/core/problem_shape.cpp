// AttentionProblem::from_shape: the `--shape` text, positional ("1,8,8,512,512,64", "1,8,512,64")
// or named ("B=1,Hq=8,Hkv=8,Sq=512,Skv=512,D=64"). Named fields exist because the flash-attn
// habit is (B, S, H, D): with names, a swapped order is still read right.
#include <climits>
#include <map>
#include <optional>

#include "core/text.hpp"
#include "flashcore/attention.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

namespace {

const char* const kForms = "B,Hq,Hkv,Sq,Skv,D, B,H,S,D, or named fields like B=1,Hq=32,Hkv=8,Sq=512,Skv=512,D=128";

[[noreturn]] void bad_shape(const std::string& shape, const std::string& why) {
    fail(Stage::validate, ErrorCode::bad_input, "shape '" + shape + "': " + why + " (write it as " + kForms + ")");
}

// A size: decimal digits only (no sign, no blanks, no exponent), 0..INT_MAX (validate() says
// why 0 cannot run, as it does for a problem built in code).
int parse_size(const std::string& shape, const std::string& field, const std::string& text) {
    if (text.empty()) bad_shape(shape, field + " is empty");
    for (char c : text)
        if (c < '0' || c > '9') bad_shape(shape, field + " '" + text + "' is not a whole number");
    std::size_t digits = text.find_first_not_of('0');
    if (digits == std::string::npos) return 0;
    if (text.size() - digits > 10 || std::stoll(text.substr(digits)) > INT_MAX)
        bad_shape(shape, field + " '" + text + "' is out of range (0.." + std::to_string(INT_MAX) + ")");
    return static_cast<int>(std::stoll(text.substr(digits)));
}

AttentionProblem from_named(const std::string& shape, const std::vector<std::string>& pieces) {
    static const char* const kNames[] = {"B", "Hq", "Hkv", "Sq", "Skv", "D", "H", "S"};
    std::map<std::string, int> given;
    for (const std::string& piece : pieces) {
        std::size_t eq = piece.find('=');
        if (eq == std::string::npos) bad_shape(shape, "'" + piece + "' has no name; name every field or none");
        std::string name = piece.substr(0, eq);
        bool known = false;
        for (const char* k : kNames) known |= name == k;
        if (!known) bad_shape(shape, "unknown field '" + name + "' (fields: B, Hq, Hkv, Sq, Skv, D; H sets Hq and Hkv, S sets Sq and Skv)");
        if (given.count(name)) bad_shape(shape, "field " + name + " is given twice");
        given[name] = parse_size(shape, name, piece.substr(eq + 1));
    }
    // H and S stand for a pair; with one of the pair they would contradict each other.
    auto pair = [&](const char* both, const char* a, const char* b) -> std::pair<int, int> {
        if (given.count(both)) {
            if (given.count(a) || given.count(b))
                bad_shape(shape, std::string(both) + " sets " + a + " and " + b + "; give either " + both + " or them");
            return {given[both], given[both]};
        }
        for (const char* f : {a, b})
            if (!given.count(f)) bad_shape(shape, std::string("field ") + f + " is missing");
        return {given[a], given[b]};
    };
    AttentionProblem p;
    for (const char* f : {"B", "D"})
        if (!given.count(f)) bad_shape(shape, std::string("field ") + f + " is missing");
    p.B = given["B"];
    p.D = given["D"];
    std::tie(p.Hq, p.Hkv) = pair("H", "Hq", "Hkv");
    std::tie(p.Sq, p.Skv) = pair("S", "Sq", "Skv");
    return p;
}

}  // namespace

AttentionProblem AttentionProblem::from_shape(const std::string& shape) {
    if (shape.empty()) bad_shape(shape, "it is empty");
    std::vector<std::string> pieces = detail::split(shape, ',');
    for (std::size_t i = 0; i < pieces.size(); ++i)
        if (pieces[i].empty())
            bad_shape(shape, "field " + std::to_string(i + 1) + " is empty (a trailing or doubled comma?)");
    if (shape.find('=') != std::string::npos) return from_named(shape, pieces);
    if (pieces.size() != 6 && pieces.size() != 4)
        fail(Stage::validate, ErrorCode::bad_input,
             "shape '" + shape + "' has " + std::to_string(pieces.size()) + " fields; it must be B,Hq,Hkv,Sq,Skv,D or B,H,S,D "
             "(or named fields like B=1,Hq=32,Hkv=8,Sq=512,Skv=512,D=128)");
    static const char* const kSix[] = {"B", "Hq", "Hkv", "Sq", "Skv", "D"};
    static const char* const kFour[] = {"B", "H", "S", "D"};
    std::vector<int> v;
    for (std::size_t i = 0; i < pieces.size(); ++i)
        v.push_back(parse_size(shape, "field " + std::to_string(i + 1) + " (" + (pieces.size() == 6 ? kSix[i] : kFour[i]) + ")",
                               pieces[i]));
    AttentionProblem p;
    if (v.size() == 6) p.B = v[0], p.Hq = v[1], p.Hkv = v[2], p.Sq = v[3], p.Skv = v[4], p.D = v[5];
    else p.B = v[0], p.Hq = p.Hkv = v[1], p.Sq = p.Skv = v[2], p.D = v[3];
    return p;
}

}  // namespace flashcore
