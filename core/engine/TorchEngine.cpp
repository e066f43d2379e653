// The LibTorch plugin's engine (liblucida-torch.so): each call is the library function of the
// same name in lucida_model.
#include "engine/ModelEngine.h"

#include "model/TorchInfo.h"

namespace lucida {
namespace {

class TorchEngine final : public ModelEngine {
public:
    std::unique_ptr<Model> openModel(const std::string& path) override { return Model::open(path); }
    std::unique_ptr<Trainer> makeTrainer(TrainOptions options) override {
        return std::make_unique<Trainer>(std::move(options));
    }
    std::vector<Component> components() override { return torchComponents(); }

    std::vector<Explanation> explain(const Model& model, const FloatTensor& batch,
                                     const ExplainOptions& options) override {
        return lucida::explain(model, batch, options);
    }
    std::vector<Explanation> explainInBatches(const Model& model, const FloatTensor& images,
                                              const ExplainOptions& options,
                                              int& batchSize) override {
        return lucida::explainInBatches(model, images, options, batchSize);
    }
    BatchPlan chooseBatchSize(const Model& model, const ExplainOptions& options,
                              const BatchSizeOptions& batchOptions) override {
        return lucida::chooseBatchSize(model, options, batchOptions);
    }

    SlideAnalysis analyseSlide(const ImageSource& source, const Model& model,
                               const AnalysisSettings& settings, const std::string& resultsRoot,
                               const AnalysisCallbacks& callbacks) override {
        return lucida::analyseSlide(source, model, settings, resultsRoot, callbacks);
    }
    RandomisationResult cascadingRandomisation(const Model& model, const FloatTensor& image,
                                               const MapOfModel& mapOf,
                                               const RandomisationOptions& options) override {
        return lucida::cascadingRandomisation(model, image, mapOf, options);
    }
    MapOfModel explanationMap(const std::string& method, const std::string& layer,
                              int classIndex) override {
        return lucida::explanationMap(method, layer, classIndex);
    }
    std::optional<SlideAnalysis> loadSlideAnalysis(const ImageSource& source, const Model& model,
                                                   const AnalysisSettings& settings,
                                                   const std::string& resultsRoot) override {
        return lucida::loadSlideAnalysis(source, model, settings, resultsRoot);
    }
};

}  // namespace
}  // namespace lucida

extern "C" __attribute__((visibility("default"))) lucida::ModelEngine*
lucida_create_model_engine() {
    return new lucida::TorchEngine();
}
