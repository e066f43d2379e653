#include "FigureRenderer.h"

#include "AnnotationDocument.h"
#include "FigureDecorations.h"
#include "FigureProgress.h"
#include "ImageDocument.h"
#include "SceneRenderer.h"

#include <QDate>
#include <QFileInfo>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace lucida::ui {

namespace {

Layer* heatOf(const FigurePanel& panel, const FigureSources& s) {
    if (!panel.heat) return nullptr;
    return panel.heatLayer ? panel.heatLayer : s.heat;
}

bool anyHeat(const FigureOptions& o, const FigureSources& s) {
    return std::any_of(o.panels.begin(), o.panels.end(),
                       [&](const FigurePanel& p) { return heatOf(p, s) != nullptr; });
}

QString lengthLabel(double um, LengthUnit unit) {
    if (unit == LengthUnit::Millimetre || um >= 1000)
        return QStringLiteral("%1 mm").arg(um / 1000.0, 0, 'g', 4);
    return QStringLiteral("%1 µm").arg(um, 0, 'g', 4);
}

}  // namespace

std::optional<FigureFormat> figureFormatFor(const QString& path) {
    const QString ext = QFileInfo(path).suffix().toLower();
    if (ext == "png") return FigureFormat::Png;
    if (ext == "tif" || ext == "tiff") return FigureFormat::Tiff;
    if (ext == "jpg" || ext == "jpeg") return FigureFormat::Jpeg;
    if (ext == "svg") return FigureFormat::Svg;
    if (ext == "pdf") return FigureFormat::Pdf;
    return std::nullopt;
}

int pixelsForMillimetres(double millimetres, int dpi) {
    return int(std::lround(millimetres / 25.4 * dpi));
}

FigureLayout FigureRenderer::layout(const FigureOptions& o) const {
    FigureLayout l;
    const int width = std::clamp(o.widthPx, 16, kMaxSide);
    const int n = std::max<int>(1, int(o.panels.size()));
    l.unit = std::max(8.0, width / (n > 1 ? 70.0 : 60.0));
    const int margin = int(std::lround(l.unit));
    const int gap = n > 1 ? margin : 0;
    const int labelH = n > 1 ? int(std::lround(l.unit * 1.6)) : 0;
    const int panelW = std::max(1, (width - 2 * margin - (n - 1) * gap) / n);
    const double regionW = std::max(o.region.width, 1e-9),
                 regionH = std::max(o.region.height, 1e-9);
    l.scale = panelW / regionW;
    const int panelH = std::clamp(int(std::lround(regionH * l.scale)), 1, kMaxSide);
    for (int i = 0; i < n; ++i)
        l.panels.emplace_back(margin + i * (panelW + gap), margin + labelH, panelW, panelH);
    double y = margin + labelH + panelH + l.unit * 0.6;
    const double contentW = width - 2 * margin;
    if (o.colourBar && anyHeat(o, sources_)) {
        l.colourBar = QRectF(margin, y, std::min(contentW, l.unit * 28), l.unit * 3.8);
        y += l.colourBar.height() + l.unit * 0.4;
    }
    const QString caption = captionText(o);
    if (o.caption && !caption.isEmpty()) {
        l.caption = QRectF(margin, y, contentW, captionHeight(caption, contentW, l.unit));
        y += l.caption.height();
    }
    if (o.overview && sources_.document) {
        const ImageInfo& info = sources_.document->info();
        const QRect& last = l.panels.back();
        const double w = last.width() / 4.0;
        const double h = w * double(info.height()) / std::max<double>(1, double(info.width()));
        if (h < last.height() / 2.0)
            l.overview =
                QRectF(last.right() + 1 - w - l.unit * 0.6, last.top() + l.unit * 0.6, w, h);
    }
    l.size = QSize(width, std::min(kMaxSide, int(std::ceil(y + margin))));
    if (o.scaleBar) {
        const FigureScaleBar bar = scaleBarAt(l.scale, panelW);
        const QRect& first = l.panels.front();
        const QSize box = figureScaleBarSize(bar, l.unit);
        const int pad = int(std::lround(l.unit * 0.6));
        if (bar.pixels > 0)
            l.scaleBar = QRectF(first.left() + pad, first.bottom() + 1 - pad - box.height(),
                                box.width(), box.height());
    }
    const std::pair<FigureItem, QRectF*> movable[] = {{FigureItem::Caption, &l.caption},
                                                      {FigureItem::ScaleBar, &l.scaleBar},
                                                      {FigureItem::ColourBar, &l.colourBar},
                                                      {FigureItem::Overview, &l.overview}};
    for (auto [item, box] : movable)
        if (!box->isEmpty() && o.placement[item])
            *box = placedBox(*box, *o.placement[item], l.size);
    return l;
}

FigureScaleBar FigureRenderer::scaleBar(const FigureOptions& o) const {
    const FigureLayout l = layout(o);
    return scaleBarAt(l.scale, l.panels.front().width());
}

FigureScaleBar FigureRenderer::scaleBarAt(double scale, int panelWidth) const {
    FigureScaleBar bar;
    if (!sources_.document || !sources_.document->info().mppX) return bar;
    const double umPerPixel = *sources_.document->info().mppX / scale;
    bar.lengthUm = niceScaleLength(umPerPixel, panelWidth * 0.3);
    bar.pixels = int(std::lround(bar.lengthUm / umPerPixel));
    bar.label = lengthLabel(bar.lengthUm, sources_.document->info().displayUnit);
    return bar;
}

