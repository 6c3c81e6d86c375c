// parser.cpp — YAML text -> Policy: schema validation with exact locations.
//
// Every problem becomes a Diagnostic at the offending node; checking goes on
// after an error so one run reports all of a file's errors (up to
// limits::max_errors_per_file).  A document with errors contributes no
// Policy to the result.
#include <algorithm>
#include <initializer_list>
#include <optional>
#include <utility>

#include "policy/limits.h"
#include "policy/parser_internal.h"
#include "policy/text.h"
#include "policy/yaml_tree.h"

namespace bulwark::policy {
namespace detail {
namespace {

using Kind = YNode::Kind;

constexpr std::string_view api_version = "bulwark/v1";
constexpr std::string_view policy_kind = "Policy";

// Thrown when a file reached the error limit; caught per file.
struct TooManyErrors {};

std::string join(std::initializer_list<std::string_view> items)
{
    std::string out;
    for (auto s : items) {
        if (!out.empty())
            out += ", ";
        out += s;
    }
    return out;
}

std::string expected_values(std::initializer_list<std::string_view> items)
{
    return items.size() == 1 ? "expected " + join(items) : "expected one of: " + join(items);
}

// Collects one document's diagnostics and enforces the per-file error limit.
class Reporter {
public:
    Reporter(const std::string& file, int& file_errors) : file_(file), file_errors_(file_errors) {}

    Location at(const YNode& n) const { return Location{file_, n.line, n.column}; }

    void error(const YNode& n, std::string message) { error(at(n), std::move(message)); }
    void error(Location loc, std::string message)
    {
        ++errors_;
        diags_.push_back(Diagnostic{Severity::error, std::move(loc), std::move(message)});
        if (++file_errors_ >= limits::max_errors_per_file)
            throw TooManyErrors{};
    }
    void warning(const YNode& n, std::string message)
    {
        diags_.push_back(Diagnostic{Severity::warning, at(n), std::move(message)});
    }

    int errors() const { return errors_; }

    // The document's diagnostics in source order.
    std::vector<Diagnostic> take()
    {
        std::stable_sort(diags_.begin(), diags_.end(), [](const Diagnostic& a, const Diagnostic& b) {
            return std::pair(a.loc.line, a.loc.column) < std::pair(b.loc.line, b.loc.column);
        });
        return std::move(diags_);
    }

private:
    const std::string& file_;
    int& file_errors_;
    int errors_ = 0;
    std::vector<Diagnostic> diags_;
};

// The known keys of one mapping, each with its value node.
class Fields {
public:
    const YNode* get(std::string_view key) const
    {
        for (const auto& [k, v] : entries_)
            if (k == key)
                return v;
        return nullptr;
    }
    void add(std::string_view key, const YNode* value) { entries_.emplace_back(key, value); }

private:
    std::vector<std::pair<std::string_view, const YNode*>> entries_;
};

class DocumentParser {
public:
    DocumentParser(Reporter& rep, NameRegistry& names) : rep_(rep), names_(names) {}

    std::optional<Policy> parse(const YNode& root)
    {
        Policy p;
        p.loc = rep_.at(root);
        if (!expect(root, Kind::mapping, "a mapping (a policy document)"))
            return std::nullopt;

        const Fields f = fields(root, "policy document", {"apiVersion", "kind", "metadata", "spec"});
        if (const YNode* n = required(f, "apiVersion", root, "policy document"))
            check_constant(*n, "apiVersion", api_version);
        if (const YNode* n = required(f, "kind", root, "policy document"))
            check_constant(*n, "kind", policy_kind);
        if (const YNode* n = required(f, "metadata", root, "policy document"))
            parse_metadata(*n, p);
        if (const YNode* n = required(f, "spec", root, "policy document"))
            parse_spec(*n, p);

        if (rep_.errors() > 0)
            return std::nullopt;
        return p;
    }

private:
    // ------------------------------------------------------------- helpers

    bool expect(const YNode& n, Kind kind, std::string_view what)
    {
        if (n.kind == kind)
            return true;
        rep_.error(n, "expected " + std::string(what) + ", found " + std::string(describe(n.kind)));
        return false;
    }

