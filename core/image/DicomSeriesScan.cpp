// The series of a folder or DICOMDIR: the files it names (DICOMDIR records read as a flat list) or
// holds (breadth first, bounded), parsed and grouped by SeriesInstanceUID, largest first.
#include "image/DicomSeriesScan.h"

#include "image/ImageError.h"

#include <dcmtk/dcmdata/dcdeftag.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <map>

namespace lucida::dicom {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxFolderDepth = 8;              // subfolders looked into below the opened folder
constexpr std::size_t kMaxSeriesFiles = 20000;  // files examined in a folder or DICOMDIR
constexpr std::uintmax_t kMaxDicomdirBytes = 64ull << 20;

bool isDicomdirName(const fs::path& p) {
    std::string n = p.filename().string();
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::toupper(c); });
    return n == "DICOMDIR";
}

fs::path dicomdirIn(const fs::path& folder) {
    std::error_code ec;
    for (const char* name : {"DICOMDIR", "dicomdir"})
        if (fs::is_regular_file(folder / name, ec)) return folder / name;
    return {};
}

// The files a DICOMDIR references (Referenced File ID of its directory records), in its order.
// The records are read as a flat list, without following their offsets: DCMTK's DcmDicomDir
// builds its tree by recursion on those offsets, which a hostile file controls.
std::vector<fs::path> dicomdirFiles(const fs::path& dicomdir,
                                    std::vector<std::pair<std::string, std::string>>& skipped) {
    std::error_code ec;
    const auto size = fs::file_size(dicomdir, ec);
    if (ec) throw ImageError(dicomdir.string(), "cannot read DICOMDIR: " + ec.message());
    if (size > kMaxDicomdirBytes)
        throw ImageError(dicomdir.string(),
                         "DICOMDIR too large (" + std::to_string(size >> 20) + " MiB)");
    DcmFileFormat file;
    const OFCondition c = file.loadFile(dicomdir.c_str());
    if (c.bad())
        throw ImageError(dicomdir.string(), std::string("unreadable DICOMDIR: ") + c.text());
    DcmSequenceOfItems* records = nullptr;
    if (file.getDataset()->findAndGetSequence(DCM_DirectoryRecordSequence, records).bad() ||
        !records)
        throw ImageError(dicomdir.string(), "DICOMDIR without directory records");
    const fs::path root = dicomdir.parent_path();
    std::vector<fs::path> files;
    for (unsigned long i = 0; i < records->card() && files.size() < kMaxSeriesFiles; ++i) {
        DcmItem* record = records->getItem(i);
        OFString part;
        if (!record || record->findAndGetOFString(DCM_ReferencedFileID, part, 0).bad()) continue;
        fs::path p = root;
        std::string id;
        bool valid = true;
        for (unsigned long k = 0; k < 8 && valid; ++k) {  // PS3.10: at most 8 components
            if (record->findAndGetOFString(DCM_ReferencedFileID, part, k).bad()) break;
            const std::string s(part.c_str());
            valid = !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos;
            p /= s;
            id += (id.empty() ? "" : "\\") + s;
        }
        if (!valid) {  // a name that could leave the file-set's folder
            skipped.emplace_back(id, "DICOMDIR file ID leaves the file-set's folder, not read");
            continue;
        }
        if (!fs::exists(p, ec)) {  // file-sets copied from CDs often have lower-case names
            std::string lower = p.lexically_relative(root).string();
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](unsigned char ch) { return std::tolower(ch); });
            if (fs::exists(root / lower, ec)) p = root / lower;
        }
        if (std::find(files.begin(), files.end(), p) == files.end()) files.push_back(p);
    }
    return files;
}

// The files of a folder and its subfolders (hidden ones and links to folders skipped), breadth
// first, sorted within each folder; bounded in depth and count.
std::vector<fs::path> folderFiles(const fs::path& folder, bool& truncated) {
    std::vector<fs::path> files;
    std::vector<fs::path> level{folder};
    truncated = false;
    for (int depth = 0; depth <= kMaxFolderDepth && !level.empty(); ++depth) {
        std::vector<fs::path> next;
        for (const fs::path& dir : level) {
            std::vector<fs::path> here, subs;
            std::error_code ec;
            for (const auto& entry : fs::directory_iterator(dir, ec)) {
                const std::string name = entry.path().filename().string();
                if (name.empty() || name.front() == '.') continue;
                if (entry.is_symlink(ec) && entry.is_directory(ec)) continue;
                if (entry.is_directory(ec))
                    subs.push_back(entry.path());
                else if (entry.is_regular_file(ec) && !isDicomdirName(entry.path()))
                    here.push_back(entry.path());
            }
            if (ec && dir == folder)
                throw ImageError(folder.string(), "cannot list folder: " + ec.message());
            std::sort(here.begin(), here.end());
            std::sort(subs.begin(), subs.end());
            for (auto& p : here) {
                if (files.size() >= kMaxSeriesFiles) {
                    truncated = true;
                    return files;
                }
                files.push_back(std::move(p));
            }
            next.insert(next.end(), subs.begin(), subs.end());
        }
        level = std::move(next);
    }
    return files;
}

