#include "AnnotationsDock.h"

#include "AnnotationDocument.h"
#include "SlideView.h"

#include <QColorDialog>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIcon>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMessageBox>
#include <QPixmap>
#include <QPushButton>
#include <QTableView>
#include <QTextStream>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace lucida::ui {

namespace {

QString csvField(QString s) {
    if (s.contains(',') || s.contains('"') || s.contains('\n'))
        s = '"' + s.replace('"', "\"\"") + '"';
    return s;
}

QColor qColour(Rgb c) { return QColor(int(c >> 16) & 0xFF, int(c >> 8) & 0xFF, int(c) & 0xFF); }

QIcon colourSwatch(const QColor& colour) {
    QPixmap swatch(12, 12);
    swatch.fill(colour);
    return QIcon(swatch);
}

QString unitWords(const PixelSize& pixel) {
    if (!pixel.known()) return AnnotationsDock::tr("Pixels: the image does not say its pixel size");
    return pixel.unit == PixelSize::Unit::Millimetre ? AnnotationsDock::tr("Millimetres")
                                                     : AnnotationsDock::tr("Micrometres");
}

}  // namespace

AnnotationTableModel::AnnotationTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void AnnotationTableModel::setDocument(AnnotationDocument* document) {
    if (document_) disconnect(document_, nullptr, this, nullptr);
    document_ = document;
    if (document_)
        connect(document_, &AnnotationDocument::changed, this, &AnnotationTableModel::reload);
    reload();
}

void AnnotationTableModel::setClassFilter(const QString& className) {
    filter_ = className;
    reload();
}

void AnnotationTableModel::reload() {
    beginResetModel();
    rows_.clear();
    if (document_) {
        const std::string filter = filter_.toStdString();
        const auto& items = document_->items();
        for (std::size_t i = 0; i < items.size(); ++i)
            if (filter.empty() || items[i].className == filter) rows_.push_back(i);
    }
    endResetModel();
}

int AnnotationTableModel::rowOf(const std::string& id) const {
    if (!document_) return -1;
    const auto at = document_->indexOf(id);
    if (!at) return -1;
    const auto it = std::lower_bound(rows_.begin(), rows_.end(), *at);
    return it != rows_.end() && *it == *at ? int(it - rows_.begin()) : -1;
}

int AnnotationTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(rows_.size());
}

int AnnotationTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant AnnotationTableModel::data(const QModelIndex& index, int role) const {
    if (!document_ || !index.isValid() || index.row() >= int(rows_.size())) return {};
    const Annotation& a = document_->items()[rows_[std::size_t(index.row())]];
    if (role == IdRole) return QString::fromStdString(a.id);
    if (role == Qt::DecorationRole && index.column() == ClassColumn) {
        return qColour(document_->colourOf(a));
    }
    if (role != Qt::DisplayRole && role != ValueRole) return {};
    switch (index.column()) {
        case ClassColumn:
            return a.className.empty() ? tr("(none)") : QString::fromStdString(a.className);
        case ToolColumn:
            return QString::fromStdString(a.name.empty() ? a.tool : a.name);
        case MeasurementColumn: {
            // Measured when shown: only the visible rows of a long list cost anything.
            const Measurement m = measure(a.geometry, document_->pixelSize());
            if (role == ValueRole) return a.geometry.isArea() ? m.area : m.length;
            return QString::fromStdString(m.text);
        }
        case SliceColumn:
            return a.slice < 0 ? QString() : QString::number(a.slice + 1);
        default:
            return {};
    }
}

QVariant AnnotationTableModel::headerData(int section, Qt::Orientation o, int role) const {
    if (o != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
        case ClassColumn:
            return tr("Class");
        case ToolColumn:
            return tr("Name / shape");
        case MeasurementColumn:
            return tr("Area / length");
        case SliceColumn:
            return tr("Slice");
        default:
            return {};
    }
}