    // Reports non-string keys, unknown keys and duplicates; returns the rest.
    Fields fields(const YNode& map, std::string_view where, std::initializer_list<std::string_view> allowed)
    {
        Fields f;
        for (std::size_t i = 0; i < map.map_size(); ++i) {
            const YNode& key = map.key(i);
            if (key.kind != Kind::scalar) {
                rep_.error(key, "expected a string key in " + std::string(where) + ", found " +
                                    std::string(describe(key.kind)));
                continue;
            }
            const auto known = std::find(allowed.begin(), allowed.end(), key.value);
            if (known == allowed.end()) {
                rep_.error(key, "unknown key " + quote(key.value) + " in " + std::string(where) + "; " +
                                    expected_values(allowed));
                continue;
            }
            if (f.get(*known) != nullptr) {
                rep_.error(key, "duplicate key " + quote(key.value) + " in " + std::string(where));
                continue;
            }
            f.add(*known, &map.val(i));
        }
        return f;
    }

    const YNode* required(const Fields& f, std::string_view key, const YNode& map, std::string_view where)
    {
        const YNode* n = f.get(key);
        if (n == nullptr)
            rep_.error(map, "missing required key " + quote(key) + " in " + std::string(where));
        return n;
    }

    std::optional<std::string> string_value(const YNode& n)
    {
        if (n.kind == Kind::scalar)
            return n.value;
        rep_.error(n, "expected a string, found " + std::string(describe(n.kind)));
        return std::nullopt;
    }

    void check_constant(const YNode& n, std::string_view field, std::string_view want)
    {
        const auto v = string_value(n);
        if (v && *v != want)
            rep_.error(n, "invalid value " + quote(*v) + " for " + std::string(field) + "; expected " +
                              std::string(want));
    }

    template <class E>
    std::optional<E> enum_value(const YNode& n, std::string_view field,
                                std::initializer_list<std::pair<std::string_view, E>> choices,
                                std::initializer_list<std::string_view> names)
    {
        const auto v = string_value(n);
        if (!v)
            return std::nullopt;
        for (const auto& [name, value] : choices)
            if (*v == name)
                return value;
        rep_.error(n, "invalid value " + quote(*v) + " for " + std::string(field) + "; " + expected_values(names));
        return std::nullopt;
    }

    std::optional<bool> bool_value(const YNode& n, std::string_view field)
    {
        if (n.kind != Kind::scalar) {
            rep_.error(n, "expected true or false, found " + std::string(describe(n.kind)));
            return std::nullopt;
        }
        const std::string* v = &n.value;
        if (*v == "true" || *v == "True" || *v == "TRUE")
            return true;
        if (*v == "false" || *v == "False" || *v == "FALSE")
            return false;
        rep_.error(n, "invalid value " + quote(*v) + " for " + std::string(field) + "; expected true or false");
        return std::nullopt;
    }

    // An absolute path (a trailing '/' is kept: it names a directory, which
    // the compiler checks).
    std::optional<std::string> path_value(const YNode& n)
    {
        auto v = string_value(n);
        if (!v)
            return std::nullopt;
        if (v->find('\0') != std::string::npos) {
            rep_.error(n, "path " + quote(*v) + " contains a NUL byte");
            return std::nullopt;
        }
        if (v->empty() || (*v)[0] != '/') {
            rep_.error(n, "path " + quote(*v) + " is not absolute");
            return std::nullopt;
        }
        if (v->size() > limits::max_path_bytes) {
            rep_.error(n, "path " + quote(*v) + " is longer than " + std::to_string(limits::max_path_bytes) +
                              " bytes");
            return std::nullopt;
        }
        if (v->find_first_of("*?[") != std::string::npos) {
            rep_.error(n, "path " + quote(*v) +
                              " has a glob character (*, ? or [); globs are not supported: list each path, or "
                              "name the directory they are in (recursive: true; in execAllowlist a trailing /)");
            return std::nullopt;
        }
        return v;
    }

    // A non-empty sequence; `name` is the key it is under.
    bool nonempty_list(const YNode& n, std::string_view name)
    {
        if (!expect(n, Kind::sequence, "a sequence"))
            return false;
        if (n.items.empty()) {
            std::string msg = std::string(name) + " is empty";
            if (name == "execAllowlist")
                msg += "; an empty allowlist would deny every exec (remove the key to allow all)";
            else
                msg += "; remove the key or add entries";
            rep_.error(n, std::move(msg));
            return false;
        }
        return true;
    }

