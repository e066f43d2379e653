// The Analysis panel's run-setting combo boxes (see RunSettingCombos.h).
#include "RunSettingCombos.h"

#include "analysis/SlideAnalysis.h"

#include <QComboBox>
#include <QCoreApplication>

namespace lucida {
namespace {

QString tr(const char* text) { return QCoreApplication::translate("AnalysisPanel", text); }

QComboBox* comboNamed(const char* name, QWidget* parent) {
    auto* combo = new QComboBox(parent);
    combo->setObjectName(name);
    return combo;
}

}  // namespace

QComboBox* makeFitCombo(QWidget* parent) {
    QComboBox* fit = comboNamed("fitCombo", parent);
    fit->addItem(tr("Automatic"), int(ImageFit::Auto));
    fit->addItem(tr("Whole image"), int(ImageFit::WholeImage));
    fit->addItem(tr("Sliding patches"), int(ImageFit::Patches));
    fit->setToolTip(
        tr("Automatic: the whole image resized to the model input when neither the model nor the "
           "image has a physical scale (photos, MRI slices), else patches at the model's scale"));
    return fit;
}

QComboBox* makeOverlapCombo(QWidget* parent) {
    QComboBox* overlap = comboNamed("overlapCombo", parent);
    for (int percent : {0, 25, 50})
        overlap->addItem(percent == 0 ? tr("none") : QStringLiteral("%1 %").arg(percent),
                         percent / 100.0);
    overlap->setToolTip(
        tr("Overlapping patches, blended: smoother heat, more patches (25 %: 1.8x, 50 %: 4x)"));
    return overlap;
}

QComboBox* makeModeCombo(QWidget* parent) {
    QComboBox* mode = comboNamed("modeCombo", parent);
    mode->addItem(tr("Seamless (dense)"), int(AnalysisMode::Dense));
    mode->addItem(tr("Per patch, as trained"), int(AnalysisMode::Patch));
    mode->setToolTip(
        tr("Seamless: the network runs once over large tiles, one continuous map without patch "
           "seams (GAP + linear heads; CAM, Grad-CAM, HiResCAM, LayerCAM; otherwise patches are "
           "used and the run says why). Per patch: every patch on its own, as in training"));
    return mode;
}

QComboBox* makePrecisionCombo(QWidget* parent) {
    QComboBox* precision = comboNamed("precisionCombo", parent);
    precision->addItem(tr("fp32 (exact)"), false);
    precision->addItem(tr("int8 (faster on ResNets)"), true);
    precision->setToolTip(tr(
        "int8: in seamless mode the network's trunk runs with 8-bit integer weights and "
        "activations, calibrated on this image's own tissue and again on any tile whose "
        "activations pass that range (native .pth ResNets and small "
        "CNNs, on the CPU). Measured: a ResNet-18 whole slide 2.3x faster than fp32, CAM r 0.995 "
        "against fp32; no gain for a small CNN; a patch's probability can move by a few percent. "
        "Stored apart from "
        "fp32's results. Where it does not apply (per patch, TorchScript, a GPU) fp32 is used "
        "and the run says why"));
    return precision;
}

}  // namespace lucida
