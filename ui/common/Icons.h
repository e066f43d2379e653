#pragma once
// Icons for actions and the window. The desktop's icon theme is used where it has the icon (so
// Lucida matches the desktop); otherwise Lucida's own SVGs (resources/icons) — never no icon.
#include <QIcon>

namespace lucida::ui {

// `name` is a freedesktop icon name ("zoom-in") or one of Lucida's own ("analyse-slide");
// resources/icons/<name>.svg must exist.
QIcon themedIcon(const QString& name);

// Lucida's own icon only (for actions with no freedesktop name).
QIcon ownIcon(const QString& name);

QIcon applicationIcon();

}  // namespace lucida::ui
