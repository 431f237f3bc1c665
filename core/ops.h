// Plain numeric ops the layers are built from. They know nothing about transformers.
#pragma once

#include "tensor.h"

namespace attnviz {

// out = x W + b, with W stored input-major [in x out] (PyTorch's (out, in) weight,
// transposed at load: a row of x times W then streams W's rows, which vectorises well,
// in wasm above all). x: [rows x in], out: [rows x out], sized by the caller (a view of
// preallocated rows, so a call allocates nothing). bias [out] may be empty.
void linear(const Eigen::Ref<const Matrix>& x, const TensorView& weight, const TensorView& bias,
            Eigen::Ref<Matrix> out);

// The same product with W given as rows of `features` floats, w_stride apart (a column
// block of a wider matrix), and an optional bias [features]. x: [rows x in], W: [in x
// features], out: [rows x features]. Each output sums bias (or 0), then x[i, 0] W[0, o],
// x[i, 1] W[1, o], ... in that order.
void product(const Eigen::Ref<const Matrix>& x, const float* w, int features, size_t w_stride,
             const float* bias, Eigen::Ref<Matrix> out);

// Row-wise LayerNorm over the last dimension, in place (biased variance, as PyTorch).
void layer_norm(Eigen::Ref<Matrix> x, const TensorView& weight, const TensorView& bias, float eps);

// In-place activations.
void relu(Eigen::Ref<Matrix> x);
void gelu(Eigen::Ref<Matrix> x);  // exact form: 0.5 x (1 + erf(x / sqrt 2))

// Row-wise softmax in place, max-subtracted as PyTorch does. A row whose entries are all
// -inf becomes NaN, as it does in PyTorch.
void softmax_rows(Eigen::Ref<Matrix> x);

// Index of the largest entry (first on ties, as torch.argmax).
int argmax(const float* values, int count);

}  // namespace attnviz
