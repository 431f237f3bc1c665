// Four float lanes, as wasm SIMD (wasm_simd128.h) in the browser and SSE2 natively, with a
// plain-array fallback. Only lane-wise IEEE operations (multiply, add, subtract, max, compare)
// and exact integer steps: no fused multiply-add and no sums across lanes, so every build
// rounds each lane exactly as the scalar code would.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#elif defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#endif

namespace attnviz::simd {

#if defined(__wasm_simd128__)

using f32x4 = v128_t;
inline f32x4 load(const float* p) { return wasm_v128_load(p); }
inline void store(float* p, f32x4 v) { wasm_v128_store(p, v); }
inline f32x4 splat(float x) { return wasm_f32x4_splat(x); }
inline f32x4 add(f32x4 a, f32x4 b) { return wasm_f32x4_add(a, b); }
inline f32x4 mul(f32x4 a, f32x4 b) { return wasm_f32x4_mul(a, b); }
inline f32x4 max(f32x4 a, f32x4 b) { return wasm_f32x4_pmax(a, b); }
inline f32x4 sub(f32x4 a, f32x4 b) { return wasm_f32x4_sub(a, b); }
// 0 in the lanes where a == b, the lanes of v elsewhere.
inline f32x4 zero_where_equal(f32x4 a, f32x4 b, f32x4 v) { return wasm_v128_andnot(v, wasm_f32x4_eq(a, b)); }
// 2^k for whole numbers k in [-126, 127], built in the exponent field.
inline f32x4 pow2(f32x4 k) {
  return wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(k), wasm_i32x4_splat(127)), 23);
}

#elif defined(__SSE2__) || defined(_M_X64)

using f32x4 = __m128;
inline f32x4 load(const float* p) { return _mm_loadu_ps(p); }
inline void store(float* p, f32x4 v) { _mm_storeu_ps(p, v); }
inline f32x4 splat(float x) { return _mm_set1_ps(x); }
inline f32x4 add(f32x4 a, f32x4 b) { return _mm_add_ps(a, b); }
inline f32x4 mul(f32x4 a, f32x4 b) { return _mm_mul_ps(a, b); }
inline f32x4 max(f32x4 a, f32x4 b) { return _mm_max_ps(b, a); }  // b < a ? a : b, as pmax
inline f32x4 sub(f32x4 a, f32x4 b) { return _mm_sub_ps(a, b); }
inline f32x4 zero_where_equal(f32x4 a, f32x4 b, f32x4 v) { return _mm_andnot_ps(_mm_cmpeq_ps(a, b), v); }
inline f32x4 pow2(f32x4 k) {
  return _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(_mm_cvttps_epi32(k), _mm_set1_epi32(127)), 23));
}

#else

struct f32x4 {
  float v[4];
};
inline f32x4 load(const float* p) { return {{p[0], p[1], p[2], p[3]}}; }
inline void store(float* p, f32x4 a) {
  for (int i = 0; i < 4; ++i) p[i] = a.v[i];
}
inline f32x4 splat(float x) { return {{x, x, x, x}}; }
inline f32x4 add(f32x4 a, f32x4 b) { return {{a.v[0] + b.v[0], a.v[1] + b.v[1], a.v[2] + b.v[2], a.v[3] + b.v[3]}}; }
inline f32x4 mul(f32x4 a, f32x4 b) { return {{a.v[0] * b.v[0], a.v[1] * b.v[1], a.v[2] * b.v[2], a.v[3] * b.v[3]}}; }
inline f32x4 max(f32x4 a, f32x4 b) {
  f32x4 r;
  for (int i = 0; i < 4; ++i) r.v[i] = a.v[i] < b.v[i] ? b.v[i] : a.v[i];
  return r;
}
inline f32x4 sub(f32x4 a, f32x4 b) { return {{a.v[0] - b.v[0], a.v[1] - b.v[1], a.v[2] - b.v[2], a.v[3] - b.v[3]}}; }
inline f32x4 zero_where_equal(f32x4 a, f32x4 b, f32x4 v) {
  for (int i = 0; i < 4; ++i) v.v[i] = a.v[i] == b.v[i] ? 0.0f : v.v[i];
  return v;
}
inline f32x4 pow2(f32x4 k) {
  f32x4 r;
  for (int i = 0; i < 4; ++i) {
    const uint32_t bits = uint32_t(int32_t(k.v[i]) + 127) << 23;
    std::memcpy(&r.v[i], &bits, sizeof bits);
  }
  return r;
}

#endif

// acc + a * b, rounded twice (multiply, then add) like the scalar expression.
inline f32x4 mul_add(f32x4 acc, f32x4 a, f32x4 b) { return add(acc, mul(a, b)); }

// e^x for x <= 88, within 2 ulp of the true value (Cephes' expf: x = k ln 2 + r with
// |r| <= ln(2) / 2, a degree-7 polynomial for e^r, times 2^k). Below -87 the result is that
// of -87, about 1.6e-38, where a correctly rounded exp would give a denormal or 0.
inline f32x4 exp(f32x4 x) {
  x = max(x, splat(-87.0f));
  const f32x4 round = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to a whole number
  const f32x4 k = sub(add(mul(x, splat(1.44269504088896341f)), round), round);
  // ln 2 in two parts; k times the first, with 9 significant bits, is exact.
  const f32x4 r = sub(sub(x, mul(k, splat(0.693359375f))), mul(k, splat(-2.12194440e-4f)));
  f32x4 p = splat(1.9875691500e-4f);
  p = add(mul(p, r), splat(1.3981999507e-3f));
  p = add(mul(p, r), splat(8.3334519073e-3f));
  p = add(mul(p, r), splat(4.1665795894e-2f));
  p = add(mul(p, r), splat(1.6666665459e-1f));
  p = add(mul(p, r), splat(5.0000001201e-1f));
  p = add(add(mul(mul(p, r), r), r), splat(1.0f));
  return mul(p, pow2(k));
}

}  // namespace attnviz::simd
