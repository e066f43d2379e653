#include "TrainingDataPage.h"

#include "TileImage.h"
#include "image/ImageSource.h"

#include <QButtonGroup>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImageReader>
#include <QLabel>
#include <QLineEdit>
#include <QPixmap>
#include <QPushButton>
#include <QRadioButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QTableWidget>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>

namespace lucida::ui {

namespace {
constexpr int kThumbnailsPerClass = 6;
constexpr int kThumbnailSize = 64;

FolderScan scanFolders(quint64 generation, bool separate, const QString& train,
                       const QString& validation) {
    FolderScan scan;
    scan.generation = generation;
    scan.separate = separate;
    QString current = train;
    try {
        ImageFolder folder = scanImageFolder(train.toStdString());
        scan.classes = folder.classes;
        scan.train = std::move(folder.images);
        scan.skipped = std::move(folder.skipped);
        if (separate) {
            current = validation;
            ImageFolder v = scanValidationFolder(validation.toStdString(), scan.classes);
            scan.validation = std::move(v.images);
            scan.skipped.insert(scan.skipped.end(), v.skipped.begin(), v.skipped.end());
        }
    } catch (const std::exception& e) {
        scan.error = QString::fromStdString(e.what());
        // The message must say which folder is wrong, whatever the scanner wrote.
        if (!scan.error.contains(current) && !scan.error.contains(QDir::cleanPath(current)))
            scan.error = QStringLiteral("%1: %2").arg(current, scan.error);
    }
    return scan;
}

QList<QImage> loadThumbnails(const QStringList& paths) {
    QList<QImage> images;
    for (const QString& p : paths) images.append(loadThumbnail(p, kThumbnailSize));
    return images;
}

QTableWidgetItem* numberItem(int value) {
    auto* item = new QTableWidgetItem(QString::number(value));
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}
}  // namespace

QImage loadThumbnail(const QString& path, int maxSide) {
    QImageReader reader(path);
    reader.setAutoTransform(true);
    if (reader.canRead()) {
        const QSize size = reader.size();
        if (size.isValid())
            reader.setScaledSize(size.scaled(maxSide, maxSide, Qt::KeepAspectRatio));
        QImage image = reader.read();
        if (!image.isNull()) return image;
    }
    // DICOM, slides, 16-bit TIFFs…: the smallest level of Lucida's own source.
    try {
        const std::unique_ptr<ImageSource> source = openImage(path.toStdString());
        const ImageInfo& info = source->info();
        const int level = static_cast<int>(info.levels.size()) - 1;
        const Level& l = info.level(level);
        const PixelBuffer pixels = source->readRegion(level, Rect{0, 0, l.width, l.height});
        GrayLut lut;
        if (pixels.format != PixelFormat::Rgba8) {
            Window window{"", 32768.0, 65536.0};
            if (!info.windows.empty()) window = info.windows.front();
            lut = GrayLut(info.grayMapping, window);
        }
        return toDisplayImage(pixels, lut)
            .scaled(maxSide, maxSide, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    } catch (const std::exception&) {
        return {};
    }
}

TrainingDataPage::TrainingDataPage(QWidget* parent)
    : QWizardPage(parent),
      debounce_(new QTimer(this)),
      scanWatcher_(new QFutureWatcher<FolderScan>(this)),
      thumbWatcher_(new QFutureWatcher<QList<QImage>>(this)) {
    setTitle(tr("Training data"));
    setSubTitle(
        tr("A folder with one sub-folder of images per class (the sub-folder names are the class "
           "names), split into training and validation images, or separate training and "
           "validation folders with the same class sub-folders."));

    splitMode_ = new QRadioButton(tr("One folder, &split into training and validation"), this);
    separateMode_ = new QRadioButton(tr("Separate training and &validation folders"), this);
    auto* modes = new QButtonGroup(this);
    modes->addButton(splitMode_);
    modes->addButton(separateMode_);
    splitMode_->setChecked(true);

    trainEdit_ = new QLineEdit(this);
    trainEdit_->setObjectName("trainFolder");
    trainEdit_->setPlaceholderText(tr("folder with one sub-folder per class"));
    auto* trainBrowse = new QPushButton(tr("&Browse…"), this);
    validationEdit_ = new QLineEdit(this);
    validationEdit_->setObjectName("validationFolder");
    validationEdit_->setPlaceholderText(tr("folder with the same class sub-folders"));
    validationBrowse_ = new QPushButton(tr("B&rowse…"), this);
    fraction_ = new QDoubleSpinBox(this);
    fraction_->setObjectName("validationFraction");
    fraction_->setRange(0.01, 0.9);
    fraction_->setSingleStep(0.05);
    fraction_->setDecimals(2);
    fraction_->setValue(0.2);
    fraction_->setToolTip(tr("Share of each class kept for validation (stratified)."));
    seed_ = new QSpinBox(this);
    seed_->setObjectName("splitSeed");
    seed_->setRange(0, std::numeric_limits<int>::max());
    seed_->setValue(42);
    seed_->setToolTip(tr("The split, the shuffling and the augmentations depend only on it."));

    auto* trainRow = new QHBoxLayout;
    trainRow->addWidget(trainEdit_, 1);
    trainRow->addWidget(trainBrowse);
    auto* validationRow = new QHBoxLayout;
    validationRow->addWidget(validationEdit_, 1);
    validationRow->addWidget(validationBrowse_);
    auto* splitRow = new QHBoxLayout;
    splitRow->addWidget(fraction_);
    splitRow->addSpacing(16);
    auto* seedLabel = new QLabel(tr("S&eed:"), this);
    seedLabel->setBuddy(seed_);
    splitRow->addWidget(seedLabel);
    splitRow->addWidget(seed_);
    splitRow->addStretch(1);

    auto* form = new QFormLayout;
    form->addRow(splitMode_);
    form->addRow(separateMode_);
    // Rows holding layouts get no buddy from QFormLayout: name the labels' buddies here.
    auto buddyLabel = [this](const QString& text, QWidget* buddy) {
        auto* label = new QLabel(text, this);
        label->setBuddy(buddy);
        return label;
    };
    form->addRow(buddyLabel(tr("&Training folder:"), trainEdit_), trainRow);
    form->addRow(buddyLabel(tr("V&alidation folder:"), validationEdit_), validationRow);
    form->addRow(buddyLabel(tr("Validation &fraction:"), fraction_), splitRow);

    status_ = new QLabel(this);
    status_->setWordWrap(true);
    error_ = new QLabel(this);
    error_->setObjectName("dataError");
    error_->setWordWrap(true);
    error_->setStyleSheet("color: #c62828; font-weight: bold;");
    error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    error_->hide();

    counts_ = new QTableWidget(0, 4, this);
    counts_->setObjectName("classCounts");
    counts_->setHorizontalHeaderLabels(
        {tr("Class"), tr("Images"), tr("Training"), tr("Validation")});
    counts_->verticalHeader()->hide();
    counts_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    counts_->setSelectionMode(QAbstractItemView::NoSelection);
    counts_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    counts_->setMinimumWidth(320);

    thumbnails_ = new QWidget;
    thumbnailGrid_ = new QGridLayout(thumbnails_);
    thumbnailGrid_->setContentsMargins(4, 4, 4, 4);
    thumbnailGrid_->setSpacing(4);
    auto* thumbScroll = new QScrollArea(this);
    thumbScroll->setWidget(thumbnails_);
    thumbScroll->setWidgetResizable(true);
    thumbScroll->setMinimumHeight(2 * kThumbnailSize + 24);

    skippedLabel_ = new QLabel(tr("Unreadable files: none"), this);
    skippedList_ = new QTreeWidget(this);
    skippedList_->setObjectName("skippedFiles");
    skippedList_->setColumnCount(2);
    skippedList_->setHeaderLabels({tr("File"), tr("Reason")});
    skippedList_->setRootIsDecorated(false);
    skippedList_->setAlternatingRowColors(true);

    auto* countsBox = new QGroupBox(tr("Images per class"), this);
    (new QVBoxLayout(countsBox))->addWidget(counts_);
    auto* thumbBox = new QGroupBox(tr("Examples"), this);
    (new QVBoxLayout(thumbBox))->addWidget(thumbScroll);
    auto* upper = new QHBoxLayout;
    upper->addWidget(countsBox, 2);
    upper->addWidget(thumbBox, 3);
    auto* skippedBox = new QGroupBox(tr("Files that will be skipped"), this);
    auto* skippedLayout = new QVBoxLayout(skippedBox);
    skippedLayout->addWidget(skippedLabel_);
    skippedLayout->addWidget(skippedList_);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(status_);
    layout->addWidget(error_);
    layout->addLayout(upper, 3);
    layout->addWidget(skippedBox, 2);

    restoreSettings();
    connectControls(trainBrowse);

    validationEdit_->setEnabled(separateMode_->isChecked());
    validationBrowse_->setEnabled(separateMode_->isChecked());
    fraction_->setEnabled(!separateMode_->isChecked());
    if (!trainEdit_->text().isEmpty()) QTimer::singleShot(0, this, &TrainingDataPage::startScan);
}

void TrainingDataPage::restoreSettings() {
    QSettings settings;
    settings.beginGroup("training");
    separateMode_->setChecked(settings.value("separateValidation", false).toBool());
    splitMode_->setChecked(!separateMode_->isChecked());
    trainEdit_->setText(settings.value("trainFolder").toString());
    validationEdit_->setText(settings.value("validationFolder").toString());
    fraction_->setValue(settings.value("validationFraction", 0.2).toDouble());
    seed_->setValue(settings.value("seed", 42).toInt());
    settings.endGroup();
}

void TrainingDataPage::connectControls(QPushButton* trainBrowse) {
    auto modeChanged = [this] {
        const bool separate = separateMode_->isChecked();
        validationEdit_->setEnabled(separate);
        validationBrowse_->setEnabled(separate);
        fraction_->setEnabled(!separate);
        startScan();
    };
    connect(splitMode_, &QRadioButton::toggled, this, modeChanged);
    connect(trainBrowse, &QPushButton::clicked, this,
            [this] { chooseFolder(trainEdit_, tr("Training Images (one sub-folder per class)")); });
    connect(validationBrowse_, &QPushButton::clicked, this,
            [this] { chooseFolder(validationEdit_, tr("Validation Images")); });
    debounce_->setSingleShot(true);
    debounce_->setInterval(600);
    connect(debounce_, &QTimer::timeout, this, &TrainingDataPage::startScan);
    for (QLineEdit* e : {trainEdit_, validationEdit_}) {
        connect(e, &QLineEdit::textEdited, this, &TrainingDataPage::scheduleScan);
        connect(e, &QLineEdit::returnPressed, this, &TrainingDataPage::startScan);
    }
    connect(fraction_, &QDoubleSpinBox::valueChanged, this, &TrainingDataPage::updateSplit);
    connect(seed_, &QSpinBox::valueChanged, this, &TrainingDataPage::updateSplit);
    connect(scanWatcher_, &QFutureWatcher<FolderScan>::finished, this,
            [this] { showScan(scanWatcher_->result()); });
    connect(thumbWatcher_, &QFutureWatcher<QList<QImage>>::finished, this, [this] {
        if (thumbGeneration_ == generation_) showThumbnails(thumbWatcher_->result());
    });
}

TrainingDataPage::~TrainingDataPage() = default;

bool TrainingDataPage::separateValidation() const { return separateMode_->isChecked(); }
QString TrainingDataPage::trainFolder() const { return trainEdit_->text().trimmed(); }
QString TrainingDataPage::validationFolder() const { return validationEdit_->text().trimmed(); }
double TrainingDataPage::validationFraction() const { return fraction_->value(); }

QStringList TrainingDataPage::classes() const {
    QStringList names;
    if (scanOk_)
        for (const std::string& c : scan_.classes) names << QString::fromStdString(c);
    return names;
}

QList<int> TrainingDataPage::imagesPerClass() const {
    QList<int> counts(static_cast<qsizetype>(scanOk_ ? scan_.classes.size() : 0), 0);
    if (scanOk_)
        for (const LabelledImage& i : scan_.train) ++counts[i.label];
    return counts;
}

QList<int> TrainingDataPage::trainingPerClass() const {
    QList<int> counts;
    for (int r = 0; r + 1 < counts_->rowCount(); ++r) counts << counts_->item(r, 2)->text().toInt();
    return counts;
}

QList<int> TrainingDataPage::validationPerClass() const {
    QList<int> counts;
    for (int r = 0; r + 1 < counts_->rowCount(); ++r) counts << counts_->item(r, 3)->text().toInt();
    return counts;
}

int TrainingDataPage::skippedCount() const {
    return scanOk_ ? static_cast<int>(scan_.skipped.size()) : 0;
}

QString TrainingDataPage::errorText() const {
    return error_->isVisible() ? error_->text() : QString();
}

void TrainingDataPage::setTrainFolder(const QString& path) {
    trainEdit_->setText(path);
    startScan();
}

void TrainingDataPage::setValidationFolder(const QString& path) {
    validationEdit_->setText(path);
    startScan();
}

void TrainingDataPage::setSeparateValidation(bool separate) {
    if (separate == separateMode_->isChecked()) return;
    (separate ? separateMode_ : splitMode_)->setChecked(true);  // rescans
}

void TrainingDataPage::setValidationFraction(double fraction) { fraction_->setValue(fraction); }

void TrainingDataPage::chooseFolder(QLineEdit* edit, const QString& title) {
    QString start = edit->text();
    if (start.isEmpty()) start = QSettings().value("training/lastDir").toString();
    const QString dir = QFileDialog::getExistingDirectory(this, title, start);
    if (dir.isEmpty()) return;
    QDir parent(dir);
    parent.cdUp();
    QSettings().setValue("training/lastDir", parent.absolutePath());
    edit->setText(QDir::toNativeSeparators(dir));
    startScan();
}

void TrainingDataPage::scheduleScan() { debounce_->start(); }

void TrainingDataPage::startScan() {
    debounce_->stop();
    ++generation_;
    scanOk_ = false;
    counts_->setRowCount(0);
    showThumbnails({});
    skippedList_->clear();
    skippedLabel_->setText(tr("Unreadable files: none"));
    setError({});
    const QString train = trainFolder(), validation = validationFolder();
    const bool separate = separateValidation();
    if (train.isEmpty()) {
        status_->setText(tr("Choose the folder of training images."));
        setBusy(false);
        return;
    }
    if (separate && validation.isEmpty()) {
        status_->setText(tr("Choose the folder of validation images."));
        setBusy(false);
        return;
    }
    status_->setText(separate ? tr("Scanning %1 and %2…").arg(train, validation)
                              : tr("Scanning %1…").arg(train));
    setBusy(true);
    scanWatcher_->setFuture(
        QtConcurrent::run(scanFolders, generation_, separate, train, validation));
}

void TrainingDataPage::setBusy(bool scanning) {
    scanning_ = scanning;
    emit completeChanged();
}

void TrainingDataPage::setError(const QString& message) {
    error_->setText(message);
    error_->setVisible(!message.isEmpty());
}

void TrainingDataPage::showScan(const FolderScan& scan) {
    if (scan.generation != generation_) return;  // the folders changed meanwhile
    if (!scan.error.isEmpty()) {
        status_->clear();
        setError(scan.error);
        setBusy(false);
        emit scanFinished();
        return;
    }
    scan_ = scan;
    scanOk_ = true;
    const int images = static_cast<int>(scan.train.size() + scan.validation.size());
    scanSummary_ = tr("%n image(s) in %1 classes.", nullptr, images).arg(scan.classes.size());
    status_->setText(scanSummary_);

    counts_->setRowCount(static_cast<int>(scan.classes.size()) + 1);
    const QList<int> perClass = imagesPerClass();
    for (int c = 0; c < static_cast<int>(scan.classes.size()); ++c) {
        counts_->setItem(c, 0, new QTableWidgetItem(QString::fromStdString(scan.classes[c])));
        counts_->setItem(c, 1, numberItem(perClass[c]));
    }
    auto* total = new QTableWidgetItem(tr("Total"));
    QFont bold = total->font();
    bold.setBold(true);
    total->setFont(bold);
    counts_->setItem(counts_->rowCount() - 1, 0, total);
    updateSplit();

    skippedList_->clear();
    for (const SkippedFile& s : scan.skipped) {
        auto* item =
            new QTreeWidgetItem({QString::fromStdString(s.path), QString::fromStdString(s.reason)});
        item->setToolTip(0, item->text(0));
        item->setToolTip(1, item->text(1));
        skippedList_->addTopLevelItem(item);
    }
    skippedList_->resizeColumnToContents(0);
    skippedLabel_->setText(scan.skipped.empty()
                               ? tr("Unreadable files: none")
                               : tr("%n unreadable file(s), left out of training:", nullptr,
                                    static_cast<int>(scan.skipped.size())));

    // A few examples per class, spread over the class, decoded on the thread pool.
    QStringList paths;
    thumbnailClass_.clear();
    for (int c = 0; c < static_cast<int>(scan.classes.size()); ++c) {
        std::vector<const LabelledImage*> members;
        for (const LabelledImage& i : scan.train)
            if (i.label == c) members.push_back(&i);
        const int n = std::min<int>(kThumbnailsPerClass, static_cast<int>(members.size()));
        for (int k = 0; k < n; ++k) {
            paths << QString::fromStdString(members[members.size() * k / n]->path);
            thumbnailClass_.push_back(c);
        }
    }
    thumbGeneration_ = generation_;
    thumbWatcher_->setFuture(QtConcurrent::run(loadThumbnails, paths));

    setBusy(false);
    emit scanFinished();
}

void TrainingDataPage::updateSplit() {
    if (!scanOk_) return;
    const int classCount = static_cast<int>(scan_.classes.size());
    std::vector<int> train(classCount, 0), validation(classCount, 0);
    if (scan_.separate) {
        for (const LabelledImage& i : scan_.train) ++train[i.label];
        for (const LabelledImage& i : scan_.validation) ++validation[i.label];
    } else {
        // Bookkeeping only (sorting paths): cheap enough for the GUI thread.
        const Split split = splitStratified(scan_.train, classCount, fraction_->value(),
                                            static_cast<std::uint64_t>(seed_->value()));
        for (const LabelledImage& i : split.train) ++train[i.label];
        for (const LabelledImage& i : split.validation) ++validation[i.label];
    }
    int sums[3] = {0, 0, 0};
    const QList<int> perClass = imagesPerClass();
    for (int c = 0; c < classCount; ++c) {
        counts_->setItem(c, 2, numberItem(train[c]));
        counts_->setItem(c, 3, numberItem(validation[c]));
        sums[0] += perClass[c];
        sums[1] += train[c];
        sums[2] += validation[c];
    }
    for (int k = 0; k < 3; ++k) {
        QTableWidgetItem* item = numberItem(sums[k]);
        QFont bold = item->font();
        bold.setBold(true);
        item->setFont(bold);
        counts_->setItem(classCount, k + 1, item);
    }
    QString problem;
    for (int c = 0; c < classCount && problem.isEmpty(); ++c)
        if (validation[c] == 0)
            problem = tr("Class \"%1\" has no validation image; validation metrics will miss it.")
                          .arg(QString::fromStdString(scan_.classes[c]));
    status_->setText(problem.isEmpty() ? scanSummary_ : scanSummary_ + "  " + problem);
}

void TrainingDataPage::showThumbnails(const QList<QImage>& images) {
    while (QLayoutItem* item = thumbnailGrid_->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    thumbnailsShown_ = 0;
    if (images.isEmpty() || !scanOk_) return;
    std::vector<int> column(scan_.classes.size(), 0);
    for (int c = 0; c < static_cast<int>(scan_.classes.size()); ++c) {
        auto* name = new QLabel(QString::fromStdString(scan_.classes[c]), thumbnails_);
        name->setMinimumWidth(80);
        thumbnailGrid_->addWidget(name, c, 0);
    }
    for (int k = 0; k < images.size() && k < static_cast<int>(thumbnailClass_.size()); ++k) {
        const int c = thumbnailClass_[static_cast<std::size_t>(k)];
        auto* label = new QLabel(thumbnails_);
        label->setFixedSize(kThumbnailSize, kThumbnailSize);
        label->setAlignment(Qt::AlignCenter);
        label->setFrameShape(QFrame::StyledPanel);
        if (images[k].isNull())
            label->setText(tr("?"));
        else
            label->setPixmap(QPixmap::fromImage(images[k]));
        thumbnailGrid_->addWidget(label, c, 1 + column[static_cast<std::size_t>(c)]++);
        ++thumbnailsShown_;
    }
    thumbnailGrid_->setColumnStretch(kThumbnailsPerClass + 1, 1);
    thumbnailGrid_->setRowStretch(static_cast<int>(scan_.classes.size()), 1);
    emit thumbnailsShown();
}

bool TrainingDataPage::isComplete() const { return scanOk_ && !scanning_; }

bool TrainingDataPage::validatePage() { return isComplete(); }

void TrainingDataPage::apply(TrainOptions& options) const {
    options.dataDir = trainFolder().toStdString();
    options.validationDir = separateValidation() ? validationFolder().toStdString() : std::string();
    options.validationFraction = validationFraction();
    options.seed = static_cast<std::uint64_t>(seed_->value());
}

void TrainingDataPage::saveSettings() const {
    QSettings settings;
    settings.beginGroup("training");
    settings.setValue("separateValidation", separateValidation());
    settings.setValue("trainFolder", trainFolder());
    settings.setValue("validationFolder", validationFolder());
    settings.setValue("validationFraction", validationFraction());
    settings.setValue("seed", seed_->value());
    settings.endGroup();
}

}  // namespace lucida::ui
