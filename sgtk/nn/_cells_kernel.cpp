// The Elman RNN's and the GRU's time loops for sgtk.nn, each step's element-wise work fused
// into one pass, as _lstm_kernel.cpp does for the LSTM. The GEMMs stay ATen (MKL/oneDNN);
// the input projections of all steps and the weight gradients of all steps are one GEMM each,
// taken in Python. Only the headers used, not <torch/extension.h>: that cuts the build ~6x.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

#include "_fast_math.h"

template <typename F>
void rows(int64_t batch, int64_t hid, const F& row) {
  at::parallel_for(0, batch, grain(hid), [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) row(b);
  });
}

// ---- Elman RNN: h' = tanh(z + W_hh h), z = W_hx x + b --------------------------------------
template <typename T>
void rnn_forward_row(const T* __restrict a, T* __restrict h, int64_t hid) {
  for (int64_t j = 0; j < hid; ++j) h[j] = tanh_fast(a[j]);
}

// dz = (dh + grad_h) * (1 - h^2)
template <typename T>
void rnn_backward_row(const T* __restrict h, const T* __restrict grad_h, const T* __restrict dh,
                      T* __restrict dz, int64_t hid) {
  for (int64_t j = 0; j < hid; ++j) dz[j] = (dh[j] + grad_h[j]) * (T(1) - h[j] * h[j]);
}

// ---- GRU (nn.GRU's convention, gates r, z, n) ----------------------------------------------
// xg: W_x x + b_x of this row [3n]; hg: W_h h + b_h [3n]. Writes r, z (rz [2n]), the candidate
// n, W_hn h + b_hn (hn, kept for the gradient of r) and h' = n + z (h - n).
template <typename T>
void gru_forward_row(const T* __restrict xg, const T* __restrict hg, const T* __restrict h,
                     T* __restrict rz, T* __restrict cand, T* __restrict hn, T* __restrict h_next,
                     int64_t hid) {
  for (int64_t j = 0; j < hid; ++j) {
    T r = sigmoid(xg[j] + hg[j]);
    T z = sigmoid(xg[hid + j] + hg[hid + j]);
    T hnj = hg[2 * hid + j];
    T c = tanh_fast(xg[2 * hid + j] + r * hnj);
    rz[j] = r, rz[hid + j] = z, cand[j] = c, hn[j] = hnj;
    h_next[j] = c + z * (h[j] - c);
  }
}

// d = dh + grad_h is the gradient of h'. Writes the gradients of the pre-activations: dxg (of
// W_x x + b_x: r, z, n) and dhg (of W_h h + b_h: r, z and, for n, the term inside r *), and
// dh z, the part of the gradient of h that skips the GEMM.
template <typename T>
void gru_backward_row(const T* __restrict rz, const T* __restrict cand, const T* __restrict hn,
                      const T* __restrict h_prev, const T* __restrict grad_h,
                      const T* __restrict dh, T* __restrict dxg, T* __restrict dhg,
                      T* __restrict dh_skip, int64_t hid) {
  for (int64_t j = 0; j < hid; ++j) {
    T d = dh[j] + grad_h[j];
    T r = rz[j], z = rz[hid + j], c = cand[j];
    T dc = d * (T(1) - z) * (T(1) - c * c);
    T dr = dc * hn[j] * r * (T(1) - r);
    T dz = d * (h_prev[j] - c) * z * (T(1) - z);
    dxg[j] = dr, dxg[hid + j] = dz, dxg[2 * hid + j] = dc;
    dhg[j] = dr, dhg[hid + j] = dz, dhg[2 * hid + j] = dc * r;
    dh_skip[j] = d * z;
  }
}

}  // namespace

// z: [T, B, H] input projections plus bias (overwritten); w_hh: [H, H]. Returns hs [T+1, B, H].
at::Tensor rnn_forward(at::Tensor z, at::Tensor h0, at::Tensor w_hh) {
  const int64_t steps = z.size(0), batch = z.size(1), hid = h0.size(-1);
  auto hs = at::empty({steps + 1, batch, hid}, z.options());
  hs[0].copy_(h0);
  auto w_t = w_hh.t();
  for (int64_t t = 0; t < steps; ++t) {
    auto a = z[t];
    a.addmm_(hs[t], w_t);
    AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "sgtk_rnn_forward", [&] {
      const scalar_t* ap = a.data_ptr<scalar_t>();
      scalar_t* hp = hs[t + 1].data_ptr<scalar_t>();
      rows(batch, hid, [&](int64_t b) { rnn_forward_row(ap + b * hid, hp + b * hid, hid); });
    });
  }
  return hs;
}

