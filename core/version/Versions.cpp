#include "version/Versions.h"

#include "version/BuildStamp.h"

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <openslide/openslide.h>
#include <tiffio.h>

#include <opencv2/core/utility.hpp>

#include <sstream>

namespace lucida {

std::string lucidaVersion() { return kLucidaVersion; }

std::string gitCommit() { return kGitCommit; }

std::vector<Component> libraryVersions() {
    // libtiff's version text is a banner ("LIBTIFF, Version 4.5.0\nCopyright ..."): keep the
    // number.
    std::string tiff = TIFFGetVersion();
    if (const auto at = tiff.find("Version "); at != std::string::npos) {
        tiff = tiff.substr(at + 8);
        tiff = tiff.substr(0, tiff.find_first_of("\r\n"));
    }
    return {
        {"Qt", kQtVersion[0] ? std::string(kQtVersion) : std::string("(viewer not built)")},
        {"OpenSlide", openslide_get_version()},
        {"DCMTK", OFFIS_DCMTK_VERSION_STRING},
        {"OpenCV", cv::getVersionString()},
        {"libtiff", tiff},
    };
}

std::string versionReport(const std::string& program, const std::vector<Component>& components) {
    std::ostringstream out;
    out << program << ' ' << lucidaVersion() << " (commit " << gitCommit() << ")\n";
    for (const Component& c : components) out << "  " << c.name << ": " << c.version << '\n';
    return out.str();
}

}  // namespace lucida
