// yaml_tree.cpp — builds YDocument trees from libyaml events, with limits.
#include "policy/yaml_tree.h"

#include <algorithm>
#include <memory>
#include <unordered_map>

#include <yaml.h>

#include "policy/limits.h"
#include "policy/text.h"

namespace bulwark::policy::detail {

std::string_view describe(YNode::Kind k)
{
    switch (k) {
    case YNode::Kind::null: return "null";
    case YNode::Kind::scalar: return "a scalar";
    case YNode::Kind::sequence: return "a sequence";
    case YNode::Kind::mapping: return "a mapping";
    }
    return "?";
}

namespace {

struct StopError {
    int line;
    int column;
    std::string message;
};

int one_based(std::size_t v) { return static_cast<int>(v) + 1; }

std::string text_of(const yaml_char_t* s) { return s ? std::string(reinterpret_cast<const char*>(s)) : std::string(); }

// A plain, untagged scalar that YAML 1.1 reads as null ("key:" with nothing,
// "~", "null"), or an explicit !!null.
bool is_null_scalar(const yaml_event_t& e)
{
    const auto& sc = e.data.scalar;
    const std::string tag = text_of(sc.tag);
    if (tag == "tag:yaml.org,2002:null")
        return true;
    if (!tag.empty() || sc.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const std::string_view v(reinterpret_cast<const char*>(sc.value), sc.length);
    return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

// Builds one document at a time from libyaml's events.
class TreeBuilder {
public:
    explicit TreeBuilder(const std::function<bool(const YDocument&)>& cb) : cb_(cb) {}

    // Returns false when the caller asked to stop.
    bool on_event(const yaml_event_t& e)
    {
        switch (e.type) {
        case YAML_DOCUMENT_START_EVENT:
            doc_ = std::make_unique<YDocument>();
            stack_.clear();
            anchors_.clear();
            break;
        case YAML_DOCUMENT_END_EVENT: {
            const bool go_on = !doc_ || cb_(*doc_);
            doc_.reset();
            anchors_.clear();
            return go_on;
        }
        case YAML_ALIAS_EVENT: {
            const auto it = anchors_.find(text_of(e.data.alias.anchor));
            if (it == anchors_.end())
                throw StopError{one_based(e.start_mark.line), one_based(e.start_mark.column),
                                "alias to an unknown anchor"};
            if (std::find(stack_.begin(), stack_.end(), it->second) != stack_.end())
                throw StopError{one_based(e.start_mark.line), one_based(e.start_mark.column),
                                "alias refers to a node that contains it (recursive alias)"};
            attach(it->second);
            break;
        }
        case YAML_SCALAR_EVENT: {
            if (is_null_scalar(e)) {
                YNode& n = make(YNode::Kind::null, e.start_mark);
                // An empty value (`key:` and nothing) has no position of its
                // own: point at its key.
                if (e.data.scalar.length == 0 && !stack_.empty() && stack_.back()->kind == YNode::Kind::mapping &&
                    stack_.back()->items.size() % 2 == 1) {
                    const YNode* key = stack_.back()->items.back();
                    n.line = key->line;
                    n.column = key->column;
                }
                remember(e.data.scalar.anchor, &n);
                attach(&n);
            } else {
                YNode& n = make(YNode::Kind::scalar, e.start_mark);
                n.value.assign(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
                remember(e.data.scalar.anchor, &n);
                attach(&n);
            }
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
            open(make(YNode::Kind::sequence, e.start_mark), e.data.sequence_start.anchor);
            break;
        case YAML_MAPPING_START_EVENT:
            open(make(YNode::Kind::mapping, e.start_mark), e.data.mapping_start.anchor);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            close();
            break;
        default:  // stream start/end, none
            break;
        }
        return true;
    }

private:
    YNode& make(YNode::Kind kind, const yaml_mark_t& mark)
    {
        YNode& n = doc_->arena.emplace_back();
        n.kind = kind;
        n.line = one_based(mark.line);
        n.column = one_based(mark.column);
        return n;
    }

    void remember(const yaml_char_t* anchor, const YNode* n)
    {
        if (anchor)
            anchors_[text_of(anchor)] = n;
    }

    void open(YNode& n, const yaml_char_t* anchor)
    {
        if (stack_.size() >= static_cast<std::size_t>(limits::max_nesting))
            throw StopError{n.line, n.column,
                            "nesting deeper than " + std::to_string(limits::max_nesting) + " levels"};
        remember(anchor, &n);
        stack_.push_back(&n);
    }

    void close()
    {
        YNode* n = stack_.back();
        stack_.pop_back();
        attach(n);
    }

    void attach(const YNode* n)
    {
        if (stack_.empty()) {
            doc_->root = n;
            return;
        }
        YNode* parent = stack_.back();
        parent->items.push_back(n);
        const std::size_t entries =
            parent->kind == YNode::Kind::mapping ? (parent->items.size() + 1) / 2 : parent->items.size();
        if (entries > limits::max_list_entries)
            throw StopError{parent->line, parent->column,
                            std::string(parent->kind == YNode::Kind::mapping ? "mapping" : "list") +
                                " has more than " + std::to_string(limits::max_list_entries) + " entries"};
    }

    const std::function<bool(const YDocument&)>& cb_;
    std::unique_ptr<YDocument> doc_;
    std::vector<YNode*> stack_;
    std::unordered_map<std::string, const YNode*> anchors_;
};

// Owns a libyaml parser.
struct Parser {
    yaml_parser_t p{};
    explicit Parser(std::string_view text)
    {
        yaml_parser_initialize(&p);
        yaml_parser_set_input_string(&p, reinterpret_cast<const unsigned char*>(text.data()), text.size());
    }
    ~Parser() { yaml_parser_delete(&p); }
    Parser(const Parser&) = delete;
    Parser& operator=(const Parser&) = delete;
};

}  // namespace

std::optional<Diagnostic> load_yaml_documents(std::string_view text, const std::string& filename,
                                              const std::function<bool(const YDocument&)>& on_document)
{
    Parser parser(text);
    TreeBuilder builder(on_document);
    try {
        for (;;) {
            yaml_event_t event;
            if (!yaml_parser_parse(&parser.p, &event)) {
                std::string msg = parser.p.problem ? parser.p.problem : "unreadable input";
                if (parser.p.context)
                    msg += std::string(" ") + parser.p.context;
                int line = one_based(parser.p.problem_mark.line), column = one_based(parser.p.problem_mark.column);
                if (parser.p.error == YAML_READER_ERROR) {
                    // Bytes that are not UTF-8: libyaml gives a byte offset.
                    const std::string_view before = text.substr(0, std::min(parser.p.problem_offset, text.size()));
                    const auto nl = before.rfind('\n');
                    line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
                    column = 1 + static_cast<int>(nl == std::string_view::npos ? before.size() : before.size() - nl - 1);
                }
                return Diagnostic{Severity::error, Location{filename, line, column}, "YAML syntax error: " + msg};
            }
            const yaml_event_type_t type = event.type;
            bool go_on = true;
            try {
                go_on = builder.on_event(event);
            } catch (...) {
                yaml_event_delete(&event);
                throw;
            }
            yaml_event_delete(&event);
            if (!go_on || type == YAML_STREAM_END_EVENT)
                break;
        }
    } catch (const StopError& e) {
        return Diagnostic{Severity::error, Location{filename, e.line, e.column}, e.message};
    }
    return std::nullopt;
}

}  // namespace bulwark::policy::detail
