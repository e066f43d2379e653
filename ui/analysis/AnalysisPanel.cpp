#include "AnalysisPanel.h"
#include "DurationText.h"

#include "AnalysisController.h"
#include "ImageSettingsNote.h"
#include "ModelSession.h"
#include "RecentFiles.h"
#include "RunSettingCombos.h"
#include "SlideView.h"
#include "cam/CamMethod.h"
#include "model/Model.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSlider>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace lucida::ui {

namespace {

const char* const kColourMapNames[] = {"jet", "viridis", "turbo", "inferno", "grey"};

QSlider* percentSlider(int value, QWidget* parent) {
    auto* slider = new QSlider(Qt::Horizontal, parent);
    slider->setRange(0, 100);
    slider->setPageStep(10);
    slider->setValue(std::clamp(value, 0, 100));
    return slider;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

ColourBar::ColourBar(QWidget* parent) : QWidget(parent) {
    setColourMap(ColourMap::Jet);
    setMinimumHeight(sizeHint().height());
}

void ColourBar::setColourMap(ColourMap colours) {
    FloatTensor ramp({1, 256});
    for (int i = 0; i < 256; ++i) ramp.data[static_cast<std::size_t>(i)] = i / 255.0f;
    const PixelBuffer rgba = colouriseMap(ramp, colours);
    bar_ = QImage(256, 1, QImage::Format_RGB32);
    for (int i = 0; i < 256; ++i) {
        const std::uint8_t* p = rgba.rgbaAt(i, 0);
        bar_.setPixel(i, 0, qRgb(p[0], p[1], p[2]));
    }
    update();
}

void ColourBar::setScale(const QString& title, bool showRaw, float rawLow, float rawHigh) {
    title_ = title;
    showRaw_ = showRaw;
    rawLow_ = rawLow;
    rawHigh_ = rawHigh;
    update();
}

void ColourBar::setThreshold(double threshold) {
    threshold_ = threshold;
    update();
}

QString ColourBar::rawRangeText() const {
    if (!showRaw_) return {};
    QString text = tr("raw CAM %1 … %2").arg(rawLow_, 0, 'g', 4).arg(rawHigh_, 0, 'g', 4);
    if (!note_.isEmpty()) text += QLatin1Char('\n') + note_;  // drawn on a line of its own
    return text;
}

void ColourBar::setNote(const QString& note) {
    note_ = note;
    update();
}

QSize ColourBar::sizeHint() const {
    const int line = fontMetrics().height();
    return {220, 4 * line + 22};  // title, bar labels, raw range, note
}

void ColourBar::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    const QFontMetrics fm = fontMetrics();
    const int line = fm.height();
    const int margin = fm.horizontalAdvance("0.00") / 2 + 2;
    painter.setPen(palette().color(QPalette::WindowText));
    painter.drawText(QRect(0, 0, width(), line), Qt::AlignLeft | Qt::AlignVCenter, title_);
    const QRectF bar(margin, line + 2, width() - 2 * margin, 14);
    painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
    painter.drawImage(bar, bar_);
    if (threshold_ > 0) {  // below the threshold nothing is drawn on the slide
        painter.fillRect(QRectF(bar.left(), bar.top(), bar.width() * threshold_, bar.height()),
                         QColor(128, 128, 128, 200));
    }
    painter.setPen(palette().color(QPalette::Mid));
    painter.drawRect(bar.adjusted(-0.5, -0.5, 0.5, 0.5));
    painter.setPen(palette().color(QPalette::WindowText));
    for (int i = 0; i <= 4; ++i) {
        const double v = i / 4.0;
        const double x = bar.left() + v * bar.width();
        painter.drawLine(QPointF(x, bar.bottom()), QPointF(x, bar.bottom() + 3));
        const QString label = QString::number(v, 'g', 3);
        const int w = fm.horizontalAdvance(label);
        painter.drawText(QRectF(x - w / 2.0 - 1, bar.bottom() + 3, w + 2, line), Qt::AlignCenter,
                         label);
    }
    if (showRaw_)
        painter.drawText(QRect(0, int(bar.bottom()) + 3 + line, width(), 2 * line),
                         Qt::AlignLeft | Qt::AlignTop, rawRangeText());
}

// ---------------------------------------------------------------------------------------------

AnalysisHistogram::AnalysisHistogram(QWidget* parent) : QWidget(parent) { setMinimumHeight(80); }

void AnalysisHistogram::setBins(std::vector<int> bins) {
    bins_ = std::move(bins);
    update();
}

QSize AnalysisHistogram::sizeHint() const { return {220, 96}; }

void AnalysisHistogram::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    const QFontMetrics fm = fontMetrics();
    const int line = fm.height();
    const QRectF plot(4, 4, width() - 8, height() - line - 10);
    painter.fillRect(plot, palette().color(QPalette::Base));
    const int peak = bins_.empty() ? 0 : *std::max_element(bins_.begin(), bins_.end());
    if (peak > 0) {
        const double w = plot.width() / double(bins_.size());
        for (std::size_t i = 0; i < bins_.size(); ++i) {
            const double h = plot.height() * bins_[i] / double(peak);
            const double centre = (i + 0.5) / double(bins_.size());
            const QColor colour = centre >= 0.5 ? QColor(214, 64, 52) : QColor(70, 120, 200);
            painter.fillRect(QRectF(plot.left() + i * w + 0.5, plot.bottom() - h, w - 1, h),
                             colour);
        }
        painter.setPen(palette().color(QPalette::WindowText));
        painter.drawText(plot.adjusted(2, 1, -2, 0), Qt::AlignRight | Qt::AlignTop,
                         tr("max %1").arg(peak));
    }
    painter.setPen(QPen(palette().color(QPalette::WindowText), 1, Qt::DashLine));
    const double half = plot.left() + plot.width() / 2;
    painter.drawLine(QPointF(half, plot.top()), QPointF(half, plot.bottom()));
    painter.setPen(palette().color(QPalette::WindowText));
    painter.drawLine(plot.bottomLeft(), plot.bottomRight());
    const QRectF axis(plot.left(), plot.bottom() + 2, plot.width(), line);
    painter.drawText(axis, Qt::AlignLeft | Qt::AlignTop, "0");
    painter.drawText(axis, Qt::AlignHCenter | Qt::AlignTop, "0.5");
    painter.drawText(axis, Qt::AlignRight | Qt::AlignTop, "1");
}

