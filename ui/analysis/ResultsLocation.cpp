#include "ResultsLocation.h"

#include "AnalysisSettingKeys.h"
#include "analysis/SlideAnalysis.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>

namespace lucida::ui {
namespace {

constexpr auto kBesideKey = analysis_keys::kResultsBesideImage;
constexpr qint64 kIdentityBytes = qint64{1} << 20;

QByteArray identity(const QString& imagePath) {
    QCryptographicHash hash(QCryptographicHash::Sha1);
    const QFileInfo info(imagePath);
    if (info.isDir()) {
        hash.addData(info.absoluteFilePath().toUtf8());
    } else {
        hash.addData(info.fileName().toUtf8());
        hash.addData(QByteArray::number(info.size()));
        QFile file(imagePath);
        if (file.open(QIODevice::ReadOnly)) {
            hash.addData(file.read(kIdentityBytes));
            if (file.size() > 2 * kIdentityBytes && file.seek(file.size() - kIdentityBytes))
                hash.addData(file.read(kIdentityBytes));
        } else {
            hash.addData(info.absoluteFilePath().toUtf8());  // unreadable: at least its path
        }
    }
    return hash.result().toHex().left(16);
}

// Can results be kept in `dir`? Made if missing, and a file really created in it (as root,
// permission bits say nothing: a read-only mount or an immutable folder still refuses).
bool writableFolder(const QString& dir) {
    if (!QDir().mkpath(dir)) return false;
    QFile probe(QDir(dir).filePath(QStringLiteral(".lucida-write-test")));
    if (!probe.open(QIODevice::WriteOnly)) return false;
    probe.close();
    probe.remove();
    return true;
}

}  // namespace

ResultsPlace savedResultsPlace() {
    return QSettings().value(kBesideKey, false).toBool() ? ResultsPlace::BesideImage
                                                         : ResultsPlace::UserStore;
}

void saveResultsPlace(ResultsPlace place) {
    QSettings().setValue(kBesideKey, place == ResultsPlace::BesideImage);
}

QString userStoreRoot(const QString& imagePath) {
    const QString data = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    return QDir(data).filePath(
        QStringLiteral("analyses/%1-%2.lucida")
            .arg(QFileInfo(imagePath).fileName(), QString::fromLatin1(identity(imagePath))));
}

QString resultsRootFor(const QString& imagePath, ResultsPlace place, bool* fellBack) {
    if (fellBack) *fellBack = false;
    if (place == ResultsPlace::BesideImage) {
        const QString beside = QString::fromStdString(defaultResultsRoot(imagePath.toStdString()));
        if (writableFolder(beside)) return beside;
        if (fellBack) *fellBack = true;
    }
    return userStoreRoot(imagePath);
}

}  // namespace lucida::ui
