// safetensors reader: dtype table, fp16/bf16 conversions, mmap + header validation, typed reads.
#include "core/safetensors.hpp"

#include <fcntl.h>
#include <fmt/ranges.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "core/error.hpp"

namespace tsft {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

constexpr size_t kMaxHeaderSize = 100'000'000;  // the reference's MAX_HEADER_SIZE

struct DTypeEntry {
  DType dt;
  const char* name;
  size_t size;
};
constexpr DTypeEntry kDTypes[] = {{DType::F64, "F64", 8},  {DType::F32, "F32", 4}, {DType::BF16, "BF16", 2},
                                  {DType::F16, "F16", 2},  {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
                                  {DType::I16, "I16", 2},  {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
                                  {DType::BOOL, "BOOL", 1}};
// Valid safetensors dtypes that tsft has no element type for.
constexpr const char* kUnsupported[] = {"U16",     "U32", "U64",     "F8_E5M2", "F8_E4M3",
                                        "F8_E8M0", "F4",  "F6_E2M3", "F6_E3M2", "C64"};

const DTypeEntry& dtype_entry(DType dt) {
  for (const auto& e : kDTypes)
    if (e.dt == dt) return e;
  TSFT_FAIL("invalid DType value {}", static_cast<int>(dt));
}

// Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF.
bool utf8_valid(const unsigned char* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned cp, min;
    if ((c & 0xE0) == 0xC0)
      len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
      len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
      len = 4, cp = c & 0x07, min = 0x10000;
    else
      return false;
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// A JSON value as a non-negative integer (nlohmann stores non-negative literals as unsigned, negative
// ones as signed, and anything non-integral or beyond 2^64 as float).
bool json_to_u64(const nlohmann::json& v, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// f16 -> f32 for all 65536 codes (256 KiB), built once from f16_to_f32: bulk reads use this instead of
// the branchy scalar decode (about 5x faster on the build machine).
const float* f16_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t h = 0; h < 65536; ++h) t[h] = f16_to_f32(static_cast<uint16_t>(h));
    return t;
  }();
  return table.data();
}

// memcpy that tolerates n == 0 with a null destination (the data() of an empty vector).
void copy_bytes(void* dst, const void* src, size_t n) {
  if (n) std::memcpy(dst, src, n);
}

}  // namespace

size_t dtype_size(DType dt) {
  return dtype_entry(dt).size;
}
const char* dtype_name(DType dt) {
  return dtype_entry(dt).name;
}
bool dtype_is_float(DType dt) {
  return dt == DType::F64 || dt == DType::F32 || dt == DType::BF16 || dt == DType::F16;
}

DType dtype_parse(const std::string& name, const std::string& context) {
  for (const auto& e : kDTypes)
    if (name == e.name) return e.dt;
  for (const char* u : kUnsupported)
    TSFT_CHECK(name != u, "{}: dtype '{}' is a safetensors dtype that tsft does not support", context, name);
  TSFT_FAIL("{}: unknown dtype '{}' (expected F64, F32, BF16, F16, I64, I32, I16, I8, U8 or BOOL)", context,
            name);
}

// bf16 is the top half of an f32, so widening is a shift (exact for every value, NaN payloads kept).
float bf16_to_f32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

uint16_t f32_to_bf16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);  // quiet NaN
  // Round to nearest even on the 16 dropped bits: add 0x7FFF plus the lowest kept bit; a carry out of
  // the mantissa bumps the exponent (max finite values round to inf, as IEEE requires).
  x += 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));  // inf / NaN
  if (exp == 0) {
    if (mant == 0) return std::bit_cast<float>(sign);
    // Subnormal mant x 2^-24: normalize so the leading 1 becomes the implicit bit.
    int shift = std::countl_zero(mant) - 21;  // mant < 2^10: bring bit 10 to the top
    mant = (mant << shift) & 0x3FFu;
    exp = 1 - shift;
    return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
  }
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t f32_to_f16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7FFFFFFFu;
  if (x >= 0x7F800000u) {  // inf, or NaN made quiet keeping the top payload bits
    return x == 0x7F800000u ? sign | 0x7C00u : sign | 0x7E00u | ((x >> 13) & 0x3FFu);
  }
  // 65520 = 65504 + half an ulp; the tie rounds to the even neighbour 65536, i.e. overflows to inf.
  if (x >= 0x477FF000u) return sign | 0x7C00u;
  if (x >= 0x38800000u) {  // >= 2^-14: normal in f16. Rebias exponent 127 -> 15 (subtract 112 << 23).
    x += 0xFFFu + ((x >> 13) & 1u);
    return static_cast<uint16_t>(sign | ((x - 0x38000000u) >> 13));
  }
  // Subnormal in f16: result = round(value / 2^-24). value = m x 2^(e-150) with the implicit bit, so
  // the quotient is m >> (126 - e) with the shifted-out bits rounded to nearest even.
  uint32_t e = x >> 23;
  uint32_t shift = 126 - e;  // >= 14 here
  if (e == 0 || shift >= 32) return sign;
  uint32_t m = (x & 0x7FFFFFu) | 0x800000u;
  uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;
  return static_cast<uint16_t>(sign | q);  // q == 0x400 is the smallest normal, encoded correctly
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string r = "[";
  for (size_t i = 0; i < shape.size(); i++) r += (i ? ", " : "") + std::to_string(shape[i]);
  return r + "]";
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  TSFT_CHECK(fd >= 0, "{}: cannot open safetensors file: {}", path, errno_text(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    TSFT_FAIL("{}: not a regular file", path);
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    close(fd);
    TSFT_FAIL("{}: file is {} bytes, shorter than the 8-byte header length (HeaderTooSmall)", path, size);
  }
  void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  close(fd);
  TSFT_CHECK(map != MAP_FAILED, "{}: mmap of {} bytes failed: {}", path, size, errno_text(map_errno));
  f->map_ = map;
  f->map_size_ = size;  // from here on the destructor unmaps, also when validation throws

  const uint8_t* bytes = static_cast<const uint8_t*>(map);
  uint64_t n = load<uint64_t>(bytes);
  TSFT_CHECK(n <= kMaxHeaderSize, "{}: header length {} exceeds the 100,000,000-byte limit (HeaderTooLarge)",
             path, n);
  TSFT_CHECK(8 + n <= size,
             "{}: header length {} runs past the end of the {}-byte file (InvalidHeaderLength)", path, n,
             size);
  f->header_size_ = n;
  f->data_ = bytes + 8 + n;
  f->data_size_ = size - 8 - n;
  f->parse_header(reinterpret_cast<const char*>(bytes + 8), n);
  return f;
}