// grad_hs: [T, B, H]; hs: [T+1, B, H]. Returns (dz [T, B, H], dh0).
std::vector<at::Tensor> rnn_backward(at::Tensor grad_hs, at::Tensor hs, at::Tensor w_hh) {
  const int64_t steps = grad_hs.size(0), batch = hs.size(1), hid = hs.size(-1);
  grad_hs = grad_hs.contiguous();
  auto dh = at::zeros({batch, hid}, hs.options());
  auto dz = at::empty({steps, batch, hid}, hs.options());
  for (int64_t t = steps - 1; t >= 0; --t) {
    AT_DISPATCH_FLOATING_TYPES(hs.scalar_type(), "sgtk_rnn_backward", [&] {
      const scalar_t* hp = hs[t + 1].data_ptr<scalar_t>();
      const scalar_t* gp = grad_hs[t].data_ptr<scalar_t>();
      const scalar_t* dhp = dh.data_ptr<scalar_t>();
      scalar_t* dzp = dz[t].data_ptr<scalar_t>();
      rows(batch, hid, [&](int64_t b) {
        const int64_t r = b * hid;
        rnn_backward_row(hp + r, gp + r, dhp + r, dzp + r, hid);
      });
    });
    at::mm_out(dh, dz[t], w_hh);
  }
  return {dz, dh};
}

// xg: [T, B, 3n] = W_x x + b_x; w_h: [3n, n]; b_h: [3n].
// Returns (rz [T, B, 2n], cand [T, B, n], hn [T, B, n], hs [T+1, B, n]).
std::vector<at::Tensor> gru_forward(at::Tensor xg, at::Tensor h0, at::Tensor w_h, at::Tensor b_h) {
  const int64_t steps = xg.size(0), batch = xg.size(1), hid = h0.size(-1);
  auto rz = at::empty({steps, batch, 2 * hid}, xg.options());
  auto cand = at::empty({steps, batch, hid}, xg.options());
  auto hn = at::empty({steps, batch, hid}, xg.options());
  auto hs = at::empty({steps + 1, batch, hid}, xg.options());
  auto hg = at::empty({batch, 3 * hid}, xg.options());
  hs[0].copy_(h0);
  auto w_t = w_h.t();
  for (int64_t t = 0; t < steps; ++t) {
    at::addmm_out(hg, b_h, hs[t], w_t);
    AT_DISPATCH_FLOATING_TYPES(xg.scalar_type(), "sgtk_gru_forward", [&] {
      const scalar_t* xp = xg[t].data_ptr<scalar_t>();
      const scalar_t* hgp = hg.data_ptr<scalar_t>();
      const scalar_t* hp = hs[t].data_ptr<scalar_t>();
      scalar_t* rzp = rz[t].data_ptr<scalar_t>();
      scalar_t* cp = cand[t].data_ptr<scalar_t>();
      scalar_t* hnp = hn[t].data_ptr<scalar_t>();
      scalar_t* hnext = hs[t + 1].data_ptr<scalar_t>();
      rows(batch, hid, [&](int64_t b) {
        const int64_t r = b * hid;
        gru_forward_row(xp + 3 * r, hgp + 3 * r, hp + r, rzp + 2 * r, cp + r, hnp + r, hnext + r,
                        hid);
      });
    });
  }
  return {rz, cand, hn, hs};
}

// Returns (dxg [T, B, 3n], dhg [T, B, 3n], dh0): the gradients of W_x x + b_x and W_h h + b_h.
std::vector<at::Tensor> gru_backward(at::Tensor grad_hs, at::Tensor rz, at::Tensor cand,
                                     at::Tensor hn, at::Tensor hs, at::Tensor w_h) {
  const int64_t steps = cand.size(0), batch = cand.size(1), hid = cand.size(-1);
  grad_hs = grad_hs.contiguous();
  auto dh = at::zeros({batch, hid}, hs.options());
  auto dh_skip = at::empty({batch, hid}, hs.options());
  auto dxg = at::empty({steps, batch, 3 * hid}, hs.options());
  auto dhg = at::empty({steps, batch, 3 * hid}, hs.options());
  for (int64_t t = steps - 1; t >= 0; --t) {
    AT_DISPATCH_FLOATING_TYPES(hs.scalar_type(), "sgtk_gru_backward", [&] {
      const scalar_t* rzp = rz[t].data_ptr<scalar_t>();
      const scalar_t* cp = cand[t].data_ptr<scalar_t>();
      const scalar_t* hnp = hn[t].data_ptr<scalar_t>();
      const scalar_t* hp = hs[t].data_ptr<scalar_t>();
      const scalar_t* gp = grad_hs[t].data_ptr<scalar_t>();
      const scalar_t* dhp = dh.data_ptr<scalar_t>();
      scalar_t* dxp = dxg[t].data_ptr<scalar_t>();
      scalar_t* dhgp = dhg[t].data_ptr<scalar_t>();
      scalar_t* skip = dh_skip.data_ptr<scalar_t>();
      rows(batch, hid, [&](int64_t b) {
        const int64_t r = b * hid;
        gru_backward_row(rzp + 2 * r, cp + r, hnp + r, hp + r, gp + r, dhp + r, dxp + 3 * r,
                         dhgp + 3 * r, skip + r, hid);
      });
    });
    at::addmm_out(dh, dh_skip, dhg[t], w_h);  // dh = dh z + dhg W_h
  }
  return {dxg, dhg, dh};
}

TORCH_LIBRARY(sgtk_cells, m) {
  m.def("rnn_forward", &rnn_forward);
  m.def("rnn_backward", &rnn_backward);
  m.def("gru_forward", &gru_forward);
  m.def("gru_backward", &gru_backward);
}
