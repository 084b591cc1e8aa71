// The element-wise maths both kernels share (_lstm_kernel.cpp, _cells_kernel.cpp): a fast
// exp for float32, the sigmoid and tanh built on it, and the rows per thread. Included inside
// each kernel's anonymous namespace, after <algorithm>, <cmath>, <cstdint> and <cstring>.
#pragma once

// expf after Cephes: e^x = 2^n e^r with |r| <= ln2/2 and a degree-6 polynomial for e^r.
// Branch- and call-free, so gcc vectorises every loop that uses it (std::exp stays scalar).
// std::max/min keep NaN (std::fmax would not, and it blocks vectorisation).
inline float exp_fast(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to the nearest integer
  float n = (x * 1.44269504088896341f + shifter) - shifter;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

inline double exp_fast(double x) { return std::exp(x); }  // float64 is for the exact tests

template <typename T>
inline T sigmoid(T x) {
  return T(1) / (T(1) + exp_fast(-x));
}

template <typename T>
inline T tanh_fast(T x) {
  return T(2) / (T(1) + exp_fast(T(-2) * x)) - T(1);
}

// Rows per thread: ATen splits element-wise work at about 32k elements, so do the same.
int64_t grain(int64_t hidden) { return std::max<int64_t>(1, 8192 / hidden); }