std::string relativeName(const fs::path& p, const fs::path& root) {
    const fs::path r = p.lexically_relative(root);
    return r.empty() ? p.filename().string() : r.string();
}

}  // namespace

// Series order: position along the slice normal when every file has one, else InstanceNumber,
// else file name. Returns what was used, for the properties.
std::string sortFiles(std::vector<DicomFile>& files) {
    const bool positions = std::all_of(
        files.begin(), files.end(), [](const DicomFile& f) { return f.position && f.orientation; });
    const bool instances =
        std::all_of(files.begin(), files.end(), [](const DicomFile& f) { return f.instance; });
    auto byName = [](const DicomFile& a, const DicomFile& b) { return a.path < b.path; };
    if (positions) {
        const auto& o = *files.front().orientation;
        const std::array<double, 3> normal = {o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5],
                                              o[0] * o[4] - o[1] * o[3]};
        auto along = [&](const DicomFile& f) {
            const auto& p = *f.position;
            return p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
        };
        std::stable_sort(files.begin(), files.end(), [&](const DicomFile& a, const DicomFile& b) {
            const double da = along(a), db = along(b);
            if (da != db) return da < db;
            if (a.instance && b.instance && *a.instance != *b.instance)
                return *a.instance < *b.instance;
            return byName(a, b);
        });
        return "position along the slice normal";
    }
    if (instances) {
        std::stable_sort(files.begin(), files.end(), [&](const DicomFile& a, const DicomFile& b) {
            return *a.instance != *b.instance ? *a.instance < *b.instance : byName(a, b);
        });
        return "instance number";
    }
    std::stable_sort(files.begin(), files.end(), byName);
    return "file name";
}

std::string joinSkipped(const std::vector<std::pair<std::string, std::string>>& skipped) {
    std::string s;
    for (const auto& [name, reason] : skipped)
        s += (s.empty() ? "" : "; ") + name + " (" + reason + ")";
    return s;
}