    // -------------------------------------------------------------- schema

    void parse_metadata(const YNode& n, Policy& p)
    {
        if (!expect(n, Kind::mapping, "a mapping"))
            return;
        const Fields f = fields(n, "metadata", {"name"});
        const YNode* name_node = required(f, "name", n, "metadata");
        if (name_node == nullptr)
            return;
        const auto name = string_value(*name_node);
        if (!name)
            return;
        if (!valid_name(*name_node, *name))
            return;
        p.name = *name;
        const Location here = rep_.at(*name_node);
        const auto [it, inserted] = names_.emplace(*name, here);
        if (!inserted)
            rep_.error(*name_node, "duplicate policy name " + quote(*name) + "; first defined at " +
                                       format_location(it->second));
    }

    bool valid_name(const YNode& n, const std::string& name)
    {
        if (name.size() > limits::max_name_chars) {
            rep_.error(n, "policy name " + quote(name) + " is longer than " +
                              std::to_string(limits::max_name_chars) + " characters");
            return false;
        }
        auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
        bool ok = !name.empty() && alnum(name.front()) && alnum(name.back());
        for (char c : name)
            ok = ok && (alnum(c) || c == '-' || c == '.');
        if (!ok)
            rep_.error(n, "invalid policy name " + quote(name) +
                              "; use lowercase letters, digits, '-' and '.', starting and ending with a "
                              "letter or digit");
        return ok;
    }

    void parse_spec(const YNode& n, Policy& p)
    {
        if (!expect(n, Kind::mapping, "a mapping"))
            return;
        const Fields f =
            fields(n, "spec", {"mode", "scope", "protectedFiles", "killOnOpen", "execAllowlist", "allowLockout"});
        if (const YNode* m = f.get("mode")) {
            if (auto mode = enum_value<PolicyMode>(*m, "mode",
                                                   {{"enforce", PolicyMode::enforce}, {"audit", PolicyMode::audit}},
                                                   {"enforce", "audit"}))
                p.mode = *mode;
        }
        if (const YNode* a = f.get("allowLockout")) {
            if (const auto allow = bool_value(*a, "allowLockout"))
                p.allow_lockout = *allow;
        }
        if (const YNode* s = f.get("scope"))
            parse_scope(*s, p);
        if (const YNode* l = f.get("protectedFiles"))
            parse_protected_files(*l, p);
        if (const YNode* l = f.get("killOnOpen"))
            parse_kill_on_open(*l, p);
        if (const YNode* l = f.get("execAllowlist"))
            parse_exec_allowlist(*l, p);
        if (!f.get("protectedFiles") && !f.get("killOnOpen") && !f.get("execAllowlist"))
            rep_.error(n, "spec has no rules; " + expected_values({"protectedFiles", "killOnOpen", "execAllowlist"}));
    }

    void parse_scope(const YNode& n, Policy& p)
    {
        Scope scope;
        scope.loc = rep_.at(n);
        if (!expect(n, Kind::mapping, "a mapping"))
            return;
        const Fields f = fields(n, "scope", {"units", "cgroups"});
        const YNode* units = f.get("units");
        const YNode* cgroups = f.get("cgroups");
        if (units == nullptr && cgroups == nullptr) {
            rep_.error(n, "scope has neither units nor cgroups; remove scope to apply the policy to the whole host");
            return;
        }
        if (units != nullptr && nonempty_list(*units, "units")) {
            for (const YNode* u : units->items) {
                const auto v = string_value(*u);
                if (!v)
                    continue;
                if (v->empty() || v->find('.') == std::string::npos || v->find('/') != std::string::npos ||
                    v->find('\0') != std::string::npos || v->size() > 255) {
                    rep_.error(*u, "invalid unit name " + quote(*v) +
                                       "; expected a systemd unit name such as nginx.service");
                    continue;
                }
                scope.units.push_back(*v);
            }
        }
        if (cgroups != nullptr && nonempty_list(*cgroups, "cgroups")) {
            for (const YNode* c : cgroups->items)
                if (auto v = path_value(*c))
                    scope.cgroups.push_back(std::move(*v));
        }
        p.scope = std::move(scope);
    }

