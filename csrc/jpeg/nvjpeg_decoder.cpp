// Batched JPEG decoding with nvJPEG, loaded at run time (dlopen): pyposefast._C.NvjpegDecoder.
//
// Why our own binding (torchvision has decode_jpeg(device='cuda')): torchvision serialises every call
// behind one process-wide mutex, decodes on a normal-priority stream of its own and returns planar
// RGB that must then be transposed and packed. Here each decoder (one per prefetch thread) has its own
// nvJPEG state, decodes on the caller's stream (a high-priority one in DevicePrefetcher, so the colour
// conversion is not queued behind a training step's kernels), writes interleaved BGR or RGB straight
// into the caller's ragged batch buffer, and releases the GIL. On A100/H100-class GPUs the hardware
// backend runs Huffman decoding and the IDCT on the JPEG engines, not on the SMs or the host.
//
// No nvjpeg.h at build time: the handful of C entry points and types used below are declared here
// (nvJPEG's C ABI, stable across CUDA 11-13), so the module builds on any machine and the library is
// only needed where decoding runs. Pointers and stream handles come from Python as integers; the
// Python wrapper (pyposefast.datasets.nvjpeg) owns the buffers, their lifetimes and the checks.
#include <dlfcn.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace py = pybind11;

namespace {

// ---- the nvJPEG C ABI subset (values as in nvjpeg.h) ----
using Status = int;  // nvjpegStatus_t
constexpr Status kSuccess = 0;
constexpr Status kArchMismatch = 7;
constexpr int kBackendDefault = 0;
constexpr int kBackendHardware = 3;
constexpr int kMaxComponent = 4;
struct Handle;
struct State;
struct Stream;
struct Image {  // nvjpegImage_t
  unsigned char* channel[kMaxComponent];
  size_t pitch[kMaxComponent];
};

using CreateExFn = Status (*)(int, void*, void*, unsigned int, Handle**);
using DestroyFn = Status (*)(Handle*);
using StateCreateFn = Status (*)(Handle*, State**);
using StateDestroyFn = Status (*)(State*);
using GetImageInfoFn = Status (*)(Handle*, const unsigned char*, size_t, int*, int*, int*, int*);
using BatchedInitializeFn = Status (*)(Handle*, State*, int, int, int);
using DecodeBatchedFn = Status (*)(Handle*, State*, const unsigned char* const*, const size_t*, Image*, void*);
using StreamCreateFn = Status (*)(Handle*, Stream**);
using StreamDestroyFn = Status (*)(Stream*);
using StreamParseHeaderFn = Status (*)(Handle*, const unsigned char*, size_t, Stream*);
using BatchedSupportedFn = Status (*)(Handle*, Stream*, int*);
using GetPropertyFn = Status (*)(int, int*);
using PreAllocateFn = Status (*)(Handle*, State*, int, int, int, int, int);
using HardwareInfoFn = Status (*)(Handle*, unsigned int*, unsigned int*);
constexpr int kCss444 = 0;  // nvjpegChromaSubsampling_t NVJPEG_CSS_444: room for every subsampling

const char* status_name(Status s) {
  switch (s) {
    case 0: return "SUCCESS";
    case 1: return "NOT_INITIALIZED";
    case 2: return "INVALID_PARAMETER";
    case 3: return "BAD_JPEG";
    case 4: return "JPEG_NOT_SUPPORTED";
    case 5: return "ALLOCATOR_FAILURE";
    case 6: return "EXECUTION_FAILED";
    case 7: return "ARCH_MISMATCH";
    case 8: return "INTERNAL_ERROR";
    case 9: return "IMPLEMENTATION_NOT_SUPPORTED";
    case 10: return "INCOMPLETE_BITSTREAM";
    default: return "UNKNOWN";
  }
}

void check(Status s, const char* what) {
  if (s != kSuccess) {
    throw std::runtime_error(std::string("nvJPEG ") + what + " failed: NVJPEG_STATUS_" + status_name(s) + " (" +
                             std::to_string(s) + ")");
  }
}

template <typename Fn>
Fn symbol(void* lib, const char* name) {
  void* p = dlsym(lib, name);
  if (p == nullptr) {
    throw std::runtime_error(std::string("nvJPEG library lacks ") + name);
  }
  return reinterpret_cast<Fn>(p);
}

// The library's entry points, resolved once per path (dlopen reference-counts the library itself).
struct Library {
  void* handle = nullptr;
  CreateExFn create_ex;
  DestroyFn destroy;
  StateCreateFn state_create;
  StateDestroyFn state_destroy;
  GetImageInfoFn get_image_info;
  BatchedInitializeFn batched_initialize;
  DecodeBatchedFn decode_batched;
  StreamCreateFn stream_create;
  StreamDestroyFn stream_destroy;
  StreamParseHeaderFn stream_parse_header;
  BatchedSupportedFn batched_supported;
  GetPropertyFn get_property;
  PreAllocateFn pre_allocate = nullptr;    // optional (nvJPEG >= 11.2)
  HardwareInfoFn hardware_info = nullptr;  // optional (nvJPEG >= 11.9)

