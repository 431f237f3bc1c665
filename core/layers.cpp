#include "layers.h"

#include "ops.h"

namespace attnviz {
namespace {

// linear2(activation(linear1(x))). x: [rows x d] -> out: [rows x d].
void feed_forward(const Linear& linear1, const Linear& linear2, const Config& config,
                  const Eigen::Ref<const Matrix>& x, Eigen::Ref<Matrix> out, Workspace& ws) {
  auto hidden = ws.hidden.topRows(x.rows());  // [rows x dim_feedforward]
  linear(x, linear1.weight, linear1.bias, hidden);
  if (config.activation == Activation::kGelu) gelu(hidden);
  else relu(hidden);
  linear(hidden, linear2.weight, linear2.bias, out);
}

// x = x + block(x) for pre-LN (block sees norm(x)); x = norm(x + block(x)) for post-LN.
// block(in, out) writes [rows x d] into out.
template <typename Block>
void residual(Eigen::Ref<Matrix> x, const LayerNormWeights& norm, const Config& config,
              Workspace& ws, Block block) {
  auto out = ws.block_out.topRows(x.rows());
  if (config.norm_first) {
    auto normed = ws.normed.topRows(x.rows());
    normed = x;
    layer_norm(normed, norm.weight, norm.bias, static_cast<float>(config.layer_norm_eps));
    block(normed, out);
    x += out;
  } else {
    block(x, out);
    x += out;
    layer_norm(x, norm.weight, norm.bias, static_cast<float>(config.layer_norm_eps));
  }
}

using In = const Eigen::Ref<const Matrix>&;
using Out = Eigen::Ref<Matrix>;

}  // namespace

void encoder_layer_forward(const EncoderLayer& layer, const Config& config, Eigen::Ref<Matrix> x,
                           const AttentionMask& mask, const AttentionRecord& self_record,
                           Workspace& ws) {
  residual(x, layer.norm1, config, ws, [&](In in, Out out) {
    multihead_attention(layer.self_attn, in, in, config.nhead, mask, out, self_record, ws);
  });
  residual(x, layer.norm2, config, ws, [&](In in, Out out) {
    feed_forward(layer.linear1, layer.linear2, config, in, out, ws);
  });
}

void prepare_decoder_cache(const DecoderLayer& layer, const Config& config,
                           const Eigen::Ref<const Matrix>& memory, DecoderLayerCache& cache) {
  if (cache.memory_keys.rows() != config.max_len) {
    for (Matrix* m : {&cache.memory_keys, &cache.memory_values}) m->resize(config.max_len, config.d_model);
    for (HeadPanels* panels : {&cache.self, &cache.memory})
      panels->reserve(config.max_len, config.d_model, config.nhead);
  }
  const AttentionWeights& w = layer.multihead_attn;
  cache.memory_length = static_cast<int>(memory.rows());
  linear(memory, in_proj_weight_block(w, 1), in_proj_bias_block(w, 1),
         cache.memory_keys.topRows(cache.memory_length));
  linear(memory, in_proj_weight_block(w, 2), in_proj_bias_block(w, 2),
         cache.memory_values.topRows(cache.memory_length));
  cache.memory.clear();
  cache.memory.append(cache.memory_keys.topRows(cache.memory_length),
                      cache.memory_values.topRows(cache.memory_length));
  cache.self.clear();
}

void decoder_layer_forward(const DecoderLayer& layer, const Config& config, Eigen::Ref<Matrix> x,
                           DecoderLayerCache& cache, const uint8_t* memory_padding,
                           const AttentionRecord& self_record, const AttentionRecord& cross_record,
                           Workspace& ws) {
  const int start = cache.self.count();
  const int rows = static_cast<int>(x.rows());
  residual(x, layer.norm1, config, ws, [&](In in, Out out) {
    const AttentionWeights& w = layer.self_attn;
    // This step's keys and values join the cache, after the earlier steps'.
    auto q = ws.q.topRows(rows), context = ws.context.topRows(rows);
    auto k = ws.k.topRows(rows), v = ws.v.topRows(rows);
    linear(in, in_proj_weight_block(w, 0), in_proj_bias_block(w, 0), q);
    linear(in, in_proj_weight_block(w, 1), in_proj_bias_block(w, 1), k);
    linear(in, in_proj_weight_block(w, 2), in_proj_bias_block(w, 2), v);
    cache.self.append(k, v);
    value_norms(v, w.out_proj.weight, config.nhead, start, self_record.value_norms, ws);
    AttentionMask causal;
    causal.causal = true;
    causal.query_offset = start;
    attend(q, cache.self, config.nhead, causal, context, self_record, ws);
    linear(context, w.out_proj.weight, w.out_proj.bias, out);
  });
  residual(x, layer.norm2, config, ws, [&](In in, Out out) {
    const AttentionWeights& w = layer.multihead_attn;
    auto q = ws.q.topRows(rows), context = ws.context.topRows(rows);
    linear(in, in_proj_weight_block(w, 0), in_proj_bias_block(w, 0), q);
    AttentionMask padding;
    padding.key_padding = memory_padding;
    if (start == 0)
      value_norms(cache.memory_values.topRows(cache.memory_length), w.out_proj.weight, config.nhead,
                  0, cross_record.value_norms, ws);
    attend(q, cache.memory, config.nhead, padding, context, cross_record, ws);
    linear(context, w.out_proj.weight, w.out_proj.bias, out);
  });
  residual(x, layer.norm3, config, ws, [&](In in, Out out) {
    feed_forward(layer.linear1, layer.linear2, config, in, out, ws);
  });
}

}  // namespace attnviz
