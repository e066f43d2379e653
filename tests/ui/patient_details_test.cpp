// View ▸ Patient Details: a DICOM view paints the patient's name, ID and birth date in its
// top-left corner only when it is on; off by default; the choice is kept across restarts.
#include "MainWindow.h"
#include "SlideView.h"
#include "TileService.h"
#include "ViewWaits.h"
#include "fixtures/Fixtures.h"

#include <QAction>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QtTest>

using namespace lucida;
using namespace lucida::ui;

namespace {

// Pixels of the overlay text's yellow (240, 240, 160) in `area`: a grey CT image has none.
int yellowPixels(const QImage& image, const QRect& area) {
    int count = 0;
    for (int y = area.top(); y <= area.bottom(); ++y)
        for (int x = area.left(); x <= area.right(); ++x) {
            const QRgb p = image.pixel(x, y);
            if (qRed(p) > 150 && qGreen(p) > 150 && qRed(p) - qBlue(p) > 40) ++count;
        }
    return count;
}

}  // namespace

class PatientDetailsTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<TileService> tiles_;

    std::unique_ptr<MainWindow> newWindow() {
        auto window = std::make_unique<MainWindow>(tiles_.get());
        window->resize(1000, 700);
        window->show();
        return window;
    }
    static SlideView* openAndWait(MainWindow* window, const QString& path) {
        QSignalSpy opened(window, &MainWindow::documentOpened);
        window->openPath(path);
        if (!opened.wait(20000)) return nullptr;
        auto* view = opened.takeFirst().at(0).value<SlideView*>();
        return viewtest::waitLoaded(view) ? view : nullptr;
    }
    static QAction* patientAction(MainWindow* window) {
        return window->findChild<QAction*>("patientDetailsAction");
    }
    // The corners' text in the view's own pixels: left (patient), right (study).
    static std::pair<int, int> cornerText(SlideView* view) {
        const QImage shot = view->grab().toImage();
        const int w = shot.width();
        return {yellowPixels(shot, QRect(0, 0, w / 3, 70)),
                yellowPixels(shot, QRect(w - w / 3, 0, w / 3, 70))};
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("patient_details_test");
        QSettings().clear();
        qRegisterMetaType<SlideView*>("SlideView*");
        tiles_ = std::make_unique<TileService>(std::size_t{128} << 20, 2);
    }
    void cleanupTestCase() { tiles_.reset(); }

    void togglesTheCornerTextAndPersists() {
        const QString dicom = QString::fromStdString(fixtures::path("dicom/CT_small.dcm"));
        {
            auto window = newWindow();
            QAction* action = patientAction(window.get());
            QVERIFY(action && action->isCheckable());
            QVERIFY2(!action->isChecked(), "patient details must be off by default");
            SlideView* view = openAndWait(window.get(), dicom);
            QVERIFY(view);
            QVERIFY(!view->patientDetailsShown());
            const auto [hiddenLeft, hiddenRight] = cornerText(view);
            QCOMPARE(hiddenLeft, 0);
            QVERIFY2(hiddenRight > 50, "the study text stays without patient details");

            action->trigger();
            QVERIFY(view->patientDetailsShown());
            QVERIFY(viewtest::waitLoaded(view));
            const auto [shownLeft, shownRight] = cornerText(view);
            QVERIFY2(shownLeft > 50, qPrintable(QString::number(shownLeft)));
            QCOMPARE(shownRight, hiddenRight);
            QCOMPARE(QSettings().value("viewer/showPatientDetails").toBool(), true);
        }
        {  // "Restarted": a new window and view follow the kept choice.
            auto window = newWindow();
            QVERIFY(patientAction(window.get())->isChecked());
            SlideView* view = openAndWait(window.get(), dicom);
            QVERIFY(view && view->patientDetailsShown());
            QVERIFY(cornerText(view).first > 50);
            patientAction(window.get())->trigger();  // off again, at once
            QVERIFY(viewtest::waitLoaded(view));
            QCOMPARE(cornerText(view).first, 0);
            QCOMPARE(QSettings().value("viewer/showPatientDetails").toBool(), false);
        }
    }
};

QTEST_MAIN(PatientDetailsTest)
#include "patient_details_test.moc"
