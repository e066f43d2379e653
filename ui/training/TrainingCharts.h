#pragma once

#include "train/Metrics.h"

#include <QChartView>
#include <QString>
#include <QStringList>

#include <vector>

class QLineSeries;
class QValueAxis;

namespace lucida::ui {

// Curves against the epoch (1, 2, …): one line series per name, axes growing with the data.
class CurveChart : public QChartView {
    Q_OBJECT
public:
    CurveChart(const QString& title, const QString& yTitle, const QStringList& seriesNames,
               QWidget* parent = nullptr);

    void append(int series, double epoch, double value);
    void clear();
    // Accuracies: the y axis stays within [0, 1].
    void setUnitRange(bool unit);
    QLineSeries* series(int i) const { return series_.at(static_cast<std::size_t>(i)); }
    int seriesCount() const { return static_cast<int>(series_.size()); }

private:
    void updateAxes();

    std::vector<QLineSeries*> series_;
    QValueAxis* xAxis_;
    QValueAxis* yAxis_;
    bool unitRange_ = false;
};

// The validation ROC curve of the latest epoch, with the chance diagonal and the AUC in the title.
class RocChart : public QChartView {
    Q_OBJECT
public:
    explicit RocChart(QWidget* parent = nullptr);

    void setCurve(const std::vector<RocPoint>& roc, double auc, int epoch);
    void clear();
    QLineSeries* curve() const { return curve_; }

private:
    QLineSeries* curve_;
    QLineSeries* diagonal_;
};

}  // namespace lucida::ui
