#include "terminal_qr.h"

#include <fmt/format.h>
#include <qrencode.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace vigil {
namespace {

constexpr int kQuietModules = 2;

// Half-block glyphs, named for which half is light (the drawn half).
constexpr const char* kBothLight = "\u2588";    // █
constexpr const char* kTopLight = "\u2580";     // ▀
constexpr const char* kBottomLight = "\u2584";  // ▄
constexpr const char* kBothDark = " ";

struct QrFree {
    void operator()(QRcode* q) const { QRcode_free(q); }
};
using QrPtr = std::unique_ptr<QRcode, QrFree>;

// Module (x, y) of the symbol plus its quiet zone: true = dark.
bool dark(const QRcode& q, int x, int y) {
    x -= kQuietModules;
    y -= kQuietModules;
    if (x < 0 || y < 0 || x >= q.width || y >= q.width) return false;
    return (q.data[y * q.width + x] & 1) != 0;
}

const char* glyph(bool top_dark, bool bottom_dark) {
    if (top_dark) return bottom_dark ? kBothDark : kBottomLight;
    return bottom_dark ? kTopLight : kBothLight;
}

std::string render(const QRcode& q) {
    int size = q.width + 2 * kQuietModules;
    std::string out;
    for (int y = 0; y < size; y += 2) {
        if (y > 0) out += '\n';
        for (int x = 0; x < size; ++x) out += glyph(dark(q, x, y), dark(q, x, y + 1));
    }
    return out;
}

}  // namespace

Result<std::string> terminal_qr(std::string_view text) {
    if (text.find('\0') != std::string_view::npos) return err("cannot draw a QR code for text with a NUL byte");
    std::string copy(text);  // libqrencode wants a C string
    errno = 0;
    QrPtr q(QRcode_encodeString(copy.c_str(), 0, QR_ECLEVEL_L, QR_MODE_8, 1));
    if (!q && errno == ERANGE) {
        return err(fmt::format("{} bytes do not fit in a QR code", text.size()));
    }
    if (!q) return err(fmt::format("cannot encode a QR code: {}", std::strerror(errno)));
    return render(*q);
}

}  // namespace vigil
