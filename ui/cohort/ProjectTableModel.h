#pragma once

// The rows of the Project dock: one per image (name with thumbnail, size, pixel size, analysis
// status, slide score, the image's own settings, label, group). Sorting uses kSortRole (numbers as
// numbers). Excluded images are greyed.

#include "ImageScan.h"
#include "cohort/Cohort.h"

#include <QAbstractTableModel>

#include <vector>

namespace lucida::ui {

class ProjectTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    // What a cohort is read for first (status, score, label) before the sizes.
    enum Column { Image, Status, Score, Own, Label, Group, Size, PixelSize, ColumnCount };
    static constexpr int kSortRole = Qt::UserRole;
    static constexpr int kPathRole = Qt::UserRole + 1;

    using QAbstractTableModel::QAbstractTableModel;

    void setImages(std::vector<CohortImage> images);  // scans reset
    const std::vector<CohortImage>& images() const { return images_; }
    const CohortImage& image(int row) const { return images_.at(std::size_t(row)); }
    const ImageScan& scan(int row) const { return scans_.at(std::size_t(row)); }
    // The image's own settings changed (the caller saves the project and rescans the row).
    void setImageSettings(int row, const ImageSettings& own);
    // A scan arrived: keeps the thumbnail it had when this one has none (a status-only rescan).
    void setScan(int row, ImageScan scan);
    // What the queue is doing with the row ("queued", "analysing 42 %"; "" none): shown in the
    // status column until the row's next scan.
    void setQueueText(int row, const QString& text);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    QVariant display(int row, int column) const;
    QVariant sortKey(int row, int column) const;

    std::vector<CohortImage> images_;
    std::vector<ImageScan> scans_;
    std::vector<QString> queueTexts_;
};

}  // namespace lucida::ui