// ---------------------------------------------------------------------------------------------

namespace {
// The model box shows names of this many characters whole (longer ones are cut).
constexpr int kMinModelNameChars = 10;
constexpr int kMaxModelNameChars = 32;
}  // namespace

AnalysisPanel::AnalysisPanel(ModelSession* session, QWidget* parent)
    : QWidget(parent), session_(session) {
    auto* content = new QWidget;
    auto* layout = new QVBoxLayout(content);

    layout->addWidget(buildModelBox(content));
    layout->addWidget(buildRunBox(content));
    layout->addWidget(buildDisplayBox(content));
    layout->addWidget(buildSummaryBox(content), 1);

    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setMinimumWidth(content->minimumSizeHint().width() +
                    scroll->verticalScrollBar()->sizeHint().width() + 4);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(content);
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->addWidget(scroll);

    showAnalysisSettings();
    showDisplay();
    showModel();
    connectWidgets();
    connect(session_, &ModelSession::modelChanged, this, &AnalysisPanel::showModel);
    connect(session_->recentModels(), &RecentFiles::changed, this,
            &AnalysisPanel::showRecentModels);
    connect(session_, &ModelSession::analysisChanged, this, &AnalysisPanel::showAnalysisSettings);
    connect(session_, &ModelSession::displayChanged, this, &AnalysisPanel::showDisplay);
    updateState();
    updateProgress();
    updateResults();
}

