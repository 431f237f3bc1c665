// Runs a loaded model on text: tokenize, encode, decode (greedy with a key/value cache, or
// teacher-forced on a target), and record every layer's and head's attention.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "error.h"
#include "layers.h"
#include "model.h"
#include "tokenizer.h"

namespace attnviz {

// One kind of attention for the layers recorded (all of them unless a capture limit cut them
// to one) and every head, flat and contiguous:
// data[(((layer - first_layer) * heads + head) * rows + query) * cols + key], post-softmax.
struct AttentionTrace {
  int layers = 0, heads = 0, rows = 0, cols = 0;
  int first_layer = 0, recorded_layers = 0;  // the layers data holds
  std::vector<float> data;

  // All layers, or with `only` >= 0 that one alone.
  void reset(int layers, int heads, int rows, int cols, float fill = 0.0f, int only = -1);
  bool recorded(int layer) const { return layer >= first_layer && layer < first_layer + recorded_layers; }
  bool complete() const { return recorded_layers == layers; }
  float* head(int layer, int h) {
    return data.data() + (size_t(layer - first_layer) * heads + h) * rows * cols;
  }
  const float* head(int layer, int h) const {
    return data.data() + (size_t(layer - first_layer) * heads + h) * rows * cols;
  }
  float at(int layer, int h, int query, int key) const { return head(layer, h)[size_t(query) * cols + key]; }
  // Where layer `layer` writes, starting at query row `row`; nowhere when it is not recorded.
  WeightsOut out(int layer, int row = 0) {
    if (!recorded(layer)) return {};
    return {head(layer, 0) + size_t(row) * cols, size_t(rows) * cols, size_t(cols)};
  }
  bool empty() const { return layers == 0; }
  // Keeps the first `new_rows` x `new_cols` of every head, compacting in place.
  void shrink(int new_rows, int new_cols);
  void clear() { reset(0, 0, 0, 0); }
};

enum class AttentionKind { kEncoderSelf = 0, kDecoderSelf = 1, kCross = 2 };

// Ablation of one head: zero its output, or make it attend uniformly.
struct HeadAblation {
  AttentionKind kind;
  int layer;
  int head;
  Ablation mode;
};

struct RunOptions {
  bool teacher_forced = false;  // seq2seq: decode `target` instead of greedily
  std::string target;
  int continuation = 0;         // causal LM: greedy tokens to add after the text
  bool decode = true;           // seq2seq: false runs the encoder only
  std::vector<HeadAblation> ablations;  // done inside the forward pass, output and all
  bool capture_scores = false;       // also record pre-softmax scores (RunResult::scores)
  bool capture_value_norms = false;  // also record value norms (RunResult::value_norms)
  // A bound on what is recorded: when one kind's attention for every layer and head would
  // take more than capture_limit floats (0: no limit), only its layer capture_layer[kind]
  // is recorded (every head of it; scores likewise), and a notice says so (counting layers
  // from 1).
  size_t capture_limit = 0;
  int capture_layer[3] = {0, 0, 0};  // indexed by AttentionKind
};

struct RunResult {
  std::vector<int> src_ids;                 // encoder input, specials and padding included
  std::vector<std::string> src_tokens;
  std::vector<int> tgt_ids;                 // seq2seq decoder input, <bos> first
  std::vector<std::string> tgt_tokens;
  std::vector<int> output_ids;              // greedy: generated (with <eos> if reached);
                                            // teacher-forced: argmax per position;
                                            // causal LM: the continuation
  std::vector<int> next_ids;                // causal LM: argmax at every input position
  std::string output;                       // output_ids as text
  AttentionTrace encoder_self;              // [layers][heads][S][S]
  AttentionTrace decoder_self;              // [layers][heads][T][T]
  AttentionTrace cross;                     // [layers][heads][T][S]
  // On request, indexed by AttentionKind: pre-softmax scores shaped as the weights, masked
  // entries -inf; and value norms [layers][heads][1][keys].
  AttentionTrace scores[3];
  AttentionTrace value_norms[3];
  std::vector<float> logits;                // [logit_rows x vocab]
  int logit_rows = 0;
  std::vector<std::string> notices;         // e.g. the text was cut to fit max_len

  // Empties the result for the next run but keeps its buffers, so runs of similar size
  // allocate nothing for the result.
  void clear();

  // encoder_self, decoder_self or cross.
  AttentionTrace& attention(AttentionKind kind) {
    return kind == AttentionKind::kEncoderSelf ? encoder_self
           : kind == AttentionKind::kDecoderSelf ? decoder_self
                                                 : cross;
  }
};

class Engine {
 public:
  explicit Engine(const Model& model);

  // Never throws: on failure the status names the problem (unknown tokens, empty text...).
  Status run(std::string_view text, const RunOptions& options, RunResult& result);

  const Tokenizer& tokenizer() const { return tokenizer_; }
  const Model& model() const { return model_; }

 private:
  void run_seq2seq(const RunOptions& options, RunResult& result);
  void run_causal_lm(const RunOptions& options, RunResult& result);
  // Token embeddings times embed_scale plus positions first_position.. ; out: [count x d].
  void embed(const TensorView& table, const int* ids, int count, int first_position,
             Eigen::Ref<Matrix> out) const;
  // The encoder stack on ids (with its final norm) into x [ids x d]; records attention when
  // record is given.
  void encode(const std::vector<int>& ids, const uint8_t* padding, Eigen::Ref<Matrix> x,
              RunResult* record);
  // What layer `layer` of `kind` records into result (rows offset by `row`).
  AttentionRecord record_for(RunResult& result, AttentionKind kind, int layer, int row) const;
  void set_ablations(const std::vector<HeadAblation>& ablations);
  // Sizes the attention (and, when asked, score) trace of `kind` for rows x cols per head,
  // within the run's capture limit; score entries start at score_fill.
  void reset_traces(AttentionKind kind, int rows, int cols, RunResult& result, float score_fill = 0.0f);
  void append_logits(const Eigen::Ref<const Matrix>& x, RunResult& result);

  const Model& model_;
  Tokenizer tokenizer_;
  // Everything a run needs, sized here for max_len positions and reused, so that a run
  // allocates nothing once the result's buffers have grown to fit (RunResult::clear).
  std::vector<DecoderLayerCache> caches_;
  Workspace workspace_;
  Matrix memory_, x_;   // [max_len x d]: the encoder's output; the stack's activations
  Matrix logits_;       // [max_len x vocab]
  Encoded source_, target_;
  std::vector<uint8_t> padding_;  // [S]: source keys to ignore
  std::vector<int> ids_;          // causal LM: the text and its continuation so far
  std::vector<Ablation> ablation_[3];  // per kind: [layer * nhead + head]
  bool capture_scores_ = false, capture_value_norms_ = false;
  size_t capture_limit_ = 0;
  int capture_layer_[3] = {0, 0, 0};
};

}  // namespace attnviz
