// The path-graph GCN layer's two row loops for sgtk.nn.gcn_path, each one streaming pass:
//   propagate_mm:    out[i] = (Â src)[i] M (+ bias), Â tridiagonal, given by its three bands;
//                    the forward (src = x, M = Wᵀ) and the input's gradient (src = G, Â
//                    transposed, M = W) alike;
//   propagate_outer: Σ_i (Â x)[i]ᵀ G[i], with a column of ones beside Â x for the bias: dWᵀ, db.
// For thin layers (K = 16) MKL's GEMM runs far below memory speed; here a block of rows of
// Â src is made in a cache-resident scratch and multiplied by M with register tiles of
// accumulators, so each large tensor is read once and the output written once.
// GCC vector extensions, not intrinsics: the same source lowers to zmm with -mavx512f, ymm
// with -mavx2 and SSE otherwise (the capability is part of the build's name).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>
#include <vector>

namespace {

#ifdef __AVX512F__
constexpr int kVecBytes = 64;
constexpr int kRegs = 32;
#else
constexpr int kVecBytes = 32;
constexpr int kRegs = 16;
#endif
constexpr int64_t kStreamBytes = 32 << 20;
constexpr int64_t kBlock = 64;  // rows of Â src per scratch block: a few KiB, stays in L1/L2
// Rows one register tile of propagate_mm serves: each load of M feeds this many FMAs. 8 x 2
// zmm measured faster than 4 x 4 on the EPYC (fewer wide loads per FMA).
constexpr int kRows = kRegs == 32 ? 8 : 4;

template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(kVecBytes)));
  static constexpr int lanes = kVecBytes / sizeof(T);
  static type load(const T* p) {
    type v;
    std::memcpy(&v, p, sizeof(v));
    return v;
  }
  static void store(T* p, const type& v) { std::memcpy(p, &v, sizeof(v)); }
  // A streaming store to an aligned p: written around the caches, without reading the line.
  static void stream(T* p, const type& v) {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) _mm512_stream_ps(p, v);
    else _mm512_stream_pd(p, v);
#elif defined(__AVX__)
    if constexpr (std::is_same_v<T, float>) _mm256_stream_ps(p, v);
    else _mm256_stream_pd(p, v);
#else
    store(p, v);
#endif
  }
};

// rows [lo, hi) of Â src into dst [hi - lo, ld] (columns k < cols); Â's row i reads src rows
// i-1, i, i+1 where they exist (band slots outside the graph are never read).
// KC > 0: the width known at compile time (the common 16 and 64), so the loops unroll. Whole
// vectors in registers, one store each; a missing neighbour (graph ends) is a zero weight.
template <typename T, int KC>
void band_rows(const T* src, int64_t n, int64_t runtime_cols, const T* lower, const T* diag,
               const T* upper, int64_t lo, int64_t hi, T* dst, int64_t ld) {
  using V = Vec<T>;
  const int64_t cols = KC > 0 ? KC : runtime_cols;
  const int64_t whole = cols / V::lanes * V::lanes;
  for (int64_t i = lo; i < hi; ++i) {
    T* d = dst + (i - lo) * ld;
    const T* mid = src + i * cols;
    // the first and last node read themselves in place of the missing neighbour, weight 0
    const T* prev = i > 0 ? mid - cols : mid;
    const T* next = i + 1 < n ? mid + cols : mid;
    const T l = i > 0 ? lower[i] : T(0), c = diag[i], u = i + 1 < n ? upper[i] : T(0);
    for (int64_t k = 0; k < whole; k += V::lanes)
      V::store(d + k, V::load(mid + k) * c + V::load(prev + k) * l + V::load(next + k) * u);
    for (int64_t k = whole; k < cols; ++k) d[k] = mid[k] * c + prev[k] * l + next[k] * u;
  }
}