namespace {
// The header's JSON object, refusing invalid UTF-8, invalid JSON, a non-object and a duplicated key at any
// depth (nlohmann would silently keep the last).
nlohmann::json header_json(const char* text, size_t n, const std::string& path) {
  TSFT_CHECK(utf8_valid(reinterpret_cast<const unsigned char*>(text), n),
             "{}: header is not valid UTF-8 (InvalidHeader)", path);
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  auto cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (ev == E::object_start)
      keys.emplace_back();
    else if (ev == E::object_end && !keys.empty())
      keys.pop_back();
    else if (ev == E::key && !keys.empty() && !keys.back().insert(parsed.get<std::string>()).second &&
             duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, text + n, cb);
  } catch (const nlohmann::json::exception& e) {
    TSFT_FAIL("{}: header is not valid JSON: {} (InvalidHeaderDeserialization)", path, e.what());
  }
  TSFT_CHECK(header.is_object(), "{}: header must be a JSON object, got {} (InvalidHeaderDeserialization)",
             path, header.type_name());
  TSFT_CHECK(duplicate.empty(), "{}: header has a duplicate key '{}' (InvalidHeaderDeserialization)", path,
             duplicate);
  return header;
}

// "__metadata__": null, or an object of strings.
void read_metadata(const nlohmann::json& v, const std::string& path,
                   std::map<std::string, std::string>& out) {
  if (v.is_null()) return;
  TSFT_CHECK(v.is_object(), "{}: '__metadata__' must be an object of strings, got {}", path, v.type_name());
  for (auto m = v.begin(); m != v.end(); ++m) {
    TSFT_CHECK(m.value().is_string(), "{}: '__metadata__' field '{}' must be a string, got {} ({})", path,
               m.key(), m.value().type_name(), m.value().dump());
    out[m.key()] = m.value().get<std::string>();
  }
}