AnnotationsDock::AnnotationsDock(QWidget* parent)
    : QDockWidget(tr("Annotations"), parent),
      model_(new AnnotationTableModel(this)),
      table_(new QTableView),
      filter_(new QComboBox),
      setClass_(new QComboBox),
      classList_(new QTreeWidget),
      units_(new QLabel) {
    setObjectName("annotationsDock");
    table_->setModel(model_);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setStretchLastSection(true);
    filter_->setToolTip(tr("Show the annotations of one class"));
    setClass_->setToolTip(tr("Set the class of the selected annotations"));
    setClass_->setObjectName("setClass");
    auto* exportButton = new QPushButton(tr("Export CSV…"));
    exportButton->setObjectName("exportCsv");
    classList_->setObjectName("annotationClasses");
    classList_->setColumnCount(3);
    classList_->setHeaderLabels({tr("Class (for new ones)"), tr("Shown"), tr("Locked")});
    classList_->setRootIsDecorated(false);
    classList_->setToolTip(tr("The class new annotations get; hide or lock each class"));
    classList_->header()->setStretchLastSection(false);
    classList_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    classList_->setMaximumHeight(160);
    auto* newClassButton = new QPushButton(tr("New Class…"));
    newClassButton->setObjectName("newClass");

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Show:")));
    top->addWidget(filter_, 1);
    auto* bottom = new QHBoxLayout;
    bottom->addWidget(new QLabel(tr("Class:")));
    bottom->addWidget(setClass_, 1);
    bottom->addWidget(exportButton);
    auto* body = new QWidget;
    auto* layout = new QVBoxLayout(body);
    layout->addWidget(classList_);
    layout->addWidget(newClassButton, 0, Qt::AlignLeft);
    layout->addLayout(top);
    layout->addWidget(table_, 1);
    layout->addWidget(units_);
    layout->addLayout(bottom);
    setWidget(body);

    connect(filter_, &QComboBox::activated, this, [this] {
        model_->setClassFilter(filter_->currentData().toString());
        documentSelectionChanged();
    });
    connect(setClass_, &QComboBox::activated, this, [this] {
        if (!document_ || setClass_->currentIndex() <= 0) return;
        const auto& sel = document_->selection();
        document_->setClass({sel.begin(), sel.end()},
                            setClass_->currentData().toString().toStdString());
        setClass_->setCurrentIndex(0);
    });
    connect(table_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &AnnotationsDock::tableSelectionChanged);
    connect(table_, &QTableView::clicked, this,
            [this](const QModelIndex& index) { showRow(index.row()); });
    connect(exportButton, &QPushButton::clicked, this, &AnnotationsDock::exportCsvAsked);
    connect(newClassButton, &QPushButton::clicked, this, &AnnotationsDock::newClassAsked);
    connect(classList_, &QTreeWidget::itemChanged, this, &AnnotationsDock::classItemChanged);
    connect(classList_, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* item) {
        if (document_ && item && !filling_)
            document_->setCurrentClass(item->text(ClassNameColumn).toStdString());
    });
    setDocument(nullptr, nullptr);
}

void AnnotationsDock::setDocument(AnnotationDocument* document, SlideView* view) {
    if (document_) disconnect(document_, nullptr, this, nullptr);
    document_ = document;
    view_ = view;
    model_->setDocument(document);
    if (document_) {
        connect(document_, &AnnotationDocument::changed, this, &AnnotationsDock::fillClasses);
        connect(document_, &AnnotationDocument::classesChanged, this,
                &AnnotationsDock::fillClasses);
        connect(document_, &AnnotationDocument::selectionChanged, this,
                &AnnotationsDock::documentSelectionChanged);
    }
    units_->setText(document_ ? unitWords(document_->pixelSize()) : QString());
    fillClasses();
    widget()->setEnabled(document_ != nullptr);
}

void AnnotationsDock::fillClasses() {
    const QString current = filter_->currentData().toString();
    filter_->clear();
    setClass_->clear();
    filter_->addItem(tr("All classes"), QString());
    setClass_->addItem(tr("Set class…"), QString());
    if (document_)
        for (const AnnotationClass& c : document_->classes()) {
            const QString name = QString::fromStdString(c.name);
            filter_->addItem(name, name);
            setClass_->addItem(name, name);
        }
    filter_->setCurrentIndex(std::max(0, filter_->findData(current)));
    fillClassList();
    documentSelectionChanged();
}

void AnnotationsDock::fillClassList() {
    if (filling_) return;  // a box of the list changed the document: the list shows it already
    filling_ = true;
    classList_->clear();
    if (document_)
        for (const AnnotationClass& c : document_->classes()) {
            auto* item = new QTreeWidgetItem(classList_);
            item->setText(ClassNameColumn, QString::fromStdString(c.name));
            item->setIcon(ClassNameColumn, colourSwatch(qColour(c.colour)));
            item->setToolTip(ClassNameColumn, QString::fromStdString(c.description));
            item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsUserCheckable);
            item->setCheckState(ClassShownColumn,
                                document_->isClassHidden(c.name) ? Qt::Unchecked : Qt::Checked);
            item->setCheckState(ClassLockedColumn,
                                document_->isClassLocked(c.name) ? Qt::Checked : Qt::Unchecked);
            if (c.name == document_->currentClass()) classList_->setCurrentItem(item);
        }
    filling_ = false;
}

