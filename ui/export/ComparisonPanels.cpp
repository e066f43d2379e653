#include "ComparisonPanels.h"

#include "HeatmapOverlay.h"

#include <QObject>

#include <algorithm>

namespace lucida::ui {

ComparisonPanels::ComparisonPanels(const std::vector<RegionCam>& cams, QSizeF imageSize,
                                   ColourMap colours, double opacity, double threshold) {
    auto differ = [&](auto field) {
        return std::any_of(cams.begin(), cams.end(),
                           [&](const RegionCam& c) { return field(c) != field(cams.front()); });
    };
    const bool methods = differ([](const RegionCam& c) { return c.method; });
    const bool classes = differ([](const RegionCam& c) { return c.className; });
    for (const RegionCam& cam : cams) {
        auto overlay = std::make_unique<HeatmapOverlay>();
        overlay->setImageSize(imageSize);
        overlay->setRasters(std::make_shared<const FloatRaster>(cam.raster), nullptr);
        overlay->setLayer(HeatmapOverlay::Layer::Cam);
        overlay->setColourMap(colours);
        overlay->setOpacity(opacity);
        overlay->setThreshold(threshold);
        overlays_.push_back(std::move(overlay));
        const QString method = QString::fromStdString(camMethodTitle(cam.method));
        const QString className = QString::fromStdString(cam.className);
        QStringList label;
        if (methods || !classes) label << method;
        if (classes) label << className;
        labels_ << label.join(QStringLiteral(" · "));
    }
    QStringList methodList, classList;
    for (const RegionCam& cam : cams) {
        const QString m = QString::fromStdString(camMethodTitle(cam.method));
        const QString c = QString::fromStdString(cam.className);
        if (!methodList.contains(m)) methodList << m;
        if (!c.isEmpty() && !classList.contains(c)) classList << c;
    }
    methods_ = methodList.join(QStringLiteral(" | "));
    classes_ = classList.join(QStringLiteral(" | "));
    QStringList bar;
    if (!cams.empty() && !methods && classes)
        bar << QString::fromStdString(camMethodTitle(cams.front().method));
    if (!cams.empty() && !classes && !cams.front().className.empty())
        bar << QObject::tr("class %1").arg(QString::fromStdString(cams.front().className));
    bar << QObject::tr("each panel scaled to its range in the region");
    colourBarLabel_ = bar.join(QStringLiteral(" · "));
}

ComparisonPanels::~ComparisonPanels() = default;

void ComparisonPanels::apply(FigureOptions& options, bool withImage) const {
    options.panels.clear();
    if (withImage) options.panels.push_back(FigurePanel{false, QObject::tr("Image")});
    for (std::size_t i = 0; i < overlays_.size(); ++i)
        options.panels.push_back(
            FigurePanel{true, labels_[int(i)], overlays_[i]->layers().front()});
    options.colourBarLabel = colourBarLabel_;
}

}  // namespace lucida::ui
