// yaml_tree.h — a small, bounded YAML document tree built from libyaml's
// event parser: every YAML bulwark reads (policies, and the daemon's
// settings file, daemon/config.cpp) goes through it.
//
// Why libyaml, not yaml-cpp: a 100,000-rule policy is 6 MB of YAML, and yaml-cpp's scanner
// spent ~550 ms on it, most of a reload; libyaml reads it in a fraction of
// that.  Why events, not a loaded tree: the event parser lets us enforce the nesting and list
// limits while the input is read (not after a huge tree exists), keep the
// 1-based position of every node, see duplicate mapping keys, and keep the
// documents that precede a syntax error.  Documents are handed to a callback
// one at a time, so only one document's tree is alive at once.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace bulwark::policy::detail {

struct YNode {
    enum class Kind { null, scalar, sequence, mapping };

    Kind kind = Kind::null;
    int line = 0;    // 1-based
    int column = 0;  // 1-based
    std::string value;                 // scalar text
    std::vector<const YNode*> items;   // sequence: items; mapping: key, value, key, value...

    std::size_t map_size() const { return items.size() / 2; }
    const YNode& key(std::size_t i) const { return *items[2 * i]; }
    const YNode& val(std::size_t i) const { return *items[2 * i + 1]; }
};

// One document; owns its nodes (aliases point at shared nodes in the arena).
struct YDocument {
    const YNode* root = nullptr;
    std::deque<YNode> arena;
};

// "a mapping", "a sequence", "a scalar", "null".
std::string_view describe(YNode::Kind k);

// Parses `text` and calls `on_document` for each complete document, in
// order; the callback returns false to stop reading.  Returns the error that
// stopped parsing (syntax error, limit), or nothing.  The document being read
// when the error happened is not handed out.
std::optional<Diagnostic> load_yaml_documents(std::string_view text, const std::string& filename,
                                              const std::function<bool(const YDocument&)>& on_document);

}  // namespace bulwark::policy::detail
