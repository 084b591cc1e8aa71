// The LSTM's time loops for sgtk.nn.rnn, with each step's gate arithmetic fused into one pass.
// The GEMMs stay ATen's (oneDNN for the recurrent weight from H = 256); only the ~10 element-wise ops a step, which cost more in
// dispatch than in arithmetic at these sizes, are replaced. Gates are in (i, f, o, g) order.
// Only the headers used, not <torch/extension.h>: that cuts the one-time build ~6x.
#include <ATen/Context.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

// The recurrent GEMMs reuse one weight every step. MKL's sgemm (ATen's fp32 mm) repacks it on
// every call; oneDNN packs it once, as nn.LSTM's own kernel does. Measured on a 2-core AMD
// EPYC with AVX-512, one thread: [128, 512] x [512, 2048] in 3.2 ms against 4.2 ms. Below
// H = 256 the GEMMs are too small for the extra call and copy to pay, so they stay on mm.
constexpr int64_t kPackFrom = 256;

c10::IValue call_op(const c10::OperatorHandle& op, torch::jit::Stack stack) {
  op.callBoxed(&stack);
  return stack[0];
}

c10::OperatorHandle find_op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "");
}

// A weight [out, in] packed for x W^T through oneDNN, or undefined where mm should run:
// not float32 on the CPU, no oneDNN, H below kPackFrom, or SGTK_NO_ONEDNN set.
at::Tensor pack_weight(const at::Tensor& w, int64_t batch, int64_t hid) {
  const char* off = std::getenv("SGTK_NO_ONEDNN");
  if (hid < kPackFrom || w.scalar_type() != at::kFloat || !w.device().is_cpu() ||
      !at::hasMKLDNN() || (off != nullptr && off[0] != '\0' && off[0] != '0'))
    return at::Tensor();
  static const c10::OperatorHandle reorder = find_op("mkldnn::_reorder_linear_weight");
  return call_op(reorder, {w.contiguous(), c10::IValue(batch)})
      .toTensor();
}

at::Tensor packed_linear(const at::Tensor& x, const at::Tensor& packed) {
  // Looked up once: every step calls it.
  static const c10::OperatorHandle linear = find_op("mkldnn::_linear_pointwise");
  return call_op(linear,
                 {x, packed, c10::IValue(), c10::IValue("none"),
                  c10::IValue(c10::List<std::optional<at::Scalar>>()), c10::IValue()})
      .toTensor();
}

#include "_fast_math.h"

// One batch row. The gate blocks of a row are separate __restrict pointers, which is what
// lets gcc vectorise the loop without runtime alias checks.
// a holds the pre-activations on entry and i, f, o, g on exit; writes c, tanh(c) and h.
template <typename T>
void forward_row(T* __restrict a, const T* __restrict c_prev, T* __restrict c,
                 T* __restrict tanh_c, T* __restrict h, int64_t hid) {
  T* __restrict ai = a;
  T* __restrict af = a + hid;
  T* __restrict ao = a + 2 * hid;
  T* __restrict ag = a + 3 * hid;
  for (int64_t j = 0; j < hid; ++j) {
    T i = sigmoid(ai[j]), f = sigmoid(af[j]), o = sigmoid(ao[j]), g = tanh_fast(ag[j]);
    T cj = f * c_prev[j] + i * g;
    T tc = tanh_fast(cj);
    ai[j] = i, af[j] = f, ao[j] = o, ag[j] = g;
    c[j] = cj, tanh_c[j] = tc, h[j] = o * tc;
  }
}

// One step back in time for one batch row: dh (from the step above) gains this step's output
// gradient, dc is carried through f, and d gets d(pre-activation) of all four gates.
template <typename T>
void backward_row(const T* __restrict a, const T* __restrict c_prev, const T* __restrict tanh_c,
                  const T* __restrict grad_h, const T* __restrict dh, T* __restrict dc,
                  T* __restrict d, int64_t hid) {
  const T* __restrict ai = a;
  const T* __restrict af = a + hid;
  const T* __restrict ao = a + 2 * hid;
  const T* __restrict ag = a + 3 * hid;
  T* __restrict di = d;
  T* __restrict df = d + hid;
  T* __restrict d_o = d + 2 * hid;
  T* __restrict dg = d + 3 * hid;
  for (int64_t j = 0; j < hid; ++j) {
    T i = ai[j], f = af[j], o = ao[j], g = ag[j];
    T tc = tanh_c[j], dhj = dh[j] + grad_h[j];
    T dcj = dc[j] + dhj * o * (T(1) - tc * tc);
    di[j] = dcj * g * i * (T(1) - i);
    df[j] = dcj * c_prev[j] * f * (T(1) - f);
    d_o[j] = dhj * tc * o * (T(1) - o);
    dg[j] = dcj * i * (T(1) - g * g);
    dc[j] = dcj * f;
  }
}

