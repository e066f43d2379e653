// writeFileAtomically: the target is replaced whole, no temporary is left behind (on success or
// when the writer throws), parallel writers to one path never share a temporary, and a folder
// that cannot be written is reported with the target's path.
#include <QtTest>

#include "image/FileError.h"
#include "io/AtomicFile.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace lucida;
namespace fs = std::filesystem;

namespace {

std::string readAll(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Every entry of `dir` but the expected ones.
std::vector<std::string> strayFiles(const fs::path& dir, const std::vector<std::string>& expected) {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (std::find(expected.begin(), expected.end(), name) == expected.end())
            out.push_back(name);
    }
    return out;
}

}  // namespace

class AtomicFileTest : public QObject {
    Q_OBJECT

private slots:
    void replacesTheTargetWhole() {
        QTemporaryDir dir;
        const fs::path target = fs::path(dir.path().toStdString()) / "out.json";
        writeFileAtomically(target.string(), std::string(100000, 'a'));
        writeFileAtomically(target.string(), std::string_view("short"));
        QCOMPARE(readAll(target), std::string("short"));
        QVERIFY(strayFiles(target.parent_path(), {"out.json"}).empty());
    }

    void callbackWritesToATemporaryWithTheTargetsExtension() {
        QTemporaryDir dir;
        const fs::path target = fs::path(dir.path().toStdString()) / "curves.png";
        std::string seen;
        writeFileAtomically(target.string(), [&](const std::string& temporary) {
            seen = temporary;
            std::ofstream(temporary, std::ios::binary) << "png bytes";
        });
        QCOMPARE(fs::path(seen).parent_path(), target.parent_path());
        QCOMPARE(fs::path(seen).extension().string(), std::string(".png"));
        QVERIFY(seen != target.string());
        QCOMPARE(readAll(target), std::string("png bytes"));
        QVERIFY(strayFiles(target.parent_path(), {"curves.png"}).empty());
    }

    void throwingWriterLeavesTheTargetAndNoTemporary() {
        QTemporaryDir dir;
        const fs::path target = fs::path(dir.path().toStdString()) / "model.pth";
        writeFileAtomically(target.string(), std::string_view("old"));
        bool thrown = false;
        try {
            writeFileAtomically(target.string(), [](const std::string& temporary) {
                std::ofstream(temporary) << "half";
                throw std::runtime_error("writer failed");
            });
        } catch (const std::runtime_error& e) {
            thrown = std::string(e.what()) == "writer failed";
        }
        QVERIFY(thrown);
        QCOMPARE(readAll(target), std::string("old"));
        QVERIFY(strayFiles(target.parent_path(), {"model.pth"}).empty());
    }

    void parallelWritersLeaveOneCompleteFile() {
        QTemporaryDir dir;
        const fs::path target = fs::path(dir.path().toStdString()) / "report.json";
        constexpr int kWriters = 8;
        constexpr std::size_t kSize = 1 << 20;
        std::vector<std::thread> threads;
        std::vector<std::string> errors(kWriters);
        for (int w = 0; w < kWriters; ++w)
            threads.emplace_back([&, w] {
                try {
                    for (int round = 0; round < 4; ++round)
                        writeFileAtomically(target.string(),
                                            std::string(kSize, static_cast<char>('a' + w)));
                } catch (const std::exception& e) {
                    errors[static_cast<std::size_t>(w)] = e.what();
                }
            });
        for (auto& t : threads) t.join();
        for (const auto& e : errors) QVERIFY2(e.empty(), e.c_str());
        const std::string content = readAll(target);
        QCOMPARE(content.size(), kSize);
        QCOMPARE(std::count(content.begin(), content.end(), content.front()),
                 static_cast<std::ptrdiff_t>(kSize));
        QVERIFY(strayFiles(target.parent_path(), {"report.json"}).empty());
    }

    void permissionErrorNamesThePath() {
        QTemporaryDir dir;
        fs::path target;
        if (::geteuid() == 0) {
            // root writes anywhere a mode allows; /sys refuses new files to everyone.
            target = "/sys/lucida-atomic-file-test.json";
        } else {
            const fs::path locked = fs::path(dir.path().toStdString()) / "locked";
            fs::create_directory(locked);
            fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
            target = locked / "out.json";
        }
        std::optional<FileError> error;
        try {
            writeFileAtomically(target.string(), std::string_view("x"));
        } catch (const FileError& e) {
            error = e;
        }
        if (::geteuid() != 0) fs::permissions(target.parent_path(), fs::perms::owner_all);
        QVERIFY(error);
        QCOMPARE(error->path(), target.string());
        QVERIFY2(std::string(error->what()).find(target.string()) != std::string::npos,
                 error->what());
        QVERIFY2(error->reason().find("ermission") != std::string::npos, error->what());
    }
};

QTEST_APPLESS_MAIN(AtomicFileTest)
#include "atomic_file_test.moc"
