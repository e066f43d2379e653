#pragma once
// The layout of a case report on A4 pages with QPdfWriter: text as text (extractable, vector),
// the pictures embedded as images. Metadata: a fixed title and the creator, nothing about the
// patient or the image.

#include "CaseReport.h"
#include "report/CaseReportData.h"

#include <QByteArray>

namespace lucida::ui {

// The PDF's bytes. Needs a QGuiApplication (fonts).
QByteArray layoutCaseReportPdf(const CaseReportData& data, const CaseReportImages& images);

}  // namespace lucida::ui
