#pragma once
// A view as a Bookmark and back: where the view looks (centre, zoom, rotation), the slice and
// grey window, and how the heat is shown (the model session's display settings and the window's
// Show Heatmap / Show Tissue Outline actions).

#include "bookmarks/Bookmark.h"

class QWidget;

namespace lucida::ui {

class ModelSession;
class SlideView;

// `session` null: no heat settings (a build without models); `window` holds the heat actions.
Bookmark captureBookmark(const SlideView& view, const ModelSession* session, const QWidget* window);

// Everything but the geometry: slice, grey window, rotation, heat. The caller moves the view
// (at once or animated: BookmarkMover).
void applyBookmarkSettings(const Bookmark& bookmark, SlideView& view, ModelSession* session,
                           QWidget* window);
// Centre and zoom exactly as saved.
void applyBookmarkGeometry(const Bookmark& bookmark, SlideView& view);

}  // namespace lucida::ui