  explicit Library(const std::string& path) {
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* err = dlerror();
      throw std::runtime_error("cannot load nvJPEG from " + path + ": " + (err ? err : "unknown error"));
    }
    try {
      create_ex = symbol<CreateExFn>(handle, "nvjpegCreateEx");
      destroy = symbol<DestroyFn>(handle, "nvjpegDestroy");
      state_create = symbol<StateCreateFn>(handle, "nvjpegJpegStateCreate");
      state_destroy = symbol<StateDestroyFn>(handle, "nvjpegJpegStateDestroy");
      get_image_info = symbol<GetImageInfoFn>(handle, "nvjpegGetImageInfo");
      batched_initialize = symbol<BatchedInitializeFn>(handle, "nvjpegDecodeBatchedInitialize");
      decode_batched = symbol<DecodeBatchedFn>(handle, "nvjpegDecodeBatched");
      stream_create = symbol<StreamCreateFn>(handle, "nvjpegJpegStreamCreate");
      stream_destroy = symbol<StreamDestroyFn>(handle, "nvjpegJpegStreamDestroy");
      stream_parse_header = symbol<StreamParseHeaderFn>(handle, "nvjpegJpegStreamParseHeader");
      batched_supported = symbol<BatchedSupportedFn>(handle, "nvjpegDecodeBatchedSupported");
      get_property = symbol<GetPropertyFn>(handle, "nvjpegGetProperty");
      pre_allocate = reinterpret_cast<PreAllocateFn>(dlsym(handle, "nvjpegDecodeBatchedPreAllocate"));
      hardware_info = reinterpret_cast<HardwareInfoFn>(dlsym(handle, "nvjpegGetHardwareDecoderInfo"));
    } catch (...) {
      dlclose(handle);
      throw;
    }
  }
  ~Library() {
    if (handle != nullptr) dlclose(handle);
  }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
};

// (address, length) of one encoded image in host memory, as Python passes it.
using Buffer = std::tuple<std::uintptr_t, std::size_t>;

const unsigned char* data_of(const Buffer& b) { return reinterpret_cast<const unsigned char*>(std::get<0>(b)); }

class NvjpegDecoder {
 public:
  // backend: "auto" (hardware where the GPU has JPEG engines, else the default GPU/hybrid one),
  // "hardware" or "default". The handle is created on the calling thread's current CUDA device.
  // flags: nvjpegCreateEx's (e.g. NVJPEG_FLAGS_ENABLE_MEMORY_POOLS = 2). nvJPEG's own allocators:
  // caching ones passed here were never called by the hardware backend (measured on the H100).
  NvjpegDecoder(const std::string& library_path, const std::string& backend, unsigned int flags)
      : lib_(checked(library_path, backend)) {
    Status hw = kArchMismatch;  // what the hardware backend said (ARCH_MISMATCH: the GPU has no JPEG engines)
    if (backend != "default") {
      hw = lib_.create_ex(kBackendHardware, nullptr, nullptr, flags, &handle_);
      if (hw == kSuccess) {
        hardware_ = true;
      } else {
        handle_ = nullptr;
        if (backend == "hardware") check(hw, "nvjpegCreateEx(NVJPEG_BACKEND_HARDWARE)");
      }
    }
    if (!hardware_) {
      Status s = lib_.create_ex(kBackendDefault, nullptr, nullptr, flags, &handle_);
      if (s != kSuccess) {
        handle_ = nullptr;
        check(s, backend == "default" ? "nvjpegCreateEx(NVJPEG_BACKEND_DEFAULT)"
                                      : (std::string("nvjpegCreateEx (hardware backend: NVJPEG_STATUS_") +
                                         status_name(hw) + "; default backend)").c_str());
      }
    }
    try {
      check(lib_.state_create(handle_, &state_), "nvjpegJpegStateCreate");
      check(lib_.stream_create(handle_, &parsed_), "nvjpegJpegStreamCreate");
    } catch (...) {
      release();
      throw;
    }
  }
  ~NvjpegDecoder() { release(); }
  NvjpegDecoder(const NvjpegDecoder&) = delete;
  NvjpegDecoder& operator=(const NvjpegDecoder&) = delete;

