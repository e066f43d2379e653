#include "Icons.h"

namespace lucida::ui {

QIcon ownIcon(const QString& name) { return QIcon(QStringLiteral(":/icons/%1.svg").arg(name)); }

QIcon themedIcon(const QString& name) { return QIcon::fromTheme(name, ownIcon(name)); }

QIcon applicationIcon() { return ownIcon(QStringLiteral("lucida")); }

}  // namespace lucida::ui
