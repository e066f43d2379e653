#include "QueueSettings.h"

#include "ModelSession.h"
#include "ResultsLocation.h"
#include "cohort/PixelSizeOverride.h"
#include "io/AtomicFile.h"
#include "model/Model.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

#include <nlohmann/json.hpp>

namespace lucida::ui {
namespace {
constexpr qint64 kMaxFailureBytes = 64 * 1024;  // a reason is a line or two

QString failurePath(const QString& root, const QString& imagePath) {
    return QDir(root).filePath(QFileInfo(imagePath).fileName() + QStringLiteral(".failed.json"));
}
}  // namespace

QueueSettings queueSettingsOf(const ModelSession& session) {
    QueueSettings q;
    q.model = session.model();
    q.modelPath = session.path();
    q.settings = session.analysisSettings();  // as the viewer's controllers
    AnalysisSettings& s = q.settings;
    const int classes = q.model ? static_cast<int>(q.model->spec().classes.size()) : 0;
    if (s.classIndex && *s.classIndex >= classes) s.classIndex.reset();  // the model's default
    s.batchSize = 16;                                                    // as the controllers
    q.signature = QStringLiteral("%1|%2|%3|%4|%5|%6|%7|%8")
                      .arg(QFileInfo(q.modelPath).absoluteFilePath(), session.method())
                      .arg(s.classIndex.value_or(-1))
                      .arg(int(s.fit))
                      .arg(s.overlap)
                      .arg(int(s.eigenSmooth))
                      .arg(int(s.augmentSmooth))
                      .arg(modeName(s.mode).c_str());
    if (s.int8) q.signature += QStringLiteral("|int8");  // fp32's signatures stay as they were
    return q;
}

AnalysisSettings imageAnalysisSettings(const QueueSettings& q, const ImageSettings& own) {
    return effectiveSettings(q.settings, own,
                             q.model ? q.model->spec().classes : std::vector<std::string>{});
}

QString imageSignature(const QueueSettings& q, const ImageSettings& own) {
    if (own.empty()) return q.signature;
    return q.signature + "|" + QString::fromStdString(imageSettingsToJson(own).dump());
}

std::unique_ptr<ImageSource> openProjectImage(const QString& path, const ImageSettings& own) {
    auto source = openImage(path.toStdString());
    if (own.pixelSize) source = withPixelSize(std::move(source), *own.pixelSize);
    return source;
}

QString resultsRootOf(const QString& imagePath, const QString& projectResults) {
    if (!projectResults.isEmpty()) return projectResults;
    return resultsRootFor(imagePath, savedResultsPlace());
}

void recordFailure(const QString& root, const QString& imagePath, const QString& signature,
                   const QString& reason) {
    QDir().mkpath(root);
    const QJsonObject o{{"image", imagePath}, {"settings", signature}, {"error", reason}};
    writeFileAtomically(failurePath(root, imagePath).toStdString(),
                        QJsonDocument(o).toJson().toStdString());
}

void clearFailure(const QString& root, const QString& imagePath) {
    QFile::remove(failurePath(root, imagePath));
}

std::optional<QString> recordedFailure(const QString& root, const QString& imagePath,
                                       const QString& signature) {
    QFile file(failurePath(root, imagePath));
    if (!file.open(QIODevice::ReadOnly) || file.size() > kMaxFailureBytes) return std::nullopt;
    const QJsonObject o = QJsonDocument::fromJson(file.readAll()).object();
    if (o.value("settings").toString() != signature || o.value("image").toString() != imagePath)
        return std::nullopt;
    return o.value("error").toString();
}

}  // namespace lucida::ui
