// The plain ops and multi-head attention against naive loop references.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "attention.h"
#include "ops.h"
#include "simd.h"

namespace attnviz {
namespace {

Matrix random_matrix(int rows, int cols, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  Matrix m(rows, cols);
  for (int i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
  return m;
}

TensorView view(const Matrix& m) { return {m.data(), int(m.rows()), int(m.cols())}; }

// m [in x out] (input-major) packed as the loader stores linear weights; `storage` owns it.
PackedMatrix packed(const Matrix& m, std::vector<float>& storage) {
  storage.assign(packed_size(int(m.rows()), int(m.cols())), -1.0f);
  return pack(m.data(), int(m.rows()), int(m.cols()), size_t(m.cols()), 1, storage.data());
}

TEST(Pack, PanelsHoldTheMatrixAndZeroPadding) {
  const Matrix m = random_matrix(3, 11, 40);  // two panels, the second with 5 padding columns
  std::vector<float> storage;
  const PackedMatrix p = packed(m, storage);
  ASSERT_EQ(storage.size(), size_t(2 * kPanel * 3));
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 11; ++c) EXPECT_EQ(p.at(r, c), m(r, c));
  EXPECT_EQ(storage[kPanel * 3 + 2 * kPanel + 7], 0.0f);  // row 2, column 15: padding
  EXPECT_EQ(p.row_block(1, 2).at(1, 9), m(2, 9));
  // Column-major sources pack the same (as attention packs k transposed).
  std::vector<float> again(storage.size());
  const Matrix t = m.transpose();
  pack(t.data(), 3, 11, 1, size_t(t.cols()), again.data());
  EXPECT_EQ(again, storage);
}

// Every tile shape the product uses (4, 2 and 1 rows; 1, 2 and 4 panels; partial panels),
// against the same sums in plain float loops: bit for bit, since the order is fixed.
TEST(Product, EveryShapeSumsInOrderExactly) {
  for (int rows : {1, 2, 3, 4, 5, 6, 7, 9})
    for (int in : {1, 2, 7, 16})
      for (int out : {1, 4, 8, 9, 17, 24, 30, 33, 41, 64}) {
        const Matrix x = random_matrix(rows, in, rows * 100 + in), w = random_matrix(in, out, out),
                     b = random_matrix(1, out, 7);
        std::vector<float> storage;
        Matrix y(rows, out);
        product(x, packed(w, storage), b.data(), y);
        for (int i = 0; i < rows; ++i)
          for (int o = 0; o < out; ++o) {
            float sum = b(0, o);
            for (int k = 0; k < in; ++k) {
              const float term = x(i, k) * w(k, o);
              sum += term;
            }
            ASSERT_EQ(y(i, o), sum) << rows << " x " << in << " x " << out << " at " << i << ", " << o;
          }
      }
}

// softmax's exp (simd.h): a polynomial in plain float operations, so every build agrees; here
// against the correctly rounded value, in units in the last place.
TEST(Exp, WithinTwoUlpOfTheTrueValue) {
  double worst = 0;
  for (int i = 0; i <= 400000; ++i) {
    const float x = -87.0f + 175.0f * float(i) / 400000;  // [-87, 88]
    float in[4] = {x, x, x, x}, out[4];
    simd::store(out, simd::exp(simd::load(in)));
    const double truth = std::exp(double(x));
    const double ulp = std::ldexp(1.0, std::ilogb(truth) - 23);
    worst = std::max(worst, std::abs(out[0] - truth) / ulp);
  }
  EXPECT_LE(worst, 2.0);
  float in[4] = {0.0f, -200.0f, -std::numeric_limits<float>::infinity(), 1.0f}, out[4];
  simd::store(out, simd::exp(simd::load(in)));
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_GT(out[1], 0.0f);  // held at e^-87
  EXPECT_LT(out[1], 2e-38f);
  EXPECT_EQ(out[1], out[2]);
}

TEST(Linear, MatchesLoopReference) {
  // w is input-major [in 5 x out 4], as the loader stores PyTorch's (out, in) weights.
  const Matrix x = random_matrix(3, 5, 1), w = random_matrix(5, 4, 2), b = random_matrix(1, 4, 3);
  Matrix y(3, 4);
  std::vector<float> storage;
  linear(x, packed(w, storage), view(b), y);
  ASSERT_EQ(y.rows(), 3);
  ASSERT_EQ(y.cols(), 4);
  for (int i = 0; i < 3; ++i)
    for (int o = 0; o < 4; ++o) {
      double sum = b(0, o);
      for (int k = 0; k < 5; ++k) sum += double(x(i, k)) * w(k, o);
      EXPECT_NEAR(y(i, o), sum, 1e-5);
    }
}

TEST(Linear, WithoutBias) {
  const Matrix x = random_matrix(2, 3, 4), w = random_matrix(3, 2, 5);
  Matrix y(2, 2);
  std::vector<float> storage;
  linear(x, packed(w, storage), TensorView{}, y);
  EXPECT_NEAR(y(1, 0), x.row(1).dot(w.col(0)), 1e-6);
}

TEST(LayerNorm, NormalisesWithBiasedVariance) {
  Matrix x(1, 4);
  x << 1, 2, 3, 6;
  Matrix gamma(1, 4), beta(1, 4);
  gamma << 1, 2, 1, 1;
  beta << 0, 0, 1, 0;
  layer_norm(x, view(gamma), view(beta), 1e-5f);
  const double mean = 3, var = (4 + 1 + 0 + 9) / 4.0, inv = 1 / std::sqrt(var + 1e-5);
  EXPECT_NEAR(x(0, 0), (1 - mean) * inv, 1e-6);
  EXPECT_NEAR(x(0, 1), 2 * (2 - mean) * inv, 1e-6);
  EXPECT_NEAR(x(0, 2), (3 - mean) * inv + 1, 1e-6);
  EXPECT_NEAR(x(0, 3), (6 - mean) * inv, 1e-6);
}

TEST(LayerNorm, EpsilonMatters) {
  Matrix x(1, 2);
  x << 0.0f, 0.002f;  // variance 1e-6
  Matrix ones = Matrix::Ones(1, 2), zeros = Matrix::Zero(1, 2);
  layer_norm(x, view(ones), view(zeros), 1e-2f);
  EXPECT_NEAR(x(0, 1), 0.001 / std::sqrt(1e-6 + 1e-2), 1e-7);
}

TEST(Activations, ReluAndExactGelu) {
  Matrix x(1, 4);
  x << -2.0f, -0.5f, 0.0f, 1.5f;
  Matrix r = x;
  relu(r);
  EXPECT_EQ(r(0, 0), 0.0f);
  EXPECT_EQ(r(0, 3), 1.5f);
  gelu(x);
  // Reference values of 0.5 x (1 + erf(x / sqrt 2)).
  EXPECT_NEAR(x(0, 0), -0.0455002638, 1e-7);
  EXPECT_NEAR(x(0, 1), -0.1542687694, 1e-7);
  EXPECT_EQ(x(0, 2), 0.0f);
  EXPECT_NEAR(x(0, 3), 1.3997891981, 1e-6);
}

TEST(Softmax, RowsSumToOneAndMatchFormula) {
  Matrix x(2, 3);
  x << 1, 2, 3, 1000, 1000, -std::numeric_limits<float>::infinity();
  softmax_rows(x);
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(x(0, 0), std::exp(1.0) / z, 1e-7);
  EXPECT_NEAR(x(0, 2), std::exp(3.0) / z, 1e-7);
  EXPECT_FLOAT_EQ(x(1, 0), 0.5f);  // no overflow: the max is subtracted
  EXPECT_EQ(x(1, 2), 0.0f);        // masked entries are exactly zero
}

// Widths below, at and past the four lanes, with the largest entry and masked ones both in the
// lanes and in the tail: each row matches the formula in double, within float rounding.
TEST(Softmax, EveryWidthMatchesFormulaInDouble) {
  const float minus_inf = -std::numeric_limits<float>::infinity();
  for (int n = 1; n <= 23; ++n) {
    Matrix x(2, n);
    for (int j = 0; j < n; ++j) {
      x(0, j) = std::sin(1.7f * j) * 6.0f;
      x(1, j) = j % 3 == 1 ? minus_inf : std::cos(0.9f * j) * 30.0f;
    }
    x(0, n - 1) = 9.0f;  // the largest, in the tail when n % 4 != 0
    const Matrix in = x;
    softmax_rows(x);
    for (int r = 0; r < 2; ++r) {
      // v - max is rounded to float first, as PyTorch and the engine both do.
      const float top = in.row(r).maxCoeff();
      const auto e = [&](int j) { return std::exp(double(in(r, j) - top)); };
      double total = 0;
      for (int j = 0; j < n; ++j) total += e(j);
      for (int j = 0; j < n; ++j) {
        const double want = e(j) / total;
        EXPECT_NEAR(x(r, j), want, 4e-7 * want) << "n " << n << " row " << r << " col " << j;
        if (in(r, j) == minus_inf) EXPECT_EQ(x(r, j), 0.0f);
      }
    }
  }
}

TEST(Softmax, FullyMaskedRowIsNaNAsInPyTorch) {
  Matrix x = Matrix::Constant(1, 2, -std::numeric_limits<float>::infinity());
  softmax_rows(x);
  EXPECT_TRUE(std::isnan(x(0, 0)));
}

TEST(Argmax, FirstOnTies) {
  const float values[] = {1, 3, 3, 2};
  EXPECT_EQ(argmax(values, 4), 1);
}

// Naive per-head attention: loops, doubles, and the masks applied explicitly.
Matrix naive_attention(const Matrix& q, const Matrix& k, const Matrix& v, int nhead,
                       const AttentionMask& mask, std::vector<Matrix>& weights) {
  const int tq = int(q.rows()), s = int(k.rows()), d = int(q.cols()), hd = d / nhead;
  Matrix out = Matrix::Zero(tq, d);
  weights.assign(nhead, Matrix::Zero(tq, s));
  for (int h = 0; h < nhead; ++h)
    for (int i = 0; i < tq; ++i) {
      std::vector<double> score(s);
      double max = -1e300;
      for (int j = 0; j < s; ++j) {
        double dot = 0;
        for (int e = 0; e < hd; ++e) dot += double(q(i, h * hd + e)) * k(j, h * hd + e);
        score[j] = dot / std::sqrt(double(hd));
        if (mask.additive) score[j] += (*mask.additive)(i, j);
        if ((mask.causal && j > mask.query_offset + i) || (mask.key_padding && mask.key_padding[j]))
          score[j] = -1e300;
        max = std::max(max, score[j]);
      }
      double total = 0;
      for (double& sc : score) total += (sc = sc <= -1e299 ? 0 : std::exp(sc - max));
      for (int j = 0; j < s; ++j) {
        weights[h](i, j) = float(score[j] / total);
        for (int e = 0; e < hd; ++e) out(i, h * hd + e) += float(score[j] / total) * v(j, h * hd + e);
      }
    }
  return out;
}

void expect_attention_matches(int tq, int s, int d, int nhead, const AttentionMask& mask) {
  const Matrix q = random_matrix(tq, d, 10, 2.0f), k = random_matrix(s, d, 11, 2.0f),
               v = random_matrix(s, d, 12);
  std::vector<Matrix> expected_weights;
  const Matrix expected = naive_attention(q, k, v, nhead, mask, expected_weights);
  std::vector<float> trace(size_t(nhead) * tq * s, -1.0f);
  Matrix context(tq, d);
  Workspace ws;
  ws.reserve(std::max(tq, s), d, nhead, 1);
  attend(q, k, v, nhead, mask, context, AttentionRecord{WeightsOut{trace.data(), size_t(tq) * s, size_t(s)}}, ws);
  EXPECT_LT((context - expected).cwiseAbs().maxCoeff(), 1e-5);
  for (int h = 0; h < nhead; ++h)
    for (int i = 0; i < tq; ++i)
      for (int j = 0; j < s; ++j)
        EXPECT_NEAR(trace[(size_t(h) * tq + i) * s + j], expected_weights[h](i, j), 1e-6);
}

TEST(Attention, OneHeadMatchesNaive) { expect_attention_matches(3, 5, 4, 1, {}); }
TEST(Attention, EightHeadsMatchNaive) { expect_attention_matches(4, 6, 32, 8, {}); }

TEST(Attention, CausalMask) {
  AttentionMask mask;
  mask.causal = true;
  expect_attention_matches(5, 5, 8, 2, mask);
}

TEST(Attention, CausalMaskWithOffsetForCachedQueries) {
  AttentionMask mask;
  mask.causal = true;
  mask.query_offset = 3;  // queries at positions 3 and 4 of 5 keys
  expect_attention_matches(2, 5, 8, 2, mask);
}

TEST(Attention, KeyPaddingMask) {
  const uint8_t padding[] = {0, 0, 1, 0, 1};
  AttentionMask mask;
  mask.key_padding = padding;
  expect_attention_matches(3, 5, 8, 4, mask);
}

TEST(Attention, AdditiveFloatMask) {
  Matrix additive = random_matrix(3, 4, 20);
  additive(0, 1) = -std::numeric_limits<float>::infinity();  // a boolean mask's True
  AttentionMask mask;
  mask.additive = &additive;
  expect_attention_matches(3, 4, 6, 3, mask);
}

TEST(MultiheadAttention, ProjectsWithPackedInProj) {
  const int d = 6, nhead = 2;
  const Matrix in_w = random_matrix(3 * d, d, 30), in_b = random_matrix(1, 3 * d, 31),
               out_w = random_matrix(d, d, 32), out_b = random_matrix(1, d, 33);
  std::vector<float> q_w, k_w, v_w, o_w;
  const Matrix q_block = in_w.topRows(d), k_block = in_w.middleRows(d, d), v_block = in_w.bottomRows(d);
  const AttentionWeights w{{packed(q_block, q_w), packed(k_block, k_w), packed(v_block, v_w)},
                           view(in_b), {packed(out_w, o_w), view(out_b)}};
  const Matrix query = random_matrix(2, d, 34), memory = random_matrix(3, d, 35);
  Matrix out(2, d);
  Workspace ws;
  ws.reserve(3, d, nhead, 1);
  multihead_attention(w, query, memory, nhead, {}, out, {}, ws);
  // Reference: the projection by hand; in_w holds q, k, v as input-major blocks.
  const Matrix q = (query * in_w.topRows(d)).rowwise() + in_b.leftCols(d).row(0);
  const Matrix k = (memory * in_w.middleRows(d, d)).rowwise() + in_b.middleCols(d, d).row(0);
  const Matrix v = (memory * in_w.bottomRows(d)).rowwise() + in_b.rightCols(d).row(0);
  std::vector<Matrix> unused;
  const Matrix context = naive_attention(q, k, v, nhead, {}, unused);
  const Matrix expected = (context * out_w).rowwise() + out_b.row(0);
  EXPECT_LT((out - expected).cwiseAbs().maxCoeff(), 1e-5);
}

}  // namespace
}  // namespace attnviz
