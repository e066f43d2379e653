#pragma once
// The Check This Map dialog's two plots (Qt Charts): the randomisation cascade (Spearman and SSIM
// of the map against the original, per stage from the head down) and the deletion/insertion
// curves with their random-order baselines (AUCs in the legend).

#include "checks/Faithfulness.h"
#include "checks/Randomisation.h"

#include <QChartView>
#include <QString>

class QLineSeries;
class QCategoryAxis;
class QValueAxis;

namespace lucida::ui {

class RandomisationChart : public QChartView {
    Q_OBJECT
public:
    explicit RandomisationChart(QWidget* parent = nullptr);
    // Point 0 is the original map (1, 1); point k the stage k's values, labelled with its block.
    void show(const RandomisationResult& result);
    void clear();
    QLineSeries* spearman() const { return spearman_; }
    QLineSeries* ssim() const { return ssim_; }
    QStringList stageLabels() const;  // the x axis' labels, "original" first

private:
    QLineSeries *spearman_, *ssim_;
    QCategoryAxis* x_;
    QValueAxis* y_;
};

class FaithfulnessChart : public QChartView {
    Q_OBJECT
public:
    explicit FaithfulnessChart(QWidget* parent = nullptr);
    void show(const FaithfulnessResult& result);
    void clear();
    // 0 deletion, 1 insertion, 2 random deletion, 3 random insertion: (share, probability).
    QLineSeries* series(int k) const { return series_[k]; }

private:
    QLineSeries* series_[4];
};

// The curves in plain words: whether the map's order beats a random one.
QString faithfulnessVerdict(const FaithfulnessResult& result);

}  // namespace lucida::ui
