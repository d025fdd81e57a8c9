// Compact JSON text written straight into a string, without a DOM: the
// trail's decision records, one per request, where building a
// nlohmann::ordered_json (an allocation per key and value, then a dump)
// cost more than the decision.
//
//   std::string line;
//   JsonWriter w(line);
//   w.begin_object().field("user", user).field("pid", pid).end_object();
//
// The text is what nlohmann's dump(-1) with error_handler_t::replace writes
// for the same values: no spaces, the same escapes, and each byte sequence
// that is not UTF-8 replaced by U+FFFD (tests/fuzz/src/fuzz_json_writer.cc
// holds the two to the same output). The caller keeps keys unique and
// pairs each key with one value.
#ifndef VIGIL_BASE_JSON_WRITER_H
#define VIGIL_BASE_JSON_WRITER_H

#include <charconv>
#include <concepts>
#include <string>
#include <string_view>

namespace vigil {

class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out) {}

    JsonWriter& begin_object() { return open('{'); }
    JsonWriter& end_object() { return close('}'); }
    JsonWriter& begin_array() { return open('['); }
    JsonWriter& end_array() { return close(']'); }

    JsonWriter& key(std::string_view k);
    JsonWriter& value(std::string_view s);
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }  // not value(bool)
    JsonWriter& value(bool b);
    template <std::integral T>
    requires(!std::same_as<T, bool>) JsonWriter& value(T n) {
        separate();
        char buf[24];
        auto end = std::to_chars(buf, buf + sizeof buf, n).ptr;
        out_.append(buf, end);
        return *this;
    }
    // Text that already is JSON (a nested document's own dump).
    JsonWriter& raw(std::string_view json);

    template <class T>
    JsonWriter& field(std::string_view k, const T& v) {
        key(k);
        return value(v);
    }

private:
    JsonWriter& open(char c);
    JsonWriter& close(char c);
    void separate();

    std::string& out_;
    bool comma_ = false;  // the next value or key follows another
};

// s as a JSON string, quotes included, appended to out (JsonWriter::value).
void append_json_string(std::string& out, std::string_view s);

}  // namespace vigil

#endif
