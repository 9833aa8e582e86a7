// pyposefast._C: loading this module runs the static TORCH_LIBRARY registrations of every kernel
// file linked into it; the module itself only reports build facts. Tensor ops are reached through
// the dispatcher (torch.ops.pyposefast.*), never through pybind11.
#include <pybind11/pybind11.h>
#include <torch/library.h>

#if defined(PYPOSEFAST_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace py = pybind11;

void register_nvjpeg(py::module_& m);  // csrc/jpeg/nvjpeg_decoder.cpp

// The library itself; each op family adds its schemas with TORCH_LIBRARY_FRAGMENT.
TORCH_LIBRARY(pyposefast, m) {}

namespace {

bool with_cuda() {
#if defined(PYPOSEFAST_WITH_CUDA)
  return true;
#else
  return false;
#endif
}

std::string cuda_runtime_version() {
#if defined(PYPOSEFAST_WITH_CUDA)
  const int v = CUDART_VERSION;  // the toolkit the kernels were compiled with
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
#else
  return "";
#endif
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "pyposefast compiled kernels (registered as torch.ops.pyposefast.*) and build facts";
  m.def(
      "build_info",
      []() {
        py::dict d;
        d["pyposefast"] = PYPOSEFAST_VERSION;
        d["torch"] = PYPOSEFAST_TORCH_VERSION;
        d["torch_cuda"] = PYPOSEFAST_TORCH_CUDA_VERSION;
        d["with_cuda"] = with_cuda();
        d["cuda"] = cuda_runtime_version();
        d["cuda_architectures"] = std::string(PYPOSEFAST_CUDA_ARCHS);
#if defined(__clang__)
        d["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
        d["compiler"] = std::string("gcc ") + __VERSION__;
#else
        d["compiler"] = std::string("unknown");
#endif
        return d;
      },
      "Facts fixed when this module was compiled: versions built against, CUDA compiled in, "
      "CUDA architectures.");
  register_nvjpeg(m);
}
