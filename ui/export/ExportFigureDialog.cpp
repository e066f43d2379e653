#include "ExportFigureDialog.h"

#include "FigureExportJob.h"
#include "FigurePreview.h"
#include "FigureProgressDialog.h"
#include "ImageDocument.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QEventLoop>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTimer>
#include <QVBoxLayout>

namespace lucida::ui {

namespace {
constexpr double kSelectionMargin = 0.1;  // of the selection's larger side, on every side
constexpr int kPreviewWidth = 640;        // figure pixels: items scale with the width above 480
}  // namespace

ExportFigureDialog::ExportFigureDialog(FigureContext context, QWidget* parent)
    : QDialog(parent), context_(std::move(context)) {
    setWindowTitle(tr("Export Figure"));
    QSettings s;
    auto* form = new QFormLayout;
    region_ = new QComboBox;
    region_->setObjectName("figureRegion");
    region_->addItem(tr("Current view"), "view");
    if (context_.selection) region_->addItem(tr("Selected annotation and margin"), "selection");
    region_->addItem(tr("Whole image"), "whole");
    region_->setCurrentIndex(std::max(0, region_->findData(s.value("figure/region", "view"))));
    form->addRow(tr("&Region:"), region_);

    sizeUnit_ = new QComboBox;
    sizeUnit_->setObjectName("figureUnit");
    sizeUnit_->addItem(tr("Pixels"), "px");
    sizeUnit_->addItem(tr("Millimetres"), "mm");
    sizeUnit_->setCurrentIndex(std::max(0, sizeUnit_->findData(s.value("figure/unit", "px"))));
    widthPx_ = new QSpinBox;
    widthPx_->setObjectName("figureWidthPx");
    widthPx_->setRange(100, FigureRenderer::kMaxSide);
    widthPx_->setValue(s.value("figure/widthPx", 1600).toInt());
    widthMm_ = new QDoubleSpinBox;
    widthMm_->setRange(10, 1000);
    widthMm_->setSuffix(tr(" mm"));
    widthMm_->setValue(s.value("figure/widthMm", 170.0).toDouble());
    dpi_ = new QComboBox;
    for (int dpi : {150, 300, 600}) dpi_->addItem(QStringLiteral("%1 DPI").arg(dpi), dpi);
    dpi_->setCurrentIndex(std::max(0, dpi_->findData(s.value("figure/dpi", 300).toInt())));
    auto* sizeRow = new QHBoxLayout;
    sizeRow->addWidget(sizeUnit_);
    sizeRow->addWidget(widthPx_);
    sizeRow->addWidget(widthMm_);
    sizeRow->addWidget(dpi_);
    form->addRow(tr("&Width:"), sizeRow);
    sizeLabel_ = new QLabel;
    form->addRow(QString(), sizeLabel_);

    layout_ = new QComboBox;
    layout_->addItem(tr("One panel"), "single");
    layout_->addItem(tr("Image | heat, side by side"), "pair");
    if (context_.comparison) {
        QStringList methods, classes;
        for (const std::string& m : comparedMethods())
            methods << QString::fromStdString(camMethodTitle(m));
        for (const RegionCamRequest& r : comparisonRequests(*context_.comparison, "classes"))
            classes << QString::fromStdString(
                context_.comparison->classes[std::size_t(*r.classIndex)]);
        layout_->addItem(tr("Methods: %1").arg(methods.join(" | ")), "methods");
        if (classes.size() > 1)
            layout_->addItem(tr("Classes: %1").arg(classes.join(" | ")), "classes");
    }
    layout_->setCurrentIndex(std::max(0, layout_->findData(s.value("figure/layout", "single"))));
    form->addRow(tr("&Panels:"), layout_);

    auto box = [&](const QString& text, const char* key, bool on) {
        auto* b = new QCheckBox(text);
        b->setChecked(s.value(QStringLiteral("figure/") + key, on).toBool());
        form->addRow(QString(), b);
        return b;
    };
    heat_ = box(tr("&Heat as shown"), "heat", true);
    heat_->setEnabled(context_.sources.heat != nullptr);
    annotations_ = box(tr("&Annotations with labels"), "annotations", true);
    annotations_->setEnabled(context_.sources.annotations != nullptr);
    measurements_ =
        box(tr("&Measurements beside the labels (area, length)"), "measurements", false);
    measurements_->setEnabled(context_.sources.annotations != nullptr);
    scaleBar_ = box(tr("&Scale bar"), "scaleBar", true);
    colourBar_ = box(tr("&Colour bar"), "colourBar", true);
    overview_ = box(tr("&Overview inset"), "overview", false);
    caption_ = box(tr("Ca&ption:"), "caption", true);
    captionText_ = new QPlainTextEdit(context_.defaultCaption);
    captionText_->setMaximumHeight(70);
    form->addRow(QString(), captionText_);
    // Never remembered: a patient's details go out only when asked for, export by export.
    patient_ = new QCheckBox(tr("Include patient &details (name, ID, birth date)"));
    patient_->setVisible(context_.dicom);
    form->addRow(QString(), patient_);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel);
    QPushButton* save = buttons->addButton(tr("&Export…"), QDialogButtonBox::AcceptRole);
    QPushButton* copy = buttons->addButton(tr("Copy to C&lipboard"), QDialogButtonBox::ActionRole);
    connect(save, &QPushButton::clicked, this, &ExportFigureDialog::chooseFile);
    connect(copy, &QPushButton::clicked, this, [this] {
        if (copyToClipboard()) accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    for (QComboBox* c : {region_, sizeUnit_, dpi_, layout_})
        connect(c, &QComboBox::currentIndexChanged, this, &ExportFigureDialog::updateSize);
    connect(widthPx_, &QSpinBox::valueChanged, this, &ExportFigureDialog::updateSize);
    connect(widthMm_, &QDoubleSpinBox::valueChanged, this, &ExportFigureDialog::updateSize);
    placement_ = readFigurePlacement(s);
    preview_ = new FigurePreview;
    connect(preview_, &FigurePreview::moved, this, &ExportFigureDialog::placeItem);
    auto* reset = new QPushButton(tr("&Reset Positions"));
    reset->setObjectName("figureResetPositions");
    connect(reset, &QPushButton::clicked, this, &ExportFigureDialog::resetPlacement);
    previewTimer_ = new QTimer(this);
    previewTimer_->setSingleShot(true);
    previewTimer_->setInterval(250);
    connect(previewTimer_, &QTimer::timeout, this, &ExportFigureDialog::renderPreview);
    for (QCheckBox* b :
         {heat_, annotations_, measurements_, scaleBar_, colourBar_, overview_, caption_, patient_})
        connect(b, &QCheckBox::toggled, previewTimer_, qOverload<>(&QTimer::start));
    connect(captionText_, &QPlainTextEdit::textChanged, previewTimer_, qOverload<>(&QTimer::start));

    auto* previewColumn = new QVBoxLayout;
    previewColumn->addWidget(preview_, 1);
    auto* previewRow = new QHBoxLayout;
    previewRow->addWidget(new QLabel(tr("Drag the caption, scale bar, colour bar or overview.")),
                          1);
    previewRow->addWidget(reset);
    previewColumn->addLayout(previewRow);
    auto* columns = new QHBoxLayout;
    columns->addLayout(form);
    columns->addLayout(previewColumn, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(columns);
    layout->addWidget(buttons);
    updateSize();
    previewTimer_->stop();  // rendered now
    renderPreview();
}

ExportFigureDialog::~ExportFigureDialog() = default;

void ExportFigureDialog::renderPreview() {
    if (previewJob_) {  // one at a time: the newest options follow when it ends
        previewPending_ = true;
        return;
    }
    previewPending_ = false;
    FigureOptions o = options();
    o.widthPx = kPreviewWidth;
    const FigureLayout l = FigureRenderer(context_.sources).layout(o);
    const std::map<FigureItem, QRectF> items{{FigureItem::Caption, l.caption},
                                             {FigureItem::ScaleBar, l.scaleBar},
                                             {FigureItem::ColourBar, l.colourBar},
                                             {FigureItem::Overview, l.overview}};
    previewJob_ = std::make_unique<FigureExportJob>(context_.sources, o, figureOverlays());
    connect(previewJob_.get(), &FigureExportJob::finished, this,
            [this, items](const QString& error, bool cancelled) {
                if (error.isEmpty() && !cancelled) preview_->setFigure(previewJob_->image(), items);
                previewJob_.release()->deleteLater();
                if (previewPending_) renderPreview();
            });
    previewJob_->startRendering();
}

void ExportFigureDialog::placeItem(FigureItem item, QPointF fraction) {
    placement_[item] = fraction;
    QSettings s;
    writeFigurePlacement(s, placement_);
    previewTimer_->start();
}

void ExportFigureDialog::resetPlacement() {
    placement_ = FigurePlacement{};
    QSettings s;
    writeFigurePlacement(s, placement_);
    previewTimer_->start();
}

FigureOptions ExportFigureDialog::options() const {
    FigureOptions o;
    const QString region = region_->currentData().toString();
    const ImageInfo& info = context_.sources.document->info();
    if (region == "whole") {
        o.region = RectF{0, 0, double(info.width()), double(info.height())};
    } else if (region == "selection" && context_.selection) {
        const RectF& r = *context_.selection;
        const double m = std::max(r.width, r.height) * kSelectionMargin + 1;
        o.region = RectF{r.x - m, r.y - m, r.width + 2 * m, r.height + 2 * m};
    } else {
        o.region = context_.view;
    }
    o.dpi = dpi_->currentData().toInt();
    o.widthPx = sizeUnit_->currentData() == "mm" ? pixelsForMillimetres(widthMm_->value(), o.dpi)
                                                 : widthPx_->value();
    const bool heat = heat_->isEnabled() && heat_->isChecked();
    const QString choice = layout_->currentData().toString();
    if (context_.comparison && (choice == "methods" || choice == "classes")) {
        const RectF& r = comparisonRegion_;
        if (comparison_ && comparisonChoice_ == choice && r.x == o.region.x && r.y == o.region.y &&
            r.width == o.region.width && r.height == o.region.height) {
            comparison_->apply(o);
        } else {  // not computed yet: the layout's panels, named, until Export computes them
            o.panels.clear();
            for (const RegionCamRequest& q : comparisonRequests(*context_.comparison, choice))
                o.panels.push_back(FigurePanel{false, QString::fromStdString(q.method), nullptr});
        }
    } else if (layout_->currentData() == "pair" && context_.sources.heat)
        o.panels = {FigurePanel{false, tr("Image")}, FigurePanel{true, tr("Heat")}};
    else
        o.panels = {FigurePanel{heat, {}}};
    o.annotations = annotations_->isChecked();
    o.measurements = measurements_->isChecked();
    o.scaleBar = scaleBar_->isChecked();
    o.colourBar = colourBar_->isChecked();
    o.overview = overview_->isChecked();
    o.caption = caption_->isChecked();
    o.captionText = captionText_->toPlainText();
    if (o.colourBarLabel.isEmpty()) o.colourBarLabel = context_.colourBarLabel;
    o.includePatientDetails = patient_->isChecked();
    o.placement = placement_;
    return o;
}

void ExportFigureDialog::updateSize() {
    if (previewTimer_) previewTimer_->start();
    const bool mm = sizeUnit_->currentData() == "mm";
    widthPx_->setVisible(!mm);
    widthMm_->setVisible(mm);
    const FigureOptions o = options();
    const QSize size = FigureRenderer(context_.sources).layout(o).size;
    sizeLabel_->setText(tr("%1 × %2 px, %3 × %4 mm at %5 DPI")
                            .arg(size.width())
                            .arg(size.height())
                            .arg(size.width() * 25.4 / o.dpi, 0, 'f', 0)
                            .arg(size.height() * 25.4 / o.dpi, 0, 'f', 0)
                            .arg(o.dpi));
}

void ExportFigureDialog::saveSettings() const {
    QSettings s;
    s.setValue("figure/region", region_->currentData());
    s.setValue("figure/unit", sizeUnit_->currentData());
    s.setValue("figure/widthPx", widthPx_->value());
    s.setValue("figure/widthMm", widthMm_->value());
    s.setValue("figure/dpi", dpi_->currentData());
    s.setValue("figure/layout", layout_->currentData());
    s.setValue("figure/heat", heat_->isChecked());
    s.setValue("figure/annotations", annotations_->isChecked());
    s.setValue("figure/measurements", measurements_->isChecked());
    s.setValue("figure/scaleBar", scaleBar_->isChecked());
    s.setValue("figure/colourBar", colourBar_->isChecked());
    s.setValue("figure/overview", overview_->isChecked());
    s.setValue("figure/caption", caption_->isChecked());
}

QString ExportFigureDialog::runJob(FigureExportJob* job, const QString& format) {
    FigureProgressDialog progress(job, format, this);
    QEventLoop loop;
    QString error;
    connect(job, &FigureExportJob::finished, &loop, [&](const QString& e, bool cancelled) {
        error = e;
        cancelled_ = cancelled;
        loop.quit();
    });
    loop.exec();
    return error;
}

QString ExportFigureDialog::exportTo(const QString& path) {
    saveSettings();
    cancelled_ = false;
    if (!prepareComparison()) return QString();  // cancelled_ set; a failure was shown
    // A child while it runs: tests (and the dialog's end) find it; gone when done.
    std::unique_ptr<FigureExportJob> job(
        new FigureExportJob(context_.sources, options(), figureOverlays(), this));
    job->startWriting(path);
    return runJob(job.get(), QFileInfo(path).suffix().toUpper());
}

bool ExportFigureDialog::copyToClipboard() {
    saveSettings();
    cancelled_ = false;
    if (!prepareComparison()) return false;
    std::unique_ptr<FigureExportJob> job(
        new FigureExportJob(context_.sources, options(), figureOverlays(), this));
    job->startRendering();
    const QString error = runJob(job.get(), tr("image"));
    if (!error.isEmpty()) {
        if (!cancelled_) QMessageBox::warning(this, tr("Export Figure"), error);
        return false;
    }
    QGuiApplication::clipboard()->setImage(job->image());
    return true;
}

void ExportFigureDialog::chooseFile() {
    QSettings s;
    const QString base = QFileInfo(context_.sources.document->path()).completeBaseName();
    const QString dir = s.value("figure/lastDir").toString();
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export Figure"), QDir(dir).filePath(base + ".figure.png"),
        tr("Figures (*.png *.tif *.tiff *.jpg *.jpeg *.svg *.pdf)"));
    if (path.isEmpty()) return;
    s.setValue("figure/lastDir", QFileInfo(path).absolutePath());
    const QString error = exportTo(path);
    if (cancelled_) return;  // nothing written; the dialog stays for another try
    if (!error.isEmpty()) {
        QMessageBox::warning(this, tr("Export Figure"), error);
        return;
    }
    accept();
}

bool ExportFigureDialog::prepareComparison() {
    const QString choice = layout_->currentData().toString();
    if (!context_.comparison || (choice != "methods" && choice != "classes")) return true;
    const RectF region = options().region;
    const RectF& r = comparisonRegion_;
    if (comparison_ && comparisonChoice_ == choice && r.x == region.x && r.y == region.y &&
        r.width == region.width && r.height == region.height)
        return true;
    QString error;
    comparison_ = runComparison(this, *context_.comparison,
                                comparisonRequests(*context_.comparison, choice), region, &error);
    if (!comparison_) {
        cancelled_ = true;
        if (!error.isEmpty()) QMessageBox::warning(this, tr("Export Figure"), error);
        return false;
    }
    comparisonChoice_ = choice;
    comparisonRegion_ = region;
    return true;
}

std::vector<HeatmapOverlay*> ExportFigureDialog::figureOverlays() const {
    std::vector<HeatmapOverlay*> overlays = context_.overlays;
    if (comparison_)
        for (std::size_t i = 0; i < comparison_->size(); ++i)
            overlays.push_back(&comparison_->overlay(i));
    return overlays;
}

}  // namespace lucida::ui