// Model, method, class, input and overlap.
QWidget* AnalysisPanel::buildModelBox(QWidget* parent) {
    auto* modelBox = new QGroupBox(tr("Model"), parent);
    auto* modelForm = new QFormLayout(modelBox);
    modelCombo_ = new QComboBox(modelBox);
    modelCombo_->setObjectName("modelCombo");
    modelCombo_->setPlaceholderText(tr("No model"));
    modelCombo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    modelCombo_->setMinimumContentsLength(kMinModelNameChars);
    openModelButton_ = new QToolButton(modelBox);
    openModelButton_->setText(tr("Open Model…"));
    openModelButton_->setToolTip(tr("Open a TorchScript or ResNet model (Ctrl+M)"));
    // The box on a row of its own, the whole width: model names are not cut.
    modelForm->addRow(modelCombo_);
    auto* modelRow = new QHBoxLayout;
    modelRow->addWidget(openModelButton_);
    describeButton_ = new QToolButton(modelBox);
    describeButton_->setObjectName("describeModelButton");
    describeButton_->setText(tr("Describe…"));
    describeButton_->setToolTip(
        tr("Classes, input size, normalisation, scale and layer of the model (its sidecar)"));
    describeButton_->setEnabled(false);
    modelRow->addWidget(describeButton_);
    modelRow->addStretch(1);
    modelForm->addRow(modelRow);
    modelLabel_ = new QLabel(tr("No model opened."), modelBox);
    modelLabel_->setWordWrap(true);
    modelForm->addRow(modelLabel_);
    methodCombo_ = new QComboBox(modelBox);
    methodCombo_->setObjectName("methodCombo");
    for (const std::string& m : camMethodNames()) methodCombo_->addItem(QString::fromStdString(m));
    modelForm->addRow(tr("Method:"), methodCombo_);
    eigenSmoothBox_ = new QCheckBox(tr("Eigen"), modelBox);
    eigenSmoothBox_->setObjectName("eigenSmoothBox");
    eigenSmoothBox_->setToolTip(
        tr("The first principal component of the method's channel terms instead of their sum"));
    flipSmoothBox_ = new QCheckBox(tr("Flips (4×)"), modelBox);
    flipSmoothBox_->setObjectName("flipSmoothBox");
    flipSmoothBox_->setToolTip(tr("The mean map of each patch and its three flips"));
    auto* smoothRow = new QHBoxLayout;
    smoothRow->addWidget(eigenSmoothBox_);
    smoothRow->addWidget(flipSmoothBox_);
    smoothRow->addStretch();
    modelForm->addRow(tr("Smoothing:"), smoothRow);
    classCombo_ = new QComboBox(modelBox);
    classCombo_->setObjectName("classCombo");
    classCombo_->setToolTip(tr("The class explained in every patch"));
    modelForm->addRow(tr("Class:"), classCombo_);
    fitCombo_ = makeFitCombo(modelBox);
    modelForm->addRow(tr("Input:"), fitCombo_);
    overlapCombo_ = makeOverlapCombo(modelBox);
    modelForm->addRow(tr("Overlap:"), overlapCombo_);
    modeCombo_ = makeModeCombo(modelBox);
    modelForm->addRow(tr("Mode:"), modeCombo_);
    precisionCombo_ = makePrecisionCombo(modelBox);
    modelForm->addRow(tr("Precision:"), precisionCombo_);
    // Above Method: what a project image's own settings override (disabled below).
    imageNote_ = new ImageSettingsNote(
        {methodCombo_, classCombo_, fitCombo_, overlapCombo_, modeCombo_, precisionCombo_},
        modelBox);
    connect(imageNote_, &ImageSettingsNote::editRequested, this,
            &AnalysisPanel::imageSettingsEditRequested);
    modelForm->insertRow(3, imageNote_);
    return modelBox;
}

// Analyse, Cancel and the progress.
QWidget* AnalysisPanel::buildRunBox(QWidget* parent) {
    auto* runBox = new QGroupBox(tr("Run"), parent);
    auto* runLayout = new QVBoxLayout(runBox);
    auto* buttons = new QHBoxLayout;
    analyseButton_ = new QPushButton(tr("Analyse Slide"), runBox);
    analyseButton_->setObjectName("analyseButton");
    analyseButton_->setToolTip(tr("Run the model over every tissue patch (Ctrl+Shift+A)"));
    cancelButton_ = new QPushButton(tr("Cancel"), runBox);
    cancelButton_->setObjectName("cancelAnalysisButton");
    buttons->addWidget(analyseButton_, 1);
    buttons->addWidget(cancelButton_);
    runLayout->addLayout(buttons);
    progressBar_ = new QProgressBar(runBox);
    progressBar_->setObjectName("analysisProgress");
    progressBar_->setRange(0, 1);
    progressBar_->setValue(0);
    progressBar_->setFormat(QString());
    runLayout->addWidget(progressBar_);
    progressLabel_ = new QLabel(runBox);
    progressLabel_->setWordWrap(true);
    runLayout->addWidget(progressLabel_);
    return runBox;
}

