#include "PatientDetails.h"

#include "SlideView.h"

#include <QAction>
#include <QSettings>

namespace lucida::ui {

namespace {
constexpr auto kKey = "viewer/showPatientDetails";
}

bool savedPatientDetailsShown() { return QSettings().value(kKey, false).toBool(); }

void savePatientDetailsShown(bool shown) { QSettings().setValue(kKey, shown); }

QAction* createPatientDetailsAction(QWidget* window) {
    auto* action = new QAction(QObject::tr("&Patient Details"), window);
    action->setObjectName("patientDetailsAction");
    action->setCheckable(true);
    action->setChecked(savedPatientDetailsShown());
    QObject::connect(action, &QAction::toggled, window, [window](bool shown) {
        savePatientDetailsShown(shown);
        for (SlideView* view : window->findChildren<SlideView*>())
            view->setPatientDetailsShown(shown);
    });
    return action;
}

}  // namespace lucida::ui
