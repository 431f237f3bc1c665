// Row-major Eigen aliases and read-only views over the model's one weight buffer.
//
// Everything is row-major, as PyTorch stores it, so a state_dict weight of shape
// (out, in) maps directly onto a Matrix view and y = x W^T needs no copies.
#pragma once

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

}  // namespace attnviz