// What heat is shown and how, with the legend.
QWidget* AnalysisPanel::buildDisplayBox(QWidget* parent) {
    auto* displayBox = new QGroupBox(tr("Heatmap"), parent);
    auto* displayForm = new QFormLayout(displayBox);
    layerCombo_ = new QComboBox(displayBox);
    layerCombo_->addItem(tr("CAM"), int(ShownHeat::Cam));
    layerCombo_->addItem(tr("Probability"), int(ShownHeat::Probability));
    displayForm->addRow(tr("Show:"), layerCombo_);
    normalisationCombo_ = new QComboBox(displayBox);
    normalisationCombo_->addItem(tr("slide-wide"), int(CamNormalisation::Slide));
    normalisationCombo_->addItem(tr("per-patch min–max"), int(CamNormalisation::Patch));
    normalisationCombo_->setToolTip(
        tr("slide-wide: one scale for all patches, so heat means the same everywhere"));
    displayForm->addRow(tr("CAM scale:"), normalisationCombo_);
    colourMapCombo_ = new QComboBox(displayBox);
    for (const char* name : kColourMapNames) colourMapCombo_->addItem(QString::fromLatin1(name));
    displayForm->addRow(tr("Colours:"), colourMapCombo_);
    auto sliderRow = [&](QSlider* slider, QLabel*& value) {
        auto* row = new QHBoxLayout;
        value = new QLabel(displayBox);
        value->setMinimumWidth(value->fontMetrics().horizontalAdvance("100 %"));
        value->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        row->addWidget(slider, 1);
        row->addWidget(value);
        return row;
    };
    opacitySlider_ = percentSlider(0, displayBox);
    opacitySlider_->setObjectName("opacitySlider");
    displayForm->addRow(tr("Opacity:"), sliderRow(opacitySlider_, opacityValue_));
    thresholdSlider_ = percentSlider(0, displayBox);
    thresholdSlider_->setObjectName("thresholdSlider");
    thresholdSlider_->setToolTip(tr("Values below are not drawn"));
    displayForm->addRow(tr("Threshold:"), sliderRow(thresholdSlider_, thresholdValue_));
    colourBar_ = new ColourBar(displayBox);
    displayForm->addRow(colourBar_);
    // The slide-wide scale is fixed by the first heat shown (colours never change under the
    // user while patches arrive); Rescale fits it to what is done now.
    rescaleButton_ = new QToolButton(displayBox);
    rescaleButton_->setObjectName("rescaleButton");
    rescaleButton_->setText(tr("Rescale to Current Range"));
    rescaleButton_->setToolTip(
        tr("Fit the slide-wide CAM scale to every patch analysed so far "
           "(the colours of what is shown change)"));
    rescaleButton_->setEnabled(false);
    displayForm->addRow(rescaleButton_);
    connect(rescaleButton_, &QToolButton::clicked, this, [this] {
        if (controller_) controller_->rescale();
    });
    return displayBox;
}

// The slide's figures and top regions.
QWidget* AnalysisPanel::buildSummaryBox(QWidget* parent) {
    auto* summaryBox = new QGroupBox(tr("Summary"), parent);
    auto* summaryLayout = new QVBoxLayout(summaryBox);
    scoreLabel_ = new QLabel(summaryBox);
    scoreLabel_->setToolTip(tr("Mean probability of the 10 most suspicious patches"));
    shareLabel_ = new QLabel(summaryBox);
    histogram_ = new AnalysisHistogram(summaryBox);
    histogram_->setToolTip(tr("Patch probabilities of the explained class"));
    summaryLayout->addWidget(scoreLabel_);
    summaryLayout->addWidget(shareLabel_);
    summaryLayout->addWidget(histogram_);
    summaryLayout->addWidget(new QLabel(tr("Top regions (click to go there):"), summaryBox));
    regionList_ = new QListWidget(summaryBox);
    regionList_->setObjectName("regionList");
    regionList_->setMinimumHeight(90);
    summaryLayout->addWidget(regionList_, 1);
    // Heat and annotations: regions made from the heat, and how much heat the drawn areas hold.
    auto* annotationRow = new QHBoxLayout;
    auto* regionsButton = new QPushButton(tr("Regions from Heat…"), summaryBox);
    regionsButton->setObjectName("regionsFromHeatButton");
    regionsButton->setToolTip(tr("Outline the shown heat above a threshold as annotations"));
    auto* insideButton = new QPushButton(tr("Heat Inside…"), summaryBox);
    insideButton->setObjectName("heatInsideButton");
    insideButton->setToolTip(
        tr("Share of the heat's energy inside the areas of a class, and whether its peak is"));
    annotationRow->addWidget(regionsButton);
    annotationRow->addWidget(insideButton);
    // Analysis ▸ Localisation… (the window's action: it knows the view and the annotations).
    auto* localisationButton = new QPushButton(tr("Localisation…"), summaryBox);
    localisationButton->setObjectName("localisationButton");
    localisationButton->setToolTip(tr("Pointing game of each method against the annotations"));
    connect(localisationButton, &QPushButton::clicked, this, [this] {
        if (auto* action = window()->findChild<QAction*>("localisationAction")) action->trigger();
    });
    summaryLayout->addLayout(annotationRow);
    // On a row of its own: three buttons side by side widened the dock column (and the window's
    // minimum width) past what a 1366-px screen holds.
    auto* localisationRow = new QHBoxLayout;
    localisationRow->addWidget(localisationButton);
    localisationRow->addStretch(1);
    summaryLayout->addLayout(localisationRow);
    heatInsideLabel_ = new QLabel(summaryBox);
    heatInsideLabel_->setObjectName("heatInsideLabel");
    heatInsideLabel_->setWordWrap(true);
    summaryLayout->addWidget(heatInsideLabel_);
    connect(regionsButton, &QPushButton::clicked, this, &AnalysisPanel::regionsFromHeatRequested);
    connect(insideButton, &QPushButton::clicked, this, &AnalysisPanel::heatInsideRequested);
    return summaryBox;
}