void AnnotationsDock::classItemChanged(QTreeWidgetItem* item, int column) {
    if (filling_ || !document_) return;
    const std::string name = item->text(ClassNameColumn).toStdString();
    const bool on = item->checkState(column) == Qt::Checked;
    filling_ = true;  // the list is not rebuilt under the item that signals
    if (column == ClassShownColumn) document_->setClassHidden(name, !on);
    if (column == ClassLockedColumn) document_->setClassLocked(name, on);
    filling_ = false;
    if (view_) view_->update();
}

void AnnotationsDock::newClassAsked() {
    if (!document_) return;
    bool ok = false;
    const QString name =
        QInputDialog::getText(this, tr("New class"), tr("Name:"), QLineEdit::Normal, {}, &ok)
            .trimmed()
            .remove('|');
    if (!ok || name.isEmpty()) return;
    const QColor colour = QColorDialog::getColor(Qt::yellow, this, tr("Colour of %1").arg(name));
    if (!colour.isValid()) return;
    const QString description =
        QInputDialog::getText(this, tr("New class"), tr("Description of %1 (optional):").arg(name),
                              QLineEdit::Normal, {}, &ok);
    document_->setCurrentClass(name.toStdString());
    document_->addUserClass({name.toStdString(), Rgb(colour.rgb() & 0xFFFFFF),
                             ok ? description.trimmed().toStdString() : std::string()});
}

void AnnotationsDock::tableSelectionChanged() {
    if (syncing_ || !document_) return;
    std::vector<std::string> ids;
    for (const QModelIndex& i : table_->selectionModel()->selectedRows())
        ids.push_back(i.data(AnnotationTableModel::IdRole).toString().toStdString());
    syncing_ = true;
    document_->select(ids);
    syncing_ = false;
    if (view_) view_->update();
}

void AnnotationsDock::documentSelectionChanged() {
    if (syncing_ || !document_) return;
    syncing_ = true;
    QItemSelection selection;
    for (const std::string& id : document_->selection())
        if (const int row = model_->rowOf(id); row >= 0)
            selection.select(model_->index(row, 0),
                             model_->index(row, AnnotationTableModel::ColumnCount - 1));
    table_->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
    syncing_ = false;
}

void AnnotationsDock::showRow(int row) {
    if (!document_ || row < 0 || row >= model_->rowCount()) return;
    const Annotation& a = document_->items()[model_->itemAt(row)];
    document_->select({a.id});
    if (!view_) return;
    if (a.slice >= 0 && view_->document()->info().sliceCount > 1)
        view_->document()->setSlice(a.slice);
    const Bounds b = boundsOf(a.geometry);
    view_->setCentre((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2);
}

bool AnnotationsDock::exportCsv(const QString& path, QString* error) const {
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) {
        if (error) *error = tr("Cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    QTextStream out(&file);
    out << "id,name,class,tool,slice,area,length,unit\n";
    for (int row = 0; row < model_->rowCount(); ++row) {
        const Annotation& a = document_->items()[model_->itemAt(row)];
        const Measurement m = measure(a.geometry, document_->pixelSize());
        const QString unit = QString::fromStdString(m.unit);
        out << csvField(QString::fromStdString(a.id)) << ','
            << csvField(QString::fromStdString(a.name)) << ','
            << csvField(QString::fromStdString(a.className)) << ','
            << csvField(QString::fromStdString(a.tool)) << ','
            << (a.slice < 0 ? QString() : QString::number(a.slice + 1)) << ','
            << (a.geometry.isArea() ? QString::number(m.area, 'g', 12) : QString()) << ','
            << (a.geometry.isArea() || a.geometry.isLine() ? QString::number(m.length, 'g', 12)
                                                           : QString())
            << ',' << unit << '\n';
    }
    out.flush();
    if (file.error() != QFileDevice::NoError) {
        if (error) *error = tr("Cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

void AnnotationsDock::exportCsvAsked() {
    if (!document_) return;
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Export measurements"), QString(), tr("CSV (*.csv)"));
    if (path.isEmpty()) return;
    QString error;
    if (!exportCsv(path, &error)) QMessageBox::warning(this, tr("Export measurements"), error);
}

}  // namespace lucida::ui
