#include "ProjectTableModel.h"

#include <QBrush>
#include <QFileInfo>
#include <QPalette>

namespace lucida::ui {

void ProjectTableModel::setImages(std::vector<CohortImage> images) {
    beginResetModel();
    images_ = std::move(images);
    scans_.assign(images_.size(), ImageScan{});
    queueTexts_.assign(images_.size(), QString());
    endResetModel();
}

void ProjectTableModel::setScan(int row, ImageScan scan) {
    if (row < 0 || row >= rowCount()) return;
    auto& old = scans_[std::size_t(row)];
    if (scan.thumbnail.isNull()) scan.thumbnail = old.thumbnail;
    old = std::move(scan);
    queueTexts_[std::size_t(row)].clear();
    emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

void ProjectTableModel::setImageSettings(int row, const ImageSettings& own) {
    if (row < 0 || row >= rowCount()) return;
    images_[std::size_t(row)].settings = own;
    emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

void ProjectTableModel::setQueueText(int row, const QString& text) {
    if (row < 0 || row >= rowCount() || queueTexts_[std::size_t(row)] == text) return;
    queueTexts_[std::size_t(row)] = text;
    emit dataChanged(index(row, Status), index(row, Status));
}

int ProjectTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(images_.size());
}

int ProjectTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ProjectTableModel::display(int row, int column) const {
    const CohortImage& image = images_[std::size_t(row)];
    const ImageScan& scan = scans_[std::size_t(row)];
    switch (column) {
        case Image:
            return QFileInfo(QString::fromStdString(image.path)).fileName();
        case Size:
            return scan.width ? tr("%1 × %2").arg(scan.width).arg(scan.height) : QVariant();
        case PixelSize:
            if (!scan.micronsPerPixel) return {};
            return (image.settings.pixelSize ? tr("%1 µm (own)") : tr("%1 µm"))
                .arg(*scan.micronsPerPixel, 0, 'f', 3);
        case Own:
            return QString::fromStdString(describe(image.settings));
        case Status: {
            const QString& queued = queueTexts_[std::size_t(row)];
            if (!queued.isEmpty()) return queued;
            // As `batch`'s table says: an excluded image is neither analysed nor failed (what the
            // scan found stays in the tooltip).
            if (image.settings.excluded) return tr("excluded");
            // The row names the image: the path before the reason is left to the tooltip.
            return statusText(scan).replace(QString::fromStdString(image.path) + ": ", QString());
        }
        case Score:
            return scan.score ? QString::number(*scan.score, 'f', 4) : QVariant();
        case Label:
            return QString::fromStdString(image.label);
        case Group:
            return QString::fromStdString(image.group);
    }
    return {};
}

QVariant ProjectTableModel::sortKey(int row, int column) const {
    const ImageScan& scan = scans_[std::size_t(row)];
    switch (column) {
        case Size:
            return double(scan.width) * double(scan.height);
        case PixelSize:
            return scan.micronsPerPixel.value_or(-1);
        case Status:  // by how far along: failed and missing first, done last
            return int(scan.status) * 1000 +
                   (scan.total ? int(1000.0 * scan.done / scan.total) : 0);
        case Score:
            return scan.score.value_or(-1);
        default:
            return display(row, column);
    }
}

QVariant ProjectTableModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const int row = index.row();
    const ImageScan& scan = scans_[std::size_t(row)];
    switch (role) {
        case Qt::DisplayRole:
            return display(row, index.column());
        case kSortRole:
            return sortKey(row, index.column());
        case kPathRole:
            return QString::fromStdString(images_[std::size_t(row)].path);
        case Qt::DecorationRole:
            if (index.column() == Image && !scan.thumbnail.isNull()) return scan.thumbnail;
            return {};
        case Qt::ToolTipRole:
            if (index.column() == Status && !scan.error.isEmpty()) return scan.error;
            if (index.column() == Own)
                return images_[std::size_t(row)].settings.empty()
                           ? tr("The window's settings (Image Settings… in the context menu)")
                           : tr("Its own settings, over the window's: %1")
                                 .arg(QString::fromStdString(
                                     describe(images_[std::size_t(row)].settings)));
            return QString::fromStdString(images_[std::size_t(row)].path);
        case Qt::ForegroundRole:
            if (scan.status == ImageStatus::Missing || images_[std::size_t(row)].settings.excluded)
                return QPalette().brush(QPalette::Disabled, QPalette::Text);
            if (scan.status == ImageStatus::Failed && index.column() == Status)
                return QBrush(QColor(0xc0, 0x20, 0x20));
            return {};
        case Qt::TextAlignmentRole:
            if (index.column() == Score || index.column() == Size || index.column() == PixelSize)
                return int(Qt::AlignRight | Qt::AlignVCenter);
            return {};
    }
    return {};
}

QVariant ProjectTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case Image:
            return tr("Image");
        case Size:
            return tr("Size (px)");
        case PixelSize:
            return tr("Pixel");
        case Status:
            return tr("Status");
        case Score:
            return tr("Score");
        case Label:
            return tr("Label");
        case Group:
            return tr("Group");
        case Own:
            return tr("Own settings");
    }
    return {};
}

}  // namespace lucida::ui
