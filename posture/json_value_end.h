// Finds where the first JSON value in a byte stream ends, as the bytes
// arrive, so a reader can stop at a complete answer even when the peer keeps
// its connection open: an object or array ends at its matching bracket
// (pretty-printed answers span lines), anything else at the first newline
// (newline-delimited JSON). It only finds the end; the parser validates.
//
//   JsonValueEnd scanner;
//   auto end = [&](std::string_view all, size_t from) { return scanner.feed(all.substr(from)); };
//   auto answer = exchange_unix(request, end);   // stops at "}" of {"a": {"b": 1}}
//
// Linear in the bytes fed, whatever the chunking: a peer trickling one byte
// at a time costs no more than one that sends everything at once.
#ifndef VIGIL_POSTURE_JSON_VALUE_END_H
#define VIGIL_POSTURE_JSON_VALUE_END_H

#include <cstddef>
#include <optional>
#include <string_view>

namespace vigil::posture {

class JsonValueEnd {
public:
    // Feeds the next bytes of the stream. Returns the length of the stream
    // up to and including the end of the first value once it is seen (and
    // from then on).
    std::optional<size_t> feed(std::string_view more);

private:
    enum class Mode { Before, Container, Scalar, Done };

    void step(char c);

    Mode mode_ = Mode::Before;
    size_t seen_ = 0;
    size_t depth_ = 0;
    bool in_string_ = false;
    bool escaped_ = false;
};

}  // namespace vigil::posture

#endif
