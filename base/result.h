// Errors as values at the agent's boundaries (config, sockets, files).
// C++20 has no std::expected; this is the small subset we use.
//
//   Result<Config> r = load_config(path);
//   if (!r) { log_error("{}", r.error().message); return 1; }
//   use(*r);
#ifndef VIGIL_BASE_RESULT_H
#define VIGIL_BASE_RESULT_H

#include <string>
#include <utility>
#include <variant>

namespace vigil {

struct Error {
    std::string message;
};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}
    explicit operator bool() const { return v_.index() == 0; }
    T& operator*() { return std::get<0>(v_); }
    const T& operator*() const { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

inline Error err(std::string message) { return Error{std::move(message)}; }

}  // namespace vigil

#endif