// out rows [R] x vectors [NV] starting at column c: Σ_k a[r][k] M[k][c..] (+ bias), the R·NV
// accumulators in registers; one load of M per vector and k serves R rows.
template <typename T, int KC, int R, int NV>
void tile_mm(const T* a, int64_t lda, int64_t runtime_kdim, const T* m, int64_t ldm,
             const T* bias, int64_t c, T* out, int64_t ldo, int64_t ncols, bool stream) {
  using V = Vec<T>;
  const int64_t kdim = KC > 0 ? KC : runtime_kdim;
  typename V::type acc[R][NV];
  for (int v = 0; v < NV; ++v) {
    typename V::type init = bias ? V::load(bias + c + v * V::lanes) : typename V::type{};
    for (int r = 0; r < R; ++r) acc[r][v] = init;
  }
  for (int64_t k = 0; k < kdim; ++k) {
    typename V::type w[NV];
    for (int v = 0; v < NV; ++v) w[v] = V::load(m + k * ldm + c + v * V::lanes);
    for (int r = 0; r < R; ++r) {
      const T s = a[r * lda + k];
      for (int v = 0; v < NV; ++v) acc[r][v] += w[v] * s;
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < NV; ++v) {
      const int64_t col = c + v * V::lanes;
      T* dst = out + r * ldo + col;
      if (col + V::lanes <= ncols) {
        if (stream && reinterpret_cast<uintptr_t>(dst) % kVecBytes == 0)
          V::stream(dst, acc[r][v]);
        else
          V::store(dst, acc[r][v]);
      } else {  // the row's last, partial vector: never write into the next row
        T tmp[V::lanes];
        V::store(tmp, acc[r][v]);
        std::memcpy(dst, tmp, (ncols - col) * sizeof(T));
      }
    }
  }
}

template <typename T, int KC, int R>
void rows_mm(const T* a, int64_t lda, int64_t kdim, const T* m, int64_t ldm, const T* bias,
             T* out, int64_t ncols, bool stream) {
  constexpr int lanes = Vec<T>::lanes;
  constexpr int NV = 2;  // with kRows = 8 (4): 16 zmm (8 ymm) accumulators
  int64_t c = 0;
  for (; c + NV * lanes <= ldm; c += NV * lanes)
    tile_mm<T, KC, R, NV>(a, lda, kdim, m, ldm, bias, c, out, ncols, ncols, stream);
  for (; c < ldm; c += lanes)
    tile_mm<T, KC, R, 1>(a, lda, kdim, m, ldm, bias, c, out, ncols, ncols, stream);
}

int64_t padded(int64_t cols, int64_t lanes) { return (cols + lanes - 1) / lanes * lanes; }

// A [rows, cols] matrix (or vector) copied into [rows, padded(cols)] zero-filled columns.
template <typename T>
std::vector<T> pad_columns(const T* src, int64_t rows, int64_t cols, int64_t ld) {
  std::vector<T> out(rows * ld, T(0));
  for (int64_t r = 0; r < rows; ++r) std::copy(src + r * cols, src + (r + 1) * cols, &out[r * ld]);
  return out;
}

