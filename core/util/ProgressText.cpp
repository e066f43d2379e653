#include "util/ProgressText.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace lucida {

namespace {

constexpr const char* kUnknown = "\u2013";

bool known(double seconds) { return std::isfinite(seconds) && seconds >= 0; }

}  // namespace

std::string clockText(double seconds) {
    if (!known(seconds)) return kUnknown;
    const long long s = std::llround(seconds);
    char text[48];
    if (s >= 3600)
        std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    else
        std::snprintf(text, sizeof text, "%lld:%02lld", s / 60, s % 60);
    return text;
}

std::string durationText(double seconds) {
    if (!known(seconds)) return kUnknown;
    char text[48];
    if (seconds < 9.95) {
        std::snprintf(text, sizeof text, "%.1f s", seconds);
        return text;
    }
    const long long s = std::llround(seconds);
    if (s < 60)
        std::snprintf(text, sizeof text, "%lld s", s);
    else if (s < 3600)
        std::snprintf(text, sizeof text, "%lld min %02lld s", s / 60, s % 60);
    else {
        // Seconds no longer matter: rounded to the nearest minute.
        const long long m = (s + 30) / 60;
        std::snprintf(text, sizeof text, "%lld h %02lld min", m / 60, m % 60);
    }
    return text;
}

std::string rateText(double perSecond, std::string_view unit) {
    char text[48];
    std::snprintf(text, sizeof text, "%.1f ", std::isfinite(perSecond) ? perSecond : 0.0);
    return text + std::string(unit) + "/s";
}

double secondsLeft(double remaining, double perSecond) {
    if (!(perSecond > 0) || !std::isfinite(perSecond) || remaining < 0)
        return std::numeric_limits<double>::quiet_NaN();
    return remaining / perSecond;
}

std::string progressText(std::size_t done, std::size_t total, double perSecond,
                         std::string_view unit, double left) {
    return std::to_string(done) + "/" + std::to_string(total) + "  " + rateText(perSecond, unit) +
           "  ETA " + durationText(left);
}

}  // namespace lucida
