#pragma once

#include "ImageDocument.h"
#include "TileImage.h"
#include "tiles/TileGrid.h"
#include "tiles/TileLoader.h"
#include "tiles/ViewGeometry.h"

#include <QCache>
#include <QElapsedTimer>
#include <QWidget>

#include <optional>

class QTimer;
class QPainter;
class QTransform;

namespace lucida::ui {

class TileService;

// Something drawn over the image (a heatmap, outlines) in level-0 coordinates: `imageToPainter`
// maps level-0 pixels to the painter's current coordinates (rotation included by the painter) and
// `visible` is the level-0 rectangle on screen. Painted on the GUI thread at every paint: keep it
// to drawing what is prepared.
class SlideOverlay {
public:
    virtual ~SlideOverlay() = default;
    virtual void paint(QPainter& painter, const QTransform& imageToPainter,
                       const QRectF& visible) = 0;
};

// Tiles drawn on screen and a tile-display key: the tile, plus the grey window it was drawn with.
struct DisplayKey {
    TileKey tile;
    double centre = 0;
    double width = 0;
    bool operator==(const DisplayKey&) const = default;
};
size_t qHash(const DisplayKey& key, size_t seed = 0) noexcept;

// The image on screen. Paints what is cached, asks the TileService for the rest (visible tiles
// centre-out, then a ring to prefetch) and repaints as tiles arrive; coarser levels show through
// until the finer tiles are there. It never decodes: decoding is the loader's, on its threads.
class SlideView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kTileSize = 256;

    SlideView(ImageDocument* document, TileService* tiles, QWidget* parent = nullptr);
    ~SlideView() override;

    ImageDocument* document() const { return document_; }
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

    // Drawn on top of the tiles (not owned; null: none). The overlay asks for repaints itself.
    void setOverlay(SlideOverlay* overlay);
    SlideOverlay* overlay() const { return overlay_; }

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
    const QImage* displayImage(const TileKey& key, const TilePtr& tile);
    void drawTile(QPainter& painter, const TileKey& key, const QImage& image) const;
    void drawScaleBar(QPainter& painter) const;
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
    GrayLut grayLut_;
    QCache<DisplayKey, QImage> displayCache_;
    bool reportedError_ = false;
    // While tiles stream in: the visible tiles the last paint lacked, when it began, and the timer
    // of the next paint, so arrivals do not repaint the whole view once each.
    std::vector<TileKey> missing_;
    QElapsedTimer sinceLastPaint_;
    QTimer* loadingRepaint_;
    SlideOverlay* overlay_ = nullptr;

    enum class Drag { None, Pan, Window } drag_ = Drag::None;
    QPointF lastMouse_;
};

}  // namespace lucida::ui
Q_DECLARE_METATYPE(lucida::ui::SlideView*)