// src [N, K], bands [3, N], m [K, C], bias [C] or none, out [N, C] (written, every element).
void propagate_mm(at::Tensor src, at::Tensor bands, at::Tensor m, std::optional<at::Tensor> bias,
                  at::Tensor out) {
  TORCH_CHECK(src.is_contiguous() && bands.is_contiguous() && m.is_contiguous() &&
                  out.is_contiguous(),
              "sgtk_gcn_path: contiguous tensors expected");
  const int64_t n = src.size(0), kdim = src.size(1), ncols = m.size(1);
  TORCH_CHECK(m.size(0) == kdim && out.size(0) == n && out.size(1) == ncols &&
                  bands.size(0) == 3 && bands.size(1) == n,
              "sgtk_gcn_path: shapes do not match");
  AT_DISPATCH_FLOATING_TYPES(src.scalar_type(), "sgtk_propagate_mm", [&] {
    using T = scalar_t;
    const int64_t ldm = padded(ncols, Vec<T>::lanes);
    const std::vector<T> mp = pad_columns(m.data_ptr<T>(), kdim, ncols, ldm);
    std::vector<T> bp;
    if (bias.has_value()) bp = pad_columns(bias->contiguous().data_ptr<T>(), 1, ncols, ldm);
    const T* bptr = bias.has_value() ? bp.data() : nullptr;
    const T* s = src.data_ptr<T>();
    const T* bd = bands.data_ptr<T>();
    T* o = out.data_ptr<T>();
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    // An output far larger than the caches is written with streaming stores: no read of each
    // line before it is overwritten, and the cache keeps the inputs. A small one stays cached
    // for the layer after.
    const bool stream = n * ncols * static_cast<int64_t>(sizeof(T)) >= kStreamBytes;
    auto run = [&](auto kc) {
      constexpr int KC = decltype(kc)::value;
      at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
        std::vector<T> scratch(kBlock * kdim);
        for (int64_t b = b0; b < b1; ++b) {
          const int64_t lo = b * kBlock, hi = std::min(lo + kBlock, n);
          band_rows<T, KC>(s, n, kdim, bd, bd + n, bd + 2 * n, lo, hi, scratch.data(), kdim);
          int64_t r = 0;
          for (; r + kRows <= hi - lo; r += kRows)
            rows_mm<T, KC, kRows>(&scratch[r * kdim], kdim, kdim, mp.data(), ldm, bptr,
                              o + (lo + r) * ncols, ncols, stream);
          for (; r < hi - lo; ++r)
            rows_mm<T, KC, 1>(&scratch[r * kdim], kdim, kdim, mp.data(), ldm, bptr,
                              o + (lo + r) * ncols, ncols, stream);
        }
      });
      if (stream) _mm_sfence();  // the streamed rows visible before we return
    };
    if (kdim == 16) run(std::integral_constant<int, 16>{});
    else if (kdim == 64) run(std::integral_constant<int, 64>{});
    else run(std::integral_constant<int, 0>{});
  });
}

// acc[k][c..] += Σ_r a[r][k] g[r][c..] for k in [k0, k0 + KB): KB·NV accumulators in
// registers across the block's rows, started at zero and added to acc once per block.
template <typename T, int KB, int NV>
void tile_outer(const T* a, int64_t lda, int64_t rows, int64_t k0, const T* g, int64_t ldg,
                int64_t c, T* acc, int64_t ldacc) {
  using V = Vec<T>;
  typename V::type t[KB][NV] = {};
  for (int64_t r = 0; r < rows; ++r) {
    typename V::type gv[NV];
    for (int v = 0; v < NV; ++v) gv[v] = V::load(g + r * ldg + c + v * V::lanes);
    for (int kb = 0; kb < KB; ++kb) {
      const T s = a[r * lda + k0 + kb];
      for (int v = 0; v < NV; ++v) t[kb][v] += gv[v] * s;
    }
  }
  for (int kb = 0; kb < KB; ++kb)
    for (int v = 0; v < NV; ++v) {
      T* p = acc + (k0 + kb) * ldacc + c + v * V::lanes;
      V::store(p, V::load(p) + t[kb][v]);
    }
}

template <typename T, int NV>
void block_outer(const T* a, int64_t lda, int64_t rows, int64_t kdim, const T* g, int64_t ldg,
                 int64_t c, T* acc, int64_t ldacc) {
  constexpr int KB = 6;  // 6 x NV accumulators: 24 zmm or 12 ymm, beside NV loads of G
  int64_t k = 0;
  for (; k + KB <= kdim; k += KB) tile_outer<T, KB, NV>(a, lda, rows, k, g, ldg, c, acc, ldacc);
  switch (kdim - k) {  // the last 1-5 columns of Â x (with K = 16 and a bias: 17 = 6 + 6 + 5)
    case 5: tile_outer<T, 5, NV>(a, lda, rows, k, g, ldg, c, acc, ldacc); break;
    case 4: tile_outer<T, 4, NV>(a, lda, rows, k, g, ldg, c, acc, ldacc); break;
    case 3: tile_outer<T, 3, NV>(a, lda, rows, k, g, ldg, c, acc, ldacc); break;
    case 2: tile_outer<T, 2, NV>(a, lda, rows, k, g, ldg, c, acc, ldacc); break;
    case 1: tile_outer<T, 1, NV>(a, lda, rows, k, g, ldg, c, acc, ldacc); break;
    default: break;
  }
}