  std::string backend() const { return hardware_ ? "hardware" : "default"; }

  std::string version() const {
    int major = 0, minor = 0, patch = 0;
    check(lib_.get_property(0, &major), "nvjpegGetProperty");  // MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
    check(lib_.get_property(1, &minor), "nvjpegGetProperty");
    check(lib_.get_property(2, &patch), "nvjpegGetProperty");
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  }

  // The hardware backend's device buffers, sized for `batch_size` images of up to width x height
  // (any chroma subsampling) ahead of decoding, as nvJPEG's documentation advises for batches of
  // varying sizes: otherwise the backend frees and allocates device memory inside nvjpegDecodeBatched
  // whenever a batch needs more than it holds. Grows only; a no-op on the default backend. Returns
  // whether it allocated.
  bool reserve(int batch_size, int width, int height, int output_format) {
    if (!hardware_ || lib_.pre_allocate == nullptr || batch_size <= 0 || width <= 0 || height <= 0) return false;
    if (batch_size <= reserved_batch_ && width <= reserved_width_ && height <= reserved_height_) return false;
    const int b = std::max(batch_size, reserved_batch_);
    const int w = std::max(width, reserved_width_);
    const int h = std::max(height, reserved_height_);
    check(lib_.pre_allocate(handle_, state_, b, w, h, kCss444, output_format), "nvjpegDecodeBatchedPreAllocate");
    reserved_batch_ = b;
    reserved_width_ = w;
    reserved_height_ = h;
    return true;
  }

  // (batch, width, height) reserved so far by reserve().
  std::tuple<int, int, int> reserved() const { return {reserved_batch_, reserved_width_, reserved_height_}; }

  // (JPEG engines, cores per engine) of the hardware backend; (0, 0) without it.
  std::tuple<unsigned int, unsigned int> hardware_info() const {
    unsigned int engines = 0, cores = 0;
    if (hardware_ && lib_.hardware_info != nullptr && lib_.hardware_info(handle_, &engines, &cores) != kSuccess) {
      engines = cores = 0;
    }
    return {engines, cores};
  }

  // Per image: (components, chroma subsampling code, width, height, batched decode supported).
  // A header nvJPEG cannot read is reported as components = -status, so the caller can name the
  // image (or let another decoder try it).
  std::vector<std::tuple<int, int, int, int, bool>> inspect(const std::vector<Buffer>& images) {
    std::vector<std::tuple<int, int, int, int, bool>> out;
    out.reserve(images.size());
    for (const Buffer& b : images) {
      int components = 0, subsampling = -1;
      int widths[kMaxComponent] = {0}, heights[kMaxComponent] = {0};
      Status s = lib_.get_image_info(handle_, data_of(b), std::get<1>(b), &components, &subsampling, widths, heights);
      if (s != kSuccess) {  // unreadable header (BAD_JPEG, JPEG_NOT_SUPPORTED, ...): the caller decides
        out.emplace_back(-s, -1, 0, 0, false);
        continue;
      }
      int supported = 1;  // 0 means supported
      if (lib_.stream_parse_header(handle_, data_of(b), std::get<1>(b), parsed_) == kSuccess) {
        Status q = lib_.batched_supported(handle_, parsed_, &supported);
        if (q != kSuccess) supported = 1;
      }
      // the default backend's batched decode takes any baseline or progressive 1/3-component JPEG
      const bool batched = hardware_ ? supported == 0 : (components == 1 || components == 3);
      out.emplace_back(components, subsampling, widths[0], heights[0], batched);
    }
    return out;
  }

