#include "PropertiesPanel.h"

#include "ImageDocument.h"
#include "TileImage.h"

#include <QHeaderView>
#include <QLabel>
#include <QScrollArea>
#include <QSplitter>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace lucida::ui {

PropertiesPanel::PropertiesPanel(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* splitter = new QSplitter(Qt::Vertical, this);
    tree_ = new QTreeWidget(splitter);
    tree_->setColumnCount(2);
    tree_->setHeaderLabels({tr("Property"), tr("Value")});
    tree_->header()->setSectionResizeMode(0, QHeaderView::Interactive);
    tree_->setColumnWidth(0, 150);
    tree_->setAlternatingRowColors(true);
    auto* scroll = new QScrollArea(splitter);
    scroll->setWidgetResizable(true);
    associated_ = new QWidget;
    associatedLayout_ = new QVBoxLayout(associated_);
    scroll->setWidget(associated_);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    layout->addWidget(splitter);

    connect(&watcher_, &QFutureWatcher<QList<QPair<QString, QImage>>>::finished, this, [this] {
        QList<QPair<QString, QImage>> images;
        try {
            images = watcher_.result();
        } catch (...) {
        }
        for (const auto& [name, image] : images) {
            auto* caption = new QLabel(QStringLiteral("<b>%1</b> (%2 × %3)")
                                           .arg(name)
                                           .arg(image.width())
                                           .arg(image.height()));
            auto* picture = new QLabel;
            picture->setPixmap(QPixmap::fromImage(
                image.scaled(240, 240, Qt::KeepAspectRatio, Qt::SmoothTransformation)));
            associatedLayout_->addWidget(caption);
            associatedLayout_->addWidget(picture);
        }
        associatedCount_ = static_cast<int>(images.size());
        associatedLayout_->addStretch();
    });
}

void PropertiesPanel::setDocument(ImageDocument* document) {
    tree_->clear();
    while (QLayoutItem* item = associatedLayout_->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    associatedCount_ = 0;
    if (!document) return;
    const ImageInfo& info = document->info();
    auto add = [](QTreeWidgetItem* parent, const QString& k, const QString& v) {
        auto* item = new QTreeWidgetItem(parent, {k, v});
        item->setToolTip(1, v);
        return item;
    };
    auto* summary = new QTreeWidgetItem(tree_, {tr("Image")});
    add(summary, tr("File"), document->path());
    add(summary, tr("Format"), QString::fromStdString(info.format));
    add(summary, tr("Size"), QStringLiteral("%1 × %2 px").arg(info.width()).arg(info.height()));
    if (info.sliceCount > 1) add(summary, tr("Slices"), QString::number(info.sliceCount));
    add(summary, tr("Pixels"),
        info.pixelFormat == PixelFormat::Gray16 ? tr("16-bit grey") : tr("8-bit colour"));
    if (info.mppX) {
        const bool mm = info.displayUnit == LengthUnit::Millimetre;
        const double f = mm ? 1e-3 : 1.0;
        add(summary, tr("Pixel size"),
            QStringLiteral("%1 × %2 %3")
                .arg(*info.mppX * f)
                .arg(info.mppY.value_or(*info.mppX) * f)
                .arg(mm ? "mm" : "µm"));
    }
    if (info.objectivePower)
        add(summary, tr("Objective"), QStringLiteral("%1×").arg(*info.objectivePower));
    auto* levels = new QTreeWidgetItem(tree_, {tr("Levels"), QString::number(info.levels.size())});
    for (std::size_t i = 0; i < info.levels.size(); ++i)
        add(levels, QString::number(i),
            QStringLiteral("%1 × %2 (downsample %3)")
                .arg(info.levels[i].width)
                .arg(info.levels[i].height)
                .arg(info.levels[i].downsample));
    // Vendor and DICOM properties, grouped by their prefix ("aperio.", "dicom.", "tiff."...).
    QMap<QString, QTreeWidgetItem*> groups;
    for (const auto& [key, value] : info.properties) {
        const QString k = QString::fromStdString(key);
        const int dot = k.indexOf('.');
        const QString group = dot > 0 ? k.left(dot) : tr("other");
        if (!groups.contains(group)) groups[group] = new QTreeWidgetItem(tree_, {group});
        add(groups[group], dot > 0 ? k.mid(dot + 1) : k, QString::fromStdString(value));
    }
    summary->setExpanded(true);
    if (groups.contains("dicom")) groups["dicom"]->setExpanded(true);

    auto source = document->source();
    watcher_.setFuture(QtConcurrent::run([source] {
        QList<QPair<QString, QImage>> images;
        for (const std::string& name : source->info().associatedImages) {
            try {
                images.append({QString::fromStdString(name),
                               toDisplayImage(source->readAssociatedImage(name), GrayLut())});
            } catch (const std::exception&) {
                // A broken label must not hide the others.
            }
        }
        return images;
    }));
}

}  // namespace lucida::ui
