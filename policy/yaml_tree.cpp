// yaml_tree.cpp — builds YDocument trees from yaml-cpp events, with limits.
#include "policy/yaml_tree.h"

#include <algorithm>
#include <istream>
#include <memory>
#include <streambuf>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

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

// Read-only streambuf over caller-owned bytes (no copy of a 16 MiB input).
class ViewBuf final : public std::streambuf {
public:
    explicit ViewBuf(std::string_view s)
    {
        char* p = const_cast<char*>(s.data());  // only ever read
        setg(p, p, p + s.size());
    }
};

struct StopError {
    int line;
    int column;
    std::string message;
};

int one_based(int v) { return v < 0 ? 0 : v + 1; }

class TreeBuilder final : public YAML::EventHandler {
public:
    TreeBuilder(std::string_view text, const std::function<bool(const YDocument&)>& cb) : text_(text), cb_(cb) {}

    bool stopped() const { return stopped_; }

    void OnDocumentStart(const YAML::Mark& mark) override
    {
        // yaml-cpp 0.7 can loop forever on some malformed input (a stray ','
        // at the top level), producing empty documents without consuming a
        // byte.  A document must start after the previous one.
        if (mark.pos <= last_document_pos_) {
            const auto at = static_cast<std::size_t>(mark.pos < 0 ? 0 : mark.pos);
            throw StopError{one_based(mark.line), one_based(mark.column),
                            "YAML syntax error: unexpected " +
                                (at < text_.size() ? quote(text_.substr(at, 1)) : std::string("end of input"))};
        }
        last_document_pos_ = mark.pos;
        doc_ = std::make_unique<YDocument>();
        stack_.clear();
        anchors_.clear();
    }

    void OnDocumentEnd() override
    {
        if (doc_ && !stopped_) {
            if (!cb_(*doc_))
                stopped_ = true;
        }
        doc_.reset();
        anchors_.clear();
    }

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override
    {
        YNode& n = make(YNode::Kind::null, mark);
        // An empty value (`key:` and nothing) gets the position of the next
        // token from yaml-cpp, often on a later line; point at its key.
        if (!stack_.empty() && stack_.back()->kind == YNode::Kind::mapping && stack_.back()->items.size() % 2 == 1) {
            const YNode* key = stack_.back()->items.back();
            n.line = key->line;
            n.column = key->column;
        }
        remember(anchor, &n);
        attach(&n);
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override
    {
        if (anchor >= anchors_.size() || anchors_[anchor] == nullptr)
            throw StopError{one_based(mark.line), one_based(mark.column), "alias to an unknown anchor"};
        const YNode* target = anchors_[anchor];
        if (std::find(stack_.begin(), stack_.end(), target) != stack_.end())
            throw StopError{one_based(mark.line), one_based(mark.column),
                            "alias refers to a node that contains it (recursive alias)"};
        attach(target);
    }

    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  const std::string& value) override
    {
        YNode& n = make(YNode::Kind::scalar, mark);
        n.value = value;
        remember(anchor, &n);
        attach(&n);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override
    {
        open(make(YNode::Kind::sequence, mark), anchor);
    }

    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override
    {
        open(make(YNode::Kind::mapping, mark), anchor);
    }

    void OnMapEnd() override { close(); }

private:
    YNode& make(YNode::Kind kind, const YAML::Mark& mark)
    {
        YNode& n = doc_->arena.emplace_back();
        n.kind = kind;
        n.line = one_based(mark.line);
        n.column = one_based(mark.column);
        return n;
    }

    void remember(YAML::anchor_t anchor, const YNode* n)
    {
        if (anchor == YAML::NullAnchor)
            return;
        if (anchor >= anchors_.size())
            anchors_.resize(anchor + 1, nullptr);
        anchors_[anchor] = n;
    }

    void open(YNode& n, YAML::anchor_t anchor)
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

    std::string_view text_;
    const std::function<bool(const YDocument&)>& cb_;
    int last_document_pos_ = -1;
    std::unique_ptr<YDocument> doc_;
    std::vector<YNode*> stack_;
    std::vector<const YNode*> anchors_;
    bool stopped_ = false;
};

}  // namespace

std::optional<Diagnostic> load_yaml_documents(std::string_view text, const std::string& filename,
                                              const std::function<bool(const YDocument&)>& on_document)
{
    ViewBuf buf(text);
    std::istream in(&buf);
    TreeBuilder builder(text, on_document);
    try {
        YAML::Parser parser(in);
        while (!builder.stopped() && parser.HandleNextDocument(builder)) {
        }
    } catch (const StopError& e) {
        return Diagnostic{Severity::error, Location{filename, e.line, e.column}, e.message};
    } catch (const YAML::Exception& e) {
        // ParserException (syntax) and DeepRecursion (yaml-cpp's own guard).
        const int line = e.mark.is_null() ? 0 : one_based(e.mark.line);
        const int column = e.mark.is_null() ? 0 : one_based(e.mark.column);
        return Diagnostic{Severity::error, Location{filename, line, column}, "YAML syntax error: " + e.msg};
    }
    return std::nullopt;
}

}  // namespace bulwark::policy::detail
