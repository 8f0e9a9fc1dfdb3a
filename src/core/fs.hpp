// Files: atomic writes (temp + fsync + rename + fsync dir) so a crash never corrupts earlier outputs.
#pragma once
#include <string>
#include <string_view>

namespace tsft {

std::string fs_read_text(const std::string& path);  // throws naming the path
void fs_write_atomic(const std::string& path, std::string_view data);
void fs_fsync_dir(const std::string& dir);
// Create a fresh temp dir next to `final_dir`; rename it into place with fs_commit_dir (replacing
// an existing final_dir only after the new one is complete).
std::string fs_make_temp_dir(const std::string& final_dir);
void fs_commit_dir(const std::string& temp_dir, const std::string& final_dir);

}  // namespace tsft