// One tensor entry {dtype, shape, data_offsets}; its offsets are checked against the others later.
TensorInfo tensor_entry(const std::string& name, const nlohmann::json& v, const std::string& path) {
  std::string ctx = fmt::format("{}: tensor '{}'", path, name);
  TSFT_CHECK(v.is_object(), "{}: entry must be an object with dtype, shape, data_offsets, got {}", ctx,
             v.type_name());
  TensorInfo t;
  t.name = name;
  auto dt = v.find("dtype");
  TSFT_CHECK(dt != v.end(), "{}: missing field 'dtype'", ctx);
  TSFT_CHECK(dt->is_string(), "{}: field 'dtype' must be a string, got {}", ctx, dt->dump());
  t.dtype = dtype_parse(dt->get<std::string>(), ctx + ": field 'dtype'");
  auto sh = v.find("shape");
  TSFT_CHECK(sh != v.end(), "{}: missing field 'shape'", ctx);
  TSFT_CHECK(sh->is_array(), "{}: field 'shape' must be an array of non-negative integers, got {}", ctx,
             sh->dump());
  // numel x dtype size in u64 with overflow checks (the reference's ValidationOverflow); the result
  // must also fit int64 for TensorInfo::numel().
  uint64_t numel = 1;
  bool overflow = false;
  for (const auto& d : *sh) {
    uint64_t dim;
    TSFT_CHECK(json_to_u64(d, dim), "{}: field 'shape' has {}, expected a non-negative integer", ctx,
               d.dump());
    overflow |= dim > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, dim, &numel);
    t.shape.push_back(static_cast<int64_t>(dim));
  }
  uint64_t nbytes = 0;
  overflow |= numel > static_cast<uint64_t>(INT64_MAX) ||
              __builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(t.dtype)), &nbytes);
  TSFT_CHECK(!overflow, "{}: field 'shape' {}: element count x dtype size overflows (ValidationOverflow)",
             ctx, sh->dump());
  auto off = v.find("data_offsets");
  TSFT_CHECK(off != v.end(), "{}: missing field 'data_offsets'", ctx);
  uint64_t b = 0, e = 0;
  TSFT_CHECK(off->is_array() && off->size() == 2 && json_to_u64((*off)[0], b) && json_to_u64((*off)[1], e),
             "{}: field 'data_offsets' must be [begin, end] with non-negative integers, got {}", ctx,
             off->dump());
  t.begin = b;
  t.end = e;
  return t;
}

// The reference's Metadata::validate: sorted by offsets, the tensors must tile the data section from 0
// exactly, each holding dtype size x element count bytes.
void validate_offsets(std::vector<TensorInfo>& tensors, size_t data_size, const std::string& path) {
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  size_t start = 0;
  for (const TensorInfo& t : tensors) {
    std::string ctx =
        fmt::format("{}: tensor '{}': field 'data_offsets' [{}, {}]", path, t.name, t.begin, t.end);
    TSFT_CHECK(t.end >= t.begin, "{}: end is before begin (InvalidOffset)", ctx);
    TSFT_CHECK(t.begin <= start,
               "{}: gap of {} bytes after the previous tensor, which ends at {} (InvalidOffset)", ctx,
               t.begin - start, start);
    TSFT_CHECK(t.begin >= start, "{}: overlaps the previous tensor, which ends at {} (InvalidOffset)", ctx,
               start);
    start = t.end;
    uint64_t numel = static_cast<uint64_t>(t.numel());  // no overflow: checked in tensor_entry
    uint64_t want = numel * dtype_size(t.dtype);
    TSFT_CHECK(t.nbytes() == want,
               "{}: holds {} bytes but dtype {} x shape [{}] needs {} bytes (TensorInvalidInfo)", ctx,
               t.nbytes(), dtype_name(t.dtype), fmt::join(t.shape, ", "), want);
  }
  TSFT_CHECK(start <= data_size,
             "{}: tensors end at byte {} of the data section but the file has only {} data bytes (truncated "
             "file?) (MetadataIncompleteBuffer)",
             path, start, data_size);
  TSFT_CHECK(start == data_size,
             "{}: data section has {} bytes but the tensors cover only {} (MetadataIncompleteBuffer)", path,
             data_size, start);
}
}  // namespace

