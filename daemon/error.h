// error.h — errors as values: what was attempted, on which object, errno.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace bulwark {

struct Error {
    std::string what;  // "attach lsm/file_open", "open /var/log/bulwark/audit.jsonl"
    int err = 0;       // errno, 0 if none applies

    std::string to_string() const {
        if (err == 0) return what;
        return what + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")";
    }
};

// A value or an Error.  Small on purpose: C++20 has no std::expected.
template <typename T>
class Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error e) : v_(std::move(e)) {}
    bool ok() const { return std::holds_alternative<T>(v_); }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<T>(v_); }
    const T& value() const { return std::get<T>(v_); }
    T& operator*() { return value(); }
    T* operator->() { return &value(); }
    const Error& error() const { return std::get<Error>(v_); }

private:
    std::variant<T, Error> v_;
};

// For operations that return nothing: empty on success.
using Status = std::optional<Error>;

inline Error errno_error(std::string what) { return Error{std::move(what), errno}; }

}  // namespace bulwark
