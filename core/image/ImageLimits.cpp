#include "image/ImageLimits.h"

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace lucida {

namespace {

std::int64_t fromEnvironment() {
    const char* text = std::getenv("LUCIDA_MAX_IMAGE_PIXELS");
    std::int64_t value = 0;
    if (!text) return kDefaultMaxImagePixels;
    const char* end = text + std::strlen(text);
    const auto [ptr, ec] = std::from_chars(text, end, value);
    return ec == std::errc() && ptr == end && value > 0 ? value : kDefaultMaxImagePixels;
}

std::atomic<std::int64_t>& limit() {
    static std::atomic<std::int64_t> value{fromEnvironment()};
    return value;
}

}  // namespace

std::int64_t maxImagePixels() { return limit().load(std::memory_order_relaxed); }

void setMaxImagePixels(std::int64_t pixels) {
    limit().store(pixels > 0 ? pixels : kDefaultMaxImagePixels, std::memory_order_relaxed);
}

std::string imagePixelLimitText() {
    return "over the limit of " + std::to_string(maxImagePixels()) +
           " pixels (LUCIDA_MAX_IMAGE_PIXELS)";
}

}  // namespace lucida