void AnalysisPanel::showHeatInside(const QString& text) { heatInsideLabel_->setText(text); }

// Edits go to the session; what it then holds comes back through showAnalysisSettings and
// showDisplay (for this panel and every controller alike).
void AnalysisPanel::connectWidgets() {
    connect(openModelButton_, &QToolButton::clicked, this, &AnalysisPanel::openModelRequested);
    connect(describeButton_, &QToolButton::clicked, this, &AnalysisPanel::describeModelRequested);
    connect(modelCombo_, &QComboBox::activated, this, [this](int index) {
        const QString path = modelCombo_->itemData(index).toString();
        if (!path.isEmpty() && path != session_->path()) emit modelChosen(path);
    });
    connect(methodCombo_, &QComboBox::currentIndexChanged, this,
            [this] { session_->setMethod(methodCombo_->currentText()); });
    connect(eigenSmoothBox_, &QCheckBox::toggled, session_, &ModelSession::setEigenSmooth);
    connect(flipSmoothBox_, &QCheckBox::toggled, session_, &ModelSession::setFlipSmooth);
    connect(classCombo_, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (index >= 0) session_->setClassIndex(index);
    });
    connect(fitCombo_, &QComboBox::currentIndexChanged, this,
            [this] { session_->setFit(static_cast<ImageFit>(fitCombo_->currentData().toInt())); });
    connect(overlapCombo_, &QComboBox::currentIndexChanged, this,
            [this] { session_->setOverlap(overlapCombo_->currentData().toDouble()); });
    connect(modeCombo_, &QComboBox::currentIndexChanged, this, [this] {
        session_->setMode(static_cast<AnalysisMode>(modeCombo_->currentData().toInt()));
    });
    connect(precisionCombo_, &QComboBox::currentIndexChanged, this,
            [this] { session_->setInt8(precisionCombo_->currentData().toBool()); });
    connect(layerCombo_, &QComboBox::currentIndexChanged, this, [this](int index) {
        session_->setLayer(index == 1 ? ShownHeat::Probability : ShownHeat::Cam);
    });
    connect(normalisationCombo_, &QComboBox::currentIndexChanged, this, [this](int index) {
        session_->setNormalisation(index == 1 ? CamNormalisation::Patch : CamNormalisation::Slide);
    });
    connect(colourMapCombo_, &QComboBox::currentIndexChanged, this, [this] {
        session_->setColourMap(colourMapFromName(colourMapCombo_->currentText().toStdString()));
    });
    connect(opacitySlider_, &QSlider::valueChanged, this,
            [this](int value) { session_->setOpacity(value / 100.0); });
    connect(thresholdSlider_, &QSlider::valueChanged, this,
            [this](int value) { session_->setThreshold(value / 100.0); });
    connect(analyseButton_, &QPushButton::clicked, this, &AnalysisPanel::analyseRequested);
    connect(cancelButton_, &QPushButton::clicked, this, [this] {
        if (controller_) controller_->cancel();
    });
    auto activate = [this](QListWidgetItem* item) {
        if (item && item->data(Qt::UserRole).isValid())
            emit regionActivated(item->data(Qt::UserRole).toRectF(),
                                 QGuiApplication::keyboardModifiers() & Qt::ShiftModifier);
    };
    connect(regionList_, &QListWidget::itemClicked, this, activate);
    connect(regionList_, &QListWidget::itemActivated, this, activate);
}

void AnalysisPanel::showAnalysisSettings() {
    const QSignalBlocker blockMethod(methodCombo_), blockFit(fitCombo_),
        blockOverlap(overlapCombo_), blockMode(modeCombo_), blockPrecision(precisionCombo_);
    methodCombo_->setCurrentText(session_->method());
    {
        const QSignalBlocker blockEigen(eigenSmoothBox_), blockFlips(flipSmoothBox_);
        eigenSmoothBox_->setChecked(session_->eigenSmooth());
        flipSmoothBox_->setChecked(session_->flipSmooth());
    }
    fitCombo_->setCurrentIndex(fitCombo_->findData(int(session_->fit())));
    overlapCombo_->setCurrentIndex(std::max(0, overlapCombo_->findData(session_->overlap())));
    modeCombo_->setCurrentIndex(modeCombo_->findData(int(session_->mode())));
    precisionCombo_->setCurrentIndex(precisionCombo_->findData(session_->int8()));
    updateClasses();  // then the mode this image runs in (its project settings' or the session's)
}

