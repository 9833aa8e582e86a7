// CPU memory helpers shared by the CPU kernels.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace pyposefast {

// A fresh large output is fresh mmap'd memory: writing it costs one page fault per 4 KiB, which
// for a 235 MB whole-body batch is 5x the writing itself. Asking for transparent huge pages on the
// (still untouched) buffer first cuts the faults 512-fold; it is what torch's own
// THP_MEM_ALLOC_ENABLE does for every allocation. Harmless on memory that is already mapped.
inline void advise_huge_pages(void* ptr, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (bytes < 2 * kHuge) return;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(ptr) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(ptr) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
}

}  // namespace pyposefast
