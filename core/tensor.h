// Row-major Eigen aliases and read-only views over the model's one weight buffer.
//
// Activations are row-major Matrices, as PyTorch lays them out. Embeddings, norms and biases
// are plain views in PyTorch's order; linear weights are packed at load (PackedMatrix).
#pragma once

#include <cstddef>

#include <Eigen/Core>

namespace attnviz {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowVector = Eigen::Matrix<float, 1, Eigen::Dynamic>;
using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;
using ConstRowVectorMap = Eigen::Map<const RowVector>;

// A view of one tensor inside the model's storage; 1-D tensors have rows == 1.
struct TensorView {
  const float* data = nullptr;
  int rows = 0;
  int cols = 0;

  ConstMatrixMap matrix() const { return ConstMatrixMap(data, rows, cols); }
  ConstRowVectorMap vector() const { return ConstRowVectorMap(data, rows * cols); }
  bool empty() const { return data == nullptr; }
};

// A matrix [rows x cols] packed for the product kernel (ops.h, product): its columns in
// panels of kPanel, each panel's rows back to back, so that a tile of the product reads one
// contiguous stream per panel instead of a row stride apart (a new page per row, for wide
// matrices, which the hardware prefetchers do not follow). Element (r, c) is at
// data[(c / kPanel) * panel_stride + r * kPanel + c % kPanel]; the last panel's columns past
// cols are zeros. Linear weights are stored this way, input-major: rows = in, cols = out.
constexpr int kPanel = 8;

inline int panel_count(int cols) { return (cols + kPanel - 1) / kPanel; }
// Floats a packed [rows x cols] matrix takes, padding included.
inline size_t packed_size(int rows, int cols) { return size_t(panel_count(cols)) * kPanel * rows; }

struct PackedMatrix {
  const float* data = nullptr;
  int rows = 0;
  int cols = 0;
  size_t panel_stride = 0;  // floats from one panel to the next: rows * kPanel when whole

  float at(int r, int c) const { return data[size_t(c / kPanel) * panel_stride + size_t(r) * kPanel + c % kPanel]; }
  // Rows [first, first + count): the same panels, entered further down.
  PackedMatrix row_block(int first, int count) const {
    return {data + size_t(first) * kPanel, count, cols, panel_stride};
  }
  bool empty() const { return data == nullptr; }
};

}  // namespace attnviz
