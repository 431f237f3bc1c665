// Keys and values of one attention, packed per head for the products in attend.
#pragma once

#include <vector>

#include "tensor.h"

namespace attnviz {

// Keys and values of one attention, packed per head as attend's two products read them:
// k_h^T [head_dim x keys] and v_h [keys x head_dim] (tensor.h, PackedMatrix), room for
// `capacity` keys. Keys are appended, so a decoder's cache packs each position once.
class HeadPanels {
 public:
  void reserve(int capacity, int d_model, int nhead);
  void clear() { count_ = 0; }
  // Appends rows of k and v [rows x d], the heads side by side in the columns.
  void append(const Eigen::Ref<const Matrix>& k, const Eigen::Ref<const Matrix>& v);

  int count() const { return count_; }
  PackedMatrix keys_t(int h) const {  // [head_dim x count]
    return {keys_.data() + size_t(h) * key_head_stride(), head_dim_, count_, size_t(head_dim_) * kPanel};
  }
  PackedMatrix values(int h) const {  // [count x head_dim]
    return {values_.data() + size_t(h) * value_head_stride(), count_, head_dim_, size_t(capacity_) * kPanel};
  }

 private:
  size_t key_head_stride() const { return packed_size(head_dim_, capacity_); }
  size_t value_head_stride() const { return packed_size(capacity_, head_dim_); }

  std::vector<float> keys_, values_;  // [nhead] packed k_h^T, then [nhead] packed v_h
  int nhead_ = 0, head_dim_ = 0, capacity_ = 0, count_ = 0;
};

}  // namespace attnviz
