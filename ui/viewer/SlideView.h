#pragma once

#include "ImageDocument.h"
#include "Layer.h"
#include "SceneRenderer.h"
#include "tiles/TileGrid.h"
#include "tiles/TileLoader.h"
#include "tiles/ViewGeometry.h"

#include <QElapsedTimer>
#include <QWidget>

#include <memory>
#include <optional>

class QTimer;
class QPainter;

namespace lucida::ui {

class TileService;

// The image on screen. Paints its SceneRenderer's layers from what is cached, asks the
// TileService for the rest (visible tiles centre-out, then a ring to prefetch) and repaints as
// tiles arrive; coarser levels show through until the finer tiles are there. It never decodes:
// decoding is the loader's, on its threads.
class SlideView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kTileSize = ImageLayer::kTileSize;

    SlideView(ImageDocument* document, TileService* tiles, QWidget* parent = nullptr);
    ~SlideView() override;

    ImageDocument* document() const { return document_; }
    TileService* tileService() const { return tiles_; }  // the shared cache and loader
    const ViewGeometry& viewGeometry() const { return geometry_; }

    void setCentre(double x, double y);
    void setScale(double scale);  // around the centre
    void zoomAt(QPointF screen, double factor);
    void zoomBy(double factor);  // around the centre
    void fitToWindow();
    void showActualPixels();  // one screen pixel per level-0 pixel
    void rotateClockwise();
    void panByScreen(double dx, double dy);

    // Objective-equivalent magnification, when the image says its objective power.
    std::optional<double> magnification() const;
    void setMagnification(double magnification);

    // After the last paint: were all visible tiles of the best level there?
    bool isFullyLoaded() const { return fullyLoaded_; }
    int displayedLevel() const { return displayedLevel_; }
    double lastPaintMilliseconds() const { return lastPaintMs_; }

    QPointF imageToScreen(QPointF image) const;
    QPointF screenToImage(QPointF screen) const;

    // The layers painted (the image, the overlay's, the scale bar); also renders off-screen.
    SceneRenderer& renderer() { return *renderer_; }

    // The analysis' layers, in the renderer's analysis slot (not owned; null: none). The overlay
    // asks for repaints itself.
    void setOverlay(SlideOverlay* overlay);
    SlideOverlay* overlay() const { return overlay_; }

    // The DICOM patient's name, ID and birth date in the top-left corner (PatientDetails.h: off
    // unless the user turns them on). The study, slice and window text stays either way.
    void setPatientDetailsShown(bool shown);
    bool patientDetailsShown() const { return patientDetailsShown_; }

signals:
    void viewChanged();
    void cursorMoved(QPointF imagePosition, bool insideImage);
    void tileError(const QString& message);

protected:
    void paintEvent(QPaintEvent*) override;
    void resizeEvent(QResizeEvent*) override;
    void wheelEvent(QWheelEvent*) override;
    void mousePressEvent(QMouseEvent*) override;
    void mouseMoveEvent(QMouseEvent*) override;
    void mouseReleaseEvent(QMouseEvent*) override;
    void mouseDoubleClickEvent(QMouseEvent*) override;
    void keyPressEvent(QKeyEvent*) override;
    bool event(QEvent*) override;

private:
    void changed();  // geometry changed: clamp, repaint, tell listeners
    double minScale() const;
    double maxScale() const;
    void drawDicomText(QPainter& painter) const;
    std::vector<TileKey> coarsestTiles() const;
    void tileArrived();

    ImageDocument* document_;
    TileService* tiles_;
    TileLoader::ClientId client_;
    ViewGeometry geometry_;
    bool fitMode_ = true;  // the view fits the window until the user moves it
    bool fullyLoaded_ = false;
    int displayedLevel_ = 0;
    double lastPaintMs_ = 0;
    std::unique_ptr<SceneRenderer> renderer_;
    bool reportedError_ = false;
    bool patientDetailsShown_ = false;
    // While tiles stream in: the visible tiles the last paint lacked, when it began, and the timer
    // of the next paint, so arrivals do not repaint the whole view once each.
    std::vector<TileKey> missing_;
    QElapsedTimer sinceLastPaint_;
    QTimer* loadingRepaint_;
    SlideOverlay* overlay_ = nullptr;
    std::vector<Layer*> overlayLayers_;  // what the overlay put in the renderer

    enum class Drag { None, Pan, Window } drag_ = Drag::None;
    QPointF lastMouse_;
};

}  // namespace lucida::ui
Q_DECLARE_METATYPE(lucida::ui::SlideView*)
