#pragma once

#include "CliAnalyse.h"

#include <cstddef>
#include <string>

namespace CLI {
class App;
}

namespace lucida::cli {

struct ReportArgs {
    AnalyseArgs analysis;  // the model and analysis options, as given to analyse (its key)
    std::string resultsDir, out, annotations;
    double opacity = 0.5;
    bool includePatientDetails = false;
    std::size_t regions = 6;
    std::string colourMap = "jet";
};

CLI::App* addReportCommand(CLI::App& app, ReportArgs& args);

// `lucida-cli report`: a PDF case report from the analysis `analyse` stored with the same model
// and settings (nothing is inferred). Exit 1 when there is no stored analysis for them.
int runReport(const ReportArgs& args);

}  // namespace lucida::cli
