// Hostile and damaged model files (issue 11), made at test time by
// tests/fixtures/make_hostile_models.py. Each file is checked in child processes whose peak
// resident memory (VmHWM, which the child reads at its end) and time are measured:
//  - hostile_model_probe (no LibTorch in the process, so the memory is the reader's own) runs the
//    torch-free reader's whole check on every file;
//  - with LibTorch, this executable (--open FILE) runs Model::open and the logits on every file
//    that is not a random corruption, and on every corruption the probe let through.
// Each must be refused with an error naming the file and the limit or damage hit, within 5 s and
// under 500 MB; a damaged zip may instead open only with exactly the clean model's logits; the
// legacy (pre-1.6) ResNet-18 opens with Python's logits; no code-execution payload ever runs.
#include "model/ModelError.h"
#include "model/StateDictLayout.h"
#ifdef LUCIDA_TEST_WITH_TORCH
#include "model/FloatTensor.h"
#include "model/Model.h"
#endif

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

extern char** environ;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

// AddressSanitizer makes the reader 2-4x slower (measured: 3.3 s for the 300,000-level chain on
// the loaded 2-core machine, 0.6 s without); its memory stays far below the limit (210 MB).
constexpr double kMaxSeconds = kAsan ? 15.0 : 5.0;
constexpr double kMaxMegabytes = 500.0;

// The child: opens one file, prints "OK <logits as %a>" or "REFUSED\t<what>" (exit code 0 or 3),
// then "SECONDS <s>": the time from before the open to the result (the process's own start, which
// loads LibTorch's libraries, is not the reader's and takes ~1.5 s on the loaded 2-core machine).
// Then "PEAK_KB <n>": the process's peak resident memory since its exec (VmHWM; wait4's
// ru_maxrss cannot be used: posix_spawn's child starts in the parent's address space and the
// kernel keeps the parent's high-water mark across the exec).
long peakKilobytes() {
    QFile status("/proc/self/status");
    if (!status.open(QIODevice::ReadOnly)) return -1;
    for (const QByteArray& line : status.readAll().split('\n'))
        if (line.startsWith("VmHWM:")) return line.mid(6).trimmed().split(' ').front().toLong();
    return -1;
}

int openFile(const std::string& path);
int openInChild(const std::string& path) {
    const auto start = std::chrono::steady_clock::now();
    const int code = openFile(path);
    std::printf("SECONDS %.3f\nPEAK_KB %ld\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                peakKilobytes());
    return code;
}

int openFile(const std::string& path) {
    try {
#ifdef LUCIDA_TEST_WITH_TORCH
        const auto model = lucida::Model::open(path);
        lucida::FloatTensor input({1, 3, 224, 224});
        const std::string inputPath =
            QFileInfo(QString::fromStdString(path)).dir().filePath("input.f32").toStdString();
        std::ifstream in(inputPath, std::ios::binary);
        in.read(reinterpret_cast<char*>(input.data.data()),
                static_cast<std::streamsize>(input.data.size() * sizeof(float)));
        if (!in) {
            std::printf("ERROR\tcannot read %s\n", inputPath.c_str());
            return 4;
        }
        const lucida::FloatTensor logits = model->logits(input);
        std::printf("OK");
        for (float v : logits.data) std::printf(" %a", static_cast<double>(v));
        std::printf("\n");
#else
        std::printf("OK %zu tensors\n", lucida::checkStateDictFile(path));
#endif
        return 0;
    } catch (const lucida::FileError& e) {
        std::printf("REFUSED\t%s\n", e.what());
        return 3;
    } catch (const std::exception& e) {
        std::printf("ERROR\t%s\n", e.what());
        return 4;
    }
}

struct ChildResult {
    int status = 0;          // from waitpid
    QString output;          // the result line
    double seconds = -1;     // the open, as the child measured it
    double wallSeconds = 0;  // the whole child process, with its start
    double megabytes = -1;   // peak resident set, as the child read it (VmHWM)
};

ChildResult runChild(const std::string& program, const QString& file) {
    ChildResult r;
    int pipeFds[2];
    if (pipe2(pipeFds, O_CLOEXEC) != 0) qFatal("pipe failed");  // not inherited by siblings
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1);
    posix_spawn_file_actions_addclose(&actions, pipeFds[0]);
    const std::string self = QCoreApplication::applicationFilePath().toStdString();
    const std::string path = file.toStdString();
    const bool probe = program != self;
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    if (!probe) argv.push_back(const_cast<char*>("--open"));
    argv.push_back(const_cast<char*>(path.c_str()));
    argv.push_back(nullptr);
    const auto start = std::chrono::steady_clock::now();
    pid_t pid = 0;
    if (posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ) != 0)
        qFatal("posix_spawn failed");
    posix_spawn_file_actions_destroy(&actions);
    close(pipeFds[1]);
    // A watchdog: a child that hangs is killed after 60 s (and fails the checks).
    std::atomic<bool> done{false};
    std::thread watchdog([&] {
        for (int i = 0; i < 600 && !done; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (!done) kill(pid, SIGKILL);
    });
    QByteArray output;
    char buffer[4096];
    ssize_t n;
    while ((n = read(pipeFds[0], buffer, sizeof buffer)) > 0) output.append(buffer, n);
    close(pipeFds[0]);
    waitpid(pid, &r.status, 0);
    done = true;
    watchdog.join();
    r.wallSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const QString& line : QString::fromUtf8(output).split('\n', Qt::SkipEmptyParts)) {
        if (line.startsWith("SECONDS "))
            r.seconds = line.mid(8).toDouble();
        else if (line.startsWith("PEAK_KB "))
            r.megabytes = line.mid(8).toDouble() / 1024.0;
        else
            r.output += line.trimmed();
    }
    return r;
}

