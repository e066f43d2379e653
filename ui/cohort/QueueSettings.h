#pragma once

// What the project queue and the project's status column analyse with: the window's model and
// analysis settings (ModelSession), and where each image's results are kept. Failures of the
// queue are kept in the same results folder (one small JSON per image), so they outlive the window.

#include "analysis/SlideAnalysis.h"
#include "cohort/ImageSettings.h"

#include <QString>

#include <memory>
#include <optional>

namespace lucida {
class Model;
}

namespace lucida::ui {

class ModelSession;

struct QueueSettings {
    std::shared_ptr<const Model> model;  // null: no model open (no status, nothing to queue)
    QString modelPath;
    AnalysisSettings settings;
    // Model file and settings in one line: a failure recorded with others is not this one's.
    QString signature;
};

// The session's model and settings as the viewer's AnalysisController analyses with them (same
// results key, so heat the queue made shows in the viewer and the reverse).
QueueSettings queueSettingsOf(const ModelSession& session);

// What a project image is analysed with: the window's settings overridden by the image's own
// (a project's per-image settings; ImageSettings.h). Throws std::invalid_argument for a class the
// model lacks. The signature tells a failure recorded under other image settings.
AnalysisSettings imageAnalysisSettings(const QueueSettings& q, const ImageSettings& own);
QString imageSignature(const QueueSettings& q, const ImageSettings& own);
// The image as the project sees it: with its own pixel size when it has one.
std::unique_ptr<ImageSource> openProjectImage(const QString& path, const ImageSettings& own);

// Where `imagePath`'s results are kept: the project's results folder when it names one (shared
// with `lucida-cli batch`), else the image's own results store (ResultsLocation.h).
QString resultsRootOf(const QString& imagePath, const QString& projectResults);

// A queue failure of `imagePath` with `signature`, kept in its results root.
void recordFailure(const QString& root, const QString& imagePath, const QString& signature,
                   const QString& reason);
void clearFailure(const QString& root, const QString& imagePath);
// The recorded reason when the last queue run of this image with `signature` failed.
std::optional<QString> recordedFailure(const QString& root, const QString& imagePath,
                                       const QString& signature);

}  // namespace lucida::ui