    void parse_protected_files(const YNode& n, Policy& p)
    {
        if (!nonempty_list(n, "protectedFiles"))
            return;
        for (const YNode* e : n.items) {
            if (!expect(*e, Kind::mapping, "a mapping (a protectedFiles entry)"))
                continue;
            const Fields f = fields(*e, "protectedFiles entry", {"path", "deny", "recursive"});
            ProtectedFile pf;
            std::optional<std::string> v;
            if (const YNode* path = required(f, "path", *e, "protectedFiles entry")) {
                pf.loc = rep_.at(*path);
                v = path_value(*path);
            }
            if (const YNode* d = f.get("deny")) {
                if (auto deny = enum_value<DenyKind>(*d, "deny", {{"write", DenyKind::write}, {"all", DenyKind::all}},
                                                     {"write", "all"}))
                    pf.deny = *deny;
            }
            if (const YNode* r = f.get("recursive")) {
                if (const auto rec = bool_value(*r, "recursive"))
                    pf.recursive = *rec;
            }
            if (v) {
                pf.path = std::move(*v);
                p.protected_files.push_back(std::move(pf));
            }
        }
    }

    void parse_kill_on_open(const YNode& n, Policy& p)
    {
        if (!nonempty_list(n, "killOnOpen"))
            return;
        for (const YNode* e : n.items) {
            if (!expect(*e, Kind::mapping, "a mapping (a killOnOpen entry)"))
                continue;
            const Fields f = fields(*e, "killOnOpen entry", {"path", "recursive"});
            KillOnOpen k;
            std::optional<std::string> v;
            if (const YNode* path = required(f, "path", *e, "killOnOpen entry")) {
                k.loc = rep_.at(*path);
                v = path_value(*path);
            }
            if (const YNode* r = f.get("recursive")) {
                if (const auto rec = bool_value(*r, "recursive"))
                    k.recursive = *rec;
            }
            if (v) {
                k.path = std::move(*v);
                p.kill_on_open.push_back(std::move(k));
            }
        }
    }

    void parse_exec_allowlist(const YNode& n, Policy& p)
    {
        if (!nonempty_list(n, "execAllowlist"))
            return;
        std::vector<ExecEntry> entries;
        for (const YNode* e : n.items)
            if (auto v = path_value(*e))
                entries.push_back(ExecEntry{std::move(*v), rep_.at(*e)});
        p.exec_allowlist = std::move(entries);
    }

    Reporter& rep_;
    NameRegistry& names_;
};

}  // namespace

ParseResult parse_text(std::string_view text, const std::string& filename, NameRegistry& names)
{
    ParseResult result;
    if (text.size() > limits::max_file_bytes) {
        result.diagnostics.push_back(Diagnostic{Severity::error, Location{filename, 0, 0},
                                                "file is larger than 16 MiB; refusing to read it"});
        return result;
    }

    int file_errors = 0;
    bool stopped = false;
    std::size_t documents = 0;
    auto on_document = [&](const YDocument& doc) {
        if (doc.root == nullptr || doc.root->kind == Kind::null)
            return true;  // an empty document (e.g. a trailing `---`)
        ++documents;
        Reporter rep(filename, file_errors);
        std::optional<Policy> policy;
        try {
            policy = DocumentParser(rep, names).parse(*doc.root);
        } catch (const TooManyErrors&) {
            stopped = true;
        }
        for (auto& d : rep.take())
            result.diagnostics.push_back(std::move(d));
        if (policy)
            result.policies.push_back(std::move(*policy));
        return !stopped;
    };

    if (auto err = load_yaml_documents(text, filename, on_document)) {
        result.diagnostics.push_back(std::move(*err));
        return result;
    }
    if (stopped) {
        result.diagnostics.push_back(Diagnostic{
            Severity::error, Location{filename, 0, 0},
            "too many errors (" + std::to_string(limits::max_errors_per_file) + "); stopped checking this file"});
        return result;
    }
    if (documents == 0)
        result.diagnostics.push_back(
            Diagnostic{Severity::warning, Location{filename, 0, 0}, "file holds no policy documents"});
    return result;
}

}  // namespace detail

ParseResult parse_policy_text(std::string_view text, const std::string& filename)
{
    detail::NameRegistry names;
    return detail::parse_text(text, filename, names);
}

}  // namespace bulwark::policy