void AnalysisPanel::showDisplay() {
    {
        const QSignalBlocker blockLayer(layerCombo_), blockScale(normalisationCombo_),
            blockColours(colourMapCombo_), blockOpacity(opacitySlider_),
            blockThreshold(thresholdSlider_);
        layerCombo_->setCurrentIndex(session_->layer() == ShownHeat::Probability ? 1 : 0);
        normalisationCombo_->setCurrentIndex(
            session_->normalisation() == CamNormalisation::Patch ? 1 : 0);
        colourMapCombo_->setCurrentText(colourMapName(session_->colourMap()));
        opacitySlider_->setValue(int(std::lround(session_->opacity() * 100)));
        thresholdSlider_->setValue(int(std::lround(session_->threshold() * 100)));
    }
    opacityValue_->setText(QStringLiteral("%1 %").arg(opacitySlider_->value()));
    thresholdValue_->setText(QString::number(threshold(), 'f', 2));
    normalisationCombo_->setEnabled(layer() == ShownHeat::Cam);
    updateLegend();
}

CamNormalisation AnalysisPanel::normalisation() const { return session_->normalisation(); }

ShownHeat AnalysisPanel::layer() const { return session_->layer(); }

ColourMap AnalysisPanel::colourMap() const { return session_->colourMap(); }
double AnalysisPanel::threshold() const { return session_->threshold(); }

void AnalysisPanel::setController(AnalysisController* controller) {
    for (const auto& c : connections_) disconnect(c);
    connections_.clear();
    controller_ = controller;
    if (controller_) {
        connections_ << connect(controller_, &AnalysisController::stateChanged, this,
                                &AnalysisPanel::updateState);
        connections_ << connect(controller_, &AnalysisController::progressChanged, this,
                                &AnalysisPanel::updateProgress);
        connections_ << connect(controller_, &AnalysisController::resultsChanged, this,
                                &AnalysisPanel::updateResults);
        connections_ << connect(controller_, &AnalysisController::imageSettingsChanged, this,
                                &AnalysisPanel::showAnalysisSettings);
    }
    showAnalysisSettings();  // this image's project settings, or the session's
    updateState();
    updateProgress();
    updateResults();
}

void AnalysisPanel::showRecentModels() {
    const QStringList paths = session_->recentModels()->files();
    const QString modelPath = session_->path();
    const QSignalBlocker block(modelCombo_);
    modelCombo_->clear();
    QStringList all = paths;
    if (!modelPath.isEmpty() && !all.contains(modelPath)) all.prepend(modelPath);
    int longest = kMinModelNameChars;
    for (const QString& path : all) {
        const QString name = QFileInfo(path).fileName();
        longest = std::max(longest, int(name.size()));
        modelCombo_->addItem(name, path);
        modelCombo_->setItemData(modelCombo_->count() - 1, path, Qt::ToolTipRole);
    }
    // Wide enough for the names (up to a limit: the tooltip has the whole path), not cut.
    modelCombo_->setMinimumContentsLength(std::min(longest, kMaxModelNameChars));
    modelCombo_->setCurrentIndex(modelPath.isEmpty() ? (all.isEmpty() ? -1 : 0)
                                                     : all.indexOf(modelPath));
}

QString AnalysisPanel::selectedModelPath() const {
    return modelCombo_->currentIndex() >= 0 ? modelCombo_->currentData().toString() : QString();
}

void AnalysisPanel::showModel() {
    const QString path = session_->path();
    const Model* model = session_->model().get();
    const QString error = session_->error();
    showRecentModels();
    const QString name = QFileInfo(path).fileName();
    if (!error.isEmpty()) {
        modelLabel_->setText(tr("<span style='color:#c0392b'>Cannot open %1:<br>%2</span>")
                                 .arg(name.toHtmlEscaped(), error.toHtmlEscaped()));
    } else if (!model) {
        modelLabel_->setText(path.isEmpty() ? tr("No model opened.")
                                            : tr("Opening %1…").arg(name.toHtmlEscaped()));
    } else {
        const ModelSpec& spec = model->spec();
        QString scale;
        if (spec.micronsPerPixel)
            scale = tr(", %1 µm/px").arg(*spec.micronsPerPixel, 0, 'g', 3);
        else if (spec.magnification)
            scale = tr(", %1×").arg(*spec.magnification, 0, 'g', 3);
        QString text = tr("%1 classes, runs on %2<br>input %3 × %4 px%5")
                           .arg(spec.classCount())
                           .arg(QString::fromStdString(model->device()).toHtmlEscaped())
                           .arg(spec.inputWidth)
                           .arg(spec.inputHeight)
                           .arg(scale.toHtmlEscaped());
        // What the sidecar did not say, so the user knows and can fix it (Describe…).
        if (!spec.notices.empty()) {
            QStringList items;
            for (const std::string& n : spec.notices)
                items << QString::fromStdString(n).toHtmlEscaped();
            text += tr("<br><span style='color:#b9770e'>Assumed: %1. <i>Describe…</i> to "
                       "correct.</span>")
                        .arg(items.join(QStringLiteral("; ")));
        }
        modelLabel_->setText(text);
    }
    describeButton_->setEnabled(model != nullptr);
    modelLabel_->setToolTip(path);
    updateClasses();
    updateState();
}

