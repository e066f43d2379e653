#pragma once

// The look every Lucida chart shares (training curves, map checks). Header-only: only the
// libraries that link Qt Charts include it.

#include <QChart>

namespace lucida::ui {

inline QChart* makeChart(const QString& title) {
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->setMargins(QMargins(4, 4, 4, 4));
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setAnimationOptions(QChart::NoAnimation);
    return chart;
}

}  // namespace lucida::ui
