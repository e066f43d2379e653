#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace lucida {

// Files that are replaced whole or not at all: a crash, a full disk or a second writer never leaves
// half a file under the target's name. Each write goes to its own temporary beside the target
// (`<name>.tmp-XXXXXX<extension>`, unique, so two writers never share one), is flushed to disk and
// renamed over the target; the folder is then synced so the rename survives a power cut. On any
// error the temporary is removed and a FileError names the target and the reason.

// Writes `bytes` as the new content of `path`.
void writeFileAtomically(const std::string& path, std::string_view bytes);

// For writers that need a file name (cv::imwrite, torch::save): `write` writes the whole file to
// the temporary path it is given (same folder and extension as `path`) and throws on failure.
void writeFileAtomically(const std::string& path,
                         const std::function<void(const std::string& temporary)>& write);

}  // namespace lucida
