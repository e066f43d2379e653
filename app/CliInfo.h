#pragma once

#include <ostream>
#include <string>

namespace lucida::cli {

// `lucida-cli info IMAGE`: levels, pixel size, properties and associated images as JSON or text.
int runInfo(const std::string& path, bool json, std::ostream& out);

}  // namespace lucida::cli
