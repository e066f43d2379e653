#pragma once
// The progress of one figure export: a bar, what is being done with its rate and time left
// ("Rendering the figure… 12.3 Mpx/s, 4.2 s left", "Encoding the PNG… 38 MB"), and Cancel, which
// stops the worker (the export then writes nothing).

#include <QProgressDialog>

namespace lucida::ui {

class FigureExportJob;

class FigureProgressDialog : public QProgressDialog {
    Q_OBJECT
public:
    FigureProgressDialog(FigureExportJob* job, const QString& format, QWidget* parent = nullptr);

private:
    FigureExportJob* job_;
    QString format_;
};

}  // namespace lucida::ui
