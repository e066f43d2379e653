#pragma once
// What the viewer tests that compare the viewer with `lucida-cli analyse` share (default_mode,
// precision_view): the CLI's run and its JSON, the demo model and a slide opened in a MainWindow,
// and a 2048² demo slide at the demo model's scale. Needs LUCIDA_CLI and LUCIDA_SOURCE_DIR.
#include "MainWindow.h"
#include "SlideView.h"
#include "demo/DemoData.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>

namespace lucida::test {

inline constexpr char kDemoModel[] = LUCIDA_SOURCE_DIR "/resources/demo/model/demo-smallcnn.pth";

// `lucida-cli analyse` with `extra` options; its stderr in `log`. True when it exited 0.
inline bool analyse(const QString& slide, const QString& out, const QStringList& extra,
                    QString* log) {
    QProcess p;
    p.start(QStringLiteral(LUCIDA_CLI), QStringList{"analyse", slide, "--model", kDemoModel,
                                                    "--out", out, "--results", slide + ".lucida"} +
                                            extra);
    const bool finished = p.waitForFinished(180000);
    *log = QString::fromLocal8Bit(p.readAllStandardError());
    return finished && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

inline QJsonObject readJson(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

inline bool openDemoModel(ui::MainWindow& window) {
    QSignalSpy opened(&window, &ui::MainWindow::modelOpened);
    window.openModel(kDemoModel);
    return opened.wait(60000);
}

inline ui::SlideView* openSlide(ui::MainWindow& window, const QString& path) {
    QSignalSpy opened(&window, &ui::MainWindow::documentOpened);
    window.openPath(path);
    if (!opened.wait(20000)) return nullptr;
    return opened.takeFirst().at(0).value<ui::SlideView*>();
}

// A 2048 × 2048 demo slide (0.5 µm/px, the demo model's scale) in `dir`: its path.
inline QString writeDemoSlide2048(const QTemporaryDir& dir) {
    demo::DemoSlideOptions options;
    options.width = 2048;
    options.height = 2048;
    const QString slide = dir.filePath("demo.tiff");
    demo::writeDemoSlide(slide.toStdString(), dir.filePath("mask.png").toStdString(), options);
    return slide;
}

}  // namespace lucida::test
