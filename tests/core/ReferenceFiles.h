#pragma once
// The Python reference outputs (tests/reference) that the CAM tests compare against.

#include "model/FloatTensor.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace lucida::test {

inline QString referenceDir() {
    const char* d = std::getenv("LUCIDA_REFERENCE_DIR");
    return d ? QString(d) : QStringLiteral("reference");
}

inline FloatTensor readFloats(const QString& file, const QJsonArray& shape) {
    std::vector<std::int64_t> s;
    for (const auto& v : shape) s.push_back(v.toInteger());
    FloatTensor t(s);
    QFile f(referenceDir() + "/" + file);
    if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read %s", qPrintable(f.fileName()));
    const QByteArray bytes = f.readAll();
    if (bytes.size() != static_cast<qsizetype>(t.data.size() * sizeof(float)))
        qFatal("size mismatch in %s", qPrintable(file));
    std::memcpy(t.data.data(), bytes.constData(), static_cast<std::size_t>(bytes.size()));
    return t;
}

inline QJsonObject readReferenceJson(const QString& name) {
    QFile f(referenceDir() + "/" + name);
    if (!f.open(QIODevice::ReadOnly))
        qFatal("no %s in %s", qPrintable(name), qPrintable(referenceDir()));
    return QJsonDocument::fromJson(f.readAll()).object();
}

}  // namespace lucida::test