// x [N, K], bands [3, N], grad [N, C]. Returns [K (+1 with_bias), C]: (Â x)ᵀ G, and Gᵀ 1 last.
at::Tensor propagate_outer(at::Tensor x, at::Tensor bands, at::Tensor grad, bool with_bias) {
  TORCH_CHECK(x.is_contiguous() && bands.is_contiguous() && grad.is_contiguous(),
              "sgtk_gcn_path: contiguous tensors expected");
  const int64_t n = x.size(0), kdim = x.size(1), ncols = grad.size(1);
  TORCH_CHECK(grad.size(0) == n && bands.size(0) == 3 && bands.size(1) == n,
              "sgtk_gcn_path: shapes do not match");
  const int64_t width = kdim + (with_bias ? 1 : 0);
  auto result = at::zeros({width, ncols}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "sgtk_propagate_outer", [&] {
    using T = scalar_t;
    constexpr int lanes = Vec<T>::lanes;
    constexpr int NV = kRegs == 32 ? 4 : 2;
    const int64_t ldacc = padded(ncols, lanes);
    const bool pad_grad = ldacc != ncols;  // a partial vector must not read past a row
    const T* xs = x.data_ptr<T>();
    const T* bd = bands.data_ptr<T>();
    const T* gs = grad.data_ptr<T>();
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    const int threads = at::get_num_threads();
    std::vector<T> partial(static_cast<size_t>(threads) * width * ldacc, T(0));
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
      T* acc = &partial[static_cast<size_t>(at::get_thread_num()) * width * ldacc];
      std::vector<T> a(kBlock * width, T(1));  // the ones column stays 1
      std::vector<T> gpad(pad_grad ? kBlock * ldacc : 0, T(0));
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t lo = b * kBlock, hi = std::min(lo + kBlock, n), rows = hi - lo;
        if (kdim == 16) band_rows<T, 16>(xs, n, kdim, bd, bd + n, bd + 2 * n, lo, hi, a.data(), width);
        else band_rows<T, 0>(xs, n, kdim, bd, bd + n, bd + 2 * n, lo, hi, a.data(), width);
        const T* g = gs + lo * ncols;
        if (pad_grad) {
          for (int64_t r = 0; r < rows; ++r)
            std::copy(g + r * ncols, g + (r + 1) * ncols, &gpad[r * ldacc]);
          g = gpad.data();
        }
        const int64_t ldg = pad_grad ? ldacc : ncols;
        int64_t c = 0;
        for (; c + NV * lanes <= ldacc; c += NV * lanes)
          block_outer<T, NV>(a.data(), width, rows, width, g, ldg, c, acc, ldacc);
        for (; c < ldacc; c += lanes)
          block_outer<T, 1>(a.data(), width, rows, width, g, ldg, c, acc, ldacc);
      }
    });
    T* out = result.data_ptr<T>();
    for (int t = 0; t < threads; ++t)
      for (int64_t k = 0; k < width; ++k)
        for (int64_t j = 0; j < ncols; ++j)
          out[k * ncols + j] += partial[(static_cast<size_t>(t) * width + k) * ldacc + j];
  });
  return result;
}

}  // namespace

TORCH_LIBRARY(sgtk_gcn_path, m) {
  m.def("propagate_mm", &propagate_mm);
  m.def("propagate_outer", &propagate_outer);
}