  // Decode images[i] into outputs[i] (device address, row pitch in bytes) as interleaved 3-channel
  // uint8 (output_format 5: RGB, 6: BGR), all work submitted to `stream` (a cudaStream_t address).
  // The host buffers are read before this returns; the outputs are ready when `stream` reaches here.
  void decode(const std::vector<Buffer>& images, const std::vector<std::tuple<std::uintptr_t, std::size_t>>& outputs,
              int output_format, std::uintptr_t stream) {
    if (images.size() != outputs.size()) {
      throw std::invalid_argument("decode: " + std::to_string(images.size()) + " images but " +
                                  std::to_string(outputs.size()) + " outputs");
    }
    if (output_format != 5 && output_format != 6) {
      throw std::invalid_argument("decode: output_format must be 5 (RGBI) or 6 (BGRI)");
    }
    if (images.empty()) return;
    const int n = static_cast<int>(images.size());
    if (n != batch_size_ || output_format != format_) {
      check(lib_.batched_initialize(handle_, state_, n, 1, output_format), "nvjpegDecodeBatchedInitialize");
      batch_size_ = n;
      format_ = output_format;
    }
    std::vector<const unsigned char*> data(images.size());
    std::vector<size_t> lengths(images.size());
    std::vector<Image> dest(images.size());
    for (size_t i = 0; i < images.size(); ++i) {
      data[i] = data_of(images[i]);
      lengths[i] = std::get<1>(images[i]);
      Image& d = dest[i];
      for (int c = 0; c < kMaxComponent; ++c) {
        d.channel[c] = nullptr;
        d.pitch[c] = 0;
      }
      d.channel[0] = reinterpret_cast<unsigned char*>(std::get<0>(outputs[i]));
      d.pitch[0] = std::get<1>(outputs[i]);
    }
    Status s = lib_.decode_batched(handle_, state_, data.data(), lengths.data(), dest.data(),
                                   reinterpret_cast<void*>(stream));
    if (s != kSuccess) {
      batch_size_ = -1;  // "also use to reset failed batches": re-initialise before the next call
      check(s, "nvjpegDecodeBatched");
    }
  }

 private:
  static const std::string& checked(const std::string& library_path, const std::string& backend) {
    if (backend != "auto" && backend != "hardware" && backend != "default") {
      throw std::invalid_argument("backend must be 'auto', 'hardware' or 'default', got '" + backend + "'");
    }
    return library_path;
  }

  void release() {
    if (parsed_ != nullptr) lib_.stream_destroy(parsed_);
    if (state_ != nullptr) lib_.state_destroy(state_);
    if (handle_ != nullptr) lib_.destroy(handle_);
    parsed_ = nullptr;
    state_ = nullptr;
    handle_ = nullptr;
  }

  Library lib_;
  Handle* handle_ = nullptr;
  State* state_ = nullptr;
  Stream* parsed_ = nullptr;
  bool hardware_ = false;
  int batch_size_ = -1;
  int format_ = -1;
  int reserved_batch_ = 0;
  int reserved_width_ = 0;
  int reserved_height_ = 0;
};

}  // namespace

void register_nvjpeg(py::module_& m) {
  py::class_<NvjpegDecoder>(m, "NvjpegDecoder",
                            "Batched nvJPEG decoding (loaded from `library_path` at run time); see "
                            "pyposefast.datasets.nvjpeg for the checked Python interface.")
      .def(py::init<const std::string&, const std::string&, unsigned int>(), py::arg("library_path"),
           py::arg("backend") = "auto", py::arg("flags") = 0u, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("backend", &NvjpegDecoder::backend)
      .def("version", &NvjpegDecoder::version)
      .def("reserve", &NvjpegDecoder::reserve, py::arg("batch_size"), py::arg("width"), py::arg("height"),
           py::arg("output_format"), py::call_guard<py::gil_scoped_release>(),
           "Pre-allocate the hardware backend's buffers for batch_size images up to width x height (grows only).")
      .def_property_readonly("reserved", &NvjpegDecoder::reserved)
      .def("hardware_info", &NvjpegDecoder::hardware_info, "(JPEG engines, cores per engine); (0, 0) without them")
      .def("inspect", &NvjpegDecoder::inspect, py::arg("images"), py::call_guard<py::gil_scoped_release>(),
           "[(address, length)] -> [(components, subsampling, width, height, batched_supported)]")
      .def("decode", &NvjpegDecoder::decode, py::arg("images"), py::arg("outputs"), py::arg("output_format"),
           py::arg("stream"), py::call_guard<py::gil_scoped_release>(),
           "Decode [(address, length)] into [(device address, pitch)] (5: RGBI, 6: BGRI) on a cudaStream_t.");
}
