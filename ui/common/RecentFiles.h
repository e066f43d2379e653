#pragma once

#include <QObject>
#include <QStringList>

namespace lucida::ui {

// Most-recently-opened files, newest first, kept in QSettings under `key` (images by default;
// the analysis keeps its models in one too).
class RecentFiles : public QObject {
    Q_OBJECT
public:
    static constexpr int kMaxEntries = 10;
    explicit RecentFiles(QObject* parent = nullptr);
    RecentFiles(QString key, int maxEntries, QObject* parent = nullptr);
    QStringList files() const;
    void add(const QString& path);
    void remove(const QString& path);
    void clear();

signals:
    void changed();

private:
    void store(const QStringList& files);

    QString key_;
    int maxEntries_;
};

}  // namespace lucida::ui
