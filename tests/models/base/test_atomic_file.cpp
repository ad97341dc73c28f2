// AtomicFile: whole file or nothing under the final name, and the targets an output must never
// replace (devices, FIFOs, folders, the input itself). Real files in a temporary folder.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <functional>
#include <sstream>

#include "common/child.h"
#include "common/error_of.h"
#include "models/base/atomic_file.h"
#include "models/base/error.h"

namespace fs = std::filesystem;
using s2v::AtomicFile;
using s2v::ErrorKind;

using s2v::test::error_of;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

class TestAtomicFile : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path dir() const { return tmp_.path().toStdString(); }

 private slots:
  void writesTheWholeFileAndLeavesNoPart() {
    const fs::path p = dir() / "a.txt";
    {
      AtomicFile f(p);
      f.write("hello ");
      QVERIFY(fs::exists(f.part()));
      QVERIFY(!fs::exists(p));  // nothing under the final name before commit
      f.write("world");
      f.commit();
    }
    QCOMPARE(read_all(p), std::string("hello world"));
    QVERIFY(!fs::exists(dir() / "a.txt.part"));
    s2v::write_file_atomically(p, "replaced");
    QCOMPARE(read_all(p), std::string("replaced"));
  }

  void uncommittedFileLeavesTheOldContent() {
    const fs::path p = dir() / "keep.txt";
    s2v::write_file_atomically(p, "old");
    {
      AtomicFile f(p);
      f.write("half of the new");
    }  // destroyed without commit: an error path
    QCOMPARE(read_all(p), std::string("old"));
    QVERIFY(!fs::exists(dir() / "keep.txt.part"));
  }

  void externalWriterCommitsThroughPart() {
    const fs::path p = dir() / "ext.bin";
    AtomicFile f(p);
    { std::ofstream(f.part(), std::ios::binary | std::ios::trunc) << "by ffmpeg"; }
    f.commit();
    QCOMPARE(read_all(p), std::string("by ffmpeg"));
  }

  // Group 1 of issue #19: `s2v convert good.pth /dev/full` replaced the device with a file.
  void refusesDevicesFifosAndFolders() {
    const fs::path dev = dir() / "full-device";
    // A device node of our own (1,7 = /dev/full's numbers) so a regression cannot hurt /dev.
    if (::mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 7)) != 0) QSKIP("mknod needs root");
    ErrorKind kind{};
    std::string e = error_of([&] { AtomicFile f(dev); }, &kind);
    QVERIFY2(e.find("character device") != std::string::npos, e.c_str());
    QCOMPARE(kind, ErrorKind::InvalidArgument);
    struct stat st {};
    QVERIFY(::stat(dev.c_str(), &st) == 0 && S_ISCHR(st.st_mode));  // still the device
    QVERIFY(!fs::exists(dir() / "full-device.part"));

    const fs::path fifo = dir() / "pipe";
    QVERIFY(::mkfifo(fifo.c_str(), 0666) == 0);
    e = error_of([&] { s2v::write_file_atomically(fifo, "x"); });
    QVERIFY2(e.find("FIFO") != std::string::npos, e.c_str());
    QVERIFY(fs::is_fifo(fifo));

    const fs::path folder = dir() / "folder";
    fs::create_directory(folder);
    e = error_of([&] { s2v::write_file_atomically(folder, "x"); });
    QVERIFY2(e.find("a folder") != std::string::npos, e.c_str());
    QVERIFY(fs::is_directory(folder));

    // through a symlink as well
    fs::create_symlink(dev, dir() / "link-to-device");
    e = error_of([&] { s2v::write_file_atomically(dir() / "link-to-device", "x"); });
    QVERIFY2(e.find("device") != std::string::npos, e.c_str());
  }

  // `s2v convert a.pth a.pth` and `curate export v.db --out v.db` destroyed their input.
  void refusesTheInputItselfByInode() {
    const fs::path in = dir() / "input.db";
    s2v::write_file_atomically(in, "precious");
    fs::create_hard_link(in, dir() / "hardlink.db");
    fs::create_symlink(in, dir() / "symlink.db");
    for (const fs::path& target : {in, dir() / "." / "input.db", dir() / "hardlink.db", dir() / "symlink.db"}) {
      ErrorKind kind{};
      const std::string e = error_of([&] { s2v::write_file_atomically(target, "garbage", {in}); }, &kind);
      QVERIFY2(e.find("is the input") != std::string::npos, (target.string() + ": " + e).c_str());
      QCOMPARE(kind, ErrorKind::InvalidArgument);
    }
    QCOMPARE(read_all(in), std::string("precious"));
    // another file is fine
    s2v::write_file_atomically(dir() / "other.db", "ok", {in});
    QCOMPARE(read_all(dir() / "other.db"), std::string("ok"));
    QVERIFY(!error_of([&] { s2v::copy_file_atomically(in, in); }).empty());
    QCOMPARE(read_all(in), std::string("precious"));
  }

  void aPlantedPartSymlinkIsReplacedNotFollowed() {
    const fs::path victim = dir() / "victim.txt";
    s2v::write_file_atomically(victim, "untouched");
    const fs::path out = dir() / "out.txt";
    fs::create_symlink(victim, dir() / "out.txt.part");
    s2v::write_file_atomically(out, "new");
    QCOMPARE(read_all(victim), std::string("untouched"));
    QCOMPARE(read_all(out), std::string("new"));
  }

  void missingFolderAndSymlinkLoopAreNamed() {
    ErrorKind kind{};
    std::string e = error_of([&] { s2v::write_file_atomically(dir() / "no" / "such" / "x.txt", "x"); }, &kind);
    QVERIFY2(e.find("does not exist") != std::string::npos, e.c_str());
    QCOMPARE(kind, ErrorKind::NotFound);
    // a path under a regular file: a real "cannot write" even for root
    s2v::write_file_atomically(dir() / "plain", "x");
    e = error_of([&] { s2v::write_file_atomically(dir() / "plain" / "x.txt", "x"); });
    QVERIFY2(e.find("is not a folder") != std::string::npos, e.c_str());
    fs::create_symlink("loop-b", dir() / "loop-a");
    fs::create_symlink("loop-a", dir() / "loop-b");
    e = error_of([&] { s2v::write_file_atomically(dir() / "loop-a", "x"); });
    QVERIFY2(e.find("loop of symbolic links") != std::string::npos, e.c_str());
  }

  // A full disk (simulated with RLIMIT_FSIZE in a child process): the reason is in the message,
  // and neither the target nor the .part is left behind.
  void fullDiskLeavesNothingAndSaysWhy() {
    const fs::path p = dir() / "big.bin";
    const auto child = s2v::test::run_in_child([&]() -> std::string {
      return error_of([&] {
        AtomicFile f(p);
        const std::string chunk(1024, 'x');
        for (int i = 0; i < 16; ++i) f.write(chunk);
        f.commit();
      });
    }, 4096);
    QVERIFY(child.exited);
    const std::string& got = child.text;
    qInfo("%s", got.c_str());
    QVERIFY2(got.find("big.bin") != std::string::npos && got.find("File too large") != std::string::npos,
             got.c_str());
    QVERIFY(!fs::exists(p));
    QVERIFY(!fs::exists(dir() / "big.bin.part"));
  }

  void copyRefusesAFifoSourceWithoutBlocking() {
    const fs::path fifo = dir() / "src-fifo";
    QVERIFY(::mkfifo(fifo.c_str(), 0666) == 0);
    const std::string e = error_of([&] { s2v::copy_file_atomically(fifo, dir() / "copy.bin"); });
    QVERIFY2(e.find("FIFO") != std::string::npos, e.c_str());
    s2v::write_file_atomically(dir() / "src.bin", std::string(3 << 20, 'q'));
    s2v::copy_file_atomically(dir() / "src.bin", dir() / "copy.bin");
    QCOMPARE(fs::file_size(dir() / "copy.bin"), uintmax_t(3 << 20));
  }
};

QTEST_GUILESS_MAIN(TestAtomicFile)
#include "test_atomic_file.moc"
