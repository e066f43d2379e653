#include "cohort/PixelSizeOverride.h"

#include <cstdio>
#include <stdexcept>

namespace lucida {
namespace {
class GivenPixelSize final : public ImageSource {
public:
    GivenPixelSize(std::unique_ptr<ImageSource> inner, double mpp)
        : inner_(std::move(inner)), info_(inner_->info()) {
        info_.mppX = info_.mppY = mpp;
        char text[32];
        std::snprintf(text, sizeof text, "%.9g", mpp);
        info_.properties.emplace_back(kGivenPixelSizeProperty, text);
    }
    const ImageInfo& info() const override { return info_; }
    PixelBuffer readRegion(int level, const Rect& rect, int slice) const override {
        return inner_->readRegion(level, rect, slice);
    }
    PixelBuffer readAssociatedImage(const std::string& name) const override {
        return inner_->readAssociatedImage(name);
    }
    std::vector<Window> windowsForSlice(int slice) const override {
        return inner_->windowsForSlice(slice);
    }

private:
    std::unique_ptr<ImageSource> inner_;
    ImageInfo info_;
};
}  // namespace

std::unique_ptr<ImageSource> withPixelSize(std::unique_ptr<ImageSource> source,
                                           double micronsPerPixel) {
    if (!source) throw std::invalid_argument("withPixelSize: no image");
    if (!(micronsPerPixel > 0))
        throw std::invalid_argument(source->info().path + ": pixel size must be above 0");
    return std::make_unique<GivenPixelSize>(std::move(source), micronsPerPixel);
}

}  // namespace lucida
