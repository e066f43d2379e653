#pragma once

#include <QObject>
#include <QStringList>

namespace lucida::ui {

// Most-recently-opened files, newest first, kept in QSettings.
class RecentFiles : public QObject {
    Q_OBJECT
public:
    static constexpr int kMaxEntries = 10;
    explicit RecentFiles(QObject* parent = nullptr);
    QStringList files() const;
    void add(const QString& path);
    void remove(const QString& path);
    void clear();

signals:
    void changed();

private:
    void store(const QStringList& files);
};

}  // namespace lucida::ui
