// nn.TransformerEncoderLayer and nn.TransformerDecoderLayer (PyTorch 1.13, eval mode:
// dropout is the identity), post-LN or pre-LN (norm_first), relu or gelu.
#pragma once

#include <cstdint>

#include "attention.h"
#include "config.h"
#include "model.h"

namespace attnviz {

// One encoder layer over the whole sequence, in place. x: [S x d].
void encoder_layer_forward(const EncoderLayer& layer, const Config& config, Eigen::Ref<Matrix> x,
                           const AttentionMask& mask, const AttentionRecord& self_record,
                           Workspace& ws);

// Keys and values one decoder layer has seen: its own past positions (the cache that keeps
// greedy decoding linear in the output length) and the encoder memory's, computed once.
// Both are kept packed per head, as attention reads them, so each is packed once per run.
struct DecoderLayerCache {
  HeadPanels self;                    // the past positions' keys and values: self.count() of them
  HeadPanels memory;                  // the memory's
  Matrix memory_keys, memory_values;  // [max_len x d], rows 0..memory_length-1 filled
  int memory_length = 0;
};

// Fills the cache's memory keys/values from the encoder output (sizing the cache for the
// model on first use) and empties its past. memory: [S x d].
void prepare_decoder_cache(const DecoderLayer& layer, const Config& config,
                           const Eigen::Ref<const Matrix>& memory, DecoderLayerCache& cache);

// The decoder layer on rows at positions cache.self.count().. + rows - 1, in place.
// Each row sees itself and the positions before it (the causal mask), and all of memory but
// the keys memory_padding marks. x: [rows x d]. Records get these queries' rows (and, for
// value norms, the new keys; the memory's on the first call).
void decoder_layer_forward(const DecoderLayer& layer, const Config& config, Eigen::Ref<Matrix> x,
                           DecoderLayerCache& cache, const uint8_t* memory_padding,
                           const AttentionRecord& self_record, const AttentionRecord& cross_record,
                           Workspace& ws);

}  // namespace attnviz
