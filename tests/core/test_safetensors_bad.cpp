// Malformed safetensors files and checkpoint directories: each must raise a tsft::Error naming the file
// and the problem (and never crash; run under ASan/UBSan too).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "core/safetensors.hpp"
#include "st_test_util.hpp"

namespace tsft {
namespace {

using test::expect_error;
using test::st_bytes;
using test::TempDir;

class SafetensorsBad : public ::testing::Test {
 protected:
  // Write `bytes` to a file and expect SafetensorsFile::open to fail with a message holding the path
  // and every one of `parts`.
  void expect_open_error(const std::string& bytes, std::initializer_list<std::string> parts) {
    std::string path = tmp_ / "bad.safetensors";
    test::write_file(path, bytes);
    expect_error([&] { SafetensorsFile::open(path); }, {path});
    expect_error([&] { SafetensorsFile::open(path); }, parts);
  }
  static std::string f32_data(size_t n) { return std::string(4 * n, '\x01'); }
  TempDir tmp_;
};

TEST_F(SafetensorsBad, MissingFile) {
  expect_error([&] { SafetensorsFile::open(tmp_ / "nope.safetensors"); },
               {"nope.safetensors", "cannot open"});
}

TEST_F(SafetensorsBad, EmptyFile) {
  expect_open_error("", {"0 bytes", "HeaderTooSmall"});
}
TEST_F(SafetensorsBad, SevenByteFile) {
  expect_open_error(std::string("\x02\0\0\0\0\0\0", 7), {"7 bytes", "HeaderTooSmall"});
}

TEST_F(SafetensorsBad, HeaderLengthLargerThanFile) {
  expect_open_error(st_bytes("{}", "", 64), {"header length 64", "InvalidHeaderLength"});
}

TEST_F(SafetensorsBad, HeaderLengthOver100MB) {
  expect_open_error(st_bytes("{}", "", 100000001), {"100000001", "HeaderTooLarge"});
  expect_open_error(test::u64_le(~uint64_t{0}) + "{}", {"HeaderTooLarge"});  // 8 + N would overflow
}

TEST_F(SafetensorsBad, NotJson) {
  expect_open_error(st_bytes("{\"a\": {\"dtype\": ", ""), {"not valid JSON", "InvalidHeaderDeserialization"});
  expect_open_error(st_bytes("hello world", ""), {"not valid JSON"});
}

TEST_F(SafetensorsBad, NotUtf8) {
  expect_open_error(st_bytes("{\"\xC3\x28\":{}}", ""), {"not valid UTF-8", "InvalidHeader"});
  expect_open_error(st_bytes("{\"\xED\xA0\x80\":{}}", ""), {"not valid UTF-8"});  // encoded surrogate
}

TEST_F(SafetensorsBad, JsonArrayHeader) {
  expect_open_error(st_bytes("[1, 2]", ""), {"must be a JSON object", "array"});
  expect_open_error(st_bytes("\"x\"", ""), {"must be a JSON object", "string"});
}

TEST_F(SafetensorsBad, UnknownDtype) {
  expect_open_error(st_bytes(R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", f32_data(1)),
                    {"tensor 'w'", "dtype", "unknown dtype 'F33'"});
  expect_open_error(st_bytes(R"({"w":{"dtype":"U32","shape":[1],"data_offsets":[0,4]}})", f32_data(1)),
                    {"tensor 'w'", "'U32'", "not support"});
  expect_open_error(st_bytes(R"({"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})", f32_data(1)),
                    {"tensor 'w'", "'dtype' must be a string"});
}

TEST_F(SafetensorsBad, MissingFields) {
  expect_open_error(st_bytes(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", f32_data(1)),
                    {"tensor 'w'", "missing field 'dtype'"});
  expect_open_error(st_bytes(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", f32_data(1)),
                    {"tensor 'w'", "missing field 'shape'"});
  expect_open_error(st_bytes(R"({"w":{"dtype":"F32","shape":[1]}})", f32_data(1)),
                    {"tensor 'w'", "missing field 'data_offsets'"});
  expect_open_error(st_bytes(R"({"w":[1,2]})", ""), {"tensor 'w'", "must be an object"});
}

TEST_F(SafetensorsBad, MalformedOffsets) {
  expect_open_error(st_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", f32_data(1)),
                    {"tensor 'w'", "'data_offsets'"});
  expect_open_error(st_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", f32_data(1)),
                    {"tensor 'w'", "'data_offsets'"});
  expect_open_error(st_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", f32_data(1)),
                    {"tensor 'w'", "'data_offsets'"});
  expect_open_error(st_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":"0,4"}})", f32_data(1)),
                    {"tensor 'w'", "'data_offsets'"});
}

TEST_F(SafetensorsBad, OverlappingOffsets) {
  expect_open_error(st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                             f32_data(3)),
                    {"tensor 'b'", "data_offsets", "overlaps", "InvalidOffset"});
  // Two tensors on the same bytes.
  expect_open_error(st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                             f32_data(2)),
                    {"data_offsets", "overlaps", "InvalidOffset"});
}

TEST_F(SafetensorsBad, GapBetweenTensors) {
  expect_open_error(st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                             f32_data(3)),
                    {"tensor 'b'", "gap of 4 bytes", "InvalidOffset"});
  expect_open_error(st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", f32_data(2)),
                    {"tensor 'a'", "gap of 4 bytes", "InvalidOffset"});  // must start at 0
}

