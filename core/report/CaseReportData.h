#pragma once
// What a case report says, gathered as plain text rows and numbers from a stored analysis, the
// image, the model card and the annotations. No Qt, no LibTorch: the PDF layout (ui/report) only
// places what is here. Patient details are gathered only when the user asked for them.

#include "analysis/AnalysisOutputs.h"
#include "annotations/Annotation.h"
#include "image/ImageSource.h"
#include "model/ModelSpec.h"

#include <string>
#include <vector>

namespace lucida {

struct ReportRow {
    std::string label, value;
};

struct ReportAnnotationClass {
    std::string name;  // "(none)" for unclassified objects
    Rgb colour = 0xC8C8C8;
    std::size_t count = 0;
    std::string area;    // total area of its areas, "1.2 mm²"; "—" when it has none
    std::string length;  // total length of its lines; "—" when it has none
};

struct CaseReportData {
    std::string imageName;            // the file name only (a path may name the patient)
    std::vector<ReportRow> image;     // format, size, pixel size, magnification
    std::vector<ReportRow> patient;   // DICOM name, ID, birth date: empty unless asked for
    std::vector<ReportRow> model;     // the model card: file, architecture, classes, input, µm/px
    std::vector<ReportRow> training;  // from "<model>.report.json" beside it; empty without one
    std::vector<ReportRow> method;    // method, class, layer, patch settings, coverage
    std::vector<ReportRow> score;     // the slide's score of the explained class
    std::vector<int> histogram;       // 20 bins of patch probability over [0, 1]
    std::string explainedClass;
    std::vector<AnalysisSummary::Region> regions;  // highest peak first
    std::vector<std::string> regionAreas;          // parallel: in words
    std::vector<ReportAnnotationClass> annotations;
    std::string software;  // "Lucida 0.2.0 (commit abc1234)"
    std::string created;   // "2026-12-01 21:50 UTC"
};

struct CaseReportInputs {
    const SlideAnalysis* analysis = nullptr;  // required
    const ImageInfo* image = nullptr;         // required
    const ModelSpec* model = nullptr;         // required
    std::string modelPath;
    const AnnotationSet* annotations = nullptr;  // none: the section says so
    bool includePatientDetails = false;
    std::size_t maxRegions = 6;
};

// Throws std::invalid_argument when a required input is missing.
CaseReportData gatherCaseReport(const CaseReportInputs& inputs);

// The training metrics of the model at `modelPath` from "<stem>.report.json" beside it (what
// `lucida-cli train` writes): outcome, best epoch, image counts and the best epoch's validation
// metrics. Empty when there is none; one row saying why when it cannot be read. The file is
// untrusted: at most 32 MiB are read.
std::vector<ReportRow> trainingRowsFor(const std::string& modelPath);

// The DICOM patient attributes a report leaves out unless asked (also kept out of file metadata).
const std::vector<std::string>& patientPropertyKeys();

}  // namespace lucida
