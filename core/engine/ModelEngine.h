#pragma once
// The LibTorch side of Lucida behind one small interface, loaded as a plugin
// (liblucida-torch.so) the first time a program opens a model, explains, analyses or trains:
// the viewer and `lucida-cli info` without a model never map LibTorch. The plugin is found beside
// the program (the build tree) or in <prefix>/<libdir>/lucida (installed); LUCIDA_TORCH_PLUGIN
// names the one to use instead (e.g. a CUDA build of the plugin beside the CPU one).
#include "analysis/SlideAnalysis.h"
#include "cam/Batching.h"
#include "cam/Explainer.h"
#include "checks/Randomisation.h"
#include "model/Model.h"
#include "train/Trainer.h"
#include "version/Versions.h"

#include <memory>
#include <string>
#include <vector>

namespace lucida {

class ModelEngine {
public:
    virtual ~ModelEngine() = default;

    // Model::open: throws ModelError naming the file and reason.
    virtual std::unique_ptr<Model> openModel(const std::string& path) = 0;
    virtual std::unique_ptr<Trainer> makeTrainer(TrainOptions options) = 0;
    // The LibTorch version and the compute device (torchComponents).
    virtual std::vector<Component> components() = 0;

    virtual std::vector<Explanation> explain(const Model& model, const FloatTensor& batch,
                                             const ExplainOptions& options) = 0;
    virtual std::vector<Explanation> explainInBatches(const Model& model, const FloatTensor& images,
                                                      const ExplainOptions& options,
                                                      int& batchSize) = 0;
    virtual BatchPlan chooseBatchSize(const Model& model, const ExplainOptions& options,
                                      const BatchSizeOptions& batchOptions) = 0;

    virtual SlideAnalysis analyseSlide(const ImageSource& source, const Model& model,
                                       const AnalysisSettings& settings,
                                       const std::string& resultsRoot,
                                       const AnalysisCallbacks& callbacks) = 0;
    // The model-randomisation check (checks/Randomisation.h) and the explanation it re-runs.
    virtual RandomisationResult cascadingRandomisation(const Model& model, const FloatTensor& image,
                                                       const MapOfModel& mapOf,
                                                       const RandomisationOptions& options) = 0;
    virtual MapOfModel explanationMap(const std::string& method, const std::string& layer,
                                      int classIndex) = 0;
    virtual std::optional<SlideAnalysis> loadSlideAnalysis(const ImageSource& source,
                                                           const Model& model,
                                                           const AnalysisSettings& settings,
                                                           const std::string& resultsRoot) = 0;
};

// The engine, loading the plugin on the first call (thread-safe; never unloaded). Throws
// ModelError naming every path tried and the loader's reason when there is none.
ModelEngine& modelEngine();
// The engine if it is loaded already, else null (loads nothing): for version texts.
ModelEngine* loadedModelEngine();

// The plugin's entry point: a new engine (called once).
using CreateModelEngine = ModelEngine* (*)();
inline constexpr const char* kCreateModelEngineSymbol = "lucida_create_model_engine";

}  // namespace lucida
