// A model opened without a sidecar: the Analysis panel says what was assumed, and Describe…
// writes a sidecar from a dialog; the model is opened again with it (classes, scale), the old
// sidecar is kept as .bak, and a bad value is refused naming the field with nothing written.
#include "AnalysisController.h"
#include "AnalysisPanel.h"
#include "MainWindow.h"
#include "ModelDescriptionDialog.h"
#include "TileService.h"
#include "model/Model.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimer>
#include <QToolButton>
#include <QtTest>

using namespace lucida;
using namespace lucida::ui;

namespace {

QString referenceDir() { return qEnvironmentVariable("LUCIDA_REFERENCE_DIR"); }

QJsonObject readJson(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) return {};
    return QJsonDocument::fromJson(file.readAll()).object();
}

bool openModel(MainWindow* window, const QString& path) {
    QSignalSpy opened(window, &MainWindow::modelOpened);
    window->openModel(path);
    return opened.wait(60000);
}

}  // namespace

class ModelDescriptionTest : public QObject {
    Q_OBJECT
    std::unique_ptr<QTemporaryDir> tmp_;
    std::unique_ptr<TileService> tiles_;

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LucidaTest");
        QCoreApplication::setApplicationName("model_description_test");
        QSettings().clear();
        QSettings().setValue("analysis/live", false);
        tmp_ = std::make_unique<QTemporaryDir>();
        QVERIFY(tmp_->isValid());
        tiles_ = std::make_unique<TileService>(std::size_t{64} << 20, 2);
    }

    void assumptionsShownAndDescriptionSaved() {
        // The reference small CNN (one logit) with no sidecar.
        const QString model = tmp_->filePath("cnn.pt");
        QVERIFY(QFile::copy(referenceDir() + "/smallcnn.traced.pt", model));
        const QString sidecar = tmp_->filePath("cnn.json");
        QVERIFY(!QFile::exists(sidecar));

        MainWindow window(tiles_.get());
        window.resize(1400, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(openModel(&window, model));
        AnalysisPanel* panel = window.analysisPanel();
        QString panelText;
        for (QLabel* l : panel->findChildren<QLabel*>()) panelText += l->text() + "\n";
        QVERIFY2(panelText.contains("Assumed:"), qPrintable(panelText));
        QVERIFY2(panelText.contains("sigmoid binary model"), qPrintable(panelText));
        QVERIFY2(panelText.contains("ImageNet"), qPrintable(panelText));
        QCOMPARE(panel->classCombo()->itemText(1), QString("positive"));

        auto* describe = panel->findChild<QToolButton*>("describeModelButton");
        QVERIFY(describe && describe->isEnabled());
        bool filled = false;
        QTimer::singleShot(200, this, [&filled] {
            auto* dialog = qobject_cast<ModelDescriptionDialog*>(QApplication::activeModalWidget());
            if (!dialog) return;
            // It lists the assumptions too.
            auto* assumed = dialog->findChild<QLabel*>("assumptionsLabel");
            if (!assumed || !assumed->text().contains("sigmoid")) return;
            dialog->classesEdit()->setText("normal, tumour");
            dialog->scaleCombo()->setCurrentIndex(1);  // µm per pixel
            dialog->scaleValue()->setValue(0.5);
            dialog->findChild<QSpinBox*>("inputWidth")->setValue(128);
            dialog->findChild<QSpinBox*>("inputHeight")->setValue(128);
            filled = true;
            if (qEnvironmentVariableIsSet("LUCIDA_SCREENSHOT_DIR"))  // for docs/
                dialog->grab().save(qEnvironmentVariable("LUCIDA_SCREENSHOT_DIR") +
                                    "/model-description.png");
            dialog->accept();
        });
        QSignalSpy reopened(&window, &MainWindow::modelOpened);
        describe->click();
        QVERIFY(filled);
        QVERIFY(reopened.wait(60000));

        const QJsonObject j = readJson(sidecar);
        QCOMPARE(j["classes"].toArray(), QJsonArray({"normal", "tumour"}));
        QCOMPARE(j["microns_per_pixel"].toDouble(), 0.5);
        QCOMPARE(j["output"].toString(), QString("sigmoid"));
        QCOMPARE(j["input_size"].toArray(), QJsonArray({128, 128}));
        QCOMPARE(panel->classCombo()->count(), 2);
        QCOMPARE(panel->classCombo()->itemText(1), QString("tumour"));
        panelText.clear();
        for (QLabel* l : panel->findChildren<QLabel*>()) panelText += l->text() + "\n";
        QVERIFY2(!panelText.contains("Assumed:"), qPrintable(panelText));
        QVERIFY2(panelText.contains("0.5 µm/px"), qPrintable(panelText));

        // A bad value: refused naming the field; the sidecar stays as it was, no backup made.
        const auto opened = std::shared_ptr<const Model>(Model::open(model.toStdString()));
        ModelDescriptionDialog dialog(opened);
        QCOMPARE(dialog.classesEdit()->text(), QString("normal, tumour"));
        dialog.findChild<QLineEdit*>("stdEdit")->setText("0.2, 0, 0.2");
        const QByteArray before = [&] {
            QFile f(sidecar);
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        }();
        const QString error = dialog.save();
        QVERIFY2(error.contains("std"), qPrintable(error));
        QFile after(sidecar);
        QVERIFY(after.open(QIODevice::ReadOnly));
        QCOMPARE(after.readAll(), before);
        QVERIFY(!QFile::exists(sidecar + ".bak"));
        QVERIFY(!QFile::exists(sidecar + ".check"));

        // A good edit keeps the previous sidecar as .bak.
        dialog.findChild<QLineEdit*>("stdEdit")->setText("0.229, 0.224, 0.225");
        dialog.classesEdit()->setText("benign, malignant");
        QCOMPARE(dialog.save(), QString());
        QCOMPARE(readJson(sidecar + ".bak")["classes"].toArray(), QJsonArray({"normal", "tumour"}));
        QCOMPARE(readJson(sidecar)["classes"].toArray(), QJsonArray({"benign", "malignant"}));
    }
};

QTEST_MAIN(ModelDescriptionTest)
#include "model_description_test.moc"
