// Atomic file writes and directory replacement with crash recovery.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/fs.hpp"
#include "st_test_util.hpp"

namespace tsft {
namespace {

namespace stdfs = std::filesystem;
using test::expect_error;
using test::list_dir;
using test::TempDir;

TEST(FsWriteAtomic, CreatesAndReplacesWithoutLeftovers) {
  TempDir tmp;
  std::string p = tmp / "a.json";
  fs_write_atomic(p, "first");
  EXPECT_EQ(fs_read_text(p), "first");
  fs_write_atomic(p, std::string(1 << 20, 'x'));  // larger than one write() chunk on some systems
  EXPECT_EQ(fs_read_text(p), std::string(1 << 20, 'x'));
  fs_write_atomic(p, "");
  EXPECT_EQ(fs_read_text(p), "");
  EXPECT_EQ(list_dir(tmp.path()), std::vector<std::string>{"a.json"});
  std::string bin("a\0b\xff", 4);
  fs_write_atomic(p, bin);
  EXPECT_EQ(fs_read_text(p), bin);
}

TEST(FsWriteDir, CommitsTheWrittenTreeOrLeavesTheOldOneWhenWritingThrows) {
  TempDir tmp;
  std::string d = tmp / "out";
  fs_write_dir(d, [](const std::string& t) { fs_write_atomic(t + "/a.txt", "one"); });
  EXPECT_EQ(fs_read_text(d + "/a.txt"), "one");
  EXPECT_THROW(fs_write_dir(d,
                            [](const std::string& t) {
                              fs_write_atomic(t + "/a.txt", "two");
                              throw Error("disk full");
                            }),
               Error);
  EXPECT_EQ(fs_read_text(d + "/a.txt"), "one");                      // the old version stays
  EXPECT_EQ(list_dir(tmp.path()), std::vector<std::string>{"out"});  // no temp dir left behind
}

TEST(FsWriteAtomic, RespectsUmaskLikeAPlainCreate) {
  TempDir tmp;
  mode_t old = umask(022);
  fs_write_atomic(tmp / "m", "x");
  umask(old);
  struct stat st {};
  ASSERT_EQ(stat((tmp / "m").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(FsWriteAtomic, VisibleOnlyAfterCommit) {
  TempDir tmp;
  std::string p = tmp / "f";
  fs_write_atomic(p, "old");
  std::string before = fs_read_text(p);
  {
    AtomicFile f(p);
    f.write("new contents");
    EXPECT_TRUE(stdfs::exists(f.temp_path()));
    EXPECT_EQ(stdfs::path(f.temp_path()).parent_path(), stdfs::path(tmp.path()));
    EXPECT_EQ(fs_read_text(p), "old");  // not visible before commit
    f.commit();
    EXPECT_FALSE(stdfs::exists(f.temp_path()));
  }
  EXPECT_EQ(fs_read_text(p), "new contents");
  EXPECT_EQ(list_dir(tmp.path()), std::vector<std::string>{"f"});
}

TEST(FsWriteAtomic, AbandonedWriterLeavesOldFileAndNoTemp) {
  TempDir tmp;
  std::string p = tmp / "f";
  fs_write_atomic(p, "old");
  try {
    AtomicFile f(p);
    f.write("partial");
    throw std::runtime_error("simulated failure mid-write");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(fs_read_text(p), "old");
  EXPECT_EQ(list_dir(tmp.path()), std::vector<std::string>{"f"});
}

TEST(FsWriteAtomic, MissingDirectoryIsNamed) {
  TempDir tmp;
  std::string p = tmp / "missing/sub/file.txt";
  expect_error([&] { fs_write_atomic(p, "x"); }, {p, "missing/sub", "does not exist"});
  test::write_file(tmp / "plain", "x");
  expect_error([&] { fs_write_atomic(tmp / "plain/file.txt", "x"); }, {"plain/file.txt", "not a directory"});
  EXPECT_EQ(list_dir(tmp.path()), std::vector<std::string>{"plain"});
}

TEST(FsReadText, ErrorsNameThePath) {
  TempDir tmp;
  expect_error([&] { fs_read_text(tmp / "nope.txt"); }, {"nope.txt", "cannot open"});
  expect_error([&] { fs_read_text(tmp.path()); }, {tmp.path(), "directory"});
  expect_error([&] { fs_fsync_dir(tmp / "nope"); }, {"nope"});
  fs_fsync_dir(tmp.path());
}

TEST(FsCommitDir, CreatesThenReplaces) {
  TempDir tmp;
  std::string fin = tmp / "out/run1";
  std::string t = fs_make_temp_dir(fin);
  EXPECT_EQ(stdfs::path(t).parent_path(), stdfs::path(tmp / "out"));
  EXPECT_EQ(stdfs::path(t).filename().string().rfind(".run1.tsft-tmp-", 0), 0u) << t;
  fs_write_atomic(t + "/a.txt", "v1");
  fs_commit_dir(t, fin);
  EXPECT_EQ(fs_read_text(fin + "/a.txt"), "v1");
  EXPECT_EQ(list_dir(tmp / "out"), std::vector<std::string>{"run1"});

  std::string t2 = fs_make_temp_dir(fin + "/");  // trailing slash is the same directory
  EXPECT_NE(t2, t);
  fs_write_atomic(t2 + "/b.txt", "v2");
  EXPECT_EQ(fs_read_text(fin + "/a.txt"), "v1");  // still the old one until committed
  fs_commit_dir(t2, fin);
  EXPECT_EQ(list_dir(fin), std::vector<std::string>{"b.txt"});
  EXPECT_EQ(list_dir(tmp / "out"), std::vector<std::string>{"run1"});
}

TEST(FsCommitDir, RecoversFromCrashBetweenRenames) {
  TempDir tmp;
  std::string fin = tmp / "ck";
  std::string old = fs_old_dir_path(fin);
  EXPECT_EQ(old, tmp / ".ck.tsft-old");
  // State after a crash between steps 2 and 3: final missing, previous version parked.
  stdfs::create_directory(old);
  test::write_file(old + "/w", "old weights");
  EXPECT_TRUE(fs_recover_dir(fin));
  EXPECT_EQ(fs_read_text(fin + "/w"), "old weights");
  EXPECT_FALSE(stdfs::exists(old));
  EXPECT_FALSE(fs_recover_dir(fin));  // nothing to do now

  // State after a crash between steps 3 and 4: new version in place, stale parked copy.
  stdfs::create_directory(old);
  test::write_file(old + "/w", "older weights");
  EXPECT_FALSE(fs_recover_dir(fin));
  EXPECT_FALSE(stdfs::exists(old));
  EXPECT_EQ(fs_read_text(fin + "/w"), "old weights");

  // A commit that finds a parked version from an earlier crash recovers first, then replaces.
  stdfs::rename(fin, old);
  std::string t = fs_make_temp_dir(fin);
  test::write_file(t + "/w", "new weights");
  fs_commit_dir(t, fin);
  EXPECT_EQ(fs_read_text(fin + "/w"), "new weights");
  EXPECT_EQ(list_dir(tmp.path()), std::vector<std::string>{"ck"});
}

TEST(FsCommitDir, RejectsBadTempDirs) {
  TempDir tmp;
  expect_error([&] { fs_commit_dir(tmp / "nope", tmp / "final"); }, {"final", "nope", "missing"});
  stdfs::create_directories(tmp / "elsewhere/x");
  expect_error([&] { fs_commit_dir(tmp / "elsewhere/x", tmp / "final"); }, {"final", "same parent"});
  EXPECT_FALSE(stdfs::exists(tmp / "final"));
}

// What a killed writer leaves (temp files of fs_write_atomic, temp dirs of fs_make_temp_dir and
// fs_remove_dir, a parked .tsft-old version) is cleaned up; complete outputs are untouched.
TEST(FsRemoveStaleTemps, RemovesTempsAndResolvesParkedVersions) {
  TempDir tmp;
  std::string d = tmp / "run";
  stdfs::create_directories(d + "/checkpoint-000001");
  fs_write_atomic(d + "/metrics.jsonl", "{}\n");
  fs_write_atomic(d + "/.metrics.jsonl.tsft-tmp-99999-0", "{\"torn");
  fs_write_atomic(d + "/checkpoint-000001/.config.json.tsft-tmp-99999-3", "{");
  stdfs::create_directories(d + "/.checkpoint-000002.tsft-tmp-AbCdEf/sub");
  stdfs::create_directories(d + "/.checkpoint-000000.tsft-tmp-rm-99999");
  stdfs::create_directories(d + "/.final.tsft-old");  // final/ missing: the parked version is restored
  fs_write_atomic(d + "/.final.tsft-old/model.safetensors", "old");
  stdfs::create_directories(d + "/best");  // best/ present: its parked version is stale
  stdfs::create_directories(d + "/.best.tsft-old");
  EXPECT_EQ(fs_remove_stale_temps(d), 6);
  EXPECT_EQ(list_dir(d), (std::vector<std::string>{"best", "checkpoint-000001", "final", "metrics.jsonl"}));
  EXPECT_TRUE(list_dir(d + "/checkpoint-000001").empty());
  EXPECT_EQ(fs_read_text(d + "/final/model.safetensors"), "old");
  EXPECT_EQ(fs_remove_stale_temps(d), 0);
}

// A removed directory is never visible half-deleted: it leaves its name in one rename.
TEST(FsRemoveDir, RemovesTreeAndToleratesMissing) {
  TempDir tmp;
  std::string d = tmp / "checkpoint-000001";
  stdfs::create_directories(d + "/a/b");
  fs_write_atomic(d + "/a/b/f", "x");
  fs_remove_dir(d);
  EXPECT_TRUE(list_dir(tmp.path()).empty());
  EXPECT_NO_THROW(fs_remove_dir(d));
}

TEST(DirLock, OneWriterPerDirectory) {
  TempDir tmp;
  std::string d = tmp / "out";
  {
    DirLock first(d, "tsft train");
    EXPECT_TRUE(list_dir(d).empty()) << "no lock file among the outputs";
    expect_error([&] { DirLock second(d, "tsft train", false, 100); }, {d, "another tsft train", "locked"});
  }
  EXPECT_NO_THROW(DirLock again(d, "tsft train", false, 0));  // released with its holder
}

}  // namespace
}  // namespace tsft