void SafetensorsFile::parse_header(const char* text, size_t n) {
  const nlohmann::json header = header_json(text, n, path_);
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__")
      read_metadata(it.value(), path_, metadata_);
    else
      tensors_.push_back(tensor_entry(it.key(), it.value(), path_));
  }
  validate_offsets(tensors_, data_size_, path_);
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) munmap(map_, map_size_);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& SafetensorsFile::get(const std::string& name) const {
  const TensorInfo* t = find(name);
  TSFT_CHECK(t, "{}: no tensor named '{}' ({} tensors in file)", path_, name, tensors_.size());
  return *t;
}

namespace {
// A floating-point tensor (F64, F32, BF16, F16) decoded into T (float or double); the dtype of T's own
// width is a plain copy. Returns false for any other dtype.
template <class T>
bool read_float(DType dtype, const uint8_t* p, size_t n, T* out) {
  if (dtype == (sizeof(T) == 4 ? DType::F32 : DType::F64)) {
    copy_bytes(out, p, n * sizeof(T));
    return true;
  }
  switch (dtype) {
    case DType::F64:
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(load<double>(p + 8 * i));
      return true;
    case DType::F32:
      for (size_t i = 0; i < n; ++i) out[i] = load<float>(p + 4 * i);
      return true;
    case DType::BF16:
      for (size_t i = 0; i < n; ++i) out[i] = bf16_to_f32(load<uint16_t>(p + 2 * i));
      return true;
    case DType::F16: {
      const float* table = f16_table();
      for (size_t i = 0; i < n; ++i) out[i] = table[load<uint16_t>(p + 2 * i)];
      return true;
    }
    default:
      return false;
  }
}
}  // namespace

void SafetensorsFile::read_f32(const TensorInfo& t, float* out) const {
  TSFT_CHECK(read_float(t.dtype, raw(t), static_cast<size_t>(t.numel()), out),
             "{}: tensor '{}' has dtype {}, cannot read it as float32", path_, t.name, dtype_name(t.dtype));
}

void SafetensorsFile::read_f64(const TensorInfo& t, double* out) const {
  TSFT_CHECK(read_float(t.dtype, raw(t), static_cast<size_t>(t.numel()), out),
             "{}: tensor '{}' has dtype {}, cannot read it as float64", path_, t.name, dtype_name(t.dtype));
}

void SafetensorsFile::read_i64(const TensorInfo& t, int64_t* out) const {
  const uint8_t* p = raw(t);
  size_t n = static_cast<size_t>(t.numel());
  switch (t.dtype) {
    case DType::I64:
      copy_bytes(out, p, n * 8);
      return;
    case DType::I32:
      for (size_t i = 0; i < n; ++i) out[i] = load<int32_t>(p + 4 * i);
      return;
    case DType::I16:
      for (size_t i = 0; i < n; ++i) out[i] = load<int16_t>(p + 2 * i);
      return;
    case DType::I8:
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<int8_t>(p[i]);
      return;
    case DType::U8:
      for (size_t i = 0; i < n; ++i) out[i] = p[i];
      return;
    case DType::BOOL:
      for (size_t i = 0; i < n; ++i) out[i] = p[i] != 0;
      return;
    default:
      TSFT_FAIL("{}: tensor '{}' has dtype {}, cannot read it as int64", path_, t.name, dtype_name(t.dtype));
  }
}

std::vector<float> SafetensorsFile::to_f32(const std::string& name) const {
  const TensorInfo& t = get(name);
  std::vector<float> out(static_cast<size_t>(t.numel()));
  read_f32(t, out.data());
  return out;
}

std::vector<double> SafetensorsFile::to_f64(const std::string& name) const {
  const TensorInfo& t = get(name);
  std::vector<double> out(static_cast<size_t>(t.numel()));
  read_f64(t, out.data());
  return out;
}

std::vector<int64_t> SafetensorsFile::to_i64(const std::string& name) const {
  const TensorInfo& t = get(name);
  std::vector<int64_t> out(static_cast<size_t>(t.numel()));
  read_i64(t, out.data());
  return out;
}

}  // namespace tsft
