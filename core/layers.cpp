#include "layers.h"

#include "ops.h"

namespace attnviz {
namespace {

// linear2(activation(linear1(x))). x: [rows x d] -> out: [rows x d].
void feed_forward(const Linear& linear1, const Linear& linear2, const Config& config,
                  const Matrix& x, Matrix& out) {
  Matrix hidden;  // [rows x dim_feedforward]
  linear(x, linear1.weight, linear1.bias, hidden);
  if (config.activation == Activation::kGelu) gelu(hidden);
  else relu(hidden);
  linear(hidden, linear2.weight, linear2.bias, out);
}

// x = x + block(x) for pre-LN (block sees norm(x)); x = norm(x + block(x)) for post-LN.
template <typename Block>
void residual(Matrix& x, const LayerNormWeights& norm, const Config& config, Block block) {
  Matrix out;
  if (config.norm_first) {
    Matrix normed = x;
    layer_norm(normed, norm.weight, norm.bias, static_cast<float>(config.layer_norm_eps));
    block(normed, out);
    x += out;
  } else {
    block(x, out);
    x += out;
    layer_norm(x, norm.weight, norm.bias, static_cast<float>(config.layer_norm_eps));
  }
}

}  // namespace

void encoder_layer_forward(const EncoderLayer& layer, const Config& config, Matrix& x,
                           const AttentionMask& mask, const AttentionRecord& self_record) {
  residual(x, layer.norm1, config, [&](const Matrix& in, Matrix& out) {
    multihead_attention(layer.self_attn, in, in, config.nhead, mask, out, self_record);
  });
  residual(x, layer.norm2, config, [&](const Matrix& in, Matrix& out) {
    feed_forward(layer.linear1, layer.linear2, config, in, out);
  });
}

void prepare_decoder_cache(const DecoderLayer& layer, const Config& config,
                           const Eigen::Ref<const Matrix>& memory, DecoderLayerCache& cache) {
  const AttentionWeights& w = layer.multihead_attn;
  linear(memory, in_proj_weight_block(w, 1), in_proj_bias_block(w, 1), cache.memory_keys);
  linear(memory, in_proj_weight_block(w, 2), in_proj_bias_block(w, 2), cache.memory_values);
  cache.self_keys.resize(config.max_len, config.d_model);
  cache.self_values.resize(config.max_len, config.d_model);
  cache.length = 0;
}

void decoder_layer_forward(const DecoderLayer& layer, const Config& config, Matrix& x,
                           DecoderLayerCache& cache, const uint8_t* memory_padding,
                           const AttentionRecord& self_record, const AttentionRecord& cross_record) {
  const int start = cache.length;
  const int rows = static_cast<int>(x.rows());
  residual(x, layer.norm1, config, [&](const Matrix& in, Matrix& out) {
    const AttentionWeights& w = layer.self_attn;
    Matrix q, k, v, context;
    linear(in, in_proj_weight_block(w, 0), in_proj_bias_block(w, 0), q);
    linear(in, in_proj_weight_block(w, 1), in_proj_bias_block(w, 1), k);
    linear(in, in_proj_weight_block(w, 2), in_proj_bias_block(w, 2), v);
    cache.self_keys.middleRows(start, rows) = k;
    cache.self_values.middleRows(start, rows) = v;
    value_norms(v, w.out_proj.weight, config.nhead, start, self_record.value_norms);
    AttentionMask causal;
    causal.causal = true;
    causal.query_offset = start;
    attend(q, cache.self_keys.topRows(start + rows), cache.self_values.topRows(start + rows),
           config.nhead, causal, context, self_record);
    linear(context, w.out_proj.weight, w.out_proj.bias, out);
  });
  cache.length = start + rows;
  residual(x, layer.norm2, config, [&](const Matrix& in, Matrix& out) {
    const AttentionWeights& w = layer.multihead_attn;
    Matrix q, context;
    linear(in, in_proj_weight_block(w, 0), in_proj_bias_block(w, 0), q);
    AttentionMask padding;
    padding.key_padding = memory_padding;
    if (start == 0)
      value_norms(cache.memory_values, w.out_proj.weight, config.nhead, 0, cross_record.value_norms);
    attend(q, cache.memory_keys, cache.memory_values, config.nhead, padding, context,
           cross_record);
    linear(context, w.out_proj.weight, w.out_proj.bias, out);
  });
  residual(x, layer.norm3, config, [&](const Matrix& in, Matrix& out) {
    feed_forward(layer.linear1, layer.linear2, config, in, out);
  });
}

}  // namespace attnviz
