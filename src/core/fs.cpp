#include "core/fs.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "core/error.hpp"
#include "core/progress.hpp"

namespace tsft {

namespace stdfs = std::filesystem;

namespace {

// Directory holding `path` ("." for a bare file name).
std::string fs_parent_dir(const std::string& path) {
  stdfs::path p(path);
  stdfs::path parent = p.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// Last component of `path`, ignoring trailing slashes ("a/b/" -> "b").
std::string fs_base_name(const std::string& path) {
  std::string s = path;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return stdfs::path(s).filename().string();
}

std::string fs_strip_slashes(const std::string& path) {
  std::string s = path;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

void fs_fsync_fd(int fd, const std::string& what) {
  while (fsync(fd) != 0) {
    if (errno == EINTR) continue;
    // Some filesystems (e.g. certain FUSE mounts) do not support fsync on directories.
    if (errno == EINVAL || errno == ENOTSUP) return;
    TSFT_FAIL("{}: fsync failed: {}", what, errno_text(errno));
  }
}

}  // namespace

std::string fs_read_text(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  TSFT_CHECK(fd >= 0, "{}: cannot open for reading: {}", path, errno_text(errno));
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    TSFT_FAIL("{}: is a directory, expected a file", path);
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      TSFT_FAIL("{}: read failed: {}", path, errno_text(err));
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  close(fd);
  return out;
}

void fs_fsync_dir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  TSFT_CHECK(fd >= 0, "{}: cannot open directory to fsync: {}", dir, errno_text(errno));
  try {
    fs_fsync_fd(fd, dir);
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  TSFT_CHECK(!path_.empty() && path_.back() != '/', "'{}': not a file path", path_);
  std::string dir = fs_parent_dir(path_);
  struct stat st {};
  TSFT_CHECK(stat(dir.c_str(), &st) == 0, "{}: cannot write: directory '{}' does not exist ({})", path_, dir,
             errno_text(errno));
  TSFT_CHECK(S_ISDIR(st.st_mode), "{}: cannot write: '{}' is not a directory", path_, dir);
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = fmt::format(".{}.tsft-tmp-{}-{}", fs_base_name(path_), getpid(), counter++);
    temp_path_ = (stdfs::path(dir) / name).string();
    // Mode 0666 filtered by the umask, like an ordinary created file (mkstemp would force 0600).
    fd_ = open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) return;
    if (errno != EEXIST) break;
  }
  TSFT_FAIL("{}: cannot create temp file '{}': {}", path_, temp_path_, errno_text(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) close(fd_);
  if (!committed_ && !temp_path_.empty()) unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  TSFT_CHECK(fd_ >= 0 && !committed_, "{}: write after commit", path_);
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      TSFT_FAIL("{}: write to temp file '{}' failed: {}", path_, temp_path_, errno_text(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void AtomicFile::commit() {
  TSFT_CHECK(fd_ >= 0 && !committed_, "{}: commit called twice", path_);
  fs_fsync_fd(fd_, temp_path_);
  int rc = close(fd_);
  fd_ = -1;
  TSFT_CHECK(rc == 0, "{}: closing temp file '{}' failed: {}", path_, temp_path_, errno_text(errno));
  TSFT_CHECK(rename(temp_path_.c_str(), path_.c_str()) == 0, "{}: rename from '{}' failed: {}", path_,
             temp_path_, errno_text(errno));
  committed_ = true;
  fs_fsync_dir(fs_parent_dir(path_));
}

void fs_write_atomic(const std::string& path, std::string_view data) {
  AtomicFile f(path);
  f.write(data);
  f.commit();
}

std::string fs_old_dir_path(const std::string& final_dir) {
  std::string fin = fs_strip_slashes(final_dir);
  return (stdfs::path(fs_parent_dir(fin)) / fmt::format(".{}.tsft-old", fs_base_name(fin))).string();
}

std::string fs_make_temp_dir(const std::string& final_dir) {
  std::string fin = fs_strip_slashes(final_dir);
  TSFT_CHECK(!fin.empty() && fs_base_name(fin) != "." && fs_base_name(fin) != "..",
             "'{}': not a usable directory path", final_dir);
  std::string parent = fs_parent_dir(fin);
  std::error_code ec;
  stdfs::create_directories(parent, ec);
  TSFT_CHECK(!ec, "{}: cannot create parent directory '{}': {}", final_dir, parent, ec.message());
  std::string tmpl = (stdfs::path(parent) / fmt::format(".{}.tsft-tmp-XXXXXX", fs_base_name(fin))).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  TSFT_CHECK(mkdtemp(buf.data()) != nullptr, "{}: cannot create temp directory '{}': {}", final_dir, tmpl,
             errno_text(errno));
  return std::string(buf.data());
}

bool fs_recover_dir(const std::string& final_dir) {
  std::string fin = fs_strip_slashes(final_dir);
  std::string old = fs_old_dir_path(fin);
  std::error_code ec;
  bool have_final = stdfs::exists(fin, ec);
  bool have_old = stdfs::exists(old, ec);
  if (!have_old) return false;
  if (have_final) {
    // Crash after step 3: the new version is in place; the parked one is stale.
    stdfs::remove_all(old, ec);
    TSFT_CHECK(!ec, "{}: cannot remove stale previous version '{}': {}", final_dir, old, ec.message());
    return false;
  }
  // Crash between steps 2 and 3: the parked version is the last complete one.
  TSFT_CHECK(rename(old.c_str(), fin.c_str()) == 0, "{}: cannot restore previous version from '{}': {}",
             final_dir, old, errno_text(errno));
  fs_fsync_dir(fs_parent_dir(fin));
  return true;
}

void fs_commit_dir(const std::string& temp_dir, const std::string& final_dir) {
  std::string fin = fs_strip_slashes(final_dir);
  std::string tmp = fs_strip_slashes(temp_dir);
  struct stat st {};
  TSFT_CHECK(stat(tmp.c_str(), &st) == 0 && S_ISDIR(st.st_mode), "{}: temp directory '{}' is missing",
             final_dir, temp_dir);
  std::string parent = fs_parent_dir(fin);
  std::error_code eq_ec;
  bool same_parent = stdfs::equivalent(fs_parent_dir(tmp), parent, eq_ec);
  TSFT_CHECK(!eq_ec && same_parent,
             "{}: temp directory '{}' must be in the same parent directory (rename is atomic only there)",
             final_dir, temp_dir);
  fs_recover_dir(fin);
  fs_fsync_dir(tmp);  // the files' own contents were fsynced by their writers; persist the entries
  std::string old = fs_old_dir_path(fin);
  bool had_final = stat(fin.c_str(), &st) == 0;
  if (had_final) {
    TSFT_CHECK(rename(fin.c_str(), old.c_str()) == 0, "{}: cannot move previous version aside to '{}': {}",
               final_dir, old, errno_text(errno));
    fs_fsync_dir(parent);
  }
  if (rename(tmp.c_str(), fin.c_str()) != 0) {
    int err = errno;
    if (had_final) rename(old.c_str(), fin.c_str());  // put the previous version back
    TSFT_FAIL("{}: cannot rename temp directory '{}' into place: {}", final_dir, temp_dir, errno_text(err));
  }
  fs_fsync_dir(parent);
  if (had_final) {
    std::error_code ec;
    stdfs::remove_all(old, ec);
    TSFT_CHECK(!ec, "{}: new version committed but removing the previous one '{}' failed: {}", final_dir, old,
               ec.message());
  }
}

void fs_write_dir(const std::string& final_dir, const std::function<void(const std::string&)>& write) {
  std::string tmp = fs_make_temp_dir(final_dir);
  try {
    write(tmp);
  } catch (...) {
    std::error_code ec;
    stdfs::remove_all(tmp, ec);
    throw;
  }
  fs_commit_dir(tmp, final_dir);
}

void fs_remove_dir(const std::string& dir) {
  std::string d = fs_strip_slashes(dir);
  std::error_code ec;
  if (!stdfs::exists(d, ec)) return;
  std::string trash =
      (stdfs::path(fs_parent_dir(d)) / fmt::format(".{}.tsft-tmp-rm-{}", fs_base_name(d), getpid())).string();
  stdfs::remove_all(trash, ec);
  TSFT_CHECK(rename(d.c_str(), trash.c_str()) == 0, "{}: cannot move aside for removal to '{}': {}", dir,
             trash, errno_text(errno));
  stdfs::remove_all(trash, ec);
  TSFT_CHECK(!ec, "{}: removing '{}' failed: {}", dir, trash, ec.message());
}

int fs_remove_stale_temps(const std::string& dir) {
  std::vector<stdfs::path> temps, olds, subdirs;
  std::error_code ec;
  for (auto& e : stdfs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.size() > 1 && n[0] == '.' && n.find(".tsft-tmp-") != std::string::npos)
      temps.push_back(e.path());
    else if (n.size() > 1 && n[0] == '.' && n.size() > 9 && n.compare(n.size() - 9, 9, ".tsft-old") == 0)
      olds.push_back(e.path());
    else if (e.is_directory(ec) && !e.is_symlink(ec))
      subdirs.push_back(e.path());
  }
  int n = 0;
  for (auto& t : temps) {
    stdfs::remove_all(t, ec);
    TSFT_CHECK(!ec, "{}: cannot remove stale temp '{}': {}", dir, t.string(), ec.message());
    n++;
  }
  for (auto& o : olds) {  // ".<name>.tsft-old" -> resolve <name> by the recovery rule
    std::string name = o.filename().string();
    fs_recover_dir((o.parent_path() / name.substr(1, name.size() - 10)).string());
    n++;
  }
  for (auto& d : subdirs) n += fs_remove_stale_temps(d.string());
  return n;
}

DirLock::DirLock(const std::string& dir, const std::string& what, bool inherit, int wait_ms) {
  std::error_code ec;
  stdfs::create_directories(dir, ec);
  TSFT_CHECK(!ec, "{}: cannot create directory: {}", dir, ec.message());
  // The lock is on the directory itself (flock works on a directory descriptor): no lock file is left
  // among the outputs.
  fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | (inherit ? 0 : O_CLOEXEC));
  TSFT_CHECK(fd_ >= 0, "{}: cannot open directory to lock it: {}", dir, errno_text(errno));
  for (int waited = 0; flock(fd_, LOCK_EX | LOCK_NB) != 0; waited += 50) {
    int err = errno;
    if (err == ENOLCK || err == EOPNOTSUPP || err == EBADF ||
        err == EINVAL) {  // e.g. some network filesystems
      log_info(
          "warning: {}: directory locks are not supported here ({}); not guarding against a second writer",
          dir, errno_text(err));
      close(fd_);
      fd_ = -1;
      return;
    }
    if (err != EWOULDBLOCK && err != EINTR) {
      close(fd_);
      TSFT_FAIL("{}: cannot lock directory: {}", dir, errno_text(err));
    }
    if (waited >= wait_ms) {
      close(fd_);
      TSFT_FAIL(
          "{}: another {} (or a process it started) is writing into this directory (it is locked); "
          "stop it or use another output directory",
          dir, what);
    }
    usleep(50 * 1000);
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) close(fd_);  // releases the flock (children that inherited it keep it until they exit)
}

}  // namespace tsft