template <typename T>
void forward_gates(T* acts, const T* c_prev, T* c, T* tanh_c, T* h, int64_t batch, int64_t hid) {
  at::parallel_for(0, batch, grain(hid), [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const int64_t r = b * hid;
      forward_row(acts + 4 * r, c_prev + r, c + r, tanh_c + r, h + r, hid);
    }
  });
}

template <typename T>
void backward_gates(const T* acts, const T* c_prev, const T* tanh_c, const T* grad_h, T* dh,
                    T* dc, T* dgates, int64_t batch, int64_t hid) {
  at::parallel_for(0, batch, grain(hid), [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const int64_t r = b * hid;
      backward_row(acts + 4 * r, c_prev + r, tanh_c + r, grad_h + r, dh + r, dc + r,
                   dgates + 4 * r, hid);
    }
  });
}

}  // namespace

// xg: [T, B, 4H] input projections plus bias (overwritten with the activations); w_h: [4H, H].
// Returns (acts, cs [T+1, B, H], hs [T+1, B, H], tanh_c [T, B, H]).
std::vector<at::Tensor> lstm_forward(at::Tensor xg, at::Tensor h0, at::Tensor c0, at::Tensor w_h) {
  const int64_t steps = xg.size(0), batch = xg.size(1), hid = h0.size(-1);
  auto cs = at::empty({steps + 1, batch, hid}, xg.options());
  auto hs = at::empty({steps + 1, batch, hid}, xg.options());
  auto tanh_c = at::empty({steps, batch, hid}, xg.options());
  cs[0].copy_(c0);
  hs[0].copy_(h0);
  auto w_h_t = w_h.t();
  const auto packed = pack_weight(w_h, batch, hid);
  for (int64_t t = 0; t < steps; ++t) {
    auto a = xg[t];
    if (packed.defined()) a.add_(packed_linear(hs[t], packed));
    else a.addmm_(hs[t], w_h_t);
    AT_DISPATCH_FLOATING_TYPES(xg.scalar_type(), "sgtk_lstm_forward", [&] {
      forward_gates(a.data_ptr<scalar_t>(), cs[t].data_ptr<scalar_t>(),
                    cs[t + 1].data_ptr<scalar_t>(), tanh_c[t].data_ptr<scalar_t>(),
                    hs[t + 1].data_ptr<scalar_t>(), batch, hid);
    });
  }
  return {xg, cs, hs, tanh_c};
}

// Returns (dgates [T, B, 4H], dh0, dc0). grad_hs: [T, B, H]; dc: the gradient of c_T.
std::vector<at::Tensor> lstm_backward(at::Tensor grad_hs, at::Tensor dc, at::Tensor acts,
                                      at::Tensor cs, at::Tensor tanh_c, at::Tensor w_h) {
  const int64_t steps = acts.size(0), batch = acts.size(1), hid = cs.size(-1);
  grad_hs = grad_hs.contiguous();
  dc = dc.contiguous().clone();
  auto dh = at::zeros({batch, hid}, cs.options());
  auto dgates = at::empty_like(acts);
  const auto packed = pack_weight(w_h.t(), batch, hid);  // dh = dgates W_h = dgates (W_hᵀ)ᵀ
  for (int64_t t = steps - 1; t >= 0; --t) {
    AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "sgtk_lstm_backward", [&] {
      backward_gates(acts[t].data_ptr<scalar_t>(), cs[t].data_ptr<scalar_t>(),
                     tanh_c[t].data_ptr<scalar_t>(), grad_hs[t].data_ptr<scalar_t>(),
                     dh.data_ptr<scalar_t>(), dc.data_ptr<scalar_t>(),
                     dgates[t].data_ptr<scalar_t>(), batch, hid);
    });
    if (packed.defined()) dh = packed_linear(dgates[t], packed);
    else at::mm_out(dh, dgates[t], w_h);
  }
  return {dgates, dh, dc};
}

TORCH_LIBRARY(sgtk_lstm, m) {
  m.def("forward", &lstm_forward);
  m.def("backward", &lstm_backward);
}
