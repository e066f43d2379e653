#include "TrainingCharts.h"

#include "ChartStyle.h"

#include "train/TrainingReport.h"

#include <QChart>
#include <QLineSeries>
#include <QPen>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace lucida::ui {

namespace {
QValueAxis* makeAxis(const QString& title, const QString& format) {
    auto* axis = new QValueAxis;
    axis->setTitleText(title);
    axis->setLabelFormat(format);
    return axis;
}
}  // namespace

CurveChart::CurveChart(const QString& title, const QString& yTitle, const QStringList& seriesNames,
                       QWidget* parent)
    : QChartView(parent), xAxis_(makeAxis(tr("epoch"), "%d")), yAxis_(makeAxis(yTitle, "%.2f")) {
    QChart* c = makeChart(title);
    c->addAxis(xAxis_, Qt::AlignBottom);
    c->addAxis(yAxis_, Qt::AlignLeft);
    for (const QString& name : seriesNames) {
        auto* s = new QLineSeries;
        s->setName(name);
        // Training and validation in the colours of the saved curves.png.
        const unsigned colours[] = {kTrainCurveRgb, kValidationCurveRgb};
        if (series_.size() < std::size(colours)) {
            QPen pen(QColor(QRgb(colours[series_.size()])));
            pen.setWidth(2);
            s->setPen(pen);
        }
        s->setPointsVisible(true);
        c->addSeries(s);
        s->attachAxis(xAxis_);
        s->attachAxis(yAxis_);
        series_.push_back(s);
    }
    setChart(c);
    setRenderHint(QPainter::Antialiasing);
    setMinimumSize(240, 200);
    updateAxes();
}

void CurveChart::append(int series, double epoch, double value) {
    if (!std::isfinite(value)) return;
    series_.at(static_cast<std::size_t>(series))->append(epoch, value);
    updateAxes();
}

void CurveChart::clear() {
    for (QLineSeries* s : series_) s->clear();
    updateAxes();
}

void CurveChart::setUnitRange(bool unit) {
    unitRange_ = unit;
    yAxis_->setTickCount(5);
    updateAxes();
}

void CurveChart::updateAxes() {
    double maxX = 1, minY = 0, maxY = unitRange_ ? 1 : 0;
    for (QLineSeries* s : series_)
        for (const QPointF& p : s->points()) {
            maxX = std::max(maxX, p.x());
            minY = std::min(minY, p.y());
            maxY = std::max(maxY, p.y());
        }
    if (!unitRange_ && maxY <= minY) maxY = minY + 1;
    if (!unitRange_) maxY *= 1.05;
    const int epochs = static_cast<int>(std::ceil(maxX));
    xAxis_->setRange(1, std::max(2, epochs));
    // Whole epochs only, at most about ten ticks.
    xAxis_->setTickType(QValueAxis::TicksDynamic);
    xAxis_->setTickAnchor(1);
    xAxis_->setTickInterval(epochTickStep(std::max(2, epochs)));
    yAxis_->setRange(minY, maxY);
    if (!unitRange_) yAxis_->applyNiceNumbers();
}

RocChart::RocChart(QWidget* parent) : QChartView(parent) {
    QChart* c = makeChart(tr("ROC (validation)"));
    auto* x = makeAxis(tr("false positive rate"), "%.1f");
    auto* y = makeAxis(tr("true positive rate"), "%.1f");
    for (QValueAxis* axis : {x, y}) {
        axis->setRange(0, 1);
        axis->setTickCount(6);  // 0, 0.2, …, 1 (five ticks would be 0.25 apart: "0.3", "0.8")
    }
    c->addAxis(x, Qt::AlignBottom);
    c->addAxis(y, Qt::AlignLeft);
    diagonal_ = new QLineSeries;
    diagonal_->setName(tr("chance"));
    diagonal_->append(0, 0);
    diagonal_->append(1, 1);
    QPen pen(Qt::gray);
    pen.setStyle(Qt::DashLine);
    diagonal_->setPen(pen);
    curve_ = new QLineSeries;
    curve_->setName(tr("ROC"));
    for (QLineSeries* s : {diagonal_, curve_}) {
        c->addSeries(s);
        s->attachAxis(x);
        s->attachAxis(y);
    }
    setChart(c);
    setRenderHint(QPainter::Antialiasing);
    setMinimumSize(240, 200);
}

void RocChart::setCurve(const std::vector<RocPoint>& roc, double auc, int epoch) {
    QList<QPointF> points;
    points.reserve(static_cast<qsizetype>(roc.size()));
    for (const RocPoint& p : roc) points.append(QPointF(p.falsePositiveRate, p.truePositiveRate));
    curve_->replace(points);
    const QString aucText =
        std::isfinite(auc) ? QString::number(auc, 'f', 3) : tr("undefined (a class is absent)");
    curve_->setName(tr("AUC %1").arg(aucText));
    chart()->setTitle(tr("ROC (validation, epoch %1)").arg(epoch));
}

void RocChart::clear() {
    curve_->clear();
    curve_->setName(tr("ROC"));
    chart()->setTitle(tr("ROC (validation)"));
}

}  // namespace lucida::ui