TEST_F(SafetensorsBad, EndBeforeBegin) {
  expect_open_error(st_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})",
                             f32_data(1)),
                    {"tensor 'b'", "end is before begin", "InvalidOffset"});
}

TEST_F(SafetensorsBad, OffsetsPastTheEnd) {
  expect_open_error(st_bytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", f32_data(2)),
                    {"tensors end at byte 16", "only 8 data bytes", "MetadataIncompleteBuffer"});
}

TEST_F(SafetensorsBad, TrailingBytesAfterTensors) {
  expect_open_error(st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f32_data(2)),
                    {"8 bytes but the tensors cover only 4", "MetadataIncompleteBuffer"});
}

TEST_F(SafetensorsBad, TruncatedDataSection) {
  std::string path = tmp_ / "good.safetensors";
  std::vector<float> v(10, 2.0f);
  safetensors_write(path, {{"w", DType::F32, {10}, safetensors_encode_f32(v.data(), 10, DType::F32)}});
  std::string bytes = test::read_file(path);
  expect_open_error(bytes.substr(0, bytes.size() - 4), {"truncated", "MetadataIncompleteBuffer"});
}

TEST_F(SafetensorsBad, DtypeTimesShapeIsNotByteSize) {
  expect_open_error(st_bytes(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", f32_data(5)),
                    {"tensor 'w'", "holds 20 bytes", "F32", "[2, 3]", "needs 24", "TensorInvalidInfo"});
  expect_open_error(st_bytes(R"({"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,16]}})", f32_data(4)),
                    {"tensor 'w'", "BF16", "TensorInvalidInfo"});
}

TEST_F(SafetensorsBad, NegativeOrNonIntegerShape) {
  expect_open_error(st_bytes(R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", f32_data(1)),
                    {"tensor 'w'", "'shape'", "-1"});
  expect_open_error(st_bytes(R"({"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", f32_data(1)),
                    {"tensor 'w'", "'shape'", "1.5"});
  expect_open_error(st_bytes(R"({"w":{"dtype":"F32","shape":4,"data_offsets":[0,4]}})", f32_data(1)),
                    {"tensor 'w'", "'shape' must be an array"});
}

TEST_F(SafetensorsBad, ShapeProductOverflow) {
  expect_open_error(
      st_bytes(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", f32_data(1)),
      {"tensor 'w'", "'shape'", "ValidationOverflow"});
  expect_open_error(
      st_bytes(R"({"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}})", f32_data(2)),
      {"tensor 'w'", "ValidationOverflow"});  // numel fits, numel x 8 does not
  expect_open_error(st_bytes(R"({"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}})", f32_data(1)),
                    {"tensor 'w'", "'shape'"});
}

TEST_F(SafetensorsBad, DuplicateKeys) {
  expect_open_error(st_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                             f32_data(2)),
                    {"duplicate key 'a'"});
  expect_open_error(
      st_bytes(R"({"a":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}})", f32_data(1)),
      {"duplicate key 'dtype'"});
  expect_open_error(st_bytes(R"({"__metadata__":{"k":"1","k":"2"}})", ""), {"duplicate key 'k'"});
}

TEST_F(SafetensorsBad, NonStringMetadata) {
  expect_open_error(st_bytes(R"({"__metadata__":{"format":"pt","step":10}})", ""),
                    {"'__metadata__' field 'step' must be a string", "number"});
  expect_open_error(st_bytes(R"({"__metadata__":{"cfg":{"a":"b"}}})", ""), {"'__metadata__' field 'cfg'"});
  expect_open_error(st_bytes(R"({"__metadata__":["pt"]})", ""), {"'__metadata__' must be an object"});
}

