// The Project dock's background queue against analysing the same images one by one in the same
// process (modelEngine().analyseSlide in a loop, model opened once): the queue's own cost (its
// thread, progress, status rescans after each image), on fresh results folders each time.
//   QT_QPA_PLATFORM=offscreen bench/project_queue_bench SLIDES_FOLDER MODEL
#include "AnalysisController.h"
#include "ModelSession.h"
#include "ProjectDock.h"
#include "engine/ModelEngine.h"
#include "image/ImageSource.h"
#include "model/Model.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>

#include <cstdio>

using namespace lucida;
using namespace lucida::ui;

namespace {
double oneByOne(const QStringList& slides, const Model& model, const QString& root,
                std::size_t* patches) {
    QElapsedTimer t;
    t.start();
    *patches = 0;
    for (const QString& slide : slides) {
        const auto source = openImage(slide.toStdString());
        AnalysisSettings settings;
        *patches += modelEngine()
                        .analyseSlide(*source, model, settings, root.toStdString(), {})
                        .doneCount();
    }
    return t.elapsed() / 1000.0;
}

bool waitFor(QObject* sender, const char* signal) {
    QEventLoop loop;
    QObject::connect(sender, signal, &loop, SLOT(quit()));
    loop.exec();
    return true;
}
}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QCoreApplication::setOrganizationName("LucidaBench");
    QCoreApplication::setApplicationName("project_queue_bench");
    QSettings().clear();
    QSettings().setValue("analysis/live", false);
    if (argc != 3) {
        std::fprintf(stderr, "usage: project_queue_bench SLIDES_FOLDER MODEL\n");
        return 2;
    }
    const QDir folder(argv[1]);
    QStringList slides;
    for (const QString& name : folder.entryList({"*.tiff", "*.svs"}, QDir::Files, QDir::Name))
        slides << folder.filePath(name);
    QTemporaryDir tmp;
    ModelSession session(&AnalysisController::openModelAsync);
    {
        QSignalSpy opened(&session, &ModelSession::modelOpened);
        session.open(argv[2]);
        if (!opened.wait(120000)) return 1;
    }
    const Model& model = *session.model();
    std::size_t patches = 0;
    oneByOne({slides.first()}, model, tmp.filePath("warm"), &patches);  // plugin, pools warm
    const double direct1 = oneByOne(slides, model, tmp.filePath("direct1"), &patches);

    ProjectDock dock(&session);
    dock.createProject(argv[1], tmp.filePath("bench.lucida-project.json"));
    if (dock.pendingScans() > 0) waitFor(&dock, SIGNAL(scansFinished()));
    QElapsedTimer t;
    t.start();
    dock.analyseAll();
    waitFor(&dock, SIGNAL(queueFinished(bool)));
    const double queued = t.elapsed() / 1000.0;
    if (dock.pendingScans() > 0) waitFor(&dock, SIGNAL(scansFinished()));
    const double withScans = t.elapsed() / 1000.0;

    const double direct2 = oneByOne(slides, model, tmp.filePath("direct2"), &patches);
    const double direct = (direct1 + direct2) / 2;
    std::printf("%lld images, %zu patches\n", static_cast<long long>(slides.size()), patches);
    std::printf("one by one: %.2f s, %.2f s (mean %.2f s, %.1f patches/s)\n", direct1, direct2,
                direct, patches / direct);
    std::printf(
        "queue: %.2f s (%+.1f %%); with the status rescans after each image: %.2f s "
        "(%+.1f %%)\n",
        queued, 100 * (queued / direct - 1), withScans, 100 * (withScans / direct - 1));
    return 0;
}
