// Bookmarks and presentation mode in the real window: a bookmark outlives the window (the app
// restarted) and brings back the view exactly; presentation mode hides everything but the image
// and steps through the bookmarks with Page Down/Up and the arrows, ending exactly at each.
#include "AnnotationDocument.h"
#include "BookmarkMover.h"
#include "BookmarksDock.h"
#include "MainWindow.h"
#include "ModelSession.h"
#include "PresentationLayer.h"
#include "PresentationMode.h"
#include "Presenter.h"
#include "ResultsLocation.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewAnnotations.h"
#include "ViewBookmarks.h"
#include "fixtures/Fixtures.h"

#include <QAction>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QToolBar>
#include <QToolButton>
#include <QtTest>

using namespace lucida;
using namespace lucida::ui;

namespace {

QString fixture(const char* relative) { return QString::fromStdString(fixtures::path(relative)); }

bool copyFolder(const QString& from, const QString& to) {
    if (!QDir().mkpath(to)) return false;
    for (const QString& name : QDir(from).entryList(QDir::Files))
        if (!QFile::copy(from + "/" + name, to + "/" + name)) return false;
    return true;
}

}  // namespace

class BookmarksUiTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<TileService> tiles_;
    std::unique_ptr<MainWindow> window_;

    void startWindow() {
        tiles_ = std::make_unique<TileService>(std::size_t{256} << 20, 2);
        window_ = std::make_unique<MainWindow>(tiles_.get());
        window_->resize(1200, 800);
        window_->show();
        QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    }
    void stopWindow() {
        window_.reset();
        tiles_.reset();
    }
    SlideView* openAndWait(const QString& path) {
        QSignalSpy opened(window_.get(), &MainWindow::documentOpened);
        window_->openPath(path);
        if (!opened.wait(20000)) return nullptr;
        return opened.takeFirst().at(0).value<SlideView*>();
    }
    Presenter* presenter() const { return window_->findChild<Presenter*>(); }
    static void waitArrived(Presenter* p) {
        QTRY_VERIFY_WITH_TIMEOUT(!p->mover()->isMoving(), 5000);
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("bookmarks_test");
        QSettings().clear();
        saveResultsPlace(ResultsPlace::BesideImage);  // the sidecar lands in the test's folder
        qRegisterMetaType<SlideView*>("SlideView*");
    }
    void cleanup() { stopWindow(); }

    // Saved with the image, read by a new window: centre, zoom, rotation, slice, grey window and
    // the heat settings come back exactly.
    void bookmarkOutlivesTheWindow() {
        QTemporaryDir dir;
        const QString series = dir.filePath("series");
        QVERIFY(copyFolder(fixture("dicom/series"), series));
        startWindow();
        SlideView* view = openAndWait(series);
        QVERIFY(view);
        QVERIFY(view->document()->info().sliceCount >= 4);
        QVERIFY(presenter());
        view->rotateClockwise();
        const double scale = view->viewGeometry().scale * 1.37;
        view->setScale(scale);
        view->setCentre(20.25, 41.5);
        view->document()->setSlice(3);
        view->document()->setWindow(55.5, 321.0);
        auto* session = window_->findChild<ModelSession*>();
        if (session) session->setOpacity(0.8);
        QAction* add = window_->findChild<QAction*>("addBookmarkAction");
        QVERIFY(add);
        QCOMPARE(add->shortcut(), QKeySequence("Ctrl+B"));
        add->trigger();
        ViewBookmarks* bookmarks = ViewBookmarks::of(view);
        QVERIFY(bookmarks);
        QCOMPARE(bookmarks->count(), 1);
        bookmarks->rename(0, "  Left lobe  ");
        const QString sidecar = bookmarks->path();
        QVERIFY2(sidecar.startsWith(dir.path()), qPrintable(sidecar));  // beside the image
        QVERIFY(QFileInfo::exists(sidecar));
        QVERIFY(bookmarks->saveError().isEmpty());

        stopWindow();   // the app quits …
        startWindow();  // … and starts again
        view = openAndWait(series);
        QVERIFY(view);
        bookmarks = ViewBookmarks::of(view);
        QVERIFY(bookmarks && bookmarks->loadError().isEmpty());
        QCOMPARE(bookmarks->count(), 1);
        QCOMPARE(QString::fromStdString(bookmarks->items()[0].name), QString("Left lobe"));
        auto* dock = window_->findChild<BookmarksDock*>("bookmarksDock");
        QVERIFY(dock);
        QCOMPARE(dock->list()->count(), 1);
        QCOMPARE(dock->list()->item(0)->text(), QString("Left lobe"));
        QCOMPARE(view->viewGeometry().quarterTurns, 0);
        QCOMPARE(view->document()->slice(), 0);
        session = window_->findChild<ModelSession*>();
        if (session) session->setOpacity(0.3);

        // Double-click in the dock: the view moves there.
        QListWidget* list = dock->list();
        dock->show();
        dock->raise();
        QTRY_VERIFY(list->isVisible());
        const QPoint at = list->visualItemRect(list->item(0)).center();
        QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, at);
        QTest::mouseDClick(list->viewport(), Qt::LeftButton, {}, at);
        waitArrived(presenter());
        const ViewGeometry& g = view->viewGeometry();
        QCOMPARE(g.centreX, 20.25);
        QCOMPARE(g.centreY, 41.5);
        QCOMPARE(g.scale, scale);
        QCOMPARE(g.quarterTurns, 1);
        QCOMPARE(view->document()->slice(), 3);
        QCOMPARE(view->document()->window().centre, 55.5);
        QCOMPARE(view->document()->window().width, 321.0);
        if (session) QCOMPARE(session->opacity(), 0.8);
    }

    // F5: only the image (docks, toolbars, menus and tabs hidden), full screen; Page Down, Right
    // and Page Up step through three bookmarks, each move animated and ending exactly there; the
    // slice actions do not fire; Esc brings the window back as it was.
    void presentationStepsThroughBookmarks() {
        QTemporaryDir dir;
        const QString slide = dir.filePath("generic.tif");
        QVERIFY(QFile::copy(fixture("slides/generic.tif"), slide));
        startWindow();
        SlideView* view = openAndWait(slide);
        QVERIFY(view);
        ViewBookmarks* bookmarks = ViewBookmarks::of(view);
        QVERIFY(bookmarks);
        const std::vector<Bookmark> marks = [] {
            Bookmark a, b, c;
            a.name = "Overview";
            a.centreX = 1500, a.centreY = 1000, a.scale = 0.2;
            b.name = "Gland";
            b.centreX = 712.5, b.centreY = 433.25, b.scale = 1.25, b.quarterTurns = 1;
            c.name = "Margin";
            c.centreX = 2501.75, c.centreY = 1620.5, c.scale = 0.5;
            return std::vector<Bookmark>{a, b, c};
        }();
        for (const Bookmark& m : marks) bookmarks->add(m);
        auto* annotations = window_->findChild<QDockWidget*>("annotationsDock");
        QVERIFY(annotations && !annotations->isHidden());
        QSignalSpy nextSlice(window_->findChild<QAction*>("nextSliceAction"), &QAction::triggered);
        QSignalSpy previousSlice(window_->findChild<QAction*>("previousSliceAction"),
                                 &QAction::triggered);

        QAction* present = window_->findChild<QAction*>("presentAction");
        QVERIFY(present);
        QCOMPARE(present->shortcut(), QKeySequence(Qt::Key_F5));
        present->trigger();
        PresentationMode* mode = presenter()->presentation();
        QVERIFY(mode->isActive());
        QTRY_VERIFY(window_->isFullScreen());
        QVERIFY(!window_->menuBar()->isVisible());
        for (QDockWidget* d : window_->findChildren<QDockWidget*>()) QVERIFY(!d->isVisible());
        for (QToolBar* t : window_->findChildren<QToolBar*>()) QVERIFY(!t->isVisible());
        QVERIFY(!view->renderer().scaleBarLayer().isVisible());  // the large one instead
        const auto layers = view->renderer().layers();
        QVERIFY(std::find(layers.begin(), layers.end(), mode->layer()) != layers.end());

        const auto expectAt = [&](int i) {
            QCOMPARE(mode->index(), i);
            waitArrived(presenter());
            const ViewGeometry& g = view->viewGeometry();
            QCOMPARE(g.centreX, marks[i].centreX);
            QCOMPARE(g.centreY, marks[i].centreY);
            QCOMPARE(g.scale, marks[i].scale);
            QCOMPARE(g.quarterTurns, marks[i].quarterTurns);
            QVERIFY(mode->layer()->caption().startsWith(QString::fromStdString(marks[i].name)));
        };
        view->setFocus();
        QTest::keyClick(view, Qt::Key_PageDown);
        expectAt(0);
        // The second move is animated: half-way the zoom is between the two.
        QTest::keyClick(view, Qt::Key_Right);
        QVERIFY(presenter()->mover()->isMoving());
        QTest::qWait(250);
        const double midway = view->viewGeometry().scale;
        QVERIFY2(midway > marks[0].scale && midway < marks[1].scale,
                 qPrintable(QString::number(midway)));
        expectAt(1);
        QTest::keyClick(view, Qt::Key_PageDown);
        expectAt(2);
        QTest::keyClick(view, Qt::Key_PageDown);  // the last stays
        expectAt(2);
        QTest::keyClick(view, Qt::Key_PageUp);
        expectAt(1);
        QCOMPARE(nextSlice.count(), 0);
        QCOMPARE(previousSlice.count(), 0);

        QTest::keyClick(view, Qt::Key_Escape);
        QVERIFY(!mode->isActive());
        QTRY_VERIFY(!window_->isFullScreen());
        QVERIFY(window_->menuBar()->isVisible());
        QTRY_VERIFY(!annotations->isHidden());
        QVERIFY(view->renderer().scaleBarLayer().isVisible());
        const auto after = view->renderer().layers();
        QVERIFY(std::find(after.begin(), after.end(), mode->layer()) == after.end());
        QTest::keyClick(view, Qt::Key_PageDown);  // the slice action has its key back
        QCOMPARE(nextSlice.count(), 1);
    }

    // Delete in the dock, Ctrl+Z in the dock: the bookmark is back at its place and the sidecar
    // is byte for byte what it was. Move Up reorders the sidecar and the presentation.
    void deleteIsUndoneAndMoveUpReorders() {
        QTemporaryDir dir;
        const QString slide = dir.filePath("generic.tif");
        QVERIFY(QFile::copy(fixture("slides/generic.tif"), slide));
        startWindow();
        SlideView* view = openAndWait(slide);
        QVERIFY(view);
        ViewBookmarks* bookmarks = ViewBookmarks::of(view);
        QVERIFY(bookmarks);
        for (const char* name : {"Alpha", "Beta", "Gamma"}) {
            Bookmark b;
            b.name = name;
            b.centreX = 500 + 700 * bookmarks->count();
            b.centreY = 400.5;
            b.scale = 0.25 * (bookmarks->count() + 1);
            bookmarks->add(b);
        }
        auto readSidecar = [&] {
            QFile f(bookmarks->path());
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        };
        const QByteArray before = readSidecar();
        QVERIFY(before.contains("Beta"));
        auto* dock = window_->findChild<BookmarksDock*>("bookmarksDock");
        QVERIFY(dock);
        dock->show();
        dock->raise();
        QListWidget* list = dock->list();
        QTRY_VERIFY(list->isVisible());
        list->setCurrentRow(1);
        auto* remove = dock->findChild<QToolButton*>("deleteBookmarkButton");
        QVERIFY(remove);
        QTest::mouseClick(remove, Qt::LeftButton);
        QCOMPARE(bookmarks->count(), 2);
        QVERIFY(!readSidecar().contains("Beta"));
        window_->activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(window_.get()));
        list->setFocus();
        QTRY_VERIFY(list->hasFocus());
        QTest::keyClick(list, Qt::Key_Z, Qt::ControlModifier);
        QCOMPARE(bookmarks->count(), 3);
        QCOMPARE(QString::fromStdString(bookmarks->items()[1].name), QString("Beta"));
        QCOMPARE(readSidecar(), before);
        QCOMPARE(list->item(1)->text().section(' ', 0, 0), QString("Beta"));

        // Move Up: Gamma before Beta in the dock, the file and the presentation.
        list->setCurrentRow(2);
        auto* up = dock->findChild<QToolButton*>("bookmarkUpButton");
        QVERIFY(up);
        QTest::mouseClick(up, Qt::LeftButton);
        QCOMPARE(QString::fromStdString(bookmarks->items()[1].name), QString("Gamma"));
        const QByteArray moved = readSidecar();
        QVERIFY(moved.indexOf("Gamma") >= 0 && moved.indexOf("Gamma") < moved.indexOf("Beta"));
        window_->findChild<QAction*>("presentAction")->trigger();
        PresentationMode* mode = presenter()->presentation();
        QVERIFY(mode->isActive());
        view->setFocus();
        for (const char* expected : {"Alpha", "Gamma", "Beta"}) {
            QTest::keyClick(view, Qt::Key_PageDown);
            waitArrived(presenter());
            QVERIFY2(mode->layer()->caption().startsWith(expected),
                     qPrintable(mode->layer()->caption()));
        }
        QTest::keyClick(view, Qt::Key_Escape);
        QVERIFY(!mode->isActive());
    }

    // Edit ▸ Undo / Redo (the menu's own actions) undo a bookmark deletion and redo it; an
    // annotation edit after that makes the same Undo act on the annotation.
    void editMenuUndoesBookmarksThenAnnotations() {
        QTemporaryDir dir;
        const QString slide = dir.filePath("generic.tif");
        QVERIFY(QFile::copy(fixture("slides/generic.tif"), slide));
        startWindow();
        SlideView* view = openAndWait(slide);
        QVERIFY(view);
        ViewBookmarks* bookmarks = ViewBookmarks::of(view);
        QVERIFY(bookmarks);
        for (const char* name : {"Alpha", "Beta"}) {
            Bookmark b;
            b.name = name;
            b.centreX = 300.25 + 900 * bookmarks->count();
            b.centreY = 410.5;
            b.scale = 0.375 * (bookmarks->count() + 1);
            b.quarterTurns = 1;
            bookmarks->add(b);
        }
        const Bookmark beta = bookmarks->items()[1];
        QAction* undo = nullptr;
        QAction* redo = nullptr;
        for (QAction* menuAction : window_->menuBar()->actions()) {
            if (menuAction->text() != "&Edit" || !menuAction->menu()) continue;
            for (QAction* a : menuAction->menu()->actions()) {
                if (a->objectName() == "editUndoAction") undo = a;
                if (a->objectName() == "editRedoAction") redo = a;
            }
        }
        QVERIFY(undo && redo);
        QVERIFY(!undo->isEnabled());  // nothing done yet
        auto* dock = window_->findChild<BookmarksDock*>("bookmarksDock");
        QVERIFY(dock);
        dock->show();
        dock->raise();
        dock->list()->setCurrentRow(1);
        dock->removeCurrent();
        QCOMPARE(bookmarks->count(), 1);
        QVERIFY(undo->isEnabled());
        QVERIFY2(undo->text().contains("Delete Bookmark"), qPrintable(undo->text()));
        undo->trigger();
        QCOMPARE(bookmarks->count(), 2);
        QVERIFY(bookmarks->items()[1] == beta);  // name and view exactly
        QVERIFY(redo->isEnabled());
        redo->trigger();
        QCOMPARE(bookmarks->count(), 1);
        QCOMPARE(QString::fromStdString(bookmarks->items()[0].name), QString("Alpha"));

        ViewAnnotations* annotations = ViewAnnotations::of(view);
        QVERIFY(annotations);
        AnnotationDocument* doc = annotations->document();
        const std::size_t before = doc->items().size();
        Annotation a;
        a.tool = "point";
        a.geometry.type = Geometry::Type::Point;
        a.geometry.points = {{120.5, 80.25}};
        doc->add(a);
        QCOMPARE(doc->items().size(), before + 1);
        QVERIFY2(undo->text().contains("Add annotation"), qPrintable(undo->text()));
        undo->trigger();
        QCOMPARE(doc->items().size(), before);
        QCOMPARE(bookmarks->count(), 1);  // the bookmarks untouched
        redo->trigger();
        QCOMPARE(doc->items().size(), before + 1);
        QCOMPARE(bookmarks->count(), 1);
    }
};

QTEST_MAIN(BookmarksUiTest)
#include "bookmarks_test.moc"
