#pragma once

#include "SlideView.h"

#include <QElapsedTimer>
#include <QtTest>

namespace viewtest {

// Repaints until every visible tile of the best level is on screen (tiles arrive from decoder
// threads); false after `ms`.
inline bool waitLoaded(lucida::ui::SlideView* view, int ms = 20000) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms) {
        view->repaint();
        if (view->isFullyLoaded()) return true;
        QTest::qWait(10);
    }
    return false;
}

}  // namespace viewtest
