#include "FigureProgressDialog.h"

#include "FigureExportJob.h"
#include "util/ProgressText.h"

#include <cmath>

namespace lucida::ui {

namespace {

constexpr int kSteps = 1000;

QString progressLabel(const FigureProgress::State& s, const QString& format) {
    if (s.stage == FigureProgress::Stage::Rendering) {
        const double rate = s.seconds > 0 ? s.done / 1e6 / s.seconds : 0;
        const double left = secondsLeft((s.total - s.done) / 1e6, rate);
        return QObject::tr("Rendering the figure… %1, %2 left")
            .arg(QString::fromStdString(rateText(rate, "Mpx")),
                 QString::fromStdString(durationText(left)));
    }
    return QObject::tr("Encoding the %1… %2 MB").arg(format).arg(s.encodedBytes / 1e6, 0, 'f', 1);
}

}  // namespace

FigureProgressDialog::FigureProgressDialog(FigureExportJob* job, const QString& format,
                                           QWidget* parent)
    : QProgressDialog(tr("Rendering the figure…"), tr("Cancel"), 0, kSteps, parent),
      job_(job),
      format_(format) {
    setWindowTitle(tr("Export Figure"));
    setWindowModality(Qt::WindowModal);
    setMinimumDuration(300);
    setAutoClose(false);
    setAutoReset(false);
    setValue(0);
    connect(this, &QProgressDialog::canceled, job_, &FigureExportJob::cancel);
    connect(job_, &FigureExportJob::progressed, this, [this](const FigureProgress::State& s) {
        // Rendering fills the bar to 90 %; encoding, whose length is not known, the rest at once.
        const double rendered = s.done / std::max(1.0, s.total);
        const double fraction = s.stage == FigureProgress::Stage::Rendering
                                    ? 0.9 * rendered
                                    : (s.stage == FigureProgress::Stage::Done ? 1.0 : 0.95);
        setValue(int(std::lround(fraction * kSteps)));
        setLabelText(progressLabel(s, format_));
    });
}

}  // namespace lucida::ui