TEST_F(SafetensorsBad, AcceptsWhatTheReferenceAccepts) {
  // Unaligned header length, trailing whitespace, unknown extra field, null metadata, no tensors.
  std::string path = tmp_ / "ok.safetensors";
  test::write_file(path,
                   st_bytes(R"({"__metadata__":null,"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],)"
                            R"("extra":true}}   )",
                            std::string("\0\0\xc0\x3f", 4)));
  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->to_f32("w"), std::vector<float>{1.5f});  // read from an unaligned data section
  EXPECT_TRUE(f->metadata().empty());
  test::write_file(path, st_bytes("{}", ""));
  EXPECT_TRUE(SafetensorsFile::open(path)->tensors().empty());
}

// Every truncation of a valid file and every single-byte corruption of its header either opens or
// throws tsft::Error: never a crash, never another exception type.
TEST_F(SafetensorsBad, TruncationsAndCorruptionsNeverCrash) {
  std::string path = tmp_ / "good.safetensors";
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  safetensors_write(path,
                    {{"a", DType::F32, {2, 3}, safetensors_encode_f32(v.data(), 6, DType::F32)},
                     {"b", DType::BF16, {6}, safetensors_encode_f32(v.data(), 6, DType::BF16)},
                     {"c", DType::I64, {1}, std::vector<uint8_t>(8, 0)}},
                    {{"format", "pt"}});
  std::string good = test::read_file(path);
  std::string bad = tmp_ / "bad.safetensors";
  for (size_t len = 0; len < good.size(); ++len) {
    test::write_file(bad, good.substr(0, len));
    EXPECT_THROW(SafetensorsFile::open(bad), tsft::Error) << "length " << len;
  }
  uint64_t n;
  std::memcpy(&n, good.data(), 8);
  std::mt19937 rng(3);
  size_t opened = 0, rejected = 0;
  for (size_t pos = 0; pos < 8 + n; ++pos) {
    for (int k = 0; k < 6; ++k) {
      std::string mutated = good;
      mutated[pos] = static_cast<char>(k == 0 ? 0 : k == 1 ? 0xFF : rng());
      test::write_file(bad, mutated);
      try {
        auto f = SafetensorsFile::open(bad);
        for (const auto& t : f->tensors()) {
          if (dtype_is_float(t.dtype))
            f->to_f64(t.name);
          else
            f->to_i64(t.name);
        }
        ++opened;
      } catch (const tsft::Error& e) {
        ++rejected;
        EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_GT(rejected, opened);
}

class CheckpointBad : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_ / "ck";
    std::vector<float> v = {1, 2, 3, 4};
    auto bytes = safetensors_encode_f32(v.data(), 4, DType::F32);
    safetensors_write_checkpoint(dir_, {{"a", DType::F32, {4}, bytes}, {"b", DType::F32, {4}, bytes}}, {},
                                 16);
    index_ = dir_ + "/model.safetensors.index.json";
    ASSERT_TRUE(std::filesystem::exists(index_));
    ASSERT_TRUE(std::filesystem::exists(dir_ + "/model-00002-of-00002.safetensors"));
    ASSERT_EQ(SafetensorsCheckpoint::open(dir_).names(), (std::vector<std::string>{"a", "b"}));
  }
  void set_weight_map(const nlohmann::json& wm) {
    nlohmann::json j = nlohmann::json::parse(test::read_file(index_));
    j["weight_map"] = wm;
    test::write_file(index_, j.dump(2));
  }
  TempDir tmp_;
  std::string dir_, index_;
};

TEST_F(CheckpointBad, IndexNamesMissingShard) {
  set_weight_map({{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00007-of-00009.safetensors"}});
  expect_error([&] { SafetensorsCheckpoint::open(dir_); },
               {index_, "shard 'model-00007-of-00009.safetensors'", "tensor 'b'", "does not exist"});
}

TEST_F(CheckpointBad, IndexTensorMissingFromShard) {
  set_weight_map({{"a", "model-00001-of-00002.safetensors"},
                  {"b", "model-00002-of-00002.safetensors"},
                  {"c", "model-00002-of-00002.safetensors"}});
  expect_error([&] { SafetensorsCheckpoint::open(dir_); },
               {index_, "tensor 'c'", "model-00002-of-00002.safetensors", "does not contain it"});
}

TEST_F(CheckpointBad, ShardTensorMissingFromIndex) {
  set_weight_map({{"a", "model-00001-of-00002.safetensors"}});
  std::filesystem::remove(dir_ + "/model-00002-of-00002.safetensors");
  std::filesystem::copy_file(dir_ + "/model-00001-of-00002.safetensors",
                             dir_ + "/model-00002-of-00002.safetensors");
  set_weight_map({{"b", "model-00002-of-00002.safetensors"}});  // shard 2 now holds 'a' only
  expect_error([&] { SafetensorsCheckpoint::open(dir_); }, {index_, "tensor 'b'", "does not contain it"});
  set_weight_map({{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00001-of-00002.safetensors"}});
  expect_error([&] { SafetensorsCheckpoint::open(dir_); }, {index_, "tensor 'b'", "does not contain"});
}

TEST_F(CheckpointBad, ShardHoldsUnmappedTensor) {
  std::vector<float> v = {1, 2, 3, 4};
  auto bytes = safetensors_encode_f32(v.data(), 4, DType::F32);
  safetensors_write(dir_ + "/model-00002-of-00002.safetensors",
                    {{"b", DType::F32, {4}, bytes}, {"zzz", DType::F32, {4}, bytes}});
  expect_error([&] { SafetensorsCheckpoint::open(dir_); },
               {index_, "tensor 'zzz'", "model-00002-of-00002.safetensors", "missing from 'weight_map'"});
  // Mapped, but to the other shard.
  set_weight_map({{"a", "model-00001-of-00002.safetensors"},
                  {"b", "model-00002-of-00002.safetensors"},
                  {"zzz", "model-00001-of-00002.safetensors"}});
  expect_error([&] { SafetensorsCheckpoint::open(dir_); }, {index_, "tensor 'zzz'"});
}

TEST_F(CheckpointBad, BadIndexFiles) {
  test::write_file(index_, "{\"weight_map\": ");
  expect_error([&] { SafetensorsCheckpoint::open(dir_); }, {index_, "not valid JSON"});
  test::write_file(index_, R"({"metadata": {}})");
  expect_error([&] { SafetensorsCheckpoint::open(dir_); }, {index_, "'weight_map'"});
  set_weight_map({{"a", 3}});
  expect_error([&] { SafetensorsCheckpoint::open(dir_); }, {index_, "'a'", "file name"});
  set_weight_map({{"a", "../model-00001-of-00002.safetensors"}});
  expect_error([&] { SafetensorsCheckpoint::open(dir_); }, {index_, "'a'", "inside the directory"});
  // A corrupt shard is reported by its own path.
  set_weight_map({{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00002-of-00002.safetensors"}});
  test::write_file(dir_ + "/model-00002-of-00002.safetensors", "garbage");
  expect_error([&] { SafetensorsCheckpoint::open(dir_); },
               {"model-00002-of-00002.safetensors", "HeaderTooSmall"});
}

TEST_F(CheckpointBad, EmptyOrMissingDirectory) {
  expect_error([&] { SafetensorsCheckpoint::open(tmp_ / "nope"); }, {"nope", "does not exist"});
  std::filesystem::create_directory(tmp_ / "empty");
  expect_error([&] { SafetensorsCheckpoint::open(tmp_ / "empty"); },
               {"empty", "model.safetensors", "model.safetensors.index.json"});
}

TEST(SafetensorsWriteBad, RejectsInconsistentTensors) {
  TempDir tmp;
  std::string path = tmp / "out.safetensors";
  auto expect_write_error = [&](std::vector<TensorWrite> ws, std::initializer_list<std::string> parts) {
    expect_error([&] { safetensors_write(path, ws); }, {path});
    expect_error([&] { safetensors_write(path, ws); }, parts);
    EXPECT_TRUE(test::list_dir(tmp.path()).empty()) << "nothing may be left behind";
  };
  expect_write_error({{"w", DType::F32, {2, 2}, std::vector<uint8_t>(12)}},
                     {"tensor 'w'", "12 bytes", "needs 16"});
  expect_write_error({{"w", DType::F32, {-2}, {}}}, {"tensor 'w'", "negative dimension"});
  expect_write_error({{"w", DType::U8, {1}, {1}}, {"w", DType::U8, {1}, {1}}}, {"tensor 'w'", "twice"});
  expect_write_error({{"__metadata__", DType::U8, {1}, {1}}}, {"'__metadata__'", "reserved"});
  expect_write_error({{"bad\xff", DType::U8, {1}, {1}}}, {"not valid UTF-8"});
  expect_error([&] { safetensors_write(tmp / "no/such/dir/x.safetensors", {}); },
               {"no/such/dir", "does not exist"});
  expect_error(
      [&] {
        safetensors_write_checkpoint(tmp / "ck", {{"w", DType::U8, {1}, {1}}, {"w", DType::U8, {1}, {2}}}, {},
                                     1);
      },
      {"ck", "'w'", "twice"});
}

}  // namespace
}  // namespace tsft
