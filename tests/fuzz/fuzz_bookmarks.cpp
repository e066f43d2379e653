// libFuzzer target: bookmark sidecars (JSON), read, written and read again (the same values).
#include "FuzzFile.h"
#include "bookmarks/Bookmark.h"
#include "image/FileError.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string& path = fuzz::writeInput(data, size, ".json");
    try {
        const auto bookmarks = lucida::readBookmarksFile(path);
        if (lucida::bookmarksFromJson(lucida::bookmarksToJson(bookmarks), path) != bookmarks)
            std::abort();  // what was accepted must survive a round trip unchanged
    } catch (const lucida::FileError&) {
        // refused, naming the file and the reason
    }
    return 0;
}
