#include "flashcore/expression.hpp"

#include <cctype>

#include "flashcore/error.hpp"

namespace flashcore {

std::string to_string(const Value& value) {
    if (auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
    return std::get<std::string>(value);
}

namespace detail {

enum class NodeKind { number, string, name, unary, binary, ternary, call };

struct ExprNode {
    NodeKind kind;
    std::int64_t number = 0;
    std::string text;  // string literal, name, operator or function name
    std::vector<std::shared_ptr<const ExprNode>> children;
};

}  // namespace detail

namespace {

using detail::ExprNode;
using detail::NodeKind;
using NodePtr = std::shared_ptr<const ExprNode>;

[[noreturn]] void syntax_error(const std::string& text, size_t pos, const std::string& what) {
    fail(Stage::validate, ErrorCode::bad_input,
         "schema expression '" + text + "': " + what + " at offset " + std::to_string(pos));
}

// Recursive-descent parser; one function per precedence level.
class Parser {
public:
    explicit Parser(const std::string& text) : text_(text) {}

    NodePtr parse_all() {
        NodePtr node = ternary();
        skip_space();
        if (pos_ != text_.size()) syntax_error(text_, pos_, "unexpected '" + text_.substr(pos_, 1) + "'");
        return node;
    }

private:
    void skip_space() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    }
    bool accept(const std::string& token) {
        skip_space();
        if (text_.compare(pos_, token.size(), token) != 0) return false;
        // Do not split "<=" into "<" "=", or "&&" into "&".
        if (token.size() == 1 && pos_ + 1 < text_.size()) {
            char next = text_[pos_ + 1];
            if ((token == "<" || token == ">" || token == "!" || token == "=") && next == '=') return false;
        }
        pos_ += token.size();
        return true;
    }
    void expect(const std::string& token) {
        if (!accept(token)) syntax_error(text_, pos_, "expected '" + token + "'");
    }
    static NodePtr make(NodeKind kind, std::string text, std::vector<NodePtr> children) {
        auto node = std::make_shared<ExprNode>();
        node->kind = kind;
        node->text = std::move(text);
        node->children = std::move(children);
        return node;
    }

    NodePtr ternary() {
        NodePtr cond = binary_level(0);
        if (accept("?")) {
            NodePtr yes = ternary();
            expect(":");
            NodePtr no = ternary();
            return make(NodeKind::ternary, "?:", {cond, yes, no});
        }
        return cond;
    }

    // Binary operators by increasing precedence.
    NodePtr binary_level(size_t level) {
        static const std::vector<std::vector<std::string>> kLevels = {
            {"||"}, {"&&"}, {"==", "!="}, {"<=", ">=", "<", ">"}, {"+", "-"}, {"*", "/", "%"}};
        if (level == kLevels.size()) return unary();
        NodePtr left = binary_level(level + 1);
        for (;;) {
            bool matched = false;
            for (const auto& op : kLevels[level]) {
                if (accept(op)) {
                    NodePtr right = binary_level(level + 1);
                    left = make(NodeKind::binary, op, {left, right});
                    matched = true;
                    break;
                }
            }
            if (!matched) return left;
        }
    }

    NodePtr unary() {
        if (accept("!")) return make(NodeKind::unary, "!", {unary()});
        if (accept("-")) return make(NodeKind::unary, "-", {unary()});
        return primary();
    }

    NodePtr primary() {
        skip_space();
        if (pos_ >= text_.size()) syntax_error(text_, pos_, "unexpected end");
        char c = text_[pos_];
        if (accept("(")) {
            NodePtr inner = ternary();
            expect(")");
            return inner;
        }
        if (std::isdigit(static_cast<unsigned char>(c))) {
            size_t start = pos_;
            while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
            auto node = std::make_shared<ExprNode>();
            node->kind = NodeKind::number;
            node->number = std::stoll(text_.substr(start, pos_ - start));
            return node;
        }
        if (c == '"') {
            size_t end = text_.find('"', pos_ + 1);
            if (end == std::string::npos) syntax_error(text_, pos_, "unterminated string");
            std::string literal = text_.substr(pos_ + 1, end - pos_ - 1);
            pos_ = end + 1;
            return make(NodeKind::string, literal, {});
        }
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            size_t start = pos_;
            while (pos_ < text_.size() &&
                   (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' || text_[pos_] == '.'))
                ++pos_;
            std::string name = text_.substr(start, pos_ - start);
            if (name == "true" || name == "false") {
                auto node = std::make_shared<ExprNode>();
                node->kind = NodeKind::number;
                node->number = name == "true" ? 1 : 0;
                return node;
            }
            if (accept("(")) {
                std::vector<NodePtr> args;
                if (!accept(")")) {
                    do args.push_back(ternary());
                    while (accept(","));
                    expect(")");
                }
                return make(NodeKind::call, name, std::move(args));
            }
            return make(NodeKind::name, name, {});
        }
        syntax_error(text_, pos_, std::string("unexpected '") + c + "'");
    }

    const std::string& text_;
    size_t pos_ = 0;
};

[[noreturn]] void eval_error(const std::string& text, const std::string& what) {
    fail(Stage::validate, ErrorCode::bad_input, "schema expression '" + text + "': " + what);
}

class Evaluator {
public:
    Evaluator(const std::string& text, const NameLookup& lookup) : text_(text), lookup_(lookup) {}

    Value eval(const ExprNode& node) const {
        switch (node.kind) {
            case NodeKind::number: return node.number;
            case NodeKind::string: return node.text;
            case NodeKind::name: {
                auto value = lookup_(node.text);
                if (!value) eval_error(text_, "unknown name '" + node.text + "'");
                return *value;
            }
            case NodeKind::unary: {
                std::int64_t x = as_int(eval(*node.children[0]), node.text);
                return node.text == "!" ? std::int64_t{!x} : -x;
            }
            case NodeKind::ternary:
                return as_int(eval(*node.children[0]), "?:") ? eval(*node.children[1]) : eval(*node.children[2]);
            case NodeKind::binary: return binary(node);
            case NodeKind::call: return call(node);
        }
        eval_error(text_, "corrupt expression tree");
    }

private:
    std::int64_t as_int(const Value& v, const std::string& op) const {
        if (auto* i = std::get_if<std::int64_t>(&v)) return *i;
        eval_error(text_, "'" + op + "' needs a number, got string \"" + std::get<std::string>(v) + "\"");
    }

    Value binary(const ExprNode& node) const {
        const std::string& op = node.text;
        if (op == "&&") {
            return std::int64_t{as_int(eval(*node.children[0]), op) && as_int(eval(*node.children[1]), op)};
        }
        if (op == "||") {
            return std::int64_t{as_int(eval(*node.children[0]), op) || as_int(eval(*node.children[1]), op)};
        }
        Value left = eval(*node.children[0]);
        Value right = eval(*node.children[1]);
        if (op == "==" || op == "!=") {
            if (left.index() != right.index())
                eval_error(text_, "cannot compare " + to_string(left) + " with " + to_string(right));
            bool equal = left == right;
            return std::int64_t{op == "==" ? equal : !equal};
        }
        std::int64_t a = as_int(left, op);
        std::int64_t b = as_int(right, op);
        if (op == "<") return std::int64_t{a < b};
        if (op == "<=") return std::int64_t{a <= b};
        if (op == ">") return std::int64_t{a > b};
        if (op == ">=") return std::int64_t{a >= b};
        if (op == "+") return a + b;
        if (op == "-") return a - b;
        if (op == "*") return a * b;
        if (b == 0) eval_error(text_, "division by zero in '" + op + "'");
        if (op == "/") return a / b;
        return a % b;
    }

    Value call(const ExprNode& node) const {
        const std::string& fn = node.text;
        std::vector<std::int64_t> args;
        for (const auto& child : node.children) args.push_back(as_int(eval(*child), fn));
        auto need = [&](size_t n) {
            if (args.size() != n) eval_error(text_, fn + "() takes " + std::to_string(n) + " arguments");
        };
        if (fn == "min") return need(2), std::min(args[0], args[1]);
        if (fn == "max") return need(2), std::max(args[0], args[1]);
        if (fn == "ceil_div" || fn == "round_up") {
            need(2);
            if (args[1] <= 0) eval_error(text_, fn + "() divisor must be positive");
            std::int64_t q = (args[0] + args[1] - 1) / args[1];
            return fn == "ceil_div" ? q : q * args[1];
        }
        if (fn == "log2") {
            need(1);
            std::int64_t x = args[0];
            if (x <= 0 || (x & (x - 1)) != 0) eval_error(text_, "log2() of " + std::to_string(x) + " (not a power of two)");
            std::int64_t r = 0;
            while (x > 1) x >>= 1, ++r;
            return r;
        }
        eval_error(text_, "unknown function '" + fn + "'");
    }

    const std::string& text_;
    const NameLookup& lookup_;
};

void collect_names(const ExprNode& node, std::vector<std::string>& out) {
    if (node.kind == NodeKind::name) out.push_back(node.text);
    for (const auto& child : node.children) collect_names(*child, out);
}

}  // namespace

Expression Expression::parse(const std::string& text) {
    Expression expr;
    expr.text_ = text;
    expr.root_ = Parser(text).parse_all();
    return expr;
}

Value Expression::evaluate(const NameLookup& lookup) const {
    if (!root_) fail(Stage::validate, ErrorCode::internal, "evaluating an empty expression");
    return Evaluator(text_, lookup).eval(*root_);
}

std::int64_t Expression::evaluate_int(const NameLookup& lookup) const {
    Value v = evaluate(lookup);
    if (auto* i = std::get_if<std::int64_t>(&v)) return *i;
    fail(Stage::validate, ErrorCode::bad_input,
         "schema expression '" + text_ + "' should give a number, gave \"" + std::get<std::string>(v) + "\"");
}

std::vector<std::string> Expression::names() const {
    std::vector<std::string> out;
    if (root_) collect_names(*root_, out);
    return out;
}

std::string substitute_names(const std::string& pattern, const NameLookup& lookup) {
    std::string out;
    size_t pos = 0;
    while (pos < pattern.size()) {
        size_t open = pattern.find('{', pos);
        size_t close = open == std::string::npos ? open : pattern.find('}', open);
        if (close == std::string::npos) {
            out += pattern.substr(pos);
            break;
        }
        out += pattern.substr(pos, open - pos);
        std::string name = pattern.substr(open + 1, close - open - 1);
        auto value = lookup(name);
        out += value ? to_string(*value) : pattern.substr(open, close - open + 1);
        pos = close + 1;
    }
    return out;
}

}  // namespace flashcore
