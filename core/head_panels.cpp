#include "head_panels.h"

namespace attnviz {

void HeadPanels::reserve(int capacity, int d_model, int nhead) {
  nhead_ = nhead;
  head_dim_ = d_model / nhead;
  capacity_ = capacity;
  count_ = 0;
  // Zeros: the padding columns of the last panels stay finite.
  keys_.assign(size_t(nhead) * key_head_stride(), 0.0f);
  values_.assign(size_t(nhead) * value_head_stride(), 0.0f);
}

void HeadPanels::append(const Eigen::Ref<const Matrix>& k, const Eigen::Ref<const Matrix>& v) {
  eigen_assert(k.rows() == v.rows() && count_ + k.rows() <= capacity_);
  for (Eigen::Index i = 0; i < k.rows(); ++i, ++count_) {
    const int j = count_;
    for (int h = 0; h < nhead_; ++h) {
      // Key j is column j of k_h^T; value j is row j of v_h.
      float* key_column = keys_.data() + h * key_head_stride() +
                          size_t(j / kPanel) * head_dim_ * kPanel + j % kPanel;
      float* value_row = values_.data() + h * value_head_stride() + size_t(j) * kPanel;
      for (int e = 0; e < head_dim_; ++e) {
        key_column[size_t(e) * kPanel] = k(i, h * head_dim_ + e);
        value_row[size_t(e / kPanel) * capacity_ * kPanel + e % kPanel] = v(i, h * head_dim_ + e);
      }
    }
  }
}

}  // namespace attnviz