QString FigureRenderer::captionText(const FigureOptions& o) const {
    QString text = o.captionText;
    if (o.includePatientDetails && sources_.document) {
        const ImageInfo& info = sources_.document->info();
        QStringList patient;
        for (const char* key : {"dicom.PatientName", "dicom.PatientID", "dicom.PatientBirthDate"})
            if (auto v = info.property(key); v && !v->empty())
                patient << QString::fromStdString(*v);
        if (!patient.isEmpty())
            text += (text.isEmpty() ? QString() : QStringLiteral("\n")) +
                    QObject::tr("Patient: %1").arg(patient.join(QStringLiteral(", ")));
    }
    return text;
}

QImage FigureRenderer::renderPanel(const FigureOptions& o, QSize size, bool heat) const {
    return renderPanel(o, size, heat ? sources_.heat : nullptr);
}

QImage FigureRenderer::renderPanel(const FigureOptions& o, QSize size, Layer* heat) const {
    SceneRenderer renderer(sources_.document, sources_.tiles);
    renderer.setBackground(Qt::white);
    renderer.scaleBarLayer().setVisible(false);
    if (heat) renderer.addLayer(heat, SceneRenderer::kAnalysisDepth);
    ViewGeometry view;
    view.viewWidth = size.width();
    view.viewHeight = size.height();
    view.scale = size.width() / std::max(o.region.width, 1e-9);
    view.centreX = o.region.x + o.region.width / 2;
    view.centreY = o.region.y + o.region.height / 2;
    if (progress_) return progress_->render(renderer, view);
    return renderer.render(view);
}

void FigureRenderer::paint(QPainter& painter, const FigureOptions& o) const {
    const FigureLayout l = layout(o);
    const PixelSize pixel =
        sources_.document ? pixelSizeOf(sources_.document->info()) : PixelSize{};
    painter.fillRect(QRect(QPoint(0, 0), l.size), Qt::white);
    for (std::size_t i = 0; i < l.panels.size(); ++i) {
        const QRect& panel = l.panels[i];
        Layer* heat = i < o.panels.size() ? heatOf(o.panels[i], sources_) : nullptr;
        painter.drawImage(panel, renderPanel(o, panel.size(), heat));
        if (o.annotations && sources_.annotations)
            drawFigureAnnotations(painter, *sources_.annotations, panel, o.region, l.scale, l.unit,
                                  o.measurements ? &pixel : nullptr);
        if (l.panels.size() > 1 && i < o.panels.size()) {
            QFont font(QStringLiteral("DejaVu Sans"));
            font.setPixelSize(int(std::lround(l.unit)));
            font.setBold(true);
            painter.setFont(font);
            painter.setPen(Qt::black);
            painter.drawText(
                QRectF(panel.left(), panel.top() - l.unit * 1.6, panel.width(), l.unit * 1.5),
                Qt::AlignLeft | Qt::AlignVCenter, o.panels[i].label);
        }
    }
    if (!l.scaleBar.isEmpty())
        drawFigureScaleBar(painter, scaleBar(o), l.scaleBar.topLeft().toPoint(), l.unit);
    if (!l.colourBar.isEmpty())
        drawFigureColourBar(painter, l.colourBar, sources_.colours, sources_.threshold, o, l.unit);
    if (!l.caption.isEmpty()) {
        const bool onImage = std::any_of(l.panels.begin(), l.panels.end(), [&](const QRect& p) {
            return l.caption.intersects(QRectF(p));
        });
        drawFigureCaption(painter, l.caption, captionText(o), l.unit, onImage);
    }
    if (!l.overview.isEmpty()) {
        const ImageInfo& info = sources_.document->info();
        FigureOptions whole = o;
        whole.region = RectF{0, 0, double(info.width()), double(info.height())};
        const QSize thumb(std::max(1, int(l.overview.width())),
                          std::max(1, int(l.overview.height())));
        drawFigureOverview(painter, l.overview,
                           renderPanel(whole, thumb, static_cast<Layer*>(nullptr)), o.region,
                           double(info.width()), double(info.height()), l.unit);
    }
}

QImage FigureRenderer::renderImage(const FigureOptions& o) const {
    const FigureLayout l = layout(o);
    QImage image(l.size, QImage::Format_ARGB32_Premultiplied);
    const int dpm = int(std::lround(o.dpi / 0.0254));
    image.setDotsPerMeterX(dpm);
    image.setDotsPerMeterY(dpm);
    image.fill(Qt::white);
    QPainter painter(&image);
    paint(painter, o);
    return image;
}

QString defaultFigureCaption(const ImageDocument& document, const QString& model,
                             const QString& method, const QString& layer,
                             const QString& className) {
    const ImageInfo& info = document.info();
    QStringList parts{QFileInfo(document.path()).fileName()};
    if (info.objectivePower) parts << QStringLiteral("%1×").arg(*info.objectivePower);
    if (!model.isEmpty()) parts << QObject::tr("model %1").arg(QFileInfo(model).fileName());
    if (!method.isEmpty()) parts << QObject::tr("method %1").arg(method);
    if (!layer.isEmpty()) parts << QObject::tr("layer %1").arg(layer);
    if (!className.isEmpty()) parts << QObject::tr("class %1").arg(className);
    parts << QDate::currentDate().toString(Qt::ISODate);
    return parts.join(QStringLiteral(" · "));
}

}  // namespace lucida::ui
