#pragma once
// The annotations of the current image as a list: class, tool, measurement in the image's units,
// slice. A click centres the view on one; a class filter; a class box sets the class of the
// selected ones; the measurements export as CSV. Above them the classes, each with a Shown and a
// Locked box; the class chosen there is the one new annotations get; "New Class…" adds one of the
// user's own (a name and a colour, kept in the settings for every image).

#include <QAbstractTableModel>
#include <QDockWidget>
#include <QPointer>

#include <vector>

class QComboBox;
class QLabel;
class QTableView;
class QTreeWidget;
class QTreeWidgetItem;

namespace lucida::ui {

class AnnotationDocument;
class SlideView;

// The rows of the dock: the document's items of the chosen class (all when empty).
class AnnotationTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { ClassColumn, ToolColumn, MeasurementColumn, SliceColumn, ColumnCount };
    // Measurement column, this role: the number (area in unit², else length in unit) as a double.
    static constexpr int ValueRole = Qt::UserRole;
    static constexpr int IdRole = Qt::UserRole + 1;  // any column: the annotation's id

    explicit AnnotationTableModel(QObject* parent = nullptr);
    void setDocument(AnnotationDocument* document);
    void setClassFilter(const QString& className);  // empty: every class
    std::size_t itemAt(int row) const { return rows_[std::size_t(row)]; }
    int rowOf(const std::string& id) const;  // -1: not listed

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation, int role) const override;

private:
    void reload();

    QPointer<AnnotationDocument> document_;
    QString filter_;
    std::vector<std::size_t> rows_;  // indices into the document's items
};

class AnnotationsDock : public QDockWidget {
    Q_OBJECT
public:
    explicit AnnotationsDock(QWidget* parent = nullptr);

    // The image whose annotations are listed (nulls: none).
    void setDocument(AnnotationDocument* document, SlideView* view);
    AnnotationTableModel* model() const { return model_; }
    QTableView* table() const { return table_; }
    // The classes: one row each, name (with its colour), Shown and Locked check boxes.
    enum ClassListColumn { ClassNameColumn, ClassShownColumn, ClassLockedColumn };
    QTreeWidget* classList() const { return classList_; }
    // Asks for a name, then a colour; adds the class to the user's own and makes it current.
    void newClassAsked();

    // The listed rows (class filter applied) as CSV: id, name, class, tool, slice, area, length,
    // unit. False with `error` when the file cannot be written.
    bool exportCsv(const QString& path, QString* error = nullptr) const;
    void showRow(int row);  // selects it and centres the view on it

private:
    void fillClasses();
    void fillClassList();
    void classItemChanged(QTreeWidgetItem* item, int column);
    void tableSelectionChanged();
    void documentSelectionChanged();
    void exportCsvAsked();

    QPointer<AnnotationDocument> document_;
    QPointer<SlideView> view_;
    AnnotationTableModel* model_;
    QTableView* table_;
    QComboBox* filter_;
    QComboBox* setClass_;
    QTreeWidget* classList_;
    QLabel* units_;
    bool syncing_ = false;
    bool filling_ = false;  // the class list being filled: its signals are not the user's
};

}  // namespace lucida::ui