#ifdef LUCIDA_TEST_WITH_TORCH
std::vector<float> parseLogits(const QString& output) {
    std::vector<float> v;
    const auto parts = output.split(' ', Qt::SkipEmptyParts);
    for (qsizetype i = 1; i < parts.size(); ++i)
        v.push_back(std::strtof(parts[i].toLatin1().constData(), nullptr));
    return v;
}
#endif

// The checks every child must pass, refused or not; returns its exit code (0 opened, 3 refused).
// `maxOpenSeconds` applies to a child that opened the model, and to one refusing a model it built
// (`lateRefusal`: damage no checksum covers, found by the architecture check after loading).
int checkChild(const ChildResult& r, const QString& file, double maxOpenSeconds, bool lateRefusal,
               bool* ok) {
    *ok = false;
    [&] {
        QVERIFY2(WIFEXITED(r.status), qPrintable("the child died: " + r.output));
        const int code = WEXITSTATUS(r.status);
        QVERIFY2(code == 0 || code == 3, qPrintable(r.output));  // nothing else escapes
        const double limit = code == 3 && !lateRefusal ? kMaxSeconds : maxOpenSeconds;
        QVERIFY2(r.seconds >= 0 && r.seconds < limit,
                 qPrintable(QString::number(r.seconds) + " s: " + r.output));
        QVERIFY2(r.wallSeconds < 60, qPrintable(QString::number(r.wallSeconds) + " s in all"));
        QVERIFY2(r.megabytes > 0 && r.megabytes < kMaxMegabytes,
                 qPrintable(QString::number(r.megabytes) + " MB"));
        if (code == 3) QVERIFY2(r.output.contains(file), qPrintable(r.output));  // names the file
        *ok = true;
    }();
    return *ok ? WEXITSTATUS(r.status) : -1;
}

}  // namespace