void AnalysisPanel::updateClasses() {
    const QSignalBlocker block(classCombo_);
    classCombo_->clear();
    const Model* model = session_->model().get();
    if (!model) {
        showImageSettings();
        return;
    }
    const ModelSpec& spec = model->spec();
    for (int k = 0; k < spec.classCount(); ++k)
        classCombo_->addItem(k < int(spec.classes.size()) ? QString::fromStdString(spec.classes[k])
                                                          : tr("class %1").arg(k));
    // The session's class; by default (or out of range) the positive (last) class.
    const int chosen = session_->classIndex();
    classCombo_->setCurrentIndex(chosen >= 0 && chosen < spec.classCount() ? chosen
                                                                           : spec.classCount() - 1);
    showImageSettings();
}

void AnalysisPanel::showImageSettings() {
    imageNote_->apply(controller_);  // a project image's own class, method, mode, precision, …
    // int8 is dense mode's alone: greyed per patch, the choice kept (core would run fp32 anyway);
    // the mode is this image's (its project settings' or the session's), as the note left it.
    const bool ownPrecision = controller_ && controller_->imageSettings().int8.has_value();
    precisionCombo_->setEnabled(!ownPrecision &&
                                modeCombo_->currentData().toInt() == int(AnalysisMode::Dense));
}

void AnalysisPanel::updateState() {
    const bool running = controller_ && controller_->isRunning();
    analyseButton_->setEnabled(controller_ && !running &&
                               (session_->model() || !session_->path().isEmpty() ||
                                !session_->recentModels()->files().isEmpty()));
    cancelButton_->setEnabled(
        running || (controller_ && controller_->state() == AnalysisController::State::Live));
    updateProgress();
}

void AnalysisPanel::updateProgress() {
    if (!controller_) {
        progressBar_->setRange(0, 1);
        progressBar_->setValue(0);
        progressBar_->setFormat(QString());  // no "0 / 1 patches" before there are any
        progressLabel_->setText(tr("Open a slide to analyse it."));
        return;
    }
    const AnalysisProgressInfo& p = controller_->progress();
    progressBar_->setRange(0, int(std::max<std::size_t>(p.total, 1)));
    progressBar_->setValue(int(p.done));
    const auto shown = controller_->results();
    progressBar_->setFormat(p.total == 0                         ? QString()
                            : shown && shown->summary.wholeImage ? tr("%v / %m image")
                                                                 : tr("%v / %m patches"));
    using State = AnalysisController::State;
    QString text;
    switch (controller_->state()) {
        case State::Idle:
            text = controller_->model() ? tr("Ready.") : tr("Open a model to analyse the slide.");
            break;
        case State::Live:
            if (p.total == 0)
                text = tr("Live: finding tissue…");
            else if (p.idle)
                text = tr("Live: all patches in view done (%1 of %2 in the slide).")
                           .arg(p.done)
                           .arg(p.total);
            else
                text = tr("Live: %1 patches in view queued, %2 patches/s.")
                           .arg(p.queued)
                           .arg(p.patchesPerSecond, 0, 'f', p.patchesPerSecond < 10 ? 1 : 0);
            if (p.cancelled > 0)
                text += tr(" %n stale request(s) cancelled.", nullptr, int(p.cancelled));
            // Patches cut from tiles the screen (or earlier patches) had decoded already.
            if (p.reads.fromCache > 0)
                text += tr(" %n patch read(s) from cached tiles, no decode.", nullptr,
                           int(p.reads.fromCache));
            break;
        case State::Running:
            if (p.total == 0)
                text = tr("Finding tissue…");
            else if (p.patchesPerSecond > 0)
                text = tr("%1 patches/s, %2 left")
                           .arg(p.patchesPerSecond, 0, 'f', p.patchesPerSecond < 10 ? 1 : 0)
                           .arg(durationText(p.secondsLeft));
            else
                text = tr("%1 of %2 patches from stored results, running the rest…")
                           .arg(p.reused)
                           .arg(p.total);
            break;
        case State::Complete:
            text = p.inferred == 0 ? tr("Done: %1 patches, all from stored results.").arg(p.total)
                                   : tr("Done: %1 patches (%2 stored, %3 run now).")
                                         .arg(p.total)
                                         .arg(p.reused)
                                         .arg(p.inferred);
            break;
        case State::Cancelled:
            text = tr("Cancelled at %1 of %2 patches.").arg(p.done).arg(p.total);
            break;
        case State::Failed:
            text = tr("<span style='color:#c0392b'>%1</span>")
                       .arg(controller_->error().toHtmlEscaped());
            break;
    }
    if (!p.note.isEmpty() && controller_->state() != State::Failed) text += "\n" + p.note;
    progressLabel_->setText(text);
}

