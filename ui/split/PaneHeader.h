#pragma once

#include <QWidget>

class QComboBox;
class QToolButton;

namespace lucida::ui {

class ModelSession;

// The strip above a split view's pane: which model (the window's, or another recent one), CAM
// method, class and layer this pane shows, and whether it moves with the other panes. It edits
// the pane's ModelSession; the pane's AnalysisController follows the session as the window's
// follows the Analysis panel. `window` is the window's session (its model and recent models).
class PaneHeader : public QWidget {
    Q_OBJECT
public:
    PaneHeader(ModelSession* session, ModelSession* window, QWidget* parent = nullptr);

    QComboBox* modelCombo() const { return model_; }
    QComboBox* methodCombo() const { return method_; }
    QComboBox* classCombo() const { return class_; }
    QComboBox* layerCombo() const { return layer_; }
    QToolButton* linkButton() const { return link_; }
    // The pane's model is the window's (and follows it) rather than one chosen here.
    bool followsWindowModel() const;

signals:
    void windowModelChosen();               // "Window's model" picked again
    void modelChosen(const QString& path);  // another model for this pane

private:
    void showModels();
    void showSettings();
    void showClasses();

    ModelSession* session_;
    ModelSession* window_;
    QComboBox* model_;
    QComboBox* method_;
    QComboBox* class_;
    QComboBox* layer_;
    QToolButton* link_;
};

}  // namespace lucida::ui
