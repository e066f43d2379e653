#include "BookmarkMover.h"

#include "BookmarkViewState.h"
#include "SlideView.h"

#include <QEasingCurve>
#include <QVariantAnimation>

#include <cmath>

namespace lucida::ui {

BookmarkMover::BookmarkMover(QObject* parent)
    : QObject(parent), animation_(new QVariantAnimation(this)) {
    animation_->setStartValue(0.0);
    animation_->setEndValue(1.0);
    animation_->setEasingCurve(QEasingCurve::InOutCubic);
    connect(animation_, &QVariantAnimation::valueChanged, this,
            [this](const QVariant& v) { step(v.toDouble()); });
    connect(animation_, &QVariantAnimation::finished, this, [this] {
        if (view_) applyBookmarkGeometry(target_, *view_);  // exactly, whatever the last frame
        emit arrived();
    });
}

bool BookmarkMover::isMoving() const { return animation_->state() == QAbstractAnimation::Running; }

void BookmarkMover::finish() {
    if (isMoving()) animation_->setCurrentTime(animation_->duration());  // emits finished
}

void BookmarkMover::moveTo(SlideView* view, const Bookmark& bookmark, int ms) {
    finish();
    view_ = view;
    target_ = bookmark;
    if (!view) return;
    const ViewGeometry& g = view->viewGeometry();
    fromX_ = g.centreX;
    fromY_ = g.centreY;
    fromScale_ = g.scale;
    if (ms <= 0) {
        applyBookmarkGeometry(target_, *view);
        emit arrived();
        return;
    }
    animation_->setDuration(ms);
    animation_->start();
}

void BookmarkMover::step(double t) {
    if (!view_ || !isMoving()) return;
    const double scale = fromScale_ * std::pow(target_.scale / fromScale_, t);
    view_->setScale(scale);
    view_->setCentre(fromX_ + (target_.centreX - fromX_) * t,
                     fromY_ + (target_.centreY - fromY_) * t);
}

}  // namespace lucida::ui
