#pragma once
// What a user pastes into a bug report: Lucida's version and commit, and the versions of the
// libraries it runs on. Torch's part comes from model/TorchInfo.h (LibTorch stays out of core).
#include <string>
#include <vector>

namespace lucida {

struct Component {
    std::string name;
    std::string version;
};

std::string lucidaVersion();  // "0.2.0", from CMake's project version
std::string gitCommit();      // short hash, "+dirty" when built from changed files, or "unknown"

// OpenSlide, DCMTK, OpenCV and libtiff as linked (run-time where the library reports it), and the
// Qt the viewer was built with.
std::vector<Component> libraryVersions();

// "PROGRAM VERSION (commit HASH)" then one "  name: version" line per component.
std::string versionReport(const std::string& program, const std::vector<Component>& components);

}  // namespace lucida
