#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lucida {

// How progress, rates and times are written for people: one set of functions for every CLI
// command and the UI, so the same run reads the same everywhere. An unknown value (negative,
// NaN or infinite) is written as "–".

// A clock reading for progress displays: "0:42", "12:05", "1:02:03".
std::string clockText(double seconds);

// A duration in words: "4.2 s", "42 s", "3 min 05 s", "1 h 02 min".
std::string durationText(double seconds);

// A rate with one decimal: "12.3 images/s".
std::string rateText(double perSecond, std::string_view unit);

// Seconds left at `perSecond` for `remaining` items; NaN while the rate is not known yet.
double secondsLeft(double remaining, double perSecond);

// One progress line: "12/345  12.3 images/s  ETA 3 min 05 s".
std::string progressText(std::size_t done, std::size_t total, double perSecond,
                         std::string_view unit, double secondsLeft);

}  // namespace lucida
