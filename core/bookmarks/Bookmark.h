#pragma once
// Bookmarks: named views of one image (where the view looks, the slice and grey window, how the
// heat is shown), kept in a small JSON sidecar beside the image's other results. Pure data and
// its file format; no Qt. The file is untrusted when read: bounded size, depth and count, every
// field checked, errors naming the file and the field.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lucida {

// How the heat was shown (the analysis' display settings at the time).
struct BookmarkHeat {
    bool shown = true;
    bool outlineShown = false;
    std::string layer = "cam";  // "cam" or "probability"
    std::string method;         // CAM method name; empty: leave the current one
    int classIndex = -1;        // -1: the model's default class
    std::string colourMap = "jet";
    std::string normalisation = "slide";  // "slide" or "patch"
    double opacity = 0.5;                 // 0..1
    double threshold = 0.2;               // 0..1

    bool operator==(const BookmarkHeat&) const = default;
};

struct BookmarkWindow {  // a DICOM grey window, in real values
    double centre = 0;
    double width = 1;
    bool operator==(const BookmarkWindow&) const = default;
};

struct Bookmark {
    std::string name;
    double centreX = 0;  // level-0 pixel at the view's centre
    double centreY = 0;
    double scale = 1;  // screen pixels per level-0 pixel
    int quarterTurns = 0;
    int slice = 0;
    std::optional<BookmarkWindow> window;
    std::optional<BookmarkHeat> heat;

    bool operator==(const Bookmark&) const = default;
};

// Limits for reading: a bookmark file is a few KiB; anything far larger is not one.
inline constexpr std::size_t kMaxBookmarkFileBytes = 1u << 20;
inline constexpr std::size_t kMaxBookmarks = 1000;
inline constexpr std::size_t kMaxBookmarkNameBytes = 200;
inline constexpr int kMaxBookmarkJsonDepth = 6;

// The JSON text of `bookmarks` ({"format": "lucida-bookmarks", "version": 1, "bookmarks": [...]}).
std::string bookmarksToJson(const std::vector<Bookmark>& bookmarks);
// Parses it; throws FileError naming `source` (the file) and the reason when the text is not a
// bookmark file or breaks a limit.
std::vector<Bookmark> bookmarksFromJson(std::string_view text, const std::string& source);

// Reads `path` (FileError when it cannot be read or parsed; a missing file is an error too: the
// caller decides whether "none yet" is fine).
std::vector<Bookmark> readBookmarksFile(const std::string& path);
// Writes atomically (AtomicFile); FileError on failure.
void writeBookmarksFile(const std::string& path, const std::vector<Bookmark>& bookmarks);

}  // namespace lucida