void AnalysisPanel::updateResults() {
    regionList_->clear();
    const auto results = controller_ ? controller_->results() : nullptr;
    if (!results || results->summary.patches == 0) {
        scoreLabel_->setText(tr("Slide score: —"));
        shareLabel_->setText(tr("Patches ≥ 0.5: —"));
        histogram_->setBins({});
        updateLegend();
        return;
    }
    const AnalysisSummary& s = results->summary;
    if (s.wholeImage) {  // one patch: a slide's figures would say nothing ("100 % of 1")
        scoreLabel_->setText(tr("Image score: <b>%1</b>").arg(s.topMean, 0, 'f', 3));
        scoreLabel_->setToolTip(tr("Probability of the explained class for the whole image"));
        shareLabel_->clear();
        shareLabel_->hide();
    } else {
        scoreLabel_->setText(
            tr("Slide score (top-%1 mean): <b>%2</b>").arg(s.topK).arg(s.topMean, 0, 'f', 3));
        scoreLabel_->setToolTip(
            tr("Mean probability of the %1 most suspicious patches").arg(s.topK));
        shareLabel_->setText(tr("Patches ≥ %1: %2 % of %3%4")
                                 .arg(s.threshold)
                                 .arg(100.0 * s.shareAbove, 0, 'f', 1)
                                 .arg(s.patches)
                                 .arg(results->complete ? QString() : tr(" (so far)")));
        shareLabel_->show();
    }
    histogram_->setBins(s.histogram);
    std::optional<double> mppX, mppY;
    if (controller_ && controller_->view()) {
        mppX = controller_->view()->document()->info().mppX;
        mppY = controller_->view()->document()->info().mppY;
    }
    int rank = 1;
    for (const auto& r : s.topRegions) {
        auto* item =
            new QListWidgetItem(tr("%1.  p = %2,  %3   peak at x %4, y %5")
                                    .arg(rank++)
                                    .arg(r.probability, 0, 'f', 3)
                                    .arg(QString::fromStdString(regionAreaText(r.area, mppX, mppY)))
                                    .arg(qint64(r.peakX))
                                    .arg(qint64(r.peakY)),
                                regionList_);
        item->setData(Qt::UserRole, QRectF(r.x, r.y, r.width, r.height));
        item->setToolTip(tr("%n patch(es) ≥ %1; click to show the region, Shift+click to zoom up "
                            "to twice the scan's magnification",
                            "", int(r.patches))
                             .arg(s.threshold));
    }
    if (s.topRegions.empty())
        new QListWidgetItem(tr("No patch ≥ %1").arg(s.threshold), regionList_);
    updateLegend();
}

void AnalysisPanel::updateLegend() {
    colourBar_->setColourMap(colourMap());
    colourBar_->setThreshold(threshold());
    const auto results = controller_ ? controller_->results() : nullptr;
    if (layer() == ShownHeat::Probability) {
        QString name = classCombo_->currentText();
        colourBar_->setScale(name.isEmpty() ? tr("Probability") : tr("Probability of %1").arg(name),
                             false, 0, 1);
    } else if (normalisation() == CamNormalisation::Patch) {
        colourBar_->setScale(tr("CAM, each patch min–max"), false, 0, 1);
    } else {
        const bool fixed = results && results->scaleFixed;
        // Fixed by the first heat during a run (colours never change under the user), the whole
        // slide's range once it is complete, or what Rescale fitted.
        colourBar_->setScale(fixed                          ? tr("CAM, slide-wide, fixed in run")
                             : results && results->complete ? tr("CAM, whole-slide scale")
                                                            : tr("CAM, slide-wide scale"),
                             bool(results), results ? results->camLow : 0,
                             results ? results->camHigh : 1);
        // Patches outside the fixed scale (clamped to its ends): say so, offer to rescale.
        const bool outside = fixed && (results->camDataHigh > results->camHigh ||
                                       results->camDataLow < results->camLow);
        colourBar_->setNote(outside ? tr("analysed so far: %1 … %2, clamped")
                                          .arg(results->camDataLow, 0, 'g', 4)
                                          .arg(results->camDataHigh, 0, 'g', 4)
                                    : QString());
    }
    rescaleButton_->setEnabled(
        results && normalisation() == CamNormalisation::Slide && layer() == ShownHeat::Cam &&
        (results->camDataLow != results->camLow || results->camDataHigh != results->camHigh));
}

}  // namespace lucida::ui
