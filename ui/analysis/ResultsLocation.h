#pragma once
// Where an image's analysis results are kept. By default in the user's own results store
// (XDG data location), keyed by the image's identity, so that shared, read-only or other people's
// slide folders are never written to; beside the image ("<image>.lucida/") only when the user
// chooses it, and even then the user store when the image's folder cannot be written.
#include <QString>

namespace lucida::ui {

enum class ResultsPlace { UserStore, BesideImage };

ResultsPlace savedResultsPlace();  // the setting "analysis/resultsBesideImage" (default: no)
void saveResultsPlace(ResultsPlace place);

// The user store's folder for `imagePath`: "<data>/analyses/<name>-<identity>.lucida", where the
// identity hashes the file's name, size and first and last MiB (a DICOM folder: its path), so the
// same slide copied or moved elsewhere finds its results again.
QString userStoreRoot(const QString& imagePath);

// The results root to use for `imagePath` with `place`; with BesideImage, the user store when the
// folder beside the image cannot be created or written (`*fellBack` says so).
QString resultsRootFor(const QString& imagePath, ResultsPlace place, bool* fellBack = nullptr);

}  // namespace lucida::ui