class HostileModelTest : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    QString dir_;
    QString cleanOutput_;
    QList<QStringList> index_;              // file name, expectation
    std::map<QString, ChildResult> probe_;  // the torch-free reader, by file name
    std::map<QString, ChildResult> model_;  // Model::open (with LibTorch), by file name

    // Runs `jobs` two at a time (one per core); each child measures its own open.
    static void runAll(const std::vector<std::pair<std::string, QString>>& jobs,
                       std::map<QString, ChildResult>& results) {
        std::atomic<std::size_t> next{0};
        std::mutex mutex;
        auto worker = [&] {
            for (std::size_t i; (i = next++) < jobs.size();) {
                ChildResult r = runChild(jobs[i].first, jobs[i].second);
                const std::lock_guard lock(mutex);
                results[QFileInfo(jobs[i].second).fileName()] = std::move(r);
            }
        };
        std::thread a(worker), b(worker);
        a.join();
        b.join();
    }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        dir_ = tmp_.filePath("hostile");
        QProcess make;
        make.setProcessChannelMode(QProcess::ForwardedChannels);
        make.start("/usr/bin/python3",
                   {QString(LUCIDA_SOURCE_DIR) + "/tests/fixtures/make_hostile_models.py", dir_});
        QVERIFY(make.waitForFinished(600'000));
        QCOMPARE(make.exitCode(), 0);
        QFile index(dir_ + "/index.tsv");
        QVERIFY(index.open(QIODevice::ReadOnly));
        while (!index.atEnd()) {
            const auto fields = QString::fromUtf8(index.readLine()).trimmed().split('\t');
            if (fields.size() == 2) index_.append(fields);
        }
        QVERIFY(index_.size() >= 70);
        std::vector<std::pair<std::string, QString>> jobs;
        for (const QStringList& fields : index_)
            jobs.emplace_back(LUCIDA_PROBE, dir_ + "/" + fields[0]);
        runAll(jobs, probe_);
#ifdef LUCIDA_TEST_WITH_TORCH
        // Model::open: every file but the random corruptions the reader already refused (each
        // such child spends ~1.5 s loading LibTorch's libraries before it starts).
        jobs.clear();
        const std::string self = QCoreApplication::applicationFilePath().toStdString();
        for (const QStringList& fields : index_) {
            const ChildResult& p = probe_[fields[0]];
            const bool refusedCorruption = fields[0].startsWith("corrupt_") &&
                                           WIFEXITED(p.status) && WEXITSTATUS(p.status) == 3;
            if (!refusedCorruption) jobs.emplace_back(self, dir_ + "/" + fields[0]);
        }
        runAll(jobs, model_);
        const ChildResult& clean = model_["resnet18.pth"];
        QVERIFY2(clean.output.startsWith("OK"), qPrintable(clean.output));
        cleanOutput_ = clean.output;
#endif
    }

    void hostile_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("expect");
        for (const QStringList& fields : index_)
            QTest::newRow(qPrintable(fields[0])) << dir_ + "/" + fields[0] << fields[1];
    }

    void hostile() {
        QFETCH(QString, file);
        QFETCH(QString, expect);
        const QString name = QFileInfo(file).fileName();
        QVERIFY(probe_.count(name));
        for (const auto* results : {&probe_, &model_}) {
            if (!results->count(name)) continue;
            const ChildResult& r = results->at(name);
            const bool model = results == &model_;
            qInfo("%-6s %-40s %6.2f s (process %5.2f s) %7.1f MB  %s", model ? "model" : "reader",
                  qPrintable(name), r.seconds, r.wallSeconds, r.megabytes,
                  qPrintable(r.output.left(150)));
            bool ok = false;
            // A model that opens also runs two forwards of ResNet-18 on the 2 shared cores.
            const int code =
                checkChild(r, file, model ? 30.0 : kMaxSeconds, expect == "survive", &ok);
            if (!ok) return;
            if (expect.startsWith("refuse:")) {
                QVERIFY2(code == 3, qPrintable("not refused: " + r.output));
                const QRegularExpression reason(expect.mid(7));
                QVERIFY2(reason.match(r.output).hasMatch(),
                         qPrintable(r.output + " does not match " + expect));
            } else if (expect == "clean") {
                // Refused, or opened with exactly the clean weights (damage to unread bytes).
                if (code == 0 && model) QCOMPARE(r.output, cleanOutput_);
            } else if (expect == "survive") {
                // Damage no checksum covers (legacy files, a pickle behind a recomputed CRC):
                // refused naming the file, or a model that opens; within the limits either way.
            } else {
                QCOMPARE(expect, QString("load"));
                QVERIFY2(code == 0, qPrintable(r.output));
                if (model) QCOMPARE(r.output, cleanOutput_);  // the weights of resnet18.pth
            }
        }
    }

#ifdef LUCIDA_TEST_WITH_TORCH
    // The clean and legacy ResNet-18s against Python's logits for the same input.
    void logitsEqualPython() {
        QFile f(dir_ + "/resnet18.logits.f32");
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray bytes = f.readAll();
        std::vector<float> python(static_cast<std::size_t>(bytes.size()) / sizeof(float));
        std::memcpy(python.data(), bytes.constData(), python.size() * sizeof(float));
        QCOMPARE(python.size(), std::size_t{3});
        for (const char* name : {"resnet18.pth", "resnet18_legacy.pth"}) {
            const std::vector<float> ours = parseLogits(model_[name].output);
            QCOMPARE(ours.size(), python.size());
            for (std::size_t i = 0; i < ours.size(); ++i)
                QVERIFY2(std::abs(ours[i] - python[i]) < 1e-4,
                         qPrintable(
                             QString("%1: %2 vs Python %3").arg(name).arg(ours[i]).arg(python[i])));
        }
    }
#endif

    // Nothing from any file ran: the payloads would have created these markers.
    void nothingExecuted() {
        const QStringList markers = QDir(dir_).entryList({"MARKER-*"}, QDir::Files);
        QVERIFY2(markers.isEmpty(), qPrintable(markers.join(", ")));
        QVERIFY(QFile::exists(dir_ + "/exec_os_system_alone.pth"));  // the payloads were made
    }
};

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--open") return openInChild(argv[2]);
    QCoreApplication app(argc, argv);
    HostileModelTest test;
    return QTest::qExec(&test, argc, argv);
}

#include "hostile_model_test.moc"
