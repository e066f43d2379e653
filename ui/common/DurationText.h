#pragma once

#include "util/ProgressText.h"

#include <QString>

namespace lucida::ui {

// "m:ss" or "h:mm:ss" for progress displays; "–" when unknown (core's clockText, as the CLI).
inline QString durationText(double seconds) {
    return QString::fromStdString(lucida::clockText(seconds));
}

}  // namespace lucida::ui
