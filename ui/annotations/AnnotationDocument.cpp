#include "AnnotationDocument.h"

#include "annotations/AnnotationFiles.h"

#include <QColor>
#include <QFileInfo>
#include <QSettings>
#include <QTimer>
#include <QUndoStack>
#include <QtConcurrent>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace lucida::ui {

namespace {

// One undo step: a list of changes applied forward (redo) or backward (undo).
class ChangeCommand : public QUndoCommand {
public:
    ChangeCommand(AnnotationDocument* doc, std::vector<AnnotationDocument::Change> changes,
                  const QString& text)
        : QUndoCommand(text), doc_(doc), changes_(std::move(changes)) {}
    void redo() override { doc_->apply(changes_, true); }
    void undo() override { doc_->apply(changes_, false); }

private:
    AnnotationDocument* doc_;
    std::vector<AnnotationDocument::Change> changes_;
};

QString writeFile(const QString& path, const AnnotationSet& set) {
    try {
        writeAnnotationFile(path.toStdString(), set);
        return {};
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
}

}  // namespace

PixelSize pixelSizeOf(const ImageInfo& info) {
    PixelSize p;
    if (!info.mppX) return p;
    const bool mm = info.displayUnit == LengthUnit::Millimetre;
    const double scale = mm ? 1e-3 : 1.0;  // mppX/Y are micrometres per pixel
    p.x = *info.mppX * scale;
    p.y = info.mppY.value_or(*info.mppX) * scale;
    p.unit = mm ? PixelSize::Unit::Millimetre : PixelSize::Unit::Micrometre;
    return p;
}

QString annotationFilePath(const QString& resultsRoot, const QString& imagePath) {
    return resultsRoot + "/" + QFileInfo(imagePath).fileName() + ".annotations.geojson";
}

std::vector<AnnotationClass> userAnnotationClasses() {
    std::vector<AnnotationClass> out;
    for (const QString& entry : QSettings().value(kUserClassesKey).toStringList()) {
        const qsizetype bar = entry.lastIndexOf('|');
        const QString name = entry.left(bar).trimmed();
        const QColor colour(entry.mid(bar + 1));
        if (bar <= 0 || name.isEmpty() || !colour.isValid()) continue;
        const QString description =
            QSettings().value(kClassDescriptionsKey).toMap().value(name).toString();
        out.push_back(
            {name.toStdString(), Rgb(colour.rgb() & 0xFFFFFF), description.toStdString()});
    }
    return out;
}

void addUserAnnotationClass(const AnnotationClass& c) {
    std::vector<AnnotationClass> all = userAnnotationClasses();
    std::erase_if(all, [&](const AnnotationClass& o) { return o.name == c.name; });
    all.push_back(c);
    QStringList entries;
    for (const AnnotationClass& o : all)
        entries << QString::fromStdString(o.name) + '|' + QColor(QRgb(o.colour)).name();
    QSettings().setValue(kUserClassesKey, entries);
    QVariantMap descriptions = QSettings().value(kClassDescriptionsKey).toMap();
    descriptions.insert(QString::fromStdString(c.name), QString::fromStdString(c.description));
    QSettings().setValue(kClassDescriptionsKey, descriptions);
}

AnnotationDocument::AnnotationDocument(const ImageInfo& info, QObject* parent)
    : QObject(parent),
      pixel_(pixelSizeOf(info)),
      undo_(new QUndoStack(this)),
      autosave_(new QTimer(this)) {
    set_.imageWidth = info.width();
    set_.imageHeight = info.height();
    const auto& defaults = defaultAnnotationClasses();
    if (!defaults.empty()) currentClass_ = defaults.front().name;
    userClasses_ = userAnnotationClasses();
    autosave_->setSingleShot(true);
    autosave_->setInterval(kAutosaveMs);
    connect(autosave_, &QTimer::timeout, this, &AnnotationDocument::autosave);
}

AnnotationDocument::~AnnotationDocument() {
    saving_.waitForFinished();
    if (modified_ && !path_.isEmpty()) save();
}

std::vector<std::size_t> AnnotationDocument::query(const Bounds& view) const {
    if (indexDirty_) {
        index_.rebuild(set_.items);
        indexDirty_ = false;
    }
    return index_.query(view);
}

std::optional<std::size_t> AnnotationDocument::indexOf(const std::string& id) const {
    for (std::size_t i = 0; i < set_.items.size(); ++i)
        if (set_.items[i].id == id) return i;
    return std::nullopt;
}

bool AnnotationDocument::open(const QString& path, QString* error) {
    if (QFileInfo::exists(path)) {
        try {
            AnnotationImport in = readAnnotationFile(path.toStdString());
            in.set.imageWidth = set_.imageWidth;
            in.set.imageHeight = set_.imageHeight;
            set_ = std::move(in.set);
        } catch (const std::exception& e) {
            if (error) *error = QString::fromStdString(e.what());
            return false;
        }
    }
    path_ = path;
    undo_->clear();
    selection_.clear();
    modified_ = false;
    indexDirty_ = true;
    emit changed();
    emit selectionChanged();
    return true;
}

void AnnotationDocument::import(const AnnotationSet& other) {
    std::vector<Change> changes;
    for (const AnnotationClass& c : other.classes) set_.useClass(c.name, c.colour);
    std::unordered_set<std::string> ids;
    for (const Annotation& a : set_.items) ids.insert(a.id);
    for (Annotation a : other.items) {
        if (a.id.empty() || !ids.insert(a.id).second) a.id = newAnnotationId();
        changes.push_back({a.id, std::nullopt, std::move(a), 0});
    }
    const auto n = int(changes.size());
    push(std::move(changes), tr("Import %n annotation(s)", nullptr, n));
}

bool AnnotationDocument::save(QString* error) {
    if (path_.isEmpty()) return true;
    saving_.waitForFinished();
    const QString message = writeFile(path_, set_);
    if (!message.isEmpty()) {
        if (error) *error = message;
        emit saveFailed(message);
        return false;
    }
    modified_ = false;
    return true;
}

void AnnotationDocument::autosave() {
    if (path_.isEmpty() || !modified_) return;
    if (set_.items.size() <= kSynchronousSaveLimit) {
        save();
        return;
    }
    if (saving_.isRunning()) {  // one write at a time: try again after this one
        autosave_->start();
        return;
    }
    modified_ = false;  // an edit during the write sets it again
    auto* watcher = new QFutureWatcher<QString>(this);
    connect(watcher, &QFutureWatcher<QString>::finished, this, [this, watcher] {
        const QString message = watcher->result();
        watcher->deleteLater();
        if (message.isEmpty()) return;
        modified_ = true;
        emit saveFailed(message);
    });
    saving_ = QtConcurrent::run(writeFile, path_, set_);
    watcher->setFuture(saving_);
}

void AnnotationDocument::push(std::vector<Change> changes, const QString& text) {
    if (changes.empty()) return;
    undo_->push(new ChangeCommand(this, std::move(changes), text));  // runs redo()
}

void AnnotationDocument::apply(const std::vector<Change>& changes, bool forward) {
    // In passes over the whole set, not a search per change: an import of 50,000 detections and
    // its undo stay linear.
    auto& items = set_.items;
    std::unordered_map<std::string, std::size_t> at;
    for (std::size_t i = 0; i < items.size(); ++i) at.emplace(items[i].id, i);
    std::unordered_set<std::string> removed;
    std::vector<const Change*> inserted;
    auto step = [&](const Change& c) {
        const std::optional<Annotation>& to = forward ? c.after : c.before;
        const std::optional<Annotation>& from = forward ? c.before : c.after;
        const auto it = at.find(c.id);
        if (to && from && it != at.end())
            items[it->second] = *to;
        else if (to && it == at.end())
            inserted.push_back(&c);
        else if (!to && it != at.end())
            removed.insert(c.id);
    };
    if (forward)
        std::for_each(changes.begin(), changes.end(), step);
    else
        std::for_each(changes.rbegin(), changes.rend(), step);
    if (!removed.empty()) {
        std::erase_if(items, [&](const Annotation& a) { return removed.count(a.id) != 0; });
        std::erase_if(selection_, [&](const std::string& id) { return removed.count(id) != 0; });
    }
    // Undone removals go back where they stood, in one merge (removals list the later positions
    // first, so reversed they come in ascending order); additions go at the end.
    std::vector<Annotation> merged;
    std::size_t next = 0;
    bool restoring = false;
    for (const Change* c : inserted) {
        if (forward || !c->before || c->after) continue;
        if (!restoring) merged.reserve(items.size() + inserted.size());
        restoring = true;
        while (merged.size() < c->position && next < items.size())
            merged.push_back(std::move(items[next++]));
        merged.push_back(*c->before);
    }
    if (restoring) {
        while (next < items.size()) merged.push_back(std::move(items[next++]));
        items = std::move(merged);
    }
    for (const Change* c : inserted)
        if (forward || !c->before || c->after) items.push_back(forward ? *c->after : *c->before);
    edited();
}

void AnnotationDocument::edited() {
    modified_ = true;
    indexDirty_ = true;
    if (!path_.isEmpty()) autosave_->start();
    emit changed();
    emit selectionChanged();
}

void AnnotationDocument::add(Annotation a, const QString& text) {
    if (a.id.empty()) a.id = newAnnotationId();
    // The class's own colour (a default class's, else grey), never the object's: an object with
    // a colour of its own must not recolour every object of its class.
    // A user's class comes with its own colour, the same in every image.
    std::optional<Rgb> classColour;
    for (const AnnotationClass& c : userClasses_)
        if (c.name == a.className) classColour = c.colour;
    if (!a.className.empty()) set_.useClass(a.className, classColour);
    const std::string id = a.id;
    push({{id, std::nullopt, std::move(a), 0}}, text);
    select({id});
}

void AnnotationDocument::add(std::vector<Annotation> items, const QString& text) {
    std::vector<Change> changes;
    std::vector<std::string> ids;
    for (Annotation& a : items) {
        a.id = newAnnotationId();
        ids.push_back(a.id);
        changes.push_back({a.id, std::nullopt, std::move(a), 0});
    }
    push(std::move(changes), text);
    select(ids);
}

void AnnotationDocument::replace(const std::vector<Annotation>& changed, const QString& text) {
    std::vector<Change> changes;
    for (const Annotation& a : changed)
        if (const auto at = indexOf(a.id); at && !(set_.items[*at] == a))
            changes.push_back({a.id, set_.items[*at], a, *at});
    push(std::move(changes), text);
}

void AnnotationDocument::remove(const std::vector<std::string>& ids) {
    const std::unordered_set<std::string> wanted(ids.begin(), ids.end());
    std::vector<Change> changes;
    for (std::size_t i = set_.items.size(); i-- > 0;)  // the later first: undo (reversed)
        if (wanted.count(set_.items[i].id))            // reinserts in ascending order
            changes.push_back({set_.items[i].id, set_.items[i], std::nullopt, i});
    const auto n = int(changes.size());
    push(std::move(changes), tr("Delete %n annotation(s)", nullptr, n));
}

void AnnotationDocument::replace(const Annotation& changed, const QString& text) {
    const auto at = indexOf(changed.id);
    if (!at || set_.items[*at] == changed) return;
    push({{changed.id, set_.items[*at], changed, *at}}, text);
}

void AnnotationDocument::setClass(const std::vector<std::string>& ids,
                                  const std::string& className) {
    for (const AnnotationClass& c : classes())
        if (c.name == className) set_.useClass(c.name, c.colour);
    std::vector<Change> changes;
    for (const std::string& id : ids) {
        const auto at = indexOf(id);
        if (!at || set_.items[*at].className == className) continue;
        Annotation after = set_.items[*at];
        after.className = className;
        changes.push_back({id, set_.items[*at], std::move(after), *at});
    }
    push(std::move(changes), tr("Set class"));
}

std::vector<AnnotationClass> AnnotationDocument::classes() const {
    std::vector<AnnotationClass> all = set_.classes;
    auto listed = [&](const std::string& name) {
        return std::any_of(all.begin(), all.end(),
                           [&](const AnnotationClass& c) { return c.name == name; });
    };
    for (const auto* more : {&userClasses_, &defaultAnnotationClasses()})
        for (const AnnotationClass& c : *more)
            if (!listed(c.name)) all.push_back(c);
    return all;
}

void AnnotationDocument::addUserClass(const AnnotationClass& c) {
    addUserAnnotationClass(c);
    userClasses_ = userAnnotationClasses();
    emit classesChanged();
}

void AnnotationDocument::setClassHidden(const std::string& name, bool hidden) {
    if (isClassHidden(name) == hidden) return;
    if (hidden) {
        hidden_.insert(name);
        std::vector<std::string> kept;  // a hidden object stays out of the selection
        for (const std::string& id : selection_)
            if (const auto at = indexOf(id); at && set_.items[*at].className != name)
                kept.push_back(id);
        select(kept);
    } else {
        hidden_.erase(name);
    }
    emit classesChanged();
}

void AnnotationDocument::setClassLocked(const std::string& name, bool locked) {
    if (isClassLocked(name) == locked) return;
    if (locked)
        locked_.insert(name);
    else
        locked_.erase(name);
    emit classesChanged();
}

Rgb AnnotationDocument::colourOf(const Annotation& a) const {
    if (a.colour) return *a.colour;
    if (const AnnotationClass* c = set_.findClass(a.className)) return c->colour;
    for (const auto* more : {&userClasses_, &defaultAnnotationClasses()})
        for (const AnnotationClass& c : *more)
            if (c.name == a.className) return c.colour;
    // Unclassified (rulers, arrows, notes): gold, which stands out on H&E, IHC and grey images.
    return a.className.empty() ? 0xFFD000 : 0xC8C8C8;
}

void AnnotationDocument::select(const std::vector<std::string>& ids) {
    std::set<std::string> next(ids.begin(), ids.end());
    if (next == selection_) return;
    selection_ = std::move(next);
    emit selectionChanged();
}

}  // namespace lucida::ui
