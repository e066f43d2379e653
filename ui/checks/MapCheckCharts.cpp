#include "MapCheckCharts.h"

#include "ChartStyle.h"

#include <QCategoryAxis>
#include <QChart>
#include <QLineSeries>
#include <QPen>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace lucida::ui {

namespace {

QLineSeries* addSeries(QChart* chart, const QString& objectName, QColor colour, bool dashed) {
    auto* s = new QLineSeries;
    s->setObjectName(objectName);
    QPen pen(colour);
    pen.setWidth(2);
    if (dashed) pen.setStyle(Qt::DashLine);
    s->setPen(pen);
    chart->addSeries(s);
    return s;
}

QValueAxis* valueAxis(const QString& title, double low, double high) {
    auto* axis = new QValueAxis;
    axis->setTitleText(title);
    axis->setRange(low, high);
    axis->setTickCount(int(std::lround((high - low) / 0.2)) + 1);  // a line every 0.2
    axis->setLabelFormat("%.1f");
    return axis;
}

}  // namespace

RandomisationChart::RandomisationChart(QWidget* parent)
    : QChartView(parent),
      x_(new QCategoryAxis),
      y_(valueAxis(tr("similarity to the original"), -0.2, 1.05)) {
    setObjectName("randomisationChart");
    QChart* c = makeChart(tr("Model randomisation (head first)"));
    spearman_ = addSeries(c, "spearman", QColor(0x1f77b4), false);
    ssim_ = addSeries(c, "ssim", QColor(0xff7f0e), false);
    spearman_->setName(tr("Spearman rank correlation"));
    ssim_->setName(tr("SSIM"));
    spearman_->setPointsVisible(true);
    ssim_->setPointsVisible(true);
    x_->setTitleText(tr("randomised down to"));
    x_->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
    c->addAxis(x_, Qt::AlignBottom);
    c->addAxis(y_, Qt::AlignLeft);
    for (QLineSeries* s : {spearman_, ssim_}) {
        s->attachAxis(x_);
        s->attachAxis(y_);
    }
    setChart(c);
    setRenderHint(QPainter::Antialiasing);
    setMinimumSize(360, 260);
}

void RandomisationChart::clear() {
    spearman_->clear();
    ssim_->clear();
    for (const QString& label : x_->categoriesLabels()) x_->remove(label);
}

void RandomisationChart::show(const RandomisationResult& r) {
    clear();
    spearman_->append(0, 1);
    ssim_->append(0, 1);
    x_->append(tr("original"), 0);
    double low = 0;
    for (std::size_t i = 0; i < r.stages.size(); ++i) {
        const auto& s = r.stages[i];
        spearman_->append(double(i + 1), s.spearman);
        ssim_->append(double(i + 1), s.ssim);
        x_->append(QString::fromStdString(s.block), double(i + 1));
        low = std::min({low, s.spearman, s.ssim});
    }
    x_->setRange(-0.2, double(r.stages.size()) + 0.2);
    low = std::floor(low / 0.2) * 0.2 - 0.2;  // on a grid line, below the lowest point
    y_->setRange(low, 1.0);
    y_->setTickCount(int(std::lround((1.0 - low) / 0.2)) + 1);
}

QStringList RandomisationChart::stageLabels() const { return x_->categoriesLabels(); }

FaithfulnessChart::FaithfulnessChart(QWidget* parent) : QChartView(parent) {
    setObjectName("faithfulnessChart");
    QChart* c = makeChart(tr("Deletion and insertion"));
    series_[0] = addSeries(c, "deletion", QColor(0xd62728), false);
    series_[1] = addSeries(c, "insertion", QColor(0x2ca02c), false);
    series_[2] = addSeries(c, "random_deletion", QColor(0xd62728), true);
    series_[3] = addSeries(c, "random_insertion", QColor(0x2ca02c), true);
    auto* x = valueAxis(tr("share of pixels removed (deletion) or restored (insertion)"), 0, 1);
    auto* y = valueAxis(tr("probability of the class"), 0, 1);
    c->addAxis(x, Qt::AlignBottom);
    c->addAxis(y, Qt::AlignLeft);
    for (QLineSeries* s : series_) {
        s->attachAxis(x);
        s->attachAxis(y);
    }
    clear();
    setChart(c);
    setRenderHint(QPainter::Antialiasing);
    setMinimumSize(360, 260);
}

void FaithfulnessChart::clear() {
    const QString names[] = {tr("Deletion"), tr("Insertion"), tr("Random deletion"),
                             tr("Random insertion")};
    for (int k = 0; k < 4; ++k) {
        series_[k]->clear();
        series_[k]->setName(names[k]);
    }
}

void FaithfulnessChart::show(const FaithfulnessResult& r) {
    clear();
    const Curve* curves[] = {&r.deletion, &r.insertion, &r.randomDeletion, &r.randomInsertion};
    for (int k = 0; k < 4; ++k) {
        for (std::size_t i = 0; i < curves[k]->share.size(); ++i)
            series_[k]->append(curves[k]->share[i], curves[k]->probability[i]);
    }
}

QString faithfulnessVerdict(const FaithfulnessResult& r) {
    // A difference under this (of AUC, on a 0..1 scale) is read as no difference.
    constexpr double kMargin = 0.02;
    const bool deletes = r.deletion.auc < r.randomDeletion.auc - kMargin;
    const bool inserts = r.insertion.auc > r.randomInsertion.auc + kMargin;
    const QString numbers =
        QObject::tr("deletion AUC %1 against %2 in a random order, insertion AUC %3 against %4")
            .arg(r.deletion.auc, 0, 'f', 3)
            .arg(r.randomDeletion.auc, 0, 'f', 3)
            .arg(r.insertion.auc, 0, 'f', 3)
            .arg(r.randomInsertion.auc, 0, 'f', 3);
    if (deletes && inserts)
        return QObject::tr(
                   "The map is faithful: removing its hottest pixels first lowers the "
                   "probability faster, and restoring them first raises it faster, than "
                   "a random order (%1).")
            .arg(numbers);
    if (deletes || inserts)
        return QObject::tr("The map is partly faithful: only %1 beats a random order (%2).")
            .arg(deletes ? QObject::tr("deletion") : QObject::tr("insertion"))
            .arg(numbers);
    return QObject::tr(
               "The map's order does no better than a random one (%1): either the map "
               "does not show what the model uses, or the removal leaks it (try mean "
               "removal).")
        .arg(numbers);
}

}  // namespace lucida::ui
