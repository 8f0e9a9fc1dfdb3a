// Files: atomic writes (temp + fsync + rename + fsync dir) so a crash never corrupts earlier outputs.
//
// Temp names live next to their target and start with a dot, so directory scans for outputs
// (*.safetensors, *.json) never see them: ".<name>.tsft-tmp-<pid>-<n>" for files,
// ".<name>.tsft-tmp-XXXXXX" for directories; the previous version of a directory being replaced is
// parked at ".<name>.tsft-old".
//
// Directory replacement and its recovery rule (fs_commit_dir / fs_recover_dir):
//   1. the new tree is complete and fsynced in temp_dir;
//   2. final_dir (if present) is renamed to its ".tsft-old" sibling, parent fsynced;
//   3. temp_dir is renamed to final_dir, parent fsynced;
//   4. the ".tsft-old" sibling is removed.
// A crash leaves one of: {final = old}, {no final, .tsft-old = old}, {final = new, .tsft-old = old}.
// Rule: if final_dir exists it is complete and any .tsft-old is stale; if final_dir is missing but its
// .tsft-old exists, that is the last complete version and is renamed back. fs_recover_dir applies this
// rule; fs_commit_dir applies it first; readers that resume from a directory should call it before
// looking. Crashed temp dirs (".<name>.tsft-tmp-*") are never complete versions and are left alone
// (another process may still be writing them); delete them by hand.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace tsft {

std::string fs_read_text(const std::string& path);  // throws naming the path
// Replace `path` atomically with `data`; the directory of `path` must exist (error names it otherwise).
void fs_write_atomic(const std::string& path, std::string_view data);
void fs_fsync_dir(const std::string& dir);
// Create a fresh temp dir next to `final_dir` (creating missing parents); rename it into place with
// fs_commit_dir (replacing an existing final_dir only after the new one is complete).
std::string fs_make_temp_dir(const std::string& final_dir);
void fs_commit_dir(const std::string& temp_dir, const std::string& final_dir);
// Both in one: `write` fills a fresh temp dir of `final_dir`, which is then committed; when `write`
// throws, the temp dir is removed and the exception passes on (final_dir untouched).
void fs_write_dir(const std::string& final_dir,
                  const std::function<void(const std::string& temp_dir)>& write);
// Apply the recovery rule above to `final_dir`. Returns true when it restored the parked old version.
bool fs_recover_dir(const std::string& final_dir);
// The sibling path where fs_commit_dir parks the previous version of `final_dir`.
std::string fs_old_dir_path(const std::string& final_dir);

// Removes a directory tree so that no reader ever sees it half-deleted: it is first renamed to a temp
// name (".<name>.tsft-tmp-rm-<pid>"), then deleted. A no-op when `dir` does not exist.
void fs_remove_dir(const std::string& dir);
// Removes what killed writers left under `dir` (recursively): temp files and directories of
// fs_write_atomic, fs_make_temp_dir and fs_remove_dir; a parked ".tsft-old" version is resolved by
// fs_recover_dir. Call it only while holding the DirLock of `dir` (no writer can be running there).
// Returns the number of entries removed or restored.
int fs_remove_stale_temps(const std::string& dir);

// One writer per output directory: an exclusive flock on DIR itself (created if missing), held until
// destruction. A second command writing into DIR waits up to `wait_ms`, then fails naming
// `what` (e.g. "tsft train"). With `inherit`, child processes keep the lock while they run (a command
// that starts others: the lock outlives it until its last child is gone).
class DirLock {
 public:
  DirLock(const std::string& dir, const std::string& what, bool inherit = false, int wait_ms = 20000);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

// Streaming form of fs_write_atomic for large files: bytes go to a temp file in the target's directory;
// commit() fsyncs, renames over `path` and fsyncs the directory. Destroying an uncommitted writer
// removes the temp file, so an exception mid-write leaves the previous `path` untouched.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();
  const std::string& temp_path() const { return temp_path_; }

 private:
  std::string path_, temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace tsft