// A DICOMDIR file: by name, or by its Media Storage SOP Class in the meta header.
bool isDicomdirFile(const fs::path& p) {
    if (isDicomdirName(p)) return true;
    std::ifstream in(p, std::ios::binary);
    std::string head(1024, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    const std::string uid = "1.2.840.10008.1.3.10";
    const auto at = head.find(uid);
    return head.size() >= 132 && head.compare(128, 4, "DICM") == 0 && at != std::string::npos &&
           (at + uid.size() >= head.size() || !std::isdigit(head[at + uid.size()]) ||
            head[at + uid.size()] == '\0');
}

// Whether a folder (or one of its subfolders) holds a DICOMDIR or a DICOM file: cheap, stops at
// the first hit and looks at a bounded number of entries.
bool folderHasDicom(const fs::path& folder) {
    std::vector<fs::path> level{folder};
    std::size_t looked = 0;
    for (int depth = 0; depth <= kMaxFolderDepth && !level.empty(); ++depth) {
        std::vector<fs::path> next;
        for (const fs::path& dir : level) {
            std::error_code ec;
            for (const auto& entry : fs::directory_iterator(dir, ec)) {
                if (++looked > 2000) return false;
                const std::string name = entry.path().filename().string();
                if (name.empty() || name.front() == '.') continue;
                if (entry.is_symlink(ec) && entry.is_directory(ec)) continue;
                if (entry.is_directory(ec))
                    next.push_back(entry.path());
                else if (entry.is_regular_file(ec) &&
                         (isDicomdirName(entry.path()) || hasDicmMagic(entry.path())))
                    return true;
            }
        }
        level = std::move(next);
    }
    return false;
}

// The DICOM image files of a folder (through its DICOMDIR when it has one, else its files and
// subfolders) or of a DICOMDIR file, grouped by series; `files` is the series `wanted`, or the
// largest when `wanted` is empty.
SeriesScan scanSeries(const std::string& path, const std::optional<std::string>& wanted) {
    SeriesScan scan;
    std::error_code ec;
    const bool folder = fs::is_directory(path, ec);
    const fs::path root = folder ? fs::path(path) : fs::path(path).parent_path();
    const fs::path dicomdir = folder ? dicomdirIn(root) : fs::path(path);
    std::vector<fs::path> paths;
    if (!dicomdir.empty()) {
        try {
            paths = dicomdirFiles(dicomdir, scan.skipped);
            scan.source = "DICOMDIR";
        } catch (const ImageError& e) {
            if (!folder) throw;
            scan.skipped.emplace_back(dicomdir.filename().string(), e.reason());
        }
    }
    std::vector<std::string> order;  // series UIDs in the order first seen
    std::map<std::string, std::vector<DicomFile>> bySeries;
    std::string firstReason;
    auto parseAll = [&] {
        firstReason.clear();
        for (const auto& p : paths) {
            const std::string name = relativeName(p, root);
            try {
                if (!hasDicmMagic(p) && !looksLikeBareDataset(p))
                    throw ImageError(p.string(), "not a DICOM file (no 'DICM' at offset 128)");
                DicomFile f = parseFile(p.string());
                if (!bySeries.count(f.seriesUid)) order.push_back(f.seriesUid);
                bySeries[f.seriesUid].push_back(std::move(f));
            } catch (const ImageError& e) {
                scan.skipped.emplace_back(name, e.reason());
                if (firstReason.empty()) firstReason = name + ": " + e.reason();
            }
        }
    };
    if (!scan.source.empty()) {
        parseAll();
        if (bySeries.empty() && folder) {  // e.g. a DICOMDIR left behind by a copy
            scan.skipped.emplace_back(dicomdir.filename().string(),
                                      "its files hold no readable image; the folder was searched");
            scan.source.clear();
        }
    }
    if (scan.source.empty()) {
        bool truncated = false;
        paths = folderFiles(root, truncated);
        scan.source = "folder";
        if (truncated)
            scan.skipped.emplace_back(
                "(more files)",
                "only the first " + std::to_string(kMaxSeriesFiles) + " files were examined");
        parseAll();
    }
    if (bySeries.empty())
        throw ImageError(
            path, paths.empty()
                      ? (scan.source == "DICOMDIR" ? "the DICOMDIR references no files"
                                                   : "folder holds no files")
                      : "no DICOM image in the " +
                            std::string(scan.source == "DICOMDIR" ? "DICOMDIR's files" : "folder") +
                            "; first file " + firstReason);
    for (const std::string& uid : order) {
        const auto& list = bySeries[uid];
        DcmDataset* ds = list.front().ds();
        DicomSeries s;
        s.uid = uid;
        s.modality = getString(ds, DCM_Modality);
        s.description = getString(ds, DCM_SeriesDescription);
        s.number = getString(ds, DCM_SeriesNumber);
        s.files = static_cast<int>(list.size());
        for (const DicomFile& f : list) s.frames += f.frames;
        fs::path common = fs::path(list.front().path).parent_path();
        for (const DicomFile& f : list)
            while (
                !common.empty() &&
                (fs::path(f.path).parent_path().string() + "/").rfind(common.string() + "/", 0) !=
                    0)
                common = common.parent_path();
        s.folder = common.string();
        scan.series.push_back(s);
    }
    std::stable_sort(scan.series.begin(), scan.series.end(),
                     [](const DicomSeries& a, const DicomSeries& b) { return a.files > b.files; });
    const std::string chosen = wanted ? *wanted : scan.series.front().uid;
    auto it = bySeries.find(chosen);
    if (it == bySeries.end()) {
        std::string known;
        for (const auto& s : scan.series) known += (known.empty() ? "" : ", ") + s.uid;
        throw ImageError(path, "no series " + chosen + " here (series: " + known + ")");
    }
    const DicomFile& ref = it->second.front();
    for (DicomFile& f : it->second) {
        if (f.rows != ref.rows || f.cols != ref.cols || f.colour != ref.colour) {
            scan.skipped.emplace_back(relativeName(f.path, root),
                                      "size or colour differs from the rest of the series");
            continue;
        }
        scan.files.push_back(std::move(f));
    }
    return scan;
}

std::string describe(const DicomSeries& s, const fs::path& root) {
    std::string d = s.uid.empty() ? "(no UID)" : s.uid;
    d += ": " + (s.modality.empty() ? std::string("?") : s.modality);
    if (!s.number.empty()) d += " #" + s.number;
    if (!s.description.empty()) d += " \"" + s.description + "\"";
    d += ", " + std::to_string(s.files) + (s.files == 1 ? " file" : " files");
    if (s.frames != s.files) d += ", " + std::to_string(s.frames) + " frames";
    const std::string where = relativeName(s.folder, root);
    if (!where.empty() && where != ".") d += ", in " + where;
    return d;
}

}  // namespace lucida::dicom
